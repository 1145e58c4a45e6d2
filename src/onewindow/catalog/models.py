from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, ForeignKey, Numeric, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from onewindow.kit.db import Base, UTCDateTime


class Department(Base):
    """部门: a department behind the window, or the service centre itself."""

    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))


class Staff(Base):
    """工作人员: a member of staff of one department, with roles."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="RESTRICT"))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)

    department: Mapped[Department] = relationship(lazy="joined")


class ProcessDefinition(Base):
    """流程定义: one version of a BPMN process, stored once; running cases keep theirs."""

    __tablename__ = "process_definitions"
    __table_args__ = (
        UniqueConstraint("process_key", "version"),
        UniqueConstraint("process_key", "sha256"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(String(200))
    version: Mapped[int]
    name: Mapped[str] = mapped_column(String(200))
    sha256: Mapped[str] = mapped_column(String(64))
    # The large columns load only when asked for: a running case needs the version, not the file.
    bpmn_xml: Mapped[str] = mapped_column(Text, deferred=True)
    dmn_xml: Mapped[list[str]] = mapped_column(JSON, default=list, deferred=True)
    # CompiledProcess JSON: the engine spec, serialised once per version, plus its task metadata
    compiled: Mapped[str] = mapped_column(Text, deferred=True)
    user_tasks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, deferred=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ServiceItem(Base):
    """政务服务事项: one service in the catalogue."""

    __tablename__ = "service_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    applicant_kind: Mapped[str] = mapped_column(String(16), default="any")
    time_limit_days: Mapped[int]
    fee: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal(0))
    process_definition_id: Mapped[int] = mapped_column(
        ForeignKey("process_definitions.id", ondelete="RESTRICT")
    )
    lanes: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    task_sla_days: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    in_person_activities: Mapped[list[str]] = mapped_column(JSON, default=list)
    form_fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    active: Mapped[bool] = mapped_column(default=True)
    is_permit: Mapped[bool] = mapped_column(default=False)
    acceptance_task: Mapped[str | None] = mapped_column(String(200), default=None)
    # [{code, zh, en, applies_to: [not_accept|reject]}]: what a refusal may cite
    legal_bases: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    review: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    # 容缺受理: working days within which a promised (deferrable) material must come; None = no
    deferral_days: Mapped[int | None] = mapped_column(default=None)

    process_definition: Mapped[ProcessDefinition] = relationship(lazy="select")
    materials: Mapped[list[ServiceMaterial]] = relationship(
        lazy="select", order_by="ServiceMaterial.position", cascade="all, delete-orphan"
    )


class ServiceMaterial(Base):
    """申请材料: one material a service item asks for."""

    __tablename__ = "service_materials"
    __table_args__ = (UniqueConstraint("service_item_id", "code"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    service_item_id: Mapped[int] = mapped_column(ForeignKey("service_items.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(default=0)
    code: Mapped[str] = mapped_column(String(64))
    name_zh: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    required: Mapped[bool] = mapped_column(default=True)
    certificate: Mapped[bool] = mapped_column(default=False)
    valid_days: Mapped[int | None] = mapped_column(default=None)
    # 容缺: a non-key material the window may accept on the applicant's promise
    deferrable: Mapped[bool] = mapped_column(default=False, server_default=false())
