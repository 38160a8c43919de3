"""Function judging end to end in each language, with the real toolchains and sandbox helper:
the generated harness around a user's solution compiles in the compile profile, runs every
test in the language's profile, and framing + compare give the verdict. Right solutions pass
every test, wrong ones fail every test; a solution's own prints never corrupt the result; one
that exits early is never accepted; a missing function is a compilation error naming it."""

from __future__ import annotations

import pytest

from tests.functions.problems import SIGNATURES, TESTS, TWO_SUM
from tests.functions.runner import FunctionRunner
from tests.functions.solutions import EARLY, EARLY_PRINTS, EXITS, FAKE, PRINTS, RIGHT, WRONG

LANGS = ["c", "cpp", "java", "python", "go", "javascript"]
by_lang = pytest.mark.parametrize("runner", LANGS, indirect=True)


def _explain(outcomes: list) -> str:  # type: ignore[type-arg]
    return "\n".join(f"{o.verdict} actual={o.actual} reason={o.reason} run={o.run} stderr={o.stderr[-1500:]!r}"
                     for o in outcomes)


@by_lang
@pytest.mark.parametrize("problem", list(SIGNATURES))
def test_right_solution_is_accepted(runner: FunctionRunner, problem: str) -> None:
    outcomes = runner.judge(RIGHT[runner.spec.name][problem], SIGNATURES[problem], TESTS[problem])
    assert [o.verdict for o in outcomes] == ["ACCEPTED"] * len(TESTS[problem]), _explain(outcomes)


@by_lang
@pytest.mark.parametrize("problem", ["twoSum", "minPathSum", "repeatTwice", "average"])
def test_wrong_solution_is_wrong_answer(runner: FunctionRunner, problem: str) -> None:
    outcomes = runner.judge(WRONG[runner.spec.name][problem], SIGNATURES[problem], TESTS[problem])
    assert [o.verdict for o in outcomes] == ["WRONG_ANSWER"] * len(TESTS[problem]), _explain(outcomes)
    assert all(o.actual is not None and o.reason == "the result differs from the expected one" for o in outcomes)


@by_lang
def test_solution_prints_do_not_corrupt_the_result(runner: FunctionRunner) -> None:
    code = PRINTS[runner.spec.name]
    assert code != RIGHT[runner.spec.name]["twoSum"]
    outcomes = runner.judge(code, TWO_SUM, TESTS["twoSum"])
    assert [o.verdict for o in outcomes] == ["ACCEPTED"] * len(outcomes), _explain(outcomes)
    for o in outcomes:
        assert b"debug" in o.stderr and FAKE.encode() in o.stderr, o.stderr
        assert o.stdout.count(b"\n") == 1 and FAKE.encode() not in o.stdout, o.stdout


@by_lang
def test_prints_before_main_or_the_call_do_not_corrupt_the_result(runner: FunctionRunner) -> None:
    outcomes = runner.judge(EARLY_PRINTS[runner.spec.name], TWO_SUM, TESTS["twoSum"])
    assert [o.verdict for o in outcomes] == ["ACCEPTED"] * len(outcomes), _explain(outcomes)
    for o in outcomes:
        assert EARLY.encode() in o.stderr and FAKE.encode() in o.stderr, o.stderr
        assert o.stdout.count(b"\n") == 1 and FAKE.encode() not in o.stdout, o.stdout


@by_lang
def test_exiting_before_returning_is_never_accepted(runner: FunctionRunner) -> None:
    outcomes = runner.judge(EXITS[runner.spec.name], TWO_SUM, TESTS["twoSum"])
    assert [o.verdict for o in outcomes] == ["WRONG_ANSWER"] * len(outcomes), _explain(outcomes)
    assert all(o.run is not None and o.run.exit_code == 0 and o.stdout == b"" for o in outcomes)
    assert all("returned no result" in (o.reason or "") for o in outcomes)


MISSING = {
    "c": "int* twoSums(int* nums, int numsSize, int target, int* returnSize) { *returnSize = 0; return 0; }\n",
    "cpp": "class Solution {\npublic:\n    vector<int> twoSums(vector<int>& nums, int target) { return {}; }\n};\n",
    "java": "class Solution {\n    public int[] twoSums(int[] nums, int target) { return null; }\n}\n",
    "python": "class Solution:\n    def twoSums(self, nums, target):\n        return []\n",
    "go": "func twoSums(nums []int, target int) []int { return nil }\n",
    "javascript": "class Solution {\n  twoSums(nums, target) { return []; }\n}\n",
}


@by_lang
def test_missing_function_is_named(runner: FunctionRunner) -> None:
    spec, code = runner.spec, MISSING[runner.spec.name]
    message = spec.missing_function(code, TWO_SUM)
    assert message is not None and "twoSum" in message and "does not define" in message, message
    assert spec.missing_function(RIGHT[spec.name]["twoSum"], TWO_SUM) is None
    if spec.name in ("python", "javascript"):
        return  # no compiler: the static check is the COMPILATION_ERROR
    (outcome,) = runner.judge(code, TWO_SUM, TESTS["twoSum"])
    assert outcome.verdict == "COMPILATION_ERROR", _explain([outcome])
    assert "twoSum" in (outcome.reason or ""), outcome.reason


@by_lang
def test_a_wrong_signature_does_not_compile(runner: FunctionRunner) -> None:
    code = {
        "c": "int* twoSum(long* nums, int numsSize, int target, int* returnSize) { return 0; }\n",
        "cpp": "class Solution {\npublic:\n    vector<int> twoSum(vector<string>& nums, int t) { return {}; }\n};\n",
        "java": "class Solution {\n    public int[] twoSum(String nums, int target) { return null; }\n}\n",
        "go": "func twoSum(nums []string, target int) []int { return nil }\n",
    }.get(runner.spec.name)
    if code is None:
        pytest.skip("dynamically typed: nothing to check at compile time")
    (outcome,) = runner.judge(code, TWO_SUM, TESTS["twoSum"])
    assert outcome.verdict == "COMPILATION_ERROR" and "twoSum" in (outcome.reason or ""), _explain([outcome])


@pytest.mark.parametrize("runner", ["javascript"], indirect=True)
def test_javascript_leetcode_style_plain_function(runner: FunctionRunner) -> None:
    code = ("var twoSum = function (nums, target) {\n  return new Helper().find(nums, target);\n};\n"
            "class Helper { find(n, t) { for (let i = 0; i < n.length; i++) for (let j = i + 1; j < n.length; j++)"
            " if (n[i] + n[j] === t) return [i, j]; return []; } }\n")
    outcomes = runner.judge(code, TWO_SUM, TESTS["twoSum"])
    assert [o.verdict for o in outcomes] == ["ACCEPTED"] * len(outcomes), _explain(outcomes)


@pytest.mark.parametrize("runner", ["javascript"], indirect=True)
def test_javascript_long_beyond_2_53_is_a_bigint(runner: FunctionRunner) -> None:
    code = ("class Solution {\n  sumAll(nums) {\n"
            "    if (typeof nums[0] !== 'bigint') throw new Error(typeof nums[0]);\n"
            "    return nums.reduce((a, b) => BigInt(a) + BigInt(b), 0n);\n  }\n}\n")
    outcomes = runner.judge(code, SIGNATURES["sumAll"], TESTS["sumAll"][:2])
    assert [o.verdict for o in outcomes] == ["ACCEPTED"] * 2, _explain(outcomes)


@pytest.mark.parametrize("runner", ["python", "javascript"], indirect=True)
def test_a_result_of_the_wrong_type_is_a_runtime_error_that_says_so(runner: FunctionRunner) -> None:
    code = {"python": "class Solution:\n    def twoSum(self, nums, target):\n        return 'x'\n",
            "javascript": "class Solution {\n  twoSum(nums, target) { return 'x'; }\n}\n"}[runner.spec.name]
    (outcome, *_) = runner.judge(code, TWO_SUM, TESTS["twoSum"][:1])
    assert outcome.verdict == "RUNTIME_ERROR" and b"not int[]" in outcome.stderr, _explain([outcome])


@pytest.mark.parametrize("runner", ["python", "javascript"], indirect=True)
def test_a_syntax_error_in_the_solution_is_a_compilation_error(runner: FunctionRunner) -> None:
    code = {"python": "class Solution:\n    def twoSum(self, nums, target)\n        return []\n",
            "javascript": "class Solution {\n  twoSum(nums, target) { return [; }\n}\n"}[runner.spec.name]
    (outcome,) = runner.judge(code, TWO_SUM, TESTS["twoSum"])
    assert outcome.verdict == "COMPILATION_ERROR", _explain([outcome])
    reason = outcome.reason or ""
    assert "solution" in reason and (":2" in reason or "line 2" in reason), reason
