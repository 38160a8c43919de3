"""The per-job work directory (shared/workdir.py): layout, no-follow reads, cache links,
symlink-safe removal, sweeping directories of dead executors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from shared.workdir import WorkDir, sweep_stale

REPO = Path(__file__).resolve().parents[2]


def test_layout_and_modes(tmp_path: Path) -> None:
    wd = WorkDir.create(tmp_path / "work", "job/../../x")
    assert wd.root.parent == tmp_path / "work" and "/" not in wd.root.name[:-13]
    for d in (wd.root, wd.box, wd.tests, wd.compile):
        assert d.is_dir() and d.stat().st_mode & 0o777 == 0o700
    assert (tmp_path / "work").stat().st_mode & 0o777 == 0o700
    wd.write_source("main.c", "int main(){}")
    wd.write_test_input(1, b"1 2\n")
    assert (wd.tests / "1.in").read_bytes() == b"1 2\n"
    with pytest.raises(ValueError):
        wd.write_source("../evil", "")
    wd.remove()
    assert not wd.root.exists()


def test_outputs_are_read_without_following_symlinks(tmp_path: Path) -> None:
    wd = WorkDir.create(tmp_path / "work", "job")
    secret = tmp_path / "secret"
    secret.write_bytes(b"host secret")
    os.symlink(secret, wd.tests / "1.out")
    with pytest.raises(OSError):
        wd.read_test_output(1, "out")
    os.mkfifo(wd.tests / "2.out")
    with pytest.raises(OSError):
        wd.read_test_output(2, "out")  # a FIFO would block the executor
    assert wd.read_test_output(3, "out") == b""  # absent: empty
    (wd.tests / "4.err").write_bytes(b"\xff\x00")
    assert wd.read_test_output(4, "err") == b"\xff\x00"
    wd.remove()
    assert secret.read_bytes() == b"host secret"


def test_removal_does_not_follow_symlinks_out(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("x")
    wd = WorkDir.create(tmp_path / "work", "job")
    os.symlink(outside, wd.box / "link")
    nested = wd.box / "ro" / "deeper"
    nested.mkdir(parents=True)
    (nested / "f").write_text("y")
    os.chmod(wd.box / "ro", 0o500)  # a directory the program made unwritable
    wd.remove()
    assert not wd.root.exists()
    assert (outside / "keep").read_text() == "x"


def test_link_into_box(tmp_path: Path) -> None:
    cache = tmp_path / "cache.bin"
    cache.write_bytes(b"pch")
    wd = WorkDir.create(tmp_path / "work", "job1")
    wd.link_into_box("pch/bits/stdc++.h.gch", cache)
    linked = wd.box / "pch" / "bits" / "stdc++.h.gch"
    assert linked.read_bytes() == b"pch" and linked.stat().st_ino == cache.stat().st_ino
    assert (wd.box / "pch").stat().st_mode & 0o777 == 0o755
    for bad in ("../x", "/etc/x", "a/../../x", ""):
        with pytest.raises(ValueError):
            wd.link_into_box(bad, cache)
    wd.remove()
    assert not wd.root.exists() and cache.read_bytes() == b"pch"


def test_stale_work_dirs_are_swept_live_ones_kept(tmp_path: Path) -> None:
    root = tmp_path / "work"
    live = WorkDir.create(root, "live")
    # A work dir whose executor died: created (and locked) by a process that has exited.
    subprocess.run(
        [sys.executable, "-c", f"from shared.workdir import WorkDir; from pathlib import Path; "
         f"WorkDir.create(Path({str(root)!r}), 'dead')"],
        check=True, cwd=str(REPO),
    )
    (root / ".cache").mkdir()
    assert sweep_stale(root) == 1
    names = sorted(p.name for p in root.iterdir())
    assert names[0] == ".cache" and names[1].startswith("live-") and len(names) == 2
    live.remove()
