"""Every query of the catalogue."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from onewindow.catalog.models import Department, ProcessDefinition, ServiceItem, Staff


def department_by_code(session: Session, code: str) -> Department | None:
    return session.scalar(select(Department).where(Department.code == code))


def departments(session: Session) -> Sequence[Department]:
    return session.scalars(select(Department).order_by(Department.code)).all()


def staff_by_username(session: Session, username: str) -> Staff | None:
    return session.scalar(select(Staff).where(Staff.username == username))


def staff_list(session: Session, department_id: int | None = None) -> Sequence[Staff]:
    q = select(Staff).order_by(Staff.username)
    if department_id is not None:
        q = q.where(Staff.department_id == department_id)
    return session.scalars(q).all()


def staff_page(
    session: Session,
    *,
    query: str = "",
    department_id: int | None = None,
    active: bool | None = None,
    offset: int = 0,
    limit: int = 25,
) -> tuple[Sequence[Staff], int]:
    """One page of staff by username, and how many match in all."""
    q = select(Staff)
    if query:
        # LIKE metacharacters typed by the user are matched literally.
        escaped = query.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        q = q.where(
            or_(
                func.lower(Staff.username).like(pattern, escape="\\"),
                func.lower(Staff.name).like(pattern, escape="\\"),
            )
        )
    if department_id is not None:
        q = q.where(Staff.department_id == department_id)
    if active is not None:
        q = q.where(Staff.active.is_(active))
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    page = session.scalars(q.order_by(Staff.username).offset(offset).limit(limit)).all()
    return page, int(total)


def service_by_code(session: Session, code: str) -> ServiceItem | None:
    return session.scalar(select(ServiceItem).where(ServiceItem.code == code))


def services(session: Session, *, active_only: bool = True) -> Sequence[ServiceItem]:
    q = select(ServiceItem).order_by(ServiceItem.code)
    if active_only:
        q = q.where(ServiceItem.active.is_(True))
    return session.scalars(q).all()


def process_by_hash(session: Session, key: str, sha256: str) -> ProcessDefinition | None:
    return session.scalar(
        select(ProcessDefinition).where(
            ProcessDefinition.process_key == key, ProcessDefinition.sha256 == sha256
        )
    )


def latest_process_version(session: Session, key: str) -> int:
    return (
        session.scalar(
            select(func.coalesce(func.max(ProcessDefinition.version), 0)).where(
                ProcessDefinition.process_key == key
            )
        )
        or 0
    )


def latest_process(session: Session, key: str) -> ProcessDefinition | None:
    return session.scalar(
        select(ProcessDefinition)
        .where(ProcessDefinition.process_key == key)
        .order_by(ProcessDefinition.version.desc())
        .limit(1)
    )


def process_by_id(session: Session, process_id: int) -> ProcessDefinition | None:
    return session.get(ProcessDefinition, process_id)


def process_versions(session: Session, key: str) -> Sequence[ProcessDefinition]:
    return session.scalars(
        select(ProcessDefinition)
        .where(ProcessDefinition.process_key == key)
        .order_by(ProcessDefinition.version)
    ).all()
