"""The executor's main loop: poll its language's queue, back off while SQS fails, hand each
message to the message handler, and stop cleanly on SIGTERM/SIGINT (finish the job in hand
within the drain time, else hand it back)."""

from __future__ import annotations

import random
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from shared.executor.context import ExecutorContext
from shared.executor.queue_ops import QueueOps
from shared.queue import Message

# On stop, how long to wait for an in-flight long poll so its message can be handed back.
STOP_POLL_GRACE_S = 5.0
MAX_BACKOFF_S = 30.0


@dataclass
class PollLoop:
    ctx: ExecutorContext
    ops: QueueOps
    handle: Callable[[Message], None]
    between_polls: Callable[[], None]
    stopping: threading.Event
    hand_back: threading.Event
    working: bool = field(default=False, init=False)
    _drain_timer: threading.Timer | None = field(default=None, init=False)

    @property
    def poll_seconds(self) -> int:
        return self.ctx.settings.poll_seconds

    # --- signals ------------------------------------------------------------------------
    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        log = self.ctx.log
        if self.stopping.is_set():
            # Second signal: don't wait for the drain deadline.
            log.warning("second stop signal; handing the job in hand back now")
            self.abort_for_shutdown()
            return
        self.stopping.set()
        log.info("stop signal received", extra={"signal": signum, "working": self.working})
        if self.working:
            self._drain_timer = threading.Timer(self.ctx.settings.drain_seconds, self.abort_for_shutdown)
            self._drain_timer.daemon = True
            self._drain_timer.start()

    def abort_for_shutdown(self) -> None:
        if self.working:
            self.hand_back.set()
            self.ctx.sandbox.cancel()

    # --- the loop -----------------------------------------------------------------------
    def run(self) -> None:
        backoff = 1.0
        while not self.stopping.is_set():
            self.between_polls()
            try:
                messages = self.poll()
            except Exception as exc:
                delay = min(backoff, MAX_BACKOFF_S) * random.uniform(0.5, 1.5)
                self.ctx.log.warning("queue poll failed; backing off",
                                     extra={"error": str(exc), "delay_s": round(delay, 2)})
                self.stopping.wait(delay)
                backoff = min(backoff * 2, MAX_BACKOFF_S)
                continue
            backoff = 1.0
            for msg in messages:
                self._handle_one(msg)
        if self._drain_timer is not None:
            self._drain_timer.cancel()

    def _handle_one(self, msg: Message) -> None:
        self.working = True
        try:
            self.handle(msg)
        except Exception:  # the handler reports its own errors; this is the last guard
            self.ctx.log.exception("unexpected error handling a message")
        finally:
            self.working = False
            self.hand_back.clear()

    def poll(self) -> list[Message]:
        """One long poll, in a helper thread so a stop signal needn't wait the full 20 s.

        A long poll cannot be cancelled: SQS (and the emulator) may still hand a message to
        a request whose client went away, hiding it for the visibility timeout. So on stop
        we give the in-flight poll a few seconds to come back and put whatever it got back
        on the queue at once (requeue) instead of abandoning it."""
        box: dict[str, Any] = {}
        done = threading.Event()

        def receive() -> None:
            try:
                box["messages"] = self.ctx.queue.receive(self.ctx.language, wait_seconds=self.poll_seconds)
            except Exception as exc:
                box["error"] = exc
            finally:
                done.set()

        threading.Thread(target=receive, name="poll", daemon=True).start()
        while not done.wait(0.25):
            if self.stopping.is_set():
                short = self.poll_seconds <= STOP_POLL_GRACE_S
                done.wait(self.poll_seconds + 1.0 if short else STOP_POLL_GRACE_S)
                break
        if "error" in box:
            raise box["error"]
        messages: list[Message] = box.get("messages", [])
        if self.stopping.is_set():
            for msg in messages:
                self.ops.requeue(msg)
            return []
        return messages
