"""Interactive problems (SPEC §8) through the real stack and the real helper: guess-the-number
with a C++ and a Python interactor against a C++ and a Python binary search (and a Java one);
solutions that ask too much, never flush, exit early, flood or crash; interactors that crash,
loop, fail, open a socket, do not compile or look for the solution's source; partial points
from the interactor; a checker on the interactor's output; groups; stored problems (JSON and
zip) with an interactor; the interaction's bytes, previews and full log.

The game: the test's input is N, its answer the secret (1 <= secret <= N). The interactor sends
N, then answers each `? x` with `<` (the secret is smaller), `>` or `=`; it allows
N.bit_length() queries (what a binary search needs at most), writes the number of queries used
to its output file (/tmp/output, for a checker) and says what happened on stderr.

All jobs are submitted at once (module fixture) so the executors work through them in
parallel; each test checks its own job."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.integration.test_problems_api import put_zip, zipped
from tests.stack import Stack, verdicts

pytestmark = [pytest.mark.integration, pytest.mark.executors]

INTERACTOR_CPP = r"""
#include <bits/stdc++.h>
int main(int argc, char** argv) {
    long long n, secret;
    std::ifstream(argv[1]) >> n;
    std::ifstream(argv[3]) >> secret;
    int cap = 0;
    for (long long m = n; m; m >>= 1) cap++;
    printf("%lld\n", n); fflush(stdout);
    for (int used = 1;; used++) {
        char q; long long x;
        if (scanf(" %c %lld", &q, &x) != 2 || q != '?') {
            fprintf(stderr, "the program stopped before guessing (%d queries)\n", used - 1); return 1;
        }
        if (used > cap) { fprintf(stderr, "too many queries: %d > %d\n", used, cap); return 1; }
        if (x == secret) {
            printf("=\n"); fflush(stdout);
            std::ofstream(argv[2]) << used << "\n";
            fprintf(stderr, "found %lld in %d queries\n", secret, used); return 0;
        }
        printf(secret < x ? "<\n" : ">\n"); fflush(stdout);
    }
}
"""

INTERACTOR_PY = r"""
import sys
n = int(open(sys.argv[1]).read())
secret = int(open(sys.argv[3]).read())
cap = n.bit_length()
print(n, flush=True)
used = 0
while True:
    line = sys.stdin.readline().split()
    if len(line) != 2 or line[0] != "?":
        sys.stderr.write(f"the program stopped before guessing ({used} queries)\n")
        sys.exit(1)
    used += 1
    if used > cap:
        sys.stderr.write(f"too many queries: {used} > {cap}\n")
        sys.exit(1)
    x = int(line[1])
    if x == secret:
        print("=", flush=True)
        open(sys.argv[2], "w").write(f"{used}\n")
        sys.stderr.write(f"found {secret} in {used} queries\n")
        sys.exit(0)
    print("<" if secret < x else ">", flush=True)
"""

SEARCH_CPP = r"""
#include <bits/stdc++.h>
int main() {
    long long n; if (!(std::cin >> n)) return 0;
    long long lo = 1, hi = n;
    while (lo <= hi) {
        long long mid = (lo + hi) / 2;
        std::cout << "? " << mid << std::endl;
        std::string r; if (!(std::cin >> r)) return 0;
        if (r == "=") return 0;
        if (r == "<") hi = mid - 1; else lo = mid + 1;
    }
}
"""

SEARCH_PY = """
n = int(input())
lo, hi = 1, n
while lo <= hi:
    mid = (lo + hi) // 2
    print("?", mid, flush=True)
    r = input().strip()
    if r == "=":
        break
    if r == "<":
        hi = mid - 1
    else:
        lo = mid + 1
"""

SEARCH_JAVA = """
import java.io.*;
public class Main {
    public static void main(String[] args) throws IOException {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        long n = Long.parseLong(in.readLine().trim()), lo = 1, hi = n;
        while (lo <= hi) {
            long mid = (lo + hi) / 2;
            System.out.println("? " + mid);
            System.out.flush();
            String r = in.readLine();
            if (r == null || r.equals("=")) return;
            if (r.equals("<")) hi = mid - 1; else lo = mid + 1;
        }
    }
}
"""

# One wasted query before the search: one too many when the search needs all of them. It
# dies on the EOF that follows the interactor's verdict (input()'s EOFError, exit 1): the
# interactor ended first, so its verdict is the test's.
ONE_TOO_MANY_PY = SEARCH_PY.replace('lo, hi = 1, n\n', 'lo, hi = 1, n\nprint("? 0", flush=True)\ninput()\n')
NEVER_FLUSHES_CPP = r"""
#include <cstdio>
int main() { long long n; scanf("%lld", &n); printf("? %lld\n", n / 2); char r[8]; scanf("%7s", r); return 0; }
"""
EXITS_EARLY_PY = "n = int(input())\n"
FLOODS_CPP = r"""
#include <cstdio>
int main() { for (;;) fputs("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", stdout); }
"""
CRASHES_CPP = r"""
#include <bits/stdc++.h>
int main() { long long n; std::cin >> n; std::cout << "? 1" << std::endl; volatile int* p = nullptr; return *p; }
"""
# The solution carries a marker; the interactor looks for it wherever it might reach the
# solution's files (its marker is assembled at run time, so its own source does not hold it).
MARKED_SEARCH_PY = "# solution-secret-4711\n" + SEARCH_PY
SNOOPING_INTERACTOR_PY = r"""
import glob, os, sys
marker = "-".join(["solution", "secret", "4711"]).encode()
seen, found = 0, []
paths = set(glob.glob("*") + glob.glob("../*/*") + glob.glob("/proc/[0-9]*/cwd/*") + glob.glob("/proc/[0-9]*/root/*")
            + glob.glob("/proc/[0-9]*/fd/*") + glob.glob("/tmp/*") + glob.glob("/judge/*") + glob.glob("/box/*")
            + glob.glob("/work/*") + glob.glob("/proc/[0-9]*/environ") + glob.glob("/proc/[0-9]*/cmdline"))
for path in sorted(paths):
    try:
        if os.path.isfile(path) and "/fd/" not in path:
            seen += 1
            if marker in open(path, "rb").read(1 << 20):
                found.append(path)
    except OSError:
        pass
sys.stderr.write(f"looked at {seen} files, the solution's source in: {found}\n")
""" + INTERACTOR_PY.replace("import sys\n", "", 1)

CRASHING_INTERACTOR_CPP = r"""
#include <cstdio>
#include <cstdlib>
int main() { printf("1000\n"); fflush(stdout); char q; long long x; scanf(" %c %lld", &q, &x); abort(); }
"""
LOOPING_INTERACTOR_C = "int main(void){ volatile unsigned long x = 0; for (;;) x++; }"
FAILING_INTERACTOR_PY = 'import sys\nsys.stderr.write("bad test data\\n")\nsys.exit(3)\n'
SOCKET_INTERACTOR_C = ('#include <sys/socket.h>\n#include <stdio.h>\n'
                       'int main(void){ int s = socket(AF_INET, SOCK_STREAM, 0); printf("%d\\n", s); return 0; }')
BROKEN_INTERACTOR_CPP = "int main() { return }"

# Partial points from the interactor (testlib's exit 7): half of the test's points when the
# guess took more than 5 queries.
PARTIAL_INTERACTOR_PY = INTERACTOR_PY.replace(
    '        sys.stderr.write(f"found {secret} in {used} queries\\n")\n        sys.exit(0)',
    '        sys.stderr.write(f"found {secret} in {used} queries\\npoints {2 if used > 5 else 4}\\n")\n'
    '        sys.exit(7)')
assert PARTIAL_INTERACTOR_PY != INTERACTOR_PY

# A checker on the interactor's output file: at most 5 queries.
FEW_QUERIES_CHECKER_PY = """
import sys
used = int(open(sys.argv[2]).read())
if used > 5:
    sys.stderr.write(f"{used} queries, more than 5\\n"); sys.exit(1)
sys.stderr.write(f"{used} queries\\n")
"""

# N, secret: the search needs all N.bit_length() queries for the first (1000: 10 queries).
GAME = [{"input": "1000\n", "expected": "1000\n"}, {"input": "1\n", "expected": "1\n"},
        {"input": "1000000\n", "expected": "123457\n"}]
HARDEST = [GAME[0]]
QUICK = [{"input": "1000\n", "expected": "500\n"}]  # found by the first query
INTERACTORS = {"cpp": INTERACTOR_CPP, "python": INTERACTOR_PY}
SOLUTIONS = {"cpp": SEARCH_CPP, "python": SEARCH_PY}
SHORT = {"time_ms": 1000, "wall_ms": 3000}


def interactor(language: str, code: str) -> dict[str, Any]:
    return {"language": language, "code": code}


def body(language: str, code: str, tests: list[dict[str, Any]], judge: dict[str, Any], **fields: Any
         ) -> dict[str, Any]:
    return {"language": language, "code": code, "test_cases": tests, "interactor": judge, **fields}


PY_INTERACTOR = interactor("python", INTERACTOR_PY)
JOBS: dict[str, dict[str, Any]] = {
    **{f"search-{sol}-vs-{inter}": body(sol, SOLUTIONS[sol], GAME, interactor(inter, INTERACTORS[inter]))
       for sol in SOLUTIONS for inter in INTERACTORS},
    "search-java-vs-cpp": body("java", SEARCH_JAVA, GAME, interactor("cpp", INTERACTOR_CPP)),
    "one-too-many": body("python", ONE_TOO_MANY_PY, HARDEST, PY_INTERACTOR),
    "never-flushes": body("cpp", NEVER_FLUSHES_CPP, HARDEST, interactor("cpp", INTERACTOR_CPP), limits=SHORT),
    "exits-early": body("python", EXITS_EARLY_PY, HARDEST, PY_INTERACTOR),
    "floods": body("cpp", FLOODS_CPP, HARDEST, PY_INTERACTOR, limits={"output_kb": 1024, **SHORT}),
    "crashes": body("cpp", CRASHES_CPP, HARDEST, interactor("cpp", INTERACTOR_CPP)),
    "interactor-crashes": body("python", SEARCH_PY, HARDEST, interactor("cpp", CRASHING_INTERACTOR_CPP)),
    # the program's wall is well beyond the interactor's CPU limit (the checkers' 5 s)
    "interactor-loops": body("python", SEARCH_PY, HARDEST, interactor("c", LOOPING_INTERACTOR_C),
                             limits={"time_ms": 1000, "wall_ms": 30000}),
    "interactor-fails": body("python", SEARCH_PY, HARDEST, interactor("python", FAILING_INTERACTOR_PY)),
    "interactor-socket": body("python", SEARCH_PY, HARDEST, interactor("c", SOCKET_INTERACTOR_C)),
    "interactor-broken": body("python", SEARCH_PY, HARDEST, interactor("cpp", BROKEN_INTERACTOR_CPP)),
    "interactor-snoops": body("python", MARKED_SEARCH_PY, HARDEST, interactor("python", SNOOPING_INTERACTOR_PY)),
    # groups run layer by layer: the interactor gets its files for each batch
    "grouped": body("python", SEARCH_PY, [{**GAME[1], "group": "small"}, {**GAME[0], "group": "big"},
                                          {**GAME[2], "group": "big"}], PY_INTERACTOR,
                    groups=[{"name": "small", "points": 30}, {"name": "big", "points": 70, "depends_on": ["small"]}]),
    "partial": body("cpp", SEARCH_CPP, [{**QUICK[0], "points": 4}, {**HARDEST[0], "points": 4}],
                    interactor("python", PARTIAL_INTERACTOR_PY)),
    "with-checker": body("cpp", SEARCH_CPP, [*QUICK, *HARDEST], PY_INTERACTOR,
                         checker={"language": "python", "code": FEW_QUERIES_CHECKER_PY}),
}


@pytest.fixture(scope="module")
def results(stack: Stack) -> dict[str, dict[str, Any]]:
    stack.require_executors("cpp", "python", "java")
    return stack.run_all(JOBS, timeout=400)


@pytest.mark.parametrize("key", [k for k in JOBS if k.startswith("search-")])
def test_binary_search_is_accepted(results: dict[str, dict[str, Any]], key: str) -> None:
    r = results[key]
    assert r["verdict"] == "ACCEPTED", (key, r["results"], r.get("error"))
    messages = [t["checker_message"] for t in r["results"]]
    assert messages == ["found 1000 in 10 queries\n", "found 1 in 1 queries\n", "found 123457 in 16 queries\n"]


def test_the_interaction_is_in_the_result(results: dict[str, dict[str, Any]]) -> None:
    test = results["search-python-vs-cpp"]["results"][0]
    # the program's output: its queries; the interactor's: N, then its answers
    assert test["actual"].startswith("? 500\n? 750\n") and test["actual"].endswith("? 1000\n"), test
    assert test["interactor_output"] == "1000\n" + ">\n" * 9 + "=\n", test
    assert test["interaction_bytes"] == {"to_interactor": test["stdout_bytes"],
                                         "from_interactor": len(test["interactor_output"])}, test
    full = httpx.get(test["interactor_output_url"], timeout=10)
    assert full.status_code == 200 and full.text == test["interactor_output"]
    assert httpx.get(test["stdout_url"], timeout=10).text == test["actual"]


def test_one_query_too_many_is_a_wrong_answer(results: dict[str, dict[str, Any]]) -> None:
    r = results["one-too-many"]
    assert r["verdict"] == "WRONG_ANSWER", r["results"]
    assert r["results"][0]["checker_message"] == "too many queries: 11 > 10\n"


def test_a_solution_that_never_flushes_ends_by_wall_time(results: dict[str, dict[str, Any]]) -> None:
    r = results["never-flushes"]
    assert r["verdict"] == "TIME_LIMIT_EXCEEDED", r["results"]
    test = r["results"][0]
    assert test["cpu_time_ms"] < 1000 <= test["runtime_ms"], test  # blocked, not busy: the wall ended it
    assert test["interaction_bytes"]["to_interactor"] == 0  # nothing ever reached the interactor


def test_a_solution_that_exits_early_gets_the_interactors_verdict(results: dict[str, dict[str, Any]]) -> None:
    r = results["exits-early"]
    assert r["verdict"] == "WRONG_ANSWER", r["results"]
    assert r["results"][0]["checker_message"] == "the program stopped before guessing (0 queries)\n"


def test_a_solution_that_floods_the_pipe_does_not_hang_anything(results: dict[str, dict[str, Any]]) -> None:
    r = results["floods"]
    assert r["verdict"] in ("OUTPUT_LIMIT_EXCEEDED", "WRONG_ANSWER"), r["results"]
    assert r["results"][0]["runtime_ms"] < 3000 + 1000, r["results"]


def test_a_solution_that_crashes_is_a_runtime_error(results: dict[str, dict[str, Any]]) -> None:
    r = results["crashes"]
    assert r["verdict"] == "RUNTIME_ERROR", r["results"]
    assert r["results"][0]["signal"] == 11


@pytest.mark.parametrize(("key", "reason"), [("interactor-crashes", "the interactor ended with RE (signal 6)"),
                                             ("interactor-loops", "the interactor ended with TLE"),
                                             ("interactor-fails", "the interactor reported its own failure"),
                                             ("interactor-socket", "the interactor ended with SV")])
def test_a_broken_interactor_is_a_judge_error_not_the_solutions(results: dict[str, dict[str, Any]], key: str,
                                                                reason: str) -> None:
    r = results[key]
    assert r["status"] == "completed"
    assert r["verdict"] == "JUDGE_ERROR", (key, r["results"], r.get("error"))
    assert r["error"] and r["error"].startswith(f"test 1: {reason}"), r["error"]
    assert r["compilation_error"] is None


def test_an_interactor_that_writes_nothing_has_no_log(results: dict[str, dict[str, Any]]) -> None:
    test = results["interactor-fails"]["results"][0]
    assert test["interaction_bytes"]["from_interactor"] == 0 and test["interactor_output"] == "", test
    assert test["interactor_output_url"] is None  # no empty object, no URL that would only 404


def test_an_interactor_that_does_not_compile(results: dict[str, dict[str, Any]]) -> None:
    r = results["interactor-broken"]
    assert r["status"] == "completed" and r["verdict"] == "JUDGE_ERROR"
    assert r["error"].startswith("the interactor does not compile:") and "error" in r["error"], r["error"]
    assert r["compilation_error"] is None  # the solution is not blamed


def test_the_interactor_cannot_see_the_solutions_source(results: dict[str, dict[str, Any]]) -> None:
    r = results["interactor-snoops"]
    message = r["results"][0]["checker_message"]
    assert message.startswith("looked at ") and "the solution's source in: []\n" in message, message
    assert r["verdict"] == "ACCEPTED", r["results"]  # it still played the game


def test_partial_points_from_the_interactor(results: dict[str, dict[str, Any]]) -> None:
    r = results["partial"]
    assert verdicts(r) == ["ACCEPTED", "ACCEPTED"], (r["results"], r.get("error"))
    assert [t["score"] for t in r["results"]] == [4, 2] and (r["score"], r["max_score"]) == (6, 8)


def test_a_checker_judges_the_interactors_output(results: dict[str, dict[str, Any]]) -> None:
    r = results["with-checker"]
    assert verdicts(r) == ["ACCEPTED", "WRONG_ANSWER"], r["results"]
    assert [t["checker_message"] for t in r["results"]] == ["1 queries\n", "10 queries, more than 5\n"]
    assert all(t["interaction_bytes"]["from_interactor"] > 0 for t in r["results"])


def test_groups_run_interactively_batch_by_batch(results: dict[str, dict[str, Any]]) -> None:
    r = results["grouped"]
    assert r["verdict"] == "ACCEPTED" and (r["score"], r["max_score"]) == (100, 100), r["results"]
    assert [t["checker_message"] for t in r["results"]] == [
        "found 1 in 1 queries\n", "found 1000 in 10 queries\n", "found 123457 in 16 queries\n"]


def test_a_zipped_problem_with_an_interactor(stack: Stack) -> None:
    pid = f"guess-zip-{uuid.uuid4().hex[:10]}"
    tests = {f"tests/{n}.{ext}": t[key] for n, t in enumerate(GAME, 1) for ext, key in (("in", "input"),
                                                                                        ("ans", "expected"))}
    put = put_zip(stack, pid, zipped({**tests, "interactor.cpp": INTERACTOR_CPP}))
    assert put.status_code == 201, put.text
    r = stack.wait_result(stack.submit_ok("python", SEARCH_PY, problem_id=pid), timeout=120)
    assert r["verdict"] == "ACCEPTED", (r["results"], r.get("error"))
    assert r["results"][0]["checker_message"] == "found 1000 in 10 queries\n"


def test_a_stored_problem_with_an_interactor(stack: Stack) -> None:
    pid = f"guess-{uuid.uuid4().hex[:10]}"
    put = stack.client.put(f"/problems/{pid}", json={"test_cases": GAME, "interactor": PY_INTERACTOR})
    assert put.status_code == 201, put.text
    assert stack.client.get(f"/problems/{pid}").json()["has_interactor"] is True
    job = stack.submit_ok("cpp", SEARCH_CPP, problem_id=pid)
    r = stack.wait_result(job, timeout=120)
    assert r["verdict"] == "ACCEPTED", (r["results"], r.get("error"))
    assert r["problem_id"] == pid
    assert [t["interaction_bytes"]["from_interactor"] > 0 for t in r["results"]] == [True] * 3
    assert r["results"][2]["checker_message"] == "found 123457 in 16 queries\n"
