"""Limits on what a client may send, enforced while reading: before the body is buffered or
spooled, and before any authentication work.

* request line + headers: at most ``max_header_bytes`` (431);
* body: ``max_json_bytes`` on every route, ``max_upload_bytes`` x ``max_files_per_request``
  on the routes that take files (413, from ``Content-Length`` before a byte is read, or as
  soon as a chunked body passes the limit);
* body time: ``body_timeout_seconds`` of grace, then at least ``min_body_bytes_per_second``
  on average, so a client sending a byte a second is cut off (408);
* JSON bodies: nesting depth and digits of a number, checked on the raw text before any
  parser sees it (422);
* an upload to the API without any credentials is refused (401) before its body is read.

Each refusal is problem+json with ``Connection: close`` (the unread rest of the body is
never read). The routes that take files are found on the app itself: an API route that
declares a multipart request body (``File`` parameters do) in the OpenAPI schema, and the
pages in ``PAGE_UPLOADS``.
"""

from __future__ import annotations

import asyncio
import re
import time
import warnings
from email.message import Message as MimeHeader
from typing import Any

from fastapi.openapi.utils import get_openapi
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onewindow.api.problems import send_problem
from onewindow.kit.errors import OneWindowError
from onewindow.kit.settings import Settings
from onewindow.kit.text import json_shape_problem, too_complex
from onewindow.security.authz import SESSION_COOKIE, AuthRequired

# HTML pages whose forms carry files (the API's upload routes declare theirs).
PAGE_UPLOADS = frozenset(
    {"/desk", "/portal/cases/{number}/supplement", "/admin/processes", "/analysis/upload"}
)
MAX_HEADERS = 100
_DISCONNECT: Message = {"type": "http.disconnect"}


class BodyTooLarge(OneWindowError):
    code = "request.too_large"
    status = 413


class BodyTooSlow(OneWindowError):
    code = "request.timeout"
    status = 408


class HeadersTooLarge(OneWindowError):
    code = "request.headers_too_large"
    status = 431


def upload_routes(app: Any) -> list[tuple[re.Pattern[str], frozenset[str]]]:
    """(path pattern, methods) of the routes that take files: every operation of the app's
    OpenAPI schema with a multipart request body, and the pages in ``PAGE_UPLOADS``."""
    found: dict[str, set[str]] = {path: {"POST"} for path in PAGE_UPLOADS}
    schema: dict[str, Any] = {}
    if hasattr(app, "routes"):
        # Built apart from the app's cached schema, quietly: its warnings (a duplicate
        # operation id) belong to /openapi.json, not to every app's first request.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            schema = get_openapi(title="uploads", version="0", routes=app.routes)
    for path, operations in (schema.get("paths") or {}).items():
        for method, operation in operations.items():
            content = ((operation or {}).get("requestBody") or {}).get("content") or {}
            if "multipart/form-data" in content:
                found.setdefault(path, set()).add(method.upper())
    return [(compile_path(path)[0], frozenset(methods)) for path, methods in found.items()]


def header(scope: Scope, name: bytes) -> str | None:
    """A request header from the ASGI scope (names are lower-case bytes)."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    mime = MimeHeader()
    mime["content-type"] = content_type
    subtype = mime.get_content_subtype()
    return mime.get_content_maintype() == "application" and (
        subtype == "json" or subtype.endswith("+json")
    )


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB" if n >= 1024 * 1024 else f"{n} bytes"


class _BodyGuard:
    """Wraps ``receive``: counts the body and times it; on a breach answers itself, then
    tells the application the client went away and drops whatever it tries to send."""

    def __init__(self, receive: Receive, send: Send, *, limit: int, settings: Settings) -> None:
        self._receive = receive
        self._send = send
        self.limit = limit
        self.grace = settings.body_timeout_seconds
        self.rate = max(1, settings.min_body_bytes_per_second)
        self.started = time.monotonic()
        self.received = 0
        self.complete = False
        self.answered = False
        self.response_started = False

    async def _answer(self, error: OneWindowError) -> Message:
        if not self.response_started:
            self.response_started = True
            await send_problem(self._send, error)
        self.answered = True
        return _DISCONNECT

    async def receive(self) -> Message:
        if self.answered:
            return _DISCONNECT
        if self.complete:  # later receives only wait for a disconnect: no deadline
            return await self._receive()
        allowed = self.grace + self.received / self.rate - (time.monotonic() - self.started)
        try:
            if allowed <= 0:
                raise TimeoutError
            message = await asyncio.wait_for(self._receive(), allowed)
        except TimeoutError:
            return await self._answer(
                BodyTooSlow(
                    f"The request body did not arrive in time ({self.received} bytes read)",
                    message_zh="请求内容上传过慢，已超时",
                )
            )
        if message["type"] == "http.request":
            self.received += len(message.get("body", b""))
            if self.received > self.limit:
                return await self._answer(_too_large(self.limit))
            if not message.get("more_body", False):
                self.complete = True
        return message

    async def send(self, message: Message) -> None:
        if self.answered:
            return
        if message["type"] == "http.response.start":
            self.response_started = True
        await self._send(message)

    async def read_all(self) -> bytes | None:
        """The whole body (it is small: the JSON limit), or None once answered."""
        chunks: list[bytes] = []
        while True:
            message = await self.receive()
            if self.answered or message["type"] != "http.request":
                return None
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                return b"".join(chunks)


def _too_large(limit: int) -> BodyTooLarge:
    return BodyTooLarge(
        f"The request body is larger than this route accepts ({_mib(limit)})",
        message_zh=f"请求内容超过本接口的上限（{_mib(limit)}）",
        details={"limit_bytes": limit},
    )


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class RequestLimits:
    """Pure ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self._uploads: list[tuple[re.Pattern[str], frozenset[str]]] | None = None

    def upload_limit(self) -> int:
        s = self.settings
        return s.max_upload_bytes * s.max_files_per_request + s.max_json_bytes

    def _takes_files(self, scope: Scope) -> bool:
        if self._uploads is None:
            self._uploads = upload_routes(scope.get("app"))
        path, method = scope["path"], scope["method"]
        return any(method in methods and rx.match(path) for rx, methods in self._uploads)

    def _head_problem(self, scope: Scope) -> OneWindowError | None:
        headers = scope["headers"]
        size = len(scope.get("raw_path") or scope["path"]) + len(scope.get("query_string", b""))
        size += sum(len(k) + len(v) + 4 for k, v in headers)
        if size > self.settings.max_header_bytes or len(headers) > MAX_HEADERS:
            limit = self.settings.max_header_bytes
            return HeadersTooLarge(
                f"The request line and headers exceed {limit} bytes or {MAX_HEADERS} headers",
                message_zh=f"请求头过大（上限 {limit} 字节、{MAX_HEADERS} 个）",
            )
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        problem = self._head_problem(scope)
        if problem is not None:
            await send_problem(send, problem)
            return
        uploads = self._takes_files(scope)
        limit = self.upload_limit() if uploads else self.settings.max_json_bytes
        declared = header(scope, b"content-length")
        chunked = "chunked" in (header(scope, b"transfer-encoding") or "").lower()
        length = int(declared) if declared and declared.isdigit() else 0
        if length > limit:
            await send_problem(send, _too_large(limit))
            return
        has_body = length > 0 or chunked
        if uploads and has_body and scope["path"].startswith("/api/") and not _credentials(scope):
            await send_problem(send, AuthRequired("Sign in first", message_zh="请先登录"))
            return
        guard = _BodyGuard(receive, send, limit=limit, settings=self.settings)
        inner_receive: Receive = guard.receive
        if has_body and _is_json(header(scope, b"content-type")):
            body = await guard.read_all()
            if body is None:
                return
            shape = json_shape_problem(
                body,
                max_depth=self.settings.max_json_depth,
                max_digits=self.settings.max_number_digits,
            )
            if shape is not None:
                await send_problem(send, too_complex("body", shape))
                return
            inner_receive = _replay(body, guard.receive)
        await self.app(scope, inner_receive, guard.send)


def _credentials(scope: Scope) -> bool:
    if header(scope, b"authorization"):
        return True
    cookie = header(scope, b"cookie") or ""
    return f"{SESSION_COOKIE}=" in cookie
