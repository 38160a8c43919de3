"""The per-language specs: file names, commands, limits, verdict refinement, Java class
detection."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from executor_c.spec import SPEC as C
from executor_cpp.spec import SPEC as CPP
from executor_go.spec import SPEC as GO
from executor_go.spec import GoSpec
from executor_java.spec import SPEC as JAVA
from executor_java.spec import main_class, run_class
from executor_javascript.spec import SPEC as JAVASCRIPT
from executor_javascript.spec import stack_kb
from executor_python.spec import SPEC as PYTHON
from shared.language_spec import LanguageSpec, build_tree_atomically, tree_files
from shared.languages import LANGUAGES
from shared.models import ResolvedLimits, Verdict
from shared.sandbox import SandboxRun

LIMITS = ResolvedLimits(time_ms=2000, wall_ms=6000, memory_mb=256, output_kb=1024)
ALL: list[LanguageSpec] = [C, CPP, JAVA, PYTHON, GO, JAVASCRIPT]


def _run(status: str = "OK", exit_code: int = 1) -> SandboxRun:
    return SandboxRun(status=status, exit_code=exit_code)  # type: ignore[arg-type]


def test_one_spec_per_language() -> None:
    assert sorted(s.name for s in ALL) == sorted(LANGUAGES)
    assert {s.profile for s in ALL} == {"c", "cpp", "java", "python", "go", "javascript"}


@pytest.mark.parametrize("spec", ALL, ids=lambda s: s.name)
def test_commands_use_absolute_tools(spec: LanguageSpec) -> None:
    source = spec.source_name("class Main {}")
    compile_cmd = spec.compile_command(source)
    assert compile_cmd is not None and os.path.isabs(compile_cmd[0])
    run_cmd = spec.run_command(source, LIMITS, "class Main {}")
    assert run_cmd[0] == "./main" or os.path.isabs(run_cmd[0])
    assert spec.env["LANG"] == "C.UTF-8"


def test_c_and_cpp() -> None:
    assert C.source_name("int main(){}") == "main.c"
    assert C.compile_command("main.c")[1:] == ["-std=gnu17", "-O2", "-pipe", "-o", "main", "main.c", "-lm"]
    assert CPP.source_name("") == "main.cpp"
    assert "-std=c++17" in CPP.compile_command("main.cpp")
    assert C.run_command("main.c", LIMITS) == ["./main"]
    assert C.limits(LIMITS) == LIMITS


def test_python() -> None:
    assert PYTHON.compile_command("main.py")[0] == "/usr/bin/python3"
    assert PYTHON.run_command("main.py", LIMITS)[-1] == "main.pyc"
    tb = b"Traceback (most recent call last):\n  File \"main.py\", line 1\nMemoryError\n"
    assert PYTHON.refine_verdict(Verdict.RUNTIME_ERROR, _run(), tb) == Verdict.MEMORY_LIMIT_EXCEEDED
    assert PYTHON.refine_verdict(Verdict.RUNTIME_ERROR, _run(), b"ValueError: x\n") == Verdict.RUNTIME_ERROR
    # Printing the word is not running out of memory.
    assert PYTHON.refine_verdict(Verdict.RUNTIME_ERROR, _run(), b"MemoryError?\nbye\n") == Verdict.RUNTIME_ERROR
    assert PYTHON.refine_verdict(Verdict.WRONG_ANSWER, _run("OK", 0), tb) == Verdict.WRONG_ANSWER


def test_java_commands_and_memory() -> None:
    code = "public class Solution { public static void main(String[] a) {} }"
    assert JAVA.source_name(code) == "Solution.java"
    cmd = JAVA.run_command("Solution.java", LIMITS, code)
    assert "-Xmx256m" in cmd and cmd[-1] == "Solution" and cmd[-2] == "."
    # The program's text I/O is UTF-8 whatever the locale.
    assert "-Dfile.encoding=UTF-8" in cmd and "-Dsun.stdout.encoding=UTF-8" in cmd
    # The helper's java profile adds the JVM's non-heap headroom itself.
    assert JAVA.limits(LIMITS) == LIMITS
    oom = b'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space\n'
    assert JAVA.refine_verdict(Verdict.RUNTIME_ERROR, _run(), oom) == Verdict.MEMORY_LIMIT_EXCEEDED
    assert JAVA.refine_verdict(Verdict.RUNTIME_ERROR, _run(), b"NullPointerException") == Verdict.RUNTIME_ERROR


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("public class Main { public static void main(String[] a) {} }", "Main"),
        ("public class Solution{public static void main(String[] a){}}", "Solution"),
        ("public final class Fast { }", "Fast"),
        ("public abstract class A {}", "A"),
        ("final public class B {}", "B"),
        ("import java.util.*;\n\npublic\nclass\nMulti_Line$1 {}", "Multi_Line$1"),
        # No public class: the one with main, whatever its position.
        ("class Helper {}\nclass Prog { public static void main(String[] a) {} }", "Prog"),
        ("class Only {}", "Only"),
        ("", "Main"),
        ("int x;", "Main"),
        # Comments and strings don't count.
        ("// public class Fake {}\npublic class Real {}", "Real"),
        ("/* public class Fake { */ public class Real {}", "Real"),
        ('class A { String s = "public class Fake {"; }\npublic class Real {}', "Real"),
        ("class A { char c = '{'; }\npublic class Real {}", "Real"),
        ('class A { String t = """\n  public class Fake { \n"""; }\npublic class Real {}', "Real"),
        # A nested public class is not the file's class.
        ("class Outer { public static class Inner {} public static void main(String[] a){} }", "Outer"),
        ("class Outer { public class Inner {} }\npublic class Top {}", "Top"),
        ("public interface Api {}\nclass Main { public static void main(String[] a){} }", "Api"),
        ("public record Point(int x, int y) {}", "Point"),
        ("public enum Color { RED }", "Color"),
        # Java identifiers are Unicode (issue 15; more in test_java_names.py).
        ("public class нет { public static void main(String[] a) {} }", "нет"),
        ("// public class Ложь {}\nclass Помощь {}\npublic class Ответ_1$ {}", "Ответ_1$"),
    ],
)
def test_java_main_class(code: str, expected: str) -> None:
    assert main_class(code)[1] == expected
    assert JAVA.source_name(code) == f"{expected}.java"


def test_java_package() -> None:
    code = "package com.example.app;\n\npublic class Main { public static void main(String[] a) {} }"
    assert main_class(code) == ("com.example.app", "Main")
    assert run_class(code) == "com.example.app.Main"
    assert JAVA.run_command("Main.java", LIMITS, code)[-1] == "com.example.app.Main"
    assert main_class("// package nope;\npublic class X {}") == (None, "X")


@pytest.mark.parametrize("spec", ALL, ids=lambda s: s.name)
def test_version_probe(spec: LanguageSpec) -> None:
    version = spec.version()
    assert version and version != "unknown"
    assert "\n" not in version


def test_java_runs_the_class_with_main() -> None:
    code = "public interface Api {}\nclass Impl { public static void main(String[] a) {} }"
    assert JAVA.source_name(code) == "Api.java"
    assert run_class(code) == "Impl"
    assert run_class("public class A {}\nclass B { public static void main(String[] x) {} }") == "B"
    assert run_class("public class A { public static void main(String[] x) {} }\nclass B {}") == "A"


def test_compile_caches_are_used_only_when_linked() -> None:
    from executor_cpp.spec import PCH
    from executor_java.spec import JAVAC_CDS

    assert "-Ipch" not in CPP.compile_command("main.cpp")
    assert "-Ipch" in CPP.compile_command("main.cpp", [PCH])
    assert not any("SharedArchiveFile" in a for a in JAVA.compile_command("Main.java"))
    assert f"-J-XX:SharedArchiveFile={JAVAC_CDS}" in JAVA.compile_command("Main.java", [JAVAC_CDS])


def test_java_unusual_class_names() -> None:
    assert JAVA.source_name("public class Café {}") == "Café.java"
    assert JAVA.source_name("public class 你好 {}") == "你好.java"
    assert JAVA.source_name(f"public class {'A' * 300} {{}}") == "Main.java"


def test_go_build_uses_the_warm_cache_only_when_all_of_it_is_linked() -> None:
    spec = GoSpec()
    spec.box_links = {"gocache/README": Path("/c/README"), "gocache/00/x-a": Path("/c/00/x-a")}
    cold = spec.compile_command("main.go", ["gocache/README"], ["util.go"])
    warm = spec.compile_command("main.go", list(spec.box_links), ["util.go"])
    assert cold[0] == warm[0] == "/bin/sh" and cold[1] == warm[1] == "-c"
    # The file names are arguments of the script ("$@"), never part of its text.
    assert cold[3:] == warm[3:] == ["go-build", "main.go", "util.go"]
    assert '"$PWD/gocache"' in warm[2] and "'-trimpath'" in warm[2]
    assert '"$PWD/.gocache"' in cold[2] and "-trimpath" not in cold[2]
    for script in (cold[2], warm[2]):
        assert "/usr/bin/go build" in script and "'-buildmode=exe'" in script and script.endswith('-o main "$@"')
    assert GoSpec().compile_command("main.go") == cold[:4] + ["main.go"]


def test_go_environment_and_sources() -> None:
    assert GO.source_name("package main") == "main.go"
    assert GO.run_command("main.go", LIMITS) == ["./main"]
    assert GO.env["GO111MODULE"] == "off" and GO.env["GOPROXY"] == "off" and GO.env["CGO_ENABLED"] == "0"
    assert GO.env["GOMAXPROCS"] == str(GO.run_procs) == "1"
    names = ["util.go", "pkg/x.go", "util_test.go", "data.txt", "b.go"]
    assert GO.extra_sources(names) == ["b.go", "util.go"]


def test_go_out_of_memory_is_mle() -> None:
    oom = b"runtime: out of memory: cannot allocate 1073741824-byte block\nfatal error: out of memory\n"
    assert GO.refine_verdict(Verdict.RUNTIME_ERROR, _run(), oom) == Verdict.MEMORY_LIMIT_EXCEEDED
    assert GO.refine_verdict(Verdict.RUNTIME_ERROR, _run(), b"fatal error: runtime: out of memory\n") \
        == Verdict.MEMORY_LIMIT_EXCEEDED
    panic = b"panic: runtime error: index out of range [5] with length 0\n"
    assert GO.refine_verdict(Verdict.RUNTIME_ERROR, _run(), panic) == Verdict.RUNTIME_ERROR


def test_javascript_commands() -> None:
    assert JAVASCRIPT.source_name("console.log(1)") == "main.js"
    assert JAVASCRIPT.compile_command("main.js") == ["/usr/bin/node", "--check", "main.js"]
    cmd = JAVASCRIPT.run_command("main.js", LIMITS)
    assert cmd == ["/usr/bin/node", "--max-old-space-size=256", f"--stack-size={256 * 512}", "main.js"]
    # The helper's javascript profile adds Node's headroom to the cgroup itself.
    assert JAVASCRIPT.limits(LIMITS) == LIMITS
    assert stack_kb(4) == 2048 and stack_kb(65536) == 1 << 20
    assert JAVASCRIPT.env["UV_USE_IO_URING"] == "0"


@pytest.mark.parametrize("stderr", [
    b"FATAL ERROR: Reached heap limit Allocation failed - JavaScript heap out of memory\n",
    b"FATAL ERROR: invalid array length Allocation failed - JavaScript heap out of memory\n",
    b"# Fatal process out of memory: Zone\n",
])
def test_javascript_heap_exhaustion_is_mle(stderr: bytes) -> None:
    assert JAVASCRIPT.refine_verdict(Verdict.RUNTIME_ERROR, _run(), stderr) == Verdict.MEMORY_LIMIT_EXCEEDED
    assert JAVASCRIPT.refine_verdict(Verdict.WRONG_ANSWER, _run("OK", 0), stderr) == Verdict.WRONG_ANSWER


def test_javascript_uncaught_exception_stays_a_runtime_error() -> None:
    err = b"/box/main.js:2\nthrow new Error('boom')\n^\n\nError: boom\n    at Object.<anonymous>\n"
    assert JAVASCRIPT.refine_verdict(Verdict.RUNTIME_ERROR, _run(), err) == Verdict.RUNTIME_ERROR


def test_build_tree_atomically_builds_once_read_only(tmp_path: Path) -> None:
    calls = []

    def build(tmp: Path) -> None:
        calls.append(tmp)
        (tmp / "00").mkdir()
        (tmp / "00" / "x-a").write_text("entry")
        (tmp / "README").write_text("cache")

    target = tmp_path / "cache" / "tree"
    assert build_tree_atomically(target, build) == target
    assert build_tree_atomically(target, build) == target
    assert len(calls) == 1 and not calls[0].exists()
    assert oct((target / "00").stat().st_mode & 0o777) == "0o755"
    assert oct((target / "00" / "x-a").stat().st_mode & 0o777) == "0o644"
    assert tree_files(target, "gocache") == {"gocache/00/x-a": target / "00" / "x-a",
                                             "gocache/README": target / "README"}
    assert [p.name for p in target.parent.iterdir()] == ["tree"]  # no temporaries left


def test_build_tree_atomically_keeps_the_first_finished_tree(tmp_path: Path) -> None:
    target = tmp_path / "tree"

    def slow_build(tmp: Path) -> None:  # another executor finishes while we build
        target.mkdir()
        (target / "theirs").write_text("1")
        (tmp / "ours").write_text("2")

    assert build_tree_atomically(target, slow_build) == target
    assert sorted(p.name for p in target.iterdir()) == ["theirs"]
    assert [p.name for p in tmp_path.iterdir()] == ["tree"]


def test_build_tree_atomically_failure_leaves_nothing(tmp_path: Path) -> None:
    def failing(tmp: Path) -> None:
        (tmp / "half").write_text("x")
        raise RuntimeError("compiler crashed")

    with pytest.raises(RuntimeError):
        build_tree_atomically(tmp_path / "tree", failing)
    assert list(tmp_path.iterdir()) == []


def test_extra_python_and_javascript_sources_are_syntax_checked() -> None:
    # a function's solution.py / solution.js (and a submission's extra modules)
    assert PYTHON.extra_sources(["solution.py", "data.txt"]) == ["solution.py"]
    assert PYTHON.compile_command("main.py", (), ["solution.py"])[-1] == "solution.py"
    assert JAVASCRIPT.compile_command("main.js", (), ["solution.js", "lib/u.js"]) == [
        "/bin/sh", "-c", 'for f; do /usr/bin/node --check "$f" || exit; done', "node-check", "main.js",
        "solution.js", "lib/u.js"]
