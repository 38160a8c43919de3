"""A job's tests, wherever they live: inline in the request, or a problem version in the local
cache. The attempt asks for a test's metadata, places its input (and its answer, for a
checker) where a run needs it, and reads its expected output one test at a time."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from shared.executor.problem_cache import CachedProblem
from shared.judge_config import Group
from shared.judging.verdicts import PREVIEW_BYTES
from shared.models import JobRequest, TestCase
from shared.workdir import write_new


@dataclass(frozen=True)
class TestMeta:
    n: int
    points: float
    group: str | None


class TestSet(Protocol):
    judged: bool  # False: a plain run on stdin, no expected output
    groups: list[Group]

    def meta(self) -> list[TestMeta]: ...

    def place_input(self, n: int, dest: Path) -> None: ...

    def place_answer(self, n: int, dest: Path) -> None: ...

    def expected(self, n: int) -> bytes | None: ...

    def expected_preview(self, n: int) -> str | None: ...


class InlineTests:
    def __init__(self, request: JobRequest) -> None:
        self.cases = request.test_cases or [TestCase(input=request.stdin, expected=None)]
        self.judged = bool(request.test_cases)
        self.groups = request.groups

    def meta(self) -> list[TestMeta]:
        return [TestMeta(n, c.points, c.group) for n, c in enumerate(self.cases, 1)]

    def place_input(self, n: int, dest: Path) -> None:
        write_new(dest, self.cases[n - 1].input.encode("utf-8"))

    def place_answer(self, n: int, dest: Path) -> None:
        write_new(dest, (self.cases[n - 1].expected or "").encode("utf-8"))

    def expected(self, n: int) -> bytes | None:
        text = self.cases[n - 1].expected
        return None if text is None or not self.judged else text.encode("utf-8")

    def expected_preview(self, n: int) -> str | None:
        text = self.cases[n - 1].expected
        return None if text is None else text.encode("utf-8")[:PREVIEW_BYTES].decode("utf-8", "replace")


class ProblemTests:
    def __init__(self, cached: CachedProblem) -> None:
        self.cached = cached
        self.judged = True
        self.groups = cached.manifest.groups

    def meta(self) -> list[TestMeta]:
        return [TestMeta(n, t.points, t.group) for n, t in enumerate(self.cached.manifest.tests, 1)]

    def place_input(self, n: int, dest: Path) -> None:
        link_or_copy(self.cached.input(n), dest)

    def place_answer(self, n: int, dest: Path) -> None:
        link_or_copy(self.cached.answer(n), dest)

    def expected(self, n: int) -> bytes:
        return self.cached.answer(n).read_bytes()

    def expected_preview(self, n: int) -> str:
        with open(self.cached.answer(n), "rb") as f:
            return f.read(PREVIEW_BYTES).decode("utf-8", "replace")


def link_or_copy(src: Path, dest: Path) -> None:
    """The cache's read-only file under a new name (no copy when on one file system)."""
    try:
        os.link(src, dest)
    except OSError:
        with contextlib.suppress(FileNotFoundError):
            dest.unlink()
        write_new(dest, src.read_bytes())
