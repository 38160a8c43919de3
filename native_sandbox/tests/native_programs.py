"""The C test programs other than hostile.c (which conftest builds): compiled on first use,
once per session, next to the copies conftest's `progs` fixture made of the sources."""

from __future__ import annotations

import subprocess
from pathlib import Path


def compiled(progs: Path, name: str) -> Path:
    """progs/NAME built from progs/NAME.c (tests/programs/NAME.c)."""
    exe = progs / name
    if not exe.exists():
        r = subprocess.run(["gcc", "-O2", "-Wall", "-o", str(exe), str(progs / f"{name}.c")],
                           capture_output=True, text=True)
        assert r.returncode == 0, f"compiling {name}.c failed:\n{r.stderr}"
        exe.chmod(0o755)
    return exe
