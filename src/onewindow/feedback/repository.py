"""Every query of the feedback domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Text, and_, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from onewindow.catalog.models import ServiceItem
from onewindow.feedback.models import (
    CONTACT_PHONE,
    RATER_PHONE,
    ClassifierVersion,
    ImprovementItem,
    ImprovementSource,
    Invitation,
    Rating,
    Survey,
    SurveyResponse,
    Ticket,
    Visit,
)
from onewindow.intake.models import Applicant, Application
from onewindow.security.crypto import blind_index
from onewindow.workflow.models import Case, Task


def add(session: Session, row: object) -> None:
    session.add(row)


# --- visits, invitations, ratings -----------------------------------------------------------


def visit_by_number(session: Session, number: str) -> Visit | None:
    return session.scalar(select(Visit).where(Visit.number == number))


def invitation_by_token(session: Session, token: str) -> Invitation | None:
    return session.scalar(select(Invitation).where(Invitation.token == token))


def invitation_for_application(session: Session, application_id: int) -> Invitation | None:
    return session.scalar(select(Invitation).where(Invitation.application_id == application_id))


def invitation_for_visit(session: Session, visit_id: int) -> Invitation | None:
    return session.scalar(select(Invitation).where(Invitation.visit_id == visit_id))


def closed_applications_without_invitation(session: Session, limit: int) -> Sequence[Application]:
    return session.scalars(
        select(Application)
        .where(
            Application.closed_at.is_not(None),
            ~Application.id.in_(
                select(Invitation.application_id).where(Invitation.application_id.is_not(None))
            ),
        )
        .order_by(Application.closed_at, Application.id)
        .limit(limit)
    ).all()


def rating_for_application(session: Session, application_id: int) -> Rating | None:
    return session.scalar(select(Rating).where(Rating.application_id == application_id))


def rating_for_visit(session: Session, visit_id: int) -> Rating | None:
    return session.scalar(select(Rating).where(Rating.visit_id == visit_id))


def rating(session: Session, rating_id: int) -> Rating | None:
    return session.get(Rating, rating_id)


def ratings_of_phone(session: Session, phone: str) -> Sequence[Rating]:
    index = blind_index(RATER_PHONE, phone)
    return session.scalars(select(Rating).where(Rating.rater_phone_bidx == index)).all()


def rating_of_case(session: Session, case_id: int) -> Rating | None:
    return session.scalar(select(Rating).where(Rating.case_id == case_id))


def ticket_of_case(session: Session, case_id: int) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.case_id == case_id))


def rating_by_number(session: Session, number: str) -> Rating | None:
    return session.scalar(select(Rating).where(Rating.number == number))


def ratings(
    session: Session, *, since: datetime | None = None, limit: int | None = None
) -> Sequence[Rating]:
    q = select(Rating)
    if since is not None:
        q = q.where(Rating.created_at >= since)
    q = q.order_by(Rating.created_at.desc(), Rating.id.desc())
    if limit is not None:
        q = q.limit(limit)
    return session.scalars(q).all()


# --- tickets --------------------------------------------------------------------------------


def ticket(session: Session, ticket_id: int) -> Ticket | None:
    return session.get(Ticket, ticket_id)


def ticket_by_number(session: Session, number: str) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.number == number))


def ticket_by_source(session: Session, source: str, ref: str) -> Ticket | None:
    return session.scalar(select(Ticket).where(Ticket.source == source, Ticket.source_ref == ref))


def recent_tickets_near(
    session: Session, district: str, since: datetime, until: datetime
) -> Sequence[Ticket]:
    return session.scalars(
        select(Ticket)
        .where(Ticket.district == district, Ticket.created_at >= since, Ticket.created_at <= until)
        .order_by(Ticket.created_at, Ticket.id)
    ).all()


def tickets(
    session: Session,
    *,
    department_id: int | None = None,
    contact_phone: str | None = None,
    status: str | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> Sequence[Ticket]:
    q = select(Ticket)
    if department_id is not None:
        q = q.where(Ticket.department_id == department_id)
    if contact_phone is not None:
        q = q.where(Ticket.contact_phone_bidx == blind_index(CONTACT_PHONE, contact_phone))
    if status is not None:
        q = q.where(Ticket.status == status)
    if since is not None:
        q = q.where(Ticket.created_at >= since)
    q = q.order_by(Ticket.created_at.desc(), Ticket.id.desc())
    if limit is not None:
        q = q.limit(limit)
    return session.scalars(q).all()


def labelled_tickets(session: Session) -> Sequence[tuple[str, str]]:
    """(normalised text, category) of tickets whose category a person decided."""
    rows = session.execute(
        select(Ticket.normalised, Ticket.category).where(
            Ticket.category_source.in_(("dispatcher", "import"))
        )
    )
    return [(text, category) for text, category in rows]


def count_tickets(session: Session) -> int:
    return session.scalar(select(func.count(Ticket.id))) or 0


# --- surveys --------------------------------------------------------------------------------


def survey_by_code(session: Session, code: str) -> Survey | None:
    return session.scalar(select(Survey).where(Survey.code == code))


def surveys(session: Session) -> Sequence[Survey]:
    return session.scalars(select(Survey).order_by(Survey.created_at.desc())).all()


def responses(session: Session, survey_id: int) -> Sequence[SurveyResponse]:
    return session.scalars(
        select(SurveyResponse)
        .where(SurveyResponse.survey_id == survey_id)
        .order_by(SurveyResponse.submitted_at, SurveyResponse.id)
    ).all()


def response_by_key(session: Session, survey_id: int, key: str) -> SurveyResponse | None:
    return session.scalar(
        select(SurveyResponse).where(
            SurveyResponse.survey_id == survey_id, SurveyResponse.respondent_key == key
        )
    )


def response(session: Session, response_id: int) -> SurveyResponse | None:
    return session.get(SurveyResponse, response_id)


def phones_of_service_users(
    session: Session, service_code: str, since: datetime, until: datetime
) -> list[str]:
    """Mobile numbers of applicants who applied for a service in [since, until)."""
    applicants = session.scalars(
        select(Applicant).where(
            Applicant.id.in_(
                select(Application.applicant_id)
                .join(ServiceItem, ServiceItem.id == Application.service_item_id)
                .where(
                    ServiceItem.code == service_code,
                    Application.submitted_at >= since,
                    Application.submitted_at < until,
                )
            )
        )
    ).all()
    # Read through the model: the stored phone may be encrypted.
    rows = {a.phone for a in applicants}
    return sorted(p for p in rows if p)


# --- board ----------------------------------------------------------------------------------


def improvement_by_code(session: Session, code: str) -> ImprovementItem | None:
    return session.scalar(select(ImprovementItem).where(ImprovementItem.code == code))


def improvements(session: Session, *, published_only: bool = False) -> Sequence[ImprovementItem]:
    q = select(ImprovementItem)
    if published_only:
        q = q.where(ImprovementItem.published_at.is_not(None))
    return session.scalars(q.order_by(ImprovementItem.updated_at.desc(), ImprovementItem.id)).all()


def sources_of(session: Session, item_id: int) -> Sequence[ImprovementSource]:
    return session.scalars(
        select(ImprovementSource)
        .where(ImprovementSource.item_id == item_id)
        .order_by(ImprovementSource.id)
    ).all()


def source_link(
    session: Session, item_id: int, kind: str, source_id: int
) -> ImprovementSource | None:
    return session.scalar(
        select(ImprovementSource).where(
            ImprovementSource.item_id == item_id,
            ImprovementSource.source_kind == kind,
            ImprovementSource.source_id == source_id,
        )
    )


def latest_classifier_version(session: Session) -> ClassifierVersion | None:
    return session.scalar(select(ClassifierVersion).order_by(ClassifierVersion.id.desc()).limit(1))


def rows_not_under_key(
    session: Session, model: type[Any], columns: Sequence[str], key_id: str, *, limit: int
) -> Sequence[Any]:
    """Rows of ``model`` with a value in ``columns`` encrypted under another key than ``key_id``
    (a ciphertext starts with its key id and ``$``)."""
    stale = [
        and_(raw.is_not(None), ~raw.startswith(f"{key_id}$", autoescape=True))
        for raw in (type_coerce(getattr(model, name), Text) for name in columns)
    ]
    return session.scalars(select(model).where(or_(*stale)).order_by(model.id).limit(limit)).all()


# --- the staff desk's queues ------------------------------------------------------------------

OPEN_TASK = ("ready", "claimed")


def desk_tasks(
    session: Session,
    *,
    department_id: int,
    kind: str,
    elements: Sequence[str] = (),
    exclude: Sequence[str] = (),
    text: str = "",
    limit: int = 20,
    offset: int = 0,
) -> tuple[Sequence[tuple[Task, Case, Ticket | None, Rating | None]], int]:
    """A page of a department's open tasks of one kind of feedback case, most urgent first,
    and the true total. The department's own tasks, and the party's steps of cases it stands
    in for (the centre's call-back); ``text`` matches case, ticket and rating numbers and the
    ticket's message."""
    where: list[Any] = [
        Task.status.in_(OPEN_TASK),
        Case.kind == kind,
        or_(
            and_(Task.for_applicant.is_(False), Task.department_id == department_id),
            and_(Task.for_applicant.is_(True), Case.party_proxy_department_id == department_id),
        ),
    ]
    if elements:
        where.append(Task.element_id.in_(list(elements)))
    if exclude:
        where.append(Task.element_id.not_in(list(exclude)))
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        where.append(
            or_(
                Case.number.like(like, escape="\\"),
                Ticket.number.like(like, escape="\\"),
                Ticket.text.like(like, escape="\\"),
                Rating.number.like(like, escape="\\"),
                Rating.comment.like(like, escape="\\"),
            )
        )

    def joined(q: Any) -> Any:
        return (
            q.select_from(Task)
            .join(Case, Case.id == Task.case_id)
            .outerjoin(Ticket, Ticket.case_id == Case.id)
            .outerjoin(Rating, Rating.case_id == Case.id)
            .where(*where)
        )

    total = session.scalar(joined(select(func.count(Task.id)))) or 0
    rows = session.execute(
        joined(select(Task, Case, Ticket, Rating))
        .order_by(Task.sla_due, Task.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return [(t, c, k, r) for t, c, k, r in rows], int(total)


def tickets_since(session: Session, since: datetime, *, limit: int = 2000) -> Sequence[Ticket]:
    return session.scalars(
        select(Ticket)
        .where(Ticket.created_at >= since)
        .order_by(Ticket.created_at.desc(), Ticket.id.desc())
        .limit(limit)
    ).all()


def merged_into(session: Session, ticket_id: int) -> Sequence[Ticket]:
    return session.scalars(
        select(Ticket).where(Ticket.duplicate_of_id == ticket_id).order_by(Ticket.id)
    ).all()
