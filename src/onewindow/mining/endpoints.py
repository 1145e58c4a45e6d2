"""Mining routes only: analyses of our own event log, with the report's filters.

Every route takes the same filters as ``onewindow mining report``: ``service``,
``department``, ``channel``, ``since``/``until`` (events in that window), ``started_from``
/ ``started_before`` (cases that started then), ``variant`` and ``attr`` (key=value).
``/mining/report.json`` is the documented report JSON (docs/mining-report.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import polars as pl
from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from onewindow.kit.http import CtxDep
from onewindow.kit.platform import Ctx
from onewindow.mining import analyses, maps, measures, report
from onewindow.mining import service as mining
from onewindow.mining.bpmn import bpmn_to_petri
from onewindow.mining.compare import split_by_start
from onewindow.mining.filters import LogFilter, apply_filter, parse_attribute_filters
from onewindow.mining.petri import replay_log
from onewindow.mining.prepared import Prepared, prepare
from onewindow.security.authz import require
from onewindow.security.schemas import Principal

router = APIRouter(prefix="/mining", tags=["mining"])

Analyst = Annotated[Principal, require("eventlog.export")]
Service = Annotated[str | None, Query(max_length=64, description="service item code")]
Since = Annotated[datetime | None, Query(description="events at or after (ISO 8601)")]
Until = Annotated[datetime | None, Query(description="events before (ISO 8601)")]
Lifecycle = Annotated[
    str | None, Query(max_length=16, description="complete (default), start, or all")
]


def _lifecycle(value: str | None) -> str | None:
    return None if value in (None, "", "all") else value


def log_filter(
    department: Annotated[
        list[str] | None, Query(description="cases handled by this department (repeatable)")
    ] = None,
    channel: Annotated[list[str] | None, Query(description="case channel (repeatable)")] = None,
    started_from: Annotated[
        datetime | None, Query(description="cases started at or after (ISO 8601)")
    ] = None,
    started_before: Annotated[
        datetime | None, Query(description="cases started before (ISO 8601)")
    ] = None,
    variant: Annotated[
        list[str] | None,
        Query(max_length=2000, description="variant rank (1 = most frequent) or 'a → b'"),
    ] = None,
    attr: Annotated[
        list[str] | None, Query(max_length=500, description="key=value attribute filter")
    ] = None,
) -> LogFilter:
    return LogFilter(
        departments=list(department or []),
        channels=list(channel or []),
        since=started_from,
        until=started_before,
        variants=list(variant or []),
        attributes=parse_attribute_filters(attr or []),
    )


Filters = Annotated[LogFilter, Depends(log_filter)]


def _log(
    ctx: Ctx,
    service: str | None,
    since: datetime | None,
    until: datetime | None,
    spec: LogFilter,
) -> pl.DataFrame:
    frame = mining.own_log(ctx, since=since, until=until, service_code=service)
    return apply_filter(frame, spec) if spec.active else frame


def _prepared(
    ctx: Ctx,
    service: str | None,
    since: datetime | None,
    until: datetime | None,
    spec: LogFilter,
    lifecycle: str | None = "complete",
) -> Prepared:
    return prepare(_log(ctx, service, since, until, spec), lifecycle)


@router.get("/process-map")
def process_map(
    ctx: CtxDep,
    _: Analyst,
    spec: Filters,
    service: Service = None,
    since: Since = None,
    until: Until = None,
    lifecycle: Lifecycle = "complete",
) -> dict[str, Any]:
    """Directly-follows map: activity and edge counts, edge durations (s), starts, ends."""
    log = _log(ctx, service, since, until, spec)
    return maps.process_map(log, lifecycle=_lifecycle(lifecycle)).as_dict()


@router.get("/variants")
def variants(
    ctx: CtxDep,
    _: Analyst,
    spec: Filters,
    service: Service = None,
    since: Since = None,
    until: Until = None,
    lifecycle: Lifecycle = "complete",
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
) -> dict[str, Any]:
    log = _log(ctx, service, since, until, spec)
    found = maps.variants(log, lifecycle=_lifecycle(lifecycle))
    return {
        "total": len(found),
        "variants": [
            {
                "activities": list(v.activities),
                "cases": v.cases,
                "share": v.share,
                "mean_duration_s": v.mean_duration_s,
                "median_duration_s": v.median_duration_s,
            }
            for v in found[:limit]
        ],
    }


@router.get("/bottlenecks")
def bottlenecks(
    ctx: CtxDep,
    _: Analyst,
    spec: Filters,
    service: Service = None,
    since: Since = None,
    until: Until = None,
) -> dict[str, Any]:
    log = _log(ctx, service, since, until, spec)
    return analyses.bottlenecks(log).as_dict()


@router.get("/trips")
def trips(
    ctx: CtxDep,
    _: Analyst,
    spec: Filters,
    service: Service = None,
    since: Since = None,
    until: Until = None,
    activity: Annotated[
        list[str] | None, Query(description="in-person activities (default: catalogue)")
    ] = None,
) -> dict[str, Any]:
    """Trips per case (最多跑一次): in-person tasks from the catalogue unless named."""
    log = _log(ctx, service, since, until, spec)
    wanted = activity or mining.in_person_activities(ctx, service)
    return analyses.trips(log, wanted, group_by=mining.SERVICE_COLUMN).as_dict()


@router.get("/rework")
def rework(
    ctx: CtxDep,
    _: Analyst,
    spec: Filters,
    service: Service = None,
    since: Since = None,
    until: Until = None,
) -> dict[str, Any]:
    log = _log(ctx, service, since, until, spec)
    return analyses.rework(log, return_activity=mining.RETURN_ACTIVITY).as_dict()


@router.get("/sla")
def sla(
    ctx: CtxDep,
    _: Analyst,
    spec: Filters,
    service: Service = None,
    since: Since = None,
    until: Until = None,
) -> dict[str, Any]:
    """Cases decided within the service's legal time limit (working days)."""
    log = _log(ctx, service, since, until, spec)
    return analyses.sla(
        log,
        time_limit_days=mining.time_limits(ctx),
        group_by=mining.SERVICE_COLUMN,
        end_activities=[mining.DECIDED_ACTIVITY],
        calendar=ctx.calendar,
    ).as_dict()


@router.get("/conformance")
def conformance(
    ctx: CtxDep,
    _: Analyst,
    spec: Filters,
    service: Annotated[str, Query(max_length=64, description="service item code")],
    since: Since = None,
    until: Until = None,
) -> dict[str, Any]:
    """Token-replay fitness of the service's cases against its current BPMN."""
    log = _log(ctx, service, since, until, spec)
    bpmn = mining.own_bpmn(ctx, service)
    net = bpmn_to_petri(bpmn, called=mining.own_called(ctx, bpmn))
    return replay_log(net, report.traces(log)).as_dict()


@router.get("/compare", response_model=None)
def compare(
    ctx: CtxDep,
    _: Analyst,
    spec: Filters,
    split: Annotated[datetime, Query(description="cases started before vs. from (ISO 8601)")],
    service: Service = None,
    since: Since = None,
    until: Until = None,
    fmt: Annotated[str, Query(alias="format", pattern="^(json|html)$")] = "json",
) -> dict[str, Any] | HTMLResponse:
    """Before/after a change: duration, trips, returns and rework with bootstrap CIs and
    Mann–Whitney tests, and the map diff (the CLI's ``compare`` JSON, or its HTML)."""
    log = _log(ctx, service, since, until, spec)
    opts = mining.own_options(ctx, service_code=service, split_at=split, conformance=False)
    before, after = split_by_start(log, split)
    built = report.build_compare(
        before,
        after,
        opts,
        before_source=f"started before {split.isoformat()}",
        after_source=f"started from {split.isoformat()}",
    )
    if fmt == "html":
        return HTMLResponse(report.render_compare_html(built))
    return built.as_dict()


@router.get("/report", response_class=HTMLResponse)
def html_report(
    ctx: CtxDep,
    _: Analyst,
    spec: Filters,
    service: Service = None,
    since: Since = None,
    until: Until = None,
    split: Annotated[datetime | None, Query(description="before/after split")] = None,
) -> HTMLResponse:
    """The whole analysis as one self-contained HTML page."""
    built = mining.own_report(
        ctx, service_code=service, since=since, until=until, split_at=split, log_filter=spec
    )
    return HTMLResponse(report.render_html(built))


@router.get("/report.json")
def report_json(
    ctx: CtxDep,
    _: Analyst,
    spec: Filters,
    service: Service = None,
    since: Since = None,
    until: Until = None,
    split: Annotated[datetime | None, Query(description="before/after split")] = None,
    lifecycle: Lifecycle = "complete",
) -> dict[str, Any]:
    """The full report as the documented JSON (the CLI's ``report --format json``)."""
    built = mining.own_report(
        ctx,
        service_code=service,
        since=since,
        until=until,
        split_at=split,
        lifecycle=_lifecycle(lifecycle),
        log_filter=spec,
    )
    return built.as_dict()


@router.get("/ranked-bottlenecks")
def ranked_bottlenecks(
    ctx: CtxDep,
    _: Analyst,
    spec: Filters,
    service: Service = None,
    since: Since = None,
    until: Until = None,
    top: Annotated[int, Query(ge=1, le=200)] = 15,
) -> dict[str, Any]:
    """Activities and hand-offs ranked by the waiting they add, with a sentence each."""
    prep = _prepared(ctx, service, since, until, spec)
    return report._clean_dict({"bottlenecks": measures.rank_bottlenecks(prep, top=top)})


@router.get("/handoffs")
def handoffs(
    ctx: CtxDep,
    _: Analyst,
    spec: Filters,
    service: Service = None,
    since: Since = None,
    until: Until = None,
) -> dict[str, Any]:
    """Hand-offs between departments with their waiting time, and department ping-pong."""
    prep = _prepared(ctx, service, since, until, spec)
    return report._clean_dict(
        {
            "handoffs": measures.handoffs(prep).to_dicts(),
            "ping_pong": measures.ping_pong(prep).as_dict(),
        }
    )


@router.get("/returns")
def returns(
    ctx: CtxDep,
    _: Analyst,
    spec: Filters,
    service: Service = None,
    since: Since = None,
    until: Until = None,
) -> dict[str, Any]:
    """补正 send-backs per case and per service."""
    prep = _prepared(ctx, service, since, until, spec)
    wanted = sorted({*measures.DEFAULT_RETURN_ACTIVITIES, mining.RETURN_ACTIVITY})
    return report._clean_dict(
        measures.returns(prep, wanted, group_by=mining.SERVICE_COLUMN).as_dict()
    )


@router.get("/duplicate-entry")
def duplicate_entry(
    ctx: CtxDep,
    _: Analyst,
    spec: Filters,
    service: Service = None,
    since: Since = None,
    until: Until = None,
    field: Annotated[list[str] | None, Query(description="data fields (default: all)")] = None,
) -> dict[str, Any]:
    """The same data field captured at more than one step of a case."""
    prep = _prepared(ctx, service, since, until, spec)
    return report._clean_dict(measures.duplicate_entry(prep, field).as_dict())


@router.get("/queues")
def queues(
    ctx: CtxDep,
    _: Analyst,
    spec: Filters,
    service: Service = None,
    since: Since = None,
    until: Until = None,
    interval: Annotated[
        str | None, Query(pattern=r"^[1-9][0-9]{0,2}(h|d|w|mo)$", description="e.g. 1d, 1w")
    ] = None,
) -> dict[str, Any]:
    """Cases waiting for each activity over time."""
    prep = _prepared(ctx, service, since, until, spec)
    return report._clean_dict(measures.queues(prep, interval).as_dict())
