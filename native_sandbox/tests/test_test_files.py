"""--test-files DIR: test N's runs see DIR/N at /judge, read-only, nosuid/nodev/noexec, and
nothing else of DIR; without the option there is no /judge.  Used for checkers:
`sandbox --profile checker --tests T --test-files J -- ./checker /judge/input /judge/output /judge/answer`."""

from __future__ import annotations

import os
import shutil

import pytest
from native_programs import compiled

pytestmark = pytest.mark.usefixtures("isolated")

FILES = ("input", "output", "answer")


def judge_job(sb, progs, tests: list[dict[str, str]]):
    """A job with box/ (the checker's), tests/ (N.in) and judge/N/{input,output,answer}, all
    world-writable: only the mount can keep the run from writing them."""
    compiled(progs, "checker")
    job = sb.job(["checker", "checker.py", "hostile"])
    for n, files in enumerate(tests, 1):
        d = job / "judge" / str(n)
        d.mkdir(parents=True)
        os.chmod(d, 0o777)
        for name, text in files.items():
            (d / name).write_text(text)
            os.chmod(d / name, 0o666)
    os.chmod(job / "judge", 0o755)
    return job


def run_checker(sb, job, argv, n, **kw):
    return sb.run(argv, profile="checker", job=job, tests=[""] * n, memory_mb=512, wall_ms=10000,
                  extra=["--test-files", str(job / "judge")], **kw)


def probe_lines(out: str) -> dict[str, str]:
    return {ln.split(" read: ")[0]: ln.split(" read: ")[1] for ln in out.splitlines() if " read: " in ln}


@pytest.mark.parametrize("parallel", [1, 2])
def test_a_checker_judges_from_its_own_judge_dir(sb, progs, parallel):
    tests = [{"input": "1 2\n", "output": "3\n", "answer": "3\n"},
             {"input": "2 2\n", "output": "5\n", "answer": "4\n"},
             {"input": "5 5\n", "output": "10\n", "answer": "10\n"}]
    job = judge_job(sb, progs, tests)
    for argv in (["./checker"], ["/usr/bin/python3", "-B", "checker.py"]):
        r = run_checker(sb, job, [*argv, "/judge/input", "/judge/output", "/judge/answer"], 3, parallel=parallel)
        assert [(x["status"], x["exit_code"]) for x in r.runs] == [("OK", 0), ("RE", 1), ("OK", 0)], r.runs
        assert "wrong answer" in r.err(2) and "5" in r.err(2), r.err(2)


def test_judge_files_are_read_only_and_only_the_tests_own(sb, progs):
    tests = [{name: f"{name} of test {n}\n" for name in FILES} for n in (1, 2)]
    job = judge_job(sb, progs, tests)
    host_other = str(job / "judge" / "2" / "input")
    r = run_checker(sb, job, ["./checker", "--probe", "/judge/input", "/judge/output", "/judge/answer",
                              "/judge/../2/input", host_other, str(job / "judge"), "/.codepipe/test-files/2/input"], 2)
    assert [x["status"] for x in r.runs] == ["OK", "OK"], r.runs
    for n in (1, 2):
        seen = probe_lines(r.out(n))
        for name in FILES:
            assert seen[f"/judge/{name}"] == f"ok [{name} of test {n}], write: Read-only file system", seen
        assert seen["/judge/../2/input"].startswith("No such file or directory"), seen
        assert seen[host_other].startswith("No such file or directory"), seen
        assert seen[str(job / "judge")].startswith("No such file or directory"), seen
        # the staged DIR the keepers bind from: a mode-0000 directory no sandboxed uid enters
        assert seen["/.codepipe/test-files/2/input"].startswith("Permission denied"), seen
    r = run_checker(sb, job, ["./hostile", "write", "/judge/new", "/judge/input"], 2)
    assert r.out(1) == "/judge/new: Read-only file system\n/judge/input: Read-only file system\n", r.out(1)
    for n in (1, 2):       # nothing was written to the host's files
        assert sorted(p.name for p in (job / "judge" / str(n)).iterdir()) == sorted(FILES)
        assert (job / "judge" / str(n) / "output").read_text() == f"output of test {n}\n"


def test_judge_mount_is_ro_nosuid_nodev_noexec(sb, progs):
    job = judge_job(sb, progs, [{"input": "x\n"}])
    r = run_checker(sb, job, ["./hostile", "cat", "/proc/self/mountinfo"], 1)
    lines = [ln for ln in r.out().splitlines() if ln.split()[4] == "/judge"]
    assert len(lines) == 1, r.out()
    opts = set(lines[0].split()[5].split(","))
    assert {"ro", "nosuid", "nodev", "noexec"} <= opts, lines


def test_no_judge_dir_without_the_option(sb, progs):
    job = judge_job(sb, progs, [{"input": "x\n"}])
    r = sb.run(["./checker", "--probe", "/judge", "/judge/input"], profile="checker", job=job, tests=[""])
    seen = probe_lines(r.out())
    assert seen["/judge"].startswith("No such file or directory"), seen
    assert seen["/judge/input"].startswith("No such file or directory"), seen


def test_symlinks_are_not_followed_to_the_host(sb, progs, tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("host secret\n")
    os.chmod(tmp_path, 0o755)
    os.chmod(secret, 0o644)
    job = judge_job(sb, progs, [{"answer": "fine\n"}, {}, {}])
    d1 = job / "judge" / "1"
    os.symlink(str(secret), d1 / "input")                       # absolute, to a host file
    os.symlink(os.path.relpath(secret, d1), d1 / "output")      # relative, up and out of DIR/1
    shutil.rmtree(job / "judge" / "2")
    os.symlink(str(job / "judge" / "1"), job / "judge" / "2")   # DIR/2 itself a link
    shutil.rmtree(job / "judge" / "3")
    os.symlink(str(tmp_path), job / "judge" / "3")              # to a host dir holding the secret
    r = run_checker(sb, job, ["./checker", "--probe", "/judge/input", "/judge/output", "/judge/answer",
                              "/judge/secret.txt"], 3)
    assert r.runs[0]["status"] == "OK", r.runs
    seen = probe_lines(r.out(1))
    assert seen["/judge/answer"].startswith("ok [fine]"), seen
    assert seen["/judge/input"].startswith("No such file or directory"), seen
    assert seen["/judge/output"].startswith("No such file or directory"), seen
    for n in (2, 3):
        assert r.runs[n - 1]["status"] == "IE", r.runs
        assert r.runs[n - 1]["message"] == f"test files {n}: not a directory, or a symlink (refused)", r.runs
    assert "host secret" not in r.all_output()


def test_a_missing_test_dir_is_ie(sb, progs):
    job = judge_job(sb, progs, [{"input": "x\n"}])
    r = run_checker(sb, job, ["./checker", "--probe", "/judge/input"], 2)
    assert r.runs[0]["status"] == "OK", r.runs
    assert r.runs[1]["status"] == "IE" and r.runs[1]["message"] == "test files 2: No such file or directory", r.runs


def test_option_errors(sb, progs):
    job = judge_job(sb, progs, [{"input": "x\n"}])
    r = sb.run(["./checker"], profile="checker", job=job, extra=["--test-files", str(job / "judge")], expect_ok=False)
    assert r.rc == 2 and "--test-files needs --tests" in r.stderr, r.stderr
    r = sb.run(["./checker"], profile="checker", job=job, tests=[""], expect_ok=False,
               extra=["--test-files", str(job / "box")])
    assert r.rc == 1 and "must not be inside the workdir" in r.stderr, r.stderr
    r = sb.run(["./checker"], profile="checker", job=job, tests=[""], expect_ok=False,
               extra=["--test-files", str(job / "nowhere")])
    assert r.rc == 1 and "test files dir" in r.stderr, r.stderr
