"""Every state-changing request is one unit of work, owned here: retried whole when it
clashes with another writer, and answered once per ``Idempotency-Key``.

A POST, PUT, PATCH or DELETE runs inside a ``RequestUnit`` (``kit.http``): the endpoint
works in the unit's session, and this middleware commits only once the answer is known.

* **Retries.** A unit that failed on a clash (a version conflict, a serialization failure or
  deadlock, a unique index another writer just filled) is rolled back and run again from
  the start, body replayed, after a jittered backoff, up to ``conflict_retries`` times;
  only then is the 409 answered. A page that committed on its own is never run again.
* **Idempotency.** With an ``Idempotency-Key`` header (or, for HTML forms, an
  ``idempotency_key`` query parameter in the form's action), the key is taken in the unit's
  own transaction before the work, and the answer is stored with the work's commit. The
  same key again, from the same caller, returns the stored answer (``Idempotent-Replayed:
  true``) without running anything; with another method, path, query or body it is refused
  (422). A request that arrives while the first is still running waits on the key's row
  lock and then gets the first answer. Only answers below 400 are stored: an error leaves
  no record, so the request may be sent again. Keys belong to the caller's credential
  (bearer token or session), are answered only to a caller still signed in, and are
  forgotten after a day (``worker`` purges them).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

from sqlalchemy import inspect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from onewindow.api.errors import database_unavailable
from onewindow.api.limits import header
from onewindow.api.problems import problem_response, send_problem
from onewindow.kit import idempotency
from onewindow.kit.db import is_retryable, retry_delay
from onewindow.kit.errors import ConcurrentUpdate, OneWindowError, ValidationFailed
from onewindow.kit.http import UNIT_SCOPE_KEY, RequestUnit
from onewindow.kit.platform import Ctx, Platform
from onewindow.security import authz

log = logging.getLogger("onewindow.api")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
KEY_HEADER = b"idempotency-key"
KEY_PARAM = "idempotency_key"
_KEY = re.compile(r"[\x21-\x7e]{1,255}")
WAIT_FOR_FIRST = 10.0  # seconds a repeat waits for the first request's answer
_CHUNK = 64 * 1024
_SPOOL_IN_MEMORY = 1024 * 1024


class KeyInvalid(ValidationFailed):
    code = "idempotency.key_invalid"


class KeyReused(ValidationFailed):
    code = "idempotency.key_reused"


class StillRunning(OneWindowError):
    code = "idempotency.in_progress"
    status = 409


class _Body:
    """The request body, spooled (memory, then disk) so every attempt can read it again."""

    def __init__(self) -> None:
        self.file: tempfile.SpooledTemporaryFile[bytes] = tempfile.SpooledTemporaryFile(
            max_size=_SPOOL_IN_MEMORY
        )

    @classmethod
    async def read(cls, receive: Receive) -> _Body | None:
        """None if the client went away (or the limits already answered it)."""
        body = cls()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                body.close()
                return None
            body.file.write(message.get("body", b""))
            if not message.get("more_body", False):
                return body

    def replay(self, receive: Receive) -> Receive:
        self.file.seek(0)
        done = False

        async def next_message() -> Message:
            nonlocal done
            if done:
                return await receive()
            chunk = self.file.read(_CHUNK)
            more = len(chunk) == _CHUNK
            if not more:
                done = True
            return {"type": "http.request", "body": chunk, "more_body": more}

        return next_message

    def fingerprint(self, scope: Scope) -> str:
        """What makes two requests "the same": method, path, query and body. A multipart
        body counts without its boundary, which each client picks afresh per send."""
        content_type = header(scope, b"content-type") or ""
        boundary = _boundary(content_type)
        digest = hashlib.sha256()
        for part in (
            scope["method"],
            scope["path"],
            scope.get("query_string", b"").decode("latin-1"),
            content_type.split(";")[0].strip().lower(),
        ):
            digest.update(part.encode("utf-8", "surrogateescape") + b"\n")
        self.file.seek(0)
        feed = _without(boundary, digest.update) if boundary else digest.update
        while chunk := self.file.read(_CHUNK):
            feed(chunk)
        if boundary:
            feed(b"")
        return digest.hexdigest()

    def close(self) -> None:
        self.file.close()


def _without(boundary: bytes, update: Callable[[bytes], Any]) -> Callable[[bytes], None]:
    """A feeder that passes bytes on with every occurrence of ``boundary`` replaced by a
    fixed token, also across chunk edges; an empty chunk flushes the tail."""
    tail = b""
    keep = len(boundary) - 1

    def feed(chunk: bytes) -> None:
        nonlocal tail
        data = tail + chunk
        pieces = data.split(boundary)
        for piece in pieces[:-1]:
            update(piece)
            update(b"--boundary--")
        last = pieces[-1]
        if not chunk:  # flush
            update(last)
            tail = b""
        elif len(last) > keep:
            update(last[: len(last) - keep])
            tail = last[len(last) - keep :]
        else:
            tail = last

    return feed


def _boundary(content_type: str) -> bytes | None:
    if not content_type.lower().startswith("multipart/"):
        return None
    found = re.search(r'boundary="?([^";]+)"?', content_type, re.IGNORECASE)
    return found.group(1).encode("latin-1") if found else None


def _key_of(scope: Scope) -> str | None:
    key = header(scope, KEY_HEADER)
    if key is None:
        query = scope.get("query_string", b"").decode("latin-1")
        key = next((v for k, v in parse_qsl(query) if k == KEY_PARAM), None)
    return key


def _caller(scope: Scope) -> str:
    """Whose key it is: a digest of the credential the request carries."""
    credential = header(scope, b"authorization")
    if not credential:
        cookie = Request(scope).cookies.get(authz.SESSION_COOKIE)
        credential = f"session {cookie}" if cookie else "anonymous"
    return hashlib.sha256(credential.encode("utf-8", "surrogateescape")).hexdigest()


@dataclass
class _Captured:
    """The application's answer, held back until the unit has committed."""

    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    chunks: list[bytes] = field(default_factory=list)
    complete: bool = False

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = int(message["status"])
            self.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                self.complete = True

    def header(self, name: bytes) -> str | None:
        return next((v.decode("latin-1") for k, v in self.headers if k.lower() == name), None)

    async def forward(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": b"".join(self.chunks)})


@dataclass
class _Key:
    caller: str
    key: str
    fingerprint: str
    method: str
    path: str
    record: idempotency.IdempotencyRecord | None = None

    def take(self, ctx: Ctx) -> None:
        self.record = idempotency.take(
            ctx.session,
            caller=self.caller,
            key=self.key,
            fingerprint=self.fingerprint,
            method=self.method,
            path=self.path,
            now=ctx.clock.now(),
        )


Outcome = Literal["done", "retry", "replay"]


class UnitOfWork:
    """Pure ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp, *, platform: Platform) -> None:
        self.app = app
        self.platform = platform

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        key = _key_of(scope)
        if key is not None and not _KEY.fullmatch(key):
            await send_problem(
                send,
                KeyInvalid(
                    "Idempotency-Key must be 1 to 255 printable ASCII characters",
                    message_zh="Idempotency-Key 须为 1 至 255 个可打印 ASCII 字符",
                ),
            )
            return
        body = await _Body.read(receive)
        if body is None:
            return
        try:
            await self._run(scope, receive, send, body, key)
        finally:
            body.close()

    async def _run(
        self, scope: Scope, receive: Receive, send: Send, body: _Body, key: str | None
    ) -> None:
        attempts = max(1, self.platform.settings.conflict_retries)
        held: _Key | None = None
        if key is not None:
            fingerprint = await run_in_threadpool(body.fingerprint, scope)
            held = _Key(_caller(scope), key, fingerprint, scope["method"], scope["path"])
        attempt = replays = 0
        while True:
            if held is not None:
                try:
                    answer = await run_in_threadpool(self._lookup, scope, held)
                except DBAPIError as exc:
                    answer = database_unavailable(exc)
                if answer is not None:
                    await answer(scope, receive, send)
                    return
            attempt += 1
            outcome = await self._attempt(
                scope, receive, send, body, held, last=attempt >= attempts
            )
            if outcome == "done":
                return
            if outcome == "retry":
                await asyncio.sleep(retry_delay(attempt))
                continue
            # "replay": another request took the key first; its answer is next to look up
            attempt -= 1
            replays += 1
            if replays > 3:
                await problem_response(_still_running(), headers={"Retry-After": "1"})(
                    scope, receive, send
                )
                return

    async def _attempt(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        body: _Body,
        held: _Key | None,
        *,
        last: bool,
    ) -> Outcome:
        unit = RequestUnit(self.platform, on_open=held.take if held is not None else None)
        scope[UNIT_SCOPE_KEY] = unit
        captured = _Captured()
        try:
            await self.app(scope, body.replay(receive), captured.send)
        except idempotency.KeyTaken:
            await run_in_threadpool(_end, unit)
            return "replay"
        except BaseException as exc:
            unit.note_failure(exc)
            await run_in_threadpool(_end, unit)
            if unit.retryable and not unit.committed and not last:
                return "retry"
            raise
        finally:
            scope.pop(UNIT_SCOPE_KEY, None)
        if unit.retryable and not unit.committed and not last:
            await run_in_threadpool(_end, unit)
            return "retry"
        if captured.complete and captured.status < 400:
            try:
                await run_in_threadpool(_commit, unit, held, captured)
            except idempotency.KeyTaken:
                await run_in_threadpool(_end, unit)
                return "replay"
            except (StaleDataError, IntegrityError, ConcurrentUpdate) as exc:
                await run_in_threadpool(_end, unit)
                if not unit.committed and not last:
                    return "retry"
                await problem_response(_clash(exc))(scope, receive, send)
                return "done"
            except DBAPIError as exc:
                await run_in_threadpool(_end, unit)
                if is_retryable(exc) and not unit.committed and not last:
                    return "retry"
                await database_unavailable(exc)(scope, receive, send)
                return "done"
        else:
            await run_in_threadpool(self._abandon, unit, held)
        await captured.forward(send)
        return "done"

    def _lookup(self, scope: Scope, held: _Key) -> Response | None:
        """The answer to send without running the request, or None to run it."""
        deadline = time.monotonic() + WAIT_FOR_FIRST
        while True:
            with self.platform.unit_of_work() as ctx:
                record = idempotency.find(ctx.session, held.caller, held.key)
                if record is None:
                    return None
                if record.fingerprint != held.fingerprint:
                    return problem_response(
                        KeyReused(
                            "This Idempotency-Key was used with another request; use a new "
                            "key for a new request",
                            message_zh="该幂等键已用于另一请求，新请求请使用新的键",
                            details={"first_used_for": f"{record.method} {record.path}"},
                        )
                    )
                if record.status_code is not None:
                    if not _signed_in(ctx, scope):
                        return problem_response(
                            authz.AuthRequired("Sign in first", message_zh="请先登录")
                        )
                    headers = {"idempotent-replayed": "true"}
                    if record.location:
                        headers["location"] = record.location
                    return Response(
                        record.body or b"",
                        status_code=record.status_code,
                        headers=headers,
                        media_type=record.content_type,
                    )
            if time.monotonic() > deadline:
                return problem_response(_still_running(), headers={"Retry-After": "1"})
            time.sleep(0.1)

    def _abandon(self, unit: RequestUnit, held: _Key | None) -> None:
        """An error answer: nothing of the unit stays, not even the key (unless a page
        committed on its own: then only the key is released)."""
        try:
            unit.rollback()
            if held is not None and unit.committed:
                with self.platform.unit_of_work() as ctx:
                    record = idempotency.find(ctx.session, held.caller, held.key)
                    if record is not None and record.status_code is None:
                        ctx.session.delete(record)
        except DBAPIError:  # the database went away: the key stays taken, answered 409 later
            log.warning("idempotency key %s not released (database unavailable)", held and held.key)
        finally:
            unit.close()


def _commit(unit: RequestUnit, held: _Key | None, captured: _Captured) -> None:
    """Store the answer with the work and commit both (the unit is closed either way)."""
    session = unit.session
    if session is None:  # the route never touched the database
        return
    try:
        if held is not None:
            record = held.record
            if record is None or not inspect(record).persistent:
                # The endpoint rolled back (and took the key with it); take it again.
                held.take(unit.open())
                record = held.record
            assert record is not None
            if captured.header(b"set-cookie") is not None:
                session.delete(record)  # a session is never handed to a second client
            else:
                record.status_code = captured.status
                record.content_type = captured.header(b"content-type")
                record.location = captured.header(b"location")
                record.body = b"".join(captured.chunks)
        session.commit()
    except BaseException:
        unit.rollback()
        raise
    finally:
        unit.close()


def _end(unit: RequestUnit) -> None:
    unit.rollback()
    unit.close()


def _signed_in(ctx: Ctx, scope: Scope) -> bool:
    """A stored answer goes only to a caller whose credential still signs in."""
    request = Request(scope)
    if not request.headers.get("authorization") and not request.cookies.get(authz.SESSION_COOKIE):
        return True
    try:
        return authz.resolve(request, ctx) is not None
    except OneWindowError:
        return False


def _still_running() -> StillRunning:
    return StillRunning(
        "A request with this Idempotency-Key is still being answered; try again shortly",
        message_zh="使用该幂等键的请求仍在处理中，请稍后重试",
    )


def _clash(exc: BaseException) -> ConcurrentUpdate:
    return ConcurrentUpdate(
        "Someone else changed this record at the same moment; try again",
        message_zh="该记录刚被他人同时修改，请重试",
        details={"retried": True, "cause": type(exc).__name__},
    )
