"""The gateway's FastAPI application (SPEC §3): `create_app()` makes one; `app` is the one
`python -m api_gateway` serves (uvicorn `api_gateway.app:app`).

Routes live in one router per resource (routes_submit, routes_jobs, routes_problems,
routes_meta) and get their services through FastAPI dependencies (api_gateway.services)."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response

from api_gateway import errors, routes_jobs, routes_meta, routes_problems, routes_submit
from api_gateway.openapi import DESCRIPTION, INVALID, GatewayAPI
from api_gateway.problem_models import ProblemRequest
from api_gateway.services import Services, app_settings
from api_gateway.sweeper import UnqueuedSweeper
from shared.log import get_logger, setup_logging
from shared.models import SubmitRequest
from shared.settings import Settings

log = get_logger("api_gateway")


def create_app(settings: Settings | None = None) -> FastAPI:
    """A gateway app. Without `settings` it reads the environment's (`get_settings()`) when
    it starts or first serves, not when it is made."""
    app = GatewayAPI(
        title="codepipe",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        responses=INVALID,
        body_models=(SubmitRequest, ProblemRequest),
    )
    app.state.settings = settings
    errors.install(app)
    app.middleware("http")(access_log)
    for router in (routes_submit.router, routes_jobs.router, routes_problems.router, routes_meta.router):
        app.include_router(router)
    return app


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    setup_logging()
    svc = app.state.services = Services.create(app_settings(app))
    stop = asyncio.Event()
    sweeper = asyncio.create_task(UnqueuedSweeper(svc.settings, svc.store, svc.queue).run(stop))
    log.info("gateway ready", extra={"table": svc.settings.table})
    yield
    log.info("gateway stopping")
    stop.set()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(sweeper, timeout=10)


async def access_log(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    start = time.perf_counter()
    response = await call_next(request)
    log.info(
        "request",
        extra={
            "method": request.method,
            "path": request.url.path,
            "status": response.status_code,
            "ms": round((time.perf_counter() - start) * 1000, 1),
        },
    )
    return response


app = create_app()
