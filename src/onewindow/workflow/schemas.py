"""API models of cases and tasks."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from onewindow.intake.schemas import ApplicantOut, MaterialCheckOut, MaterialOut


class FormFieldOut(BaseModel):
    id: str
    label: str | None = None
    type: str | None = None
    required: bool = False
    options: list[str] = Field(default_factory=list)


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


class ApplicationOut(ApplicationSummaryOut):
    """办件 detail: materials (metadata only), the open tasks and a timeline of its events."""

    form: dict[str, Any]
    materials: list[MaterialOut]
    open_tasks: list[TaskOut]
    timeline: list[TimelineEntryOut]


class SubmittedOut(BaseModel):
    """The answer to a taken application: its number, deadline and what happens first."""

    number: str
    service: str
    status: str
    deadline: date
    materials: list[MaterialCheckOut]
    tasks: list[TaskOut]


class TaskDetailOut(TaskOut):
    form_fields: list[FormFieldOut]
    data: dict[str, Any]
    case: ApplicationSummaryOut
    form: dict[str, Any]
    materials: list[MaterialOut]


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
