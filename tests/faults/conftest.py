"""Fixtures of the fault-injection tests: a stack of their own (FaultStack) so that killing
executors, pausing the emulator or flooding the queues never disturbs the shared session
stack of tests/conftest.py.

The fault stack runs with a short lease (FAULT_LEASE_S: a dead executor's job is taken over
within seconds), CODEPIPE_MAX_ATTEMPTS=2 and a short drain timeout, and gives the executor
processes (only them) a distinctive AWS secret key and a canary variable that no program
output may ever contain (test_secrets.py).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from infra.stack import ManagedProcess, stop_all
from tests.stack import Stack

FAULT_LEASE_S = 6
FAULT_MAX_ATTEMPTS = 2
FAULT_DRAIN_S = 6
CANARY_VAR = "CODEPIPE_FAULT_CANARY"
TERMINAL = ("completed", "failed")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "faults: fault injection against a real stack of its own (tests/faults)")


class FaultStack(Stack):
    """tests.stack.Stack plus: an environment only the executors get, extra executor
    processes for a language, log inspection and polling helpers."""

    def __init__(self, log_dir: Path, lease_seconds: int, max_attempts: int,
                 executor_env: dict[str, str] | None = None) -> None:
        # The gateway's sweeper looks for jobs stored but never queued every second, after 3 s.
        super().__init__(log_dir, lease_seconds=lease_seconds, max_attempts=max_attempts,
                         extra_env={"CODEPIPE_SWEEP_SECONDS": "1", "CODEPIPE_UNQUEUED_AFTER_SECONDS": "3"})
        self.executor_env = dict(executor_env or {})
        self.extra: list[ManagedProcess] = []

    # --- processes ---------------------------------------------------------------------
    def executor_environment(self) -> dict[str, str]:
        return {**self.env, **self.executor_env}

    def start_executor(self, lang: str) -> None:
        saved = self.env
        self.env = self.executor_environment()
        try:
            super().start_executor(lang)
        finally:
            self.env = saved

    def start_extra_executor(self, lang: str, tag: str) -> ManagedProcess:
        """A second (third ...) executor process for `lang`, logging to exec-{lang}-{tag}.log."""
        proc = ManagedProcess(f"exec-{lang}-{tag}", [sys.executable, "-m", f"executor_{lang}"],
                              self.executor_environment(), log_path=self.log_dir / f"exec-{lang}-{tag}.log")
        proc.start()
        self.extra.append(proc)
        return proc

    def stop_extra(self) -> None:
        stop_all(self.extra)
        self.extra.clear()

    def ensure_executors(self, timeout: float = 60) -> None:
        """Restart any executor a previous test killed and wait until it has written its
        executor record again (it does so right at start)."""
        dead = [lang for lang, proc in self.executors.items() if not proc.alive]
        if not dead:
            return
        before = {lang: (self.store().executor_records().get(lang) or {}).get("executor_id") for lang in dead}
        for lang in dead:
            self.start_executor(lang)
        self.wait_executor_records(before, timeout)

    def wait_executor_records(self, before: dict[str, Any], timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        pending = set(before)
        while pending and time.monotonic() < deadline:
            records = self.store().executor_records()
            for lang in list(pending):
                rec = records.get(lang) or {}
                if rec.get("executor_id") and rec.get("executor_id") != before[lang]:
                    pending.discard(lang)
            time.sleep(0.3)
        assert not pending, f"executors {sorted(pending)} did not come back\n{self.tail_all()}"

    def stop(self) -> None:
        self.stop_extra()
        super().stop()

    # --- logs --------------------------------------------------------------------------
    def executor_log_lines(self, lang: str) -> list[dict[str, Any]]:
        """Every JSON log line of every executor process of `lang` this stack ran."""
        out: list[dict[str, Any]] = []
        paths = [self.log_dir / f"exec-{lang}.log", *sorted(self.log_dir.glob(f"exec-{lang}-*.log"))]
        for path in paths:
            if not path.exists():
                continue
            for raw in path.read_text(errors="replace").splitlines():
                try:
                    line = json.loads(raw)
                except ValueError:
                    continue
                if isinstance(line, dict):
                    line["_file"] = path.name
                    out.append(line)
        return out

    def job_log(self, lang: str, job_id: str, msg: str | None = None) -> list[dict[str, Any]]:
        return [line for line in self.executor_log_lines(lang)
                if line.get("job_id") == job_id and (msg is None or line.get("msg") == msg)]

    # --- polling -----------------------------------------------------------------------
    def item(self, job_id: str) -> dict[str, Any]:
        item = self.store().get(job_id)
        assert item is not None, f"job {job_id} has no record"
        return item

    def wait_status(self, job_id: str, statuses: Iterable[str], timeout: float) -> dict[str, Any]:
        """Poll the record (consistent reads) until its status is one of `statuses`."""
        wanted = set(statuses)
        deadline = time.monotonic() + timeout
        item: dict[str, Any] = {}
        while time.monotonic() < deadline:
            item = self.item(job_id)
            if item.get("status") in wanted:
                return item
            if item.get("status") in TERMINAL:
                break
            time.sleep(0.1)
        pytest.fail(f"job {job_id} never reached {sorted(wanted)}: last status {item.get('status')}, "
                    f"error {item.get('error')}\n{self.tail_all()}", pytrace=False)

    def wait_queue_drained(self, lang: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        depth = -1
        while time.monotonic() < deadline:
            depth = self.queue_depth(lang)
            if depth == 0:
                return
            time.sleep(0.3)
        pytest.fail(f"queue of {lang} still holds {depth} message(s) after {timeout}s\n{self.tail(f'exec-{lang}')}",
                    pytrace=False)

    def s3_objects(self, prefix: str) -> dict[str, bytes]:
        s3 = self.blobs().s3
        out: dict[str, bytes] = {}
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix):
            for obj in page.get("Contents", []):
                out[obj["Key"]] = s3.get_object(Bucket=self.bucket, Key=obj["Key"])["Body"].read()
        return out


def _log_dir(tmp_path_factory: pytest.TempPathFactory, name: str) -> Path:
    base = os.environ.get("CODEPIPE_TEST_LOG_DIR")
    if base:
        # A fresh directory per stack: a stale emulator.port would point at a dead emulator.
        Path(base).mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f"{name}-", dir=base))
    return tmp_path_factory.mktemp(name)


_ACTIVE: list[FaultStack] = []


def start_fault_stack(log_dir: Path, lease_seconds: int, max_attempts: int,
                      executor_env: dict[str, str] | None = None) -> FaultStack:
    s = FaultStack(log_dir, lease_seconds, max_attempts, executor_env)
    s.start()
    _ACTIVE.append(s)
    return s


@pytest.fixture(scope="package")
def fstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    """The fault stack: lease FAULT_LEASE_S, max_attempts FAULT_MAX_ATTEMPTS, drain
    FAULT_DRAIN_S; the executors alone carry a unique AWS secret key and a canary variable."""
    executor_env = {
        "AWS_SECRET_ACCESS_KEY": f"cpsecret{secrets.token_hex(12)}",
        "AWS_SESSION_TOKEN": f"cptoken{secrets.token_hex(12)}",
        CANARY_VAR: f"cpcanary{secrets.token_hex(12)}",
        "CODEPIPE_DRAIN_SECONDS": str(FAULT_DRAIN_S),
    }
    s = start_fault_stack(_log_dir(tmp_path_factory, "fault-stack"), FAULT_LEASE_S, FAULT_MAX_ATTEMPTS, executor_env)
    try:
        yield s
    finally:
        _ACTIVE.remove(s)
        s.stop()


@pytest.fixture
def fs(fstack: FaultStack) -> Iterator[FaultStack]:
    """Per test: every executor of the fault stack running (a previous test may have killed
    one), the emulator listening; extra executors stopped afterwards."""
    if fstack.emulator is not None and fstack.emulator_port is not None:
        from infra.stack import port_in_use

        if not port_in_use(fstack.emulator_port):
            fstack.start_emulator()
    fstack.ensure_executors()
    fstack.require_executors()
    try:
        yield fstack
    finally:
        # Executors a test left stopped are restarted by the next test's `fs`.
        fstack.stop_extra()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):  # type: ignore[no-untyped-def]
    outcome = yield
    report = outcome.get_result()
    if report.failed and _ACTIVE:
        for s in _ACTIVE:
            report.sections.append((f"fault stack logs ({s.log_dir})", s.tail_all()))


def send_signal_to_pid(proc: ManagedProcess, sig: int = signal.SIGTERM) -> None:
    """Signal the executor process alone (as `docker stop` / ECS do), not its process group."""
    assert proc.pid is not None
    os.kill(proc.pid, sig)
