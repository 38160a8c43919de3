"""Structured JSON logs on stderr: one object per line, with `job_id` whenever one is bound.

Use `get_logger(__name__)` for plain logging and `bind(logger, job_id=...)` (or the
`job_context` context manager) to attach the job id to every line logged inside a job.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import sys
import time
from collections.abc import Iterator
from typing import Any

_job_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("codepipe_job_id", default=None)

# Attributes every LogRecord has; anything else passed via `extra=` is emitted as a field.
_STANDARD = set(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) | {
    "message",
    "asctime",
    "color_message",  # uvicorn's ANSI duplicate of msg
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z"
        out: dict[str, Any] = {
            "ts": ts,
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        job_id = getattr(record, "job_id", None) or _job_id.get()
        if job_id:
            out["job_id"] = job_id
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in out and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


_configured = False


def setup_logging(level: str | None = None) -> None:
    """Install the JSON handler on the root logger once (idempotent)."""
    global _configured
    if level is None:
        from shared.settings import get_settings

        level = get_settings().log_level
    root = logging.getLogger()
    root.setLevel(level.upper())
    if not _configured:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        root.handlers[:] = [handler]
        # boto's debug chatter drowns the service's own lines.
        for noisy in ("botocore", "boto3", "urllib3", "s3transfer"):
            logging.getLogger(noisy).setLevel(logging.WARNING)
        _configured = True


def get_logger(name: str) -> logging.Logger:
    return logging.getLogger(name)


class _BoundAdapter(logging.LoggerAdapter):
    def process(self, msg: Any, kwargs: Any) -> tuple[Any, Any]:
        extra = dict(self.extra or {})
        extra.update(kwargs.get("extra") or {})
        kwargs["extra"] = extra
        return msg, kwargs


def bind(logger: logging.Logger, **fields: Any) -> logging.LoggerAdapter:
    """A logger that adds `fields` (e.g. job_id=...) to every line."""
    return _BoundAdapter(logger, fields)


@contextlib.contextmanager
def job_context(job_id: str | None) -> Iterator[None]:
    """Every log line emitted inside this block (same thread/task) carries `job_id`."""
    token = _job_id.set(job_id)
    try:
        yield
    finally:
        _job_id.reset(token)
