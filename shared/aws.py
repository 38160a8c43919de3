"""boto3 clients for DynamoDB, SQS and S3, all pointed at AWS_ENDPOINT_URL when set, so the
same code talks to the embedded emulator, LocalStack or AWS."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import boto3
from botocore.config import Config

from shared.settings import Settings, get_settings

# Standard retry mode backs off with jitter on throttling and transient errors. Timeouts come
# from the settings (the gateway's are short, see Settings.for_gateway).
_BASE_CONFIG = Config(retries={"mode": "standard"}, connect_timeout=3, max_pool_connections=32)


def boto_config(settings: Settings) -> Config:
    return _BASE_CONFIG.merge(Config(
        read_timeout=settings.aws_read_timeout_s,
        user_agent_extra=f"codepipe-{settings.component}",
        retries={"total_max_attempts": settings.aws_max_attempts, "mode": "standard"},
    ))


_local = threading.local()


def _session() -> boto3.session.Session:
    # boto3 sessions are not thread-safe; one per thread.
    session = getattr(_local, "session", None)
    if session is None:
        session = boto3.session.Session()
        _local.session = session
    return session


def client(service: str, settings: Settings | None = None, config: Config | None = None) -> Any:
    """A client; `config` is merged over the settings' timeouts and retries."""
    s = settings or get_settings()
    merged = boto_config(s).merge(config) if config is not None else boto_config(s)
    return _session().client(service, endpoint_url=s.aws_endpoint_url, region_name=s.aws_region, config=merged)


def resource(service: str, settings: Settings | None = None) -> Any:
    s = settings or get_settings()
    return _session().resource(
        service, endpoint_url=s.aws_endpoint_url, region_name=s.aws_region, config=boto_config(s)
    )


def jobs_table(settings: Settings | None = None) -> Any:
    s = settings or get_settings()
    return resource("dynamodb", s).Table(s.table)


def plain(value: Any) -> Any:
    """DynamoDB's resource API returns numbers as Decimal; turn them back into int/float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
