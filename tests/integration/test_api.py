"""The HTTP API over real HTTP against the real stack (tests/stack.py): gateway, emulator and
executors as separate processes."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from shared.languages import REGISTRY
from tests.stack import Stack

LANGUAGE_NAMES = tuple(lang.name for lang in REGISTRY)

pytestmark = pytest.mark.integration

ADD_PY = "a, b = map(int, input().split())\nprint(a + b)\n"
ADD_C = (
    "#include <stdio.h>\n"
    'int main(void){long a,b; if(scanf("%ld %ld",&a,&b)!=2) return 1; printf("%ld\\n",a+b); return 0;}\n'
)
ADD_TESTS = [{"input": "1 2\n", "expected": "3\n"}, {"input": "40 2\n", "expected": "42\n"}]


def assert_error(resp: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert resp.status_code == status, f"expected {status}, got {resp.status_code}: {resp.text[:1000]}"
    body = resp.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"].get("code"), str) and body["error"]["code"], body
    assert isinstance(body["error"].get("message"), str) and body["error"]["message"], body
    if code is not None:
        assert body["error"]["code"] == code, body
    return body["error"]


# --- happy paths (need the executors) --------------------------------------------------
@pytest.mark.executors
def test_python_job_completes(stack: Stack) -> None:
    stack.require_executors("python")
    resp = stack.submit("python", ADD_PY, ADD_TESTS)
    assert resp.status_code == 202, resp.text
    body = resp.json()
    assert set(body) == {"id", "status", "language", "created_at"}
    assert body["status"] == "queued" and body["language"] == "python"
    assert resp.headers["location"] == f"/status/{body['id']}"

    result = stack.wait_result(body["id"], timeout=90)
    assert result["status"] == "completed", result
    assert result["verdict"] == "ACCEPTED", result
    assert result["passed"] == 2 and result["total"] == 2
    assert [r["test_case"] for r in result["results"]] == [1, 2]
    assert all(r["verdict"] == "ACCEPTED" and r["passed"] for r in result["results"])
    assert result["results"][1]["actual"] == "42\n"
    assert result["output_url"] and result["output_url"].startswith("http")
    for key in ("created_at", "started_at", "completed_at"):
        assert result[key] and result[key].endswith("Z"), key
    assert result["queued_for_ms"] is None

    status = stack.status(body["id"])
    assert {"id", "status", "verdict", "passed", "total", "created_at", "started_at", "completed_at"} <= set(status)
    assert status["verdict"] == "ACCEPTED"


@pytest.mark.executors
def test_c_job_completes(stack: Stack) -> None:
    result = stack.run("c", ADD_C, ADD_TESTS)
    assert result["status"] == "completed", result
    assert result["verdict"] == "ACCEPTED", result
    assert result["compile_ms"] is not None


@pytest.mark.executors
def test_output_url_serves_the_result_document(stack: Stack) -> None:
    result = stack.run("python", ADD_PY, ADD_TESTS[:1])
    import httpx

    doc = httpx.get(result["output_url"], timeout=10)
    assert doc.status_code == 200, doc.text[:500]
    assert doc.json()["id"] == result["id"]


@pytest.mark.executors
def test_plain_run_on_stdin(stack: Stack) -> None:
    result = stack.run("python", "import sys\nprint(sys.stdin.read().upper(), end='')\n", stdin="hello\n")
    assert result["status"] == "completed", result
    assert result["verdict"] == "ACCEPTED"
    assert result["total"] == 1
    assert result["stdout_preview"] == "HELLO\n"


# --- languages and aliases ------------------------------------------------------------
@pytest.mark.parametrize(
    ("alias", "canonical"),
    [("py", "python"), ("Python3", "python"), ("c++", "cpp"), ("CXX", "cpp"), ("java17", "java"), ("gcc", "c"),
     ("golang", "go"), ("go1", "go"), ("js", "javascript"), ("node", "javascript"), ("NodeJS", "javascript")],
)
def test_aliases_are_canonicalised(stack: Stack, alias: str, canonical: str) -> None:
    resp = stack.submit(alias, "x = 1\n")
    assert resp.status_code == 202, resp.text
    assert resp.json()["language"] == canonical
    item = stack.store().get(resp.json()["id"])
    assert item["language"] == canonical
    assert stack.store().load_request(item).language == canonical


# --- waiting ----------------------------------------------------------------------------
@pytest.mark.executors
def test_wait_returns_as_soon_as_terminal(stack: Stack) -> None:
    stack.require_executors("python")
    job_id = stack.submit_ok("python", "print(1)\n")
    start = time.monotonic()
    resp = stack.client.get(f"/result/{job_id}", params={"wait": 30})
    elapsed = time.monotonic() - start
    assert resp.status_code == 200
    assert resp.json()["status"] in ("completed", "failed")
    assert elapsed < 25, f"/result?wait=30 took {elapsed:.1f}s for a trivial job"


def _queued_job(stack: Stack) -> str:
    """A job record with no message: it stays queued for certain (nothing will pick it up)."""
    from shared.models import JobRequest, ResolvedLimits

    req = JobRequest(language="python", code="print(1)", test_cases=[],
                     limits=ResolvedLimits(time_ms=1000, wall_ms=3000, memory_mb=64, output_kb=64))
    item, created = stack.store().new_job(req)
    assert created
    return item["id"]


def test_wait_gives_up_after_n_seconds(stack: Stack) -> None:
    job_id = _queued_job(stack)
    start = time.monotonic()
    resp = stack.client.get(f"/result?id={job_id}&wait=2")
    elapsed = time.monotonic() - start
    assert resp.status_code == 200
    assert resp.json()["status"] == "queued"
    assert 1.8 <= elapsed < 6, elapsed
    assert resp.json()["results"] == []
    assert resp.json()["output_url"] is None


def test_wait_does_not_block_other_requests(stack: Stack) -> None:
    import concurrent.futures

    job_id = _queued_job(stack)
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        waits = [pool.submit(stack.client.get, f"/result/{job_id}", params={"wait": 3}) for _ in range(3)]
        time.sleep(0.3)
        start = time.monotonic()
        assert stack.client.get("/languages").status_code == 200
        assert time.monotonic() - start < 1.5
        assert all(f.result().status_code == 200 for f in waits)


@pytest.mark.parametrize("wait", ["31", "-1", "abc"])
def test_wait_out_of_range(stack: Stack, wait: str) -> None:
    job_id = stack.submit_ok("python", "print(1)\n")
    assert_error(stack.client.get(f"/result/{job_id}", params={"wait": wait}), 422)


# --- status / result forms and 404s -------------------------------------------------------
def test_query_forms(stack: Stack) -> None:
    job_id = stack.submit_ok("python", "print(1)\n")
    a = stack.client.get(f"/status/{job_id}")
    b = stack.client.get("/status", params={"id": job_id})
    assert a.status_code == b.status_code == 200
    assert a.json()["id"] == b.json()["id"] == job_id
    c = stack.client.get("/result", params={"id": job_id})
    assert c.status_code == 200 and c.json()["id"] == job_id
    assert c.json()["language"] == "python"
    for key in ("compilation_error", "compile_ms", "results", "output_url", "stdout_preview"):
        assert key in c.json()


def test_queued_for_ms_while_queued(stack: Stack) -> None:
    job_id = _queued_job(stack)
    time.sleep(0.3)
    status = stack.status(job_id)
    assert status["status"] == "queued"
    assert status["queued_for_ms"] >= 250


@pytest.mark.parametrize(
    "path",
    ["/status/doesnotexist", "/result/doesnotexist", "/status?id=doesnotexist", "/result?id=doesnotexist",
     "/status/executor%23python", "/result/" + "x" * 300],
)
def test_unknown_ids_are_404(stack: Stack, path: str) -> None:
    assert_error(stack.client.get(path), 404, "not_found")


def test_missing_id_query(stack: Stack) -> None:
    assert_error(stack.client.get("/status"), 422)
    assert_error(stack.client.get("/result"), 422)


def test_unknown_route_and_method(stack: Stack) -> None:
    assert_error(stack.client.get("/nope"), 404)
    assert_error(stack.client.get("/submit"), 405)
    assert_error(stack.client.delete("/status/abc"), 405)


# --- validation: refused before anything is stored -----------------------------------------
MiB = 1024 * 1024

INVALID: list[tuple[str, Any, int, str | None]] = [
    ("unknown language", {"language": "rust", "code": "fn main(){}"}, 400, "unsupported_language"),
    ("missing language", {"code": "print(1)"}, 422, None),
    ("missing code", {"language": "python"}, 422, None),
    ("empty code", {"language": "python", "code": ""}, 422, None),
    ("blank code", {"language": "python", "code": "  \n\t"}, 422, None),
    ("code not a string", {"language": "python", "code": 123}, 422, None),
    ("code over cap", {"language": "python", "code": "#" * (MiB + 1)}, 413, "code_too_large"),
    ("too many tests", {"language": "python", "code": "print(1)", "test_cases": [{"input": ""}] * 1001},
     413, "too_many_tests"),
    ("stdin with tests", {"language": "python", "code": "print(1)", "stdin": "x", "test_cases": [{"input": ""}]},
     422, None),
    ("time_ms zero", {"language": "python", "code": "x", "limits": {"time_ms": 0}}, 422, "limit_out_of_range"),
    ("time_ms over", {"language": "python", "code": "x", "limits": {"time_ms": 20001}}, 422, "limit_out_of_range"),
    ("wall_ms over", {"language": "python", "code": "x", "limits": {"wall_ms": 60001}}, 422, "limit_out_of_range"),
    ("memory over", {"language": "python", "code": "x", "limits": {"memory_mb": 2049}}, 422, "limit_out_of_range"),
    ("memory negative", {"language": "python", "code": "x", "limits": {"memory_mb": -5}}, 422, "limit_out_of_range"),
    ("output over", {"language": "python", "code": "x", "limits": {"output_kb": 65537}}, 422, "limit_out_of_range"),
    ("limit not int", {"language": "python", "code": "x", "limits": {"time_ms": "fast"}}, 422, None),
    ("unknown limit", {"language": "python", "code": "x", "limits": {"cpu": 1}}, 422, None),
    ("bad compare", {"language": "python", "code": "x", "compare": "fuzzy"}, 422, None),
    ("unknown field", {"language": "python", "code": "x", "priority": 9}, 422, None),
    ("test case not object", {"language": "python", "code": "x", "test_cases": ["1 2"]}, 422, None),
    ("not an object", ["python", "print(1)"], 422, None),
    ("empty user_id", {"language": "python", "code": "x", "user_id": ""}, 422, None),
    ("blank idempotency_key", {"language": "python", "code": "x", "idempotency_key": " "}, 422, None),
    ("user_id too long", {"language": "python", "code": "x", "user_id": "u" * 129}, 422, None),
]


def _snapshot(stack: Stack) -> tuple[int, int, int]:
    return stack.job_count(), stack.object_count("inputs/"), sum(stack.queue_depth(lang) for lang in LANGUAGE_NAMES)


@pytest.mark.parametrize(("case", "body", "status", "code"), INVALID, ids=[c[0] for c in INVALID])
def test_invalid_submissions_are_refused(stack: Stack, case: str, body: Any, status: int, code: str | None) -> None:
    before = stack.job_count(), stack.object_count("inputs/")
    err = assert_error(stack.client.post("/submit", json=body), status, code)
    assert (stack.job_count(), stack.object_count("inputs/")) == before, f"{case}: something was stored"
    if code == "limit_out_of_range":
        field = next(iter(body["limits"]))
        assert f"limits.{field}" in err["message"] and ".." in err["message"], err
    if code == "unsupported_language":
        for lang in LANGUAGE_NAMES:
            assert lang in err["message"]


@pytest.mark.parametrize("raw", [b"", b"{", b"{\"language\": \"python\",}", b"not json", b"\xff\xfe"])
def test_malformed_json(stack: Stack, raw: bytes) -> None:
    before = stack.job_count()
    assert_error(stack.client.post("/submit", content=raw, headers={"content-type": "application/json"}), 422)
    assert stack.job_count() == before


@pytest.mark.slow
def test_total_input_over_cap(stack: Stack) -> None:
    before = stack.job_count(), stack.object_count("inputs/")
    chunk = "7" * (8 * MiB)
    body = {"language": "python", "code": "print(1)", "test_cases": [{"input": chunk, "expected": chunk}] * 4 +
            [{"input": "1"}]}
    assert_error(stack.client.post("/submit", json=body), 413, "input_too_large")
    assert (stack.job_count(), stack.object_count("inputs/")) == before


def test_limits_kept_exactly_and_wall_default(stack: Stack) -> None:
    job_id = stack.submit_ok("python", "print(1)", limits={"time_ms": 1500})
    req = stack.store().load_request(stack.store().get(job_id))
    assert req.limits.time_ms == 1500 and req.limits.wall_ms == 4500
    assert req.limits.memory_mb == 256 and req.limits.output_kb == 1024
    job_id = stack.submit_ok("python", "print(1)",
                             limits={"time_ms": 20000, "wall_ms": 60000, "memory_mb": 2048, "output_kb": 65536})
    req = stack.store().load_request(stack.store().get(job_id))
    assert req.limits.model_dump() == {"time_ms": 20000, "wall_ms": 60000, "memory_mb": 2048, "output_kb": 65536}


def test_record_layout(stack: Stack) -> None:
    job_id = stack.submit_ok("python", "print(1)", [{"input": "", "expected": "1\n"}] * 3, user_id="alice")
    item = stack.store().get(job_id)
    assert item["status"] in ("queued", "compiling", "running", "completed")
    assert item["total"] == 3 and item["user_id"] == "alice"
    assert item["created_at"].endswith("Z") and isinstance(item["expires_at"], int)
    assert item["expires_at"] > time.time() + 86400
    assert "request" in item and "request_key" not in item


# --- idempotency ------------------------------------------------------------------------------
def test_idempotent_retry_returns_the_same_job(stack: Stack) -> None:
    key = uuid.uuid4().hex
    body = {"language": "python", "code": "print(1)", "user_id": "u-idem", "idempotency_key": key}
    before = stack.job_count()
    first = stack.client.post("/submit", json=body)
    second = stack.client.post("/submit", json=body)
    assert first.status_code == second.status_code == 202
    assert first.json() == second.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert stack.job_count() == before + 1
    other_user = stack.client.post("/submit", json={**body, "user_id": "someone-else"})
    assert other_user.status_code == 202 and other_user.json()["id"] != first.json()["id"]
    assert stack.job_count() == before + 2


# --- large submissions: S3 claim-check ------------------------------------------------------------
@pytest.mark.executors
@pytest.mark.slow
def test_large_submission_goes_through_s3_and_runs(stack: Stack) -> None:
    stack.require_executors("python")
    line = "ab" * 500_000  # 1 MB per test
    tests = [{"input": line + "\n", "expected": f"{len(line) + n}\n"} for n in range(3)]
    for n, t in enumerate(tests):
        t["input"] = line + "c" * n + "\n"
    job_id = stack.submit_ok("python", "print(len(input()))\n", tests)
    item = stack.store().get(job_id)
    assert "request_key" in item and "request" not in item
    assert item["request_key"] == f"inputs/{job_id}/request.json"
    assert stack.blobs().exists(item["request_key"])
    assert len(stack.store().load_request(item).test_cases[2].input) == len(line) + 3
    result = stack.wait_result(job_id, timeout=120)
    assert result["status"] == "completed", result
    assert result["verdict"] == "ACCEPTED", result
    assert result["passed"] == 3


# --- /languages, /health, docs -------------------------------------------------------------------------
def test_languages(stack: Stack) -> None:
    resp = stack.client.get("/languages")
    assert resp.status_code == 200
    body = resp.json()
    names = [lang["name"] for lang in body["languages"]]
    assert names == list(LANGUAGE_NAMES)
    by_name = {lang["name"]: lang for lang in body["languages"]}
    assert "c++" in by_name["cpp"]["aliases"] and "py" in by_name["python"]["aliases"]
    for lang in body["languages"]:
        assert lang["default_limits"] == {"time_ms": 2000, "wall_ms": 6000, "memory_mb": 256, "output_kb": 1024}
        assert lang["max_limits"] == {"time_ms": 20000, "wall_ms": 60000, "memory_mb": 2048, "output_kb": 65536}
        assert isinstance(lang["version"], str) and lang["version"]
    assert body["caps"]["max_code_bytes"] == MiB
    assert body["caps"]["max_tests"] == 1000
    assert body["caps"]["max_total_input_bytes"] == 64 * MiB


@pytest.mark.executors
def test_languages_report_toolchain_versions(stack: Stack) -> None:
    stack.require_executors()
    versions = {lang["name"]: lang["version"] for lang in stack.client.get("/languages").json()["languages"]}
    assert all(v != "unknown" for v in versions.values()), versions
    assert "17" in versions["java"] or "java" in versions["java"].lower(), versions


def test_health(stack: Stack) -> None:
    resp = stack.client.get("/health")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "ok"
    assert set(body["dependencies"]) == {"dynamodb", "sqs", "s3"}
    assert all(dep["ok"] for dep in body["dependencies"].values())
    assert "sandbox" in body and "executors" in body
    assert isinstance(body["sandbox"]["isolation"], str) and body["sandbox"]["isolation"]
    assert set(body["executors"]) == set(LANGUAGE_NAMES)


@pytest.mark.executors
def test_health_reports_the_executors_isolation(stack: Stack) -> None:
    """Each executor probes its own sandbox helper at start (`sandbox --probe`) and /health
    reports that per language, the overall level being the weakest live one. The executors
    run on this host, so they must report what the helper reports here: `full` when root
    with cgroups (the gateway's own probe is only the fallback)."""
    import os
    import subprocess

    stack.require_executors()
    local = json.loads(subprocess.run([str(stack.settings().sandbox), "--probe"], capture_output=True,
                                      check=True, timeout=15).stdout)
    deadline = time.monotonic() + 30
    while True:
        body = stack.client.get("/health").json()
        execs = body["executors"]
        if all(isinstance(execs[lang].get("isolation"), dict) for lang in execs) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert set(execs) == set(LANGUAGE_NAMES)
    for lang, exe in execs.items():
        assert exe["alive"] and exe["version"] and exe["last_seen"], (lang, exe)
        assert isinstance(exe["isolation"], dict), (lang, exe)
        assert exe["isolation"]["level"] == local["level"], (lang, exe["isolation"], local)
    if os.geteuid() == 0 and local.get("cgroup") in ("v1", "v2"):
        assert local["level"] == "full", local
        assert all(exe["isolation"]["level"] == "full" for exe in execs.values()), execs
    assert body["isolation_level"] == local["level"]
    assert body["sandbox"]["source"] == "executors" and body["sandbox"]["isolation"] == local["level"]


def test_docs_and_openapi(stack: Stack) -> None:
    docs = stack.client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    spec = stack.client.get("/openapi.json").json()
    for path in ("/submit", "/status/{job_id}", "/status", "/result/{job_id}", "/result", "/languages", "/health"):
        assert path in spec["paths"], path
    assert "SubmitRequest" in spec["components"]["schemas"]
    submit = spec["paths"]["/submit"]["post"]
    assert {"202", "400", "413", "422", "503"} <= set(submit["responses"])


SCHEMATHESIS_SEMANTIC_422 = r"""
[[operations]]
include-path-regex = "^/(submit|problems/\\{problem_id\\})$"
[operations.checks.positive_data_acceptance]
expected-statuses = ["2XX", "404", "422"]
"""


# --- the OpenAPI document describes what the gateway really does ------------------------------------
@pytest.mark.slow
def test_schemathesis_fuzz_against_openapi(stack: Stack, tmp_path: Any) -> None:
    """Schemathesis over every operation: no 5xx, responses and status codes as documented,
    schema-valid requests accepted. A second gateway with its own queues (no executor reads
    them) takes the generated jobs, so the fuzzing puts no load on the executors."""
    import shutil
    import subprocess
    import sys

    from infra.resources import create_resources
    from infra.stack import ManagedProcess, free_port, stop_all, wait_for_http

    cli = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or shutil.which("schemathesis")
    if cli is None:
        pytest.fail("schemathesis CLI not installed (requirements-dev.txt)")
    prefix = f"{stack.queue_prefix}-fuzz"
    create_resources(stack.settings().model_copy(update={"queue_prefix": prefix}))
    port = free_port()
    gw = ManagedProcess("gateway-fuzz", [sys.executable, "-m", "api_gateway"],
                        {**stack.env, "CODEPIPE_QUEUE_PREFIX": prefix, "CODEPIPE_PORT": str(port)},
                        log_path=stack.log_dir / "gateway-fuzz.log")
    gw.start()
    # /submit and PUT /problems also check what JSON Schema cannot say: a test's group must be
    # one of the body's groups, depends_on names known groups without a cycle, file names are
    # unique. A schema-valid body that breaks one of those is rightly a 422, so that is an
    # acceptable answer to "positive" data there, and only there.
    (tmp_path / "schemathesis.toml").write_text(SCHEMATHESIS_SEMANTIC_422)
    try:
        wait_for_http(f"http://127.0.0.1:{port}/health", 30, gw)
        proc = subprocess.run(
            [cli, "run", f"http://127.0.0.1:{port}/openapi.json", "--max-examples", "8", "--request-timeout", "40",
             "--seed", "1", "--no-color"],
            capture_output=True, text=True, timeout=400, check=False, cwd=tmp_path,
        )
    finally:
        stop_all([gw])
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-2000:] + "\n" + stack.tail("gateway-fuzz")


# --- outage of the AWS endpoint: 503 in error shape, and recovery (keep last in this file) ------------------
@pytest.mark.fault
def test_dependency_outage_is_503_and_recovers(stack: Stack) -> None:
    if stack.emulator is None:
        pytest.skip("external endpoint: cannot take it down")
    job_id = stack.submit_ok("python", "print(1)\n")
    stack.stop_emulator()
    try:
        assert_error(stack.client.get(f"/status/{job_id}"), 503, "dependency_unavailable")
        assert_error(stack.client.get(f"/result/{job_id}"), 503, "dependency_unavailable")
        assert_error(stack.client.post("/submit", json={"language": "python", "code": "print(2)"}), 503,
                     "dependency_unavailable")
        health = stack.client.get("/health")
        assert health.status_code == 503
        body = health.json()
        assert body["error"]["code"] == "dependency_unavailable"
        assert not any(dep["ok"] for dep in body["dependencies"].values())
        assert stack.client.get("/languages").status_code == 200  # static list still served
    finally:
        stack.start_emulator()
    assert stack.client.get("/health").status_code == 200
    assert stack.status(job_id)["id"] == job_id
    # Executors must have ridden out the outage.
    dead = [lang for lang, proc in stack.executors.items() if not proc.alive]
    for lang in dead:
        stack.start_executor(lang)
    assert not dead, f"executors died during a short endpoint outage: {dead}"


# --- `make run`'s supervisor (python -m infra.stack) ------------------------------------------------------
@pytest.mark.slow
@pytest.mark.timeout(240)
def test_make_run_stack_prints_a_working_curl_line_restarts_and_stops_cleanly(tmp_path: Any) -> None:
    import os
    import re
    import signal
    import subprocess
    import sys
    import threading

    from infra.stack import free_port

    port, emu_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "CODEPIPE_"))}
    env.update(CODEPIPE_PORT=str(port), CODEPIPE_EMULATOR_PORT=str(emu_port), CODEPIPE_LOG_LEVEL="WARNING")
    repo = Path(__file__).resolve().parents[2]
    proc = subprocess.Popen([sys.executable, "-m", "infra.stack"], cwd=repo, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)  # type: ignore[union-attr]
    reader.start()

    def wait_for(pattern: str, timeout: float) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(lines):
                if m := re.search(pattern, line):
                    return m
            if proc.poll() is not None:
                break
            time.sleep(0.2)
        pytest.fail(f"no {pattern!r} in the output of infra.stack:\n" + "".join(lines[-60:]))

    try:
        wait_for(r"codepipe is up: http://127\.0\.0\.1:" + str(port), 90)
        curl = wait_for(r"^(curl .*)$", 5).group(1)
        children = [int(p) for p in subprocess.run(["pgrep", "-P", str(proc.pid)], capture_output=True,
                                                   text=True).stdout.split()]
        assert len(children) >= 2, children  # emulator + gateway (+ executors)

        out = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, timeout=60)
        body = json.loads(out.stdout)
        assert body["status"] in ("completed", "failed", "queued", "running", "compiling"), out.stdout
        if (repo / "executor_python" / "__main__.py").exists():
            assert body["status"] == "completed" and body["verdict"] == "ACCEPTED", out.stdout

            py = subprocess.run(["pgrep", "-f", "-P", str(proc.pid), "executor_python"], capture_output=True,
                                text=True).stdout.split()
            assert py, "no executor_python child"
            os.kill(int(py[0]), signal.SIGKILL)
            wait_for(r"exec-python exited with -9; restarting", 15)
            deadline = time.monotonic() + 30
            while True:
                again = subprocess.run(["pgrep", "-f", "-P", str(proc.pid), "executor_python"], capture_output=True,
                                       text=True).stdout.split()
                if again and again != py:
                    children.extend(int(p) for p in again)
                    break
                assert time.monotonic() < deadline, "executor_python was not restarted"
                time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            rc = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail("infra.stack did not stop within 60 s of SIGINT:\n" + "".join(lines[-40:]))
    assert rc == 0, "".join(lines[-40:])
    leftovers = [p for p in children if os.path.exists(f"/proc/{p}")]
    assert not leftovers, f"processes left behind: {leftovers}"


def test_status_shows_the_progress_of_a_long_job(stack: Stack) -> None:
    """`tests_done` grows while the tests run (written about every second), and ends equal to
    the number of tests."""
    code = "import time\nx = input()\ntime.sleep(0.6)\nprint(x)\n"
    tests = [{"input": f"{i}\n", "expected": f"{i}\n"} for i in range(10)]
    job_id = stack.submit_ok("python", code, tests)
    seen: list[tuple[str, int | None]] = []
    deadline = time.monotonic() + 90
    status = stack.status(job_id)
    while time.monotonic() < deadline and status["status"] not in ("completed", "failed"):
        seen.append((status["status"], status.get("tests_done")))
        time.sleep(0.1)
        status = stack.status(job_id)
    assert status["status"] == "completed" and status["verdict"] == "ACCEPTED", status
    assert status["tests_done"] == 10
    partial = [done for state, done in seen if state == "running" and done is not None and 0 < done < 10]
    assert partial, f"no progress seen while running: {seen}"
    assert partial == sorted(partial)  # one attempt: never backwards
