"""shared/judging/scoring.py: run order, skipping and score arithmetic of groups and points."""

from __future__ import annotations

from fractions import Fraction

from shared.judge_config import Group
from shared.judging.scoring import Plan, PlannedTest
from shared.models import Verdict

A, WA = Verdict.ACCEPTED, Verdict.WRONG_ANSWER


def run(plan: Plan, outcome: dict[int, tuple[Verdict, Fraction]]) -> list[list[int]]:
    """Drive the plan like the attempt does; returns the batches it ran."""
    batches = []
    while batch := plan.next_batch():
        batches.append(batch)
        for n in batch:
            verdict, fraction = outcome.get(n, (A, Fraction(1)))
            plan.record(n, verdict, fraction)
    return batches


def test_without_groups_one_batch_and_points_sum() -> None:
    tests = [PlannedTest(1, 1, None), PlannedTest(2, 2.5, None), PlannedTest(3, 0.1, None)]
    plan = Plan(tests, [])
    assert run(plan, {2: (WA, Fraction(0))}) == [[1, 2, 3]]
    assert plan.score() == (1.1, 3.6)  # exact: 1 + 0.1, not 1.1000000000000001
    assert [plan.verdict(n) for n in (1, 2, 3)] == [A, WA, A]


def test_failed_dependency_skips_its_dependants_without_running_them() -> None:
    tests = [PlannedTest(1, 1, "samples"), PlannedTest(2, 1, "small"), PlannedTest(3, 1, "small"),
             PlannedTest(4, 1, "big"), PlannedTest(5, 1, None)]
    groups = [Group(name="samples", points=0), Group(name="small", points=30, depends_on=["samples"]),
              Group(name="big", points=70, depends_on=["small"])]
    plan = Plan(tests, groups)
    batches = run(plan, {3: (WA, Fraction(0))})
    assert batches == [[1, 5], [2, 3]]  # big never ran
    assert plan.verdict(4) == Verdict.SKIPPED
    assert [(g.name, g.score, g.verdict) for g in plan.group_results()] == [
        ("samples", 0.0, A), ("small", 0.0, WA), ("big", 0.0, Verdict.SKIPPED)]
    assert plan.score() == (1.0, 101.0)


def test_min_scoring_takes_the_smallest_partial_fraction() -> None:
    tests = [PlannedTest(1, 1, "g"), PlannedTest(2, 1, "g"), PlannedTest(3, 4, None)]
    plan = Plan(tests, [Group(name="g", points=30, scoring="min")])
    run(plan, {1: (A, Fraction(1, 2)), 2: (A, Fraction(3, 4)), 3: (A, Fraction(1, 4))})
    assert plan.group_results()[0].score == 15.0
    assert plan.score() == (16.0, 34.0)
    all_or_nothing = Plan(tests, [Group(name="g", points=30)])
    run(all_or_nothing, {1: (A, Fraction(1, 2))})
    assert all_or_nothing.group_results()[0].score == 0.0


def test_partial_group_blocks_a_dependant() -> None:
    tests = [PlannedTest(1, 1, "a"), PlannedTest(2, 1, "b")]
    plan = Plan(tests, [Group(name="a", points=10, scoring="min"), Group(name="b", points=10, depends_on=["a"])])
    run(plan, {1: (A, Fraction(1, 2))})
    assert plan.verdict(2) == Verdict.SKIPPED and plan.score() == (5.0, 20.0)


def test_stop_on_first_failure_skips_everything_after_it() -> None:
    tests = [PlannedTest(n, 1, None) for n in range(1, 8)]
    plan = Plan(tests, [], stop_on_first_failure=True, chunk=2)
    batches = run(plan, {3: (WA, Fraction(0))})
    assert batches == [[1, 2], [3, 4]]  # 4 ran with 3 but counts as skipped
    assert [plan.verdict(n) for n in range(1, 8)] == [A, A, WA] + [Verdict.SKIPPED] * 4
    assert plan.score() == (2.0, 7.0)
