"""The executor's side of its language's SQS queue: deleting, hiding and giving back messages."""

from __future__ import annotations

from shared.executor.context import ExecutorContext
from shared.queue import Message


class QueueOps:
    def __init__(self, ctx: ExecutorContext) -> None:
        self.ctx = ctx

    def delete(self, msg: Message) -> None:
        ctx = self.ctx
        ctx.safe("deleting the message", lambda: ctx.queue.delete(ctx.language, msg.receipt_handle))

    def visibility(self, msg: Message, seconds: int) -> None:
        ctx = self.ctx
        ctx.safe("changing message visibility",
                 lambda: ctx.queue.change_visibility(ctx.language, msg.receipt_handle, seconds))

    def requeue(self, msg: Message) -> None:
        """Give a message back without spending one of the job's deliveries: SQS counts
        every receive towards maxReceiveCount, and a shutdown is not the job's failure. So
        send a fresh copy and delete this one (a failed delete only leaves a duplicate, which
        the claim protocol absorbs); if the send fails, just make this one visible again."""
        job_id = msg.job_id
        if job_id:
            try:
                self.ctx.queue.send(self.ctx.language, job_id, msg.code)
            except Exception as exc:
                self.ctx.log.warning("could not re-send the message", extra={"error": str(exc)})
            else:
                self.delete(msg)
                return
        self.visibility(msg, 0)
