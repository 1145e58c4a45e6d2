from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from onewindow.kit.db import Base, UTCDateTime

PENDING, DELIVERED, DEAD = "pending", "delivered", "dead"


class Subscription(Base):
    """订阅: one department system's subscription to integration events (a webhook URL)."""

    __tablename__ = "integration_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # Department code the events must concern; None receives every department's events.
    department: Mapped[str | None] = mapped_column(String(32), default=None)
    topics: Mapped[list[str]] = mapped_column(JSON)
    url: Mapped[str] = mapped_column(String(2000))
    # Needed in the clear to sign; shown to the subscriber once, never listed again.
    secret: Mapped[str] = mapped_column(String(128))
    active: Mapped[bool] = mapped_column(default=True, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    deactivated_by: Mapped[str | None] = mapped_column(String(64), default=None)


class OutboxMessage(Base):
    """发件箱消息: one event owed to one subscription, written in the transaction that caused it.

    ``id`` is the idempotency key the receiver dedupes on. ``pending`` rows are sent when
    ``next_attempt_at`` is due (it doubles as the in-flight lease while a worker sends);
    ``dead`` rows have used up their attempts and wait for a replay.
    """

    __tablename__ = "integration_outbox"
    __table_args__ = (Index("ix_integration_outbox_status_due", "status", "next_attempt_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("integration_subscriptions.id", ondelete="RESTRICT"), index=True
    )
    topic: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text, default=None)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    subscription: Mapped[Subscription] = relationship()
