"""How a job is judged, beyond its tests (SPEC §7–§9): extra files, the checker and interactor
programs, groups (subtasks) and points, and a function signature. Shapes only: the gateway
checks names, caps, languages and the group graph (api_gateway.validation), the executor
trusts what it stored."""

from __future__ import annotations

import base64
import binascii
import re
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import JsonDict

from shared.schema import SchemaOnly, language_pattern, non_blank, schema_caps

# Languages a checker or interactor may be written in (SPEC §7).
JUDGE_PROGRAM_LANGUAGES: tuple[str, ...] = ("c", "cpp", "python")

# A file name: relative path of [A-Za-z0-9._-] segments joined by "/", no "." or ".." segment.
FILE_NAME = re.compile(r"(?!/)(?:[A-Za-z0-9._-]+/)*[A-Za-z0-9._-]+")
MAX_FILE_NAME_BYTES = 255
# What a box holds besides the extra files, whatever the language (SPEC §7): the sources as
# written for every language, and the build outputs (any `*.class` is one too). A Java
# program's source is also named after its public class.
RESERVED_NAMES: frozenset[str] = frozenset(
    {"main.c", "main.cpp", "Main.java", "main.py", "main.go", "main.js", "main", "main.pyc"}
)
# The names an extra file may have, as one pattern (published; the gateway says why a name fails).
# (Patterns end in `$(?!\n)`: Python's `$` also matches before a final newline, ECMA's does not.)
_SEGMENT = r"(?!\.\.?(?:/|$))[A-Za-z0-9._-]+"
FILE_NAME_PATTERN = (f"^(?!(?:{'|'.join(re.escape(n) for n in sorted(RESERVED_NAMES))})$)(?!.*\\.class$)"
                     f"(?:{_SEGMENT}/)*{_SEGMENT}$(?!\n)")
# Standard base64: the alphabet, '=' padding to a multiple of 4, nothing else (no line breaks).
BASE64_PATTERN = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$(?!\n)"

# Points of a test or a group: 0, or 1e-6..1e6 (DynamoDB numbers hold magnitudes 1e-130..1e126
# only). Strict: a boolean is no number. The gateway refuses the rest (422 points_out_of_range).
MAX_POINTS = 1_000_000
MIN_NONZERO_POINTS = 1e-6


def _points_schema(schema: JsonDict) -> None:
    schema.update(maximum=MAX_POINTS, anyOf=[{"const": 0}, {"minimum": MIN_NONZERO_POINTS}])


Points = Annotated[float, Field(ge=0, strict=True, json_schema_extra=_points_schema)]


class Encoding(StrEnum):
    UTF8 = "utf8"
    BASE64 = "base64"


_BASE64_CONTENT: JsonDict = {
    "if": {"required": ["encoding"], "properties": {"encoding": {"const": "base64"}}},
    "then": {"properties": {"content": {"pattern": BASE64_PATTERN}}},
}


class SourceFile(BaseModel):
    """An additional file placed in the box beside the source (read-only to the program)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_BASE64_CONTENT)

    name: Annotated[str, SchemaOnly(lambda: {"pattern": FILE_NAME_PATTERN, "maxLength": MAX_FILE_NAME_BYTES})] = Field(
        description="relative path of [A-Za-z0-9._-] segments joined by '/'; not a source or build output name")
    content: str
    encoding: Encoding = Encoding.UTF8

    def data(self) -> bytes:
        """The file's bytes (ValueError for invalid base64)."""
        if self.encoding == Encoding.UTF8:
            return self.content.encode("utf-8")
        try:
            return base64.b64decode(self.content, validate=True)
        except binascii.Error as exc:
            raise ValueError(f"{self.name}: invalid base64 ({exc})") from None


# At most max_files files (the gateway: 413 too_many_files).
Files = Annotated[list[SourceFile], SchemaOnly(lambda: {"maxItems": schema_caps().max_files})]


class JudgeProgram(BaseModel):
    """A checker or an interactor: untrusted code of the problem setter, run sandboxed."""

    model_config = ConfigDict(extra="forbid")

    language: Annotated[str, SchemaOnly(lambda: {"pattern": language_pattern(JUDGE_PROGRAM_LANGUAGES)})] = Field(
        description=" | ".join(JUDGE_PROGRAM_LANGUAGES) + ", or an alias (case-insensitive)")
    code: Annotated[str, SchemaOnly(lambda: {**non_blank(), "maxLength": schema_caps().max_code_bytes})]
    files: Files = Field(default_factory=list)


class Group(BaseModel):
    """A subtask: its tests score `points` together, and only when its dependencies scored fully."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    points: Points
    depends_on: list[str] = Field(default_factory=list, description="names of other groups of the same body "
                                  "(no cycles); this group's tests run only when those scored fully")
    scoring: Literal["all", "min"] = Field(
        default="all", description="all: points if every test is fully accepted; min: points x the smallest fraction")


class ParamSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    type: str


class FunctionSpec(BaseModel):
    """LeetCode-style judging (SPEC §9): the code holds only the solution."""

    model_config = ConfigDict(extra="forbid")

    name: str
    params: list[ParamSpec] = Field(default_factory=list)
    returns: str


class JudgeOptions(BaseModel):
    """The judging fields a submission or a problem may carry (the same names in both)."""

    files: Files = Field(default_factory=list)
    checker: JudgeProgram | None = None
    interactor: JudgeProgram | None = None
    groups: list[Group] = Field(default_factory=list)
    stop_on_first_failure: bool = Field(default=False, strict=True)  # strict: 0 and "true" are no booleans
