"""The gateway app in-process (TestClient) against moto: error shapes, the enqueue-failure
path, dependency failures and the generic 500."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from moto import mock_aws

from api_gateway import app as app_module
from api_gateway import routes_submit
from infra.resources import create_resources
from shared.languages import LANGUAGES
from shared.settings import get_settings


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[TestClient]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("CODEPIPE_TABLE", "unit-jobs")
    monkeypatch.setenv("CODEPIPE_QUEUE_PREFIX", "unit-jobs")
    monkeypatch.setenv("CODEPIPE_BUCKET", "unit-outputs")
    get_settings.cache_clear()
    with mock_aws():
        create_resources(get_settings())
        with TestClient(app_module.app, raise_server_exceptions=False) as c:
            yield c
    get_settings.cache_clear()


def error_of(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert set(body) == {"error"} and set(body["error"]) >= {"code", "message"}, body
    return body["error"]


def job_items(client: TestClient) -> list[dict[str, Any]]:
    table = client.app.state.services.store.table  # type: ignore[attr-defined]
    return [i for i in table.scan()["Items"] if not str(i["id"]).startswith("executor#")]


def test_submit_and_status(client: TestClient) -> None:
    resp = client.post("/submit", json={"language": "python3", "code": "print(1)",
                                        "test_cases": [{"input": "", "expected": "1\n"}]})
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["id"]
    assert resp.headers["location"] == f"/status/{job_id}"
    status = client.get(f"/status/{job_id}").json()
    assert status["status"] == "queued" and status["total"] == 1 and status["queued_for_ms"] >= 0
    result = client.get(f"/result?id={job_id}").json()
    assert result["results"] == [] and result["output_url"] is None and result["language"] == "python"
    msgs = client.app.state.services.queue.receive("python", wait_seconds=0)  # type: ignore[attr-defined]
    assert [m.body for m in msgs] == [{"id": job_id, "language": "python"}]


def test_completed_result_is_rendered(client: TestClient) -> None:
    job_id = client.post("/submit", json={"language": "c", "code": "int main(){}"}).json()["id"]
    store = client.app.state.services.store  # type: ignore[attr-defined]
    store.table.update_item(
        Key={"id": job_id},
        UpdateExpression="SET #s = :s, verdict = :v, passed = :p, results = :r, completed_at = :t, output_prefix = :o",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "completed", ":v": "ACCEPTED", ":p": 1, ":t": "2026-01-01T00:00:00.000Z",
                                   ":r": [{"test_case": 1, "verdict": "ACCEPTED", "passed": True, "actual": "x"}],
                                   ":o": f"outputs/{job_id}/attempt-1/"},
    )
    body = client.get(f"/result/{job_id}?wait=5").json()
    assert body["verdict"] == "ACCEPTED"
    assert body["results"][0]["test_case"] == 1
    assert body["results"][0]["stdout_url"].startswith("http")
    assert f"outputs/{job_id}/attempt-1/result.json" in body["output_url"]


def test_result_urls_name_the_objects_of_the_recorded_attempt(client: TestClient) -> None:
    job_id = client.post("/submit", json={"language": "c", "code": "int main(){}"}).json()["id"]
    store = client.app.state.services.store  # type: ignore[attr-defined]
    prefix = f"outputs/{job_id}/attempt-2/"
    store.table.update_item(
        Key={"id": job_id},
        UpdateExpression=("SET #s = :s, verdict = :v, passed = :p, results = :r, completed_at = :t, "
                          "output_prefix = :o, result_key = :k"),
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "completed", ":v": "ACCEPTED", ":p": 1, ":t": "2026-01-01T00:00:00.000Z",
                                   ":r": [{"test_case": 1, "verdict": "ACCEPTED", "passed": True, "actual": "x"}],
                                   ":o": prefix, ":k": prefix + "result.json"},
    )
    body = client.get(f"/result/{job_id}").json()
    assert f"{prefix}result.json" in body["output_url"]
    assert f"{prefix}tests/1.stdout" in body["results"][0]["stdout_url"]
    assert f"{prefix}tests/1.stderr" in body["results"][0]["stderr_url"]


def test_record_output_prefix_is_the_records_own() -> None:
    from shared.blobs import record_output_prefix, record_result_key

    assert record_output_prefix({"id": "j", "output_prefix": "outputs/j/attempt-3/"}) == "outputs/j/attempt-3/"
    assert record_result_key({"id": "j", "output_prefix": "outputs/j/attempt-2/"}) == "outputs/j/attempt-2/result.json"
    # Never another job's (or any other) objects, and nothing for a record that names none.
    for bad in ({"id": "j", "output_prefix": "outputs/k/attempt-1/"}, {"id": "j", "output_prefix": "inputs/j/"},
                {"id": "j", "output_prefix": "outputs/j/attempt-1/../../k/"}, {"id": "j"}):
        assert record_output_prefix(bad) is None and record_result_key(bad) is None


def test_enqueue_failure_is_503_and_leaves_nothing(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = client.app.state.services  # type: ignore[attr-defined]

    def broken_send(language: str, job_id: str) -> str:
        raise ConnectionError("sqs down")

    monkeypatch.setattr(svc.queue, "send", broken_send)
    err = error_of(client.post("/submit", json={"language": "c", "code": "int main(){}"}), 503)
    assert err["code"] == "dependency_unavailable"
    assert job_items(client) == []


def test_enqueue_failure_with_idempotency_key_can_be_retried(client: TestClient,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    svc = client.app.state.services  # type: ignore[attr-defined]
    real_send = svc.queue.send
    monkeypatch.setattr(svc.queue, "send", lambda *a: (_ for _ in ()).throw(ConnectionError("down")))
    body = {"language": "c", "code": "int main(){}", "idempotency_key": "k1"}
    assert client.post("/submit", json=body).status_code == 503
    monkeypatch.setattr(svc.queue, "send", real_send)
    resp = client.post("/submit", json=body)
    assert resp.status_code == 202 and "idempotent-replayed" not in resp.headers
    assert len(job_items(client)) == 1


def test_large_request_uses_claim_check(client: TestClient) -> None:
    big = "1" * 400_000
    job_id = client.post("/submit", json={"language": "c", "code": "x", "test_cases": [{"input": big}]}).json()["id"]
    svc = client.app.state.services  # type: ignore[attr-defined]
    item = svc.store.get(job_id)
    assert item["request_key"] == f"inputs/{job_id}/request.json" and "request" not in item
    assert svc.store.load_request(item).test_cases[0].input == big


def test_dependency_error_is_503(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import EndpointConnectionError

    svc = client.app.state.services  # type: ignore[attr-defined]

    def down(*a: Any, **k: Any) -> None:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1")

    monkeypatch.setattr(svc.store, "get_view", down)
    err = error_of(client.get("/status/abc"), 503)
    assert err["code"] == "dependency_unavailable"


@pytest.mark.parametrize(("code", "status"), [
    ("ValidationException", 500), ("ProvisionedThroughputExceededException", 503), ("ServiceUnavailable", 503),
])
def test_client_errors_split_into_bugs_and_outages(client: TestClient, monkeypatch: pytest.MonkeyPatch,
                                                   code: str, status: int) -> None:
    """A request AWS refuses as malformed is our bug (500, no Retry-After: retrying cannot help);
    throttling and unavailability are outages (503 with Retry-After)."""
    from botocore.exceptions import ClientError

    svc = client.app.state.services  # type: ignore[attr-defined]

    def refuse(*a: Any, **k: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": "nope"}}, "GetItem")

    monkeypatch.setattr(svc.store, "get_view", refuse)
    resp = client.get("/status/abc")
    err = error_of(resp, status)
    assert err["code"] == ("internal_error" if status == 500 else "dependency_unavailable")
    assert ("retry-after" in resp.headers) == (status == 503)


def test_gateway_uses_short_aws_timeouts(client: TestClient) -> None:
    """A hung dependency must cost a client seconds, not the executors' 30 s x 4 attempts."""
    svc = client.app.state.services  # type: ignore[attr-defined]
    config = svc.store.table.meta.client.meta.config
    assert config.read_timeout == svc.settings.gateway_aws_read_timeout_s <= 5
    assert config.retries["total_max_attempts"] == svc.settings.gateway_aws_max_attempts


def test_unexpected_exception_is_500_in_error_shape(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = client.app.state.services  # type: ignore[attr-defined]
    monkeypatch.setattr(svc.store, "get_view", lambda *a, **k: 1 / 0)
    err = error_of(client.get("/status/abc"), 500)
    assert err["code"] == "internal_error"
    assert "Traceback" not in err["message"] and "ZeroDivision" not in err["message"]


def test_framework_errors_use_the_error_shape(client: TestClient) -> None:
    assert error_of(client.get("/nowhere"), 404)["code"] == "not_found"
    assert error_of(client.put("/submit"), 405)["code"] == "method_not_allowed"
    assert error_of(client.get("/result/abc?wait=99"), 422)["code"] == "validation_error"
    assert error_of(client.post("/submit", content=b"{oops"), 422)["code"] == "malformed_json"


def test_body_over_the_hard_cap_is_413(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(routes_submit, "max_body_bytes", lambda settings: 100)
    err = error_of(client.post("/submit", content=b"{" + b" " * 200 + b"}"), 413)
    assert err["code"] == "payload_too_large"


def test_health_ok_and_languages(client: TestClient) -> None:
    health = client.get("/health")
    assert health.status_code == 200, health.text
    assert all(d["ok"] for d in health.json()["dependencies"].values())
    langs = client.get("/languages").json()
    assert [lang["version"] for lang in langs["languages"]] == ["unknown"] * len(LANGUAGES)
    client.app.state.services.store.heartbeat_executor("java", "openjdk 17", "e1")  # type: ignore[attr-defined]
    langs = client.get("/languages").json()
    assert {lang["name"]: lang["version"] for lang in langs["languages"]}["java"] == "openjdk 17"


def test_wait_polls_briskly_once_running_and_backs_off_for_long_jobs() -> None:
    from api_gateway.longpoll import poll_delay as _poll_delay

    assert _poll_delay(0.1, None) == 0.02  # queued / compiling
    assert _poll_delay(0.1, 0.0) == 0.005  # just started running: the verdict is near
    assert _poll_delay(0.9, 0.29) == 0.005
    assert _poll_delay(0.9, 0.31) == 0.02  # a long run: no faster than before
    assert _poll_delay(1.05, None) > 0.02
    assert _poll_delay(30.0, 20.0) == 0.5  # long jobs: twice a second


def test_empty_streams_get_no_url(client: TestClient) -> None:
    """The executor stores no object for an empty stream; the result says so with a null URL
    rather than a link that would 404."""
    job_id = client.post("/submit", json={"language": "c", "code": "int main(){}"}).json()["id"]
    store = client.app.state.services.store  # type: ignore[attr-defined]
    result = {"test_case": 1, "verdict": "ACCEPTED", "passed": True, "actual": "x\n",
              "stdout_bytes": 2, "stderr_bytes": 0}
    store.table.update_item(
        Key={"id": job_id},
        UpdateExpression="SET #s = :s, verdict = :v, passed = :p, results = :r, completed_at = :t, output_prefix = :o",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": "completed", ":v": "ACCEPTED", ":p": 1, ":t": "2026-01-01T00:00:00.000Z",
                                   ":r": [result], ":o": f"outputs/{job_id}/attempt-1/"},
    )
    test = client.get(f"/result/{job_id}").json()["results"][0]
    assert test["stdout_url"].startswith("http") and "tests/1.stdout" in test["stdout_url"]
    assert test["stderr_url"] is None


def test_views_never_read_the_request(client: TestClient) -> None:
    """/status and /result (and every poll of ?wait) read a projection without the request,
    which may hold ~350 KB of inline test data."""
    tests = [{"input": "x" * 50_000, "expected": "y"}]
    job_id = client.post("/submit", json={"language": "c", "code": "int main(){}", "test_cases": tests}).json()["id"]
    store = client.app.state.services.store  # type: ignore[attr-defined]
    assert "request" in store.get(job_id)
    view = store.get_view(job_id)
    assert view["id"] == job_id and view["status"] == "queued" and "request" not in view
    assert client.get(f"/status/{job_id}").json()["status"] == "queued"


def test_wait_answers_only_a_settled_record() -> None:
    """A read racing the final write on the emulator may see `completed` before the verdict;
    ?wait keeps polling until the record is whole."""
    from api_gateway.longpoll import settled as _settled

    assert not _settled({"status": "running"})
    assert not _settled({"status": "completed"})  # torn read: status without its fields
    assert not _settled({"status": "completed", "verdict": "ACCEPTED"})
    assert _settled({"status": "completed", "verdict": "ACCEPTED", "completed_at": "2026-01-01T00:00:00.000Z"})
    assert _settled({"status": "failed"})


def test_a_queued_submission_leaves_the_unqueued_index(client: TestClient) -> None:
    job_id = client.post("/submit", json={"language": "c", "code": "int main(){}"}).json()["id"]
    store = client.app.state.services.store  # type: ignore[attr-defined]
    assert "unqueued_lang" not in store.get(job_id)  # its message was sent


def test_sweeper_queues_jobs_a_dead_gateway_stored_but_never_queued(client: TestClient) -> None:
    from api_gateway.sweeper import UnqueuedSweeper
    from shared.models import JobRequest, ResolvedLimits

    svc = client.app.state.services  # type: ignore[attr-defined]
    sent = client.post("/submit", json={"language": "python", "code": "print(1)"}).json()["id"]
    request = JobRequest(language="python", code="print(2)", test_cases=[],
                         limits=ResolvedLimits(time_ms=1000, wall_ms=3000, memory_mb=64, output_kb=64))
    orphan, _ = svc.store.new_job(request)  # stored; the gateway died before SendMessage
    young = UnqueuedSweeper(svc.settings.model_copy(update={"unqueued_after_seconds": 3600}), svc.store, svc.queue)
    assert young.sweep_once() == 0  # too recent: its gateway may still be sending
    sweeper = UnqueuedSweeper(svc.settings.model_copy(update={"unqueued_after_seconds": 0.001}), svc.store, svc.queue)
    time.sleep(0.01)
    assert sweeper.sweep_once() == 1
    assert "unqueued_lang" not in svc.store.get(orphan["id"])
    queued = [m.job_id for m in svc.queue.receive("python", wait_seconds=0, max_messages=10)]
    assert sorted(queued) == sorted([sent, orphan["id"]])  # the orphan once, nothing else twice
    assert sweeper.sweep_once() == 0


def test_submit_job_serves_any_api_face_without_http(client: TestClient) -> None:
    """The submit path is one plain function: another API face (SPEC §10) hands it a body in
    the /submit shape and gets the job; validation, replay and queueing are the same."""
    from api_gateway.errors import APIError
    from api_gateway.submission import submit_job

    svc = client.app.state.services  # type: ignore[attr-defined]
    body = {"language": "py", "code": "print(1)", "idempotency_key": "face-1"}
    first = submit_job(svc, body)
    assert first.created and first.enqueued and first.language == "python"
    assert svc.store.get(first.job_id)["status"] == "queued"
    again = submit_job(svc, body)  # still queued: sent again, never a second job
    assert (again.job_id, again.created, again.enqueued) == (first.job_id, False, True)
    msgs = svc.queue.receive("python", wait_seconds=0, max_messages=10)
    assert [m.job_id for m in msgs] == [first.job_id, first.job_id]
    with pytest.raises(APIError) as info:
        submit_job(svc, {"language": "cobol", "code": "x"})
    assert info.value.status == 400 and len(job_items(client)) == 1


def test_create_app_serves_and_publishes_its_own_settings(client: TestClient) -> None:
    small = get_settings().model_copy(update={"max_tests": 1, "max_code_bytes": 64})
    with TestClient(app_module.create_app(small), raise_server_exceptions=False) as other:
        tests = [{"input": "1"}, {"input": "2"}]
        err = error_of(other.post("/submit", json={"language": "c", "code": "x", "test_cases": tests}), 413)
        assert err["code"] == "too_many_tests"
        assert other.get("/languages").json()["caps"]["max_tests"] == 1
        schema = other.get("/openapi.json").json()["components"]["schemas"]["SubmitRequest"]["properties"]
        assert schema["test_cases"]["maxItems"] == 1 and schema["code"]["maxLength"] == 64
    schema = client.get("/openapi.json").json()["components"]["schemas"]["SubmitRequest"]["properties"]
    assert schema["test_cases"]["maxItems"] == 1000
