"""End-to-end latency of a one-test hello-world job per language, next to the same compile+run
done natively, in one run on one machine (ratios, not absolute numbers, are what compare).

    .venv/bin/python bench/latency.py [--jobs 20] [--url http://127.0.0.1:8080]

Without --url it starts the real stack (emulator server, gateway, the executors as separate
processes, tests/stack.py). Prints a markdown table: p50/p95 of submit -> terminal over
--jobs jobs per language, p50/p95 of the native compile+run (the executor's own compile and
run commands, without the sandbox, AWS or HTTP), the p50 ratio and the p50 difference; then,
when it started the stack itself, the executors' per-phase times from their logs.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from executor_c.spec import SPEC as C_SPEC  # noqa: E402
from executor_cpp.spec import SPEC as CPP_SPEC  # noqa: E402
from executor_go.spec import BUILD_FLAGS, GO, warm_cache  # noqa: E402
from executor_go.spec import SPEC as GO_SPEC  # noqa: E402
from executor_java.spec import SPEC as JAVA_SPEC  # noqa: E402
from executor_javascript.spec import NODE  # noqa: E402
from executor_javascript.spec import SPEC as JAVASCRIPT_SPEC  # noqa: E402
from executor_python.spec import SPEC as PYTHON_SPEC  # noqa: E402
from shared.language_spec import LanguageSpec  # noqa: E402
from shared.models import ResolvedLimits  # noqa: E402

HELLO: dict[str, str] = {
    "c": '#include <stdio.h>\nint main(void){char s[64];if(scanf("%63s",s)==1)printf("hello %s\\n",s);return 0;}\n',
    "cpp": (
        '#include <iostream>\n#include <string>\n'
        'int main(){std::string s;std::cin>>s;std::cout<<"hello "<<s<<"\\n";}\n'
    ),
    "java": (
        "import java.util.Scanner;\npublic class Hello { public static void main(String[] a) {"
        ' System.out.println("hello " + new Scanner(System.in).next()); } }\n'
    ),
    "python": 'print("hello", input())\n',
    "go": (
        'package main\n\nimport "fmt"\n\n'
        'func main() {\n\tvar s string\n\tfmt.Scan(&s)\n\tfmt.Println("hello", s)\n}\n'
    ),
    "javascript": "console.log('hello', require('fs').readFileSync(0, 'utf8').trim());\n",
}
SPECS: dict[str, LanguageSpec] = {"c": C_SPEC, "cpp": CPP_SPEC, "java": JAVA_SPEC, "python": PYTHON_SPEC,
                                  "go": GO_SPEC, "javascript": JAVASCRIPT_SPEC}
TEST = {"input": "world\n", "expected": "hello world\n"}
LIMITS = ResolvedLimits(time_ms=2000, wall_ms=6000, memory_mb=256, output_kb=1024)
# Issue 3's targets: p50 end-to-end at most 2x native for C and C++, at most +150 ms for Python;
# the Go/JavaScript issue's: Go at most 1.5x `go build && ./main` (warm cache), JavaScript at
# most +150 ms over `node main.js`.
TARGETS = {"c": "<= 2.0x", "cpp": "<= 2.0x", "java": "-", "python": "<= +150 ms", "go": "<= 1.5x",
           "javascript": "<= +150 ms"}
# Native baselines that are not simply the executor's commands without the sandbox: Go builds
# into a writable copy of the warm cache (the executor's is read-only in the box), JavaScript
# is plain `node main.js` (no syntax check); both in the environment the sandbox gives them.
_NATIVE_GO_CACHE: list[Path] = []


def _native_go_cache() -> Path:
    """A writable GOCACHE holding the executor's warm standard library (built once)."""
    if not _NATIVE_GO_CACHE:
        tree = warm_cache(Path(tempfile.gettempdir()) / "codepipe-bench-go")
        copy = Path(tempfile.mkdtemp(prefix="codepipe-bench-gocache-"))
        shutil.copytree(tree, copy, dirs_exist_ok=True)
        _NATIVE_GO_CACHE.append(copy)
    return _NATIVE_GO_CACHE[0]


def native_commands(lang: str, source: str) -> tuple[list[str] | None, list[str], dict[str, str] | None]:
    """(compile argv or None, run argv, environment or None for ours) of the native baseline."""
    spec = SPECS[lang]
    if lang == "go":
        env = {"PATH": "/usr/bin:/bin", **spec.env, "GOCACHE": str(_native_go_cache())}
        return [GO, "build", *BUILD_FLAGS, "-o", "main", source], ["./main"], env
    if lang == "javascript":  # the sandbox's environment: e.g. NODE_EXTRA_CA_CERTS costs ~200 ms
        return None, [NODE, source], {"PATH": "/usr/bin:/bin", **spec.env}
    return spec.compile_command(source), spec.run_command(source, LIMITS, HELLO[lang]), None


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def native_once(lang: str, workdir: Path) -> float:
    """Compile and run with the executor's commands, no sandbox; seconds."""
    spec = SPECS[lang]
    for entry in workdir.iterdir():
        if entry.is_dir():
            shutil.rmtree(entry)
        else:
            entry.unlink()
    source = spec.source_name(HELLO[lang])
    (workdir / source).write_text(HELLO[lang])
    compile_cmd, run_cmd, env = native_commands(lang, source)
    start = time.perf_counter()
    if compile_cmd:
        subprocess.run(compile_cmd, cwd=workdir, check=True, stdin=subprocess.DEVNULL, capture_output=True, env=env)
    out = subprocess.run(run_cmd, cwd=workdir, input=TEST["input"].encode(), capture_output=True, check=True,
                         env=env)
    elapsed = time.perf_counter() - start
    if out.stdout.decode() != TEST["expected"]:
        raise RuntimeError(f"native {lang} printed {out.stdout!r}")
    return elapsed


def e2e_once(client: httpx.Client, lang: str) -> float:
    """POST /submit, then long-poll /result until terminal; seconds."""
    start = time.perf_counter()
    resp = client.post("/submit", json={"language": lang, "code": HELLO[lang], "test_cases": [TEST]})
    resp.raise_for_status()
    job_id = resp.json()["id"]
    while True:
        body = client.get(f"/result/{job_id}", params={"wait": 30}).json()
        if body["status"] in ("completed", "failed"):
            break
    elapsed = time.perf_counter() - start
    if body.get("verdict") != "ACCEPTED":
        raise RuntimeError(f"{lang} job {job_id} ended {body.get('status')} {body.get('verdict')}: {body}")
    return elapsed


def measure(client: httpx.Client, langs: list[str], jobs: int) -> list[dict[str, object]]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="codepipe-native-") as tmp:
        workdir = Path(tmp)
        for lang in langs:
            for _ in range(2):  # warm the page cache, the JVM's CDS archive, the executor
                e2e_once(client, lang)
                native_once(lang, workdir)
            e2e, native = [], []
            # Interleave so that machine noise hits both columns alike.
            for _ in range(jobs):
                e2e.append(e2e_once(client, lang) * 1000)
                native.append(native_once(lang, workdir) * 1000)
            rows.append({
                "lang": lang,
                "e2e_p50": statistics.median(e2e), "e2e_p95": percentile(e2e, 95),
                "nat_p50": statistics.median(native), "nat_p95": percentile(native, 95),
            })
            print(f"  {lang}: done", file=sys.stderr, flush=True)
    return rows


def print_table(rows: list[dict[str, object]], jobs: int) -> None:
    print(f"\nEnd-to-end (submit -> terminal) vs native compile+run, {jobs} jobs per language, ms\n")
    print("| language | e2e p50 | e2e p95 | native p50 | native p95 | p50 ratio | p50 added | target |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        e50, n50 = float(r["e2e_p50"]), float(r["nat_p50"])  # type: ignore[arg-type]
        print(f"| {r['lang']} | {e50:.0f} | {float(r['e2e_p95']):.0f} | {n50:.0f} | "  # type: ignore[arg-type]
              f"{float(r['nat_p95']):.0f} | {e50 / n50:.2f}x | {e50 - n50:+.0f} | {TARGETS[str(r['lang'])]} |")  # type: ignore[arg-type]


PHASES = ("claim", "prepare", "compile", "run", "upload", "final_write")


def print_phases(log_dir: Path, langs: list[str], jobs: int) -> None:
    """Where the executor's time went (its `phases_ms` per job, last `jobs` jobs per language;
    the claim overlaps the early compilation) and the gateway's `POST /submit` time."""
    submit_ms = []
    for line in (log_dir / "gateway.log").read_text(errors="replace").splitlines():
        with contextlib.suppress(ValueError):
            rec = json.loads(line)
            if rec.get("msg") == "request" and rec.get("path") == "/submit":
                submit_ms.append(float(rec["ms"]))
    print(f"\nExecutor phases, p50 over the last {jobs} jobs per language, ms "
          f"(POST /submit p50 {statistics.median(submit_ms):.0f} ms)\n" if submit_ms else "")
    print("| language | " + " | ".join(PHASES) + " | executor total |")
    print("|---|" + "---:|" * (len(PHASES) + 1))
    for lang in langs:
        done = []
        for line in (log_dir / f"exec-{lang}.log").read_text(errors="replace").splitlines():
            with contextlib.suppress(ValueError):
                rec = json.loads(line)
                if rec.get("msg") == "job completed" and isinstance(rec.get("phases_ms"), dict):
                    done.append(rec)
        done = done[-jobs:]
        if not done:
            continue
        cells = [f"{statistics.median(int(r['phases_ms'].get(p, 0)) for r in done):.0f}" for p in PHASES]
        total = statistics.median(int(r.get("elapsed_ms", 0)) for r in done)
        print(f"| {lang} | " + " | ".join(cells) + f" | {total:.0f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=20)
    parser.add_argument("--url", help="an already running gateway; default: start the stack")
    parser.add_argument("--languages", default="c,cpp,java,python,go,javascript")
    args = parser.parse_args()
    langs = [x.strip() for x in args.languages.split(",") if x.strip()]

    stack = None
    url = args.url
    if url is None:
        from tests.stack import Stack

        log_dir = Path(tempfile.mkdtemp(prefix="codepipe-bench-"))
        print(f"starting the stack (logs in {log_dir}) ...", file=sys.stderr, flush=True)
        stack = Stack(log_dir).start()
        for lang in langs:
            if lang in stack.executor_problems:
                raise SystemExit(f"executor {lang}: {stack.executor_problems[lang]}")
        url = stack.base_url
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            rows = measure(client, langs, args.jobs)
    finally:
        if stack is not None:
            stack.stop()
    print_table(rows, args.jobs)
    if stack is not None:
        print_phases(stack.log_dir, langs, args.jobs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
