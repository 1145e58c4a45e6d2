from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from onewindow.eventlog.models import EventType


@dataclass(frozen=True)
class CaseRef:
    """What every event of one case repeats: its number, channel and service."""

    application_id: int
    case_number: str
    channel: str
    service_code: str


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


XES_COLUMNS = (
    "case:concept:name",
    "concept:name",
    "time:timestamp",
    "lifecycle:transition",
    "org:resource",
    "org:group",
)
