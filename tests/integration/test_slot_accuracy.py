"""Per-test CPU time and memory through the API, for job sizes around the executors' --parallel,
in C, Go and JavaScript (the runtimes with threads and a heap of their own measured as C is).

A job with 2..--parallel tests once ran two of them in one cgroup set: each was charged both
runs' CPU time, and a correct 300 ms program with time_ms 500 came back TIME_LIMIT_EXCEEDED.
Each test here burns 300 ms of CPU after touching 100 MiB and writes its own cgroups to stderr,
so the result shows both the measurements and that no two runs shared a cgroup."""

from __future__ import annotations

import pytest

from tests.stack import Stack

pytestmark = [pytest.mark.integration, pytest.mark.executors]

BURN_MS, ALLOC_MB = 300, 100
BURN_ALLOC_C = r"""
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
static double cpu(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}
int main(void) {
    size_t n = (size_t)ALLOC_MB << 20;
    char *p = malloc(n);
    if (!p) return 1;
    for (size_t i = 0; i < n; i += 4096) p[i] = 1;
    volatile unsigned long x = 0;
    while (cpu() < BURN_MS / 1000.0) for (int i = 0; i < 10000; i++) x += i;
    FILE *f = fopen("/proc/self/cgroup", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) fputs(line, stderr);
    printf("done %d\n", p[n / 2]);
    return 0;
}
"""
BURN_ALLOC_C = f"#define ALLOC_MB {ALLOC_MB}\n#define BURN_MS {BURN_MS}\n" + BURN_ALLOC_C
BURN_ALLOC_GO = f"""package main

import (
	"fmt"
	"os"
	"syscall"
)

func cpuMs() int64 {{
	var u syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &u)
	return u.Utime.Nano()/1e6 + u.Stime.Nano()/1e6
}}

func main() {{
	p := make([]byte, {ALLOC_MB}<<20)
	for i := 0; i < len(p); i += 4096 {{
		p[i] = 1
	}}
	x := 0
	for cpuMs() < {BURN_MS} {{
		for i := 0; i < 100000; i++ {{
			x += i
		}}
	}}
	cg, _ := os.ReadFile("/proc/self/cgroup")
	os.Stderr.Write(cg)
	fmt.Println("done", p[len(p)/2], x > 0)
}}
"""
BURN_ALLOC_JS = f"""const fs = require('fs');
const p = Buffer.alloc({ALLOC_MB} << 20, 1);
const cpuMs = () => {{ const u = process.cpuUsage(); return (u.user + u.system) / 1000; }};
let x = 0;
while (cpuMs() < {BURN_MS}) for (let i = 0; i < 100000; i++) x += i;
process.stderr.write(fs.readFileSync('/proc/self/cgroup', 'utf8'));
console.log('done', p[p.length >> 1], x > 0);
"""
# (program, its expected output): the CPU time and memory of each are those of the C one
PROGRAMS = {"c": (BURN_ALLOC_C, "done 1\n"), "go": (BURN_ALLOC_GO, "done 1 true\n"),
            "javascript": (BURN_ALLOC_JS, "done 1 true\n")}


def job_sizes(parallel: int) -> list[int]:
    return sorted({1, max(1, parallel - 1), parallel, parallel + 1})


def own_cgroups(stderr: str) -> frozenset[str]:
    return frozenset(line for line in stderr.splitlines() if "/codepipe/" in line)


@pytest.mark.parametrize("lang", list(PROGRAMS))
def test_each_test_measured_alone_around_parallel(stack: Stack, lang: str) -> None:
    stack.require_executors(lang)
    parallel = stack.settings().parallel
    sizes = job_sizes(parallel)
    code, expected = PROGRAMS[lang]
    jobs = {n: stack.submit_ok(lang, code, [{"input": "", "expected": expected}] * n,
                               limits={"time_ms": 500, "memory_mb": 256})
            for n in sizes}
    for n, job_id in jobs.items():
        result = stack.wait_result(job_id, timeout=120)
        assert result["status"] == "completed", result
        assert result["verdict"] == "ACCEPTED", (n, result.get("compilation_error"), result["results"])
        assert len(result["results"]) == n
        seen: list[frozenset[str]] = []
        for r in result["results"]:
            assert r["verdict"] == "ACCEPTED", (n, r)
            assert BURN_MS * 0.75 <= r["cpu_time_ms"] <= BURN_MS * 1.25, (n, r)
            assert ALLOC_MB * 1024 * 0.95 <= r["memory_kb"] <= ALLOC_MB * 1024 * 1.5, (n, r)
            cg = own_cgroups(r["stderr"])
            assert cg, r["stderr"]
            seen.append(cg)
        # up to 2 x --parallel tests, every run of a job gets a cgroup set of its own
        assert len(set(seen)) == n, (n, seen)
