#!/usr/bin/env python3
"""Per-run overhead of the sandbox helper vs. a bare fork+exec+wait of the same program.

Runs a trivial C program (reads two numbers, prints their sum) over N test inputs through
`native_sandbox/build/sandbox --tests` at --parallel 1 and 2, and the same binary on the same
inputs with a bare fork+exec+wait loop in a tiny C harness (same parallelism, same fresh
stdin/stdout/stderr files, same cwd), interleaved with the helper runs; then Java and Python
hello-world startup through the helper vs. bare.
Prints a markdown table.  Only prints; never asserts timing.

    python3 bench/sandbox_overhead.py [-n 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELPER = ROOT / "native_sandbox" / "build" / "sandbox"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

C_SRC = r"""
#include <stdio.h>
int main(void) { long a, b; if (scanf("%ld %ld", &a, &b) == 2) printf("%ld\n", a + b); return 0; }
"""
# The bare baseline: fork + exec + wait in C, `parallel` at a time, with the same stdin/stdout/
# stderr redirections (fresh output files) and cwd as the sandboxed runs.
BARE_SRC = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
int main(int argc, char **argv) {   /* bare TESTS_DIR N PARALLEL CWD PROG [ARGS] */
    const char *tests = argv[1]; int n = atoi(argv[2]), par = atoi(argv[3]);
    if (chdir(argv[4]) < 0) return 2;
    char *env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
    int next = 1, running = 0;
    while (next <= n || running) {
        while (next <= n && running < par) {
            pid_t p = fork();
            if (p == 0) {
                char b[4096];
                snprintf(b, sizeof b, "%s/%d.in", tests, next);   int i = open(b, O_RDONLY);
                snprintf(b, sizeof b, "%s/%d.out", tests, next);  int o = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                snprintf(b, sizeof b, "%s/%d.err", tests, next);  int e = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
                dup2(i, 0); dup2(o, 1); dup2(e, 2); close(i); close(o); close(e);
                execve(argv[5], argv + 5, env);
                _exit(127);
            }
            next++; running++;
        }
        int st;
        if (wait(&st) > 0) running--;
    }
    return 0;
}
"""
JAVA_SRC = 'public class Main { public static void main(String[] a) { System.out.println("hello"); } }\n'
PY_SRC = 'print("hello")\n'
JVM = ["-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto", "-XX:-UsePerfData"]


def helper_cmd(profile: str, box: Path, tests: Path, argv: list[str], parallel: int,
               memory_mb: int = 256, procs: int | None = None) -> list[str]:
    cmd = [str(HELPER), "--profile", profile, "--time-ms", "5000", "--wall-ms", "10000",
           "--memory-mb", str(memory_mb), "--output-kb", "1024", "--parallel", str(parallel),
           "--workdir", str(box), "--tests", str(tests)]
    if procs:
        cmd += ["--procs", str(procs)]
    return cmd + ["--", *argv]


def run_helper(cmd: list[str], n: int) -> float:
    t = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True, text=True, env={"PATH": PATH})
    dt = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"helper failed: {p.stderr}")
    runs = json.loads(p.stdout)
    bad = [r for r in runs if r["status"] != "OK"]
    if len(runs) != n or bad:
        sys.exit(f"unexpected results: {bad[:3]} {p.stderr}")
    return dt


BARE_BIN: Path | None = None


def run_bare(argv: list[str], cwd: Path, tests: Path, n: int, parallel: int) -> float:
    """fork+exec+wait from a tiny C harness (no interpreter overhead in the baseline)."""
    exe = argv[0] if argv[0].startswith("/") else str(cwd / argv[0])
    t = time.perf_counter()
    subprocess.run([str(BARE_BIN), str(tests), str(n), str(parallel), str(cwd), exe, *argv[1:]], check=True)
    return time.perf_counter() - t


def clean(tests: Path) -> None:
    """Fresh output files for every measurement (the executor's tests dir is always new)."""
    for p in tests.iterdir():
        if p.suffix in (".out", ".err"):
            p.unlink()


def best_pair(helper_fn, bare_fn, tests: Path, repeat: int) -> tuple[float, float]:
    """Interleaved best-of-R, so that load changes on a shared host hit both sides alike."""
    h, b = [], []
    for _ in range(repeat):
        clean(tests)
        h.append(helper_fn())
        clean(tests)
        b.append(bare_fn())
    return min(h), min(b)


def print_table(probe: dict, args: argparse.Namespace, rows: list[tuple[str, float, float]]) -> None:
    load = os.getloadavg()[0]
    print(f"host: {os.cpu_count()} cores, load {load:.1f}, isolation level {probe['level']}, cgroup "
          f"{probe['cgroup']}, interleaved best of {args.repeat} (startup rows: best of {args.startup_runs})\n")
    print("| workload | sandbox (ms/run) | bare fork+exec+wait (ms/run) | ratio |")
    print("|---|---:|---:|---:|")
    for name, h, b in rows:
        print(f"| {name} | {h:.2f} | {b:.2f} | {h / b:.2f}x |")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=200, help="tests per invocation")
    ap.add_argument("--repeat", type=int, default=3, help="best of R")
    ap.add_argument("--startup-runs", type=int, default=5)
    args = ap.parse_args()
    if not HELPER.exists():
        subprocess.run(["make", "-C", str(ROOT / "native_sandbox")], check=True)
    probe = json.loads(subprocess.run([str(HELPER), "--probe"], capture_output=True, text=True, check=True).stdout)

    work = Path(tempfile.mkdtemp(prefix="codepipe-bench-"))
    try:
        os.chmod(work, 0o755)
        box, tests = work / "box", work / "tests"
        box.mkdir()
        tests.mkdir()
        (box / "main.c").write_text(C_SRC)
        subprocess.run(["gcc", "-O2", "-o", str(box / "main"), str(box / "main.c")], check=True)
        global BARE_BIN
        (work / "bare.c").write_text(BARE_SRC)
        BARE_BIN = work / "bare"
        subprocess.run(["gcc", "-O2", "-o", str(BARE_BIN), str(work / "bare.c")], check=True)
        for i in range(1, args.n + 1):
            (tests / f"{i}.in").write_text(f"{i} {i}\n")

        rows = []
        for par in (1, 2):
            h, b = best_pair(lambda par=par: run_helper(helper_cmd("c", box, tests, ["./main"], par), args.n),
                             lambda par=par: run_bare(["./main"], box, tests, args.n, par), tests, args.repeat)
            rows.append((f"C trivial, {args.n} tests, --parallel {par}", h / args.n * 1000, b / args.n * 1000))

        # startup: Java and Python hello world, one test each invocation
        one = work / "one"
        one.mkdir()
        (one / "1.in").write_text("")
        startup = []
        if shutil.which("javac", path=PATH):
            (box / "Main.java").write_text(JAVA_SRC)
            subprocess.run(["/usr/bin/javac", "-d", str(box), str(box / "Main.java")], check=True)
            jargv = ["/usr/bin/java", "-Xmx256m", "-Xss64m", *JVM, "-cp", ".", "Main"]
            h, b = best_pair(lambda: run_helper(helper_cmd("java", box, one, jargv, 1, procs=64), 1),
                             lambda: run_bare(jargv, box, one, 1, 1), one, args.startup_runs)
            startup.append(("Java hello world (1 run)", h * 1000, b * 1000))
        (box / "main.py").write_text(PY_SRC)
        pargv = ["/usr/bin/python3", "-B", "-s", "main.py"]
        h, b = best_pair(lambda: run_helper(helper_cmd("python", box, one, pargv, 1), 1),
                         lambda: run_bare(pargv, box, one, 1, 1), one, args.startup_runs)
        startup.append(("Python hello world (1 run)", h * 1000, b * 1000))
        cargv = ["./main"]
        h, b = best_pair(lambda: run_helper(helper_cmd("c", box, one, cargv, 1), 1),
                         lambda: run_bare(cargv, box, one, 1, 1), one, args.startup_runs)
        startup.append(("C trivial, whole invocation (1 run)", h * 1000, b * 1000))

        print_table(probe, args, rows + startup)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
