"""The claim lease of the job an executor works on: kept alive in the background, checked
between steps. Losing it (taken over, or heartbeats failing past its expiry) cancels the
sandbox run and makes every later step stop without writing.

The lease knows nothing of the executor: what renewing means (SQS visibility, the DynamoDB
lease, the executor record) comes in as callbacks."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass


class LeaseLost(Exception):
    """Another executor took the job over (our lease expired) or it was finished meanwhile:
    stop without writing anything."""


class HandBack(Exception):
    """Shutdown deadline reached: give the job back to the queue unfinished."""


@dataclass(frozen=True)
class LeaseHooks:
    """What keeping one job's lease alive does, every lease/3 s."""

    extend_visibility: Callable[[int], None]  # seconds: keep the SQS message hidden
    heartbeat: Callable[[], bool]  # extend the DynamoDB lease; False: not ours any more
    keep_alive: Callable[[], None]  # a long job must not make the executor look dead
    on_lost: Callable[[], None]  # cancel the sandbox run
    hand_back: threading.Event  # set by the shutdown deadline


class Lease:
    """Keeps the claim alive while a job is worked on: every lease/3 s it extends the SQS
    visibility and `lease_expires_ms`. Losing the lease cancels the sandbox run."""

    def __init__(self, job_id: str, lease_seconds: int, hooks: LeaseHooks, log: logging.LoggerAdapter) -> None:
        self.job_id = job_id
        self.lease_seconds = lease_seconds
        self.hooks = hooks
        self.lost = threading.Event()
        self._stop = threading.Event()
        self._expires = time.monotonic() + lease_seconds
        self._log = log
        self._thread = threading.Thread(target=self._run, name=f"lease-{job_id[:12]}", daemon=True)

    def __enter__(self) -> Lease:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def check(self) -> None:
        if self.lost.is_set():
            raise LeaseLost("lease lost")
        if self.hooks.hand_back.is_set():
            raise HandBack("shutdown deadline reached")

    def _run(self) -> None:
        lease_s = self.lease_seconds
        interval = max(1.0, lease_s / 3)
        while not self._stop.wait(interval):
            try:
                self.hooks.extend_visibility(lease_s)
            except Exception as exc:  # the DynamoDB lease is what counts; SQS is best effort
                self._log.warning("could not extend message visibility", extra={"error": str(exc)})
            self.hooks.keep_alive()
            try:
                if self.hooks.heartbeat():
                    self._expires = time.monotonic() + lease_s
                else:
                    self._lose("lease taken over or job finished elsewhere")
                    return
            except Exception as exc:
                self._log.warning("lease heartbeat failed", extra={"error": str(exc)})
                if time.monotonic() > self._expires:
                    self._lose("lease expired: heartbeat failing")
                    return

    def _lose(self, why: str) -> None:
        self._log.warning("lost the job's lease; abandoning it", extra={"reason": why})
        self.lost.set()
        self.hooks.on_lost()
