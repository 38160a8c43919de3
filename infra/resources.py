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
import re
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from botocore.exceptions import ClientError, EndpointConnectionError

from shared import aws
from shared.languages import LANGUAGES
from shared.settings import REPO_ROOT, Settings, get_settings

TEMPLATE_PATH = REPO_ROOT / "infra" / "data.yaml"

DATA_TYPES = ("AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::S3::Bucket")

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


# --- template loading ---------------------------------------------------------------------
class CfnLoader(yaml.SafeLoader):
    """YAML loader that turns CloudFormation short-form tags into their long form
    (`!Ref X` -> `{"Ref": "X"}`, `!Sub s` -> `{"Fn::Sub": s}`, `!GetAtt A.B` ->
    `{"Fn::GetAtt": ["A", "B"]}`), so the resolver handles one shape only."""


def _construct_tag(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


CfnLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path | str = TEMPLATE_PATH) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        doc = yaml.load(fh, Loader=CfnLoader)  # noqa: S506 - CfnLoader derives from SafeLoader
    if not isinstance(doc, dict) or "Resources" not in doc:
        raise ValueError(f"{path}: not a CloudFormation template (no Resources)")
    return doc


def parameter_values(template: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Template defaults, overridden by the service's settings for the names it owns and by
    the language registry for `Languages`. A CommaDelimitedList is a list, as for `Ref`."""
    values: dict[str, Any] = {
        name: _default(spec) for name, spec in (template.get("Parameters") or {}).items()
    }
    overrides: dict[str, Any] = {
        "Languages": list(LANGUAGES),
        "TableName": settings.table,
        "QueuePrefix": settings.queue_prefix,
        "BucketName": settings.bucket,
        "MaxReceiveCount": settings.max_attempts,
        # The claim lease and the message's invisibility are the same clock (ARCHITECTURE).
        "QueueVisibilityTimeout": settings.lease_seconds,
        "OutputRetentionDays": settings.job_ttl_days,
    }
    for name, value in overrides.items():
        if name in values:
            values[name] = value
    return values


def _default(spec: dict[str, Any]) -> Any:
    default = spec.get("Default")
    if spec.get("Type") == "CommaDelimitedList" and isinstance(default, str):
        return [item.strip() for item in default.split(",")]
    return default


# --- Fn::ForEach (AWS::LanguageExtensions) ------------------------------------------------
_FOREACH = "Fn::ForEach::"


def expand_foreach(value: Any, parameters: Mapping[str, Any], bindings: Mapping[str, str] | None = None) -> Any:
    """The tree with every `Fn::ForEach::Name: [Identifier, Collection, Fragment]` replaced by
    one copy of Fragment per item of Collection (a list, or a `Ref` to a list parameter), as
    CloudFormation's transform does: `${Identifier}` / `&{Identifier}` in keys and in `Fn::Sub`
    strings and `Ref: Identifier` become the item; a `Fn::Sub` left without variables becomes
    its string, so `Ref` / `GetAtt` of `!Sub "${Lang}Queue"` name a logical id."""
    bindings = bindings or {}
    if isinstance(value, list):
        return [expand_foreach(v, parameters, bindings) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key.startswith(_FOREACH):
            _merge(out, _expand_loop(key, item, parameters, bindings), key)
        else:
            _merge(out, {_bind_text(key, bindings): expand_foreach(item, parameters, bindings)}, key)
    return _bind_function(out, bindings)


def _expand_loop(key: str, arg: Any, parameters: Mapping[str, Any], bindings: Mapping[str, str]) -> dict[str, Any]:
    if not (isinstance(arg, list) and len(arg) == 3 and isinstance(arg[0], str) and isinstance(arg[2], dict)):
        raise UnresolvableError(f"{key}: expected [Identifier, Collection, {{fragment}}]")
    identifier, collection, fragment = arg
    out: dict[str, Any] = {}
    for item in _collection(key, collection, parameters, bindings):
        _merge(out, expand_foreach(fragment, parameters, {**bindings, identifier: item}), key)
    return out


def _collection(key: str, value: Any, parameters: Mapping[str, Any], bindings: Mapping[str, str]) -> list[str]:
    value = expand_foreach(value, parameters, bindings)
    if isinstance(value, dict) and set(value) == {"Ref"}:
        value = parameters.get(value["Ref"])
    if isinstance(value, str):
        value = [item.strip() for item in value.split(",")]
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise UnresolvableError(f"{key}: the collection is not a list of strings: {value!r}")
    return value


def _merge(out: dict[str, Any], new: dict[str, Any], where: str) -> None:
    for key, value in new.items():
        if key in out:
            raise ValueError(f"{where}: {key} defined twice")
        out[key] = value


def _bind_text(text: str, bindings: Mapping[str, str]) -> str:
    for name, item in bindings.items():
        text = text.replace(f"${{{name}}}", item).replace(f"&{{{name}}}", re.sub(r"[^0-9A-Za-z]", "", item))
    return text


def _bind_function(value: dict[str, Any], bindings: Mapping[str, str]) -> Any:
    """`Ref: Identifier` -> the item; the identifiers of a `Fn::Sub` string substituted."""
    if len(value) != 1 or not bindings:
        return value
    (key, arg), = value.items()
    if key == "Ref" and isinstance(arg, str) and arg in bindings:
        return bindings[arg]
    if key == "Fn::Sub" and isinstance(arg, str):
        text = _bind_text(arg, bindings)
        return text if "${" not in text else {key: text}
    if key == "Fn::Sub" and isinstance(arg, list) and arg and isinstance(arg[0], str):
        return {key: [_bind_text(arg[0], bindings), *arg[1:]]}
    return value


# --- intrinsic functions ------------------------------------------------------------------
class UnresolvableError(ValueError):
    pass


@dataclass
class Resolver:
    """Resolves intrinsic functions. `ref(logical_id)` and `get_att(logical_id, attr)` of
    resources are delegated to callbacks, so they can return what the backend really has."""

    parameters: dict[str, Any]
    pseudo: dict[str, str]
    ref: Callable[[str], Any] = field(default=lambda name: (_ for _ in ()).throw(UnresolvableError(name)))
    get_att: Callable[[str, str], Any] = field(
        default=lambda name, attr: (_ for _ in ()).throw(UnresolvableError(f"{name}.{attr}"))
    )
    mappings: dict[str, Any] = field(default_factory=dict)

    def _ref(self, name: str) -> Any:
        if name in self.pseudo:
            return self.pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        return self.ref(name)

    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (key, arg), = value.items()
            function = _FUNCTIONS.get(key)
            if function is not None:
                return function(self, arg)
            if key.startswith("Fn::"):
                raise UnresolvableError(f"intrinsic function {key} is not supported for local resources")
        return {k: self.resolve(v) for k, v in value.items()}

    def _get_att(self, arg: Any) -> Any:
        name, attr = (arg.split(".", 1) if isinstance(arg, str) else arg)
        return self.get_att(name, attr)

    def _join(self, arg: Any) -> str:
        sep, items = arg
        return str(sep).join(str(v) for v in self.resolve(items))

    def _select(self, arg: Any) -> Any:
        index, items = arg
        return self.resolve(items)[int(self.resolve(index))]

    def _split(self, arg: Any) -> list[str]:
        sep, text = arg
        return str(self.resolve(text)).split(sep)

    def _find_in_map(self, arg: Any) -> Any:
        """`[Map, TopKey, SecondKey]`, or with a 4th `{DefaultValue: x}` for a missing key."""
        name, top, second = (self.resolve(a) for a in arg[:3])
        row = (self.mappings.get(name) or {}).get(top) or {}
        if second in row:
            return row[second]
        if len(arg) > 3 and "DefaultValue" in (arg[3] or {}):
            return self.resolve(arg[3]["DefaultValue"])
        raise UnresolvableError(f"Fn::FindInMap {name}.{top}.{second}: no such entry")

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            text, local_vars = arg[0], {k: self.resolve(v) for k, v in (arg[1] or {}).items()}
        else:
            text, local_vars = arg, {}
        out: list[str] = []
        i = 0
        while i < len(text):
            start = text.find("${", i)
            if start < 0:
                out.append(text[i:])
                break
            out.append(text[i:start])
            end = text.find("}", start)
            if end < 0:
                raise UnresolvableError(f"unterminated ${{ in {text!r}")
            expr = text[start + 2 : end]
            if expr.startswith("!"):  # ${!Literal} is an escaped literal "${Literal}"
                out.append("${" + expr[1:] + "}")
            elif expr in local_vars:
                out.append(str(local_vars[expr]))
            elif "." in expr and expr.split(".", 1)[0] not in self.parameters and expr not in self.pseudo:
                name, attr = expr.split(".", 1)
                out.append(str(self.get_att(name, attr)))
            else:
                out.append(str(self._ref(expr)))
            i = end + 1
        return "".join(out)


_FUNCTIONS: dict[str, Callable[[Resolver, Any], Any]] = {
    "Ref": Resolver._ref,
    "Fn::Sub": Resolver._sub,
    "Fn::GetAtt": Resolver._get_att,
    "Fn::Join": Resolver._join,
    "Fn::Select": Resolver._select,
    "Fn::Split": Resolver._split,
    "Fn::FindInMap": Resolver._find_in_map,
}


def references(value: Any) -> set[str]:
    """Logical ids a property tree refers to (via Ref, GetAtt or ${X} / ${X.Attr} in Sub)."""
    found: set[str] = set()
    if isinstance(value, list):
        for v in value:
            found |= references(v)
    elif isinstance(value, dict):
        for key, arg in value.items():
            if key == "Ref" and isinstance(arg, str):
                found.add(arg)
            elif key == "Fn::GetAtt":
                found.add(arg.split(".", 1)[0] if isinstance(arg, str) else arg[0])
            elif key == "Fn::Sub":
                text = arg[0] if isinstance(arg, list) else arg
                i = 0
                while (start := text.find("${", i)) >= 0:
                    end = text.find("}", start)
                    if end < 0:
                        break
                    expr = text[start + 2 : end]
                    if not expr.startswith("!"):
                        found.add(expr.split(".", 1)[0])
                    i = end + 1
                if isinstance(arg, list) and len(arg) > 1:
                    found |= references(arg[1])
            else:
                found |= references(arg)
    return found


def data_resources(template: dict[str, Any], parameters: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The template's table, queues and buckets, `Fn::ForEach` expanded with `parameters`."""
    resources = expand_foreach(template.get("Resources") or {}, parameters)
    return {
        lid: res
        for lid, res in resources.items()
        if isinstance(res, dict) and res.get("Type") in DATA_TYPES
    }


def creation_order(resources: dict[str, dict[str, Any]]) -> list[str]:
    """Topological order over references between the data resources (a DLQ before the
    queue that redrives into it). Stable: template order among independent resources."""
    deps = {lid: (references(res.get("Properties") or {}) | set(_as_list(res.get("DependsOn")))) & set(resources)
            for lid, res in resources.items()}
    order: list[str] = []
    visiting: set[str] = set()

    def visit(lid: str) -> None:
        if lid in order:
            return
        if lid in visiting:
            raise ValueError(f"circular reference involving {lid}")
        visiting.add(lid)
        for dep in sorted(deps[lid], key=list(resources).index):
            visit(dep)
        visiting.discard(lid)
        order.append(lid)

    for lid in resources:
        visit(lid)
    return order


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


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
