"""The compile step in the sandbox, and early compilation of a message's code hint.

A queue message may carry the job's source as a hint (shared.queue): compiling it while the
claim is in flight hides the claim's round trip. The claim then decides: the attempt uses the
early compilation only if the claimed job's code is byte-identical, else drops it."""

from __future__ import annotations

import time
from concurrent.futures import Future
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass

from shared.executor.compile_errors import COMPILE_OUTPUT_KB
from shared.executor.context import ExecutorContext
from shared.models import ResolvedLimits
from shared.queue import Message
from shared.sandbox import SandboxRun
from shared.workdir import WorkDir


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

    def limits(self) -> ResolvedLimits:
        s = self.ctx.settings
        return ResolvedLimits(time_ms=s.compile_time_ms, wall_ms=s.compile_wall_ms,
                              memory_mb=s.compile_memory_mb, output_kb=COMPILE_OUTPUT_KB)

    def compile(self, wd: WorkDir, source_name: str) -> CompileOutcome | None:
        """Compile the box's source in the sandbox; None when the language has no compile step."""
        spec = self.ctx.spec
        argv = spec.compile_command(source_name, self._link_caches(wd))
        if argv is None:
            return None
        t0 = time.monotonic()
        run = self.ctx.sandbox.run_single(
            profile="compile", limits=self.limits(), argv=argv, stdin="/dev/null",
            stdout=wd.compile / "out", stderr=wd.compile / "err", workdir=wd.box,
            procs=spec.compile_procs, env=spec.env,
        )
        return CompileOutcome(run, int((time.monotonic() - t0) * 1000))

    def _link_caches(self, wd: WorkDir) -> list[str]:
        linked = []
        for name, source in self.ctx.spec.box_links.items():
            try:
                wd.link_into_box(name, source)
                linked.append(name)
            except OSError as exc:  # e.g. the cache on another file system: just slower
                self.ctx.log.debug("could not link compile cache", extra={"file": name, "error": str(exc)})
        return linked

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
        remove_workdir(self.ctx, early.wd)


def remove_workdir(ctx: ExecutorContext, wd: WorkDir) -> None:
    try:
        wd.remove()
    except Exception as exc:
        ctx.log.error("could not remove the work directory", extra={"error": str(exc)})
