"""Judging beyond output comparison (SPEC §7), through the real stack and the real sandbox:
checkers in C++ and Python (testlib exit codes, partial points), hostile and broken checkers,
groups with dependencies and exact scores, skipping, and multi-file programs.

All jobs are submitted at once (module fixture) so the executors work through them in
parallel; each test checks its own job."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.stack import Stack, verdicts

pytestmark = [pytest.mark.integration, pytest.mark.executors]

FLOAT_CHECKER_CPP = r"""
#include <bits/stdc++.h>
int main(int argc, char** argv) {
    std::ifstream in(argv[1]), out(argv[2]), ans(argv[3]);
    double want, got; int n = 0;
    while (ans >> want) {
        if (!(out >> got)) { fprintf(stderr, "answer too short at %d\n", n); return 1; }
        if (std::fabs(got - want) > 1e-6 * std::max(1.0, std::fabs(want))) {
            fprintf(stderr, "value %d: expected %.9f, got %.9f\n", n, want, got); return 1;
        }
        n++;
    }
    std::string extra;
    if (out >> extra) { fprintf(stderr, "extra output\n"); return 2; }
    fprintf(stderr, "ok %d values\n", n);
    return 0;
}
"""
DIVIDE_PY = "a, b = map(int, input().split())\nprint(a / b)\n"
DIVIDE_PY_FORMATTED = "a, b = map(int, input().split())\nprint(f'{a / b:.12f}')\n"
DIVIDE_WRONG_PY = "a, b = map(int, input().split())\nprint(a // b)\n"
DIVIDE_TESTS = [{"input": "1 3\n", "expected": "0.333333333333\n"}, {"input": "10 4\n", "expected": "2.5\n"},
                {"input": "2 7\n", "expected": "0.2857142857\n"}]

PERMUTATION_CHECKER_PY = """
import sys
n = int(open(sys.argv[1]).read())
try:
    got = list(map(int, open(sys.argv[2]).read().split()))
except ValueError:
    sys.stderr.write("not numbers\\n"); sys.exit(2)
if sorted(got) != list(range(1, n + 1)):
    sys.stderr.write(f"not a permutation of 1..{n}\\n"); sys.exit(1)
sys.stderr.write("a valid permutation\\n")
"""
PERM_FORWARD_C = '#include <stdio.h>\nint main(void){int n; scanf("%d",&n); for(int i=1;i<=n;i++) printf("%d ",i);}'
PERM_BACKWARD_CPP = "#include <bits/stdc++.h>\nint main(){int n; std::cin>>n; for(int i=n;i>=1;i--) std::cout<<i<<' ';}"
PERM_BROKEN_PY = "n = int(input())\nprint(*range(1, n))\n"

# exit 7 + "points X": X out of the test's points
PARTIAL_CHECKER_PY = """
import sys
got = open(sys.argv[2]).read().split()
want = open(sys.argv[3]).read().split()
if got == want:
    sys.exit(0)
if got and got[0] == want[0]:
    sys.stderr.write("first value right\\npoints 0.5\\n"); sys.exit(7)
sys.exit(1)
"""
ECHO_PY = "import sys\nsys.stdout.write(sys.stdin.read())\n"

HOSTILE_CHECKERS = {
    "crash": "#include <stdlib.h>\nint main(void){ abort(); }",
    "loop": "int main(void){ volatile unsigned long x = 0; for (;;) x++; }",
    "flood": '#include <stdio.h>\nint main(void){ for (long i = 0; i < 100000000; i++) putchar(120); return 0; }',
    "shadow": ('#include <stdio.h>\nint main(void){ FILE *f = fopen("/etc/shadow", "r");'
               ' if (f) { int c; while ((c = fgetc(f)) != EOF) fputc(c, stderr); return 0; }'
               ' perror("shadow"); return 0; }'),
    "socket": ('#include <sys/socket.h>\n#include <stdio.h>\nint main(void){ int s = socket(AF_INET, SOCK_STREAM, 0);'
               ' printf("%d", s); return 0; }'),
    "exit5": "int main(void){ return 5; }",
    "fail": '#include <stdio.h>\nint main(void){ fprintf(stderr, "bad test data"); return 3; }',
    "no-compile": "int main(void){ return }",
}

SLEEPY_PY = """
import time
data = input().strip()
if data == "slow":
    time.sleep(10)
print(data)
"""

UTIL_H = "int twice(int x);\n"
UTIL_C = '#include "util.h"\nint twice(int x) { return 2 * x; }\n'
MAIN_C = '#include <stdio.h>\n#include "lib/util.h"\nint main(void){int a; scanf("%d",&a); printf("%d\\n", twice(a));}'
UTIL_CPP = '#include "util.hpp"\nint twice(int x) { return 2 * x; }\n'
MAIN_CPP = '#include <bits/stdc++.h>\n#include "util.hpp"\nint main(){int a; std::cin>>a; std::cout<<twice(a)<<"\\n";}'
HELPER_JAVA = "package pkg;\npublic class Helper { public static int twice(int x) { return 2 * x; } }\n"
MAIN_JAVA = ("import java.util.*;\npublic class Main { public static void main(String[] a) {"
             " System.out.println(pkg.Helper.twice(new Scanner(System.in).nextInt())); } }")
CONST_PY = "K = 2\n"
MAIN_PY = "from consts import K\nprint(K * int(input()))\n"
TWICE_TESTS = [{"input": "21\n", "expected": "42\n"}]


def checker(language: str, code: str, **extra: Any) -> dict[str, Any]:
    return {"language": language, "code": code, **extra}


def body(language: str, code: str, tests: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"language": language, "code": code, "test_cases": tests, **fields}


JOBS: dict[str, dict[str, Any]] = {
    "float-ok": body("python", DIVIDE_PY, DIVIDE_TESTS, checker=checker("cpp", FLOAT_CHECKER_CPP)),
    "float-ok-formatted": body("python", DIVIDE_PY_FORMATTED, DIVIDE_TESTS, checker=checker("cpp", FLOAT_CHECKER_CPP)),
    "float-wrong": body("python", DIVIDE_WRONG_PY, DIVIDE_TESTS, checker=checker("cpp", FLOAT_CHECKER_CPP)),
    "perm-forward": body("c", PERM_FORWARD_C, [{"input": "5\n"}, {"input": "1\n"}],
                         checker=checker("python", PERMUTATION_CHECKER_PY)),
    "perm-backward": body("cpp", PERM_BACKWARD_CPP, [{"input": "5\n"}, {"input": "3\n"}],
                          checker=checker("python", PERMUTATION_CHECKER_PY)),
    "perm-broken": body("python", PERM_BROKEN_PY, [{"input": "4\n"}],
                        checker=checker("python", PERMUTATION_CHECKER_PY)),
    "partial-min": body(
        "python", ECHO_PY,
        [{"input": "1 2\n", "expected": "1 2\n", "group": "g", "points": 2},
         {"input": "7 9\n", "expected": "7 8\n", "group": "g", "points": 2},
         {"input": "5 5\n", "expected": "5 6\n", "points": 4}],
        groups=[{"name": "g", "points": 30, "scoring": "min"}], checker=checker("python", PARTIAL_CHECKER_PY)),
    "subtasks": body(
        "python", SLEEPY_PY,
        [{"input": "a\n", "expected": "a\n", "group": "samples", "points": 0},
         {"input": "b\n", "expected": "WRONG\n", "group": "small"},
         {"input": "slow\n", "expected": "slow\n", "group": "big"},
         {"input": "slow\n", "expected": "slow\n", "group": "big"},
         {"input": "c\n", "expected": "c\n", "points": 0.1},
         {"input": "d\n", "expected": "d\n", "points": 0.2}],
        groups=[{"name": "samples", "points": 0}, {"name": "small", "points": 30, "depends_on": ["samples"]},
                {"name": "big", "points": 70, "depends_on": ["small"]}],
        limits={"wall_ms": 20000}),
    "stop-early": body("python", SLEEPY_PY,
                       [{"input": "a\n", "expected": "a\n"}, {"input": "b\n", "expected": "x\n"},
                        {"input": "slow\n", "expected": "slow\n"}, {"input": "slow\n", "expected": "slow\n"},
                        {"input": "slow\n", "expected": "slow\n"}],
                       stop_on_first_failure=True, limits={"wall_ms": 20000}),
    "multi-c": body("c", MAIN_C, TWICE_TESTS, files=[{"name": "lib/util.h", "content": UTIL_H},
                                                      {"name": "lib/util.c", "content": UTIL_C}]),
    "multi-cpp": body("cpp", MAIN_CPP, TWICE_TESTS, files=[{"name": "util.hpp", "content": UTIL_H},
                                                            {"name": "util.cpp", "content": UTIL_CPP}]),
    "multi-java": body("java", MAIN_JAVA, TWICE_TESTS, files=[{"name": "pkg/Helper.java", "content": HELPER_JAVA}]),
    "multi-python": body("python", MAIN_PY, TWICE_TESTS, files=[{"name": "consts.py", "content": CONST_PY}]),
    **{f"checker-{name}": body("python", ECHO_PY, [{"input": "1\n", "expected": "1\n"}], checker=checker("c", code))
       for name, code in HOSTILE_CHECKERS.items()},
}


@pytest.fixture(scope="module")
def results(stack: Stack) -> dict[str, dict[str, Any]]:
    stack.require_executors("c", "cpp", "java", "python")
    start = time.monotonic()
    out = stack.run_all(JOBS, timeout=300)
    out["_elapsed"] = {"s": time.monotonic() - start}
    return out


def test_float_answers_judged_by_a_cpp_checker(results: dict[str, dict[str, Any]]) -> None:
    for key in ("float-ok", "float-ok-formatted"):
        r = results[key]
        assert r["verdict"] == "ACCEPTED", (key, r["results"], r.get("error"))
        assert all(t["checker_message"].startswith("ok ") for t in r["results"]), r["results"]
    wrong = results["float-wrong"]
    assert wrong["verdict"] == "WRONG_ANSWER" and "expected" in wrong["results"][0]["checker_message"]


def test_any_valid_permutation_by_a_python_checker(results: dict[str, dict[str, Any]]) -> None:
    assert results["perm-forward"]["verdict"] == "ACCEPTED", results["perm-forward"]
    assert results["perm-backward"]["verdict"] == "ACCEPTED", results["perm-backward"]
    broken = results["perm-broken"]
    assert broken["verdict"] == "WRONG_ANSWER"
    assert broken["results"][0]["checker_message"] == "not a permutation of 1..4\n"


def test_partial_points_with_min_scoring(results: dict[str, dict[str, Any]]) -> None:
    r = results["partial-min"]
    tests = r["results"]
    # a partial score is ACCEPTED with its fraction (X / the test's points)
    assert [t["verdict"] for t in tests] == ["ACCEPTED", "ACCEPTED", "ACCEPTED"], tests
    assert r["verdict"] == "ACCEPTED"
    assert [t["score"] for t in tests] == [2, 0.5, 0.5]  # 2 x 1, 0.5 of 2, 0.5 of 4
    assert tests[1]["checker_message"] == "first value right\npoints 0.5\n"
    # group g: 30 x its smallest fraction (0.5 / 2); the ungrouped test: its own 0.5
    assert r["groups"] == [{"name": "g", "score": 7.5, "points": 30, "verdict": "ACCEPTED"}]
    assert (r["score"], r["max_score"]) == (8, 34)


def test_groups_skip_their_dependants_without_running_them(results: dict[str, dict[str, Any]]) -> None:
    r = results["subtasks"]
    assert verdicts(r) == ["ACCEPTED", "WRONG_ANSWER", "SKIPPED", "SKIPPED", "ACCEPTED", "ACCEPTED"], r["results"]
    assert r["verdict"] == "WRONG_ANSWER"  # SKIPPED is never the job's verdict
    skipped = r["results"][2:4]
    assert all(t["runtime_ms"] == 0 and t["score"] == 0 for t in skipped), skipped
    assert {g["name"]: (g["score"], g["verdict"]) for g in r["groups"]} == {
        "samples": (0, "ACCEPTED"), "small": (0, "WRONG_ANSWER"), "big": (0, "SKIPPED")}
    assert (r["score"], r["max_score"]) == (0.3, 100.3)  # exact: 0.1 + 0.2
    assert r["passed"] == 3


def test_stop_on_first_failure(results: dict[str, dict[str, Any]]) -> None:
    r = results["stop-early"]
    assert verdicts(r)[:2] == ["ACCEPTED", "WRONG_ANSWER"]
    assert verdicts(r)[2:] == ["SKIPPED"] * 3, r["results"]
    assert r["verdict"] == "WRONG_ANSWER"


def test_skipped_tests_did_not_run(results: dict[str, dict[str, Any]]) -> None:
    """The skipped tests sleep 10 s each if run; every job was done well before that."""
    assert results["_elapsed"]["s"] < 60
    for key in ("subtasks", "stop-early"):
        assert all(t["runtime_ms"] < 5000 for t in results[key]["results"]), results[key]["results"]


@pytest.mark.parametrize("key", ["multi-c", "multi-cpp", "multi-java", "multi-python"])
def test_multi_file_programs(results: dict[str, dict[str, Any]], key: str) -> None:
    r = results[key]
    assert r["verdict"] == "ACCEPTED", (r.get("compilation_error"), r["results"])


@pytest.mark.parametrize("name", ["crash", "loop", "flood", "exit5", "fail", "socket"])
def test_a_broken_checker_is_a_judge_error_not_the_solutions(results: dict[str, dict[str, Any]], name: str) -> None:
    r = results[f"checker-{name}"]
    assert r["status"] == "completed"
    assert r["verdict"] == "JUDGE_ERROR", (name, r["results"], r.get("error"))
    assert r["error"] and r["error"].startswith("test 1: "), r["error"]
    assert r["compilation_error"] is None


def test_a_checker_reading_shadow_sees_nothing(results: dict[str, dict[str, Any]]) -> None:
    r = results["checker-shadow"]
    message = r["results"][0]["checker_message"] or ""
    assert "root:" not in message, message  # the sandbox hides /etc/shadow
    assert r["verdict"] == "ACCEPTED"  # it exited 0: its verdict, and nothing leaked


def test_a_checker_that_does_not_compile(results: dict[str, dict[str, Any]]) -> None:
    r = results["checker-no-compile"]
    assert r["status"] == "completed" and r["verdict"] == "JUDGE_ERROR"
    assert "the checker does not compile" in r["error"] and "error" in r["error"], r["error"]
    assert r["compilation_error"] is None  # the solution is not blamed
