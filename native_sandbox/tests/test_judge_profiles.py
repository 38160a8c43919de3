"""The checker and interactor profiles: untrusted judge programs (SPEC §7), C/C++ binaries or
Python scripts, one process, threads allowed, no sockets, no new processes, no second exec."""

from __future__ import annotations

import pytest
from native_programs import compiled

pytestmark = pytest.mark.usefixtures("isolated")

PROFILES = ["checker", "interactor"]
PY = ["/usr/bin/python3", "-B"]


def checker_job(sb, progs, output: str, answer: str):
    compiled(progs, "checker")
    job = sb.job(["checker", "checker.py", "hostile", "threads.py", "sock.py", "subproc.py"])
    for name, text in (("input", "1 2\n"), ("output", output), ("answer", answer)):
        (job / "box" / name).write_text(text)
    return job


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("argv", [["./checker"], [*PY, "checker.py"]], ids=["c", "python"])
def test_checkers_judge(sb, progs, profile, argv):
    job = checker_job(sb, progs, "3\n", "3\n")
    r = sb.run([*argv, "input", "output", "answer"], profile=profile, job=job, memory_mb=512, wall_ms=10000)
    assert (r.run["status"], r.run["exit_code"]) == ("OK", 0), (r.run, r.err())
    assert r.err().startswith("ok 1 tokens")
    job = checker_job(sb, progs, "4\n", "3\n")
    r = sb.run([*argv, "input", "output", "answer"], profile=profile, job=job, memory_mb=512, wall_ms=10000)
    assert (r.run["status"], r.run["exit_code"]) == ("RE", 1), (r.run, r.err())
    assert "wrong answer" in r.err()


@pytest.mark.parametrize("profile", PROFILES)
def test_threads_are_allowed(sb, progs, profile):
    job = checker_job(sb, progs, "", "")
    r = sb.run([*PY, "threads.py"], profile=profile, job=job, memory_mb=512)
    assert r.run["status"] == "OK" and r.out().startswith("threads ok"), (r.run, r.err())
    r = sb.run(["./hostile", "threads"], profile=profile, job=job)
    assert r.run["status"] == "OK" and r.out() == "threads ok\n", r.run


@pytest.mark.parametrize("profile", PROFILES)
@pytest.mark.parametrize("argv", [["./hostile", "fork1"], ["./hostile", "execsh", "/tmp/x"],
                                  ["./hostile", "connect", "9"], [*PY, "sock.py", "9"],
                                  [*PY, "subproc.py", "/tmp/x"], [*PY, "-c", "import os; os.fork()"],
                                  [*PY, "-c", "import os; os.execv('/bin/sh', ['sh'])"]],
                         ids=["fork", "exec", "connect", "py-socket", "py-subprocess", "py-fork", "py-exec"])
def test_processes_exec_and_sockets_are_sv(sb, progs, profile, argv):
    job = checker_job(sb, progs, "", "")
    r = sb.run(argv, profile=profile, job=job, memory_mb=512)
    assert (r.run["status"], r.run["signal"]) == ("SV", 31), (r.run, r.out(), r.err())
    assert "pwned" not in r.all_output()


@pytest.mark.parametrize("profile", PROFILES)
def test_unix_sockets_fail_without_a_kill(sb, progs, profile):
    """Not even AF_UNIX (glibc's nscd probe at Python start-up gets EACCES and goes on)."""
    job = checker_job(sb, progs, "", "")
    code = "import socket\ntry:\n    socket.socket(socket.AF_UNIX)\nexcept OSError as e:\n    print(e.errno)\n"
    r = sb.run([*PY, "-c", code], profile=profile, job=job, memory_mb=512)
    assert r.run["status"] == "OK" and r.out() == "13\n", (r.run, r.out(), r.err())


@pytest.mark.parametrize("profile", PROFILES)
def test_shadow_is_unreadable(sb, progs, profile):
    job = checker_job(sb, progs, "", "")
    r = sb.run(["./hostile", "cat", "/etc/shadow"], profile=profile, job=job)
    assert r.run["status"] == "OK", r.run
    assert r.out() == "open /etc/shadow: Permission denied\n", r.out()
