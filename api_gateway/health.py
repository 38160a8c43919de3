"""GET /health: the gateway's view of its dependencies, the sandbox and the executors."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import threading
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from botocore.config import Config

from shared import aws
from shared.jobs import JobStore, parse_rfc3339
from shared.languages import LANGUAGES
from shared.settings import Settings

# A health check must answer fast even when a dependency hangs: no retries, short timeouts.
_HEALTH_CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=1, read_timeout=2)

# An executor heartbeats on every idle poll (<= 20 s); busy with a long job it can be silent
# for a while, so "stale" is generous.
EXECUTOR_STALE_SECONDS = 120

# Isolation levels of `sandbox --probe`, weakest first. A level this list does not know is
# treated as the weakest: /health must never overstate the isolation jobs run under.
ISOLATION_LEVELS = ("unavailable", "minimal", "partial", "full")


def isolation_rank(level: object) -> int:
    return ISOLATION_LEVELS.index(level) if level in ISOLATION_LEVELS else 0  # type: ignore[arg-type]


def weakest_isolation(levels: Iterable[object]) -> str | None:
    """The weakest of `levels` (full > partial > minimal > unavailable; anything else counts
    as unavailable), or None when there is none."""
    ranks = [isolation_rank(level) for level in levels]
    return ISOLATION_LEVELS[min(ranks)] if ranks else None


def executor_isolation_level(executors: dict[str, Any]) -> str | None:
    """The overall isolation level from the `executors` section of /health: the weakest level
    any live executor reported from its own `sandbox --probe`; None when none reported one."""
    return weakest_isolation(
        e["isolation"].get("level")
        for e in executors.values()
        if isinstance(e, dict) and e.get("alive") and isinstance(e.get("isolation"), dict)
    )


class HealthChecker:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._probe: dict[str, Any] | None = None
        self._probe_checked = 0.0
        # Creating a botocore client costs ~100 ms; keep one per service and thread.
        self._local = threading.local()

    def _client(self, service: str) -> Any:
        clients = getattr(self._local, "clients", None)
        if clients is None:
            clients = self._local.clients = {}
        if service not in clients:
            clients[service] = aws.client(service, self.settings, _HEALTH_CONFIG)
        return clients[service]

    def _check(self, name: str) -> dict[str, Any]:
        start = time.perf_counter()
        s = self.settings
        try:
            if name == "dynamodb":
                self._client("dynamodb").describe_table(TableName=s.table)
            elif name == "sqs":
                sqs = self._client("sqs")
                for lang in LANGUAGES:
                    sqs.get_queue_url(QueueName=s.queue_name(lang))
            elif name == "s3":
                self._client("s3").head_bucket(Bucket=s.bucket)
            return {"ok": True, "latency_ms": round((time.perf_counter() - start) * 1000, 1)}
        except Exception as exc:  # noqa: BLE001 - any failure means "down" here
            return {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:500]}

    def sandbox(self) -> dict[str, Any]:
        """`sandbox --probe` on the gateway's own host, run once and cached; rechecked every
        minute while unavailable (the helper may be built after the gateway started). Only the
        fallback of /health's isolation level: the executors probe the hosts jobs run on."""
        if self._probe is not None and self._probe.get("available"):
            return self._probe
        if self._probe is not None and time.monotonic() - self._probe_checked < 60:
            return self._probe
        self._probe_checked = time.monotonic()
        path = self.settings.sandbox
        if not (path.is_file() and os.access(path, os.X_OK)):
            self._probe = {"available": False, "isolation": "unavailable", "path": str(path)}
            return self._probe
        try:
            proc = subprocess.run([str(path), "--probe"], capture_output=True, timeout=10, check=False,
                                  stdin=subprocess.DEVNULL)
            probe = json.loads(proc.stdout.decode() or "{}") if proc.returncode == 0 else None
        except (OSError, subprocess.TimeoutExpired, ValueError):
            probe = None
        if not isinstance(probe, dict):
            self._probe = {"available": False, "isolation": "unavailable", "path": str(path)}
        else:
            self._probe = {"available": True, "isolation": str(probe.get("level", "unknown")), "path": str(path),
                           "probe": probe}
        return self._probe

    def executors(self) -> dict[str, Any]:
        try:
            records = JobStore(self.settings).executor_records()
        except Exception as exc:  # noqa: BLE001
            return {lang: {"seen": False, "error": type(exc).__name__} for lang in LANGUAGES}
        now = datetime.now(UTC)
        out: dict[str, Any] = {}
        for lang in LANGUAGES:
            rec = records.get(lang)
            if not rec or not rec.get("last_seen"):
                out[lang] = {"seen": False, "version": None, "last_seen": None, "isolation": None}
                continue
            age = (now - parse_rfc3339(rec["last_seen"])).total_seconds()
            out[lang] = {
                "seen": True,
                "alive": age <= EXECUTOR_STALE_SECONDS,
                "last_seen": rec["last_seen"],
                "age_s": round(age, 1),
                "version": rec.get("version"),
                "executor_id": rec.get("executor_id"),
                # The executor's own `sandbox --probe` at its start (None from older executors).
                "isolation": rec.get("isolation") if isinstance(rec.get("isolation"), dict) else None,
            }
        return out

    async def report(self) -> dict[str, Any]:
        names = ("dynamodb", "sqs", "s3")
        checks = await asyncio.gather(*(asyncio.to_thread(self._check, n) for n in names))
        deps = dict(zip(names, checks, strict=True))
        executors = await asyncio.to_thread(self.executors) if deps["dynamodb"]["ok"] else {}
        level = executor_isolation_level(executors)
        if level is not None:
            sandbox: dict[str, Any] = {"available": level != "unavailable", "isolation": level,
                                       "source": "executors"}
        else:
            # No live executor has said what it has: fall back to probing the gateway's host.
            sandbox = {**await asyncio.to_thread(self.sandbox), "source": "gateway"}
            level = weakest_isolation([sandbox.get("isolation")]) or "unavailable"
        down = [n for n, c in deps.items() if not c["ok"]]
        report: dict[str, Any] = {
            "status": "ok" if not down else "unavailable",
            "dependencies": deps,
            # The weakest isolation among live executors (what a job may get).
            "isolation_level": level,
            "sandbox": sandbox,
            "executors": executors,
            "endpoint": self.settings.aws_endpoint_url or f"aws:{self.settings.aws_region}",
        }
        if down:
            report["error"] = {
                "code": "dependency_unavailable",
                "message": "; ".join(f"{n}: {deps[n]['error']}" for n in down),
            }
        return report
