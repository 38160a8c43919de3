"""The executor of one language, assembled: the parts of this package wired together.

    PollLoop ──message──> MessageHandler ──claimed job──> AttemptRunner ──> Judge
        │                      │  (claim, foreign lease,        (prepare, compile, run,
        │                      │   retry, hand back)             judge, result, final write)
        └── between polls ──> Maintenance (executor record, DLQ sweep; warm-up at start)
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from shared.blobs import Blobs
from shared.claims import Claims
from shared.executor.attempt import AttemptRunner
from shared.executor.compiling import Compiler
from shared.executor.context import IO_THREADS, ExecutorContext, settings_summary
from shared.executor.judge_programs import JudgePrograms
from shared.executor.loop import PollLoop
from shared.executor.maintenance import Maintenance
from shared.executor.messages import MessageHandler
from shared.executor.problem_cache import ProblemCache
from shared.executor.queue_ops import QueueOps
from shared.jobs import JobStore
from shared.language_spec import LanguageSpec
from shared.log import get_logger, setup_logging
from shared.problems import ProblemStore
from shared.queue import JobQueue, Message
from shared.sandbox import Sandbox, SandboxError
from shared.settings import Settings, get_settings


class Executor:
    def __init__(self, spec: LanguageSpec, settings: Settings | None = None, store: JobStore | None = None,
                 queue: JobQueue | None = None, blobs: Blobs | None = None, sandbox: Sandbox | None = None) -> None:
        settings = (settings or get_settings()).model_copy(update={"component": "executor"})
        blobs = blobs or Blobs(settings)
        store = store or JobStore(settings, blobs)
        executor_id = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.ctx = ctx = ExecutorContext(
            spec=spec, settings=settings, store=store, queue=queue or JobQueue(settings), blobs=blobs,
            sandbox=sandbox or Sandbox(settings.sandbox), claims=Claims(store, executor_id, settings.lease_seconds),
            io=ThreadPoolExecutor(max_workers=IO_THREADS, thread_name_prefix="io"),
            log=get_logger(f"codepipe.executor.{spec.name}"), executor_id=executor_id,
        )
        # what callers and tests reach through the executor
        self.spec, self.settings, self.store, self.queue = spec, settings, store, ctx.queue
        self.blobs, self.sandbox, self.claims, self.executor_id = blobs, ctx.sandbox, ctx.claims, executor_id
        self.log, self._io = ctx.log, ctx.io
        self.stopping = threading.Event()
        self.hand_back = threading.Event()
        self.maintenance = Maintenance(ctx)
        ops = QueueOps(ctx)
        compiler = Compiler(ctx)
        self.problem_cache = ProblemCache(settings.work_root / ".cache" / "problems", settings.problem_cache_mb << 20,
                                          ProblemStore(store, blobs), ctx.log)
        self.judge_programs = JudgePrograms(ctx, compiler)
        attempts = AttemptRunner(ctx, compiler, self.problem_cache, self.judge_programs)
        self.messages = MessageHandler(ctx, ops, compiler, attempts, self.stopping,
                                       self.hand_back, keep_alive=self.maintenance.refresh_record)
        self.loop = PollLoop(ctx, ops, self.messages.handle, self.maintenance.periodic, self.stopping,
                             self.hand_back)

    @property
    def isolation(self) -> dict[str, Any] | None:
        return self.maintenance.isolation

    @isolation.setter
    def isolation(self, value: dict[str, Any] | None) -> None:
        self.maintenance.isolation = value

    def handle(self, msg: Message) -> None:
        self.messages.handle(msg)

    def refresh_record(self, force: bool = False) -> None:
        self.maintenance.refresh_record(force)

    def sweep_dead_letters(self) -> int:
        return self.maintenance.sweep_dead_letters()

    def _warm_io(self) -> None:
        self.maintenance.warm_io()

    def install_signal_handlers(self) -> None:
        self.loop.install_signal_handlers()

    def run_forever(self) -> None:
        ctx = self.ctx
        ctx.log.info("executor starting", extra=settings_summary(ctx, self.loop.poll_seconds))
        self.maintenance.start()
        try:
            ctx.sandbox.check()
        except SandboxError as exc:
            # Keep polling anyway: jobs then fail as internal errors (visible to users and
            # /health) instead of silently piling up in the queue.
            ctx.log.error("sandbox helper unavailable", extra={"error": str(exc)})
        self.loop.run()
        ctx.log.info("executor stopped", extra={"executor_id": ctx.executor_id})


def run_forever(spec: LanguageSpec) -> None:
    """Entry point of `python -m executor_<lang>`: run until SIGTERM/SIGINT, then exit 0."""
    setup_logging()
    executor = Executor(spec)
    executor.install_signal_handlers()
    code = 0
    try:
        executor.run_forever()
    except Exception:
        logging.getLogger("codepipe.executor").exception("executor crashed")
        code = 1
    # Skip interpreter finalization: a daemon poll thread may still sit in a socket read
    # (its long poll is abandoned on purpose), which makes a normal exit linger.
    logging.shutdown()
    os._exit(code)
