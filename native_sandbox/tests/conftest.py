"""Test harness for the sandbox helper: builds it, compiles the hostile programs, and runs the
helper the way the executor does (SPEC §6), inside a pids-limited cgroup so that a broken
sandbox cannot fork-bomb the machine."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
NATIVE = HERE.parent
BIN = NATIVE / "build" / "sandbox"
PROGRAMS = HERE / "programs"

# A uid nothing else on the host uses, distinct per test session (several sessions may run at
# once on a shared machine; "no processes of the sandbox uid left" must only see ours).
TEST_UID = 64200 + os.getpid() % 700
CANARY_KEY = "CODEPIPE_CANARY"
CANARY_VALUE = "secret123"
SANDBOX_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Go programs are built like executor_go builds them (GOPATH mode, no cgo); the test cache
# persists across sessions (the standard library compiled with -trimpath takes a while).
GO = "/usr/bin/go"
GO_ENV = {"GO111MODULE": "off", "GOPROXY": "off", "GOFLAGS": "", "GOENV": "off", "CGO_ENABLED": "0",
          "GOPATH": "/go"}
GO_TEST_CACHE = Path("/tmp/codepipe-test-cache/native-gocache")

HELPER_PIDS: list[int] = []           # every helper we started (cleanup checks)
# Inside the emulated cgroup-v2 VM (tests/vm/run_v2.sh) everything runs ~6-10x slower: the
# limits the tests give the helper, and their own waits, are multiplied by this there. It is
# 1 on a real host, where no limit is ever loosened.
TIME_SCALE = max(1, int(os.environ.get("CODEPIPE_TEST_TIME_SCALE", "1")))


def scaled(ms: float) -> float:
    """A duration the tests expect (a limit, a bound on measured wall time), for this host."""
    return ms * TIME_SCALE
TEST_PIDS_CGROUP: dict[str, Any] = {}


def _setup_pids_cgroup() -> None:
    """A pids-limited cgroup for every helper the tests start (v1, else v2, else none)."""
    if os.geteuid() != 0:
        return
    for base in ("/sys/fs/cgroup/pids", "/sys/fs/cgroup"):
        d = Path(base) / f"codepipe-tests-{os.getpid()}"
        try:
            if base == "/sys/fs/cgroup" and not (Path(base) / "cgroup.controllers").exists():
                continue
            if base == "/sys/fs/cgroup":
                (Path(base) / "cgroup.subtree_control").write_text("+pids")
            d.mkdir(exist_ok=True)
            (d / "pids.max").write_text("512")
            TEST_PIDS_CGROUP["dir"] = d
            TEST_PIDS_CGROUP["procs"] = str(d / "cgroup.procs")
            return
        except OSError:
            continue


def _remove_tree(d: Path) -> None:
    for sub in sorted((p for p in d.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            sub.rmdir()
    with contextlib.suppress(OSError):
        d.rmdir()


def _preexec() -> None:
    procs = TEST_PIDS_CGROUP.get("procs")
    if procs:
        with open(procs, "w") as f:
            f.write(str(os.getpid()))


def helper_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {"PATH": SANDBOX_PATH, CANARY_KEY: CANARY_VALUE, "CODEPIPE_SANDBOX_UID": str(TEST_UID),
           "AWS_SECRET_ACCESS_KEY": CANARY_VALUE}
    env.update(extra or {})
    return env


@dataclass
class Result:
    rc: int
    stdout: str
    stderr: str
    job: Path
    runs: list[dict[str, Any]] = field(default_factory=list)
    pid: int = 0

    @property
    def run(self) -> dict[str, Any]:
        assert len(self.runs) == 1, self.runs
        return self.runs[0]

    def out(self, n: int = 1) -> str:
        p = self.job / "tests" / f"{n}.out"
        return p.read_text(errors="replace") if p.exists() else (self.job / "out").read_text(errors="replace")

    def err(self, n: int = 1) -> str:
        p = self.job / "tests" / f"{n}.err"
        return p.read_text(errors="replace") if p.exists() else (self.job / "err").read_text(errors="replace")

    def all_output(self) -> str:
        parts = [self.stdout, self.stderr]
        files = [self.job / "out", self.job / "err", *sorted((self.job / "tests").glob("*.out")),
                 *sorted((self.job / "tests").glob("*.err"))]
        for p in files:
            if p.is_file() and not p.is_symlink():
                with contextlib.suppress(OSError):
                    parts.append(p.read_text(errors="replace"))
        return "\n".join(parts)


class Runner:
    def __init__(self, tmp_path: Path, progs: Path) -> None:
        self.tmp = tmp_path
        self.progs = progs
        self.n = 0

    def job(self, files: list[str] = ()) -> Path:
        """A fresh job dir like the executor's: box/ (workdir) and tests/."""
        self.n += 1
        job = self.tmp / f"job{self.n}"
        (job / "box").mkdir(parents=True)
        (job / "tests").mkdir()
        os.chmod(job, 0o755)
        os.chmod(job / "box", 0o755)
        for f in files:
            src = ensure_program(self.progs, f)
            shutil.copy2(src, job / "box" / src.name)
        return job

    def run(self, argv: list[str], *, profile: str = "c", tests: list[str] | None = None,
            stdin: str | None = None, files: list[str] = ("hostile",), time_ms: int = 2000,
            wall_ms: int = 5000, memory_mb: int = 256, output_kb: int = 1024,
            procs: int | None = None, parallel: int | None = None, env: list[str] = (),
            extra: list[str] = (), job: Path | None = None, timeout: float = 60,
            helper_extra_env: dict[str, str] | None = None, expect_ok: bool = True,
            preexec: Callable[[], None] = _preexec) -> Result:
        job = job or self.job(list(files))
        time_ms, wall_ms, timeout = int(scaled(time_ms)), int(scaled(wall_ms)), scaled(timeout)
        cmd = [str(BIN), "--profile", profile, "--time-ms", str(time_ms), "--wall-ms", str(wall_ms),
               "--memory-mb", str(memory_mb), "--output-kb", str(output_kb)]
        if procs is not None:
            cmd += ["--procs", str(procs)]
        if parallel is not None:
            cmd += ["--parallel", str(parallel)]
        cmd += ["--workdir", str(job / "box")]
        for e in env:
            cmd += ["--env", e]
        if tests is not None:
            for old in (job / "tests").glob("*.in"):     # a reused job: only this call's tests
                if old.stem.isdigit() and int(old.stem) > len(tests):
                    old.unlink()
            for i, t in enumerate(tests, 1):
                (job / "tests" / f"{i}.in").write_text(t)
            cmd += ["--tests", str(job / "tests")]
        else:
            (job / "in").write_text(stdin or "")
            cmd += ["--stdin", str(job / "in"), "--stdout", str(job / "out"), "--stderr", str(job / "err")]
        cmd += list(extra) + ["--"] + list(argv)
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=helper_env(helper_extra_env), preexec_fn=preexec)
        HELPER_PIDS.append(p.pid)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            pytest.fail(f"helper did not finish within {timeout}s: {cmd}\n{err}")
        res = Result(p.returncode, out, err, job, pid=p.pid)
        if expect_ok:
            assert p.returncode == 0, f"helper failed rc={p.returncode}: {err}\n{cmd}"
            data = json.loads(out)
            res.runs = data if isinstance(data, list) else [data]
        return res


def pytest_sessionstart(session: pytest.Session) -> None:
    _setup_pids_cgroup()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    d = TEST_PIDS_CGROUP.get("dir")
    if d:
        _remove_tree(Path(d))


@pytest.fixture(scope="session")
def sandbox_bin() -> Path:
    r = subprocess.run(["make", "-C", str(NATIVE)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"building the sandbox failed:\n{r.stdout}\n{r.stderr}")
    return BIN


def _build_go(d: Path) -> None:
    r = subprocess.run([GO, "build", "-trimpath", "-o", str(d / "hostile_go"), str(PROGRAMS / "hostile.go")],
                       capture_output=True, text=True, env={**GO_ENV, "PATH": SANDBOX_PATH, "HOME": str(d),
                                                            "GOCACHE": str(GO_TEST_CACHE)})
    if r.returncode != 0:
        pytest.fail(f"go build of hostile.go failed:\n{r.stderr}")
    os.chmod(d / "hostile_go", 0o755)


def _build_java(d: Path) -> None:
    java = sorted(str(f) for f in PROGRAMS.glob("*.java"))
    r = subprocess.run(["/usr/bin/javac", "-nowarn", "-d", str(d), *java], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"javac failed:\n{r.stderr}")
    for f in d.glob("*.class"):
        os.chmod(f, 0o644)


_BUILD_LOCK = threading.Lock()


def ensure_program(progs: Path, name: str) -> Path:
    """progs/name, the Go and Java programs built on first use: a session that runs none of
    them (the cgroup-v2 VM's quick selection, where javac alone takes a minute) skips it."""
    with _BUILD_LOCK:
        path = progs / name
        if not path.exists():
            if name == "hostile_go" and os.access(GO, os.X_OK):
                _build_go(progs)
            elif name.endswith(".class") and shutil.which("javac", path=SANDBOX_PATH):
                _build_java(progs)
        return path


@pytest.fixture(scope="session")
def progs(tmp_path_factory: pytest.TempPathFactory, sandbox_bin: Path) -> Path:
    d = tmp_path_factory.mktemp("progs")
    r = subprocess.run(["gcc", "-O0", "-pthread", "-o", str(d / "hostile"), str(PROGRAMS / "hostile.c")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"compiling hostile.c failed:\n{r.stderr}")
    for f in PROGRAMS.iterdir():
        if f.suffix in (".py", ".c", ".cpp", ".java", ".js", ".go"):
            shutil.copy2(f, d / f.name)
    for f in d.iterdir():
        os.chmod(f, 0o755 if f.name == "hostile" else 0o644)
    return d


@pytest.fixture
def sb(tmp_path: Path, progs: Path) -> Runner:
    os.chmod(tmp_path, 0o755)
    return Runner(tmp_path, progs)


@pytest.fixture(scope="session")
def isolated(tmp_path_factory: pytest.TempPathFactory, progs: Path) -> None:
    """Safety gate for the hostile suite: the probe program must run as a non-root uid, as
    PID 2 of its own PID namespace (PID 1 is the keeper).  Anything else and the hostile
    programs would run against the real machine: fail loudly, never skip."""
    tmp = tmp_path_factory.mktemp("safety")
    os.chmod(tmp, 0o755)
    r = Runner(tmp, progs).run(["./hostile", "id"], expect_ok=False)
    out = (r.job / "out").read_text() if (r.job / "out").exists() else ""
    if r.rc != 0 or f"uid={TEST_UID} euid={TEST_UID}" not in out or "pid=2 " not in out:
        pytest.fail("SANDBOX IS NOT ISOLATING: refusing to run hostile programs. "
                    f"helper rc={r.rc} stdout={r.stdout!r} stderr={r.stderr!r} program said {out!r}",
                    pytrace=False)


def uid_processes(uid: int) -> list[int]:
    pids = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            for line in (p / "status").read_text().splitlines():
                if line.startswith("Uid:"):
                    if int(line.split()[1]) == uid:
                        pids.append(int(p.name))
                    break
        except OSError:
            pass
    return pids


def wait_no_uid_processes(uid: int, timeout: float = 3.0) -> list[int]:
    end = time.monotonic() + scaled(timeout)
    while True:
        left = uid_processes(uid)
        if not left or time.monotonic() > end:
            return left
        time.sleep(0.05)


def cgroup_held(d: Path) -> bool:
    """Does a live helper hold this reused (pool-<k>) cgroup set (its flock, cgroup.c)?"""
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def cgroup_procs(d: Path) -> list[int]:
    return [int(x) for x in (d / "cgroup.procs").read_text().split()]


def probe() -> dict[str, Any]:
    out = subprocess.run([str(BIN), "--probe"], capture_output=True, text=True, check=True,
                         env=helper_env(), preexec_fn=_preexec).stdout
    return json.loads(out)


def kill_quietly(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
