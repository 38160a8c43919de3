"""The AWS endpoint the suite runs on (the embedded emulator, or LocalStack in `make
test-localstack`) serves concurrent DynamoDB calls on one item as DynamoDB does: a read never
fails because another client writes the item at the same time. With botocore's retries off,
every call must succeed on its first attempt."""

from __future__ import annotations

import concurrent.futures
import secrets
from typing import Any

import pytest
from botocore.config import Config

from tests.stack import Stack

pytestmark = pytest.mark.integration

OPS = 60  # per thread: without the lock moto failed within the first few dozen
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})


def test_concurrent_reads_and_writes_of_one_item_never_fail(stack: Stack) -> None:
    from shared.aws import client

    stack.store()  # the session's credentials in this process
    ddb = client("dynamodb", stack.settings(), NO_RETRIES)
    table = f"{stack.table}-race-{secrets.token_hex(3)}"
    ddb.create_table(TableName=table, BillingMode="PAY_PER_REQUEST",
                     AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                     KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
    ddb.get_waiter("table_exists").wait(TableName=table, WaiterConfig={"Delay": 1, "MaxAttempts": 30})
    key = {"id": {"S": "item"}}
    ddb.put_item(TableName=table, Item={**key, "a0": {"N": "0"}})

    def write(w: int) -> int:
        for i in range(OPS):  # a new attribute every time: the item's attribute map grows
            ddb.update_item(TableName=table, Key=key, UpdateExpression="SET #a = :v",
                            ExpressionAttributeNames={"#a": f"w{w}_{i}"},
                            ExpressionAttributeValues={":v": {"N": str(i)}})
        return OPS

    def read(_: int) -> int:
        for _ in range(OPS):
            item: dict[str, Any] = ddb.get_item(TableName=table, Key=key, ProjectionExpression="a0")["Item"]
            assert item == {"a0": {"N": "0"}}, item
        return OPS

    try:
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(write, w) for w in range(4)] + [pool.submit(read, r) for r in range(4)]
            done = [f.result() for f in futures]  # raises the first ClientError (a 500) if any
        assert done == [OPS] * 8
    finally:
        ddb.delete_table(TableName=table)
