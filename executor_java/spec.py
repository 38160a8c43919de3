"""Java 17 (OpenJDK). The public class may have any name; the file is named after it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Collection
from pathlib import Path

from shared.language_spec import LanguageSpec, build_atomically, resolve_tool
from shared.models import ResolvedLimits, Verdict
from shared.sandbox import SandboxRun

JAVA = resolve_tool("/usr/bin/java")
JAVAC = resolve_tool("/usr/bin/javac")

# Memory: the heap (-Xmx) is the user's memory_mb. The JVM's own memory (metaspace, code
# cache, thread stacks, GC structures) comes on top; the sandbox's java profile adds that
# headroom to the cgroup limit itself (native_sandbox: JAVA_HEADROOM_MB), so --memory-mb is
# passed unchanged and a program over its limit fails with OutOfMemoryError (-> MLE).

# Fast start for short programs: serial GC, class-data sharing, no perf file in /tmp.
_JVM_FAST = ("-XX:+UseSerialGC", "-Xshare:auto", "-XX:-UsePerfData")
# javac is short-lived: C1 alone starts faster. The program keeps full tiered compilation:
# no measurable start-up cost, and C2 makes hot loops ~30% cheaper in CPU time.
_JAVAC_JIT = ("-XX:TieredStopAtLevel=1",)

# javac spends ~0.15 s of its ~0.5 s loading its own classes; a dynamic class-data archive of
# them (built once per executor by warm_up, linked into the box) removes most of that.
JAVAC_CDS = "javac.jsa"
_WARM_SOURCE = """import java.util.*;
import java.io.*;
import java.util.stream.*;
public class Warm {
    record P(int a, long b) {}
    public static void main(String[] args) throws IOException {
        BufferedReader r = new BufferedReader(new InputStreamReader(System.in));
        Scanner s = new Scanner(System.in);
        Map<String, List<Integer>> m = new HashMap<>(); TreeMap<Long, Integer> t = new TreeMap<>();
        PriorityQueue<long[]> q = new PriorityQueue<>((x, y) -> Long.compare(x[0], y[0]));
        ArrayDeque<P> d = new ArrayDeque<>();
        int[] a = IntStream.range(0, 10).map(i -> i * i).toArray(); Arrays.sort(a);
        String out = Arrays.stream(a).mapToObj(String::valueOf).collect(Collectors.joining(" "));
        StringBuilder sb = new StringBuilder(); sb.append(String.format("%d %s%n", a.length, out));
        PrintWriter w = new PrintWriter(new BufferedWriter(new OutputStreamWriter(System.out)));
        w.print(sb); w.flush();
    }
}
"""

_COMMENT_OR_LITERAL = re.compile(
    r'//[^\n]*|/\*.*?\*/|"""(?:\\.|[^\\])*?"""|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'',
    re.DOTALL,
)
_PACKAGE = re.compile(r"^\s*package\s+([A-Za-z_$][\w$]*(?:\s*\.\s*[A-Za-z_$][\w$]*)*)\s*;", re.MULTILINE)
_TYPE_DECL = re.compile(
    r"\b(?P<mods>(?:(?:public|final|abstract|strictfp|sealed|non-sealed|static)\s+)*)"
    r"(?:class|interface|enum|record)\s+(?P<name>[A-Za-z_$][\w$]*)"
)
_MAIN = re.compile(r"\bstatic\s+(?:final\s+)?void\s+main\s*\(")
_IDENT = re.compile(r"[A-Za-z_$][\w$]*")


def _strip(code: str) -> str:
    """Comments and string/char literals blanked out (braces in them must not count)."""
    return _COMMENT_OR_LITERAL.sub(lambda m: " " * len(m.group(0)) if m.group(0)[0] in "/" else '""', code)


def _declarations(text: str) -> list[tuple[str, bool, bool]]:
    """Top-level type declarations of comment/literal-free source: (name, public, has main)."""
    decls: list[tuple[str, bool, bool]] = []
    depth = 0
    pos = 0
    for match in _TYPE_DECL.finditer(text):
        depth += text.count("{", pos, match.start()) - text.count("}", pos, match.start())
        pos = match.start()
        if depth != 0:
            continue
        body_start = text.find("{", match.end())
        body = ""
        if body_start >= 0:
            level = 0
            end = len(text)
            for i in range(body_start, len(text)):
                if text[i] == "{":
                    level += 1
                elif text[i] == "}":
                    level -= 1
                    if level == 0:
                        end = i
                        break
            body = text[body_start:end]
        decls.append((match.group("name"), "public" in match.group("mods").split(), bool(_MAIN.search(body))))
    return decls


def _package(text: str) -> str | None:
    match = _PACKAGE.search(text)
    return re.sub(r"\s+", "", match.group(1)) if match else None


def main_class(code: str) -> tuple[str | None, str]:
    """(package or None, file's class): the top-level public type (javac requires the file
    to be named after it), else the top-level type declaring main, else the first, else Main."""
    text = _strip(code)
    decls = _declarations(text)
    name = next((n for n, public, _ in decls if public), None)
    if name is None:
        name = next((n for n, _, has_main in decls if has_main), None)
    if name is None and decls:
        name = decls[0][0]
    return _package(text), name or "Main"


def run_class(code: str) -> str:
    """Fully qualified class to start with `java -cp .` (javac -d . puts packaged classes in
    their directories): the top-level type declaring main (public first), else the file's."""
    text = _strip(code)
    decls = _declarations(text)
    package, name = _package(text), main_class(code)[1]
    with_main = [n for n, public, has_main in sorted(decls, key=lambda d: not d[1]) if has_main]
    if with_main:
        name = with_main[0]
    return f"{package}.{name}" if package else name


class JavaSpec(LanguageSpec):
    name = "java"
    profile = "java"
    source_file = "Main.java"
    version_command = (JAVA, "-version")
    # Threads need no --procs: the helper counts them separately (java profile: up to 255
    # threads, still no new processes).

    def source_name(self, code: str) -> str:
        name = main_class(code)[1]
        # A name too long for a file name: let javac report it (a compilation error) rather
        # than failing to create the file (an internal error).
        return f"{name}.java" if len(name.encode()) <= 200 else "Main.java"

    def warm_up(self, cache_dir: Path) -> dict[str, Path]:
        work = cache_dir / f"warm-{os.getpid()}"
        work.mkdir(parents=True, exist_ok=True)
        (work / "Warm.java").write_text(_WARM_SOURCE)

        def build(tmp: Path) -> None:
            subprocess.run(
                [*self._javac(), f"-J-XX:ArchiveClassesAtExit={tmp}", "-d", str(work), str(work / "Warm.java")],
                capture_output=True, timeout=300, check=True,
            )
            if not tmp.exists():
                raise RuntimeError("javac wrote no class-data archive")

        try:
            return {JAVAC_CDS: build_atomically(cache_dir / "javac.jsa", build)}
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _javac(self) -> list[str]:
        jvm = (f"-J{flag}" for flag in (*_JVM_FAST, *_JAVAC_JIT))
        return [JAVAC, "-J-Xmx512m", *jvm, "-encoding", "UTF-8", "-nowarn"]

    def compile_command(self, source_name: str, linked: Collection[str] = ()) -> list[str]:
        cds = [f"-J-XX:SharedArchiveFile={JAVAC_CDS}"] if JAVAC_CDS in linked else []
        return [*self._javac(), *cds, "-proc:none", "-d", ".", source_name]

    def run_command(self, source_name: str, limits: ResolvedLimits, code: str = "") -> list[str]:
        return [JAVA, f"-Xmx{limits.memory_mb}m", "-Xss64m", *_JVM_FAST, "-cp", ".", run_class(code)]

    def refine_verdict(self, verdict: Verdict, run: SandboxRun, stderr: bytes) -> Verdict:
        if verdict == Verdict.RUNTIME_ERROR and b"java.lang.OutOfMemoryError" in stderr:
            return Verdict.MEMORY_LIMIT_EXCEEDED
        return verdict


SPEC = JavaSpec()
