"""The executor loop, shared by all four languages: poll the language's queue, claim the job,
compile and run it in the sandbox, judge, upload outputs, write the verdict once.

Job life cycle (docs/ARCHITECTURE.md): queued -> compiling -> running -> completed, or
failed after CODEPIPE_MAX_ATTEMPTS deliveries ended in internal errors. Every DynamoDB
write goes through shared.claims (conditional on owning the lease); the SQS message is
deleted only after the final write, so a crash at any point means redelivery, and the
lease protocol makes the redelivered copy safe.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import random
import re
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from types import FrameType
from typing import Any

from shared import blobs as keys
from shared.blobs import Blobs
from shared.claims import Claims, now_ms
from shared.compile_errors import COMPILE_OUTPUT_KB, compile_error_text
from shared.jobs import JobStore, now_rfc3339
from shared.judge import job_verdict, judge_one, preview
from shared.language_spec import LanguageSpec
from shared.lease import HandBack, Lease, LeaseLost
from shared.log import get_logger, job_context, setup_logging
from shared.models import JobRequest, ResolvedLimits, Status, TestCase, TestResult, Verdict
from shared.progress import ProgressReporter
from shared.queue import JobQueue, Message
from shared.sandbox import Sandbox, SandboxCancelled, SandboxError, SandboxRun, probe_isolation
from shared.settings import Settings, get_settings
from shared.timing import Stopwatch
from shared.uploads import Uploads
from shared.workdir import WorkDir, sweep_stale

# On stop, how long to wait for an in-flight long poll so its message can be handed back.
STOP_POLL_GRACE_S = 5.0
EXECUTOR_RECORD_EVERY_S = 30.0
# DynamoDB's item limit is 400 KB; keep the record well under it and put the per-test
# results in the S3 result document beyond that.
MAX_ITEM_BYTES = 350 * 1024
# Threads for the AWS calls a job makes in the background (uploads, the `running` write).
IO_THREADS = 8


# Job ids as the gateway accepts them; anything else in a message is garbage.
_JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_JOB_STATUSES = frozenset(s.value for s in Status)


@dataclass(frozen=True)
class CompileOutcome:
    run: SandboxRun
    ms: int


@dataclass
class EarlyCompile:
    """A compilation of the message's code hint, started before the claim returned."""

    code: str
    wd: WorkDir
    future: Future[CompileOutcome | None]


@dataclass
class Attempt:
    """One attempt at a job: what the compile/run/judge steps share."""

    job_id: str
    record: dict[str, Any]
    request: JobRequest
    wd: WorkDir
    lease: Lease
    msg: Message
    watch: Stopwatch
    prefix: str  # this attempt's outputs prefix (see shared.blobs.output_prefix)
    uploads: Uploads

    @property
    def tests(self) -> list[TestCase]:
        return self.request.test_cases or [TestCase(input=self.request.stdin, expected=None)]


class Executor:
    def __init__(
        self,
        spec: LanguageSpec,
        settings: Settings | None = None,
        store: JobStore | None = None,
        queue: JobQueue | None = None,
        blobs: Blobs | None = None,
        sandbox: Sandbox | None = None,
    ) -> None:
        self.spec = spec
        self.settings = settings or get_settings()
        self.blobs = blobs or Blobs(self.settings)
        self.store = store or JobStore(self.settings, self.blobs)
        self.queue = queue or JobQueue(self.settings)
        self.sandbox = sandbox or Sandbox(self.settings.sandbox)
        self.executor_id = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.claims = Claims(self.store, self.executor_id, self.settings.lease_seconds)
        self.log = get_logger(f"codepipe.executor.{spec.name}")
        self.version = "unknown"
        # `sandbox --probe` of this host, run once at start (run_forever); in the executor record.
        self.isolation: dict[str, Any] | None = None
        self.stopping = threading.Event()
        self.hand_back = threading.Event()
        self._working = False
        self._last_record = -EXECUTOR_RECORD_EVERY_S
        self._last_sweep = -EXECUTOR_RECORD_EVERY_S
        self._drain_timer: threading.Timer | None = None
        self.poll_seconds = self.settings.poll_seconds
        self._io = ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="io")

    # --- process life cycle ---------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping.is_set():
            # Second signal: don't wait for the drain deadline.
            self.log.warning("second stop signal; handing the job in hand back now")
            self._abort_for_shutdown()
        else:
            self.stopping.set()
            self.log.info("stop signal received", extra={"signal": signum, "working": self._working})
            if self._working:
                drain = self.settings.drain_seconds
                self._drain_timer = threading.Timer(drain, self._abort_for_shutdown)
                self._drain_timer.daemon = True
                self._drain_timer.start()

    def _abort_for_shutdown(self) -> None:
        if self._working:
            self.hand_back.set()
            self.sandbox.cancel()

    def run_forever(self) -> None:
        s = self.settings
        self.log.info(
            "executor starting",
            extra={
                "language": self.spec.name,
                "executor_id": self.executor_id,
                "endpoint": s.aws_endpoint_url or "aws",
                "region": s.aws_region,
                "table": s.table,
                "queue": s.queue_name(self.spec.name),
                "bucket": s.bucket,
                "sandbox": str(s.sandbox),
                "work_root": str(s.work_root),
                "parallel": s.parallel,
                "max_attempts": s.max_attempts,
                "lease_seconds": s.lease_seconds,
                "drain_seconds": s.drain_seconds,
                "poll_seconds": self.poll_seconds,
            },
        )
        self.version = self.spec.version()
        self.log.info("toolchain", extra={"version": self.version})
        self.isolation = probe_isolation(s.sandbox)
        log_isolation = self.log.info if self.isolation.get("level") == "full" else self.log.warning
        log_isolation("sandbox isolation", extra={"isolation": self.isolation})
        try:
            stale = sweep_stale(self.settings.work_root)
            if stale:
                self.log.info("removed stale work directories", extra={"count": stale})
        except OSError as exc:
            self.log.warning("could not sweep the work root", extra={"error": str(exc)})
        threading.Thread(target=self._warm_up, name="warm-up", daemon=True).start()
        threading.Thread(target=self._safe, args=("warming the I/O threads", self._warm_io), daemon=True).start()
        try:
            self.sandbox.check()
        except SandboxError as exc:
            # Keep polling anyway: jobs then fail as internal errors (visible to users and
            # /health) instead of silently piling up in the queue.
            self.log.error("sandbox helper unavailable", extra={"error": str(exc)})
        backoff = 1.0
        while not self.stopping.is_set():
            self._periodic()
            try:
                messages = self._poll()
            except Exception as exc:
                delay = min(backoff, 30.0) * random.uniform(0.5, 1.5)
                self.log.warning(
                    "queue poll failed; backing off", extra={"error": str(exc), "delay_s": round(delay, 2)}
                )
                self.stopping.wait(delay)
                backoff = min(backoff * 2, 30.0)
                continue
            backoff = 1.0
            for msg in messages:
                self._working = True
                try:
                    self.handle(msg)
                except Exception:  # handle() reports its own errors; this is the last guard
                    self.log.exception("unexpected error handling a message")
                finally:
                    self._working = False
                    self.hand_back.clear()
        if self._drain_timer is not None:
            self._drain_timer.cancel()
        self.log.info("executor stopped", extra={"executor_id": self.executor_id})

    def _poll(self) -> list[Message]:
        """One long poll, in a helper thread so a stop signal needn't wait the full 20 s.

        A long poll cannot be cancelled: SQS (and the emulator) may still hand a message to
        a request whose client went away, hiding it for the visibility timeout. So on stop
        we give the in-flight poll a few seconds to come back and put whatever it got back
        on the queue at once (_requeue) instead of abandoning it."""
        box: dict[str, Any] = {}
        done = threading.Event()

        def receive() -> None:
            try:
                box["messages"] = self.queue.receive(self.spec.name, wait_seconds=self.poll_seconds)
            except Exception as exc:
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=receive, name="poll", daemon=True).start()
        while not done.wait(0.25):
            if self.stopping.is_set():
                short = self.poll_seconds <= STOP_POLL_GRACE_S
                done.wait(self.poll_seconds + 1.0 if short else STOP_POLL_GRACE_S)
                break
        if "error" in box:
            raise box["error"]
        messages: list[Message] = box.get("messages", [])
        if self.stopping.is_set():
            for msg in messages:
                self._requeue(msg)
            return []
        return messages

    def _requeue(self, msg: Message) -> None:
        """Give a message back without spending one of the job's deliveries: SQS counts
        every receive towards maxReceiveCount, and a shutdown is not the job's failure. So
        send a fresh copy and delete this one (a failed delete only leaves a duplicate, which
        the claim protocol absorbs); if the send fails, just make this one visible again."""
        job_id = msg.job_id
        if job_id:
            try:
                self.queue.send(self.spec.name, job_id, msg.code)
            except Exception as exc:
                self.log.warning("could not re-send the message", extra={"error": str(exc)})
            else:
                self._delete(msg)
                return
        self._visibility(msg, 0)

    def _warm_up(self) -> None:
        """Build the spec's compile caches in the background; jobs compile without them
        until they are ready, and for good if building them fails."""
        # Keyed by toolchain version and compile flags: a cache from another compiler or
        # other flags is never picked up (gcc would ignore such a PCH; a JVM would warn).
        key = f"{self.version}\n{self.spec.compile_command('x')}"
        cache_dir = (
            self.settings.work_root / ".cache" / self.spec.name / hashlib.sha256(key.encode()).hexdigest()[:16]
        )
        t0 = time.monotonic()
        try:
            links = self.spec.warm_up(cache_dir)
        except Exception as exc:
            self.log.warning("compile cache warm-up failed; compiling without it", extra={"error": str(exc)[:500]})
            return
        self.spec.box_links = dict(links)
        if links:
            self.log.info(
                "compile caches ready",
                extra={"files": sorted(links), "ms": int((time.monotonic() - t0) * 1000)},
            )

    def _warm_io(self) -> None:
        """Start every I/O thread now, each with its own DynamoDB table resource (boto3's are
        per thread, and building one costs tens of ms), so no job pays for that later."""
        _ = self.blobs.s3
        ready = threading.Barrier(IO_THREADS)

        def start_thread() -> None:
            try:
                _ = self.store.table
            finally:  # hold this thread so that the next task gets a new one
                with contextlib.suppress(threading.BrokenBarrierError):
                    ready.wait(timeout=30)

        futures_wait([self._io.submit(start_thread) for _ in range(IO_THREADS)])

    def _link_caches(self, wd: WorkDir) -> list[str]:
        linked = []
        for name, source in self.spec.box_links.items():
            try:
                wd.link_into_box(name, source)
                linked.append(name)
            except OSError as exc:  # e.g. the cache on another file system: just slower
                self.log.debug("could not link compile cache", extra={"file": name, "error": str(exc)})
        return linked

    def _periodic(self) -> None:
        """Between polls, at most every EXECUTOR_RECORD_EVERY_S: refresh the executor record
        (/languages, /health) and sweep the dead-letter queue."""
        if time.monotonic() - self._last_sweep < EXECUTOR_RECORD_EVERY_S:
            return
        self._last_sweep = time.monotonic()
        self.refresh_record()
        try:
            self.sweep_dead_letters()
        except Exception as exc:
            self.log.warning("dead-letter sweep failed", extra={"error": str(exc)})

    def refresh_record(self, force: bool = False) -> None:
        """Write the `executor#{lang}` record (version, last_seen, isolation), at most every 30 s."""
        if not force and time.monotonic() - self._last_record < EXECUTOR_RECORD_EVERY_S:
            return
        self._last_record = time.monotonic()
        try:
            self.store.heartbeat_executor(self.spec.name, self.version, self.executor_id, self.isolation)
        except Exception as exc:
            self.log.warning("could not write the executor record", extra={"error": str(exc)})

    def sweep_dead_letters(self) -> int:
        """Mark `failed` the jobs whose message SQS dead-lettered while the job was not
        finished (e.g. the executor died on the last allowed delivery, so nobody got to write
        the failure). The messages are only peeked at (visibility 0): they stay in the DLQ
        for operators and alarms. Returns the number of jobs marked failed."""
        failed = 0
        for msg in self.queue.receive_dlq(self.spec.name, wait_seconds=0, visibility_timeout=0, max_messages=10):
            job_id = msg.job_id
            if not job_id or not _JOB_ID.fullmatch(job_id):
                continue
            record = self.store.get(job_id)
            if record is None or record.get("status") not in (Status.QUEUED, Status.COMPILING, Status.RUNNING):
                continue  # finished, or not a job at all (e.g. an executor record)
            if int(record.get("lease_expires_ms") or 0) > now_ms():
                continue  # someone is still working on it (a late redelivery); look again later
            attempts = int(record.get("attempts") or 0)
            error = f"gave up after {attempts} attempt(s): the job's message was moved to the dead-letter queue"
            if self.claims.fail(job_id, error):
                failed += 1
                with job_context(job_id):
                    self.log.error("job dead-lettered; marked failed", extra={"attempts": attempts})
        return failed

    # --- one message ----------------------------------------------------------------------
    def _safe(self, what: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except Exception as exc:
            self.log.warning(f"{what} failed", extra={"error": str(exc)})
            return None

    def _delete(self, msg: Message) -> None:
        self._safe("deleting the message", lambda: self.queue.delete(self.spec.name, msg.receipt_handle))

    def _visibility(self, msg: Message, seconds: int) -> None:
        self._safe(
            "changing message visibility",
            lambda: self.queue.change_visibility(self.spec.name, msg.receipt_handle, seconds),
        )

    def handle(self, msg: Message) -> None:
        job_id = msg.body.get("id")
        if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
            # Includes ids of the table's non-job records (executor#...): never touch those.
            self.log.error("malformed message; deleting it", extra={"body": str(msg.body)[:500]})
            self._delete(msg)
            return
        watch = Stopwatch()
        with job_context(job_id):
            # Compile from the message's code hint while the claim is in flight; the claim
            # decides whether that compilation is used (_work) or thrown away.
            early = self._compile_early(msg, job_id)
            try:
                # The common case first: one conditional write claims the job and returns it.
                claimed = self.claims.claim(job_id, self.spec.name)
            except Exception as exc:
                self._drop_early(early)
                self._internal_error(msg, job_id, exc, claimed=False)
                return
            if claimed is None:
                self._drop_early(early)
                early = None
                claimed = self._claim_refused(msg, job_id)
                if claimed is None:
                    return
            watch.lap("claim")
            self.log.info(
                "claimed job",
                extra={"attempt": int(claimed.get("attempts", 1)), "receive_count": msg.receive_count},
            )
            self._work(msg, job_id, claimed, watch, early)

    def _claim_refused(self, msg: Message, job_id: str) -> dict[str, Any] | None:
        """The claim's condition failed: find out why from the record and act on it. Returns
        the claimed record when the job can be taken after all (a dead owner's lease ran
        out), else None with the message dealt with."""
        try:
            record = self.store.get(job_id)
        except Exception as exc:
            self._internal_error(msg, job_id, exc, claimed=False)
            return None
        if record is None or record.get("status") not in _JOB_STATUSES:
            self.log.error("message for an unknown job; deleting it")
            self._delete(msg)
            return None
        status = record.get("status")
        if status in (Status.COMPLETED, Status.FAILED):
            self.log.info("job already finished; dropping duplicate delivery", extra={"status": status})
            self._delete(msg)
            return None
        if record.get("language") != self.spec.name:
            self.log.error("job of another language in this queue", extra={"language": record.get("language")})
            self._safe("failing the job", lambda: self.claims.fail(job_id, "job was queued for the wrong language"))
            self._delete(msg)
            return None
        owner = record.get("lease_owner")
        foreign = status in (Status.COMPILING, Status.RUNNING) and owner and owner != self.executor_id
        if foreign and self._await_foreign_lease(msg, job_id, record) is None:
            return None
        try:
            claimed = self.claims.claim(job_id, self.spec.name)
        except Exception as exc:
            self._internal_error(msg, job_id, exc, claimed=False)
            return None
        if claimed is None:
            self.log.info("job claimed by another executor or finished; skipping")
            self._visibility(msg, self.settings.lease_seconds)
        return claimed

    def _await_foreign_lease(self, msg: Message, job_id: str, record: dict[str, Any]) -> dict[str, Any] | None:
        """The job is leased by another executor. A live owner keeps extending the message's
        visibility before its lease, so holding this message means the owner has stopped
        (died, or stalled): its lease lapses within moments. Deferring the message would
        spend one of the job's few deliveries on a dead owner, so keep it hidden and wait
        for the lease to lapse (at most one lease period), then claim. Returns the fresh
        record to claim from, or None when the message was dealt with here."""
        lease_ms = self.settings.lease_seconds * 1000
        deadline = time.monotonic() + self.settings.lease_seconds + 2
        while True:
            remaining_ms = int(record.get("lease_expires_ms") or 0) - now_ms()
            if remaining_ms <= 0:
                return record
            if remaining_ms > lease_ms + 2000 or time.monotonic() > deadline or self.stopping.is_set():
                # Renewed meanwhile: the owner is alive after all. Look again when its
                # current lease would run out.
                self.log.info("job leased by another executor", extra={"owner": record.get("lease_owner")})
                self._visibility(msg, remaining_ms // 1000 + 1)
                return None
            self._visibility(msg, remaining_ms // 1000 + 5)
            self.stopping.wait(min(remaining_ms / 1000 + 0.05, 1.0))
            try:
                fresh = self.store.get(job_id)
            except Exception as exc:
                self._internal_error(msg, job_id, exc, claimed=False)
                return None
            if fresh is None or fresh.get("status") in (Status.COMPLETED, Status.FAILED):
                self._delete(msg)
                return None
            if fresh.get("status") == Status.QUEUED:
                return fresh
            if fresh.get("lease_expires_ms") != record.get("lease_expires_ms") and fresh.get("lease_owner"):
                # Renewed by its owner: alive.
                record = fresh
                remaining_ms = int(record.get("lease_expires_ms") or 0) - now_ms()
                self.log.info("job leased by another executor", extra={"owner": record.get("lease_owner")})
                self._visibility(msg, max(0, remaining_ms) // 1000 + 1)
                return None
            record = fresh

    def _work(
        self, msg: Message, job_id: str, record: dict[str, Any], watch: Stopwatch, early: EarlyCompile | None = None
    ) -> None:
        wd: WorkDir | None = None
        compiled: Future[CompileOutcome | None] | None = None
        self.sandbox.reset()
        with Lease(self, msg, job_id) as lease:
            try:
                request = self.store.load_request(record)
                lease.check()
                if early is not None and early.code == request.code:
                    wd, compiled = early.wd, early.future
                else:
                    if early is not None:
                        self.log.info("the message's code hint differs from the job's code; recompiling")
                        self._drop_early(early)
                    wd = WorkDir.create(self.settings.work_root, job_id)
                early = None
                attempt = Attempt(
                    job_id=job_id, record=record, request=request, wd=wd, lease=lease, msg=msg, watch=watch,
                    prefix=keys.output_prefix(job_id, int(record.get("attempts") or 0)),
                    uploads=Uploads(self._io, self.blobs, lease.check),
                )
                fields = self._execute(attempt, compiled)
                lease.check()
                if not self.claims.complete(job_id, fields):
                    self.log.warning("final write refused: lease lost before it; result discarded")
                    return
                watch.lap("final_write")
                self.log.info(
                    "job completed",
                    extra={
                        "verdict": fields["verdict"],
                        "passed": fields["passed"],
                        "total": fields["total"],
                        "compile_ms": fields.get("compile_ms"),
                        "early_compile": compiled is not None,
                        "elapsed_ms": watch.total_ms,
                        "phases_ms": watch.phases,
                    },
                )
                self._delete(msg)
            except (LeaseLost, SandboxCancelled) as exc:
                if self.hand_back.is_set() and not lease.lost.is_set():
                    self._hand_back(msg, job_id)
                elif lease.lost.is_set():
                    # The new owner has the message too (visibility expired); leave it alone.
                    self.log.warning("abandoned job after losing its lease", extra={"error": str(exc)})
                else:
                    self._internal_error(msg, job_id, exc, claimed=True)
            except HandBack:
                self._hand_back(msg, job_id)
            except Exception as exc:
                self._internal_error(msg, job_id, exc, claimed=True)
            finally:
                if early is not None:  # failed before deciding about it
                    self._drop_early(early)
                if compiled is not None and not compiled.done():  # failed while it compiled
                    self.sandbox.cancel()
                    futures_wait([compiled])
                if wd is not None:
                    try:
                        wd.remove()
                    except Exception as exc:
                        self.log.error("could not remove the work directory", extra={"error": str(exc)})

    # --- early compilation ------------------------------------------------------------------
    def _compile_early(self, msg: Message, job_id: str) -> EarlyCompile | None:
        """Start compiling the message's code hint (if any) on the I/O pool. Whatever happens
        to the claim, the caller hands the result to _work or to _drop_early."""
        code = msg.code
        if code is None or not self.settings.early_compile or not self.spec.compiles:
            return None
        try:
            source_name = self.spec.source_name(code)
            wd = WorkDir.create(self.settings.work_root, job_id)
            wd.write_source(source_name, code)
        except Exception as exc:  # a hint only: the normal path will report real problems
            self.log.info("not compiling early", extra={"error": str(exc)[:300]})
            return None
        self.sandbox.reset()
        return EarlyCompile(code, wd, self._io.submit(self._compile, wd, source_name))

    def _drop_early(self, early: EarlyCompile | None) -> None:
        if early is None:
            return
        if not early.future.done():
            self.sandbox.cancel()
            futures_wait([early.future])
            self.sandbox.reset()
        try:
            early.wd.remove()
        except Exception as exc:
            self.log.error("could not remove the work directory", extra={"error": str(exc)})

    def _hand_back(self, msg: Message, job_id: str) -> None:
        self.log.warning("shutting down: handing the job back to the queue")
        if self._safe("releasing the lease", lambda: self.claims.release(job_id)):
            self._requeue(msg)
        else:
            # Not ours any more (or DynamoDB is down): leave the message to its visibility
            # timeout, after which the lease has expired too and the job is taken over.
            self.log.warning("could not release the lease; the job waits for its lease to expire")

    def _internal_error(self, msg: Message, job_id: str, exc: BaseException, claimed: bool) -> None:
        reason = f"{type(exc).__name__}: {exc}"
        if msg.receive_count >= self.settings.max_attempts:
            self.log.error(
                "internal error on the last attempt; marking the job failed",
                extra={"error": reason, "receive_count": msg.receive_count},
                exc_info=exc,
            )
            error = f"internal error after {msg.receive_count} attempts: {reason}"
            self._safe("marking the job failed", lambda: self.claims.fail(job_id, error))
            # Visible again at once: the next receive exceeds maxReceiveCount and SQS moves
            # the message to the dead-letter queue.
            self._visibility(msg, 0)
            return
        delay = int(min(2 ** msg.receive_count, 60) + random.uniform(0, 2))
        self.log.error(
            "internal error; the job will be retried",
            extra={"error": reason, "receive_count": msg.receive_count, "retry_in_s": delay},
            exc_info=exc,
        )
        if claimed:
            self._safe("releasing the lease", lambda: self.claims.release(job_id))
        self._visibility(msg, delay)

    # --- compile, run, judge --------------------------------------------------------------
    def _compile_limits(self) -> ResolvedLimits:
        s = self.settings
        return ResolvedLimits(
            time_ms=s.compile_time_ms, wall_ms=s.compile_wall_ms, memory_mb=s.compile_memory_mb,
            output_kb=COMPILE_OUTPUT_KB,
        )

    def _compile(self, wd: WorkDir, source_name: str) -> CompileOutcome | None:
        """Compile the box's source in the sandbox; None when the language has no compile step."""
        spec = self.spec
        argv = spec.compile_command(source_name, self._link_caches(wd))
        if argv is None:
            return None
        t0 = time.monotonic()
        run = self.sandbox.run_single(
            profile="compile", limits=self._compile_limits(), argv=argv, stdin="/dev/null",
            stdout=wd.compile / "out", stderr=wd.compile / "err", workdir=wd.box,
            procs=spec.compile_procs, env=spec.env,
        )
        return CompileOutcome(run, int((time.monotonic() - t0) * 1000))

    def _execute(self, a: Attempt, compiled: Future[CompileOutcome | None] | None) -> dict[str, Any]:
        """Compile (or take the early compilation), run, judge and upload; returns the fields
        of the final write. The AWS calls that need not wait (the `running` transition, the
        uploads) run on the I/O pool while the sandbox works, so they add no round trips."""
        a.watch.lap("prepare")
        try:
            return self._compile_run_judge(a, compiled)
        finally:
            a.uploads.settle()  # none of this attempt's puts outlives it

    def _compile_run_judge(self, a: Attempt, compiled: Future[CompileOutcome | None] | None) -> dict[str, Any]:
        spec, request, wd = self.spec, a.request, a.wd
        source_name = spec.source_name(request.code)
        if compiled is None:
            wd.write_source(source_name, request.code)
            outcome = self._compile(wd, source_name)
        else:
            outcome = compiled.result()
        compile_ms: int | None = None
        if outcome is not None:
            crun, compile_ms = outcome.run, outcome.ms
            a.watch.lap("compile")
            a.lease.check()
            if crun.status == "IE":
                raise SandboxError(f"sandbox internal error while compiling: {crun.message or ''}".strip())
            cerr = wd.read_compile_output("err")
            cout = wd.read_compile_output("out")
            a.uploads.put(keys.compile_stderr_key_in(a.prefix), cerr)
            if crun.status != "OK" or crun.exit_code != 0:
                message = compile_error_text(
                    crun.status, crun.exit_code, crun.signal, cerr, cout, wd, self._compile_limits()
                )
                self.log.info("compilation failed", extra={"status": crun.status, "exit_code": crun.exit_code})
                return self._finish(a, Verdict.COMPILATION_ERROR, [], compile_ms, message, "")

        # compiling -> running goes out while the tests run; it must have landed before judging.
        running = self._io.submit(self.claims.set_running, a.job_id)
        tests = a.tests
        for n, case in enumerate(tests, 1):
            wd.write_test_input(n, case.input.encode("utf-8"))
        progress = ProgressReporter(self._io, lambda done: self.claims.progress(a.job_id, done))
        try:
            runs = self.sandbox.run_tests(
                profile=spec.profile, limits=spec.limits(request.limits),
                argv=spec.run_command(source_name, request.limits, request.code),
                tests_dir=wd.tests, count=len(tests), workdir=wd.box, parallel=self.settings.parallel,
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

        results: list[TestResult] = []
        first_stdout = ""
        for n, (case, run) in enumerate(zip(tests, runs, strict=True), 1):
            out = wd.read_test_output(n, "out")
            err = wd.read_test_output(n, "err")
            expected = case.expected if request.test_cases else None
            verdict = judge_one(run.status, run.exit_code, out, expected, request.compare)
            verdict = spec.refine_verdict(verdict, run, err)
            if n == 1:
                first_stdout = preview(out)
            results.append(
                TestResult(
                    test_case=n, verdict=verdict, passed=verdict == Verdict.ACCEPTED,
                    expected=preview(case.expected) if case.expected is not None else None,
                    actual=preview(out), stderr=preview(err), exit_code=run.exit_code,
                    signal=run.signal, runtime_ms=run.wall_ms, cpu_time_ms=run.cpu_ms,
                    memory_kb=run.memory_kb, stdout_bytes=len(out), stderr_bytes=len(err),
                )
            )
            # Full outputs, byte-exact.
            a.uploads.put(keys.test_stdout_key_in(a.prefix, n), out)
            a.uploads.put(keys.test_stderr_key_in(a.prefix, n), err)

        internal = [r.test_case for r in results if r.verdict == Verdict.INTERNAL_ERROR]
        if internal and a.msg.receive_count < self.settings.max_attempts:
            # A sandbox failure on some test: retry the job while attempts remain; on the last
            # one the INTERNAL_ERROR verdict is reported rather than hidden.
            raise SandboxError(f"sandbox internal error on tests {internal[:10]}")
        verdict = job_verdict(r.verdict for r in results)
        return self._finish(a, verdict, results, compile_ms, None, first_stdout)

    def _finish(
        self,
        a: Attempt,
        verdict: Verdict,
        results: list[TestResult],
        compile_ms: int | None,
        compilation_error: str | None,
        stdout_preview: str,
    ) -> dict[str, Any]:
        """Upload the result document (under this attempt's prefix, alongside the outputs
        still in flight), wait for every upload, and build the fields of the final write,
        which names this attempt's objects (`output_prefix`, `result_key`)."""
        record, request, total = a.record, a.request, len(a.tests)
        completed_at = now_rfc3339()
        dumped = [r.model_dump(mode="json") for r in results]
        passed = sum(1 for r in results if r.passed)
        result_key = keys.result_key_in(a.prefix)
        document = {
            "id": a.job_id,
            "status": Status.COMPLETED.value,
            "language": request.language,
            "verdict": verdict.value,
            "passed": passed,
            "total": total,
            "created_at": record.get("created_at"),
            "started_at": record.get("started_at"),
            "completed_at": completed_at,
            "compile_ms": compile_ms,
            "compilation_error": compilation_error,
            "stdout_preview": stdout_preview,
            "results": dumped,
        }
        a.uploads.put_json(result_key, document)
        a.uploads.wait()
        a.watch.lap("upload")
        fields: dict[str, Any] = {
            "verdict": verdict.value,
            "passed": passed,
            "total": total,
            "completed_at": completed_at,
            "compile_ms": compile_ms,
            "compilation_error": compilation_error,
            "result_key": result_key,
            "output_prefix": a.prefix,
            "stdout_preview": stdout_preview,
            "error": None,
            # Compact in the item (None fields are the model's defaults); full in S3.
            "results": [r.model_dump(mode="json", exclude_none=True) for r in results],
            "results_key": None,
            "tests_done": len(results) if results else None,
        }
        size = len(json.dumps(record, default=str)) + len(json.dumps(fields))
        if size > MAX_ITEM_BYTES:
            fields["results"] = None
            fields["results_key"] = result_key
        return fields


def run_forever(spec: LanguageSpec) -> None:
    """Entry point of `python -m executor_<lang>`: run until SIGTERM/SIGINT, then exit 0."""
    setup_logging()
    executor = Executor(spec)
    executor.install_signal_handlers()
    code = 0
    try:
        executor.run_forever()
    except Exception:
        logging.getLogger("codepipe.executor").exception("executor crashed")
        code = 1
    # Skip interpreter finalization: a daemon poll thread may still sit in a socket read
    # (its long poll is abandoned on purpose), which makes a normal exit linger.
    logging.shutdown()
    os._exit(code)
