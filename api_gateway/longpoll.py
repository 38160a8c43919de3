"""Holding a request until its job is terminal (`/result?wait=N`): what "terminal" means for a
record that may be read mid-write, and how often to look again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from shared.models import Status

MAX_WAIT_SECONDS = 30


def settled(item: dict[str, Any]) -> bool:
    """Terminal, and with its final fields. Writers set the status last, but only DynamoDB
    itself applies an update atomically: on the embedded emulator a read racing the final
    write can see the new status before the rest."""
    status = item.get("status")
    if status == Status.COMPLETED.value:
        return item.get("verdict") is not None and item.get("completed_at") is not None
    return status == Status.FAILED.value


def poll_delay(elapsed: float, running_for: float | None) -> float:
    """How long a waiting request sleeps before looking at the job's status again. Judge jobs
    mostly end within a second, and once `running` within a few tens of ms (tests, uploads,
    the final write): poll every 5 ms for the first 300 ms of `running`, every 20 ms otherwise
    during the first second, then back off to 0.5 s for long jobs."""
    if running_for is not None and running_for < 0.3:
        return 0.005
    if elapsed < 1.0:
        return 0.02
    return min(0.5, 0.02 * 1.5 ** ((elapsed - 1.0) / 0.1))


async def wait_settled(
    load: Callable[[], Awaitable[dict[str, Any]]],
    wait: float,
    disconnected: Callable[[], Awaitable[bool]],
) -> dict[str, Any]:
    """The job's record once settled, or as it is after `wait` seconds (or when the client
    has gone). `load` reads the record (and raises for a job that does not exist)."""
    item = await load()
    start = time.monotonic()
    deadline = start + wait
    running_since: float | None = None
    while not settled(item):
        now = time.monotonic()
        remaining = deadline - now
        if remaining <= 0 or await disconnected():
            break
        if item.get("status") == Status.RUNNING and running_since is None:
            running_since = now
        running_for = None if running_since is None else now - running_since
        await asyncio.sleep(min(poll_delay(now - start, running_for), remaining))
        item = await load()
    return item
