from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    ForeignKey,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.ext.hybrid import Comparator, hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from onewindow.kit.db import Base, UTCDateTime
from onewindow.security.crypto import EncryptedText, SealedJSON, blind_index, keyring

ID_NUMBER_COLUMN = "applicants.id_number"
PHONE_COLUMN = "applicants.phone"


class BlindIndexComparator(Comparator[Any]):
    """``Applicant.phone == x`` in a query compares blind indexes: no decryption needed."""

    def __init__(self, index_column: ColumnElement[Any], column: str) -> None:
        super().__init__(index_column)
        self.index_column = index_column
        self.column = column

    def __eq__(self, other: Any) -> ColumnElement[bool]:  # type: ignore[override]
        if other is None:
            return self.index_column.is_(None)
        return self.index_column == blind_index(self.column, str(other))

    def __ne__(self, other: Any) -> ColumnElement[bool]:  # type: ignore[override]
        if other is None:
            return self.index_column.is_not(None)
        return self.index_column != blind_index(self.column, str(other))

    def in_(self, other: Any) -> Any:
        return self.index_column.in_([blind_index(self.column, str(v)) for v in other])


class Applicant(Base):
    """申请人: a person (by citizen ID) or a business (by unified social credit code).

    The ID number and phone are stored AES-256-GCM encrypted (``key_id`` names the data key
    of the row) with an HMAC blind index beside each, so ``Applicant.phone == x`` still finds
    the row without decrypting anything (GB/T 35273-2020 §6.3).
    """

    __tablename__ = "applicants"
    __table_args__ = (UniqueConstraint("kind", "id_number_bidx"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # person | business
    id_number_enc: Mapped[str] = mapped_column("id_number", EncryptedText(ID_NUMBER_COLUMN))
    id_number_bidx: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(200))
    phone_enc: Mapped[str | None] = mapped_column(
        "phone", EncryptedText(PHONE_COLUMN), default=None
    )
    phone_bidx: Mapped[str | None] = mapped_column(String(32), index=True, default=None)
    key_id: Mapped[str] = mapped_column(String(32), index=True, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    @hybrid_property
    def id_number(self) -> str:
        return self.id_number_enc

    @id_number.inplace.setter
    def _id_number_set(self, value: str) -> None:
        self.id_number_enc = value
        self.id_number_bidx = blind_index(ID_NUMBER_COLUMN, value)
        self.key_id = keyring().active_key_id

    @id_number.inplace.comparator
    @classmethod
    def _id_number_cmp(cls) -> BlindIndexComparator:
        return BlindIndexComparator(cls.id_number_bidx.expression, ID_NUMBER_COLUMN)

    @hybrid_property
    def phone(self) -> str | None:
        return self.phone_enc

    @phone.inplace.setter
    def _phone_set(self, value: str | None) -> None:
        self.phone_enc = value
        self.phone_bidx = blind_index(PHONE_COLUMN, value) if value is not None else None
        self.key_id = keyring().active_key_id

    @phone.inplace.comparator
    @classmethod
    def _phone_cmp(cls) -> BlindIndexComparator:
        return BlindIndexComparator(cls.phone_bidx.expression, PHONE_COLUMN)


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
    # The form's ID and phone values sealed at rest (SealedJSON), the rest plain JSON.
    form_data: Mapped[dict[str, Any]] = mapped_column(
        SealedJSON("applications.form_data"), default=dict
    )
    # submitted -> in_progress -> returned (补正) -> in_progress -> approved | rejected
    status: Mapped[str] = mapped_column(String(16), index=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    deadline: Mapped[date] = mapped_column(index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    returns: Mapped[int] = mapped_column(default=0)
    submitted_by: Mapped[str | None] = mapped_column(String(64), default=None)

    applicant: Mapped[Applicant] = relationship(lazy="select")
    materials: Mapped[list[ApplicationMaterial]] = relationship(lazy="select")

    @classmethod
    def overdue_on(cls, today: date) -> ColumnElement[bool]:
        """``rules.is_overdue`` as SQL: open, not waiting for the applicant, past deadline."""
        return cls.closed_at.is_(None) & (cls.status != "returned") & (cls.deadline < today)


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


class StagedUpload(Base):
    """暂存材料: a file a clerk chose on a desk submission that came back with errors.

    Kept (bytes and all) under the form's ``batch`` key so the resubmission reuses it; deleted
    when the application is taken, when the clerk removes it, or by the worker once abandoned.
    """

    __tablename__ = "desk_staged_uploads"
    __table_args__ = (UniqueConstraint("batch", "material_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch: Mapped[str] = mapped_column(String(64))
    staged_by: Mapped[str] = mapped_column(String(64))
    service_code: Mapped[str] = mapped_column(String(64))
    material_code: Mapped[str] = mapped_column(String(64))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int]
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    staged_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class MaterialPromise(Base):
    """容缺承诺: a non-key material the applicant promised to hand in by ``due_on``.

    ``state`` is open, fulfilled or lapsed; a promise is settled once and never reopened.
    """

    __tablename__ = "material_promises"
    __table_args__ = (UniqueConstraint("application_id", "material_code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("applications.id", ondelete="RESTRICT"))
    material_code: Mapped[str] = mapped_column(String(64))
    due_on: Mapped[date]
    promised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    promised_to: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16), index=True)
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
