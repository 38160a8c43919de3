"""Pydantic models at the edges: the HTTP API (SPEC §3) and the stored job record (SPEC §5)."""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

_FLOAT_COMPARE = re.compile(r"^float:(?P<eps>[0-9.eE+-]+)$")


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


class Limits(BaseModel):
    """Resource limits of every run. Range checks against the configured caps happen in the
    gateway (they are settings, not constants); here only the shape."""

    model_config = ConfigDict(extra="forbid")

    time_ms: int | None = Field(default=None, description="CPU time per test, ms")
    wall_ms: int | None = Field(default=None, description="wall-clock time per test, ms (default 3x time_ms)")
    memory_mb: int | None = Field(default=None, description="peak memory per test, MiB")
    output_kb: int | None = Field(default=None, description="stdout+stderr per test, KiB")


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


CompareMode = Annotated[str, Field(description="exact | lines | tokens | float:EPS")]


def valid_compare(mode: str) -> bool:
    if mode in ("exact", "lines", "tokens"):
        return True
    match = _FLOAT_COMPARE.match(mode)
    if not match:
        return False
    try:
        return float(match.group("eps")) >= 0
    except ValueError:
        return False


class SubmitRequest(BaseModel):
    """POST /submit body."""

    model_config = ConfigDict(extra="forbid")

    language: str
    code: str
    test_cases: list[TestCase] = Field(default_factory=list)
    stdin: str = ""
    limits: Limits = Field(default_factory=Limits)
    compare: CompareMode = "lines"
    user_id: str | None = Field(default=None, max_length=128)
    idempotency_key: str | None = Field(default=None, max_length=256)

    @field_validator("compare")
    @classmethod
    def _compare_known(cls, mode: str) -> str:
        if not valid_compare(mode):
            raise ValueError("compare must be one of exact, lines, tokens, float:EPS (e.g. float:1e-6)")
        return mode


class JobRequest(BaseModel):
    """What the executor needs to run a job: the validated submission with limits resolved
    and the language canonical. Stored inline in the job record (`request`) when small,
    else in S3 at `inputs/{id}/request.json` (the record then holds `request_key`)."""

    language: str
    code: str
    test_cases: list[TestCase]
    stdin: str = ""
    limits: ResolvedLimits
    compare: str = "lines"


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


class ResultResponse(StatusResponse):
    language: str | None = None
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
