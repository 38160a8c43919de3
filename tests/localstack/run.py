"""`make test-localstack`: the integration suite (tests/integration) against a real LocalStack
running on this host, without Docker.

    .venv/bin/python tests/localstack/run.py [PYTEST_ARGS...]
    .venv/bin/python tests/localstack/run.py --part-of-make-test   # what `make test` calls

1. The LocalStack venv (`.venv-localstack/`, ignored by git) is built once from PyPI with a
   Python 3.12+ (LocalStack's code needs it; the project's own venv may be 3.11) and kept
   while tests/localstack/requirements.txt and the moto DynamoDB provider plugin are unchanged.
2. LocalStack starts (`python -m localstack.runtime.main`) on a free port of 127.0.0.1, with
   its files in a fresh temporary FILESYSTEM_ROOT, serving DynamoDB through the plugin
   `dynamodb:moto` (tests/localstack/moto_dynamodb/) and SQS and S3 through its own providers.
3. When `/_localstack/init/ready` says so, pytest runs tests/integration with
   CODEPIPE_TEST_ENDPOINT pointing at it (tests/stack.py) and LocalStack's credentials
   (`test`/`test`, which its presigned-URL signature check knows).
4. The table of which services were LocalStack's own and which moto's is printed, then
   LocalStack is stopped (SIGTERM to its process group, SIGKILL after a grace period): on
   success, on failure, on Ctrl-C and on SIGTERM alike.

Exit status: 0 passed; 1 failed (tests, or LocalStack would not start); 3 the LocalStack venv
cannot be built here (no Python 3.12+, or pip failed). With --part-of-make-test the
environment knob CODEPIPE_LOCALSTACK decides: `0` skips the run, `1` requires it (3 stays a
failure), unset/`auto` runs it when the venv can be built and otherwise says so loudly and
exits 0; the run then also leaves out the schemathesis fuzz (pytest_plugin.py, time budget).
See tests/localstack/README.md.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
VENV = Path(os.environ.get("CODEPIPE_LOCALSTACK_VENV") or REPO / ".venv-localstack")
REQUIREMENTS = HERE / "requirements.txt"
PLUGIN_DIR = HERE / "moto_dynamodb"
PLUGIN_FILES = ("pyproject.toml", "codepipe_moto_dynamodb.py")
STAMP_NAME = ".codepipe-stamp"

READY_TIMEOUT_S = float(os.environ.get("CODEPIPE_LOCALSTACK_READY_S", "180"))
STOP_GRACE_S = 30.0
UNAVAILABLE = 3

# How LocalStack runs here (README.md explains each).
LOCALSTACK_ENV = {
    "OVERRIDE_IN_DOCKER": "0",            # host mode: no container assumptions
    "SERVICES": "dynamodb,sqs,s3",
    "EAGER_SERVICE_LOADING": "1",         # load the providers before "ready", not on the first call
    "DISABLE_EVENTS": "1",                # no analytics events sent out
    "PROVIDER_OVERRIDE_DYNAMODB": "moto",  # our plugin instead of DynamoDB Local (Java, downloaded)
    "S3_SKIP_SIGNATURE_VALIDATION": "0",  # presigned URLs' signatures checked, as on AWS
    "DNS_ADDRESS": "0",                   # no DNS server of its own (it wants an upstream resolver)
    "SKIP_SSL_CERT_DOWNLOAD": "1",        # no download of its TLS test certificate
}
# LocalStack's convention: access key `test`, secret `test` (its presigned-URL check signs
# with the secret `test` for any access key it did not issue).
TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}

# Which provider of each service must be loaded, and whose implementation that is.
EXPECTED_PROVIDERS = {"dynamodb": "moto", "sqs": "default", "s3": "default"}
DEPENDENCY_NOTES = {
    "dynamodbstreams": "loaded by LocalStack as a dependency of dynamodb; codepipe uses no streams",
    "kinesis": "loaded by LocalStack as a dependency of dynamodbstreams; not used",
}


def say(message: str) -> None:
    print(f"[test-localstack] {message}", flush=True)


def banner(lines: list[str]) -> None:
    width = max(len(line) for line in lines) + 4
    print("\n" + "!" * width, flush=True)
    for line in lines:
        print(f"!! {line}", flush=True)
    print("!" * width + "\n", flush=True)


class Unavailable(Exception):
    """The LocalStack venv cannot be built on this machine."""


class Failed(Exception):
    """LocalStack did not start or misbehaved."""


# --- the LocalStack venv ----------------------------------------------------------------
def _python_version(python: str) -> tuple[int, int] | None:
    """(major, minor) of an interpreter that can make venvs, or None (pyenv shims of versions
    that are not selected only print an error)."""
    probe = "import sys, venv, ensurepip; print('%d.%d' % sys.version_info[:2])"
    try:
        out = subprocess.run([python, "-c", probe], capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.fullmatch(r"(\d+)\.(\d+)", out.stdout.strip())
    if out.returncode != 0 or match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", path.parent.parent.name)[:3])


def python_candidates() -> list[str]:
    """$CODEPIPE_LOCALSTACK_PYTHON alone when set; else python3.13/3.12/3.14/python3 on PATH,
    then every pyenv version (newest first), then /usr/bin and /usr/local/bin."""
    explicit = os.environ.get("CODEPIPE_LOCALSTACK_PYTHON")
    if explicit:
        return [explicit]
    found: list[str] = []
    for name in ("python3.13", "python3.12", "python3.14", "python3"):
        path = shutil.which(name)
        if path:
            found.append(path)
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    found += [str(p) for p in sorted(pyenv_root.glob("versions/3.*/bin/python3"), key=_version_key, reverse=True)]
    for prefix in ("/usr/local/bin", "/usr/bin"):
        found += sorted((str(p) for p in Path(prefix).glob("python3.1[2-9]")), reverse=True)
    return list(dict.fromkeys(found))


def find_python() -> tuple[str, tuple[int, int]]:
    """A Python 3.12+ that can create venvs; 3.13 (tried most), then 3.12, then newer."""
    tried: list[str] = []
    usable: list[tuple[int, int, str, tuple[int, int]]] = []
    for order, candidate in enumerate(python_candidates()):
        version = _python_version(candidate)
        shown = f"{version[0]}.{version[1]}" if version else "does not run (or has no venv/ensurepip)"
        tried.append(f"{candidate}: {shown}")
        if version is not None and version >= (3, 12):
            usable.append(({(3, 13): 0, (3, 12): 1}.get(version, 2), order, candidate, version))
    if not usable:
        raise Unavailable("no Python 3.12+ (with venv and ensurepip) found; LocalStack's code needs it. Tried:\n  "
                          + "\n  ".join(tried or ["(no candidates)"])
                          + "\nInstall one (e.g. pyenv) or set CODEPIPE_LOCALSTACK_PYTHON=/path/to/python3.12")
    _, _, python, version = min(usable)
    return python, version


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.relative_to(HERE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def wanted_stamp() -> dict[str, str]:
    """What the venv was built from: the requirements (a change rebuilds it) and the plugin's
    files (a change reinstalls the plugin alone)."""
    return {"requirements": _digest([REQUIREMENTS]), "plugin": _digest([PLUGIN_DIR / n for n in PLUGIN_FILES])}


def _read_stamp(path: Path) -> dict[str, str]:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _venv_python() -> Path:
    return VENV / "bin" / "python"


def _venv_ok(python: Path) -> bool:
    check = ("import localstack.runtime.main, codepipe_moto_dynamodb; from importlib.metadata import entry_points; "
             "assert any(e.name == 'dynamodb:moto' for e in entry_points(group='localstack.aws.provider'))")
    try:
        return subprocess.run([str(python), "-c", check], capture_output=True, timeout=120, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _step(argv: list[str], log: Path, what: str, timeout: float = 1800) -> None:
    with log.open("a") as out:
        out.write(f"\n$ {' '.join(argv)}\n")
        out.flush()
        try:
            rc = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                timeout=timeout, check=False).returncode
        except subprocess.TimeoutExpired:
            rc = -1
    if rc != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise Unavailable(f"{what} failed (exit {rc}); last lines of {log}:\n{tail}")


def _pip(python: Path) -> list[str]:
    return [str(python), "-m", "pip", "install", "--disable-pip-version-check", "-q"]


def _install_plugin(python: Path, log: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="codepipe-ls-plugin-") as tmp:
        # Built from a copy: a build leaves build/ and *.egg-info beside the sources.
        src = Path(tmp) / "moto_dynamodb"
        src.mkdir()
        for name in PLUGIN_FILES:
            shutil.copy2(PLUGIN_DIR / name, src / name)
        _step([*_pip(python), "--no-deps", "--force-reinstall", str(src)], log,
              "installing the moto DynamoDB provider plugin")


def ensure_venv() -> Path:
    """The LocalStack venv's python: reused while its stamp matches; the plugin reinstalled
    when only the plugin changed; otherwise built from scratch."""
    VENV.parent.mkdir(parents=True, exist_ok=True)
    lock_path = VENV.with_name(VENV.name + ".lock")
    with lock_path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two runs at once build it once
        stamp_path = VENV / STAMP_NAME
        want, have = wanted_stamp(), _read_stamp(stamp_path)
        python = _venv_python()
        if have == want and _venv_ok(python):
            say(f"LocalStack venv: {VENV} (cached)")
            return python
        log = Path(tempfile.mkstemp(prefix="codepipe-localstack-venv-", suffix=".log")[1])
        if have.get("requirements") == want["requirements"] and python.exists():
            say("the moto DynamoDB provider plugin changed: reinstalling it into the LocalStack venv")
            _install_plugin(python, log)
        else:
            base, version = find_python()
            started = time.monotonic()
            say(f"building the LocalStack venv {VENV} with {base} (Python {version[0]}.{version[1]}) from PyPI "
                f"({REQUIREMENTS.relative_to(REPO)}); a few minutes, once")
            shutil.rmtree(VENV, ignore_errors=True)
            _step([base, "-m", "venv", str(VENV)], log, "creating the venv")
            _step([*_pip(python), "-r", str(REQUIREMENTS)], log, "pip install -r tests/localstack/requirements.txt")
            _install_plugin(python, log)
            say(f"LocalStack venv built in {time.monotonic() - started:.0f} s")
        if not _venv_ok(python):
            raise Unavailable(f"the venv was built but LocalStack or the plugin does not import; see {log}")
        shutil.move(str(log), VENV / "build.log")
        stamp_path.write_text(json.dumps(want) + "\n")
        return python


def package_versions(python: Path) -> dict[str, str]:
    code = ("import json; from importlib.metadata import version as v; "
            "print(json.dumps({n: v(n) for n in ('localstack-core', 'moto-ext', 'boto3')}))")
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60, check=False)
    try:
        return json.loads(out.stdout)
    except ValueError:
        return {}


# --- LocalStack, the process ------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _signal_when_parent_dies(sig: int) -> Callable[[], None]:
    """For preexec_fn: the child gets `sig` when this runner dies, however it dies (SIGKILL too)."""
    def set_pdeathsig() -> None:
        with contextlib.suppress(Exception):
            ctypes.CDLL(None, use_errno=True).prctl(1, sig)  # PR_SET_PDEATHSIG

    return set_pdeathsig


def http_json(url: str, timeout: float = 5) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 - loopback only
        return json.loads(resp.read())


class LocalStack:
    def __init__(self, python: Path, log_dir: Path) -> None:
        self.python = python
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.root = Path(tempfile.mkdtemp(prefix="codepipe-localstack-root-"))
        self.log_path = log_dir / "localstack.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("AWS_", "CODEPIPE_", "PROVIDER_OVERRIDE_", "LOCALSTACK_")) and k != "PYTHONPATH"}
        env.update(LOCALSTACK_ENV, GATEWAY_LISTEN=f"127.0.0.1:{self.port}", FILESYSTEM_ROOT=str(self.root))
        if os.environ.get("CODEPIPE_LOCALSTACK_DEBUG") == "1":
            env["DEBUG"] = "1"  # tracebacks of its internal errors in the log
        say(f"starting LocalStack on {self.endpoint} (log {self.log_path}, FILESYSTEM_ROOT {self.root})")
        say("  " + " ".join(f"{k}={env[k]}" for k in (*LOCALSTACK_ENV, "GATEWAY_LISTEN")))
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [str(self.python), "-m", "localstack.runtime.main"], cwd=self.root, env=env,
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, preexec_fn=_signal_when_parent_dies(signal.SIGTERM),  # noqa: PLW1509
            )

    def wait_ready(self) -> float:
        assert self.proc is not None
        started = time.monotonic()
        deadline = started + READY_TIMEOUT_S
        while True:
            if self.proc.poll() is not None:
                raise Failed(f"LocalStack exited with {self.proc.returncode} before it was ready\n{self.tail()}")
            with contextlib.suppress(OSError, ValueError):
                if http_json(f"{self.endpoint}/_localstack/init/ready", timeout=2).get("completed") is True:
                    return time.monotonic() - started
            if time.monotonic() > deadline:
                raise Failed(f"LocalStack not ready within {READY_TIMEOUT_S:.0f} s\n{self.tail()}")
            time.sleep(0.25)

    def services(self) -> dict[str, dict[str, str]]:
        """{api: {"provider": name, "state": health state}} of the loaded service providers."""
        health = http_json(f"{self.endpoint}/_localstack/health").get("services", {})
        plugins = http_json(f"{self.endpoint}/_localstack/plugins").get("localstack.aws.provider", [])
        loaded: dict[str, dict[str, str]] = {}
        for plugin in plugins:
            api, _, provider = plugin["name"].partition(":")
            if plugin.get("is_loaded"):
                loaded[api] = {"provider": provider, "state": str(health.get(api, "?"))}
        return loaded

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            pgid = proc.pid
            if proc.poll() is None:
                say("stopping LocalStack (SIGTERM)")
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(pgid, signal.SIGTERM)
                try:
                    proc.wait(STOP_GRACE_S)
                except subprocess.TimeoutExpired:
                    say(f"LocalStack still running {STOP_GRACE_S:.0f} s after SIGTERM: SIGKILL")
            # Whatever is left of its process group goes too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(10)
            deadline = time.monotonic() + 10
            while _group_alive(pgid) and time.monotonic() < deadline:
                time.sleep(0.1)
            if _group_alive(pgid):
                say(f"WARNING: processes of LocalStack's group {pgid} are still there")
            else:
                say(f"LocalStack stopped (exit {proc.returncode}); no process of its group left")
        shutil.rmtree(self.root, ignore_errors=True)

    def tail(self, lines: int = 60) -> str:
        if not self.log_path.exists():
            return "(no LocalStack log)"
        text = self.log_path.read_text(errors="replace").splitlines()[-lines:]
        return f"--- last {len(text)} lines of {self.log_path} ---\n" + "\n".join(text)

    def log_summary(self) -> list[str]:
        """Internal errors (5xx) LocalStack answered, by operation, and rejected signatures."""
        if not self.log_path.exists():
            return []
        errors: Counter[str] = Counter()
        signatures = 0
        for line in self.log_path.read_text(errors="replace").splitlines():
            match = re.search(r"localstack\.request\.aws\s*: AWS (\S+) => (5\d\d)( \(\w+\))?", line)
            if match:
                errors[f"{match.group(1)} => {match.group(2)}{match.group(3) or ''}"] += 1
            elif "Signatures do not match" in line or "SignatureDoesNotMatch" in line:
                signatures += 1
        out = [f"{count} x {what}" for what, count in errors.most_common()]
        if signatures:
            out.append(f"{signatures} x presigned-URL signature mismatch")
        return out


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A group of zombies only is gone for our purposes.
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == pgid and fields[0] != "Z":
                return True
    return False


def services_table(services: dict[str, dict[str, str]], versions: dict[str, str]) -> list[str]:
    core = f"localstack-core {versions.get('localstack-core', '?')}"
    moto = f"moto-ext {versions.get('moto-ext', '?')}"
    whose = {
        ("dynamodb", "moto"): f"moto's ({moto}) behind LocalStack's gateway: provider plugin "
                              "tests/localstack/moto_dynamodb (PROVIDER_OVERRIDE_DYNAMODB=moto)",
        ("sqs", "default"): f"LocalStack's own ({core}, localstack.services.sqs)",
        ("s3", "default"): f"LocalStack's own ({core}, localstack.services.s3)",
    }
    rows = [("service", "provider", "state", "implementation")]
    for api in [*EXPECTED_PROVIDERS, *sorted(set(services) - set(EXPECTED_PROVIDERS))]:
        info = services.get(api, {"provider": "-", "state": "not loaded"})
        impl = whose.get((api, info["provider"])) or DEPENDENCY_NOTES.get(api) or "?"
        rows.append((api, f"{api}:{info['provider']}", info["state"], impl))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    return ["  " + "  ".join(cell.ljust(widths[i]) if i < 3 else cell for i, cell in enumerate(row)) for row in rows]


def check_services(services: dict[str, dict[str, str]]) -> None:
    wrong = [f"{api}: {services.get(api, {}).get('provider', 'not loaded')} (want {want})"
             for api, want in EXPECTED_PROVIDERS.items() if services.get(api, {}).get("provider") != want]
    if wrong:
        raise Failed("LocalStack serves the services with other providers than intended: " + "; ".join(wrong))


# --- pytest ---------------------------------------------------------------------------
def pytest_env(endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    env.update(TEST_CREDENTIALS, CODEPIPE_TEST_ENDPOINT=endpoint, AWS_REGION=region, AWS_DEFAULT_REGION=region)
    return env


def run_pytest(endpoint: str, args: list[str], log_dir: Path) -> int:
    # tests/integration unless the arguments name tests themselves (e.g. one file, for a rerun).
    named = [a for a in args if not a.startswith("-") and (REPO / a.split("::")[0]).exists()]
    paths = [] if named else ["tests/integration"]
    argv = [sys.executable, "-m", "pytest", "-q", "-p", "tests.localstack.pytest_plugin", *paths, *args]
    env = pytest_env(endpoint)
    env.setdefault("CODEPIPE_TEST_LOG_DIR", str(log_dir / "stack"))  # the gateway's and executors' logs
    say(f"CODEPIPE_TEST_ENDPOINT={endpoint} AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test {' '.join(argv[2:])}")
    # SIGINT if the runner dies: pytest then stops its stack as on Ctrl-C.
    proc = subprocess.Popen(argv, cwd=REPO, env=env, preexec_fn=_signal_when_parent_dies(signal.SIGINT))  # noqa: PLW1509
    try:
        return proc.wait()
    except BaseException:
        stop_child(proc)
        raise


def stop_child(proc: subprocess.Popen[bytes]) -> None:
    """pytest got Ctrl-C with us (same process group) or gets SIGINT now: it stops its stack
    in its fixtures' teardown; SIGTERM, then SIGKILL, when it takes too long."""
    for sig, wait in ((None, 3.0), (signal.SIGINT, 60.0), (signal.SIGTERM, 15.0), (signal.SIGKILL, 5.0)):
        if sig is not None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(sig)
        try:
            proc.wait(wait)
            return
        except subprocess.TimeoutExpired:
            continue


# --- main -----------------------------------------------------------------------------
def _raise_on_signal(signum: int, _frame: Any) -> None:
    raise SystemExit(128 + signum)


def main(argv: list[str]) -> int:
    part_of_make_test = "--part-of-make-test" in argv
    pytest_args = [a for a in argv if a != "--part-of-make-test"]
    knob = os.environ.get("CODEPIPE_LOCALSTACK", "auto").strip().lower()
    if part_of_make_test and knob in ("0", "no", "off", "skip", "false"):
        say(f"skipped: CODEPIPE_LOCALSTACK={os.environ['CODEPIPE_LOCALSTACK']} (the suite on moto ran above)")
        return 0
    if part_of_make_test:
        os.environ["CODEPIPE_LOCALSTACK_IN_MAKE_TEST"] = "1"  # pytest_plugin.py: LEFT_OUT_IN_MAKE_TEST
    signal.signal(signal.SIGTERM, _raise_on_signal)
    signal.signal(signal.SIGHUP, _raise_on_signal)
    started = time.monotonic()
    try:
        python = ensure_venv()
    except KeyboardInterrupt:
        say("interrupted while preparing the LocalStack venv (it is rebuilt next time)")
        return 130
    except Unavailable as exc:
        lines = ["THE LOCALSTACK RUN CANNOT RUN ON THIS MACHINE: the LocalStack venv cannot be built.",
                 *str(exc).splitlines()]
        if part_of_make_test and knob not in ("1", "yes", "on", "require", "true"):
            banner([*lines, "`make test` goes on without it (CODEPIPE_LOCALSTACK=1 makes this a failure)."])
            return 0
        banner(lines)
        return UNAVAILABLE

    log_dir = Path(os.environ.get("CODEPIPE_LOCALSTACK_LOG_DIR") or tempfile.mkdtemp(prefix="codepipe-localstack-"))
    log_dir.mkdir(parents=True, exist_ok=True)
    versions = package_versions(python)
    localstack = LocalStack(python, log_dir)
    rc = 1
    table: list[str] = []
    try:
        localstack.start()
        ready_s = localstack.wait_ready()
        services = localstack.services()
        table = services_table(services, versions)
        say(f"LocalStack {versions.get('localstack-core', '?')} ready in {ready_s:.1f} s; services:")
        print("\n".join(table), flush=True)
        check_services(services)
        rc = run_pytest(localstack.endpoint, pytest_args, log_dir)
        if rc == 5:
            say("pytest collected no test: that is a failure here")
            rc = 1
    except Failed as exc:
        say(f"FAILED: {exc}")
        rc = 1
    except KeyboardInterrupt:
        say("interrupted")
        rc = 130
    except SystemExit as exc:
        say(f"terminated by a signal (exit {exc.code})")
        rc = int(exc.code) if isinstance(exc.code, int) else 1
    finally:
        # Stopping is not interrupted by a second Ctrl-C: it is bounded (about 40 s at most).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        problems = localstack.log_summary()
        localstack.stop()
    if table:
        say("which services were LocalStack's own and which moto's:")
        print("\n".join(table), flush=True)
    if problems:
        say("LocalStack's log shows: " + "; ".join(problems) + f" ({localstack.log_path})")
    say(f"{'passed' if rc == 0 else 'FAILED'} in {time.monotonic() - started:.0f} s (logs: {log_dir})")
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
