"""Conditional DynamoDB updates of the executor: claim, lease heartbeat, status transitions,
release, failure and the final write.

Every write is one UpdateItem with a condition, so two executors that receive the same
message (SQS is at-least-once) can never both run or both finish a job: the claim admits
one owner, and every later write requires `lease_owner = me`. A failed condition returns
False / None; only real errors raise.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import ClientError

from shared import aws
from shared.jobs import JobStore, dynamo_value, now_rfc3339
from shared.models import Status

_NAMES = {"#s": "status"}
_DESERIALIZE = TypeDeserializer()
Landed = Callable[[dict[str, Any]], bool]


def now_ms() -> int:
    return int(time.time() * 1000)


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _update(table: Any, job_id: str, returns: str = "NONE", landed: Landed | None = None,
            **kwargs: Any) -> dict[str, Any] | None:
    """UpdateItem returning the new item (with returns="ALL_NEW", else {}), or None when the
    condition did not hold.

    `landed(item)` recognises our own write in the current item: botocore retries a call whose
    answer was lost (a timeout), and the retry then fails its condition on the write the first
    try made. With `landed`, a failed condition returns that item when it is our write, so a
    lost answer is not taken for a lost race."""
    if landed is not None:
        kwargs["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    try:
        resp = table.update_item(Key={"id": job_id}, ReturnValues=returns, **kwargs)
    except ClientError as exc:
        if not _conditional_failed(exc):
            raise
        current = exc.response.get("Item")
        if landed is not None and current:
            item = aws.plain({k: _DESERIALIZE.deserialize(v) for k, v in current.items()})
            if landed(item):
                return item
        return None
    return resp.get("Attributes", {})


class Claims:
    """The lease protocol for one executor (`owner` = its executor id)."""

    def __init__(self, store: JobStore, owner: str, lease_seconds: int) -> None:
        self.store = store
        self.owner = owner
        self.lease_ms = lease_seconds * 1000

    @property
    def table(self) -> Any:
        # JobStore keeps one boto3 Table per thread (the heartbeat runs in its own thread).
        return self.store.table

    def claim(self, job_id: str, language: str) -> dict[str, Any] | None:
        """queued -> compiling, or take over a compiling/running job whose lease expired, of
        the given language. Returns the claimed record (with `attempts` incremented) or None
        if it is not claimable: someone else has it, it is finished, unknown or of another
        language (the caller reads the record to tell which)."""
        now = now_ms()
        expires = now + self.lease_ms
        return _update(
            self.table,
            job_id,
            returns="ALL_NEW",
            landed=lambda item: item.get("lease_owner") == self.owner and item.get("lease_expires_ms") == expires,
            UpdateExpression=(
                "SET #s = :compiling, lease_owner = :me, lease_expires_ms = :exp, "
                "attempts = if_not_exists(attempts, :zero) + :one, "
                "started_at = if_not_exists(started_at, :now) "
                "REMOVE tests_done"  # an earlier attempt's progress
            ),
            ConditionExpression=(
                "attribute_exists(id) AND #lang = :lang AND (#s = :queued OR "
                "((#s = :compiling OR #s = :running) AND "
                "(attribute_not_exists(lease_expires_ms) OR lease_expires_ms < :nowms)))"
            ),
            ExpressionAttributeNames={**_NAMES, "#lang": "language"},
            ExpressionAttributeValues={
                ":compiling": Status.COMPILING.value,
                ":running": Status.RUNNING.value,
                ":queued": Status.QUEUED.value,
                ":lang": language,
                ":me": self.owner,
                ":exp": expires,
                ":zero": 0,
                ":one": 1,
                ":now": now_rfc3339(),
                ":nowms": now,
            },
        )

    def _owned(self) -> str:
        return "lease_owner = :me AND (#s = :compiling OR #s = :running)"

    def _owned_values(self) -> dict[str, Any]:
        return {":me": self.owner, ":compiling": Status.COMPILING.value, ":running": Status.RUNNING.value}

    def heartbeat(self, job_id: str) -> bool:
        """Extend the lease; False when it was lost (taken over, or the job was finished)."""
        return (
            _update(
                self.table,
                job_id,
                UpdateExpression="SET lease_expires_ms = :exp",
                ConditionExpression=self._owned(),
                ExpressionAttributeNames=_NAMES,
                ExpressionAttributeValues={**self._owned_values(), ":exp": now_ms() + self.lease_ms},
            )
            is not None
        )

    def set_running(self, job_id: str) -> bool:
        """compiling -> running (only from compiling, only while we own it)."""
        expires = now_ms() + self.lease_ms
        return (
            _update(
                self.table,
                job_id,
                landed=lambda item: (item.get("lease_owner") == self.owner and item.get("status") == Status.RUNNING
                                     and item.get("lease_expires_ms") == expires),
                UpdateExpression="SET #s = :running, lease_expires_ms = :exp",
                ConditionExpression="lease_owner = :me AND #s = :compiling",
                ExpressionAttributeNames=_NAMES,
                ExpressionAttributeValues={
                    ":me": self.owner,
                    ":compiling": Status.COMPILING.value,
                    ":running": Status.RUNNING.value,
                    ":exp": expires,
                },
            )
            is not None
        )

    def progress(self, job_id: str, done: int) -> bool:
        """`tests_done = done` while we run the job (never after its end: the lease is gone)."""
        return (
            _update(
                self.table,
                job_id,
                UpdateExpression="SET tests_done = :d",
                ConditionExpression="lease_owner = :me AND #s = :running",
                ExpressionAttributeNames=_NAMES,
                ExpressionAttributeValues={":me": self.owner, ":running": Status.RUNNING.value, ":d": done},
            )
            is not None
        )

    def release(self, job_id: str) -> bool:
        """Hand the job back (status queued, no lease) after an internal error or on shutdown,
        so the next delivery of its message claims it afresh."""
        return (
            _update(
                self.table,
                job_id,
                UpdateExpression="SET #s = :queued REMOVE lease_owner, lease_expires_ms",
                ConditionExpression=self._owned(),
                ExpressionAttributeNames=_NAMES,
                ExpressionAttributeValues={**self._owned_values(), ":queued": Status.QUEUED.value},
            )
            is not None
        )

    def fail(self, job_id: str, error: str) -> bool:
        """Terminal `failed` with a reason, after the last allowed attempt. Allowed while we
        own the job, or when nobody holds a live lease on it; never over a finished job."""
        return self.store.write_failure(
            job_id, error,
            condition=("attribute_exists(#s) AND #s <> :completed AND #s <> :failed AND "
                       "(attribute_not_exists(lease_owner) OR lease_owner = :me OR lease_expires_ms < :nowms)"),
            values={":completed": Status.COMPLETED.value, ":me": self.owner, ":nowms": now_ms()},
        )

    def complete(self, job_id: str, fields: dict[str, Any]) -> bool:
        """The final write: status completed plus `fields` (verdict, results, ...), once.
        Attributes whose value is None are removed rather than stored as NULL."""
        fields = {"completed_at": now_rfc3339(), **fields}
        sets: list[str] = []
        removes = ["lease_owner", "lease_expires_ms"]
        names = dict(_NAMES)
        values: dict[str, Any] = {
            ":completed": Status.COMPLETED.value,
            ":failed": Status.FAILED.value,
            ":me": self.owner,
        }
        for i, (key, value) in enumerate(fields.items()):
            names[f"#f{i}"] = key
            if value is None:
                removes.append(f"#f{i}")
            else:
                sets.append(f"#f{i} = :f{i}")
                values[f":f{i}"] = dynamo_value(value)  # scores are floats: Decimal for DynamoDB
        # The status goes last: DynamoDB applies an update atomically, but the embedded
        # emulator (moto) applies its actions one by one on the live item, so a concurrent
        # read could otherwise see `completed` without the verdict.
        sets.append("#s = :completed")
        return (
            _update(
                self.table,
                job_id,
                # ours: completed at our time, naming our attempt's objects
                landed=lambda item: (item.get("status") == Status.COMPLETED
                                     and item.get("completed_at") == fields["completed_at"]
                                     and item.get("result_key") == fields.get("result_key")),
                UpdateExpression=f"SET {', '.join(sets)} REMOVE {', '.join(removes)}",
                ConditionExpression="lease_owner = :me AND #s <> :completed AND #s <> :failed",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
            is not None
        )
