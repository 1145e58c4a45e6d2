"""FastAPI application factory."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DataError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from onewindow import __version__
from onewindow.api import guards
from onewindow.catalog import endpoints as catalog_endpoints
from onewindow.datahub import endpoints as datahub_endpoints
from onewindow.eventlog import endpoints as eventlog_endpoints
from onewindow.feedback import endpoints as feedback_endpoints
from onewindow.feedback import pages as feedback_pages
from onewindow.intake import endpoints as intake_endpoints
from onewindow.integration import endpoints as integration_endpoints
from onewindow.kit.errors import OneWindowError
from onewindow.kit.migrate import require_migrated
from onewindow.kit.platform import Platform
from onewindow.mining import endpoints as mining_endpoints
from onewindow.security import crypto, masking
from onewindow.security import endpoints as security_endpoints
from onewindow.security.authz import LoginRedirect
from onewindow.security.headers import SecurityHeadersMiddleware
from onewindow.simulation import endpoints as simulation_endpoints
from onewindow.training import endpoints as training_endpoints
from onewindow.training import pages as training_pages
from onewindow.web import (
    admin_pages,
    analysis_pages,
    audit_pages,
    datahub_pages,
    drilldown,
    feedback_desk,
    portal_apply,
    redesign_pages,
)
from onewindow.web import desk as desk_pages
from onewindow.web import portal as portal_pages
from onewindow.web import routes as web_routes
from onewindow.web import workbench as workbench_pages
from onewindow.workflow import endpoints as workflow_endpoints

log = logging.getLogger("onewindow")
PROBLEM_JSON = "application/problem+json"


def _routing_problem(request: Request, exc: StarletteHTTPException) -> OneWindowError:
    path, method = request.url.path, request.method
    if exc.status_code == 404:
        return OneWindowError(
            f"Nothing at {path}",
            message_zh=f"地址不存在：{path}",
            code="route.not_found",
            status=404,
        )
    if exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow", "")
        return OneWindowError(
            f"{method} is not allowed on {path}; allowed: {allowed}",
            message_zh=f"{path} 不支持 {method} 请求，可用：{allowed}",
            code="route.method_not_allowed",
            status=405,
            details={"allowed": [m.strip() for m in allowed.split(",") if m.strip()]},
        )
    return OneWindowError(
        str(exc.detail),
        message_zh=str(exc.detail),
        code=f"http.{exc.status_code}",
        status=exc.status_code,
    )


def create_app(platform: Platform | None = None) -> FastAPI:
    platform = platform or Platform.create()
    masking.install_log_redaction()
    crypto.configure(platform.settings)
    require_migrated(platform.engine)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = threading.Event()
        if os.environ.get("ONEWINDOW_INPROCESS_WORKER") == "1":
            from onewindow.worker import run_forever

            threading.Thread(
                target=run_forever,
                args=(platform,),
                kwargs={"stop": stop, "interval": 30.0, "kind": "in-process"},
                daemon=True,
                name="worker",
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
    guards.install(app, platform)
    app.add_middleware(SecurityHeadersMiddleware, behind_tls=platform.settings.behind_tls)

    @app.exception_handler(OneWindowError)
    async def _problem(request: Request, exc: OneWindowError) -> Response:
        if isinstance(exc, LoginRedirect):
            target = "/login?next=" + quote(str(exc.details.get("next", "/")), safe="/")
            return RedirectResponse(target, status_code=303)
        return JSONResponse(exc.to_problem(), status_code=exc.status, media_type=PROBLEM_JSON)

    async def _bad_value(_request: Request, exc: Exception) -> Response:
        # A value the database cannot hold (NUL in text, an id beyond its integer range):
        # bad input, not a server fault. Found by fuzzing the API against PostgreSQL.
        problem = OneWindowError(
            "The request holds a value out of range or with forbidden characters",
            message_zh="请求中有超出范围或含非法字符的值",
            code="request.invalid_value",
            status=422,
        )
        return JSONResponse(problem.to_problem(), status_code=422, media_type=PROBLEM_JSON)

    # SQLite's driver raises OverflowError itself for an integer beyond 64 bits.
    app.add_exception_handler(DataError, _bad_value)
    app.add_exception_handler(OverflowError, _bad_value)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> Response:
        problems = [
            f"{'.'.join(str(p) for p in err.get('loc', ()))}: {err.get('msg')}"
            for err in exc.errors()
        ]
        problem = OneWindowError(
            "The request is malformed: " + "; ".join(problems),
            message_zh="请求格式有误：" + "；".join(problems),
            code="request.invalid",
            status=422,
            details={"problems": problems},
        )
        return JSONResponse(problem.to_problem(), status_code=422, media_type=PROBLEM_JSON)

    app.include_router(security_endpoints.router, prefix="/api/v1")
    app.include_router(catalog_endpoints.router, prefix="/api/v1")
    app.include_router(eventlog_endpoints.router, prefix="/api/v1")
    app.include_router(intake_endpoints.router, prefix="/api/v1")
    app.include_router(workflow_endpoints.router, prefix="/api/v1")
    app.include_router(integration_endpoints.router, prefix="/api/v1")
    app.include_router(datahub_endpoints.router, prefix="/api/v1")
    app.include_router(mining_endpoints.router, prefix="/api/v1")
    app.include_router(simulation_endpoints.router, prefix="/api/v1")
    app.include_router(feedback_endpoints.router, prefix="/api/v1")
    app.include_router(feedback_pages.router)
    app.include_router(training_endpoints.router, prefix="/api/v1")
    app.include_router(training_pages.router)
    app.include_router(workbench_pages.router)
    app.include_router(desk_pages.router)
    app.include_router(drilldown.router)
    app.include_router(admin_pages.router)
    app.include_router(web_routes.router)
    app.include_router(portal_pages.router)
    app.include_router(portal_apply.router)
    app.include_router(datahub_pages.router)
    app.include_router(audit_pages.router)
    app.include_router(redesign_pages.router)
    app.include_router(feedback_desk.router)
    app.include_router(analysis_pages.router)

    async def _http_error(request: Request, exc: Exception) -> Response:
        # No such route, a wrong method: problem+json like every other error; a browser
        # asking for a page gets the HTML error page.
        assert isinstance(exc, StarletteHTTPException)
        problem = _routing_problem(request, exc)
        accept = request.headers.get("accept", "")
        if not request.url.path.startswith("/api/") and "text/html" in accept:
            return await run_in_threadpool(web_routes.error_page, request, problem)
        return JSONResponse(
            problem.to_problem(),
            status_code=exc.status_code,
            headers=exc.headers,
            media_type=PROBLEM_JSON,
        )

    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.mount(
        "/static",
        StaticFiles(packages=[("onewindow.web", "static")]),
        name="static",
    )

    return app
