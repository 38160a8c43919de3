"""shared/judging/testlib.py: a checker's exit codes and `points X` (SPEC §7)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from shared.judging.testlib import checker_verdict
from shared.models import Verdict
from shared.sandbox import SandboxRun


def ok(code: int) -> SandboxRun:
    return SandboxRun(status="OK", exit_code=code)


@pytest.mark.parametrize(("code", "verdict"), [(0, Verdict.ACCEPTED), (1, Verdict.WRONG_ANSWER),
                                               (2, Verdict.WRONG_ANSWER), (3, Verdict.JUDGE_ERROR),
                                               (4, Verdict.JUDGE_ERROR), (255, Verdict.JUDGE_ERROR)])
def test_exit_codes(code: int, verdict: Verdict) -> None:
    got = checker_verdict(ok(code), b"some words\n", 1)
    assert got.verdict == verdict and got.message == "some words\n"
    assert (got.reason is not None) == (verdict == Verdict.JUDGE_ERROR)


def test_a_non_zero_exit_reported_as_re_is_the_checkers_answer() -> None:
    """The helper reports `exit 1` as status RE with exit_code 1 (no signal)."""
    assert checker_verdict(SandboxRun(status="RE", exit_code=1), b"", 1).verdict == Verdict.WRONG_ANSWER
    assert checker_verdict(SandboxRun(status="RE", exit_code=7), b"points 1\n", 2).fraction == Fraction(1, 2)


def test_partial_points() -> None:
    got = checker_verdict(ok(7), b"partial answer\npoints 0.5\n", 2)
    assert got.verdict == Verdict.ACCEPTED and got.fraction == Fraction(1, 4)
    assert checker_verdict(ok(7), b"points 2\n", 2).fraction == 1
    assert checker_verdict(ok(7), b"points 0\n", 0).fraction == 1  # a 0-point test: nothing to lose


@pytest.mark.parametrize("stderr", [b"no points here\n", b"points -1\n", b"points 3\n", b"points x\n", b"points 1e5\n"])
def test_bad_or_missing_points_is_the_checkers_fault(stderr: bytes) -> None:
    assert checker_verdict(ok(7), stderr, 2).verdict == Verdict.JUDGE_ERROR


@pytest.mark.parametrize("status", ["TLE", "MLE", "OLE", "SV", "RE"])
def test_checker_limits_and_crashes_are_judge_errors(status: str) -> None:
    got = checker_verdict(SandboxRun(status=status, signal=9), b"", 1)
    assert got.verdict == Verdict.JUDGE_ERROR and status in (got.reason or "")


def test_a_sandbox_failure_is_ours() -> None:
    assert checker_verdict(SandboxRun(status="IE"), b"", 1).verdict == Verdict.INTERNAL_ERROR


def test_message_is_the_first_4_kib_of_stderr() -> None:
    got = checker_verdict(ok(1), "é".encode() * 3000, 1)
    assert len(got.message.encode("utf-8", "replace")) <= 4096 + 3
