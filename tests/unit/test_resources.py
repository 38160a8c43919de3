"""infra/template.py and infra/resources.py: template loading, intrinsic functions, translation to API calls, and
idempotent creation against moto (in-process)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import boto3
import pytest
from moto import mock_aws

import infra.template
from infra.resources import create_resources, dynamodb_create_args, s3_lifecycle_rules, sqs_attributes
from infra.template import (
    TEMPLATE_PATH,
    Resolver,
    UnresolvableError,
    creation_order,
    data_resources,
    expand_foreach,
    load_template,
    parameter_values,
    references,
)
from shared.languages import LANGUAGES
from shared.settings import Settings


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.setenv(key, "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def local_settings(**kw: object) -> Settings:
    return Settings(AWS_ENDPOINT_URL=None, **kw)  # type: ignore[call-arg, arg-type]


def default_parameters() -> dict[str, object]:
    return parameter_values(load_template(), local_settings())


def test_template_loads_with_short_form_tags() -> None:
    t = load_template()
    res = t["Resources"]
    assert res["JobsTable"]["Properties"]["TableName"] == {"Ref": "TableName"}
    identifier, collection, fragment = res["Fn::ForEach::LanguageQueues"]
    assert (identifier, collection) == ("Lang", {"Ref": "Languages"})
    queue = fragment["${Lang}Queue"]["Properties"]
    assert queue["QueueName"] == {"Fn::Sub": "${QueuePrefix}-${Lang}"}
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": [{"Fn::Sub": "${Lang}DeadLetterQueue"}, "Arn"]
    }


def test_data_resources_are_the_table_a_queue_and_dlq_per_language_and_the_bucket() -> None:
    data = data_resources(load_template(), default_parameters())
    kinds = sorted(r["Type"] for r in data.values())
    assert kinds.count("AWS::SQS::Queue") == 2 * len(LANGUAGES)
    assert kinds.count("AWS::DynamoDB::Table") == 1
    assert kinds.count("AWS::S3::Bucket") == 1
    for lang in LANGUAGES:
        queue = data[f"{lang}Queue"]["Properties"]
        assert queue["QueueName"] == {"Fn::Sub": f"${{QueuePrefix}}-{lang}"}
        assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": [f"{lang}DeadLetterQueue", "Arn"]}


def test_other_resource_types_and_unknown_tags_are_ignored(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text(textwrap.dedent("""
        Parameters:
          Env: {Type: String, Default: dev}
        Conditions:
          IsProd: !Equals [!Ref Env, prod]
        Resources:
          Role:
            Type: AWS::IAM::Role
            Properties:
              RoleName: !If [IsProd, prod-role, !Sub "${Env}-role"]
              Arn: !ImportValue shared-thing
              Cidr: !Select [0, !Cidr [!GetAtt Vpc.CidrBlock, 1, 8]]
          Q:
            Type: AWS::SQS::Queue
            Properties:
              QueueName: !Join ["-", [!Ref Env, q]]
    """))
    t = load_template(path)
    assert list(data_resources(t, {"Env": "dev"})) == ["Q"]
    assert t["Resources"]["Role"]["Properties"]["RoleName"]["Fn::If"][0] == "IsProd"


def test_parameters_overridden_by_settings() -> None:
    s = local_settings(table="t1", queue_prefix="p1", bucket="b1", max_attempts=7, lease_seconds=42)
    values = parameter_values(load_template(), s)
    assert values["TableName"] == "t1"
    assert values["QueuePrefix"] == "p1"
    assert values["BucketName"] == "b1"
    assert values["MaxReceiveCount"] == 7
    assert values["QueueVisibilityTimeout"] == 42


def test_languages_come_from_the_registry() -> None:
    """A registry entry is all a new language needs locally: it overrides the parameter."""
    assert default_parameters()["Languages"] == list(LANGUAGES)


def test_comma_delimited_list_defaults_are_lists(tmp_path: Path) -> None:
    path = tmp_path / "t.yaml"
    path.write_text("Parameters:\n  L: {Type: CommaDelimitedList, Default: 'a, b,c'}\nResources: {}\n")
    assert parameter_values(load_template(path), local_settings())["L"] == ["a", "b", "c"]


def test_resolver_functions() -> None:
    atts = {("Dlq", "Arn"): "arn:aws:sqs:us-east-1:1:x-dlq"}
    r = Resolver(
        parameters={"Prefix": "x", "N": 3},
        pseudo={"AWS::Region": "eu-west-1"},
        ref=lambda name: f"ref-of-{name}",
        get_att=lambda name, attr: atts[(name, attr)],
    )
    assert r.resolve({"Ref": "Prefix"}) == "x"
    assert r.resolve({"Ref": "Table"}) == "ref-of-Table"
    assert r.resolve({"Fn::Sub": "${Prefix}-c-${AWS::Region}"}) == "x-c-eu-west-1"
    assert r.resolve({"Fn::Sub": "${!Literal}-${Prefix}"}) == "${Literal}-x"
    assert r.resolve({"Fn::Sub": ["${A}/${Prefix}", {"A": {"Ref": "N"}}]}) == "3/x"
    assert r.resolve({"Fn::Sub": "${Dlq.Arn}"}) == "arn:aws:sqs:us-east-1:1:x-dlq"
    assert r.resolve({"Fn::GetAtt": ["Dlq", "Arn"]}) == "arn:aws:sqs:us-east-1:1:x-dlq"
    assert r.resolve({"Fn::GetAtt": "Dlq.Arn"}) == "arn:aws:sqs:us-east-1:1:x-dlq"
    assert r.resolve({"Fn::Join": [":", ["a", {"Ref": "Prefix"}]]}) == "a:x"
    assert r.resolve({"Fn::Select": [1, ["a", "b"]]}) == "b"
    assert r.resolve({"k": [{"Ref": "N"}, 1]}) == {"k": [3, 1]}
    with pytest.raises(UnresolvableError):
        r.resolve({"Fn::If": ["C", 1, 2]})


def test_resolver_find_in_map_with_default() -> None:
    r = Resolver(parameters={"Max": 4}, pseudo={}, mappings={"M": {"java": {"MaxCount": 8}}})
    assert r.resolve({"Fn::FindInMap": ["M", "java", "MaxCount"]}) == 8
    assert r.resolve({"Fn::FindInMap": ["M", "c", "MaxCount", {"DefaultValue": {"Ref": "Max"}}]}) == 4
    with pytest.raises(UnresolvableError):
        r.resolve({"Fn::FindInMap": ["M", "c", "MaxCount"]})


# --- Fn::ForEach ---------------------------------------------------------------------------
def test_foreach_substitutes_keys_sub_strings_and_refs() -> None:
    tree = {
        "Fn::ForEach::Q": ["L", ["c", "c-x"], {
            "&{L}Queue": {
                "Name": {"Fn::Sub": "${P}-${L}"},
                "Plain": {"Fn::Sub": "q-${L}"},
                "Escaped": {"Fn::Sub": "${!L}-${L}"},
                "Vars": {"Fn::Sub": ["${L}/${V}", {"V": {"Ref": "L"}}]},
                "Lang": {"Ref": "L"},
                "Dlq": {"Fn::GetAtt": [{"Fn::Sub": "&{L}Dlq"}, "Arn"]},
                "Other": {"Ref": {"Fn::Sub": "${L}Thing"}},
                "Untouched": "${L}",
            },
        }],
        "Kept": {"Fn::Sub": "${L}"},
    }
    out = expand_foreach(tree, {})
    assert list(out) == ["cQueue", "cxQueue", "Kept"]
    assert out["cxQueue"] == {
        "Name": {"Fn::Sub": "${P}-c-x"},
        "Plain": "q-c-x",
        "Escaped": {"Fn::Sub": "${!L}-c-x"},
        "Vars": {"Fn::Sub": ["c-x/${V}", {"V": "c-x"}]},
        "Lang": "c-x",
        "Dlq": {"Fn::GetAtt": ["cxDlq", "Arn"]},
        "Other": {"Ref": "c-xThing"},
        "Untouched": "${L}",
    }
    assert out["Kept"] == {"Fn::Sub": "${L}"}, "outside a loop nothing is bound"


def test_foreach_collection_from_a_parameter_and_nested_loops() -> None:
    tree = {"Fn::ForEach::A": ["X", {"Ref": "Names"}, {
        "Fn::ForEach::B": ["Y", ["1", "2"], {"${X}${Y}": {"Ref": "Y"}}],
    }]}
    assert expand_foreach(tree, {"Names": ["a", "b"]}) == {"a1": "1", "a2": "2", "b1": "1", "b2": "2"}
    assert expand_foreach(tree, {"Names": "a"}) == {"a1": "1", "a2": "2"}, "a comma-separated string"


def test_foreach_errors() -> None:
    with pytest.raises(ValueError, match="twice"):
        expand_foreach({"Fn::ForEach::A": ["X", ["a", "b"], {"Same": 1}]}, {})
    with pytest.raises(UnresolvableError):
        expand_foreach({"Fn::ForEach::A": ["X", {"Ref": "Missing"}, {"${X}": 1}]}, {})
    with pytest.raises(UnresolvableError):
        expand_foreach({"Fn::ForEach::A": ["X", ["a"]]}, {})


def test_references_and_order_put_dlqs_first() -> None:
    data = data_resources(load_template(), default_parameters())
    assert references(data["cQueue"]["Properties"]) >= {"cDeadLetterQueue", "QueuePrefix", "MaxReceiveCount"}
    order = creation_order(data)
    for lang in LANGUAGES:
        assert order.index(f"{lang}DeadLetterQueue") < order.index(f"{lang}Queue")


def test_circular_references_are_reported() -> None:
    res = {
        "A": {"Type": "AWS::SQS::Queue", "Properties": {"X": {"Ref": "B"}}},
        "B": {"Type": "AWS::SQS::Queue", "Properties": {"X": {"Ref": "A"}}},
    }
    with pytest.raises(ValueError, match="circular"):
        creation_order(res)


def test_dynamodb_translation() -> None:
    t = load_template()
    r = Resolver(parameters=parameter_values(t, local_settings()), pseudo={})
    args = dynamodb_create_args(r.resolve(t["Resources"]["JobsTable"]["Properties"]))
    assert args["TableName"] == "codepipe-jobs"
    assert args["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in args
    gsi = args["GlobalSecondaryIndexes"][0]
    assert gsi["IndexName"] == "user_id-created_at"
    assert [k["AttributeName"] for k in gsi["KeySchema"]] == ["user_id", "created_at"]
    assert "TimeToLiveSpecification" not in args and "PointInTimeRecoverySpecification" not in args


def test_sqs_translation_makes_strings_and_redrive_json() -> None:
    attrs = sqs_attributes({
        "QueueName": "q",
        "VisibilityTimeout": 60,
        "ReceiveMessageWaitTimeSeconds": 20,
        "FifoQueue": False,
        "RedrivePolicy": {"deadLetterTargetArn": "arn:dlq", "maxReceiveCount": "3"},
    })
    assert attrs["VisibilityTimeout"] == "60"
    assert attrs["FifoQueue"] == "false"
    assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": "arn:dlq", "maxReceiveCount": 3}
    assert "QueueName" not in attrs


def test_s3_lifecycle_translation() -> None:
    rules = s3_lifecycle_rules([{"Id": "r", "Status": "Enabled", "Prefix": "outputs/", "ExpirationInDays": 30}])
    assert rules == [{"ID": "r", "Status": "Enabled", "Filter": {"Prefix": "outputs/"}, "Expiration": {"Days": 30}}]


@mock_aws
def test_create_resources_on_moto_is_idempotent(aws_env: None) -> None:
    s = local_settings(table="jobs-x", queue_prefix="qx", bucket="bucket-x", max_attempts=4)
    first = create_resources(s, TEMPLATE_PATH)
    second = create_resources(s, TEMPLATE_PATH)
    assert first.keys() == second.keys()

    ddb = boto3.client("dynamodb", region_name="us-east-1")
    table = ddb.describe_table(TableName="jobs-x")["Table"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["GlobalSecondaryIndexes"][0]["IndexName"] == "user_id-created_at"
    ttl = ddb.describe_time_to_live(TableName="jobs-x")["TimeToLiveDescription"]
    assert ttl["AttributeName"] == "expires_at" and ttl["TimeToLiveStatus"] == "ENABLED"

    sqs = boto3.client("sqs", region_name="us-east-1")
    for lang in LANGUAGES:
        url = sqs.get_queue_url(QueueName=f"qx-{lang}")["QueueUrl"]
        dlq_url = sqs.get_queue_url(QueueName=f"qx-{lang}-dlq")["QueueUrl"]
        dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
        assert json.loads(attrs["RedrivePolicy"]) == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 4}
        assert attrs["ReceiveMessageWaitTimeSeconds"] == "20"

    s3 = boto3.client("s3", region_name="us-east-1")
    s3.head_bucket(Bucket="bucket-x")
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket="bucket-x")["Rules"]
    assert {r["Filter"]["Prefix"] for r in lifecycle} == {"inputs/", "outputs/"}
    enc = s3.get_bucket_encryption(Bucket="bucket-x")["ServerSideEncryptionConfiguration"]
    assert enc["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    assert s3.get_public_access_block(Bucket="bucket-x")["PublicAccessBlockConfiguration"]["BlockPublicAcls"]


@mock_aws
def test_changed_max_receive_count_is_reconciled(aws_env: None) -> None:
    create_resources(local_settings(queue_prefix="qr", max_attempts=3), TEMPLATE_PATH)
    create_resources(local_settings(queue_prefix="qr", max_attempts=6), TEMPLATE_PATH)
    sqs = boto3.client("sqs", region_name="us-east-1")
    url = sqs.get_queue_url(QueueName="qr-c")["QueueUrl"]
    policy = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]["RedrivePolicy"]
    assert json.loads(policy)["maxReceiveCount"] == 6


@mock_aws
def test_a_new_registry_language_gets_its_queues(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(infra.template, "LANGUAGES", ("c", "go"))
    physical = create_resources(local_settings(queue_prefix="qn"), TEMPLATE_PATH)
    assert {"goQueue", "goDeadLetterQueue"} <= set(physical)
    sqs = boto3.client("sqs", region_name="us-east-1")
    names = {url.rsplit("/", 1)[1] for url in sqs.list_queues(QueueNamePrefix="qn-")["QueueUrls"]}
    assert names == {"qn-c", "qn-c-dlq", "qn-go", "qn-go-dlq"}
