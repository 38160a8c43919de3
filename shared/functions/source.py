"""Static look-ups in a solution's source for `missing_function`: is the function (or the
Solution class) there? Comments and literals are blanked out first, so a name in a comment or
a string does not count. A look-up that finds the name lets the compiler have the last word."""

from __future__ import annotations

import re

# C, C++, Java, JavaScript and Go: // and /* */ comments; "..." and '...' literals; `...`
# (Go raw strings, JavaScript templates).
_C_LIKE = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'|`[^`]*`', re.DOTALL)


def strip_c_like(code: str) -> str:
    """`code` with comments and literals replaced by spaces (line structure kept)."""
    return _C_LIKE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), code)


def mentions(code: str, pattern: str) -> bool:
    """Does the stripped code match `pattern` (a regex)?"""
    return re.search(pattern, strip_c_like(code)) is not None


def called_or_defined(name: str) -> str:
    """A pattern for `name(` as a whole word."""
    return rf"(?<![A-Za-z0-9_$]){re.escape(name)}\s*\("


SOLUTION_CLASS = r"(?<![A-Za-z0-9_$])(?:class|struct)\s+Solution\b"


def missing_message(name: str, signature: str, where: str = "") -> str:
    """The COMPILATION_ERROR text when the solution does not define the function."""
    place = f" {where}" if where else ""
    shown = "".join(f"    {line}\n" for line in signature.splitlines())  # each line (Python's class and def)
    return f"the solution does not define the function {name}{place}; expected:\n{shown}"
