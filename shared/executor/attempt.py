"""One attempt at a claimed job: prepare -> compile -> run -> judge -> result.

The attempt does the work and the final write; it decides nothing about the message (that is
shared.executor.messages, which also owns the lease). The AWS calls that need not wait (the
`running` transition, the uploads) run on the I/O pool while the sandbox works, so they add no
round trips."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from concurrent.futures import Future
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from typing import Any

from shared import blobs as keys
from shared.executor.checking import CheckerJudge
from shared.executor.compiling import CompileOutcome, Compiler, EarlyCompile
from shared.executor.context import ExecutorContext
from shared.executor.functions import FunctionJudge, FunctionTests
from shared.executor.interactive import InteractiveJudge
from shared.executor.judge_programs import CompiledProgram, JudgePrograms, ProgramCompileError, place_file
from shared.executor.lease import Lease
from shared.executor.problem_cache import ProblemCache
from shared.executor.result import Outcome, final_fields, result_document
from shared.executor.running import TestRun
from shared.executor.test_set import InlineTests, ProblemTests, TestSet
from shared.executor.timing import Stopwatch
from shared.executor.uploads import Uploads
from shared.functions.framing import new_nonce
from shared.jobs import now_rfc3339
from shared.judge_config import JudgeOptions, JudgeProgram
from shared.judging import CompareJudge, Judge
from shared.models import JobRequest, ResolvedLimits, Verdict
from shared.workdir import WorkDir


@dataclass
class Attempt:
    """One attempt at a job: what the compile/run/judge steps share."""

    job_id: str
    record: dict[str, Any]
    request: JobRequest
    receive_count: int
    wd: WorkDir
    lease: Lease
    watch: Stopwatch
    prefix: str  # this attempt's outputs prefix (see shared.blobs.output_prefix)
    uploads: Uploads
    tests: TestSet
    options: JudgeOptions  # the request's, or its problem version's


class AttemptRunner:
    def __init__(self, ctx: ExecutorContext, compiler: Compiler, problems: ProblemCache,
                 programs: JudgePrograms) -> None:
        self.ctx = ctx
        self.compiler = compiler
        self.problems = problems
        self.programs = programs

    def run(self, job_id: str, record: dict[str, Any], receive_count: int, lease: Lease, watch: Stopwatch,
            early: EarlyCompile | None) -> bool:
        """Work the claimed job to its final write. True when the write landed; False when it
        was refused (the lease was lost just before it). Raises on anything else."""
        ctx = self.ctx
        wd: WorkDir | None = None
        compiled: Future[CompileOutcome | None] | None = None
        try:
            request = ctx.store.load_request(record)
            lease.check()
            # The hint is the code alone: with extra files (the request's or a problem's) the
            # early compilation is not the job's.
            if (early is not None and early.code == request.code and not request.files and not request.problem_id
                    and request.function is None):
                wd, compiled = early.wd, early.future
            else:
                if early is not None:
                    ctx.log.info("the message's code hint is not the job's program; recompiling")
                    self.compiler.drop_early(early)
                wd = WorkDir.create(ctx.settings.work_root, job_id)
            early = None
            with self._tests(request) as (tests, options):
                attempt = Attempt(
                    job_id=job_id, record=record, request=request, receive_count=receive_count, wd=wd,
                    lease=lease, watch=watch, prefix=keys.output_prefix(job_id, int(record.get("attempts") or 0)),
                    uploads=Uploads(ctx.io, ctx.blobs, lease.check), tests=tests, options=options,
                )
                fields = self._execute(attempt, compiled)
            lease.check()
            if not ctx.claims.complete(job_id, fields):
                ctx.log.warning("final write refused: lease lost before it; result discarded")
                return False
            watch.lap("final_write")
            self._log_completed(fields, watch, compiled is not None)
            return True
        finally:
            if early is not None:  # failed before deciding about it
                self.compiler.drop_early(early)
            if compiled is not None and not compiled.done():  # failed while it compiled
                ctx.sandbox.cancel()
                futures_wait([compiled])
            if wd is not None:
                self.compiler.remove_workdir(wd)

    @contextlib.contextmanager
    def _tests(self, request: JobRequest) -> Iterator[tuple[TestSet, JudgeOptions]]:
        """The job's tests and judging options: inline, or its problem version's (kept in the
        local cache, and not evicted while the attempt runs)."""
        if request.function is not None:
            yield FunctionTests(request, new_nonce()), request
            return
        if request.problem_id is None or request.problem_version is None:
            yield InlineTests(request), request
            return
        with self.problems.use(request.problem_id, request.problem_version) as cached:
            yield ProblemTests(cached), cached.manifest

    def _log_completed(self, fields: dict[str, Any], watch: Stopwatch, early_compile: bool) -> None:
        self.ctx.log.info(
            "job completed",
            extra={
                "verdict": fields["verdict"], "passed": fields["passed"], "total": fields["total"],
                "compile_ms": fields.get("compile_ms"), "early_compile": early_compile,
                "elapsed_ms": watch.total_ms, "phases_ms": watch.phases,
            },
        )

    def _execute(self, a: Attempt, compiled: Future[CompileOutcome | None] | None) -> dict[str, Any]:
        """Compile (or take the early compilation), run, judge and upload; returns the fields
        of the final write."""
        a.watch.lap("prepare")
        try:
            return self._finish(a, self._outcome(a, compiled))
        finally:
            a.uploads.settle()  # none of this attempt's puts outlives it

    def _outcome(self, a: Attempt, compiled: Future[CompileOutcome | None] | None) -> Outcome:
        spec, fn = self.ctx.spec, a.request.function
        program = a.request.code
        if fn is not None:
            missing = spec.missing_function(a.request.code, fn)
            if missing is not None:
                return Outcome(Verdict.COMPILATION_ERROR, [], None, missing, "")
            generated = spec.function_program(a.request.code, fn)
            source_name, program = generated.source_name, generated.files[generated.source_name]
            for name in generated.extra_names:
                place_file(a.wd.box, name, generated.files[name].encode("utf-8"))
        else:
            source_name = spec.source_name(a.request.code)
        if compiled is None:
            a.wd.write_source(source_name, program)
            names = self._place_files(a) + ([] if fn is None else generated.extra_names)
            outcome = self.compiler.compile(a.wd, source_name, spec.extra_sources(names))
        else:
            outcome = compiled.result()
        compile_ms = None if outcome is None else outcome.ms
        if outcome is not None:
            failed = self._compile_failure(a, outcome)
            if failed is not None:
                return failed
        judge = self._judge(a)
        if isinstance(judge, Outcome):
            return judge
        argv = spec.run_command(source_name, a.request.limits, program)
        judged = TestRun(self.ctx, a.job_id, a.request, a.receive_count, a.wd, a.tests, judge, a.lease, a.watch,
                         a.uploads, a.prefix, argv,
                         # the submission's or its problem's: either may ask to stop early
                         stop_on_first_failure=a.request.stop_on_first_failure or a.options.stop_on_first_failure,
                         ).run()
        return Outcome(judged.verdict, judged.results, compile_ms, None, judged.stdout_preview,
                       score=judged.score, max_score=judged.max_score, groups=judged.groups, error=judged.error)

    def _place_files(self, a: Attempt) -> list[str]:
        """The submission's files, then the problem's (a problem's file of the same name wins:
        it is the problem's grader or header)."""
        placed: dict[str, bytes] = {f.name: f.data() for f in a.request.files}
        if a.options is not a.request:
            placed.update({f.name: f.data() for f in a.options.files})
        for name, data in placed.items():
            place_file(a.wd.box, name, data)
        return list(placed)

    def _compile_failure(self, a: Attempt, outcome: CompileOutcome) -> Outcome | None:
        """The COMPILATION_ERROR outcome when the compiler failed, else None."""
        a.watch.lap("compile")
        a.lease.check()
        message = self.compiler.failure_text(outcome, a.wd.compile, (a.wd.box, a.wd.root))
        a.uploads.put(keys.compile_stderr_key_in(a.prefix), a.wd.read_compile_output("err"))
        if message is None:
            return None
        run = outcome.run
        self.ctx.log.info("compilation failed", extra={"status": run.status, "exit_code": run.exit_code})
        return Outcome(Verdict.COMPILATION_ERROR, [], outcome.ms, message, "")

    def _judge(self, a: Attempt) -> Judge | Outcome:
        """How the tests are judged; a checker or interactor that does not compile ends the job
        here as a JUDGE_ERROR with its compiler output in `error` (never the solution's fault)."""
        checker, interactor = a.options.checker, a.options.interactor
        if isinstance(a.tests, FunctionTests) and a.request.function is not None:
            return FunctionJudge(a.tests.nonce, a.request.function.returns, a.request.compare,
                                 self.ctx.spec.refine_verdict)
        if checker is None and interactor is None:
            return CompareJudge(a.request.compare, self.ctx.spec.refine_verdict)
        limits = self.checker_limits()  # checkers' and interactors' own (settings)
        points = {m.n: m.points for m in a.tests.meta()}
        checking: CheckerJudge | None = None
        if checker is not None:
            program = self._judge_program(a, checker, "checker", limits)
            if isinstance(program, Outcome):
                return program
            checking = CheckerJudge(self.ctx, program, limits, a.tests, points, a.wd.root,
                                    self.ctx.spec.refine_verdict)
        if interactor is None:
            assert checking is not None
            return checking
        program = self._judge_program(a, interactor, "interactor", limits)
        if isinstance(program, Outcome):
            return program
        return InteractiveJudge(program, limits, a.tests, points, a.wd.root, self.ctx.spec.refine_verdict, checking)

    def _judge_program(self, a: Attempt, source: JudgeProgram, role: str, limits: ResolvedLimits
                       ) -> CompiledProgram | Outcome:
        """The checker or interactor compiled (once per content hash), or the job's JUDGE_ERROR."""
        program = self.programs.get(source, limits)
        a.watch.lap(role)
        if isinstance(program, ProgramCompileError):
            self.ctx.log.info(f"the {role} does not compile: JUDGE_ERROR")
            return Outcome(Verdict.JUDGE_ERROR, [], None, None, "", error=f"the {role} does not compile:\n"
                                                                      f"{program.message}")
        return program

    def checker_limits(self) -> ResolvedLimits:
        s = self.ctx.settings
        return ResolvedLimits(time_ms=s.checker_time_ms, wall_ms=s.checker_wall_ms, memory_mb=s.checker_memory_mb,
                              output_kb=s.checker_output_kb)

    def _finish(self, a: Attempt, outcome: Outcome) -> dict[str, Any]:
        """Upload the result document (under this attempt's prefix, alongside the outputs
        still in flight), wait for every upload, and build the fields of the final write."""
        completed_at = now_rfc3339()
        total = len(a.tests.meta())
        document = result_document(a.job_id, a.record, a.request, total, outcome, completed_at)
        a.uploads.put_json(keys.result_key_in(a.prefix), document)
        a.uploads.wait()
        a.watch.lap("upload")
        return final_fields(a.record, a.prefix, total, outcome, completed_at)
