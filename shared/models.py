"""Pydantic models at the edges: the HTTP API (SPEC §3) and the stored job record (SPEC §5).

The request models also carry what the published JSON schema (OpenAPI) says /submit accepts:
caps and limit ranges are settings, read when the schema is generated (`schema_settings`).
The gateway enforces those itself (400/413/422 with its own error codes), so they are
published with `SchemaOnly` rather than as pydantic constraints, which would refuse first,
as a different error (shared/schema.py)."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

from shared.judge_config import FunctionSpec, JudgeOptions, Points
from shared.languages import LANGUAGES
from shared.limits import limit_ranges
from shared.schema import SchemaOnly, language_pattern
from shared.schema import non_blank as _non_blank
from shared.schema import schema_caps as _caps
from shared.schema import schema_settings as schema_settings  # importable from here, as before

PROBLEM_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$(?!\n)"  # `$(?!\n)`: no final newline in Python's `$` either


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


# --- what the JSON schema publishes (shared.schema) ---------------------------------------
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


def _together(a: str, a_given: JsonDict, b: str, b_given: JsonDict) -> JsonDict:
    """A body where both `a` and `b` are given (e.g. non-empty): what a `not` refuses."""
    return {"required": [a, b], "properties": {a: a_given, b: b_given}}


_PROBLEM = {"type": "string"}
_CONFLICTS: list[JsonDict] = [
    # A problem brings its tests and judging (the gateway: 422 naming the field).
    {"not": _together("problem_id", _PROBLEM, "test_cases", {"minItems": 1})},
    {"not": _together("problem_id", _PROBLEM, "stdin", {"minLength": 1})},
    {"not": _together("problem_id", _PROBLEM, "checker", {"type": "object"})},
    {"not": _together("problem_id", _PROBLEM, "interactor", {"type": "object"})},
    {"not": _together("problem_id", _PROBLEM, "groups", {"minItems": 1})},
    # A checker or interactor judges test cases: none without them.
    {"not": {"required": ["checker"], "properties": {"checker": {"type": "object"}, "test_cases": {"maxItems": 0}}}},
    {"not": {"required": ["interactor"], "properties": {"interactor": {"type": "object"},
                                                        "test_cases": {"maxItems": 0}}}},
]


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
    points: Points = Field(default=1, description="what the test scores when accepted (x its partial fraction)")
    group: str | None = Field(default=None, description="the name of its group (subtask), if any: one of the "
                                                        "body's `groups`, each of which needs a test")


class SubmitRequest(JudgeOptions):
    """POST /submit body."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [SUBMIT_EXAMPLE], "not": _STDIN_OR_TEST_CASES, "allOf": _CONFLICTS})

    language: Language = Field(description=f"{' | '.join(LANGUAGES)}, or an alias (case-insensitive)")
    code: Code
    test_cases: TestCases = Field(default_factory=list)
    stdin: str = ""
    limits: Limits = Field(default_factory=Limits)
    compare: CompareMode = "lines"
    user_id: NonBlank | None = Field(default=None, max_length=128)
    idempotency_key: NonBlank | None = Field(default=None, max_length=256)
    problem_id: Annotated[str | None, SchemaOnly(lambda: {"pattern": PROBLEM_ID_PATTERN})] = Field(
        default=None, description="judge against a stored problem (no test_cases then)")
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
    interaction_bytes: dict[str, int] | None = Field(
        default=None, description="interactive tests: {to_interactor, from_interactor} bytes (the program's "
                                  "stdout, the interactor's stdout)")
    interactor_output: str | None = Field(
        default=None, description="interactive tests: the first 4 KiB of what the interactor wrote to the program "
                                  "(`actual` is what the program wrote)")
    # Filled in by the gateway in /result: presigned GETs of the full outputs (1 hour).
    stdout_url: str | None = None
    stderr_url: str | None = None
    interactor_output_url: str | None = Field(
        default=None, description="interactive tests: presigned GET of everything the interactor wrote to the "
                                  "program (null when it wrote nothing)")


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
