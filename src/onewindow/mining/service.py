"""Mining over onewindow's own event log, with the catalogue's knowledge of each service.

The event log is read through its service (never its tables); the catalogue gives each
service's in-person tasks (for trips), legal time limit (for SLA) and BPMN (for
conformance). Analyses run on the frame and never touch the database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final

import polars as pl

from onewindow.catalog import service as catalog
from onewindow.eventlog import service as eventlog
from onewindow.kit.errors import NotFound
from onewindow.kit.platform import Ctx
from onewindow.mining.filters import LogFilter
from onewindow.mining.frame import TIMESTAMP, UTC_MICROS
from onewindow.mining.report import MiningReport, ReportOptions, build_report

__all__ = [
    "RETURN_ACTIVITY",
    "DECIDED_ACTIVITY",
    "in_person_activities",
    "own_bpmn",
    "own_log",
    "own_options",
    "own_report",
    "time_limits",
]

# Activity names our workflow writes for a 补正 return and for the decision (办结).
RETURN_ACTIVITY: Final = "补正通知"
DECIDED_ACTIVITY: Final = "办结"
SERVICE_COLUMN: Final = "case:service"


def own_log(
    ctx: Ctx,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    service_code: str | None = None,
) -> pl.DataFrame:
    """Our event log as an event frame (XES keys, UTC instants, insertion order)."""
    rows = list(eventlog.iter_rows(ctx, since=since, until=until, service_code=service_code))
    if not rows:
        return pl.DataFrame(
            schema={
                "case:concept:name": pl.String,
                "concept:name": pl.String,
                TIMESTAMP: UTC_MICROS,
                "lifecycle:transition": pl.String,
                SERVICE_COLUMN: pl.String,
            }
        )
    frame = pl.from_dicts(rows, infer_schema_length=None, strict=False)
    stamp = frame.schema[TIMESTAMP]
    if isinstance(stamp, pl.Datetime) and stamp.time_zone is None:
        frame = frame.with_columns(pl.col(TIMESTAMP).dt.replace_time_zone("UTC"))
    return frame.with_columns(pl.col(TIMESTAMP).dt.convert_time_zone("UTC").cast(UTC_MICROS))


def in_person_activities(ctx: Ctx, service_code: str | None = None) -> list[str]:
    """BPMN task ids that need the applicant in person (catalogue), for one or all services."""
    services = (
        [catalog.get_service(ctx, service_code)] if service_code else catalog.list_services(ctx)
    )
    ids: set[str] = set()
    for item in services:
        ids.update(item.in_person_activities or [])
    return sorted(ids)


def time_limits(ctx: Ctx) -> dict[str, int]:
    """Service code → legal time limit in working days (承诺时限)."""
    return {item.code: item.time_limit_days for item in catalog.list_services(ctx)}


def own_bpmn(ctx: Ctx, service_code: str) -> bytes:
    """The BPMN of the service's current process version.

    Raises:
        NotFound: unknown service, or it has no process.
    """
    item = catalog.get_service(ctx, service_code)
    proc = catalog.get_process(ctx, item.process_definition_id)
    if not proc.bpmn_xml:
        raise NotFound(
            f"service {service_code} has no BPMN", message_zh=f"事项 {service_code} 没有流程模型"
        )
    return proc.bpmn_xml.encode("utf-8")


def own_called(ctx: Ctx, bpmn: bytes) -> dict[str, bytes]:
    """The latest catalogue version of each process ``bpmn``'s call activities call (and
    those they call in turn), by process id; a key not in the catalogue is left out."""
    found: dict[str, bytes] = {}
    todo = list(catalog.bpmn_keys(bpmn)[1])
    while todo:
        key = todo.pop()
        if key in found:
            continue
        versions = catalog.process_versions(ctx, key)
        if not versions:
            continue
        found[key] = versions[-1].bpmn_xml.encode("utf-8")
        todo.extend(catalog.bpmn_keys(found[key])[1])
    return found


def own_options(
    ctx: Ctx,
    *,
    service_code: str | None = None,
    in_person: list[str] | None = None,
    split_at: datetime | None = None,
    lifecycle: str | None = "complete",
    conformance: bool = True,
) -> ReportOptions:
    """Report options filled from the catalogue; explicit ``in_person`` names win."""
    name = "全部事项 all services"
    bpmn = own_bpmn(ctx, service_code) if service_code and conformance else None
    if service_code:
        item = catalog.get_service(ctx, service_code)
        name = f"{item.name_zh} {item.code}"
    return ReportOptions(
        title=f"流程挖掘报告 Process mining · {name}",
        lifecycle=lifecycle,
        in_person=in_person or in_person_activities(ctx, service_code),
        return_activity=RETURN_ACTIVITY,
        time_limit_days=time_limits(ctx),
        group_by=SERVICE_COLUMN,
        end_activities=[DECIDED_ACTIVITY],
        bpmn=bpmn,
        bpmn_called=own_called(ctx, bpmn) if bpmn is not None else None,
        split_at=split_at,
        calendar=ctx.calendar,
        source="onewindow event log",
    )


def own_report(
    ctx: Ctx,
    *,
    service_code: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    in_person: list[str] | None = None,
    split_at: datetime | None = None,
    lifecycle: str | None = "complete",
    log_filter: LogFilter | None = None,
) -> MiningReport:
    """Every analysis on our own log (one service's, or all), with catalogue options.

    ``log_filter`` narrows the cases further; a single service named in it is used
    like ``service_code`` (its BPMN for conformance, its name in the title).

    Raises:
        ValidationFailed: no events (match the filters).
    """
    if service_code is None and log_filter is not None and len(log_filter.services) == 1:
        service_code = log_filter.services[0]
    log = own_log(ctx, since=since, until=until, service_code=service_code)
    opts = own_options(
        ctx,
        service_code=service_code,
        in_person=in_person,
        split_at=split_at,
        lifecycle=lifecycle,
    )
    opts.filter = log_filter
    return build_report(log, opts)
