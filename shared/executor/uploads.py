"""A job's S3 uploads, in flight on the executor's I/O pool while the job goes on."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from typing import Any

from shared.blobs import Blobs

# Output bytes handed to the pool but not yet uploaded, at most (bounds the executor's
# memory: a single test may print up to output_kb = 64 MiB).
MAX_PENDING_BYTES = 64 * 1024 * 1024
MAX_PENDING_PUTS = 32


class Uploads:
    """Puts issued now and awaited together (`wait`), so a job pays one round trip for all
    of its objects. An empty body is not stored: the result's `stdout_bytes`/`stderr_bytes`
    of 0 say so, and a missing object reads as empty. `check` (the job's lease check) runs
    after every wait, so a job that lost its lease stops there."""

    def __init__(self, pool: ThreadPoolExecutor, blobs: Blobs, check: Callable[[], None]) -> None:
        self._pool = pool
        self._blobs = blobs
        self._check = check
        self._pending: list[Future[None]] = []
        self._pending_bytes = 0

    def put(self, key: str, data: bytes) -> None:
        if not data:
            return
        self._submit(self._blobs.put_bytes, key, data)
        self._pending_bytes += len(data)
        if self._pending_bytes > MAX_PENDING_BYTES or len(self._pending) >= MAX_PENDING_PUTS:
            self.wait()

    def put_json(self, key: str, value: Any) -> None:
        self._submit(self._blobs.put_json, key, value)

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        self._pending.append(self._pool.submit(fn, *args))

    def settle(self) -> None:
        """Wait for the puts in flight without raising (the job is ending anyway)."""
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        futures_wait(pending)

    def wait(self) -> None:
        """Every put so far has landed; an S3 failure raises (an internal error of the job)."""
        pending, self._pending, self._pending_bytes = self._pending, [], 0
        for future in pending:
            future.result()
        self._check()
