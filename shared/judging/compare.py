"""Output comparison under the compare modes of SPEC §3 (exact, lines, tokens, float:EPS).

Everything here works on bytes: program output is untrusted and may be any byte sequence,
so it is compared byte-wise.
"""

from __future__ import annotations

import math
import re

# Whitespace that "lines" mode ignores at the end of each line. "\r" is included so that a
# program printing CRLF line ends is judged like one printing LF (a common Windows habit).
_TRAILING = b" \t\r\f\v"

# A numeric token for float:EPS. Deliberately stricter than float(): Python's float() also
# accepts "1_000", "infinity", " 1 " etc., which must compare as plain text.
_NUMBER = re.compile(rb"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_SPECIAL = {b"nan": math.nan, b"+nan": math.nan, b"-nan": math.nan,
            b"inf": math.inf, b"+inf": math.inf, b"-inf": -math.inf}


def to_bytes(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8")


def _lines(data: bytes) -> list[bytes]:
    lines = [line.rstrip(_TRAILING) for line in data.split(b"\n")]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _parse_number(token: bytes) -> float | None:
    special = _SPECIAL.get(token.lower())
    if special is not None:
        return special
    if _NUMBER.fullmatch(token) is None:
        return None
    try:
        return float(token)
    except (ValueError, OverflowError):  # pragma: no cover - the regex admits only floats
        return None


def numbers_close(a: float, b: float, eps: float) -> bool:
    """Equal within an absolute OR relative tolerance `eps` (the usual judge rule)."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    diff = abs(a - b)
    return diff <= eps or diff <= eps * max(abs(a), abs(b))


def _float_tokens_equal(actual: bytes, expected: bytes, eps: float) -> bool:
    got, want = actual.split(), expected.split()
    if len(got) != len(want):
        return False
    for g, w in zip(got, want, strict=True):
        if g == w:
            continue
        gn, wn = _parse_number(g), _parse_number(w)
        if gn is None or wn is None or not numbers_close(gn, wn, eps):
            return False
    return True


def parse_compare(mode: str) -> tuple[str, float]:
    """('exact'|'lines'|'tokens'|'float', eps). Unknown modes raise ValueError (the gateway
    validates them, so reaching this with a bad mode is an internal error)."""
    if mode in ("exact", "lines", "tokens"):
        return mode, 0.0
    if mode.startswith("float:"):
        eps = float(mode[len("float:"):])
        if not eps >= 0 or math.isinf(eps):
            raise ValueError(f"bad float tolerance in compare mode {mode!r}")
        return "float", eps
    raise ValueError(f"unknown compare mode {mode!r}")


def outputs_match(actual: bytes, expected: str | bytes, mode: str = "lines") -> bool:
    """Compare a program's stdout with the expected output under a SPEC §3 compare mode."""
    want = to_bytes(expected)
    kind, eps = parse_compare(mode)
    if kind == "exact":
        return actual == want
    if kind == "lines":
        return _lines(actual) == _lines(want)
    if kind == "tokens":
        return actual.split() == want.split()
    return _float_tokens_equal(actual, want, eps)
