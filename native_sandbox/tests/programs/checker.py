"""A testlib-style checker in Python: `checker.py INPUT OUTPUT ANSWER` compares the tokens of
OUTPUT and ANSWER; exit 0 (accepted) or 1 (wrong answer, a message on stderr)."""
import sys

inp, out, ans = sys.argv[1:4]
open(inp).read()
got, want = open(out).read().split(), open(ans).read().split()
if got != want:
    sys.stderr.write(f"wrong answer: expected {want[:5]}, found {got[:5]}\n")
    sys.exit(1)
sys.stderr.write(f"ok {len(got)} tokens\n")
