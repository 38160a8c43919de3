"""Hostile programs and hostile input through the whole pipeline (gateway -> queue ->
executor -> sandbox -> S3), checked on what reaches the user: the full S3 objects, not only
the previews."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.faults.conftest import CANARY_VAR, FaultStack
from tests.faults.helpers import assert_error_shape

pytestmark = [pytest.mark.faults, pytest.mark.slow]

OUTPUT_NAMES = ["1.out", "1.err", "2.out", "2.err", "1.in", "2.in", "output.txt", "result.json", "stdout",
                "stderr", "compile.out", "compile.err", "out", "err", "main.c", "main"]


def _outputs(fs: FaultStack, job_id: str) -> dict[str, bytes]:
    objs = fs.s3_objects(f"outputs/{job_id}/")
    assert objs, f"no S3 outputs for {job_id}"
    return objs


def _stat(path: Path) -> tuple[int, int, int, int, str]:
    st = path.stat()
    return (st.st_mode, st.st_uid, st.st_size, st.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest())


# --- 8. symlinks planted in the box ------------------------------------------------------
@pytest.mark.timeout(150)
def test_symlinks_planted_as_output_names_leak_nothing(fs: FaultStack, tmp_path: Path) -> None:
    canary = tmp_path / f"canary-{secrets.token_hex(4)}.txt"
    canary.write_text("host canary: must stay exactly like this\n")
    canary.chmod(0o644)
    before, passwd_before = _stat(canary), _stat(Path("/etc/passwd"))
    names = ", ".join(f'"{n}"' for n in OUTPUT_NAMES)
    code = (
        "#include <stdio.h>\n#include <unistd.h>\n#include <sys/stat.h>\n"
        "int main(void){\n"
        f"  const char *names[] = {{{names}, 0}};\n"
        "  int planted = 0;\n"
        "  for (int i = 0; names[i]; i++) { unlink(names[i]);\n"
        '    if (symlink(i % 2 ? "/etc/passwd" : "' + str(canary) + '", names[i]) == 0) planted++; }\n'
        '  symlink("' + str(canary) + '", "canary");\n'
        '  FILE *f = fopen("canary", "w"); if (f) { fputs("pwned\\n", f); fclose(f); }\n'
        '  chmod("canary", 0777);\n'
        '  mkdir("../tests", 0777); symlink("/etc/passwd", "../tests/1.out");\n'
        '  printf("planted %d\\n", planted); return 0;\n'
        "}\n"
    )
    result = fs.run("c", code, [{"input": "", "expected": None}, {"input": "", "expected": None}], timeout=90)
    assert result["status"] == "completed", result
    assert result["results"], result
    assert result["results"][0]["actual"].startswith("planted"), result["results"][0]

    passwd = Path("/etc/passwd").read_bytes()
    root_line = passwd.splitlines()[0]
    blobs = _outputs(fs, result["id"])
    for key, data in blobs.items():
        assert root_line not in data, f"{key} contains /etc/passwd"
        assert b"host canary" not in data, f"{key} contains the host canary"
    text = json.dumps(result)
    assert root_line.decode() not in text and "host canary" not in text
    assert _stat(canary) == before, "the host canary file was changed"
    assert _stat(Path("/etc/passwd")) == passwd_before, "/etc/passwd was changed"


@pytest.mark.timeout(240)
def test_program_cannot_poison_shared_compile_caches(fs: FaultStack) -> None:
    """A C++ program tries to overwrite, truncate and chmod every file in its box (including
    any compile cache hard-linked there); the next C++ job must still compile and pass."""
    cache = fs.settings().work_root / ".cache"

    def poisoned() -> list[str]:
        out = []
        if cache.exists():
            for p in sorted(cache.rglob("*")):
                if p.is_file() and not p.is_symlink():
                    with p.open("rb") as f:
                        if f.read(6) == b"POISON":
                            out.append(str(p))
        return out

    hostile = (
        "#include <cstdio>\n#include <dirent.h>\n#include <sys/stat.h>\n"
        "static void walk(const char *d){ DIR *D = opendir(d); if(!D) return; struct dirent *e;\n"
        "  while((e = readdir(D))){ if(e->d_name[0]=='.') continue; char p[4096];\n"
        "    std::snprintf(p, sizeof p, \"%s/%s\", d, e->d_name); chmod(p, 0777);\n"
        "    FILE *f = std::fopen(p, \"r+\");\n"
        "    if(f){ std::fputs(\"POISON\", f); std::fclose(f); std::printf(\"wrote %s\\n\", p); }\n"
        "    if(e->d_type==DT_DIR) walk(p); } closedir(D); }\n"
        "int main(){ walk(\".\"); std::puts(\"done\"); return 0; }\n"
    )
    add = ('#include <bits/stdc++.h>\nint main(){ long a, b; std::cin >> a >> b; std::cout << a + b << "\\n"; }\n')
    first = fs.run("cpp", add, [{"input": "1 2\n", "expected": "3\n"}], timeout=120)
    assert first["verdict"] == "ACCEPTED", first
    assert not poisoned()
    # The attack compiles with the same caches linked into its box as the job above.
    attack = fs.run("cpp", hostile, [{"input": "", "expected": None}], timeout=120)
    assert attack["status"] == "completed", attack
    prefix = fs.item(attack["id"])["output_prefix"]
    report = fs.blobs().get_bytes(f"{prefix}tests/1.stdout").decode(errors="replace")
    assert "done" in report, report[:2000]
    after = fs.run("cpp", add, [{"input": "40 2\n", "expected": "42\n"}], timeout=120)
    assert not poisoned(), f"a program wrote into shared compile cache files; it reported:\n{report[:2000]}"
    assert after["verdict"] == "ACCEPTED", (after, report[:2000])


@pytest.mark.timeout(300)
def test_go_program_cannot_poison_the_warm_go_cache(fs: FaultStack) -> None:
    """A Go program tries to overwrite, truncate and chmod every file in its box, the warm
    GOCACHE hard-linked there included; the cache stays as it was and the next job builds."""
    cache = fs.settings().work_root / ".cache" / "go"

    def digest() -> dict[str, str]:
        return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() + oct(p.stat().st_mode)
                for p in sorted(cache.rglob("*")) if p.is_file() and not p.is_symlink()}

    hostile = (
        'package main\n\nimport (\n\t"fmt"\n\t"io/fs"\n\t"os"\n\t"path/filepath"\n)\n\n'
        "func main() {\n\tn := 0\n"
        '\tfilepath.WalkDir(".", func(p string, d fs.DirEntry, err error) error {\n'
        # not ./main: a chmod copies the binary up into the run's overlay, which RLIMIT_FSIZE
        # (output_kb) stops with SIGXFSZ, and the Go runtime retries that forever (TLE)
        '\t\tif err != nil || d.IsDir() || p == "main" {\n\t\t\treturn nil\n\t\t}\n\t\tos.Chmod(p, 0o777)\n'
        "\t\tif f, err := os.OpenFile(p, os.O_RDWR, 0); err == nil {\n"
        '\t\t\tf.WriteString("POISON")\n\t\t\tf.Close()\n\t\t\tn++\n\t\t}\n\t\treturn nil\n\t})\n'
        '\tfmt.Println("done, wrote", n)\n}\n'
    )
    add = ('package main\n\nimport "fmt"\n\nfunc main() {\n\tvar a, b int\n\tfmt.Scan(&a, &b)\n'
           "\tfmt.Println(a + b)\n}\n")
    first = fs.run("go", add, [{"input": "1 2\n", "expected": "3\n"}], timeout=180)
    assert first["verdict"] == "ACCEPTED", first
    before = digest()
    attack = fs.run("go", hostile, [{"input": "", "expected": None}], timeout=120)
    assert attack["status"] == "completed", attack
    # (it may write its own files: a job compiled before the warm cache was ready has a
    # .gocache of its own in the box, changed only in this run's copy-on-write view)
    assert (attack["results"][0]["actual"] or "").startswith("done, wrote"), attack["results"][0]
    after = fs.run("go", add, [{"input": "40 2\n", "expected": "42\n"}], timeout=120)
    assert after["verdict"] == "ACCEPTED", after
    # The cache may have grown (a warm-up finishing meanwhile), never changed.
    assert {k: v for k, v in digest().items() if k in before} == before


# --- 9. secrets ----------------------------------------------------------------------------
SNOOP_PY = r'''
import os, sys
print("ENV", dict(os.environ))
sys.stderr.write("ENV " + repr(dict(os.environ)) + "\n")
paths = ["/proc/1/environ", "/proc/self/environ", "/proc/thread-self/environ",
         "/proc/%d/environ" % os.getppid(), "/proc/%d/cmdline" % os.getppid()]
for pid in os.listdir("/proc"):
    if pid.isdigit():
        paths.append("/proc/%s/environ" % pid)
for p in paths:
    try:
        print(p, open(p, "rb").read())
    except Exception as e:
        print(p, "ERR", type(e).__name__)
'''

SNOOP_C = r'''
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <dirent.h>
extern char **environ;
static void dump(const char *p){ FILE *f = fopen(p, "rb"); if(!f){ printf("%s ERR\n", p); return; }
  char b[65536]; size_t n = fread(b, 1, sizeof b, f); fclose(f);
  printf("%s ", p); fwrite(b, 1, n, stdout); putchar('\n'); fwrite(b, 1, n, stderr); }
int main(void){
  for (char **e = environ; *e; e++) { puts(*e); fputs(*e, stderr); }
  char p[64]; dump("/proc/1/environ"); dump("/proc/self/environ");
  snprintf(p, sizeof p, "/proc/%d/environ", (int)getppid()); dump(p);
  DIR *d = opendir("/proc"); struct dirent *e;
  while (d && (e = readdir(d))) if (e->d_name[0] >= '0' && e->d_name[0] <= '9') {
    snprintf(p, sizeof p, "/proc/%s/environ", e->d_name); dump(p); }
  return 0; }
'''

INCLUDE_ENV_C = '#include "/proc/self/environ"\n#include "/proc/1/environ"\nint main(void){return 0;}\n'

SNOOP_GO = r'''package main

import (
	"fmt"
	"os"
)

func main() {
	for _, e := range os.Environ() {
		fmt.Println(e)
		fmt.Fprintln(os.Stderr, e)
	}
	paths := []string{"/proc/1/environ", "/proc/self/environ", fmt.Sprintf("/proc/%d/environ", os.Getppid())}
	entries, _ := os.ReadDir("/proc")
	for _, e := range entries {
		paths = append(paths, "/proc/"+e.Name()+"/environ")
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		fmt.Printf("%s %q %v\n", p, b, err)
	}
}
'''

SNOOP_JS = r'''const fs = require('fs');
for (const [k, v] of Object.entries(process.env)) { console.log(`${k}=${v}`); console.error(`${k}=${v}`); }
const paths = ['/proc/1/environ', '/proc/self/environ', `/proc/${process.ppid}/environ`];
for (const pid of fs.readdirSync('/proc')) if (/^\d+$/.test(pid)) paths.push(`/proc/${pid}/environ`);
for (const p of paths) {
  try { console.log(p, JSON.stringify(fs.readFileSync(p, 'latin1'))); } catch (e) { console.log(p, 'ERR', e.code); }
}
'''


@pytest.mark.timeout(240)
@pytest.mark.parametrize("lang, code", [("python", SNOOP_PY), ("c", SNOOP_C), ("c", INCLUDE_ENV_C),
                                        ("go", SNOOP_GO), ("javascript", SNOOP_JS)],
                         ids=["python-env", "c-env", "c-include-environ", "go-env", "javascript-env"])
def test_executor_secrets_never_reach_program_output(fs: FaultStack, lang: str, code: str) -> None:
    secret_values = {
        "AWS_SECRET_ACCESS_KEY": fs.executor_env["AWS_SECRET_ACCESS_KEY"],
        "AWS_SESSION_TOKEN": fs.executor_env["AWS_SESSION_TOKEN"],
        CANARY_VAR: fs.executor_env[CANARY_VAR],
    }
    result = fs.run(lang, code, timeout=120)
    assert result["status"] == "completed", result
    if code is INCLUDE_ENV_C:
        assert result["verdict"] == "COMPILATION_ERROR", result
    else:
        assert "PATH" in (result["results"][0]["actual"] or ""), "the snooping program did not run"
    blobs = _outputs(fs, result["id"])
    everything = {**blobs, "/result": json.dumps(result).encode(),
                  "record": json.dumps(fs.item(result["id"]), default=str).encode()}
    for where, data in everything.items():
        for name, value in secret_values.items():
            assert value.encode() not in data, f"{name} of the executor leaked into {where}"
        assert CANARY_VAR.encode() not in data, f"the executor's variable name {CANARY_VAR} leaked into {where}"


# --- 10. large and hostile input -----------------------------------------------------------
@pytest.mark.timeout(400)
def test_64mib_of_test_input_is_accepted_and_judged(fs: FaultStack) -> None:
    caps = fs.client.get("/languages").json()["caps"]
    n_tests = 8
    size = caps["max_total_input_bytes"] // n_tests - 64  # room for the expected outputs
    blob = "a" * size
    cases = [{"input": blob, "expected": f"{size}\n"} for _ in range(n_tests)]
    code = "import sys\nprint(len(sys.stdin.buffer.read()))\n"
    client = httpx.Client(base_url=fs.base_url, timeout=httpx.Timeout(300.0, connect=5.0))
    try:
        t0 = time.monotonic()
        resp = client.post("/submit", json={"language": "python", "code": code, "test_cases": cases,
                                            "limits": {"time_ms": 5000, "wall_ms": 20000, "memory_mb": 512}})
        took = time.monotonic() - t0
    finally:
        client.close()
    del cases, blob
    assert resp.status_code == 202, resp.text[:1000]
    job_id = resp.json()["id"]
    result = fs.wait_result(job_id, timeout=300)
    assert result["status"] == "completed", result
    assert result["verdict"] == "ACCEPTED", (result["verdict"], [r.get("actual") for r in result["results"]])
    assert result["passed"] == n_tests
    print(f"[large] {n_tests} x {size} bytes: submit {took:.1f}s")


@pytest.mark.timeout(120)
def test_non_utf8_output_is_kept_byte_exact_and_previewed_safely(fs: FaultStack) -> None:
    raw = b"\xff\xfe\x00ok\x80\xc3(\n\x1b[31mred\x00"
    code = f"import sys\nsys.stdout.buffer.write({raw!r})\nsys.stderr.buffer.write({raw!r})\n"
    result = fs.run("python", code, timeout=90)
    assert result["status"] == "completed" and result["verdict"] == "ACCEPTED", result
    blobs = _outputs(fs, result["id"])
    prefix = fs.item(result["id"])["output_prefix"]
    assert blobs[f"{prefix}tests/1.stdout"] == raw
    assert blobs[f"{prefix}tests/1.stderr"] == raw
    test = result["results"][0]
    assert isinstance(test["actual"], str) and "ok" in test["actual"] and "red" in test["actual"]
    assert isinstance(result["stdout_preview"], str)
    # The presigned URL serves the same bytes.
    got = httpx.get(test["stdout_url"], timeout=10)
    assert got.status_code == 200 and got.content == raw


@pytest.mark.timeout(120)
def test_over_cap_submissions_are_refused_with_413(fs: FaultStack) -> None:
    caps = fs.client.get("/languages").json()["caps"]
    before = fs.job_count()
    resp = fs.submit("python", "#" * (caps["max_code_bytes"] + 1))
    err = assert_error_shape(resp, 413)
    assert str(caps["max_code_bytes"]) in err["message"] or "MiB" in err["message"] or "bytes" in err["message"], err
    resp = fs.submit("python", "print(1)\n", [{"input": "", "expected": "1\n"}] * (caps["max_tests"] + 1))
    assert_error_shape(resp, 413)
    per = caps["max_total_input_bytes"] // 4 + 1
    resp = fs.client.post("/submit", json={"language": "python", "code": "print(1)\n",
                                           "test_cases": [{"input": "b" * per, "expected": ""}] * 4},
                          timeout=120)
    assert_error_shape(resp, 413)
    assert fs.job_count() == before, "a refused submission left a job record"


@pytest.mark.timeout(120)
def test_empty_user_id_is_a_client_error_not_a_dependency_failure(fs: FaultStack) -> None:
    """Found by the fuzzer: `"user_id": ""` must be accepted (as no user) or refused with a
    4xx; it must not reach DynamoDB and come back as a 503 'dependency unavailable'."""
    resp = fs.submit("python", "print(1)\n", user_id="")
    assert resp.status_code in (202, 422), f"{resp.status_code}: {resp.text[:500]}"
    if resp.status_code == 422:
        assert_error_shape(resp, 422)


@pytest.mark.timeout(150)
def test_idempotency_key_retries_and_concurrent_retries_make_one_job(fs: FaultStack) -> None:
    before = fs.job_count()
    key = f"retry-{secrets.token_hex(6)}"
    body = {"code": "print(input())\n", "test_cases": [{"input": "5\n", "expected": "5\n"}],
            "user_id": "u-idem", "idempotency_key": key}
    first = fs.submit("python", **body)
    again = fs.submit("python", **body)
    assert first.status_code == 202 and again.status_code == 202, (first.text, again.text)
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["created_at"] == again.json()["created_at"]

    key2 = f"race-{secrets.token_hex(6)}"
    body2 = {**body, "idempotency_key": key2}

    def post(_: int) -> tuple[int, str]:
        with httpx.Client(base_url=fs.base_url, timeout=60) as c:
            r = c.post("/submit", json={"language": "python", **body2})
            return r.status_code, r.json().get("id", r.text)

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(post, range(16)))
    assert {s for s, _ in answers} == {202}, answers
    ids = {i for _, i in answers}
    assert len(ids) == 1, f"concurrent retries made {len(ids)} jobs"
    race_id = ids.pop()
    assert fs.job_count() == before + 2
    for job_id in (first.json()["id"], race_id):
        result = fs.wait_result(job_id, timeout=60)
        assert result["verdict"] == "ACCEPTED", result
    fs.wait_queue_drained("python", 40)
    for job_id in (first.json()["id"], race_id):
        assert len(fs.job_log("python", job_id, "claimed job")) == 1, "the job was enqueued more than once"
        assert len(fs.job_log("python", job_id, "job completed")) == 1
