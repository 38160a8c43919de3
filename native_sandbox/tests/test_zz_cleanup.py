"""Nothing is left behind: cgroups, processes, mounts, temp dirs; also when the helper itself
is terminated mid-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import (
    BIN,
    HELPER_PIDS,
    TEST_PIDS_CGROUP,
    TEST_UID,
    _preexec,
    cgroup_held,
    cgroup_procs,
    helper_env,
    probe,
    wait_no_uid_processes,
)

pytestmark = pytest.mark.usefixtures("isolated")


def cgroup_parents() -> list[Path]:
    p = probe()
    parents = [Path(x) for x in p.get("cgroup_parents", [])]
    # the tests run the helper inside codepipe-tests: its parents are nested there
    d = TEST_PIDS_CGROUP.get("dir")
    if d and Path(d).is_dir():
        parents += list(Path(d).rglob("codepipe"))
    return [p for p in parents if p.is_dir()]


def our_cgroups() -> list[Path]:
    """Sets of our helpers left behind, and reused (pool-<k>) sets that no live helper holds
    but that still have processes in them."""
    ours = {str(pid) for pid in HELPER_PIDS}
    left = []
    for parent in cgroup_parents():
        for d in parent.iterdir():
            if not d.is_dir():
                continue
            if d.name.split("-")[0] in ours or (d.name.startswith("pool-") and not cgroup_held(d) and cgroup_procs(d)):
                left.append(d)
    return left


def host_mounts() -> str:
    return Path("/proc/self/mountinfo").read_text()


def tmp_entries_of(uid: int) -> list[str]:
    out = []
    for base in ("/tmp", "/var/tmp", "/dev/shm"):
        try:
            for p in Path(base).iterdir():
                try:
                    if p.lstat().st_uid == uid or p.name.startswith("codepipe-root"):
                        out.append(str(p))
                except OSError:
                    pass
        except OSError:
            pass
    return out


def test_no_leftover_cgroups_processes_mounts(sb):
    before = host_mounts()
    tmp_before = set(tmp_entries_of(TEST_UID))
    r = sb.run(["./hostile", "forkbomb"], profile="compile", tests=["\n"] * 3, parallel=2, procs=8,
               time_ms=300, wall_ms=500)
    assert [x["status"] for x in r.runs] != []
    r = sb.run(["./hostile", "flood"], tests=["\n"] * 3, parallel=2, output_kb=8)
    assert wait_no_uid_processes(TEST_UID) == []
    assert our_cgroups() == []
    assert "codepipe-root" not in host_mounts()
    assert host_mounts().count("\n") <= before.count("\n")
    # no temp files/dirs: neither the helper's nor anything the programs wrote to their /tmp
    r = sb.run(["./hostile", "write", "/tmp/codepipe-leftover-probe"], tests=["\n"] * 2, parallel=2)
    assert [x["status"] for x in r.runs] == ["OK", "OK"]
    assert set(tmp_entries_of(TEST_UID)) - tmp_before == set()
    assert not Path("/tmp/codepipe-leftover-probe").exists()


def test_sigterm_cleans_up(sb):
    job = sb.job(["hostile"])
    for i in range(1, 5):
        (job / "tests" / f"{i}.in").write_text("\n")
    cmd = [str(BIN), "--profile", "c", "--time-ms", "20000", "--wall-ms", "30000", "--memory-mb", "64",
           "--output-kb", "64", "--parallel", "2", "--workdir", str(job / "box"), "--tests", str(job / "tests"),
           "--", "./hostile", "sleep"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=helper_env(), preexec_fn=_preexec)
    HELPER_PIDS.append(p.pid)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len([1 for _ in range(1)]) and not _uid_running():
        time.sleep(0.02)
    assert _uid_running(), "the sandboxed sleepers never started"
    p.send_signal(signal.SIGTERM)
    out, err = p.communicate(timeout=10)
    assert p.returncode != 0
    assert wait_no_uid_processes(TEST_UID) == []
    assert our_cgroups() == []


def _uid_running() -> bool:
    from conftest import uid_processes
    return len(uid_processes(TEST_UID)) >= 2


def test_sigkilled_helper_leaves_no_processes(sb):
    """SIGKILL cannot be handled: the keepers die with their parent (PDEATHSIG), which takes
    each PID namespace down; the next invocation removes the stale cgroups."""
    job = sb.job(["hostile"])
    (job / "tests" / "1.in").write_text("\n")
    cmd = [str(BIN), "--profile", "c", "--time-ms", "20000", "--wall-ms", "30000", "--memory-mb", "64",
           "--output-kb", "64", "--workdir", str(job / "box"), "--tests", str(job / "tests"),
           "--", "./hostile", "sleep"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=helper_env(), preexec_fn=_preexec)
    HELPER_PIDS.append(p.pid)
    deadline = time.monotonic() + 5
    from conftest import uid_processes
    while time.monotonic() < deadline and not uid_processes(TEST_UID):
        time.sleep(0.02)
    p.kill()
    p.communicate()
    assert wait_no_uid_processes(TEST_UID) == []
    sb.run(["./hostile", "id"])          # this invocation sweeps the stale cgroups
    assert [d for d in our_cgroups() if d.name.startswith(f"{p.pid}-")] == []


def test_probe_reports_full_isolation_here():
    p = probe()
    if os.geteuid() == 0:
        assert p["root"] is True
        assert p["namespaces"]["pid"] and p["namespaces"]["mount"] and p["namespaces"]["net"]
    assert json.dumps(p)
