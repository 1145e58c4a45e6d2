"""Writing and reading the event log."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from onewindow.eventlog import repository as repo
from onewindow.eventlog.export import write_events
from onewindow.eventlog.models import Event
from onewindow.eventlog.schemas import CaseRef, NewEvent
from onewindow.kit.platform import Ctx


def record(ctx: Ctx, case: CaseRef, new: NewEvent) -> Event:
    """Append one event in the caller's transaction, so it lands exactly when the change does."""
    event = Event(
        application_id=case.application_id,
        case_number=case.case_number,
        channel=case.channel,
        service_code=case.service_code,
        event_type=new.event_type.value,
        activity=new.activity,
        activity_id=new.activity_id,
        lifecycle=new.lifecycle,
        timestamp=new.timestamp,
        resource=new.resource,
        department=new.department,
        attributes=new.attributes,
    )
    repo.add(ctx.session, event)
    return event


def case_history(ctx: Ctx, application_id: int) -> Sequence[Event]:
    return repo.for_case(ctx.session, application_id)


def as_xes_row(event: Event) -> dict[str, Any]:
    row: dict[str, Any] = {
        "case:concept:name": event.case_number,
        "concept:name": event.activity,
        "time:timestamp": event.timestamp,
        "lifecycle:transition": event.lifecycle,
        "org:resource": event.resource or "",
        "org:group": event.department or "",
        "event_type": event.event_type,
        "channel": event.channel,
        "case:service": event.service_code,
        "case:channel": event.channel,
    }
    if event.activity_id:
        row["activity_id"] = event.activity_id
    for key, value in (event.attributes or {}).items():
        if isinstance(value, str | int | float | bool):
            row.setdefault(key, value)
    return row


def iter_rows(
    ctx: Ctx,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    service_code: str | None = None,
) -> Iterator[dict[str, Any]]:
    for event in repo.stream(ctx.session, since=since, until=until, service_code=service_code):
        yield as_xes_row(event)


def export(
    ctx: Ctx,
    path: Path,
    fmt: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    service_code: str | None = None,
) -> None:
    """Write the log with standard XES keys, readable unchanged by pm4py, ProM and Disco."""
    write_events(iter_rows(ctx, since=since, until=until, service_code=service_code), path, fmt)


def count(ctx: Ctx) -> int:
    return repo.count(ctx.session)
