"""Judging: what an attempt calls once the program has run on a batch of tests.

The attempt runs a batch (shared.judging.scoring decides which tests, in which order), calls
the judge's `prepare` once for the batch (where a checker runs over all of it in one sandbox
invocation), then hands it each test's `TestOutcome`, in test order and one at a time (a test's
output may be up to 64 MiB: the attempt holds one test's at a time), and gets its `Judgement`.
How the judge decides (plain comparison under a compare mode, a checker program, ...) is its
own business, so a new way of judging is a new `Judge`, not a change to the attempt or the
executor loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Protocol

from shared.judging.verdicts import judge_one
from shared.models import Verdict
from shared.sandbox import Interactor, SandboxRun

# A language's correction of the generic verdict (e.g. Python's MemoryError -> MLE).
Refine = Callable[[Verdict, SandboxRun, bytes], Verdict]


@dataclass(frozen=True)
class Batch:
    """Tests that ran in one sandbox invocation: test `ns[k-1]` is `k.in`/`k.out` in `dir`."""

    ns: Sequence[int]
    dir: Path
    runs: Sequence[SandboxRun]


@dataclass(frozen=True)
class TestOutcome:
    """One test as the program ran it."""

    n: int
    run: SandboxRun
    stdout: bytes
    stderr: bytes
    expected: bytes | None  # None: nothing to compare with (a plain run on stdin)
    points: float = 1


@dataclass(frozen=True)
class Interaction:
    """An interactive test's traffic: the bytes each way, and what the interactor wrote to the
    program (its full log, uploaded beside the program's stdout)."""

    to_interactor: int
    from_interactor: int
    interactor_output: bytes


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    fraction: Fraction = Fraction(1)  # of the test's points, when ACCEPTED
    message: str | None = None  # checker_message
    reason: str | None = None  # why a JUDGE_ERROR
    actual: str | None = None  # what to show as the test's output, when not its stdout
    interaction: Interaction | None = None  # interactive tests only


@dataclass(frozen=True)
class RunExtras:
    """What a judge adds to the program's run of a batch: for interactive judging, the
    interactor and the per-test files it sees (nothing for the others)."""

    interactor: Interactor | None = None
    test_files: Path | None = None


class Judge(Protocol):
    def run_extras(self, ns: Sequence[int], where: Path) -> RunExtras:
        """Called before the batch `ns` runs with its inputs in `where`."""
        ...

    def prepare(self, batch: Batch) -> None: ...

    def judge(self, outcome: TestOutcome) -> Judgement: ...


@dataclass(frozen=True)
class CompareJudge:
    """Judges by comparing stdout with the expected output under a compare mode; without an
    expected output (a plain run on stdin) only the run itself counts."""

    compare: str
    refine: Refine

    def run_extras(self, ns: Sequence[int], where: Path) -> RunExtras:
        return RunExtras()

    def prepare(self, batch: Batch) -> None:
        pass

    def judge(self, o: TestOutcome) -> Judgement:
        verdict = judge_one(o.run.status, o.run.exit_code, o.stdout, o.expected, self.compare)
        return Judgement(self.refine(verdict, o.run, o.stderr))
