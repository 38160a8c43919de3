"""Run profiles: the workdir is a per-run copy-on-write overlay (lower = the real workdir, upper
on a size-limited tmpfs of the run).  Writes work, are private to the run, vanish with it, and
never reach the host's workdir; no mount is left behind."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import pytest
from conftest import BIN, TEST_UID, _preexec, helper_env, probe

pytestmark = pytest.mark.usefixtures("isolated")

NOBODY = 65534


def snapshot(root: Path) -> dict[str, tuple]:
    """lstat + content hash (or link target) of root and everything below it."""
    out = {}
    for p in [root, *sorted(root.rglob("*"))]:
        st = p.lstat()
        if stat.S_ISLNK(st.st_mode):
            extra = os.readlink(p)
        elif stat.S_ISREG(st.st_mode):
            extra = hashlib.sha256(p.read_bytes()).hexdigest()
        else:
            extra = ""
        out[str(p.relative_to(root))] = (st.st_mode, st.st_uid, st.st_gid, st.st_size, st.st_ino, st.st_nlink,
                                         st.st_mtime_ns, st.st_ctime_ns, extra)
    return out


def our_mounts(*needles: str) -> list[str]:
    lines = Path("/proc/self/mountinfo").read_text().splitlines()
    return [line for line in lines if any(n in line for n in ("codepipe", *needles))]


def fnv(data: bytes) -> str:
    h = 1469598103934665603
    for b in data:
        h = ((h ^ b) * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def listing(out: str) -> list[str]:
    line = next(x for x in out.splitlines() if x.startswith("ls:"))
    return sorted(line.split()[1:])


@pytest.fixture(params=["tmp", "var_tmp"])
def cow_job(request, sb, progs):
    """A job whose box holds the compiled program as `main` (owned by the sandbox uid, as the
    compile step leaves it), a sandbox-uid data file and a root-owned one.  Under /tmp (the
    workdir is re-mounted after the run's private /tmp) and elsewhere."""
    if request.param == "tmp":
        job = sb.job([])
        cleanup = None
    else:
        cleanup = Path(tempfile.mkdtemp(prefix="codepipe-cow-", dir="/var/tmp"))
        os.chmod(cleanup, 0o755)
        job = cleanup / "job"
        (job / "box").mkdir(parents=True)
        (job / "tests").mkdir()
    box = job / "box"
    os.chmod(box, 0o755)
    shutil.copy2(progs / "hostile", box / "main")
    os.chmod(box / "main", 0o755)
    (box / "data.txt").write_text("precious data\n")
    (box / "root.txt").write_text("root only\n")
    os.chown(box / "main", TEST_UID, TEST_UID)
    os.chown(box / "data.txt", TEST_UID, TEST_UID)
    yield job
    if cleanup:
        shutil.rmtree(cleanup, ignore_errors=True)


@pytest.mark.parametrize("parallel", [1, 2])
def test_runs_vandalising_the_workdir_do_not_see_each_other(sb, cow_job, parallel):
    box = cow_job / "box"
    before = snapshot(box)
    mounts_before = our_mounts(str(box))
    main_fnv = fnv((box / "main").read_bytes())
    r = sb.run(["./main", "cow", "main", "data.txt", "root.txt"], tests=[f"{i}\n" for i in (1, 2, 3)],
               parallel=parallel, job=cow_job, files=[])
    assert [x["status"] for x in r.runs] == ["OK"] * 3, (r.runs, r.stderr)
    for i in (1, 2, 3):
        out = r.out(i)
        # every run starts from the original workdir: no out.txt, links, sub/ of another run
        assert listing(out) == ["data.txt:f", "main:f", "root.txt:f"], out
        assert f"prog: {(box / 'main').stat().st_size} {main_fnv}" in out, out
        assert f"readback: run {i}\n" in out
        assert "overwrite data.txt: ok" in out                 # copy-up of a sandbox-uid file
        assert "overwrite root.txt: Permission denied" in out  # files keep their owner/mode
        assert "rename over main: ok" in out and "unlink main: ok" in out
        for link in ("x", "1.out", "main"):
            assert f"symlink {link} -> /etc/passwd: ok" in out, out
        assert "mkdir sub: ok" in out and "chmod .: ok" in out
    # the host's workdir is byte-for-byte (and inode-for-inode) what it was
    assert snapshot(box) == before
    assert (box / "data.txt").read_text() == "precious data\n"
    # the judge's files: regular files only, nothing planted
    names = sorted(p.name for p in (cow_job / "tests").iterdir())
    assert names == sorted(f"{i}.{s}" for i in (1, 2, 3) for s in ("in", "out", "err"))
    assert not any(p.is_symlink() for p in (cow_job / "tests").iterdir())
    # no mount left on the host
    assert our_mounts(str(box)) == mounts_before == []


def test_program_writes_and_reads_a_file_in_its_cwd(sb):
    job = sb.job([])
    (job / "box" / "main.py").write_text(
        "import os\n"
        "open('out.txt', 'w').write(input() + '\\n')\n"
        "os.makedirs('d/e', exist_ok=True)\n"
        "open('d/e/f', 'w').write('deep')\n"
        "print(open('out.txt').read().strip(), open('d/e/f').read(), sorted(os.listdir('.')))\n")
    before = snapshot(job / "box")
    r = sb.run(["/usr/bin/python3", "-B", "main.py"], profile="python", tests=["first\n", "second\n"], job=job)
    assert [x["status"] for x in r.runs] == ["OK", "OK"], r.runs
    assert r.out(1) == "first deep ['d', 'main.py', 'out.txt']\n"
    assert r.out(2) == "second deep ['d', 'main.py', 'out.txt']\n"
    assert snapshot(job / "box") == before


def test_filling_the_overlay_fails_inside_the_run(sb):
    job = sb.job(["hostile"])
    before = snapshot(job / "box")
    # 512 KB files (below RLIMIT_FSIZE) until something says no; the memory cgroup and the
    # tmpfs size (= --memory-mb) are both at 64 MB: ENOSPC / ENOMEM -> RE, or an OOM kill -> MLE
    r = sb.run(["./hostile", "fill", "512"], tests=["\n", "\n"], memory_mb=64, output_kb=1024, job=job,
               wall_ms=20000, time_ms=10000)
    for i, x in enumerate(r.runs, 1):
        assert x["status"] in ("RE", "MLE"), r.runs
        if x["status"] == "RE":
            assert "No space left on device" in r.out(i) or "Cannot allocate memory" in r.out(i), r.out(i)
    assert snapshot(job / "box") == before
    assert our_mounts(str(job / "box")) == []


def test_overlay_size_is_the_wall_without_cgroups(sb):
    job = sb.job(["hostile"])
    before = snapshot(job / "box")
    r = sb.run(["./hostile", "fill", "512"], tests=["\n", "\n"], memory_mb=32, output_kb=1024, job=job,
               wall_ms=20000, time_ms=10000, helper_extra_env={"CODEPIPE_SANDBOX_NO_CGROUP": "1"})
    for i, x in enumerate(r.runs, 1):
        assert x["status"] == "RE", r.runs
        out = r.out(i)
        assert "write: No space left on device" in out, out
        kb = int(out.split()[1])
        assert 30 * 1024 <= kb <= 32 * 1024, out     # each run has its own 32 MB, not more
    assert snapshot(job / "box") == before


def test_probe_reports_the_workdir_mode():
    assert probe()["workdir"] == "overlay"
    out = subprocess.run([str(BIN), "--probe"], capture_output=True, text=True, check=True,
                         env=helper_env({"CODEPIPE_SANDBOX_NO_OVERLAY": "1"}), preexec_fn=_preexec).stdout
    assert json.loads(out)["workdir"] == "readonly"


def test_fallback_is_the_read_only_workdir(sb):
    job = sb.job(["hostile"])
    before = snapshot(job / "box")
    r = sb.run(["./hostile", "write", str(job / "box" / "new"), "/tmp/ok"], job=job, tests=["\n", "\n"],
               helper_extra_env={"CODEPIPE_SANDBOX_NO_OVERLAY": "1", "CODEPIPE_SANDBOX_TRACE": "1"})
    assert [x["status"] for x in r.runs] == ["OK", "OK"]
    assert "Read-only file system" in r.out(1) and "/tmp/ok: created" in r.out(1)
    assert "workdir readonly" in r.stderr
    assert snapshot(job / "box") == before


def test_compile_profile_keeps_the_real_workdir(sb):
    job = sb.job(["hostile"])
    r = sb.run(["./hostile", "write", str(job / "box" / "a.out")], profile="compile", job=job)
    assert r.run["status"] == "OK"
    assert (job / "box" / "a.out").read_text() == "escaped\n"


def as_nobody() -> None:
    _preexec()
    os.setgroups([])
    os.setgid(NOBODY)
    os.setuid(NOBODY)


def test_unprivileged_user_namespace_mode(progs):
    """Not root: overlay inside the user namespace if the kernel allows it, else read-only; the
    probe says which, and either way the host's workdir is untouched."""
    d = Path(tempfile.mkdtemp(prefix="codepipe-cow-userns-", dir="/var/tmp"))
    try:
        os.chmod(d, 0o755)
        for sub in ("box", "tests"):
            (d / sub).mkdir()
            os.chmod(d / sub, 0o777)
        shutil.copy2(progs / "hostile", d / "box" / "hostile")
        os.chmod(d / "box" / "hostile", 0o755)
        for i in (1, 2):
            (d / "tests" / f"{i}.in").write_text("\n")
        pr = subprocess.run([str(BIN), "--probe"], capture_output=True, text=True, check=True, env=helper_env(),
                            preexec_fn=as_nobody)
        mode = json.loads(pr.stdout)["workdir"]
        assert mode in ("overlay", "readonly")
        before = snapshot(d / "box")
        cmd = [str(BIN), "--profile", "c", "--time-ms", "1000", "--wall-ms", "3000", "--memory-mb", "64",
               "--output-kb", "64", "--parallel", "2", "--workdir", str(d / "box"), "--tests", str(d / "tests"),
               "--", "./hostile", "write", str(d / "box" / "new"), str(d / "box" / "hostile")]
        p = subprocess.run(cmd, capture_output=True, text=True, env=helper_env(), preexec_fn=as_nobody, timeout=60)
        assert p.returncode == 0, p.stderr
        assert [x["status"] for x in json.loads(p.stdout)] == ["OK", "OK"]
        out = (d / "tests" / "1.out").read_text()
        if mode == "overlay":
            assert f"{d / 'box' / 'new'}: created" in out, out
        else:
            assert "Read-only file system" in out, out
        assert snapshot(d / "box") == before
        assert our_mounts(str(d)) == []
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux unshare")
def test_kernel_refusing_the_overlay_falls_back_to_read_only(progs):
    """A workdir that already is an overlay of an overlay: one more layer exceeds the kernel's
    stacking depth and the mount is refused (EINVAL).  The runs still work, read-only, with one
    warning.  The host-side overlays live in a private mount namespace of `unshare -m`."""
    d = Path(tempfile.mkdtemp(prefix="codepipe-cow-nested-", dir="/var/tmp"))
    try:
        os.chmod(d, 0o755)
        for sub in ("l", "u1", "w1", "m1", "u2", "w2", "job/box", "job/tests"):
            (d / sub).mkdir(parents=True)
            os.chmod(d / sub, 0o755)
        shutil.copy2(progs / "hostile", d / "l" / "hostile")
        for i in (1, 2, 3):
            (d / "job" / "tests" / f"{i}.in").write_text("\n")
        box = d / "job" / "box"
        cmd = [str(BIN), "--profile", "c", "--time-ms", "1000", "--wall-ms", "3000", "--memory-mb", "64",
               "--output-kb", "64", "--workdir", str(box), "--tests", str(d / "job" / "tests"),
               "--", "./hostile", "write", str(box / "new")]
        script = (f"mount -t overlay o1 -o lowerdir={d}/l,upperdir={d}/u1,workdir={d}/w1 {d}/m1 && "
                  f"mount -t overlay o2 -o lowerdir={d}/m1,upperdir={d}/u2,workdir={d}/w2 {box} && "
                  f"exec {' '.join(cmd)}")
        p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh", "-c", script], capture_output=True,
                           text=True, env=helper_env(), preexec_fn=_preexec, timeout=60)
        assert p.returncode == 0, p.stderr
        assert [x["status"] for x in json.loads(p.stdout)] == ["OK"] * 3
        assert p.stderr.count("overlayfs refused for the workdir") == 1, p.stderr
        for i in (1, 2, 3):
            assert "Read-only file system" in (d / "job" / "tests" / f"{i}.out").read_text()
        assert list((d / "u2").iterdir()) == [] and not (d / "l" / "new").exists()
        assert our_mounts(str(d)) == []
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("parallel", [1, 2])
def test_files_written_count_as_memory_of_their_own_run_only(sb, parallel):
    # 100 MB of files per run under a 160 MB limit: the previous run of the same cgroup set must
    # be gone (namespace, tmpfs pages uncharged) before the next one starts, so every run fits
    # and reports its own ~100 MB
    r = sb.run(["./hostile", "fill", "512", "100"], tests=["\n"] * 5, parallel=parallel, memory_mb=160,
               time_ms=5000, wall_ms=10000)
    assert [x["status"] for x in r.runs] == ["OK"] * 5, r.runs
    # The memory cgroup charges in per-CPU batches of 64 pages: a run may use up to 256 KB per
    # CPU that was charged (and counted in the baseline) before it started. Seen: 102335 KB
    # reported for a 102400 KB file.
    slack_kb = 256 * (os.cpu_count() or 1)
    assert all(100 * 1024 - slack_kb <= x["memory_kb"] <= 110 * 1024 for x in r.runs), [x["memory_kb"] for x in r.runs]
    assert all(r.out(i) == "fill: 102400 KB: no error\n" for i in range(1, 6))
