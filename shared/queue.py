"""SQS access: one queue per language (`{prefix}-{lang}`) with a dead-letter queue
(`{prefix}-{lang}-dlq`). Message bodies are `{"id": ..., "language": ...}` (SPEC §5).

A message may also carry the job's source code as the binary message attribute `code` (only
when small): a hint that lets the executor start compiling while its claim is in flight. The
job record stays the truth: the executor uses that compilation only if the claimed record's
code is identical."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from shared import aws
from shared.settings import Settings, get_settings

CODE_ATTRIBUTE = "code"
# Larger sources are not copied into the message (SQS messages are at most 256 KB).
MAX_CODE_ATTRIBUTE_BYTES = 64 * 1024


@dataclass(frozen=True)
class Message:
    body: dict[str, Any]
    receipt_handle: str
    receive_count: int
    message_id: str = ""
    # Raw attributes kept for debugging; not part of the contract.
    attributes: dict[str, str] = field(default_factory=dict)
    # The `code` attribute, when the sender attached one (a hint, see the module docstring).
    code: str | None = None

    @property
    def job_id(self) -> str | None:
        value = self.body.get("id")
        return value if isinstance(value, str) else None


class JobQueue:
    """Thin typed wrapper around SQS. Queue URLs are looked up once and cached (per instance)."""

    def __init__(self, settings: Settings | None = None, sqs: Any | None = None) -> None:
        self.settings = settings or get_settings()
        self._sqs = sqs
        self._urls: dict[str, str] = {}
        self._lock = threading.Lock()

    @property
    def sqs(self) -> Any:
        if self._sqs is None:
            self._sqs = aws.client("sqs", self.settings)
        return self._sqs

    # --- names and URLs ---------------------------------------------------------------
    def _url_for_name(self, name: str) -> str:
        with self._lock:
            url = self._urls.get(name)
        if url is None:
            url = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
            with self._lock:
                self._urls[name] = url
        return url

    def url(self, language: str) -> str:
        return self._url_for_name(self.settings.queue_name(language))

    def dlq_url(self, language: str) -> str:
        return self._url_for_name(self.settings.dlq_name(language))

    # --- main queue ---------------------------------------------------------------------
    def send(self, language: str, job_id: str, code: str | None = None) -> str:
        """Enqueue a job; returns the SQS MessageId. `code`, when small enough, rides along as
        the `code` attribute so that the executor can compile before its claim returns."""
        body = json.dumps({"id": job_id, "language": language})
        kwargs: dict[str, Any] = {"QueueUrl": self.url(language), "MessageBody": body}
        if code is not None:
            raw = code.encode("utf-8")
            if len(raw) <= MAX_CODE_ATTRIBUTE_BYTES:
                kwargs["MessageAttributes"] = {CODE_ATTRIBUTE: {"DataType": "Binary", "BinaryValue": raw}}
        return self.sqs.send_message(**kwargs)["MessageId"]

    def receive(
        self, language: str, wait_seconds: int = 20, visibility_timeout: int | None = None, max_messages: int = 1
    ) -> list[Message]:
        """Long-poll for up to `max_messages` messages. Bodies that are not JSON objects are
        returned with `body == {}` so the caller can delete (or dead-letter) them."""
        kwargs: dict[str, Any] = {
            "QueueUrl": self.url(language),
            "MaxNumberOfMessages": max(1, min(10, max_messages)),
            "WaitTimeSeconds": max(0, min(20, wait_seconds)),
            "MessageSystemAttributeNames": ["ApproximateReceiveCount", "SentTimestamp"],
            "MessageAttributeNames": [CODE_ATTRIBUTE],
        }
        if visibility_timeout is not None:
            kwargs["VisibilityTimeout"] = visibility_timeout
        return self._receive(kwargs)

    def _receive(self, kwargs: dict[str, Any]) -> list[Message]:
        resp = self.sqs.receive_message(**kwargs)
        out: list[Message] = []
        for raw in resp.get("Messages", []):
            try:
                body = json.loads(raw.get("Body") or "")
            except ValueError:
                body = {}
            if not isinstance(body, dict):
                body = {}
            attrs = raw.get("Attributes") or {}
            code_value = ((raw.get("MessageAttributes") or {}).get(CODE_ATTRIBUTE) or {}).get("BinaryValue")
            try:
                code = code_value.decode("utf-8") if isinstance(code_value, bytes) else None
            except UnicodeDecodeError:
                code = None
            out.append(
                Message(
                    body=body,
                    receipt_handle=raw["ReceiptHandle"],
                    receive_count=int(attrs.get("ApproximateReceiveCount", "1")),
                    message_id=raw.get("MessageId", ""),
                    attributes=dict(attrs),
                    code=code,
                )
            )
        return out

    def delete(self, language: str, receipt_handle: str) -> None:
        self.sqs.delete_message(QueueUrl=self.url(language), ReceiptHandle=receipt_handle)

    def change_visibility(self, language: str, receipt_handle: str, seconds: int) -> None:
        """Extend (or, with 0, end) the invisibility of a received message. SQS caps it at 12 h."""
        self.sqs.change_message_visibility(
            QueueUrl=self.url(language), ReceiptHandle=receipt_handle, VisibilityTimeout=max(0, min(43200, seconds))
        )

    def approximate_depth(self, language: str, dlq: bool = False) -> dict[str, int]:
        """`{"visible": n, "in_flight": m}` of the queue or its DLQ."""
        url = self.dlq_url(language) if dlq else self.url(language)
        attrs = self.sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return {
            "visible": int(attrs.get("ApproximateNumberOfMessages", 0)),
            "in_flight": int(attrs.get("ApproximateNumberOfMessagesNotVisible", 0)),
        }

    # --- dead-letter queue --------------------------------------------------------------
    def receive_dlq(self, language: str, wait_seconds: int = 0, visibility_timeout: int | None = None,
                    max_messages: int = 10) -> list[Message]:
        kwargs: dict[str, Any] = {
            "QueueUrl": self.dlq_url(language),
            "MaxNumberOfMessages": max(1, min(10, max_messages)),
            "WaitTimeSeconds": max(0, min(20, wait_seconds)),
            "MessageSystemAttributeNames": ["ApproximateReceiveCount", "SentTimestamp"],
        }
        if visibility_timeout is not None:
            kwargs["VisibilityTimeout"] = visibility_timeout
        return self._receive(kwargs)
