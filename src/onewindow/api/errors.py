"""Exceptions that are not the platform's own, answered as problem+json.

* the database is unreachable (an outage, a restart, a pool exhausted): 503 with
  ``Retry-After``, logged once per outage rather than once per request;
* a serialization failure or deadlock that survived the retries, and a unique or foreign
  key that another writer changed under us: 409, the request may be sent again;
* anything else: 500, logged with its traceback. No answer is ever ``text/plain``.
"""

from __future__ import annotations

import logging
import threading
import time

from fastapi import FastAPI, Request
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.responses import Response

from onewindow.api.problems import problem_response
from onewindow.kit.db import is_retryable
from onewindow.kit.errors import ConcurrentUpdate, Conflict, OneWindowError

log = logging.getLogger("onewindow.api")
RETRY_AFTER_SECONDS = 5
_QUIET_FOR = 30.0  # seconds: one outage, one log line


class DatabaseUnavailable(OneWindowError):
    code = "service.database_unavailable"
    status = 503


class _OutageLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = 0.0

    def note(self, exc: BaseException) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._last < _QUIET_FOR:
                self._last = now
                return
            self._last = now
        log.warning("database unavailable, answering 503: %s", _first_line(exc))


_outage = _OutageLog()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return text[0][:300] if text else type(exc).__name__


def database_unavailable(exc: BaseException) -> Response:
    """503, or 409 for a serialization failure / deadlock that outlived the retries."""
    if isinstance(exc, DBAPIError) and is_retryable(exc):
        return problem_response(
            ConcurrentUpdate(
                "Someone else changed this record at the same moment; try again",
                message_zh="该记录刚被他人同时修改，请重试",
            )
        )
    _outage.note(exc)
    return problem_response(
        DatabaseUnavailable(
            "The database is unavailable; try again shortly",
            message_zh="数据库暂时不可用，请稍后重试",
        ),
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _unavailable(_request: Request, exc: Exception) -> Response:
    return database_unavailable(exc)


async def _integrity(_request: Request, exc: Exception) -> Response:
    return problem_response(
        Conflict(
            "The request clashed with a record written at the same moment; try again",
            message_zh="该请求与同时写入的记录冲突，请重试",
            code="request.conflict",
        )
    )


async def _server_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, OperationalError | InterfaceError | PoolTimeout):
        return database_unavailable(exc)
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        OneWindowError(
            "Something went wrong on our side; it has been logged",
            message_zh="服务器内部错误，已记录",
            code="server.error",
            status=500,
        )
    )


def install(app: FastAPI) -> None:
    for kind in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(kind, _unavailable)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(Exception, _server_error)
