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
        case_id=case.case_id,
        application_id=case.application_id,
        case_number=case.case_number,
        case_kind=case.case_kind,
        task_id=new.task_id,
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


def case_history(ctx: Ctx, case_id: int) -> Sequence[Event]:
    """Every event of one case, oldest first."""
    return repo.for_case(ctx.session, case_id)


def history_of_number(ctx: Ctx, case_number: str) -> Sequence[Event]:
    """Every event of the case with this number (case:concept:name), oldest first."""
    return repo.for_case_number(ctx.session, case_number)


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
        "case:kind": event.case_kind,
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
    case_kind: str | None = None,
) -> Iterator[dict[str, Any]]:
    for event in repo.stream(
        ctx.session, since=since, until=until, service_code=service_code, case_kind=case_kind
    ):
        yield as_xes_row(event)


def export(
    ctx: Ctx,
    path: Path,
    fmt: str,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    service_code: str | None = None,
    case_kind: str | None = None,
) -> None:
    """Write the log with standard XES keys, readable unchanged by pm4py, ProM and Disco."""
    rows = iter_rows(ctx, since=since, until=until, service_code=service_code, case_kind=case_kind)
    write_events(rows, path, fmt)


def count(ctx: Ctx) -> int:
    return repo.count(ctx.session)
