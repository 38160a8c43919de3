"""300 concurrent submissions across the four languages with mixed verdicts, on a stack of
its own (the harness's default lease and attempts). Every job reaches `completed` with the
expected verdict, none is stuck, none is duplicated; the wall time is printed."""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from infra.stack import EXECUTORS
from tests.faults.conftest import _ACTIVE, FaultStack, _log_dir, start_fault_stack

pytestmark = [pytest.mark.faults, pytest.mark.slow]

N_JOBS = 300
N_JAVA = 30
DEADLINE_S = 15 * 60

ACC, WA, RE, CE, TLE = "ACCEPTED", "WRONG_ANSWER", "RUNTIME_ERROR", "COMPILATION_ERROR", "TIME_LIMIT_EXCEEDED"
TLE_LIMITS = {"time_ms": 200, "wall_ms": 1000}

C_ADD = ('#include <stdio.h>\nint main(void){long a,b; if(scanf("%ld %ld",&a,&b)!=2) return 1; '
         'printf("%ld\\n",a{op}b); return 0;}\n')
CPP_ADD = ('#include <cstdio>\nint main(){long a,b; if(std::scanf("%ld %ld",&a,&b)!=2) return 1; '
           'std::printf("%ld\\n",a{op}b); return 0;}\n')
JAVA_ADD = ("import java.util.*;\npublic class Main { public static void main(String[] x) {"
            " Scanner s = new Scanner(System.in); long a = s.nextLong(), b = s.nextLong();"
            " System.out.println(a {op} b); } }\n")

PROGRAMS: dict[str, dict[str, tuple[str, dict[str, int] | None]]] = {
    "python": {
        ACC: ("a, b = map(int, input().split())\nprint(a + b)\n", None),
        WA: ("a, b = map(int, input().split())\nprint(a - b)\n", None),
        RE: ("a, b = map(int, input().split())\nprint(a // 0)\n", None),
        CE: ("def f(:\n    pass\n", None),
        TLE: ("while True:\n    pass\n", TLE_LIMITS),
    },
    "c": {
        ACC: (C_ADD.replace("{op}", "+"), None),
        WA: (C_ADD.replace("{op}", "-"), None),
        RE: ("#include <stdlib.h>\nint main(void){ abort(); }\n", None),
        CE: ("int main(void){ return 0 }\n", None),
        TLE: ("int main(void){ volatile unsigned long x = 0; for(;;) x++; }\n", TLE_LIMITS),
    },
    "cpp": {
        ACC: (CPP_ADD.replace("{op}", "+"), None),
        WA: (CPP_ADD.replace("{op}", "-"), None),
        RE: ("#include <cstdlib>\nint main(){ std::abort(); }\n", None),
        CE: ("int main(){ undeclared_thing(); }\n", None),
        TLE: ("int main(){ volatile unsigned long x = 0; for(;;) x++; }\n", TLE_LIMITS),
    },
    "java": {
        ACC: (JAVA_ADD.replace("{op}", "+"), None),
        WA: (JAVA_ADD.replace("{op}", "-"), None),
        RE: ("public class Main { public static void main(String[] a) { throw new RuntimeException(\"boom\"); } }\n",
             None),
        CE: ("public class Main { public static void main(String[] a) { int x = ; } }\n", None),
        TLE: ("public class Main { public static void main(String[] a) { long x = 0; while (true) x++; } }\n",
              {"time_ms": 1500, "wall_ms": 4000}),
    },
}
# Mostly accepted, every verdict present in every language.
PATTERN = [ACC, ACC, ACC, WA, WA, RE, RE, CE, TLE, ACC]


def _plan() -> list[tuple[str, str]]:
    rng = random.Random(1234)
    per_lang = {"java": N_JAVA}
    rest = N_JOBS - N_JAVA
    per_lang["python"] = rest // 3 + rest % 3
    per_lang["c"] = rest // 3
    per_lang["cpp"] = rest // 3
    plan = [(lang, PATTERN[i % len(PATTERN)]) for lang, n in per_lang.items() for i in range(n)]
    rng.shuffle(plan)
    return plan


def _body(lang: str, verdict: str, i: int) -> dict[str, Any]:
    code, limits = PROGRAMS[lang][verdict]
    a, b = i, i * 7 + 1
    body: dict[str, Any] = {"language": lang, "code": code, "user_id": "load",
                            "test_cases": [{"input": f"{a} {b}\n", "expected": f"{a + b}\n"},
                                           {"input": f"{b} {a}\n", "expected": f"{a + b}\n"}]}
    if limits:
        body["limits"] = limits
    return body


@pytest.fixture(scope="module")
def lstack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FaultStack]:
    s = start_fault_stack(_log_dir(tmp_path_factory, "load-stack"), lease_seconds=15, max_attempts=3)
    try:
        yield s
    finally:
        _ACTIVE.remove(s)
        s.stop()


@pytest.mark.timeout(DEADLINE_S + 120)
def test_300_concurrent_mixed_submissions(lstack: FaultStack, capsys: pytest.CaptureFixture[str]) -> None:
    lstack.require_executors(*EXECUTORS)
    prior = lstack.job_count()
    plan = _plan()
    client = httpx.Client(base_url=lstack.base_url, timeout=httpx.Timeout(60.0, connect=5.0),
                          limits=httpx.Limits(max_connections=64))

    def submit(arg: tuple[int, tuple[str, str]]) -> tuple[str, str, str]:
        i, (lang, verdict) = arg
        resp = client.post("/submit", json=_body(lang, verdict, i))
        assert resp.status_code == 202, f"submit {i} ({lang}/{verdict}) answered {resp.status_code}: {resp.text[:500]}"
        return resp.json()["id"], lang, verdict

    t0 = time.monotonic()
    with ThreadPoolExecutor(max_workers=32) as pool:
        jobs = list(pool.map(submit, enumerate(plan)))
    submitted_s = time.monotonic() - t0
    ids = [j[0] for j in jobs]
    assert len(set(ids)) == N_JOBS, "duplicate job ids handed out"

    expected = {job_id: (lang, verdict) for job_id, lang, verdict in jobs}
    final: dict[str, dict[str, Any]] = {}

    def status(job_id: str) -> tuple[str, dict[str, Any]]:
        resp = client.get(f"/status/{job_id}")
        assert resp.status_code == 200, resp.text[:500]
        return job_id, resp.json()

    deadline = t0 + DEADLINE_S
    with ThreadPoolExecutor(max_workers=16) as pool:
        while len(final) < N_JOBS and time.monotonic() < deadline:
            pending = [j for j in ids if j not in final]
            for job_id, body in pool.map(status, pending):
                if body["status"] in ("completed", "failed"):
                    final[job_id] = body
            if len(final) < N_JOBS:
                time.sleep(1.0)
    wall = time.monotonic() - t0
    client.close()

    stuck = Counter(expected[j][0] for j in ids if j not in final)
    wrong = [(j, expected[j], final[j]["status"], final[j].get("verdict"), final[j].get("error"))
             for j in final if final[j]["status"] != "completed" or final[j]["verdict"] != expected[j][1]]
    by_lang = Counter(lang for lang, _ in plan)
    with capsys.disabled():
        print(f"\n[load] {N_JOBS} jobs ({dict(by_lang)}): submitted in {submitted_s:.1f}s, "
              f"all terminal after {wall:.1f}s wall; stuck {dict(stuck)}; wrong {len(wrong)}")
    assert not stuck, f"jobs not terminal after {DEADLINE_S}s: {dict(stuck)}"
    assert not wrong, f"{len(wrong)} jobs with an unexpected outcome, e.g. {wrong[:10]}"

    assert lstack.job_count() == prior + N_JOBS, "job records created != jobs submitted"
    for lang in EXECUTORS:
        completions = Counter(line["job_id"] for line in lstack.executor_log_lines(lang)
                              if line.get("msg") == "job completed" and line.get("job_id") in expected)
        doubles = {j: n for j, n in completions.items() if n != 1}
        assert not doubles, f"{lang}: verdicts written more than once: {doubles}"
        assert sum(completions.values()) == by_lang[lang]
        assert lstack.queue_depth(lang) == 0 or _drains(lstack, lang), f"{lang} queue not drained"
        assert lstack.queue_depth(lang, dlq=True) == 0, f"{lang}: messages dead-lettered under load"


def _drains(s: FaultStack, lang: str, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if s.queue_depth(lang) == 0:
            return True
        time.sleep(0.5)
    return False
