"""Create the data resources of `infra/data.yaml` (DynamoDB table, SQS queues with their
DLQs, S3 bucket) directly with boto3, on the embedded emulator, LocalStack or AWS.

The template is the single source of truth: this module reads it, expands `Fn::ForEach`
(AWS::LanguageExtensions) over the languages of `shared/languages.py` (they override the
`Languages` parameter, so a registry entry is all a new language needs here), resolves the
intrinsic functions it needs (`!Ref`, `!Sub`, `!GetAtt X.Arn`, `!Join`, `!Select`, `!Split`,
`!FindInMap`) with the parameter defaults overridden by settings, and translates each resource's CloudFormation
properties to the equivalent API calls. Resource types other than the three are ignored.
Every step is idempotent.

    python -m infra.resources [--template PATH] [--quiet]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError, EndpointConnectionError

from infra.template import (
    TEMPLATE_PATH,
    Resolver,
    UnresolvableError,
    creation_order,
    data_resources,
    load_template,
    parameter_values,
)
from shared import aws
from shared.settings import Settings, get_settings

# Backends that do not implement some bucket/table feature answer with one of these; the
# feature is a hardening (encryption, lifecycle, PITR), not something the service relies on.
_UNSUPPORTED_CODES = {
    "NotImplemented",
    "NotImplementedError",
    "InternalFailure",
    "InternalError",
    "UnsupportedOperation",
    "UnknownOperationException",
    "501",
}


# --- translation to API calls -------------------------------------------------------------
def _error_code(exc: ClientError) -> str:
    err = exc.response.get("Error", {})
    return str(err.get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", ""))


def _unsupported(exc: ClientError) -> bool:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return _error_code(exc) in _UNSUPPORTED_CODES or status == 501


def dynamodb_create_args(props: dict[str, Any]) -> dict[str, Any]:
    """CloudFormation AWS::DynamoDB::Table properties -> CreateTable arguments."""
    args: dict[str, Any] = {
        "TableName": props["TableName"],
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PROVISIONED"),
    }
    provisioned = args["BillingMode"] == "PROVISIONED"
    if provisioned:
        args["ProvisionedThroughput"] = _throughput(props.get("ProvisionedThroughput"))
    for key in ("GlobalSecondaryIndexes", "LocalSecondaryIndexes"):
        if props.get(key):
            indexes = []
            for idx in props[key]:
                idx = {k: v for k, v in idx.items() if k in ("IndexName", "KeySchema", "Projection",
                                                             "ProvisionedThroughput")}
                if key == "GlobalSecondaryIndexes" and provisioned:
                    idx["ProvisionedThroughput"] = _throughput(idx.get("ProvisionedThroughput"))
                elif not provisioned:
                    idx.pop("ProvisionedThroughput", None)
                indexes.append(idx)
            args[key] = indexes
    if props.get("StreamSpecification"):
        args["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    if props.get("Tags"):
        args["Tags"] = props["Tags"]
    return args


def _throughput(value: dict[str, Any] | None) -> dict[str, int]:
    value = value or {}
    return {
        "ReadCapacityUnits": int(value.get("ReadCapacityUnits", 5)),
        "WriteCapacityUnits": int(value.get("WriteCapacityUnits", 5)),
    }


_SQS_ATTRS = (
    "DelaySeconds",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "VisibilityTimeout",
    "FifoQueue",
    "ContentBasedDeduplication",
    "KmsMasterKeyId",
    "KmsDataKeyReusePeriodSeconds",
    "SqsManagedSseEnabled",
    "DeduplicationScope",
    "FifoThroughputLimit",
)


def sqs_attributes(props: dict[str, Any]) -> dict[str, str]:
    """CloudFormation AWS::SQS::Queue properties -> CreateQueue `Attributes` (all strings)."""
    attrs: dict[str, str] = {}
    for key in _SQS_ATTRS:
        if key in props and props[key] is not None:
            value = props[key]
            attrs[key] = str(value).lower() if isinstance(value, bool) else str(value)
    for key in ("RedrivePolicy", "RedriveAllowPolicy"):
        if props.get(key) is not None:
            policy = props[key]
            if isinstance(policy, str):
                policy = json.loads(policy)
            if "maxReceiveCount" in policy:
                policy = {**policy, "maxReceiveCount": int(policy["maxReceiveCount"])}
            attrs[key] = json.dumps(policy, separators=(",", ":"))
    return attrs


def s3_lifecycle_rules(rules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """CloudFormation lifecycle rules -> PutBucketLifecycleConfiguration rules."""
    out = []
    for rule in rules:
        r: dict[str, Any] = {"Status": rule.get("Status", "Enabled")}
        if rule.get("Id"):
            r["ID"] = rule["Id"]
        r["Filter"] = {"Prefix": rule.get("Prefix", "")}
        if rule.get("ExpirationInDays") is not None:
            r["Expiration"] = {"Days": int(rule["ExpirationInDays"])}
        if rule.get("NoncurrentVersionExpirationInDays") is not None:
            r["NoncurrentVersionExpiration"] = {"NoncurrentDays": int(rule["NoncurrentVersionExpirationInDays"])}
        if rule.get("AbortIncompleteMultipartUpload"):
            r["AbortIncompleteMultipartUpload"] = {
                "DaysAfterInitiation": int(rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"])
            }
        out.append(r)
    return out


class ResourceCreator:
    def __init__(self, settings: Settings | None = None, template_path: Path | str = TEMPLATE_PATH,
                 log: Callable[[str], None] | None = None) -> None:
        self.settings = settings or get_settings()
        self.template = load_template(template_path)
        self.log = log or (lambda msg: None)
        self.ddb = aws.client("dynamodb", self.settings)
        self.sqs = aws.client("sqs", self.settings)
        self.s3 = aws.client("s3", self.settings)
        self.physical: dict[str, dict[str, Any]] = {}
        self._account: str | None = None
        self.resolver = Resolver(
            parameters=parameter_values(self.template, self.settings),
            pseudo={
                "AWS::Region": self.settings.aws_region,
                "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
                "AWS::StackName": "codepipe",
                "AWS::NoValue": None,  # type: ignore[dict-item]
            },
            ref=self._ref,
            get_att=self._get_att,
            mappings=self.template.get("Mappings") or {},
        )

    def _ref(self, logical_id: str) -> Any:
        if logical_id == "AWS::AccountId":
            return self.account_id
        if logical_id not in self.physical:
            raise UnresolvableError(f"Ref {logical_id}: not a created data resource")
        return self.physical[logical_id]["Ref"]

    def _get_att(self, logical_id: str, attr: str) -> Any:
        if logical_id not in self.physical or attr not in self.physical[logical_id]:
            raise UnresolvableError(f"GetAtt {logical_id}.{attr}: unknown")
        return self.physical[logical_id][attr]

    @property
    def account_id(self) -> str:
        if self._account is None:
            try:
                self._account = aws.client("sts", self.settings).get_caller_identity()["Account"]
            except Exception:  # noqa: BLE001 - emulators without STS: moto's default account
                self._account = "123456789012"
        return self._account

    def create_all(self) -> dict[str, dict[str, Any]]:
        resources = data_resources(self.template, self.resolver.parameters)
        for lid in creation_order(resources):
            res = resources[lid]
            props = self.resolver.resolve(res.get("Properties") or {})
            kind = res["Type"]
            if kind == "AWS::DynamoDB::Table":
                self.physical[lid] = self.create_table(props)
            elif kind == "AWS::SQS::Queue":
                self.physical[lid] = self.create_queue(props)
            elif kind == "AWS::S3::Bucket":
                self.physical[lid] = self.create_bucket(props)
        return self.physical

    # --- DynamoDB ---
    def create_table(self, props: dict[str, Any]) -> dict[str, Any]:
        args = dynamodb_create_args(props)
        name = args["TableName"]
        try:
            desc = self.ddb.describe_table(TableName=name)["Table"]
            self.log(f"table {name}: exists")
            self._add_missing_gsis(desc, args)
        except ClientError as exc:
            if _error_code(exc) != "ResourceNotFoundException":
                raise
            try:
                self.ddb.create_table(**args)
                self.log(f"table {name}: created")
            except ClientError as exc2:
                if _error_code(exc2) != "ResourceInUseException":  # created concurrently
                    raise
        self.ddb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 120})
        ttl = props.get("TimeToLiveSpecification")
        if ttl and ttl.get("Enabled"):
            self._enable_ttl(name, ttl["AttributeName"])
        pitr = (props.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled")
        if pitr:
            self._tolerate(f"table {name}: point-in-time recovery", lambda: self.ddb.update_continuous_backups(
                TableName=name, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}))
        desc = self.ddb.describe_table(TableName=name)["Table"]
        return {"Ref": name, "Arn": desc.get("TableArn"), "StreamArn": desc.get("LatestStreamArn")}

    def _add_missing_gsis(self, desc: dict[str, Any], args: dict[str, Any]) -> None:
        have = {g["IndexName"] for g in desc.get("GlobalSecondaryIndexes") or []}
        for gsi in args.get("GlobalSecondaryIndexes") or []:
            if gsi["IndexName"] in have:
                continue
            self.log(f"table {args['TableName']}: adding index {gsi['IndexName']}")
            self.ddb.update_table(
                TableName=args["TableName"],
                AttributeDefinitions=args["AttributeDefinitions"],
                GlobalSecondaryIndexUpdates=[{"Create": gsi}],
            )

    def _enable_ttl(self, table: str, attribute: str) -> None:
        def enable() -> None:
            current = self.ddb.describe_time_to_live(TableName=table).get("TimeToLiveDescription", {})
            if current.get("TimeToLiveStatus") in ("ENABLED", "ENABLING") and current.get("AttributeName") == attribute:
                return
            self.ddb.update_time_to_live(
                TableName=table, TimeToLiveSpecification={"Enabled": True, "AttributeName": attribute}
            )
            self.log(f"table {table}: TTL on {attribute}")

        self._tolerate(f"table {table}: TTL", enable)

    # --- SQS ---
    def create_queue(self, props: dict[str, Any]) -> dict[str, Any]:
        name = props["QueueName"]
        attrs = sqs_attributes(props)
        try:
            url = self.sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]
            self.log(f"queue {name}: ready")
        except ClientError as exc:
            # Exists with different attributes (e.g. a changed MaxReceiveCount): reconcile.
            if _error_code(exc) not in ("QueueAlreadyExists", "QueueNameExists",
                                        "AWS.SimpleQueueService.QueueNameExists"):
                raise
            url = self.sqs.get_queue_url(QueueName=name)["QueueUrl"]
            settable = {k: v for k, v in attrs.items() if k not in ("FifoQueue",)}
            self.sqs.set_queue_attributes(QueueUrl=url, Attributes=settable)
            self.log(f"queue {name}: attributes updated")
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return {"Ref": url, "Arn": arn, "QueueName": name, "QueueUrl": url}

    # --- S3 ---
    def create_bucket(self, props: dict[str, Any]) -> dict[str, Any]:
        name = props["BucketName"]
        try:
            self.s3.head_bucket(Bucket=name)
            self.log(f"bucket {name}: exists")
        except ClientError as exc:
            if _error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
                raise
            kwargs: dict[str, Any] = {"Bucket": name}
            if self.settings.aws_region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self.settings.aws_region}
            try:
                self.s3.create_bucket(**kwargs)
                self.log(f"bucket {name}: created")
            except ClientError as exc2:
                if _error_code(exc2) not in ("BucketAlreadyOwnedByYou",):
                    raise
        self.s3.get_waiter("bucket_exists").wait(Bucket=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
        if props.get("BucketEncryption"):
            rules = [
                {"ApplyServerSideEncryptionByDefault": r["ServerSideEncryptionByDefault"]}
                for r in props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
            ]
            self._tolerate(f"bucket {name}: encryption", lambda: self.s3.put_bucket_encryption(
                Bucket=name, ServerSideEncryptionConfiguration={"Rules": rules}))
        if props.get("PublicAccessBlockConfiguration"):
            self._tolerate(f"bucket {name}: public access block", lambda: self.s3.put_public_access_block(
                Bucket=name, PublicAccessBlockConfiguration=props["PublicAccessBlockConfiguration"]))
        if (props.get("VersioningConfiguration") or {}).get("Status"):
            self._tolerate(f"bucket {name}: versioning", lambda: self.s3.put_bucket_versioning(
                Bucket=name, VersioningConfiguration={"Status": props["VersioningConfiguration"]["Status"]}))
        lifecycle = (props.get("LifecycleConfiguration") or {}).get("Rules")
        if lifecycle:
            self._tolerate(f"bucket {name}: lifecycle", lambda: self.s3.put_bucket_lifecycle_configuration(
                Bucket=name, LifecycleConfiguration={"Rules": s3_lifecycle_rules(lifecycle)}))
        return {"Ref": name, "Arn": f"arn:aws:s3:::{name}", "DomainName": f"{name}.s3.amazonaws.com"}

    def _tolerate(self, what: str, call: Callable[[], Any]) -> None:
        try:
            call()
        except ClientError as exc:
            if not _unsupported(exc):
                raise
            self.log(f"{what}: not supported by this backend ({_error_code(exc)}), skipped")


def create_resources(settings: Settings | None = None, template_path: Path | str = TEMPLATE_PATH,
                     log: Callable[[str], None] | None = None, wait_seconds: float = 30.0) -> dict[str, Any]:
    """Create (or reconcile) every data resource; waits up to `wait_seconds` for the endpoint
    to answer first (the emulator may still be starting)."""
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            return ResourceCreator(settings, template_path, log).create_all()
        except EndpointConnectionError:
            if time.monotonic() >= deadline:
                raise
            time.sleep(0.5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--template", default=str(TEMPLATE_PATH))
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    settings = get_settings()
    where = settings.aws_endpoint_url or f"AWS ({settings.aws_region})"
    log = (lambda msg: None) if args.quiet else (lambda msg: print(f"resources: {msg}", file=sys.stderr))
    log(f"creating data resources on {where}")
    physical = create_resources(settings, args.template, log)
    print(json.dumps({lid: {k: v for k, v in p.items() if v is not None} for lid, p in physical.items()}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
