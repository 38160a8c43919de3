"""GET /status and /result of a job (SPEC §3), by path or `?id=`; /result may `?wait=N`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api_gateway.errors import APIError
from api_gateway.longpoll import MAX_WAIT_SECONDS, wait_settled
from api_gateway.openapi import NO_SUCH_JOB, ResponsesDoc
from api_gateway.services import BlobsDep, StoreDep
from api_gateway.views import load_view, result_view, status_view
from shared.blobs import Blobs
from shared.jobs import JobStore
from shared.models import ResultResponse, StatusResponse

router = APIRouter()

_ID = Query(..., min_length=1, description="job id")
_WAIT = Query(0, ge=0, le=MAX_WAIT_SECONDS, description="hold the request up to N seconds until the job is terminal")

# Results are rendered, not re-validated on the way out: a record written by another executor
# version must still be shown (the schema is documented through `responses`).
_RESULT_RESPONSES: ResponsesDoc = {200: {"model": ResultResponse}, **NO_SUCH_JOB}


def _required_id(job_id: str | None) -> str:
    if not job_id:
        raise APIError(422, "validation_error", "id: query parameter required (or use /status/{id})")
    return job_id


@router.get("/status/{job_id}", response_model=StatusResponse, responses=NO_SUCH_JOB, summary="Job status")
async def get_status(job_id: str, store: StoreDep) -> dict[str, Any]:
    """Cheap status of a job. `queued_for_ms` tells how long a queued job has waited."""
    return status_view(await load_view(store, job_id))


@router.get("/status", response_model=StatusResponse, responses=NO_SUCH_JOB, summary="Job status (?id=)")
async def get_status_q(store: StoreDep, id: str = _ID) -> dict[str, Any]:
    return status_view(await load_view(store, _required_id(id)))


@router.get("/result/{job_id}", response_model=None, responses=_RESULT_RESPONSES, summary="Job result")
async def get_result(job_id: str, request: Request, store: StoreDep, blobs: BlobsDep,
                     wait: float = _WAIT) -> JSONResponse:
    """Status plus per-test results (empty until `completed`), compiler output and a presigned
    `output_url` of the full result document (valid 1 hour). `?wait=N` returns as soon as the job
    is terminal."""
    return await _result(request, store, blobs, job_id, wait)


@router.get("/result", response_model=None, responses=_RESULT_RESPONSES, summary="Job result (?id=)")
async def get_result_q(request: Request, store: StoreDep, blobs: BlobsDep, id: str = _ID,
                       wait: float = _WAIT) -> JSONResponse:
    return await _result(request, store, blobs, _required_id(id), wait)


async def _result(request: Request, store: JobStore, blobs: Blobs, job_id: str, wait: float) -> JSONResponse:
    item = await wait_settled(lambda: load_view(store, job_id), wait, request.is_disconnected)
    return JSONResponse(await run_in_threadpool(result_view, item, store, blobs))
