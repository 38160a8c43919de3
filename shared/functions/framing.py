"""The result channel of function judging: how the generated harness hands its one result to
the executor, so that nothing the solution prints (or does) can pass for it.

Protocol, per test:

1. stdin (`encode_input`): a line with a random nonce of this job (`new_nonce()`: 32 hex
   digits, drawn by the executor, never stored in the box), then the test's arguments as one
   line of JSON (the test's `input` array, re-serialised compactly). The expected result is
   never in the box nor on stdin: the solution cannot read it.
2. Before any code of the solution runs, the harness keeps a private duplicate of the
   original stdout and points the process's stdout at stderr, so the solution's own prints
   end in its stderr, never in the result channel: C and C++ `dup` + `dup2(2, 1)` from
   `.preinit_array` (run by the loader before every constructor: a global object's, an
   `__attribute__((constructor))` of any priority); Go the same from the initializer of the
   first package-level variable of main.go (the first file go build gets: variables are
   initialised before any init(), first in declaration order when they depend on nothing);
   Python `os.dup` + `os.dup2` before it imports solution.py; Java `System.setOut` onto
   stderr (the private stream built on `FileDescriptor.out` beforehand) before the first
   `new Solution()`, which runs its static initialisers; JavaScript `process.stdout.write`
   (which the console uses) onto stderr before it requires solution.js, the result written
   with `fs.writeSync(1)`. Both lines of stdin are read before the call. (The one
   exception: a Go submission's own local packages, sent as files in subdirectories, are
   initialised before package main, so their init() prints still reach stdout.)
3. It calls the function once, serialises the result as JSON by the declared return type, and
   writes exactly one line `<nonce> <json>\\n` to the private descriptor, then exits 0.
4. The executor (`decode_output`) accepts stdout only when it is exactly that one line with
   its nonce. No line (the solution exited or crashed before returning), two lines (something
   wrote a second result), anything before or after it, another nonce or invalid JSON: an
   error, which judging turns into WRONG_ANSWER (or the run's own RUNTIME_ERROR / limit
   verdict when it ended so) - never ACCEPTED.

In Java and JavaScript a raw write to descriptor 1 (FileDescriptor.out, fs.writeSync(1)) still
reaches stdout (neither runtime can move a descriptor): it makes stdout more than the one line,
so the test fails with a framing error; it can never forge a result without the nonce, which
only the harness's memory holds (a solution that digs it out of its own process can only
"return" a value of its choosing, which is what returning it would have done).
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any

from shared.functions.types import load_json

_NONCE = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Result:
    """The one result the harness reported: its JSON text and the parsed value."""

    text: str
    value: Any


@dataclass(frozen=True)
class FramingError:
    """Why stdout is not a result (shown to the user as the test's reason)."""

    message: str


ResultOrError = Result | FramingError


def new_nonce() -> str:
    return secrets.token_hex(16)


def encode_input(nonce: str, input_json: str) -> bytes:
    """The test's stdin: the nonce line, then the arguments on one line of JSON."""
    if not _NONCE.fullmatch(nonce):
        raise ValueError("the nonce must be 32 lowercase hex digits (new_nonce())")
    args = json.dumps(load_json(input_json), ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return f"{nonce}\n{args}\n".encode()


def decode_output(nonce: str, stdout: bytes) -> ResultOrError:
    """The result in a run's stdout, or why there is none."""
    if not stdout:
        return FramingError("the function returned no result (the program ended before it returned)")
    body = stdout[:-1] if stdout.endswith(b"\n") else stdout
    if b"\n" in body:
        lines = body.count(b"\n") + 1
        return FramingError(f"stdout holds {lines} lines where the harness writes exactly one result line "
                            f"(a raw write to the result channel, or a second result)")
    prefix = nonce.encode() + b" "
    if not body.startswith(prefix):
        return FramingError("stdout is not the harness's result line (something else wrote to the result channel)")
    try:
        text = body[len(prefix):].decode("utf-8")
        return Result(text, load_json(text))
    except (UnicodeDecodeError, ValueError) as exc:
        return FramingError(f"the result is not valid JSON: {exc}")
