"""A job's uploads (shared/executor/uploads.py) and its phase stopwatch (shared/executor/timing.py)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from shared.executor import uploads as uploads_module
from shared.executor.timing import Stopwatch
from shared.executor.uploads import Uploads


class FakeBlobs:
    def __init__(self, fail_on: str | None = None, gate: threading.Event | None = None) -> None:
        self.stored: dict[str, Any] = {}
        self.fail_on = fail_on
        self.gate = gate
        self.lock = threading.Lock()

    def put_bytes(self, key: str, data: bytes) -> None:
        if self.gate is not None:
            self.gate.wait(10)
        if key == self.fail_on:
            raise OSError(f"S3 refused {key}")
        with self.lock:
            self.stored[key] = data

    def put_json(self, key: str, value: Any) -> None:
        self.put_bytes(key, value)


@pytest.fixture
def pool() -> Any:
    with ThreadPoolExecutor(max_workers=4) as p:
        yield p


def test_puts_land_by_wait_and_empty_bodies_are_skipped(pool: ThreadPoolExecutor) -> None:
    blobs = FakeBlobs()
    checks: list[int] = []
    up = Uploads(pool, blobs, lambda: checks.append(1))  # type: ignore[arg-type]
    up.put("a.stdout", b"hello\n")
    up.put("a.stderr", b"")
    up.put_json("result.json", {"verdict": "ACCEPTED"})
    up.wait()
    assert blobs.stored == {"a.stdout": b"hello\n", "result.json": {"verdict": "ACCEPTED"}}
    assert checks == [1]  # the lease is checked once everything has landed


def test_a_failed_put_fails_the_wait(pool: ThreadPoolExecutor) -> None:
    up = Uploads(pool, FakeBlobs(fail_on="bad"), lambda: None)  # type: ignore[arg-type]
    up.put("good", b"x")
    up.put("bad", b"y")
    with pytest.raises(OSError, match="refused bad"):
        up.wait()


def test_lease_check_stops_the_job(pool: ThreadPoolExecutor) -> None:
    def lost() -> None:
        raise RuntimeError("lease lost")

    up = Uploads(pool, FakeBlobs(), lost)  # type: ignore[arg-type]
    up.put("k", b"x")
    with pytest.raises(RuntimeError, match="lease lost"):
        up.wait()


def test_settle_waits_without_raising(pool: ThreadPoolExecutor) -> None:
    blobs = FakeBlobs(fail_on="bad")
    up = Uploads(pool, blobs, lambda: None)  # type: ignore[arg-type]
    up.put("bad", b"y")
    up.put("good", b"x")
    up.settle()
    assert blobs.stored == {"good": b"x"}


def test_bytes_in_flight_are_bounded(pool: ThreadPoolExecutor, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past the byte bound, put() itself waits for what is in flight (the executor's memory
    stays bounded even when a test printed 64 MiB)."""
    monkeypatch.setattr(uploads_module, "MAX_PENDING_BYTES", 10)
    gate = threading.Event()
    blobs = FakeBlobs(gate=gate)
    up = Uploads(pool, blobs, lambda: None)  # type: ignore[arg-type]
    up.put("small", b"12345")  # under the bound: returns at once though the put is blocked
    finished = threading.Event()

    def big_put() -> None:
        up.put("big", b"x" * 20)  # over the bound: waits for both puts
        finished.set()

    t = threading.Thread(target=big_put)
    t.start()
    assert not finished.wait(0.3)
    gate.set()
    assert finished.wait(10)
    t.join()
    assert set(blobs.stored) == {"small", "big"}


def test_stopwatch_charges_each_lap_and_adds_repeats(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr("shared.executor.timing.time.monotonic", lambda: now[0])
    watch = Stopwatch()
    now[0] += 0.010
    watch.lap("claim")
    now[0] += 0.040
    watch.lap("compile")
    now[0] += 0.005
    watch.lap("claim")
    assert watch.phases == {"claim": 15, "compile": 40}
    assert watch.total_ms == 55


def test_progress_is_throttled_skips_short_runs_and_stops_at_close(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.executor import progress as progress_module
    from shared.executor.progress import ProgressReporter

    now = [1000.0]
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: now[0])
    written: list[int] = []
    with ThreadPoolExecutor(max_workers=1) as pool:
        reporter = ProgressReporter(pool, written.append)
        reporter.update(1, 10)  # within the first second: a short job writes nothing
        now[0] += 1.5
        reporter.update(4, 10)
        pool.submit(lambda: None).result()  # let the write run
        reporter.update(5, 10)  # less than a second since the last write
        now[0] += 1.0
        reporter.update(7, 10)
        reporter.update(10, 10)  # all done: the final write says so
        reporter.close()
        now[0] += 5.0
        reporter.update(9, 10)  # after close: never
    assert written == [4, 7]
