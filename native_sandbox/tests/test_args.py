"""Command line (SPEC §6): errors are the helper's own (non-zero + message), --probe shape."""

from __future__ import annotations

import json
import subprocess

import pytest
from conftest import BIN, helper_env

BASE = ["--profile", "c", "--time-ms", "1000", "--wall-ms", "2000", "--memory-mb", "64", "--output-kb", "64"]


def run(args, **kw):
    return subprocess.run([str(BIN), *args], capture_output=True, text=True, env=helper_env(), timeout=30, **kw)


@pytest.mark.parametrize("args", [
    [],
    ["--profile", "rust", "--time-ms", "1", "--wall-ms", "1", "--memory-mb", "64", "--output-kb", "1",
     "--", "/bin/true"],
    BASE[:-2] + ["--", "/bin/true"],                       # missing --output-kb
    BASE + ["--time-ms", "abc", "--", "/bin/true"],
    BASE + ["--time-ms", "-5", "--", "/bin/true"],
    BASE + ["--parallel", "0", "--", "/bin/true"],
    BASE + ["--bogus", "1", "--", "/bin/true"],
    BASE + ["--env", "NOEQUALS", "--", "/bin/true"],
    BASE,                                                   # no program
    BASE + ["--tests", "/tmp", "--stdin", "/dev/null", "--", "/bin/true"],
    BASE + ["--time-ms"],
])
def test_bad_arguments(sandbox_bin, args):
    r = run(args)
    assert r.returncode != 0
    assert r.stderr.strip(), "a message on stderr"
    assert r.stdout == ""


def test_missing_program(sandbox_bin, tmp_path):
    (tmp_path / "box").mkdir()
    r = run(BASE + ["--workdir", str(tmp_path / "box"), "--", "./nope"])
    assert r.returncode != 0 and "nope" in r.stderr
    r = run(BASE + ["--workdir", str(tmp_path / "box"), "--", "no-such-binary-xyz"])
    assert r.returncode != 0 and "no-such-binary-xyz" in r.stderr


def test_missing_tests_dir(sandbox_bin, tmp_path):
    (tmp_path / "box").mkdir()
    r = run(BASE + ["--workdir", str(tmp_path / "box"), "--tests", str(tmp_path / "nope"), "--", "/bin/true"])
    assert r.returncode != 0 and "nope" in r.stderr


def test_missing_workdir(sandbox_bin, tmp_path):
    r = run(BASE + ["--workdir", str(tmp_path / "nope"), "--", "/bin/true"])
    assert r.returncode != 0 and "nope" in r.stderr


def test_unwritable_output(sandbox_bin, tmp_path):
    (tmp_path / "box").mkdir()
    r = run(BASE + ["--workdir", str(tmp_path / "box"), "--stdin", "/dev/null",
                    "--stdout", str(tmp_path / "no" / "such" / "dir" / "out"),
                    "--stderr", str(tmp_path / "err"), "--", "/bin/true"])
    assert r.returncode != 0 and "stdout" in r.stderr


def test_tests_dir_inside_workdir_refused(sandbox_bin, tmp_path):
    (tmp_path / "box" / "tests").mkdir(parents=True)
    (tmp_path / "box" / "tests" / "1.in").write_text("")
    r = run(BASE + ["--workdir", str(tmp_path / "box"), "--tests", str(tmp_path / "box" / "tests"), "--", "/bin/true"])
    assert r.returncode != 0 and "inside" in r.stderr


def test_system_workdir_refused(sandbox_bin):
    r = run(BASE + ["--profile", "compile", "--workdir", "/", "--", "/bin/true"])
    assert r.returncode != 0


def test_probe_shape(sandbox_bin):
    r = run(["--probe"])
    assert r.returncode == 0, r.stderr
    p = json.loads(r.stdout)
    assert isinstance(p["root"], bool)
    assert set(p["namespaces"]) >= {"net", "pid", "mount", "ipc", "uts", "user"}
    assert all(isinstance(v, bool) for v in p["namespaces"].values())
    assert p["cgroup"] in ("v1", "v2", "none")
    assert isinstance(p["seccomp"], bool) and isinstance(p["uid_switch"], bool)
    assert p["level"] in ("full", "partial", "minimal")


def test_zero_tests_prints_empty_array(sandbox_bin, tmp_path):
    (tmp_path / "box").mkdir()
    (tmp_path / "tests").mkdir()
    r = run(BASE + ["--workdir", str(tmp_path / "box"), "--tests", str(tmp_path / "tests"), "--", "/bin/true"])
    assert r.returncode == 0 and json.loads(r.stdout) == []


def test_json_shape_and_order(sb, isolated):
    r = sb.run(["./hostile", "echo"], tests=[f"{i} {i}\n" for i in range(1, 8)], parallel=2)
    assert [x["test"] for x in r.runs] == list(range(1, 8))
    keys = {"test", "status", "exit_code", "signal", "cpu_ms", "wall_ms", "memory_kb", "stdout_bytes", "stderr_bytes"}
    for i, x in enumerate(r.runs, 1):
        assert keys <= set(x)
        assert x["status"] == "OK", x
        assert r.out(i) == f"{2 * i}\n"
        assert x["stdout_bytes"] == len(r.out(i))


def test_progress_lines_on_stderr_only_when_asked(sb, isolated):
    tests = [f"{i} {i}\n" for i in range(1, 6)]
    quiet = sb.run(["./hostile", "echo"], tests=tests, parallel=2)
    assert "progress" not in quiet.stderr
    r = sb.run(["./hostile", "echo"], tests=tests, parallel=2, extra=["--progress"])
    lines = [line for line in r.stderr.splitlines() if line.startswith("sandbox: progress ")]
    assert lines == [f"sandbox: progress {n}/5" for n in range(1, 6)]  # one per finished run, in order
    assert [x["status"] for x in r.runs] == ["OK"] * 5  # stdout is the same JSON


def test_single_run_object(sb, isolated):
    r = sb.run(["./hostile", "echo"], stdin="20 22\n")
    assert r.run["status"] == "OK" and r.run["test"] == 1
    assert (r.job / "out").read_text() == "42\n"
    assert json.loads(r.stdout)["test"] == 1


def test_env_only_given(sb, isolated):
    r = sb.run(["./hostile", "environ"], env=["FOO=bar", "HOME=/tmp"])
    envs = sorted(line[4:] for line in r.out().splitlines() if line.startswith("ENV "))
    assert envs == ["FOO=bar", "HOME=/tmp", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]


def test_stdout_and_stderr_same_file(sb, isolated):
    job = sb.job(["hostile"])
    (job / "in").write_text("")
    import subprocess as sp

    from conftest import BIN, helper_env
    p = sp.run([str(BIN), "--profile", "c", "--time-ms", "1000", "--wall-ms", "2000", "--memory-mb", "64",
                "--output-kb", "64", "--workdir", str(job / "box"), "--stdin", str(job / "in"),
                "--stdout", str(job / "both"), "--stderr", str(job / "both"), "--", "./hostile", "segv"],
               capture_output=True, text=True, env=helper_env())
    assert p.returncode == 0, p.stderr
    run = json.loads(p.stdout)
    assert run["status"] == "RE" and run["signal"] == 11
    assert (job / "both").exists()


def test_default_stdin_stdout(sb, isolated):
    # no --stdin/--stdout/--stderr: stdin is /dev/null, output counted but discarded
    job = sb.job(["hostile"])
    import subprocess as sp

    from conftest import BIN, helper_env
    p = sp.run([str(BIN), "--profile", "c", "--time-ms", "1000", "--wall-ms", "2000", "--memory-mb", "64",
                "--output-kb", "8", "--workdir", str(job / "box"), "--", "./hostile", "flood"],
               capture_output=True, text=True, env=helper_env())
    assert p.returncode == 0, p.stderr
    run = json.loads(p.stdout)
    assert run["status"] == "OLE" and run["stdout_bytes"] <= 8 * 1024


def test_symlinked_program_in_workdir_refused(sandbox_bin, tmp_path):
    (tmp_path / "box").mkdir()
    (tmp_path / "box" / "main").symlink_to("/bin/true")
    r = run(BASE + ["--workdir", str(tmp_path / "box"), "--", "./main"])
    assert r.returncode != 0 and "symlink" in r.stderr


def test_single_run_files_inside_workdir_refused(sandbox_bin, tmp_path):
    (tmp_path / "box").mkdir()
    r = run(BASE + ["--workdir", str(tmp_path / "box"), "--stdin", "/dev/null",
                    "--stdout", str(tmp_path / "box" / "out"), "--stderr", str(tmp_path / "err"), "--", "/bin/true"])
    assert r.returncode != 0 and "inside the workdir" in r.stderr
    assert not (tmp_path / "box" / "out").exists()
