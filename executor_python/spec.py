"""Python 3 (Debian's CPython, not whatever python3 is first on PATH)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from executor_python import harness
from shared.functions import FunctionProgram
from shared.judge_config import FunctionSpec
from shared.language_spec import LanguageSpec
from shared.models import ResolvedLimits, Verdict
from shared.sandbox import SandboxRun

PYTHON = "/usr/bin/python3"

# Byte-compile so that a SyntaxError is a COMPILATION_ERROR (not a runtime error), and print
# only the compiler's message (no traceback through py_compile's internals).
_COMPILE = (
    "import py_compile, sys, traceback\n"
    "try:\n"
    "    py_compile.compile('main.py', cfile='main.pyc', dfile='main.py', doraise=True)\n"
    "except py_compile.PyCompileError as e:\n"
    "    sys.stderr.write(e.msg + '\\n'); sys.exit(1)\n"
    # the other .py files (a function's solution.py, extra modules): a syntax check only
    "for name in sys.argv[1:]:\n"
    "    try:\n"
    "        compile(open(name, 'rb').read(), name, 'exec', dont_inherit=True)\n"
    "    except (SyntaxError, ValueError) as e:\n"
    "        sys.stderr.write(''.join(traceback.format_exception_only(type(e), e))); sys.exit(1)\n"
)


class PythonSpec(LanguageSpec):
    name = "python"
    profile = "python"
    source_file = "main.py"
    version_command = (PYTHON, "--version")
    env = {**LanguageSpec.env, "PYTHONIOENCODING": "utf-8", "PYTHONHASHSEED": "0"}
    source_suffixes = (".py",)

    def compile_command(self, source_name: str, linked: Collection[str] = (),
                        sources: Sequence[str] = ()) -> list[str]:
        # -I: ignore PYTHON* variables and the user site; -B: no __pycache__ writes.
        return [PYTHON, "-I", "-B", "-c", _COMPILE, *sources]

    def run_command(self, source_name: str, limits: ResolvedLimits, code: str = "") -> list[str]:
        # -B: the box may be read-only for caches; -s: no user site-packages. `site` itself
        # stays on (programs use exit()/quit(), which it defines). Running the .pyc skips a
        # second parse.
        return [PYTHON, "-B", "-s", "main.pyc"]

    def refine_verdict(self, verdict: Verdict, run: SandboxRun, stderr: bytes) -> Verdict:
        # An allocation refused under the memory limit surfaces as an uncaught MemoryError.
        # The traceback's last line names it; a program merely printing the word does not count.
        lines = stderr[-4096:].rstrip().splitlines()
        if verdict == Verdict.RUNTIME_ERROR and lines and lines[-1].startswith(b"MemoryError"):
            return Verdict.MEMORY_LIMIT_EXCEEDED
        return verdict

    def function_program(self, code: str, fn: FunctionSpec) -> FunctionProgram:
        return harness.function_program(code, fn)

    def missing_function(self, code: str, fn: FunctionSpec) -> str | None:
        return harness.missing_function(code, fn)


SPEC = PythonSpec()
