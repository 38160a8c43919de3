"""An interactive test's verdict (SPEC §8), from both sides of the pair as the helper reports
them (shared.sandbox.SandboxRun with its `interactor` side):

1. the sandbox's own failure on either side: INTERNAL_ERROR (ours, retried);
2. the program's own limits and crashes first: TLE (a program blocked waiting for input the
   interactor never sends ends by wall, and is TLE too), MLE, OLE, SV, RE -- except that a
   program that lost its partner is judged by the interactor: killed by SIGPIPE, killed by the
   helper because the interactor ended badly (`stopped`), or a non-zero exit after the
   interactor ended first (EPIPE on a write, EOF on a read: the helper passes EOF on only after
   the writer's clean end, and `interactor_first` orders the two ends causally);
3. an interactor killed by SIGPIPE after the program ended or closed its stdin: WRONG_ANSWER
   (the program stopped talking, SPEC §7);
4. the interactor's own crash, limits or forbidden call: JUDGE_ERROR with the reason (the
   solution is not blamed); so is an interactor the helper had to stop;
5. else the interactor's exit code as a checker's (testlib: 0 ACCEPTED, 1/2 WRONG_ANSWER,
   3 JUDGE_ERROR, 7 partial points); its stderr is the test's checker_message."""

from __future__ import annotations

import signal
from fractions import Fraction

from shared.judging.testlib import CheckerVerdict, checker_verdict, message_of
from shared.judging.verdicts import status_verdict
from shared.models import Verdict
from shared.sandbox import SandboxRun, SandboxSide

ROLE = "interactor"
_PROGRAM_LIMITS = ("TLE", "MLE", "OLE", "SV")


def interactive_verdict(run: SandboxRun, interactor_stderr: bytes, points: float) -> CheckerVerdict:
    """The test's verdict (the executor refines a program's own verdict by language, as for
    any run: `program_verdict` says whether it is one)."""
    message = message_of(interactor_stderr)
    side = run.interactor
    if run.status == "IE" or side is None or side.status == "IE":
        return CheckerVerdict(Verdict.INTERNAL_ERROR, Fraction(0), message,
                              None if side is not None else "no interactor result")
    own = program_verdict(run)
    if own is not None:
        return CheckerVerdict(own, Fraction(0), message)
    return _interactor_verdict(run, side, interactor_stderr, points)


def program_verdict(run: SandboxRun) -> Verdict | None:
    """The program's own verdict, or None when the interactor's decides (rule 2)."""
    if run.status in _PROGRAM_LIMITS:
        return status_verdict(run.status, run.exit_code)
    if run.status == "OK" and run.exit_code == 0:
        return None
    if run.stopped or run.signal == signal.SIGPIPE:
        return None
    if run.signal == 0 and run.interactor_first:  # EPIPE, or EOF, once the interactor had ended
        return None
    return status_verdict(run.status, run.exit_code) or Verdict.RUNTIME_ERROR


def _interactor_verdict(run: SandboxRun, side: SandboxSide, stderr: bytes, points: float) -> CheckerVerdict:
    message = message_of(stderr)
    if side.signal == signal.SIGPIPE and not run.interactor_first:
        return CheckerVerdict(Verdict.WRONG_ANSWER, Fraction(0), message)
    if side.stopped:
        return CheckerVerdict(Verdict.JUDGE_ERROR, Fraction(0), message,
                              "the interactor did not finish after the program ended")
    return checker_verdict(side, stderr, points, role=ROLE)
