"""The reused cgroup sets (cgroup.c, "the pool of sets"): an invocation holds pool-<k> sets by
flock, empties them when it takes them and leaves them empty, never removed, so that removed
memory cgroups charged with page cache stop piling up as zombie memcgs.  Reuse is a channel
between invocations: what one left (processes, OOM counts, CPU time, memory peaks) must not
reach the next."""

from __future__ import annotations

import concurrent.futures
import contextlib
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import (
    BIN,
    HELPER_PIDS,
    TEST_UID,
    _preexec,
    cgroup_held,
    cgroup_procs,
    helper_env,
    scaled,
    uid_processes,
    wait_no_uid_processes,
)

pytestmark = pytest.mark.usefixtures("isolated")
POOL = {"CODEPIPE_SANDBOX_CGROUP_POOL": "1"}      # opt-in (native_sandbox/README.md: why)


def set_dirs(out: str) -> list[Path]:
    """The directories of the cgroup set a program ran in, from its /proc/self/cgroup."""
    dirs = []
    for line in out.splitlines():
        parts = line.strip().split(":", 2)
        if len(parts) != 3 or "/codepipe/" not in parts[2]:
            continue
        base = Path("/sys/fs/cgroup")
        if parts[1]:        # v1: the hierarchy's mount, named after one of its controllers
            names = [n for n in parts[1].split(",") if (base / n).is_dir()]
            base = base / (names[0] if names else parts[1])
        dirs.append(base / parts[2].lstrip("/"))
    return dirs


def test_sets_are_pooled_and_left_empty(sb):
    r1 = sb.run(helper_extra_env=POOL, argv=["./hostile", "burnalloc", "8", "50"])
    assert r1.run["status"] == "OK", r1.run
    dirs = set_dirs(r1.out())
    assert dirs and all(d.name.startswith("pool-") for d in dirs), r1.out()
    for d in dirs:
        assert d.is_dir(), d                                  # kept for the next invocation
        assert cgroup_procs(d) == [], d
        assert not cgroup_held(d), d                                 # released at exit
    r2 = sb.run(helper_extra_env=POOL, argv=["./hostile", "burnalloc", "8", "50"])
    assert all(d.name.startswith("pool-") for d in set_dirs(r2.out())), r2.out()


def test_a_reused_set_starts_clean(sb):
    """An OOM kill, a CPU burn and a 100 MB peak in one invocation: the next invocation, in the
    same (lowest free) set, sees none of them."""
    r = sb.run(helper_extra_env=POOL, argv=["./hostile", "membomb"], memory_mb=64)
    assert r.run["status"] == "MLE", r.run
    r = sb.run(helper_extra_env=POOL, argv=["./hostile", "burnalloc", "100", "300"], memory_mb=256)
    assert r.run["status"] == "OK", r.run
    r = sb.run(helper_extra_env=POOL, argv=["./hostile", "burnalloc", "8", "20"], memory_mb=64)
    assert r.run["status"] == "OK", r.run                     # not MLE: the OOM count was the last holder's
    assert r.run["memory_kb"] < 40 * 1024, r.run              # not the 100 MB peak of the last holder
    assert r.run["cpu_ms"] < scaled(250), r.run               # not the last holder's CPU time


@contextlib.contextmanager
def sleeping_run(sb, wall_ms: int) -> Iterator[list[int]]:
    """A helper invocation whose run sleeps until its wall limit: its processes while it does."""
    job = sb.job(["hostile"])
    (job / "tests" / "1.in").write_text("\n")
    wall_ms = int(scaled(wall_ms))
    cmd = [str(BIN), "--profile", "c", "--time-ms", str(wall_ms), "--wall-ms", str(wall_ms), "--memory-mb", "64",
           "--output-kb", "64", "--workdir", str(job / "box"), "--tests", str(job / "tests"),
           "--", "./hostile", "sleep"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=helper_env(POOL), preexec_fn=_preexec)
    HELPER_PIDS.append(p.pid)
    try:
        deadline = time.monotonic() + scaled(5)
        while time.monotonic() < deadline and not uid_processes(TEST_UID):
            time.sleep(0.02)
        sleeper = uid_processes(TEST_UID)
        assert sleeper, "the sleeping run never started"
        yield sleeper
    finally:
        p.kill()
        p.communicate()
    assert wait_no_uid_processes(TEST_UID) == []


def test_concurrent_invocations_hold_distinct_sets(sb):
    with sleeping_run(sb, 4000) as sleeper:
        r = sb.run(helper_extra_env=POOL, argv=["./hostile", "burnalloc", "8", "20"])
        assert r.run["status"] == "OK", r.run
        for d in set_dirs(r.out()):
            assert not set(sleeper) & set(cgroup_procs(d)), (d, sleeper)    # not the sleeper's set


@pytest.mark.parametrize("parallel", [1, 2])
def test_concurrent_pooled_invocations_leave_each_other_alone(sb, parallel):
    """Eight helpers at once, each with its own sets from the pool: every run ends on its own
    (none SIGKILLed by another invocation claiming or emptying a set), and no two invocations
    ran in the same set at the same time."""
    jobs = [sb.job(["hostile"]) for _ in range(8)]

    def one(job: Path):
        return sb.run(helper_extra_env=POOL, argv=["./hostile", "burnalloc", "8", "150"], job=job,
                      tests=["\n", "\n"], parallel=parallel, time_ms=5000, wall_ms=20000, timeout=120)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        results = list(pool.map(one, jobs))
    statuses = [run["status"] for r in results for run in r.runs]
    assert statuses == ["OK"] * 16, [run for r in results for run in r.runs if run["status"] != "OK"]
    for r in results:
        for n in (1, 2):
            dirs = set_dirs(r.out(n))
            assert dirs and all(d.name.startswith("pool-") for d in dirs), r.out(n)


def _own_v1_memory_cgroup() -> Path | None:
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, ctls, path = line.split(":", 2)
        if "memory" in ctls.split(","):
            return Path("/sys/fs/cgroup/memory") / path.lstrip("/")
    return None


def test_callers_in_other_memory_cgroups_do_not_share_a_pool_set(sb):
    """v1 mounts each controller on its own: two callers in different memory cgroups (two
    containers, two shells of one host) have different memory pools but may share the pids and
    cpuacct ones.  A set is held by its directory in every hierarchy, so the second caller takes
    another pool-<k> there instead of emptying (SIGKILLing) the first caller's running set."""
    own = _own_v1_memory_cgroup()
    if own is None or not own.is_dir():
        pytest.skip("needs cgroup v1 with the memory controller on its own")
    other = own / f"codepipe-test-caller-{time.monotonic_ns()}"
    other.mkdir()

    def preexec_other() -> None:
        _preexec()
        (other / "cgroup.procs").write_text(str(os.getpid()))

    try:
        with sleeping_run(sb, 6000) as sleeper:
            r = sb.run(helper_extra_env=POOL, argv=["./hostile", "burnalloc", "8", "20"], preexec=preexec_other)
            assert r.run["status"] == "OK", r.run
            assert all(Path(f"/proc/{pid}").exists() for pid in sleeper), "the other caller killed the running set"
            theirs = set_dirs(r.out())
            assert theirs, r.out()
            for d in theirs:
                assert not set(sleeper) & set(cgroup_procs(d)), (d, sleeper)
    finally:
        for _ in range(100):
            try:
                other.rmdir()
                break
            except OSError:
                time.sleep(0.05)
