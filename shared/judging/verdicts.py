"""Verdicts (SPEC §4): sandbox status -> verdict, one test's verdict under a compare mode,
the job's verdict, and the 4 KiB previews (decoded with replacement)."""

from __future__ import annotations

from collections.abc import Iterable

from shared.judging.compare import outputs_match, to_bytes
from shared.models import Verdict

PREVIEW_BYTES = 4096


# Sandbox status (SPEC §6) -> verdict, for everything except a clean exit which needs judging.
_STATUS_VERDICT: dict[str, Verdict] = {
    "TLE": Verdict.TIME_LIMIT_EXCEEDED,
    "MLE": Verdict.MEMORY_LIMIT_EXCEEDED,
    "OLE": Verdict.OUTPUT_LIMIT_EXCEEDED,
    "RE": Verdict.RUNTIME_ERROR,
    "SV": Verdict.SECURITY_VIOLATION,
    "IE": Verdict.INTERNAL_ERROR,
}


def status_verdict(status: str, exit_code: int) -> Verdict | None:
    """The verdict implied by the sandbox status alone, or None when the program exited 0
    within limits and its output still has to be compared."""
    if status == "OK":
        return None if exit_code == 0 else Verdict.RUNTIME_ERROR
    verdict = _STATUS_VERDICT.get(status)
    if verdict is None:
        # An unknown status means the helper and this client disagree: the service's fault.
        return Verdict.INTERNAL_ERROR
    return verdict


def judge_one(
    status: str, exit_code: int, stdout: bytes, expected: str | bytes | None, mode: str = "lines"
) -> Verdict:
    """One test's verdict. `expected=None` means no judging (plain run on stdin)."""
    verdict = status_verdict(status, exit_code)
    if verdict is not None:
        return verdict
    if expected is None or outputs_match(stdout, expected, mode):
        return Verdict.ACCEPTED
    return Verdict.WRONG_ANSWER


def job_verdict(verdicts: Iterable[Verdict]) -> Verdict:
    """The job's verdict: its first non-ACCEPTED, non-SKIPPED test's verdict, else ACCEPTED."""
    for verdict in verdicts:
        if verdict not in (Verdict.ACCEPTED, Verdict.SKIPPED):
            return verdict
    return Verdict.ACCEPTED


def preview(data: bytes | str | None, limit: int = PREVIEW_BYTES) -> str:
    """The first `limit` bytes, decoded as UTF-8 with replacement (a multi-byte character cut
    by the limit becomes one U+FFFD rather than an error)."""
    if data is None:
        return ""
    raw = to_bytes(data)
    return raw[:limit].decode("utf-8", errors="replace")
