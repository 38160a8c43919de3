"""Hostile programs through the real helper: each asserts the exact status AND that nothing
escaped.  Gated by the `isolated` safety fixture (non-root uid, own PID namespace)."""

from __future__ import annotations

import os
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest
from conftest import CANARY_VALUE, TEST_UID, scaled, wait_no_uid_processes

pytestmark = pytest.mark.usefixtures("isolated")


def test_fork_bomb_c_is_sv(sb):
    r = sb.run(["./hostile", "forkbomb"], wall_ms=3000)
    assert r.run["status"] == "SV", r.run
    assert r.run["signal"] == 31
    assert wait_no_uid_processes(TEST_UID) == []


def test_fork_bomb_compile_profile_is_contained(sb):
    # The compile profile allows processes: the pids cgroup (or RLIMIT_NPROC) bounds the bomb,
    # the wall limit ends it, and nothing survives.
    r = sb.run(["./hostile", "forkbomb"], profile="compile", procs=16, time_ms=1000, wall_ms=1500, timeout=30)
    assert r.run["status"] in ("TLE", "RE"), r.run
    assert r.run["wall_ms"] < scaled(3000)
    assert wait_no_uid_processes(TEST_UID) == []


def test_fork_is_sv(sb):
    r = sb.run(["./hostile", "fork1"])
    assert r.run["status"] == "SV", r.run


@pytest.mark.parametrize("mode", ["system", "execsh"])
def test_shell_is_sv(sb, tmp_path, mode):
    marker = tmp_path / f"marker-{mode}"
    r = sb.run(["./hostile", mode, str(marker)])
    assert r.run["status"] == "SV", r.run
    assert not marker.exists()
    assert "pwned" not in r.all_output()


@pytest.fixture
def listener():
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.settimeout(0.2)
    accepted = []
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            try:
                c, _ = srv.accept()
                accepted.append(c)
            except OSError:
                pass

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    yield srv.getsockname()[1], accepted
    stop.set()
    t.join()
    srv.close()


def test_socket_connect_is_sv(sb, listener):
    port, accepted = listener
    r = sb.run(["./hostile", "connect", str(port)])
    assert r.run["status"] == "SV", r.run
    time.sleep(0.3)
    assert accepted == []


def test_read_shadow_fails(sb):
    shadow = Path("/etc/shadow").read_text() if os.access("/etc/shadow", os.R_OK) else ""
    r = sb.run(["./hostile", "cat", "/etc/shadow", "/etc/gshadow"])
    assert r.run["status"] == "OK", r.run
    assert "open /etc/shadow:" in r.out()
    for line in shadow.splitlines():
        if ":" in line and len(line) > 8:
            assert line not in r.all_output()


def test_no_environ_leak(sb):
    r = sb.run(["./hostile", "environ", f"/proc/{os.getpid()}/environ"], env=["HOME=/tmp"])
    assert r.run["status"] == "OK", r.run
    assert CANARY_VALUE not in r.all_output()
    assert "CODEPIPE_CANARY" not in r.out()
    # it only sees its own namespace: PID 1 (keeper, root: unreadable) and itself
    procs = [line for line in r.out().splitlines() if line.startswith("PROC ")]
    assert all(p.startswith("PROC 2:") for p in procs), procs


def test_write_outside_workdir(sb, tmp_path):
    job = sb.job(["hostile"])
    host_tmp = Path("/tmp") / f"codepipe-escape-{os.getpid()}"
    targets = [str(host_tmp), "/etc/codepipe-escape", str(job / "tests" / "evil"), str(tmp_path / "evil"),
               "/usr/codepipe-escape", str(job / "box" / "evil")]
    r = sb.run(["./hostile", "write", *targets], job=job)
    assert r.run["status"] == "OK", r.run
    for t in targets:
        assert not Path(t).exists(), f"{t} was created on the host:\n{r.out()}"
    # /tmp inside is a private tmpfs: writable, and gone afterwards
    assert f"{host_tmp}: created" in r.out()


def test_kill_minus_one(sb):
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        r = sb.run(["./hostile", "killall"])
        assert r.run["status"] in ("OK", "RE"), r.run
        assert sleeper.poll() is None, "a sibling process of the test was killed"
    finally:
        sleeper.kill()
        sleeper.wait()


def test_ptrace_is_sv(sb):
    r = sb.run(["./hostile", "ptrace"])
    assert r.run["status"] == "SV", r.run


@pytest.mark.parametrize("mode", ["unshare", "mount"])
def test_namespace_and_mount_are_sv(sb, mode):
    r = sb.run(["./hostile", mode])
    assert r.run["status"] == "SV", r.run


def test_infinite_loop_tle(sb):
    r = sb.run(["./hostile", "spin"], time_ms=500, wall_ms=3000)
    assert r.run["status"] == "TLE", r.run
    assert scaled(450) <= r.run["cpu_ms"] <= scaled(800), r.run


def test_multithreaded_spin_tle(sb):
    # killed for CPU (summed over threads), long before the wall limit
    r = sb.run(["./hostile", "spin_threads"], time_ms=400, wall_ms=20000)
    assert r.run["status"] == "TLE", r.run
    assert r.run["cpu_ms"] >= scaled(400) and r.run["wall_ms"] < scaled(10000), r.run


def test_sleep_forever_tle_by_wall(sb):
    t = time.monotonic()
    r = sb.run(["./hostile", "sleep"], time_ms=500, wall_ms=700)
    assert r.run["status"] == "TLE", r.run
    assert r.run["cpu_ms"] < scaled(100)
    assert scaled(650) <= r.run["wall_ms"] <= scaled(3000), r.run
    assert time.monotonic() - t < scaled(5)


def test_memory_bomb_mle(sb):
    r = sb.run(["./hostile", "membomb"], memory_mb=64)
    assert r.run["status"] == "MLE", r.run


def test_output_flood_ole(sb):
    r = sb.run(["./hostile", "flood"], tests=["\n"], output_kb=64)
    assert r.run["status"] == "OLE", r.run
    assert (r.job / "tests" / "1.out").stat().st_size <= 64 * 1024


def test_output_flood_both_streams_ole(sb):
    r = sb.run(["./hostile", "flood_err"], tests=["\n"], output_kb=64)
    assert r.run["status"] == "OLE", r.run
    total = sum((r.job / "tests" / f"1.{s}").stat().st_size for s in ("out", "err"))
    assert total <= 2 * 64 * 1024
    assert all((r.job / "tests" / f"1.{s}").stat().st_size <= 64 * 1024 for s in ("out", "err"))


def test_deep_recursion_ok(sb):
    r = sb.run(["./hostile", "recurse"], memory_mb=256, time_ms=5000, wall_ms=10000)
    assert r.run["status"] == "OK", (r.run, r.err())
    assert r.out() == "1000000\n"


@pytest.mark.parametrize("mode,sig", [("segv", 11), ("fpe", 8), ("abort", 6), ("sigpipe", 13)])
def test_crash_signals_re(sb, mode, sig):
    r = sb.run(["./hostile", mode])
    assert r.run["status"] == "RE", r.run
    assert r.run["signal"] == sig and r.run["exit_code"] == 0


def test_exit_code_re(sb):
    r = sb.run(["./hostile", "exit3"])
    assert r.run["status"] == "RE" and r.run["exit_code"] == 3 and r.run["signal"] == 0, r.run


def test_threads_allowed_in_c(sb):
    r = sb.run(["./hostile", "threads"])
    assert r.run["status"] == "OK", r.run
    assert r.out() == "threads ok\n"


def test_program_planted_symlinks(sb, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    # the compile profile has a writable workdir: plant links there, then run tests
    job = sb.job(["hostile"])
    r = sb.run(["./hostile", "symlinks", str(victim)], profile="compile", job=job)
    assert r.run["status"] == "OK", r.run
    r = sb.run(["./hostile", "flood"], tests=["\n"], output_kb=4, job=job)
    assert r.run["status"] == "OLE"
    assert victim.read_text() == "precious\n"
    assert not (job / "tests" / "1.out").is_symlink()


def test_preplanted_symlinks_in_tests_dir(sb, tmp_path):
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    job = sb.job(["hostile"])
    (job / "tests" / "1.out").symlink_to(victim)
    (job / "tests" / "1.err").symlink_to(victim)
    r = sb.run(["./hostile", "echo"], tests=["1 2\n"], job=job)
    assert r.run["status"] == "OK"
    assert victim.read_text() == "precious\n"
    assert not (job / "tests" / "1.out").is_symlink()
    assert (job / "tests" / "1.out").read_text() == "3\n"


def test_symlinked_input_refused(sb, tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("top secret\n")
    job = sb.job(["hostile"])
    (job / "tests" / "1.in").symlink_to(secret)
    (job / "tests" / "2.in").write_text("1 1\n")
    r = sb.run(["./hostile", "cat", "/dev/stdin"], job=job, extra=["--tests", str(job / "tests")],
               stdin=None, tests=None, expect_ok=False)
    # (the Runner passed --stdin/--stdout too: rebuild the call in plain --tests form)
    import json
    import subprocess as sp

    from conftest import BIN, helper_env
    p = sp.run([str(BIN), "--profile", "c", "--time-ms", "1000", "--wall-ms", "2000", "--memory-mb", "64",
                "--output-kb", "64", "--workdir", str(job / "box"), "--tests", str(job / "tests"), "--",
                "./hostile", "cat", "/dev/stdin"], capture_output=True, text=True, env=helper_env())
    assert p.returncode == 0, p.stderr
    runs = json.loads(p.stdout)
    assert runs[0]["status"] == "IE" and "symlink" in runs[0]["message"]
    assert runs[1]["status"] == "OK"
    assert "symlink" in p.stderr
    out1 = job / "tests" / "1.out"
    assert "top secret" not in (out1.read_text() if out1.exists() else "")
    assert r.rc != 0          # mixing --tests with --stdin is refused


def test_parallel_runs_and_no_leftovers(sb):
    r = sb.run(["./hostile", "echo"], tests=[f"{i} 1\n" for i in range(20)], parallel=2)
    assert [x["status"] for x in r.runs] == ["OK"] * 20
    assert wait_no_uid_processes(TEST_UID) == []


def test_parallel_tle_runs_are_independent(sb):
    # four CPU hogs on two slots: each is stopped at its own limit
    r = sb.run(["./hostile", "spin"], tests=["\n"] * 4, parallel=2, time_ms=300, wall_ms=5000)
    assert [x["status"] for x in r.runs] == ["TLE"] * 4
    assert all(scaled(300) <= x["cpu_ms"] <= scaled(1500) for x in r.runs), r.runs


def test_stderr_only_flood_ole(sb):
    r = sb.run(["./hostile", "flood_err"], tests=["\n"], output_kb=16)
    assert r.run["status"] == "OLE"


def test_workdir_writes_stay_in_the_run(sb):
    # run profiles: the workdir is a per-run copy-on-write overlay (see test_workdir.py)
    job = sb.job(["hostile"])
    r = sb.run(["./hostile", "write", str(job / "box" / "new"), "/tmp/ok"], job=job)
    assert r.run["status"] == "OK"
    assert f"{job / 'box' / 'new'}: created" in r.out() and "/tmp/ok: created" in r.out()
    assert not (job / "box" / "new").exists()


def test_program_not_executable_by_sandbox_uid_is_ie(sb):
    job = sb.job(["hostile"])
    os.chmod(job / "box" / "hostile", 0o700)          # root only
    r = sb.run(["./hostile", "id"], tests=["\n"], job=job)
    assert r.run["status"] == "IE"
    assert "message" in r.run and "Permission denied" in r.run["message"]


def test_tmp_is_private_per_run(sb):
    # every run sees an empty /tmp, even the next run of the same slot
    job = sb.job([])
    (job / "box" / "tmpcheck.py").write_text(
        "import os\nprint('present' if os.path.exists('/tmp/m') else 'absent')\nopen('/tmp/m', 'w').write('x')\n")
    r = sb.run(["/usr/bin/python3", "-B", "tmpcheck.py"], profile="python", tests=["\n"] * 4, parallel=2, job=job)
    assert [x["status"] for x in r.runs] == ["OK"] * 4
    assert [r.out(i) for i in range(1, 5)] == ["absent\n"] * 4
