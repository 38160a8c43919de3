"""Executors dying, being stopped and receiving duplicates (SPEC §5: at-least-once delivery,
the verdict written exactly once, a job whose executor dies is finished by another).

Real processes, real signals: the fault stack's executors are separate processes, SIGKILLed
or SIGTERMed mid-job; duplicates are real SQS messages sent next to the gateway's."""

from __future__ import annotations

import os
import secrets
import signal
import time

import httpx
import pytest

from tests.faults.conftest import FAULT_DRAIN_S, FAULT_LEASE_S, FaultStack, send_signal_to_pid
from tests.faults.helpers import pids_with_marker, sleeping_c, sleeping_python, wait_until

pytestmark = [pytest.mark.faults, pytest.mark.slow]

ANSWER = [{"input": "", "expected": "42\n"}]
LIMITS = {"time_ms": 2000, "wall_ms": 10000}


def _assert_final_once(fs: FaultStack, lang: str, job_id: str) -> dict:
    """The verdict was written exactly once: one `job completed` line over every executor
    process of the language, the record no longer leased, and its completion stable."""
    done = fs.job_log(lang, job_id, "job completed")
    assert len(done) == 1, f"expected one final write for {job_id}, the logs show {len(done)}: {done}"
    first = fs.item(job_id)
    assert first["status"] == "completed", first
    assert "lease_owner" not in first and "lease_expires_ms" not in first, first
    # Another lease period: nobody may rewrite the verdict later (e.g. a late redelivery).
    time.sleep(FAULT_LEASE_S + 2)
    again = fs.item(job_id)
    for key in ("status", "verdict", "completed_at", "attempts", "passed", "result_key"):
        assert again.get(key) == first.get(key), (key, first.get(key), again.get(key))
    assert len(fs.job_log(lang, job_id, "job completed")) == 1
    return again


@pytest.mark.timeout(180)
@pytest.mark.parametrize("lang", ["python", "c"])
def test_kill9_executor_mid_job_job_finishes_exactly_once(fs: FaultStack, lang: str) -> None:
    marker = f"cpmk{secrets.token_hex(4)}"
    code = sleeping_python(4) if lang == "python" else sleeping_c(4, marker)
    job_id = fs.submit_ok(lang, code, ANSWER, limits=LIMITS)
    fs.wait_status(job_id, {"running"}, timeout=60)
    if lang == "c":
        # Sanity of the orphan check below: the program is visible from the host while it runs.
        assert wait_until(lambda: pids_with_marker(marker), 5), "the running program was not found via its marker"
    victim = fs.executors[lang]
    first_owner = fs.item(job_id).get("lease_owner")
    assert first_owner, "a running job must be leased"

    fs.kill_executor(lang, signal.SIGKILL)
    assert not victim.alive
    killed_at = time.monotonic()
    if lang == "c":
        # The sandboxed program dies with its executor (no orphan burning a core).
        assert wait_until(lambda: not pids_with_marker(marker), 5), (
            f"sandboxed program outlived its SIGKILLed executor: pids {pids_with_marker(marker)}")

    fs.start_executor(lang)
    result = fs.wait_result(job_id, timeout=120)
    took = time.monotonic() - killed_at
    assert result["status"] == "completed", result
    assert result["verdict"] == "ACCEPTED", result
    assert result["results"][0]["actual"] == "42\n", result["results"]

    item = _assert_final_once(fs, lang, job_id)
    assert int(item["attempts"]) >= 2, item
    claims = fs.job_log(lang, job_id, "claimed job")
    assert len({c["_file"] for c in claims}) == 1 and len(claims) >= 2, claims  # both processes log to exec-{lang}
    # Taken over within about one lease plus the poll, not after the queue's default timeout.
    assert took < FAULT_LEASE_S * 4 + 30, f"takeover took {took:.1f}s"


@pytest.mark.timeout(120)
def test_duplicate_delivery_of_a_completed_job_is_dropped(fs: FaultStack) -> None:
    job_id = fs.submit_ok("python", "print(input())\n", [{"input": "7\n", "expected": "7\n"}])
    result = fs.wait_result(job_id, timeout=60)
    assert result["verdict"] == "ACCEPTED", result
    before = fs.item(job_id)
    fs.wait_queue_drained("python", 30)

    fs.queue().send("python", job_id)
    fs.queue().send("python", job_id)
    dropped = "job already finished; dropping duplicate delivery"
    assert wait_until(lambda: len(fs.job_log("python", job_id, dropped)) == 2, 40), fs.tail("exec-python")
    fs.wait_queue_drained("python", 30)
    after = fs.item(job_id)
    for key in ("status", "verdict", "completed_at", "attempts", "passed", "total", "started_at", "result_key"):
        assert after.get(key) == before.get(key), (key, before.get(key), after.get(key))
    assert len(fs.job_log("python", job_id, "job completed")) == 1


@pytest.mark.timeout(150)
def test_duplicate_delivery_while_running_two_executors_one_run(fs: FaultStack) -> None:
    """Two executors of one language, the job's message duplicated while it runs: the
    second delivery must neither run the job again nor write a second verdict."""
    extra = fs.start_extra_executor("python", "twin")
    # Let the twin start polling (it writes its executor record at start).
    assert wait_until(lambda: any(line.get("msg") == "toolchain" for line in fs.executor_log_lines("python")
                                  if line["_file"] == "exec-python-twin.log"), 30)
    job_id = fs.submit_ok("python", sleeping_python(5), ANSWER, limits=LIMITS)
    fs.wait_status(job_id, {"running"}, timeout=60)
    fs.queue().send("python", job_id)
    result = fs.wait_result(job_id, timeout=90)
    assert result["verdict"] == "ACCEPTED", result
    fs.wait_queue_drained("python", 40)
    item = _assert_final_once(fs, "python", job_id)
    assert int(item["attempts"]) == 1, f"the duplicate was claimed as a second attempt: {item}"
    assert len(fs.job_log("python", job_id, "claimed job")) == 1
    assert extra.alive


@pytest.mark.timeout(120)
def test_sigterm_mid_job_drains_it_then_exits(fs: FaultStack) -> None:
    """SIGTERM to the executor process (as ECS / docker stop send it): the job in hand
    (shorter than the drain timeout) is finished by the same executor, which then exits."""
    job_id = fs.submit_ok("python", sleeping_python(3), ANSWER, limits=LIMITS)
    fs.wait_status(job_id, {"running"}, timeout=60)
    proc = fs.executors["python"]
    t0 = time.monotonic()
    send_signal_to_pid(proc, signal.SIGTERM)
    exited = proc.wait(FAULT_DRAIN_S + 10)
    took = time.monotonic() - t0
    assert exited, f"executor still running {took:.1f}s after SIGTERM (drain {FAULT_DRAIN_S}s)"
    assert proc.returncode == 0, proc.returncode
    item = fs.item(job_id)
    assert item["status"] == "completed" and item["verdict"] == "ACCEPTED", item
    assert int(item["attempts"]) == 1, item
    assert len(fs.job_log("python", job_id, "job completed")) == 1


@pytest.mark.timeout(150)
def test_sigterm_with_job_longer_than_drain_hands_it_back(fs: FaultStack) -> None:
    """The job outlasts the drain timeout: the executor gives it back and exits in time; a
    restarted executor finishes it, once."""
    job_id = fs.submit_ok("python", sleeping_python(FAULT_DRAIN_S + 8), ANSWER,
                          limits={"time_ms": 2000, "wall_ms": (FAULT_DRAIN_S + 14) * 1000})
    fs.wait_status(job_id, {"running"}, timeout=60)
    proc = fs.executors["python"]
    t0 = time.monotonic()
    send_signal_to_pid(proc, signal.SIGTERM)
    exited = proc.wait(FAULT_DRAIN_S + 15)
    took = time.monotonic() - t0
    assert exited, f"executor still running {took:.1f}s after SIGTERM (drain {FAULT_DRAIN_S}s)"
    assert took < FAULT_DRAIN_S + 10, f"exit took {took:.1f}s with a {FAULT_DRAIN_S}s drain"
    assert proc.returncode == 0, proc.returncode
    handed = fs.job_log("python", job_id, "shutting down: handing the job back to the queue")
    assert handed, "the executor exited without handing the job back"
    item = fs.item(job_id)
    assert item["status"] == "queued" and "lease_owner" not in item, item

    fs.start_executor("python")
    result = fs.wait_result(job_id, timeout=90)
    assert result["status"] == "completed" and result["verdict"] == "ACCEPTED", result
    item = _assert_final_once(fs, "python", job_id)
    assert int(item["attempts"]) == 2, item


@pytest.mark.timeout(150)
def test_sigterm_to_process_group_job_still_completes(fs: FaultStack) -> None:
    """SIGTERM to the executor's whole process group (what `make run`'s supervisor sends on
    Ctrl-C: the sandbox helper and the program get it too): the executor still exits within
    its drain timeout and the job is completed, by it or by the restarted executor."""
    job_id = fs.submit_ok("python", sleeping_python(3), ANSWER, limits=LIMITS)
    fs.wait_status(job_id, {"running"}, timeout=60)
    proc = fs.executors["python"]
    t0 = time.monotonic()
    proc.signal(signal.SIGTERM)
    exited = proc.wait(FAULT_DRAIN_S + 10)
    took = time.monotonic() - t0
    assert exited, f"executor still running {took:.1f}s after SIGTERM to its group"
    fs.start_executor("python")
    result = fs.wait_result(job_id, timeout=90)
    assert result["status"] == "completed", result
    assert result["verdict"] == "ACCEPTED", (
        "SIGTERM to the executor's group was reported as the user's fault", result)
    _assert_final_once(fs, "python", job_id)


@pytest.mark.timeout(150)
def test_takeover_after_a_crash_does_not_burn_the_remaining_delivery(fs: FaultStack) -> None:
    """Deterministic form of the kill -9 race. An executor receives the message, claims the
    job through the real lease protocol (shared.claims) and dies. Its message becomes
    visible again a little before its DynamoDB lease lapses (the heartbeat extends the
    visibility first, then the lease; here the gap is widened to 2 s to make it certain).
    With CODEPIPE_MAX_ATTEMPTS=2 one crash leaves one real attempt, so the next executor
    must finish the job (SPEC §5: a job whose executor dies is finished by another) rather
    than spend that delivery deferring to the dead lease."""
    from shared.claims import Claims

    proc = fs.executors["python"]
    proc.stop()  # the stack's python executor is out of the way while we play the dead one
    assert not proc.alive
    # Its last long poll may still be pending server-side and would take the message
    # (an extra receive that would blur the count): let it run out.
    time.sleep(21)
    job_id = fs.submit_ok("python", "print(42)\n", ANSWER)
    msgs = []
    assert wait_until(lambda: msgs.extend(fs.queue().receive("python", wait_seconds=1, visibility_timeout=2))
                      or bool(msgs), 20)
    assert msgs[0].job_id == job_id and msgs[0].receive_count == 1
    dead = Claims(fs.store(), "dead-executor", lease_seconds=4)
    assert dead.claim(job_id, "python") is not None
    # ... and the dead executor never does anything again.
    fs.start_executor("python")
    item = fs.item(job_id)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and item.get("status") not in ("completed", "failed"):
        time.sleep(0.5)
        item = fs.item(job_id)
    assert item.get("status") == "completed" and item.get("verdict") == "ACCEPTED", (
        "one crash exhausted the job's deliveries: "
        f"{ {k: item.get(k) for k in ('status', 'verdict', 'attempts', 'error')} }\n"
        + "\n".join(f"{line.get('msg')} receive_count={line.get('receive_count')}"
                    for line in fs.job_log("python", job_id)))


STAMP_PY = "import time, random\ntime.sleep(3)\nprint(time.time_ns(), random.random())\n"


@pytest.mark.timeout(180)
def test_frozen_executor_resuming_after_takeover_changes_nothing(fs: FaultStack) -> None:
    """Split brain: the executor running a job is frozen (SIGSTOP: a long GC pause, a stalled
    VM) past its lease; a second executor takes the job over and completes it; then the
    frozen one resumes (SIGCONT) with its own, different outputs in hand. It must not write
    anything any more: not the verdict (the record keeps the second executor's result) and
    not the S3 outputs (they must keep matching the record). The program prints a value
    unique to each run so that any overwrite shows."""
    twin = fs.start_extra_executor("python", "twin")
    assert wait_until(lambda: any(line.get("msg") == "toolchain" for line in fs.executor_log_lines("python")
                                  if line["_file"] == "exec-python-twin.log"), 30)
    job_id = fs.submit_ok("python", STAMP_PY, limits=LIMITS)
    item = fs.wait_status(job_id, {"running"}, timeout=60)
    owner = item["lease_owner"]
    procs = {p.pid: p for p in (fs.executors["python"], twin)}
    owner_pid = int(owner.split("-")[-2])
    assert owner_pid in procs, (owner, list(procs))
    frozen = procs[owner_pid]
    other = next(p for pid, p in procs.items() if pid != owner_pid)
    os.kill(owner_pid, signal.SIGSTOP)
    try:
        done = fs.wait_status(job_id, {"completed"}, timeout=90)
    finally:
        os.kill(owner_pid, signal.SIGCONT)
    assert other.alive
    # Give the resumed executor time to do whatever it would do.
    time.sleep(FAULT_LEASE_S + 4)
    final = fs.item(job_id)
    for key in ("completed_at", "verdict", "stdout_preview", "attempts"):
        assert final.get(key) == done.get(key), (key, done.get(key), final.get(key))
    assert int(final["attempts"]) == 2, final
    assert len(fs.job_log("python", job_id, "job completed")) == 1
    # The record names the objects of the attempt whose verdict it holds (each attempt writes
    # under its own prefix); those must be the winner's, whatever the resumed one uploaded.
    for key in ("output_prefix", "result_key"):
        assert final.get(key) == done.get(key), (key, done.get(key), final.get(key))
    prefix = final["output_prefix"]
    assert prefix.startswith(f"outputs/{job_id}/") and final["result_key"] == f"{prefix}result.json", final
    stdout = fs.blobs().get_bytes(f"{prefix}tests/1.stdout").decode()
    doc = fs.blobs().get_json(final["result_key"])
    assert stdout == final["stdout_preview"], (
        f"S3 stdout {stdout!r} no longer matches the record's {final['stdout_preview']!r}: "
        "the frozen executor overwrote the outputs after losing its lease")
    assert doc["completed_at"] == final["completed_at"] and doc["stdout_preview"] == final["stdout_preview"], (
        "the S3 result document no longer matches the record", doc, final)
    # What a client is handed (presigned from the record) is the winner's output too.
    result = fs.wait_result(job_id, timeout=10)
    served = httpx.get(result["results"][0]["stdout_url"], timeout=10)
    assert served.status_code == 200 and served.text == final["stdout_preview"], served.text[:200]
    assert frozen.alive, "the resumed executor died"
