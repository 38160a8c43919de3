"""Stored problems and checkers, measured in one run on the real stack (tests/stack.py):

1. A 100-test problem judged by a C++ checker against the same problem with plain `lines`
   comparison, plus the checker's own run time (the compiled checker run natively, without the
   sandbox, over the same 100 outputs). Target: job time with the checker <= 1.5 x (lines job +
   the checker's own time). Also the number of times the checker was compiled (once).
2. A submission against a stored 64 MiB problem: the client's request size, and the AWS calls
   the gateway made for it, counted by the emulator (by the `codepipe-gateway` user agent).
   Target: a few hundred bytes, no S3 call.

    .venv/bin/python bench/problems.py [--jobs 7]
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.stack import Stack  # noqa: E402

TESTS = 100
SOLUTION_CPP = "#include <bits/stdc++.h>\nint main(){long a,b; std::cin>>a>>b; std::cout<<a+b<<\"\\n\";}\n"
CHECKER_CPP = r"""
#include <bits/stdc++.h>
int main(int argc, char** argv) {
    std::ifstream out(argv[2]), ans(argv[3]);
    std::string a, b;
    while (ans >> b) { if (!(out >> a) || a != b) { fprintf(stderr, "differ\n"); return 1; } }
    if (out >> a) return 2;
    fprintf(stderr, "ok\n");
    return 0;
}
"""


def problem_zip(checker: bool, pad_bytes: int = 0) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for n in range(1, TESTS + 1):
            z.writestr(f"tests/{n}.in", f"{n} {n}\n" + " " * (pad_bytes // TESTS))
            z.writestr(f"tests/{n}.ans", f"{2 * n}\n")
        if checker:
            z.writestr("checker.cpp", CHECKER_CPP)
    return buf.getvalue()


def put(client: httpx.Client, pid: str, data: bytes) -> None:
    resp = client.put(f"/problems/{pid}", content=data, headers={"Content-Type": "application/zip"}, timeout=300)
    resp.raise_for_status()


def job_seconds(client: httpx.Client, pid: str) -> float:
    t0 = time.monotonic()
    job = client.post("/submit", json={"language": "cpp", "code": SOLUTION_CPP, "problem_id": pid}).json()["id"]
    while True:
        r = client.get(f"/result/{job}", params={"wait": 30}).json()
        if r["status"] in ("completed", "failed"):
            assert r["verdict"] == "ACCEPTED", r
            return time.monotonic() - t0


def checker_native_seconds() -> float:
    """The checker's own cost: compiled like the executor does, run bare over 100 triples."""
    with tempfile.TemporaryDirectory() as d:
        work = Path(d)
        (work / "checker.cpp").write_text(CHECKER_CPP)
        subprocess.run(["g++", "-std=c++17", "-O2", "-o", str(work / "checker"), str(work / "checker.cpp")], check=True)
        for n in range(1, TESTS + 1):
            (work / f"{n}.in").write_text(f"{n} {n}\n")
            (work / f"{n}.out").write_text(f"{2 * n}\n")
            (work / f"{n}.ans").write_text(f"{2 * n}\n")
        t0 = time.monotonic()
        for n in range(1, TESTS + 1):
            subprocess.run([str(work / "checker"), *(str(work / f"{n}.{s}") for s in ("in", "out", "ans"))],
                           check=True, capture_output=True)
        return time.monotonic() - t0


def gateway_calls(client: httpx.Client, stack: Stack) -> dict[str, int]:
    counts = httpx.get(f"{stack.endpoint}/_codepipe/requests", timeout=10).json()
    return {k: v for k, v in counts.items() if k.startswith("gateway ")}


def compiles(stack: Stack) -> int:
    return Path(stack.log_dir / "exec-cpp.log").read_text().count('"judge program compiled"')


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=7)
    args = parser.parse_args()
    stack = Stack(Path(tempfile.mkdtemp(prefix="codepipe-bench-"))).start()
    try:
        with httpx.Client(base_url=stack.base_url, timeout=60) as client:
            put(client, "bench-checker", problem_zip(True))
            put(client, "bench-lines", problem_zip(False))
            job_seconds(client, "bench-checker")  # warm: downloads, the checker's one compile
            job_seconds(client, "bench-lines")
            checker, lines = [], []
            for _ in range(args.jobs):  # interleaved: both see the same machine
                checker.append(job_seconds(client, "bench-checker"))
                lines.append(job_seconds(client, "bench-lines"))
            own = checker_native_seconds()
            put(client, "bench-64mib", problem_zip(False, pad_bytes=64 * 1024 * 1024 - 2 * TESTS * 8))
            body = json.dumps({"language": "cpp", "code": SOLUTION_CPP, "problem_id": "bench-64mib"}).encode()
            before = gateway_calls(client, stack)
            client.post("/submit", content=body, headers={"Content-Type": "application/json"}).raise_for_status()
            time.sleep(0.5)  # the enqueued mark goes out after the answer
            after = gateway_calls(client, stack)
            n_compiles = compiles(stack)
    finally:
        stack.stop()
    c, line = statistics.median(checker), statistics.median(lines)
    limit = 1.5 * (line + own)
    print(f"\n{TESTS}-test problem, C++ solution, p50 of {args.jobs} interleaved jobs each:\n")
    print("| job | p50 s | target |")
    print("|---|---:|---|")
    print(f"| plain `lines` compare | {line:.3f} | |")
    verdict = "met" if c <= limit else "MISSED"
    print(f"| C++ checker | {c:.3f} | <= 1.5 x (lines + checker's own) = {limit:.3f}: {verdict} |")
    print(f"| the checker's own run time, bare, {TESTS} runs | {own:.3f} | |")
    print(f"\nchecker compiled {n_compiles} time(s) over {args.jobs + 1} jobs")
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after if after.get(k, 0) != before.get(k, 0)}
    s3 = sum(v for k, v in delta.items() if " s3 " in k)
    print("\nsubmit against a stored 64 MiB problem:\n")
    print("| request body | gateway AWS calls | gateway S3 calls |")
    print("|---:|---|---:|")
    calls = ", ".join(f"{k.split(' ', 1)[1]}: {v}" for k, v in sorted(delta.items()))
    print(f"| {len(body)} bytes | {calls} | {s3} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
