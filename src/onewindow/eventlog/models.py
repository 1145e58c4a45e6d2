from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from onewindow.kit.db import Base, UTCDateTime


@enum.unique
class EventType(enum.StrEnum):
    """What happened; named subject_past_tense_verb."""

    APPLICATION_SUBMITTED = "application_submitted"
    TASK_CLAIMED = "task_claimed"
    TASK_COMPLETED = "task_completed"
    CASE_RETURNED = "case_returned"
    TIMER_FIRED = "timer_fired"
    TASK_ESCALATED = "task_escalated"
    CASE_APPROVED = "case_approved"
    CASE_REJECTED = "case_rejected"
    CASE_NOT_ACCEPTED = "case_not_accepted"
    CASE_STARTED = "case_started"
    CASE_COMPLETED = "case_completed"
    TASK_CANCELLED = "task_cancelled"
    MESSAGE_RECEIVED = "message_received"
    DOCUMENT_ISSUED = "document_issued"
    TICKET_RECLASSIFIED = "ticket_reclassified"
    TICKET_REOPENED = "ticket_reopened"
    TICKET_CLOSED = "ticket_closed"
    TICKET_MERGED = "ticket_merged"
    RATING_EXCLUDED = "rating_excluded"
    RATING_REINSTATED = "rating_reinstated"
    RECTIFICATION_CONFIRMED = "rectification_confirmed"
    TASK_REASSIGNED = "task_reassigned"
    TASK_TRANSFERRED = "task_transferred"
    TASK_UNCLAIMED = "task_unclaimed"
    MATERIAL_PROMISED = "material_promised"
    MATERIAL_PROMISE_FULFILLED = "material_promise_fulfilled"
    MATERIAL_PROMISE_LAPSED = "material_promise_lapsed"


class Event(Base):
    """事件: one append-only row of the process event log, columns named after XES keys.

    Every kind of case writes here (applications, complaints, rectifications); ``case_kind``
    tells them apart. ``task_id`` names the task an event is about, when there is one.

    There is deliberately no update or delete path for this table anywhere in the code.
    """

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_case_time", "case_number", "timestamp", "id"),)

    # SQLite only autoincrements a column declared exactly INTEGER.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), index=True)
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="RESTRICT"), index=True, default=None
    )
    case_number: Mapped[str] = mapped_column(String(32))  # case:concept:name
    case_kind: Mapped[str] = mapped_column(String(16), index=True)  # case:kind
    task_id: Mapped[int | None] = mapped_column(default=None)
    event_type: Mapped[str] = mapped_column(String(32))
    activity: Mapped[str] = mapped_column(String(200))  # concept:name
    activity_id: Mapped[str | None] = mapped_column(String(200), default=None)
    lifecycle: Mapped[str] = mapped_column(String(16))  # lifecycle:transition
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)  # time:timestamp
    resource: Mapped[str | None] = mapped_column(String(64), default=None)  # org:resource
    department: Mapped[str | None] = mapped_column(String(32), default=None)  # org:group
    channel: Mapped[str] = mapped_column(String(16))
    service_code: Mapped[str] = mapped_column(String(64), index=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
