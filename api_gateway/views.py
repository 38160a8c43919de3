"""What clients see of a job (SPEC §3): its record read for them, rendered as /status, /result
and the 202 of /submit. Any API face renders these, so they take plain records and services."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool

from api_gateway.errors import APIError
from shared.blobs import (
    Blobs,
    record_output_prefix,
    record_result_key,
    test_interactor_key_in,
    test_stderr_key_in,
    test_stdout_key_in,
)
from shared.jobs import EXECUTOR_PREFIX, JobStore, parse_rfc3339
from shared.log import get_logger
from shared.models import Status, TestResult, Verdict

log = get_logger("api_gateway.views")

_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")


async def load_view(store: JobStore, job_id: str) -> dict[str, Any]:
    """The job's record as /status and /result show it (a projection without the request);
    404 for an id no job can have (executor records included) or no job has."""
    if not _JOB_ID.match(job_id) or job_id.startswith(EXECUTOR_PREFIX):
        raise APIError(404, "not_found", f"no job with id {job_id!r}")
    item = await run_in_threadpool(store.get_view, job_id)
    if item is None:
        raise APIError(404, "not_found", f"no job with id {job_id!r}")
    return item


def _ms_since(rfc3339: str | None) -> int | None:
    if not rfc3339:
        return None
    try:
        return max(0, int((datetime.now(UTC) - parse_rfc3339(rfc3339)).total_seconds() * 1000))
    except ValueError:
        return None


def accepted_view(item: dict[str, Any], language: str) -> dict[str, Any]:
    """The 202 of /submit; `language` for a record that does not name its own."""
    return {
        "id": item["id"],
        "status": item.get("status", Status.QUEUED.value),
        "language": item.get("language", language),
        "created_at": item["created_at"],
    }


def status_view(item: dict[str, Any]) -> dict[str, Any]:
    status = item.get("status", Status.QUEUED.value)
    return {
        "id": item["id"],
        "status": status,
        "verdict": item.get("verdict"),
        "passed": int(item.get("passed") or 0),
        "total": int(item.get("total") or 0),
        "tests_done": None if item.get("tests_done") is None else int(item["tests_done"]),
        "created_at": item.get("created_at"),
        "started_at": item.get("started_at"),
        "completed_at": item.get("completed_at"),
        "queued_for_ms": _ms_since(item.get("created_at")) if status == Status.QUEUED.value else None,
        "error": item.get("error"),
    }


def result_view(item: dict[str, Any], store: JobStore, blobs: Blobs) -> dict[str, Any]:
    """Blocking (may read S3): call from the thread pool."""
    out = status_view(item)
    completed = item.get("status") == Status.COMPLETED.value
    out.update(
        language=item.get("language"),
        # Scores are the executor's final write; the problem is what the gateway recorded.
        score=item.get("score"),
        max_score=item.get("max_score"),
        groups=list(item.get("groups") or []) if completed else [],
        problem_id=item.get("problem_id"),
        problem_version=item.get("problem_version"),
        compilation_error=item.get("compilation_error"),
        compile_ms=item.get("compile_ms"),
        results=_test_results(item, store, blobs) if completed else [],
        output_url=_presign(blobs, record_result_key(item)) if completed else None,
        stdout_preview=item.get("stdout_preview"),
    )
    return out


def _test_results(item: dict[str, Any], store: JobStore, blobs: Blobs) -> list[dict[str, Any]]:
    job_id = item["id"]
    # The objects of the attempt whose verdict the record holds (a stale attempt's objects
    # live under another prefix).
    prefix = record_output_prefix(item)
    results: list[dict[str, Any]] = []
    for n, raw in enumerate(store.load_results(item), start=1):
        try:
            test = TestResult.model_validate(raw).model_dump(mode="json")
        except ValueError:
            # A record written by a newer/older executor: show it as stored rather than fail.
            log.warning("unexpected test result shape", extra={"job_id": job_id})
            test = dict(raw) if isinstance(raw, dict) else {"test_case": n}
        n = int(test.get("test_case") or n)
        if prefix is not None and item.get("verdict") != Verdict.COMPILATION_ERROR:
            # An empty stream has no object (its size says 0): no URL that would only 404.
            for stream, key in (("stdout", test_stdout_key_in), ("stderr", test_stderr_key_in)):
                empty = isinstance(raw, dict) and raw.get(f"{stream}_bytes") == 0  # as stored
                test[f"{stream}_url"] = None if empty else blobs.presign_get(key(prefix, n))
            test["interactor_output_url"] = _interactor_output_url(test, blobs, prefix, n)
        results.append(test)
    return results


def _interactor_output_url(test: dict[str, Any], blobs: Blobs, prefix: str, n: int) -> str | None:
    """An interactive test's interactor log, when the interactor wrote anything."""
    sizes = test.get("interaction_bytes")
    if not isinstance(sizes, dict) or not sizes.get("from_interactor"):
        return None
    return blobs.presign_get(test_interactor_key_in(prefix, n))


def _presign(blobs: Blobs, key: str | None) -> str | None:
    return None if key is None else blobs.presign_get(key)
