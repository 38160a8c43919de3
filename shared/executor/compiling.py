"""The compile step in the sandbox, and early compilation of a message's code hint.

A queue message may carry the job's source as a hint (shared.queue): compiling it while the
claim is in flight hides the claim's round trip. The claim then decides: the attempt uses the
early compilation only if the claimed job's code is byte-identical, else drops it."""

from __future__ import annotations

import time
from collections.abc import Sequence
from concurrent.futures import Future
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from pathlib import Path

from shared.executor.box_links import BoxLinks
from shared.executor.compile_errors import COMPILE_OUTPUT_KB, compile_error_text
from shared.executor.context import ExecutorContext
from shared.language_spec import LanguageSpec
from shared.models import ResolvedLimits
from shared.queue import Message
from shared.sandbox import SandboxError, SandboxRun
from shared.workdir import WorkDir, read_nofollow


@dataclass(frozen=True)
class CompileOutcome:
    run: SandboxRun
    ms: int


@dataclass
class EarlyCompile:
    """A compilation of the message's code hint, started before the claim returned."""

    code: str
    wd: WorkDir
    future: Future[CompileOutcome | None]


class Compiler:
    def __init__(self, ctx: ExecutorContext) -> None:
        self.ctx = ctx
        self.box_links = BoxLinks(ctx.spec, ctx.settings.work_root, ctx.log)

    def limits(self) -> ResolvedLimits:
        s = self.ctx.settings
        return ResolvedLimits(time_ms=s.compile_time_ms, wall_ms=s.compile_wall_ms,
                              memory_mb=s.compile_memory_mb, output_kb=COMPILE_OUTPUT_KB)

    def compile(self, wd: WorkDir, source_name: str, sources: Sequence[str] = ()) -> CompileOutcome | None:
        """Compile the job's box in the sandbox; None when the language has no compile step."""
        return self.compile_in(self.ctx.spec, wd.box, wd.compile, source_name, self._link_caches(wd), sources)

    def compile_in(self, spec: LanguageSpec, box: Path, out_dir: Path, source_name: str,
                   linked: Sequence[str] = (), sources: Sequence[str] = ()) -> CompileOutcome | None:
        """Compile `source_name` (+ `sources`) in `box` with `spec`'s compiler, its output in
        out_dir/out and out_dir/err."""
        argv = spec.compile_command(source_name, linked, sources)
        if argv is None:
            return None
        t0 = time.monotonic()
        run = self.ctx.sandbox.run_single(
            profile="compile", limits=self.limits(), argv=argv, stdin="/dev/null",
            stdout=out_dir / "out", stderr=out_dir / "err", workdir=box,
            procs=spec.compile_procs, env=spec.env,
        )
        return CompileOutcome(run, int((time.monotonic() - t0) * 1000))

    def failure_text(self, outcome: CompileOutcome, out_dir: Path, roots: Sequence[Path]) -> str | None:
        """What the user reads when this compilation failed (None when it did not). The
        sandbox failing is ours, not the user's: SandboxError."""
        run = outcome.run
        if run.status == "IE":
            raise SandboxError(f"sandbox internal error while compiling: {run.message or ''}".strip())
        if run.status == "OK" and run.exit_code == 0:
            return None
        err, out = read_nofollow(out_dir, "err"), read_nofollow(out_dir, "out")
        return compile_error_text(run.status, run.exit_code, run.signal, err, out, roots, self.limits())

    def _link_caches(self, wd: WorkDir) -> list[str]:
        return self.box_links.place(wd)

    def start_early(self, msg: Message, job_id: str) -> EarlyCompile | None:
        """Start compiling the message's code hint (if any) on the I/O pool. Whatever happens
        to the claim, the caller hands the result to the attempt or to drop_early."""
        ctx = self.ctx
        code = msg.code
        if code is None or not ctx.settings.early_compile or not ctx.spec.compiles:
            return None
        try:
            source_name = ctx.spec.source_name(code)
            wd = WorkDir.create(ctx.settings.work_root, job_id)
            wd.write_source(source_name, code)
        except Exception as exc:  # a hint only: the normal path will report real problems
            ctx.log.info("not compiling early", extra={"error": str(exc)[:300]})
            return None
        ctx.sandbox.reset()
        return EarlyCompile(code, wd, ctx.io.submit(self.compile, wd, source_name))

    def drop_early(self, early: EarlyCompile | None) -> None:
        if early is None:
            return
        if not early.future.done():
            self.ctx.sandbox.cancel()
            futures_wait([early.future])
            self.ctx.sandbox.reset()
        self.remove_workdir(early.wd)

    def remove_workdir(self, wd: WorkDir) -> None:
        try:
            self.box_links.take_back(wd)
            wd.remove()
        except Exception as exc:
            self.ctx.log.error("could not remove the work directory", extra={"error": str(exc)})
