"""Small checks every body goes through, whichever endpoint reads it: strict JSON, valid
Unicode, UTF-8 sizes, points, problem ids. Each refusal is an APIError naming the field."""

from __future__ import annotations

import json
import math
from typing import Any

from api_gateway.errors import APIError
from shared.judge_config import MAX_POINTS, MIN_NONZERO_POINTS
from shared.problems import PROBLEM_ID


def _no_constants(name: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON does not, and no store takes them.
    raise ValueError(f"{name} is not a JSON value")


def load_json(data: bytes, what: str, code: str = "malformed_json") -> Any:
    """Strict JSON (no NaN/Infinity); 422 `code` naming `what` otherwise."""
    if not data.strip():
        raise APIError(422, code, f"{what} is empty; expected a JSON object")
    try:
        return json.loads(data, parse_constant=_no_constants)
    except (ValueError, UnicodeDecodeError) as exc:
        raise APIError(422, code, f"{what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise APIError(422, code, f"{what} is nested too deeply") from None


def utf8_size(text: str, field: str) -> int:
    """UTF-8 length; JSON can carry lone surrogates (\\ud800) that no UTF-8 store accepts."""
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise APIError(422, "invalid_unicode",
                       f"{field}: contains a lone UTF-16 surrogate; strings must be valid Unicode") from None


def check_unicode(value: Any, where: str = "body") -> None:
    """Every string of a parsed JSON value, keys included, must encode as UTF-8: the stores
    (DynamoDB, S3 documents) and even an error message echoing a key would fail on one that
    does not. Iterative: a deeply nested body must not exhaust the stack."""
    pending: list[tuple[str, Any]] = [(where, value)]
    while pending:
        path, item = pending.pop()
        if isinstance(item, str):
            utf8_size(item, path)
        elif isinstance(item, dict):
            for key, child in item.items():
                utf8_size(key, f"{path}: a key")
                pending.append((f"{path}.{key}" if path != "body" else key, child))
        elif isinstance(item, list):
            pending.extend((f"{path}.{i}", child) for i, child in enumerate(item))


def check_points(value: float, field: str) -> None:
    """Points as published (shared.judge_config.Points): 0, or 1e-6..1e6. An unbounded float
    would pass here and fail the DynamoDB write (magnitudes 1e-130..1e126 only): a 500."""
    if not (value == 0 or MIN_NONZERO_POINTS <= value <= MAX_POINTS) or not math.isfinite(value):
        raise APIError(422, "points_out_of_range",
                       f"{field} = {value}: points must be 0 or between {MIN_NONZERO_POINTS} and {MAX_POINTS}",
                       details={"field": field, "min": 0, "max": MAX_POINTS})


def check_problem_id(problem_id: str, field: str = "problem_id") -> str:
    if not isinstance(problem_id, str) or PROBLEM_ID.fullmatch(problem_id) is None:
        raise APIError(422, "invalid_problem_id",
                       f"{field} {problem_id!r}: a problem id is 1 to 64 characters of A-Z, a-z, 0-9, '_' and '-'",
                       details={"field": field, "pattern": PROBLEM_ID.pattern})
    return problem_id
