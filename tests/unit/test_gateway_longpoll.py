"""api_gateway/longpoll.py: `?wait=N` holds a request until the record is settled, the time
is up or the client has gone."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from api_gateway.longpoll import wait_settled

DONE = {"status": "completed", "verdict": "ACCEPTED", "completed_at": "2026-01-01T00:00:00.000Z"}


class Records:
    def __init__(self, *items: dict[str, Any]) -> None:
        self.items = list(items)
        self.reads = 0

    async def load(self) -> dict[str, Any]:
        self.reads += 1
        return self.items[min(self.reads, len(self.items)) - 1]


async def connected() -> bool:
    return False


async def gone() -> bool:
    return True


def test_returns_the_settled_record_as_soon_as_it_is_read() -> None:
    records = Records({"status": "queued"}, {"status": "running"}, {"status": "completed"}, DONE)
    start = time.monotonic()
    assert asyncio.run(wait_settled(records.load, 5, connected)) == DONE
    assert records.reads == 4 and time.monotonic() - start < 1


def test_no_wait_reads_once() -> None:
    records = Records({"status": "queued"}, DONE)
    assert asyncio.run(wait_settled(records.load, 0, connected)) == {"status": "queued"}
    assert records.reads == 1


def test_gives_up_after_the_wait_or_when_the_client_is_gone() -> None:
    records = Records({"status": "running"})
    start = time.monotonic()
    assert asyncio.run(wait_settled(records.load, 0.3, connected))["status"] == "running"
    assert 0.3 <= time.monotonic() - start < 2
    records = Records({"status": "queued"}, DONE)
    assert asyncio.run(wait_settled(records.load, 5, gone)) == {"status": "queued"}
