"""Jobs judged against stored problems, through the real stack: the problem's checker, groups and
files are used; a second job on the same version downloads no test data (the executor's log
says so); a new version is downloaded once; a problem replaced while a job waits does not change
that job (it keeps its recorded version)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest

from infra.stack import stop_all
from tests.integration.test_problems_api import put_zip, zipped
from tests.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.executors]

SUM_PY = "a, b = map(int, input().split())\nprint(a + b)\n"
# The problem's file, read by every submission (problem files are placed beside the source).
SUM_WITH_FILE_PY = "bonus = int(open('bonus.txt').read())\na, b = map(int, input().split())\nprint(a + b + bonus)\n"
TOKENS_CHECKER_PY = """
import sys
ok = open(sys.argv[2]).read().split() == open(sys.argv[3]).read().split()
sys.stderr.write("same tokens\\n" if ok else "different tokens\\n")
sys.exit(0 if ok else 1)
"""


def problem(answers: list[str], bonus: str = "0") -> bytes:
    tests = {f"tests/{n}.in": f"{n} {n}\n" for n in range(1, len(answers) + 1)}
    tests.update({f"tests/{n}.ans": a for n, a in enumerate(answers, 1)})
    meta = {"tests": [{"points": 10, "group": "all"} for _ in answers], "groups": [{"name": "all", "points": 100}]}
    return zipped({**tests, "problem.json": json.dumps(meta), "checker.py": TOKENS_CHECKER_PY,
                   "files/bonus.txt": bonus})


def downloads(stack: Stack, problem_id: str) -> int:
    log = Path(stack.log_dir / "exec-python.log").read_text(errors="replace")
    return sum(1 for line in log.splitlines() if '"problem data downloaded"' in line and problem_id in line)


def cache_hits(stack: Stack, problem_id: str) -> int:
    log = Path(stack.log_dir / "exec-python.log").read_text(errors="replace")
    return sum(1 for line in log.splitlines() if '"problem data from the local cache"' in line and problem_id in line)


def submit(stack: Stack, problem_id: str, code: str = SUM_PY, **fields: Any) -> str:
    return stack.submit_ok("python", code, problem_id=problem_id, **fields)


def test_problem_jobs_use_the_cache_and_their_recorded_version(stack: Stack) -> None:
    stack.require_executors("python")
    pid = f"jobs-{uuid.uuid4().hex[:10]}"
    first = put_zip(stack, pid, problem(["2\n", "4\n", "6 \n"]))
    assert first.status_code == 201, first.text
    v1 = first.json()["version"]

    one = stack.wait_result(submit(stack, pid), timeout=120)
    assert one["verdict"] == "ACCEPTED", one
    assert (one["problem_id"], one["problem_version"]) == (pid, v1)
    assert (one["score"], one["max_score"]) == (100, 100)
    assert [t["checker_message"] for t in one["results"]] == ["same tokens\n"] * 3
    two = stack.wait_result(submit(stack, pid, code="print(0)\n"), timeout=120)
    assert two["verdict"] == "WRONG_ANSWER" and two["score"] == 0
    assert downloads(stack, pid) == 1 and cache_hits(stack, pid) >= 1  # the second job downloaded nothing

    # A job queued against v1, then the problem replaced before any executor saw the job: it
    # still judges against v1 (its recorded version), v1's data being kept.
    stop_all([stack.executors["python"]])
    try:
        queued = submit(stack, pid, code=SUM_WITH_FILE_PY)
        second = put_zip(stack, pid, problem(["3\n", "5\n", "7\n"], bonus="1"))
        assert second.status_code == 200 and second.json()["version"] != v1
    finally:
        stack.start_executor("python")
    old = stack.wait_result(queued, timeout=120)
    assert old["problem_version"] == v1 and old["verdict"] == "ACCEPTED", old
    new = stack.wait_result(submit(stack, pid, code=SUM_WITH_FILE_PY), timeout=120)
    assert new["problem_version"] == second.json()["version"] and new["verdict"] == "ACCEPTED", new
    assert downloads(stack, pid) == 2  # the new version once


def test_a_deleted_problem_still_finishes_its_queued_job(stack: Stack) -> None:
    stack.require_executors("python")
    pid = f"gone-{uuid.uuid4().hex[:10]}"
    assert put_zip(stack, pid, problem(["2\n"])).status_code == 201
    job = submit(stack, pid)
    assert stack.client.delete(f"/problems/{pid}").status_code == 204
    done = stack.wait_result(job, timeout=120)
    assert done["verdict"] == "ACCEPTED", done
    assert stack.client.post("/submit", json={"language": "python", "code": SUM_PY,
                                              "problem_id": pid}).status_code == 404
