"""Submitting a job, written once for every API face (the SPEC §3 /submit, the Judge0 face of
§10): validate a request body, store the record, queue its message; with an idempotency key
a retried request gets the original job. The face does the HTTP around it: the body cap and
the JSON parsing before, the status code and headers after, and, once it has answered,
`mark_enqueued` for a job whose message was sent (`Submitted.enqueued`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from api_gateway.errors import APIError
from api_gateway.services import Services
from api_gateway.validation import validate_submission
from shared.log import get_logger, job_context
from shared.models import JobRequest, Status

log = get_logger("api_gateway.submission")


@dataclass(frozen=True)
class Submitted:
    item: dict[str, Any]  # the job's record: the new one, or the original on a replay
    created: bool  # False: an idempotent replay of an earlier submission
    enqueued: bool  # its message was sent by this call: confirm with mark_enqueued
    language: str  # the canonical language asked for

    @property
    def job_id(self) -> str:
        return str(self.item["id"])


def submit_job(svc: Services, raw: Any) -> Submitted:
    """Submit the request body `raw` (parsed JSON, in the shape of SPEC §3 POST /submit).

    Blocking (DynamoDB, SQS, S3): call it from the thread pool. Raises APIError for a refused
    body (400/413/422, nothing stored) and for a job that could not be queued (503, withdrawn
    again); AWS errors propagate (the app answers 503)."""
    # A problem is read from its record only (DynamoDB): no S3 read or write at submit.
    sub = validate_submission(raw, svc.settings, svc.problems.get)
    request = sub.request
    item, created = svc.store.new_job(request, sub.user_id, sub.idempotency_key, total=sub.total)
    with job_context(item["id"]):
        if created:
            _enqueue_or_withdraw(svc, item, request)
            log.info("job queued", extra={"language": request.language, "tests": item.get("total"),
                                          "problem_id": request.problem_id, "claim_check": "request_key" in item})
            return Submitted(item, created=True, enqueued=True, language=request.language)
        log.info("idempotent replay", extra={"status": item.get("status")})
        if item.get("status") != Status.QUEUED.value:
            return Submitted(item, created=False, enqueued=False, language=request.language)
        # The original request may have died between storing and enqueueing (the client never
        # saw its 202, hence the retry). Enqueue again: a duplicate message is harmless (the
        # claim is conditional), a missing one would strand the job.
        svc.queue.send(item.get("language", request.language), item["id"], compile_hint(request))
        return Submitted(item, created=False, enqueued=True, language=request.language)


def _enqueue_or_withdraw(svc: Services, item: dict[str, Any], request: JobRequest) -> None:
    try:
        svc.queue.send(request.language, item["id"], compile_hint(request))
    except Exception as exc:
        # Never leave a record no message refers to: remove it (or at least fail it).
        log.error("enqueue failed; withdrawing the job", extra={"error": str(exc)})
        withdraw(svc, item)
        raise APIError(503, "dependency_unavailable",
                       f"could not queue the job ({type(exc).__name__}); nothing was stored, retry later",
                       headers={"Retry-After": "2"}) from None


def withdraw(svc: Services, item: dict[str, Any]) -> None:
    """Remove a job that was stored but could not be queued (or, failing that, fail it)."""
    try:
        svc.store.delete(item["id"])
        if item.get("request_key"):
            svc.blobs.delete(item["request_key"])
    except Exception:  # noqa: BLE001 - DynamoDB may be the thing that is down
        try:
            svc.store.mark_failed(item["id"], "could not be queued")
        except Exception:  # noqa: BLE001
            log.exception("could neither delete nor fail an unqueued job", extra={"job_id": item["id"]})


def mark_enqueued(svc: Services, job_id: str) -> None:
    """Tell the sweeper the job's message is sent; best effort (if this write is lost, the
    sweeper sends a harmless duplicate). Run it after answering the client."""
    try:
        svc.store.mark_enqueued(job_id)
    except Exception as exc:
        log.warning("could not mark the job queued; the sweeper will send it again",
                    extra={"job_id": job_id, "error": str(exc)[:300]})


def compile_hint(request: JobRequest) -> str | None:
    """The source the message carries so the executor can compile while it claims: only when
    the source alone is the program (no extra files, no problem's files, no generated harness)."""
    plain = not request.files and request.problem_id is None and request.function is None
    return request.code if plain else None
