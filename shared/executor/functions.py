"""Function (signature) judging in an attempt, SPEC §9: the program is the language's generated
harness around the solution; each test's stdin is the job's nonce line and the arguments; the
result comes back on the harness's own channel and is compared as a JSON value
(shared.functions: the protocol, the types, the comparison)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.executor.test_set import InlineTests
from shared.functions.compare import judge_output
from shared.functions.framing import encode_input
from shared.judging import Batch, Judgement, Refine, RunExtras, TestOutcome
from shared.judging.verdicts import status_verdict
from shared.models import JobRequest, Verdict
from shared.workdir import write_new


class FunctionTests(InlineTests):
    """The request's tests, each input framed with the job's nonce."""

    def __init__(self, request: JobRequest, nonce: str) -> None:
        super().__init__(request)
        self.nonce = nonce

    def place_input(self, n: int, dest: Path) -> None:
        write_new(dest, encode_input(self.nonce, self.cases[n - 1].input))


@dataclass(frozen=True)
class FunctionJudge:
    nonce: str
    returns: str
    compare: str
    refine: Refine

    def run_extras(self, ns: Sequence[int], where: Path) -> RunExtras:
        return RunExtras()

    def prepare(self, batch: Batch) -> None:
        pass

    def judge(self, o: TestOutcome) -> Judgement:
        own = status_verdict(o.run.status, o.run.exit_code)
        if own is not None:  # it crashed, exited early with an error, or hit a limit
            return Judgement(self.refine(own, o.run, o.stderr))
        expected = (o.expected or b"").decode("utf-8", "replace")
        out = judge_output(self.nonce, o.stdout, expected, self.returns, self.compare)
        # `actual` shows the result itself, not the framed line
        return Judgement(Verdict.ACCEPTED if out.accepted else Verdict.WRONG_ANSWER, actual=out.actual,
                         message=None if out.accepted else out.reason)
