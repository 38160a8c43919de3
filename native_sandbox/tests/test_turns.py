"""The runs of one slot take turns in test order.

Every slot once had a single token pipe that its current run's child and its prepared-ahead
child both read: the prepared test could take the slot's first token and run first (about one
invocation in two at --parallel 1 on this host).  The test that should have run first then
waited, while its helper backstop deadline (its own wall limit + 3 s, counted from when it
became current) ran out: a program using most of its wall limit was reported IE."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.usefixtures("isolated")

TRACE_RUN = re.compile(r"trace run: test (\d+) slot (\d+) ")
SLEEP_MS = 30


@pytest.mark.parametrize("parallel", [1, 2])
def test_each_slot_runs_its_tests_in_order(sb, parallel):
    n = 6
    for _ in range(5):
        r = sb.run(["./hostile", "clock", str(SLEEP_MS)], tests=[""] * n, parallel=parallel,
                   helper_extra_env={"CODEPIPE_SANDBOX_TRACE": "1"})
        assert all(run["status"] == "OK" for run in r.runs), r.runs
        start = {i: int(r.out(i).split()[1]) for i in range(1, n + 1)}
        slot_of = {int(t): int(s) for t, s in TRACE_RUN.findall(r.stderr)}
        assert sorted(slot_of) == list(range(1, n + 1)), r.stderr
        for slot in set(slot_of.values()):
            tests = sorted(t for t, s in slot_of.items() if s == slot)
            for a, b in zip(tests, tests[1:], strict=False):
                # b starts only after a's run is over (a sleeps SLEEP_MS after it started)
                assert start[b] >= start[a] + SLEEP_MS * 1_000_000, (slot, a, b, start)


def test_no_backstop_ie_for_a_run_using_its_wall_limit(sb):
    """Two tests on one slot, each sleeping 3.4 s of a 3.5 s wall limit: the second must not
    start first, or the first one's backstop (3.5 + 3 s after it became current) runs out."""
    r = sb.run(["./hostile", "clock", "3400"], tests=["", ""], parallel=1, time_ms=1000, wall_ms=3500,
               timeout=30)
    assert [run["status"] for run in r.runs] == ["OK", "OK"], (r.runs, r.stderr)
    assert int(r.out(2).split()[1]) > int(r.out(1).split()[1])
