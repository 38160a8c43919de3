"""api_gateway/validation.py: what /submit accepts and refuses, without any AWS."""

from __future__ import annotations

from typing import Any

import pytest

from api_gateway.errors import APIError
from api_gateway.validation import limit_ranges, parse_body, validate_submission
from shared.settings import Settings

S = Settings()


def refused(body: Any, settings: Settings = S) -> APIError:
    with pytest.raises(APIError) as info:
        validate_submission(body, settings)
    return info.value


def test_minimal_submission_gets_defaults() -> None:
    sub = validate_submission({"language": "PY", "code": "print(1)"}, S)
    assert sub.request.language == "python"
    assert sub.request.test_cases == [] and sub.request.stdin == ""
    assert sub.request.limits.model_dump() == {"time_ms": 2000, "wall_ms": 6000, "memory_mb": 256, "output_kb": 1024}
    assert sub.request.compare == "lines"
    assert sub.user_id is None and sub.idempotency_key is None


def test_wall_defaults_to_three_times_time_capped() -> None:
    assert validate_submission({"language": "c", "code": "x", "limits": {"time_ms": 700}}, S).request.limits.wall_ms \
        == 2100
    small = Settings(max_wall_ms=5000)
    assert validate_submission({"language": "c", "code": "x", "limits": {"time_ms": 4000}}, small) \
        .request.limits.wall_ms == 5000


def test_explicit_limits_kept() -> None:
    limits = {"time_ms": 1, "wall_ms": 1, "memory_mb": 4, "output_kb": 1}
    sub = validate_submission({"language": "c", "code": "x", "limits": limits}, S)
    assert sub.request.limits.model_dump() == limits


@pytest.mark.parametrize("field", ["time_ms", "wall_ms", "memory_mb", "output_kb"])
def test_each_limit_range_is_enforced(field: str) -> None:
    lo, hi = limit_ranges(S)[field]["min"], limit_ranges(S)[field]["max"]
    assert validate_submission({"language": "c", "code": "x", "limits": {field: hi}}, S)
    assert validate_submission({"language": "c", "code": "x", "limits": {field: lo}}, S)
    for bad in (0, -1, lo - 1, hi + 1):
        err = refused({"language": "c", "code": "x", "limits": {field: bad}})
        assert err.status == 422 and err.code == "limit_out_of_range"
        assert f"limits.{field}" in err.message and f"{lo}..{hi}" in err.message


def test_unknown_language_lists_supported() -> None:
    err = refused({"language": "cobol", "code": "x"})
    assert err.status == 400 and err.code == "unsupported_language"
    for name in ("c", "cpp", "java", "python", "c++", "py"):
        assert name in err.message


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"language": "c"}, 422, "validation_error"),
        ({"language": "c", "code": ""}, 422, "empty_code"),
        ({"language": "c", "code": "x", "stdin": "1", "test_cases": [{"input": "1"}]}, 422, "stdin_with_test_cases"),
        ({"language": "c", "code": "x", "compare": "float:abc"}, 422, "validation_error"),
        ({"language": "c", "code": "x", "extra": 1}, 422, "validation_error"),
        ([], 422, "validation_error"),
        ("text", 422, "validation_error"),
    ],
)
def test_malformed(body: Any, status: int, code: str) -> None:
    err = refused(body)
    assert (err.status, err.code) == (status, code), err.message


def test_size_caps() -> None:
    small = Settings(max_code_bytes=10, max_tests=2, max_total_input_bytes=10, max_expected_bytes_per_test=4)
    assert refused({"language": "c", "code": "é" * 6}, small).code == "code_too_large"  # 12 bytes in UTF-8
    assert refused({"language": "c", "code": "x", "test_cases": [{}, {}, {}]}, small).code == "too_many_tests"
    assert refused({"language": "c", "code": "x", "test_cases": [{"input": "1", "expected": "12345"}]},
                   small).code == "expected_too_large"
    err = refused({"language": "c", "code": "x", "test_cases": [{"input": "123456", "expected": "1234"},
                                                                {"input": "1"}]}, small)
    assert (err.status, err.code) == (413, "input_too_large")
    assert validate_submission({"language": "c", "code": "x" * 10, "test_cases": [{"input": "123456",
                                                                                    "expected": "1234"}]}, small)


def test_compare_modes() -> None:
    for mode in ("exact", "lines", "tokens", "float:1e-6", "float:0.001"):
        assert validate_submission({"language": "c", "code": "x", "compare": mode}, S).request.compare == mode


def test_parse_body() -> None:
    assert parse_body(b'{"a": 1}') == {"a": 1}
    for raw in (b"", b"  ", b"{", b"\xff"):
        with pytest.raises(APIError) as info:
            parse_body(raw)
        assert info.value.status == 422 and info.value.code == "malformed_json"


@pytest.mark.parametrize(
    "body",
    [
        '{"language": "py", "code": "print(1) \\ud800"}',
        '{"language": "py", "code": "x", "stdin": "\\udfff"}',
        '{"language": "py", "code": "x", "test_cases": [{"input": "\\ud800"}]}',
        '{"language": "py", "code": "x", "test_cases": [{"input": "", "expected": "\\ud800"}]}',
        '{"language": "py", "code": "x", "user_id": "\\ud800"}',
        '{"language": "py", "code": "x", "idempotency_key": "\\ud800"}',
    ],
)
def test_lone_surrogates_are_422(body: str) -> None:
    err = refused(parse_body(body.encode()))
    assert err.status == 422 and err.code in ("invalid_unicode", "validation_error"), err.message


def test_empty_user_id_is_422() -> None:
    assert refused({"language": "c", "code": "x", "user_id": ""}).status == 422
    assert refused({"language": "c", "code": "x", "idempotency_key": "  "}).status == 422
