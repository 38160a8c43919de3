"""Property-based fuzzing of the live gateway from its own /openapi.json (schemathesis 4):
schema-conforming and schema-violating requests to every operation. No request may cause a
5xx, and every 4xx body must be the SPEC error shape `{"error": {"code", "message"}}`.

Bounded: a few examples per operation and mode, no shrinking (failures are collected with
the request that caused them, as a curl line)."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings

from tests.faults.conftest import FaultStack

pytestmark = [pytest.mark.faults, pytest.mark.slow]

EXAMPLES_PER_MODE = 60
BUDGET_S = 150.0


def _shape_problem(status: int, text: str) -> str | None:
    if status >= 500:
        return f"server error {status}"
    if 400 <= status < 500:
        try:
            body = json.loads(text)
        except ValueError:
            return f"{status} with a non-JSON body"
        err = body.get("error") if isinstance(body, dict) else None
        if not (isinstance(body, dict) and set(body) == {"error"} and isinstance(err, dict)
                and isinstance(err.get("code"), str) and err["code"]
                and isinstance(err.get("message"), str) and err["message"]):
            return f"{status} body not in the error shape"
    return None


@pytest.mark.timeout(300)
def test_fuzz_every_operation_no_5xx_and_error_shape(fs: FaultStack) -> None:
    schemathesis = pytest.importorskip("schemathesis")
    from schemathesis import GenerationMode

    schema = schemathesis.openapi.from_url(f"{fs.base_url}/openapi.json")
    operations = []
    for result in schema.get_all_operations():
        operations.append(result.ok())
    labels = sorted(op.label for op in operations)
    assert any("/submit" in label for label in labels), labels

    failures: list[dict[str, Any]] = []
    calls = 0
    started = time.monotonic()

    def make_runner(op: Any, mode: Any) -> Any:
        @settings(max_examples=EXAMPLES_PER_MODE, deadline=None, database=None, derandomize=True,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=op.as_strategy(generation_mode=mode))
        def run(case: Any) -> None:
            nonlocal calls
            if time.monotonic() - started > BUDGET_S:
                return
            try:
                response = case.call(base_url=fs.base_url, timeout=45)
            except Exception as exc:  # a dropped connection is a failure too
                failures.append({"op": op.label, "mode": str(mode), "problem": f"{type(exc).__name__}: {exc}"})
                return
            calls += 1
            problem = _shape_problem(response.status_code, response.text)
            if problem:
                try:
                    curl = case.as_curl_command()
                except Exception:  # noqa: BLE001
                    curl = repr(case)
                failures.append({"op": op.label, "mode": str(mode), "problem": problem,
                                 "response": response.text[:300], "request": curl[:600]})

        return run

    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if time.monotonic() - started > BUDGET_S:
                break
            try:
                make_runner(op, mode)()
            except Exception as exc:  # generation itself failed (e.g. unsatisfiable): note it
                if "Unsatisfiable" not in type(exc).__name__:
                    failures.append({"op": op.label, "mode": str(mode), "problem": f"{type(exc).__name__}: {exc}"})

    took = time.monotonic() - started
    print(f"[fuzz] {calls} requests over {len(operations)} operations in {took:.0f}s")
    assert calls >= len(operations) * 5, f"too few requests made ({calls}); {failures[:3]}"
    distinct: dict[tuple[str, str], dict[str, Any]] = {}
    for f in failures:
        distinct.setdefault((f["op"], f["problem"]), f)
    assert not failures, f"{len(failures)} failing requests; distinct: " + json.dumps(list(distinct.values()), indent=1)


EDGE_STRINGS = ["", " ", "\x00", "\ud800", "é" * 300, "x" * 5000, "../../etc/passwd", "executor#python", "%00"]
EDGE_NUMBERS = [0, -1, 1, 2**31, 2**63, 1e308, 0.5, "1000", None, True, [], {}]


def _edge_bodies() -> list[tuple[str, Any]]:
    base = {"language": "python", "code": "print(1)\n"}
    out: list[tuple[str, Any]] = []
    for field in ("user_id", "idempotency_key", "compare", "language", "stdin", "code"):
        for value in EDGE_STRINGS:
            out.append((f"{field}={value[:12]!r}", {**base, field: value}))
    for limit in ("time_ms", "wall_ms", "memory_mb", "output_kb"):
        for value in EDGE_NUMBERS:
            out.append((f"limits.{limit}={value!r}", {**base, "limits": {limit: value}}))
    for value in ([None], [{}], [{"input": None}], [{"expected": 5}], "cases", [[]], [{"input": "", "x": 1}]):
        out.append((f"test_cases={value!r}", {**base, "test_cases": value}))
    out.append(("user_id+empty key", {**base, "user_id": "", "idempotency_key": ""}))
    out.append(("top-level list", [base]))
    out.append(("null", None))
    return out


@pytest.mark.timeout(180)
def test_submit_edge_values_no_5xx_and_error_shape(fs: FaultStack) -> None:
    """Boundary values of every /submit field, one request each (the fuzzer reaches these only
    by chance): a 2xx or a 4xx in the error shape, never a 5xx."""
    failures = []
    for label, body in _edge_bodies():
        resp = fs.client.post("/submit", content=json.dumps(body).encode(),
                              headers={"Content-Type": "application/json"})
        problem = _shape_problem(resp.status_code, resp.text)
        if problem:
            failures.append({"case": label, "problem": problem, "response": resp.text[:300]})
    assert not failures, json.dumps(failures, indent=1)
