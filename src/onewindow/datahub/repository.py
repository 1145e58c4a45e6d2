"""Every datahub query."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from onewindow.datahub.models import (
    AccessLogEntry,
    Dataset,
    Entity,
    Load,
    MatchReview,
    RecordVersion,
    SharingGrant,
    SourceRecord,
)
from onewindow.intake.models import Applicant, Application


def dataset_by_code(session: Session, code: str) -> Dataset | None:
    return session.scalars(select(Dataset).where(Dataset.code == code)).one_or_none()


def datasets(session: Session, query: str | None = None) -> Sequence[Dataset]:
    stmt = select(Dataset).order_by(Dataset.code)
    if query:
        like = f"%{query}%"
        stmt = stmt.where(
            or_(Dataset.code.ilike(like), Dataset.name.ilike(like), Dataset.description.ilike(like))
        )
    return session.scalars(stmt).all()


def record_counts(session: Session) -> dict[int, int]:
    rows = session.execute(
        select(SourceRecord.dataset_id, func.count())
        .where(SourceRecord.deleted_at.is_(None))
        .group_by(SourceRecord.dataset_id)
    )
    return {dataset_id: count for dataset_id, count in rows}


def records_by_key(
    session: Session, dataset_id: int, keys: Sequence[str]
) -> dict[str, SourceRecord]:
    found: dict[str, SourceRecord] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        for rec in session.scalars(
            select(SourceRecord).where(
                SourceRecord.dataset_id == dataset_id, SourceRecord.record_key.in_(chunk)
            )
        ):
            found[rec.record_key] = rec
    return found


def records_of(
    session: Session, dataset_id: int, *, include_deleted: bool = False
) -> Sequence[SourceRecord]:
    stmt = select(SourceRecord).where(SourceRecord.dataset_id == dataset_id)
    if not include_deleted:
        stmt = stmt.where(SourceRecord.deleted_at.is_(None))
    return session.scalars(stmt.order_by(SourceRecord.id)).all()


def records_of_entity(session: Session, entity_id: int) -> Sequence[SourceRecord]:
    return session.scalars(
        select(SourceRecord)
        .where(SourceRecord.entity_id == entity_id, SourceRecord.deleted_at.is_(None))
        .order_by(SourceRecord.id)
    ).all()


def all_records(session: Session, kind: str) -> Sequence[tuple[SourceRecord, Dataset]]:
    rows = session.execute(
        select(SourceRecord, Dataset)
        .join(Dataset, Dataset.id == SourceRecord.dataset_id)
        .where(Dataset.entity_kind == kind, SourceRecord.deleted_at.is_(None))
        .order_by(SourceRecord.id)
    )
    return [(r, d) for r, d in rows]


def versions_of(session: Session, record_id: int) -> Sequence[RecordVersion]:
    return session.scalars(
        select(RecordVersion)
        .where(RecordVersion.record_id == record_id)
        .order_by(RecordVersion.version)
    ).all()


def loads_of(session: Session, dataset_id: int) -> Sequence[Load]:
    return session.scalars(
        select(Load).where(Load.dataset_id == dataset_id).order_by(Load.id.desc())
    ).all()


def entities(session: Session, kind: str) -> Sequence[Entity]:
    return session.scalars(select(Entity).where(Entity.kind == kind)).all()


def entity_by_identifier(session: Session, identifier: str) -> Entity | None:
    return session.scalars(
        select(Entity).where(Entity.identifier == identifier).order_by(Entity.id)
    ).first()


def reviews(session: Session, status: str | None) -> Sequence[MatchReview]:
    stmt = select(MatchReview).order_by(MatchReview.id)
    if status:
        stmt = stmt.where(MatchReview.status == status)
    return session.scalars(stmt).all()


def all_reviews(session: Session) -> dict[tuple[int, int], MatchReview]:
    return {(r.left_record_id, r.right_record_id): r for r in session.scalars(select(MatchReview))}


def grants_for(
    session: Session, dataset_id: int, consumer_department_id: int
) -> Sequence[SharingGrant]:
    return session.scalars(
        select(SharingGrant)
        .where(
            SharingGrant.dataset_id == dataset_id,
            SharingGrant.consumer_department_id == consumer_department_id,
        )
        .order_by(SharingGrant.id)
    ).all()


def grants(session: Session, department_id: int | None) -> Sequence[SharingGrant]:
    stmt = select(SharingGrant).order_by(SharingGrant.id.desc())
    if department_id is not None:
        stmt = stmt.join(Dataset, Dataset.id == SharingGrant.dataset_id).where(
            or_(
                SharingGrant.consumer_department_id == department_id,
                Dataset.owner_department_id == department_id,
            )
        )
    return session.scalars(stmt).all()


def access_log(
    session: Session,
    *,
    owner_department_id: int | None,
    since: datetime | None,
    limit: int,
    offset: int,
    query: str | None = None,
    outcome: str | None = None,
) -> tuple[Sequence[AccessLogEntry], int]:
    stmt = select(AccessLogEntry)
    if query:
        like = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        codes = select(Dataset.id).where(Dataset.code.ilike(like, escape="\\"))
        stmt = stmt.where(
            or_(
                AccessLogEntry.actor.ilike(like, escape="\\"),
                AccessLogEntry.purpose.ilike(like, escape="\\"),
                AccessLogEntry.case_ref.ilike(like, escape="\\"),
                AccessLogEntry.dataset_id.in_(codes),
            )
        )
    if outcome:
        stmt = stmt.where(AccessLogEntry.outcome == outcome)
    if owner_department_id is not None:
        stmt = stmt.where(
            or_(
                AccessLogEntry.owner_department_id == owner_department_id,
                AccessLogEntry.consumer_department_id == owner_department_id,
            )
        )
    if since is not None:
        stmt = stmt.where(AccessLogEntry.at >= since)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(
        stmt.order_by(AccessLogEntry.id.desc()).limit(limit).offset(offset)
    ).all()
    return rows, total


def applications_between(
    session: Session, start: datetime, end: datetime, service_item_id: int | None
) -> Sequence[tuple[Application, Applicant]]:
    """Applications submitted in [start, end) with their applicants (data for decisions)."""
    stmt = (
        select(Application, Applicant)
        .join(Applicant, Applicant.id == Application.applicant_id)
        .where(Application.submitted_at >= start, Application.submitted_at < end)
        .order_by(Application.id)
    )
    if service_item_id is not None:
        stmt = stmt.where(Application.service_item_id == service_item_id)
    return [(a, p) for a, p in session.execute(stmt)]
