"""The per-job private work directory (docs/ARCHITECTURE.md, "Work directory of one job").

    $CODEPIPE_WORK_ROOT/<job-id>-<random>/   0700, removed after the job
        box/      the program's --workdir (source, binary)
        tests/    N.in written here; N.out / N.err written by the helper
        compile/  out / err of the compile step

The program controls box/ (and, through the helper, the contents of N.out/N.err), so the
host side never follows a symlink it could have planted: outputs are opened with O_NOFOLLOW
relative to a directory fd, and removal never descends through symlinks.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import shutil
import stat
import time
from pathlib import Path

_SAFE_ID = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


# Held (flock) by the executor for as long as it uses the directory: a directory whose lock
# can be taken belongs to an executor that died, and can be removed (sweep_stale).
LOCK_NAME = ".lock"
# A directory without a lock file older than this is debris of an interrupted create().
_UNLOCKED_MAX_AGE_S = 600


class WorkDir:
    def __init__(self, root: Path, lock_fd: int | None = None) -> None:
        self.root = root
        self._lock_fd = lock_fd
        self.box = root / "box"
        self.tests = root / "tests"
        self.compile = root / "compile"

    @classmethod
    def create(cls, work_root: Path, job_id: str) -> WorkDir:
        # The job id comes from a message body: keep only a safe slug of it in the name.
        slug = "".join(ch for ch in job_id[:64] if ch in _SAFE_ID) or "job"
        os.makedirs(work_root, mode=0o700, exist_ok=True)
        # The parent is shared by all jobs: make sure nobody else can list or enter it even
        # if it pre-existed with a laxer mode.
        st = os.lstat(work_root)
        if not stat.S_ISDIR(st.st_mode):
            raise RuntimeError(f"work root {work_root} is not a directory")
        if stat.S_IMODE(st.st_mode) & 0o077:
            os.chmod(work_root, 0o700)
        root = work_root / f"{slug}-{secrets.token_hex(6)}"
        os.mkdir(root, 0o700)  # fails if it exists: never reuse someone else's directory
        lock_fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        wd = cls(root, lock_fd)
        for sub in (wd.box, wd.tests, wd.compile):
            os.mkdir(sub, 0o700)
        return wd

    # --- writing (before the program runs) ------------------------------------------------
    def write_source(self, name: str, code: str) -> Path:
        if "/" in name or name in ("", ".", ".."):
            raise ValueError(f"bad source file name {name!r}")
        path = self.box / name
        write_new(path, code.encode("utf-8"))
        return path

    def link_into_box(self, name: str, source: Path) -> None:
        """Hard-link a trusted, root-owned, read-only cache file into box/ (no copy; the
        sandbox uid can unlink its name in box/ but not change the file)."""
        parts = Path(name).parts
        if not parts or Path(name).is_absolute() or any(p in ("", ".", "..") for p in parts):
            raise ValueError(f"bad box path {name!r}")
        parent = self.box
        for part in parts[:-1]:
            parent = parent / part
            if not parent.is_dir():
                os.mkdir(parent, 0o755)  # the compiler (sandbox uid) must traverse it
        os.link(source, parent / parts[-1], follow_symlinks=False)

    def write_test_input(self, n: int, data: bytes) -> Path:
        path = self.tests / f"{n}.in"
        write_new(path, data)
        return path

    # --- reading (after the program ran) --------------------------------------------------
    def read_test_output(self, n: int, stream: str) -> bytes:
        """`N.out` / `N.err` from tests/ ("" when the helper did not create it)."""
        if stream not in ("out", "err"):
            raise ValueError(stream)
        return read_nofollow(self.tests, f"{n}.{stream}")

    def read_compile_output(self, name: str) -> bytes:
        if name not in ("out", "err"):
            raise ValueError(name)
        return read_nofollow(self.compile, name)

    def remove(self) -> None:
        try:
            safe_rmtree(self.root)
        finally:
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None


def sweep_stale(work_root: Path) -> int:
    """Remove the work directories of executors that died mid-job (their lock is free).
    Safe to run while other executors share `work_root`: live directories stay locked."""
    removed = 0
    try:
        entries = list(os.scandir(work_root))
    except FileNotFoundError:
        return 0
    for entry in entries:
        if entry.name.startswith(".") or not entry.is_dir(follow_symlinks=False):
            continue
        path = Path(entry.path)
        try:
            fd = os.open(path / LOCK_NAME, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
        except FileNotFoundError:
            if time.time() - entry.stat(follow_symlinks=False).st_mtime > _UNLOCKED_MAX_AGE_S:
                safe_rmtree(path)
                removed += 1
            continue
        except OSError:
            continue
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # in use
            safe_rmtree(path)
            removed += 1
        finally:
            os.close(fd)
    return removed


def write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
    finally:
        os.close(fd)


def read_nofollow(directory: Path, name: str, limit: int | None = None) -> bytes:
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK, dir_fd=dir_fd)
        except FileNotFoundError:
            return b""
        try:
            # Only regular files: a FIFO or device planted by the program would block or leak.
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise OSError(f"{directory / name} is not a regular file")
            chunks = []
            remaining = limit
            while remaining is None or remaining > 0:
                chunk = os.read(fd, 1 << 20 if remaining is None else min(1 << 20, remaining))
                if not chunk:
                    break
                chunks.append(chunk)
                if remaining is not None:
                    remaining -= len(chunk)
            return b"".join(chunks)
        finally:
            os.close(fd)
    finally:
        os.close(dir_fd)


def safe_rmtree(path: Path) -> None:
    """Remove a tree that untrusted code wrote into, without following symlinks out of it.

    shutil.rmtree uses the fd-based, symlink-attack-resistant implementation on Linux; make
    directories writable first so files the program chmod'ed read-only still go."""
    if not os.path.lexists(path):
        return
    if os.path.islink(path):
        os.unlink(path)
        return

    def _retry(func, failed_path, exc_info):  # type: ignore[no-untyped-def]
        # A directory the program made unwritable/unsearchable: fix its mode (lchmod-free:
        # chmod on a path we verified is a real directory) and retry once.
        parent = os.path.dirname(failed_path)
        try:
            for target in (parent, failed_path):
                st = os.lstat(target)
                if stat.S_ISDIR(st.st_mode):
                    os.chmod(target, 0o700)
            func(failed_path)
        except FileNotFoundError:
            pass

    assert shutil.rmtree.avoids_symlink_attacks, "needs the fd-based rmtree (Linux)"
    shutil.rmtree(path, onerror=_retry)
