"""Where a job's time goes: milliseconds per phase, logged with the job's verdict."""

from __future__ import annotations

import time


class Stopwatch:
    """Laps of one job, in the order they happened. `lap(name)` charges the time since the
    previous lap (or the start) to `name`; repeated names add up."""

    def __init__(self) -> None:
        self._start = self._last = time.monotonic()
        self.phases: dict[str, int] = {}

    def lap(self, name: str) -> None:
        now = time.monotonic()
        self.phases[name] = self.phases.get(name, 0) + round((now - self._last) * 1000)
        self._last = now

    @property
    def total_ms(self) -> int:
        return round((time.monotonic() - self._start) * 1000)
