"""Client of the sandbox helper (SPEC §6): builds its command line, runs it, parses its JSON.

Anything unexpected from the helper (missing binary, non-zero exit, unparsable or
inconsistent JSON) raises SandboxError, which the executor reports as an internal error:
it is never the submitted program's fault.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from shared.limits import interactor_grace_ms
from shared.models import ResolvedLimits

SandboxStatus = Literal["OK", "TLE", "MLE", "OLE", "RE", "SV", "IE"]
Profile = Literal["c", "cpp", "java", "python", "go", "javascript", "compile", "checker", "interactor"]

# Slack on top of the helper's own wall limits before we decide it hung (it enforces the
# limits itself; this only guards against a wedged helper).
_HELPER_GRACE_S = 15.0
# The interactor's wall is the pair's wall plus this much (the helper's INTERACTOR_GRACE_MS,
# read from its header): it may still give its verdict after the program's wall ended it.
INTERACTOR_GRACE_S = interactor_grace_ms() / 1000.0
_MAX_HELPER_OUTPUT = 64 * 1024 * 1024
# The helper builds the program's environment from --env alone; it gets only a minimal one too.
_HELPER_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}


def _read_all(stream: IO[bytes] | None, limit: int = -1) -> bytes:
    if stream is None:
        return b""
    try:
        return stream.read(limit)
    except (OSError, ValueError):
        return b""
    finally:
        stream.close()


_PROGRESS_LINE = re.compile(rb"sandbox: progress (\d+)/(\d+)\n?")

ProgressCallback = Callable[[int, int], None]


def _read_stderr(stream: IO[bytes] | None, on_progress: ProgressCallback | None) -> bytes:
    """The helper's stderr, minus its `--progress` lines, which go to `on_progress`."""
    if stream is None:
        return b""
    kept: list[bytes] = []
    try:
        for line in stream:
            match = _PROGRESS_LINE.fullmatch(line)
            if match is None:
                kept.append(line)
            elif on_progress is not None:
                # Progress is informative: it never breaks a run.
                with contextlib.suppress(Exception):
                    on_progress(int(match.group(1)), int(match.group(2)))
    except (OSError, ValueError):
        pass
    finally:
        stream.close()
    return b"".join(kept)


def _reap(proc: subprocess.Popen[bytes], drain: threading.Thread) -> None:
    """Wait out the helper's teardown after its results were taken (no zombie is left); a
    teardown that hangs is cut short with its whole process group."""
    try:
        proc.wait(timeout=_HELPER_GRACE_S)
    except subprocess.TimeoutExpired:
        Sandbox._kill(proc)
    drain.join(timeout=5)


class SandboxError(RuntimeError):
    """The helper could not do its job; an internal error, not a verdict on the program."""


class SandboxCancelled(SandboxError):
    """The run was aborted on purpose (cancel()); not a failure of the helper."""


class RunFacts(BaseModel):
    """What the helper reports of one sandboxed process: a run, or one side of a pair."""

    # The helper may add diagnostic fields (e.g. a message on IE); ignore what we don't know.
    model_config = ConfigDict(extra="ignore")

    status: SandboxStatus
    exit_code: int = 0
    signal: int = 0
    cpu_ms: int = 0
    wall_ms: int = 0
    memory_kb: int = 0
    stdout_bytes: int = 0  # for the interactor: what it wrote to the program (its log N.iout)
    stderr_bytes: int = 0
    message: str | None = None


class SandboxSide(RunFacts):
    """One side of an interactive pair (the interactor's), as reported by the helper."""

    stopped: bool = False  # killed by the helper because the program ended badly (not by its own limits)


class SandboxRun(RunFacts):
    """One run as reported by the helper; for an interactive test, the program's side plus
    the pair's facts."""

    test: int = 1
    # Interactive tests only (--interactor); absent otherwise.
    interactor: SandboxSide | None = None
    stopped: bool = False  # the program was killed by the helper because the interactor ended badly
    interactor_first: bool = False  # the interactor ended before the program did
    bytes_to_interactor: int = 0
    bytes_from_interactor: int = 0


@dataclass(frozen=True)
class Interactor:
    """The other side of an interactive run: the interactor's command, its own box (never the
    program's) and limits (CPU and memory; its wall is the pair's plus INTERACTOR_GRACE_S)."""

    argv: Sequence[str]
    workdir: Path
    time_ms: int
    memory_mb: int
    env: Mapping[str, str] = field(default_factory=dict)


def build_command(
    sandbox: Path | str,
    *,
    profile: Profile | str,
    limits: ResolvedLimits,
    argv: Sequence[str],
    procs: int | None = None,
    parallel: int | None = None,
    workdir: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    tests_dir: Path | str | None = None,
    test_files: Path | str | None = None,
    stdin: Path | str | None = None,
    stdout: Path | str | None = None,
    stderr: Path | str | None = None,
    progress: bool = False,
    interactor: Interactor | None = None,
) -> list[str]:
    """The helper's argv, exactly in the SPEC §6 form (plus `--progress` when asked, and the
    interactor's options of native_sandbox/README.md for an interactive run)."""
    if not argv:
        raise ValueError("empty program command")
    if interactor is not None and (tests_dir is None or test_files is None):
        raise ValueError("an interactive run needs --tests and --test-files")
    single = (stdin, stdout, stderr)
    if tests_dir is not None and any(x is not None for x in single):
        raise ValueError("--tests and --stdin/--stdout/--stderr are exclusive")
    if tests_dir is None and any(x is None for x in single):
        raise ValueError("a single run needs --stdin, --stdout and --stderr")
    cmd = [
        str(sandbox),
        "--profile", str(profile),
        "--time-ms", str(limits.time_ms),
        "--wall-ms", str(limits.wall_ms),
        "--memory-mb", str(limits.memory_mb),
        "--output-kb", str(limits.output_kb),
    ]
    if procs is not None:
        cmd += ["--procs", str(procs)]
    if parallel is not None:
        cmd += ["--parallel", str(max(1, parallel))]
    if workdir is not None:
        cmd += ["--workdir", str(workdir)]
    if progress:
        cmd.append("--progress")
    cmd += _env_options("--env", env)
    if interactor is not None:
        cmd += _interactor_options(interactor)
    if tests_dir is not None:
        cmd += ["--tests", str(tests_dir)]
        if test_files is not None:  # test N's run sees test_files/N at /judge
            cmd += ["--test-files", str(test_files)]
    else:
        cmd += ["--stdin", str(stdin), "--stdout", str(stdout), "--stderr", str(stderr)]
    cmd.append("--")
    cmd += list(argv)
    return cmd


def _env_options(option: str, env: Mapping[str, str] | None) -> list[str]:
    out: list[str] = []
    for key, value in (env or {}).items():
        if not key or "=" in key or "\0" in key or "\0" in value:
            raise ValueError(f"bad environment variable {key!r}")
        out += [option, f"{key}={value}"]
    return out


def _interactor_options(i: Interactor) -> list[str]:
    if not i.argv:
        raise ValueError("empty interactor command")
    out: list[str] = []
    for arg in i.argv:  # one option per argument: an argument may hold spaces or start with '-'
        out += ["--interactor", str(arg)]
    out += ["--interactor-workdir", str(i.workdir), "--interactor-time-ms", str(i.time_ms),
            "--interactor-memory-mb", str(i.memory_mb)]
    return out + _env_options("--interactor-env", i.env)


def parse_runs(stdout: bytes | str, expected_tests: int) -> list[SandboxRun]:
    """Parse the JSON array printed for `--tests`; checks one object per test, in order."""
    try:
        data = json.loads(stdout)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SandboxError(f"sandbox printed invalid JSON: {exc}") from exc
    if not isinstance(data, list):
        raise SandboxError("sandbox printed a JSON object where an array was expected")
    try:
        runs = [SandboxRun.model_validate(item) for item in data]
    except ValidationError as exc:
        raise SandboxError(f"sandbox result does not match the contract: {exc}") from exc
    if [r.test for r in runs] != list(range(1, expected_tests + 1)):
        raise SandboxError(
            f"sandbox reported tests {[r.test for r in runs][:20]} for {expected_tests} inputs"
        )
    return runs


def parse_single(stdout: bytes | str) -> SandboxRun:
    """Parse the single JSON object printed without `--tests`."""
    try:
        data = json.loads(stdout)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SandboxError(f"sandbox printed invalid JSON: {exc}") from exc
    if isinstance(data, list) and len(data) == 1:  # tolerate a one-element array
        data = data[0]
    if not isinstance(data, dict):
        raise SandboxError("sandbox printed something other than one JSON object")
    try:
        return SandboxRun.model_validate(data)
    except ValidationError as exc:
        raise SandboxError(f"sandbox result does not match the contract: {exc}") from exc


class Sandbox:
    """Runs the helper binary. One instance per executor process."""

    def __init__(self, binary: Path | str) -> None:
        self.binary = Path(binary)
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._cancelled = False

    def check(self) -> None:
        if not (self.binary.is_file() and os.access(self.binary, os.X_OK)):
            raise SandboxError(f"sandbox helper {self.binary} is missing or not executable")

    def _invoke(self, cmd: list[str], timeout_s: float, on_progress: ProgressCallback | None = None) -> bytes:
        self.check()
        with self._lock:
            if self._cancelled:
                raise SandboxCancelled("sandbox run cancelled before it started")
            try:
                proc = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    env=dict(_HELPER_ENV),
                    # Own process group, so cancel() can take down the helper and anything it
                    # left in the group without touching the executor.
                    start_new_session=True,
                    # No preexec_fn: it would force a full fork of this large process instead
                    # of vfork. The helper ties its life to ours itself (PR_SET_PDEATHSIG).
                )
            except OSError as exc:
                raise SandboxError(f"cannot start sandbox helper: {exc}") from exc
            self._proc = proc
        try:
            out, err, returncode = self._collect(proc, timeout_s, on_progress)
        finally:
            with self._lock:
                self._proc = None
        if self._cancelled:
            raise SandboxCancelled("sandbox run cancelled")
        if returncode not in (0, None):
            message = err.decode("utf-8", "replace").strip()[-2000:]
            raise SandboxError(f"sandbox helper exited {returncode}: {message}")
        if len(out) > _MAX_HELPER_OUTPUT:
            raise SandboxError("sandbox helper printed an implausibly large result")
        return out

    def _collect(
        self, proc: subprocess.Popen[bytes], timeout_s: float, on_progress: ProgressCallback | None = None
    ) -> tuple[bytes, bytes, int | None]:
        """The helper's stdout, stderr and exit status. The helper closes stdout as soon as
        its results are final, then tears its namespaces and cgroups down; when stdout ends
        in a complete JSON value we return at once (exit status None) and leave the exit to
        a reaper thread, which keeps a few ms of teardown per invocation off the job."""
        err_chunks: list[bytes] = []
        drain = threading.Thread(
            target=lambda: err_chunks.append(_read_stderr(proc.stderr, on_progress)), daemon=True
        )
        drain.start()
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            self._kill(proc)  # closes stdout, which ends the read below

        timer = threading.Timer(timeout_s, expire)
        timer.daemon = True
        timer.start()
        try:
            out = _read_all(proc.stdout, _MAX_HELPER_OUTPUT + 1)
        finally:
            timer.cancel()
        if expired.is_set() and not self._cancelled:
            proc.wait()
            raise SandboxError(f"sandbox helper did not finish within {timeout_s:.0f}s")
        if out.rstrip().endswith((b"}", b"]")) and proc.poll() is None:
            threading.Thread(target=_reap, args=(proc, drain), name="sandbox-reaper", daemon=True).start()
            return out, b"", None
        try:  # stdout closed without results: the helper is exiting (or was killed)
            proc.wait(timeout=_HELPER_GRACE_S)
        except subprocess.TimeoutExpired as exc:
            self._kill(proc)
            raise SandboxError("sandbox helper closed its output but did not exit") from exc
        drain.join(timeout=5)
        return out, b"".join(err_chunks), proc.returncode

    @staticmethod
    def _kill(proc: subprocess.Popen[bytes]) -> None:
        # SIGTERM first so the helper can kill and reap its sandboxed children; then SIGKILL
        # the whole group.
        for sig, wait in ((signal.SIGTERM, 2.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                return
            try:
                proc.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue

    def cancel(self) -> None:
        """Abort the run in progress (lease lost, or shutdown deadline) and refuse new ones
        until reset(). Called from another thread."""
        with self._lock:
            self._cancelled = True
            proc = self._proc
        if proc is not None and proc.poll() is None:
            self._kill(proc)

    def reset(self) -> None:
        with self._lock:
            self._cancelled = False

    @staticmethod
    def _timeout(limits: ResolvedLimits, runs: int, parallel: int, grace_s: float = 0.0) -> float:
        # Worst case every run hits its wall limit, in ceil(runs/parallel) waves (an interactor
        # may outlive its program by `grace_s`).
        waves = -(-runs // max(1, parallel))
        return waves * (limits.wall_ms / 1000.0 + 1.0 + grace_s) + _HELPER_GRACE_S

    def run_tests(
        self,
        *,
        profile: str,
        limits: ResolvedLimits,
        argv: Sequence[str],
        tests_dir: Path,
        count: int,
        workdir: Path,
        parallel: int,
        procs: int | None = None,
        env: Mapping[str, str] | None = None,
        on_progress: ProgressCallback | None = None,
        test_files: Path | None = None,
        interactor: Interactor | None = None,
    ) -> list[SandboxRun]:
        """Run every test; `on_progress(done, total)` (from another thread) as runs finish.
        With `interactor`, each test is a pair: the program talks to the interactor, which sees
        `test_files/N` at /judge (the program never does)."""
        cmd = build_command(
            self.binary, profile=profile, limits=limits, argv=argv, procs=procs, parallel=parallel,
            workdir=workdir, env=env, tests_dir=tests_dir, test_files=test_files, progress=on_progress is not None,
            interactor=interactor,
        )
        timeout = self._timeout(limits, count, parallel, 0.0 if interactor is None else INTERACTOR_GRACE_S)
        runs = parse_runs(self._invoke(cmd, timeout, on_progress), count)
        if interactor is not None and any(r.interactor is None and r.status != "IE" for r in runs):
            raise SandboxError("sandbox reported an interactive test without its interactor's side")
        return runs

    def run_single(
        self,
        *,
        profile: str,
        limits: ResolvedLimits,
        argv: Sequence[str],
        stdin: Path | str,
        stdout: Path,
        stderr: Path,
        workdir: Path,
        procs: int | None = None,
        env: Mapping[str, str] | None = None,
    ) -> SandboxRun:
        cmd = build_command(
            self.binary, profile=profile, limits=limits, argv=argv, procs=procs, workdir=workdir,
            env=env, stdin=stdin, stdout=stdout, stderr=stderr,
        )
        return parse_single(self._invoke(cmd, self._timeout(limits, 1, 1)))


PROBE_TIMEOUT_S = 15.0


def probe_isolation(binary: str | os.PathLike[str]) -> dict[str, Any]:
    """`sandbox --probe`: the isolation layers this host gives jobs, as the helper reports
    them (one JSON object with at least `level`). On any failure
    `{"level": "unavailable", "error": ...}`: never raises."""
    try:
        proc = subprocess.run(
            [str(binary), "--probe"], capture_output=True, timeout=PROBE_TIMEOUT_S, check=False,
            stdin=subprocess.DEVNULL,
            env=dict(_HELPER_ENV),
        )
    except subprocess.TimeoutExpired:
        return {"level": "unavailable", "error": f"sandbox --probe did not finish within {PROBE_TIMEOUT_S:.0f}s"}
    except OSError as exc:
        return {"level": "unavailable", "error": f"cannot run {binary} --probe: {exc}"[:500]}
    if proc.returncode != 0:
        detail = proc.stderr.decode("utf-8", "replace").strip()[:300]
        return {"level": "unavailable", "error": f"sandbox --probe exited {proc.returncode}: {detail}".strip()}
    try:
        probe = json.loads(proc.stdout.decode("utf-8", "replace"))
    except ValueError as exc:
        return {"level": "unavailable", "error": f"sandbox --probe printed no JSON object: {exc}"[:500]}
    if not isinstance(probe, dict) or not isinstance(probe.get("level"), str) or not probe["level"]:
        return {"level": "unavailable", "error": "sandbox --probe printed no `level`"}
    return probe
