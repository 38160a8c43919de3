"""The Java harness of function judging (SPEC §9), as LeetCode writes it:

    class Solution { public int[] twoSum(int[] nums, int target) { ... } }

Types: `int`, `long`, `double`, `boolean`, `String` and their `[]` / `[][]` arrays; the
solution's file (Solution.java) gets `import java.util.*;` on its first line (so line numbers
stay the user's). Main.java holds a small JSON reader (no third-party jar) and typed writers.
"""

from __future__ import annotations

from shared.functions import FunctionProgram
from shared.functions.source import SOLUTION_CLASS, called_or_defined, mentions, missing_message
from shared.functions.types import FnType, typed_params
from shared.judge_config import FunctionSpec

SOLUTION = "Solution.java"
JAVA_TYPES = {"int": "int", "long": "long", "double": "double", "bool": "boolean", "string": "String"}
_BOXED = {"int": "Long", "long": "Long", "double": "Number", "bool": "Boolean", "string": "String"}
_UNBOX = {"int": ".intValue()", "long": ".longValue()", "double": ".doubleValue()", "bool": "", "string": ""}


def java_type(t: FnType) -> str:
    return JAVA_TYPES[t.base] + "[]" * t.dims


def method(fn: FunctionSpec) -> str:
    params, returns = typed_params(fn)
    args = ", ".join(f"{java_type(t)} {name}" for name, t in params)
    return f"public {java_type(returns)} {fn.name}({args})"


def _converter(t: FnType) -> str:
    """A static method of Main turning the parsed Object into `t`."""
    name = f"cp_{t.base}_{t.dims}"
    if t.dims == 0:
        return (f"    static {java_type(t)} {name}(Object o) {{ return (({_BOXED[t.base]}) o){_UNBOX[t.base]}; }}\n")
    element = FnType(t.base, t.dims - 1)
    # `new T[n][]` for 2-D: the element type with one dimension moved into the size
    alloc = f"new {JAVA_TYPES[t.base]}[l.size()]{'[]' * (t.dims - 1)}"
    return (f"    static {java_type(t)} {name}(Object o) {{\n"
            f"        List<?> l = (List<?>) o; {java_type(t)} a = {alloc};\n"
            f"        for (int i = 0; i < a.length; i++) a[i] = cp_{element.base}_{element.dims}(l.get(i));\n"
            f"        return a;\n    }}\n")


def _writer(t: FnType) -> str:
    if t.dims == 0:
        return ""  # the scalar writers are in _RUNTIME
    return (f"    static void cp_put(StringBuilder b, {java_type(t)} a) {{\n"
            f"        if (a == null) {{ b.append(\"null\"); return; }}\n"
            f"        b.append('[');\n"
            f"        for (int i = 0; i < a.length; i++) {{ if (i > 0) b.append(','); cp_put(b, a[i]); }}\n"
            f"        b.append(']');\n    }}\n")


_RUNTIME = r"""
    // A JSON reader for the harness's own input: numbers with a fraction or exponent become
    // Double, others Long; arrays List<Object>.
    static final class CpReader {
        final String s; int i;
        CpReader(String s) { this.s = s; }
        void ws() { while (i < s.length() && " \t\r\n".indexOf(s.charAt(i)) >= 0) i++; }
        boolean at(char c) { ws(); return i < s.length() && s.charAt(i) == c; }
        void expect(char c) {
            if (!at(c)) throw new IllegalStateException("codepipe harness: malformed input at " + i);
            i++;
        }
        Object value() {
            ws();
            char c = s.charAt(i);
            if (c == '[') {
                List<Object> l = new ArrayList<>(); i++;
                if (!at(']')) for (;;) { l.add(value()); if (!at(',')) break; i++; }
                expect(']'); return l;
            }
            if (c == '"') return string();
            if (s.startsWith("true", i)) { i += 4; return Boolean.TRUE; }
            if (s.startsWith("false", i)) { i += 5; return Boolean.FALSE; }
            if (s.startsWith("null", i)) { i += 4; return null; }
            int start = i; boolean real = false;
            while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) {
                real |= ".eE".indexOf(s.charAt(i)) >= 0;
                i++;
            }
            String t = s.substring(start, i);
            return real ? (Object) Double.valueOf(t) : (Object) Long.valueOf(t);
        }
        String string() {
            expect('"'); StringBuilder b = new StringBuilder();
            for (char c; (c = s.charAt(i++)) != '"';) {
                if (c != '\\') { b.append(c); continue; }
                char e = s.charAt(i++);
                switch (e) {
                    case 'n': b.append('\n'); break; case 't': b.append('\t'); break; case 'r': b.append('\r'); break;
                    case 'b': b.append('\b'); break; case 'f': b.append('\f'); break;
                    case 'u': b.append((char) Integer.parseInt(s.substring(i, i + 4), 16)); i += 4; break;
                    default: b.append(e);
                }
            }
            return b.toString();
        }
    }
    static void cp_put(StringBuilder b, int v) { b.append(v); }
    static void cp_put(StringBuilder b, long v) { b.append(v); }
    static void cp_put(StringBuilder b, boolean v) { b.append(v); }
    static void cp_put(StringBuilder b, double v) { if (Double.isFinite(v)) b.append(v); else b.append("null"); }
    static void cp_put(StringBuilder b, String v) {
        if (v == null) { b.append("null"); return; }
        b.append('"');
        for (int k = 0; k < v.length(); k++) {
            char c = v.charAt(k);
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format("\\u%04x", (int) c));
            else b.append(c);
        }
        b.append('"');
    }
"""


def _all_types(params: list[tuple[str, FnType]], returns: FnType) -> tuple[set[FnType], set[FnType]]:
    """(types needing a converter: the parameters' with their element types; array types
    needing a writer: the result's with its element types)."""
    readers: set[FnType] = set()
    for _, t in params:
        readers |= {FnType(t.base, d) for d in range(t.dims + 1)}
    writers = {FnType(returns.base, d) for d in range(1, returns.dims + 1)}
    return readers, writers


def main_java(fn: FunctionSpec) -> str:
    params, returns = typed_params(fn)
    readers, writers = _all_types(params, returns)
    helpers = "".join(_converter(t) for t in sorted(readers, key=str))
    helpers += "".join(_writer(t) for t in sorted(writers, key=str))
    args = "".join(f"        {java_type(t)} a{i} = cp_{t.base}_{t.dims}(cp_args.get({i}));\n"
                   for i, (_, t) in enumerate(params))
    call = ", ".join(f"a{i}" for i in range(len(params)))
    return f"""// Generated by codepipe: the harness around {SOLUTION} (SPEC §9).
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.*;

public class Main {{
{_RUNTIME}
{helpers}
    public static void main(String[] cp_argv) throws Exception {{
        String cp_in = new String(System.in.readAllBytes(), StandardCharsets.UTF_8);
        int cp_nl = cp_in.indexOf('\\n');
        if (cp_nl < 0) throw new IllegalStateException("codepipe harness: no nonce line");
        List<?> cp_args = (List<?>) new CpReader(cp_in.substring(cp_nl + 1)).value();
{args}        // the solution's prints go to stderr; the result to the stream on the original stdout
        PrintStream cp_private =
            new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
        System.out.flush();
        System.setOut(new PrintStream(new FileOutputStream(FileDescriptor.err), true, StandardCharsets.UTF_8));
        {java_type(returns)} cp_result = new Solution().{fn.name}({call});
        StringBuilder cp_b = new StringBuilder(cp_in.substring(0, cp_nl)).append(' ');
        cp_put(cp_b, cp_result);
        cp_private.print(cp_b.append('\\n'));
        cp_private.flush();
        System.out.flush();
        System.err.flush();
        Runtime.getRuntime().halt(0);
    }}
}}
"""


def function_program(code: str, fn: FunctionSpec) -> FunctionProgram:
    # On the first line, so that the compiler's line numbers are the user's.
    return FunctionProgram("Main.java", {"Main.java": main_java(fn), SOLUTION: "import java.util.*; " + code})


def missing_function(code: str, fn: FunctionSpec) -> str | None:
    if mentions(code, SOLUTION_CLASS) and mentions(code, called_or_defined(fn.name)):
        return None
    return missing_message(fn.name, f"class Solution {{ {method(fn)} {{ ... }} }}", "in class Solution")
