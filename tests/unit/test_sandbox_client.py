"""The sandbox client (shared/sandbox.py): command line per SPEC §6, JSON parsing, errors.
The last tests run the real helper when it has been built."""

from __future__ import annotations

import json
import os
import stat
import textwrap
import time
from pathlib import Path

import pytest

from shared.models import ResolvedLimits
from shared.sandbox import Interactor, Sandbox, SandboxError, build_command, parse_runs, parse_single
from shared.settings import get_settings

LIMITS = ResolvedLimits(time_ms=2000, wall_ms=5000, memory_mb=256, output_kb=1024)

RUN = {
    "test": 1, "status": "OK", "exit_code": 0, "signal": 0, "cpu_ms": 1, "wall_ms": 3,
    "memory_kb": 1432, "stdout_bytes": 2, "stderr_bytes": 0,
}


class TestBuildCommand:
    def test_tests_mode_matches_the_spec(self) -> None:
        cmd = build_command(
            "/sb", profile="cpp", limits=LIMITS, argv=["./main"], procs=1, parallel=2,
            workdir="/w/box", env={"LANG": "C.UTF-8", "HOME": "/tmp"}, tests_dir="/w/tests",
        )
        assert cmd == [
            "/sb", "--profile", "cpp", "--time-ms", "2000", "--wall-ms", "5000", "--memory-mb", "256",
            "--output-kb", "1024", "--procs", "1", "--parallel", "2", "--workdir", "/w/box",
            "--env", "LANG=C.UTF-8", "--env", "HOME=/tmp", "--tests", "/w/tests", "--", "./main",
        ]

    def test_single_mode(self) -> None:
        cmd = build_command(
            Path("/sb"), profile="compile", limits=LIMITS, argv=["/usr/bin/gcc", "-o", "main", "main.c"],
            procs=64, workdir=Path("/w/box"), stdin="/dev/null", stdout=Path("/w/compile/out"),
            stderr=Path("/w/compile/err"),
        )
        assert cmd[cmd.index("--stdin") + 1] == "/dev/null"
        assert cmd[cmd.index("--stdout") + 1] == "/w/compile/out"
        assert cmd[cmd.index("--stderr") + 1] == "/w/compile/err"
        assert "--tests" not in cmd and "--parallel" not in cmd
        # The program's argv comes after "--", untouched (even if it looks like an option).
        assert cmd[cmd.index("--") + 1:] == ["/usr/bin/gcc", "-o", "main", "main.c"]

    def test_program_args_that_look_like_options_stay_after_the_separator(self) -> None:
        cmd = build_command("/sb", profile="c", limits=LIMITS, argv=["./main", "--profile", "x"],
                            tests_dir="/t")
        assert cmd[-4:] == ["--", "./main", "--profile", "x"]

    def test_optional_flags_omitted(self) -> None:
        cmd = build_command("/sb", profile="c", limits=LIMITS, argv=["./main"], tests_dir="/t")
        for flag in ("--procs", "--parallel", "--workdir", "--env"):
            assert flag not in cmd

    def test_exclusive_io_modes(self) -> None:
        with pytest.raises(ValueError):
            build_command("/sb", profile="c", limits=LIMITS, argv=["x"], tests_dir="/t", stdin="/dev/null")
        with pytest.raises(ValueError):
            build_command("/sb", profile="c", limits=LIMITS, argv=["x"], stdin="/dev/null")
        with pytest.raises(ValueError):
            build_command("/sb", profile="c", limits=LIMITS, argv=[], tests_dir="/t")

    @pytest.mark.parametrize("key", ["", "A=B", "A\0"])
    def test_bad_env(self, key: str) -> None:
        with pytest.raises(ValueError):
            build_command("/sb", profile="c", limits=LIMITS, argv=["x"], tests_dir="/t", env={key: "v"})


class TestParse:
    def test_array(self) -> None:
        doc = json.dumps([RUN, {**RUN, "test": 2, "status": "TLE", "cpu_ms": 2001}])
        runs = parse_runs(doc, 2)
        assert [r.status for r in runs] == ["OK", "TLE"]
        assert runs[0].memory_kb == 1432 and runs[1].cpu_ms == 2001

    def test_bytes_and_extra_fields(self) -> None:
        runs = parse_runs(json.dumps([{**RUN, "message": "hi", "future_field": 1}]).encode(), 1)
        assert runs[0].message == "hi"

    def test_signal_run(self) -> None:
        run = parse_single(json.dumps({**RUN, "status": "RE", "exit_code": 0, "signal": 11}))
        assert run.status == "RE" and run.signal == 11

    @pytest.mark.parametrize(
        "doc",
        [
            "", "not json", "{}", json.dumps(RUN),
            json.dumps([{**RUN, "status": "MAYBE"}]),
            json.dumps([{**RUN, "test": 2}]),
            json.dumps([RUN, RUN]),
            json.dumps([{k: v for k, v in RUN.items() if k != "status"}]),
        ],
    )
    def test_contract_violations_are_sandbox_errors(self, doc: str) -> None:
        with pytest.raises(SandboxError):
            parse_runs(doc, 1 if doc != json.dumps([RUN, RUN]) else 2)

    def test_wrong_count(self) -> None:
        with pytest.raises(SandboxError):
            parse_runs(json.dumps([RUN]), 2)

    def test_single(self) -> None:
        assert parse_single(json.dumps(RUN)).status == "OK"
        assert parse_single(json.dumps([RUN])).status == "OK"
        with pytest.raises(SandboxError):
            parse_single("[]")
        with pytest.raises(SandboxError):
            parse_single("garbage")


def _fake_helper(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "fake-sandbox"
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


class TestInvoke:
    def test_missing_binary(self, tmp_path: Path) -> None:
        with pytest.raises(SandboxError, match="missing"):
            Sandbox(tmp_path / "nope").run_single(
                profile="c", limits=LIMITS, argv=["x"], stdin="/dev/null", stdout=tmp_path / "o",
                stderr=tmp_path / "e", workdir=tmp_path,
            )

    def test_nonzero_exit_is_an_error_with_its_message(self, tmp_path: Path) -> None:
        helper = _fake_helper(tmp_path, 'echo "no such program" >&2; exit 2\n')
        with pytest.raises(SandboxError, match="no such program"):
            Sandbox(helper).run_tests(profile="c", limits=LIMITS, argv=["x"], tests_dir=tmp_path, count=1,
                                      workdir=tmp_path, parallel=1)

    def test_parses_helper_stdout(self, tmp_path: Path) -> None:
        doc = json.dumps([RUN, {**RUN, "test": 2}])
        helper = _fake_helper(tmp_path, f"cat <<'EOF'\n{doc}\nEOF\n")
        runs = Sandbox(helper).run_tests(profile="c", limits=LIMITS, argv=["x"], tests_dir=tmp_path, count=2,
                                         workdir=tmp_path, parallel=2)
        assert [r.test for r in runs] == [1, 2]

    def test_results_are_taken_when_stdout_closes_not_at_exit(self, tmp_path: Path) -> None:
        """The helper closes stdout once its results are final and tears down afterwards; the
        client returns with the results while the helper is still busy, and reaps it later."""
        doc = json.dumps(RUN)
        done = tmp_path / "teardown-done"
        helper = _fake_helper(tmp_path, f"printf '%s\\n' '{doc}'\nexec >&-\nsleep 3\ntouch {done}\n")
        run = Sandbox(helper).run_single(profile="c", limits=LIMITS, argv=["x"], stdin="/dev/null",
                                         stdout=tmp_path / "o", stderr=tmp_path / "e", workdir=tmp_path)
        assert run.memory_kb == 1432
        assert not done.exists()  # returned before the teardown finished
        deadline = time.monotonic() + 30
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert done.exists()

    def test_failure_after_partial_output_reports_the_exit(self, tmp_path: Path) -> None:
        helper = _fake_helper(tmp_path, "printf '[{\"test\": 1,'\necho 'helper crashed' >&2\nexit 3\n")
        with pytest.raises(SandboxError, match="exited 3: helper crashed"):
            Sandbox(helper).run_tests(profile="c", limits=LIMITS, argv=["x"], tests_dir=tmp_path, count=1,
                                      workdir=tmp_path, parallel=1)

    def test_hung_helper_is_killed_at_the_deadline(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(Sandbox, "_timeout", staticmethod(lambda *_: 0.5))
        helper = _fake_helper(tmp_path, "sleep 30\n")
        with pytest.raises(SandboxError, match="did not finish"):
            Sandbox(helper).run_tests(profile="c", limits=LIMITS, argv=["x"], tests_dir=tmp_path, count=1,
                                      workdir=tmp_path, parallel=1)

    def test_progress_lines_feed_the_callback_and_stay_out_of_errors(self, tmp_path: Path) -> None:
        doc = json.dumps([RUN, {**RUN, "test": 2}])
        args = tmp_path / "args"
        helper = _fake_helper(tmp_path, f"""\
            echo "$@" > {args}
            echo 'sandbox: progress 1/2' >&2
            echo 'sandbox: warning: something' >&2
            echo 'sandbox: progress 2/2' >&2
            cat <<'EOF'
            {doc}
            EOF
            """)
        seen: list[tuple[int, int]] = []
        runs = Sandbox(helper).run_tests(profile="c", limits=LIMITS, argv=["x"], tests_dir=tmp_path, count=2,
                                         workdir=tmp_path, parallel=2, on_progress=lambda d, t: seen.append((d, t)))
        assert [r.test for r in runs] == [1, 2]
        assert seen == [(1, 2), (2, 2)]
        assert "--progress" in args.read_text().split()

    def test_progress_then_failure_reports_only_the_error(self, tmp_path: Path) -> None:
        helper = _fake_helper(tmp_path, "echo 'sandbox: progress 1/3' >&2\necho 'sandbox: boom' >&2\nexit 1\n")
        with pytest.raises(SandboxError) as info:
            Sandbox(helper).run_tests(profile="c", limits=LIMITS, argv=["x"], tests_dir=tmp_path, count=3,
                                      workdir=tmp_path, parallel=1, on_progress=lambda d, t: None)
        assert "boom" in str(info.value) and "progress" not in str(info.value)

    def test_cancel_before_start(self, tmp_path: Path) -> None:
        helper = _fake_helper(tmp_path, "sleep 30\n")
        sandbox = Sandbox(helper)
        sandbox.cancel()
        with pytest.raises(SandboxError, match="cancel"):
            sandbox.run_tests(profile="c", limits=LIMITS, argv=["x"], tests_dir=tmp_path, count=1,
                              workdir=tmp_path, parallel=1)
        sandbox.reset()


HELPER = get_settings().sandbox
needs_helper = pytest.mark.skipif(not os.access(HELPER, os.X_OK), reason="sandbox helper not built")


@needs_helper
class TestRealHelper:
    def _dirs(self, tmp_path: Path) -> tuple[Path, Path]:
        box, tests = tmp_path / "box", tmp_path / "tests"
        box.mkdir()
        tests.mkdir()
        for d in (tmp_path, box, tests):
            d.chmod(0o755)
        box.chmod(0o777)
        return box, tests

    def test_bin_true_single(self, tmp_path: Path) -> None:
        box, _ = self._dirs(tmp_path)
        run = Sandbox(HELPER).run_single(
            profile="c", limits=LIMITS, argv=["/bin/true"], stdin="/dev/null", stdout=tmp_path / "out",
            stderr=tmp_path / "err", workdir=box,
        )
        assert run.status == "OK" and run.exit_code == 0

    def test_tests_mode_echo(self, tmp_path: Path) -> None:
        box, tests = self._dirs(tmp_path)
        for n in (1, 2, 3):
            (tests / f"{n}.in").write_bytes(f"line {n}\n".encode())
        # The c profile's allowlist is for compiled solutions; /bin/cat needs the python one's.
        runs = Sandbox(HELPER).run_tests(profile="python", limits=LIMITS, argv=["/bin/cat"], tests_dir=tests, count=3,
                                         workdir=box, parallel=2)
        assert [r.status for r in runs] == ["OK"] * 3
        assert (tests / "2.out").read_bytes() == b"line 2\n"
        assert runs[1].stdout_bytes == 7

    def test_exit_code(self, tmp_path: Path) -> None:
        box, tests = self._dirs(tmp_path)
        (tests / "1.in").write_bytes(b"")
        runs = Sandbox(HELPER).run_tests(profile="c", limits=LIMITS, argv=["/bin/false"], tests_dir=tests,
                                         count=1, workdir=box, parallel=1)
        assert runs[0].status in ("OK", "RE") and runs[0].exit_code == 1

    def test_interactive_pairs(self, tmp_path: Path) -> None:
        """--interactor through the client: per-side results, the bytes each way and the files
        of both sides (a Python echo interactor that says `ok` when the program says `bye`)."""
        box, tests = self._dirs(tmp_path)
        ibox, files = tmp_path / "ibox", tmp_path / "files"
        ibox.mkdir(mode=0o755)
        files.mkdir(mode=0o755)
        (ibox / "inter.py").write_text(textwrap.dedent("""
            import sys
            word = open(sys.argv[1]).read().strip()
            print(word, flush=True)
            reply = sys.stdin.readline().strip()
            open(sys.argv[2], "w").write(reply + "\\n")
            sys.stderr.write(f"got {reply}\\n")
            sys.exit(0 if reply == word.upper() else 1)
        """))
        for n, word in ((1, "hello"), (2, "bye")):
            (tests / f"{n}.in").write_bytes(b"")
            (files / str(n)).mkdir(mode=0o755)
            (files / str(n) / "input").write_text(word + "\n")
            (files / str(n) / "answer").write_text("")
        program = "import sys\nw = input()\nprint(w.upper() if w == 'hello' else 'no', flush=True)\n"
        (box / "main.py").write_text(program)
        interactor = Interactor(argv=["/usr/bin/python3", "inter.py", "/judge/input", "/tmp/output", "/judge/answer"],
                                workdir=ibox, time_ms=2000, memory_mb=256)
        runs = Sandbox(HELPER).run_tests(profile="python", limits=LIMITS, argv=["/usr/bin/python3", "main.py"],
                                         tests_dir=tests, count=2, workdir=box, parallel=2, test_files=files,
                                         interactor=interactor)
        assert [r.status for r in runs] == ["OK", "OK"], runs
        first, second = runs
        assert first.interactor is not None and first.interactor.status == "OK", first
        assert second.interactor is not None and (second.interactor.status, second.interactor.exit_code) == ("RE", 1)
        assert (first.bytes_from_interactor, first.bytes_to_interactor) == (6, 6)
        assert (tests / "1.out").read_bytes() == b"HELLO\n" and (tests / "1.iout").read_bytes() == b"hello\n"
        assert (tests / "2.ierr").read_bytes() == b"got no\n" and (tests / "1.tout").read_bytes() == b"HELLO\n"

    def test_a_program_dying_on_the_eof_after_the_interactors_verdict_gets_that_verdict(self, tmp_path: Path) -> None:
        """The interactor says WA (exit 1) and ends; the program dies on the EOF (EOFError,
        exit 1). Every time (30 pairs, 2 at once): the interactor ended first, so the test is
        the interactor's WRONG_ANSWER, never the program's RUNTIME_ERROR."""
        from shared.judging.interactive import interactive_verdict

        box, tests = self._dirs(tmp_path)
        ibox, files = tmp_path / "ibox", tmp_path / "files"
        ibox.mkdir(mode=0o755)
        files.mkdir(mode=0o755)
        (ibox / "inter.py").write_text("import sys\nprint(1, flush=True)\nsys.stdin.readline()\nsys.exit(1)\n")
        (box / "main.py").write_text("input()\nprint('? 1', flush=True)\ninput()\n")
        count = 30
        for n in range(1, count + 1):
            (tests / f"{n}.in").write_bytes(b"")
            (files / str(n)).mkdir(mode=0o755)
            (files / str(n) / "input").write_text("1\n")
            (files / str(n) / "answer").write_text("")
        runs = Sandbox(HELPER).run_tests(
            profile="python", limits=LIMITS, argv=["/usr/bin/python3", "main.py"], tests_dir=tests, count=count,
            workdir=box, parallel=2, test_files=files,
            interactor=Interactor(argv=["/usr/bin/python3", "inter.py"], workdir=ibox, time_ms=2000, memory_mb=256))
        assert [(r.status, r.exit_code, r.interactor_first) for r in runs] == [("RE", 1, True)] * count
        assert {interactive_verdict(r, b"", 1).verdict.value for r in runs} == {"WRONG_ANSWER"}
