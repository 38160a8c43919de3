"""What to do with one message: claim its job, or find out why the claim was refused (finished,
unknown, another language, leased by a live or a dead executor), run the attempt under its
lease, and decide the message's fate when the attempt ends (delete, retry later, hand back,
fail the job on its last allowed delivery).

Every DynamoDB write goes through shared.claims (conditional on owning the lease); the SQS
message is deleted only after the final write, so a crash at any point means redelivery, and
the lease protocol makes the redelivered copy safe."""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from shared.claims import now_ms
from shared.executor.attempt import AttemptRunner
from shared.executor.compiling import Compiler, EarlyCompile
from shared.executor.context import ExecutorContext
from shared.executor.lease import HandBack, Lease, LeaseHooks, LeaseLost
from shared.executor.queue_ops import QueueOps
from shared.executor.timing import Stopwatch
from shared.log import bind, job_context
from shared.models import Status
from shared.queue import Message
from shared.sandbox import SandboxCancelled

# Job ids as the gateway accepts them; anything else in a message is garbage.
JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_JOB_STATUSES = frozenset(s.value for s in Status)
_FINISHED = (Status.COMPLETED, Status.FAILED)


@dataclass
class MessageHandler:
    ctx: ExecutorContext
    ops: QueueOps
    compiler: Compiler
    attempts: AttemptRunner
    stopping: threading.Event
    hand_back: threading.Event
    keep_alive: Callable[[], None]  # refresh the executor record while a long job runs

    def handle(self, msg: Message) -> None:
        ctx = self.ctx
        job_id = msg.body.get("id")
        if not isinstance(job_id, str) or not JOB_ID.fullmatch(job_id):
            # Includes ids of the table's non-job records (executor#...): never touch those.
            ctx.log.error("malformed message; deleting it", extra={"body": str(msg.body)[:500]})
            self.ops.delete(msg)
            return
        watch = Stopwatch()
        with job_context(job_id):
            # Compile from the message's code hint while the claim is in flight; the claim
            # decides whether that compilation is used (the attempt) or thrown away.
            early = self.compiler.start_early(msg, job_id)
            try:
                # The common case first: one conditional write claims the job and returns it.
                claimed = ctx.claims.claim(job_id, ctx.language)
            except Exception as exc:
                self.compiler.drop_early(early)
                self.internal_error(msg, job_id, exc, claimed=False)
                return
            if claimed is None:
                self.compiler.drop_early(early)
                early = None
                claimed = self._claim_refused(msg, job_id)
                if claimed is None:
                    return
            watch.lap("claim")
            ctx.log.info("claimed job",
                         extra={"attempt": int(claimed.get("attempts", 1)), "receive_count": msg.receive_count})
            self._work(msg, job_id, claimed, watch, early)

    # --- a refused claim ----------------------------------------------------------------
    def _claim_refused(self, msg: Message, job_id: str) -> dict[str, Any] | None:
        """The claim's condition failed: find out why from the record and act on it. Returns
        the claimed record when the job can be taken after all (a dead owner's lease ran
        out), else None with the message dealt with."""
        ctx = self.ctx
        try:
            record = ctx.store.get(job_id)
        except Exception as exc:
            self.internal_error(msg, job_id, exc, claimed=False)
            return None
        if not self._claimable(msg, job_id, record):
            return None
        assert record is not None
        owner = record.get("lease_owner")
        foreign = record.get("status") in (Status.COMPILING, Status.RUNNING) and owner and owner != ctx.executor_id
        if foreign and self._await_foreign_lease(msg, job_id, record) is None:
            return None
        try:
            claimed = ctx.claims.claim(job_id, ctx.language)
        except Exception as exc:
            self.internal_error(msg, job_id, exc, claimed=False)
            return None
        if claimed is None:
            ctx.log.info("job claimed by another executor or finished; skipping")
            self.ops.visibility(msg, ctx.settings.lease_seconds)
        return claimed

    def _claimable(self, msg: Message, job_id: str, record: dict[str, Any] | None) -> bool:
        """False, with the message dealt with, when the record says there is nothing to do."""
        ctx = self.ctx
        if record is None or record.get("status") not in _JOB_STATUSES:
            ctx.log.error("message for an unknown job; deleting it")
            self.ops.delete(msg)
            return False
        status = record.get("status")
        if status in _FINISHED:
            ctx.log.info("job already finished; dropping duplicate delivery", extra={"status": status})
            self.ops.delete(msg)
            return False
        if record.get("language") != ctx.language:
            ctx.log.error("job of another language in this queue", extra={"language": record.get("language")})
            ctx.safe("failing the job", lambda: ctx.claims.fail(job_id, "job was queued for the wrong language"))
            self.ops.delete(msg)
            return False
        return True

    def _await_foreign_lease(self, msg: Message, job_id: str, record: dict[str, Any]) -> dict[str, Any] | None:
        """The job is leased by another executor. A live owner keeps extending the message's
        visibility before its lease, so holding this message means the owner has stopped
        (died, or stalled): its lease lapses within moments. Deferring the message would
        spend one of the job's few deliveries on a dead owner, so keep it hidden and wait
        for the lease to lapse (at most one lease period), then claim. Returns the fresh
        record to claim from, or None when the message was dealt with here."""
        lease_s = self.ctx.settings.lease_seconds
        deadline = time.monotonic() + lease_s + 2
        while True:
            remaining_ms = int(record.get("lease_expires_ms") or 0) - now_ms()
            if remaining_ms <= 0:
                return record
            if remaining_ms > lease_s * 1000 + 2000 or time.monotonic() > deadline or self.stopping.is_set():
                # Renewed meanwhile: the owner is alive after all. Look again when its
                # current lease would run out.
                return self._owner_alive(msg, record)
            self.ops.visibility(msg, remaining_ms // 1000 + 5)
            self.stopping.wait(min(remaining_ms / 1000 + 0.05, 1.0))
            try:
                fresh = self.ctx.store.get(job_id)
            except Exception as exc:
                self.internal_error(msg, job_id, exc, claimed=False)
                return None
            if fresh is None or fresh.get("status") in _FINISHED:
                self.ops.delete(msg)
                return None
            if fresh.get("status") == Status.QUEUED:
                return fresh
            if fresh.get("lease_expires_ms") != record.get("lease_expires_ms") and fresh.get("lease_owner"):
                return self._owner_alive(msg, fresh)  # renewed by its owner
            record = fresh

    def _owner_alive(self, msg: Message, record: dict[str, Any]) -> None:
        remaining_ms = int(record.get("lease_expires_ms") or 0) - now_ms()
        self.ctx.log.info("job leased by another executor", extra={"owner": record.get("lease_owner")})
        self.ops.visibility(msg, max(0, remaining_ms) // 1000 + 1)

    # --- the attempt and its ending -----------------------------------------------------
    def _lease(self, msg: Message, job_id: str) -> Lease:
        ctx = self.ctx
        hooks = LeaseHooks(
            extend_visibility=lambda s: ctx.queue.change_visibility(ctx.language, msg.receipt_handle, s),
            heartbeat=lambda: ctx.claims.heartbeat(job_id),
            keep_alive=self.keep_alive,
            on_lost=ctx.sandbox.cancel,
            hand_back=self.hand_back,
        )
        return Lease(job_id, ctx.settings.lease_seconds, hooks, bind(ctx.log, job_id=job_id))

    def _work(self, msg: Message, job_id: str, record: dict[str, Any], watch: Stopwatch,
              early: EarlyCompile | None) -> None:
        self.ctx.sandbox.reset()
        with self._lease(msg, job_id) as lease:
            try:
                if self.attempts.run(job_id, record, msg.receive_count, lease, watch, early):
                    self.ops.delete(msg)
            except (LeaseLost, SandboxCancelled) as exc:
                if self.hand_back.is_set() and not lease.lost.is_set():
                    self.give_back(msg, job_id)
                elif lease.lost.is_set():
                    # The new owner has the message too (visibility expired); leave it alone.
                    self.ctx.log.warning("abandoned job after losing its lease", extra={"error": str(exc)})
                else:
                    self.internal_error(msg, job_id, exc, claimed=True)
            except HandBack:
                self.give_back(msg, job_id)
            except Exception as exc:
                self.internal_error(msg, job_id, exc, claimed=True)

    def give_back(self, msg: Message, job_id: str) -> None:
        ctx = self.ctx
        ctx.log.warning("shutting down: handing the job back to the queue")
        if ctx.safe("releasing the lease", lambda: ctx.claims.release(job_id)):
            self.ops.requeue(msg)
        else:
            # Not ours any more (or DynamoDB is down): leave the message to its visibility
            # timeout, after which the lease has expired too and the job is taken over.
            ctx.log.warning("could not release the lease; the job waits for its lease to expire")

    def internal_error(self, msg: Message, job_id: str, exc: BaseException, claimed: bool) -> None:
        ctx = self.ctx
        reason = f"{type(exc).__name__}: {exc}"
        if msg.receive_count >= ctx.settings.max_attempts:
            ctx.log.error("internal error on the last attempt; marking the job failed",
                          extra={"error": reason, "receive_count": msg.receive_count}, exc_info=exc)
            error = f"internal error after {msg.receive_count} attempts: {reason}"
            ctx.safe("marking the job failed", lambda: ctx.claims.fail(job_id, error))
            # Visible again at once: the next receive exceeds maxReceiveCount and SQS moves
            # the message to the dead-letter queue.
            self.ops.visibility(msg, 0)
            return
        delay = int(min(2 ** msg.receive_count, 60) + random.uniform(0, 2))
        ctx.log.error("internal error; the job will be retried",
                      extra={"error": reason, "receive_count": msg.receive_count, "retry_in_s": delay}, exc_info=exc)
        if claimed:
            ctx.safe("releasing the lease", lambda: ctx.claims.release(job_id))
        self.ops.visibility(msg, delay)
