"""Running a job's tests and judging them, batch by batch as the plan says (shared.judging.scoring):
usually one batch of every test; with groups one per dependency layer (a group whose dependency
did not score fully never runs); with stop_on_first_failure batches of --parallel tests."""

from __future__ import annotations

from concurrent.futures import Future
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shared import blobs as keys
from shared.executor.context import ExecutorContext
from shared.executor.lease import Lease, LeaseLost
from shared.executor.progress import ProgressReporter
from shared.executor.test_set import TestMeta, TestSet
from shared.executor.timing import Stopwatch
from shared.executor.uploads import Uploads
from shared.judging import Batch, Interaction, Judge, Judgement, TestOutcome
from shared.judging.scoring import Plan, PlannedTest
from shared.judging.verdicts import job_verdict, preview
from shared.models import GroupResult, JobRequest, TestResult, Verdict
from shared.sandbox import SandboxError, SandboxRun
from shared.workdir import WorkDir, read_nofollow


@dataclass(frozen=True)
class Judged:
    """What the tests came to."""

    verdict: Verdict
    results: list[TestResult]
    score: float
    max_score: float
    groups: list[GroupResult]
    stdout_preview: str
    error: str | None  # the first JUDGE_ERROR's reason


@dataclass
class TestRun:
    """One attempt's run of its tests: what the batches share."""

    ctx: ExecutorContext
    job_id: str
    request: JobRequest
    receive_count: int
    wd: WorkDir
    tests: TestSet
    judge: Judge
    lease: Lease
    watch: Stopwatch
    uploads: Uploads
    prefix: str
    argv: list[str]
    stop_on_first_failure: bool = False
    results: dict[int, TestResult] = field(default_factory=dict)
    reasons: dict[int, str] = field(default_factory=dict)
    _meta: dict[int, TestMeta] = field(default_factory=dict)
    _first_stdout: str = ""

    def run(self) -> Judged:
        metas = self.tests.meta()
        self._meta = {m.n: m for m in metas}
        plan = Plan([PlannedTest(m.n, m.points, m.group) for m in metas], self.tests.groups,
                    self.stop_on_first_failure, chunk=self.ctx.settings.parallel)
        # compiling -> running goes out while the first batch runs; it lands before judging.
        running: Future[bool] | None = self.ctx.io.submit(self.ctx.claims.set_running, self.job_id)
        progress = ProgressReporter(self.ctx.io, lambda done: self.ctx.claims.progress(self.job_id, done))
        done, index = 0, 0
        try:
            while batch := plan.next_batch():
                index += 1
                runs = self._run_batch(batch, self._batch_dir(index), progress, done, len(metas))
                if running is not None:
                    self._landed(running)
                    running = None
                self._judge_batch(plan, Batch(batch, self._batch_dir(index), runs))
                done += len(batch)
        finally:
            # Whatever happens, this attempt's writes land before the attempt ends: a late
            # one must not meet the final write or the next attempt's claim.
            progress.close()
            if running is not None:
                futures_wait([running])
        return self._judged(plan)

    def _batch_dir(self, index: int) -> Path:
        path = self.wd.tests if index == 1 else self.wd.root / f"tests-{index}"
        path.mkdir(mode=0o700, exist_ok=True)
        return path

    def _run_batch(self, ns: list[int], where: Path, progress: ProgressReporter, done: int, total: int
                   ) -> list[SandboxRun]:
        spec, request = self.ctx.spec, self.request
        for k, n in enumerate(ns, 1):
            self.tests.place_input(n, where / f"{k}.in")
        extras = self.judge.run_extras(ns, where)
        runs = self.ctx.sandbox.run_tests(
            profile=spec.profile, limits=spec.limits(request.limits), argv=self.argv, tests_dir=where,
            count=len(ns), workdir=self.wd.box, parallel=self.ctx.settings.parallel, procs=spec.run_procs,
            env=spec.env, on_progress=lambda d, _t: progress.update(done + d, total),
            interactor=extras.interactor, test_files=extras.test_files,
        )
        self.watch.lap("run")
        return runs

    def _landed(self, running: Future[bool]) -> None:
        futures_wait([running])
        if not running.result():
            raise LeaseLost("lease lost before running")
        self.lease.check()

    def _judge_batch(self, plan: Plan, batch: Batch) -> None:
        self.judge.prepare(batch)
        for k, (n, run) in enumerate(zip(batch.ns, batch.runs, strict=True), 1):
            out, err = read_nofollow(batch.dir, f"{k}.out"), read_nofollow(batch.dir, f"{k}.err")
            judgement = self.judge.judge(TestOutcome(n, run, out, err, self.tests.expected(n), self._meta[n].points))
            plan.record(n, judgement.verdict, judgement.fraction)
            self.results[n] = self._result(n, run, out, err, judgement)
            if judgement.reason:
                self.reasons[n] = judgement.reason
            if n == 1:
                self._first_stdout = preview(out)
            # Full outputs, byte-exact.
            self.uploads.put(keys.test_stdout_key_in(self.prefix, n), out)
            self.uploads.put(keys.test_stderr_key_in(self.prefix, n), err)
            if judgement.interaction is not None:
                self.uploads.put(keys.test_interactor_key_in(self.prefix, n), judgement.interaction.interactor_output)

    def _result(self, n: int, run: SandboxRun, out: bytes, err: bytes, j: Judgement) -> TestResult:
        meta = self._meta[n]
        return TestResult(
            test_case=n, verdict=j.verdict, passed=j.verdict == Verdict.ACCEPTED,
            expected=self.tests.expected_preview(n), actual=preview(out if j.actual is None else j.actual),
            stderr=preview(err),
            exit_code=run.exit_code, signal=run.signal, runtime_ms=run.wall_ms, cpu_time_ms=run.cpu_ms,
            memory_kb=run.memory_kb, stdout_bytes=len(out), stderr_bytes=len(err), points=meta.points,
            group=meta.group, checker_message=j.message, **_interaction_fields(j.interaction),
        )

    def _judged(self, plan: Plan) -> Judged:
        results = []
        for t in plan.tests:
            verdict = plan.verdict(t.n)
            ran = self.results.get(t.n)
            if ran is None or verdict == Verdict.SKIPPED:
                ran = TestResult(test_case=t.n, verdict=Verdict.SKIPPED, passed=False, points=t.points,
                                 group=t.group, expected=None if ran is None else ran.expected)
            results.append(ran.model_copy(update={"score": plan.test_score(t)}))
        internal = [r.test_case for r in results if r.verdict == Verdict.INTERNAL_ERROR]
        if internal and self.receive_count < self.ctx.settings.max_attempts:
            # A sandbox failure on some test: retry the job while attempts remain; on the last
            # one the INTERNAL_ERROR verdict is reported rather than hidden.
            raise SandboxError(f"sandbox internal error on tests {internal[:10]}")
        score, max_score = plan.score()
        error = next((f"test {n}: {why}" for n, why in sorted(self.reasons.items())), None)
        return Judged(job_verdict(r.verdict for r in results), results, score, max_score, plan.group_results(),
                      self._first_stdout, error)


def _interaction_fields(interaction: Interaction | None) -> dict[str, Any]:
    """An interactive test's bytes each way and the preview of what the interactor wrote."""
    if interaction is None:
        return {}
    return {"interaction_bytes": {"to_interactor": interaction.to_interactor,
                                  "from_interactor": interaction.from_interactor},
            "interactor_output": preview(interaction.interactor_output)}
