"""Messages that can never succeed (SPEC §5: a message that keeps failing ends in the DLQ
and its job is marked `failed` with a reason) and messages that mean nothing (dropped).

The fault stack runs with CODEPIPE_MAX_ATTEMPTS=2 (= the queues' maxReceiveCount)."""

from __future__ import annotations

import json
import signal
import time
import uuid
from typing import Any

import pytest

from shared.jobs import now_rfc3339
from tests.faults.conftest import FAULT_MAX_ATTEMPTS, FaultStack, send_signal_to_pid
from tests.faults.helpers import sleeping_python, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.slow]


def _put_job(fs: FaultStack, lang: str, **fields: Any) -> str:
    """A job record written straight into the table (as the gateway would, but broken)."""
    job_id = uuid.uuid4().hex
    item = {"id": job_id, "language": lang, "status": "queued", "passed": 0, "total": 1,
            "created_at": now_rfc3339(), "attempts": 0, "expires_at": int(time.time()) + 86400, **fields}
    fs.store().table.put_item(Item=item)
    return job_id


def _dlq_ids(fs: FaultStack, lang: str) -> set[str]:
    """Job ids of the messages in the language's DLQ (received and made visible again)."""
    ids: set[str] = set()
    q = fs.queue()
    for _ in range(5):
        msgs = q.receive_dlq(lang, wait_seconds=1, visibility_timeout=0, max_messages=10)
        ids.update(m.job_id for m in msgs if m.job_id)
        if not msgs:
            break
    return ids


@pytest.mark.timeout(150)
def test_poison_jobs_end_failed_with_reason_and_in_the_dlq(fs: FaultStack) -> None:
    corrupt = _put_job(fs, "python", request={"language": "python", "limits": "not-a-map"})
    missing = _put_job(fs, "python", request_key="inputs/does-not-exist/request.json")
    for job_id in (corrupt, missing):
        fs.queue().send("python", job_id)

    for job_id in (corrupt, missing):
        status = None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            resp = fs.client.get(f"/status/{job_id}")
            assert resp.status_code == 200, resp.text
            status = resp.json()
            if status["status"] in ("completed", "failed"):
                break
            time.sleep(0.5)
        assert status is not None and status["status"] == "failed", status
        assert status["verdict"] in (None, "INTERNAL_ERROR"), status
        assert isinstance(status.get("error"), str) and len(status["error"]) > 10, status
        assert f"{FAULT_MAX_ATTEMPTS} attempts" in status["error"], status["error"]
        claims = fs.job_log("python", job_id, "claimed job")
        assert len(claims) == FAULT_MAX_ATTEMPTS, claims

    # SQS dead-letters a message on the receive after maxReceiveCount: the executor made it
    # visible again right away, so its next poll moves it.
    found: set[str] = set()
    assert wait_until(lambda: found.update(_dlq_ids(fs, "python")) or {corrupt, missing} <= found, 40, 1), (
        f"poison messages not in the DLQ: {found}")
    fs.wait_queue_drained("python", 30)
    for job_id in (corrupt, missing):
        assert fs.item(job_id)["status"] == "failed"


@pytest.mark.timeout(90)
def test_messages_for_unknown_jobs_and_garbage_are_dropped(fs: FaultStack) -> None:
    before = fs.job_count()
    ghost = uuid.uuid4().hex
    fs.queue().send("python", ghost)
    sqs, url = fs.queue().sqs, fs.queue().url("python")
    sqs.send_message(QueueUrl=url, MessageBody="this is not json")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"id": 12, "language": "python"}))
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"id": "executor#python", "language": "python"}))
    fs.wait_queue_drained("python", 45)
    assert fs.job_log("python", ghost, "message for an unknown job; deleting it")
    assert fs.job_count() == before
    assert fs.store().get(ghost) is None
    rec = fs.store().executor_records().get("python") or {}
    assert rec.get("executor_id") and "status" not in rec, f"the executor record was treated as a job: {rec}"
    # Dropped like any message that names no job: not bounced into the DLQ, where the
    # dead-letter sweep would then write `failed` onto the executor record.
    dead = _dlq_ids(fs, "python")
    assert "executor#python" not in dead, "a message naming the executor record was dead-lettered, not dropped"
    resp = fs.client.get(f"/status/{ghost}")
    assert resp.status_code == 404


@pytest.mark.timeout(180)
def test_executor_dying_on_every_attempt_ends_failed_not_stuck(fs: FaultStack) -> None:
    """Executors crash (SIGKILL) on every delivery of one job until the attempts are used
    up. The job must end terminal (SPEC §5: `failed` with a reason, its message in the
    DLQ), never stay `running` forever with its message dead-lettered."""
    job_id = fs.submit_ok("python", sleeping_python(20), [{"input": "", "expected": "42\n"}],
                          limits={"time_ms": 2000, "wall_ms": 30000})
    for attempt in range(1, FAULT_MAX_ATTEMPTS + 1):
        # Wait for this attempt to run (the job may also have ended early: checked below).
        wait_until(lambda a=attempt: (lambda it: it.get("status") in ("completed", "failed") or (
            it.get("status") == "running" and int(it.get("attempts", 0)) == a))(fs.item(job_id)), 60, 0.1)
        if fs.item(job_id).get("status") != "running":
            break
        fs.kill_executor("python", signal.SIGKILL)
        fs.start_executor("python")
    deadline = time.monotonic() + 75
    item = fs.item(job_id)
    while time.monotonic() < deadline and item.get("status") not in ("completed", "failed"):
        time.sleep(1)
        item = fs.item(job_id)
    in_dlq = job_id in _dlq_ids(fs, "python")
    assert item.get("status") in ("completed", "failed"), (
        f"job left {item.get('status')!r} after {FAULT_MAX_ATTEMPTS} crashed attempts "
        f"(message in DLQ: {in_dlq}, main queue depth {fs.queue_depth('python')}): {item}")
    if item["status"] == "failed":
        assert item.get("error"), item


@pytest.mark.timeout(180)
def test_repeated_graceful_hand_backs_do_not_lose_the_job(fs: FaultStack) -> None:
    """A rolling restart: the executor holding the job is SIGTERMed (drain too short for the
    job) as many times as there are attempts. Handing a job back is not a failure of the job
    (nothing went wrong with it; the executor gives it to a colleague): it must complete,
    not end `failed` as if it had crashed MAX_ATTEMPTS times, nor sit `queued` with its
    message in the DLQ."""
    job_id = fs.submit_ok("python", sleeping_python(14), [{"input": "", "expected": "42\n"}],
                          limits={"time_ms": 2000, "wall_ms": 30000})
    for _ in range(FAULT_MAX_ATTEMPTS):
        fs.wait_status(job_id, {"running"}, timeout=60)
        proc = fs.executors["python"]
        send_signal_to_pid(proc, signal.SIGTERM)
        assert proc.wait(30), "executor did not exit after SIGTERM"
        assert fs.item(job_id)["status"] == "queued"
        fs.start_executor("python")
    deadline = time.monotonic() + 90
    item = fs.item(job_id)
    while time.monotonic() < deadline and item.get("status") not in ("completed", "failed"):
        time.sleep(1)
        item = fs.item(job_id)
    in_dlq = job_id in _dlq_ids(fs, "python")
    assert item.get("status") == "completed" and item.get("verdict") == "ACCEPTED", (
        f"after {FAULT_MAX_ATTEMPTS} graceful hand-backs the job is {item.get('status')!r} "
        f"(error {item.get('error')!r}, message in DLQ: {in_dlq})")
