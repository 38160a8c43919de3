"""FastAPI application: /submit, /status, /result, /languages, /health (SPEC §3)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from api_gateway import errors
from api_gateway.errors import APIError
from api_gateway.health import HealthChecker
from api_gateway.sweeper import UnqueuedSweeper
from api_gateway.validation import limit_ranges, max_body_bytes, parse_body, validate_submission
from shared.blobs import Blobs, record_output_prefix, record_result_key, test_stderr_key_in, test_stdout_key_in
from shared.jobs import EXECUTOR_PREFIX, JobStore, parse_rfc3339
from shared.languages import ALIASES, LANGUAGES
from shared.log import get_logger, job_context, setup_logging
from shared.models import (
    ErrorResponse,
    ResultResponse,
    Status,
    StatusResponse,
    SubmitRequest,
    SubmitResponse,
    TestResult,
)
from shared.queue import JobQueue
from shared.settings import get_settings

log = get_logger("api_gateway")

MAX_WAIT_SECONDS = 30
_JOB_ID = re.compile(r"^[A-Za-z0-9_-]{1,128}$")

DESCRIPTION = """
Asynchronous code execution: submit a program with test cases, poll for the verdict.

* `POST /submit` queues a job and answers **202** with its id (and `Location: /status/{id}`).
* `GET /status/{id}` is cheap; `GET /result/{id}?wait=10` long-polls until the job is terminal.
* Every error is `{"error": {"code": "...", "message": "..."}}`.
* Status codes of `/submit`: 400 unknown language; 413 a size/count cap exceeded (code, number of
  test cases, test data); 422 malformed JSON or a value out of range (limits are never silently
  changed); 503 an AWS dependency is unavailable (nothing was queued).
"""

SUBMIT_EXAMPLE = {
    "language": "python",
    "code": "a, b = map(int, input().split())\nprint(a + b)\n",
    "test_cases": [{"input": "1 2\n", "expected": "3\n"}, {"input": "5 7\n", "expected": "12\n"}],
    "limits": {"time_ms": 2000, "memory_mb": 256},
    "compare": "lines",
}

_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: {"model": ErrorResponse, "description": "an AWS dependency (DynamoDB, SQS, S3) is unavailable"},
}


class Services:
    def __init__(self) -> None:
        self.settings = get_settings().for_gateway()
        self.store = JobStore(self.settings)
        self.queue = JobQueue(self.settings)
        self.blobs = Blobs(self.settings)
        self.health = HealthChecker(self.settings)


@asynccontextmanager
async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
    setup_logging()
    svc = app.state.services = Services()
    stop = asyncio.Event()
    sweeper = asyncio.create_task(UnqueuedSweeper(svc.settings, svc.store, svc.queue).run(stop))
    log.info("gateway ready", extra={"table": svc.settings.table})
    yield
    log.info("gateway stopping")
    stop.set()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(sweeper, timeout=10)


app = FastAPI(
    title="codepipe",
    version="1.0.0",
    description=DESCRIPTION,
    lifespan=lifespan,
    responses={422: {"model": ErrorResponse, "description": "invalid request"}},
)
errors.install(app)


def services(request: Request) -> Services:
    svc = getattr(request.app.state, "services", None)
    if svc is None:  # e.g. TestClient without lifespan
        svc = request.app.state.services = Services()
    return svc


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
def _ms_since(rfc3339: str | None) -> int | None:
    if not rfc3339:
        return None
    try:
        return max(0, int((datetime.now(UTC) - parse_rfc3339(rfc3339)).total_seconds() * 1000))
    except ValueError:
        return None


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


def result_view(svc: Services, item: dict[str, Any]) -> dict[str, Any]:
    """Blocking (may read S3): call from the thread pool."""
    out = status_view(item)
    completed = item.get("status") == Status.COMPLETED.value
    results: list[dict[str, Any]] = []
    if completed:
        job_id = item["id"]
        # The objects of the attempt whose verdict the record holds (a stale attempt's
        # objects live under another prefix); records without one use the flat legacy keys.
        prefix = record_output_prefix(item)
        for n, raw in enumerate(svc.store.load_results(item), start=1):
            try:
                test = TestResult.model_validate(raw).model_dump(mode="json")
            except ValueError:
                # A record written by a newer/older executor: show it as stored rather than fail.
                log.warning("unexpected test result shape", extra={"job_id": job_id})
                test = dict(raw) if isinstance(raw, dict) else {"test_case": n}
            n = int(test.get("test_case") or n)
            if item.get("verdict") != "COMPILATION_ERROR":
                # An empty stream has no object (its size says 0): no URL that would only 404.
                for stream, key in (("stdout", test_stdout_key_in), ("stderr", test_stderr_key_in)):
                    empty = isinstance(raw, dict) and raw.get(f"{stream}_bytes") == 0  # as stored
                    test[f"{stream}_url"] = None if empty else svc.blobs.presign_get(key(prefix, n))
            results.append(test)
    out.update(
        language=item.get("language"),
        compilation_error=item.get("compilation_error"),
        compile_ms=item.get("compile_ms"),
        results=results,
        output_url=svc.blobs.presign_get(record_result_key(item)) if completed else None,
        stdout_preview=item.get("stdout_preview"),
    )
    return out


async def _load(svc: Services, job_id: str) -> dict[str, Any]:
    if not _JOB_ID.match(job_id) or job_id.startswith(EXECUTOR_PREFIX):
        raise APIError(404, "not_found", f"no job with id {job_id!r}")
    item = await run_in_threadpool(svc.store.get_view, job_id)
    if item is None:
        raise APIError(404, "not_found", f"no job with id {job_id!r}")
    return item


async def _wait_terminal(request: Request, svc: Services, job_id: str, wait: float) -> dict[str, Any]:
    item = await _load(svc, job_id)
    start = time.monotonic()
    deadline = start + wait
    running_since: float | None = None
    while not _settled(item):
        now = time.monotonic()
        remaining = deadline - now
        if remaining <= 0 or await request.is_disconnected():
            break
        if item.get("status") == Status.RUNNING and running_since is None:
            running_since = now
        running_for = None if running_since is None else now - running_since
        await asyncio.sleep(min(_poll_delay(now - start, running_for), remaining))
        item = await _load(svc, job_id)
    return item


def _settled(item: dict[str, Any]) -> bool:
    """Terminal, and with its final fields. Writers set the status last, but only DynamoDB
    itself applies an update atomically: on the embedded emulator a read racing the final
    write can see the new status before the rest."""
    status = item.get("status")
    if status == Status.COMPLETED.value:
        return item.get("verdict") is not None and item.get("completed_at") is not None
    return status == Status.FAILED.value


def _poll_delay(elapsed: float, running_for: float | None) -> float:
    """How long a waiting request sleeps before looking at the job's status again. Judge jobs
    mostly end within a second, and once `running` within a few tens of ms (tests, uploads,
    the final write): poll every 5 ms for the first 300 ms of `running`, every 20 ms otherwise
    during the first second, then back off to 0.5 s for long jobs."""
    if running_for is not None and running_for < 0.3:
        return 0.005
    if elapsed < 1.0:
        return 0.02
    return min(0.5, 0.02 * 1.5 ** ((elapsed - 1.0) / 0.1))


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
        **_ERROR_RESPONSES,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"$ref": "#/components/schemas/SubmitRequest"},
                    "example": SUBMIT_EXAMPLE,
                }
            },
        }
    },
)
async def submit(request: Request) -> JSONResponse:
    """Validate and queue a job. With an `idempotency_key`, a retried request (same key, same
    `user_id`) returns the original job (202, same body) and never creates a second one; the
    replay's body is not compared with the original."""
    svc = services(request)
    settings = svc.settings
    # Read the body ourselves: the size cap applies before parsing and errors keep our shape.
    limit = max_body_bytes(settings)
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
    body = b"".join(chunks)
    raw = await run_in_threadpool(parse_body, body)
    sub = await run_in_threadpool(validate_submission, raw, settings)

    item, created = await run_in_threadpool(svc.store.new_job, sub.request, sub.user_id, sub.idempotency_key)
    job_id = item["id"]
    with job_context(job_id):
        sent = False
        if created:
            try:
                await run_in_threadpool(svc.queue.send, sub.request.language, job_id, sub.request.code)
                sent = True
            except Exception as exc:
                # Never leave a record no message refers to: remove it (or at least fail it).
                log.error("enqueue failed; withdrawing the job", extra={"error": str(exc)})
                await run_in_threadpool(_withdraw, svc, item)
                raise APIError(503, "dependency_unavailable",
                               f"could not queue the job ({type(exc).__name__}); nothing was stored, retry later",
                               headers={"Retry-After": "2"}) from None
            log.info("job queued", extra={"language": sub.request.language, "tests": len(sub.request.test_cases),
                                          "claim_check": "request_key" in item})
        else:
            log.info("idempotent replay", extra={"status": item.get("status")})
            if item.get("status") == Status.QUEUED.value:
                # The original request may have died between storing and enqueueing (the client
                # never saw its 202, hence the retry). Enqueue again: a duplicate message is
                # harmless (the claim is conditional), a missing one would strand the job.
                language = item.get("language", sub.request.language)
                await run_in_threadpool(svc.queue.send, language, job_id, sub.request.code)
                sent = True
    body_out = {
        "id": job_id,
        "status": item.get("status", Status.QUEUED.value),
        "language": item.get("language", sub.request.language),
        "created_at": item["created_at"],
    }
    headers = {"Location": f"/status/{job_id}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    # The message is sent: tell the sweeper (after the answer; if this write is lost, the
    # sweeper sends a harmless duplicate).
    after = BackgroundTask(_mark_enqueued, svc, job_id) if sent else None
    return JSONResponse(status_code=202, content=body_out, headers=headers, background=after)


def _mark_enqueued(svc: Services, job_id: str) -> None:
    try:
        svc.store.mark_enqueued(job_id)
    except Exception as exc:
        log.warning("could not mark the job queued; the sweeper will send it again",
                    extra={"job_id": job_id, "error": str(exc)[:300]})


def _withdraw(svc: Services, item: dict[str, Any]) -> None:
    try:
        svc.store.delete(item["id"])
        if item.get("request_key"):
            svc.blobs.delete(item["request_key"])
    except Exception:  # noqa: BLE001 - DynamoDB may be the thing that is down
        try:
            svc.store.mark_failed(item["id"], "could not be queued")
        except Exception:  # noqa: BLE001
            log.exception("could neither delete nor fail an unqueued job", extra={"job_id": item["id"]})


_STATUS_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorResponse, "description": "no such job"},
    **_ERROR_RESPONSES,
}


@app.get("/status/{job_id}", response_model=StatusResponse, responses=_STATUS_RESPONSES, summary="Job status")
async def get_status(job_id: str, request: Request) -> dict[str, Any]:
    """Cheap status of a job. `queued_for_ms` tells how long a queued job has waited."""
    return status_view(await _load(services(request), job_id))


@app.get("/status", response_model=StatusResponse, responses=_STATUS_RESPONSES, summary="Job status (?id=)")
async def get_status_q(request: Request, id: str = Query(..., min_length=1, description="job id")) -> dict[str, Any]:
    return status_view(await _load(services(request), _required_id(id)))


_WAIT = Query(0, ge=0, le=MAX_WAIT_SECONDS, description="hold the request up to N seconds until the job is terminal")


# Results are rendered, not re-validated on the way out: a record written by another executor
# version must still be shown (the schema is documented through `responses`).
_RESULT_RESPONSES: dict[int | str, dict[str, Any]] = {200: {"model": ResultResponse}, **_STATUS_RESPONSES}


@app.get("/result/{job_id}", response_model=None, responses=_RESULT_RESPONSES, summary="Job result")
async def get_result(job_id: str, request: Request, wait: float = _WAIT) -> JSONResponse:
    """Status plus per-test results (empty until `completed`), compiler output and a presigned
    `output_url` of the full result document (valid 1 hour). `?wait=N` returns as soon as the job
    is terminal."""
    svc = services(request)
    item = await _wait_terminal(request, svc, job_id, wait)
    return JSONResponse(await run_in_threadpool(result_view, svc, item))


@app.get("/result", response_model=None, responses=_RESULT_RESPONSES, summary="Job result (?id=)")
async def get_result_q(
    request: Request, id: str = Query(..., min_length=1, description="job id"), wait: float = _WAIT
) -> JSONResponse:
    svc = services(request)
    item = await _wait_terminal(request, svc, _required_id(id), wait)
    return JSONResponse(await run_in_threadpool(result_view, svc, item))


@app.get("/languages", summary="Supported languages, toolchains, limits and caps", responses=_ERROR_RESPONSES)
async def languages(request: Request) -> dict[str, Any]:
    svc = services(request)
    settings = svc.settings
    try:
        records = await run_in_threadpool(svc.store.executor_records)
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
async def health(request: Request) -> JSONResponse:
    report = await services(request).health.report()
    return JSONResponse(status_code=200 if report["status"] == "ok" else 503, content=report)


def _language_pattern() -> str:
    # Case-insensitive, surrounding blanks allowed: what canonical_language() accepts.
    def ci(alias: str) -> str:
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in alias)

    aliases = sorted({a for names in ALIASES.values() for a in names}, key=lambda a: (-len(a), a))
    return r"^\s*(" + "|".join(ci(a) for a in aliases) + r")\s*$"


def _tighten_submit_schema(components: dict[str, Any]) -> None:
    """The model only fixes shapes (caps are settings); publish the effective constraints so
    the schema says what /submit accepts."""
    settings = get_settings()
    sub = components["SubmitRequest"]["properties"]
    sub["language"].update(pattern=_language_pattern(),
                           description="c | cpp | java | python, or an alias (case-insensitive)")
    sub["code"].update(minLength=1, maxLength=settings.max_code_bytes, pattern=r"\S",
                       description=f"source text, at most {settings.max_code_bytes} bytes of UTF-8")
    sub["test_cases"].update(maxItems=settings.max_tests)
    for name in ("user_id", "idempotency_key"):
        for variant in sub[name].get("anyOf", [sub[name]]):
            if variant.get("type") == "string":
                variant.update(minLength=1, pattern=r"\S")
    # stdin is only for runs without test cases.
    components["SubmitRequest"]["not"] = {
        "required": ["stdin", "test_cases"],
        "properties": {"stdin": {"minLength": 1}, "test_cases": {"minItems": 1}},
    }
    sub["compare"].update(pattern=r"^(exact|lines|tokens|float:\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?)$")
    ranges = limit_ranges(settings)
    for name, prop in components["Limits"]["properties"].items():
        rng = ranges.get(name)
        if rng is None:
            continue
        for variant in prop.get("anyOf", [prop]):
            if variant.get("type") == "integer":
                variant.update(minimum=rng["min"], maximum=rng["max"])
        prop["description"] = f"{prop.get('description', name)}; {rng['min']}..{rng['max']}, default {rng['default']}"


def custom_openapi() -> dict[str, Any]:
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    # /submit reads its body itself (size cap before parsing); publish the model it validates.
    sub_schema = SubmitRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name, sub in sub_schema.pop("$defs", {}).items():
        components.setdefault(name, sub)
    sub_schema["examples"] = [SUBMIT_EXAMPLE]
    components["SubmitRequest"] = sub_schema
    _tighten_submit_schema(components)
    app.openapi_schema = schema
    return schema


app.openapi = custom_openapi  # type: ignore[method-assign]
