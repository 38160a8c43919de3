"""C++ (g++, C++17)."""

from __future__ import annotations

import subprocess
from collections.abc import Collection, Sequence
from pathlib import Path

from executor_cpp import harness
from shared.functions import FunctionProgram
from shared.judge_config import FunctionSpec
from shared.language_spec import LanguageSpec, build_atomically
from shared.models import ResolvedLimits

GXX = "/usr/bin/g++"
FLAGS = ("-std=c++17", "-O2")
# <bits/stdc++.h> costs ~1 s of every compile; a precompiled copy (built with exactly FLAGS,
# else g++ silently ignores it) is linked into the box as pch/bits/stdc++.h.gch and found
# through -Ipch before the system header.
PCH = "pch/bits/stdc++.h.gch"


class CppSpec(LanguageSpec):
    name = "cpp"
    profile = "cpp"
    source_file = "main.cpp"
    version_command = (GXX, "--version")

    def warm_up(self, cache_dir: Path) -> dict[str, Path]:
        deps = subprocess.run(
            [GXX, *FLAGS, "-x", "c++", "-M", "-"], input=b"#include <bits/stdc++.h>\n",
            capture_output=True, timeout=60, check=True,
        ).stdout.decode()
        header = next(tok for tok in deps.split() if tok.endswith("/bits/stdc++.h"))

        def build(tmp: Path) -> None:
            subprocess.run(
                [GXX, *FLAGS, "-x", "c++-header", "-o", str(tmp), header],
                capture_output=True, timeout=300, check=True,
            )

        return {PCH: build_atomically(cache_dir / "stdc++.h.gch", build)}

    source_suffixes = (".cpp", ".cc", ".cxx", ".c++")

    def compile_command(self, source_name: str, linked: Collection[str] = (),
                        sources: Sequence[str] = ()) -> list[str]:
        pch = ["-Ipch"] if PCH in linked else []
        return [GXX, *FLAGS, "-pipe", *pch, "-o", "main", source_name, *sources]

    def run_command(self, source_name: str, limits: ResolvedLimits, code: str = "") -> list[str]:
        return ["./main"]

    def function_program(self, code: str, fn: FunctionSpec) -> FunctionProgram:
        return harness.function_program(code, fn)

    def missing_function(self, code: str, fn: FunctionSpec) -> str | None:
        return harness.missing_function(code, fn)


SPEC = CppSpec()
