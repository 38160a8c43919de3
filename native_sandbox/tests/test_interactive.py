"""--interactor (SPEC §8): per test the program and the interactor run as a pair, each sandboxed
in its own namespaces and cgroup set, their stdin/stdout cross-connected through the helper's
relay.  Guess-the-number (programs/guess_interactor.c, programs/guesser.c): verdicts of both
sides, the logs of both directions and their byte counts, N.tout, hostile programs and
interactors on either side, and no leaks over 200 pairs."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
from conftest import BIN, HELPER_PIDS, TEST_UID, Result, _preexec, helper_env, scaled, wait_no_uid_processes
from native_programs import compiled
from test_zz_cleanup import host_mounts, our_cgroups

pytestmark = pytest.mark.usefixtures("isolated")

INTERACTOR_ARGS = ["./interactor", "/judge/input", "/tmp/output", "/judge/answer"]


def pair_job(sb, progs, secrets: list[tuple[int, int]], files: tuple[str, ...] = ("guesser",),
             root: Path | None = None) -> Path:
    """box/ (the program's: the guesser), ibox/ (the interactor's), judge/N/{input,answer}
    with "secret limit" per test, tests/ (N.in numbers the tests).  Under the test's tmp dir,
    or under root."""
    compiled(progs, "guesser")
    compiled(progs, "guess_interactor")
    if root is None:
        job = sb.job(list(files))
    else:
        job = root / "job"
        (job / "box").mkdir(parents=True)
        (job / "tests").mkdir()
        for d in (root, job, job / "box"):
            os.chmod(d, 0o755)
        for f in files:
            shutil.copy2(progs / f, job / "box" / f)
    (job / "ibox").mkdir()
    os.chmod(job / "ibox", 0o755)
    shutil.copy2(progs / "guess_interactor", job / "ibox" / "interactor")
    os.chmod(job / "ibox" / "interactor", 0o755)
    os.chmod(job / "box" / "guesser", 0o755)
    for n, (secret, limit) in enumerate(secrets, 1):
        d = job / "judge" / str(n)
        d.mkdir(parents=True)
        (d / "input").write_text(f"{secret} {limit}\n")
        (d / "answer").write_text("")
        os.chmod(d, 0o755)
    return job


def interactor_options(job: Path, argv: list[str] = INTERACTOR_ARGS, extra: list[str] = ()) -> list[str]:
    opts = ["--test-files", str(job / "judge"), "--interactor-workdir", str(job / "ibox")]
    for a in argv:
        opts += ["--interactor", a]
    return opts + list(extra)


def run_pair(sb, job: Path, guesser: list[str], n: int, *, mode: list[str] = (), iextra: list[str] = (),
             profile: str = "c", **kw) -> Result:
    argv = ["./guesser", *guesser] if profile == "c" else guesser
    return sb.run(argv, profile=profile, job=job, tests=[""] * n,
                  extra=interactor_options(job, [*INTERACTOR_ARGS, *mode], iextra), **kw)


def read(job: Path, name: str) -> str:
    return (job / "tests" / name).read_text(errors="replace")


def binary_queries(secret: int) -> list[int]:
    lo, hi, qs = 1, 1000000, []
    while lo <= hi:
        mid = lo + (hi - lo) // 2
        qs.append(mid)
        if mid == secret:
            return qs
        lo, hi = (mid + 1, hi) if secret > mid else (lo, mid - 1)
    raise AssertionError("not found")


def check_accepted(job: Path, run: dict, n: int, secret: int) -> None:
    """Both sides OK; N.out, N.iout, N.tout and the byte counts tell the same interaction."""
    it = run["interactor"]
    assert (run["status"], it["status"], it["exit_code"]) == ("OK", "OK", 0), run
    assert not run["stopped"] and not it["stopped"], run
    qs = binary_queries(secret)
    out, iout = read(job, f"{n}.out"), read(job, f"{n}.iout")
    assert out == "".join(f"? {q}\n" for q in qs), out
    answers = "".join(("=" if q == secret else "<" if secret < q else ">") + "\n" for q in qs)
    assert iout == answers, iout
    assert run["stdout_bytes"] == run["bytes_to_interactor"] == len(out.encode()), run
    assert it["stdout_bytes"] == run["bytes_from_interactor"] == len(iout.encode()), run
    assert read(job, f"{n}.tout") == f"queries={len(qs)}\n"
    assert f"ok: found {secret} in {len(qs)} queries" in read(job, f"{n}.ierr")
    assert it["stderr_bytes"] == len(read(job, f"{n}.ierr").encode()), run
    assert read(job, f"{n}.err") == "" and run["stderr_bytes"] == 0


@pytest.mark.parametrize("parallel", [1, 2])
def test_binary_search_is_accepted_with_both_logs(sb, progs, parallel):
    secrets = [(777, 30), (1, 30), (1000000, 30), (123457, 30)]
    job = pair_job(sb, progs, secrets)
    r = run_pair(sb, job, ["binary"], len(secrets), parallel=parallel)
    assert [x["test"] for x in r.runs] == [1, 2, 3, 4]
    for n, (run, (secret, _)) in enumerate(zip(r.runs, secrets, strict=True), 1):
        check_accepted(job, run, n, secret)
        assert set(run) >= {"status", "exit_code", "signal", "cpu_ms", "wall_ms", "memory_kb", "stdout_bytes",
                            "stderr_bytes", "stopped", "interactor_first", "bytes_to_interactor",
                            "bytes_from_interactor", "interactor"}
        assert set(run["interactor"]) >= {"status", "exit_code", "signal", "cpu_ms", "wall_ms", "memory_kb",
                                          "stdout_bytes", "stderr_bytes", "stopped"}


def test_one_query_too_many_is_the_interactors_wrong_answer(sb, progs):
    job = pair_job(sb, progs, [(25, 24)])
    run = run_pair(sb, job, ["linear"], 1).run
    it = run["interactor"]
    assert (it["status"], it["exit_code"], it["signal"], it["stopped"]) == ("RE", 1, 0, False), run
    assert "more than 24 queries" in read(job, "1.ierr")
    assert read(job, "1.tout") == "queries=25\n"
    # the program is not blamed by the helper: it ended on its own (EOF on stdin, or SIGPIPE
    # on its next query, which can only come after the interactor's end)
    assert not run["stopped"] and run["interactor_first"], run
    assert run["signal"] in (0, signal.SIGPIPE), run
    assert read(job, "1.out").startswith("".join(f"? {q}\n" for q in range(1, 26)))
    assert read(job, "1.iout") == ">\n" * 24


def test_a_program_that_never_flushes_is_tle_by_wall(sb, progs):
    job = pair_job(sb, progs, [(500, 30)])
    run = run_pair(sb, job, ["noflush"], 1, time_ms=1000, wall_ms=1500).run
    assert run["status"] == "TLE" and run["signal"] == signal.SIGKILL, run
    assert run["wall_ms"] >= scaled(1500) and run["cpu_ms"] < 500, run
    assert run["stdout_bytes"] == 0 and run["bytes_to_interactor"] == 0 and read(job, "1.out") == ""
    # the interactor waited for a query: stopped by the helper, or it saw EOF and said so
    it = run["interactor"]
    assert it["stopped"] or (it["exit_code"], it["signal"]) == (1, 0), run
    assert not run["stopped"]


def test_a_program_that_exits_early_gets_the_interactors_verdict(sb, progs):
    job = pair_job(sb, progs, [(500, 30)])
    run = run_pair(sb, job, ["early"], 1).run
    it = run["interactor"]
    assert (run["status"], run["exit_code"], run["stopped"]) == ("OK", 0, False), run
    assert (it["status"], it["exit_code"], it["stopped"]) == ("RE", 1, False), run
    assert not run["interactor_first"], run
    assert "ended without finding" in read(job, "1.ierr")
    assert read(job, "1.tout") == "queries=0\n"


def test_a_flood_into_a_reading_interactor_is_ole(sb, progs):
    job = pair_job(sb, progs, [(500, 30)])
    t0 = time.monotonic()
    run = run_pair(sb, job, ["flood"], 1, mode=["sink"], output_kb=256, wall_ms=20000).run
    assert time.monotonic() - t0 < scaled(15), "the helper hung on a flood"
    assert run["status"] == "OLE" and run["stdout_bytes"] == 256 * 1024, run
    assert (job / "tests" / "1.out").stat().st_size == 256 * 1024
    assert run["bytes_to_interactor"] <= 256 * 1024


def test_a_flood_past_the_interactors_verdict_does_not_hang(sb, progs):
    """The interactor answers the first 30 "? 1" and gives up; the program never reads: OLE, or
    (its stdout closed after the interactor's end) SIGPIPE with the interactor's verdict."""
    job = pair_job(sb, progs, [(500, 30)])
    t0 = time.monotonic()
    run = run_pair(sb, job, ["flood"], 1, output_kb=4096, wall_ms=20000).run
    assert time.monotonic() - t0 < scaled(15), "the helper hung on a flood"
    it = run["interactor"]
    assert run["status"] == "OLE" or (run["signal"] == signal.SIGPIPE and run["interactor_first"]
                                      and it["exit_code"] == 1), run
    assert not run["stopped"]
    assert read(job, "1.iout") == ">\n" * 30


def test_a_crashing_program_is_re_with_its_own_signal(sb, progs):
    job = pair_job(sb, progs, [(500, 30)])
    run = run_pair(sb, job, ["crash"], 1).run
    assert (run["status"], run["signal"], run["stopped"]) == ("RE", signal.SIGABRT, False), run
    assert not run["interactor_first"], run
    assert read(job, "1.out") == "? 1\n? 2\n" and read(job, "1.iout") == ">\n>\n"


def test_a_crashing_interactor_is_reported_as_such(sb, progs):
    job = pair_job(sb, progs, [(500, 30)])
    run = run_pair(sb, job, ["binary"], 1, mode=["crash"]).run
    it = run["interactor"]
    assert (it["status"], it["signal"], it["stopped"]) == ("RE", signal.SIGABRT, False), run
    assert run["interactor_first"], run
    # the program lost its partner: stopped by the helper, or it saw EOF (exit 2) first
    assert run["stopped"] or run["exit_code"] == 2, run


def test_a_looping_interactor_is_its_tle_and_the_program_is_stopped(sb, progs):
    job = pair_job(sb, progs, [(500, 30)])
    t0 = time.monotonic()
    run = run_pair(sb, job, ["binary"], 1, mode=["loop"], iextra=["--interactor-time-ms", str(int(scaled(300)))],
                   wall_ms=10000).run
    elapsed = time.monotonic() - t0
    it = run["interactor"]
    assert (it["status"], it["stopped"]) == ("TLE", False), run
    assert it["cpu_ms"] >= scaled(300), run
    assert (run["stopped"], run["signal"]) == (True, signal.SIGKILL), run
    assert elapsed < scaled(8), f"the pair lasted {elapsed:.1f}s: the program was not stopped at the interactor's TLE"


def test_an_interactor_opening_a_socket_is_sv(sb, progs):
    job = pair_job(sb, progs, [(500, 30)])
    run = run_pair(sb, job, ["binary"], 1, mode=["socket"]).run
    assert (run["interactor"]["status"], run["interactor"]["signal"]) == ("SV", signal.SIGSYS), run
    assert run["stopped"] or run["exit_code"] == 2, run


@pytest.fixture(params=["tmp", "var_tmp"])
def job_root(request):
    """Where the job lives: under /tmp (each side's private /tmp covers the other's workdir
    anyway) or elsewhere (only the keeper's unmount of the other side's workdir hides it)."""
    if request.param == "tmp":
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="codepipe-pair-", dir="/var/tmp"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_the_interactor_sees_neither_the_programs_box_nor_other_tests(sb, progs, job_root):
    job = pair_job(sb, progs, [(500, 30), (600, 30)], root=job_root)
    (job / "box" / "solution.c").write_text("int main(void) { return 0; }\n")
    os.chmod(job / "box" / "solution.c", 0o644)
    paths = [str(job / "box" / "solution.c"), str(job / "box" / "guesser"),
             str(job / "judge" / "2" / "input"), "/judge/../2/input", str(job / "tests" / "1.out"), "/judge/input"]
    r = run_pair(sb, job, ["binary"], 2, mode=["peek", *paths])
    for n, run in enumerate(r.runs, 1):
        assert (run["status"], run["interactor"]["status"]) == ("OK", "OK"), run
        seen = dict(line.split(": ", 1) for line in read(job, f"{n}.tout").splitlines() if line.startswith("peek "))
        for p in paths[:-1]:
            assert seen[f"peek {p}"] == "No such file or directory", seen
        assert seen["peek /judge/input"] == "readable", seen


def test_the_program_sees_neither_the_interactors_box_nor_its_files(sb, progs, job_root):
    job = pair_job(sb, progs, [(500, 30)], root=job_root)
    paths = [str(job / "ibox" / "interactor"), str(job / "ibox" / "x"), "/judge/input",
             str(job / "judge" / "1" / "input")]
    (job / "ibox" / "x").write_text("the interactor's file\n")
    os.chmod(job / "ibox" / "x", 0o644)
    run = run_pair(sb, job, ["peek", *paths, "/.codepipe/test-files/1/input"], 1).run
    assert (run["status"], run["interactor"]["status"]) == ("OK", "OK"), run
    err = read(job, "1.err")
    for p in paths:
        assert f"peek {p}: No such file or directory" in err, err
    # the staging dir the interactor's keeper binds /judge from: mode 0000
    assert "peek /.codepipe/test-files/1/input: Permission denied" in err, err


def test_the_program_cannot_signal_or_see_the_interactor(sb, progs):
    job = pair_job(sb, progs, [(500, 30)])
    run = run_pair(sb, job, ["signals"], 1).run
    assert (run["status"], run["interactor"]["status"], run["interactor"]["signal"]) == ("OK", "OK", 0), run
    assert "signals: delivered 0," in read(job, "1.err")
    run = run_pair(sb, job, ["proc"], 1).run
    assert (run["status"], run["interactor"]["status"]) == ("OK", "OK"), run
    assert re.search(r"proc: 1 pids, interactor seen 0", read(job, "1.err")), read(job, "1.err")


def test_no_shared_tmp_between_the_sides(sb, progs):
    job = pair_job(sb, progs, [(500, 30)])
    run = run_pair(sb, job, ["tmpfile", "/tmp/codepipe-note"], 1, mode=["peek", "/tmp/codepipe-note"]).run
    assert (run["status"], run["interactor"]["status"]) == ("OK", "OK"), run
    assert "tmpfile /tmp/codepipe-note: written" in read(job, "1.err")
    assert "peek /tmp/codepipe-note: No such file or directory" in read(job, "1.tout")


def test_no_socket_between_the_sides(sb, progs):
    """c: no socket call at all (SV).  python: the program listens on an abstract unix socket;
    the interactor can make no socket (EACCES) and does not even see the name in its
    /proc/net/unix (each side has its own network namespace; with the runs' namespaces shared,
    CODEPIPE_SANDBOX_NO_RUN_NS, it does: the check can see a leak)."""
    job = pair_job(sb, progs, [(500, 30)], files=("guesser", "guesser_unix.py"))
    run = run_pair(sb, job, ["socket"], 1).run
    assert (run["status"], run["signal"]) == ("SV", signal.SIGSYS), run
    py = ["/usr/bin/python3", "-B", "guesser_unix.py"]
    run = run_pair(sb, job, py, 1, profile="python", mode=["unix", "codepipe-pair"], memory_mb=256).run
    assert (run["status"], run["interactor"]["status"]) == ("OK", "OK"), run
    assert "unix socket: Permission denied" in read(job, "1.tout")
    for env, seen in (({}, ""), ({"CODEPIPE_SANDBOX_NO_RUN_NS": "1"}, ", mentions codepipe-pair")):
        run = run_pair(sb, job, py, 1, profile="python", mode=["peek", "/proc/net/unix"], memory_mb=256,
                       helper_extra_env=env).run
        assert (run["status"], run["interactor"]["status"]) == ("OK", "OK"), run
        assert f"peek /proc/net/unix: readable{seen}\n" in read(job, "1.tout"), (env, read(job, "1.tout"))


def test_tout_is_capped_and_never_followed_and_absent_without_output(sb, progs):
    job = pair_job(sb, progs, [(500, 30)])
    # RLIMIT_FSIZE lets a file grow to the output limit + 1 byte: N.tout stops at the limit
    tail = f"queries={len(binary_queries(500))}\n".encode()
    xs = 64 * 1024 + 1 - len(tail)
    run = run_pair(sb, job, ["binary"], 1, mode=["bigout", str(xs)], output_kb=64).run
    assert (run["status"], run["interactor"]["status"]) == ("OK", "OK"), run
    assert (job / "tests" / "1.tout").read_bytes() == (b"x" * xs + tail)[:64 * 1024]
    # more than that: the interactor's own OLE (SIGXFSZ), and the program is stopped
    run = run_pair(sb, job, ["binary"], 1, mode=["bigout", "200000"], output_kb=64).run
    assert (run["interactor"]["status"], run["interactor"]["signal"]) == ("OLE", signal.SIGXFSZ), run
    assert run["stopped"] and run["signal"] == signal.SIGKILL, run
    run = run_pair(sb, job, ["binary"], 1, mode=["linkout", "/judge/input"]).run
    assert (run["status"], run["interactor"]["status"]) == ("OK", "OK"), run
    assert not (job / "tests" / "1.tout").exists()     # a link is not copied, the stale one is gone
    argv = ["./interactor", "/judge/input", "/dev/null", "/judge/answer"]
    r = sb.run(["./guesser", "binary"], job=job, tests=[""], extra=interactor_options(job, argv))
    assert r.run["interactor"]["status"] == "OK" and not (job / "tests" / "1.tout").exists()


def test_interactor_limits_and_env(sb, progs):
    """--interactor-memory-mb is the interactor's own; its wall is the pair's + 1 s grace."""
    job = pair_job(sb, progs, [(500, 30)])
    shutil.copy2(progs / "hostile", job / "ibox" / "hostile")
    os.chmod(job / "ibox" / "hostile", 0o755)
    argv = ["./hostile", "sleep", "30"]
    t0 = time.monotonic()
    r = sb.run(["./guesser", "early"], job=job, tests=[""], wall_ms=1000,
               extra=interactor_options(job, argv, ["--interactor-memory-mb", "32", "--interactor-env", "X=1"]))
    it = r.run["interactor"]
    assert (it["status"], r.run["status"]) == ("TLE", "OK"), r.run
    assert it["wall_ms"] >= scaled(2000) and time.monotonic() - t0 < scaled(10), r.run


def helper_fds(pid: int) -> int:
    try:
        return len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        return -1


def test_200_pairs_leak_nothing(sb, progs):
    n = 200
    secrets = [(1 + (i * 7919) % 1000000, 30) for i in range(n)]
    job = pair_job(sb, progs, secrets)
    for i in range(1, n + 1):
        (job / "tests" / f"{i}.in").write_text("")
    mounts_before = host_mounts().count("\n")
    fds_before = len(os.listdir("/proc/self/fd"))
    t0 = time.monotonic()
    cmd = [str(BIN), "--profile", "c", "--time-ms", str(int(scaled(2000))), "--wall-ms", str(int(scaled(5000))),
           "--memory-mb", "64", "--output-kb", "64", "--parallel", "2", "--progress", "--workdir", str(job / "box"),
           "--tests", str(job / "tests"), *interactor_options(job), "--", "./guesser", "binary"]
    # stderr unbuffered: each progress line is seen the moment the helper writes it
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0, env=helper_env(),
                         preexec_fn=_preexec)
    HELPER_PIDS.append(p.pid)
    out: list[bytes] = []
    reader = threading.Thread(target=lambda: out.append(p.stdout.read()))
    reader.start()
    # the helper's fds and children, sampled as the tests finish (--progress lines)
    fds_at: dict[int, int] = {}
    children_max = 0
    for line in iter(p.stderr.readline, b""):
        m = re.match(r"sandbox: progress (\d+)/", line.decode())
        if m:
            done = int(m.group(1))
            fds_at[done] = helper_fds(p.pid)
            if done % 50 == 10:      # a walk of /proc is slow: sampled, so as not to lag behind
                children_max = max(children_max, len(children_of(p.pid)))
    reader.join(scaled(120))
    assert p.wait(scaled(120)) == 0
    p.stdout.close()
    p.stderr.close()
    runs = json.loads(out[0])
    assert len(runs) == n
    for i, (run, (secret, _)) in enumerate(zip(runs, secrets, strict=True), 1):
        check_accepted(job, run, i, secret)
    # a leaked fd per pair would show as growth between the 10th and the 190th test (the
    # current and the prepared pair of each slot hold a report pipe each)
    assert fds_at[10] > 0 and abs(fds_at[190] - fds_at[10]) <= 4, fds_at
    # per slot a running and a prepared pair, and a few reported ones not yet reaped: never
    # one per test
    assert children_max <= 16, children_max
    assert time.monotonic() - t0 < scaled(60)
    assert wait_no_uid_processes(TEST_UID) == []
    assert our_cgroups() == []
    assert len(os.listdir("/proc/self/fd")) == fds_before
    assert host_mounts().count("\n") <= mounts_before
    assert children_of(p.pid) == []


def children_of(pid: int) -> list[int]:
    kids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(proc.name))
        except (OSError, IndexError, ValueError):
            pass
    return kids


@pytest.mark.parametrize("bad", [
    ["--interactor", "./interactor"],                                              # no --interactor-workdir
    ["--interactor-workdir", "IBOX"],                                              # without --interactor
    ["--interactor-time-ms", "100"],
    ["--interactor", "./interactor", "--interactor-workdir", "IBOX", "--interactor-time-ms", "0"],
])
def test_option_errors(sb, progs, bad):
    job = pair_job(sb, progs, [(5, 30)])
    bad = [str(job / "ibox") if a == "IBOX" else a for a in bad]
    r = sb.run(["./guesser"], job=job, tests=[""], extra=bad, expect_ok=False)
    assert r.rc == 2, (r.rc, r.stderr)
    assert "interactor" in r.stderr


def test_interactive_mode_needs_tests_and_a_run_profile(sb, progs):
    job = pair_job(sb, progs, [(5, 30)])
    opts = ["--interactor", "./interactor", "--interactor-workdir", str(job / "ibox")]
    r = sb.run(["./guesser"], job=job, extra=opts, expect_ok=False)               # single-run mode
    assert r.rc == 2 and "needs --tests" in r.stderr, r.stderr
    r = sb.run(["./guesser"], job=job, profile="compile", tests=[""], extra=opts, expect_ok=False)
    assert r.rc == 2 and "compile" in r.stderr, r.stderr


def test_the_workdirs_must_be_apart(sb, progs):
    job = pair_job(sb, progs, [(5, 30)])
    (job / "box" / "inner").mkdir()
    for ibox in (job / "box", job / "box" / "inner"):
        opts = ["--interactor", "./guesser", "--interactor-workdir", str(ibox)]
        r = sb.run(["./guesser"], job=job, tests=[""], extra=opts, expect_ok=False)
        assert r.rc == 1 and "separate directories" in r.stderr, r.stderr


def test_sigterm_mid_pairs_leaves_nothing(sb, progs):
    job = pair_job(sb, progs, [(500, 30)] * 4)
    for i in range(1, 5):
        (job / "tests" / f"{i}.in").write_text("")
    cmd = [str(BIN), "--profile", "c", "--time-ms", "20000", "--wall-ms", "30000", "--memory-mb", "64",
           "--output-kb", "64", "--parallel", "2", "--workdir", str(job / "box"), "--tests", str(job / "tests"),
           *interactor_options(job), "--", "./guesser", "noflush"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=helper_env(), preexec_fn=_preexec)
    HELPER_PIDS.append(p.pid)
    time.sleep(scaled(1))
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=scaled(20))
    assert p.returncode == 128 + signal.SIGTERM, err
    assert wait_no_uid_processes(TEST_UID) == []
    assert our_cgroups() == []
