"""LocalStack service provider `dynamodb:moto`: every DynamoDB operation goes to moto's
DynamoDB backend (moto-ext, already inside LocalStack) instead of DynamoDB Local.

LocalStack's own DynamoDB provider forwards to DynamoDB Local, a Java program it downloads at
run time (with a JRE); on a machine that reaches only package registries that download fails.
LocalStack's moto fallback serves the operations a provider leaves unimplemented, so a
provider implementing none of them is a pure-moto DynamoDB behind LocalStack's gateway, its
request parsing and serialisation, and its account/region handling.

One lock serialises the calls into moto. moto's DynamoDB is not thread-safe, and LocalStack
serves requests from a thread pool: a GetItem with a ProjectionExpression, or UpdateItem's
copy of the old item, iterates an item's attributes while another thread's UpdateItem changes
them, and answers 500 InternalError ("dictionary changed size during iteration"). DynamoDB
itself never fails a read because of a concurrent write; without the lock a full run of the
suite saw about 20 such 500s (absorbed by botocore's retries, but the gateway retries only
once, so a test could fail on the emulator's race rather than on our code).

Selected with PROVIDER_OVERRIDE_DYNAMODB=moto; registered under the entry-point group
`localstack.aws.provider` (pyproject.toml beside this file).
"""

from __future__ import annotations

import threading
from typing import Any

from localstack.services.plugins import Service, aws_provider

_MOTO_LOCK = threading.Lock()


def _serialised_moto(context: Any, request: Any) -> Any:
    from localstack.services.moto import call_moto

    with _MOTO_LOCK:
        return call_moto(context)


@aws_provider(api="dynamodb", name="moto")
def dynamodb_moto() -> Service:
    from localstack.aws.api.dynamodb import DynamodbApi
    from localstack.aws.forwarder import ForwardingFallbackDispatcher

    class MotoDynamoDBProvider(DynamodbApi):
        """No operation of its own: each raises NotImplementedError and falls through to moto."""

    return Service.for_provider(
        MotoDynamoDBProvider(),
        dispatch_table_factory=lambda provider: ForwardingFallbackDispatcher(provider, _serialised_moto),
    )
