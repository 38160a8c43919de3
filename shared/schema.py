"""What the published JSON schema (OpenAPI) says, where pydantic does not enforce it: caps and
ranges are settings, read when the schema is generated (`schema_settings`), and the gateway
checks them itself (400/413/422 with its own error codes), so they are published with
`SchemaOnly` rather than as pydantic constraints, which would refuse first, as a different
error. shared.models and shared.judge_config both publish through it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from pydantic import GetJsonSchemaHandler
from pydantic.json_schema import JsonDict, JsonSchemaValue
from pydantic_core import CoreSchema

from shared.languages import ALIASES
from shared.settings import Settings, get_settings

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


def schema_caps() -> Settings:
    """The settings a schema being generated publishes."""
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


def language_pattern(languages: Iterable[str] | None = None) -> str:
    """Every spelling canonical_language() accepts (of `languages`, default all of them):
    case-insensitive, surrounding blanks allowed."""
    def ci(alias: str) -> str:
        return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in alias)

    names = ALIASES if languages is None else {name: ALIASES[name] for name in languages}
    aliases = sorted({a for spellings in names.values() for a in spellings}, key=lambda a: (-len(a), a))
    return r"^\s*(" + "|".join(ci(a) for a in aliases) + r")\s*$"


def non_blank() -> JsonDict:
    return {"minLength": 1, "pattern": r"\S"}
