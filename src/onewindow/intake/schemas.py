from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel

from onewindow.intake.rules import MaterialState

ApplicantKind = Literal["person", "business"]
Channel = Literal["online", "window", "hotline"]
CHANNELS: tuple[str, ...] = ("online", "window", "hotline")


@dataclass(frozen=True)
class ApplicantIn:
    kind: str
    id_number: str
    name: str
    phone: str | None = None


@dataclass(frozen=True)
class Upload:
    """One file handed in for one material of the service."""

    material_code: str
    filename: str
    content: bytes


# --- API models ------------------------------------------------------------------------------

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list endpoint."""

    items: list[T]
    total: int
    limit: int
    offset: int


class MaterialCheckOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    required: bool
    state: MaterialState


class CompletenessOut(BaseModel):
    """一次性告知: every material of the service with its state for this applicant."""

    service: str
    applicant_known: bool
    complete: bool
    materials: list[MaterialCheckOut]


class ApplicantOut(BaseModel):
    kind: str
    id_number: str
    name: str


class MaterialOut(BaseModel):
    """One material handed in for an application (metadata only; content by its sha256)."""

    code: str
    name_zh: str | None
    name_en: str | None
    filename: str
    sha256: str
    size: int | None
    content_type: str | None
    reused: bool
    added_at: datetime


class EventOut(BaseModel):
    id: int
    event_type: str
    activity: str
    activity_id: str | None
    lifecycle: str
    timestamp: datetime
    resource: str | None
    department: str | None
    attributes: dict[str, Any]
