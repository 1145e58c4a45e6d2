"""Tables of the case engine: every BPMN-driven case, its tasks and the decisions taken on them.

One runner for every kind of case: applications (办件), complaints (12345 工单) and the
rectification of bad ratings (差评整改, with its appeal) all live in ``cases`` and ``tasks``;
the domain that owns the subject (intake's application, feedback's ticket or rating) points at
its case. ``decisions`` is append-only: a decision, once recorded, is never rewritten.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from onewindow.kit.db import Base, UTCDateTime


@enum.unique
class CaseKind(enum.StrEnum):
    """What a case is about; the event log carries it so mining can filter."""

    APPLICATION = "application"  # 办件
    COMPLAINT = "complaint"  # 12345 工单
    RECTIFICATION = "rectification"  # 差评整改（含申诉复核）


class Case(Base):
    """案件: one run of a BPMN process, with its engine state saved under a version column.

    ``routes`` says who works each lane, fixed when the case starts: ``dept:CODE`` (that
    department), ``party`` (the applicant, caller or rater), or ``subject:CODE`` (the case's
    subject department — the handling or rated department — or CODE until one is set).
    ``task_sla`` gives each task's SLA: working days (a number) or ``var:NAME`` (an instant the
    process holds in the variable NAME).
    """

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    process_definition_id: Mapped[int] = mapped_column(
        ForeignKey("process_definitions.id", ondelete="RESTRICT")
    )
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="RESTRICT"), unique=True, default=None
    )
    service_code: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    subject_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), default=None
    )
    # A department that may answer the party's tasks for them (the centre's call-back).
    party_proxy_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), default=None
    )
    routes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    task_sla: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The versions (process definition ids) of the processes its call activities call, bound
    # when the case starts: a new version of a shared 现场核查 changes only new cases.
    called_versions: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(Text)
    completed: Mapped[bool] = mapped_column(default=False, index=True)
    outcome: Mapped[str | None] = mapped_column(String(32), default=None)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    next_timer_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True, default=None)
    version: Mapped[int] = mapped_column(nullable=False)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class Task(Base):
    """待办任务: one user task of one case, routed to a department or to the case's party.

    ``for_applicant`` marks the party's own tasks (the applicant's 补正, the caller's rating of
    the reply); ``escalates_task_id`` names the task a boundary event of which spawned this one
    (a 督办 task): it ends when that task ends.
    """

    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("case_id", "engine_task_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), index=True)
    engine_task_id: Mapped[str] = mapped_column(String(64))
    element_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    lane: Mapped[str | None] = mapped_column(String(200), default=None)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True, default=None
    )
    for_applicant: Mapped[bool] = mapped_column(default=False)
    # ready -> claimed -> completed; ready/claimed -> cancelled (the flow moved on)
    status: Mapped[str] = mapped_column(String(16), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    completed_by: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    sla_due: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    escalated: Mapped[bool] = mapped_column(default=False)
    escalates_task_id: Mapped[int | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="RESTRICT"), default=None
    )
    cancel_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    # One instance of a multi-instance task (会签, 逐级审批): its number (1-based) and, when
    # the process names one, the person it is for (only they may work it).
    instance_no: Mapped[int | None] = mapped_column(default=None)
    assignee: Mapped[str | None] = mapped_column(String(64), default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    can_send_back: Mapped[bool] = mapped_column(default=False)
    form_fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class Decision(Base):
    """审查决定: what a person decided at one step, with the opinion, and for a refusal or a
    补正 the reasons the law requires (行政许可法 §32, §38). Append-only.

    ``reason_sha256`` is what the ledger entry of the decision carries, so a reason changed
    later in the database no longer matches its ledger entry.
    """

    __tablename__ = "decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), index=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="RESTRICT"), unique=True)
    # accept | approve | reject | not_accept | send_back | done (a step without a verdict)
    decision: Mapped[str] = mapped_column(String(16))
    opinion: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    legal_basis_code: Mapped[str | None] = mapped_column(String(64), default=None)
    legal_basis: Mapped[str | None] = mapped_column(Text, default=None)
    missing_items: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason_sha256: Mapped[str | None] = mapped_column(String(64), default=None)
    decided_by: Mapped[str] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(32), default=None)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Document(Base):
    """文书: an official document issued for a case (受理通知书, 一次性告知书, 决定书 …).

    Issued in the transaction of the decision with what it says (``data``, exactly what is
    rendered: ``onewindow.documents.DocumentData.to_dict``) and its verification code
    (``/verify/{code}``). The PDF is drawn once, later — by the worker, or on the spot when
    someone asks for it first — because drawing takes tens of milliseconds a decision should
    not wait for: then it is stored once by its SHA-256 (``sha256``) and that hash goes into
    the ledger (entry ``ledger_index``). Those two fill once; nothing else is ever rewritten,
    and the same data draws the same bytes.
    """

    __tablename__ = "documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), index=True)
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="RESTRICT"), default=None
    )
    kind: Mapped[str] = mapped_column(String(32))
    code: Mapped[str] = mapped_column(String(32), unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime())
    issued_by: Mapped[str] = mapped_column(String(64))
    sha256: Mapped[str | None] = mapped_column(
        ForeignKey("blobs.sha256", ondelete="RESTRICT"), default=None
    )
    rendered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True, default=None)
    ledger_index: Mapped[int | None] = mapped_column(default=None)


class CaseMessage(Base):
    """A message a department's system sent to a case (e.g. the PSB's background check).

    Kept whatever happens to it: ``delivered`` when the case took it (at once, or later when
    the case came to wait for it), ``waiting`` while the case does not (yet) wait for it. The
    sender's ``message_id`` makes sending idempotent: the same id again changes nothing.
    """

    __tablename__ = "case_messages"
    __table_args__ = (UniqueConstraint("sender", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sender: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str] = mapped_column(String(200))
    name: Mapped[str] = mapped_column(String(200))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="RESTRICT"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
