"""Checkers and interactors, compiled once per content hash and kept on local disk.

    $CODEPIPE_WORK_ROOT/.cache/judge-programs/<hash>/
        box/        the compiled program (the run's read-only --workdir), root-owned
        result.json {"ok": true} or {"ok": false, "error": compiler output}, written last
    $CODEPIPE_WORK_ROOT/.cache/judge-programs/<hash>.lock

A judge program is compiled exactly as a submission of its language would be (the language's
spec, `main.<ext>` plus its files), in the sandbox's compile profile: it is untrusted code. A
failed compilation is kept too, so a problem whose checker does not compile costs one compile,
not one per job."""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import json
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path

from shared.executor.compiling import Compiler
from shared.executor.context import ExecutorContext
from shared.judge_config import JudgeProgram
from shared.language_spec import LanguageSpec
from shared.models import ResolvedLimits
from shared.workdir import write_new


@dataclass(frozen=True)
class CompiledProgram:
    box: Path
    argv: list[str]  # the run command; the judge appends its own arguments
    env: dict[str, str]


@dataclass(frozen=True)
class ProgramCompileError:
    message: str


def spec_of(language: str) -> LanguageSpec:
    """The spec of a judge program's language (checker languages are executor languages)."""
    spec: LanguageSpec = importlib.import_module(f"executor_{language}.spec").SPEC
    return spec


class JudgePrograms:
    def __init__(self, ctx: ExecutorContext, compiler: Compiler) -> None:
        self.ctx = ctx
        self.compiler = compiler
        self.root = ctx.settings.work_root / ".cache" / "judge-programs"
        self.compiles = 0  # since start (benchmarks and tests read it)

    def get(self, program: JudgeProgram, limits: ResolvedLimits) -> CompiledProgram | ProgramCompileError:
        spec = spec_of(program.language)
        key = self._key(spec, program)
        entry = self.root / key
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(self.root / f"{key}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # one compile per hash, whoever asks first
            if not (entry / "result.json").exists():
                self._build(spec, program, entry)
        finally:
            os.close(fd)
        result = json.loads((entry / "result.json").read_text())
        if not result["ok"]:
            return ProgramCompileError(result["error"])
        source = spec.source_name(program.code)
        return CompiledProgram(entry / "box", spec.run_command(source, limits, program.code), dict(spec.env))

    def _key(self, spec: LanguageSpec, program: JudgeProgram) -> str:
        """Content, language and the exact compile command (a new compiler flag rebuilds)."""
        h = hashlib.sha256()
        h.update(json.dumps([program.language, spec.compile_command("main")], sort_keys=True).encode())
        h.update(program.code.encode("utf-8"))
        for f in sorted(program.files, key=lambda f: f.name):
            h.update(f.name.encode())
            h.update(len(f.data()).to_bytes(8, "big"))
            h.update(f.data())
        return h.hexdigest()[:32]

    def _build(self, spec: LanguageSpec, program: JudgeProgram, entry: Path) -> None:
        tmp = self.root / f".{entry.name}.{os.getpid()}.{secrets.token_hex(4)}"
        try:
            box, out = tmp / "box", tmp / "compile"
            box.mkdir(parents=True, mode=0o755)
            out.mkdir(mode=0o700)
            source = spec.source_name(program.code)
            write_new(box / source, program.code.encode("utf-8"))
            for f in program.files:
                place_file(box, f.name, f.data())
            outcome = self.compiler.compile_in(spec, box, out, source,
                                               sources=spec.extra_sources([f.name for f in program.files]))
            self.compiles += 1
            error = None if outcome is None else self.compiler.failure_text(outcome, out, (box, tmp))
            _seal(box)
            (tmp / "result.json").write_text(json.dumps({"ok": error is None, "error": error}))
            shutil.rmtree(entry, ignore_errors=True)
            os.rename(tmp, entry)
            self.ctx.log.info("judge program compiled", extra={"language": program.language, "ok": error is None,
                                                               "hash": entry.name})
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def place_file(box: Path, name: str, data: bytes) -> None:
    """An additional file at its box-relative path (the gateway checked the name), read-only."""
    parts = name.split("/")
    parent = box
    for part in parts[:-1]:
        parent = parent / part
        if not parent.is_dir():
            os.mkdir(parent)
            # The compiler (the sandbox uid) writes its output beside the sources (javac -d .
            # puts pkg/X.class in pkg/); the box is the job's own, behind a 0700 parent.
            os.chmod(parent, 0o777)
    write_new(parent / parts[-1], data)
    os.chmod(parent / parts[-1], 0o444)


def _seal(box: Path) -> None:
    """The compile step handed the box to the sandbox uid: give it back to root, read-only for
    everyone else (the runs see it through a copy-on-write overlay anyway)."""
    if os.geteuid() != 0:  # nothing was handed over (no uid switch without root)
        return
    for dirpath, dirnames, filenames in os.walk(box, followlinks=False):
        for name in [*dirnames, *filenames]:
            path = Path(dirpath) / name
            os.lchown(path, 0, 0)
            if not path.is_symlink():
                os.chmod(path, os.lstat(path).st_mode & 0o555)
    os.lchown(box, 0, 0)
    os.chmod(box, 0o755)
