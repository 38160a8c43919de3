"""The scheduler gives every run its own cgroup set and its own per-run state, whatever the
numbers of tests and slots.

A job with 2..--parallel tests once put two tests on one slot and so in one cgroup set: each
was charged both runs' CPU time and memory (a 300 ms program reported 604 ms and was judged
TLE through the API).  Every CPU-accuracy test before ran one test per invocation or more tests
than slots, so nothing caught it; these walk the whole grid."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from conftest import scaled

pytestmark = pytest.mark.usefixtures("isolated")

TRACE_RUN = re.compile(r"trace run: test (\d+) slot (\d+) cgroup-set (\d+) page (\d+) held (\d+)\.\.(\d+) us")
BURN_MS, ALLOC_MB = 300, 100


@dataclass
class Held:
    test: int
    slot: int
    cgroup_set: int
    page: int
    start: int
    end: int


def held_spans(stderr: str) -> list[Held]:
    return [Held(*map(int, m.groups())) for m in TRACE_RUN.finditer(stderr)]


def overlap(a: Held, b: Held) -> bool:
    return a.start < b.end and b.start < a.end


def cgroup_paths(out: str) -> frozenset[str]:
    """The run's own cgroups, as /proc/self/cgroup showed them to the program."""
    paths = set()
    for line in out.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3 and "/codepipe/" in parts[2]:
            paths.add(f"{parts[1]}:{parts[2]}")
    return frozenset(paths)


@pytest.mark.parametrize("parallel", [1, 2, 3, 4])
@pytest.mark.parametrize("ntests", [1, 2, 3, 4, 5, 6])
def test_each_run_measured_alone(sb, ntests, parallel):
    r = sb.run(["./hostile", "burnalloc", str(ALLOC_MB), str(BURN_MS)], tests=[""] * ntests,
               parallel=parallel, time_ms=500, wall_ms=10000, memory_mb=256,
               helper_extra_env={"CODEPIPE_SANDBOX_TRACE": "1"})
    assert [run["test"] for run in r.runs] == list(range(1, ntests + 1))
    for run in r.runs:
        assert run["status"] == "OK", r.runs
        assert BURN_MS * 0.75 <= run["cpu_ms"] <= scaled(BURN_MS * 1.25), r.runs
        assert ALLOC_MB * 1024 * 0.95 <= run["memory_kb"] <= ALLOC_MB * 1024 * 1.5, r.runs

    spans = held_spans(r.stderr)
    assert sorted(h.test for h in spans) == list(range(1, ntests + 1)), r.stderr
    paths = {n: cgroup_paths(r.out(n)) for n in range(1, ntests + 1)}
    for n, p in paths.items():
        assert p, f"test {n} printed no codepipe cgroup: {r.out(n)!r}"
    for i, a in enumerate(spans):
        for b in spans[i + 1:]:
            if not overlap(a, b):
                continue
            assert a.cgroup_set != b.cgroup_set, f"tests {a.test} and {b.test} shared a cgroup set: {spans}"
            assert a.page != b.page, f"tests {a.test} and {b.test} shared a page: {spans}"
            assert not paths[a.test] & paths[b.test], (a.test, b.test, paths)
    # the slots really run in parallel: as many slots as min(tests, --parallel) were used
    assert len({h.slot for h in spans}) == min(ntests, parallel), spans


TRAIL_SPOTS = ("/tmp/trail", "trail", "/dev/shm/trail")


@pytest.mark.parametrize("parallel", [1, 2, 3])
def test_no_file_trail_between_runs(sb, parallel):
    """/tmp, the copy-on-write workdir and /dev/shm are per run: what test 1 leaves there, test
    2 (on the same slot or another) does not find; and each test's output files hold only its
    own output."""
    n = 6
    r = sb.run(["./hostile", "trail"], tests=[f"{i}\n" for i in range(1, n + 1)], parallel=parallel)
    assert all(run["status"] == "OK" for run in r.runs), r.runs
    for i in range(1, n + 1):
        out = r.out(i).splitlines()
        assert out[0] == f"test {i}", (i, out)
        for spot in TRAIL_SPOTS:
            assert f"{spot} absent" in out, (i, out)
        assert r.err(i) == f"err of test {i}\n"
        assert r.runs[i - 1]["stdout_bytes"] == len(r.out(i).encode())


@pytest.mark.parametrize("parallel", [1, 2, 4])
def test_progress_counts_each_run_once(sb, parallel):
    n = 5
    r = sb.run(["./hostile", "echo"], tests=["1 2\n"] * n, parallel=parallel, extra=["--progress"])
    lines = [ln for ln in r.stderr.splitlines() if ln.startswith("sandbox: progress ")]
    assert lines == [f"sandbox: progress {k}/{n}" for k in range(1, n + 1)], r.stderr
    assert all(r.out(i) == "3\n" for i in range(1, n + 1))
