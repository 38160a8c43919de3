"""JavaScript (Node.js): `node main.js`, CommonJS (ESM syntax runs where the installed Node
detects it, Node >= 20.19).

Memory: `memory_mb` is V8's old space (`--max-old-space-size`), as -Xmx is the heap for Java.
The rest of Node (the young generation, code space, the binary's pages, libuv and native
memory: ~90 MB beside a full old space, measured) comes on top: the sandbox's javascript
profile adds that headroom to the cgroup limit itself (native_sandbox: NODE_HEADROOM_MB, 128),
so a program that fills its heap ends with V8's fatal "JavaScript heap out of memory" (MLE)
before the cgroup's OOM killer (also MLE) would. Buffers and typed arrays live outside the old
space: they count against the cgroup limit only.

Processes, exec and sockets of any family are refused by the profile's seccomp policy
(child_process, net, http, fetch -> SECURITY_VIOLATION); worker_threads are threads, bounded
like every thread by the pids allowance, and cannot do more than the main thread.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import ClassVar

from executor_javascript import harness
from shared.functions import FunctionProgram
from shared.judge_config import FunctionSpec
from shared.language_spec import LanguageSpec
from shared.models import ResolvedLimits, Verdict
from shared.sandbox import SandboxRun

NODE = "/usr/bin/node"
SH = "/bin/sh"

# V8's fatal heap messages ("FATAL ERROR: Reached heap limit Allocation failed - JavaScript
# heap out of memory", "... invalid array length Allocation failed ...", "Fatal process out of
# memory: ..."): the process aborts after them.
_OOM_MARKERS = (b"JavaScript heap out of memory", b"Allocation failed", b"Fatal process out of memory")
# The main thread's JS stack, as a share of the stack rlimit (which the helper sets to the
# memory limit): deep recursion works (10^6 frames at 256 MB) and ends in a RangeError, not
# a crash, with room left for the native frames under the JS ones.
_STACK_SHARE = 0.5
_MAX_STACK_KB = 1 << 20


def stack_kb(memory_mb: int) -> int:
    return max(984, min(_MAX_STACK_KB, int(memory_mb * 1024 * _STACK_SHARE)))


class JavaScriptSpec(LanguageSpec):
    name = "javascript"
    profile = "javascript"
    source_file = "main.js"
    version_command = (NODE, "--version")
    # UV_USE_IO_URING=0: libuv must not try io_uring (the sandbox refuses it; Node >= 20.3
    # has it off by default anyway).
    env: ClassVar[dict[str, str]] = {**LanguageSpec.env, "UV_USE_IO_URING": "0"}

    source_suffixes = (".js",)

    def compile_command(self, source_name: str, linked: Collection[str] = (),
                        sources: Sequence[str] = ()) -> list[str]:
        # A syntax check, so that a SyntaxError is a COMPILATION_ERROR (with node's own
        # message: file:line, the line, a caret) and not a runtime error of every test.
        if not sources:
            return [NODE, "--check", source_name]
        # node --check takes one file: one run per file (the others are require()d modules).
        return [SH, "-c", f'for f; do {NODE} --check "$f" || exit; done', "node-check", source_name, *sources]

    def run_command(self, source_name: str, limits: ResolvedLimits, code: str = "") -> list[str]:
        return [NODE, f"--max-old-space-size={limits.memory_mb}", f"--stack-size={stack_kb(limits.memory_mb)}",
                source_name]

    def refine_verdict(self, verdict: Verdict, run: SandboxRun, stderr: bytes) -> Verdict:
        head, tail = stderr[:4096], stderr[-4096:]
        if verdict == Verdict.RUNTIME_ERROR and any(m in head or m in tail for m in _OOM_MARKERS):
            return Verdict.MEMORY_LIMIT_EXCEEDED
        return verdict

    def function_program(self, code: str, fn: FunctionSpec) -> FunctionProgram:
        return harness.function_program(code, fn)

    def missing_function(self, code: str, fn: FunctionSpec) -> str | None:
        return harness.missing_function(code, fn)


SPEC = JavaScriptSpec()
