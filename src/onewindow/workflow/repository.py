"""Every query of the workflow domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onewindow.catalog.models import ServiceItem
from onewindow.intake.models import Applicant, Application
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


# --- read models for the API: scoped application lists, queue pages ------------------------


def find_applications(
    session: Session,
    *,
    applicant_phone: str | None = None,
    department_id: int | None = None,
    number: str | None = None,
    applicant_id_number: str | None = None,
    status: str | None = None,
    service_code: str | None = None,
    overdue_on: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[Application], int]:
    """One page of applications and the total matching.

    ``applicant_phone`` keeps the applicant's own; ``department_id`` keeps the cases with a task
    (open or not) of that department; both ``None`` means no row scoping.
    """
    q = select(Application)
    if applicant_phone is not None:
        q = q.where(
            Application.applicant_id.in_(
                select(Applicant.id).where(Applicant.phone == applicant_phone)
            )
        )
    if department_id is not None:
        q = q.where(
            Application.id.in_(
                select(Task.application_id).where(Task.department_id == department_id)
            )
        )
    if applicant_id_number is not None:
        q = q.where(
            Application.applicant_id.in_(
                select(Applicant.id).where(Applicant.id_number == applicant_id_number)
            )
        )
    if number is not None:
        q = q.where(Application.number == number)
    if status is not None:
        q = q.where(Application.status == status)
    if service_code is not None:
        q = q.where(
            Application.service_item_id.in_(
                select(ServiceItem.id).where(ServiceItem.code == service_code)
            )
        )
    if overdue_on is not None:
        q = q.where(Application.closed_at.is_(None), Application.deadline < overdue_on)
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(
        q.order_by(Application.submitted_at.desc(), Application.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


def queue_page(
    session: Session, *, department_id: int, limit: int = 50, offset: int = 0
) -> tuple[Sequence[tuple[Task, Application]], int]:
    """A department's open tasks with their applications, most urgent SLA first."""
    where = (Task.status.in_(OPEN), Task.department_id == department_id)
    total = session.scalar(select(func.count(Task.id)).where(*where)) or 0
    result = session.execute(
        select(Task, Application)
        .join(Application, Application.id == Task.application_id)
        .where(*where)
        .order_by(Task.sla_due, Task.id)
        .limit(limit)
        .offset(offset)
    )
    rows = [(task, application) for task, application in result]
    return rows, total
