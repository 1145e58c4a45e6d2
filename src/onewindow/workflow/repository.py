"""Every query of the workflow domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from onewindow.workflow.models import CaseState, Task

OPEN = ("ready", "claimed")


def case_state(session: Session, application_id: int) -> CaseState | None:
    return session.get(CaseState, application_id)


def task(session: Session, task_id: int) -> Task | None:
    return session.get(Task, task_id)


def open_tasks(session: Session, application_id: int) -> Sequence[Task]:
    return session.scalars(
        select(Task)
        .where(Task.application_id == application_id, Task.status.in_(OPEN))
        .order_by(Task.id)
    ).all()


def tasks_of_case(session: Session, application_id: int) -> Sequence[Task]:
    return session.scalars(
        select(Task).where(Task.application_id == application_id).order_by(Task.id)
    ).all()


def queue(
    session: Session,
    *,
    department_id: int | None,
    for_applicant: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> Sequence[Task]:
    q = select(Task).where(Task.status.in_(OPEN))
    if for_applicant:
        q = q.where(Task.for_applicant.is_(True))
    else:
        q = q.where(Task.department_id == department_id)
    return session.scalars(q.order_by(Task.sla_due, Task.id).limit(limit).offset(offset)).all()


def tasks_due_before(
    session: Session, when: datetime, *, escalated: bool | None = None
) -> Sequence[Task]:
    q = select(Task).where(Task.status.in_(OPEN), Task.sla_due < when)
    if escalated is not None:
        q = q.where(Task.escalated.is_(escalated))
    return session.scalars(q.order_by(Task.sla_due)).all()


def cases_with_due_timers(session: Session, now: datetime, limit: int = 100) -> Sequence[CaseState]:
    """Cases whose engine has a timer due; rows another worker holds are skipped."""
    return session.scalars(
        select(CaseState)
        .where(CaseState.completed.is_(False), CaseState.next_timer_at <= now)
        .order_by(CaseState.next_timer_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
