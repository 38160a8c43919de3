"""Channels between the runs of one invocation: what one run leaves behind or holds, no other
run (later on the same slot, or in parallel on another) finds.

One IPC namespace per invocation let a test find the SysV shm segments, semaphores and
message queues an earlier or a parallel test had left, and one network namespace let a
parallel python/java test connect to another's abstract unix socket.  Each run now has its own
IPC namespace, and its own network namespace where its program can make sockets at all.
`tests/programs/channels.c` creates one of each kind of object and looks for the other runs'.
"""

from __future__ import annotations

import pytest
from native_programs import compiled

pytestmark = pytest.mark.usefixtures("isolated")

KINDS = ("shm", "sem", "msg", "posix-shm", "posix-mq", "abstract", "lock-tmp", "lock-workdir")
CREATED = ("shm", "sem", "msg", "abstract", "lock-tmp", "lock-workdir")
LOOK_MS, HOLD_MS = 500, 500


@pytest.fixture(scope="module")
def channels(progs):
    return compiled(progs, "channels")


def channel_job(sb, channels):
    job = sb.job(["channels"])
    (job / "box" / "lockme").write_text("a file of the workdir's lower layer\n")
    return job


def trail(sb, channels, n, parallel, profile="python", env=None, look_ms=LOOK_MS, hold_ms=HOLD_MS):
    job = channel_job(sb, channels)
    return sb.run(["./channels", "stdin"], profile=profile, job=job, parallel=parallel, memory_mb=64,
                  tests=[f"trail {i} {n} {look_ms} {hold_ms}\n" for i in range(1, n + 1)],
                  helper_extra_env=env)


def seen(out: str, prefix: str) -> dict[str, str]:
    return {w[1]: w[2] for w in (ln.split() for ln in out.splitlines()) if len(w) == 3 and w[0] == prefix}


@pytest.mark.parametrize("parallel", [1, 2, 3])
def test_no_run_finds_what_another_left_or_holds(sb, channels, parallel):
    n = 3
    r = trail(sb, channels, n, parallel)
    assert all(run["status"] == "OK" for run in r.runs), r.runs
    for i in range(1, n + 1):
        out = r.out(i)
        for kind in CREATED:              # the objects were made, and their maker sees them
            assert f"create {kind}: ok" in out, (i, out)
        assert all(v == "FOUND" for k, v in seen(out, "self").items() if k in CREATED), (i, out)
        # POSIX shm and queues cannot even be made: /dev/shm is read-only, RLIMIT_MSGQUEUE is 0
        assert "create posix-shm: failed" in out and "create posix-mq: failed" in out, (i, out)
        assert seen(out, "other") == {k: "absent" for k in KINDS}, (i, out)


def test_the_check_sees_shared_namespaces(sb, channels):
    """The same programs with the runs in the invocation's shared IPC/network namespaces
    (CODEPIPE_SANDBOX_NO_RUN_NS, also the fallback where the kernel refuses per-run ones):
    the later of two parallel runs finds the earlier one's SysV objects and its abstract socket
    (the earlier one looks until it finds something, then holds its own), so the check above
    can see a leak."""
    r = trail(sb, channels, 2, 2, env={"CODEPIPE_SANDBOX_NO_RUN_NS": "1"}, look_ms=5000, hold_ms=1500)
    assert all(run["status"] == "OK" for run in r.runs), r.runs
    for kind in ("shm", "sem", "msg", "abstract"):
        assert "FOUND" in (seen(r.out(1), "other")[kind], seen(r.out(2), "other")[kind]), (r.out(1), r.out(2))


def test_c_programs_have_no_ipc_or_socket_calls(sb, channels):
    r = trail(sb, channels, 2, 2, profile="c")
    assert [run["status"] for run in r.runs] == ["SV", "SV"], r.runs


def test_a_left_shm_segment_is_not_charged_to_the_next_run(sb, channels):
    """Test 1 leaves a 150 MiB SysV segment; test 3 runs in the same cgroup set (--parallel 1:
    sets A, B, A) and uses 200 MiB of its 256: it must be neither charged for the segment nor
    killed by it (with a shared IPC namespace it was MLE at ~106 MiB)."""
    job = channel_job(sb, channels)
    r = sb.run(["./channels", "stdin"], profile="python", job=job, parallel=1, memory_mb=256,
               tests=["shm 150\n", "touch 10\n", "touch 200\n"])
    assert [run["status"] for run in r.runs] == ["OK", "OK", "OK"], r.runs
    assert 150 * 1024 <= r.runs[0]["memory_kb"] <= 170 * 1024, r.runs
    assert 200 * 1024 <= r.runs[2]["memory_kb"] <= 230 * 1024, r.runs
