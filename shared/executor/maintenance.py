"""Housekeeping around the jobs: start-up probes and sweeps, compile-cache and I/O warm-up, the
executor record (/languages, /health) and the dead-letter sweep, run between polls."""

from __future__ import annotations

import contextlib
import hashlib
import threading
import time
from concurrent.futures import wait as futures_wait
from typing import Any

from shared.claims import now_ms
from shared.executor.context import IO_THREADS, ExecutorContext
from shared.executor.messages import JOB_ID
from shared.log import job_context
from shared.models import Status
from shared.sandbox import probe_isolation
from shared.workdir import sweep_stale

EXECUTOR_RECORD_EVERY_S = 30.0
_UNFINISHED = (Status.QUEUED, Status.COMPILING, Status.RUNNING)


class Maintenance:
    def __init__(self, ctx: ExecutorContext) -> None:
        self.ctx = ctx
        self.version = "unknown"
        # `sandbox --probe` of this host, run once at start; in the executor record.
        self.isolation: dict[str, Any] | None = None
        self._last_record = -EXECUTOR_RECORD_EVERY_S
        self._last_sweep = -EXECUTOR_RECORD_EVERY_S

    # --- start-up -----------------------------------------------------------------------
    def start(self) -> None:
        """Toolchain version, sandbox probe and work-root sweep now; caches and I/O threads
        warm up in the background (jobs do not wait for them)."""
        ctx = self.ctx
        self.version = ctx.spec.version()
        ctx.log.info("toolchain", extra={"version": self.version})
        self.isolation = probe_isolation(ctx.settings.sandbox)
        log_isolation = ctx.log.info if self.isolation.get("level") == "full" else ctx.log.warning
        log_isolation("sandbox isolation", extra={"isolation": self.isolation})
        try:
            stale = sweep_stale(ctx.settings.work_root)
            if stale:
                ctx.log.info("removed stale work directories", extra={"count": stale})
        except OSError as exc:
            ctx.log.warning("could not sweep the work root", extra={"error": str(exc)})
        threading.Thread(target=self.warm_up_caches, name="warm-up", daemon=True).start()
        threading.Thread(target=ctx.safe, args=("warming the I/O threads", self.warm_io), daemon=True).start()

    def warm_up_caches(self) -> None:
        """Build the spec's compile caches in the background; jobs compile without them
        until they are ready, and for good if building them fails."""
        ctx = self.ctx
        # Keyed by toolchain version and compile flags: a cache from another compiler or
        # other flags is never picked up (gcc would ignore such a PCH; a JVM would warn).
        key = f"{self.version}\n{ctx.spec.compile_command('x')}"
        cache_dir = ctx.settings.work_root / ".cache" / ctx.language / hashlib.sha256(key.encode()).hexdigest()[:16]
        t0 = time.monotonic()
        try:
            links = ctx.spec.warm_up(cache_dir)
        except Exception as exc:
            ctx.log.warning("compile cache warm-up failed; compiling without it", extra={"error": str(exc)[:500]})
            return
        ctx.spec.box_links = dict(links)
        if links:
            ctx.log.info("compile caches ready",
                         extra={"files": sorted(links), "ms": int((time.monotonic() - t0) * 1000)})

    def warm_io(self) -> None:
        """Start every I/O thread now, each with its own DynamoDB table resource (boto3's are
        per thread, and building one costs tens of ms), so no job pays for that later."""
        ctx = self.ctx
        _ = ctx.blobs.s3
        ready = threading.Barrier(IO_THREADS)

        def start_thread() -> None:
            try:
                _ = ctx.store.table
            finally:  # hold this thread so that the next task gets a new one
                with contextlib.suppress(threading.BrokenBarrierError):
                    ready.wait(timeout=30)

        futures_wait([ctx.io.submit(start_thread) for _ in range(IO_THREADS)])

    # --- between polls ------------------------------------------------------------------
    def periodic(self) -> None:
        """At most every EXECUTOR_RECORD_EVERY_S: refresh the executor record and sweep the
        dead-letter queue."""
        if time.monotonic() - self._last_sweep < EXECUTOR_RECORD_EVERY_S:
            return
        self._last_sweep = time.monotonic()
        self.refresh_record()
        try:
            self.sweep_dead_letters()
        except Exception as exc:
            self.ctx.log.warning("dead-letter sweep failed", extra={"error": str(exc)})

    def refresh_record(self, force: bool = False) -> None:
        """Write the `executor#{lang}` record (version, last_seen, isolation), at most every 30 s."""
        if not force and time.monotonic() - self._last_record < EXECUTOR_RECORD_EVERY_S:
            return
        self._last_record = time.monotonic()
        ctx = self.ctx
        try:
            ctx.store.heartbeat_executor(ctx.language, self.version, ctx.executor_id, self.isolation)
        except Exception as exc:
            ctx.log.warning("could not write the executor record", extra={"error": str(exc)})

    def sweep_dead_letters(self) -> int:
        """Mark `failed` the jobs whose message SQS dead-lettered while the job was not
        finished (e.g. the executor died on the last allowed delivery, so nobody got to write
        the failure). The messages are only peeked at (visibility 0): they stay in the DLQ
        for operators and alarms. Returns the number of jobs marked failed."""
        ctx = self.ctx
        failed = 0
        for msg in ctx.queue.receive_dlq(ctx.language, wait_seconds=0, visibility_timeout=0, max_messages=10):
            job_id = msg.job_id
            if not job_id or not JOB_ID.fullmatch(job_id):
                continue
            record = ctx.store.get(job_id)
            if record is None or record.get("status") not in _UNFINISHED:
                continue  # finished, or not a job at all (e.g. an executor record)
            if int(record.get("lease_expires_ms") or 0) > now_ms():
                continue  # someone is still working on it (a late redelivery); look again later
            attempts = int(record.get("attempts") or 0)
            error = f"gave up after {attempts} attempt(s): the job's message was moved to the dead-letter queue"
            if ctx.claims.fail(job_id, error):
                failed += 1
                with job_context(job_id):
                    ctx.log.error("job dead-lettered; marked failed", extra={"attempts": attempts})
        return failed
