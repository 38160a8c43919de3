"""A checker's (or interactor's) answer, testlib's way (SPEC §7): its exit code decides, a
`points X` line on its stderr gives a partial score, and anything else is the checker's own
failure (JUDGE_ERROR), never the solution's."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Protocol

from shared.judging.scoring import exact
from shared.models import Verdict

MESSAGE_BYTES = 4096
EXIT_OK, EXIT_WA, EXIT_PE, EXIT_FAIL, EXIT_POINTS = 0, 1, 2, 3, 7
_POINTS = re.compile(rb"^\s*points\s+(\+?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))\s*$", re.MULTILINE)


@dataclass(frozen=True)
class CheckerVerdict:
    verdict: Verdict
    fraction: Fraction
    message: str  # checker_message: its stderr's first 4 KiB, nothing added
    reason: str | None = None  # why a JUDGE_ERROR (the job's `error` names the first)


def message_of(stderr: bytes) -> str:
    return stderr[:MESSAGE_BYTES].decode("utf-8", "replace")


class Ended(Protocol):
    """How a judge program's run ended (a SandboxRun, or an interactor's SandboxSide)."""

    @property
    def status(self) -> str: ...

    @property
    def exit_code(self) -> int: ...

    @property
    def signal(self) -> int: ...


def checker_verdict(run: Ended, stderr: bytes, points: float, role: str = "checker") -> CheckerVerdict:
    """The test's verdict from its checker's run (or its interactor's: `role` names it in the
    reasons)."""
    message = message_of(stderr)
    if run.status == "IE":  # the sandbox failed: ours, and retried
        return CheckerVerdict(Verdict.INTERNAL_ERROR, Fraction(0), message)
    # The helper reports a non-zero exit as RE with its exit code: that is the checker's answer.
    exited = run.status == "OK" or (run.status == "RE" and run.signal == 0)
    if not exited:  # its own limits, a signal, a forbidden call
        return _judge_error(f"the {role} ended with {run.status} (signal {run.signal})", message)
    code = run.exit_code
    if code == EXIT_OK:
        return CheckerVerdict(Verdict.ACCEPTED, Fraction(1), message)
    if code in (EXIT_WA, EXIT_PE):
        return CheckerVerdict(Verdict.WRONG_ANSWER, Fraction(0), message)
    if code == EXIT_FAIL:
        return _judge_error(f"the {role} reported its own failure (exit 3, testlib's fail)", message)
    if code == EXIT_POINTS:
        return _partial(stderr, points, message, role)
    return _judge_error(f"the {role} exited {code} (testlib: 0 ok, 1 wa, 2 pe, 3 fail, 7 points)", message)


def _partial(stderr: bytes, points: float, message: str, role: str) -> CheckerVerdict:
    found = _POINTS.findall(stderr)
    if not found:
        return _judge_error(f"the {role} exited 7 without a `points X` line on stderr", message)
    got, top = exact(found[-1].decode()), exact(points)
    if not 0 <= got <= top:
        return _judge_error(f"the {role} gave points {found[-1].decode()}, outside 0..{points}", message)
    return CheckerVerdict(Verdict.ACCEPTED, got / top if top else Fraction(1), message)


def _judge_error(reason: str, message: str) -> CheckerVerdict:
    return CheckerVerdict(Verdict.JUDGE_ERROR, Fraction(0), message, reason)
