"""Interactive judging (SPEC §8): each test is a pair run by the helper in one invocation per
batch -- the program (its profile and limits, its box) and the interactor (profile
`interactor`, the checkers' limits, its own compiled box), cross-connected by pipes. The
interactor runs as `interactor /judge/input /tmp/output /judge/answer`: test N's `input` and
`answer` are in the batch's test-files directory N, which only the interactor sees; what it
writes to /tmp/output comes back as N.tout and is the checker's `output` when the problem also
has a checker (run on the tests the interactor accepted; the checker's verdict is then the
test's). The verdict rules are shared.judging.interactive's.

Per test N the helper leaves, beside N.in: N.out (the program's stdout: what the interactor
read), N.err, N.iout (what the interactor wrote to the program), N.ierr (its stderr: the
test's checker_message), N.tout."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shared.executor.checking import CheckerJudge
from shared.executor.judge_programs import CompiledProgram
from shared.executor.test_set import TestSet
from shared.judging import Batch, Interaction, Judgement, Refine, RunExtras, TestOutcome
from shared.judging.interactive import interactive_verdict, program_verdict
from shared.judging.testlib import CheckerVerdict
from shared.models import ResolvedLimits, Verdict
from shared.sandbox import Interactor
from shared.workdir import read_nofollow, write_new

# testlib's order: the test's input, the file it may write for the checker, the answer.
INTERACTOR_ARGS = ["/judge/input", "/tmp/output", "/judge/answer"]


@dataclass
class InteractiveJudge:
    program: CompiledProgram  # the compiled interactor
    limits: ResolvedLimits  # its CPU and memory (its wall follows the program's)
    tests: TestSet
    points: dict[int, float]
    scratch: Path  # the job's directory: the interactor's per-batch files go in it
    refine: Refine
    checker: CheckerJudge | None = None
    _batches: int = 0
    _files: Path | None = None  # the batch's test-files directory
    _verdicts: dict[int, CheckerVerdict] = field(default_factory=dict)
    _where: dict[int, tuple[Path, int]] = field(default_factory=dict)  # test -> (batch dir, k)

    def run_extras(self, ns: Sequence[int], where: Path) -> RunExtras:
        """Test k of the batch sees `input` and `answer` of its test at /judge."""
        self._batches += 1
        files = self.scratch / f"interactor-{self._batches}"
        files.mkdir(mode=0o755)
        for k, n in enumerate(ns, 1):
            own = files / str(k)
            own.mkdir(mode=0o755)
            self.tests.place_input(n, own / "input")
            self.tests.place_answer(n, own / "answer")
            for name in ("input", "answer"):
                os.chmod(own / name, 0o444)  # the interactor runs as the sandbox uid
        self._files = files
        interactor = Interactor(argv=[*self.program.argv, *INTERACTOR_ARGS], workdir=self.program.box,
                                time_ms=self.limits.time_ms, memory_mb=self.limits.memory_mb, env=self.program.env)
        return RunExtras(interactor=interactor, test_files=files)

    def prepare(self, batch: Batch) -> None:
        accepted: list[tuple[int, Path, Path]] = []
        for k, (n, run) in enumerate(zip(batch.ns, batch.runs, strict=True), 1):
            verdict = interactive_verdict(run, read_nofollow(batch.dir, f"{k}.ierr"), self.points[n])
            self._verdicts[n] = verdict
            self._where[n] = (batch.dir, k)
            if self.checker is not None and verdict.verdict == Verdict.ACCEPTED and self._files is not None:
                # the interactor's file, copied out of what the helper wrote (it may be absent)
                output = self._files / str(k) / "output"
                write_new(output, read_nofollow(batch.dir, f"{k}.tout"))
                accepted.append((n, self._files / str(k) / "input", output))
        if self.checker is not None:
            self.checker.check(accepted)

    def judge(self, o: TestOutcome) -> Judgement:
        where, k = self._where[o.n]
        interaction = Interaction(o.run.bytes_to_interactor, o.run.bytes_from_interactor,
                                  read_nofollow(where, f"{k}.iout"))
        iv = self._verdicts[o.n]
        own = None if iv.verdict == Verdict.INTERNAL_ERROR else program_verdict(o.run)
        if own is not None:  # the program's own verdict, refined by its language
            return Judgement(self.refine(own, o.run, o.stderr), message=iv.message, interaction=interaction)
        checked = None if self.checker is None else self.checker.verdict(o.n)
        if checked is not None:
            # the checker judged the interactor's output; the interactor's stderr stays the message
            # unless the checker has its own
            return Judgement(checked.verdict, checked.fraction, checked.message or iv.message, checked.reason,
                             interaction=interaction)
        return Judgement(iv.verdict, iv.fraction, iv.message, iv.reason, interaction=interaction)
