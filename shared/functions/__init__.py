"""Function (signature) judging, SPEC §9: the building blocks the gateway and the executor use.

- `types`: the parameter/return types, signature checks and test-data checks (422 messages);
- `framing`: the result channel between the generated harness and the executor (a nonce line
  on stdin, one `<nonce> <json>` line back);
- `compare`: comparing a result with the expected value as JSON values;
- `source`: static look-ups in source text (comments and literals blanked out).

Each language's generator lives in its executor package (`executor_<lang>/harness.py`) and is
reached through `LanguageSpec.function_program(code, fn)` and `LanguageSpec.missing_function`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FunctionProgram:
    """What the executor writes into the box for a function-judged job.

    `source_name` is the program's main source (what compile_command and run_command get);
    `files` holds every file to place in the box, that one included: the generated harness and
    the user's solution. The files other than `source_name` that the language compiles
    (`spec.extra_sources`) are passed to compile_command as `sources`; a C/C++ solution is
    #included by the harness instead, under a name that is not a source of the language."""

    source_name: str
    files: dict[str, str] = field(default_factory=dict)

    @property
    def extra_names(self) -> list[str]:
        return sorted(name for name in self.files if name != self.source_name)
