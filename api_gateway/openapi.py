"""The OpenAPI document: FastAPI's, from the routes and the pydantic models, generated for the
app's settings (the models publish caps and limit ranges that are settings).

A route that reads its body itself (the size cap applies before parsing, and every error keeps
the API's shape) cannot declare it as a FastAPI body parameter; `json_body(Model)` documents
it instead, and `GatewayAPI(body_models=...)` publishes those models in the components like
FastAPI's own."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api_gateway.services import app_settings
from shared.models import ErrorResponse, schema_settings

_REF = "#/components/schemas/{model}"

DESCRIPTION = """
Asynchronous code execution: submit a program with test cases, poll for the verdict.

* `POST /submit` queues a job and answers **202** with its id (and `Location: /status/{id}`).
* `GET /status/{id}` is cheap; `GET /result/{id}?wait=10` long-polls until the job is terminal.
* `PUT /problems/{id}` stores a problem (tests once, as JSON or a zip archive); `POST /submit`
  with `problem_id` judges against its current version.
* Every error is `{"error": {"code": "...", "message": "..."}}`.
* Status codes of `/submit`: 400 unknown language; 404 an unknown `problem_id`; 413 a size/count cap
  exceeded (code, number of test cases, test data, files); 422 malformed JSON or a value out of
  range (limits are never silently changed); 503 an AWS dependency is unavailable (nothing was
  queued).
"""

ResponsesDoc = dict[int | str, dict[str, Any]]

INVALID: ResponsesDoc = {422: {"model": ErrorResponse, "description": "invalid request"}}
DEPENDENCY_DOWN: ResponsesDoc = {
    503: {"model": ErrorResponse, "description": "an AWS dependency (DynamoDB, SQS, S3) is unavailable"},
}
NO_SUCH_JOB: ResponsesDoc = {404: {"model": ErrorResponse, "description": "no such job"}, **DEPENDENCY_DOWN}


def json_body(model: type[BaseModel], example: Any = None, binary_types: Sequence[str] = ()) -> dict[str, Any]:
    """`openapi_extra` of a route that reads a JSON body of `model` itself (or, in any of
    `binary_types`, raw bytes such as a zip archive)."""
    content: dict[str, Any] = {"schema": {"$ref": _REF.format(model=model.__name__)}}
    if example is not None:
        content["example"] = example
    body = {"application/json": content}
    body.update({media: {"schema": {"type": "string", "format": "binary"}} for media in binary_types})
    return {"requestBody": {"required": True, "content": body}}


class GatewayAPI(FastAPI):
    """FastAPI whose schema is generated for the app's settings and also holds `body_models`."""

    def __init__(self, *, body_models: Sequence[type[BaseModel]] = (), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._body_models = tuple(body_models)

    def openapi(self) -> dict[str, Any]:
        cached = self.openapi_schema
        with schema_settings(app_settings(self)):
            schema = super().openapi()
            if schema is not cached and self._body_models:
                _, defs = models_json_schema([(m, "validation") for m in self._body_models], ref_template=_REF)
                components = schema.setdefault("components", {}).setdefault("schemas", {})
                for name, definition in defs.get("$defs", {}).items():
                    components.setdefault(name, definition)
        return schema
