"""What differs per language, as one small class per executor (like DMOJ's executors).

An executor package subclasses LanguageSpec with its file names, compile and run commands,
sandbox profile, limits, environment and toolchain probe; the package shared/executor/
does everything else.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import time
from collections.abc import Callable, Collection, Sequence
from pathlib import Path
from typing import ClassVar

from shared.functions import FunctionProgram
from shared.judge_config import FunctionSpec
from shared.models import ResolvedLimits, Verdict
from shared.sandbox import SandboxRun


def _clear_stale(target: Path) -> None:
    """Remove the temporaries of `target` left by an executor killed mid-build."""
    for stale in target.parent.glob(f".{target.name}.*"):
        with contextlib.suppress(OSError):
            if time.time() - stale.lstat().st_mtime > 600:
                if stale.is_dir() and not stale.is_symlink():
                    shutil.rmtree(stale, ignore_errors=True)
                else:
                    stale.unlink()


def _temporary(target: Path) -> Path:
    return target.with_name(f".{target.name}.{os.getpid()}.{secrets.token_hex(4)}")


def build_atomically(target: Path, build: Callable[[Path], None]) -> Path:
    """Run `build(tmp)` and move tmp onto `target` (several executors may warm up at once).
    An existing target is reused: the cache directory is keyed by toolchain and flags."""
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    _clear_stale(target)
    tmp = _temporary(target)
    try:
        build(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if tmp.exists():
            tmp.unlink()
    return target


def build_tree_atomically(target: Path, build: Callable[[Path], None]) -> Path:
    """build_atomically for a directory: `build(tmp)` fills the new directory tmp, which then
    becomes `target` (read-only for others: files 0644, directories 0755). An existing target
    is reused; when another executor finished first, its tree wins and ours is dropped."""
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    _clear_stale(target)
    tmp = _temporary(target)
    try:
        tmp.mkdir(mode=0o755)
        build(tmp)
        for path in (tmp, *tmp.rglob("*")):
            if not path.is_symlink():
                os.chmod(path, 0o755 if path.is_dir() else 0o644)
        try:
            os.rename(tmp, target)
        except OSError:
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def tree_files(tree: Path, prefix: str) -> dict[str, Path]:
    """{prefix/relative path: file} of every regular file under `tree`: warm_up()'s answer for
    a cached directory (each file is hard-linked into the job's box under that name)."""
    return {f"{prefix}/{path.relative_to(tree).as_posix()}": path
            for path in sorted(tree.rglob("*")) if path.is_file() and not path.is_symlink()}


def resolve_tool(path: str) -> str:
    """Absolute tool path with symlinks resolved (/usr/bin/java -> /etc/alternatives -> the
    JDK), so the program inside the sandbox does not depend on /etc/alternatives being
    visible there."""
    real = os.path.realpath(path)
    return real if os.path.isfile(real) and os.access(real, os.X_OK) else path


class LanguageSpec:
    """Base class. Subclasses set the class attributes and override the command builders."""

    name: ClassVar[str]
    profile: ClassVar[str]
    source_file: ClassVar[str]
    version_command: ClassVar[Sequence[str]]

    # The compiler runs several processes (gcc -> cc1 -> as -> collect2 -> ld).
    compile_procs: ClassVar[int] = 64
    # --procs for the program itself; None = the helper's default (one process).
    run_procs: ClassVar[int | None] = None
    # Many box_links (hundreds of files): keep a linked copy ready in the background instead of
    # linking them per job (shared.executor.box_links).
    prelink_box: ClassVar[bool] = False
    # The program's whole environment (the helper passes nothing else but a fixed PATH).
    env: ClassVar[dict[str, str]] = {"LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "HOME": "/tmp"}

    def __init__(self) -> None:
        # Compile accelerators built by warm_up(): name inside box/ -> file in the cache.
        # Filled once, atomically, from the warm-up thread; read by the job thread.
        self.box_links: dict[str, Path] = {}

    def source_name(self, code: str) -> str:
        """File name the source is written to inside box/."""
        return self.source_file

    def warm_up(self, cache_dir: Path) -> dict[str, Path]:
        """Build toolchain caches (precompiled header, class-data archive) in `cache_dir`
        once per executor, off the job path. Returns {name inside box: cached file}; each job
        gets them hard-linked into its box (the sandbox sees only box/ and the system), and
        compile_command() uses them when present. Trusted input only: runs unsandboxed."""
        return {}

    # Extra files with these suffixes are sources of the language: compiled and linked with
    # the main source (SPEC §7). Others (headers, data) are only present in the box.
    source_suffixes: ClassVar[tuple[str, ...]] = ()

    def compile_command(self, source_name: str, linked: Collection[str] = (),
                        sources: Sequence[str] = ()) -> list[str] | None:
        """argv of the compile step (run in box/), or None when nothing is compiled.
        `linked`: the warm_up() files present in this job's box; `sources`: the job's extra
        source files (box-relative names), compiled with the main one."""
        return None

    def extra_sources(self, names: Collection[str]) -> list[str]:
        return sorted(n for n in names if n.endswith(self.source_suffixes)) if self.source_suffixes else []

    @property
    def compiles(self) -> bool:
        """Whether jobs of this language have a compile step."""
        return self.compile_command(self.source_file) is not None

    def run_command(self, source_name: str, limits: ResolvedLimits, code: str = "") -> list[str]:
        """argv of the program (run in box/). `limits` are the user's (before `limits()`)."""
        raise NotImplementedError

    def limits(self, limits: ResolvedLimits) -> ResolvedLimits:
        """The limits handed to the sandbox for a run (e.g. headroom for a VM whose own heap
        limit enforces the user's memory_mb). Default: the user's limits unchanged."""
        return limits

    def refine_verdict(self, verdict: Verdict, run: SandboxRun, stderr: bytes) -> Verdict:
        """Language-specific correction of the generic status -> verdict mapping."""
        return verdict

    # --- function judging (SPEC §9; shared/functions) ---------------------------------------
    def function_program(self, code: str, fn: FunctionSpec) -> FunctionProgram:
        """The program around a solution that defines `fn` (the harness parses the arguments,
        calls the function once and reports its result; shared.functions.framing). The
        signature must be valid (shared.functions.types.signature_errors)."""
        raise NotImplementedError(f"{self.name}: no function judging")

    def missing_function(self, code: str, fn: FunctionSpec) -> str | None:
        """A COMPILATION_ERROR message naming the function when the code plainly does not
        define it; None when it seems to (the compiler then has the last word)."""
        return None

    def version(self) -> str:
        """First non-empty line of the toolchain's version output ("unknown" if it fails)."""
        try:
            proc = subprocess.run(
                list(self.version_command), capture_output=True, timeout=30, check=False,
                stdin=subprocess.DEVNULL,
            )
        except (OSError, subprocess.TimeoutExpired):
            return "unknown"
        # java -version prints on stderr; gcc on stdout.
        text = (proc.stdout or proc.stderr).decode("utf-8", "replace")
        for line in text.splitlines():
            if line.strip():
                return line.strip()
        return "unknown"
