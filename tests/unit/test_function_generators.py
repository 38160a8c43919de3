"""The per-language generators of function judging, read without compiling anything: the
signatures they expect (SPEC §9's conventions), what they put in the box, and the static
missing-function check. tests/functions runs them through the real toolchains."""

from __future__ import annotations

import inspect

import pytest

from executor_c import harness as c
from executor_cpp import harness as cpp
from executor_go import harness as go
from executor_go.spec import SPEC as GO
from executor_java import harness as java
from executor_java.spec import SPEC as JAVA
from executor_java.spec import main_class, run_class
from executor_javascript import harness as js
from executor_python import harness as py
from shared.judge_config import FunctionSpec
from shared.language_spec import LanguageSpec
from tests.functions.conftest import SPECS


def fn(name: str, params: list[tuple[str, str]], returns: str) -> FunctionSpec:
    return FunctionSpec.model_validate({"name": name, "params": [{"name": n, "type": t} for n, t in params],
                                        "returns": returns})


TWO_SUM = fn("twoSum", [("nums", "int[]"), ("target", "int")], "int[]")
GRID = fn("islands", [("grid", "int[][]"), ("words", "string[]"), ("big", "long"), ("on", "bool")], "string[][]")


def test_c_signatures_follow_leetcode() -> None:
    assert c.prototype(TWO_SUM) == "int* twoSum(int* nums, int numsSize, int target, int* returnSize)"
    assert c.prototype(GRID) == ("char*** islands(int** grid, int gridSize, int* gridColSize, char** words, "
                                 "int wordsSize, long long big, bool on, int* returnSize, int** returnColumnSizes)")
    assert c.prototype(fn("f", [], "double")) == "double f(void)"


def test_cpp_java_python_go_js_signatures() -> None:
    assert cpp.method(GRID) == ("vector<vector<string>> islands(vector<vector<int>>& grid, vector<string>& words, "
                                "long long big, bool on)")
    assert java.method(GRID) == "public String[][] islands(int[][] grid, String[] words, long big, boolean on)"
    assert py.method(TWO_SUM).endswith("def twoSum(self, nums: List[int], target: int) -> List[int]:")
    assert go.signature(GRID) == "func islands(grid [][]int, words []string, big int64, on bool) [][]string"
    assert js.method(TWO_SUM) == "class Solution { twoSum(nums, target) { ... } }"


@pytest.mark.parametrize("lang", sorted(SPECS))
def test_every_spec_generates_a_program(lang: str) -> None:
    spec: LanguageSpec = SPECS[lang]()
    program = spec.function_program("// the solution\n", TWO_SUM)
    assert program.source_name in program.files and len(program.files) == 2
    # the solution's file is not compiled on its own where the harness includes it
    sources = spec.extra_sources(program.extra_names)
    assert sources == ([] if lang in ("c", "cpp") else program.extra_names)
    # nothing of a test reaches the generator: the box cannot hold an expected answer
    assert list(inspect.signature(spec.function_program).parameters) == ["code", "fn"]


def test_solution_files_keep_the_users_line_numbers() -> None:
    code = "class Solution {\n  public int[] twoSum(int[] nums, int target) { return null; }\n}\n"
    files = JAVA.function_program(code, TWO_SUM).files
    assert files["Solution.java"].splitlines()[1:] == code.splitlines()[1:]
    assert files["Solution.java"].startswith("import java.util.*; class Solution {")
    assert main_class(files["Main.java"])[1] == "Main" and run_class(files["Main.java"]) == "Main"
    goes = GO.function_program("func twoSum(nums []int, target int) []int { return nil }\n", TWO_SUM).files
    assert goes["solution.go"] == "package main; func twoSum(nums []int, target int) []int { return nil }\n"
    kept = "// x\npackage main\n\nfunc twoSum(nums []int, target int) []int { return nil }\n"
    assert GO.function_program(kept, TWO_SUM).files["solution.go"] == kept
    assert js.solution_js("class Solution {}", TWO_SUM).startswith("class Solution {}\n;module.exports = ")


@pytest.mark.parametrize(("lang", "defined", "absent"), [
    ("c", "int* twoSum(int* nums, int numsSize, int target, int* returnSize) {}",
     "/* int* twoSum(int* n) */ int* twoSums(int* nums);"),
    ("cpp", "class Solution { public: vector<int> twoSum(vector<int>& n, int t); };",
     'class Solution { string s = "twoSum("; };'),
    ("java", "class Solution { public int[] twoSum(int[] n, int t) { return n; } }",
     "class Other { public int[] twoSum(int[] n, int t) { return n; } }"),
    ("python", "class Solution:\n    def twoSum(self, nums, target):\n        return []\n",
     "def twoSum(nums, target):\n    return []\nclass Solution:\n    pass\n"),
    ("go", "func twoSum(nums []int, target int) []int { return nil }", "// func twoSum(\nfunc two(n []int) {}"),
    ("javascript", "var twoSum = function(nums, target) { return []; };", "const s = 'twoSum(';"),
])
def test_missing_function(lang: str, defined: str, absent: str) -> None:
    spec = SPECS[lang]()
    assert spec.missing_function(defined, TWO_SUM) is None
    message = spec.missing_function(absent, TWO_SUM)
    assert message is not None and "does not define the function twoSum" in message
    assert "twoSum(" in message  # with the signature it expects


def test_python_syntax_errors_are_left_to_the_compile_step() -> None:
    assert SPECS["python"]().missing_function("class Solution:\n    def twoSum(self\n", TWO_SUM) is None
