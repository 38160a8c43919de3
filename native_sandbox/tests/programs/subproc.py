import subprocess, sys
subprocess.run(["/bin/sh", "-c", "echo pwned > " + sys.argv[1]])
print("subprocess returned")
