"""Service configuration, read from the environment (pydantic-settings)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.limits import LIMIT_NAMES, helper_ranges, max_parallel

REPO_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CODEPIPE_", extra="ignore")

    # AWS: one endpoint for all three services (moto, LocalStack) or unset for real AWS.
    aws_endpoint_url: str | None = Field(default=None, validation_alias="AWS_ENDPOINT_URL")
    aws_region: str = Field(
        default_factory=lambda: os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    )

    table: str = "codepipe-jobs"
    queue_prefix: str = "codepipe-jobs"
    bucket: str = "codepipe-outputs"

    host: str = "127.0.0.1"
    port: int = 8080
    emulator_port: int = 5005

    sandbox: Path = REPO_ROOT / "native_sandbox" / "build" / "sandbox"
    work_root: Path = Path("/tmp/codepipe-work")
    # Tests run at once per job; the helper runs at most max_parallel() (a host with more
    # cores still uses that many, never fails every job with a --parallel the helper refuses).
    parallel: int = Field(default_factory=lambda: min(os.cpu_count() or 1, max_parallel()), ge=1, le=max_parallel())

    max_attempts: int = 3
    lease_seconds: int = 60
    # SQS long-poll length. 20 s is cheapest; <= 5 s makes every shutdown lossless (a stop
    # waits the in-flight poll out instead of abandoning a message to it).
    poll_seconds: int = Field(default=20, ge=1, le=20)
    # AWS call timeouts and attempts (first try included). Executors need a read timeout above
    # the 20 s long poll; the gateway must answer a client promptly (503) when a dependency
    # hangs, so it uses its own.
    aws_read_timeout_s: float = Field(default=30.0, gt=0)
    aws_max_attempts: int = Field(default=4, ge=1)
    gateway_aws_read_timeout_s: float = Field(default=5.0, gt=0)
    gateway_aws_max_attempts: int = Field(default=2, ge=1)
    # Compile from the source a message carries (a hint) while the claim is in flight; the
    # result is used only if the claimed job's code is identical.
    early_compile: bool = True
    # How long SIGTERM lets an executor finish the job in hand before handing it back.
    drain_seconds: float = Field(default=30.0, ge=0)
    job_ttl_days: int = 30
    log_level: str = "INFO"
    # Which part of the service makes AWS calls: in their user agent (`codepipe-<component>`),
    # so CloudTrail, LocalStack's or the emulator's request logs tell gateway calls apart.
    component: str = "service"

    # Submission caps (SPEC §3); reported by /languages.
    max_code_bytes: int = 1024 * 1024
    max_tests: int = 1000
    max_total_input_bytes: int = 64 * 1024 * 1024
    max_expected_bytes_per_test: int = 16 * 1024 * 1024
    max_time_ms: int = 20_000
    max_wall_ms: int = 60_000
    max_memory_mb: int = 2048
    max_output_kb: int = 65_536
    default_time_ms: int = 2000
    default_memory_mb: int = 256
    default_output_kb: int = 1024

    # Additional files (SPEC §7): per submission, problem, checker or interactor.
    max_files: int = 100
    max_files_bytes: int = 16 * 1024 * 1024
    # Problem archives: entries at most (the size caps above apply after decompression).
    max_archive_entries: int = 10_000
    # Checkers and interactors (untrusted, profile checker/interactor): their own limits.
    checker_time_ms: int = 5000
    checker_wall_ms: int = 10_000
    checker_memory_mb: int = 512
    checker_output_kb: int = 1024
    # Executors keep problem versions' test data on local disk, least recently used out first.
    problem_cache_mb: int = Field(default=4096, ge=1)

    # Compile step limits (the compiler's own sandbox limits).
    compile_time_ms: int = 20_000
    compile_wall_ms: int = 30_000
    compile_memory_mb: int = 1024

    # A job stored this long ago whose message was never confirmed sent (its gateway died in
    # between) is queued by a gateway's sweeper, which looks every sweep_seconds.
    unqueued_after_seconds: float = Field(default=30.0, gt=0)
    sweep_seconds: float = Field(default=30.0, gt=0)

    # A job still queued after this long is reported as stuck-ish via queued_for_ms.
    queued_warning_ms: int = 60_000

    @model_validator(mode="after")
    def _limits_within_the_helper(self) -> Settings:
        """Every configured limit must be one the sandbox helper accepts: a cap above the
        helper's maximum or a default below its minimum would fail jobs, not the start-up."""
        helper = helper_ranges()
        checks = {f"max_{n}": (n, getattr(self, f"max_{n}")) for n in LIMIT_NAMES}
        checks.update({f"default_{n}": (n, getattr(self, f"default_{n}")) for n in LIMIT_NAMES if n != "wall_ms"})
        checks.update({f"compile_{n}": (n, getattr(self, f"compile_{n}")) for n in ("time_ms", "wall_ms", "memory_mb")})
        checks.update({f"checker_{n}": (n, getattr(self, f"checker_{n}")) for n in LIMIT_NAMES})
        for setting, (limit, value) in checks.items():
            rng = helper[limit]
            if value not in rng:
                raise ValueError(f"CODEPIPE_{setting.upper()} = {value}: the sandbox helper accepts "
                                 f"{limit} {rng.min}..{rng.max}")
        return self

    def for_gateway(self) -> Settings:
        """The same settings with the gateway's short AWS timeouts."""
        return self.model_copy(update={"aws_read_timeout_s": self.gateway_aws_read_timeout_s,
                                       "aws_max_attempts": self.gateway_aws_max_attempts, "component": "gateway"})

    def queue_name(self, language: str) -> str:
        return f"{self.queue_prefix}-{language}"

    def dlq_name(self, language: str) -> str:
        return f"{self.queue_prefix}-{language}-dlq"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
