"""The types of function judging (SPEC §9) and the checks the gateway answers 422 with.

Types: `int` (32-bit), `long` (64-bit), `double`, `bool`, `string`, and `T[]` / `T[][]` of
those. A signature is valid when its function and parameter names can be written as they are
in every language (ASCII identifiers that are no keyword anywhere), no two parameters share a
name, the names the C convention derives (`xSize`, `xColSize`, `returnSize`,
`returnColumnSizes`) collide with nothing, and every type is one of the above. A test's
`input` is the JSON array of the arguments and its `expected` the JSON of the result; both are
checked against the signature, so every harness can trust what it parses.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any

from shared.judge_config import FunctionSpec

BASE_TYPES: tuple[str, ...] = ("int", "long", "double", "bool", "string")
MAX_DIMS = 2
ALLOWED = ", ".join(f"{b}{'[]' * d}" for d in range(MAX_DIMS + 1) for b in BASE_TYPES)

INT_RANGE = (-(2**31), 2**31 - 1)
LONG_RANGE = (-(2**63), 2**63 - 1)
MAX_NAME = 64
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_TYPE = re.compile(r"\s*([a-z]+)\s*((?:\[\s*\]\s*)*)")

# Words no name may be: keywords (and literals) of C, C++, Java, Python, JavaScript and Go,
# plus the names the harnesses themselves need (main, the Solution class, Python's self).
_C = """auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef union
unsigned void volatile while _Alignas _Alignof _Atomic _Bool _Complex _Generic _Imaginary
_Noreturn _Static_assert _Thread_local bool true false NULL"""
_CPP = """alignas alignof and and_eq asm bitand bitor catch char8_t char16_t char32_t class compl
concept consteval constexpr constinit const_cast co_await co_return co_yield decltype delete
dynamic_cast explicit export friend mutable namespace new noexcept not not_eq nullptr operator or
or_eq private protected public reinterpret_cast requires static_assert static_cast template this
thread_local throw try typeid typename using virtual wchar_t xor xor_eq std"""
_JAVA = """abstract assert boolean byte extends final finally implements import instanceof interface
native package strictfp super synchronized throws transient null var yield record sealed permits
String"""
_PYTHON = """False None True as async await def del elif except from global in is lambda nonlocal
pass raise with self"""
_JS = """debugger function let typeof arguments eval undefined NaN Infinity"""
_GO = """chan defer fallthrough func go map range select type nil iota"""
_HARNESS = """main Main Solution solution"""
RESERVED: frozenset[str] = frozenset(" ".join((_C, _CPP, _JAVA, _PYTHON, _JS, _GO, _HARNESS)).split())
# Harness identifiers start with this: no user name may.
HARNESS_PREFIX = "cp_"


@dataclass(frozen=True)
class FnType:
    base: str   # one of BASE_TYPES
    dims: int   # 0, 1 or 2

    def __str__(self) -> str:
        return self.base + "[]" * self.dims

    @property
    def element(self) -> FnType:
        """The type of one element of an array type."""
        if self.dims == 0:
            raise ValueError(f"{self} is not an array type")
        return FnType(self.base, self.dims - 1)


class SignatureError(ValueError):
    """A type or signature outside SPEC §9; the message says what is allowed."""


def parse_type(text: str) -> FnType:
    """`int[]` -> FnType("int", 1). SignatureError for anything outside the list."""
    match = _TYPE.fullmatch(text) if isinstance(text, str) else None
    if match is None or match.group(1) not in BASE_TYPES:
        raise SignatureError(f"unknown type {text!r} (allowed: {ALLOWED})")
    dims = match.group(2).count("[")
    if dims > MAX_DIMS:
        raise SignatureError(f"type {text!r} has {dims} dimensions, at most {MAX_DIMS} are allowed "
                             f"(allowed: {ALLOWED})")
    return FnType(match.group(1), dims)


def _name_errors(what: str, name: str) -> list[str]:
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name) or len(name) > MAX_NAME:
        return [f"{what} {name!r} is not an identifier in every language: use ASCII letters, digits and _, "
                f"not starting with a digit, at most {MAX_NAME} characters"]
    if name in RESERVED:
        return [f"{what} {name!r} is a reserved word in one of the languages"]
    if name.startswith(HARNESS_PREFIX):
        return [f"{what} {name!r} starts with {HARNESS_PREFIX!r}, which the generated harness reserves"]
    return []


def _type_errors(what: str, text: str) -> list[str]:
    try:
        parse_type(text)
    except SignatureError as exc:
        return [f"{what}: {exc}"]
    return []


def _derived_name_errors(fn: FunctionSpec) -> list[str]:
    """The C convention adds `xSize` (and `xColSize`) per array parameter and `returnSize`
    (and `returnColumnSizes`) for an array result: those must not collide with other names."""
    taken: dict[str, str] = {p.name: f"parameter {p.name!r}" for p in fn.params}
    errors = []
    for p in fn.params:
        dims = _dims(p.type)
        if not dims:
            continue
        for d in [f"{p.name}Size"] + ([f"{p.name}ColSize"] if dims == 2 else []):
            if d in taken:
                errors.append(f"parameter {p.name!r} ({p.type}) gets a C parameter {d!r}, "
                              f"which clashes with {taken[d]}")
            taken[d] = f"the C size parameter of {p.name!r}"
    for d in ("returnSize", "returnColumnSizes")[:_dims(fn.returns)]:
        if d in taken:
            errors.append(f"the result ({fn.returns}) gets a C parameter {d!r}, which clashes with {taken[d]}")
    return errors


def _dims(text: str) -> int:
    try:
        return parse_type(text).dims
    except SignatureError:
        return 0


def signature_errors(fn: FunctionSpec) -> list[str]:
    """Everything wrong with a signature (empty when it is valid)."""
    errors = _name_errors("function name", fn.name)
    seen: set[str] = set()
    for i, p in enumerate(fn.params):
        where = f"parameter {i + 1} ({p.name!r})"
        errors += _name_errors(f"{where}: name", p.name)
        if p.name in seen:
            errors.append(f"{where}: duplicate parameter name {p.name!r}")
        seen.add(p.name)
        errors += _type_errors(f"{where}: type", p.type)
    errors += _type_errors("returns", fn.returns)
    # The derived names only mean something once the names and types are right.
    return errors or _derived_name_errors(fn)


# --- values ------------------------------------------------------------------------------------
def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def load_json(text: str) -> Any:
    """Strict JSON (no NaN or Infinity); ValueError with the reason."""
    if not isinstance(text, str):
        raise ValueError("expected JSON text")
    return json.loads(text, parse_constant=_reject_constant)


def _scalar_errors(t: str, value: Any, where: str) -> list[str]:
    if t in ("int", "long"):
        lo, hi = INT_RANGE if t == "int" else LONG_RANGE
        if type(value) is not int:
            return [f"{where}: expected {t} (an integer), got {json.dumps(value)[:40]}"]
        if not lo <= value <= hi:
            return [f"{where}: {value} is out of the {t} range {lo}..{hi}"]
        return []
    if t == "double":
        if type(value) not in (int, float) or not math.isfinite(value):
            return [f"{where}: expected double (a number), got {json.dumps(value)[:40]}"]
        return []
    if t == "bool":
        return [] if type(value) is bool else [f"{where}: expected bool (true or false), got {json.dumps(value)[:40]}"]
    if type(value) is not str:
        return [f"{where}: expected string, got {json.dumps(value)[:40]}"]
    if "\0" in value:
        return [f"{where}: a string may not contain U+0000 (C strings end there)"]
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return [f"{where}: the string holds a lone surrogate (\\ud800-\\udfff), which is no character"]
    return []


def check_value(ftype: FnType, value: Any, where: str, limit: int = 20) -> list[str]:
    """Errors of a parsed JSON value against a type (at most `limit`)."""
    if ftype.dims == 0:
        return _scalar_errors(ftype.base, value, where)
    if type(value) is not list:
        return [f"{where}: expected {ftype} (a JSON array), got {json.dumps(value)[:40]}"]
    errors: list[str] = []
    for i, item in enumerate(value):
        errors += check_value(ftype.element, item, f"{where}[{i}]", limit)
        if len(errors) >= limit:
            return errors[:limit]
    return errors


def value_errors(type_text: str, json_text: str) -> list[str]:
    """Errors of a JSON text as a value of the type (e.g. a test's `expected` against
    `returns`); empty when it fits."""
    try:
        ftype = parse_type(type_text)
    except SignatureError as exc:
        return [str(exc)]
    try:
        value = load_json(json_text)
    except ValueError as exc:
        return [f"not valid JSON: {exc}"]
    return check_value(ftype, value, "value")


def args_errors(fn: FunctionSpec, input_json_text: str) -> list[str]:
    """Errors of a test's `input`: a JSON array with one value per parameter, each of its
    parameter's type. Assumes a valid signature (signature_errors first)."""
    try:
        args = load_json(input_json_text)
    except ValueError as exc:
        return [f"input is not valid JSON: {exc}"]
    if type(args) is not list:
        return [f"input must be a JSON array of the {len(fn.params)} arguments, got {json.dumps(args)[:40]}"]
    if len(args) != len(fn.params):
        names = ", ".join(p.name for p in fn.params)
        return [f"input has {len(args)} arguments, {fn.name}({names}) takes {len(fn.params)}"]
    errors: list[str] = []
    for i, (p, arg) in enumerate(zip(fn.params, args, strict=True)):
        errors += check_value(parse_type(p.type), arg, f"input[{i}] ({p.name}: {p.type})")
    return errors


def typed_params(fn: FunctionSpec) -> tuple[list[tuple[str, FnType]], FnType]:
    """([(name, type) of each parameter], return type) of a valid signature."""
    return [(p.name, parse_type(p.type)) for p in fn.params], parse_type(fn.returns)
