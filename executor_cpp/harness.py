"""The C++ harness of function judging (SPEC §9), as LeetCode writes it:

    #include <bits/stdc++.h>
    using namespace std;
    class Solution { public: vector<int> twoSum(vector<int>& nums, int target) { ... } };

`long` is `long long`, `T[]` is `vector<T>` (the harness passes lvalues, so `vector<T>&`,
`const vector<T>&` and by-value all work), `string` is std::string. main.cpp starts with
bits/stdc++.h (so the executor's precompiled header applies), includes the solution from
solution.hpp (no separate translation unit), and reads/writes JSON with overloads per type.
"""

from __future__ import annotations

from shared.functions import FunctionProgram
from shared.functions.source import SOLUTION_CLASS, called_or_defined, mentions, missing_message
from shared.functions.types import FnType, typed_params
from shared.judge_config import FunctionSpec

SOLUTION = "solution.hpp"
CPP_TYPES = {"int": "int", "long": "long long", "double": "double", "bool": "bool", "string": "string"}


def cpp_type(t: FnType) -> str:
    inner = CPP_TYPES[t.base]
    for _ in range(t.dims):
        inner = f"vector<{inner}>"
    return inner


def method(fn: FunctionSpec) -> str:
    params, returns = typed_params(fn)
    args = ", ".join(f"{cpp_type(t)}{'&' if t.dims else ''} {name}" for name, t in params)
    return f"{cpp_type(returns)} {fn.name}({args})"


# The result channel, taken from descriptor 1 before any code of the solution runs: from
# .preinit_array, which the loader runs before every constructor (a global object's, or an
# __attribute__((constructor)) of any priority, in any file). Emitted before the solution,
# so it is also the first entry of that section.
_PREINIT = r"""
static int cp_private = -1;
static void cp_take_stdout(int, char **, char **) {
    cp_private = dup(1);
    if (cp_private < 0 || dup2(2, 1) < 0) _exit(3);
}
__attribute__((section(".preinit_array"), used)) static void (*cp_preinit)(int, char **, char **) = cp_take_stdout;
"""

_RUNTIME = r"""
namespace cp_harness {
struct Reader {
    const char *p;
    [[noreturn]] void fail(const char *what) {
        fprintf(stderr, "codepipe harness: malformed input (%s)\n", what); exit(3);
    }
    void ws() { while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++; }
    bool at(char c) { ws(); return *p == c; }
    void expect(char c) { if (!at(c)) fail("punctuation"); p++; }
    unsigned hex4() {
        unsigned v = 0;
        for (int i = 0; i < 4; i++) {
            char c = *p++; v <<= 4;
            if (c >= '0' && c <= '9') v |= unsigned(c - '0');
            else if ((c | 32) >= 'a' && (c | 32) <= 'f') v |= unsigned((c | 32) - 'a' + 10);
            else fail("\\u escape");
        }
        return v;
    }
};
inline void utf8(string &o, unsigned cp) {
    int extra = cp < 0x80 ? 0 : cp < 0x800 ? 1 : cp < 0x10000 ? 2 : 3;
    static const unsigned char lead[] = {0x00, 0xC0, 0xE0, 0xF0};
    o += char(lead[extra] | cp >> (6 * extra));
    for (int k = extra - 1; k >= 0; k--) o += char(0x80 | (cp >> (6 * k) & 0x3F));
}
inline void read(Reader &r, long long &v) {
    char *end; r.ws(); v = strtoll(r.p, &end, 10); if (end == r.p) r.fail("integer"); r.p = end;
}
inline void read(Reader &r, int &v) { long long x; read(r, x); v = int(x); }
inline void read(Reader &r, double &v) {
    char *end; r.ws(); v = strtod(r.p, &end); if (end == r.p) r.fail("number"); r.p = end;
}
inline void read(Reader &r, bool &v) {
    r.ws();
    if (!strncmp(r.p, "true", 4)) { r.p += 4; v = true; }
    else if (!strncmp(r.p, "false", 5)) { r.p += 5; v = false; }
    else r.fail("bool");
}
inline void read(Reader &r, string &s) {
    r.expect('"');
    while (*r.p != '"') {
        if (!*r.p) r.fail("string");
        if (*r.p != '\\') { s += *r.p++; continue; }
        char e = r.p[1]; r.p += 2;
        switch (e) {
        case 'n': s += '\n'; break; case 't': s += '\t'; break; case 'r': s += '\r'; break;
        case 'b': s += '\b'; break; case 'f': s += '\f'; break;
        case 'u': {
            unsigned cp = r.hex4();
            if (cp >= 0xD800 && cp < 0xDC00 && r.p[0] == '\\' && r.p[1] == 'u') {
                r.p += 2; cp = 0x10000 + ((cp - 0xD800) << 10) + (r.hex4() - 0xDC00);
            }
            utf8(s, cp); break;
        }
        default: s += e;
        }
    }
    r.p++;
}
template <class T> void read(Reader &r, vector<T> &v) {
    r.expect('[');
    if (!r.at(']')) for (;;) { T x; read(r, x); v.push_back(x); if (!r.at(',')) break; r.p++; }
    r.expect(']');
}
inline void put(string &o, long long v) { o += to_string(v); }
inline void put(string &o, int v) { o += to_string(v); }
inline void put(string &o, bool v) { o += v ? "true" : "false"; }
inline void put(string &o, double v) {
    if (!isfinite(v)) { o += "null"; return; }
    char b[32]; snprintf(b, sizeof b, "%.17g", v); o += b;
}
inline void put(string &o, const string &s) {
    o += '"';
    for (unsigned char c : s) {
        if (c == '"' || c == '\\') { o += '\\'; o += char(c); }
        else if (c < 0x20) { char b[8]; snprintf(b, sizeof b, "\\u%04x", c); o += b; }
        else o += char(c);
    }
    o += '"';
}
template <class T> void put(string &o, const vector<T> &v) {
    o += '[';
    for (size_t i = 0; i < v.size(); i++) { if (i) o += ','; T x = v[i]; put(o, x); }
    o += ']';
}
inline string read_all() {
    string s; char b[1 << 16]; size_t n;
    while ((n = fread(b, 1, sizeof b, stdin)) > 0) s.append(b, n);
    return s;
}
}  // namespace cp_harness
"""


def main_cpp(fn: FunctionSpec) -> str:
    params, returns = typed_params(fn)
    reads = []
    for i, (_, t) in enumerate(params):
        sep = "cp_r.expect(','); " if i else ""
        reads.append(f"    {sep}{cpp_type(t)} a{i}{{}}; cp_harness::read(cp_r, a{i});")
    call = ", ".join(f"a{i}" for i in range(len(params)))
    body = [
        "int main() {",
        "    string cp_in = cp_harness::read_all();",
        "    size_t cp_nl = cp_in.find('\\n');",
        "    cp_harness::Reader cp_r{cp_in.c_str() + (cp_nl == string::npos ? cp_in.size() : cp_nl + 1)};",
        "    if (cp_nl == string::npos) cp_r.fail(\"no nonce line\");",
        "    string cp_out = cp_in.substr(0, cp_nl) + ' ';",
        "    cp_r.expect('[');",
        *reads,
        "    cp_r.expect(']');",
        "    Solution cp_s;",
        f"    {cpp_type(returns)} cp_result = cp_s.{fn.name}({call});",
        "    cp_harness::put(cp_out, cp_result); cp_out += '\\n';",
        "    for (size_t o = 0; o < cp_out.size();) {",
        "        ssize_t w = write(cp_private, cp_out.data() + o, cp_out.size() - o);",
        "        if (w <= 0) _exit(3);",
        "        o += size_t(w);",
        "    }",
        "    cout.flush(); fflush(NULL); _exit(0);",
        "}",
    ]
    head = f"#include <bits/stdc++.h>\n#include <unistd.h>\nusing namespace std;\n{_PREINIT}#include \"{SOLUTION}\"\n"
    note = f"// Generated by codepipe: the harness around {SOLUTION} (SPEC §9).\n"
    return head + note + _RUNTIME + "\n" + "\n".join(body) + "\n"


def function_program(code: str, fn: FunctionSpec) -> FunctionProgram:
    return FunctionProgram("main.cpp", {"main.cpp": main_cpp(fn), SOLUTION: code})


def missing_function(code: str, fn: FunctionSpec) -> str | None:
    if mentions(code, SOLUTION_CLASS) and mentions(code, called_or_defined(fn.name)):
        return None
    return missing_message(fn.name, f"class Solution {{ public: {method(fn)} {{ ... }} }};", "in class Solution")
