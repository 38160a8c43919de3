"""Placing a spec's warm compile caches (`box_links`) in a job's box, and taking them out.

Most specs link one or two files (a precompiled header, a class-data archive) and do it per
job. Go's warm GOCACHE is ~370 hard links in 256 directories: linking them into a box and
removing them afterwards costs 200-600 ms a job on an ext4 disk under load, as much as the
build itself. For a spec with `prelink_box` a background thread keeps one linked copy ready
in a directory of its own under the work root (a locked WorkDir: swept like a job's if the
executor dies); a job takes it with one rename per top-level name, and before its work
directory is removed its box's copy is renamed out again, for the thread to delete after it
has prepared the next one. A returned copy is never reused: the compiler ran as the sandbox
user in that box and could have replaced what it could write to.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from shared.language_spec import LanguageSpec
from shared.workdir import WorkDir, safe_rmtree


def link_each(wd: WorkDir, links: dict[str, Path], log: logging.Logger) -> list[str]:
    """Hard-link every cache file into the box; the names linked."""
    linked = []
    for name, source in links.items():
        try:
            wd.link_into_box(name, source)
            linked.append(name)
        except OSError as exc:  # e.g. the cache on another file system: just slower
            log.debug("could not link compile cache", extra={"file": name, "error": str(exc)})
    return linked


def top_level(links: dict[str, Path]) -> set[str]:
    return {name.split("/", 1)[0] for name in links}


@dataclass
class _Ready:
    links: dict[str, Path]   # the box_links it was built from
    root: Path               # its directory; root/box holds exactly those names, linked


class BoxLinks:
    def __init__(self, spec: LanguageSpec, work_root: Path, log: logging.Logger) -> None:
        self.spec, self.work_root, self.log = spec, work_root, log
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._home: WorkDir | None = None
        self._ready: _Ready | None = None
        self._spent: list[Path] = []

    def place(self, wd: WorkDir) -> list[str]:
        """Put the spec's cache files into wd's box; the names placed."""
        links = self.spec.box_links
        if not links:
            return []
        if not self.spec.prelink_box:
            return link_each(wd, links, self.log)
        with self._lock:
            ready, self._ready = self._ready, None
            self._start()
        self._wake.set()
        tops = top_level(links)
        if ready is None or ready.links is not links or any(os.path.lexists(wd.box / t) for t in tops):
            if ready is not None:
                self._discard(ready.root)
            return link_each(wd, links, self.log)
        for top in tops:
            os.rename(ready.root / "box" / top, wd.box / top)
        self._discard(ready.root)  # the emptied husk
        return sorted(links)

    def take_back(self, wd: WorkDir) -> None:
        """Move the box's copy out of the way (before wd is removed): the thread deletes it."""
        if not self.spec.prelink_box or self._home is None:
            return
        for top in top_level(self.spec.box_links):
            path = wd.box / top
            if os.path.lexists(path):
                try:
                    spent = self._home.box / f"spent-{secrets.token_hex(6)}"
                    os.rename(path, spent)
                    self._discard(spent)
                except OSError as exc:  # wd.remove() deletes it then
                    self.log.debug("could not move the compile caches out", extra={"error": str(exc)})

    def _discard(self, path: Path) -> None:
        with self._lock:
            self._spent.append(path)
        self._wake.set()

    def _start(self) -> None:
        """(under the lock) The home directory and the thread, on first use."""
        if self._home is None:
            self._home = WorkDir.create(self.work_root, f"prelinked-{self.spec.name}")
            threading.Thread(target=self._loop, name=f"prelink-{self.spec.name}", daemon=True).start()

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            try:
                self._prepare()  # first: the next job may be waiting for it
                self._delete_spent()
            except Exception as exc:  # a job then links its own
                self.log.warning("preparing compile caches failed", extra={"error": str(exc)[:300]})

    def _prepare(self) -> None:
        links = self.spec.box_links
        with self._lock:
            if self._ready is not None or not links or self._home is None:
                return
            home = self._home
        tree = WorkDir(home.box / f"ready-{secrets.token_hex(6)}")  # link_into_box places under tree.box
        os.mkdir(tree.root, 0o700)
        os.mkdir(tree.box, 0o700)
        link_each(tree, links, self.log)
        with self._lock:
            self._ready = _Ready(links, tree.root)

    def _delete_spent(self) -> None:
        while True:
            with self._lock:
                spent, self._spent = self._spent, []
            if not spent:
                return
            for path in spent:
                safe_rmtree(path)
