"""The gateway dying: SIGKILL under submission load, and the state a crash between storing a
job and queueing it leaves behind. Accepted work (a 202) must never be lost, and a client's
retry with its idempotency key must end in a job that runs."""

from __future__ import annotations

import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from infra.stack import wait_for_http
from shared.models import JobRequest, ResolvedLimits
from shared.models import TestCase as Case
from tests.faults.conftest import FaultStack

pytestmark = [pytest.mark.faults, pytest.mark.slow]


def _restart_gateway(fs: FaultStack) -> None:
    assert fs.gateway is not None
    fs.gateway.signal(signal.SIGKILL)
    fs.gateway.wait(10)
    fs.gateway.close()
    fs.gateway.start()
    wait_for_http(f"{fs.base_url}/health", 30, fs.gateway)


@pytest.mark.timeout(240)
def test_gateway_sigkill_under_load_loses_no_accepted_job(fs: FaultStack) -> None:
    accepted: list[str] = []
    refused: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()

    def client_loop(n: int) -> None:
        with httpx.Client(base_url=fs.base_url, timeout=httpx.Timeout(20.0, connect=2.0)) as c:
            i = 0
            while not stop.is_set():
                i += 1
                word = f"w{n}x{i}"
                try:
                    r = c.post("/submit", json={"language": "python", "code": "print(input())\n",
                                                "test_cases": [{"input": f"{word}\n", "expected": f"{word}\n"}]})
                except httpx.HTTPError as exc:
                    with lock:
                        refused.append(type(exc).__name__)
                    time.sleep(0.2)
                    continue
                with lock:
                    if r.status_code == 202:
                        accepted.append(r.json()["id"])
                    else:
                        assert r.status_code in (503,), r.text[:300]
                        refused.append(str(r.status_code))
                time.sleep(0.05)

    with ThreadPoolExecutor(max_workers=6) as pool:
        futures = [pool.submit(client_loop, n) for n in range(6)]
        time.sleep(2.0)
        _restart_gateway(fs)
        time.sleep(2.0)
        stop.set()
        for f in futures:
            f.result()
    assert accepted, "no submission went through"
    lost = []
    for job_id in accepted:
        result = fs.wait_result(job_id, timeout=120)
        if result["status"] != "completed" or result["verdict"] != "ACCEPTED":
            lost.append((job_id, result["status"], result.get("verdict"), result.get("error")))
    assert not lost, f"{len(lost)} of {len(accepted)} accepted jobs did not complete: {lost[:5]}"
    print(f"[gateway kill] {len(accepted)} accepted, {len(refused)} refused/broken during the restart")


@pytest.mark.timeout(120)
def test_crash_between_store_and_enqueue_then_client_retry_runs_the_job(fs: FaultStack) -> None:
    """The gateway stores the record, then dies before SendMessage (SIGKILL, OOM, deploy). The
    client saw no 202 and retries with its idempotency key, as the API invites it to. The
    state the crash leaves is written here with the gateway's own code (JobStore.new_job,
    nothing queued); the retry is a real POST. The retried job must run: SPEC §3 promises
    the same job for the same key, and a job that can never run is a lost submission."""
    key = f"crash-{time.time_ns()}"
    request = JobRequest(language="python", code="print(input())\n",
                         test_cases=[Case(input="9\n", expected="9\n")],
                         limits=ResolvedLimits(time_ms=2000, wall_ms=6000, memory_mb=256, output_kb=1024))
    item, created = fs.store().new_job(request, "u-crash", key)
    assert created
    # ... the gateway is gone here; the client retries:
    resp = fs.submit("python", "print(input())\n", [{"input": "9\n", "expected": "9\n"}],
                     user_id="u-crash", idempotency_key=key)
    assert resp.status_code == 202, resp.text
    assert resp.json()["id"] == item["id"]
    deadline = time.monotonic() + 60
    status = fs.status(item["id"])
    while time.monotonic() < deadline and status["status"] not in ("completed", "failed"):
        time.sleep(1)
        status = fs.status(item["id"])
    assert status["status"] == "completed" and status["verdict"] == "ACCEPTED", (
        f"the retried submission never ran: {status} (queued_for_ms={status.get('queued_for_ms')})")


@pytest.mark.timeout(120)
def test_crash_between_store_and_enqueue_without_a_retry_still_runs_the_job(fs: FaultStack) -> None:
    """The same crash, but the client never retries (no idempotency key, or it gave up). The
    record carries `unqueued_lang` since no gateway confirmed its message; a gateway's sweeper
    (every second here, for records older than 3 s) finds it and queues it."""
    request = JobRequest(language="python", code="print(input())\n",
                         test_cases=[Case(input="7\n", expected="7\n")],
                         limits=ResolvedLimits(time_ms=2000, wall_ms=6000, memory_mb=256, output_kb=1024))
    item, created = fs.store().new_job(request)  # stored; the gateway "dies" before SendMessage
    assert created and item["unqueued_lang"] == "python"
    deadline = time.monotonic() + 60
    status = fs.status(item["id"])
    while time.monotonic() < deadline and status["status"] not in ("completed", "failed"):
        time.sleep(0.5)
        status = fs.status(item["id"])
    assert status["status"] == "completed" and status["verdict"] == "ACCEPTED", status
    assert "unqueued_lang" not in fs.item(item["id"])
    logs = "".join(p.read_text(errors="replace") for p in fs.log_dir.glob("gateway*.log"))
    assert f'"job_id": "{item["id"]}"' in logs and "stored but never queued" in logs
