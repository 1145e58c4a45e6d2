"""Liveness and readiness for load balancers, orchestrators and operators.

* ``/api/v1/health/live``: the process answers (no database, no credentials looked up);
* ``/api/v1/health/ready`` (and ``/api/v1/health``): the database, the background worker's
  heartbeat and the webhook outbox's backlog, each reported on its own. The answer is 503
  (with ``Retry-After``) only when the database is down: a stale worker or a backlog is
  something to page about, not a reason to stop serving requests.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.concurrency import run_in_threadpool

from onewindow import __version__
from onewindow.api.errors import RETRY_AFTER_SECONDS
from onewindow.integration import service as integration
from onewindow.kit import heartbeat
from onewindow.kit.platform import Platform
from onewindow.security.authz import PUBLIC

router = APIRouter(tags=["meta"])


class _Anyone:
    """Public, and unlike ``authz.public()`` never looks a credential up: a health probe
    must not depend on the database."""

    permission = PUBLIC

    def __call__(self) -> None:
        return None


Anyone = Annotated[None, Depends(_Anyone())]


@router.get("/health/live")
def live(_: Anyone) -> dict[str, str]:
    return {"status": "ok", "version": __version__}


def readiness(platform: Platform) -> dict[str, Any]:
    started = time.perf_counter()
    report: dict[str, Any] = {"version": __version__}
    try:
        with platform.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except (DBAPIError, PoolTimeout) as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()
        report["database"] = {"status": "down", "error": (reason or ["unknown"])[0][:300]}
        report["worker"] = {"status": "unknown"}
        report["outbox"] = {"status": "unknown"}
        report["status"] = "unavailable"
        return report
    report["database"] = {
        "status": "ok",
        "latency_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    try:
        with platform.unit_of_work() as ctx:
            beat = heartbeat.latest(ctx.session)
            backlog = integration.backlog(ctx)
            now = ctx.clock.now()
    except (DBAPIError, PoolTimeout) as exc:  # went down between the two
        report["database"] = {"status": "down", "error": type(exc).__name__}
        report["status"] = "unavailable"
        return report
    if beat is None:
        report["worker"] = {"status": "none"}
    else:
        age = (now - beat.beat_at).total_seconds()
        stale = age > platform.settings.worker_stale_seconds
        report["worker"] = {
            "status": "stale" if stale else "ok",
            "name": beat.name,
            "kind": beat.kind,
            "last_beat_seconds_ago": round(age, 1),
        }
    report["outbox"] = {
        "status": "ok" if backlog.due == 0 else "backlog",
        "pending": backlog.pending,
        "due": backlog.due,
        "oldest_due_seconds": (
            round(backlog.oldest_due_seconds, 1) if backlog.oldest_due_seconds is not None else None
        ),
    }
    report["status"] = "ok"
    return report


async def _ready(request: Request) -> JSONResponse:
    platform: Platform = request.app.state.platform
    report = await run_in_threadpool(readiness, platform)
    if report["status"] == "ok":
        return JSONResponse(report)
    return JSONResponse(report, status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})


@router.get("/health/ready")
async def ready(request: Request, _: Anyone) -> JSONResponse:
    return await _ready(request)


@router.get("/health")
async def health(request: Request, _: Anyone) -> JSONResponse:
    """The readiness report (kept at its old address)."""
    return await _ready(request)
