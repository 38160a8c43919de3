"""Comparing a function's result with the expected value, as JSON values (SPEC §9).

Numbers where either side is a double (a JSON number with a fraction or exponent, or a value
of a `double` type) are equal within an absolute-or-relative tolerance: `float:EPS` of the
job's compare mode, else 1e-6. Integers, strings, bools and null compare exactly, and a bool
never equals a number (`true` is not `1`). Arrays are equal element by element, with equal
lengths.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.functions.framing import FramingError, decode_output
from shared.functions.types import FnType, load_json, parse_type
from shared.judging.compare import numbers_close, parse_compare

DEFAULT_EPS = 1e-6


def eps_of(compare: str | None) -> float:
    """The tolerance a compare mode gives doubles: float:EPS's, else DEFAULT_EPS."""
    if compare and compare.startswith("float:"):
        return parse_compare(compare)[1]
    return DEFAULT_EPS


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def values_equal(actual: Any, expected: Any, eps: float = DEFAULT_EPS, ftype: FnType | None = None) -> bool:
    """JSON values equal under the rules above; `ftype` (the declared type, when known) makes
    every number of a `double` compare with the tolerance, and none of an `int`/`long`."""
    if type(expected) is list or type(actual) is list:
        if type(expected) is not list or type(actual) is not list or len(actual) != len(expected):
            return False
        element = ftype.element if ftype is not None and ftype.dims else ftype
        return all(values_equal(a, e, eps, element) for a, e in zip(actual, expected, strict=True))
    if _is_number(actual) and _is_number(expected):
        if ftype is not None and ftype.base in ("int", "long"):
            return type(actual) is int and type(expected) is int and actual == expected
        if ftype is not None and ftype.base == "double" or float in (type(actual), type(expected)):
            return numbers_close(float(actual), float(expected), eps)
        return actual == expected
    return type(actual) is type(expected) and actual == expected


def results_match(actual: Any, expected: Any, returns: str, compare: str | None = None) -> bool:
    """`actual` (decode_output's value) against a test's parsed `expected`, for a function
    returning `returns` under the job's compare mode."""
    return values_equal(actual, expected, eps_of(compare), parse_type(returns))


@dataclass(frozen=True)
class OutputJudgement:
    """What a function test's stdout comes to, once the run itself ended well (exit 0 within
    its limits): accepted or not, the result's JSON text (None without one) and why not."""

    accepted: bool
    actual: str | None
    reason: str | None


def judge_output(nonce: str, stdout: bytes, expected_json: str, returns: str,
                 compare: str | None = None) -> OutputJudgement:
    """decode_output, then results_match against the test's `expected` (JSON text)."""
    decoded = decode_output(nonce, stdout)
    if isinstance(decoded, FramingError):
        return OutputJudgement(False, None, decoded.message)
    if results_match(decoded.value, load_json(expected_json), returns, compare):
        return OutputJudgement(True, decoded.text, None)
    return OutputJudgement(False, decoded.text, "the result differs from the expected one")
