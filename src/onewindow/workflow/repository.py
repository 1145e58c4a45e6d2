"""Every query of the workflow domain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy import case as case_when
from sqlalchemy.orm import Session

from onewindow.catalog.models import ServiceItem
from onewindow.intake.models import Applicant, Application
from onewindow.workflow.models import Case, CaseMessage, Decision, Document, Task

OPEN = ("ready", "claimed")


def add(session: Session, row: object) -> None:
    session.add(row)


def case(session: Session, case_id: int) -> Case | None:
    return session.get(Case, case_id)


def case_by_number(session: Session, number: str) -> Case | None:
    return session.scalar(select(Case).where(Case.number == number))


def case_of_application(session: Session, application_id: int) -> Case | None:
    return session.scalar(select(Case).where(Case.application_id == application_id))


def message_by_sender_id(session: Session, sender: str, message_id: str) -> CaseMessage | None:
    return session.scalar(
        select(CaseMessage).where(
            CaseMessage.sender == sender, CaseMessage.message_id == message_id
        )
    )


def waiting_messages(session: Session, case_id: int, names: Sequence[str]) -> Sequence[CaseMessage]:
    return session.scalars(
        select(CaseMessage)
        .where(
            CaseMessage.case_id == case_id,
            CaseMessage.status == "waiting",
            CaseMessage.name.in_(list(names)),
        )
        .order_by(CaseMessage.id)
    ).all()


def messages_page(
    session: Session, *, status: str | None, limit: int, offset: int
) -> tuple[Sequence[tuple[CaseMessage, str]], int]:
    query = select(CaseMessage, Case.number).join(Case, Case.id == CaseMessage.case_id)
    count = select(func.count()).select_from(CaseMessage)
    if status is not None:
        query = query.where(CaseMessage.status == status)
        count = count.where(CaseMessage.status == status)
    rows = session.execute(
        query.order_by(CaseMessage.id.desc()).limit(limit).offset(offset)
    ).tuples()
    return list(rows), int(session.scalar(count) or 0)


def task(session: Session, task_id: int) -> Task | None:
    return session.get(Task, task_id)


def open_tasks(session: Session, case_id: int) -> Sequence[Task]:
    return session.scalars(
        select(Task).where(Task.case_id == case_id, Task.status.in_(OPEN)).order_by(Task.id)
    ).all()


def tasks_of_case(session: Session, case_id: int) -> Sequence[Task]:
    return session.scalars(select(Task).where(Task.case_id == case_id).order_by(Task.id)).all()


def decisions_of_case(session: Session, case_id: int) -> Sequence[Decision]:
    return session.scalars(
        select(Decision).where(Decision.case_id == case_id).order_by(Decision.id)
    ).all()


def decision_of_task(session: Session, task_id: int) -> Decision | None:
    return session.scalar(select(Decision).where(Decision.task_id == task_id))


def staff_tasks_due_before(
    session: Session, when: datetime, *, escalated: bool | None = None
) -> Sequence[Task]:
    """Open tasks of staff (not the party's) whose SLA ends before ``when``."""
    q = select(Task).where(
        Task.status.in_(OPEN), Task.sla_due < when, Task.for_applicant.is_(False)
    )
    if escalated is not None:
        q = q.where(Task.escalated.is_(escalated))
    return session.scalars(q.order_by(Task.sla_due, Task.id)).all()


def applications_with_staff_tasks_due(
    session: Session, before: datetime, *, not_before: datetime | None = None
) -> set[int]:
    """Ids of the applications whose case has an open staff task with its SLA ending before
    ``before`` (and not before ``not_before``): ``staff_tasks_due_before`` counted per case."""
    q = (
        select(Case.application_id)
        .join(Task, Task.case_id == Case.id)
        .where(
            Task.status.in_(OPEN),
            Task.sla_due < before,
            Task.for_applicant.is_(False),
            Case.application_id.is_not(None),
        )
        .distinct()
    )
    if not_before is not None:
        q = q.where(Task.sla_due >= not_before)
    return {i for i in session.scalars(q) if i is not None}


def cases_with_due_timers(session: Session, now: datetime, limit: int = 100) -> Sequence[Case]:
    """Cases whose engine has a timer due; rows another worker holds are skipped."""
    return session.scalars(
        select(Case)
        .where(Case.completed.is_(False), Case.next_timer_at <= now)
        .order_by(Case.next_timer_at)
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
                select(Case.application_id)
                .join(Task, Task.case_id == Case.id)
                .where(Task.department_id == department_id)
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
        q = q.where(Application.overdue_on(overdue_on))
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(
        q.order_by(Application.submitted_at.desc(), Application.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


def queue_page(
    session: Session, *, department_id: int, limit: int = 50, offset: int = 0
) -> tuple[Sequence[tuple[Task, Case]], int]:
    """A department's open tasks with their cases, most urgent SLA first."""
    where = (Task.status.in_(OPEN), Task.department_id == department_id)
    total = session.scalar(select(func.count(Task.id)).where(*where)) or 0
    result = session.execute(
        select(Task, Case)
        .join(Case, Case.id == Task.case_id)
        .where(*where)
        .order_by(Task.sla_due, Task.id)
        .limit(limit)
        .offset(offset)
    )
    return [(t, c) for t, c in result], total


def party_tasks(session: Session, case_ids: Sequence[int]) -> Sequence[Task]:
    """The open party tasks of the given cases."""
    if not case_ids:
        return []
    return session.scalars(
        select(Task)
        .where(Task.case_id.in_(case_ids), Task.for_applicant.is_(True), Task.status.in_(OPEN))
        .order_by(Task.id)
    ).all()


def open_tasks_created_since(session: Session, when: datetime) -> Sequence[Task]:
    return session.scalars(
        select(Task).where(Task.status.in_(OPEN), Task.created_at >= when).order_by(Task.id)
    ).all()


def open_tasks_of_kinds(
    session: Session, kinds: Sequence[str], *, department_id: int, limit: int
) -> Sequence[Task]:
    return session.scalars(
        select(Task)
        .join(Case, Case.id == Task.case_id)
        .where(Case.kind.in_(kinds), Task.status.in_(OPEN), Task.department_id == department_id)
        .order_by(Task.sla_due, Task.id)
        .limit(limit)
    ).all()


def open_escalations(session: Session) -> Sequence[tuple[Task, Task | None, Case]]:
    """Open escalation tasks with the task they escalate and their case."""
    escalated = Task.__table__.alias("escalated")
    rows = session.execute(
        select(Task, Case, escalated.c.id)
        .join(Case, Case.id == Task.case_id)
        .outerjoin(escalated, escalated.c.id == Task.escalates_task_id)
        .where(
            Task.status.in_(OPEN),
            Task.escalates_task_id.is_not(None),
            or_(escalated.c.status.not_in(OPEN), Case.completed.is_(True)),
        )
    ).all()
    return [(t, session.get(Task, eid) if eid else None, c) for t, c, eid in rows]


def documents_of_case(session: Session, case_id: int) -> Sequence[Document]:
    return session.scalars(
        select(Document).where(Document.case_id == case_id).order_by(Document.id)
    ).all()


def document(session: Session, document_id: int) -> Document | None:
    return session.get(Document, document_id)


def document_by_code(session: Session, code: str) -> Document | None:
    return session.scalar(select(Document).where(Document.code == code))


def documents_not_rendered(session: Session, limit: int) -> Sequence[Document]:
    """Documents issued but not drawn yet, oldest first; rows another worker holds are skipped."""
    return session.scalars(
        select(Document)
        .where(Document.rendered_at.is_(None))
        .order_by(Document.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()


# --- the workbench's queue: search, filters, sort, true totals ---------------------------------


@dataclass(frozen=True)
class QueueQuery:
    """What a workbench queue asks for; every field is a filter except the paging and sort.

    ``department_ids`` are the queues searched; ``involving_department_id`` keeps only cases
    that department has (had) a task in (a head looking beyond their own queue sees no more
    cases than they may open). ``urgency`` is ``overdue``, ``nearing`` (due within
    ``nearing``, measured at ``now``) or ``escalated`` (督办).
    """

    department_ids: Sequence[int]
    now: datetime
    nearing: timedelta
    text: str = ""
    phone: str | None = None
    id_number: str | None = None
    service_code: str | None = None
    status: str | None = None
    urgency: str | None = None
    claimed_by: str | None = None
    involving_department_id: int | None = None
    sort: str = "sla_due"
    descending: bool = False
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class QueueCounts:
    """Counters over the whole filtered set (urgency and "mine" left out, so each counter says
    how many rows its own filter would give)."""

    total: int
    overdue: int
    nearing: int
    mine: int


_S = TypeVar("_S", bound=Select[*tuple[Any, ...]])

QUEUE_SORTS = {
    "sla_due": Task.sla_due,
    "created_at": Task.created_at,
    "number": Case.number,
    "status": Task.status,
}
# Application form fields that name a company, a business, a venue or an employer.
COMPANY_FIELDS = (
    "company_name",
    "business_name",
    "developer_name",
    "venue_name",
    "employer_name",
)


def like_pattern(text: str) -> str:
    """``%text%`` with LIKE's own metacharacters escaped (``\\`` is the escape character)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _queue_where(query: QueueQuery, *, facets: bool) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [
        Task.status.in_(OPEN),
        Task.for_applicant.is_(False),
        Task.department_id.in_(list(query.department_ids)),
    ]
    if query.involving_department_id is not None:
        where.append(
            Task.case_id.in_(
                select(Task.case_id)
                .where(Task.department_id == query.involving_department_id)
                .scalar_subquery()
            )
        )
    if query.text:
        pattern = like_pattern(query.text)
        matches: list[ColumnElement[bool]] = [
            Case.number.like(pattern, escape="\\"),
            Applicant.name.like(pattern, escape="\\"),
        ]
        matches += [
            Application.form_data[name].as_string().like(pattern, escape="\\")
            for name in COMPANY_FIELDS
        ]
        # Exact matches through the blind indexes: the plaintext is neither stored nor compared.
        if query.phone is not None:
            matches.append(Applicant.phone == query.phone)
        if query.id_number is not None:
            matches.append(Applicant.id_number == query.id_number)
        where.append(or_(*matches))
    if query.service_code:
        where.append(Case.service_code == query.service_code)
    if query.status:
        where.append(Task.status == query.status)
    if facets:
        if query.urgency == "overdue":
            where.append(Task.sla_due < query.now)
        elif query.urgency == "nearing":
            where.append(Task.sla_due >= query.now)
            where.append(Task.sla_due < query.now + query.nearing)
        elif query.urgency == "escalated":  # 督办: past its SLA and flagged, or a 督办 task
            where.append(Task.escalated.is_(True) | Task.escalates_task_id.is_not(None))
        if query.claimed_by is not None:
            where.append(Task.claimed_by == query.claimed_by)
    return where


def _queue_from(statement: _S) -> _S:
    return (
        statement.join(Case, Case.id == Task.case_id)
        .outerjoin(Application, Application.id == Case.application_id)
        .outerjoin(Applicant, Applicant.id == Application.applicant_id)
    )


def search_queue(
    session: Session, query: QueueQuery, *, me: str
) -> tuple[Sequence[tuple[Task, Case, Application | None, Applicant | None]], int, QueueCounts]:
    """One page of open tasks, the total matching every filter, and the counters."""
    where = _queue_where(query, facets=True)
    total = session.scalar(_queue_from(select(func.count(Task.id))).where(*where)) or 0
    column = QUEUE_SORTS.get(query.sort, Task.sla_due)
    order = [column.desc() if query.descending else column.asc(), Task.id]
    rows = session.execute(
        _queue_from(select(Task, Case, Application, Applicant))
        .where(*where)
        .order_by(*order)
        .limit(query.limit)
        .offset(query.offset)
    ).all()
    soon = query.now + query.nearing
    counted = session.execute(
        _queue_from(
            select(
                func.count(Task.id),
                func.sum(case_when((Task.sla_due < query.now, 1), else_=0)),
                func.sum(
                    case_when(((Task.sla_due >= query.now) & (Task.sla_due < soon), 1), else_=0)
                ),
                func.sum(case_when((Task.claimed_by == me, 1), else_=0)),
            )
        ).where(*_queue_where(query, facets=False))
    ).one()
    counts = QueueCounts(*(int(v or 0) for v in counted))
    return [(t, c, a, p) for t, c, a, p in rows], int(total), counts
