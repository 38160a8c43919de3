"""The judging fields of /submit (SPEC §7 "Precise rules"), without AWS: files, checker and
interactor programs, groups and points, and a submission on a stored problem (its record
read through a lookup). Every refusal is a 4xx naming the field and what is allowed."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from api_gateway.errors import APIError
from api_gateway.judge_rules import dependency_cycle, reserved_names
from api_gateway.validation import max_body_bytes, parse_body, validate_submission
from shared.judge_config import Group
from shared.settings import Settings

S = Settings()
CASES = [{"input": "1\n", "expected": "1\n"}, {"input": "2\n", "expected": "2\n"}]


def body(**fields: Any) -> dict[str, Any]:
    return {"language": "cpp", "code": "int main(){}", **fields}


def refused(raw: Any, settings: Settings = S, problems: Any = None) -> APIError:
    with pytest.raises(APIError) as info:
        validate_submission(raw, settings, problems)
    return info.value


# --- files --------------------------------------------------------------------------------
def test_files_are_accepted_and_kept() -> None:
    files = [{"name": "util.h", "content": "int f();"}, {"name": "lib/x.c", "content": "aGk=", "encoding": "base64"},
             {"name": "data/a-b_c.1.txt", "content": ""}]
    sub = validate_submission(body(files=files), S)
    assert [f.name for f in sub.request.files] == ["util.h", "lib/x.c", "data/a-b_c.1.txt"]
    assert sub.request.files[1].data() == b"hi"


@pytest.mark.parametrize(("name", "why"), [
    ("/etc/passwd", "relative"),
    ("a/../b", "'..'"),
    ("./a", "'.'"),
    ("..", "'..'"),
    ("a//b", "segments"),
    ("a/", "segments"),
    ("", "segments"),
    ("sp ace.txt", "segments"),
    ("back\\slash", "segments"),
    ("é.txt", "segments"),
    ("x" * 256, "256 bytes"),
    ("main.cpp", "reserved"),
    ("main.c", "reserved"),
    ("Main.java", "reserved"),
    ("main.py", "reserved"),
    ("main.go", "reserved"),
    ("main.js", "reserved"),
    ("main", "reserved"),
    ("main.pyc", "reserved"),
    ("Helper.class", "reserved"),
    ("pkg/Helper.class", "reserved"),
])
def test_bad_file_names_are_422_naming_them(name: str, why: str) -> None:
    err = refused(body(files=[{"name": "ok.h", "content": ""}, {"name": name, "content": ""}]))
    assert (err.status, err.code) == (422, "invalid_file_name"), err.message
    assert "files.1.name" in err.message and repr(name) in err.message and why in err.message


def test_a_255_byte_name_is_allowed() -> None:
    assert validate_submission(body(files=[{"name": "x" * 255, "content": ""}]), S)


def test_the_java_public_class_file_is_reserved() -> None:
    code = "public class Solver { public static void main(String[] a) {} }"
    assert "Solver.java" in reserved_names("java", code)
    err = refused({"language": "java", "code": code, "files": [{"name": "Solver.java", "content": ""}]})
    assert err.code == "invalid_file_name" and "Solver.java" in err.message
    # Another class's source is a file like any other (compiled with the program).
    assert validate_submission({"language": "java", "code": code, "files": [{"name": "Helper.java", "content": ""}]},
                               S)


def test_duplicate_and_nested_names_are_422() -> None:
    err = refused(body(files=[{"name": "a.h", "content": ""}, {"name": "b.h", "content": ""},
                              {"name": "a.h", "content": "x"}]))
    assert (err.code, err.status) == ("duplicate_file", 422) and "files.2.name 'a.h'" in err.message
    assert "files.0" in err.message
    err = refused(body(files=[{"name": "a", "content": ""}, {"name": "a/b", "content": ""}]))
    assert err.code == "invalid_file_name" and "'a' is a file and also the directory of 'a/b'" in err.message


def test_file_caps_are_413() -> None:
    small = Settings(max_files=2, max_files_bytes=10)
    err = refused(body(files=[{"name": f"f{i}", "content": ""} for i in range(3)]), small)
    assert (err.status, err.code) == (413, "too_many_files") and "at most 2" in err.message
    err = refused(body(files=[{"name": "a", "content": "123456"}, {"name": "b", "content": "é" * 3}]), small)
    assert (err.status, err.code) == (413, "files_too_large") and "10 bytes" in err.message
    encoded = base64.b64encode(b"x" * 11).decode()
    assert refused(body(files=[{"name": "a", "content": encoded, "encoding": "base64"}]), small).status == 413
    assert validate_submission(body(files=[{"name": "a", "content": "1234567890"}]), small)


@pytest.mark.parametrize("content", ["not base64!", "aGk", "aG k=", "aGk=\n"])
def test_invalid_base64_is_422(content: str) -> None:
    err = refused(body(files=[{"name": "a.bin", "content": content, "encoding": "base64"}]))
    assert (err.status, err.code) == (422, "invalid_base64") and "files.0" in err.message


def test_unknown_encoding_and_lone_surrogates_are_422() -> None:
    assert refused(body(files=[{"name": "a", "content": "", "encoding": "hex"}])).code == "validation_error"
    err = refused(parse_body(b'{"language": "c", "code": "x", "files": [{"name": "a", "content": "\\ud800"}]}'))
    assert (err.code, err.status) == ("invalid_unicode", 422) and "files.0.content" in err.message
    err = refused(parse_body(b'{"language": "c", "code": "x", "\\udc80": 1}'))
    assert err.code == "invalid_unicode"


# --- checker and interactor ---------------------------------------------------------------------
@pytest.mark.parametrize("role", ["checker", "interactor"])
def test_judge_programs(role: str) -> None:
    program = {"language": "c++", "code": "int main(){}", "files": [{"name": "testlib.h", "content": "//"}]}
    sub = validate_submission(body(test_cases=CASES, **{role: program}), S)
    assert getattr(sub.request, role).language == "cpp"  # canonical
    for lang in ("java", "go", "brainfuck"):
        err = refused(body(test_cases=CASES, **{role: {**program, "language": lang}}))
        assert (err.status, err.code) == (422, "unsupported_judge_language")
        assert f"{role}.language" in err.message and "c, cpp, python" in err.message
    err = refused(body(test_cases=CASES, **{role: {**program, "code": " \n"}}))
    assert (err.status, err.code) == (422, "empty_code") and f"{role}.code" in err.message
    err = refused(body(test_cases=CASES, **{role: {**program, "files": [{"name": "../x", "content": ""}]}}))
    assert err.code == "invalid_file_name" and f"{role}.files.0.name" in err.message
    err = refused(body(test_cases=CASES, **{role: {**program, "code": "x" * 11}}), Settings(max_code_bytes=10))
    assert (err.status, err.code) == (413, "code_too_large")
    err = refused(body(**{role: program}))
    assert (err.status, err.code) == (422, "judge_without_tests")


# --- groups and points ----------------------------------------------------------------------------
def grouped(groups: list[dict[str, Any]], cases: list[dict[str, Any]]) -> dict[str, Any]:
    return body(groups=groups, test_cases=cases)


def test_groups_and_points_are_accepted() -> None:
    cases = [{"input": "1", "group": "samples", "points": 0}, {"input": "2", "group": "small"},
             {"input": "3", "points": 2.5}]
    groups = [{"name": "samples", "points": 0}, {"name": "small", "points": 30, "depends_on": ["samples"],
                                                  "scoring": "min"}]
    sub = validate_submission(grouped(groups, cases), S)
    assert [g.name for g in sub.request.groups] == ["samples", "small"]
    assert [c.points for c in sub.request.test_cases] == [0, 1, 2.5]
    assert sub.request.stop_on_first_failure is False
    assert validate_submission(body(test_cases=CASES, stop_on_first_failure=True), S).request.stop_on_first_failure


@pytest.mark.parametrize(("groups", "cases", "words"), [
    ([{"name": "a", "points": 1}, {"name": "a", "points": 2}], [{"group": "a"}], ["groups.1.name 'a'", "unique"]),
    ([{"name": "a", "points": 1}], [{"group": "a"}, {"group": "b"}], ["test_cases.1.group 'b'", "'a'"]),
    ([], [{"group": "b"}], ["test_cases.0.group 'b'", "none are defined"]),
    ([{"name": "a", "points": 1, "depends_on": ["zz"]}], [{"group": "a"}], ["groups.0 'a'", "unknown group 'zz'"]),
    ([{"name": "a", "points": 1, "depends_on": ["b"]}, {"name": "b", "points": 1, "depends_on": ["a"]}],
     [{"group": "a"}, {"group": "b"}], ["cycle 'a' -> 'b' -> 'a'"]),
    ([{"name": "a", "points": 1, "depends_on": ["a"]}], [{"group": "a"}], ["cycle 'a' -> 'a'"]),
    ([{"name": "a", "points": 1}, {"name": "b", "points": 1}], [{"group": "a"}], ["groups.1 'b' has no tests"]),
])
def test_bad_groups_are_422(groups: list[dict[str, Any]], cases: list[dict[str, Any]], words: list[str]) -> None:
    err = refused(grouped(groups, cases))
    assert (err.status, err.code) == (422, "invalid_groups"), err.message
    for word in words:
        assert word in err.message, err.message


def test_dependency_cycle_reports_the_cycle() -> None:
    groups = [Group(name="s", points=0), Group(name="a", points=1, depends_on=["s", "c"]),
              Group(name="b", points=1, depends_on=["a"]), Group(name="c", points=1, depends_on=["b"])]
    assert dependency_cycle(groups) == ["a", "c", "b", "a"]
    assert dependency_cycle(groups[:2] + [Group(name="c", points=1)]) == []


@pytest.mark.parametrize("points", [-1, -0.5, 1e7, 1e300, 1e-9])
def test_points_out_of_range_are_422(points: float) -> None:
    err = refused(body(test_cases=[{"input": "1", "points": points}]))
    assert err.status == 422 and "test_cases.0.points" in err.message, err.message
    err = refused(grouped([{"name": "g", "points": points}], [{"group": "g"}]))
    assert err.status == 422 and "groups.0.points" in err.message, err.message


@pytest.mark.parametrize("raw", [b'{"language": "c", "code": "x", "test_cases": [{"points": NaN}]}',
                                 b'{"language": "c", "code": "x", "test_cases": [{"points": Infinity}]}',
                                 b'{"language": "c", "code": "x", "groups": [{"name": "g", "points": -Infinity}]}'])
def test_non_json_numbers_are_malformed_json(raw: bytes) -> None:
    with pytest.raises(APIError) as info:
        parse_body(raw)
    assert (info.value.status, info.value.code) == (422, "malformed_json")


def test_function_is_carried_without_breaking_anything() -> None:
    function = {"name": "twoSum", "params": [{"name": "nums", "type": "int[]"}], "returns": "int[]"}
    sub = validate_submission(body(function=function, test_cases=[{"input": "[[1]]", "expected": "[0]"}]), S)
    assert sub.request.function is not None and sub.request.function.name == "twoSum"


def test_the_body_cap_makes_room_for_files_and_programs() -> None:
    files = 3 * 2 * (4 * S.max_files_bytes // 3)
    assert max_body_bytes(S) >= 2 * (S.max_code_bytes + S.max_total_input_bytes) + files + 4 * S.max_code_bytes


# --- a submission on a stored problem -------------------------------------------------------------
RECORD = {"id": "problem#p1", "problem_id": "p1", "version": "v123", "tests": 7,
          "limits": {"time_ms": 1000, "memory_mb": 64}, "compare": "tokens"}


def lookup(records: dict[str, dict[str, Any]]) -> Any:
    asked: list[str] = []

    def get(problem_id: str) -> dict[str, Any] | None:
        asked.append(problem_id)
        return records.get(problem_id)

    get.asked = asked  # type: ignore[attr-defined]
    return get


def test_a_problem_job_records_the_version_and_the_problems_settings() -> None:
    get = lookup({"p1": RECORD})
    sub = validate_submission(body(problem_id="p1"), S, get)
    req = sub.request
    assert (req.problem_id, req.problem_version, sub.total) == ("p1", "v123", 7)
    assert req.test_cases == [] and req.checker is None and req.groups == []
    assert req.limits.model_dump() == {"time_ms": 1000, "wall_ms": 3000, "memory_mb": 64, "output_kb": 1024}
    assert req.compare == "tokens"
    assert get.asked == ["p1"]


def test_a_problem_jobs_own_limits_and_compare_win() -> None:
    sub = validate_submission(body(problem_id="p1", limits={"memory_mb": 128, "wall_ms": 500}, compare="lines",
                                   files=[{"name": "hint.h", "content": ""}], stop_on_first_failure=True),
                              S, lookup({"p1": RECORD}))
    assert sub.request.limits.model_dump() == {"time_ms": 1000, "wall_ms": 500, "memory_mb": 128, "output_kb": 1024}
    assert sub.request.compare == "lines"
    assert [f.name for f in sub.request.files] == ["hint.h"] and sub.request.stop_on_first_failure
    # The defaults, for a problem that sets nothing.
    bare = {**RECORD, "limits": {}, "compare": "lines"}
    limits = validate_submission(body(problem_id="p1"), S, lookup({"p1": bare})).request.limits
    assert limits.model_dump() == {"time_ms": 2000, "wall_ms": 6000, "memory_mb": 256, "output_kb": 1024}


def test_a_problems_limit_is_range_checked_for_the_language() -> None:
    tight = Settings(max_memory_mb=100)
    err = refused(body(problem_id="p1"), tight, lookup({"p1": {**RECORD, "limits": {"memory_mb": 512}}}))
    assert (err.status, err.code) == (422, "limit_out_of_range")
    assert "limits.memory_mb = 512 (the problem's limit) is out of range for cpp" in err.message
    err = refused(body(problem_id="p1", limits={"time_ms": 0}), S, lookup({"p1": RECORD}))
    assert err.code == "limit_out_of_range" and "problem" not in err.message


@pytest.mark.parametrize(("fields", "code"), [
    ({"test_cases": CASES}, "test_cases_with_problem"),
    ({"stdin": "1\n"}, "stdin_with_problem"),
    ({"checker": {"language": "cpp", "code": "x"}}, "judging_with_problem"),
    ({"interactor": {"language": "cpp", "code": "x"}}, "judging_with_problem"),
    ({"groups": [{"name": "g", "points": 1}]}, "judging_with_problem"),
])
def test_a_problem_job_brings_no_tests_or_judging_of_its_own(fields: dict[str, Any], code: str) -> None:
    get = lookup({"p1": RECORD})
    err = refused(body(problem_id="p1", **fields), S, get)
    assert (err.status, err.code) == (422, code), err.message
    assert "problem_id" in err.message
    assert get.asked == []  # refused before any read


def test_empty_test_cases_and_stdin_are_no_conflict() -> None:
    sub = validate_submission(body(problem_id="p1", test_cases=[], stdin="", groups=[]), S, lookup({"p1": RECORD}))
    assert sub.request.problem_id == "p1"


def test_unknown_or_invalid_problem() -> None:
    err = refused(body(problem_id="nope"), S, lookup({}))
    assert (err.status, err.code) == (404, "problem_not_found") and "'nope'" in err.message
    assert "PUT /problems/nope" in err.message
    for bad in ("", "a/b", "a b", "x" * 65, "p#1", "é"):
        err = refused(body(problem_id=bad), S, lookup({}))
        assert (err.status, err.code) == (422, "invalid_problem_id"), bad
        assert "A-Z, a-z, 0-9" in err.message
