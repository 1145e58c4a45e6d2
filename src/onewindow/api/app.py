"""FastAPI application factory."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from onewindow import __version__
from onewindow.catalog import endpoints as catalog_endpoints
from onewindow.eventlog import endpoints as eventlog_endpoints
from onewindow.kit.errors import OneWindowError
from onewindow.kit.http import CtxDep
from onewindow.kit.migrate import require_migrated
from onewindow.kit.platform import Platform

log = logging.getLogger("onewindow")
PROBLEM_JSON = "application/problem+json"


def _worker_loop(platform: Platform, stop: threading.Event, interval: float) -> None:
    from onewindow.workflow.tasks import run_worker_pass

    while not stop.wait(interval):
        try:
            run_worker_pass(platform)
        except Exception:  # the loop must survive one bad pass; the next pass retries
            log.exception("worker pass failed")


def create_app(platform: Platform | None = None) -> FastAPI:
    platform = platform or Platform.create()
    require_migrated(platform.engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        if os.environ.get("ONEWINDOW_INPROCESS_WORKER") == "1":
            threading.Thread(
                target=_worker_loop, args=(platform, stop, 30.0), daemon=True, name="worker"
            ).start()
        yield
        stop.set()

    app = FastAPI(
        title="onewindow",
        version=__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/v1/docs",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.platform = platform

    @app.exception_handler(OneWindowError)
    async def _problem(_request: Request, exc: OneWindowError) -> JSONResponse:
        return JSONResponse(exc.to_problem(), status_code=exc.status, media_type=PROBLEM_JSON)

    @app.get("/api/v1/health", tags=["meta"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.include_router(catalog_endpoints.router, prefix="/api/v1")
    app.include_router(eventlog_endpoints.router, prefix="/api/v1")

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index(ctx: CtxDep) -> str:
        from onewindow.web.pages import render_index

        return render_index(ctx)

    return app
