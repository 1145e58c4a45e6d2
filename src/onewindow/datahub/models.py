from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from onewindow.kit.db import Base, UTCDateTime


class Dataset(Base):
    """数据资源: a department's registered dataset, with the schema of its fields."""

    __tablename__ = "datahub_datasets"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    owner_department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    entity_kind: Mapped[str] = mapped_column(String(16))  # person | business
    key_field: Mapped[str] = mapped_column(String(64))
    # [{"name", "label", "meaning", "sensitivity", "type", "required", "standardise": [...]}]
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    on_error: Mapped[str] = mapped_column(String(16))  # reject_all | keep_good
    default_city_code: Mapped[str | None] = mapped_column(String(6), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(64))


class Load(Base):
    """数据加载: one run of loading a source into a dataset, with its row-level problems."""

    __tablename__ = "datahub_loads"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datahub_datasets.id", ondelete="RESTRICT"), index=True
    )
    source: Mapped[str] = mapped_column(String(500))
    format: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # applied | rejected
    rows_read: Mapped[int] = mapped_column(default=0)
    rows_inserted: Mapped[int] = mapped_column(default=0)
    rows_updated: Mapped[int] = mapped_column(default=0)
    rows_unchanged: Mapped[int] = mapped_column(default=0)
    rows_rejected: Mapped[int] = mapped_column(default=0)
    # A full load is the whole dataset: rows it lacks are marked deleted.
    full: Mapped[bool] = mapped_column(default=False, server_default=false())
    rows_deleted: Mapped[int] = mapped_column(default=0, server_default="0")
    problems: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    encoding: Mapped[str | None] = mapped_column(String(32), nullable=True)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    loaded_by: Mapped[str] = mapped_column(String(64))


class SourceRecord(Base):
    """源数据记录: the current standardised version of one source row, by its key."""

    __tablename__ = "datahub_records"
    __table_args__ = (UniqueConstraint("dataset_id", "record_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datahub_datasets.id", ondelete="RESTRICT"), index=True
    )
    record_key: Mapped[str] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    content_hash: Mapped[str] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(default=1)
    entity_id: Mapped[int | None] = mapped_column(
        ForeignKey("datahub_entities.id", ondelete="SET NULL"), nullable=True, index=True
    )
    load_id: Mapped[int] = mapped_column(ForeignKey("datahub_loads.id", ondelete="RESTRICT"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set when a later full load no longer has the row; cleared if it comes back.
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class RecordVersion(Base):
    """记录历史: every version a source record has had (append-only)."""

    __tablename__ = "datahub_record_versions"
    __table_args__ = (UniqueConstraint("record_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("datahub_records.id", ondelete="RESTRICT"), index=True
    )
    version: Mapped[int]
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    deleted: Mapped[bool] = mapped_column(default=False, server_default=false())
    load_id: Mapped[int] = mapped_column(ForeignKey("datahub_loads.id", ondelete="RESTRICT"))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Entity(Base):
    """主数据 (golden record): one person or business, each field with its provenance."""

    __tablename__ = "datahub_entities"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    # The citizen ID or credit code the entity is found by (pre-fill); None when no source has it.
    identifier: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    # {field: {"value", "dataset", "record_key", "updated_at"}}
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MatchReview(Base):
    """待复核匹配: an uncertain pair for a data administrator; the decision is remembered."""

    __tablename__ = "datahub_match_reviews"
    __table_args__ = (UniqueConstraint("left_record_id", "right_record_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    left_record_id: Mapped[int] = mapped_column(
        ForeignKey("datahub_records.id", ondelete="RESTRICT")
    )
    right_record_id: Mapped[int] = mapped_column(
        ForeignKey("datahub_records.id", ondelete="RESTRICT")
    )
    match_probability: Mapped[float]
    status: Mapped[str] = mapped_column(String(16), index=True)  # pending | accepted | rejected
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SharingGrant(Base):
    """共享授权: the owning department lets a consumer read named fields for a purpose."""

    __tablename__ = "datahub_grants"

    id: Mapped[int] = mapped_column(primary_key=True)
    dataset_id: Mapped[int] = mapped_column(
        ForeignKey("datahub_datasets.id", ondelete="RESTRICT"), index=True
    )
    consumer_department_id: Mapped[int] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), index=True
    )
    fields: Mapped[list[str]] = mapped_column(JSON)
    purpose: Mapped[str] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))  # requested | approved | revoked
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime())
    approved_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AccessLogEntry(Base):
    """数据访问日志: one read of shared data, or one refusal (append-only, never updated)."""

    __tablename__ = "datahub_access_log"
    __table_args__ = (Index("ix_datahub_access_log_owner_at", "owner_department_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(32))
    consumer_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), nullable=True
    )
    owner_department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), nullable=True
    )
    dataset_id: Mapped[int | None] = mapped_column(
        ForeignKey("datahub_datasets.id", ondelete="RESTRICT"), nullable=True
    )
    grant_id: Mapped[int | None] = mapped_column(
        ForeignKey("datahub_grants.id", ondelete="RESTRICT"), nullable=True
    )
    purpose: Mapped[str] = mapped_column(String(200))
    case_ref: Mapped[str | None] = mapped_column(String(64), nullable=True)
    fields: Mapped[list[str]] = mapped_column(JSON)
    record_keys: Mapped[list[str]] = mapped_column(JSON)
    outcome: Mapped[str] = mapped_column(String(16))  # allowed | refused
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
