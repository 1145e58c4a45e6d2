"""Request-scoped dependencies: one transaction per request, owned by the request.

A safe request (GET) gets a transaction of its own that commits when the endpoint returns.
A state-changing request runs inside a ``RequestUnit`` that ``onewindow.api.units`` opens
around the whole application: the endpoint gets the unit's session, and the unit commits
only once the answer is known, so the answer can be stored with the change (idempotency)
and a clash can be retried whole.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from onewindow.kit.db import is_retryable
from onewindow.kit.errors import ConcurrentUpdate
from onewindow.kit.platform import Ctx, Platform

UNIT_SCOPE_KEY = "onewindow.unit"


@dataclass
class RequestUnit:
    """The one transaction of a state-changing request, opened lazily by ``get_ctx``.

    ``on_open`` runs on the new ``Ctx`` before the endpoint sees it (it takes the request's
    idempotency key). ``retryable`` is set when the work failed on a clash with another
    writer; ``committed`` when the endpoint committed on its own (HTML pages do, before
    redirecting), after which the unit must not be retried.
    """

    platform: Platform
    on_open: Callable[[Ctx], None] | None = None
    ctx: Ctx | None = None
    retryable: bool = False
    committed: bool = False

    def open(self) -> Ctx:
        if self.ctx is None:
            p = self.platform
            session = p.sessions()
            event.listen(session, "after_commit", self._committed)
            self.ctx = Ctx(session, p.clock, p.settings, p.current_calendar(), shared=p.shared)
            if self.on_open is not None:
                self.on_open(self.ctx)
        return self.ctx

    def _committed(self, session: Session) -> None:
        # SQLAlchemy reports a savepoint's release as a commit too; only the whole counts.
        if not session.in_nested_transaction():
            self.committed = True

    @property
    def session(self) -> Session | None:
        return self.ctx.session if self.ctx is not None else None

    def note_failure(self, exc: BaseException) -> None:
        if isinstance(exc, ConcurrentUpdate | StaleDataError | IntegrityError):
            self.retryable = True
        elif isinstance(exc, DBAPIError) and is_retryable(exc):
            self.retryable = True

    def rollback(self) -> None:
        if self.ctx is not None:
            try:
                self.ctx.session.rollback()
            except DBAPIError:  # the connection is gone; nothing to undo on it
                pass

    def close(self) -> None:
        if self.ctx is not None:
            try:
                self.ctx.session.close()
            except DBAPIError:
                pass
            self.ctx = None


def get_platform(request: Request) -> Platform:
    platform: Platform = request.app.state.platform
    return platform


def get_ctx(
    request: Request, platform: Annotated[Platform, Depends(get_platform)]
) -> Iterator[Ctx]:
    unit: RequestUnit | None = request.scope.get(UNIT_SCOPE_KEY)
    if unit is None:
        with platform.unit_of_work() as ctx:
            yield ctx
        return
    try:
        yield unit.open()
    except StaleDataError as exc:
        unit.retryable = True
        raise ConcurrentUpdate(
            "Someone else changed this case at the same moment; try again",
            message_zh="该办件刚被他人同时修改，请重试",
        ) from exc
    except BaseException as exc:
        unit.note_failure(exc)
        raise


# scope="function": the transaction commits when the endpoint returns, *before* the response
# is sent, so a client that follows up at once reads what it just wrote, and a failed commit
# (a concurrent update) reaches the client as an error instead of vanishing. (In a
# ``RequestUnit`` the unit commits, also before the response is sent.)
CtxDep = Annotated[Ctx, Depends(get_ctx, scope="function")]
PlatformDep = Annotated[Platform, Depends(get_platform)]
