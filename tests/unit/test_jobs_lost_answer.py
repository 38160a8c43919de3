"""JobStore.new_job when the put of a new record lands but its answer is lost (a read timeout,
a 5xx): botocore retries the conditional put, and the retry fails its condition on the record
the first attempt wrote. Seen against LocalStack under load (tests/localstack/README.md): the
gateway then answered a fresh job as an idempotent replay."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from infra.resources import create_resources
from shared.jobs import JobStore
from shared.models import JobRequest
from shared.settings import Settings


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch) -> Iterator[JobStore]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    settings = Settings(table="unit-lost-jobs", queue_prefix="unit-lost-jobs", bucket="unit-lost-outputs")
    with mock_aws():
        create_resources(settings)
        yield JobStore(settings)


class _AnswerLostOnce:
    """A Table whose next put_item is applied, then answered as its retry would be."""

    def __init__(self, table: Any) -> None:
        self._table = table
        self.lost = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._table, name)

    def put_item(self, **kwargs: Any) -> Any:
        out = self._table.put_item(**kwargs)
        if self.lost == 0:
            self.lost += 1
            raise ClientError({"Error": {"Code": "ConditionalCheckFailedException", "Message": "retry"}}, "PutItem")
        return out


def _request() -> JobRequest:
    return JobRequest.model_validate({"language": "python", "code": "print(1)\n", "test_cases": [],
                                      "limits": {"time_ms": 1000, "wall_ms": 3000, "memory_mb": 256,
                                                 "output_kb": 64}})


@pytest.mark.parametrize("idempotency_key", [None, "k1"])
def test_a_put_whose_answer_was_lost_still_creates_the_job(store: JobStore, idempotency_key: str | None) -> None:
    lossy = _AnswerLostOnce(store.table)
    store._local.table = lossy
    item, created = store.new_job(_request(), "u1", idempotency_key)
    assert lossy.lost == 1
    assert created, "the request that wrote the record must not be told it is a replay"
    assert store.get(item["id"])["created_at"] == item["created_at"]


def test_a_concurrent_identical_request_is_still_a_replay(store: JobStore) -> None:
    first, created = store.new_job(_request(), "u1", "k2")
    assert created
    # The other request's put fails its condition on the first request's record.
    again, created_again = store.new_job(_request(), "u1", "k2")
    assert not created_again and again["id"] == first["id"]
