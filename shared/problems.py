"""Stored problems (SPEC §7): tests stored once, content-addressed versions, submissions by
reference.

    DynamoDB  problem#{problem_id}      the current version and what /submit needs (no S3 read)
    S3        problems/{id}/{version}/problem.json   the manifest: per-test points and groups,
                                                      groups, checker, interactor, files, limits
              problems/{id}/{version}/tests.tar      1.in, 1.ans, 2.in, ... (one object: one GET)

A version is a hash of the content, so it changes only when the content does, and a job that
recorded one keeps judging against it whatever happens to the problem later (versions' objects
are never overwritten, and are not deleted with the problem)."""

from __future__ import annotations

import hashlib
import io
import json
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shared import aws
from shared.blobs import Blobs
from shared.jobs import JobStore, dynamo_value, now_rfc3339
from shared.judge_config import JudgeOptions, Points
from shared.models import PROBLEM_ID_PATTERN, Limits

PROBLEM_PREFIX = "problem#"
PROBLEM_ID = re.compile(PROBLEM_ID_PATTERN)
_TEST_MEMBER = re.compile(r"([1-9][0-9]*)\.(in|ans)")


class ProblemTest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: Points = 1
    group: str | None = None


class Manifest(JudgeOptions):
    """problems/{id}/{version}/problem.json: everything of a version but the test data."""

    problem_id: str
    version: str
    tests: list[ProblemTest]
    limits: Limits = Field(default_factory=Limits)
    compare: str = "lines"


@dataclass(frozen=True)
class TestData:
    __test__ = False  # not a pytest test class

    input: bytes
    answer: bytes
    points: float = 1
    group: str | None = None


@dataclass(frozen=True)
class ProblemData:
    """A validated problem, as the gateway assembled it from a JSON or zip body."""

    options: JudgeOptions
    limits: Limits
    compare: str
    tests: list[TestData]

    def manifest(self, problem_id: str, version: str) -> Manifest:
        return Manifest(problem_id=problem_id, version=version, limits=self.limits, compare=self.compare,
                        tests=[ProblemTest(points=t.points, group=t.group) for t in self.tests],
                        **self.options.model_dump())

    def version(self) -> str:
        """Content hash: the manifest's fields and every test's bytes, in order."""
        h = hashlib.sha256()
        h.update(json.dumps(self.manifest("", "").model_dump(mode="json"), sort_keys=True).encode())
        for t in self.tests:
            for part in (t.input, t.answer):
                h.update(len(part).to_bytes(8, "big"))
                h.update(part)
        return h.hexdigest()[:20]


def record_id(problem_id: str) -> str:
    return f"{PROBLEM_PREFIX}{problem_id}"


def version_prefix(problem_id: str, version: str) -> str:
    return f"problems/{problem_id}/{version}/"


def manifest_key(problem_id: str, version: str) -> str:
    return version_prefix(problem_id, version) + "problem.json"


def tests_key(problem_id: str, version: str) -> str:
    return version_prefix(problem_id, version) + "tests.tar"


def tests_tar(tests: list[TestData]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for n, t in enumerate(tests, 1):
            for suffix, data in (("in", t.input), ("ans", t.answer)):
                info = tarfile.TarInfo(f"{n}.{suffix}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def extract_tests(data: bytes, dest: Path, count: int) -> int:
    """Unpack a version's tests.tar into dest (N.in, N.ans): regular files with our own names
    only (we wrote it, but S3 is not where trust ends). Returns the bytes written."""
    written = 0
    seen: set[str] = set()
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
        for member in tar:
            match = _TEST_MEMBER.fullmatch(member.name)
            if not member.isreg() or match is None or int(match.group(1)) > count or member.name in seen:
                raise ValueError(f"unexpected entry {member.name!r} in a problem's tests.tar")
            seen.add(member.name)
            src = tar.extractfile(member)
            assert src is not None
            with open(dest / member.name, "xb") as out:
                while chunk := src.read(1 << 20):
                    out.write(chunk)
                    written += len(chunk)
    if len(seen) != 2 * count:
        raise ValueError(f"a problem's tests.tar holds {len(seen)} files for {count} tests")
    return written


class ProblemStore:
    def __init__(self, store: JobStore, blobs: Blobs) -> None:
        self.store = store
        self.blobs = blobs

    def get(self, problem_id: str) -> dict[str, Any] | None:
        """The problem's record (current version and what /submit needs), or None."""
        item = self.store.table.get_item(Key={"id": record_id(problem_id)}, ConsistentRead=True).get("Item")
        return aws.plain(item) if item is not None else None

    def put(self, problem_id: str, data: ProblemData) -> tuple[dict[str, Any], bool]:
        """Store a version (its objects first, then the record that names it). Returns the
        record and whether the problem is new. The same content again uploads nothing."""
        version = data.version()
        current = self.get(problem_id)
        if current is not None and current.get("version") == version:
            return current, False
        if not self.blobs.exists(manifest_key(problem_id, version)):
            self.blobs.put_bytes(tests_key(problem_id, version), tests_tar(data.tests), "application/x-tar")
            # the manifest last: a version with a manifest has its tests
            manifest = data.manifest(problem_id, version).model_dump(mode="json")
            self.blobs.put_json(manifest_key(problem_id, version), manifest)
        now = now_rfc3339()
        item: dict[str, Any] = {
            "id": record_id(problem_id), "problem_id": problem_id, "version": version, "tests": len(data.tests),
            "limits": data.limits.model_dump(exclude_none=True), "compare": data.compare,
            "has_checker": data.options.checker is not None, "has_interactor": data.options.interactor is not None,
            "bytes": sum(len(t.input) + len(t.answer) for t in data.tests),
            "created_at": current.get("created_at", now) if current else now, "updated_at": now,
        }
        self.store.table.put_item(Item=dynamo_value(item))
        return item, current is None

    def delete(self, problem_id: str) -> bool:
        """Remove the problem (False if there was none). Its versions' objects stay: queued and
        running jobs finish with the version they recorded."""
        resp = self.store.table.delete_item(Key={"id": record_id(problem_id)}, ReturnValues="ALL_OLD")
        return bool(resp.get("Attributes"))

    def manifest(self, problem_id: str, version: str) -> Manifest:
        return Manifest.model_validate(self.blobs.get_json(manifest_key(problem_id, version)))

    def fetch_tests(self, manifest: Manifest, dest: Path) -> int:
        data = self.blobs.get_bytes(tests_key(manifest.problem_id, manifest.version))
        return extract_tests(data, dest, len(manifest.tests))
