"""/health's isolation level: the weakest `sandbox --probe` level among live executors (each
probes its own host at start and stores it in its `executor#{lang}` record), with the
gateway's own probe only as the fallback."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from api_gateway.health import HealthChecker, executor_isolation_level, weakest_isolation
from shared.settings import Settings


@pytest.mark.parametrize(
    ("levels", "expected"),
    [
        ([], None),
        (["full"], "full"),
        (["full", "full", "full", "full"], "full"),
        (["full", "partial"], "partial"),
        (["partial", "minimal", "full"], "minimal"),
        (["full", "unavailable", "minimal"], "unavailable"),
        (["full", "something-new"], "unavailable"),  # unknown levels never overstate
        (["full", None], "unavailable"),
    ],
)
def test_weakest_isolation(levels: list[Any], expected: str | None) -> None:
    assert weakest_isolation(levels) == expected


def _exe(level: str | None, alive: bool = True) -> dict[str, Any]:
    return {"seen": True, "alive": alive, "version": "v", "last_seen": "2026-01-01T00:00:00.000Z",
            "isolation": {"level": level} if level is not None else None}


def test_executor_isolation_level_counts_live_executors_only() -> None:
    execs = {"c": _exe("full"), "cpp": _exe("full"), "java": _exe("minimal", alive=False), "python": _exe("partial")}
    assert executor_isolation_level(execs) == "partial"
    # Unseen executors and live ones from before the probe existed do not count.
    execs = {"c": _exe("full"), "cpp": {"seen": False, "isolation": None}, "java": _exe(None), "python": _exe("full")}
    assert executor_isolation_level(execs) == "full"
    assert executor_isolation_level({"c": _exe("full", alive=False)}) is None
    assert executor_isolation_level({}) is None


class FakeChecker(HealthChecker):
    def __init__(self, executors: dict[str, Any], local: dict[str, Any]) -> None:
        super().__init__(Settings(aws_endpoint_url="http://127.0.0.1:1"))
        self._executors = executors
        self._local_probe = local
        self.probed = 0

    def _check(self, name: str) -> dict[str, Any]:
        return {"ok": True, "latency_ms": 1.0}

    def executors(self) -> dict[str, Any]:
        return self._executors

    def sandbox(self) -> dict[str, Any]:
        self.probed += 1
        return self._local_probe


GATEWAY_HAS_NO_HELPER = {"available": False, "isolation": "unavailable", "path": "/nope"}


def test_report_uses_the_weakest_live_executor_not_the_gateway_host() -> None:
    checker = FakeChecker({"c": _exe("full"), "cpp": _exe("full"), "java": _exe("full"), "python": _exe("partial")},
                          GATEWAY_HAS_NO_HELPER)
    report = asyncio.run(checker.report())
    assert report["status"] == "ok"
    assert report["isolation_level"] == "partial"
    assert report["sandbox"] == {"available": True, "isolation": "partial", "source": "executors"}
    assert report["executors"]["python"]["isolation"] == {"level": "partial"}
    assert checker.probed == 0  # the gateway's host is not what jobs run on


def test_report_falls_back_to_the_gateway_probe_without_executor_isolation() -> None:
    checker = FakeChecker({"c": _exe(None), "python": _exe("full", alive=False)},
                          {"available": True, "isolation": "minimal", "path": "/x"})
    report = asyncio.run(checker.report())
    assert report["isolation_level"] == "minimal"
    assert report["sandbox"]["source"] == "gateway" and report["sandbox"]["isolation"] == "minimal"
    assert checker.probed == 1
    checker = FakeChecker({}, GATEWAY_HAS_NO_HELPER)
    assert asyncio.run(checker.report())["isolation_level"] == "unavailable"
