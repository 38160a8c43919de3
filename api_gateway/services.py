"""What the routes work with (settings, job store, queue, blobs, problem store, health checker),
made once per app and handed to the routes as FastAPI dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from api_gateway.health import HealthChecker
from shared.blobs import Blobs
from shared.jobs import JobStore
from shared.problems import ProblemStore
from shared.queue import JobQueue
from shared.settings import Settings, get_settings


@dataclass
class Services:
    settings: Settings
    store: JobStore
    queue: JobQueue
    blobs: Blobs
    health: HealthChecker
    problems: ProblemStore

    @classmethod
    def create(cls, settings: Settings) -> Services:
        """The gateway's services, with its short AWS timeouts (a client gets a prompt 503)."""
        gateway = settings.for_gateway()
        store, blobs = JobStore(gateway), Blobs(gateway)
        return cls(gateway, store, JobQueue(gateway), blobs, HealthChecker(gateway), ProblemStore(store, blobs))


def app_settings(app: FastAPI) -> Settings:
    """The settings the app was made with, else the environment's (read now, not at import)."""
    settings: Settings | None = getattr(app.state, "settings", None)
    return settings if settings is not None else get_settings()


def app_services(app: FastAPI) -> Services:
    svc: Services | None = getattr(app.state, "services", None)
    if svc is None:  # e.g. a TestClient used without its lifespan
        svc = app.state.services = Services.create(app_settings(app))
    return svc


def get_services(request: Request) -> Services:
    return app_services(request.app)


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings_of(svc: ServicesDep) -> Settings:
    return svc.settings


def get_store(svc: ServicesDep) -> JobStore:
    return svc.store


def get_blobs(svc: ServicesDep) -> Blobs:
    return svc.blobs


def get_health(svc: ServicesDep) -> HealthChecker:
    return svc.health


def get_problems(svc: ServicesDep) -> ProblemStore:
    return svc.problems


SettingsDep = Annotated[Settings, Depends(get_settings_of)]
StoreDep = Annotated[JobStore, Depends(get_store)]
BlobsDep = Annotated[Blobs, Depends(get_blobs)]
HealthDep = Annotated[HealthChecker, Depends(get_health)]
ProblemsDep = Annotated[ProblemStore, Depends(get_problems)]
