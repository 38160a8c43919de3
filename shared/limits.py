"""Limit ranges, end to end: what the sandbox helper accepts bounds what the gateway accepts.

The helper's ranges live in one C header (native_sandbox/src/ranges.h), which this module
parses, so a limit the gateway lets through is always one the helper enforces (a `memory_mb`
of 1-3 was once accepted with 202 and then failed every sandbox call). The gateway's range of
a limit is the helper's range narrowed by the configured caps (settings) and by the language
(shared.languages)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # settings import this module for the parallel cap
    from shared.settings import Settings

RANGES_HEADER = Path(__file__).resolve().parent.parent / "native_sandbox" / "src" / "ranges.h"
_DEFINE = re.compile(r"^#define RANGE_([A-Z_]+)_(MIN|MAX) (\d+)\s*$", re.MULTILINE)

# The limits of a submission (SPEC §3), in the order /languages lists them.
LIMIT_NAMES: tuple[str, ...] = ("time_ms", "wall_ms", "memory_mb", "output_kb")


@dataclass(frozen=True)
class Range:
    min: int
    max: int

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.min <= value <= self.max

    def narrow(self, lo: int | None = None, hi: int | None = None) -> Range:
        return Range(max(self.min, lo) if lo is not None else self.min,
                     min(self.max, hi) if hi is not None else self.max)


@dataclass(frozen=True)
class LimitRange:
    """A submission limit: its allowed range and the default when the client gives none."""

    min: int
    max: int
    default: int

    def as_dict(self) -> dict[str, int]:
        return {"min": self.min, "max": self.max, "default": self.default}


@lru_cache(maxsize=1)
def interactor_grace_ms() -> int:
    """How much longer than the pair's wall an interactor may run (the helper's INTERACTOR_GRACE_MS)."""
    found = re.search(r"^#define INTERACTOR_GRACE_MS (\d+)\s*$", RANGES_HEADER.read_text(encoding="utf-8"),
                      re.MULTILINE)
    if found is None:
        raise RuntimeError(f"{RANGES_HEADER} does not define INTERACTOR_GRACE_MS")
    return int(found.group(1))


@lru_cache(maxsize=1)
def helper_ranges() -> dict[str, Range]:
    """{"time_ms": Range, ..., "procs": ..., "parallel": ...} as the helper's header defines them."""
    found: dict[str, dict[str, int]] = {}
    for name, bound, value in _DEFINE.findall(RANGES_HEADER.read_text(encoding="utf-8")):
        found.setdefault(name.lower(), {})[bound] = int(value)
    ranges = {name: Range(b["MIN"], b["MAX"]) for name, b in found.items() if {"MIN", "MAX"} <= b.keys()}
    missing = {*LIMIT_NAMES, "procs", "parallel"} - ranges.keys()
    if missing:
        raise RuntimeError(f"{RANGES_HEADER}: no MIN/MAX for {sorted(missing)}")
    return ranges


def max_parallel() -> int:
    return helper_ranges()["parallel"].max


def limit_ranges(settings: Settings, narrower: dict[str, Range] | None = None) -> dict[str, LimitRange]:
    """Allowed range and default of every submission limit: the helper's range, narrowed by the
    caps in settings and by `narrower` (a language's own bounds). Defaults are clamped into
    the range, so the default itself is always accepted."""
    helper = helper_ranges()
    caps = {"time_ms": settings.max_time_ms, "wall_ms": settings.max_wall_ms,
            "memory_mb": settings.max_memory_mb, "output_kb": settings.max_output_kb}
    out: dict[str, LimitRange] = {}
    for name in LIMIT_NAMES:
        rng = helper[name].narrow(hi=caps[name])
        if narrower and name in narrower:
            rng = rng.narrow(narrower[name].min, narrower[name].max)
        out[name] = LimitRange(rng.min, rng.max, _clamp(_default(name, settings), rng))
    return out


def _default(name: str, settings: Settings) -> int:
    if name == "wall_ms":
        return 3 * settings.default_time_ms
    return int(getattr(settings, f"default_{name}"))


def _clamp(value: int, rng: Range) -> int:
    return min(max(value, rng.min), rng.max)
