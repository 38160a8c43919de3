"""Validation of POST /submit beyond the model's shape: languages, caps and limit ranges
(settings, reported by /languages). Everything is checked before anything is stored.

Status codes: 400 unknown language; 413 when a size or count cap is exceeded (code bytes,
number of test cases, bytes of test data, request body); 422 for anything malformed or out of
range (missing/empty code, stdin together with test_cases, limits outside their range).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from api_gateway.errors import APIError, describe_validation_errors
from shared.languages import ALIASES, LANGUAGES, canonical_language, language
from shared.limits import limit_ranges as shared_limit_ranges
from shared.models import JobRequest, ResolvedLimits, SubmitRequest
from shared.settings import Settings


def limit_ranges(settings: Settings, lang: str | None = None) -> dict[str, dict[str, int]]:
    """Allowed range and default of every limit (what /languages reports): the sandbox
    helper's ranges narrowed by the caps and, given a language, by its own bounds."""
    ranges = language(lang).limit_ranges(settings) if lang else shared_limit_ranges(settings)
    return {name: rng.as_dict() for name, rng in ranges.items()}


def max_body_bytes(settings: Settings) -> int:
    # JSON escaping roughly doubles worst-case text (\n, \", \\); 1 MiB for the rest.
    return 2 * (settings.max_code_bytes + settings.max_total_input_bytes) + 1024 * 1024


def _utf8_size(text: str, field: str) -> int:
    """UTF-8 length; JSON can carry lone surrogates (\\ud800) that no UTF-8 store accepts."""
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:
        raise APIError(422, "invalid_unicode",
                       f"{field}: contains a lone UTF-16 surrogate; strings must be valid Unicode") from None


def _supported_message() -> str:
    listed = "; ".join(f"{name} (aliases: {', '.join(a for a in ALIASES[name] if a != name)})" for name in LANGUAGES)
    return f"supported languages: {listed}"


@dataclass(frozen=True)
class Submission:
    request: JobRequest
    user_id: str | None
    idempotency_key: str | None


def parse_body(body: bytes) -> Any:
    if not body.strip():
        raise APIError(422, "malformed_json", "request body is empty; expected a JSON object")
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise APIError(422, "malformed_json", f"request body is not valid JSON: {exc}") from None


def validate_submission(raw: Any, settings: Settings) -> Submission:
    if not isinstance(raw, dict):
        raise APIError(422, "validation_error", "request body must be a JSON object")
    # Language first: the most useful error for a client talking to the wrong service.
    language = raw.get("language")
    if isinstance(language, str) and canonical_language(language) is None:
        raise APIError(
            400,
            "unsupported_language",
            f"unsupported language {language!r}; {_supported_message()}",
            details={"supported": list(LANGUAGES), "aliases": {k: list(v) for k, v in ALIASES.items()}},
        )
    try:
        sub = SubmitRequest.model_validate(raw)
    except ValidationError as exc:
        message, details = describe_validation_errors(exc.errors())
        raise APIError(422, "validation_error", message, details) from None

    canonical = canonical_language(sub.language)
    if canonical is None:  # non-string language is caught by the model; keep the type checker honest
        raise APIError(400, "unsupported_language", f"unsupported language; {_supported_message()}")

    # user_id is the GSI's hash key: DynamoDB refuses an empty string there.
    for name in ("user_id", "idempotency_key"):
        value = getattr(sub, name)
        if value is not None and not value.strip():
            raise APIError(422, "validation_error", f"{name}: must not be empty (omit it instead)")
        if value is not None:
            _utf8_size(value, name)

    _check_sizes(sub, settings)
    request = JobRequest(
        language=canonical,
        code=sub.code,
        test_cases=sub.test_cases,
        stdin=sub.stdin,
        limits=resolve_limits(sub, settings, canonical),
        compare=sub.compare,
    )
    return Submission(request=request, user_id=sub.user_id, idempotency_key=sub.idempotency_key)


def _check_sizes(sub: SubmitRequest, settings: Settings) -> None:
    """The code and the test data against their caps (413), and their shape (422)."""
    if not sub.code.strip():
        raise APIError(422, "empty_code", "code must not be empty")
    code_bytes = _utf8_size(sub.code, "code")
    if code_bytes > settings.max_code_bytes:
        raise APIError(413, "code_too_large",
                       f"code is {code_bytes} bytes; at most {settings.max_code_bytes} bytes are allowed")

    if sub.test_cases and sub.stdin:
        raise APIError(422, "stdin_with_test_cases",
                       "stdin is only for runs without test_cases; put the input in each test case instead")
    if len(sub.test_cases) > settings.max_tests:
        raise APIError(413, "too_many_tests",
                       f"{len(sub.test_cases)} test cases; at most {settings.max_tests} are allowed")

    total = _utf8_size(sub.stdin, "stdin")
    for n, case in enumerate(sub.test_cases, start=1):
        expected_bytes = _utf8_size(case.expected, f"test_cases.{n - 1}.expected") if case.expected is not None else 0
        if expected_bytes > settings.max_expected_bytes_per_test:
            raise APIError(413, "expected_too_large",
                           f"test case {n}: expected output is {expected_bytes} bytes; at most "
                           f"{settings.max_expected_bytes_per_test} bytes per test are allowed")
        total += _utf8_size(case.input, f"test_cases.{n - 1}.input") + expected_bytes
    if total > settings.max_total_input_bytes:
        raise APIError(413, "input_too_large",
                       f"test input and expected output total {total} bytes; at most "
                       f"{settings.max_total_input_bytes} bytes are allowed")


def resolve_limits(sub: SubmitRequest, settings: Settings, lang: str | None = None) -> ResolvedLimits:
    ranges = limit_ranges(settings, lang)
    given = sub.limits.model_dump()
    for name, value in given.items():
        if value is None:
            continue
        lo, hi = ranges[name]["min"], ranges[name]["max"]
        if not lo <= value <= hi:
            raise APIError(422, "limit_out_of_range",
                           f"limits.{name} = {value} is out of range; allowed {lo}..{hi}",
                           details={"field": f"limits.{name}", "min": lo, "max": hi})
    time_ms = given["time_ms"] if given["time_ms"] is not None else ranges["time_ms"]["default"]
    wall = ranges["wall_ms"]
    wall_ms = given["wall_ms"] if given["wall_ms"] is not None else min(max(3 * time_ms, wall["min"]), wall["max"])
    return ResolvedLimits(
        time_ms=time_ms,
        wall_ms=wall_ms,
        memory_mb=given["memory_mb"] if given["memory_mb"] is not None else ranges["memory_mb"]["default"],
        output_kb=given["output_kb"] if given["output_kb"] is not None else ranges["output_kb"]["default"],
    )
