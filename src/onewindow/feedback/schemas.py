"""Request bodies of the feedback API (answers are plain dicts built by the service)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

QuestionType = Literal["single", "multiple", "scale", "nps", "text", "date"]


class RatingIn(BaseModel):
    level: int = Field(ge=1, le=5, description="5 非常满意 … 1 非常不满意")
    indicators: dict[str, int] = Field(default_factory=dict)
    comment: str = ""
    anonymous: bool = False


class CaseRatingIn(RatingIn):
    case_number: str | None = None
    visit_number: str | None = None


class VisitIn(BaseModel):
    window: str = Field(min_length=1, max_length=32)
    service_code: str | None = None
    visitor_phone: str | None = None
    visitor_name: str | None = Field(default=None, max_length=100)


class TicketIn(BaseModel):
    text: str
    kind: Literal["complaint", "suggestion", "enquiry", "praise"] = "complaint"
    channel: Literal["portal", "hotline", "window"] | None = None
    district: str | None = Field(default=None, max_length=32)
    street: str | None = Field(default=None, max_length=64)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    contact_name: str | None = Field(default=None, max_length=100)
    contact_phone: str | None = None


class TaskDone(BaseModel):
    data: dict[str, Any] = Field(default_factory=dict)


class CitizenAnswer(BaseModel):
    action: Literal["confirm", "reopen"]
    satisfaction: int | None = Field(default=None, ge=1, le=5)
    comment: str = ""


class QuestionIn(BaseModel):
    id: str = Field(min_length=1, max_length=32)
    text: str = Field(min_length=1, max_length=500)
    type: QuestionType
    options: list[str] = Field(default_factory=list)
    required: bool = True


class AudienceIn(BaseModel):
    service: str
    since: date
    until: date


class SurveyIn(BaseModel):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    title: str = Field(min_length=1, max_length=200)
    questions: list[QuestionIn] = Field(min_length=1, max_length=100)
    anonymous: bool = True
    audience: AudienceIn | None = None
    opens_at: datetime | None = None
    closes_at: datetime


class SurveyAnswers(BaseModel):
    answers: dict[str, Any]


class MilestoneIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    due: date | None = None


class SourceIn(BaseModel):
    kind: Literal["rating", "ticket", "survey_response"]
    ref: str = Field(min_length=1, max_length=64, description="number, or id of an answer")


class ImprovementIn(BaseModel):
    code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    title: str = Field(min_length=1, max_length=200)
    description: str = ""
    owner_department: str
    service_code: str | None = None
    milestones: list[MilestoneIn] = Field(default_factory=list)
    sources: list[SourceIn] = Field(default_factory=list)
    # False keeps the item as a draft until staff publish it (the desk's board editor).
    publish: bool = True


class ProgressIn(BaseModel):
    status: Literal["planned", "in_progress", "live", "done"] | None = None
    progress: int | None = Field(default=None, ge=0, le=100)
    milestone_done: str | None = None


class EffectIn(BaseModel):
    effect: dict[str, Any]


class ClassifyIn(BaseModel):
    texts: list[str] = Field(min_length=1, max_length=1000)
