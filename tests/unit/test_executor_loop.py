"""The executor loop's decisions (shared/executor.py + shared/claims.py) against in-process
moto and a fake sandbox: claiming, duplicates, leases, take-over, retries, failure, the
dead-letter sweep and the exactly-once final write."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from executor_c.spec import SPEC as C_SPEC
from executor_python.spec import SPEC as PY_SPEC
from shared.claims import Claims, now_ms
from shared.executor import Executor
from shared.models import JobRequest, ResolvedLimits
from shared.models import TestCase as Case
from shared.queue import Message
from shared.sandbox import SandboxCancelled, SandboxError, SandboxRun
from shared.settings import Settings

moto = pytest.importorskip("moto")

LIMITS = ResolvedLimits(time_ms=1000, wall_ms=3000, memory_mb=64, output_kb=64)


class FakeSandbox:
    """Stands in for the helper: compiles always succeed unless told otherwise; each test's
    stdout is `program(input)`."""

    def __init__(self) -> None:
        self.program: Callable[[bytes], bytes] = lambda data: data
        self.compile_status = ("OK", 0)
        self.compile_stderr = b""
        self.fail_with: Exception | None = None
        self.during_run: Callable[[], None] | None = None
        self.runs = 0
        self.cancelled = False
        self.compiled: list[str] = []  # the sources each compile saw

    def check(self) -> None:
        pass

    def cancel(self) -> None:
        self.cancelled = True

    def reset(self) -> None:
        self.cancelled = False

    def run_single(self, *, stdout: Path, stderr: Path, workdir: Path, **_: Any) -> SandboxRun:
        self.compiled.extend(p.read_text() for p in sorted(workdir.glob("*.py")))
        stdout.write_bytes(b"")
        stderr.write_bytes(self.compile_stderr)
        status, code = self.compile_status
        return SandboxRun(status=status, exit_code=code)  # type: ignore[arg-type]

    def run_tests(self, *, tests_dir: Path, count: int, **_: Any) -> list[SandboxRun]:
        self.runs += 1
        if self.fail_with is not None:
            raise self.fail_with
        if self.during_run is not None:
            self.during_run()
        out = []
        for n in range(1, count + 1):
            data = self.program((tests_dir / f"{n}.in").read_bytes())
            (tests_dir / f"{n}.out").write_bytes(data)
            (tests_dir / f"{n}.err").write_bytes(b"")
            out.append(SandboxRun(test=n, status="OK", stdout_bytes=len(data), memory_kb=100))
        return out


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Settings]:
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with moto.mock_aws():
        s = Settings(
            aws_endpoint_url=None, aws_region="us-east-1", table="t-jobs", queue_prefix="t-jobs", bucket="t-out",
            lease_seconds=30, max_attempts=3, work_root=tmp_path / "work", parallel=2,
        )
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName=s.table, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        )
        sqs = boto3.client("sqs", region_name="us-east-1")
        for lang in ("c", "python"):
            dlq = sqs.create_queue(QueueName=s.dlq_name(lang))["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            sqs.create_queue(
                QueueName=s.queue_name(lang),
                Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": arn, "maxReceiveCount": "3"})},
            )
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=s.bucket)
        yield s


def send_to_dlq(ex: Executor, job_id: str) -> None:
    """What SQS's redrive does after maxReceiveCount deliveries."""
    body = json.dumps({"id": job_id, "language": ex.spec.name})
    ex.queue.sqs.send_message(QueueUrl=ex.queue.dlq_url(ex.spec.name), MessageBody=body)


@pytest.fixture
def sandbox() -> FakeSandbox:
    return FakeSandbox()


@pytest.fixture
def ex(settings: Settings, sandbox: FakeSandbox) -> Executor:
    return Executor(PY_SPEC, settings, sandbox=sandbox)  # type: ignore[arg-type]


def submit(ex: Executor, tests: list[Case] | None = None, code: str = "print(input())\n") -> str:
    request = JobRequest(
        language=ex.spec.name, code=code, stdin="", limits=LIMITS, compare="lines",
        test_cases=tests if tests is not None else [Case(input="a\n", expected="a")],
    )
    record, _ = ex.store.new_job(request)
    ex.queue.send(ex.spec.name, record["id"])
    return record["id"]


def receive(ex: Executor) -> Message:
    (msg,) = ex.queue.receive(ex.spec.name, wait_seconds=0)
    return msg


def queue_counts(ex: Executor) -> dict[str, int]:
    return ex.queue.approximate_depth(ex.spec.name)


def test_happy_path(ex: Executor, sandbox: FakeSandbox) -> None:
    job_id = submit(ex, [Case(input="a\n", expected="a"), Case(input="b\n", expected="c")])
    ex.handle(receive(ex))
    record = ex.store.get(job_id)
    assert record["status"] == "completed"
    assert record["verdict"] == "WRONG_ANSWER"
    assert (record["passed"], record["total"], record["attempts"]) == (1, 2, 1)
    assert [r["verdict"] for r in record["results"]] == ["ACCEPTED", "WRONG_ANSWER"]
    assert record["stdout_preview"] == "a\n"
    assert "lease_owner" not in record and "lease_expires_ms" not in record
    assert record["started_at"] <= record["completed_at"]
    assert queue_counts(ex) == {"visible": 0, "in_flight": 0}  # message deleted
    # Outputs live under the attempt's own prefix, which the final write records.
    assert record["output_prefix"] == f"outputs/{job_id}/attempt-1/"
    assert record["result_key"] == f"outputs/{job_id}/attempt-1/result.json"
    assert ex.blobs.get_bytes(f"outputs/{job_id}/attempt-1/tests/2.stdout") == b"b\n"
    doc = ex.blobs.get_json(record["result_key"])
    assert doc["verdict"] == "WRONG_ANSWER" and len(doc["results"]) == 2
    # Empty streams (the fake program writes no stderr) get no object.
    listed = ex.blobs.s3.list_objects_v2(Bucket=ex.blobs.bucket, Prefix=record["output_prefix"])
    assert sorted(o["Key"].removeprefix(record["output_prefix"]) for o in listed["Contents"]) == [
        "result.json", "tests/1.stdout", "tests/2.stdout",
    ]
    # The work directory is gone.
    assert not any(ex.settings.work_root.iterdir())


def test_completion_log_says_where_the_time_went(
    ex: Executor, sandbox: FakeSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    submit(ex)
    with caplog.at_level(logging.INFO, logger="codepipe.executor"):
        ex.handle(receive(ex))
    (done,) = [r for r in caplog.records if r.getMessage() == "job completed"]
    phases = done.phases_ms  # type: ignore[attr-defined]
    assert list(phases) == ["claim", "prepare", "compile", "run", "upload", "final_write"]
    assert all(isinstance(v, int) and v >= 0 for v in phases.values())
    assert done.elapsed_ms >= sum(phases.values()) - len(phases)  # type: ignore[attr-defined]


def test_plain_run_without_tests(ex: Executor, sandbox: FakeSandbox) -> None:
    sandbox.program = lambda data: b"got " + data
    request = JobRequest(language="python", code="x", test_cases=[], stdin="hello\n", limits=LIMITS)
    record, _ = ex.store.new_job(request)
    ex.queue.send("python", record["id"])
    ex.handle(receive(ex))
    record = ex.store.get(record["id"])
    assert record["verdict"] == "ACCEPTED" and record["total"] == 1
    assert record["stdout_preview"] == "got hello\n"
    assert record["results"][0].get("expected") is None


def test_compilation_error_paths_are_relative(settings: Settings, sandbox: FakeSandbox) -> None:
    ex = Executor(C_SPEC, settings, sandbox=sandbox)  # type: ignore[arg-type]
    sandbox.compile_status = ("RE", 1)
    root = str(settings.work_root)
    sandbox.compile_stderr = f"{root}/abc/box/main.c:1:1: error: expected ';'\n".encode()
    job_id = submit(ex, code="int main(){")
    # The message must name the file without the host path (the box path is per job, so
    # patch it in through the sandbox: it sees the real one).
    original = sandbox.run_single

    def run_single(**kw: Any) -> SandboxRun:
        sandbox.compile_stderr = f"{kw['workdir']}/main.c:1:1: error: expected ';'\n".encode()
        return original(**kw)

    sandbox.run_single = run_single  # type: ignore[method-assign]
    ex.handle(receive(ex))
    record = ex.store.get(job_id)
    assert record["verdict"] == "COMPILATION_ERROR"
    assert record["compilation_error"] == "main.c:1:1: error: expected ';'\n"
    assert record["results"] == [] and record["passed"] == 0
    assert sandbox.runs == 0


def test_duplicate_delivery_of_a_finished_job_is_dropped(ex: Executor, sandbox: FakeSandbox) -> None:
    job_id = submit(ex)
    ex.handle(receive(ex))
    ex.queue.send("python", job_id)  # SQS at-least-once: a second copy
    ex.handle(receive(ex))
    assert sandbox.runs == 1
    assert ex.store.get(job_id)["attempts"] == 1
    assert queue_counts(ex) == {"visible": 0, "in_flight": 0}


def test_job_leased_by_a_live_executor_is_left_alone(ex: Executor, sandbox: FakeSandbox) -> None:
    job_id = submit(ex)
    other = Claims(ex.store, "other-host-1-abc", 30)
    assert other.claim(job_id, ex.spec.name) is not None
    alive = threading.Event()

    def heartbeats() -> None:
        while not alive.wait(0.3):
            other.heartbeat(job_id)

    thread = threading.Thread(target=heartbeats, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        ex.handle(receive(ex))
        assert time.monotonic() - started < 5
    finally:
        alive.set()
        thread.join()
    assert sandbox.runs == 0
    record = ex.store.get(job_id)
    assert record["lease_owner"] == "other-host-1-abc" and record["status"] == "compiling"
    assert queue_counts(ex)["in_flight"] == 1  # not deleted: hidden until the lease runs out


def test_message_of_a_dead_owner_waits_for_its_lease_then_runs(ex: Executor, sandbox: FakeSandbox) -> None:
    # Holding the message while another executor's lease is still live means that executor
    # stopped extending it: wait the lease out instead of spending a delivery on deferring.
    job_id = submit(ex)
    assert Claims(ex.store, "dead-executor", 2).claim(job_id, ex.spec.name) is not None
    ex.handle(receive(ex))
    record = ex.store.get(job_id)
    assert record["status"] == "completed" and record["attempts"] == 2
    assert queue_counts(ex) == {"visible": 0, "in_flight": 0}


def test_executor_records_are_never_treated_as_jobs(ex: Executor, sandbox: FakeSandbox) -> None:
    ex.refresh_record(force=True)
    ex.queue.send("python", "executor#python")
    ex.handle(receive(ex))
    assert queue_counts(ex) == {"visible": 0, "in_flight": 0}
    send_to_dlq(ex, "executor#python")
    assert ex.sweep_dead_letters() == 0
    record = ex.store.get("executor#python")
    assert "status" not in record and record["executor_id"] == ex.executor_id


def test_expired_lease_is_taken_over(ex: Executor, sandbox: FakeSandbox) -> None:
    job_id = submit(ex)
    other = Claims(ex.store, "dead-executor", 30)
    assert other.claim(job_id, ex.spec.name) is not None
    ex.store.table.update_item(
        Key={"id": job_id}, UpdateExpression="SET lease_expires_ms = :p", ExpressionAttributeValues={":p": now_ms() - 1}
    )
    ex.handle(receive(ex))
    record = ex.store.get(job_id)
    assert record["status"] == "completed" and record["attempts"] == 2
    # The dead executor's late writes are all refused.
    assert other.heartbeat(job_id) is False
    assert other.complete(job_id, {"verdict": "ACCEPTED"}) is False
    assert other.release(job_id) is False


def test_lease_lost_during_the_run_discards_the_result(ex: Executor, sandbox: FakeSandbox) -> None:
    job_id = submit(ex)
    thief = Claims(ex.store, "thief", 30)

    def steal() -> None:
        ex.store.table.update_item(
            Key={"id": job_id}, UpdateExpression="SET lease_expires_ms = :p",
            ExpressionAttributeValues={":p": now_ms() - 1},
        )
        assert thief.claim(job_id, ex.spec.name) is not None

    sandbox.during_run = steal
    ex.handle(receive(ex))
    record = ex.store.get(job_id)
    assert record["status"] == "compiling" and record["lease_owner"] == "thief"
    assert "verdict" not in record
    assert queue_counts(ex)["in_flight"] == 1  # left for the new owner


def test_stale_attempt_cannot_overwrite_the_winning_outputs(settings: Settings, sandbox: FakeSandbox) -> None:
    """Split brain: executor A stalls past its lease mid-run; B takes the job over and
    completes it; A then resumes and uploads its own outputs before its (refused) final
    write. The record must name exactly B's objects, and they must still hold B's output."""
    a = Executor(PY_SPEC, settings, sandbox=sandbox)  # type: ignore[arg-type]
    sandbox_b = FakeSandbox()
    sandbox_b.program = lambda data: b"B:" + data
    b = Executor(PY_SPEC, settings, sandbox=sandbox_b)  # type: ignore[arg-type]
    sandbox.program = lambda data: b"A:" + data
    job_id = submit(a, [Case(input="x\n", expected="x")])
    msg_a = receive(a)

    def stall_past_lease_while_b_finishes() -> None:
        # A's `running` write goes out alongside the run: let it land first, so that A only
        # finds out at its final write.
        deadline = time.monotonic() + 10
        while a.store.get(job_id)["status"] != "running" and time.monotonic() < deadline:
            time.sleep(0.01)
        a.store.table.update_item(
            Key={"id": job_id}, UpdateExpression="SET lease_expires_ms = :p",
            ExpressionAttributeValues={":p": now_ms() - 1},
        )
        b.queue.send("python", job_id)  # redelivery after the visibility timeout
        b.handle(receive(b))
        assert b.store.get(job_id)["status"] == "completed"

    sandbox.during_run = stall_past_lease_while_b_finishes
    a.handle(msg_a)

    record = a.store.get(job_id)
    assert record["status"] == "completed" and record["attempts"] == 2
    assert "lease_owner" not in record
    assert record["stdout_preview"] == "B:x\n"
    prefix = record["output_prefix"]
    assert prefix == f"outputs/{job_id}/attempt-2/" and record["result_key"] == prefix + "result.json"
    assert a.blobs.get_bytes(prefix + "tests/1.stdout") == b"B:x\n"
    doc = a.blobs.get_json(record["result_key"])
    assert doc["completed_at"] == record["completed_at"] and doc["stdout_preview"] == "B:x\n"
    # A's late uploads went to its own attempt's prefix, which the record does not name.
    assert a.blobs.get_bytes(f"outputs/{job_id}/attempt-1/tests/1.stdout") == b"A:x\n"


def test_internal_error_is_retried_with_the_lease_released(ex: Executor, sandbox: FakeSandbox) -> None:
    job_id = submit(ex)
    sandbox.fail_with = SandboxError("helper exploded")
    ex.handle(receive(ex))
    record = ex.store.get(job_id)
    assert record["status"] == "queued" and "lease_owner" not in record
    assert record["attempts"] == 1
    assert queue_counts(ex) == {"visible": 0, "in_flight": 1}  # backing off, not deleted


def test_internal_error_on_the_last_attempt_fails_the_job(ex: Executor, sandbox: FakeSandbox) -> None:
    job_id = submit(ex)
    sandbox.fail_with = SandboxError("helper exploded")
    msg = receive(ex)
    last = Message(body=msg.body, receipt_handle=msg.receipt_handle, receive_count=3)
    ex.handle(last)
    record = ex.store.get(job_id)
    assert record["status"] == "failed"
    assert "helper exploded" in record["error"] and "3 attempts" in record["error"]
    assert record["verdict"] == "INTERNAL_ERROR"
    assert queue_counts(ex)["visible"] == 1  # visible again so that SQS dead-letters it


def test_sandbox_internal_error_on_a_test_is_retried_then_reported(ex: Executor, sandbox: FakeSandbox) -> None:
    job_id = submit(ex)
    original = sandbox.run_tests

    def run_tests(**kw: Any) -> list[SandboxRun]:
        runs = original(**kw)
        return [r.model_copy(update={"status": "IE"}) for r in runs]

    sandbox.run_tests = run_tests  # type: ignore[method-assign]
    ex.handle(receive(ex))
    assert ex.store.get(job_id)["status"] == "queued"  # retried while attempts remain
    # The last delivery (the backed-off message, re-sent here rather than waited for).
    ex.queue.sqs.purge_queue(QueueUrl=ex.queue.url("python"))
    ex.queue.send("python", job_id)
    msg = receive(ex)
    ex.handle(Message(body=msg.body, receipt_handle=msg.receipt_handle, receive_count=3))
    record = ex.store.get(job_id)
    assert record["status"] == "completed" and record["verdict"] == "INTERNAL_ERROR"
    assert record["attempts"] == 2


def test_unknown_and_malformed_messages_are_deleted(ex: Executor, sandbox: FakeSandbox) -> None:
    ex.queue.send("python", "no-such-job")
    ex.handle(receive(ex))
    ex.queue.sqs.send_message(QueueUrl=ex.queue.url("python"), MessageBody="not json")
    ex.handle(receive(ex))
    assert queue_counts(ex) == {"visible": 0, "in_flight": 0}
    assert sandbox.runs == 0


def test_final_write_happens_once(ex: Executor) -> None:
    job_id = submit(ex)
    claims = ex.claims
    assert claims.claim(job_id, ex.spec.name) is not None
    assert claims.claim(job_id, ex.spec.name) is None  # not claimable twice while the lease is live
    assert claims.set_running(job_id) is True
    assert claims.set_running(job_id) is False  # only from compiling
    assert claims.complete(job_id, {"verdict": "ACCEPTED", "passed": 1}) is True
    assert claims.complete(job_id, {"verdict": "WRONG_ANSWER", "passed": 0}) is False
    assert claims.fail(job_id, "late") is False
    record = ex.store.get(job_id)
    assert record["verdict"] == "ACCEPTED" and record["status"] == "completed"


def test_dead_letter_sweep_fails_abandoned_jobs(ex: Executor) -> None:
    abandoned = submit(ex)
    dead = Claims(ex.store, "dead-executor", 30)
    assert dead.claim(abandoned, ex.spec.name) is not None
    ex.store.table.update_item(
        Key={"id": abandoned}, UpdateExpression="SET lease_expires_ms = :p",
        ExpressionAttributeValues={":p": now_ms() - 1},
    )
    busy = submit(ex)
    assert Claims(ex.store, "alive-executor", 30).claim(busy, ex.spec.name) is not None
    ex.queue.sqs.purge_queue(QueueUrl=ex.queue.url("python"))
    for job_id in (abandoned, busy):
        send_to_dlq(ex, job_id)
    assert ex.sweep_dead_letters() == 1
    record = ex.store.get(abandoned)
    assert record["status"] == "failed" and "dead-letter" in record["error"]
    assert ex.store.get(busy)["status"] == "compiling"
    # The DLQ keeps its messages for operators.
    assert ex.queue.approximate_depth("python", dlq=True)["visible"] == 2


def test_shutdown_hand_back_does_not_spend_a_delivery(ex: Executor, sandbox: FakeSandbox) -> None:
    job_id = submit(ex)

    def shutdown_deadline() -> None:
        ex.hand_back.set()  # what the drain timer does...
        raise SandboxCancelled("cancelled")  # ...after cancelling the sandbox run

    sandbox.during_run = shutdown_deadline
    first = receive(ex)
    ex.handle(first)
    record = ex.store.get(job_id)
    assert record["status"] == "queued" and "lease_owner" not in record and record["attempts"] == 1
    # A fresh copy, visible at once, its delivery count starting over.
    again = receive(ex)
    assert again.job_id == job_id and again.receive_count == 1
    assert queue_counts(ex) == {"visible": 0, "in_flight": 1}
    ex.hand_back.clear()
    sandbox.during_run = None
    ex.handle(again)
    record = ex.store.get(job_id)
    assert record["status"] == "completed" and record["attempts"] == 2


def _script(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_probe_isolation_parses_the_helper_and_degrades_to_unavailable(tmp_path: Path) -> None:
    from shared.sandbox import probe_isolation

    ok = _script(tmp_path / "ok", """[ "$1" = --probe ] && echo '{"root": true, "cgroup": "v1", "level": "full"}'""")
    assert probe_isolation(ok) == {"root": True, "cgroup": "v1", "level": "full"}
    failing = _script(tmp_path / "failing", "echo 'no cgroups here' >&2; exit 3")
    got = probe_isolation(failing)
    assert got["level"] == "unavailable" and "exited 3" in got["error"] and "no cgroups" in got["error"]
    garbage = _script(tmp_path / "garbage", "echo not json")
    assert probe_isolation(garbage)["level"] == "unavailable"
    no_level = _script(tmp_path / "no-level", "echo '{\"root\": false}'")
    assert probe_isolation(no_level)["level"] == "unavailable"
    missing = probe_isolation(tmp_path / "missing")
    assert missing["level"] == "unavailable" and "missing" in missing["error"]


def test_executor_record_carries_the_isolation_probe(ex: Executor) -> None:
    ex.refresh_record(force=True)
    assert "isolation" not in ex.store.get("executor#python")  # not probed (yet): nothing claimed
    ex.isolation = {"level": "partial", "cgroup": None, "namespaces": {"net": True}, "load": 0.5, "uid": 64000}
    ex.refresh_record(force=True)
    record = ex.store.executor_records()["python"]
    assert record["isolation"] == ex.isolation
    assert record["executor_id"] == ex.executor_id


def submit_with_hint(ex: Executor, code: str, hint: str | None) -> str:
    """A job whose message carries `hint` as its code attribute (what the gateway attaches)."""
    request = JobRequest(language=ex.spec.name, code=code, stdin="", limits=LIMITS, compare="lines",
                         test_cases=[Case(input="a\n", expected="a")])
    record, _ = ex.store.new_job(request)
    ex.queue.send(ex.spec.name, record["id"], hint)
    return record["id"]


def test_message_code_hint_is_compiled_while_claiming(
    ex: Executor, sandbox: FakeSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    code = "print(input())\n"
    job_id = submit_with_hint(ex, code, code)
    msg = receive(ex)
    assert msg.code == code
    with caplog.at_level(logging.INFO, logger="codepipe.executor"):
        ex.handle(msg)
    record = ex.store.get(job_id)
    assert record["status"] == "completed" and record["verdict"] == "ACCEPTED"
    assert sandbox.compiled == [code]  # compiled once, from the hint
    (done,) = [r for r in caplog.records if r.getMessage() == "job completed"]
    assert done.early_compile is True  # type: ignore[attr-defined]
    assert not any(ex.settings.work_root.iterdir())


def test_a_hint_that_differs_from_the_record_is_not_used(ex: Executor, sandbox: FakeSandbox) -> None:
    """The record is the truth: a message whose code attribute was tampered with (or is
    stale) costs a recompilation, never a wrong verdict."""
    sandbox.program = lambda data: data  # echo: the real code's behaviour
    job_id = submit_with_hint(ex, "print(input())\n", "print('forged')\n")
    ex.handle(receive(ex))
    record = ex.store.get(job_id)
    assert record["verdict"] == "ACCEPTED"
    assert sandbox.compiled == ["print('forged')\n", "print(input())\n"]
    assert not any(ex.settings.work_root.iterdir())


def test_early_compile_is_dropped_when_the_claim_is_refused(ex: Executor, sandbox: FakeSandbox) -> None:
    code = "print(input())\n"
    job_id = submit_with_hint(ex, code, code)
    ex.handle(receive(ex))
    assert ex.store.get(job_id)["status"] == "completed"
    ex.queue.send(ex.spec.name, job_id, code)  # a duplicate delivery of the finished job
    ex.handle(receive(ex))
    assert ex.store.get(job_id)["attempts"] == 1
    assert queue_counts(ex) == {"visible": 0, "in_flight": 0}  # dropped
    assert not any(ex.settings.work_root.iterdir())  # the early work directory too
    assert not sandbox.cancelled  # reset for the next job


def test_large_code_is_not_copied_into_the_message(ex: Executor) -> None:
    from shared.queue import MAX_CODE_ATTRIBUTE_BYTES

    big = "#" * (MAX_CODE_ATTRIBUTE_BYTES + 1)
    submit_with_hint(ex, big, big)
    assert receive(ex).code is None


def test_io_threads_are_started_and_warmed_up_front(ex: Executor) -> None:
    from shared.executor import IO_THREADS

    ex._warm_io()
    assert len(ex._io._threads) == IO_THREADS  # type: ignore[attr-defined]
    # Each thread built its own table resource: a job's first write on any of them pays nothing.
    tables = set(ex._io.map(lambda _: id(ex.store.table), range(4 * IO_THREADS)))
    assert 1 <= len(tables) <= IO_THREADS


def test_a_claim_whose_answer_was_lost_is_still_ours(ex: Executor, monkeypatch: pytest.MonkeyPatch) -> None:
    """botocore retries an UpdateItem whose answer timed out; the retry fails its condition on
    the write the first try made. That is our claim (and our final write), not a lost race."""
    job_id = submit(ex)
    claims = Claims(ex.store, "exec-a", 30)
    table = ex.store.table
    real = table.update_item

    def answer_lost_then_retried(**kwargs: Any) -> Any:
        real(**kwargs)  # landed...
        return real(**kwargs)  # ...but its answer was lost: the retry meets its own write

    monkeypatch.setattr(table, "update_item", answer_lost_then_retried)
    claimed = claims.claim(job_id, ex.spec.name)
    assert claimed is not None and claimed["lease_owner"] == "exec-a" and claimed["attempts"] == 1
    assert claims.set_running(job_id)
    assert claims.complete(job_id, {"verdict": "ACCEPTED", "result_key": f"outputs/{job_id}/attempt-1/result.json"})
    monkeypatch.setattr(table, "update_item", real)
    # someone else's lease is still no claim for us
    other = submit(ex)
    assert Claims(ex.store, "exec-b", 30).claim(other, ex.spec.name) is not None
    assert claims.claim(other, ex.spec.name) is None
