"""What a user reads when the compile step fails: the compiler's own words, made relative to
the job's box, with the reason when the sandbox stopped the compiler, bounded in size."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from shared.models import ResolvedLimits

# What the `compilation_error` field holds at most (the full compiler stderr is in S3).
COMPILE_ERROR_LIMIT = 8 * 1024
# The compiler's own output limit in the sandbox.
COMPILE_OUTPUT_KB = 1024


def compile_error_text(
    status: str, exit_code: int, signal_number: int, err: bytes, out: bytes, roots: Sequence[Path],
    limits: ResolvedLimits,
) -> str:
    reason = {
        "TLE": f"compilation exceeded its time limit ({limits.time_ms} ms CPU / {limits.wall_ms} ms wall)",
        "MLE": f"compilation exceeded its memory limit ({limits.memory_mb} MB)",
        "OLE": f"compiler output exceeded {COMPILE_OUTPUT_KB} KB",
        "SV": "the compiler was stopped by the sandbox",
    }.get(status)
    if status == "RE" and signal_number:
        reason = f"the compiler was killed by signal {signal_number}"
    text = err.decode("utf-8", "replace")
    if out.strip():
        text += ("\n" if text and not text.endswith("\n") else "") + out.decode("utf-8", "replace")
    # Host paths mean nothing to the user (and should not leak): make them relative.
    for path in (p for root in roots for p in (str(root) + "/", str(root))):
        text = text.replace(path, "")
    if reason:
        text = f"{reason}\n{text}" if text.strip() else reason
    text = text.rstrip() + "\n"
    if not text.strip():
        text = f"compilation failed (exit {exit_code})\n"
    raw = text.encode("utf-8")
    if len(raw) > COMPILE_ERROR_LIMIT:
        text = raw[:COMPILE_ERROR_LIMIT].decode("utf-8", "ignore") + "\n... (truncated)"
    return text
