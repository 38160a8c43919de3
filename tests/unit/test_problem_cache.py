"""shared/problems.py and shared/executor/problem_cache.py against in-process moto: versions,
the executor's local cache (a second job downloads nothing), invalidation and the size bound."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from shared.blobs import Blobs
from shared.executor.problem_cache import ProblemCache
from shared.jobs import JobStore
from shared.judge_config import JudgeOptions
from shared.models import Limits
from shared.problems import ProblemData, ProblemStore, TestData
from shared.settings import Settings

moto = pytest.importorskip("moto")


@pytest.fixture
def problems(monkeypatch: pytest.MonkeyPatch) -> Iterator[ProblemStore]:
    for key in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with moto.mock_aws():
        s = Settings(aws_endpoint_url=None, aws_region="us-east-1", table="t-jobs", bucket="t-out")
        boto3.client("dynamodb", region_name="us-east-1").create_table(
            TableName=s.table, BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=s.bucket)
        blobs = Blobs(s)
        yield ProblemStore(JobStore(s, blobs), blobs)


def data(*answers: str, size: int = 0) -> ProblemData:
    tests = [TestData(f"{i} {size}\n".encode() + b"x" * size, a.encode()) for i, a in enumerate(answers, 1)]
    return ProblemData(JudgeOptions(), Limits(), "lines", tests)


def test_versions_are_content_hashes(problems: ProblemStore) -> None:
    first, created = problems.put("sum", data("3\n", "5\n"))
    assert created and first["tests"] == 2
    again, created = problems.put("sum", data("3\n", "5\n"))
    assert not created and again["version"] == first["version"]
    changed, _ = problems.put("sum", data("3\n", "6\n"))
    assert changed["version"] != first["version"] and problems.get("sum")["version"] == changed["version"]
    # the old version's data stays for the jobs that recorded it
    assert problems.manifest("sum", first["version"]).version == first["version"]
    assert problems.delete("sum") and problems.get("sum") is None and not problems.delete("sum")


def test_a_second_job_downloads_nothing(problems: ProblemStore, tmp_path: Path,
                                        caplog: pytest.LogCaptureFixture) -> None:
    meta, _ = problems.put("sum", data("3\n", "5\n"))
    cache = ProblemCache(tmp_path, 1 << 30, problems, logging.getLogger("test.cache"))
    with caplog.at_level(logging.INFO, logger="test.cache"):
        with cache.use("sum", meta["version"]) as cached:
            assert cached.answer(2).read_bytes() == b"5\n" and len(cached.manifest.tests) == 2
        with cache.use("sum", meta["version"]) as cached:
            assert cached.input(1).read_bytes().startswith(b"1 ")
    assert cache.downloads == 1
    messages = [r.getMessage() for r in caplog.records]
    assert messages == ["problem data downloaded", "problem data from the local cache"]
    newer, _ = problems.put("sum", data("3\n", "7\n"))
    with cache.use("sum", newer["version"]) as cached:
        assert cached.answer(2).read_bytes() == b"7\n"
    assert cache.downloads == 2


def test_the_size_bound_evicts_the_least_recently_used_unused_entry(problems: ProblemStore, tmp_path: Path) -> None:
    versions = [problems.put(f"p{i}", data("1\n", size=40_000))[0]["version"] for i in range(3)]
    cache = ProblemCache(tmp_path, 100_000, problems, logging.getLogger("test.cache"))
    with cache.use("p0", versions[0]):
        with cache.use("p1", versions[1]):
            pass
        with cache.use("p2", versions[2]):  # over the bound: p1 goes, p0 is in use and stays
            assert (tmp_path / "p0" / versions[0] / "problem.json").exists()
            assert not (tmp_path / "p1" / versions[1]).exists()
    total = sum(f.stat().st_size for f in tmp_path.rglob("tests/*"))
    assert total <= 100_000
    with cache.use("p1", versions[1]):
        pass
    assert cache.downloads == 4
