"""FastAPI application: /submit, /status, /result, /languages, /health (SPEC §3)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from api_gateway import errors
from api_gateway.errors import APIError
from api_gateway.longpoll import MAX_WAIT_SECONDS, wait_settled
from api_gateway.openapi import DEPENDENCY_DOWN, DESCRIPTION, INVALID, NO_SUCH_JOB, GatewayAPI, ResponsesDoc, json_body
from api_gateway.services import BlobsDep, HealthDep, Services, ServicesDep, SettingsDep, StoreDep, app_settings
from api_gateway.submission import mark_enqueued, submit_job
from api_gateway.sweeper import UnqueuedSweeper
from api_gateway.validation import limit_ranges, max_body_bytes, parse_body
from api_gateway.views import accepted_view, load_view, result_view, status_view
from shared.blobs import Blobs
from shared.jobs import JobStore
from shared.languages import ALIASES, LANGUAGES
from shared.log import get_logger, setup_logging
from shared.models import (
    SUBMIT_EXAMPLE,
    ErrorResponse,
    ResultResponse,
    StatusResponse,
    SubmitRequest,
    SubmitResponse,
)

log = get_logger("api_gateway")

@asynccontextmanager
async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
    setup_logging()
    svc = app.state.services = Services.create(app_settings(app))
    stop = asyncio.Event()
    sweeper = asyncio.create_task(UnqueuedSweeper(svc.settings, svc.store, svc.queue).run(stop))
    log.info("gateway ready", extra={"table": svc.settings.table})
    yield
    log.info("gateway stopping")
    stop.set()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(sweeper, timeout=10)


app = GatewayAPI(
    title="codepipe",
    version="1.0.0",
    description=DESCRIPTION,
    lifespan=lifespan,
    responses=INVALID,
    body_models=(SubmitRequest,),
)
errors.install(app)


@app.middleware("http")
async def access_log(request: Request, call_next):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    response = await call_next(request)
    log.info(
        "request",
        extra={
            "method": request.method,
            "path": request.url.path,
            "status": response.status_code,
            "ms": round((time.perf_counter() - start) * 1000, 1),
        },
    )
    return response


# --- helpers ----------------------------------------------------------------------------
def _required_id(job_id: str | None) -> str:
    if not job_id:
        raise APIError(422, "validation_error", "id: query parameter required (or use /status/{id})")
    return job_id


# --- routes -----------------------------------------------------------------------------
@app.post(
    "/submit",
    status_code=202,
    response_model=SubmitResponse,
    summary="Queue a program for execution",
    responses={
        202: {"description": "queued; `Location` points at /status/{id}"},
        400: {"model": ErrorResponse, "description": "unsupported language (the message lists the supported ones)"},
        413: {"model": ErrorResponse, "description": "code, test count or test data over its cap"},
        422: {"model": ErrorResponse, "description": "malformed JSON, missing/empty code, limits out of range"},
        **DEPENDENCY_DOWN,
    },
    openapi_extra=json_body(SubmitRequest, example=SUBMIT_EXAMPLE),
)
async def submit(request: Request, svc: ServicesDep) -> JSONResponse:
    """Validate and queue a job. With an `idempotency_key`, a retried request (same key, same
    `user_id`) returns the original job (202, same body) and never creates a second one; the
    replay's body is not compared with the original."""
    # Read the body ourselves: the size cap applies before parsing and errors keep our shape.
    body = await read_body(request, max_body_bytes(svc.settings))
    raw = await run_in_threadpool(parse_body, body)
    done = await run_in_threadpool(submit_job, svc, raw)
    headers = {"Location": f"/status/{done.job_id}"}
    if not done.created:
        headers["Idempotent-Replayed"] = "true"
    # The message is sent: tell the sweeper, after the answer.
    after = BackgroundTask(mark_enqueued, svc, done.job_id) if done.enqueued else None
    return JSONResponse(status_code=202, content=accepted_view(done.item, done.language), headers=headers,
                        background=after)


async def read_body(request: Request, limit: int) -> bytes:
    """The request body; 413 as soon as it is known to be over `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise APIError(413, "payload_too_large", f"request body over {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise APIError(413, "payload_too_large", f"request body over {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


@app.get("/status/{job_id}", response_model=StatusResponse, responses=NO_SUCH_JOB, summary="Job status")
async def get_status(job_id: str, store: StoreDep) -> dict[str, Any]:
    """Cheap status of a job. `queued_for_ms` tells how long a queued job has waited."""
    return status_view(await load_view(store, job_id))


@app.get("/status", response_model=StatusResponse, responses=NO_SUCH_JOB, summary="Job status (?id=)")
async def get_status_q(store: StoreDep, id: str = Query(..., min_length=1, description="job id")) -> dict[str, Any]:
    return status_view(await load_view(store, _required_id(id)))


_WAIT = Query(0, ge=0, le=MAX_WAIT_SECONDS, description="hold the request up to N seconds until the job is terminal")


# Results are rendered, not re-validated on the way out: a record written by another executor
# version must still be shown (the schema is documented through `responses`).
_RESULT_RESPONSES: ResponsesDoc = {200: {"model": ResultResponse}, **NO_SUCH_JOB}


@app.get("/result/{job_id}", response_model=None, responses=_RESULT_RESPONSES, summary="Job result")
async def get_result(job_id: str, request: Request, store: StoreDep, blobs: BlobsDep,
                     wait: float = _WAIT) -> JSONResponse:
    """Status plus per-test results (empty until `completed`), compiler output and a presigned
    `output_url` of the full result document (valid 1 hour). `?wait=N` returns as soon as the job
    is terminal."""
    return await _result(request, store, blobs, job_id, wait)


@app.get("/result", response_model=None, responses=_RESULT_RESPONSES, summary="Job result (?id=)")
async def get_result_q(
    request: Request, store: StoreDep, blobs: BlobsDep, id: str = Query(..., min_length=1, description="job id"),
    wait: float = _WAIT,
) -> JSONResponse:
    return await _result(request, store, blobs, _required_id(id), wait)


async def _result(request: Request, store: JobStore, blobs: Blobs, job_id: str, wait: float) -> JSONResponse:
    item = await wait_settled(lambda: load_view(store, job_id), wait, request.is_disconnected)
    return JSONResponse(await run_in_threadpool(result_view, item, store, blobs))


@app.get("/languages", summary="Supported languages, toolchains, limits and caps", responses=DEPENDENCY_DOWN)
async def languages(settings: SettingsDep, store: StoreDep) -> dict[str, Any]:
    try:
        records = await run_in_threadpool(store.executor_records)
    except Exception as exc:  # noqa: BLE001 - versions are informative; the list itself is static
        log.warning("executor records unavailable", extra={"error": str(exc)})
        records = {}
    ranges = limit_ranges(settings)
    return {
        "languages": [
            {
                "name": name,
                "aliases": [a for a in ALIASES[name] if a != name],
                "version": (records.get(name) or {}).get("version") or "unknown",
                "last_seen": (records.get(name) or {}).get("last_seen"),
                "default_limits": {k: v["default"] for k, v in lang_ranges.items()},
                "max_limits": {k: v["max"] for k, v in lang_ranges.items()},
                "limits": lang_ranges,
            }
            for name in LANGUAGES
            for lang_ranges in (limit_ranges(settings, name),)
        ],
        "limits": ranges,
        "caps": {
            "max_code_bytes": settings.max_code_bytes,
            "max_tests": settings.max_tests,
            "max_total_input_bytes": settings.max_total_input_bytes,
            "max_expected_bytes_per_test": settings.max_expected_bytes_per_test,
            "max_wait_seconds": MAX_WAIT_SECONDS,
        },
        "compare_modes": ["exact", "lines", "tokens", "float:EPS"],
    }


@app.get(
    "/health",
    summary="State of DynamoDB, SQS, S3, the sandbox and the executors",
    responses={503: {"description": "a dependency is down; `error` says which"}},
)
async def health(checker: HealthDep) -> JSONResponse:
    report = await checker.report()
    return JSONResponse(status_code=200 if report["status"] == "ok" else 503, content=report)
