"""Training API: routes only; every route names its permission."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Query, status

from onewindow.kit.errors import ValidationFailed
from onewindow.kit.http import CtxDep
from onewindow.security.authz import require, staff_of
from onewindow.security.schemas import Principal
from onewindow.training import service as training
from onewindow.training.models import Attempt, Course, Exam
from onewindow.training.needs import Need
from onewindow.training.schemas import (
    AssignIn,
    AttendanceIn,
    CourseIn,
    ExamIn,
    IdIn,
    PlanIn,
    QuestionIn,
    SessionIn,
    SubmitIn,
    WhatChangedIn,
)

router = APIRouter(prefix="/training", tags=["training"])
Self = Annotated[Principal, require("training.self")]
Lead = Annotated[Principal, require("training.lead")]
Effect = Annotated[Principal, require("training.effect")]


def _course(course: Course, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "key": course.key,
        "title": course.title,
        "kind": course.kind,
        "activities": course.activities,
        "skills": course.skills,
        "metrics": course.metrics,
    }
    if full:
        out |= {
            "content_md": course.content_md,
            "attachments": course.attachments,
            "source": course.source,
        }
    return out


def _exam(exam: Exam) -> dict[str, Any]:
    return {
        "key": exam.key,
        "title": exam.title,
        "kind": exam.kind,
        "question_count": exam.question_count,
        "pass_mark": exam.pass_mark,
        "minutes": exam.minutes,
        "max_attempts": exam.max_attempts,
    }


def _attempt(ctx: CtxDep, attempt: Attempt, *, paper: bool) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": attempt.id,
        "number": attempt.number,
        "started_at": attempt.started_at,
        "due_at": attempt.due_at,
        "submitted_at": attempt.submitted_at,
        "score": attempt.score,
        "passed": attempt.passed,
    }
    if paper:  # never the answers
        out["questions"] = [
            {"id": q.id, "kind": q.kind, "text": q.text, "options": q.options}
            for q in training.paper_of(ctx, attempt)
        ]
    return out


def _need_rows(found: list[Need]) -> list[dict[str, Any]]:
    return [{**n.as_row(), "message_zh": n.message_zh, "message_en": n.message_en} for n in found]


@router.get("/me/needs")
def my_needs(ctx: CtxDep, who: Self) -> list[dict[str, Any]]:
    """The caller's own needs, the messages addressed to them ("您办理…" / "You handle…")."""
    found = training.needs(ctx, username=staff_of(ctx, who).username)
    return [
        {**n.as_row(), "message_zh": n.addressed("zh"), "message_en": n.addressed("en")}
        for n in found
    ]


@router.get("/me/assignments")
def my_assignments(ctx: CtxDep, who: Self) -> list[dict[str, Any]]:
    return [asdict(a) for a in training.assignments_for(ctx, [staff_of(ctx, who)])]


@router.post("/assignments/complete")
def complete(ctx: CtxDep, body: IdIn, who: Self) -> dict[str, Any]:
    item = training.complete_assignment(ctx, body.id, actor=staff_of(ctx, who))
    return {"id": item.id, "completed_at": item.completed_at}


@router.get("/courses")
def courses(ctx: CtxDep, _: Self) -> list[dict[str, Any]]:
    return [_course(c) for c in training.list_courses(ctx) if c.active]


@router.get("/courses/{key}")
def course(ctx: CtxDep, key: str, _: Self) -> dict[str, Any]:
    found = training.get_course(ctx, key)
    return {**_course(found, full=True), "stale_activities": training.stale_activities(ctx, found)}


@router.post("/courses", status_code=status.HTTP_201_CREATED)
def create_course(ctx: CtxDep, body: CourseIn, who: Lead) -> dict[str, Any]:
    return _course(training.create_course(ctx, **body.model_dump(), actor=who.name), full=True)


@router.post("/courses/what-changed", status_code=status.HTTP_201_CREATED)
def what_changed(ctx: CtxDep, body: WhatChangedIn, who: Lead) -> dict[str, Any]:
    made, assigned = training.what_changed_course(
        ctx,
        body.process_key,
        body.from_version,
        body.to_version,
        due_on=body.due_on,
        actor=who.name,
    )
    return {**_course(made, full=True), "assigned": len(assigned)}


@router.get("/courses/{key}/effect")
def effect(
    ctx: CtxDep,
    key: str,
    _: Effect,
    metric: Annotated[str, Query(max_length=32)] = "handling_minutes",
) -> dict[str, Any]:
    if metric not in ("handling_minutes", "rework_share", "breach_share", "bad_rating_share"):
        raise ValidationFailed(
            "unknown metric", message_zh="未知指标", code="training.metric_unknown"
        )
    return {k: asdict(v) for k, v in training.course_effect(ctx, key, metric=metric).items()}


@router.post("/assignments", status_code=status.HTTP_201_CREATED)
def assign(ctx: CtxDep, body: AssignIn, who: Lead) -> dict[str, Any]:
    item = training.assign_to_team(
        ctx,
        body.course_key,
        body.username,
        due_on=body.due_on,
        reason=body.reason,
        actor=staff_of(ctx, who),
    )
    return {"id": item.id, "due_on": item.due_on}


@router.get("/team/needs")
def team_needs(ctx: CtxDep, who: Lead) -> list[dict[str, Any]]:
    staff = staff_of(ctx, who)
    return _need_rows(training.needs(ctx, department_code=staff.department.code))


@router.post("/plans", status_code=status.HTTP_201_CREATED)
def propose_plan(ctx: CtxDep, body: PlanIn, who: Lead) -> dict[str, Any]:
    training.require_head_of(staff_of(ctx, who), body.department)
    plan = training.propose_plan(ctx, body.department, due_in_days=body.due_in_days)
    return {"id": plan.id, "status": plan.status, "items": plan.items}


@router.post("/plans/approve")
def approve_plan(ctx: CtxDep, body: IdIn, who: Lead) -> dict[str, Any]:
    made = training.approve_plan(ctx, body.id, actor=staff_of(ctx, who))
    return {"id": body.id, "assigned": len(made)}


@router.post("/questions", status_code=status.HTTP_201_CREATED)
def add_question(ctx: CtxDep, body: QuestionIn, _: Lead) -> dict[str, Any]:
    return {"id": training.add_question(ctx, **body.model_dump()).id}


@router.get("/exams")
def exams(ctx: CtxDep, _: Self) -> list[dict[str, Any]]:
    return [_exam(e) for e in training.list_exams(ctx)]


@router.post("/exams", status_code=status.HTTP_201_CREATED)
def create_exam(ctx: CtxDep, body: ExamIn, _: Lead) -> dict[str, Any]:
    data = body.model_dump()
    data["department_code"] = data.pop("department")
    return _exam(training.create_exam(ctx, **data))


@router.post("/exams/{key}/start", status_code=status.HTTP_201_CREATED)
def start(ctx: CtxDep, key: str, who: Self) -> dict[str, Any]:
    return _attempt(ctx, training.start_attempt(ctx, key, actor=staff_of(ctx, who)), paper=True)


@router.post("/attempts/submit")
def submit(ctx: CtxDep, body: SubmitIn, who: Self) -> dict[str, Any]:
    attempt, cert = training.submit_attempt(
        ctx, body.attempt_id, body.answers, actor=staff_of(ctx, who)
    )
    return {**_attempt(ctx, attempt, paper=False), "certificate": cert.number if cert else None}


@router.get("/exams/{key}/leaderboard")
def leaderboard(
    ctx: CtxDep, key: str, _: Self, department: Annotated[str | None, Query(max_length=32)] = None
) -> list[dict[str, Any]]:
    return [asdict(r) for r in training.leaderboard(ctx, key, department_code=department)]


@router.post("/sessions", status_code=status.HTTP_201_CREATED)
def schedule(ctx: CtxDep, body: SessionIn, who: Lead) -> dict[str, Any]:
    item = training.schedule_session(
        ctx,
        title=body.title,
        topic=body.topic,
        scheduled_at=body.scheduled_at,
        department_code=body.department,
        actor=who.name,
    )
    return {"id": item.id}


@router.post("/sessions/attendance")
def attendance(ctx: CtxDep, body: AttendanceIn, who: Lead) -> dict[str, Any]:
    rows = training.record_attendance(ctx, body.session_id, body.usernames, actor=who.name)
    return {"session_id": body.session_id, "attended": len(rows)}
