"""Every error leaves the gateway as `{"error": {"code", "message"}}` (SPEC §3)."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from shared.log import get_logger

log = get_logger("api_gateway.errors")

# Error codes that mean our request was malformed (a bug), not that the dependency is down.
_REQUEST_BUG_CODES = frozenset({
    "ValidationException", "ValidationError", "InvalidParameterValue", "InvalidParameterCombination",
    "SerializationException", "InvalidArgument", "InvalidRequest", "MalformedXML",
})


class APIError(Exception):
    def __init__(self, status: int, code: str, message: str, details: Any | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers


def error_body(code: str, message: str, details: Any | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return {"error": body}


def error_response(status: int, code: str, message: str, details: Any | None = None,
                   headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_code=status, content=error_body(code, message, details), headers=headers)


def describe_validation_errors(errors: list[Any]) -> tuple[str, list[dict[str, Any]]]:
    """Pydantic errors -> one readable message plus sanitized details (never echo the input:
    it can be megabytes of user code)."""
    parts: list[str] = []
    details: list[dict[str, Any]] = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        field = ".".join(loc) or "body"
        msg = err.get("msg", "invalid")
        if err.get("type") == "missing":
            msg = "field required"
        elif err.get("type") == "extra_forbidden":
            msg = "unknown field (not part of the API)"
        parts.append(f"{field}: {msg}")
        details.append({"field": field, "message": msg, "type": err.get("type")})
    return "; ".join(parts[:10]) + (f" (and {len(parts) - 10} more)" if len(parts) > 10 else ""), details


_STATUS_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    503: "service_unavailable",
}


def dependency_message(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        err = exc.response.get("Error", {})
        op = getattr(exc, "operation_name", "") or "AWS call"
        return f"{op} failed: {err.get('Code', 'error')}: {err.get('Message', '')}".strip()
    return f"AWS dependency unreachable: {type(exc).__name__}: {exc}"


def allowed_methods(request: Request, first: str | None) -> list[str]:
    """Every method served on this path. Starlette's 405 names only the first route's
    (`first`), and a path may have one route per method (PUT, GET and DELETE /problems/{id}):
    the others come from the published paths (HEAD with GET, as Starlette serves it)."""
    methods = {m.strip().upper() for m in (first or "").split(",") if m.strip()}
    for template, operations in request.app.openapi().get("paths", {}).items():
        if compile_path(template)[0].match(request.url.path):
            methods |= {m.upper() for m in operations}
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def install(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def _api_error(request: Request, exc: APIError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.details, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return error_response(422, "malformed_json", "request body is not valid JSON")
        message, details = describe_validation_errors(errors)
        return error_response(422, "validation_error", message, details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _STATUS_CODES.get(exc.status_code, "error")
        message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such endpoint: {request.method} {request.url.path}"
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            message = f"method {request.method} is not allowed on {request.url.path}"
            first = (headers or {}).get("Allow")
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request, first))}
        return error_response(exc.status_code, code, message, headers=headers)

    @app.exception_handler(ClientError)
    async def _client_error(request: Request, exc: ClientError) -> JSONResponse:
        if exc.response.get("Error", {}).get("Code") in _REQUEST_BUG_CODES:
            # AWS refused the request itself: retrying cannot help, so no 503/Retry-After.
            log.error("AWS rejected a request", extra={"path": request.url.path, "error": dependency_message(exc)})
            return error_response(500, "internal_error", "internal error; it has been logged")
        log.warning("dependency error", extra={"path": request.url.path, "error": dependency_message(exc)})
        return error_response(503, "dependency_unavailable", dependency_message(exc), headers={"Retry-After": "2"})

    @app.exception_handler(BotoCoreError)
    async def _botocore_error(request: Request, exc: BotoCoreError) -> JSONResponse:
        log.warning("dependency unreachable", extra={"path": request.url.path, "error": str(exc)})
        return error_response(503, "dependency_unavailable", dependency_message(exc), headers={"Retry-After": "2"})

    @app.exception_handler(Exception)
    async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return error_response(500, "internal_error", "internal error; it has been logged")
