from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from onewindow.kit.db import Base, UTCDateTime


class CaseState(Base):
    """流程实例: the engine state of one case, saved with a version for optimistic locking."""

    __tablename__ = "case_states"

    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="RESTRICT"), primary_key=True
    )
    process_definition_id: Mapped[int] = mapped_column(
        ForeignKey("process_definitions.id", ondelete="RESTRICT")
    )
    state: Mapped[str] = mapped_column(Text)
    completed: Mapped[bool] = mapped_column(default=False, index=True)
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True, default=None)
    version: Mapped[int] = mapped_column(nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Task(Base):
    """待办任务: one user task of one case, routed to a department (or to the applicant)."""

    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("application_id", "engine_task_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="RESTRICT"), index=True
    )
    engine_task_id: Mapped[str] = mapped_column(String(64))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str | None] = mapped_column(String(200), default=None)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True, default=None
    )
    for_applicant: Mapped[bool] = mapped_column(default=False)
    # ready -> claimed -> completed; ready/claimed -> cancelled (a timer or the flow moved on)
    status: Mapped[str] = mapped_column(String(16), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    completed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    sla_due: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    escalated: Mapped[bool] = mapped_column(default=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    can_send_back: Mapped[bool] = mapped_column(default=False)
    form_fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
