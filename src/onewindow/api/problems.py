"""RFC 9457 problem responses, also for the ASGI layer below FastAPI's exception handlers."""

from __future__ import annotations

import json
from collections.abc import Mapping

from starlette.responses import JSONResponse
from starlette.types import Send

from onewindow.kit.errors import OneWindowError

PROBLEM_JSON = "application/problem+json"


def problem_response(
    error: OneWindowError, *, headers: Mapping[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        error.to_problem(), status_code=error.status, media_type=PROBLEM_JSON, headers=headers
    )


async def send_problem(
    send: Send, error: OneWindowError, *, headers: Mapping[str, str] | None = None
) -> None:
    """Answer with ``error`` straight on the ASGI channel (a middleware that must not call
    the application); ``Connection: close`` because the request may not have been read."""
    body = json.dumps(error.to_problem(), ensure_ascii=False).encode("utf-8")
    raw = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()),
    ]
    await send({"type": "http.response.start", "status": error.status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})
