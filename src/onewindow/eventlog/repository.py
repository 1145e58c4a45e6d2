"""Every query of the event log. There is no update or delete: the log is append-only."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onewindow.eventlog.models import Event


def add(session: Session, event: Event) -> None:
    session.add(event)


def for_case(session: Session, case_id: int) -> Sequence[Event]:
    return session.scalars(select(Event).where(Event.case_id == case_id).order_by(Event.id)).all()


def for_case_number(session: Session, case_number: str) -> Sequence[Event]:
    return session.scalars(
        select(Event).where(Event.case_number == case_number).order_by(Event.id)
    ).all()


def stream(
    session: Session,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    service_code: str | None = None,
    case_kind: str | None = None,
    batch: int = 5000,
) -> Iterator[Event]:
    """All events in insertion order, fetched in batches so a large log is never all in memory."""
    last_id = 0
    while True:
        q = select(Event).where(Event.id > last_id).order_by(Event.id).limit(batch)
        if since is not None:
            q = q.where(Event.timestamp >= since)
        if until is not None:
            q = q.where(Event.timestamp < until)
        if service_code is not None:
            q = q.where(Event.service_code == service_code)
        if case_kind is not None:
            q = q.where(Event.case_kind == case_kind)
        rows = session.scalars(q).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
        # Drop only the rows read here: the caller's own objects stay in its session.
        for row in rows:
            session.expunge(row)


def count(session: Session) -> int:
    return session.scalar(select(func.count(Event.id))) or 0
