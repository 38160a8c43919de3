"""shared.executor.box_links: a spec's cache files reach every box as hard links of the cache,
whether a prepared copy was ready (prelink_box) or not; a box's copy is moved out before its
work directory goes and deleted in the background; a prepared copy is never handed out twice."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from executor_c.spec import CSpec
from executor_go.spec import GoSpec
from shared.executor.box_links import BoxLinks
from shared.language_spec import LanguageSpec
from shared.workdir import WorkDir

LOG = logging.getLogger("test.box_links")


def _cache(tmp_path: Path) -> dict[str, Path]:
    links = {}
    for name in ("gocache/00/a-d", "gocache/00/b-a", "gocache/ff/.placeholder", "gocache/README", "pch/x.gch"):
        path = tmp_path / "cache" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name)
        links[name] = path
    return links


def _wait(condition: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def _assert_linked(wd: WorkDir, links: dict[str, Path]) -> None:
    for name, source in links.items():
        assert os.path.samefile(wd.box / name, source), name


def _spec(cls: type[LanguageSpec], links: dict[str, Path]) -> LanguageSpec:
    spec = cls()
    spec.box_links = links
    return spec


@pytest.fixture
def work_root(tmp_path: Path) -> Path:
    root = tmp_path / "work"
    root.mkdir(mode=0o700)
    return root


def _entries(work_root: Path) -> list[str]:
    return sorted(os.listdir(work_root))


def test_prepared_copies_are_renamed_in_and_moved_out(tmp_path: Path, work_root: Path) -> None:
    links = _cache(tmp_path)
    box_links = BoxLinks(_spec(GoSpec, links), work_root, LOG)
    first = WorkDir.create(work_root, "job1")
    assert sorted(box_links.place(first)) == sorted(links)  # nothing ready yet: linked one by one
    _assert_linked(first, links)
    _wait(lambda: box_links._ready is not None)
    prepared = box_links._ready.root  # type: ignore[union-attr]
    second = WorkDir.create(work_root, "job2")
    assert sorted(box_links.place(second)) == sorted(links)
    _assert_linked(second, links)
    assert box_links._ready is None or box_links._ready.root != prepared  # never handed out twice
    for wd in (first, second):
        box_links.take_back(wd)
        assert not os.path.lexists(wd.box / "gocache") and not os.path.lexists(wd.box / "pch")
        wd.remove()
    # the home keeps at most the next prepared copy; spent ones and husks are deleted
    home = next(work_root / e for e in _entries(work_root) if e.startswith("prelinked-go"))
    _wait(lambda: len(os.listdir(home / "box")) == 1)
    assert [e for e in _entries(work_root) if not e.startswith("prelinked-")] == []
    for source in links.values():
        assert source.read_text()  # the cache itself is untouched


def test_a_box_name_taken_by_a_user_file_falls_back_to_linking(tmp_path: Path, work_root: Path) -> None:
    links = _cache(tmp_path)
    box_links = BoxLinks(_spec(GoSpec, links), work_root, LOG)
    box_links.place(WorkDir.create(work_root, "warm"))
    _wait(lambda: box_links._ready is not None)
    wd = WorkDir.create(work_root, "job")
    (wd.box / "pch").write_text("the user's file")
    placed = box_links.place(wd)
    assert "pch/x.gch" not in placed and (wd.box / "pch").read_text() == "the user's file"
    _assert_linked(wd, {n: p for n, p in links.items() if n.startswith("gocache/")})


def test_new_box_links_are_never_served_from_an_older_copy(tmp_path: Path, work_root: Path) -> None:
    spec = _spec(GoSpec, _cache(tmp_path))
    box_links = BoxLinks(spec, work_root, LOG)
    box_links.place(WorkDir.create(work_root, "warm"))
    _wait(lambda: box_links._ready is not None)
    newer = tmp_path / "newer"
    newer.write_text("new")
    spec.box_links = {"gocache/00/new": newer}
    wd = WorkDir.create(work_root, "job")
    assert box_links.place(wd) == ["gocache/00/new"]
    assert os.listdir(wd.box / "gocache") == ["00"] and os.listdir(wd.box / "gocache" / "00") == ["new"]


def test_specs_without_prelinking_link_per_job(tmp_path: Path, work_root: Path) -> None:
    links = _cache(tmp_path)
    box_links = BoxLinks(_spec(CSpec, links), work_root, LOG)
    wd = WorkDir.create(work_root, "job")
    assert box_links.place(wd) == list(links)
    _assert_linked(wd, links)
    box_links.take_back(wd)  # nothing to move: wd.remove() deletes the links
    assert os.path.lexists(wd.box / "gocache")
    assert [e for e in _entries(work_root) if e.startswith("prelinked-")] == []
