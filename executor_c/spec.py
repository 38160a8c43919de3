"""C (gcc, C17)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from executor_c import harness
from shared.functions import FunctionProgram
from shared.judge_config import FunctionSpec
from shared.language_spec import LanguageSpec
from shared.models import ResolvedLimits

GCC = "/usr/bin/gcc"


class CSpec(LanguageSpec):
    name = "c"
    profile = "c"
    source_file = "main.c"
    version_command = (GCC, "--version")

    source_suffixes = (".c",)

    def compile_command(self, source_name: str, linked: Collection[str] = (),
                        sources: Sequence[str] = ()) -> list[str]:
        # gnu17: the C17 language with POSIX and GNU declarations visible (strdup, getline, ...),
        # as judges usually build C; -std=c17 would hide them behind feature macros.
        return [GCC, "-std=gnu17", "-O2", "-pipe", "-o", "main", source_name, *sources, "-lm"]

    def run_command(self, source_name: str, limits: ResolvedLimits, code: str = "") -> list[str]:
        return ["./main"]

    def function_program(self, code: str, fn: FunctionSpec) -> FunctionProgram:
        return harness.function_program(code, fn)

    def missing_function(self, code: str, fn: FunctionSpec) -> str | None:
        return harness.missing_function(code, fn)


SPEC = CSpec()
