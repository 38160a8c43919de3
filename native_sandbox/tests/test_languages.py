"""Java and Python profiles: threads work; new processes and sockets are SV; memory
exhaustion is MLE (the helper recognises OutOfMemoryError / MemoryError on stderr)."""

from __future__ import annotations

import time

import pytest
from conftest import TEST_UID, wait_no_uid_processes
from test_hostile import listener  # noqa: F401  (fixture)

pytestmark = pytest.mark.usefixtures("isolated")

JAVA = ["/usr/bin/java", "-Xss64m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xshare:auto",
        "-XX:-UsePerfData", "-cp", "."]
PY = ["/usr/bin/python3", "-B", "-s"]
JFILES = ["Threads.class", "Exec.class", "Sock.class", "Oom.class"]


def java(sb, cls, *args, memory_mb=256, **kw):
    return sb.run([JAVA[0], f"-Xmx{memory_mb}m", *JAVA[1:], cls, *args], profile="java", files=JFILES,
                  memory_mb=memory_mb, procs=64, time_ms=kw.pop("time_ms", 5000),
                  wall_ms=kw.pop("wall_ms", 10000), **kw)


def python(sb, script, *args, **kw):
    return sb.run([*PY, script, *args], profile="python", files=[script], env=["HOME=/tmp"], **kw)


def test_java_threads(sb):
    r = java(sb, "Threads")
    assert r.run["status"] == "OK", (r.run, r.err())
    assert r.out() == "threads ok 28\n"


def test_java_runtime_exec_is_sv(sb, tmp_path):
    marker = tmp_path / "marker"
    r = java(sb, "Exec", str(marker))
    assert r.run["status"] == "SV", (r.run, r.err())
    assert not marker.exists()


def test_java_socket_is_sv(sb, listener):  # noqa: F811
    port, accepted = listener
    r = java(sb, "Sock", str(port))
    assert r.run["status"] == "SV", (r.run, r.err())
    time.sleep(0.3)
    assert accepted == []


def test_java_heap_exhaustion_is_mle(sb):
    # -Xmx = --memory-mb; the cgroup gets the JVM headroom on top, so the heap runs out first:
    # OutOfMemoryError on stderr, exit 1 -> the helper reports MLE.
    r = java(sb, "Oom", memory_mb=64)
    assert r.run["status"] == "MLE", (r.run, r.err())
    assert "OutOfMemoryError" in r.err()


def test_java_parallel_tests(sb):
    r = java(sb, "Threads", tests=["\n"] * 4, parallel=2)
    assert [x["status"] for x in r.runs] == ["OK"] * 4


def test_python_threads(sb):
    r = python(sb, "threads.py")
    assert r.run["status"] == "OK", (r.run, r.err())
    assert r.out() == "threads ok 28\n"


def test_python_subprocess_is_sv(sb, tmp_path):
    marker = tmp_path / "marker"
    r = python(sb, "subproc.py", str(marker))
    assert r.run["status"] == "SV", (r.run, r.err())
    assert not marker.exists()


def test_python_socket_is_sv(sb, listener):  # noqa: F811
    port, accepted = listener
    r = python(sb, "sock.py", str(port))
    assert r.run["status"] == "SV", (r.run, r.err())
    time.sleep(0.3)
    assert accepted == []


def test_python_memory_is_mle(sb):
    r = python(sb, "memerr.py", memory_mb=64)
    assert r.run["status"] == "MLE", (r.run, r.err())


def test_python_deep_recursion(sb):
    r = python(sb, "recurse.py", memory_mb=256)
    assert r.run["status"] == "OK", (r.run, r.err())
    assert r.out() == "100000\n"


def test_no_leftover_processes(sb):
    assert wait_no_uid_processes(TEST_UID) == []
