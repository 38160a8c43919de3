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

EXAMPLES_PER_MODE = 25
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

    for op in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            if time.monotonic() - started > BUDGET_S:
                break

            @settings(max_examples=EXAMPLES_PER_MODE, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
            @given(case=op.as_strategy(generation_mode=mode))
            def run(case: Any, op: Any = op, mode: Any = mode) -> None:
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

            try:
                run()
            except Exception as exc:  # generation itself failed (e.g. unsatisfiable): note it
                if "Unsatisfiable" not in type(exc).__name__:
                    failures.append({"op": op.label, "mode": str(mode), "problem": f"{type(exc).__name__}: {exc}"})

    took = time.monotonic() - started
    print(f"[fuzz] {calls} requests over {len(operations)} operations in {took:.0f}s")
    assert calls >= len(operations) * 5, f"too few requests made ({calls})"
    distinct: dict[tuple[str, str], dict[str, Any]] = {}
    for f in failures:
        distinct.setdefault((f["op"], f["problem"]), f)
    assert not failures, f"{len(failures)} failing requests; distinct: " + json.dumps(list(distinct.values()), indent=1)
