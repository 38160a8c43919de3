"""The OpenAPI document comes from the models: what it says /submit accepts is what the
gateway accepts, for the settings the app was made with, while the refusals keep the
gateway's own status and error codes (pydantic does not enforce the published caps)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from api_gateway.app import create_app
from api_gateway.errors import APIError
from api_gateway.validation import limit_ranges, validate_submission
from shared.languages import ALIASES
from shared.models import SubmitRequest, schema_settings, valid_compare
from shared.settings import Settings

S = Settings()


def components(settings: Settings) -> dict[str, Any]:
    """The schemas of SubmitRequest and the models it uses, for `settings`."""
    with schema_settings(settings):
        schema = SubmitRequest.model_json_schema(ref_template="#/components/schemas/{model}")
    return {**schema.pop("$defs"), "SubmitRequest": schema}


def test_submit_body_is_the_model_schema() -> None:
    spec = create_app(S).openapi()
    body = spec["paths"]["/submit"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/SubmitRequest"}
    for name, schema in components(S).items():
        assert spec["components"]["schemas"][name] == schema, name


def test_caps_and_ranges_are_the_apps_settings() -> None:
    small = Settings(max_code_bytes=100, max_tests=3, max_time_ms=5000, default_time_ms=1000)
    for settings in (S, small):
        schemas = components(settings)
        sub = schemas["SubmitRequest"]["properties"]
        assert sub["code"]["maxLength"] == settings.max_code_bytes and sub["code"]["minLength"] == 1
        assert sub["test_cases"]["maxItems"] == settings.max_tests
        for name, rng in limit_ranges(settings).items():
            prop = schemas["Limits"]["properties"][name]
            (integer,) = [v for v in prop["anyOf"] if v.get("type") == "integer"]
            assert (integer["minimum"], integer["maximum"]) == (rng["min"], rng["max"])
            assert f"{rng['min']}..{rng['max']}, default {rng['default']}" in prop["description"]
    assert "stdin" in components(S)["SubmitRequest"]["not"]["required"]


def test_language_pattern_is_every_spelling() -> None:
    pattern = re.compile(components(S)["SubmitRequest"]["properties"]["language"]["pattern"])
    for spellings in ALIASES.values():
        for alias in spellings:
            for spelled in (alias, alias.upper(), f" {alias} "):
                assert pattern.search(spelled), spelled
                validate_submission({"language": spelled, "code": "x"}, S)
    for wrong in ("cobol", "c+", "pythonn", ""):
        assert not pattern.search(wrong), wrong


@pytest.mark.parametrize("mode", ["exact", "lines", "tokens", "float:1e-6", "float:0", "float:+.5E+3", "float:1.",
                                  "float:-1", "float:-0", "float:1\n", "float:", "float:abc", "float:1e", "Lines",
                                  " exact", "float:inf"])
def test_compare_is_accepted_exactly_when_the_pattern_says_so(mode: str) -> None:
    pattern = re.compile(components(S)["SubmitRequest"]["properties"]["compare"]["pattern"])
    published = pattern.fullmatch(mode) is not None
    assert valid_compare(mode) == published
    if published:
        assert validate_submission({"language": "c", "code": "x", "compare": mode}, S).request.compare == mode
    else:
        with pytest.raises(APIError) as info:
            validate_submission({"language": "c", "code": "x", "compare": mode}, S)
        assert (info.value.status, info.value.code) == (422, "validation_error")


def test_published_caps_are_not_pydantic_constraints() -> None:
    """The model takes what the schema refuses, so that the gateway's checks answer first with
    their own codes (400 language, 413 caps, 422 empty_code / limit_out_of_range)."""
    small = Settings(max_code_bytes=4, max_tests=1)
    raw = {"language": "cobol", "code": "", "test_cases": [{}, {}], "limits": {"time_ms": 10**9}}
    assert SubmitRequest.model_validate(raw).limits.time_ms == 10**9
    cases = [
        ({"language": "cobol", "code": "x"}, 400, "unsupported_language"),
        ({"language": "c", "code": " "}, 422, "empty_code"),
        ({"language": "c", "code": "xxxxx"}, 413, "code_too_large"),
        ({"language": "c", "code": "x", "test_cases": [{}, {}]}, 413, "too_many_tests"),
        ({"language": "c", "code": "x", "limits": {"memory_mb": 10**6}}, 422, "limit_out_of_range"),
    ]
    for body, status, code in cases:
        with pytest.raises(APIError) as info:
            validate_submission(body, small)
        assert (info.value.status, info.value.code) == (status, code), body


# --- the judging fields (SPEC §7): what the schema says is what the gateway checks -----------
def _published(body: Any) -> bool:
    from jsonschema import Draft202012Validator

    root = {"$ref": "#/components/schemas/SubmitRequest", "components": {"schemas": components(S)}}
    return Draft202012Validator(root).is_valid(body)


def _accepted(body: Any) -> bool:
    try:
        validate_submission(body, S, lambda problem_id: {"problem_id": problem_id, "version": "v", "tests": 1})
    except APIError:
        return False
    return True


@pytest.mark.parametrize("name", ["a", "a/b.c", ".hidden", "..x", "a..b", "x/main.c", "main.cc", "MAIN.C", "x" * 255,
                                  "main.c", "Main.java", "main", "main.pyc", "A.class", "p/A.class", ".", "..",
                                  "a/./b", "a/../b", "/a", "a/", "a//b", "", "a b", "é", "a\n", "x" * 256])
def test_file_names_are_accepted_exactly_when_published(name: str) -> None:
    body = {"language": "c", "code": "x", "files": [{"name": name, "content": ""}]}
    assert _published(body) == _accepted(body), name


@pytest.mark.parametrize("content", ["", "aGk=", "aGVsbG8=", "aGVsbA==", "+/+/", "aGk", "aGk==", "aGk=aGk=", "a",
                                     "aGk=\n", "a-_b", "====", " aGk="])
def test_base64_is_accepted_exactly_when_published(content: str) -> None:
    body = {"language": "c", "code": "x", "files": [{"name": "f", "content": content, "encoding": "base64"}]}
    assert _published(body) == _accepted(body), content
    assert _accepted({**body, "files": [{"name": "f", "content": content}]})  # utf8: any text


@pytest.mark.parametrize("points", [0, 1, 0.5, 1e-6, 1e6, 2.0, 1e-7, 1e6 + 1, -1, 1e300, True, False, "1", None])
def test_points_are_accepted_exactly_when_published(points: Any) -> None:
    tests = {"language": "c", "code": "x", "test_cases": [{"input": "", "points": points}]}
    grouped = {**tests, "test_cases": [{"input": "", "group": "g"}], "groups": [{"name": "g", "points": points}]}
    for body in (tests, grouped):
        assert _published(body) == _accepted(body), (points, body)


@pytest.mark.parametrize(("fields", "ok"), [
    ({"problem_id": "p1"}, True),
    ({"problem_id": "p1", "test_cases": [], "stdin": "", "groups": [], "checker": None}, True),
    ({"problem_id": "p1", "test_cases": [{"input": "1"}]}, False),
    ({"problem_id": "p1", "stdin": "1"}, False),
    ({"problem_id": "p1", "checker": {"language": "c", "code": "x"}}, False),
    ({"problem_id": "p1", "interactor": {"language": "c", "code": "x"}}, False),
    ({"problem_id": "p1", "groups": [{"name": "g", "points": 1}]}, False),
    ({"problem_id": "a/b"}, False),
    ({"problem_id": ""}, False),
    ({"problem_id": "p1\n"}, False),
    ({"checker": {"language": "c", "code": "x"}}, False),
    ({"checker": {"language": "C++", "code": "x"}, "test_cases": [{"input": ""}]}, True),
    ({"checker": {"language": "java", "code": "x"}, "test_cases": [{"input": ""}]}, False),
    ({"checker": {"language": "py", "code": " "}, "test_cases": [{"input": ""}]}, False),
    ({"interactor": {"language": "py", "code": "x"}, "test_cases": [{"input": ""}]}, True),
    ({"stop_on_first_failure": True}, True),
    ({"stop_on_first_failure": 0}, False),
    ({"stop_on_first_failure": "true"}, False),
])
def test_judging_fields_are_accepted_exactly_when_published(fields: dict[str, Any], ok: bool) -> None:
    body = {"language": "c", "code": "x", **fields}
    assert (_published(body), _accepted(body)) == (ok, ok)


def test_the_cross_field_group_rules_are_described_not_published() -> None:
    """JSON Schema cannot say that a test's group names a group of the same body: the gateway
    refuses it (422), the schema states it in words."""
    body = {"language": "c", "code": "x", "test_cases": [{"input": "", "group": "nope"}]}
    assert _published(body) and not _accepted(body)
    described = components(S)["TestCase"]["properties"]["group"]["description"]
    assert "groups" in described


def test_result_publishes_the_interactive_fields() -> None:
    """/result's test results carry the interaction (SPEC §8) in the published schema."""
    test_result = create_app(S).openapi()["components"]["schemas"]["TestResult"]["properties"]
    for name in ("interaction_bytes", "interactor_output", "interactor_output_url"):
        assert name in test_result and test_result[name].get("description"), name
