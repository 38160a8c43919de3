"""Problem versions' data on the executor's local disk, least recently used out first.

    $CODEPIPE_WORK_ROOT/.cache/problems/<problem_id>/<version>/
        problem.json       the manifest
        tests/N.in, N.ans  the tests (hard-linked into a job's directories, never copied)
        .complete          written last: the entry's size in bytes; its mtime is the last use
    $CODEPIPE_WORK_ROOT/.cache/problems/<problem_id>/<version>.lock
        flock: shared while a job uses the entry, exclusive to fill or evict it

A version never changes (its name is its content hash), so an entry is either complete or not
there, and a second job on the same version downloads nothing. Several executors may share the
work root: fills go to a private directory renamed into place, and an entry in use is never
evicted."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from shared.problems import PROBLEM_ID, Manifest, ProblemStore

_COMPLETE = ".complete"


@dataclass(frozen=True)
class CachedProblem:
    root: Path
    manifest: Manifest

    def input(self, n: int) -> Path:
        return self.root / "tests" / f"{n}.in"

    def answer(self, n: int) -> Path:
        return self.root / "tests" / f"{n}.ans"


class ProblemCache:
    def __init__(self, root: Path, max_bytes: int, problems: ProblemStore, log: logging.Logger) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.problems = problems
        self.log = log
        self.downloads = 0  # fills since start (the tests read it)

    @contextlib.contextmanager
    def use(self, problem_id: str, version: str) -> Iterator[CachedProblem]:
        """The version's data, downloaded first if this host does not have it; not evicted
        while the block runs."""
        if not PROBLEM_ID.fullmatch(problem_id) or not version.isalnum():
            raise ValueError(f"bad problem reference {problem_id!r}/{version!r}")
        entry = self.root / problem_id / version
        entry.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(entry.parent / f"{version}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            filled = False
            # Lock conversions are not atomic (flock(2)): look again after each one.
            while True:
                fcntl.flock(fd, fcntl.LOCK_SH)
                if (entry / _COMPLETE).exists():
                    break
                fcntl.flock(fd, fcntl.LOCK_EX)  # one filler; the others wait, then find it done
                if not (entry / _COMPLETE).exists():
                    self._fill(problem_id, version, entry)
                    filled = True
            if filled:
                self._evict(keep=entry)
            else:
                self.log.info("problem data from the local cache", extra={"problem_id": problem_id, "version": version})
            os.utime(entry / _COMPLETE)
            manifest = Manifest.model_validate_json((entry / "problem.json").read_bytes())
            yield CachedProblem(entry, manifest)
        finally:
            os.close(fd)

    def _fill(self, problem_id: str, version: str, entry: Path) -> None:
        t0 = time.monotonic()
        tmp = entry.parent / f".{version}.{os.getpid()}.{secrets.token_hex(4)}"
        try:
            (tmp / "tests").mkdir(parents=True, mode=0o755)
            manifest = self.problems.manifest(problem_id, version)
            size = self.problems.fetch_tests(manifest, tmp / "tests")
            (tmp / "problem.json").write_text(manifest.model_dump_json())
            for f in (tmp / "tests").iterdir():
                os.chmod(f, 0o444)  # hard-linked into jobs' dirs: nobody may change them
            (tmp / _COMPLETE).write_text(str(size))
            shutil.rmtree(entry, ignore_errors=True)  # an incomplete leftover of a dead filler
            os.rename(tmp, entry)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        self.downloads += 1
        self.log.info("problem data downloaded", extra={"problem_id": problem_id, "version": version,
                                                         "bytes": size, "ms": int((time.monotonic() - t0) * 1000)})

    def _entries(self) -> list[tuple[float, int, Path]]:
        """(last use, bytes, dir) of every complete entry."""
        out = []
        for marker in self.root.glob(f"*/*/{_COMPLETE}"):
            with contextlib.suppress(OSError, ValueError):
                out.append((marker.stat().st_mtime, int(marker.read_text() or 0), marker.parent))
        return sorted(out)

    def _evict(self, keep: Path) -> None:
        entries = self._entries()
        total = sum(size for _, size, _ in entries)
        for _, size, entry in entries:
            if total <= self.max_bytes:
                return
            if entry != keep and self._remove_unused(entry):
                total -= size
                self.log.info("problem data evicted", extra={"entry": str(entry.relative_to(self.root)), "bytes": size})

    @staticmethod
    def _remove_unused(entry: Path) -> bool:
        fd = os.open(entry.parent / f"{entry.name}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False  # a job uses it
        try:
            (entry / _COMPLETE).unlink()
            shutil.rmtree(entry, ignore_errors=True)
            return True
        finally:
            os.close(fd)
