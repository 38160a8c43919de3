"""Pydantic models at the edges: the HTTP API (SPEC §3) and the stored job record (SPEC §5).

The request models also carry what the published JSON schema (OpenAPI) says /submit accepts:
caps and limit ranges are settings, read when the schema is generated (`schema_settings`).
The gateway enforces those itself (400/413/422 with its own error codes), so they are
published with `SchemaOnly` rather than as pydantic constraints, which would refuse first,
as a different error."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, GetJsonSchemaHandler
from pydantic.json_schema import JsonDict, JsonSchemaValue
from pydantic_core import CoreSchema

from shared.judge_config import FunctionSpec, JudgeOptions
from shared.languages import ALIASES, LANGUAGES
from shared.limits import limit_ranges
from shared.settings import Settings, get_settings


class Status(StrEnum):
    QUEUED = "queued"
    COMPILING = "compiling"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in (Status.COMPLETED, Status.FAILED)


class Verdict(StrEnum):
    ACCEPTED = "ACCEPTED"
    WRONG_ANSWER = "WRONG_ANSWER"
    TIME_LIMIT_EXCEEDED = "TIME_LIMIT_EXCEEDED"
    MEMORY_LIMIT_EXCEEDED = "MEMORY_LIMIT_EXCEEDED"
    OUTPUT_LIMIT_EXCEEDED = "OUTPUT_LIMIT_EXCEEDED"
    RUNTIME_ERROR = "RUNTIME_ERROR"
    SECURITY_VIOLATION = "SECURITY_VIOLATION"
    COMPILATION_ERROR = "COMPILATION_ERROR"
    INTERNAL_ERROR = "INTERNAL_ERROR"
    # The checker or interactor failed (its own fault, or the problem setter's): never the solution's.
    JUDGE_ERROR = "JUDGE_ERROR"
    # Not run: a group it belongs to depends on one that did not score fully, or an earlier
    # test failed under stop_on_first_failure. Never a job's verdict.
    SKIPPED = "SKIPPED"


# --- what the JSON schema publishes ------------------------------------------------------
_SCHEMA_SETTINGS: ContextVar[Settings | None] = ContextVar("codepipe_schema_settings", default=None)


@contextmanager
def schema_settings(settings: Settings) -> Iterator[None]:
    """Generate JSON schemas for these settings (default: the process's `get_settings()`), so
    that a gateway's OpenAPI document states its own caps and ranges."""
    token = _SCHEMA_SETTINGS.set(settings)
    try:
        yield
    finally:
        _SCHEMA_SETTINGS.reset(token)


def _caps() -> Settings:
    return _SCHEMA_SETTINGS.get() or get_settings()


@dataclass(frozen=True)
class SchemaOnly:
    """JSON-schema keywords of a type, computed when the schema is generated and not enforced
    by pydantic: the gateway checks them itself, so a refusal keeps its status and error code."""

    keywords: Callable[[], JsonDict]

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.update(self.keywords())
        return schema


def language_pattern() -> str:
    """Every spelling canonical_language() accepts: case-insensitive, surrounding blanks allowed."""
    def ci(alias: str) -> str:
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in alias)

    aliases = sorted({a for names in ALIASES.values() for a in names}, key=lambda a: (-len(a), a))
    return r"^\s*(" + "|".join(ci(a) for a in aliases) + r")\s*$"


def _non_blank() -> JsonDict:
    return {"minLength": 1, "pattern": r"\S"}


def _code_keywords() -> JsonDict:
    cap = _caps().max_code_bytes
    return {**_non_blank(), "maxLength": cap, "description": f"source text, at most {cap} bytes of UTF-8"}


def _limit(name: str, what: str) -> Any:
    """A limit's field: its range and default are the settings' (checked by the gateway: 422
    limit_out_of_range naming the field and the range)."""
    def publish(schema: JsonDict) -> None:
        rng = limit_ranges(_caps())[name]
        variants = schema.get("anyOf")
        for variant in variants if isinstance(variants, list) else [schema]:
            if isinstance(variant, dict) and variant.get("type") == "integer":
                variant.update(minimum=rng.min, maximum=rng.max)
        schema["description"] = f"{what}; {rng.min}..{rng.max}, default {rng.default}"

    return Field(default=None, description=what, json_schema_extra=publish)


COMPARE_PATTERN = r"^(exact|lines|tokens|float:\+?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?)$"
_COMPARE = re.compile(COMPARE_PATTERN)


def valid_compare(mode: str) -> bool:
    return _COMPARE.fullmatch(mode) is not None


def _known_compare(mode: str) -> str:
    if not valid_compare(mode):
        raise ValueError("compare must be one of exact, lines, tokens, float:EPS (e.g. float:1e-6)")
    return mode


# How outputs are compared: published and checked by the one pattern.
CompareMode = Annotated[
    str,
    AfterValidator(_known_compare),
    SchemaOnly(lambda: {"pattern": COMPARE_PATTERN}),
    Field(description="exact | lines | tokens | float:EPS"),
]
Language = Annotated[str, SchemaOnly(lambda: {"pattern": language_pattern()})]
Code = Annotated[str, SchemaOnly(_code_keywords)]
TestCases = Annotated[list["TestCase"], SchemaOnly(lambda: {"maxItems": _caps().max_tests})]
NonBlank = Annotated[str, SchemaOnly(_non_blank)]

SUBMIT_EXAMPLE: JsonDict = {
    "language": "python",
    "code": "a, b = map(int, input().split())\nprint(a + b)\n",
    "test_cases": [{"input": "1 2\n", "expected": "3\n"}, {"input": "5 7\n", "expected": "12\n"}],
    "limits": {"time_ms": 2000, "memory_mb": 256},
    "compare": "lines",
}
# stdin is only for runs without test cases.
_STDIN_OR_TEST_CASES: JsonDict = {
    "required": ["stdin", "test_cases"],
    "properties": {"stdin": {"minLength": 1}, "test_cases": {"minItems": 1}},
}


# --- the API's models -------------------------------------------------------------------
class Limits(BaseModel):
    """Resource limits of every run; the gateway fills in the defaults and checks the ranges."""

    model_config = ConfigDict(extra="forbid")

    time_ms: int | None = _limit("time_ms", "CPU time per test, ms")
    wall_ms: int | None = _limit("wall_ms", "wall-clock time per test, ms (default 3x time_ms)")
    memory_mb: int | None = _limit("memory_mb", "peak memory per test, MiB")
    output_kb: int | None = _limit("output_kb", "stdout+stderr per test, KiB")


class ResolvedLimits(BaseModel):
    """Limits with every default filled in; what the executor enforces."""

    time_ms: int
    wall_ms: int
    memory_mb: int
    output_kb: int


class TestCase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: str = ""
    expected: str | None = None
    points: float = Field(default=1, ge=0, description="what the test scores when accepted (x its partial fraction)")
    group: str | None = Field(default=None, description="the name of its group (subtask), if any")


class SubmitRequest(JudgeOptions):
    """POST /submit body."""

    model_config = ConfigDict(extra="forbid",
                              json_schema_extra={"examples": [SUBMIT_EXAMPLE], "not": _STDIN_OR_TEST_CASES})

    language: Language = Field(description=f"{' | '.join(LANGUAGES)}, or an alias (case-insensitive)")
    code: Code
    test_cases: TestCases = Field(default_factory=list)
    stdin: str = ""
    limits: Limits = Field(default_factory=Limits)
    compare: CompareMode = "lines"
    user_id: NonBlank | None = Field(default=None, max_length=128)
    idempotency_key: NonBlank | None = Field(default=None, max_length=256)
    problem_id: str | None = Field(default=None, description="judge against a stored problem (no test_cases then)")
    function: FunctionSpec | None = None


class JobRequest(JudgeOptions):
    """What the executor needs to run a job: the validated submission with limits resolved
    and the language canonical. Stored inline in the job record (`request`) when small,
    else in S3 at `inputs/{id}/request.json` (the record then holds `request_key`)."""

    language: str
    code: str
    test_cases: list[TestCase]
    stdin: str = ""
    limits: ResolvedLimits
    compare: str = "lines"
    # A problem job: its tests, groups, checker, interactor and files come from this version.
    problem_id: str | None = None
    problem_version: str | None = None
    function: FunctionSpec | None = None


class SubmitResponse(BaseModel):
    id: str
    status: Status
    language: str
    created_at: str


class TestResult(BaseModel):
    """One test's outcome as shown by /result (previews: first 4 KiB)."""

    test_case: int
    verdict: Verdict
    passed: bool
    expected: str | None = None
    actual: str = ""
    stderr: str = ""
    exit_code: int = 0
    signal: int = 0
    runtime_ms: int = 0
    cpu_time_ms: int = 0
    memory_kb: int = 0
    stdout_bytes: int = 0
    stderr_bytes: int = 0
    points: float = 1
    score: float = 0
    group: str | None = None
    # The first 4 KiB of the checker's (or interactor's) stderr.
    checker_message: str | None = None
    # Interactive tests: bytes the program wrote to the interactor and read from it.
    interaction_bytes: dict[str, int] | None = None
    # Filled in by the gateway in /result: presigned GETs of the full outputs (1 hour).
    stdout_url: str | None = None
    stderr_url: str | None = None


class StatusResponse(BaseModel):
    id: str
    status: Status
    verdict: Verdict | None = None
    passed: int = 0
    total: int = 0
    # Tests finished so far, updated about every second while a long job runs.
    tests_done: int | None = None
    created_at: str
    started_at: str | None = None
    completed_at: str | None = None
    queued_for_ms: int | None = None
    error: str | None = None


class GroupResult(BaseModel):
    name: str
    score: float
    points: float
    verdict: Verdict


class ResultResponse(StatusResponse):
    language: str | None = None
    score: float | None = None
    max_score: float | None = None
    groups: list[GroupResult] = Field(default_factory=list)
    problem_id: str | None = None
    problem_version: str | None = None
    compilation_error: str | None = None
    compile_ms: int | None = None
    results: list[TestResult] = Field(default_factory=list)
    output_url: str | None = None
    stdout_preview: str | None = None


class ErrorBody(BaseModel):
    code: str
    message: str
    details: Any | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody
