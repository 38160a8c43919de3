"""A guess-the-number solution (python profile) that first listens on the abstract unix socket
"codepipe-pair", so that test_interactive.py can look for it from the interactor's side."""

import socket
import sys

s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind("\0codepipe-pair")
s.listen(1)
print("listening on @codepipe-pair", file=sys.stderr)
lo, hi = 1, 1000000
while lo <= hi:
    mid = (lo + hi) // 2
    print(f"? {mid}", flush=True)
    c = sys.stdin.readline().strip()
    if c == "=":
        sys.exit(0)
    if c == ">":
        lo = mid + 1
    else:
        hi = mid - 1
sys.exit(1)
