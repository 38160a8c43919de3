"""Every verdict of SPEC §4, produced by a real program in each language, through the real
stack (emulator + gateway + executors + sandbox helper) over HTTP.

To keep the wall time down (2 cores; a Java job costs about a second), all the programs of
the verdict matrix are submitted at once by a module fixture and the four executors work
through their queues in parallel; each test then only checks its job's result.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.executors]

LANGS = ("c", "cpp", "java", "python", "go", "javascript")
SUM_TEST = [{"input": "1 2\n", "expected": "3\n"}]
# Tight limits so the limit verdicts come quickly. Java's heap follows memory_mb.
FAST = {"time_ms": 1000, "wall_ms": 3000, "memory_mb": 64, "output_kb": 64}


@dataclass
class Case:
    language: str
    code: str
    verdict: str
    test_cases: list[dict[str, Any]] | None = field(default_factory=lambda: list(SUM_TEST))
    limits: dict[str, int] | None = field(default_factory=lambda: dict(FAST))
    extra: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"language": self.language, "code": self.code, **self.extra}
        if self.test_cases is not None:
            body["test_cases"] = self.test_cases
        if self.limits is not None:
            body["limits"] = self.limits
        return body


# --- programs -----------------------------------------------------------------------------
# _GNU_SOURCE: harmless under -std=gnu17 and keeps these programs buildable with strict -std=c17.
C_HEAD = "#define _GNU_SOURCE\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n#include <unistd.h>\n"
CPP_HEAD = "#include <bits/stdc++.h>\n#include <unistd.h>\n#include <sys/socket.h>\nusing namespace std;\n"


def go(body: str, imports: str = '"fmt"') -> str:
    return f"package main\n\nimport ({imports})\n\nfunc main() {{\n{body}\n}}\n"


JS_READ = "const data = require('fs').readFileSync(0, 'utf8');\nconst [a, b] = data.trim().split(/\\s+/).map(Number);\n"


def java(body: str, cls: str = "Main", imports: str = "import java.util.*;\n") -> str:
    main = "  public static void main(String[] args) throws Exception {"
    return f"{imports}public class {cls} {{\n{main}\n{body}\n  }}\n}}\n"


PROGRAMS: dict[str, dict[str, str]] = {
    "c": {
        "ACCEPTED": C_HEAD + 'int main(void){int a,b; if(scanf("%d %d",&a,&b)!=2) return 1; printf("%d\\n",a+b);}',
        "WRONG_ANSWER": C_HEAD + 'int main(void){int a,b; scanf("%d %d",&a,&b); printf("%d\\n",a+b+1);}',
        "TIME_LIMIT_EXCEEDED": C_HEAD + "int main(void){volatile unsigned long x=0; for(;;) x++;}",
        "MEMORY_LIMIT_EXCEEDED": C_HEAD
        + "int main(void){for(int i=0;i<1024;i++){char*p=malloc(1<<20); if(!p) abort(); memset(p,1,1<<20);} "
        'puts("survived"); return 0;}',
        "OUTPUT_LIMIT_EXCEEDED": C_HEAD + 'int main(void){for(;;) puts("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");}',
        "RUNTIME_ERROR": C_HEAD + "int main(void){return 3;}",
        "SECURITY_VIOLATION": C_HEAD + 'int main(void){pid_t p = fork(); printf("%d\\n", (int)p); return 0;}',
        "COMPILATION_ERROR": C_HEAD + "int main(void){ return 0 }",
    },
    "cpp": {
        "ACCEPTED": CPP_HEAD + "int main(){long a,b; cin>>a>>b; cout<<a+b<<endl;}",
        "WRONG_ANSWER": CPP_HEAD + 'int main(){long a,b; cin>>a>>b; cout<<a-b<<"\\n";}',
        "TIME_LIMIT_EXCEEDED": CPP_HEAD + "int main(){volatile unsigned long x=0; while(true) x++;}",
        "MEMORY_LIMIT_EXCEEDED": CPP_HEAD
        + "int main(){vector<vector<char>> v; for(int i=0;i<1024;i++) v.emplace_back(1<<20, 'x'); "
        "cout<<v.size()<<endl;}",
        "OUTPUT_LIMIT_EXCEEDED": CPP_HEAD + 'int main(){string s(1000, \'y\'); for(;;) cout<<s<<"\\n";}',
        "RUNTIME_ERROR": CPP_HEAD + 'int main(){throw runtime_error("boom");}',
        "SECURITY_VIOLATION": CPP_HEAD + "int main(){int s = socket(AF_INET, SOCK_STREAM, 0); cout<<s<<endl;}",
        "COMPILATION_ERROR": CPP_HEAD + "int main(){ undefined_function(); }",
    },
    "java": {
        "ACCEPTED": java(
            "    Scanner s = new Scanner(System.in);\n    System.out.println(s.nextLong() + s.nextLong());",
            cls="Solution",
        ),
        "WRONG_ANSWER": java("    System.out.println(42);"),
        "TIME_LIMIT_EXCEEDED": java("    long x = 0; while (true) { x++; if (x == -1) break; }\n"
                                    "    System.out.println(x);"),
        "MEMORY_LIMIT_EXCEEDED": java("    List<long[]> keep = new ArrayList<>();\n"
                                      "    while (true) keep.add(new long[1 << 20]);"),
        "OUTPUT_LIMIT_EXCEEDED": java('    String s = "z".repeat(1000);\n    while (true) System.out.println(s);'),
        "RUNTIME_ERROR": java('    throw new IllegalStateException("boom");'),
        "SECURITY_VIOLATION": java('    Process p = Runtime.getRuntime().exec(new String[]{"/bin/true"});\n'
                                   "    System.out.println(p.waitFor());"),
        "COMPILATION_ERROR": java("    int x = \n"),
    },
    "python": {
        "ACCEPTED": "a, b = map(int, input().split())\nprint(a + b)\n",
        "WRONG_ANSWER": "print('three')\n",
        "TIME_LIMIT_EXCEEDED": "while True:\n    pass\n",
        "MEMORY_LIMIT_EXCEEDED": "data = b'x' * (512 * 1024 * 1024)\nprint(len(data))\n",
        "OUTPUT_LIMIT_EXCEEDED": "s = 'q' * 1000\nwhile True:\n    print(s)\n",
        "RUNTIME_ERROR": "import sys\nsys.exit(3)\n",
        "SECURITY_VIOLATION": "import os\npid = os.fork()\nprint(pid)\n",
        "COMPILATION_ERROR": "def f(:\n    pass\n",
    },
    "go": {
        "ACCEPTED": go("\tvar a, b int64\n\tfmt.Scan(&a, &b)\n\tfmt.Println(a + b)"),
        "WRONG_ANSWER": go("\tvar a, b int\n\tfmt.Scan(&a, &b)\n\tfmt.Println(a * b * 7)"),
        "TIME_LIMIT_EXCEEDED": go("\tx := 0\n\tfor i := 1; i != 0; i++ {\n\t\tx ^= i\n\t}\n\tfmt.Println(x)"),
        "MEMORY_LIMIT_EXCEEDED": go("\tvar keep [][]byte\n\tfor i := 0; i < 1024; i++ {\n"
                                    "\t\tb := make([]byte, 1<<20)\n\t\tfor j := range b {\n\t\t\tb[j] = 1\n\t\t}\n"
                                    "\t\tkeep = append(keep, b)\n\t}\n\tfmt.Println(len(keep))"),
        "OUTPUT_LIMIT_EXCEEDED": go('\ts := strings.Repeat("w", 1000)\n\tfor {\n\t\tfmt.Println(s)\n\t}',
                                    imports='"fmt"; "strings"'),
        "RUNTIME_ERROR": go("\tfmt.Println()\n\tos.Exit(3)", imports='"fmt"; "os"'),
        "SECURITY_VIOLATION": go('\terr := exec.Command("/bin/true").Run()\n\tfmt.Println(err)',
                                 imports='"fmt"; "os/exec"'),
        "COMPILATION_ERROR": go("\tx := \n\tfmt.Println(x)"),
    },
    "javascript": {
        "ACCEPTED": JS_READ + "console.log(a + b);\n",
        "WRONG_ANSWER": JS_READ + "console.log(String(a) + String(b));\n",
        "TIME_LIMIT_EXCEEDED": "let x = 0;\nfor (;;) { x++; }\n",
        "MEMORY_LIMIT_EXCEEDED": "const keep = [];\nfor (;;) keep.push(new Array(1 << 20).fill(1.5));\n",
        "OUTPUT_LIMIT_EXCEEDED": "const s = 'j'.repeat(1000);\nfor (;;) console.log(s);\n",
        "RUNTIME_ERROR": "process.exit(3);\n",
        "SECURITY_VIOLATION": "console.log(require('child_process').execSync('echo pwned').toString());\n",
        "COMPILATION_ERROR": "let x = ;\nconsole.log(x);\n",
    },
}

# Second programs for the verdicts with more than one classic cause.
EXTRA: dict[str, list[tuple[str, str, str]]] = {
    "c": [
        ("segfault", "RUNTIME_ERROR", C_HEAD + "int main(void){volatile int *p = 0; *p = 1; return 0;}"),
        ("socket", "SECURITY_VIOLATION",
         C_HEAD + "#include <sys/socket.h>\nint main(void){printf(\"%d\\n\", socket(AF_INET, SOCK_STREAM, 0));}"),
    ],
    "cpp": [
        ("fork", "SECURITY_VIOLATION", CPP_HEAD + "int main(){cout<<fork()<<endl;}"),
    ],
    "java": [
        ("exit3", "RUNTIME_ERROR", java("    System.exit(3);")),
        ("socket", "SECURITY_VIOLATION",
         java('    new java.net.Socket("127.0.0.1", 80);\n    System.out.println("connected");')),
    ],
    "python": [
        ("exception", "RUNTIME_ERROR", "raise ValueError('boom')\n"),
        ("socket", "SECURITY_VIOLATION", "import socket\ns = socket.socket()\nprint(s)\n"),
    ],
    "go": [
        ("panic", "RUNTIME_ERROR", go("\tvar a []int\n\tfmt.Println(a[5])")),
        ("socket", "SECURITY_VIOLATION",
         go('\tc, err := net.Dial("tcp", "127.0.0.1:80")\n\tfmt.Println(c, err)', imports='"fmt"; "net"')),
        ("static-array", "MEMORY_LIMIT_EXCEEDED",
         "package main\n\nimport \"fmt\"\n\nvar big [200 << 20]byte\n\nfunc main() {\n"
         "\tfor i := range big {\n\t\tbig[i] = byte(i)\n\t}\n\tfmt.Println(big[12345])\n}\n"),
    ],
    "javascript": [
        ("exception", "RUNTIME_ERROR", "console.log('partial');\nthrow new Error('boom');\n"),
        ("socket", "SECURITY_VIOLATION",
         "require('net').connect(80, '127.0.0.1').on('error', (e) => console.log(e.code));\n"),
        ("readline", "ACCEPTED",
         "const rl = require('readline').createInterface({ input: process.stdin });\n"
         "const words = [];\nrl.on('line', (l) => words.push(...l.split(' ').map(Number)));\n"
         "rl.on('close', () => console.log(words[0] + words[1]));\n"),
    ],
}


def _matrix() -> dict[str, Case]:
    cases: dict[str, Case] = {}
    for lang in LANGS:
        for verdict, code in PROGRAMS[lang].items():
            cases[f"{lang}-{verdict}"] = Case(lang, code, verdict)
        for name, verdict, code in EXTRA[lang]:
            cases[f"{lang}-{verdict}-{name}"] = Case(lang, code, verdict)
    return cases


CASES = _matrix()


def _submit_all(stack: Stack, cases: dict[str, Case], timeout: float) -> dict[str, dict[str, Any]]:
    return stack.run_all({key: case.body() for key, case in cases.items()}, timeout)


@pytest.fixture(scope="module")
def verdict_results(stack: Stack) -> dict[str, dict[str, Any]]:
    stack.require_executors(*LANGS)
    return _submit_all(stack, CASES, timeout=240)


def _explain(result: dict[str, Any]) -> str:
    tests = result.get("results") or []
    first = tests[0] if tests else {}
    return (
        f"verdict={result.get('verdict')} status={result.get('status')} error={result.get('error')}\n"
        f"compilation_error={str(result.get('compilation_error'))[:800]}\n"
        f"first test={ {k: v for k, v in first.items() if not k.endswith('_url')} }"
    )


@pytest.mark.parametrize("key", list(CASES))
def test_verdict(verdict_results: dict[str, dict[str, Any]], key: str) -> None:
    case = CASES[key]
    result = verdict_results[key]
    assert result["status"] == "completed", _explain(result)
    assert result["verdict"] == case.verdict, _explain(result)
    assert result["total"] == 1
    if case.verdict == "COMPILATION_ERROR":
        assert result["compilation_error"], _explain(result)
        assert result["results"] == []
        assert "/tmp/" not in result["compilation_error"] and "codepipe-work" not in result["compilation_error"]
        return
    assert result["compilation_error"] is None
    (test,) = result["results"]
    assert test["verdict"] == case.verdict
    assert test["passed"] is (case.verdict == "ACCEPTED")
    assert test["expected"] == "3\n"
    if case.verdict == "ACCEPTED":
        assert result["passed"] == 1
        assert test["actual"] == "3\n" and test["exit_code"] == 0
        assert result["stdout_preview"] == "3\n"
        assert test["memory_kb"] > 0
    if case.verdict == "RUNTIME_ERROR":
        assert test["exit_code"] != 0 or test["signal"] != 0, _explain(result)
    if key in ("c-RUNTIME_ERROR", "python-RUNTIME_ERROR", "java-RUNTIME_ERROR-exit3", "go-RUNTIME_ERROR",
               "javascript-RUNTIME_ERROR"):
        assert test["exit_code"] == 3
    if key == "c-RUNTIME_ERROR-segfault":
        assert test["signal"] == 11
    if key == "cpp-RUNTIME_ERROR":
        assert test["signal"] == 6  # uncaught exception -> std::terminate -> abort
    if key in ("python-RUNTIME_ERROR-exception", "java-RUNTIME_ERROR", "javascript-RUNTIME_ERROR-exception"):
        assert "boom" in test["stderr"]
    if key == "go-RUNTIME_ERROR-panic":
        assert test["exit_code"] == 2 and "index out of range" in test["stderr"]
    if case.verdict == "TIME_LIMIT_EXCEEDED":
        assert test["cpu_time_ms"] >= 900 or test["runtime_ms"] >= 2900, _explain(result)
    if case.verdict == "OUTPUT_LIMIT_EXCEEDED":
        assert test["stdout_bytes"] + test["stderr_bytes"] <= 64 * 1024 + 64 * 1024


# --- compare modes end to end ---------------------------------------------------------------
ECHO = {
    "c": C_HEAD + "int main(void){int c; while((c=getchar())!=EOF) putchar(c); return 0;}",
    "cpp": CPP_HEAD + "int main(){cout<<cin.rdbuf(); return 0;}",
    "java": java("    System.out.write(System.in.readAllBytes());\n    System.out.flush();", imports=""),
    "python": "import sys\nsys.stdout.write(sys.stdin.read())\n",
    "go": go("\tio.Copy(os.Stdout, os.Stdin)", imports='"io"; "os"'),
    "javascript": "process.stdout.write(require('fs').readFileSync(0));\n",
}

# (compare, program output (= input, the program echoes it), expected, verdict)
COMPARE_CASES = [
    ("exact", "1 2\n", "1 2\n", "ACCEPTED"),
    ("exact", "1 2 \n", "1 2\n", "WRONG_ANSWER"),
    ("lines", "1 2   \n3\n\n\n", "1 2\n3\n", "ACCEPTED"),
    ("lines", "1 2\r\n3\r\n", "1 2\n3\n", "ACCEPTED"),
    ("lines", "1  2\n3\n", "1 2\n3\n", "WRONG_ANSWER"),
    ("tokens", "1\n2\t\t3   \n", "1 2 3", "ACCEPTED"),
    ("tokens", "1 2 3 4", "1 2 3", "WRONG_ANSWER"),
    ("float:1e-6", "0.3333333 2.0000001\n", "0.333333333 2\n", "ACCEPTED"),
    ("float:1e-6", "0.3334\n", "0.3333\n", "WRONG_ANSWER"),
]


@pytest.fixture(scope="module")
def compare_results(stack: Stack) -> dict[str, dict[str, Any]]:
    stack.require_executors(*LANGS)
    cases: dict[str, Case] = {}
    for lang in LANGS:
        for i, (mode, out, expected, verdict) in enumerate(COMPARE_CASES):
            cases[f"{lang}-{i}"] = Case(
                lang, ECHO[lang], verdict, test_cases=[{"input": out, "expected": expected}], limits=None,
                extra={"compare": mode},
            )
    # Java pays ~1 s per job: run its compare cases as one job with many tests instead.
    cases = {k: v for k, v in cases.items() if not k.startswith("java-")}
    lines_cases = [c for c in COMPARE_CASES if c[0] == "lines"]
    cases["java-all"] = Case(
        "java", ECHO["java"], "WRONG_ANSWER",
        test_cases=[{"input": out, "expected": exp} for _, out, exp, _ in lines_cases], limits=None,
    )
    return _submit_all(stack, cases, timeout=180)


@pytest.mark.parametrize("lang", ["c", "cpp", "python", "go", "javascript"])
@pytest.mark.parametrize("index", range(len(COMPARE_CASES)))
def test_compare_modes(compare_results: dict[str, dict[str, Any]], lang: str, index: int) -> None:
    mode, _, _, verdict = COMPARE_CASES[index]
    result = compare_results[f"{lang}-{index}"]
    assert result["status"] == "completed", _explain(result)
    assert result["verdict"] == verdict, f"compare={mode}: {_explain(result)}"


def test_compare_lines_java_many_tests(compare_results: dict[str, dict[str, Any]]) -> None:
    result = compare_results["java-all"]
    assert result["status"] == "completed", _explain(result)
    lines_cases = [c for c in COMPARE_CASES if c[0] == "lines"]
    assert [t["verdict"] for t in result["results"]] == [c[3] for c in lines_cases]
    assert result["verdict"] == "WRONG_ANSWER"


# --- plain run, mixed tests, output bytes -------------------------------------------------
@pytest.mark.parametrize("lang", LANGS)
def test_plain_run_on_stdin(executors: Stack, lang: str) -> None:
    result = executors.run(lang, ECHO[lang], stdin="hello, world\nsecond line\n")
    assert result["status"] == "completed", _explain(result)
    assert result["verdict"] == "ACCEPTED"
    assert result["total"] == 1 and result["passed"] == 1
    assert result["stdout_preview"] == "hello, world\nsecond line\n"
    (test,) = result["results"]
    assert test["expected"] is None
    assert test["actual"] == "hello, world\nsecond line\n"


def test_plain_run_nonzero_exit_is_runtime_error(executors: Stack) -> None:
    result = executors.run("python", "import sys\nprint('partial')\nsys.exit(2)\n", stdin="")
    assert result["verdict"] == "RUNTIME_ERROR"
    assert result["results"][0]["exit_code"] == 2
    assert result["stdout_preview"] == "partial\n"


@pytest.mark.parametrize("lang", ["c", "python"])
def test_multiple_tests_mixed_verdicts(executors: Stack, lang: str) -> None:
    code = {
        "c": C_HEAD + "int main(void){long n; scanf(\"%ld\",&n); if(n<0) return 4; if(n==7) for(;;); "
        'printf("%ld\\n", n*2); return 0;}',
        "python": "import sys\nn = int(input())\nif n < 0: sys.exit(4)\nif n == 7:\n    while True: pass\n"
        "print(n * 2)\n",
    }[lang]
    tests = [
        {"input": "1\n", "expected": "2\n"},
        {"input": "2\n", "expected": "5\n"},
        {"input": "-1\n", "expected": "0\n"},
        {"input": "7\n", "expected": "14\n"},
        {"input": "10\n", "expected": "20\n"},
    ]
    result = executors.run(lang, code, tests, limits=FAST)
    assert result["status"] == "completed", _explain(result)
    verdicts = [t["verdict"] for t in result["results"]]
    assert verdicts == ["ACCEPTED", "WRONG_ANSWER", "RUNTIME_ERROR", "TIME_LIMIT_EXCEEDED", "ACCEPTED"]
    assert [t["test_case"] for t in result["results"]] == [1, 2, 3, 4, 5]
    assert result["verdict"] == "WRONG_ANSWER"  # the first non-accepted test's
    assert result["passed"] == 2 and result["total"] == 5
    assert result["results"][2]["exit_code"] == 4


def test_full_outputs_are_byte_exact_in_s3(executors: Stack) -> None:
    # Invalid UTF-8 and a NUL: previews are decoded with replacement, S3 keeps the bytes.
    code = "import sys\nsys.stdout.buffer.write(b'ok\\xff\\x00end\\n' * 2000)\nsys.stderr.write('warn\\n')\n"
    result = executors.run("python", code, stdin="")
    assert result["verdict"] == "ACCEPTED"
    job_id = result["id"]
    blobs = executors.blobs()
    prefix = executors.store().get(job_id)["output_prefix"]  # the winning attempt's objects
    assert prefix == f"outputs/{job_id}/attempt-1/"
    assert blobs.get_bytes(f"{prefix}tests/1.stdout") == b"ok\xff\x00end\n" * 2000
    assert blobs.get_bytes(f"{prefix}tests/1.stderr") == b"warn\n"
    doc = blobs.get_json(f"{prefix}result.json")
    assert doc["verdict"] == "ACCEPTED" and doc["results"][0]["stdout_bytes"] == 8 * 2000
    test = result["results"][0]
    assert test["actual"].startswith("ok\ufffd\x00end\n")
    assert len(test["actual"].encode("utf-8")) <= 4096 + 3 * 4096  # preview of the first 4 KiB


def test_compilation_error_keeps_compiler_output(executors: Stack) -> None:
    result = executors.run("c", "int main(void) { return missing; }\n")
    assert result["verdict"] == "COMPILATION_ERROR"
    assert "missing" in result["compilation_error"] and "main.c" in result["compilation_error"]
    assert result["compile_ms"] is not None and result["compile_ms"] >= 0
    prefix = executors.store().get(result["id"])["output_prefix"]
    stderr = executors.blobs().get_bytes(f"{prefix}compile.stderr")
    assert b"missing" in stderr


def test_java_any_public_class_name_and_package(executors: Stack) -> None:
    code = (
        "package contest.round1;\n\nimport java.io.*;\n\n"
        "/* public class NotThis {} */\n"
        "public final class Answer {\n  static String greet() { return \"hi {\"; }\n"
        "  public static void main(String[] a) throws IOException {\n"
        "    BufferedReader r = new BufferedReader(new InputStreamReader(System.in));\n"
        "    System.out.println(greet() + r.readLine());\n  }\n}\n"
    )
    result = executors.run("java", code, [{"input": "there\n", "expected": "hi {there\n"}])
    assert result["verdict"] == "ACCEPTED", _explain(result)


def test_job_status_sequence_and_record(executors: Stack) -> None:
    job_id = executors.submit_ok("python", "print(1)\n", [{"input": "", "expected": "1"}])
    seen: list[str] = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = executors.status(job_id)["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status in ("completed", "failed"):
            break
        time.sleep(0.02)
    order = ["queued", "compiling", "running", "completed"]
    assert seen[-1] == "completed"
    assert [order.index(s) for s in seen] == sorted(order.index(s) for s in seen), seen
    record = executors.store().get(job_id)
    assert record["attempts"] == 1
    assert "lease_owner" not in record and "lease_expires_ms" not in record
    assert record["started_at"] <= record["completed_at"]
    assert record["output_prefix"] == f"outputs/{job_id}/attempt-1/"
    assert record["result_key"] == f"outputs/{job_id}/attempt-1/result.json"


# --- concurrency --------------------------------------------------------------------------
def test_thirty_concurrent_jobs_all_languages(executors: Stack) -> None:
    cases: dict[str, Case] = {}
    for i in range(30):
        lang = ("c", "cpp", "python", "java", "c", "python")[i % 6]
        a, b = i, 1000 + i * 7
        cases[f"job{i}"] = Case(
            lang, PROGRAMS[lang]["ACCEPTED"], "ACCEPTED",
            test_cases=[{"input": f"{a} {b}\n", "expected": f"{a + b}\n"}, {"input": "5 5\n", "expected": "10\n"}],
            limits=None,
        )
    started = time.monotonic()
    results = _submit_all(executors, cases, timeout=240)
    elapsed = time.monotonic() - started
    for key, result in results.items():
        assert result["status"] == "completed", f"{key}: {_explain(result)}"
        assert result["verdict"] == "ACCEPTED", f"{key}: {_explain(result)}"
        assert result["passed"] == 2 and result["total"] == 2
    assert len({r["id"] for r in results.values()}) == 30
    print(f"30 concurrent jobs completed in {elapsed:.1f}s")
