"""The real stack for integration tests: separate processes talking over HTTP, as in
production: the emulator (moto server mode) on a free port, the data resources (created from
infra/data.yaml with a unique name prefix), the gateway on a free port and one executor per
language. Logs go to files; `tail()` shows them when a test fails.

`CODEPIPE_TEST_ENDPOINT=http://localhost:4566` runs against an existing endpoint (LocalStack)
instead of starting the emulator; the unique prefix keeps sessions apart there too. With
AWS_ACCESS_KEY_ID set, every process then uses the environment's credentials instead of the
emulator's dummy ones (`make test-localstack`, tests/localstack/, passes LocalStack's `test`).
"""

from __future__ import annotations

import os
import signal
import sys
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.stack import (
    EXECUTORS,
    ManagedProcess,
    base_env,
    emulator_env,
    executor_available,
    free_port,
    port_in_use,
    stop_all,
    wait_for_http,
)
from shared.languages import LANGUAGES
from shared.settings import Settings

EXECUTOR_START_TIMEOUT = float(os.environ.get("CODEPIPE_TEST_EXECUTOR_START_S", "45"))


class StackError(RuntimeError):
    pass


class Stack:
    def __init__(self, log_dir: Path, lease_seconds: int = 15, max_attempts: int = 3,
                 extra_env: dict[str, str] | None = None) -> None:
        self.log_dir = log_dir
        self.extra_env = dict(extra_env or {})  # for every process of the stack
        self.prefix = f"cpt{uuid.uuid4().hex[:8]}"
        self.table = f"{self.prefix}-jobs"
        self.queue_prefix = f"{self.prefix}-jobs"
        self.bucket = f"{self.prefix}-outputs"
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self.external_endpoint = os.environ.get("CODEPIPE_TEST_ENDPOINT")
        self.emulator: ManagedProcess | None = None
        self.emulator_port: int | None = None
        self.gateway: ManagedProcess | None = None
        self.executors: dict[str, ManagedProcess] = {}
        self.executor_problems: dict[str, str] = {}
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.endpoint = ""
        self.env: dict[str, str] = {}
        self.client = httpx.Client(base_url=self.base_url, timeout=httpx.Timeout(60.0, connect=5.0))
        self._aws: dict[str, Any] = {}

    # --- life cycle ---------------------------------------------------------------------
    def start(self) -> Stack:
        try:
            self._start_emulator()
            self.env = base_env(
                {
                    **self._aws_env(),
                    "CODEPIPE_TABLE": self.table,
                    "CODEPIPE_QUEUE_PREFIX": self.queue_prefix,
                    "CODEPIPE_BUCKET": self.bucket,
                    "CODEPIPE_HOST": "127.0.0.1",
                    "CODEPIPE_PORT": str(self.port),
                    "CODEPIPE_LEASE_SECONDS": str(self.lease_seconds),
                    "CODEPIPE_MAX_ATTEMPTS": str(self.max_attempts),
                    "CODEPIPE_LOG_LEVEL": "INFO",
                    **self.extra_env,
                }
            )
            from infra.resources import create_resources

            self._with_test_credentials()
            create_resources(self.settings(), wait_seconds=30)
            self.gateway = ManagedProcess("gateway", [sys.executable, "-m", "api_gateway"], self.env,
                                          log_path=self.log_dir / "gateway.log")
            self.gateway.start()
            for lang in EXECUTORS:
                self.start_executor(lang)
            wait_for_http(f"{self.base_url}/health", 30, self.gateway)
            self._wait_executors_up()
        except BaseException:
            print(self.tail_all(), file=sys.stderr)
            self.stop()
            raise
        return self

    def _start_emulator(self) -> None:
        if self.external_endpoint:
            self.endpoint = self.external_endpoint
            return
        port_file = self.log_dir / "emulator.port"
        self.emulator = ManagedProcess(
            "emulator",
            [sys.executable, "-m", "infra.emulator", "--port", "0", "--port-file", str(port_file)],
            base_env(emulator_env("http://unused")),
            log_path=self.log_dir / "emulator.log",
        )
        self.emulator.start()
        deadline = time.monotonic() + 30
        while not port_file.exists():
            if not self.emulator.alive:
                raise StackError(f"emulator exited with {self.emulator.returncode}")
            if time.monotonic() > deadline:
                raise StackError("emulator did not start within 30 s")
            time.sleep(0.05)
        self.emulator_port = int(port_file.read_text())
        self.endpoint = f"http://127.0.0.1:{self.emulator_port}"

    def _wait_executors_up(self) -> None:
        """Until every started executor has written its `executor#{lang}` record (it does so at
        start), or died. Problems are remembered; tests needing that executor fail loudly."""
        deadline = time.monotonic() + EXECUTOR_START_TIMEOUT
        pending = set(self.executors)
        while pending and time.monotonic() < deadline:
            records = self.store().executor_records()
            for lang in list(pending):
                proc = self.executors[lang]
                rec = records.get(lang)
                if rec and rec.get("executor_id"):
                    pending.discard(lang)
                elif not proc.alive:
                    self.executor_problems[lang] = f"executor_{lang} exited with {proc.returncode} at start"
                    pending.discard(lang)
            time.sleep(0.3)
        for lang in pending:
            self.executor_problems[lang] = f"executor_{lang} wrote no executor record within {EXECUTOR_START_TIMEOUT}s"

    def stop(self) -> None:
        procs = list(self.executors.values())
        stop_all(procs)
        if self.gateway is not None:
            stop_all([self.gateway])
        if self.emulator is not None:
            stop_all([self.emulator])
        self.client.close()

    # --- processes ---------------------------------------------------------------------
    def start_executor(self, lang: str) -> None:
        if not executor_available(lang):
            self.executor_problems[lang] = f"package executor_{lang} is missing (no executor_{lang}/__main__.py)"
            return
        old = self.executors.get(lang)
        if old is not None and old.alive:
            return
        if old is not None:
            old.close()
        proc = ManagedProcess(f"exec-{lang}", [sys.executable, "-m", f"executor_{lang}"], self.env,
                              log_path=self.log_dir / f"exec-{lang}.log")
        proc.start()
        self.executors[lang] = proc
        self.executor_problems.pop(lang, None)

    def kill_executor(self, lang: str, sig: int = signal.SIGKILL, wait: float = 10) -> None:
        proc = self.executors[lang]
        proc.signal(sig)
        proc.wait(wait)

    def restart_executor(self, lang: str, sig: int = signal.SIGTERM) -> None:
        """Stop (SIGTERM, then SIGKILL after 10 s; or `sig` right away) and start again."""
        if lang in self.executors:
            if sig == signal.SIGTERM:
                stop_all([self.executors[lang]])
            else:
                self.kill_executor(lang, sig)
        self.start_executor(lang)

    def stop_emulator(self) -> None:
        """Take the emulator's listener down; its data stays (infra/emulator.py)."""
        assert self.emulator is not None and self.emulator_port is not None, "external endpoint: cannot stop it"
        self.emulator.signal(signal.SIGUSR1)
        deadline = time.monotonic() + 10
        while port_in_use(self.emulator_port):
            if time.monotonic() > deadline:
                raise StackError("emulator listener did not stop")
            time.sleep(0.05)

    def start_emulator(self) -> None:
        assert self.emulator is not None and self.emulator_port is not None
        self.emulator.signal(signal.SIGUSR2)
        deadline = time.monotonic() + 15
        while not port_in_use(self.emulator_port):
            if time.monotonic() > deadline:
                raise StackError("emulator listener did not come back")
            time.sleep(0.05)

    def require_executors(self, *langs: str) -> None:
        """pytest.fail (with the executor's log) unless each executor is running."""
        for lang in langs or LANGUAGES:
            problem = self.executor_problems.get(lang)
            proc = self.executors.get(lang)
            if problem is None and (proc is None or not proc.alive):
                problem = f"executor_{lang} is not running (exit {proc.returncode if proc else None})"
            if problem:
                pytest.fail(f"{problem}\n{self.tail(f'exec-{lang}')}", pytrace=False)

    # --- AWS access with this session's names ------------------------------------------
    def settings(self) -> Settings:
        return Settings(
            AWS_ENDPOINT_URL=self.endpoint,  # type: ignore[call-arg]  (validation alias)
            table=self.table,
            queue_prefix=self.queue_prefix,
            bucket=self.bucket,
            max_attempts=self.max_attempts,
            lease_seconds=self.lease_seconds,
        )

    def _aws_env(self) -> dict[str, str]:
        """Endpoint, region and credentials for every process of the stack: the emulator's dummy
        credentials, or, on an existing endpoint with AWS_ACCESS_KEY_ID set, the environment's
        (LocalStack checks presigned-URL signatures against its own `test` secret)."""
        env = emulator_env(self.endpoint)
        if self.external_endpoint and os.environ.get("AWS_ACCESS_KEY_ID"):
            for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
                if key in os.environ:
                    env[key] = os.environ[key]
                else:
                    env.pop(key)
        return env

    def _with_test_credentials(self) -> None:
        if not self.external_endpoint or not os.environ.get("AWS_ACCESS_KEY_ID"):
            for key, value in emulator_env(self.endpoint).items():
                if key != "AWS_ENDPOINT_URL":
                    os.environ.setdefault(key, value)

    def store(self) -> Any:
        from shared.jobs import JobStore

        self._with_test_credentials()
        if "store" not in self._aws:
            self._aws["store"] = JobStore(self.settings())
        return self._aws["store"]

    def queue(self) -> Any:
        from shared.queue import JobQueue

        self._with_test_credentials()
        if "queue" not in self._aws:
            self._aws["queue"] = JobQueue(self.settings())
        return self._aws["queue"]

    def blobs(self) -> Any:
        from shared.blobs import Blobs

        self._with_test_credentials()
        if "blobs" not in self._aws:
            self._aws["blobs"] = Blobs(self.settings())
        return self._aws["blobs"]

    def job_count(self) -> int:
        """Job records in the table (executor records excluded)."""
        table = self.store().table
        count, kwargs = 0, {"Select": "COUNT", "FilterExpression": "NOT begins_with(id, :e)",
                            "ExpressionAttributeValues": {":e": "executor#"}, "ConsistentRead": True}
        while True:
            resp = table.scan(**kwargs)
            count += resp["Count"]
            if "LastEvaluatedKey" not in resp:
                return count
            kwargs["ExclusiveStartKey"] = resp["LastEvaluatedKey"]

    def object_count(self, prefix: str = "") -> int:
        s3 = self.blobs().s3
        pages = s3.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
        return sum(page.get("KeyCount", 0) for page in pages)

    def queue_depth(self, lang: str, dlq: bool = False) -> int:
        d = self.queue().approximate_depth(lang, dlq=dlq)
        return d["visible"] + d["in_flight"]

    # --- HTTP helpers ------------------------------------------------------------------
    def submit(self, language: str = "python", code: str = "print('hi')\n",
               test_cases: Iterable[dict[str, Any]] | None = None, **fields: Any) -> httpx.Response:
        body: dict[str, Any] = {"language": language, "code": code, **fields}
        if test_cases is not None:
            body["test_cases"] = list(test_cases)
        return self.client.post("/submit", json=body)

    def submit_ok(self, *args: Any, **kwargs: Any) -> str:
        resp = self.submit(*args, **kwargs)
        assert resp.status_code == 202, f"submit answered {resp.status_code}: {resp.text[:2000]}"
        return resp.json()["id"]

    def status(self, job_id: str) -> dict[str, Any]:
        resp = self.client.get(f"/status/{job_id}")
        assert resp.status_code == 200, resp.text
        return resp.json()

    def wait_result(self, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """/result, long-polling until terminal; fails (with executor logs) on timeout."""
        deadline = time.monotonic() + timeout
        body: dict[str, Any] = {}
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                lang = body.get("language", "")
                pytest.fail(
                    f"job {job_id} not terminal after {timeout}s: {body}\n{self.tail(f'exec-{lang}')}", pytrace=False
                )
            resp = self.client.get(f"/result/{job_id}", params={"wait": min(20, max(1, int(remaining)))})
            assert resp.status_code == 200, f"/result answered {resp.status_code}: {resp.text[:2000]}"
            body = resp.json()
            if body["status"] in ("completed", "failed"):
                return body

    def run_all(self, bodies: dict[str, dict[str, Any]], timeout: float) -> dict[str, dict[str, Any]]:
        """Submit every body at once (the executors work through their queues in parallel),
        then wait for each job's terminal result; keyed like `bodies`."""
        import concurrent.futures

        ids: dict[str, str] = {}
        for key, body in bodies.items():
            resp = self.client.post("/submit", json=body)
            assert resp.status_code == 202, f"{key}: submit answered {resp.status_code}: {resp.text[:500]}"
            ids[key] = resp.json()["id"]
        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            futures = {key: pool.submit(self.wait_result, job_id, timeout) for key, job_id in ids.items()}
            return {key: f.result() for key, f in futures.items()}

    def run(self, language: str, code: str, test_cases: Iterable[dict[str, Any]] | None = None,
            timeout: float = 90.0, **fields: Any) -> dict[str, Any]:
        """Submit and wait for the terminal result."""
        self.require_executors(language if language in LANGUAGES else _canonical(language))
        return self.wait_result(self.submit_ok(language, code, test_cases, **fields), timeout)

    # --- logs --------------------------------------------------------------------------
    def tail(self, name: str, lines: int = 40) -> str:
        path = self.log_dir / f"{name}.log"
        if not path.exists():
            return f"--- {name}: no log ---"
        text = path.read_text(errors="replace").splitlines()[-lines:]
        return f"--- {name} (last {len(text)} lines of {path}) ---\n" + "\n".join(text)

    def tail_all(self, lines: int = 25) -> str:
        names = ["emulator", "gateway"] + [f"exec-{lang}" for lang in EXECUTORS]
        return "\n".join(self.tail(n, lines) for n in names)


def verdicts(result: dict[str, Any]) -> list[str]:
    """Each test's verdict of a result document, in order."""
    return [r["verdict"] for r in result["results"]]


def _canonical(language: str) -> str:
    from shared.languages import canonical_language

    return canonical_language(language) or language
