"""GET /languages and /health (SPEC §3): what the service offers and how it is."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from api_gateway.longpoll import MAX_WAIT_SECONDS
from api_gateway.openapi import DEPENDENCY_DOWN
from api_gateway.services import HealthDep, SettingsDep, StoreDep
from api_gateway.validation import limit_ranges
from shared.languages import ALIASES, LANGUAGES
from shared.log import get_logger
from shared.settings import Settings

log = get_logger("api_gateway.meta")

router = APIRouter()


@router.get("/languages", summary="Supported languages, toolchains, limits and caps", responses=DEPENDENCY_DOWN)
async def languages(settings: SettingsDep, store: StoreDep) -> dict[str, Any]:
    try:
        records = await run_in_threadpool(store.executor_records)
    except Exception as exc:  # noqa: BLE001 - versions are informative; the list itself is static
        log.warning("executor records unavailable", extra={"error": str(exc)})
        records = {}
    return languages_view(settings, records)


def languages_view(settings: Settings, records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The /languages document; `records`: the executors' records by language (versions)."""
    return {
        "languages": [
            {
                "name": name,
                "aliases": [a for a in ALIASES[name] if a != name],
                "version": (records.get(name) or {}).get("version") or "unknown",
                "last_seen": (records.get(name) or {}).get("last_seen"),
                "default_limits": {k: v["default"] for k, v in lang_ranges.items()},
                "max_limits": {k: v["max"] for k, v in lang_ranges.items()},
                "limits": lang_ranges,
            }
            for name in LANGUAGES
            for lang_ranges in (limit_ranges(settings, name),)
        ],
        "limits": limit_ranges(settings),
        "caps": {
            "max_code_bytes": settings.max_code_bytes,
            "max_tests": settings.max_tests,
            "max_total_input_bytes": settings.max_total_input_bytes,
            "max_expected_bytes_per_test": settings.max_expected_bytes_per_test,
            "max_wait_seconds": MAX_WAIT_SECONDS,
        },
        "compare_modes": ["exact", "lines", "tokens", "float:EPS"],
    }


@router.get(
    "/health",
    summary="State of DynamoDB, SQS, S3, the sandbox and the executors",
    responses={503: {"description": "a dependency is down; `error` says which"}},
)
async def health(checker: HealthDep) -> JSONResponse:
    report = await checker.report()
    return JSONResponse(status_code=200 if report["status"] == "ok" else 503, content=report)
