"""POST /submit (SPEC §3): the HTTP around `submit_job`: the body cap, the JSON, the 202."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool

from api_gateway.bodies import read_body
from api_gateway.openapi import DEPENDENCY_DOWN, json_body
from api_gateway.services import ServicesDep
from api_gateway.submission import mark_enqueued, submit_job
from api_gateway.validation import max_body_bytes, parse_body
from api_gateway.views import accepted_view
from shared.models import SUBMIT_EXAMPLE, ErrorResponse, SubmitRequest, SubmitResponse

router = APIRouter()


@router.post(
    "/submit",
    status_code=202,
    response_model=SubmitResponse,
    summary="Queue a program for execution",
    responses={
        202: {"description": "queued; `Location` points at /status/{id}"},
        400: {"model": ErrorResponse, "description": "unsupported language (the message lists the supported ones)"},
        404: {"model": ErrorResponse, "description": "no problem has the `problem_id`"},
        413: {"model": ErrorResponse, "description": "code, test count, test data or files over their cap"},
        422: {"model": ErrorResponse, "description": "malformed JSON, missing/empty code, limits out of range, "
                                                     "invalid files, groups, checker or interactor, "
                                                     "test_cases or stdin together with problem_id"},
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

