#!/usr/bin/env python3
"""Interactive pairs through the sandbox helper (--interactor) vs. two bare processes connected
by pipes, doing the same round trips.

Each pair is guess-the-number (native_sandbox/tests/programs/guesser.c and guess_interactor.c):
the guesser asks K queries ("? 1", each answered) and then binary-searches (~20 more), so a pair
is K + ~20 round trips.  The helper runs N such pairs in one invocation (`--tests`, each pair
in its own namespaces and cgroup sets, the helper relaying every byte); the baseline is a tiny
C driver that, per pair, makes two pipes, forks and execs both programs cross-connected, and
waits for both (same parallelism, same output files).  A third column puts the floor of any
relaying design next to them: the same bare processes, but with a minimal C poll() relay
process between them (what every message through a relay costs: two more wake-ups and a
read+write, with no sandbox at all).  Runs are interleaved; the table gives the median of
--repeat runs.  Only prints; never asserts timing.

    python3 bench/interactive.py [-n 10] [-k 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HELPER = ROOT / "native_sandbox" / "build" / "sandbox"
PROGRAMS = ROOT / "native_sandbox" / "tests" / "programs"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# The baseline: per pair two pipes, fork+exec of the guesser (stdin <- interactor, stdout ->
# interactor) and of the interactor (INPUT OUTPUT ANSWER), `parallel` pairs at a time.
BARE_SRC = r"""
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
/* bare_pairs N PARALLEL JUDGE_DIR OUT_DIR GUESSER K INTERACTOR [relay] */
static char *env[] = { "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", NULL };
static pid_t spawn(int in, int out, int err, char **argv, int *close_fds, int nclose) {
    pid_t p = fork();
    if (p == 0) {
        dup2(in, 0); dup2(out, 1); dup2(err, 2);
        for (int i = 0; i < nclose; i++) close(close_fds[i]);
        execve(argv[0], argv, env);
        _exit(127);
    }
    return p;
}
/* relay: what the guesser writes on g to i, what the interactor writes on i to g, until both end */
static void relay(int g_out, int i_in, int i_out, int g_in) {
    static char buf[65536];
    struct pollfd pf[2] = { { g_out, POLLIN, 0 }, { i_out, POLLIN, 0 } };
    int to[2] = { i_in, g_in }, open_ = 2;
    while (open_ && poll(pf, 2, -1) > 0)
        for (int k = 0; k < 2; k++) {
            if (!pf[k].revents) continue;
            ssize_t r = read(pf[k].fd, buf, sizeof buf);
            if (r > 0 && write(to[k], buf, (size_t)r) == r) continue;
            close(pf[k].fd); close(to[k]); pf[k].fd = -1; open_--;
        }
}
int main(int argc, char **argv) {
    if (argc != 8 && argc != 9) return 2;
    int n = atoi(argv[1]), par = atoi(argv[2]), relayed = argc == 9;
    if (relayed) signal(SIGPIPE, SIG_IGN);
    int next = 1, running = 0;   /* processes */
    while (next <= n || running) {
        while (next <= n && running < (2 + relayed) * par) {
            int g2i[2], i2g[2], r2i[2], r2g[2];
            if (pipe(g2i) < 0 || pipe(i2g) < 0 || pipe(r2i) < 0 || pipe(r2g) < 0) return 3;
            char b[4096], in[4096], outp[4096], err[4096];
            snprintf(in, sizeof in, "%s/%d/input", argv[3], next);
            snprintf(outp, sizeof outp, "%s/%d.tout", argv[4], next);
            snprintf(b, sizeof b, "%s/%d.err", argv[4], next);
            int e = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            snprintf(err, sizeof err, "%s/%d.ierr", argv[4], next);
            int ie = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            int fds[10] = { g2i[0], g2i[1], i2g[0], i2g[1], e, ie, r2i[0], r2i[1], r2g[0], r2g[1] };
            char *gargv[] = { argv[5], "bench", argv[6], NULL };
            char *iargv[] = { argv[7], in, outp, "/dev/null", NULL };
            /* direct: g -> g2i -> i, i -> i2g -> g; relayed: g -> g2i -> relay -> r2i -> i, back via i2g, r2g */
            spawn(relayed ? r2g[0] : i2g[0], g2i[1], e, gargv, fds, 10);
            spawn(relayed ? r2i[0] : g2i[0], i2g[1], ie, iargv, fds, 10);
            running += 2;
            if (relayed && fork() == 0) {
                close(g2i[1]); close(i2g[1]); close(r2i[0]); close(r2g[0]); close(e); close(ie);
                relay(g2i[0], r2i[1], i2g[0], r2g[1]);
                _exit(0);
            }
            running += relayed;
            for (int i = 0; i < 10; i++) close(fds[i]);
            next++;
        }
        int st;
        if (wait(&st) > 0) running--;
    }
    return 0;
}
"""


def build(work: Path) -> dict[str, Path]:
    exes = {}
    for name, src in (("guesser", PROGRAMS / "guesser.c"), ("interactor", PROGRAMS / "guess_interactor.c")):
        exes[name] = work / name
        subprocess.run(["gcc", "-O2", "-o", str(exes[name]), str(src)], check=True)
    (work / "bare_pairs.c").write_text(BARE_SRC)
    exes["bare"] = work / "bare_pairs"
    subprocess.run(["gcc", "-O2", "-o", str(exes["bare"]), str(work / "bare_pairs.c")], check=True)
    return exes


def prepare(work: Path, exes: dict[str, Path], n: int, k: int) -> dict[str, Path]:
    """box/ (guesser), ibox/ (interactor), judge/N/{input,answer}, tests/N.in, bare/."""
    d = {name: work / name for name in ("box", "ibox", "judge", "tests", "bare")}
    for p in d.values():
        p.mkdir()
    os.link(exes["guesser"], d["box"] / "guesser")
    os.link(exes["interactor"], d["ibox"] / "interactor")
    for i in range(1, n + 1):
        (d["judge"] / str(i)).mkdir()
        (d["judge"] / str(i) / "input").write_text(f"{1000 - i} {k + 100}\n")
        (d["judge"] / str(i) / "answer").write_text("")
        (d["tests"] / f"{i}.in").write_text("")
    for p in work.rglob("*"):
        os.chmod(p, 0o755 if p.is_dir() or p.name in ("guesser", "interactor", "bare_pairs") else 0o644)
    os.chmod(work, 0o755)
    return d


def children_cpu() -> float:
    """CPU seconds of every reaped descendant (the helper's pairs, keepers and programs too)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def helper_run(d: dict[str, Path], k: int, parallel: int, n: int) -> tuple[float, float]:
    cmd = [str(HELPER), "--profile", "c", "--time-ms", "10000", "--wall-ms", "20000", "--memory-mb", "64",
           "--output-kb", "4096", "--parallel", str(parallel), "--workdir", str(d["box"]), "--tests", str(d["tests"]),
           "--test-files", str(d["judge"]), "--interactor-workdir", str(d["ibox"])]
    for a in ("./interactor", "/judge/input", "/tmp/output", "/judge/answer"):
        cmd += ["--interactor", a]
    cmd += ["--", "./guesser", "bench", str(k)]
    c0, t0 = children_cpu(), time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env={"PATH": PATH})
    dt, cpu = time.perf_counter() - t0, children_cpu() - c0
    runs = json.loads(r.stdout) if r.returncode == 0 else []
    bad = [x for x in runs if x["status"] != "OK" or x["interactor"]["status"] != "OK"]
    if r.returncode != 0 or len(runs) != n or bad:
        sys.exit(f"helper run failed: rc={r.returncode} {r.stderr[-500:]} {bad[:1]}")
    return dt, cpu


def bare_run(exes: dict[str, Path], d: dict[str, Path], k: int, parallel: int, n: int,
             relayed: bool = False) -> tuple[float, float]:
    cmd = [str(exes["bare"]), str(n), str(parallel), str(d["judge"]), str(d["bare"]), str(exes["guesser"]), str(k),
           str(exes["interactor"]), *(["relay"] if relayed else [])]
    c0, t0 = children_cpu(), time.perf_counter()
    subprocess.run(cmd, check=True, env={"PATH": PATH})
    dt, cpu = time.perf_counter() - t0, children_cpu() - c0
    tout = (d["bare"] / "1.tout").read_text()
    if not tout.startswith("queries=") or int(tout.split("=")[1]) <= k:
        sys.exit(f"bare run failed: {tout!r}")
    return dt, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=10, help="pairs per invocation")
    ap.add_argument("-k", type=int, default=1000, help="round trips per pair (before the binary search)")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    if not HELPER.exists():
        sys.exit(f"{HELPER} missing: make -C native_sandbox")
    if os.geteuid() != 0:
        print("note: not root: the helper runs in its degraded modes", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="codepipe-bench-pairs-", dir="/var/tmp") as tmp:
        work = Path(tmp)
        exes = build(work)
        d = prepare(work, exes, args.n, args.k)
        rows = []
        for parallel in (1, 2):
            helper_times, bare_times, relay_times = [], [], []
            helper_run(d, args.k, parallel, args.n)        # warm the page cache
            for _ in range(args.repeat):
                helper_times.append(helper_run(d, args.k, parallel, args.n))
                bare_times.append(bare_run(exes, d, args.k, parallel, args.n))
                relay_times.append(bare_run(exes, d, args.k, parallel, args.n, relayed=True))
            def per_pair(times: list[tuple[float, float]], i: int) -> float:
                return statistics.median(t[i] for t in times) * 1000 / args.n
            rows.append((f"{args.k:,} round trips, {args.n} pairs, --parallel {parallel}",
                         per_pair(helper_times, 0), per_pair(bare_times, 0), per_pair(relay_times, 0),
                         per_pair(helper_times, 1), per_pair(bare_times, 1), per_pair(relay_times, 1)))
        load = os.getloadavg()[0]
        print(f"interactive pairs (median of {args.repeat}, load {load:.1f}, {os.cpu_count()} cpus)\n")
        print("| workload | sandboxed pair (ms/pair) | bare pipes (ms/pair) | ratio | bare + minimal relay (ms/pair, "
              "ratio) | per round trip (helper / bare) | CPU ms/pair (helper / bare / relay) | CPU ratio |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        trips = args.k + 20
        for name, h, b, r, hc, bc, rc in rows:
            print(f"| {name} | {h:.2f} | {b:.2f} | {h / b:.2f}x | {r:.2f} ({r / b:.2f}x) "
                  f"| {h * 1000 / trips:.1f} / {b * 1000 / trips:.1f} us "
                  f"| {hc:.2f} / {bc:.2f} / {rc:.2f} | {hc / bc:.2f}x |")


if __name__ == "__main__":
    main()
