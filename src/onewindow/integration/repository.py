"""Every query of the integration domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Row, func, select, update
from sqlalchemy.orm import Session

from onewindow.integration.models import DEAD, PENDING, OutboxMessage, Subscription


def subscription(session: Session, subscription_id: int) -> Subscription | None:
    return session.get(Subscription, subscription_id)


def subscriptions(session: Session, *, include_inactive: bool = True) -> Sequence[Subscription]:
    q = select(Subscription)
    if not include_inactive:
        q = q.where(Subscription.active.is_(True))
    return session.scalars(q.order_by(Subscription.id)).all()


def active_subscriptions(session: Session) -> Sequence[Subscription]:
    """Every active subscription; topics and department filters are matched by the caller
    (topics are a JSON list, and the active set is small)."""
    return session.scalars(
        select(Subscription).where(Subscription.active.is_(True)).order_by(Subscription.id)
    ).all()


def message(session: Session, message_id: str) -> OutboxMessage | None:
    return session.get(OutboxMessage, message_id)


def messages_by_id(session: Session, message_ids: Sequence[str]) -> dict[str, OutboxMessage]:
    """The messages with these ids, in one query (a delivery batch's)."""
    if not message_ids:
        return {}
    rows = session.scalars(select(OutboxMessage).where(OutboxMessage.id.in_(message_ids)))
    return {m.id: m for m in rows}


def messages(
    session: Session, *, status: str | None = None, subscription_id: int | None = None
) -> Sequence[OutboxMessage]:
    q = select(OutboxMessage)
    if status is not None:
        q = q.where(OutboxMessage.status == status)
    if subscription_id is not None:
        q = q.where(OutboxMessage.subscription_id == subscription_id)
    return session.scalars(q.order_by(OutboxMessage.created_at, OutboxMessage.id)).all()


def claim_due(
    session: Session, now: datetime, limit: int
) -> Sequence[Row[OutboxMessage, Subscription]]:
    """Due pending messages of active subscriptions, row-locked; rows other workers hold are
    skipped (``FOR UPDATE SKIP LOCKED`` on PostgreSQL; SQLite serialises writers instead)."""
    q = (
        select(OutboxMessage, Subscription)
        .join(Subscription, OutboxMessage.subscription_id == Subscription.id)
        .where(
            OutboxMessage.status == PENDING,
            OutboxMessage.next_attempt_at <= now,
            Subscription.active.is_(True),
        )
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.created_at, OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=OutboxMessage)
    )
    return session.execute(q).all()


def renew_lease(
    session: Session, message_ids: Sequence[str], held_until: datetime, until: datetime
) -> int:
    """Move the lease of messages still pending and still held until ``held_until`` (so
    not claimed meanwhile by another worker) to ``until``."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(message_ids),
            OutboxMessage.status == PENDING,
            OutboxMessage.next_attempt_at == held_until,
        )
        .values(next_attempt_at=until)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def dead_letters(
    session: Session, *, limit: int, offset: int, subscription_id: int | None = None
) -> Sequence[OutboxMessage]:
    q = select(OutboxMessage).where(OutboxMessage.status == DEAD)
    if subscription_id is not None:
        q = q.where(OutboxMessage.subscription_id == subscription_id)
    q = q.order_by(OutboxMessage.created_at.desc(), OutboxMessage.id).limit(limit).offset(offset)
    return session.scalars(q).all()


def count_dead_letters(session: Session, *, subscription_id: int | None = None) -> int:
    q = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == DEAD)
    if subscription_id is not None:
        q = q.where(OutboxMessage.subscription_id == subscription_id)
    return session.scalar(q) or 0


def count_pending(session: Session) -> int:
    q = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == PENDING)
    return session.scalar(q) or 0


def backlog(session: Session, now: datetime) -> tuple[int, int, datetime | None]:
    """Pending messages: how many, how many are due now, and the oldest due time."""
    pending = (
        select(func.count(), func.min(OutboxMessage.next_attempt_at))
        .select_from(OutboxMessage)
        .where(OutboxMessage.status == PENDING)
    )
    total, oldest = session.execute(pending).one()
    due = session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .where(OutboxMessage.status == PENDING, OutboxMessage.next_attempt_at <= now)
    )
    return int(total or 0), int(due or 0), oldest


def replay_dead(session: Session, now: datetime, *, subscription_id: int | None = None) -> int:
    """Dead messages of active subscriptions back to pending, due now, attempts reset."""
    active = select(Subscription.id).where(Subscription.active.is_(True))
    if subscription_id is not None:
        active = active.where(Subscription.id == subscription_id)
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == DEAD, OutboxMessage.subscription_id.in_(active))
        .values(status=PENDING, attempts=0, next_attempt_at=now)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def defer_pending(session: Session, subscription_id: int, until: datetime) -> int:
    """Move every pending message of a subscription due before ``until`` to ``until``."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.subscription_id == subscription_id,
            OutboxMessage.status == PENDING,
            OutboxMessage.next_attempt_at < until,
        )
        .values(next_attempt_at=until)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def kill_pending(session: Session, subscription_id: int, reason: str) -> int:
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.subscription_id == subscription_id, OutboxMessage.status == PENDING)
        .values(status=DEAD, last_error=reason)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]
