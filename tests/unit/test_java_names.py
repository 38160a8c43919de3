"""Java names (issue 15): the public class, its package and the class to run are found with
Java's own identifier rules (JLS §3.8, Unicode), after \\uXXXX escapes (JLS §3.3), and the
source file is named after the class whenever that name can be a file name."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from executor_java.spec import JAVA as JAVA_BIN
from executor_java.spec import (
    SPEC,
    file_name,
    identifier,
    is_identifier_ignorable,
    is_java_identifier_part,
    is_java_identifier_start,
    main_class,
    run_class,
    translate_unicode_escapes,
)
from shared.models import ResolvedLimits

LIMITS = ResolvedLimits(time_ms=2000, wall_ms=6000, memory_mb=256, output_kb=1024)
MAIN = "public static void main(String[] a) { System.out.println(\"привет\"); }"

# --- characters ---------------------------------------------------------------------------
# The JVM's own answers for every code point it knows: one digit per code point (bit 1
# isJavaIdentifierStart, bit 2 isJavaIdentifierPart, bit 4 isIdentifierIgnorable), or 'u'
# for a code point unassigned in the JVM's Unicode version (Python's may be newer).
_CHARS_JAVA = """public class Chars {
    public static void main(String[] a) {
        StringBuilder sb = new StringBuilder(0x110000);
        for (int cp = 0; cp <= 0x10FFFF; cp++) {
            if (Character.getType(cp) == Character.UNASSIGNED) { sb.append('u'); continue; }
            sb.append((char) ('0' + (Character.isJavaIdentifierStart(cp) ? 1 : 0)
                + (Character.isJavaIdentifierPart(cp) ? 2 : 0) + (Character.isIdentifierIgnorable(cp) ? 4 : 0)));
        }
        System.out.print(sb);
    }
}
"""


def _flags(ch: str) -> int:
    return is_java_identifier_start(ch) | is_java_identifier_part(ch) << 1 | is_identifier_ignorable(ch) << 2


@pytest.mark.slow
def test_identifier_characters_match_the_jvm(tmp_path: Path) -> None:
    """Every code point assigned in Java 17's Unicode gets Java's answer (the JVM as oracle)."""
    (tmp_path / "Chars.java").write_text(_CHARS_JAVA)
    proc = subprocess.run([JAVA_BIN, "-Xshare:auto", "Chars.java"], cwd=tmp_path, capture_output=True,
                          timeout=120, check=True)
    java = proc.stdout.decode("ascii")
    assert len(java) == 0x110000
    wrong = [f"U+{cp:04X}: java {v}, ours {_flags(chr(cp))}" for cp, v in enumerate(java)
             if v != "u" and int(v) != _flags(chr(cp))]
    assert not wrong, wrong[:20]


@pytest.mark.parametrize(
    ("ch", "start", "part"),
    [
        ("A", True, True), ("я", True, True), ("λ", True, True), ("中", True, True),
        ("$", True, True), ("€", True, True),            # currency symbols (Sc)
        ("_", True, True), ("‿", True, True),            # connector punctuation (Pc)
        ("Ⅻ", True, True),                               # letter number (Nl)
        ("ʰ", True, True),                               # modifier letter (Lm)
        ("7", False, True), ("٣", False, True),          # decimal digits (Nd)
        ("\u0301", False, True), ("\u0903", False, True),  # combining marks (Mn, Mc)
        ("\u200b", False, True), ("\u00ad", False, True),  # format characters (Cf): ignorable
        ("\x00", False, True), ("\x1b", False, True), ("\x7f", False, True), ("\x85", False, True),
        ("\x1c", False, False), ("\t", False, False),    # controls that are white space
        ("-", False, False), ("\u00a0", False, False), ("·", False, False),
        ("²", False, False),                             # other number (No)
        ("\u20dd", False, False),                        # enclosing mark (Me)
        ("\ud800", False, False),                        # a lone surrogate
    ],
)
def test_identifier_start_and_part(ch: str, start: bool, part: bool) -> None:
    assert is_java_identifier_start(ch) is start
    assert is_java_identifier_part(ch) is part


def test_identifier_is_what_javac_lexes() -> None:
    assert identifier("нет") == "нет"
    assert identifier("_a$1b") == "_a$1b"
    assert identifier("Ab\u0301c") == "Ab\u0301c"
    # Ignorable characters are no part of the name javac gives the class.
    assert identifier("A\u200bB") == "AB"
    assert identifier("A\x01B\x7f") == "AB"
    # The name ends at the first character that cannot continue it.
    assert identifier("Foo\u00a0Bar") == "Foo"
    assert identifier("x²") == "x"
    assert identifier("1abc") is None
    assert identifier("\u0301a") is None
    assert identifier("\u200bA") is None
    assert identifier("") is None


# --- \uXXXX escapes -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("raw", "text"),
    [
        ("class \\u043d\\u0435\\u0442 {}", "class нет {}"),
        ("\\uuuu0041", "A"),                  # any number of u
        ("\\u004A\\u004a", "JJ"),             # either case of hex digits
        ("\\\\u0041", "\\\\u0041"),           # an escaped backslash, then plain text
        ("\\\\\\u0041", "\\\\A"),             # three: an escaped backslash, then an escape
        ("\\u005cu0041", "\\u0041"),          # an escape's backslash starts no further escape
        ("\\u12 \\uXYZW \\u", "\\u12 \\uXYZW \\u"),  # malformed: left for javac to report
        ("\\ud835\\udc65", "𝑥"),              # a surrogate pair is one character
        ("\\ud835 x", "\ud835 x"),            # a lone surrogate stays (and is no identifier)
        ("plain ascii", "plain ascii"),
    ],
)
def test_unicode_escapes(raw: str, text: str) -> None:
    assert translate_unicode_escapes(raw) == text


# --- the file's class ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("code", "expected"),
    [
        # The program.
        ('public class нет { public static void main(String[] a) { System.out.println("Hello, World!"); } }', "нет"),
        (f"public class Привет {{ {MAIN} }}", "Привет"),
        (f"public class Καλημέρα {{ {MAIN} }}", "Καλημέρα"),
        (f"public class 你好世界 {{ {MAIN} }}", "你好世界"),
        (f"public class こんにちは {{ {MAIN} }}", "こんにちは"),
        (f"public final class $Money_2$x9 {{ {MAIN} }}", "$Money_2$x9"),
        (f"public class _имя_1 {{ {MAIN} }}", "_имя_1"),
        (f"public class Ω9$_ {{ {MAIN} }}", "Ω9$_"),
        (f"public class €uro {{ {MAIN} }}", "€uro"),
        (f"public class Cafe\u0301 {{ {MAIN} }}", "Cafe\u0301"),
        (f"public class 𝑥 {{ {MAIN} }}", "𝑥"),
        (f"public class Ⅻ {{ {MAIN} }}", "Ⅻ"),
        # Written with escapes, as javac reads them; ignorable characters dropped as javac does.
        (f"public class \\u043d\\u0435\\u0442 {{ {MAIN} }}", "нет"),
        (f"public class \\ud835\\udc65 {{ {MAIN} }}", "𝑥"),
        (f"public class A\u200bB {{ {MAIN} }}", "AB"),
        (f"public class A\\u0001B {{ {MAIN} }}", "AB"),
        # Names in comments and literals are not the class, whatever their script.
        (f"// public class Фальшивый {{}}\npublic class Настоящий {{ {MAIN} }}", "Настоящий"),
        (f"/* public class Фальшивый {{ */ public class Настоящий {{ {MAIN} }}", "Настоящий"),
        (f'class Ложный {{ String s = "public class Фальшивый {{"; }}\npublic class Истинный {{ {MAIN} }}',
         "Истинный"),
        (f"class Ложный {{ char c = '{{'; }}\npublic class Истинный {{ {MAIN} }}", "Истинный"),
        (f'class Ложный {{ String t = """\n  public class Фальшивый {{\n"""; }}\npublic class Истинный {{ {MAIN} }}',
         "Истинный"),
        # ... except where an escaped line break ends the comment (javac reads it so too).
        (f"// \\u000a public class Вырвался {{ {MAIN} }}\nclass Другой {{}}", "Вырвался"),
        # A name that starts with a non-identifier is no class.
        (f"class Запасной {{ {MAIN} }}\npublic class ①bad {{}}", "Запасной"),
        # Records, enums and interfaces with main.
        (f"public record Точка(int x, int y) {{ {MAIN} }}", "Точка"),
        (f"public enum Цвет {{ КРАСНЫЙ; {MAIN} }}", "Цвет"),
        ("public interface Λ { static void main(String[] a) { System.out.println(1); } }", "Λ"),
        (f"record Пара(int a) {{ {MAIN} }}", "Пара"),
        # Two top-level types: the public one names the file, wherever it stands.
        (f"class Помощник {{}}\npublic class Решение {{ {MAIN} }}", "Решение"),
        (f"public class Решение {{ {MAIN} }}\nclass Помощник {{}}", "Решение"),
        (f"class Помощник {{ int x; }}\nclass Программа {{ {MAIN} }}", "Программа"),
        # Annotations among the modifiers.
        (f"@SuppressWarnings(\"all\") public class Аннотация {{ {MAIN} }}", "Аннотация"),
        (f"public @Deprecated final class Устаревший {{ {MAIN} }}", "Устаревший"),
        (f"public @interface Метка {{}}\nclass Программа {{ {MAIN} }}", "Метка"),
        # Keywords inside longer identifiers are not keywords.
        (f"class Программа {{ int xclass; {MAIN} }}\nclass Другой {{}}", "Программа"),
    ],
)
def test_main_class(code: str, expected: str) -> None:
    assert main_class(code) == (None, expected)
    assert SPEC.source_name(code) == f"{expected}.java"


def test_runs_the_class_with_main() -> None:
    code = f"public interface Фигура {{}}\nfinal class Квадрат implements Фигура {{ {MAIN} }}"
    assert SPEC.source_name(code) == "Фигура.java"
    assert run_class(code) == "Квадрат"
    assert run_class(f"public class Кот {{}}\nclass Пёс {{ {MAIN} }}") == "Пёс"
    # main with its modifiers in any order.
    assert run_class("public class A {}\nclass Б { static public void main(String[] x) {} }") == "Б"
    assert run_class("public class A {}\nclass Б { final static void main(String[] x) {} }") == "Б"


def test_package_names() -> None:
    code = f"package пакет.модуль;\n\npublic class Класс {{ {MAIN} }}"
    assert main_class(code) == ("пакет.модуль", "Класс")
    assert run_class(code) == "пакет.модуль.Класс"
    assert SPEC.run_command("Класс.java", LIMITS, code)[-1] == "пакет.модуль.Класс"
    assert main_class(f"package a . b\t. 日本 ;\nclass C {{ {MAIN} }}") == ("a.b.日本", "C")
    assert main_class(f"package \\u03b1.\\u03b2;\nclass C {{ {MAIN} }}") == ("α.β", "C")
    assert main_class("// package нет;\npublic class X {}") == (None, "X")
    assert main_class('class A { String s = "\\npackage нет;"; }') == (None, "A")


# --- file names ---------------------------------------------------------------------------
def test_file_name_limits() -> None:
    assert file_name("нет") == "нет.java"
    # 200 bytes of UTF-8 is the longest name written as a file name (100 Cyrillic letters).
    assert file_name("я" * 100) == f"{'я' * 100}.java"
    assert file_name("я" * 101) == "Main.java"
    assert SPEC.source_name(f"public class {'я' * 101} {{}}") == "Main.java"
    assert file_name("中" * 67) == "Main.java"   # 201 bytes
    # Not file names at all (no identifier is one of these; defensive).
    for bad in ("", "a/b", "a\0b", "\ud800"):
        assert file_name(bad) == "Main.java", bad


def test_file_name_needs_utf8_on_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where file names would not be written as UTF-8 (the executor under a non-UTF-8
    locale), a non-ASCII class keeps Main.java: javac then reports the mismatch."""
    import executor_java.spec as spec

    monkeypatch.setattr(spec.os, "fsencode", lambda name: name.encode("latin-1"))
    assert file_name("Café") == "Main.java"
    assert file_name("Cafe") == "Cafe.java"


# --- commands -----------------------------------------------------------------------------
def test_utf8_everywhere() -> None:
    code = f"public class Привет {{ {MAIN} }}"
    name = SPEC.source_name(code)
    compile_cmd = SPEC.compile_command(name)
    assert compile_cmd[-1] == "Привет.java"
    assert compile_cmd[compile_cmd.index("-encoding") + 1] == "UTF-8"
    run_cmd = SPEC.run_command(name, LIMITS, code)
    assert run_cmd[-1] == "Привет"
    for flag in ("-Dfile.encoding=UTF-8", "-Dsun.stdout.encoding=UTF-8", "-Dsun.stderr.encoding=UTF-8"):
        assert flag in run_cmd[:-1]
        assert f"-J{flag}" in compile_cmd
    # The JVM decodes file names and its command line with the locale's charset, which no
    # flag sets: the box must get a UTF-8 locale.
    assert SPEC.env["LC_ALL"] == "C.UTF-8" and SPEC.env["LANG"] == "C.UTF-8"
