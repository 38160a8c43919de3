"""How far a job's tests have got, written to its record while they run (`tests_done`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait

# At most one progress write per this many seconds; none at all for runs that end sooner, so
# short jobs (most of them) cost no extra write.
PROGRESS_EVERY_S = 1.0


class ProgressReporter:
    """Fed `update(done, total)` by the sandbox client as runs finish (from its reader
    thread); writes `done` through `write` on the I/O pool, throttled, one write in flight at
    most, and none once `close()` has returned (the final write must be the last)."""

    def __init__(self, pool: ThreadPoolExecutor, write: Callable[[int], object]) -> None:
        self._pool = pool
        self._write = write
        self._lock = threading.Lock()
        self._last = time.monotonic()
        self._pending: Future[object] | None = None
        self._closed = False

    def update(self, done: int, total: int) -> None:
        with self._lock:
            now = time.monotonic()
            if self._closed or done >= total or now - self._last < PROGRESS_EVERY_S:
                return
            if self._pending is not None and not self._pending.done():
                return
            self._last = now
            self._pending = self._pool.submit(self._write, done)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pending = self._pending
        if pending is not None:
            futures_wait([pending])
