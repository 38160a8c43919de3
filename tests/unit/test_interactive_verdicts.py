"""SPEC §8's verdict rules for an interactive test (shared/judging/interactive.py), one test per
rule, and the client's parsing of the helper's per-side results (shared/sandbox.py)."""

from __future__ import annotations

import json
import signal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest

from shared.judging.interactive import interactive_verdict, program_verdict
from shared.models import ResolvedLimits, Verdict
from shared.sandbox import Interactor, SandboxError, build_command, parse_runs

SIGPIPE, SIGSEGV, SIGKILL = int(signal.SIGPIPE), int(signal.SIGSEGV), int(signal.SIGKILL)


def side(status: str = "OK", exit_code: int = 0, sig: int = 0, stopped: bool = False) -> dict[str, Any]:
    return {"status": status, "time_ms": 3, "cpu_ms": 3, "wall_ms": 5, "memory_kb": 900, "exit_code": exit_code,
            "signal": sig, "stopped": stopped}


def pair(status: str = "OK", exit_code: int = 0, sig: int = 0, *, stopped: bool = False,
         interactor_first: bool = False, interactor: dict[str, Any] | None = None, test: int = 1) -> dict[str, Any]:
    return {"test": test, "status": status, "exit_code": exit_code, "signal": sig, "cpu_ms": 1, "wall_ms": 4,
            "memory_kb": 1200, "stdout_bytes": 12, "stderr_bytes": 0, "stopped": stopped,
            "interactor_first": interactor_first, "interactor": side() if interactor is None else interactor,
            "bytes_to_interactor": 12, "bytes_from_interactor": 9}


def verdict_of(raw: dict[str, Any], stderr: bytes = b"", points: float = 1) -> tuple[Verdict, str | None]:
    got = interactive_verdict(parse_runs(json.dumps([raw]), 1)[0], stderr, points)
    return got.verdict, got.reason


# --- the interactor decides a clean run by its exit code, as a checker's ------------------
@pytest.mark.parametrize(("code", "verdict"), [(0, Verdict.ACCEPTED), (1, Verdict.WRONG_ANSWER),
                                               (2, Verdict.WRONG_ANSWER), (3, Verdict.JUDGE_ERROR),
                                               (5, Verdict.JUDGE_ERROR)])
def test_the_interactors_exit_code_decides_a_clean_run(code: int, verdict: Verdict) -> None:
    status = "OK" if code == 0 else "RE"  # the helper reports a non-zero exit as RE
    got = interactive_verdict(parse_runs(json.dumps([pair(interactor=side(status, code))]), 1)[0],
                              b"3 queries\n", 1)
    assert got.verdict == verdict and got.message == "3 queries\n"
    assert (got.reason is not None) == (verdict == Verdict.JUDGE_ERROR)
    if got.reason:
        assert "interactor" in got.reason


def test_partial_points_from_the_interactor() -> None:
    got = interactive_verdict(parse_runs(json.dumps([pair(interactor=side("RE", 7))]), 1)[0], b"points 3\n", 4)
    assert (got.verdict, got.fraction) == (Verdict.ACCEPTED, Fraction(3, 4))
    assert verdict_of(pair(interactor=side("RE", 7)), b"no points line\n")[0] == Verdict.JUDGE_ERROR


# --- the program's own limits and crashes first ------------------------------------------
@pytest.mark.parametrize(("status", "verdict"), [("TLE", Verdict.TIME_LIMIT_EXCEEDED),
                                                 ("MLE", Verdict.MEMORY_LIMIT_EXCEEDED),
                                                 ("OLE", Verdict.OUTPUT_LIMIT_EXCEEDED),
                                                 ("SV", Verdict.SECURITY_VIOLATION)])
def test_the_programs_own_limits_come_first(status: str, verdict: Verdict) -> None:
    # even when the interactor accepted, or ended first, or failed itself
    for interactor, first in ((side(), False), (side("RE", 1), True), (side("RE", 3), True)):
        assert verdict_of(pair(status, sig=SIGKILL, interactor=interactor, interactor_first=first))[0] == verdict


def test_a_program_blocked_waiting_for_input_ends_by_wall_as_tle() -> None:
    """Both sides wait for each other; the pair's wall ends both: the program's TLE."""
    blocked = pair("TLE", sig=SIGKILL, interactor=side(stopped=True, sig=SIGKILL))
    assert verdict_of(blocked)[0] == Verdict.TIME_LIMIT_EXCEEDED


def test_a_program_that_crashes_on_its_own_is_a_runtime_error() -> None:
    assert verdict_of(pair("RE", sig=SIGSEGV, interactor=side("RE", 1)))[0] == Verdict.RUNTIME_ERROR
    # a non-zero exit while the interactor still ran: the program's own failure
    assert verdict_of(pair("RE", 1))[0] == Verdict.RUNTIME_ERROR
    # a SIGSEGV is the program's even after the interactor ended
    assert verdict_of(pair("RE", sig=SIGSEGV, interactor_first=True, interactor=side("RE", 1)))[0] == \
        Verdict.RUNTIME_ERROR


# --- a program that lost its partner is judged by the interactor --------------------------
@pytest.mark.parametrize("interactor_code", [0, 1])
def test_sigpipe_after_the_interactor_ended_is_the_interactors_verdict(interactor_code: int) -> None:
    status = "OK" if interactor_code == 0 else "RE"
    raw = pair("RE", sig=SIGPIPE, interactor_first=True, interactor=side(status, interactor_code))
    assert verdict_of(raw)[0] == (Verdict.ACCEPTED if interactor_code == 0 else Verdict.WRONG_ANSWER)


def test_epipe_exit_after_the_interactor_ended_is_the_interactors_verdict() -> None:
    raw = pair("RE", 1, interactor_first=True, interactor=side("RE", 1))
    assert verdict_of(raw)[0] == Verdict.WRONG_ANSWER
    raw = pair("RE", 120, interactor_first=True, interactor=side())  # Python's flush failure at exit
    assert verdict_of(raw)[0] == Verdict.ACCEPTED


def test_a_program_stopped_by_the_helper_is_the_interactors_verdict() -> None:
    raw = pair("RE", sig=SIGKILL, stopped=True, interactor_first=True, interactor=side("RE", 2))
    assert verdict_of(raw)[0] == Verdict.WRONG_ANSWER
    assert program_verdict(parse_runs(json.dumps([raw]), 1)[0]) is None


# --- the interactor's own failures -------------------------------------------------------
@pytest.mark.parametrize(("status", "sig"), [("RE", SIGSEGV), ("TLE", SIGKILL), ("MLE", SIGKILL), ("OLE", 0),
                                             ("SV", 31)])
def test_an_interactor_crash_or_limit_is_a_judge_error(status: str, sig: int) -> None:
    # the program lost its partner: SIGPIPE, or EOF on its stdin and a clean exit
    for program in (pair("RE", sig=SIGPIPE, interactor_first=True, interactor=side(status, sig=sig)),
                    pair(interactor_first=True, interactor=side(status, sig=sig))):
        verdict, reason = verdict_of(program)
        assert verdict == Verdict.JUDGE_ERROR
        assert reason is not None and reason.startswith(f"the interactor ended with {status}")


def test_a_program_that_exits_non_zero_first_keeps_its_runtime_error() -> None:
    """The helper says the program ended first: its RUNTIME_ERROR, whatever the interactor did
    on the EOF that followed (a WA, an accept, being stopped, SIGPIPE, even a crash)."""
    for interactor in (side("RE", 1), side("RE", 2), side(), side("RE", sig=SIGKILL, stopped=True),
                       side("RE", sig=SIGPIPE), side("RE", sig=SIGSEGV), side("RE", 3)):
        assert verdict_of(pair("RE", 1, interactor=interactor))[0] == Verdict.RUNTIME_ERROR


def test_an_interactor_that_reports_fail_is_a_judge_error() -> None:
    verdict, reason = verdict_of(pair(interactor_first=True, interactor=side("RE", 3)), b"bad test\n")
    assert verdict == Verdict.JUDGE_ERROR and reason is not None and "exit 3" in reason


def test_an_interactor_killed_by_sigpipe_after_the_program_ended_is_wrong_answer() -> None:
    """SPEC §7: the program stopped talking; not the interactor's failure."""
    assert verdict_of(pair(interactor=side("RE", sig=SIGPIPE)))[0] == Verdict.WRONG_ANSWER
    # but a SIGPIPE of the interactor that ended first (the program still ran) is its own crash
    assert verdict_of(pair("RE", sig=SIGPIPE, interactor_first=True, interactor=side("RE", sig=SIGPIPE)))[0] == \
        Verdict.JUDGE_ERROR


def test_an_interactor_the_helper_had_to_stop_is_a_judge_error() -> None:
    verdict, reason = verdict_of(pair(interactor=side("RE", sig=SIGKILL, stopped=True)))
    assert verdict == Verdict.JUDGE_ERROR and reason is not None


def test_a_sandbox_failure_on_either_side_is_internal() -> None:
    assert verdict_of(pair("IE"))[0] == Verdict.INTERNAL_ERROR
    assert verdict_of(pair(interactor=side("IE")))[0] == Verdict.INTERNAL_ERROR


# --- the client: command line and parsing ------------------------------------------------
LIMITS = ResolvedLimits(time_ms=1000, wall_ms=3000, memory_mb=256, output_kb=1024)
INTERACTOR = Interactor(argv=["./main", "/judge/input", "/tmp/output", "/judge/answer"], workdir=Path("/c/box"),
                        time_ms=5000, memory_mb=512, env={"PYTHONHASHSEED": "0"})


def test_the_interactor_options() -> None:
    cmd = build_command("/sb", profile="cpp", limits=LIMITS, argv=["./main"], tests_dir="/w/t", test_files="/w/j",
                        workdir="/w/box", interactor=INTERACTOR)
    tail = cmd[cmd.index("--interactor"):cmd.index("--tests")]
    assert tail == ["--interactor", "./main", "--interactor", "/judge/input", "--interactor", "/tmp/output",
                    "--interactor", "/judge/answer", "--interactor-workdir", "/c/box",
                    "--interactor-time-ms", "5000", "--interactor-memory-mb", "512",
                    "--interactor-env", "PYTHONHASHSEED=0"]
    assert cmd[cmd.index("--test-files") + 1] == "/w/j"
    assert cmd[cmd.index("--") + 1:] == ["./main"]  # the program's argv alone after the separator


def test_an_interactive_run_needs_its_test_files() -> None:
    with pytest.raises(ValueError, match="test-files"):
        build_command("/sb", profile="c", limits=LIMITS, argv=["./main"], tests_dir="/t", interactor=INTERACTOR)
    with pytest.raises(ValueError, match="interactor"):
        build_command("/sb", profile="c", limits=LIMITS, argv=["./main"], tests_dir="/t", test_files="/j",
                      interactor=Interactor(argv=[], workdir=Path("/c"), time_ms=1, memory_mb=1))


def test_the_per_side_results_are_parsed() -> None:
    raw = pair("RE", sig=SIGPIPE, stopped=False, interactor_first=True, interactor=side("RE", 1), test=1)
    raw["interactor"]["future_field"] = "ignored"
    run = parse_runs(json.dumps([raw, pair(test=2)]), 2)[0]
    assert run.interactor is not None and run.interactor.exit_code == 1 and run.interactor.status == "RE"
    assert (run.interactor_first, run.stopped, run.bytes_to_interactor, run.bytes_from_interactor) == \
        (True, False, 12, 9)
    plain = parse_runs(json.dumps([{"test": 1, "status": "OK"}]), 1)[0]
    assert plain.interactor is None and not plain.interactor_first and plain.bytes_to_interactor == 0


def test_a_malformed_interactor_side_is_a_sandbox_error() -> None:
    raw = pair(interactor={"status": "WHAT"})
    with pytest.raises(SandboxError):
        parse_runs(json.dumps([raw]), 1)


def test_the_interactor_grace_is_the_helpers() -> None:
    from shared.limits import RANGES_HEADER
    from shared.sandbox import INTERACTOR_GRACE_S

    assert f"#define INTERACTOR_GRACE_MS {round(INTERACTOR_GRACE_S * 1000)}\n" in RANGES_HEADER.read_text()
