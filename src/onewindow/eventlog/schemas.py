from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from onewindow.eventlog.models import EventType


@dataclass(frozen=True)
class CaseRef:
    """What every event of one case repeats: its number, kind, channel and service."""

    case_id: int
    case_number: str
    case_kind: str
    channel: str
    service_code: str
    application_id: int | None = None


@dataclass(frozen=True)
class NewEvent:
    event_type: EventType
    activity: str
    lifecycle: str
    timestamp: datetime
    resource: str | None = None
    department: str | None = None
    activity_id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    task_id: int | None = None


XES_COLUMNS = (
    "case:concept:name",
    "concept:name",
    "time:timestamp",
    "lifecycle:transition",
    "org:resource",
    "org:group",
)
