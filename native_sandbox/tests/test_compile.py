"""The compile profile: compilers work (several processes, a writable workdir), hostile
sources end within limits and leak nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from conftest import TEST_UID, scaled, wait_no_uid_processes

pytestmark = pytest.mark.usefixtures("isolated")

GCC = ["/usr/bin/gcc", "-std=c17", "-O2", "-pipe"]


def compile_(sb, argv, files, **kw):
    kw.setdefault("time_ms", 10000)
    kw.setdefault("wall_ms", 20000)
    return sb.run(argv, profile="compile", files=files, memory_mb=kw.pop("memory_mb", 1024), procs=64, **kw)


def test_gcc_compiles_and_binary_runs(sb):
    job = sb.job(["hostile.c"])
    r = compile_(sb, [*GCC, "-o", "main", "hostile.c", "-pthread"], [], job=job)
    assert r.run["status"] == "OK", (r.run, r.err())
    assert (job / "box" / "main").exists()
    r = sb.run(["./main", "echo"], tests=["2 3\n"], job=job)
    assert r.run["status"] == "OK" and r.out() == "5\n"


def test_javac_compiles(sb):
    job = sb.job(["Threads.java"])
    r = compile_(sb, ["/usr/bin/javac", "-J-Xmx512m", "-J-XX:+UseSerialGC", "-J-XX:TieredStopAtLevel=1",
                      "-encoding", "UTF-8", "-nowarn", "-d", ".", "Threads.java"], [], job=job)
    assert r.run["status"] == "OK", (r.run, r.err())
    assert (job / "box" / "Threads.class").exists()


def test_include_shadow_fails_without_leak(sb):
    shadow = Path("/etc/shadow").read_text() if os.access("/etc/shadow", os.R_OK) else ""
    r = compile_(sb, [*GCC, "-o", "main", "include_shadow.c"], ["include_shadow.c"])
    assert r.run["status"] == "RE", (r.run, r.err())
    for line in shadow.splitlines():
        if ":" in line and len(line) > 8:
            assert line not in r.all_output()


def test_include_urandom_ends_within_wall(sb):
    r = compile_(sb, [*GCC, "-o", "main", "include_urandom.c"], ["include_urandom.c"],
                 time_ms=2000, wall_ms=3000, memory_mb=512, timeout=30)
    assert r.run["status"] in ("TLE", "MLE", "RE", "OLE"), r.run
    assert r.run["wall_ms"] <= scaled(4500)
    assert r.run["status"] != "OK"


def test_template_bomb_ends_within_limits(sb):
    r = compile_(sb, ["/usr/bin/g++", "-O0", "-o", "main", "template_bomb.cpp"], ["template_bomb.cpp"],
                 time_ms=2000, wall_ms=4000, memory_mb=512, timeout=30)
    assert r.run["status"] in ("TLE", "MLE", "RE", "OLE"), r.run
    assert r.run["wall_ms"] <= scaled(5500)


def test_compile_output_flood_capped(sb):
    # a compiler spewing errors: the error file never exceeds the output limit
    job = sb.job([])
    (job / "box" / "bad.c").write_text("int main(void) {\n" + "  x;\n" * 20000 + "}\n")
    r = compile_(sb, [*GCC, "-o", "main", "bad.c"], [], job=job, output_kb=16)
    assert r.run["status"] in ("OLE", "RE"), r.run
    assert (job / "err").stat().st_size <= 16 * 1024


def test_compile_network_still_refused(sb):
    r = compile_(sb, ["./hostile", "connect", "1"], ["hostile"])
    assert r.run["status"] == "RE", r.run           # socket() fails with EACCES
    assert "socket:" in r.out()


def test_compile_ptrace_still_sv(sb):
    r = compile_(sb, ["./hostile", "ptrace"], ["hostile"])
    assert r.run["status"] == "SV", r.run


def test_no_leftovers(sb):
    assert wait_no_uid_processes(TEST_UID) == []


def test_cpp_program_compiles_and_runs(sb):
    job = sb.job(["cpp_ok.cpp"])
    r = compile_(sb, ["/usr/bin/g++", "-std=c++17", "-O2", "-pipe", "-o", "main", "cpp_ok.cpp", "-pthread"], [],
                 job=job)
    assert r.run["status"] == "OK", (r.run, r.err())
    r = sb.run(["./main"], profile="cpp", tests=["1000\n", "10\n"], parallel=2, job=job)
    assert [x["status"] for x in r.runs] == ["OK", "OK"], r.runs
    assert r.out(1) == "500500 3\n" and r.out(2) == "55 3\n"
    r = sb.run(["./main", "throw"], profile="cpp", tests=["5\n"], job=job)
    assert r.run["status"] == "RE" and r.run["signal"] == 6
    assert "uncaught" in r.err()


def test_thread_bomb_is_bounded(sb):
    # c/cpp may create threads, but only up to the pids limit (procs + 63)
    job = sb.job([])
    (job / "box" / "tb.c").write_text(
        "#include <pthread.h>\n#include <stdio.h>\n#include <unistd.h>\n"
        "static void *f(void *a) { pause(); return a; }\n"
        "int main(void) { int n = 0; pthread_t t; pthread_attr_t at; pthread_attr_init(&at);\n"
        "  pthread_attr_setstacksize(&at, 65536);\n"
        "  while (n < 100000 && pthread_create(&t, &at, f, 0) == 0) n++;\n"
        "  printf(\"%d\\n\", n); return 0; }\n")
    r = compile_(sb, [*GCC, "-o", "tb", "tb.c", "-pthread"], [], job=job)
    assert r.run["status"] == "OK", r.err()
    r = sb.run(["./tb"], profile="c", tests=["\n"], job=job)
    assert r.run["status"] == "OK", (r.run, r.err())
    assert 1 <= int(r.out()) <= 100, r.out()
    assert wait_no_uid_processes(TEST_UID) == []
