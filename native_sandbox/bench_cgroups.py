#!/usr/bin/env python3
"""What the helper's cgroup handling costs and leaves behind, A/B, one test per invocation
(the case where the per-invocation cgroup work is not spread over many runs: a compile):

* pool: the reused pool-<k> sets (CODEPIPE_SANDBOX_CGROUP_POOL=1) against the default (a set
  created and removed per invocation).  The column that matters is the number of
  memory cgroups the kernel still holds after N invocations (/proc/cgroups `num_cgroups` for
  memory, which counts the dying "zombie" memcgs a removed cgroup leaves while page cache is
  charged to it; on v2 also the parent's cgroup.stat `nr_dying_descendants`).
* join (cgroup v2 only): the program child born in its set by clone3(CLONE_INTO_CGROUP)
  (default) against CODEPIPE_SANDBOX_NO_CLONE_INTO_CGROUP=1 (the child writes cgroup.procs).

Prints markdown tables; never asserts.  Run as root, on a quiet host.

    python3 native_sandbox/bench_cgroups.py [-n 500] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
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
# writes a little output, so that page cache is charged to the run's memory cgroup
C_SRC = '#include <stdio.h>\nint main(void){for(int i=0;i<2000;i++)printf("%d\\n",i);return 0;}\n'


def memory_cgroups() -> int:
    for line in Path("/proc/cgroups").read_text().splitlines():
        f = line.split()
        if f and f[0] == "memory":
            return int(f[2])
    return -1


def probe() -> dict:
    return json.loads(subprocess.run([str(HELPER), "--probe"], capture_output=True, text=True, check=True).stdout)


def dying_descendants(parent: Path) -> int:
    try:
        for line in (parent / "cgroup.stat").read_text().splitlines():
            k, v = line.split()
            if k == "nr_dying_descendants":
                return int(v)
    except OSError:
        pass
    return -1


def invocations(cmd: list[str], env: dict[str, str], n: int, keep: Path | None = None) -> float:
    """ms per invocation over n invocations.  keep: each invocation gets its own tests dir there,
    kept (as an executor keeps a job's files until it has uploaded them), so the pages of its
    output files stay charged to the run's memory cgroup after the helper exits."""
    t = time.perf_counter()
    for i in range(n):
        argv = cmd
        if keep is not None:
            tests = keep / str(i)
            tests.mkdir()
            (tests / "1.in").write_text("")
            argv = [str(tests) if a == "TESTS" else a for a in cmd]
        p = subprocess.run(argv, capture_output=True, text=True, env=env)
        if p.returncode != 0 or json.loads(p.stdout)[0]["status"] != "OK":
            sys.exit(f"helper failed: {p.stdout[:300]} {p.stderr[:300]}")
    return (time.perf_counter() - t) * 1000 / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=500, help="invocations per variant (zombie count)")
    ap.add_argument("--rounds", type=int, default=3, help="timing rounds of n/5 invocations, interleaved")
    args = ap.parse_args()
    if not HELPER.exists():
        subprocess.run(["make", "-C", str(HERE)], check=True)
    pr = probe()
    version = pr.get("cgroup")
    parent = Path(pr["cgroup_parents"][0]) if pr.get("cgroup_parents") else None
    work = Path(tempfile.mkdtemp(prefix="codepipe-bench-cg-"))
    try:
        os.chmod(work, 0o755)
        box, tests = work / "box", work / "tests"
        box.mkdir()
        tests.mkdir()
        (box / "main.c").write_text(C_SRC)
        subprocess.run(["gcc", "-O2", "-o", str(box / "main"), str(box / "main.c")], check=True)
        (tests / "1.in").write_text("")
        cmd = [str(HELPER), "--profile", "c", "--time-ms", "5000", "--wall-ms", "20000", "--memory-mb", "256",
               "--output-kb", "1024", "--workdir", str(box), "--tests", "TESTS", "--", "./main"]
        # a sandbox uid of our own: other suites on a shared host kill what runs as the default one
        base = {"PATH": PATH, "CODEPIPE_SANDBOX_UID": str(65000 + os.getpid() % 400)}
        print(f"host: {os.cpu_count()} cores, kernel {os.uname().release}, cgroup {version}, "
              f"load {os.getloadavg()[0]:.1f}\n")

        pool = {"per-invocation set (mkdir/rmdir)": base,
                "pooled sets (reused)": {**base, "CODEPIPE_SANDBOX_CGROUP_POOL": "1"}}
        print(f"| cgroup sets | memory cgroups before → after {args.n} invocations | "
              "dying memcgs under the parent (v2) | ms/invocation |")
        print("|---|---:|---:|---:|")
        for name, env in pool.items():
            kept = work / f"kept-{len(name)}"
            kept.mkdir()
            before, dying0 = memory_cgroups(), dying_descendants(parent) if parent else -1
            ms = invocations(cmd, env, args.n, keep=kept)
            time.sleep(1)
            after, dying1 = memory_cgroups(), dying_descendants(parent) if parent else -1
            shutil.rmtree(kept)
            dying = f"{max(dying0, 0)} → {dying1}" if dying1 >= 0 else "n/a"
            print(f"| {name} | {before} → {after} (+{after - before}) | {dying} | {ms:.2f} |")

        if version == "v2":
            join = {"cgroup.procs write": {**base, "CODEPIPE_SANDBOX_NO_CLONE_INTO_CGROUP": "1"},
                    "clone3(CLONE_INTO_CGROUP)": base}
            n = max(1, args.n // 5)
            data: dict[str, list[float]] = {k: [] for k in join}
            for _ in range(args.rounds):
                for name, env in join.items():
                    data[name].append(invocations([str(tests) if a == "TESTS" else a for a in cmd], env, n))
            print(f"\n| joining the set (v2) | ms/invocation, median of {args.rounds} rounds of {n} |")
            print("|---|---:|")
            for name in join:
                print(f"| {name} | {statistics.median(data[name]):.2f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
