"""S3 access for large inputs (`inputs/{id}/...`) and full outputs (`outputs/{id}/...`)."""

from __future__ import annotations

import json
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError

from shared import aws
from shared.settings import Settings, get_settings


def request_key(job_id: str) -> str:
    return f"inputs/{job_id}/request.json"


def output_prefix(job_id: str, attempt: int) -> str:
    """Where one attempt at a job writes its outputs: `outputs/{id}/attempt-{n}/`.

    Every claim increments the record's `attempts` atomically (shared.claims), so no two
    attempts share a prefix: an executor that lost its lease (frozen, then resumed) can only
    write objects the record does not name; the final conditional write records the winning
    attempt's `output_prefix` and `result_key`."""
    return f"outputs/{job_id}/attempt-{int(attempt)}/"


RESULT_NAME = "result.json"


def result_key_in(prefix: str) -> str:
    return f"{prefix}{RESULT_NAME}"


def test_stdout_key_in(prefix: str, n: int) -> str:
    return f"{prefix}tests/{n}.stdout"


def test_stderr_key_in(prefix: str, n: int) -> str:
    return f"{prefix}tests/{n}.stderr"


def test_interactor_key_in(prefix: str, n: int) -> str:
    """What the interactor wrote to the program in an interactive test (its full log)."""
    return f"{prefix}tests/{n}.interactor"


def compile_stderr_key_in(prefix: str) -> str:
    return f"{prefix}compile.stderr"


def record_output_prefix(item: dict[str, Any]) -> str | None:
    """The outputs prefix of the attempt whose verdict a job record holds (every final write
    names it), or None. Only a prefix inside the job's own `outputs/{id}/` is trusted."""
    prefix = item.get("output_prefix")
    own = f"outputs/{item['id']}/attempt-"
    if isinstance(prefix, str) and prefix.startswith(own) and prefix.endswith("/") and ".." not in prefix:
        return prefix
    return None


def record_result_key(item: dict[str, Any]) -> str | None:
    """The S3 key of the full result document named by a job record, or None."""
    prefix = record_output_prefix(item)
    return None if prefix is None else result_key_in(prefix)


# pytest would try to collect the helpers above as tests when imported into a test module.
test_stdout_key_in.__test__ = False  # type: ignore[attr-defined]
test_stderr_key_in.__test__ = False  # type: ignore[attr-defined]
test_interactor_key_in.__test__ = False  # type: ignore[attr-defined]


_S3_CONFIG = Config(signature_version="s3v4")


class Blobs:
    def __init__(self, settings: Settings | None = None, s3: Any | None = None) -> None:
        self.settings = settings or get_settings()
        self.bucket = self.settings.bucket
        self._s3 = s3

    @property
    def s3(self) -> Any:
        if self._s3 is None:
            # SigV4 so presigned URLs work in every region (SigV2 query auth is legacy on AWS).
            self._s3 = aws.client("s3", self.settings, config=_S3_CONFIG)
        return self._s3

    def put_bytes(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=data, ContentType=content_type)

    def put_json(self, key: str, value: Any) -> None:
        data = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()
        self.put_bytes(key, data, content_type="application/json")

    def put_file(self, key: str, path: str, content_type: str = "text/plain; charset=utf-8") -> None:
        """Stream a (possibly large) file without reading it into memory."""
        self.s3.upload_file(path, self.bucket, key, ExtraArgs={"ContentType": content_type})

    def get_bytes(self, key: str) -> bytes:
        return self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()

    def get_json(self, key: str) -> Any:
        return json.loads(self.get_bytes(key))

    def exists(self, key: str) -> bool:
        try:
            self.s3.head_object(Bucket=self.bucket, Key=key)
            return True
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise

    def delete(self, key: str) -> None:
        self.s3.delete_object(Bucket=self.bucket, Key=key)

    def presign_get(self, key: str, expires: int = 3600) -> str:
        return self.s3.generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket, "Key": key}, ExpiresIn=expires
        )
