"""One attempt at a claimed job: prepare -> compile -> run -> judge -> result.

The attempt does the work and the final write; it decides nothing about the message (that is
shared.executor.messages, which also owns the lease). The AWS calls that need not wait (the
`running` transition, the uploads) run on the I/O pool while the sandbox works, so they add no
round trips."""

from __future__ import annotations

from concurrent.futures import Future
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from typing import Any

from shared import blobs as keys
from shared.executor.compile_errors import compile_error_text
from shared.executor.compiling import CompileOutcome, Compiler, EarlyCompile, remove_workdir
from shared.executor.context import ExecutorContext
from shared.executor.lease import Lease, LeaseLost
from shared.executor.progress import ProgressReporter
from shared.executor.result import Outcome, final_fields, result_document
from shared.executor.timing import Stopwatch
from shared.executor.uploads import Uploads
from shared.jobs import now_rfc3339
from shared.judging import CompareJudge, Judge, TestOutcome
from shared.judging.verdicts import job_verdict, preview
from shared.models import JobRequest, TestCase, TestResult, Verdict
from shared.sandbox import SandboxError, SandboxRun
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

    @property
    def tests(self) -> list[TestCase]:
        return self.request.test_cases or [TestCase(input=self.request.stdin, expected=None)]


def judge_for(ctx: ExecutorContext, request: JobRequest) -> Judge:
    """How this job's tests are judged."""
    return CompareJudge(request.compare, judged=bool(request.test_cases), refine=ctx.spec.refine_verdict)


class AttemptRunner:
    def __init__(self, ctx: ExecutorContext, compiler: Compiler) -> None:
        self.ctx = ctx
        self.compiler = compiler

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
            if early is not None and early.code == request.code:
                wd, compiled = early.wd, early.future
            else:
                if early is not None:
                    ctx.log.info("the message's code hint differs from the job's code; recompiling")
                    self.compiler.drop_early(early)
                wd = WorkDir.create(ctx.settings.work_root, job_id)
            early = None
            attempt = Attempt(
                job_id=job_id, record=record, request=request, receive_count=receive_count, wd=wd, lease=lease,
                watch=watch, prefix=keys.output_prefix(job_id, int(record.get("attempts") or 0)),
                uploads=Uploads(ctx.io, ctx.blobs, lease.check),
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
                remove_workdir(ctx, wd)

    def _log_completed(self, fields: dict[str, Any], watch: Stopwatch, early_compile: bool) -> None:
        self.ctx.log.info(
            "job completed",
            extra={
                "verdict": fields["verdict"],
                "passed": fields["passed"],
                "total": fields["total"],
                "compile_ms": fields.get("compile_ms"),
                "early_compile": early_compile,
                "elapsed_ms": watch.total_ms,
                "phases_ms": watch.phases,
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
        source_name = self.ctx.spec.source_name(a.request.code)
        if compiled is None:
            a.wd.write_source(source_name, a.request.code)
            outcome = self.compiler.compile(a.wd, source_name)
        else:
            outcome = compiled.result()
        compile_ms = None if outcome is None else outcome.ms
        if outcome is not None:
            failed = self._compile_failure(a, outcome)
            if failed is not None:
                return failed
        runs = self._run_tests(a, source_name)
        return self._judge(a, runs, compile_ms)

    def _compile_failure(self, a: Attempt, outcome: CompileOutcome) -> Outcome | None:
        """The COMPILATION_ERROR outcome when the compiler failed, else None."""
        crun = outcome.run
        a.watch.lap("compile")
        a.lease.check()
        if crun.status == "IE":
            raise SandboxError(f"sandbox internal error while compiling: {crun.message or ''}".strip())
        cerr = a.wd.read_compile_output("err")
        cout = a.wd.read_compile_output("out")
        a.uploads.put(keys.compile_stderr_key_in(a.prefix), cerr)
        if crun.status == "OK" and crun.exit_code == 0:
            return None
        message = compile_error_text(crun.status, crun.exit_code, crun.signal, cerr, cout, a.wd,
                                     self.compiler.limits())
        self.ctx.log.info("compilation failed", extra={"status": crun.status, "exit_code": crun.exit_code})
        return Outcome(Verdict.COMPILATION_ERROR, [], outcome.ms, message, "")

    def _run_tests(self, a: Attempt, source_name: str) -> list[SandboxRun]:
        ctx, spec, request = self.ctx, self.ctx.spec, a.request
        # compiling -> running goes out while the tests run; it must have landed before judging.
        running = ctx.io.submit(ctx.claims.set_running, a.job_id)
        tests = a.tests
        for n, case in enumerate(tests, 1):
            a.wd.write_test_input(n, case.input.encode("utf-8"))
        progress = ProgressReporter(ctx.io, lambda done: ctx.claims.progress(a.job_id, done))
        try:
            runs = ctx.sandbox.run_tests(
                profile=spec.profile, limits=spec.limits(request.limits),
                argv=spec.run_command(source_name, request.limits, request.code),
                tests_dir=a.wd.tests, count=len(tests), workdir=a.wd.box, parallel=ctx.settings.parallel,
                procs=spec.run_procs, env=spec.env, on_progress=progress.update,
            )
        finally:
            # Whatever happens, this attempt's writes land before the attempt ends: a late
            # one must not meet the final write or the next attempt's claim.
            progress.close()
            futures_wait([running])
        a.watch.lap("run")
        if not running.result():
            raise LeaseLost("lease lost before running")
        a.lease.check()
        return runs

    def _judge(self, a: Attempt, runs: list[SandboxRun], compile_ms: int | None) -> Outcome:
        judge = judge_for(self.ctx, a.request)
        results: list[TestResult] = []
        first_stdout = ""
        for n, (case, run) in enumerate(zip(a.tests, runs, strict=True), 1):
            o = TestOutcome(n, case, run, a.wd.read_test_output(n, "out"), a.wd.read_test_output(n, "err"))
            results.append(test_result(o, judge.judge(o).verdict))
            if n == 1:
                first_stdout = preview(o.stdout)
            # Full outputs, byte-exact.
            a.uploads.put(keys.test_stdout_key_in(a.prefix, n), o.stdout)
            a.uploads.put(keys.test_stderr_key_in(a.prefix, n), o.stderr)
        internal = [r.test_case for r in results if r.verdict == Verdict.INTERNAL_ERROR]
        if internal and a.receive_count < self.ctx.settings.max_attempts:
            # A sandbox failure on some test: retry the job while attempts remain; on the last
            # one the INTERNAL_ERROR verdict is reported rather than hidden.
            raise SandboxError(f"sandbox internal error on tests {internal[:10]}")
        return Outcome(job_verdict(r.verdict for r in results), results, compile_ms, None, first_stdout)

    def _finish(self, a: Attempt, outcome: Outcome) -> dict[str, Any]:
        """Upload the result document (under this attempt's prefix, alongside the outputs
        still in flight), wait for every upload, and build the fields of the final write."""
        completed_at = now_rfc3339()
        total = len(a.tests)
        document = result_document(a.job_id, a.record, a.request.language, total, outcome, completed_at)
        a.uploads.put_json(keys.result_key_in(a.prefix), document)
        a.uploads.wait()
        a.watch.lap("upload")
        return final_fields(a.record, a.prefix, total, outcome, completed_at)


def test_result(o: TestOutcome, verdict: Verdict) -> TestResult:
    case, run = o.case, o.run
    return TestResult(
        test_case=o.n, verdict=verdict, passed=verdict == Verdict.ACCEPTED,
        expected=preview(case.expected) if case.expected is not None else None,
        actual=preview(o.stdout), stderr=preview(o.stderr), exit_code=run.exit_code,
        signal=run.signal, runtime_ms=run.wall_ms, cpu_time_ms=run.cpu_ms,
        memory_kb=run.memory_kb, stdout_bytes=len(o.stdout), stderr_bytes=len(o.stderr),
    )
