"""Groups (subtasks), points and skipping (SPEC §7): which tests run when, and what they score.

The attempt asks the plan for the next batch of tests to run, runs and judges them, records
each test's verdict and partial fraction, and asks again. A group whose dependency did not
score fully is never run (its tests are SKIPPED); with `stop_on_first_failure` everything after
the first non-ACCEPTED test is SKIPPED. Scores are exact (fractions of the decimal points given),
shown as floats."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from shared.judge_config import Group
from shared.models import GroupResult, Verdict


def exact(value: float | str) -> Fraction:
    """The decimal a client wrote (0.1 is 1/10, not the float nearest to it)."""
    return Fraction(str(value))


@dataclass(frozen=True)
class PlannedTest:
    n: int
    points: float
    group: str | None


@dataclass
class _Decided:
    verdict: Verdict
    fraction: Fraction


@dataclass
class Plan:
    tests: Sequence[PlannedTest]
    groups: Sequence[Group]
    stop_on_first_failure: bool = False
    chunk: int = 1  # tests per batch under stop_on_first_failure (the helper's --parallel)
    decided: dict[int, _Decided] = field(default_factory=dict)
    _layers: list[list[PlannedTest]] = field(default_factory=list)
    _stopped: bool = False

    def __post_init__(self) -> None:
        self._layers = _layers(self.tests, self.groups)

    # --- running ------------------------------------------------------------------------
    def next_batch(self) -> list[int]:
        """Test numbers to run now (ascending); [] once every test is decided."""
        while self._layers:
            runnable = [t.n for t in self._layers[0] if t.n not in self.decided and not self._blocked(t)]
            for t in self._layers[0]:
                if t.n not in self.decided and (self._stopped or self._blocked(t)):
                    self.decided[t.n] = _Decided(Verdict.SKIPPED, Fraction(0))
            if self._stopped or not runnable:
                self._layers.pop(0)
                continue
            return runnable[: self.chunk] if self.stop_on_first_failure else runnable
        return []

    def record(self, n: int, verdict: Verdict, fraction: Fraction = Fraction(1)) -> None:
        if self._stopped:  # ran in the same batch as the first failure, but after it
            verdict, fraction = Verdict.SKIPPED, Fraction(0)
        self.decided[n] = _Decided(verdict, fraction if verdict == Verdict.ACCEPTED else Fraction(0))
        if self.stop_on_first_failure and verdict != Verdict.ACCEPTED:
            self._stopped = True

    def _blocked(self, t: PlannedTest) -> bool:
        group = self._group(t.group)
        return group is not None and not all(self._full(dep) for dep in group.depends_on)

    # --- scores -------------------------------------------------------------------------
    def verdict(self, n: int) -> Verdict:
        return self.decided[n].verdict

    def test_score(self, t: PlannedTest) -> float:
        return float(exact(t.points) * self.decided[t.n].fraction)

    def group_results(self) -> list[GroupResult]:
        return [GroupResult(name=g.name, score=float(self._group_score(g)), points=g.points,
                            verdict=self._group_verdict(g)) for g in self.groups]

    def score(self) -> tuple[float, float]:
        """(score, max_score): the groups' scores plus the ungrouped tests' own."""
        ungrouped = [t for t in self.tests if t.group is None]
        got = sum((self._group_score(g) for g in self.groups), Fraction(0))
        got += sum((exact(t.points) * self.decided[t.n].fraction for t in ungrouped), Fraction(0))
        top = sum((exact(g.points) for g in self.groups), Fraction(0)) + sum((exact(t.points) for t in ungrouped),
                                                                             Fraction(0))
        return float(got), float(top)

    def _members(self, name: str) -> list[PlannedTest]:
        return [t for t in self.tests if t.group == name]

    def _group(self, name: str | None) -> Group | None:
        return next((g for g in self.groups if g.name == name), None)

    def _fraction(self, g: Group) -> Fraction:
        """The group's share of its points: all-or-nothing, or its smallest test fraction."""
        fractions = [self.decided[t.n].fraction if t.n in self.decided else Fraction(0) for t in self._members(g.name)]
        if g.scoring == "min":
            return min(fractions, default=Fraction(1))
        return Fraction(1) if all(f == 1 for f in fractions) else Fraction(0)

    def _group_score(self, g: Group) -> Fraction:
        return exact(g.points) * self._fraction(g)

    def _full(self, name: str) -> bool:
        group = self._group(name)
        return group is not None and all(
            t.n in self.decided and self.decided[t.n].verdict == Verdict.ACCEPTED and self.decided[t.n].fraction == 1
            for t in self._members(name))

    def _group_verdict(self, g: Group) -> Verdict:
        verdicts = [self.decided[t.n].verdict for t in self._members(g.name) if t.n in self.decided]
        if verdicts and all(v == Verdict.SKIPPED for v in verdicts):
            return Verdict.SKIPPED
        return next((v for v in verdicts if v not in (Verdict.ACCEPTED, Verdict.SKIPPED)), Verdict.ACCEPTED)


def _layers(tests: Sequence[PlannedTest], groups: Sequence[Group]) -> list[list[PlannedTest]]:
    """Tests in run order: ungrouped ones and groups without dependencies first, then each
    group once all its dependencies have run. (The gateway refuses cycles and unknown names;
    a group it could not place runs last, so nothing is lost.)"""
    depth: dict[str, int] = {}
    remaining = {g.name: g for g in groups}
    level = 0
    while remaining:
        ready = [name for name, g in remaining.items() if all(d in depth for d in g.depends_on)]
        if not ready:
            ready = list(remaining)
        for name in ready:
            depth[name] = level
            del remaining[name]
        level += 1
    layers: list[list[PlannedTest]] = [[] for _ in range(max(level, 1))]
    for t in tests:
        layers[depth.get(t.group, 0) if t.group is not None else 0].append(t)
    return [layer for layer in layers if layer]
