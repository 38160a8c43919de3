"""The bodies of /problems (SPEC §7): what PUT takes as JSON or as a zip's problem.json, and
what PUT and GET answer. The stored shapes are shared.problems'."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from shared.judge_config import JUDGE_PROGRAM_LANGUAGES, Group, JudgeOptions, SourceFile
from shared.models import PROBLEM_ID_PATTERN as PROBLEM_ID_PATTERN
from shared.models import CompareMode, Limits, TestCase
from shared.problems import ProblemTest
from shared.schema import SchemaOnly, schema_caps

# 1..max_tests tests (the gateway: 422 no_tests, 413 too_many_tests).
ProblemTests = Annotated[list[TestCase], SchemaOnly(lambda: {"minItems": 1, "maxItems": schema_caps().max_tests})]

PROBLEM_EXAMPLE = {
    "test_cases": [{"input": "1 2\n", "expected": "3\n", "points": 40, "group": "small"},
                   {"input": "40 2\n", "expected": "42\n", "points": 60, "group": "big"}],
    "groups": [{"name": "small", "points": 40}, {"name": "big", "points": 60, "depends_on": ["small"]}],
    "limits": {"time_ms": 1000, "memory_mb": 256},
    "compare": "tokens",
}


class ProblemRequest(JudgeOptions):
    """PUT /problems/{problem_id} as application/json. `expected` of a test is its answer (the
    checker's ANSWER file); a test without it has an empty answer."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [PROBLEM_EXAMPLE]})

    test_cases: ProblemTests = Field(description="the tests, 1..N (at least one)")
    limits: Limits = Field(default_factory=Limits, description="the problem's limits; a submission may override them")
    compare: CompareMode = "lines"


class ArchiveProgram(BaseModel):
    """problem.json's `checker` / `interactor`: the code usually comes from checker.cpp|c|py
    (interactor.*) in the archive, whose extension gives the language; `files` adds files."""

    model_config = ConfigDict(extra="forbid")

    language: str | None = Field(default=None, description=" | ".join(JUDGE_PROGRAM_LANGUAGES))
    code: str | None = Field(default=None, description="only without a checker.* (interactor.*) entry")
    files: list[SourceFile] = Field(default_factory=list)


class ProblemJson(BaseModel):
    """A zip's problem.json: the JSON fields but test_cases; `tests[i]` gives test i+1's
    points and group (all N tests, or none: then each test scores 1 and has no group)."""

    model_config = ConfigDict(extra="forbid")

    tests: list[ProblemTest] = Field(default_factory=list)
    groups: list[Group] = Field(default_factory=list)
    checker: ArchiveProgram | None = None
    interactor: ArchiveProgram | None = None
    limits: Limits = Field(default_factory=Limits)
    compare: CompareMode = "lines"
    files: list[SourceFile] = Field(default_factory=list)
    stop_on_first_failure: bool = Field(default=False, strict=True)


class ProblemStored(BaseModel):
    """The answer of PUT: 201 for a new problem, 200 for a replaced one or the same content."""

    problem_id: str
    version: str = Field(description="content hash: changes only when the content does")
    tests: int
    created_at: str
    updated_at: str = Field(description="when the current version was stored")


class GroupSummary(BaseModel):
    name: str
    points: float
    depends_on: list[str]
    scoring: str
    tests: int


class ProblemInfo(ProblemStored):
    """GET /problems/{problem_id}: everything but the test data and the programs' code."""

    max_score: float = Field(description="the points of all groups plus those of the tests in no group")
    groups: list[GroupSummary]
    has_checker: bool
    has_interactor: bool
    checker_language: str | None = None
    interactor_language: str | None = None
    files: list[str] = Field(description="names of the problem's additional files")
    limits: dict[str, int] = Field(description="the limits the problem sets (the others are the defaults); "
                                               "a submission may override each")
    compare: str
    stop_on_first_failure: bool
