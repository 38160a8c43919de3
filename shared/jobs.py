"""The job store: job records in the DynamoDB table (layout in docs/ARCHITECTURE.md).

The gateway creates records and reads them; executors read the request (`load_request`),
heartbeat their `executor#{lang}` record and write results through their own conditional
updates (shared/claims.py). Large requests go to S3 (claim-check) so an item stays well under
DynamoDB's 400 KB limit.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botocore.exceptions import ClientError

from shared import aws
from shared.blobs import Blobs, request_key
from shared.languages import LANGUAGES
from shared.models import JobRequest, Status, Verdict
from shared.settings import Settings, get_settings

# DynamoDB items are capped at 400 KB including attribute names and the rest of the record;
# a request JSON above this goes to S3.
INLINE_REQUEST_LIMIT = 300 * 1024

# Fixed namespace so the same (user_id, idempotency_key) always maps to the same job id.
IDEMPOTENCY_NAMESPACE = uuid.UUID("6f1c3c4e-6a9b-5d0e-9a51-7c0de9e1b0a1")

EXECUTOR_PREFIX = "executor#"


# Set on a new record and removed once its message is known to be on the queue: a record that
# keeps it (its gateway died between the two writes) is found through this sparse index and
# queued by a gateway's sweeper (api_gateway/sweeper.py).
UNQUEUED_ATTR = "unqueued_lang"
UNQUEUED_INDEX = "unqueued_lang-created_at"

# The record's attributes the API shows (everything but the request and the lease).
VIEW_FIELDS = (
    "id", "status", "language", "verdict", "passed", "total", "tests_done", "created_at", "started_at",
    "completed_at",
    "error", "compile_ms", "compilation_error", "stdout_preview", "results", "results_key", "result_key",
    "output_prefix", "score", "max_score", "groups", "problem_id", "problem_version",
)


def rfc3339(epoch_s: float) -> str:
    """RFC 3339 UTC with milliseconds and a `Z` suffix, e.g. 2026-01-02T03:04:05.678Z (these
    sort as text, which the `created_at` range keys rely on)."""
    return datetime.fromtimestamp(epoch_s, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def now_rfc3339() -> str:
    return rfc3339(time.time())


def parse_rfc3339(value: str) -> datetime:
    return datetime.fromisoformat(value)


def idempotent_job_id(user_id: str | None, key: str) -> str:
    # NUL separator: ("ab", "c") and ("a", "bc") must not collide.
    return uuid.uuid5(IDEMPOTENCY_NAMESPACE, f"{user_id or ''}\x00{key}").hex


def _same_creation(existing: dict[str, Any], item: dict[str, Any]) -> bool:
    """Whether `existing` is the record that `item`'s own put wrote (fields no later write
    changes, down to the millisecond of creation)."""
    return all(existing.get(k) == item[k] for k in ("created_at", "expires_at", "language"))


def new_job_id() -> str:
    return uuid.uuid4().hex


def executor_record_id(language: str) -> str:
    return f"{EXECUTOR_PREFIX}{language}"


def dynamo_value(value: Any) -> Any:
    """A JSON value as the boto3 resource API stores it: floats as Decimal (it refuses
    floats), maps and lists recursively."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {str(k): dynamo_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [dynamo_value(v) for v in value]
    return value


def _is_conditional_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


class JobStore:
    def __init__(self, settings: Settings | None = None, blobs: Blobs | None = None) -> None:
        self.settings = settings or get_settings()
        self._blobs = blobs
        # boto3 resources are not thread-safe; the gateway calls us from a thread pool.
        self._local = threading.local()

    @property
    def table(self) -> Any:
        table = getattr(self._local, "table", None)
        if table is None:
            table = aws.jobs_table(self.settings)
            self._local.table = table
        return table

    @property
    def blobs(self) -> Blobs:
        if self._blobs is None:
            self._blobs = Blobs(self.settings)
        return self._blobs

    # --- basic record access --------------------------------------------------------------
    def create(self, item: dict[str, Any]) -> bool:
        """Put a new record; False (and nothing written) when the id already exists."""
        try:
            self.table.put_item(Item=item, ConditionExpression="attribute_not_exists(id)")
            return True
        except ClientError as exc:
            if _is_conditional_failure(exc):
                return False
            raise

    def get(self, job_id: str, consistent: bool = True) -> dict[str, Any] | None:
        item = self.table.get_item(Key={"id": job_id}, ConsistentRead=consistent).get("Item")
        return aws.plain(item) if item is not None else None

    def get_view(self, job_id: str) -> dict[str, Any] | None:
        """The job's record without its request (consistent): all that /status and /result
        show. A waiting request polls this, so it never moves the inline test data (up to
        ~350 KB) and needs no second read once the job is done."""
        names = {f"#v{i}": field for i, field in enumerate(VIEW_FIELDS)}
        item = self.table.get_item(
            Key={"id": job_id}, ConsistentRead=True, ProjectionExpression=", ".join(names),
            ExpressionAttributeNames=names,
        ).get("Item")
        return aws.plain(item) if item is not None else None

    def delete(self, job_id: str) -> None:
        self.table.delete_item(Key={"id": job_id})

    def mark_failed(self, job_id: str, error: str, only_if_status: str | None = Status.QUEUED) -> bool:
        """Terminal `failed` with a reason; by default only when still queued (so it can never
        overwrite an executor's verdict). False when the condition did not hold."""
        condition, values = "attribute_exists(id)", {}
        if only_if_status is not None:
            condition, values = condition + " AND #s = :only", {":only": str(only_if_status)}
        return self.write_failure(job_id, error, condition, values)

    def write_failure(self, job_id: str, error: str, condition: str, values: dict[str, Any]) -> bool:
        """The one writer of `failed`, under the caller's condition (`#s` is the status;
        `values` its placeholders): the reason, INTERNAL_ERROR, completion time, no lease,
        no unqueued mark (a failed job needs no sweeper). False when the condition failed."""
        try:
            self.table.update_item(
                Key={"id": job_id},
                # status last (see Claims.complete)
                UpdateExpression=("SET #e = :error, verdict = :ie, completed_at = :now, #s = :failed "
                                  f"REMOVE lease_owner, lease_expires_ms, {UNQUEUED_ATTR}"),
                ConditionExpression=condition,
                ExpressionAttributeNames={"#s": "status", "#e": "error"},
                ExpressionAttributeValues={**values, ":failed": Status.FAILED.value, ":error": error[:4000],
                                           ":ie": Verdict.INTERNAL_ERROR.value, ":now": now_rfc3339()},
            )
            return True
        except ClientError as exc:
            if _is_conditional_failure(exc):
                return False
            raise

    def mark_enqueued(self, job_id: str) -> None:
        """The job's message is on its queue: take it out of the unqueued index."""
        try:
            self.table.update_item(
                Key={"id": job_id}, UpdateExpression=f"REMOVE {UNQUEUED_ATTR}",
                ConditionExpression="attribute_exists(id)",
            )
        except ClientError as exc:
            if not _is_conditional_failure(exc):  # gone meanwhile: nothing to do
                raise

    def unqueued(self, language: str, older_than_s: float, limit: int = 100) -> list[str]:
        """Ids of `language` jobs stored more than `older_than_s` ago whose message was never
        confirmed queued (oldest first)."""
        cutoff = rfc3339(time.time() - older_than_s)
        resp = self.table.query(
            IndexName=UNQUEUED_INDEX,
            KeyConditionExpression="#l = :l AND created_at < :cutoff",
            ExpressionAttributeNames={"#l": UNQUEUED_ATTR},
            ExpressionAttributeValues={":l": language, ":cutoff": cutoff},
            Limit=limit,
        )
        return [str(item["id"]) for item in resp.get("Items", [])]

    # --- submissions ------------------------------------------------------------------------
    def new_job(
        self, request: JobRequest, user_id: str | None = None, idempotency_key: str | None = None,
        total: int | None = None,
    ) -> tuple[dict[str, Any], bool]:
        """Create the record of a new job (status queued). Returns (record, created): with an
        idempotency key that was seen before, the original record and False. `total`: the
        number of tests when they are not the request's own (a problem's)."""
        if idempotency_key is not None:
            job_id = idempotent_job_id(user_id, idempotency_key)
            # Look first: a replay must not overwrite the original's S3 request document.
            existing = self.get(job_id)
            if existing is not None:
                return existing, False
        else:
            job_id = new_job_id()

        now = now_rfc3339()
        item: dict[str, Any] = {
            "id": job_id,
            "language": request.language,
            "status": Status.QUEUED.value,
            "passed": 0,
            "total": total if total is not None else max(1, len(request.test_cases)),
            "created_at": now,
            "attempts": 0,
            "expires_at": int(time.time()) + self.settings.job_ttl_days * 86400,
            UNQUEUED_ATTR: request.language,
        }
        if user_id is not None:
            item["user_id"] = user_id
        if idempotency_key is not None:
            item["idempotency_key"] = idempotency_key
        if request.problem_id is not None:
            # Record attributes too: the views read a projection without the request.
            item["problem_id"] = request.problem_id
            item["problem_version"] = request.problem_version

        dumped = request.model_dump(mode="json")
        encoded = json.dumps(dumped, ensure_ascii=False, separators=(",", ":")).encode()
        if len(encoded) > INLINE_REQUEST_LIMIT:
            key = request_key(job_id)
            self.blobs.put_bytes(key, encoded, content_type="application/json")
            item["request_key"] = key
        else:
            item["request"] = dynamo_value(dumped)  # points are numbers: Decimal for DynamoDB

        if self.create(item):
            return item, True
        existing = self.get(job_id)
        if existing is not None and _same_creation(existing, item):
            # Our own put landed but its answer was lost (a read timeout, a 5xx): botocore
            # retried it and the retry met our record. This request created the job.
            return item, True
        # Lost a race with a concurrent identical request: theirs is the job.
        if existing is None:  # created and deleted in between (its enqueue failed); try again once
            if self.create(item):
                return item, True
            existing = self.get(job_id)
        if existing is None:
            raise RuntimeError(f"job {job_id} vanished while being created")
        return existing, False

    def load_request(self, item: dict[str, Any]) -> JobRequest:
        """The JobRequest of a record, from the inline `request` map or the S3 claim-check."""
        if item.get("request") is not None:
            return JobRequest.model_validate(aws.plain(item["request"]))
        key = item.get("request_key")
        if not key:
            raise ValueError(f"job {item.get('id')} has neither request nor request_key")
        return JobRequest.model_validate(self.blobs.get_json(key))

    def load_results(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        """Per-test results: inline `results`, or from the S3 document at `results_key`
        (either the full /result document with a `results` list, or a bare list)."""
        if item.get("results") is not None:
            return aws.plain(item["results"])
        key = item.get("results_key")
        if not key:
            return []
        doc = self.blobs.get_json(key)
        if isinstance(doc, dict):
            return list(doc.get("results") or [])
        return list(doc or [])

    # --- executor records -------------------------------------------------------------------
    def heartbeat_executor(
        self, language: str, version: str, executor_id: str, isolation: dict[str, Any] | None = None
    ) -> None:
        """Record that an executor for `language` is alive (at start and on idle polls), with
        the isolation its sandbox helper reported (`sandbox --probe`) when known."""
        item: dict[str, Any] = {
            "id": executor_record_id(language),
            "language": language,
            "version": version,
            "executor_id": executor_id,
            "last_seen": now_rfc3339(),
        }
        if isolation is not None:
            item["isolation"] = dynamo_value(isolation)
        self.table.put_item(Item=item)

    def executor_records(self) -> dict[str, dict[str, Any]]:
        """`{language: {language, version, executor_id, last_seen, isolation?}}` for every
        language seen."""
        # The resource's client (un)marshals DynamoDB types itself: plain keys in, plain items out.
        resp = self.table.meta.client.batch_get_item(
            RequestItems={self.settings.table: {"Keys": [{"id": executor_record_id(lang)} for lang in LANGUAGES]}}
        )
        out: dict[str, dict[str, Any]] = {}
        for raw in resp.get("Responses", {}).get(self.settings.table, []):
            item = aws.plain(raw)
            lang = item.get("language") or str(item["id"]).removeprefix(EXECUTOR_PREFIX)
            out[lang] = item
        return out
