"""/problems and problem submissions through the app in-process (TestClient) against moto:
status codes, what is stored (and that a refusal stores nothing), versions, what /submit
with a problem_id records (and that it touches no S3), and what /result shows."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api_gateway import routes_problems
from shared.blobs import Blobs
from shared.jobs import dynamo_value
from shared.models import PROBLEM_ID_PATTERN
from tests.unit import test_gateway_app as gateway

client = gateway.client  # the fixture: the app on moto with the data resources
error_of = gateway.error_of

PROBLEM = {
    "test_cases": [{"input": "1 2\n", "expected": "3\n", "points": 40, "group": "small"},
                   {"input": "40 2\n", "expected": "42\n", "points": 60, "group": "big"},
                   {"input": "0 0\n", "expected": "0\n", "points": 5}],
    "groups": [{"name": "small", "points": 40}, {"name": "big", "points": 60, "depends_on": ["small"]}],
    "checker": {"language": "py", "code": "import sys\nsys.exit(0)\n"},
    "limits": {"time_ms": 1000, "memory_mb": 128},
    "compare": "tokens",
    "files": [{"name": "data/primes.txt", "content": "2 3 5\n"}],
}


def zipped(entries: dict[str, str | bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buf.getvalue()


ZIP = zipped({"tests/1.in": "1 2\n", "tests/1.out": "3\n", "tests/2.in": "2 2\n", "tests/2.ans": "4\n",
              "problem.json": '{"limits": {"time_ms": 500}}', "interactor.cpp": "int main(){}"})


def svc(c: TestClient) -> Any:
    return c.app.state.services  # type: ignore[attr-defined]


def objects(c: TestClient, prefix: str = "") -> list[str]:
    s = svc(c)
    resp = s.blobs.s3.list_objects_v2(Bucket=s.settings.bucket, Prefix=prefix)
    return sorted(o["Key"] for o in resp.get("Contents", []))


def problem_items(c: TestClient) -> list[dict[str, Any]]:
    return [i for i in svc(c).store.table.scan()["Items"] if str(i["id"]).startswith("problem#")]


def put_zip(c: TestClient, problem_id: str, data: bytes, media: str = "application/zip") -> Any:
    return c.put(f"/problems/{problem_id}", content=data, headers={"Content-Type": media})


# --- PUT, GET, DELETE ------------------------------------------------------------------------
def test_put_get_replace_delete(client: TestClient) -> None:
    resp = client.put("/problems/sum-1", json=PROBLEM)
    assert resp.status_code == 201, resp.text
    first = resp.json()
    assert set(first) == {"problem_id", "version", "tests", "created_at", "updated_at"}
    assert (first["problem_id"], first["tests"]) == ("sum-1", 3)
    version = first["version"]
    assert objects(client) == [f"problems/sum-1/{version}/problem.json", f"problems/sum-1/{version}/tests.tar"]

    info = client.get("/problems/sum-1").json()
    assert (info["version"], info["tests"], info["max_score"]) == (version, 3, 105)
    assert info["groups"] == [{"name": "small", "points": 40, "depends_on": [], "scoring": "all", "tests": 1},
                              {"name": "big", "points": 60, "depends_on": ["small"], "scoring": "all", "tests": 1}]
    assert (info["has_checker"], info["checker_language"], info["has_interactor"]) == (True, "python", False)
    assert info["files"] == ["data/primes.txt"] and info["limits"] == {"time_ms": 1000, "memory_mb": 128}
    assert info["compare"] == "tokens" and info["stop_on_first_failure"] is False
    assert "test_cases" not in info and "code" not in json.dumps(info)

    same = client.put("/problems/sum-1", json=PROBLEM)
    assert same.status_code == 200 and same.json() == first  # nothing uploaded, nothing changed
    assert len(objects(client)) == 2

    changed = client.put("/problems/sum-1", json={**PROBLEM, "compare": "lines"})
    assert changed.status_code == 200, changed.text
    second = changed.json()
    assert second["version"] != version and second["created_at"] == first["created_at"]
    assert second["updated_at"] >= first["updated_at"]
    assert client.get("/problems/sum-1").json()["version"] == second["version"]
    assert len(objects(client)) == 4  # the old version's data stays for the jobs that recorded it

    assert client.delete("/problems/sum-1").status_code == 204
    assert error_of(client.get("/problems/sum-1"), 404)["code"] == "problem_not_found"
    assert error_of(client.delete("/problems/sum-1"), 404)["code"] == "problem_not_found"
    assert len(objects(client)) == 4 and problem_items(client) == []


@pytest.mark.parametrize("media", ["application/zip", "application/x-zip-compressed"])
def test_put_a_zip(client: TestClient, media: str) -> None:
    resp = put_zip(client, "z1", ZIP, media)
    assert resp.status_code == 201, resp.text
    assert resp.json()["tests"] == 2
    info = client.get("/problems/z1").json()
    assert (info["has_interactor"], info["interactor_language"], info["limits"]) == (True, "cpp", {"time_ms": 500})
    assert put_zip(client, "z1", ZIP, media).status_code == 200


def test_media_types_and_ids(client: TestClient) -> None:
    for headers in ({"Content-Type": "text/plain"}, {"Content-Type": "multipart/form-data; boundary=x"}, {}):
        err = error_of(client.put("/problems/p", content=ZIP, headers=headers), 415)
        assert err["code"] == "unsupported_media_type" and "application/zip" in err["message"]
    assert client.put("/problems/p", content=json.dumps(PROBLEM),
                      headers={"Content-Type": "Application/JSON; charset=utf-8"}).status_code == 201
    for bad in ("x" * 65, "a.b", "a%20b", "%C3%A9"):
        for method in ("put", "get", "delete"):
            err = error_of(client.request(method.upper(), f"/problems/{bad}", json=PROBLEM), 422)
            assert err["code"] == "invalid_problem_id" and "1 to 64" in err["message"], (method, bad)
    assert client.put(f"/problems/{'x' * 64}", json=PROBLEM).status_code == 201
    assert error_of(client.get("/problems/unknown"), 404)["code"] == "problem_not_found"


# --- refusals store nothing ------------------------------------------------------------------
REFUSED_JSON = [
    ({**PROBLEM, "test_cases": []}, 422, "no_tests"),
    ({**PROBLEM, "groups": [{"name": "small", "points": 1}]}, 422, "invalid_groups"),
    ({**PROBLEM, "checker": {"language": "java", "code": "x"}}, 422, "unsupported_judge_language"),
    ({**PROBLEM, "checker": {"language": "cpp", "code": ""}}, 422, "empty_code"),
    ({**PROBLEM, "files": [{"name": "main.cpp", "content": ""}]}, 422, "invalid_file_name"),
    ({**PROBLEM, "files": [{"name": "a", "content": "!", "encoding": "base64"}]}, 422, "invalid_base64"),
    ({**PROBLEM, "limits": {"memory_mb": 1 << 20}}, 422, "limit_out_of_range"),
    ({**PROBLEM, "stdin": "x"}, 422, "validation_error"),
    ({**PROBLEM, "test_cases": [{"input": "x" * 60}]}, 413, "input_too_large"),
    ({**PROBLEM, "files": [{"name": f"f{i}", "content": ""} for i in range(101)]}, 413, "too_many_files"),
]
REFUSED_ZIP = [
    (zipped({"tests/1.in": "", "tests/1.out": "", "../evil": ""}), 422, "unsafe_archive_entry"),
    (zipped({"tests/1.in": "", "tests/1.out": "", "notes.txt": ""}), 422, "unexpected_archive_entry"),
    (zipped({"tests/1.in": "", "tests/3.in": "", "tests/1.out": "", "tests/3.out": ""}), 422, "invalid_tests"),
    (zipped({"tests/1.in": "", "tests/1.out": "", "problem.json": "{"}), 422, "invalid_problem_json"),
    (zipped({"tests/1.in": "x" * 100, "tests/1.out": ""}), 413, "input_too_large"),
    (ZIP[: len(ZIP) // 2], 422, "invalid_archive"),
]


@pytest.mark.parametrize(("body", "status", "code"), REFUSED_JSON + REFUSED_ZIP)
def test_refusals_store_nothing(client: TestClient, body: Any, status: int, code: str) -> None:
    # 50 bytes of test data at most: room for PROBLEM's, not for the bodies over the cap.
    svc(client).settings = svc(client).settings.model_copy(update={"max_total_input_bytes": 50})
    resp = client.put("/problems/p1", json=body) if isinstance(body, dict) else put_zip(client, "p1", body)
    err = error_of(resp, status)
    assert err["code"] == code, err
    assert problem_items(client) == [] and objects(client) == []


def test_the_body_cap_applies_before_parsing(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routes_problems, "max_problem_body_bytes", lambda settings: 100)
    assert error_of(put_zip(client, "p1", ZIP), 413)["code"] == "payload_too_large"
    assert problem_items(client) == [] and objects(client) == []


def test_the_body_cap_fits_a_problem_at_the_caps() -> None:
    from api_gateway.problem_upload import max_problem_body_bytes
    from shared.settings import Settings

    s = Settings()
    assert max_problem_body_bytes(s) >= 2 * s.max_total_input_bytes + 3 * 2 * (4 * s.max_files_bytes // 3)


# --- submitting on a problem -----------------------------------------------------------------
def test_submit_on_a_problem_records_it_and_touches_no_s3(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    version = client.put("/problems/sum", json=PROBLEM).json()["version"]
    calls: list[str] = []

    def counted(name: str) -> Any:
        real = getattr(Blobs, name)

        def call(self: Blobs, *args: Any, **kwargs: Any) -> Any:
            calls.append(name)
            return real(self, *args, **kwargs)
        return call

    for name in ("put_bytes", "put_json", "put_file", "get_bytes", "get_json", "exists"):
        monkeypatch.setattr(Blobs, name, counted(name))
    before = objects(client)
    resp = client.post("/submit", json={"language": "python", "code": "print(1)", "problem_id": "sum",
                                        "limits": {"memory_mb": 64}, "files": [{"name": "h.py", "content": ""}]})
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["id"]
    assert calls == [] and objects(client) == before

    item = svc(client).store.get(job_id)
    assert (item["problem_id"], item["problem_version"], item["total"]) == ("sum", version, 3)
    request = svc(client).store.load_request(item)
    assert (request.problem_id, request.problem_version, request.test_cases) == ("sum", version, [])
    assert request.limits.model_dump() == {"time_ms": 1000, "wall_ms": 3000, "memory_mb": 64, "output_kb": 1024}
    assert request.compare == "tokens" and [f.name for f in request.files] == ["h.py"]
    view = svc(client).store.get_view(job_id)
    assert (view["problem_id"], view["problem_version"]) == ("sum", version)
    status = client.get(f"/status/{job_id}").json()
    assert status["total"] == 3
    result = client.get(f"/result/{job_id}").json()
    assert (result["problem_id"], result["problem_version"]) == ("sum", version)

    # A replacement moves new jobs to the new version; the queued job keeps its own.
    newer = client.put("/problems/sum", json={**PROBLEM, "compare": "exact"}).json()["version"]
    later = client.post("/submit", json={"language": "python", "code": "print(1)", "problem_id": "sum"}).json()
    assert svc(client).store.get(later["id"])["problem_version"] == newer
    assert svc(client).store.get(job_id)["problem_version"] == version
    client.delete("/problems/sum")
    err = error_of(client.post("/submit", json={"language": "python", "code": "x", "problem_id": "sum"}), 404)
    assert err["code"] == "problem_not_found"


def test_refused_problem_submissions_store_nothing(client: TestClient) -> None:
    client.put("/problems/sum", json=PROBLEM)
    jobs = len(gateway.job_items(client))
    refusals: list[tuple[dict[str, Any], int]] = [
        ({"test_cases": [{"input": "1"}]}, 422), ({"stdin": "1"}, 422), ({"groups": [{"name": "g", "points": 1}]}, 422),
        ({"checker": {"language": "c", "code": "x"}}, 422), ({"problem_id": "other"}, 404),
        ({"problem_id": "a/b"}, 422), ({"limits": {"memory_mb": 0}}, 422),
    ]
    for extra, status in refusals:
        body = {"language": "python", "code": "print(1)", "problem_id": "sum", **extra}
        assert client.post("/submit", json=body).status_code == status, extra
    assert len(gateway.job_items(client)) == jobs


def test_result_shows_scores_groups_and_test_details(client: TestClient) -> None:
    job_id = client.post("/submit", json={"language": "c", "code": "int main(){}", "test_cases": [
        {"input": "1", "group": "g", "points": 2}], "groups": [{"name": "g", "points": 10}]}).json()["id"]
    test = {"test_case": 1, "verdict": "ACCEPTED", "passed": True, "points": 2, "score": 1.5, "group": "g",
            "checker_message": "points 1.5", "interaction_bytes": {"to_interactor": 4, "from_interactor": 9}}
    svc(client).store.table.update_item(
        Key={"id": job_id},
        UpdateExpression=("SET #s = :s, verdict = :v, completed_at = :t, results = :r, score = :sc, "
                          "max_score = :m, groups = :g"),
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "completed", ":v": "ACCEPTED", ":t": "2026-01-01T00:00:00.000Z",
                                   ":r": dynamo_value([test]), ":sc": dynamo_value(7.5), ":m": 10,
                                   ":g": dynamo_value([{"name": "g", "score": 7.5, "points": 10,
                                                        "verdict": "ACCEPTED"}])},
    )
    result = client.get(f"/result/{job_id}").json()
    assert (result["score"], result["max_score"]) == (7.5, 10)
    assert result["groups"] == [{"name": "g", "score": 7.5, "points": 10, "verdict": "ACCEPTED"}]
    (shown,) = result["results"]
    for key, value in test.items():
        assert shown[key] == value, key
    assert result["problem_id"] is None and result["problem_version"] is None


# --- the published schema ------------------------------------------------------------------
def test_the_problem_endpoints_are_published(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    ops = spec["paths"]["/problems/{problem_id}"]
    assert set(ops) == {"put", "get", "delete"}
    content = ops["put"]["requestBody"]["content"]
    assert content["application/json"]["schema"] == {"$ref": "#/components/schemas/ProblemRequest"}
    for media in ("application/zip", "application/x-zip-compressed"):
        assert content[media]["schema"] == {"type": "string", "format": "binary"}
    assert {"200", "201", "413", "415", "422"} <= set(ops["put"]["responses"])
    assert "204" in ops["delete"]["responses"] and "404" in ops["get"]["responses"]
    (param,) = ops["get"]["parameters"]
    assert param["schema"]["pattern"] == PROBLEM_ID_PATTERN
    schemas = spec["components"]["schemas"]
    request = schemas["ProblemRequest"]["properties"]
    assert {"test_cases", "groups", "checker", "interactor", "limits", "compare", "files",
            "stop_on_first_failure"} <= set(request)
    assert request["test_cases"]["maxItems"] == 1000
    assert {"ProblemStored", "ProblemInfo", "GroupSummary"} <= set(schemas)


def test_405_lists_every_method_of_the_path(client: TestClient) -> None:
    """Starlette names only the first route's method; PUT, GET and DELETE share this path."""
    for method in ("POST", "OPTIONS", "PATCH"):
        resp = client.request(method, "/problems/p1")
        assert error_of(resp, 405)["code"] == "method_not_allowed"
        assert resp.headers["allow"] == "DELETE, GET, HEAD, PUT"
    assert client.put("/submit").headers["allow"] == "POST"
    assert client.delete("/status/x").headers["allow"] == "GET, HEAD"
