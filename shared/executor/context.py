"""What every part of an executor shares: its language, settings, AWS clients, sandbox client,
claim protocol, I/O pool and logger. Built once by shared.executor.service."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from shared.blobs import Blobs
from shared.claims import Claims
from shared.jobs import JobStore
from shared.language_spec import LanguageSpec
from shared.queue import JobQueue
from shared.sandbox import Sandbox
from shared.settings import Settings

# Threads for the AWS calls a job makes in the background (uploads, the `running` write).
IO_THREADS = 8

T = TypeVar("T")


@dataclass
class ExecutorContext:
    spec: LanguageSpec
    settings: Settings
    store: JobStore
    queue: JobQueue
    blobs: Blobs
    sandbox: Sandbox
    claims: Claims
    io: ThreadPoolExecutor
    log: logging.Logger
    executor_id: str

    @property
    def language(self) -> str:
        return self.spec.name

    def safe(self, what: str, fn: Callable[[], T]) -> T | None:
        """Best-effort calls (deleting a message, releasing a lease): a failure is logged, and
        the protocol's next step (visibility timeout, lease expiry) covers for it."""
        try:
            return fn()
        except Exception as exc:
            self.log.warning(f"{what} failed", extra={"error": str(exc)})
            return None


def settings_summary(ctx: ExecutorContext, poll_seconds: int) -> dict[str, Any]:
    """The start-up log line's fields."""
    s = ctx.settings
    return {
        "language": ctx.language,
        "executor_id": ctx.executor_id,
        "endpoint": s.aws_endpoint_url or "aws",
        "region": s.aws_region,
        "table": s.table,
        "queue": s.queue_name(ctx.language),
        "bucket": s.bucket,
        "sandbox": str(s.sandbox),
        "work_root": str(s.work_root),
        "parallel": s.parallel,
        "max_attempts": s.max_attempts,
        "lease_seconds": s.lease_seconds,
        "drain_seconds": s.drain_seconds,
        "poll_seconds": poll_seconds,
    }
