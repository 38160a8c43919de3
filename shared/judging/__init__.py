"""Judging: what an attempt calls once the program has run on every test.

An attempt hands the judge each test's `TestOutcome` (what the program did), in test order,
one at a time (a test's output may be up to 64 MiB: the attempt holds one test's at a time),
and gets its `Judgement`. The judge decides from the sandbox's status, the program's output and
the test; how it decides (plain comparison under a compare mode, a checker program, ...) is its
own business, so a new way of judging is a new `Judge`, not a change to the attempt or the
executor loop.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from shared.judging.verdicts import judge_one
from shared.models import TestCase, Verdict
from shared.sandbox import SandboxRun

# A language's correction of the generic verdict (e.g. Python's MemoryError -> MLE).
Refine = Callable[[Verdict, SandboxRun, bytes], Verdict]


@dataclass(frozen=True)
class TestOutcome:
    """One test as the program ran it."""

    n: int
    case: TestCase
    run: SandboxRun
    stdout: bytes
    stderr: bytes


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict


class Judge(Protocol):
    def judge(self, outcome: TestOutcome) -> Judgement: ...


@dataclass(frozen=True)
class CompareJudge:
    """Judges by comparing stdout with the test's `expected` under a compare mode; with
    `judged=False` (a plain run on stdin, no test cases) only the run itself counts."""

    compare: str
    judged: bool
    refine: Refine

    def judge(self, o: TestOutcome) -> Judgement:
        expected = o.case.expected if self.judged else None
        verdict = judge_one(o.run.status, o.run.exit_code, o.stdout, expected, self.compare)
        return Judgement(self.refine(verdict, o.run, o.stderr))
