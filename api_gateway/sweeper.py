"""Queues the jobs a gateway stored but never queued.

Submitting is two writes: the record, then the message. A gateway that dies in between leaves
a `queued` record no message refers to; with an idempotency key the client's retry re-sends it,
without one nothing would. Every new record carries `unqueued_lang` until its message is known
to be sent; this loop, in every gateway, finds the old ones through that sparse index and sends
their message. Several gateways may send the same job twice: a duplicate message is harmless
(the executors' claim is conditional), a missing one would strand the job.
"""

from __future__ import annotations

import asyncio

from starlette.concurrency import run_in_threadpool

from shared.jobs import JobStore
from shared.languages import LANGUAGES
from shared.log import get_logger, job_context
from shared.queue import JobQueue
from shared.settings import Settings

log = get_logger("api_gateway.sweeper")


class UnqueuedSweeper:
    def __init__(self, settings: Settings, store: JobStore, queue: JobQueue) -> None:
        self.settings = settings
        self.store = store
        self.queue = queue

    def sweep_once(self) -> int:
        """Queue every job stored more than `unqueued_after_seconds` ago and never queued;
        returns how many."""
        queued = 0
        for language in LANGUAGES:
            for job_id in self.store.unqueued(language, self.settings.unqueued_after_seconds):
                with job_context(job_id):
                    self.queue.send(language, job_id)
                    self.store.mark_enqueued(job_id)
                    log.warning("job was stored but never queued (its gateway died?); queued it now",
                                extra={"language": language})
                queued += 1
        return queued

    async def run(self, stop: asyncio.Event) -> None:
        while True:
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.settings.sweep_seconds)
                return
            except TimeoutError:
                pass
            try:
                await run_in_threadpool(self.sweep_once)
            except Exception as exc:  # e.g. DynamoDB unreachable: /health says so; try again later
                log.warning("unqueued-job sweep failed", extra={"error": str(exc)[:500]})
