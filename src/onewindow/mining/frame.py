"""Event-log frames as the analyses read them: XES column names, UTC instants, stable order.

Every analysis takes a polars ``DataFrame`` or ``LazyFrame`` whose columns are named after
XES keys (the names our own export writes and pm4py reads). Events of one case are ordered
by timestamp; events with equal timestamps keep their order in the input (a stable sort),
which is what pm4py does, so both tools see the same traces on day-precision logs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

import polars as pl

from onewindow.kit.errors import ValidationFailed

__all__ = [
    "ACTIVITY",
    "ACTIVITY_ID",
    "CASE_ID",
    "CHANNEL",
    "GROUP",
    "LIFECYCLE",
    "POSITION",
    "RESOURCE",
    "SERVICE_KEY",
    "START_TIMESTAMP",
    "TIMESTAMP",
    "EventFrame",
    "lazy",
    "ordered",
    "require_columns",
    "with_lifecycle",
]

# The XES keys (IEEE 1849) our export writes; see onewindow.eventlog.export.
CASE_ID: Final = "case:concept:name"
ACTIVITY: Final = "concept:name"
TIMESTAMP: Final = "time:timestamp"
LIFECYCLE: Final = "lifecycle:transition"
RESOURCE: Final = "org:resource"
GROUP: Final = "org:group"  # the department (科室/部门) that handled the event
# pm4py's key for when work on an event's activity began (optional).
START_TIMESTAMP: Final = "start_timestamp"
CHANNEL: Final = "case:channel"
SERVICE_KEY: Final = "case:service"
# Our own log's BPMN element id of the task an event belongs to.
ACTIVITY_ID: Final = "activity_id"
# Input position, the tie-breaker that makes the (case, time) sort stable.
POSITION: Final = "@@position"

EventFrame = pl.DataFrame | pl.LazyFrame
UTC_MICROS: Final = pl.Datetime("us", "UTC")


def lazy(log: EventFrame) -> pl.LazyFrame:
    return log.lazy() if isinstance(log, pl.DataFrame) else log


def require_columns(log: EventFrame, *names: str) -> None:
    """Raises ValidationFailed (code ``mining.columns_missing``) naming what is absent."""
    present = set(lazy(log).collect_schema().names())
    missing = [n for n in names if n not in present]
    if missing:
        listed = ", ".join(missing)
        raise ValidationFailed(
            f"the event log has no column {listed}; map your columns to XES keys on import",
            message_zh=f"事件日志缺少列 {listed}；导入时请把列映射到 XES 键",
            code="mining.columns_missing",
            details={"missing": missing, "present": sorted(present)},
        )


def with_lifecycle(log: EventFrame, lifecycle: str | Iterable[str] | None) -> EventFrame:
    """Keep the events whose ``lifecycle:transition`` is one of ``lifecycle``.

    ``None`` keeps every event. A log without the column, and events with no value in
    it, count as ``complete`` (the XES default), so a plain log is never emptied. A
    DataFrame stays a DataFrame (order kept), a LazyFrame stays lazy.
    """
    if lifecycle is None:
        return log
    wanted = [lifecycle] if isinstance(lifecycle, str) else list(lifecycle)
    if LIFECYCLE not in lazy(log).collect_schema().names():
        return log if "complete" in wanted else log.filter(pl.lit(False))
    value = pl.col(LIFECYCLE).cast(pl.String).str.to_lowercase().fill_null("complete")
    return log.filter(value.is_in([w.lower() for w in wanted]))


def ordered(log: EventFrame) -> pl.LazyFrame:
    """Events sorted by case, then timestamp, ties in input order; adds ``@@position``.

    Case id and activity become strings and the timestamp a UTC instant, so frames from
    any importer compare and join alike.

    Raises:
        ValidationFailed: a needed column is missing.
    """
    require_columns(log, CASE_ID, ACTIVITY, TIMESTAMP)
    frame = lazy(log)
    if POSITION not in frame.collect_schema().names():
        frame = frame.with_row_index(POSITION)
    schema = frame.collect_schema()
    stamp = pl.col(TIMESTAMP)
    dtype = schema[TIMESTAMP]
    if isinstance(dtype, pl.Datetime):
        stamp = (
            stamp.dt.replace_time_zone("UTC")
            if dtype.time_zone is None
            else stamp.dt.convert_time_zone("UTC")
        )
    stamp = stamp.cast(UTC_MICROS)
    typed = frame.with_columns(
        pl.col(CASE_ID).cast(pl.String), pl.col(ACTIVITY).cast(pl.String), stamp
    )
    if isinstance(log, pl.DataFrame) and _already_ordered(log):
        return typed  # an earlier ordered() result: one linear check instead of a sort
    return typed.sort([CASE_ID, TIMESTAMP, POSITION])


def _already_ordered(frame: pl.DataFrame) -> bool:
    schema = frame.schema
    if (
        POSITION not in schema
        or schema[CASE_ID] != pl.String
        or schema[TIMESTAMP] != UTC_MICROS
        or frame.height < 2
    ):
        return False
    case, stamp, pos = pl.col(CASE_ID), pl.col(TIMESTAMP), pl.col(POSITION)
    later = (
        (case > case.shift(1))
        | ((case == case.shift(1)) & (stamp > stamp.shift(1)))
        | ((case == case.shift(1)) & (stamp == stamp.shift(1)) & (pos > pos.shift(1)))
    )
    return bool(frame.select(later.slice(1).all()).item())
