"""API models of cases and tasks."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from onewindow.intake.schemas import ApplicantOut, MaterialCheckOut, MaterialOut


class FormFieldOut(BaseModel):
    id: str
    label: str | None = None
    type: str | None = None
    required: bool = False
    options: list[str] = Field(default_factory=list)
    option_names: list[str] = Field(default_factory=list)
    default: str | None = None


class TaskOut(BaseModel):
    """待办任务 as the API shows it, with its SLA flags worked out at the time of the request."""

    id: int
    case_number: str
    service: str
    name: str
    element_id: str
    department: str | None
    for_applicant: bool
    status: str
    claimed_by: str | None
    completed_by: str | None
    created_at: datetime
    claimed_at: datetime | None
    completed_at: datetime | None
    sla_due: datetime
    escalated: bool
    instance_no: int | None = Field(
        default=None, description="one voice of a 会签 / one level of a 逐级审批 (1-based)"
    )
    assignee: str | None = Field(default=None, description="only this person may work it")
    overdue: bool
    nearing_sla: bool
    can_send_back: bool


class ApplicationSummaryOut(BaseModel):
    number: str
    service: str
    service_name_zh: str
    service_name_en: str
    status: str
    channel: str
    applicant: ApplicantOut
    submitted_at: datetime
    deadline: date
    closed_at: datetime | None
    returns: int
    overdue: bool


class TimelineEntryOut(BaseModel):
    at: datetime
    activity: str
    lifecycle: str
    event_type: str
    resource: str | None
    department: str | None
    # The decision a completed step recorded (staff see opinions; applicants only what the
    # law gives them: refusal reasons and 补正 items).
    decision: str | None = None
    opinion: str | None = None


class MaterialItemOut(BaseModel):
    code: str
    name_zh: str
    name_en: str


class ReviewOut(BaseModel):
    """The applicant's rights of review against a refusal, with the bodies and time limits."""

    reconsideration_zh: str
    reconsideration_en: str
    reconsideration_days: int = 60  # 行政复议法: within 60 days of knowing the decision
    court_zh: str
    court_en: str
    court_months: int = 6  # 行政诉讼法 §46: within six months of knowing the decision


class DecisionOut(BaseModel):
    """审查决定: one decision on the case with its reasons."""

    task: str
    task_name: str
    decision: str  # accept | approve | reject | not_accept | send_back | done
    decided_at: datetime
    department: str | None
    decided_by: str | None
    opinion: str | None
    reason: str | None
    legal_basis_code: str | None
    legal_basis: str | None
    missing_items: list[MaterialItemOut]
    review: ReviewOut | None


class DocumentOut(BaseModel):
    """文书: an official document of the case; ``url`` downloads its PDF."""

    id: int
    kind: str
    title_zh: str
    title_en: str
    code: str
    issued_at: datetime
    url: str


class VerificationOut(BaseModel):
    """What a verification code proves: the document it was issued with, and whether the
    ledger holds that document's SHA-256 (and a copy handed in matches it)."""

    genuine: bool
    code: str
    kind: str
    title_zh: str
    title_en: str
    case_number: str
    department: str
    issued_on: str
    sha256: str
    ledger_index: int | None
    in_ledger: bool
    copy_matches: bool | None


class ApplicationOut(ApplicationSummaryOut):
    """办件 detail: materials (metadata only), the open tasks and a timeline of its events."""

    form: dict[str, Any]
    materials: list[MaterialOut]
    open_tasks: list[TaskOut]
    timeline: list[TimelineEntryOut]
    decisions: list[DecisionOut] = Field(default_factory=list)
    documents: list[DocumentOut] = Field(default_factory=list)


class SubmittedOut(BaseModel):
    """The answer to a taken application: its number, deadline and what happens first."""

    number: str
    service: str
    status: str
    deadline: date
    materials: list[MaterialCheckOut]
    tasks: list[TaskOut]


class TaskDetailOut(TaskOut):
    """A task with what it needs to be worked: the application (for application cases) or the
    ticket / rating (``subject``, for complaint and rectification cases), and the history."""

    kind: str
    form_fields: list[FormFieldOut]
    data: dict[str, Any]
    case: ApplicationSummaryOut | None
    subject: dict[str, Any] | None = None
    form: dict[str, Any]
    materials: list[MaterialOut]
    history: list[TimelineEntryOut] = Field(default_factory=list)


class CompleteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    data: dict[str, Any] = Field(default_factory=dict)


class SendBackIn(BaseModel):
    """补正: everything that is missing, in one notice."""

    model_config = ConfigDict(extra="forbid")

    missing: list[str] = Field(min_length=1, max_length=50)
    comment: str = Field(default="", max_length=2000)


class StepOut(BaseModel):
    """What completing a task changed: the task itself, the tasks it opened, the case."""

    task: TaskOut
    created: list[TaskOut]
    finished: bool
    outcome: str | None
    case_status: str


_VARIABLE = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"


class MessageIn(BaseModel):
    """A message from a department's system to a case waiting for it (e.g. the result of a
    background check). Sending the same ``message_id`` again changes nothing."""

    model_config = ConfigDict(extra="forbid")

    message_id: str = Field(
        min_length=1, max_length=200, description="the sender's own id: makes sending idempotent"
    )
    name: str = Field(
        min_length=1, max_length=200, description="the BPMN message name the case waits for"
    )
    correlation_key: str = Field(
        min_length=1, max_length=32, description="the case number (办件编号) the message is for"
    )
    payload: dict[str, Any] = Field(
        default_factory=dict,
        max_length=50,
        description="process variables the message brings (names: letters, digits, _)",
    )

    @field_validator("payload")
    @classmethod
    def _names(cls, value: dict[str, Any]) -> dict[str, Any]:
        bad = [k for k in value if not re.fullmatch(_VARIABLE, k)]
        if bad:
            raise ValueError(f"not a process variable name: {', '.join(map(repr, bad[:5]))}")
        return value


class MessageOut(BaseModel):
    id: int
    message_id: str
    name: str
    case_number: str
    sender: str
    status: str = Field(description="delivered, or waiting until the case waits for it")
    payload: dict[str, Any]
    received_at: datetime
    delivered_at: datetime | None
    duplicate: bool = Field(default=False, description="this message_id was sent before")
