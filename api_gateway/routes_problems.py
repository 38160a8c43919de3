"""PUT, GET and DELETE /problems/{problem_id} (SPEC §7): problems stored once (tests, checker,
interactor, groups, files, limits), which submissions then name by `problem_id`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api_gateway.bodies import media_type, read_body
from api_gateway.checks import check_problem_id
from api_gateway.errors import APIError
from api_gateway.openapi import DEPENDENCY_DOWN, ResponsesDoc, json_body
from api_gateway.problem_models import PROBLEM_EXAMPLE, PROBLEM_ID_PATTERN, ProblemInfo, ProblemRequest, ProblemStored
from api_gateway.problem_upload import max_problem_body_bytes, problem_from_json, problem_from_zip
from api_gateway.services import ProblemsDep, ServicesDep
from shared.log import get_logger
from shared.models import ErrorResponse, SchemaOnly
from shared.problems import Manifest, ProblemData, ProblemStore
from shared.settings import Settings

log = get_logger("api_gateway.problems")

router = APIRouter()

ZIP_TYPES = ("application/zip", "application/x-zip-compressed")
JSON_TYPE = "application/json"

# The pattern is published, and checked by check_problem_id (422 invalid_problem_id with a
# message saying what an id may hold) rather than by FastAPI.
ProblemId = Annotated[str, Path(description="1 to 64 characters of A-Z a-z 0-9 _ -"),
                      SchemaOnly(lambda: {"pattern": PROBLEM_ID_PATTERN})]

_ERRORS: ResponsesDoc = {
    404: {"model": ErrorResponse, "description": "no such problem"},
    422: {"model": ErrorResponse, "description": "an invalid problem id"},
    **DEPENDENCY_DOWN,
}


@router.put(
    "/problems/{problem_id}",
    status_code=201,
    response_model=ProblemStored,
    summary="Create or replace a problem",
    responses={
        200: {"model": ProblemStored, "description": "replaced, or the same content again (same version)"},
        201: {"description": "a new problem"},
        413: {"model": ErrorResponse, "description": "body, tests, test data, files or entries over their caps"},
        415: {"model": ErrorResponse, "description": "neither application/json nor application/zip"},
        422: {"model": ErrorResponse, "description": "an invalid id, body, archive entry, test numbering, "
                                                     "checker, interactor, groups or files"},
        **DEPENDENCY_DOWN,
    },
    openapi_extra=json_body(ProblemRequest, example=PROBLEM_EXAMPLE, binary_types=ZIP_TYPES),
)
async def put_problem(problem_id: ProblemId, request: Request, svc: ServicesDep) -> JSONResponse:
    """The body is JSON (`test_cases` and the judging fields) or a zip archive (`tests/N.in` with
    `tests/N.out` or `.ans`, optional `problem.json`, `checker.*`, `interactor.*`, `files/...`).
    The version is a hash of the content: the same content again answers 200 with the same
    version and uploads nothing. Jobs already queued keep the version they recorded."""
    check_problem_id(problem_id)
    kind = media_type(request)
    if kind != JSON_TYPE and kind not in ZIP_TYPES:
        raise APIError(415, "unsupported_media_type",
                       f"Content-Type {kind or '(none)'!r}: a problem is sent as {JSON_TYPE} or "
                       f"{' / '.join(ZIP_TYPES)}")
    body = await read_body(request, max_problem_body_bytes(svc.settings))
    data = await run_in_threadpool(_parse, kind, body, svc.settings)
    item, created = await run_in_threadpool(svc.problems.put, problem_id, data)
    log.info("problem stored", extra={"problem_id": problem_id, "version": item["version"], "new": created,
                                      "tests": item["tests"]})
    return JSONResponse(status_code=201 if created else 200, content=stored_view(item))


def _parse(kind: str, body: bytes, settings: Settings) -> ProblemData:
    return problem_from_json(body, settings) if kind == JSON_TYPE else problem_from_zip(body, settings)


@router.get("/problems/{problem_id}", response_model=ProblemInfo, responses=_ERRORS, summary="A problem's metadata")
async def get_problem(problem_id: ProblemId, problems: ProblemsDep) -> dict[str, Any]:
    """Version, test count, groups, limits and the rest, without test data or programs' code."""
    record = await run_in_threadpool(_record, problems, problem_id)
    manifest = await run_in_threadpool(problems.manifest, problem_id, str(record["version"]))
    return info_view(record, manifest)


@router.delete("/problems/{problem_id}", status_code=204, responses=_ERRORS, summary="Delete a problem",
               response_class=Response)
async def delete_problem(problem_id: ProblemId, problems: ProblemsDep) -> Response:
    """Jobs already queued or running finish with the version they recorded (its data stays)."""
    check_problem_id(problem_id)
    if not await run_in_threadpool(problems.delete, problem_id):
        raise _not_found(problem_id)
    log.info("problem deleted", extra={"problem_id": problem_id})
    return Response(status_code=204)


def _not_found(problem_id: str) -> APIError:
    return APIError(404, "problem_not_found", f"no problem with id {problem_id!r}")


def _record(problems: ProblemStore, problem_id: str) -> dict[str, Any]:
    record = problems.get(check_problem_id(problem_id))
    if record is None:
        raise _not_found(problem_id)
    return record


def stored_view(record: dict[str, Any]) -> dict[str, Any]:
    return {"problem_id": record["problem_id"], "version": record["version"], "tests": int(record["tests"]),
            "created_at": record["created_at"], "updated_at": record.get("updated_at", record["created_at"])}


def info_view(record: dict[str, Any], manifest: Manifest) -> dict[str, Any]:
    in_group: dict[str, int] = {}
    loose_points = 0.0
    for test in manifest.tests:
        if test.group is None:
            loose_points += test.points
        else:
            in_group[test.group] = in_group.get(test.group, 0) + 1
    groups = [{"name": g.name, "points": g.points, "depends_on": g.depends_on, "scoring": g.scoring,
               "tests": in_group.get(g.name, 0)} for g in manifest.groups]
    return {
        **stored_view(record),
        "max_score": loose_points + sum(g.points for g in manifest.groups),
        "groups": groups,
        "has_checker": manifest.checker is not None,
        "has_interactor": manifest.interactor is not None,
        "checker_language": manifest.checker.language if manifest.checker else None,
        "interactor_language": manifest.interactor.language if manifest.interactor else None,
        "files": [f.name for f in manifest.files],
        "limits": manifest.limits.model_dump(exclude_none=True),
        "compare": manifest.compare,
        "stop_on_first_failure": manifest.stop_on_first_failure,
    }
