"""Compile and run a function-judged program the way an executor would, with the real
toolchains and the real sandbox helper: the generated files in a fresh box, the spec's
compile step (its warm caches linked) in the compile profile, every test in one run of the
language's profile, stdin from framing.encode_input, the verdict from compare.judge_output."""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from shared.functions import FunctionProgram
from shared.functions.compare import judge_output
from shared.functions.framing import encode_input, new_nonce
from shared.judge_config import FunctionSpec
from shared.language_spec import LanguageSpec
from shared.models import ResolvedLimits
from shared.sandbox import Sandbox, SandboxRun
from shared.workdir import WorkDir, read_nofollow, write_new

COMPILE_LIMITS = ResolvedLimits(time_ms=20000, wall_ms=30000, memory_mb=1024, output_kb=1024)
RUN_LIMITS = ResolvedLimits(time_ms=5000, wall_ms=10000, memory_mb=256, output_kb=1024)
_STATUS = {"TLE": "TIME_LIMIT_EXCEEDED", "MLE": "MEMORY_LIMIT_EXCEEDED", "OLE": "OUTPUT_LIMIT_EXCEEDED",
           "SV": "SECURITY_VIOLATION", "IE": "INTERNAL_ERROR"}


@dataclass
class Outcome:
    verdict: str
    run: SandboxRun | None
    stdout: bytes = b""
    stderr: bytes = b""
    reason: str | None = None
    actual: str | None = None


def _place(box: Path, name: str, text: str) -> None:
    parent = box
    for part in name.split("/")[:-1]:
        parent = parent / part
        parent.mkdir(mode=0o755, exist_ok=True)
    write_new(parent / name.split("/")[-1], text.encode())


class FunctionRunner:
    def __init__(self, sandbox: Sandbox, spec: LanguageSpec, work_root: Path) -> None:
        self.sandbox, self.spec, self.work_root = sandbox, spec, work_root

    def judge(self, code: str, fn: FunctionSpec, tests: list[tuple[str, str]]) -> list[Outcome]:
        """One Outcome per (input JSON, expected JSON); [COMPILATION_ERROR] when it does not build."""
        program = self.spec.function_program(code, fn)
        wd = WorkDir.create(self.work_root, f"fn-{self.spec.name}-{secrets.token_hex(3)}")
        try:
            failed = self._compile(wd, program)
            if failed is not None:
                return [failed]
            return self._run(wd, program, fn, tests)
        finally:
            wd.remove()

    def _compile(self, wd: WorkDir, program: FunctionProgram) -> Outcome | None:
        for name, text in program.files.items():
            _place(wd.box, name, text)
        linked = []
        for name, source in self.spec.box_links.items():
            wd.link_into_box(name, source)
            linked.append(name)
        argv = self.spec.compile_command(program.source_name, linked, self.spec.extra_sources(program.extra_names))
        if argv is None:
            return None
        run = self.sandbox.run_single(profile="compile", limits=COMPILE_LIMITS, argv=argv, stdin="/dev/null",
                                      stdout=wd.compile / "out", stderr=wd.compile / "err", workdir=wd.box,
                                      procs=self.spec.compile_procs, env=self.spec.env)
        if run.status == "OK" and run.exit_code == 0:
            return None
        err = (wd.read_compile_output("err") + wd.read_compile_output("out")).decode(errors="replace")
        return Outcome("COMPILATION_ERROR", run, reason=err.replace(str(wd.box) + "/", ""))

    def _run(self, wd: WorkDir, program: FunctionProgram, fn: FunctionSpec,
             tests: list[tuple[str, str]]) -> list[Outcome]:
        nonce = new_nonce()
        for n, (args, _) in enumerate(tests, 1):
            wd.write_test_input(n, encode_input(nonce, args))
        argv = self.spec.run_command(program.source_name, RUN_LIMITS, program.files[program.source_name])
        runs = self.sandbox.run_tests(profile=self.spec.profile, limits=self.spec.limits(RUN_LIMITS), argv=argv,
                                      tests_dir=wd.tests, count=len(tests), workdir=wd.box, parallel=2,
                                      procs=self.spec.run_procs, env=self.spec.env)
        outcomes = []
        for n, (run, (_, expected)) in enumerate(zip(runs, tests, strict=True), 1):
            out, err = read_nofollow(wd.tests, f"{n}.out"), read_nofollow(wd.tests, f"{n}.err")
            outcomes.append(self._verdict(run, out, err, nonce, expected, fn.returns))
        return outcomes

    def _verdict(self, run: SandboxRun, out: bytes, err: bytes, nonce: str, expected: str, returns: str) -> Outcome:
        if run.status != "OK" or run.exit_code != 0:
            return Outcome(_STATUS.get(run.status, "RUNTIME_ERROR"), run, out, err)
        judged = judge_output(nonce, out, expected, returns)
        return Outcome("ACCEPTED" if judged.accepted else "WRONG_ANSWER", run, out, err, judged.reason, judged.actual)


def cache_root() -> Path:
    """Where the tests keep the specs' warm caches across sessions (C++'s precompiled header,
    javac's archive, Go's standard library): building them takes a minute the first time."""
    return Path(os.environ.get("CODEPIPE_TEST_CACHE", "/tmp/codepipe-test-cache")) / "functions"


def fn(name: str, params: list[tuple[str, str]], returns: str) -> FunctionSpec:
    return FunctionSpec.model_validate({"name": name, "params": [{"name": n, "type": t} for n, t in params],
                                        "returns": returns})


def case(args: list[object], expected: object) -> tuple[str, str]:
    return json.dumps(args), json.dumps(expected)
