"""C++ (g++, C++17)."""

from __future__ import annotations

from shared.language_spec import LanguageSpec
from shared.models import ResolvedLimits

GXX = "/usr/bin/g++"


class CppSpec(LanguageSpec):
    name = "cpp"
    profile = "cpp"
    source_file = "main.cpp"
    version_command = (GXX, "--version")

    def compile_command(self, source_name: str) -> list[str]:
        return [GXX, "-std=c++17", "-O2", "-pipe", "-o", "main", source_name]

    def run_command(self, source_name: str, limits: ResolvedLimits, code: str = "") -> list[str]:
        return ["./main"]


SPEC = CppSpec()
