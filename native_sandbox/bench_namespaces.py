#!/usr/bin/env python3
"""What the per-run IPC and network namespaces cost: the helper with them (default) against
CODEPIPE_SANDBOX_NO_RUN_NS=1 (every run in the invocation's shared IPC/network namespaces,
as before), interleaved, median of R rounds.

Rows: C trivial over N tests (c/cpp runs get a per-run IPC namespace only: they cannot make
sockets) at --parallel 1 and 2, and Python hello world over M tests at --parallel 1 (runs
whose program can make sockets get a per-run network namespace too).  Columns per run: wall
(the invocation's wall / tests), CPU of the helper and everything it started (its
RUSAGE_CHILDREN), and kernel-worker CPU (the sum over kernel threads, whose work includes the
asynchronous teardown of network namespaces; other activity on the host shows up there too).
Prints a markdown table; never asserts.

    python3 native_sandbox/bench_namespaces.py [-n 200] [-m 20] [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
HELPER = HERE / "build" / "sandbox"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
C_SRC = '#include <stdio.h>\nint main(void){long a,b;if(scanf("%ld %ld",&a,&b)==2)printf("%ld\\n",a+b);return 0;}\n'
CLK = os.sysconf("SC_CLK_TCK")


def kernel_thread_cpu() -> float:
    """Seconds of CPU used so far by kernel threads (children of kthreadd, pid 2)."""
    total = 0
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            fields = (p / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if fields[1] == "2" or p.name == "2":
            total += int(fields[11]) + int(fields[12])
    return total / CLK


def run(cmd: list[str], env: dict[str, str], n: int) -> tuple[float, float, float]:
    """wall, CPU of the helper's tree and kernel-thread CPU, in ms per test."""
    c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    k0 = kernel_thread_cpu()
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    time.sleep(0.2)              # let the asynchronous namespace teardown finish
    k1 = kernel_thread_cpu()
    c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0 or any(r["status"] != "OK" for r in json.loads(p.stdout)):
        sys.exit(f"helper failed: {p.stdout[:300]} {p.stderr[:300]}")
    cpu = (c1.ru_utime + c1.ru_stime) - (c0.ru_utime + c0.ru_stime)
    return wall * 1000 / n, cpu * 1000 / n, (k1 - k0) * 1000 / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=200, help="C tests per invocation")
    ap.add_argument("-m", type=int, default=20, help="Python tests per invocation")
    ap.add_argument("--rounds", type=int, default=7)
    args = ap.parse_args()
    if not HELPER.exists():
        subprocess.run(["make", "-C", str(HERE)], check=True)
    work = Path(tempfile.mkdtemp(prefix="codepipe-bench-ns-"))
    try:
        os.chmod(work, 0o755)
        box, ctests, ptests = work / "box", work / "c", work / "py"
        for d in (box, ctests, ptests):
            d.mkdir()
        (box / "main.c").write_text(C_SRC)
        subprocess.run(["gcc", "-O2", "-o", str(box / "main"), str(box / "main.c")], check=True)
        (box / "main.py").write_text('print("hello")\n')
        for i in range(1, args.n + 1):
            (ctests / f"{i}.in").write_text(f"{i} {i}\n")
        for i in range(1, args.m + 1):
            (ptests / f"{i}.in").write_text("")

        def cmd(profile: str, tests: Path, par: int, argv: list[str]) -> list[str]:
            return [str(HELPER), "--profile", profile, "--time-ms", "5000", "--wall-ms", "10000",
                    "--memory-mb", "256", "--output-kb", "1024", "--parallel", str(par),
                    "--workdir", str(box), "--tests", str(tests), "--", *argv]

        rows = [(f"C trivial, {args.n} tests, --parallel 1 (+IPC ns)", cmd("c", ctests, 1, ["./main"]), args.n),
                (f"C trivial, {args.n} tests, --parallel 2 (+IPC ns)", cmd("c", ctests, 2, ["./main"]), args.n),
                (f"Python hello, {args.m} tests, --parallel 1 (+IPC +net ns)",
                 cmd("python", ptests, 1, ["/usr/bin/python3", "-B", "-s", "main.py"]), args.m)]
        variants = {"per-run": {"PATH": PATH}, "shared": {"PATH": PATH, "CODEPIPE_SANDBOX_NO_RUN_NS": "1"}}
        data = {(r[0], v): [] for r in rows for v in variants}
        for _ in range(args.rounds):
            for name, c, n in rows:
                for v, env in variants.items():
                    data[(name, v)].append(run(c, env, n))
        load = os.getloadavg()[0]
        print(f"host: {os.cpu_count()} cores, load {load:.1f}, median of {args.rounds} interleaved rounds\n")
        print("| workload | wall ms/run shared → per-run | helper-tree CPU ms/run | kernel-thread CPU ms/run |")
        print("|---|---:|---:|---:|")
        for name, _, _ in rows:
            med = {v: [statistics.median(x[i] for x in data[(name, v)]) for i in range(3)] for v in variants}
            s, p = med["shared"], med["per-run"]
            print(f"| {name} | {s[0]:.2f} → {p[0]:.2f} | {s[1]:.2f} → {p[1]:.2f} | {s[2]:.2f} → {p[2]:.2f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
