"""Java public classes of any name (issue 15), through the real stack (emulator + gateway +
Java executor + sandbox helper) over HTTP: classes named in any script, with escapes, in
packages, next to decoys in comments and literals; their output and input are UTF-8.

A Java job costs about a second: every program is submitted at once by a module fixture
and the executor works through them concurrently; each test then checks its job's result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.executors]

MAIN = "public static void main(String[] args) throws Exception"


@dataclass(frozen=True)
class Case:
    code: str
    stdout: str
    stdin: str = ""
    verdict: str = "ACCEPTED"

    def body(self) -> dict[str, Any]:
        # exact: the output must be these bytes, not merely the same text modulo spaces.
        return {"language": "java", "code": self.code, "compare": "exact",
                "test_cases": [{"input": self.stdin, "expected": self.stdout}]}


def named(kind: str, name: str, header: str = "", *, source_name: str | None = None) -> Case:
    """A public `kind` (class, record, enum, interface) whose main prints the class's name as
    the JVM knows it. `source_name`: how the source spells the name (escapes, ignorables)."""
    spelled = source_name or name
    decl = {"class": f"class {spelled}", "record": f"record {spelled}(int x)",
            "enum": f"enum {spelled}", "interface": f"interface {spelled}"}[kind]
    first = "ONE; " if kind == "enum" else ""
    main = "static void main(String[] args)" if kind == "interface" else MAIN
    code = f"{header}public {decl} {{ {first}{main} {{ System.out.println({name}.class.getName() + \" ok\"); }} }}\n"
    return Case(code, f"{name} ok\n")


CASES: dict[str, Case] = {
    # The issue's program, verbatim.
    "issue": Case('public class нет { public static void main(String[] a) { System.out.println("Hello, World!"); } }',
                  "Hello, World!\n"),
    "cyrillic": named("class", "Привет"),
    "greek": named("class", "Καλημέρα"),
    "cjk": named("class", "你好世界"),
    "dollar-underscore-digits": named("class", "$Деньги_2$x9"),
    "underscore-first": named("class", "_имя_1"),
    "supplementary": named("class", "𝑥𝑦"),
    "combining-mark": named("class", "Cafe\u0301"),
    "escaped": named("class", "нет1", source_name="\\u043d\\u0435\\u0442\\u0031"),
    "ignorable": named("class", "ИмяКласса", source_name="Имя\u200bКласса"),
    "record": named("record", "Точка"),
    "enum": named("enum", "Цвет"),
    "interface": named("interface", "Λάμδα"),
    "package": Case(f"package пакет.модуль;\n\npublic class Класс {{ {MAIN} {{ "
                    "System.out.println(Класс.class.getName()); } }\n", "пакет.модуль.Класс\n"),
    # Decoys: names that come first in comments and literals must not be picked.
    "comment-decoy": Case(
        "// public class Фальшивый {}\n/* public class Ложный { */\n"
        f'public class Настоящий {{ {MAIN} {{ System.out.println("настоящий"); }} }}\n',
        "настоящий\n"),
    "literal-decoy": Case(
        'class Помощник { static String s = "public class Фальшивый {"; static char c = \'{\';\n'
        '  static String t = """\n    public class Ложный {\n    """; }\n'
        f"public class Истинный {{ {MAIN} {{ System.out.println(Помощник.s.length() + Помощник.t.length()); }} }}\n",
        "46\n"),
    # Two top-level types: the public one names the file; the one with main runs.
    "two-types": Case(
        'class Помощник { static String привет() { return "привет"; } }\n'
        f"public class Решение {{ {MAIN} {{ System.out.println(Помощник.привет()); }} }}\n",
        "привет\n"),
    "two-types-main-not-public": Case(
        "public interface Фигура { String имя(); }\n"
        'final class Квадрат implements Фигура { public String имя() { return "квадрат"; }\n'
        f"  {MAIN} {{ System.out.println(new Квадрат().имя()); }} }}\n",
        "квадрат\n"),
    # Text in and out is UTF-8 (stdin decoded, stdout and stderr encoded).
    "utf8-io": Case(
        "import java.util.*;\n"
        f"public class Эхо {{ {MAIN} {{ Scanner in = new Scanner(System.in);\n"
        '  System.out.println("привет, " + in.nextLine()); System.err.println("ошибка ✓"); } }\n',
        "привет, мир\n", stdin="мир\n"),
    # Errors stay the program's: javac's message names the non-ASCII file; a name too long to
    # be a file name is javac's error too, not an internal one.
    "compile-error": Case("public class Ошибка { int x = }\n", "", verdict="COMPILATION_ERROR"),
    "overlong": Case(f"public class {'я' * 101} {{ {MAIN} {{ }} }}\n", "", verdict="COMPILATION_ERROR"),
}


@pytest.fixture(scope="module")
def results(stack: Stack) -> dict[str, dict[str, Any]]:
    stack.require_executors("java")
    return stack.run_all({key: case.body() for key, case in CASES.items()}, timeout=240)


def _explain(result: dict[str, Any]) -> str:
    tests = result.get("results") or [{}]
    return (f"verdict={result.get('verdict')} status={result.get('status')} error={result.get('error')}\n"
            f"compilation_error={str(result.get('compilation_error'))[:800]}\n"
            f"first test={ {k: v for k, v in tests[0].items() if not k.endswith('_url')} }")


@pytest.mark.parametrize("key", [k for k, c in CASES.items() if c.verdict == "ACCEPTED"])
def test_program_runs(results: dict[str, dict[str, Any]], key: str) -> None:
    result = results[key]
    assert result["status"] == "completed", _explain(result)
    assert result["verdict"] == "ACCEPTED", _explain(result)
    assert result["compilation_error"] is None
    (test,) = result["results"]
    assert test["actual"] == CASES[key].stdout and test["exit_code"] == 0, _explain(result)


def test_output_bytes_are_utf8(stack: Stack, results: dict[str, dict[str, Any]]) -> None:
    result = results["utf8-io"]
    assert result["verdict"] == "ACCEPTED", _explain(result)
    prefix = stack.store().get(result["id"])["output_prefix"]
    blobs = stack.blobs()
    assert blobs.get_bytes(f"{prefix}tests/1.stdout") == "привет, мир\n".encode()
    assert blobs.get_bytes(f"{prefix}tests/1.stderr") == "ошибка ✓\n".encode()
    assert result["results"][0]["stderr"] == "ошибка ✓\n"


def test_compile_error_names_the_file(results: dict[str, dict[str, Any]]) -> None:
    result = results["compile-error"]
    assert result["status"] == "completed", _explain(result)
    assert result["verdict"] == "COMPILATION_ERROR", _explain(result)
    message = result["compilation_error"]
    # The file was named after the class (no "should be declared in a file named" error),
    # and javac's message came back as UTF-8.
    assert "Ошибка.java" in message and "public class Ошибка" in message, message
    assert "should be declared in a file named" not in message and "\ufffd" not in message, message


def test_overlong_name_is_a_compilation_error(results: dict[str, dict[str, Any]]) -> None:
    result = results["overlong"]
    assert result["status"] == "completed", _explain(result)
    assert result["verdict"] == "COMPILATION_ERROR", _explain(result)
    assert "Main.java" in result["compilation_error"], _explain(result)
