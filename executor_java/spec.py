"""Java 17 (OpenJDK). The public class may have any name; the file is named after it."""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import unicodedata
from collections.abc import Collection, Sequence
from pathlib import Path
from typing import ClassVar, NamedTuple

from executor_java import harness
from shared.functions import FunctionProgram
from shared.judge_config import FunctionSpec
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
# Text I/O in UTF-8 whatever the locale: the default charset (Scanner, readers, writers)
# and System.out/err, so a program printing "привет" writes its UTF-8 bytes. For javac it
# keeps diagnostics that quote the source in UTF-8 (compile output is decoded as UTF-8).
_UTF8_IO = ("-Dfile.encoding=UTF-8", "-Dsun.stdout.encoding=UTF-8", "-Dsun.stderr.encoding=UTF-8")
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

# --- Names: JLS §3.3 (Unicode escapes), §3.6 (white space), §3.8 (identifiers) ----------
# Character.isJavaIdentifierStart / isJavaIdentifierPart, by general category. Python's
# unicodedata may be a Unicode version ahead of Java 17's (13.0): only characters assigned
# since then can differ.
_START_CATEGORIES = frozenset({"Lu", "Ll", "Lt", "Lm", "Lo", "Nl", "Sc", "Pc"})
_PART_CATEGORIES = _START_CATEGORIES | {"Nd", "Mn", "Mc"}


def is_identifier_ignorable(ch: str) -> bool:
    """Character.isIdentifierIgnorable: the ISO controls that are not white space, and the
    format characters (Cf)."""
    cp = ord(ch)
    return cp <= 0x08 or 0x0E <= cp <= 0x1B or 0x7F <= cp <= 0x9F or unicodedata.category(ch) == "Cf"


def is_java_identifier_start(ch: str) -> bool:
    """Character.isJavaIdentifierStart: a letter of any script, a letter number, a currency
    symbol ($) or connector punctuation (_)."""
    return unicodedata.category(ch) in _START_CATEGORIES


def is_java_identifier_part(ch: str) -> bool:
    """Character.isJavaIdentifierPart: a start character, a digit, a combining mark, or an
    ignorable character."""
    return unicodedata.category(ch) in _PART_CATEGORIES or is_identifier_ignorable(ch)


def identifier(raw: str) -> str | None:
    r"""The identifier javac lexes at the start of `raw` (a start character, then the longest
    run of parts), without its ignorable characters: javac drops them, so `A\u200bB` is
    class AB and must be in AB.java. None if `raw` does not start with an identifier."""
    if not raw or not is_java_identifier_start(raw[0]):
        return None
    end = 1
    while end < len(raw) and is_java_identifier_part(raw[end]):
        end += 1
    return "".join(ch for ch in raw[:end] if not is_identifier_ignorable(ch))


# An eligible backslash (after an even number of backslashes), one or more 'u', four hex
# digits. A character produced by an escape starts no further escape: one pass, no rescan.
_UNICODE_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u+([0-9A-Fa-f]{4})")


def translate_unicode_escapes(code: str) -> str:
    r"""The source as javac lexes it: \uXXXX escapes replaced by their characters (javac does
    this before anything else, so `class \u043d\u0435\u0442` is class нет and a \u000a
    ends a // comment). A malformed escape is left as it is: javac reports it."""
    if "\\u" not in code:
        return code
    text = _UNICODE_ESCAPE.sub(lambda m: m.group(1) + chr(int(m.group(2), 16)), code)
    # A supplementary character is escaped as its two UTF-16 surrogates: join each pair
    # into the one character (lone surrogates stay, and are no identifier characters).
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


_COMMENT_OR_LITERAL = re.compile(
    r'//[^\n]*|/\*.*?\*/|"""(?:\\.|[^\\])*?"""|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'',
    re.DOTALL,
)
# Java's white space is ASCII only (\s would also take NBSP and the like, which javac refuses).
_WS = r"[ \t\f\r\n]"
# Outside comments and literals the only legal non-ASCII characters are identifier
# characters (Java's white space, separators and operators are all ASCII), so the patterns
# take any non-ASCII character as part of a name and identifier() applies the exact rules.
_ID_START = r"[A-Za-z_$\x80-\U0010ffff]"
_ID_PART = r"[A-Za-z0-9_$\x00-\x08\x0e-\x1b\x7f-\U0010ffff]"
_NAME = f"{_ID_START}{_ID_PART}*"
_QUALIFIED = f"{_NAME}(?:{_WS}*\\.{_WS}*{_NAME})*"
_NOT_IN_NAME = f"(?<!{_ID_PART})"  # a keyword is not the tail of a longer identifier
_NAME_RE = re.compile(_NAME)

_PACKAGE = re.compile(f"^{_WS}*package{_WS}+(?P<name>{_QUALIFIED}){_WS}*;", re.MULTILINE)
_TYPE_MODIFIER = r"(?:public|protected|private|abstract|static|final|sealed|non-sealed|strictfp)"
# Annotations may stand among the modifiers (`public @Deprecated class X`); arguments with
# nested parentheses are not followed (the declaration is then seen without them).
_ANNOTATION = f"@{_WS}*{_QUALIFIED}(?:{_WS}*\\([^()]*\\))?"
_TYPE_DECL = re.compile(
    f"{_NOT_IN_NAME}(?P<mods>(?:{_TYPE_MODIFIER}{_WS}+|{_ANNOTATION}{_WS}*)*)"
    f"(?:class|interface|enum|record|@{_WS}*interface){_WS}+(?P<name>{_NAME})"
)
_METHOD_MODIFIER = f"(?:(?:public|final|synchronized|strictfp){_WS}+)*"
_MAIN = re.compile(
    f"{_NOT_IN_NAME}{_METHOD_MODIFIER}static{_WS}+{_METHOD_MODIFIER}void{_WS}+main{_WS}*\\("
)
_BRACE = re.compile(r"[{}]")


class _Decl(NamedTuple):
    name: str
    public: bool
    has_main: bool


def _strip(code: str) -> str:
    """Comments and string/char literals blanked out (braces in them must not count)."""
    return _COMMENT_OR_LITERAL.sub(lambda m: " " * len(m.group(0)) if m.group(0)[0] in "/" else '""', code)


def _body(text: str, open_brace: int) -> str:
    """The text from `open_brace` to its matching close brace (or the end)."""
    level = 0
    for brace in _BRACE.finditer(text, open_brace):
        level += 1 if brace.group() == "{" else -1
        if level == 0:
            return text[open_brace:brace.start()]
    return text[open_brace:]


def _declarations(text: str) -> list[_Decl]:
    """Top-level type declarations of comment/literal-free source."""
    decls: list[_Decl] = []
    depth = 0
    pos = 0
    for match in _TYPE_DECL.finditer(text):
        depth += text.count("{", pos, match.start()) - text.count("}", pos, match.start())
        pos = match.start()
        name = identifier(match.group("name"))
        if depth != 0 or name is None:
            continue
        body_start = text.find("{", match.end())
        body = _body(text, body_start) if body_start >= 0 else ""
        public = "public" in _NAME_RE.findall(match.group("mods"))
        decls.append(_Decl(name, public, bool(_MAIN.search(body))))
    return decls


def _package(text: str) -> str | None:
    match = _PACKAGE.search(text)
    if not match:
        return None
    parts = [identifier(part.strip(" \t\f\r\n")) for part in match.group("name").split(".")]
    return ".".join(p for p in parts if p) if all(parts) else None


@functools.lru_cache(maxsize=8)
def _parse(code: str) -> tuple[str | None, tuple[_Decl, ...]]:
    """(package, top-level types) of a source; cached: every job asks for the file name
    and then the class to run, of the same code."""
    text = _strip(translate_unicode_escapes(code))
    return _package(text), tuple(_declarations(text))


def main_class(code: str) -> tuple[str | None, str]:
    """(package or None, file's class): the top-level public type (javac requires the file
    to be named after it), else the top-level type declaring main, else the first, else Main."""
    package, decls = _parse(code)
    name = next((d.name for d in decls if d.public), None)
    if name is None:
        name = next((d.name for d in decls if d.has_main), None)
    if name is None and decls:
        name = decls[0].name
    return package, name or "Main"


def run_class(code: str) -> str:
    """Fully qualified class to start with `java -cp .` (javac -d . puts packaged classes in
    their directories): the top-level type declaring main (public first), else the file's."""
    package, decls = _parse(code)
    with_main = [d.name for d in sorted(decls, key=lambda d: not d.public) if d.has_main]
    name = with_main[0] if with_main else main_class(code)[1]
    return f"{package}.{name}" if package else name


# Longest class name written as a file name. Beyond it javac, not the executor, fails the job
# (a compilation error, not an internal one); well under NAME_MAX (255) for `$Inner.class`.
_MAX_NAME_BYTES = 200


def file_name(name: str) -> str:
    """`{name}.java`, or Main.java when `name` cannot be the file's name here: empty, over
    _MAX_NAME_BYTES, a path (impossible for an identifier; defensive), or not written to
    disk as its UTF-8 bytes (the JVM in the box reads file names as UTF-8)."""
    if not name or "/" in name or "\0" in name:
        return "Main.java"
    try:
        utf8 = name.encode("utf-8")
        on_disk = os.fsencode(name)
    except UnicodeError:
        return "Main.java"
    if on_disk != utf8 or len(utf8) > _MAX_NAME_BYTES:
        return "Main.java"
    return f"{name}.java"


class JavaSpec(LanguageSpec):
    name = "java"
    profile = "java"
    source_file = "Main.java"
    version_command = (JAVA, "-version")
    # File names, and the class named on java's command line, are decoded with the locale's
    # charset (sun.jnu.encoding; no flag sets it): a class named нет needs a UTF-8 locale.
    env: ClassVar[dict[str, str]] = {**LanguageSpec.env, "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8"}
    # Threads need no --procs: the helper counts them separately (java profile: up to 255
    # threads, still no new processes).

    def source_name(self, code: str) -> str:
        return file_name(main_class(code)[1])

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
        jvm = (f"-J{flag}" for flag in (*_JVM_FAST, *_JAVAC_JIT, *_UTF8_IO))
        return [JAVAC, "-J-Xmx512m", *jvm, "-encoding", "UTF-8", "-nowarn"]

    source_suffixes = (".java",)

    def compile_command(self, source_name: str, linked: Collection[str] = (),
                        sources: Sequence[str] = ()) -> list[str]:
        cds = [f"-J-XX:SharedArchiveFile={JAVAC_CDS}"] if JAVAC_CDS in linked else []
        return [*self._javac(), *cds, "-proc:none", "-d", ".", source_name, *sources]

    def run_command(self, source_name: str, limits: ResolvedLimits, code: str = "") -> list[str]:
        return [JAVA, f"-Xmx{limits.memory_mb}m", "-Xss64m", *_JVM_FAST, *_UTF8_IO, "-cp", ".", run_class(code)]

    def refine_verdict(self, verdict: Verdict, run: SandboxRun, stderr: bytes) -> Verdict:
        if verdict == Verdict.RUNTIME_ERROR and b"java.lang.OutOfMemoryError" in stderr:
            return Verdict.MEMORY_LIMIT_EXCEEDED
        return verdict

    def function_program(self, code: str, fn: FunctionSpec) -> FunctionProgram:
        return harness.function_program(code, fn)

    def missing_function(self, code: str, fn: FunctionSpec) -> str | None:
        return harness.missing_function(code, fn)


SPEC = JavaSpec()
