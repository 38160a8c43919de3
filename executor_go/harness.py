"""The Go harness of function judging (SPEC §9), as LeetCode writes it:

    func twoSum(nums []int, target int) []int { ... }

Types: `int`, `int64` for `long`, `float64`, `bool`, `string` and their slices. The solution
is solution.go in package main; code without a package clause gets `package main; ` on its
first line (line numbers stay the user's). main.go checks the function's type at compile time
(a different signature is a compile error naming the function), reads the JSON arguments with
a small typed reader, and writes the result with strconv.
"""

from __future__ import annotations

import re

from shared.functions import FunctionProgram
from shared.functions.source import mentions, missing_message, strip_c_like
from shared.functions.types import FnType, typed_params
from shared.judge_config import FunctionSpec

SOLUTION = "solution.go"
GO_TYPES = {"int": "int", "long": "int64", "double": "float64", "bool": "bool", "string": "string"}
_PACKAGE = re.compile(r"^\s*package\s+\w+", re.MULTILINE)


def go_type(t: FnType) -> str:
    return "[]" * t.dims + GO_TYPES[t.base]


def func_type(fn: FunctionSpec) -> str:
    params, returns = typed_params(fn)
    return f"func({', '.join(go_type(t) for _, t in params)}) {go_type(returns)}"


def signature(fn: FunctionSpec) -> str:
    params, returns = typed_params(fn)
    return f"func {fn.name}({', '.join(f'{n} {go_type(t)}' for n, t in params)}) {go_type(returns)}"


_RUNTIME = r"""
type cp_reader struct {
	s []byte
	i int
}

func (r *cp_reader) fail(what string) {
	fmt.Fprintf(os.Stderr, "codepipe harness: malformed input (%s)\n", what)
	os.Exit(3)
}

func (r *cp_reader) ws() {
	for r.i < len(r.s) && (r.s[r.i] == ' ' || r.s[r.i] == '\t' || r.s[r.i] == '\n' || r.s[r.i] == '\r') {
		r.i++
	}
}

func (r *cp_reader) at(c byte) bool { r.ws(); return r.i < len(r.s) && r.s[r.i] == c }

func (r *cp_reader) expect(c byte) {
	if !r.at(c) {
		r.fail("punctuation")
	}
	r.i++
}

func (r *cp_reader) token() string {
	r.ws()
	start := r.i
	for r.i < len(r.s) && strings.IndexByte("+-0123456789.eEtrufalsn", r.s[r.i]) >= 0 {
		r.i++
	}
	return string(r.s[start:r.i])
}

func cp_int64(r *cp_reader) int64 {
	v, err := strconv.ParseInt(r.token(), 10, 64)
	if err != nil {
		r.fail("integer")
	}
	return v
}

func cp_int(r *cp_reader) int { return int(cp_int64(r)) }

func cp_float64(r *cp_reader) float64 {
	v, err := strconv.ParseFloat(r.token(), 64)
	if err != nil {
		r.fail("number")
	}
	return v
}

func cp_bool(r *cp_reader) bool {
	switch r.token() {
	case "true":
		return true
	case "false":
		return false
	}
	r.fail("bool")
	return false
}

func cp_string(r *cp_reader) string {
	r.ws()
	start := r.i
	if !r.at('"') {
		r.fail("string")
	}
	for r.i++; r.i < len(r.s) && r.s[r.i] != '"'; r.i++ {
		if r.s[r.i] == '\\' {
			r.i++
		}
	}
	r.i++
	// JSON's escapes are Go's (encode_input re-serialises the input: no \/, no surrogate pairs)
	v, err := strconv.Unquote(string(r.s[start:r.i]))
	if err != nil {
		r.fail("string")
	}
	return v
}

func cp_slice[T any](elem func(*cp_reader) T) func(*cp_reader) []T {
	return func(r *cp_reader) []T {
		a := []T{}
		r.expect('[')
		if !r.at(']') {
			for {
				a = append(a, elem(r))
				if !r.at(',') {
					break
				}
				r.i++
			}
		}
		r.expect(']')
		return a
	}
}

func cp_put_int(b []byte, v int) []byte         { return strconv.AppendInt(b, int64(v), 10) }
func cp_put_int64(b []byte, v int64) []byte     { return strconv.AppendInt(b, v, 10) }
func cp_put_bool(b []byte, v bool) []byte       { return strconv.AppendBool(b, v) }
func cp_put_string(b []byte, v string) []byte   { return cp_quote(b, v) }
func cp_put_float64(b []byte, v float64) []byte {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return append(b, "null"...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// JSON quoting (strconv.Quote would write \x escapes, which JSON does not have).
func cp_quote(b []byte, s string) []byte {
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, fmt.Sprintf("\\u%04x", c)...)
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func cp_put_slice[T any](put func([]byte, T) []byte) func([]byte, []T) []byte {
	return func(b []byte, v []T) []byte {
		if v == nil {
			return append(b, "[]"...)
		}
		b = append(b, '[')
		for i, x := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = put(b, x)
		}
		return append(b, ']')
	}
}
"""


def _reader(t: FnType) -> str:
    expr = f"cp_{GO_TYPES[t.base]}"
    for _ in range(t.dims):
        expr = f"cp_slice({expr})"
    return expr


def _writer(t: FnType) -> str:
    expr = f"cp_put_{GO_TYPES[t.base]}"
    for _ in range(t.dims):
        expr = f"cp_put_slice({expr})"
    return expr


def main_go(fn: FunctionSpec) -> str:
    params, returns = typed_params(fn)
    comma = "\tcp_r.expect(',')\n"
    reads = "".join(f"{comma if i else ''}\ta{i} := {_reader(t)}(&cp_r)\n" for i, (_, t) in enumerate(params))
    call = ", ".join(f"a{i}" for i in range(len(params)))
    return f"""// Generated by codepipe: the harness around {SOLUTION} (SPEC §9).
package main

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// The result channel: a private copy of descriptor 1, taken before any code of the
// solution runs, and fd 1 pointed at stderr (os.Stdout, fmt.Print* and raw writes to 1 then
// reach stderr). Package-level variables are initialised before every init(), each in turn
// the first in declaration order that depends on none not yet initialised; this one depends
// on none and is the first declared (main.go is the first file given to go build).
var cp_private = cp_take_stdout()

func cp_take_stdout() int {{
	fd, err := syscall.Dup(1)
	if err != nil || syscall.Dup3(2, 1, 0) != nil {{
		os.Exit(3)
	}}
	return fd
}}

// The solution's function must have exactly this type.
var _ {func_type(fn)} = {fn.name}
{_RUNTIME}
func main() {{
	cp_in, _ := io.ReadAll(os.Stdin)
	cp_nl := bytes.IndexByte(cp_in, '\\n')
	if cp_nl < 0 {{
		fmt.Fprintln(os.Stderr, "codepipe harness: no nonce line")
		os.Exit(3)
	}}
	cp_r := cp_reader{{s: cp_in[cp_nl+1:]}}
	cp_r.expect('[')
{reads}	cp_r.expect(']')
	cp_result := {fn.name}({call})
	cp_out := append(append([]byte{{}}, cp_in[:cp_nl]...), ' ')
	cp_out = append({_writer(returns)}(cp_out, cp_result), '\\n')
	os.NewFile(uintptr(cp_private), "result").Write(cp_out)
	os.Exit(0)
}}
"""


def solution_go(code: str) -> str:
    """The user's code in package main: a package clause added on line 1 if it has none."""
    return code if _PACKAGE.search(strip_c_like(code)) else "package main; " + code


def function_program(code: str, fn: FunctionSpec) -> FunctionProgram:
    return FunctionProgram("main.go", {"main.go": main_go(fn), SOLUTION: solution_go(code)})


def missing_function(code: str, fn: FunctionSpec) -> str | None:
    if mentions(code, rf"(?<!\w)func\s+{re.escape(fn.name)}\s*\("):
        return None
    return missing_message(fn.name, signature(fn) + " { ... }")
