"""`make run`: the whole service on one machine, supervised.

    python -m infra.stack [--port 8080] [--no-executors]

1. Unless `AWS_ENDPOINT_URL` is set (LocalStack, ...) or `CODEPIPE_USE_REAL_AWS=1`, starts the
   embedded emulator (`python -m infra.emulator`) and points every child at it with dummy
   credentials.
2. Creates the table, queues and bucket (`infra.resources`, from infra/data.yaml).
3. Starts the gateway (`python -m api_gateway`) and one process per executor
   (`python -m executor_<language>` for every language of the registry), restarting any that dies, with backoff.
4. Prints the URL and a ready-to-paste curl line.
5. Ctrl-C / SIGTERM: SIGTERM to every child's process group, then SIGKILL to stragglers.

The emulator keeps its data in memory: if it dies, everything it held is gone, so the stack
stops rather than carry on against an empty backend.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO

from shared.languages import LANGUAGES
from shared.settings import REPO_ROOT

# One executor process per registered language (shared.languages).
EXECUTORS = LANGUAGES
PR_SET_PDEATHSIG = 1


try:
    # Loaded here, not in the child: dlopen between fork and exec can deadlock.
    _LIBC: ctypes.CDLL | None = ctypes.CDLL("libc.so.6", use_errno=True)
except OSError:
    _LIBC = None


def _die_with_parent() -> None:
    """preexec_fn: the child gets SIGTERM if the supervisor dies (even by SIGKILL), so an
    interrupted `make run` never leaves orphans. Linux-only; harmless elsewhere."""
    if _LIBC is not None:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


class ManagedProcess:
    """One child in its own process group, its output either prefixed onto our stdout or
    appended to a log file."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path | None = None,
                 cwd: Path = REPO_ROOT, echo: Callable[[str], None] | None = None) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.cwd = cwd
        self.echo = echo or (lambda line: print(line, flush=True))
        self.proc: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0
        self.restarts = 0
        self._reader: threading.Thread | None = None
        self._log_file: IO[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.proc.poll() if self.proc else None

    def start(self) -> None:
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            self._log_file = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the child
            out: int | IO[bytes] = self._log_file
        else:
            out = subprocess.PIPE
        self.proc = subprocess.Popen(
            self.argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=_die_with_parent,  # noqa: PLW1509 - no threads touch it
        )
        self.started_at = time.monotonic()
        if self.log_path is None:
            self._reader = threading.Thread(target=self._pump, name=f"log-{self.name}", daemon=True)
            self._reader.start()

    def _pump(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        width = 11
        for raw in iter(self.proc.stdout.readline, b""):
            self.echo(f"{self.name:<{width}}| {raw.decode('utf-8', 'replace').rstrip()}")

    def signal(self, sig: int) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def wait(self, timeout: float) -> bool:
        if self.proc is None:
            return True
        try:
            self.proc.wait(timeout=timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the group, wait, then SIGKILL whatever is left of it."""
        if self.proc is None:
            return
        if self.alive:
            self.signal(signal.SIGTERM)
            self.wait(timeout)
        # The leader may be gone while grandchildren (a sandboxed program) linger in the group.
        self.signal(signal.SIGKILL)
        self.wait(2)
        self.close()

    def close(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=2)
            self._reader = None
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None


def stop_all(procs: list[ManagedProcess], timeout: float = 10.0) -> None:
    """Stop in parallel: SIGTERM every group, one shared wait, then SIGKILL."""
    for p in procs:
        if p.alive:
            p.signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for p in procs:
        p.wait(max(0.0, deadline - time.monotonic()))
    for p in procs:
        p.signal(signal.SIGKILL)
        p.wait(2)
        p.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def wait_for_port(port: int, timeout: float, proc: ManagedProcess | None = None, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while not port_in_use(port, host):
        if proc is not None and not proc.alive:
            raise RuntimeError(f"{proc.name} exited with {proc.returncode} before listening on {port}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing listening on {host}:{port} after {timeout}s")
        time.sleep(0.1)


def wait_for_http(url: str, timeout: float, proc: ManagedProcess | None = None) -> None:
    """Until `url` answers at all (any status: /health is 503 while a dependency is down)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            pass
        if proc is not None and not proc.alive:
            raise RuntimeError(f"{proc.name} exited with {proc.returncode} before answering {url}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout}s")
        time.sleep(0.2)


def executor_available(language: str) -> bool:
    try:
        return importlib.util.find_spec(f"executor_{language}.__main__") is not None
    except (ImportError, ValueError):
        return False


def base_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO_ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def emulator_env(endpoint: str) -> dict[str, str]:
    """What every process needs to talk to the embedded emulator."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_REGION": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION") or os.environ.get("AWS_REGION") or "us-east-1",
    }


def curl_line(base_url: str) -> str:
    body = (
        '{"language":"python","code":"a, b = map(int, input().split())\\nprint(a + b)\\n",'
        '"test_cases":[{"input":"1 2\\n","expected":"3\\n"},{"input":"40 2\\n","expected":"42\\n"}]}'
    )
    extract = "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"id\"])'"
    return (
        f"curl -s -X POST {base_url}/submit -H 'Content-Type: application/json' -d '{body}'"
        f" | {extract} | xargs -I{{}} curl -s '{base_url}/result/{{}}?wait=10'; echo"
    )


class Supervisor:
    def __init__(self, port: int, run_executors: bool = True) -> None:
        self.port = port
        self.run_executors = run_executors
        self.stopping = threading.Event()
        self.emulator: ManagedProcess | None = None
        self.children: list[ManagedProcess] = []
        self.backoff: dict[str, float] = {}
        self.next_start: dict[str, float] = {}

    def say(self, msg: str) -> None:
        print(f"{'stack':<11}| {msg}", flush=True)

    def start(self) -> None:
        env_extra: dict[str, str] = {"CODEPIPE_PORT": str(self.port)}
        use_real = os.environ.get("CODEPIPE_USE_REAL_AWS") == "1"
        if os.environ.get("AWS_ENDPOINT_URL"):
            self.say(f"using the AWS endpoint {os.environ['AWS_ENDPOINT_URL']}")
            if not os.environ.get("AWS_ACCESS_KEY_ID"):
                # LocalStack and friends accept any credentials, but boto3 insists on some.
                env_extra.update({k: v for k, v in emulator_env(os.environ["AWS_ENDPOINT_URL"]).items()
                                  if k != "AWS_ENDPOINT_URL"})
        elif use_real:
            self.say("using real AWS (CODEPIPE_USE_REAL_AWS=1): credentials and region from the environment")
        else:
            emu_port = int(os.environ.get("CODEPIPE_EMULATOR_PORT", "5005"))
            if port_in_use(emu_port):
                raise SystemExit(f"port {emu_port} is busy (another `make run`?); set CODEPIPE_EMULATOR_PORT")
            endpoint = f"http://127.0.0.1:{emu_port}"
            env_extra.update(emulator_env(endpoint))
            self.emulator = ManagedProcess(
                "emulator", [sys.executable, "-m", "infra.emulator", "--port", str(emu_port)], base_env(env_extra)
            )
            self.emulator.start()
            wait_for_port(emu_port, 30, self.emulator)
            self.say(f"embedded AWS emulator (moto) on {endpoint}")
        os.environ.update(env_extra)

        from infra.resources import create_resources
        from shared.settings import get_settings

        get_settings.cache_clear()
        create_resources(get_settings(), log=lambda m: self.say(f"resources: {m}"))

        if port_in_use(self.port):
            raise SystemExit(f"port {self.port} is busy; set CODEPIPE_PORT")
        env = base_env(env_extra)
        gateway = ManagedProcess("gateway", [sys.executable, "-m", "api_gateway"], env)
        self.children.append(gateway)
        gateway.start()
        if self.run_executors:
            for lang in EXECUTORS:
                if not executor_available(lang):
                    self.say(f"executor_{lang} is not available yet (package missing); {lang} jobs will wait")
                    continue
                proc = ManagedProcess(f"exec-{lang}", [sys.executable, "-m", f"executor_{lang}"], env)
                self.children.append(proc)
                proc.start()
        wait_for_http(f"http://127.0.0.1:{self.port}/health", 30, gateway)
        base = f"http://127.0.0.1:{self.port}"
        self.say("")
        self.say(f"codepipe is up: {base}   (API docs: {base}/docs)   Ctrl-C stops everything")
        self.say("try:")
        print(curl_line(base), flush=True)
        self.say("")

    def supervise(self) -> int:
        while not self.stopping.wait(0.5):
            if self.emulator is not None and not self.emulator.alive:
                self.say(f"the emulator exited ({self.emulator.returncode}); its data is gone, stopping")
                return 1
            now = time.monotonic()
            for child in self.children:
                if child.alive:
                    if now - child.started_at > 60:
                        self.backoff.pop(child.name, None)
                    continue
                due = self.next_start.get(child.name)
                if due is None:
                    delay = self.backoff.get(child.name, 0.5) * 2
                    delay = min(delay, 30.0)
                    self.backoff[child.name] = delay
                    self.next_start[child.name] = now + delay
                    self.say(f"{child.name} exited with {child.returncode}; restarting in {delay:.0f}s")
                    child.close()
                elif now >= due:
                    del self.next_start[child.name]
                    child.restarts += 1
                    child.start()
        return 0

    def shutdown(self) -> None:
        self.say("stopping ...")
        # Gateway and executors together (executors hand back or finish their job), the data last.
        stop_all(self.children)
        if self.emulator is not None:
            stop_all([self.emulator])
        self.say("stopped")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="run the whole codepipe stack locally")
    parser.add_argument("--port", type=int, default=int(os.environ.get("CODEPIPE_PORT", "8080")))
    parser.add_argument("--no-executors", action="store_true")
    args = parser.parse_args(argv)

    # If whatever started us (make, a shell, a test) dies, shut down cleanly rather than
    # leave a stack nobody can stop with Ctrl-C.
    _die_with_parent()
    sup = Supervisor(args.port, run_executors=not args.no_executors)

    def on_signal(signum: int, frame: object) -> None:
        sup.stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    rc = 0
    try:
        sup.start()
        rc = sup.supervise()
    except KeyboardInterrupt:
        rc = 0
    except Exception as exc:  # noqa: BLE001 - report, then clean up below
        sup.say(f"failed: {type(exc).__name__}: {exc}")
        rc = 1
    finally:
        sup.shutdown()
    return rc


if __name__ == "__main__":
    sys.exit(main())
