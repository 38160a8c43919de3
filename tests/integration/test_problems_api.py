"""Stored problems over real HTTP against the real stack (tests/stack.py): PUT as a zip, GET,
replace, the same content again, DELETE, a 64 MiB problem, a zip bomb, and what POST /submit
with a problem_id stores. Only the gateway's part is asserted: judging problem jobs is the
executors' side."""

from __future__ import annotations

import io
import json
import os
import time
import uuid
import zipfile
from typing import Any

import pytest

from tests.integration.test_api import assert_error
from tests.stack import Stack
from tests.unit.test_problems_archive import deflate_bomb, raw_zip

pytestmark = pytest.mark.integration

MiB = 1 << 20


def zipped(entries: dict[str, str | bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buf.getvalue()


def sum_problem(answer_of_two: str = "4\n") -> bytes:
    meta = {"tests": [{"points": 40, "group": "small"}, {"points": 60, "group": "big"}],
            "groups": [{"name": "small", "points": 40}, {"name": "big", "points": 60, "depends_on": ["small"]}],
            "limits": {"time_ms": 1000, "memory_mb": 128}, "compare": "tokens",
            "checker": {"files": [{"name": "testlib.h", "content": "// testlib\n"}]}}
    return zipped({"tests/1.in": "1 2\n", "tests/1.out": "3\n", "tests/2.in": "2 2\n", "tests/2.ans": answer_of_two,
                   "problem.json": json.dumps(meta), "checker.py": "import sys\nsys.exit(0)\n",
                   "files/words.txt": "alpha beta\n", "files/nested.zip": zipped({"x": "y"})})


def put_zip(stack: Stack, problem_id: str, data: bytes) -> Any:
    return stack.client.put(f"/problems/{problem_id}", content=data, headers={"Content-Type": "application/zip"})


def new_id() -> str:
    return f"it-{uuid.uuid4().hex[:12]}"


def problem_record(stack: Stack, problem_id: str) -> dict[str, Any] | None:
    return stack.store().get(f"problem#{problem_id}")


def test_problem_life_cycle(stack: Stack) -> None:
    pid = new_id()
    resp = put_zip(stack, pid, sum_problem())
    assert resp.status_code == 201, resp.text
    first = resp.json()
    assert (first["problem_id"], first["tests"]) == (pid, 2) and first["created_at"].endswith("Z")
    assert stack.object_count(f"problems/{pid}/") == 2

    info = stack.client.get(f"/problems/{pid}").json()
    assert info["version"] == first["version"] and info["max_score"] == 100
    assert [(g["name"], g["tests"]) for g in info["groups"]] == [("small", 1), ("big", 1)]
    assert (info["has_checker"], info["checker_language"], info["has_interactor"]) == (True, "python", False)
    assert sorted(info["files"]) == ["nested.zip", "words.txt"]
    assert info["limits"] == {"time_ms": 1000, "memory_mb": 128} and info["compare"] == "tokens"

    same = put_zip(stack, pid, sum_problem())
    assert same.status_code == 200 and same.json()["version"] == first["version"]
    assert stack.object_count(f"problems/{pid}/") == 2  # nothing uploaded again

    replaced = put_zip(stack, pid, sum_problem(answer_of_two="4 \n"))
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["version"] != first["version"]
    assert replaced.json()["created_at"] == first["created_at"]
    assert stack.client.get(f"/problems/{pid}").json()["version"] == replaced.json()["version"]
    assert stack.object_count(f"problems/{pid}/") == 4  # the old version stays for its jobs

    assert stack.client.delete(f"/problems/{pid}").status_code == 204
    assert_error(stack.client.get(f"/problems/{pid}"), 404, "problem_not_found")
    assert_error(stack.client.delete(f"/problems/{pid}"), 404, "problem_not_found")
    assert problem_record(stack, pid) is None


def test_submit_on_a_problem_records_its_version_and_writes_nothing_to_s3(stack: Stack) -> None:
    pid = new_id()
    version = put_zip(stack, pid, sum_problem()).json()["version"]
    stored = stack.object_count("problems/") + stack.object_count("inputs/")
    resp = stack.submit("python", "print(sum(map(int, input().split())))\n", problem_id=pid,
                        limits={"memory_mb": 64})
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["id"]
    # The gateway read the problem's record only: no S3 object was written for the job.
    assert stack.object_count("problems/") + stack.object_count("inputs/") == stored

    item = stack.store().get(job_id)
    assert (item["problem_id"], item["problem_version"], item["total"]) == (pid, version, 2)
    request = stack.store().load_request(item)
    assert (request.problem_id, request.problem_version, request.test_cases) == (pid, version, [])
    assert request.limits.time_ms == 1000 and request.limits.memory_mb == 64 and request.compare == "tokens"
    result = stack.client.get(f"/result/{job_id}").json()
    assert (result["problem_id"], result["problem_version"], result["total"]) == (pid, version, 2)

    # A replacement does not move the job; new jobs get the new version.
    newer = put_zip(stack, pid, sum_problem(answer_of_two="4\n\n")).json()["version"]
    assert stack.store().get(job_id)["problem_version"] == version
    later = stack.submit("python", "print(4)\n", problem_id=pid).json()["id"]
    assert stack.store().get(later)["problem_version"] == newer


def test_problem_submissions_refused(stack: Stack) -> None:
    pid = new_id()
    put_zip(stack, pid, sum_problem())
    jobs = stack.job_count()
    assert_error(stack.submit("python", "print(1)", [{"input": "1"}], problem_id=pid), 422, "test_cases_with_problem")
    assert_error(stack.submit("python", "print(1)", stdin="1\n", problem_id=pid), 422, "stdin_with_problem")
    assert_error(stack.submit("python", "print(1)", problem_id=pid, groups=[{"name": "g", "points": 1}]), 422,
                 "judging_with_problem")
    err = assert_error(stack.submit("python", "print(1)", problem_id=new_id()), 404, "problem_not_found")
    assert "PUT /problems/" in err["message"]
    assert stack.job_count() == jobs


def test_a_64_mib_problem_is_accepted(stack: Stack) -> None:
    """Test data at exactly the default cap (64 MiB of inputs and answers), as a stored
    (uncompressed) zip of random bytes: the archive itself is a little over 64 MiB."""
    pid = new_id()
    chunk = os.urandom(8 * MiB)
    entries: dict[str, str | bytes] = {}
    for n in range(1, 5):
        entries[f"tests/{n}.in"] = chunk
        entries[f"tests/{n}.out"] = chunk[::-1]
    data = zipped(entries, zipfile.ZIP_STORED)
    assert len(data) > 64 * MiB
    resp = put_zip(stack, pid, data)
    assert resp.status_code == 201, resp.text[:500]
    assert resp.json()["tests"] == 4
    head = stack.blobs().s3.head_object(Bucket=stack.bucket, Key=f"problems/{pid}/{resp.json()['version']}/tests.tar")
    assert head["ContentLength"] >= 64 * MiB
    # One byte more is over the cap.
    entries["tests/4.out"] = chunk + b"x"
    assert_error(put_zip(stack, new_id(), zipped(entries, zipfile.ZIP_STORED)), 413, "input_too_large")


def test_a_zip_bomb_is_refused_quickly(stack: Stack) -> None:
    """A 1 MiB archive that inflates to 1 GiB: 413 once 64 MiB have come out, nothing stored."""
    raw, crc = deflate_bomb(1024)
    data = raw_zip([("tests/1.in", raw, crc, 1024 * MiB), ("tests/1.out", b"\x03\x00", 0, 0)])
    assert len(data) < 2 * MiB
    pid = new_id()
    start = time.monotonic()
    err = assert_error(put_zip(stack, pid, data), 413, "input_too_large")
    assert time.monotonic() - start < 5, "the bomb was not refused quickly"
    assert "tests/1.in" in err["message"]
    assert problem_record(stack, pid) is None and stack.object_count(f"problems/{pid}/") == 0


@pytest.mark.parametrize(("entries", "status", "code"), [
    ({"tests/1.in": "", "tests/1.out": "", "../../etc/cron.d/x": "x"}, 422, "unsafe_archive_entry"),
    ({"tests/1.in": "", "tests/1.out": "", "notes.md": "x"}, 422, "unexpected_archive_entry"),
    ({"tests/1.in": "", "tests/2.in": "", "tests/2.out": ""}, 422, "invalid_tests"),
    ({"tests/1.in": "", "tests/1.out": "", "checker.rb": "x"}, 422, "unsupported_judge_language"),
])
def test_refused_archives_store_nothing(stack: Stack, entries: dict[str, str], status: int, code: str) -> None:
    pid = new_id()
    err = assert_error(put_zip(stack, pid, zipped(entries)), status, code)
    assert err["message"]
    assert problem_record(stack, pid) is None and stack.object_count(f"problems/{pid}/") == 0


def test_json_problems_and_media_types(stack: Stack) -> None:
    pid = new_id()
    body = {"test_cases": [{"input": "1\n", "expected": "1\n"}], "limits": {"time_ms": 700}}
    resp = stack.client.put(f"/problems/{pid}", json=body)
    assert resp.status_code == 201, resp.text
    assert stack.client.put(f"/problems/{pid}", json=body).json()["version"] == resp.json()["version"]
    assert_error(stack.client.put(f"/problems/{pid}", content=b"x", headers={"Content-Type": "text/plain"}), 415)
    assert_error(stack.client.put("/problems/bad.id", json=body), 422, "invalid_problem_id")
