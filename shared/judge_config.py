"""How a job is judged, beyond its tests (SPEC §7–§9): extra files, the checker and interactor
programs, groups (subtasks) and points, and a function signature. Shapes only: the gateway
checks names, caps, languages and the group graph (api_gateway.validation), the executor
trusts what it stored."""

from __future__ import annotations

import base64
import binascii
import re
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Languages a checker or interactor may be written in (SPEC §7).
JUDGE_PROGRAM_LANGUAGES: tuple[str, ...] = ("c", "cpp", "python")

# A file name: relative path of [A-Za-z0-9._-] segments joined by "/", no "." or ".." segment.
FILE_NAME = re.compile(r"(?!/)(?:[A-Za-z0-9._-]+/)*[A-Za-z0-9._-]+")
MAX_FILE_NAME_BYTES = 255


class Encoding(StrEnum):
    UTF8 = "utf8"
    BASE64 = "base64"


class SourceFile(BaseModel):
    """An additional file placed in the box beside the source (read-only to the program)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="relative path of [A-Za-z0-9._-] segments joined by '/'")
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


class JudgeProgram(BaseModel):
    """A checker or an interactor: untrusted code of the problem setter, run sandboxed."""

    model_config = ConfigDict(extra="forbid")

    language: str = Field(description=" | ".join(JUDGE_PROGRAM_LANGUAGES))
    code: str
    files: list[SourceFile] = Field(default_factory=list)


class Group(BaseModel):
    """A subtask: its tests score `points` together, and only when its dependencies scored fully."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64)
    points: float = Field(ge=0)
    depends_on: list[str] = Field(default_factory=list)
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

    files: list[SourceFile] = Field(default_factory=list)
    checker: JudgeProgram | None = None
    interactor: JudgeProgram | None = None
    groups: list[Group] = Field(default_factory=list)
    stop_on_first_failure: bool = False
