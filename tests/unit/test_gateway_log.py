"""shared/log.py: one JSON object per line, job_id bound by context or adapter."""

from __future__ import annotations

import io
import json
import logging

from shared.log import JsonFormatter, bind, job_context


def capture() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(f"test.log.{id(stream)}")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger, stream


def lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_fields_and_extra() -> None:
    logger, stream = capture()
    logger.info("hello %s", "world", extra={"language": "c", "ms": 1.5})
    (rec,) = lines(stream)
    assert rec["msg"] == "hello world" and rec["level"] == "INFO" and rec["logger"] == logger.name
    assert rec["language"] == "c" and rec["ms"] == 1.5
    assert str(rec["ts"]).endswith("Z") and "job_id" not in rec


def test_job_context_and_bind() -> None:
    logger, stream = capture()
    with job_context("job-1"):
        logger.warning("inside")
    logger.warning("outside")
    bind(logger, job_id="job-2").error("bound")
    recs = lines(stream)
    assert recs[0]["job_id"] == "job-1"
    assert "job_id" not in recs[1]
    assert recs[2]["job_id"] == "job-2"


def test_exceptions_are_one_line() -> None:
    logger, stream = capture()
    try:
        raise ValueError("boom")
    except ValueError:
        logger.exception("failed")
    (rec,) = lines(stream)
    assert "ValueError: boom" in str(rec["exc"])
