"""shared/executor/interactive.py without the helper: the per-test files the interactor gets,
the options handed to the sandbox, and the judgement of a batch from the helper's files as the
interactive mode leaves them (N.out, N.err, N.iout, N.ierr) -- fixtures of its documented
output. The real pairs run in tests/integration/test_interactive.py."""

from __future__ import annotations

import json
import signal
import stat
from pathlib import Path
from typing import Any

from shared.executor.interactive import INTERACTOR_ARGS, InteractiveJudge
from shared.executor.judge_programs import CompiledProgram
from shared.executor.test_set import InlineTests
from shared.judging import Batch
from shared.judging import TestOutcome as Outcome
from shared.models import JobRequest, ResolvedLimits, Verdict
from shared.models import TestCase as Case
from shared.sandbox import SandboxRun, parse_runs

LIMITS = ResolvedLimits(time_ms=5000, wall_ms=10000, memory_mb=512, output_kb=1024)


def _request() -> JobRequest:
    return JobRequest(language="python", code="print()", limits=LIMITS,
                      test_cases=[Case(input="10\n", expected="7\n"), Case(input="100\n", expected="42\n")])


def _judge(tmp_path: Path, refine: Any = None) -> InteractiveJudge:
    program = CompiledProgram(box=tmp_path / "ibox", argv=["/usr/bin/python3", "main.py"], env={"A": "1"})
    request = _request()
    return InteractiveJudge(program, LIMITS, InlineTests(request), {1: 1, 2: 4}, tmp_path,
                            refine or (lambda v, _run, _err: v))


def _run(test: int, **fields: Any) -> dict[str, Any]:
    interactor = {"status": "OK", "exit_code": 0, "signal": 0, "cpu_ms": 2, "wall_ms": 9, "memory_kb": 800,
                  "stdout_bytes": 9, "stderr_bytes": 3, "stopped": False, **fields.pop("interactor", {})}
    return {"test": test, "status": "OK", "exit_code": 0, "signal": 0, "cpu_ms": 1, "wall_ms": 9, "memory_kb": 900,
            "stdout_bytes": 12, "stderr_bytes": 0, "stopped": False, "interactor_first": False,
            "bytes_to_interactor": 12, "bytes_from_interactor": 9, "interactor": interactor, **fields}


def test_each_test_gets_its_own_input_and_answer_and_the_interactor_its_options(tmp_path: Path) -> None:
    judge = _judge(tmp_path)
    extras = judge.run_extras([1, 2], tmp_path / "tests")
    assert extras.test_files is not None and extras.interactor is not None
    for k, (given, answer) in enumerate([("10\n", "7\n"), ("100\n", "42\n")], 1):
        own = extras.test_files / str(k)
        assert (own / "input").read_text() == given and (own / "answer").read_text() == answer
        assert stat.S_IMODE((own / "input").stat().st_mode) == 0o444
    assert list(extras.interactor.argv) == ["/usr/bin/python3", "main.py", *INTERACTOR_ARGS]
    assert INTERACTOR_ARGS == ["/judge/input", "/tmp/output", "/judge/answer"]
    assert (extras.interactor.workdir, extras.interactor.time_ms, extras.interactor.memory_mb) == \
        (tmp_path / "ibox", 5000, 512)
    # a second batch gets a directory of its own
    assert judge.run_extras([2], tmp_path / "tests-2").test_files != extras.test_files


def test_a_batch_is_judged_from_the_helpers_files(tmp_path: Path) -> None:
    judge = _judge(tmp_path)
    batch_dir = tmp_path / "tests"
    batch_dir.mkdir()
    judge.run_extras([1, 2], batch_dir)
    (batch_dir / "1.iout").write_bytes(b"<\n>\n=\n")
    (batch_dir / "1.ierr").write_bytes(b"found in 3 queries\n")
    (batch_dir / "2.iout").write_bytes(b"<\n")
    (batch_dir / "2.ierr").write_bytes(b"too many queries\n")
    runs = parse_runs(json.dumps([_run(1), _run(2, interactor_first=True, status="RE", signal=int(signal.SIGPIPE),
                                                interactor={"status": "RE", "exit_code": 1})]), 2)
    judge.prepare(Batch([1, 2], batch_dir, runs))
    first = judge.judge(Outcome(1, runs[0], b"? 5\n? 8\n? 7\n", b"", b"7\n"))
    assert (first.verdict, first.message) == (Verdict.ACCEPTED, "found in 3 queries\n")
    assert first.interaction is not None and first.interaction.interactor_output == b"<\n>\n=\n"
    assert (first.interaction.to_interactor, first.interaction.from_interactor) == (12, 9)
    second = judge.judge(Outcome(2, runs[1], b"? 50\n", b"", b"42\n"))
    assert (second.verdict, second.message) == (Verdict.WRONG_ANSWER, "too many queries\n")


def test_the_programs_own_verdict_is_refined_by_its_language(tmp_path: Path) -> None:
    seen: list[Verdict] = []

    def refine(verdict: Verdict, _run: SandboxRun, stderr: bytes) -> Verdict:
        seen.append(verdict)
        return Verdict.MEMORY_LIMIT_EXCEEDED if b"MemoryError" in stderr else verdict

    judge = _judge(tmp_path, refine)
    batch_dir = tmp_path / "tests"
    batch_dir.mkdir()
    judge.run_extras([1], batch_dir)
    runs = parse_runs(json.dumps([_run(1, status="RE", exit_code=1)]), 1)
    judge.prepare(Batch([1], batch_dir, runs))
    got = judge.judge(Outcome(1, runs[0], b"", b"MemoryError\n", b"7\n"))
    assert seen == [Verdict.RUNTIME_ERROR] and got.verdict == Verdict.MEMORY_LIMIT_EXCEEDED
    assert got.interaction is not None and got.interaction.interactor_output == b""  # no N.iout: nothing written
