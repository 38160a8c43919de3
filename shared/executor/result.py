"""The result of an attempt: the S3 result document and the fields of the final write."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from shared import blobs as keys
from shared.models import GroupResult, JobRequest, Status, TestResult, Verdict

# DynamoDB's item limit is 400 KB; keep the record well under it and put the per-test
# results in the S3 result document beyond that.
MAX_ITEM_BYTES = 350 * 1024


@dataclass(frozen=True)
class Outcome:
    """What an attempt found out about the job."""

    verdict: Verdict
    results: list[TestResult]
    compile_ms: int | None
    compilation_error: str | None
    stdout_preview: str
    # None when no test was judged (a compilation error, a checker that does not compile)
    score: float | None = None
    max_score: float | None = None
    groups: list[GroupResult] = field(default_factory=list)
    error: str | None = None  # a JUDGE_ERROR's reason (the checker's compiler output, ...)

    def scores(self) -> dict[str, Any]:
        return {"score": self.score, "max_score": self.max_score}

    def group_dumps(self) -> list[dict[str, Any]]:
        return [g.model_dump(mode="json") for g in self.groups]


def result_document(job_id: str, record: dict[str, Any], request: JobRequest, total: int, outcome: Outcome,
                    completed_at: str) -> dict[str, Any]:
    """The full result (every test), stored beside the outputs as result.json."""
    return {
        "id": job_id,
        "status": Status.COMPLETED.value,
        "language": request.language,
        "verdict": outcome.verdict.value,
        "passed": _passed(outcome),
        "total": total,
        "created_at": record.get("created_at"),
        "started_at": record.get("started_at"),
        "completed_at": completed_at,
        "compile_ms": outcome.compile_ms,
        "compilation_error": outcome.compilation_error,
        "stdout_preview": outcome.stdout_preview,
        "error": outcome.error,
        **outcome.scores(),
        "groups": outcome.group_dumps(),
        "problem_id": request.problem_id,
        "problem_version": request.problem_version,
        "results": [r.model_dump(mode="json") for r in outcome.results],
    }


def final_fields(record: dict[str, Any], prefix: str, total: int, outcome: Outcome,
                 completed_at: str) -> dict[str, Any]:
    """The fields of the final write, which names this attempt's objects (`output_prefix`,
    `result_key`). The per-test results go in the item compactly (None fields are the model's
    defaults) unless the item would grow too big: then only the document's key."""
    result_key = keys.result_key_in(prefix)
    results = outcome.results
    fields: dict[str, Any] = {
        "verdict": outcome.verdict.value,
        "passed": _passed(outcome),
        "total": total,
        "completed_at": completed_at,
        "compile_ms": outcome.compile_ms,
        "compilation_error": outcome.compilation_error,
        "result_key": result_key,
        "output_prefix": prefix,
        "stdout_preview": outcome.stdout_preview,
        "error": outcome.error,
        **outcome.scores(),
        "groups": outcome.group_dumps() or None,
        "results": [r.model_dump(mode="json", exclude_none=True) for r in results],
        "results_key": None,
        "tests_done": len(results) if results else None,
    }
    size = len(json.dumps(record, default=str)) + len(json.dumps(fields))
    if size > MAX_ITEM_BYTES:
        fields["results"] = None
        fields["results_key"] = result_key
    return fields


def _passed(outcome: Outcome) -> int:
    return sum(1 for r in outcome.results if r.passed)
