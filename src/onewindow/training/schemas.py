from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import AwareDatetime, BaseModel, Field


class CourseIn(BaseModel):
    key: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    title: str = Field(min_length=1, max_length=200)
    content_md: str = Field(default="", max_length=200_000)
    activities: list[str] = Field(default_factory=list, max_length=50)
    skills: list[str] = Field(default_factory=list, max_length=50)
    metrics: list[str] = Field(default_factory=list, max_length=4)
    attachments: list[dict[str, str]] = Field(default_factory=list, max_length=20)


class WhatChangedIn(BaseModel):
    process_key: str = Field(min_length=1, max_length=200)
    from_version: int = Field(ge=1)
    to_version: int = Field(ge=1)
    due_on: date


class AssignIn(BaseModel):
    course_key: str = Field(min_length=1, max_length=64)
    username: str = Field(min_length=1, max_length=64)
    due_on: date
    reason: str = Field(default="", max_length=500)


class IdIn(BaseModel):
    id: int = Field(ge=1)


class PlanIn(BaseModel):
    department: str = Field(min_length=1, max_length=32)
    due_in_days: int = Field(default=14, ge=1, le=365)


class QuestionIn(BaseModel):
    kind: str
    text: str = Field(min_length=1, max_length=5000)
    options: list[str] = Field(min_length=2, max_length=10)
    answer: list[int] = Field(min_length=1, max_length=10)
    tags: list[str] = Field(default_factory=list, max_length=20)
    points: int = Field(default=1, ge=1, le=100)


class ExamIn(BaseModel):
    key: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")
    title: str = Field(min_length=1, max_length=200)
    question_count: int = Field(ge=1, le=200)
    tags: list[str] = Field(default_factory=list, max_length=20)
    pass_mark: int = Field(default=60, ge=0, le=100)
    minutes: int = Field(default=30, ge=1, le=600)
    max_attempts: int = Field(default=3, ge=1, le=20)
    kind: str = "exam"
    course_key: str | None = None
    department: str | None = None
    opens_at: AwareDatetime | None = None
    closes_at: AwareDatetime | None = None


class SubmitIn(BaseModel):
    attempt_id: int = Field(ge=1)
    answers: dict[str, Any] = Field(default_factory=dict)


class SessionIn(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    topic: str = Field(default="", max_length=5000)
    scheduled_at: AwareDatetime
    department: str | None = None


class AttendanceIn(BaseModel):
    session_id: int = Field(ge=1)
    usernames: list[str] = Field(min_length=1, max_length=500)
