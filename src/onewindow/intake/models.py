from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from onewindow.kit.db import Base, UTCDateTime


class Applicant(Base):
    """申请人: a person (by citizen ID) or a business (by unified social credit code)."""

    __tablename__ = "applicants"
    __table_args__ = (UniqueConstraint("kind", "id_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # person | business
    id_number: Mapped[str] = mapped_column(String(18))
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Blob(Base):
    """A stored file, addressed by the SHA-256 of its bytes: the same bytes are stored once."""

    __tablename__ = "blobs"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    content_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Application(Base):
    """办件: one application's run through its process (case number, status, deadline)."""

    __tablename__ = "applications"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    service_item_id: Mapped[int] = mapped_column(
        ForeignKey("service_items.id", ondelete="RESTRICT")
    )
    process_definition_id: Mapped[int] = mapped_column(
        ForeignKey("process_definitions.id", ondelete="RESTRICT")
    )
    applicant_id: Mapped[int] = mapped_column(ForeignKey("applicants.id", ondelete="RESTRICT"))
    channel: Mapped[str] = mapped_column(String(16))  # online | window | hotline
    form_data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # submitted -> in_progress -> returned (补正) -> in_progress -> approved | rejected
    status: Mapped[str] = mapped_column(String(16), index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[date] = mapped_column(index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    returns: Mapped[int] = mapped_column(default=0)
    submitted_by: Mapped[str | None] = mapped_column(String(64), default=None)

    applicant: Mapped[Applicant] = relationship(lazy="select")
    materials: Mapped[list[ApplicationMaterial]] = relationship(lazy="select")


class ApplicationMaterial(Base):
    """One material of one application: uploaded now, or reused from the applicant's file."""

    __tablename__ = "application_materials"

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="RESTRICT"))
    material_code: Mapped[str] = mapped_column(String(64))
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256", ondelete="RESTRICT"))
    filename: Mapped[str] = mapped_column(String(255))
    reused: Mapped[bool] = mapped_column(default=False)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ApplicantMaterial(Base):
    """材料库: what an applicant already has on file, reusable until it expires (免提交)."""

    __tablename__ = "applicant_materials"
    __table_args__ = (UniqueConstraint("applicant_id", "material_code", "blob_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_id: Mapped[int] = mapped_column(
        ForeignKey("applicants.id", ondelete="RESTRICT"), index=True
    )
    material_code: Mapped[str] = mapped_column(String(64))
    blob_sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256", ondelete="RESTRICT"))
    filename: Mapped[str] = mapped_column(String(255))
    valid_until: Mapped[date | None] = mapped_column(default=None)
    source_application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="RESTRICT"), default=None
    )
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())
