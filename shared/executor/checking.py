"""Judging by a checker (SPEC §7): after a batch ran, the checker runs once per test that the
program finished cleanly, all in one sandbox invocation (profile `checker`, its own limits),
as `checker /judge/input /judge/output /judge/answer`. Each of its runs sees only its own
test's three files (the helper's --test-files: test i's directory at /judge, read-only) and
its own box, never the solution's box, the problem cache or another test."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shared.executor.context import ExecutorContext
from shared.executor.judge_programs import CompiledProgram
from shared.executor.test_set import TestSet, link_or_copy
from shared.judging import Batch, Judgement, Refine, RunExtras, TestOutcome
from shared.judging.testlib import CheckerVerdict, checker_verdict
from shared.judging.verdicts import status_verdict
from shared.models import ResolvedLimits
from shared.workdir import read_nofollow

JUDGE_ARGS = ["/judge/input", "/judge/output", "/judge/answer"]


@dataclass
class CheckerJudge:
    ctx: ExecutorContext
    program: CompiledProgram
    limits: ResolvedLimits
    tests: TestSet
    points: dict[int, float]
    scratch: Path  # the job's directory: the checker's own dirs go in it
    refine: Refine
    _verdicts: dict[int, CheckerVerdict] = field(default_factory=dict)
    _batches: int = 0

    def prepare(self, batch: Batch) -> None:
        self.check([(n, batch.dir / f"{k}.in", batch.dir / f"{k}.out")
                    for k, (n, run) in enumerate(zip(batch.ns, batch.runs, strict=True), 1)
                    if status_verdict(run.status, run.exit_code) is None])

    def run_extras(self, ns: Sequence[int], where: Path) -> RunExtras:
        return RunExtras()

    def check(self, items: Sequence[tuple[int, Path, Path]]) -> None:
        """Run the checker on each (test, input file, output file): one sandbox invocation."""
        if not items:
            return
        self._batches += 1
        files = self.scratch / f"judge-{self._batches}"
        runs_dir = self.scratch / f"checker-{self._batches}"
        files.mkdir(mode=0o755)
        runs_dir.mkdir(mode=0o700)
        for i, (n, input_file, output_file) in enumerate(items, 1):
            own = files / str(i)
            own.mkdir(mode=0o755)
            link_or_copy(input_file, own / "input")
            link_or_copy(output_file, own / "output")
            self.tests.place_answer(n, own / "answer")
            for name in ("input", "output", "answer"):
                os.chmod(own / name, 0o444)  # the checker runs as the sandbox uid
            (runs_dir / f"{i}.in").touch(mode=0o600)
        runs = self.ctx.sandbox.run_tests(
            profile="checker", limits=self.limits, argv=[*self.program.argv, *JUDGE_ARGS], tests_dir=runs_dir,
            count=len(items), workdir=self.program.box, parallel=self.ctx.settings.parallel,
            env=self.program.env, test_files=files,
        )
        for i, ((n, _, _), run) in enumerate(zip(items, runs, strict=True), 1):
            self._verdicts[n] = checker_verdict(run, read_nofollow(runs_dir, f"{i}.err"), self.points[n])

    def verdict(self, n: int) -> CheckerVerdict | None:
        """The checker's verdict on test n, if it ran on it."""
        return self._verdicts.get(n)

    def judge(self, o: TestOutcome) -> Judgement:
        own = status_verdict(o.run.status, o.run.exit_code)
        if own is not None:  # the program's own verdict: nothing for the checker to say
            return Judgement(self.refine(own, o.run, o.stderr))
        cv = self._verdicts[o.n]
        return Judgement(cv.verdict, cv.fraction, cv.message, cv.reason)
