"""Every query of intake."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, Text, cast, delete, func, or_, select
from sqlalchemy.orm import Session

from onewindow.intake.models import (
    Applicant,
    ApplicantMaterial,
    Application,
    Blob,
    MaterialPromise,
    StagedUpload,
)
from onewindow.security.crypto import SEALED_KEY


def applicant_by_number(session: Session, kind: str, id_number: str) -> Applicant | None:
    return session.scalar(
        select(Applicant).where(Applicant.kind == kind, Applicant.id_number == id_number)
    )


def blob(session: Session, sha256: str) -> Blob | None:
    return session.get(Blob, sha256)


def materials_on_file(
    session: Session, applicant_id: int, today: date
) -> Sequence[ApplicantMaterial]:
    """Valid materials on file, newest first per code."""
    return session.scalars(
        select(ApplicantMaterial)
        .where(
            ApplicantMaterial.applicant_id == applicant_id,
            or_(ApplicantMaterial.valid_until.is_(None), ApplicantMaterial.valid_until >= today),
        )
        .order_by(ApplicantMaterial.material_code, ApplicantMaterial.added_at.desc())
    ).all()


def on_file_entry(
    session: Session, applicant_id: int, code: str, sha256: str
) -> ApplicantMaterial | None:
    return session.scalar(
        select(ApplicantMaterial).where(
            ApplicantMaterial.applicant_id == applicant_id,
            ApplicantMaterial.material_code == code,
            ApplicantMaterial.blob_sha256 == sha256,
        )
    )


def application_by_id(session: Session, application_id: int) -> Application | None:
    return session.get(Application, application_id)


def application_by_number(session: Session, number: str) -> Application | None:
    return session.scalar(select(Application).where(Application.number == number))


def applications(
    session: Session,
    *,
    applicant_id: int | None = None,
    status: str | None = None,
    service_item_id: int | None = None,
    overdue_on: date | None = None,
    limit: int = 50,
    offset: int = 0,
) -> Sequence[Application]:
    q = select(Application).order_by(Application.submitted_at.desc(), Application.id.desc())
    if applicant_id is not None:
        q = q.where(Application.applicant_id == applicant_id)
    q = _filtered(
        q,
        status=status,
        service_item_id=service_item_id,
        overdue_on=overdue_on,
        returned=False,
        ids=None,
    )
    return session.scalars(q.limit(limit).offset(offset)).all()


def _filtered(
    q: Select[Any],
    *,
    status: str | None,
    service_item_id: int | None,
    overdue_on: date | None,
    returned: bool,
    ids: Collection[int] | None,
) -> Select[Any]:
    if status is not None:
        q = q.where(Application.status == status)
    if service_item_id is not None:
        q = q.where(Application.service_item_id == service_item_id)
    if overdue_on is not None:
        q = q.where(Application.overdue_on(overdue_on))
    if returned:
        q = q.where(Application.returns > 0)
    if ids is not None:
        q = q.where(Application.id.in_(sorted(ids)))
    return q


def find_applications(
    session: Session,
    *,
    status: str | None = None,
    service_item_id: int | None = None,
    overdue_on: date | None = None,
    returned: bool = False,
    ids: Collection[int] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, Sequence[Application]]:
    """(how many match, one page of them newest first)."""
    filters: dict[str, Any] = {
        "status": status,
        "service_item_id": service_item_id,
        "overdue_on": overdue_on,
        "returned": returned,
        "ids": ids,
    }
    total = session.scalar(_filtered(select(func.count(Application.id)), **filters)) or 0
    q = _filtered(select(Application), **filters).order_by(
        Application.submitted_at.desc(), Application.id.desc()
    )
    return total, session.scalars(q.limit(limit).offset(offset)).all()


def applications_by_ids(session: Session, ids: Collection[int]) -> dict[int, Application]:
    rows = session.scalars(select(Application).where(Application.id.in_(sorted(ids))))
    return {a.id: a for a in rows}


def count_returned(session: Session) -> int:
    """Applications sent back for 补正 at least once."""
    return session.scalar(select(func.count(Application.id)).where(Application.returns > 0)) or 0


def count_applications(session: Session) -> int:
    return session.scalar(select(func.count(Application.id))) or 0


def status_counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Application.status, func.count(Application.id)).group_by(Application.status)
    ).all()
    return {status: count for status, count in rows}


def total_returns(session: Session) -> int:
    return session.scalar(select(func.coalesce(func.sum(Application.returns), 0))) or 0


def applications_by_phone(session: Session, phone: str, *, limit: int) -> Sequence[Application]:
    """Applications of every applicant registered with this mobile number, newest first."""
    return session.scalars(
        select(Application)
        .join(Applicant, Application.applicant_id == Applicant.id)
        .where(Applicant.phone == phone)
        .order_by(Application.submitted_at.desc(), Application.id.desc())
        .limit(limit)
    ).all()


def status_counts_by_service(session: Session) -> dict[int, dict[str, int]]:
    rows = session.execute(
        select(
            Application.service_item_id, Application.status, func.count(Application.id)
        ).group_by(Application.service_item_id, Application.status)
    ).all()
    out: dict[int, dict[str, int]] = {}
    for service_item_id, status, count in rows:
        out.setdefault(service_item_id, {})[status] = count
    return out


def overdue_counts_by_service(session: Session, today: date) -> dict[int, int]:
    rows = session.execute(
        select(Application.service_item_id, func.count(Application.id))
        .where(Application.overdue_on(today))
        .group_by(Application.service_item_id)
    ).all()
    return {service_item_id: count for service_item_id, count in rows}


def applicants_by_phone(session: Session, phone: str) -> Sequence[Applicant]:
    """Applicants registered with this mobile number (found by its blind index)."""
    return session.scalars(
        select(Applicant).where(Applicant.phone == phone).order_by(Applicant.id)
    ).all()


def applicants_not_under_key(session: Session, key_id: str, *, limit: int) -> Sequence[Applicant]:
    return session.scalars(
        select(Applicant).where(Applicant.key_id != key_id).order_by(Applicant.id).limit(limit)
    ).all()


def forms_not_under_key(session: Session, key_id: str, *, limit: int) -> Sequence[Application]:
    """Applications whose form holds a value sealed under another key than ``key_id``."""
    text = cast(Application.form_data, Text)
    sealed = f'"{SEALED_KEY}": "'
    return session.scalars(
        select(Application)
        .where(
            text.contains(sealed, autoescape=True),
            ~text.contains(f"{sealed}{key_id}$", autoescape=True),
        )
        .order_by(Application.id)
        .limit(limit)
    ).all()


def count_applications_of(session: Session, applicant_id: int) -> int:
    return (
        session.scalar(
            select(func.count(Application.id)).where(Application.applicant_id == applicant_id)
        )
        or 0
    )


def materials_of_applicant(session: Session, applicant_id: int) -> Sequence[ApplicantMaterial]:
    return session.scalars(
        select(ApplicantMaterial).where(ApplicantMaterial.applicant_id == applicant_id)
    ).all()


def application_applicants(session: Session) -> Sequence[tuple[str, Applicant]]:
    """Every application number with its applicant (for de-identified exports)."""
    rows = session.execute(
        select(Application.number, Applicant).join(
            Applicant, Application.applicant_id == Applicant.id
        )
    ).all()
    return [(number, applicant) for number, applicant in rows]


# --- the desk's staged uploads and 容缺 promises ----------------------------------------------


def staged_uploads(session: Session, batch: str, staged_by: str) -> Sequence[StagedUpload]:
    return session.scalars(
        select(StagedUpload)
        .where(StagedUpload.batch == batch, StagedUpload.staged_by == staged_by)
        .order_by(StagedUpload.id)
    ).all()


def staged_uploads_of(session: Session, staged_by: str) -> Sequence[StagedUpload]:
    return session.scalars(
        select(StagedUpload).where(StagedUpload.staged_by == staged_by).order_by(StagedUpload.id)
    ).all()


def staged_by_others(session: Session, batch: str, staged_by: str) -> bool:
    """Whether another user has files staged under ``batch``."""
    found = session.scalar(
        select(StagedUpload.id)
        .where(StagedUpload.batch == batch, StagedUpload.staged_by != staged_by)
        .limit(1)
    )
    return found is not None


def delete_staged_before(session: Session, cutoff: datetime) -> int:
    result = session.execute(delete(StagedUpload).where(StagedUpload.staged_at < cutoff))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def promises_of(session: Session, application_id: int) -> Sequence[MaterialPromise]:
    return session.scalars(
        select(MaterialPromise)
        .where(MaterialPromise.application_id == application_id)
        .order_by(MaterialPromise.id)
    ).all()


def open_promises_due_before(
    session: Session, day: date, *, limit: int
) -> Sequence[MaterialPromise]:
    return session.scalars(
        select(MaterialPromise)
        .where(MaterialPromise.state == "open", MaterialPromise.due_on < day)
        .order_by(MaterialPromise.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()


def applications_taken_between(
    session: Session,
    start: datetime,
    end: datetime,
    *,
    channel: str | None,
    submitted_by: str | None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Application], int]:
    """Applications submitted in [start, end), newest first, and how many there are."""
    where = [Application.submitted_at >= start, Application.submitted_at < end]
    if channel:
        where.append(Application.channel == channel)
    if submitted_by:
        where.append(Application.submitted_by == submitted_by)
    total = session.scalar(select(func.count()).select_from(Application).where(*where)) or 0
    rows = session.scalars(
        select(Application)
        .where(*where)
        .order_by(Application.submitted_at.desc(), Application.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, int(total)
