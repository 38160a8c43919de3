"""Function judging (SPEC §9) through the API in all six languages: the same problems (twoSum,
a 2D grid, a string, a double result), right and wrong solutions, and the error cases: a bad
signature or test is a 422, a missing function a COMPILATION_ERROR naming it, a solution that
prints to stdout (while it runs, or before main() / the call: constructors, static and
package initialisers, module top level) is still judged by its result, one that exits early
is never accepted."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.functions.problems import SIGNATURES, TESTS
from tests.functions.solutions import EARLY, EARLY_PRINTS, EXITS, FAKE, PRINTS, RIGHT, WRONG
from tests.integration.test_api import assert_error
from tests.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.executors]

LANGS = ("c", "cpp", "java", "python", "go", "javascript")
PROBLEMS = ("twoSum", "minPathSum", "repeatTwice", "average")


def function_body(lang: str, problem: str, code: str) -> dict[str, Any]:
    return {"language": lang, "code": code, "function": SIGNATURES[problem].model_dump(),
            "test_cases": [{"input": i, "expected": e} for i, e in TESTS[problem]]}


def jobs() -> dict[str, dict[str, Any]]:
    out = {}
    for lang in LANGS:
        for problem in PROBLEMS:
            out[f"{lang}-{problem}-right"] = function_body(lang, problem, RIGHT[lang][problem])
            out[f"{lang}-{problem}-wrong"] = function_body(lang, problem, WRONG[lang][problem])
        out[f"{lang}-missing"] = function_body(lang, "twoSum", RIGHT[lang]["repeatTwice"])
        out[f"{lang}-prints"] = function_body(lang, "twoSum", PRINTS[lang])
        out[f"{lang}-prints-early"] = function_body(lang, "twoSum", EARLY_PRINTS[lang])
        out[f"{lang}-exits"] = function_body(lang, "twoSum", EXITS[lang])
    return out


@pytest.fixture(scope="module")
def results(stack: Stack) -> dict[str, dict[str, Any]]:
    stack.require_executors(*LANGS)
    return stack.run_all(jobs(), timeout=600)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("problem", PROBLEMS)
def test_right_solutions_are_accepted(results: dict[str, dict[str, Any]], lang: str, problem: str) -> None:
    r = results[f"{lang}-{problem}-right"]
    assert r["verdict"] == "ACCEPTED", (r.get("compilation_error"), r["results"])
    # the test's output is the result's JSON, not the framed line
    assert json.loads(r["results"][0]["actual"]) == json.loads(TESTS[problem][0][1])


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("problem", PROBLEMS)
def test_wrong_solutions_are_wrong(results: dict[str, dict[str, Any]], lang: str, problem: str) -> None:
    r = results[f"{lang}-{problem}-wrong"]
    assert r["verdict"] == "WRONG_ANSWER", (r.get("compilation_error"), r["results"])
    assert [t["verdict"] for t in r["results"]] == ["WRONG_ANSWER"] * len(TESTS[problem]), r["results"]


@pytest.mark.parametrize("lang", LANGS)
def test_a_missing_function_is_a_compilation_error_naming_it(results: dict[str, dict[str, Any]], lang: str) -> None:
    r = results[f"{lang}-missing"]
    assert r["verdict"] == "COMPILATION_ERROR", r["results"]
    assert "twoSum" in r["compilation_error"], r["compilation_error"]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(("job", "printed"), [("prints", "debug"), ("prints-early", EARLY)])
def test_printing_does_not_corrupt_the_result(results: dict[str, dict[str, Any]], lang: str, job: str,
                                              printed: str) -> None:
    r = results[f"{lang}-{job}"]
    assert r["verdict"] == "ACCEPTED", (r.get("compilation_error"), r["results"])
    for test, (_, expected) in zip(r["results"], TESTS["twoSum"], strict=True):
        # the solution's prints (a fake result line among them) went to its stderr
        assert printed in test["stderr"] and FAKE in test["stderr"], test
        assert json.loads(test["actual"]) == json.loads(expected), test


@pytest.mark.parametrize("lang", LANGS)
def test_exiting_early_is_never_accepted(results: dict[str, dict[str, Any]], lang: str) -> None:
    r = results[f"{lang}-exits"]
    assert r["verdict"] in ("WRONG_ANSWER", "RUNTIME_ERROR"), r
    assert all(t["verdict"] in ("WRONG_ANSWER", "RUNTIME_ERROR") for t in r["results"]), r["results"]


@pytest.mark.parametrize(("function", "tests", "code"), [
    ({"name": "f", "params": [{"name": "x", "type": "float"}], "returns": "int"}, [["[1]", "1"]], "invalid_signature"),
    ({"name": "f", "params": [{"name": "x", "type": "int"}], "returns": "void"}, [["[1]", "1"]], "invalid_signature"),
    ({"name": "1f", "params": [], "returns": "int"}, [["[]", "1"]], "invalid_signature"),
    ({"name": "f", "params": [{"name": "x", "type": "int"}], "returns": "int"}, [["[1, 2]", "1"]],
     "invalid_function_test"),
    ({"name": "f", "params": [{"name": "x", "type": "int"}], "returns": "int"}, [["[1]", "\"one\""]],
     "invalid_function_test"),
])
def test_bad_signatures_and_tests_are_422(stack: Stack, function: dict[str, Any], tests: list[list[str]],
                                          code: str) -> None:
    body = {"language": "python", "code": "class Solution: pass\n", "function": function,
            "test_cases": [{"input": i, "expected": e} for i, e in tests]}
    assert_error(stack.client.post("/submit", json=body), 422, code)
