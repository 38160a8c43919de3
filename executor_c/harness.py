"""The C harness of function judging (SPEC §9), LeetCode's C convention:

    int* twoSum(int* nums, int numsSize, int target, int* returnSize);
    int maxArea(int** grid, int gridSize, int* gridColSize);
    char* reverse(char* s);
    int** groups(char** words, int wordsSize, int* returnSize, int** returnColumnSizes);

`long` is `long long`, `bool` is stdbool's, `string` is a NUL-terminated UTF-8 `char*`, arrays
are malloc'ed. main.c declares the prototype (a definition that differs is a compile error),
includes the solution from solution.h (not a .c file: it is no separate translation unit) and
holds a small JSON reader and writer for exactly these types (shared.functions.framing).
"""

from __future__ import annotations

from shared.functions import FunctionProgram
from shared.functions.source import called_or_defined, mentions, missing_message
from shared.functions.types import FnType, typed_params
from shared.judge_config import FunctionSpec

SOLUTION = "solution.h"
C_TYPES = {"int": "int", "long": "long long", "double": "double", "bool": "bool", "string": "char*"}
HEADERS = ("ctype.h", "limits.h", "math.h", "stdbool.h", "stddef.h", "stdint.h", "stdio.h", "stdlib.h",
           "string.h", "unistd.h")


def c_type(t: FnType) -> str:
    return C_TYPES[t.base] + "*" * t.dims


def prototype(fn: FunctionSpec) -> str:
    """The declaration the solution must define."""
    params, returns = typed_params(fn)
    parts: list[str] = []
    for name, t in params:
        parts.append(f"{c_type(t)} {name}")
        if t.dims:
            parts.append(f"int {name}Size")
        if t.dims == 2:
            parts.append(f"int* {name}ColSize")
    parts += ["int* returnSize", "int** returnColumnSizes"][:returns.dims]
    return f"{c_type(returns)} {fn.name}({', '.join(parts) or 'void'})"


# The result channel, taken from descriptor 1 before any code of the solution runs: from
# .preinit_array, which the loader runs before every constructor (a solution's
# __attribute__((constructor)), whatever its priority, and every file's initialisers come
# after). Emitted before the solution, so it is also the first entry of that section.
_PREINIT = r"""
/* the result channel: descriptor 1, before any code of the solution runs (see _PREINIT) */
static int cp_private = -1;
static void cp_take_stdout(int argc, char **argv, char **envp) {
    (void)argc; (void)argv; (void)envp;
    cp_private = dup(1);
    if (cp_private < 0 || dup2(2, 1) < 0) _exit(3);
}
__attribute__((section(".preinit_array"), used)) static void (*cp_preinit)(int, char **, char **) = cp_take_stdout;
"""


# The reader: one function per scalar type, arrays by macro (names cp_<base>, cp_<base>_1, _2).
_RUNTIME = r"""
static const char *cp_p;
static void cp_fail(const char *what) { fprintf(stderr, "codepipe harness: malformed input (%s)\n", what); exit(3); }
static void cp_ws(void) { while (*cp_p == ' ' || *cp_p == '\t' || *cp_p == '\n' || *cp_p == '\r') cp_p++; }
static bool cp_at(char c) { cp_ws(); return *cp_p == c; }
static void cp_expect(char c) { if (!cp_at(c)) cp_fail("punctuation"); cp_p++; }
static long long cp_long(void) {
    char *end; cp_ws(); long long v = strtoll(cp_p, &end, 10);
    if (end == cp_p) cp_fail("integer");
    cp_p = end; return v;
}
static int cp_int(void) { return (int)cp_long(); }
static double cp_double(void) {
    char *end; cp_ws(); double v = strtod(cp_p, &end);
    if (end == cp_p) cp_fail("number");
    cp_p = end; return v;
}
static bool cp_bool(void) {
    cp_ws();
    if (!strncmp(cp_p, "true", 4)) { cp_p += 4; return true; }
    if (!strncmp(cp_p, "false", 5)) { cp_p += 5; return false; }
    cp_fail("bool"); return false;
}
static unsigned cp_hex4(void) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = *cp_p++; v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if ((c | 32) >= 'a' && (c | 32) <= 'f') v |= (unsigned)((c | 32) - 'a' + 10);
        else cp_fail("\\u escape");
    }
    return v;
}
static char *cp_utf8(char *o, unsigned cp) {
    int extra = cp < 0x80 ? 0 : cp < 0x800 ? 1 : cp < 0x10000 ? 2 : 3;
    static const unsigned char lead[] = { 0x00, 0xC0, 0xE0, 0xF0 };
    *o++ = (char)(lead[extra] | cp >> (6 * extra));
    for (int k = extra - 1; k >= 0; k--) *o++ = (char)(0x80 | (cp >> (6 * k) & 0x3F));
    return o;
}
static char *cp_string(void) {
    cp_expect('"');
    const char *end = cp_p;
    while (*end && *end != '"') end += (*end == '\\' && end[1]) ? 2 : 1;
    char *s = malloc((size_t)(end - cp_p) + 1), *o = s;
    while (*cp_p != '"') {
        if (!*cp_p) cp_fail("string");
        if (*cp_p != '\\') { *o++ = *cp_p++; continue; }
        char e = cp_p[1]; cp_p += 2;
        switch (e) {
        case 'n': *o++ = '\n'; break; case 't': *o++ = '\t'; break; case 'r': *o++ = '\r'; break;
        case 'b': *o++ = '\b'; break; case 'f': *o++ = '\f'; break;
        case 'u': {
            unsigned cp = cp_hex4();
            if (cp >= 0xD800 && cp < 0xDC00 && cp_p[0] == '\\' && cp_p[1] == 'u') {
                cp_p += 2; cp = 0x10000 + ((cp - 0xD800) << 10) + (cp_hex4() - 0xDC00);
            }
            o = cp_utf8(o, cp); break;
        }
        default: *o++ = e;
        }
    }
    cp_p++; *o = 0; return s;
}
#define CP_ARRAY(T, NAME, ELEM) \
static T *NAME(int *size) { \
    int n = 0, cap = 4; T *a = malloc(sizeof(T) * (size_t)cap); cp_expect('['); \
    if (!cp_at(']')) for (;;) { \
        if (n == cap) a = realloc(a, sizeof(T) * (size_t)(cap *= 2)); \
        a[n++] = ELEM(); if (!cp_at(',')) break; cp_p++; \
    } \
    cp_expect(']'); *size = n; return a; \
}
#define CP_MATRIX(T, NAME, ROW) \
static T **NAME(int *size, int **cols) { \
    int n = 0, cap = 4; T **a = malloc(sizeof(T *) * (size_t)cap); int *c = malloc(sizeof(int) * (size_t)cap); \
    cp_expect('['); \
    if (!cp_at(']')) for (;;) { \
        if (n == cap) { \
            cap *= 2; a = realloc(a, sizeof(T *) * (size_t)cap); c = realloc(c, sizeof(int) * (size_t)cap); \
        } \
        a[n] = ROW(&c[n]); n++; if (!cp_at(',')) break; cp_p++; \
    } \
    cp_expect(']'); *size = n; *cols = c; return a; \
}
#define CP_TYPE(T, B) CP_ARRAY(T, cp_##B##_1, cp_##B) CP_MATRIX(T, cp_##B##_2, cp_##B##_1)
CP_TYPE(int, int) CP_TYPE(long long, long) CP_TYPE(double, double) CP_TYPE(bool, bool) CP_TYPE(char *, string)

/* The writer: JSON of each type onto the private result stream. */
static FILE *cp_out;
static void cp_put_int(int v) { fprintf(cp_out, "%d", v); }
static void cp_put_long(long long v) { fprintf(cp_out, "%lld", v); }
static void cp_put_double(double v) { if (isfinite(v)) fprintf(cp_out, "%.17g", v); else fputs("null", cp_out); }
static void cp_put_bool(bool v) { fputs(v ? "true" : "false", cp_out); }
static void cp_put_string(const char *s) {
    if (!s) { fputs("null", cp_out); return; }
    fputc('"', cp_out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') { fputc('\\', cp_out); fputc(c, cp_out); }
        else if (c < 0x20) fprintf(cp_out, "\\u%04x", c);
        else fputc(c, cp_out);
    }
    fputc('"', cp_out);
}
#define CP_PUT(T, B) \
static void cp_put_##B##_1(T *a, int n) { \
    if (!a && n) { fputs("null", cp_out); return; } \
    fputc('[', cp_out); \
    for (int i = 0; i < n; i++) { if (i) fputc(',', cp_out); cp_put_##B(a[i]); } \
    fputc(']', cp_out); \
} \
static void cp_put_##B##_2(T **a, int n, int *cols) { \
    if (!a && n) { fputs("null", cp_out); return; } \
    fputc('[', cp_out); \
    for (int i = 0; i < n; i++) { if (i) fputc(',', cp_out); cp_put_##B##_1(a[i], cols ? cols[i] : 0); } \
    fputc(']', cp_out); \
}
CP_PUT(int, int) CP_PUT(long long, long) CP_PUT(double, double) CP_PUT(bool, bool) CP_PUT(char *, string)

static char *cp_read_all(void) {
    size_t n = 0, cap = 1 << 16; char *buf = malloc(cap); size_t got;
    while ((got = fread(buf + n, 1, cap - n - 1, stdin)) > 0) {
        n += got;
        if (cap - n < 2) buf = realloc(buf, cap *= 2);
    }
    buf[n] = 0; return buf;
}
"""


def _read_args(params: list[tuple[str, FnType]]) -> tuple[list[str], list[str]]:
    """(statements that parse the arguments into a0, a1, ..., the call's argument list)."""
    lines, call = ["    cp_expect('[');"], []
    for i, (_, t) in enumerate(params):
        var = f"a{i}"
        if i:
            lines.append("    cp_expect(',');")
        if t.dims == 0:
            lines.append(f"    {c_type(t)} {var} = cp_{t.base}();")
            call.append(var)
        elif t.dims == 1:
            lines.append(f"    int {var}_n; {c_type(t)} {var} = cp_{t.base}_1(&{var}_n);")
            call += [var, f"{var}_n"]
        else:
            lines.append(f"    int {var}_n; int *{var}_c; {c_type(t)} {var} = cp_{t.base}_2(&{var}_n, &{var}_c);")
            call += [var, f"{var}_n", f"{var}_c"]
    lines.append("    cp_expect(']');")
    return lines, call


def _call_and_put(fn: FunctionSpec, returns: FnType, call: list[str]) -> list[str]:
    args = ", ".join(call + ["&cp_rn", "&cp_rc"][:returns.dims])
    put = {0: f"cp_put_{returns.base}(cp_r);", 1: f"cp_put_{returns.base}_1(cp_r, cp_rn);",
           2: f"cp_put_{returns.base}_2(cp_r, cp_rn, cp_rc);"}[returns.dims]
    return [
        "    int cp_rn = 0; int *cp_rc = NULL; (void)cp_rn; (void)cp_rc;",
        f"    {c_type(returns)} cp_r = {fn.name}({args});",
        '    cp_out = fdopen(cp_private, "w");',
        '    fprintf(cp_out, "%s ", cp_nonce);',
        f"    {put}",
        "    fputc('\\n', cp_out);",
    ]


def main_c(fn: FunctionSpec) -> str:
    params, returns = typed_params(fn)
    reads, call = _read_args(params)
    body = [
        "int main(void) {",
        "    char *cp_nonce = cp_read_all(), *cp_nl = strchr(cp_nonce, '\\n');",
        "    if (!cp_nl) cp_fail(\"no nonce line\");",
        "    *cp_nl = 0; cp_p = cp_nl + 1;",
        *reads,
        *_call_and_put(fn, returns, call),
        "    fflush(NULL); _exit(0);",
        "}",
    ]
    head = "".join(f"#include <{h}>\n" for h in HEADERS)
    return (f"/* Generated by codepipe: the harness around {SOLUTION} (SPEC §9). */\n#define _GNU_SOURCE\n{head}\n"
            f"{prototype(fn)};\n{_PREINIT}\n#include \"{SOLUTION}\"\n{_RUNTIME}\n" + "\n".join(body) + "\n")


def function_program(code: str, fn: FunctionSpec) -> FunctionProgram:
    return FunctionProgram("main.c", {"main.c": main_c(fn), SOLUTION: code})


def missing_function(code: str, fn: FunctionSpec) -> str | None:
    if mentions(code, called_or_defined(fn.name)):
        return None
    return missing_message(fn.name, prototype(fn) + " { ... }")
