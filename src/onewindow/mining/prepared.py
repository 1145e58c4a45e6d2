"""One sorted, integer-keyed copy of a log that every analysis of a report shares.

Sorting a million events and grouping by string case ids is what costs time; doing it
once, and handing the analyses integer case keys (``@@case``, contiguous per case), keeps
the full report well under the time of a single pm4py call. A log that already arrives
in case/time order (as our exports and most files do) is only checked, not sorted.

Columns added to every event:

- ``@@case``: 0-based case number in sorted order (cases are contiguous runs);
- ``@@lc``: the lifecycle transition, lower-case, ``complete`` when absent;
- ``@@act``: the activity as a small integer (index into ``Prepared.activities``).

Columns of the kept events (``Prepared.kept``: the lifecycle chosen for the map):

- ``@@gap``: seconds from the previous kept event of the case to this one — pm4py's
  performance-DFG duration of the edge ending here (``start_timestamp`` of this event
  when the log has that column, else its timestamp);
- ``@@begin``: when work on this activity began (its start event or
  ``start_timestamp``, else its own timestamp);
- ``@@wait``: seconds the case waited for this activity: ``@@begin`` minus the
  previous kept event's timestamp, never negative;
- ``@@service``: seconds of work (completion minus begin), null without start times;
- ``@@prev_act``: the previous kept activity's code (null on a case's first event);
- ``@@dept`` / ``@@prev_dept``: department code (index into ``Prepared.departments``)
  of this and the previous event, when the log has an ``org:group`` column.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import polars as pl

from onewindow.kit.errors import ValidationFailed
from onewindow.mining.frame import (
    ACTIVITY,
    CASE_ID,
    GROUP,
    LIFECYCLE,
    POSITION,
    START_TIMESTAMP,
    TIMESTAMP,
    UTC_MICROS,
    EventFrame,
    lazy,
    require_columns,
)

__all__ = [
    "ACT",
    "BEGIN",
    "CASE",
    "DEPT",
    "GAP",
    "LC",
    "PREV_ACT",
    "PREV_DEPT",
    "SERVICE",
    "WAIT",
    "Prepared",
    "prepare",
    "seconds",
]

CASE: Final = "@@case"
ACT: Final = "@@act"
PREV_ACT: Final = "@@prev_act"
LC: Final = "@@lc"
GAP: Final = "@@gap"
BEGIN: Final = "@@begin"
WAIT: Final = "@@wait"
SERVICE: Final = "@@service"
DEPT: Final = "@@dept"
PREV_DEPT: Final = "@@prev_dept"


def seconds(delta: pl.Expr) -> pl.Expr:
    return delta.dt.total_microseconds().cast(pl.Float64) / 1_000_000.0


@dataclass(frozen=True)
class Prepared:
    """A log sorted once, with per-event helpers; see the module docstring."""

    events: pl.DataFrame
    kept: pl.DataFrame
    cases: pl.DataFrame
    lifecycle: tuple[str, ...] | None
    has_start: bool
    has_departments: bool
    activities: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()

    def department_names(self, codes: str, alias: str) -> pl.Expr:
        """Department names for a column of ``@@dept`` codes."""
        mapping = dict(enumerate(self.departments))
        return (
            pl.col(codes).replace_strict(mapping, default=None, return_dtype=pl.String).alias(alias)
        )

    def names(self, codes: str, alias: str) -> pl.Expr:
        """Activity names for a column of ``@@act`` codes."""
        mapping = dict(enumerate(self.activities))
        return (
            pl.col(codes).replace_strict(mapping, default=None, return_dtype=pl.String).alias(alias)
        )

    def codes(self, names: Iterable[str]) -> list[int]:
        """The ``@@act`` codes of the named activities that occur in the log."""
        index = {a: i for i, a in enumerate(self.activities)}
        return sorted(index[n] for n in set(names) if n in index)

    @property
    def case_count(self) -> int:
        return self.cases.height

    @property
    def total_cycle_seconds(self) -> float:
        return float(self.cases["duration"].sum() or 0.0) if self.cases.height else 0.0


def _typed(log: EventFrame) -> pl.DataFrame:
    require_columns(log, CASE_ID, ACTIVITY, TIMESTAMP)
    frame = lazy(log)
    schema = frame.collect_schema()
    if POSITION not in schema.names():
        frame = frame.with_row_index(POSITION)
    casts = [pl.col(CASE_ID).cast(pl.String), pl.col(ACTIVITY).cast(pl.String)]
    for name in (TIMESTAMP, START_TIMESTAMP):
        if name not in schema.names():
            continue
        dtype = schema[name]
        stamp = pl.col(name)
        if isinstance(dtype, pl.Datetime):
            stamp = (
                stamp.dt.replace_time_zone("UTC")
                if dtype.time_zone is None
                else stamp.dt.convert_time_zone("UTC")
            )
        elif name == START_TIMESTAMP and dtype == pl.String:
            from onewindow.mining.importers import parse_timestamps

            stamp = parse_timestamps(stamp)
        casts.append(stamp.cast(UTC_MICROS))
    return frame.with_columns(casts).collect()


def _sort(frame: pl.DataFrame) -> pl.DataFrame:
    """Stable case/time order, cases contiguous, with ``@@case`` numbering the runs.

    A frame whose cases are already contiguous runs in time order (our exports, most
    files) is only checked, never sorted; one with contiguous cases out of time order
    is sorted on integer keys; anything else on the case id.
    """
    run = pl.col(CASE_ID).rle_id().cast(pl.UInt32)
    framed = frame.with_columns(run.alias(CASE))
    if frame.height < 2:
        return framed
    case, stamp, pos = pl.col(CASE), pl.col(TIMESTAMP), pl.col(POSITION)
    same = case == case.shift(1)
    check = framed.select(
        (~same | (stamp > stamp.shift(1)) | ((stamp == stamp.shift(1)) & (pos > pos.shift(1))))
        .slice(1)
        .all()
        .alias("time"),
        (case.max() + 1 == pl.col(CASE_ID).n_unique()).alias("contiguous"),
    ).row(0, named=True)
    if check["contiguous"]:
        if check["time"]:
            return framed
        return framed.sort(CASE, TIMESTAMP, POSITION)
    return frame.sort(CASE_ID, TIMESTAMP, POSITION).with_columns(run.alias(CASE))


def _keep(events: pl.DataFrame, lifecycle: tuple[str, ...] | None) -> pl.DataFrame:
    if lifecycle is None:
        return events
    wanted = pl.col(LC).is_in(list(lifecycle))
    if events.select(wanted.all()).item():
        return events
    return events.filter(wanted)


def prepare(
    log: EventFrame | Prepared, lifecycle: str | Iterable[str] | None = "complete"
) -> Prepared:
    """Sort and annotate a log once (see the module docstring).

    Raises:
        ValidationFailed: the log lacks case, activity or timestamp, or its timestamps
            are not instants.
    """
    wanted = (
        None
        if lifecycle is None
        else tuple(w.lower() for w in ([lifecycle] if isinstance(lifecycle, str) else lifecycle))
    )
    if isinstance(log, Prepared):
        if log.lifecycle == wanted:
            return log
        log = log.events.drop(CASE, LC)
    try:
        typed = _typed(log)
    except pl.exceptions.InvalidOperationError as exc:
        raise ValidationFailed(
            f"the timestamp column cannot be read as instants: {exc}",
            message_zh="时间戳列无法识别为时间",
            code="mining.timestamps_invalid",
        ) from exc
    names = typed.columns
    lc = pl.lit("complete")
    if LIFECYCLE in names:
        # A handful of distinct values: map each once instead of lower-casing every row.
        seen = typed.get_column(LIFECYCLE).cast(pl.String).unique().drop_nulls().to_list()
        lc = (
            pl.col(LIFECYCLE)
            .cast(pl.String)
            .replace_strict({v: v.lower() for v in seen}, default="complete")
        )
    activities = tuple(typed.get_column(ACTIVITY).unique().drop_nulls().sort().to_list())
    events = _sort(typed).with_columns(
        lc.alias(LC),
        (
            pl.col(ACTIVITY).cast(pl.Enum(activities)).to_physical().cast(pl.UInt32)
            if activities
            else pl.lit(None, pl.UInt32)
        ).alias(ACT),
    )
    has_start_col = START_TIMESTAMP in names
    kept = _keep(events, wanted)
    # Work start: start_timestamp column, else the k-th start event of an activity in
    # the case pairs with its k-th completion (only when the map keeps completions).
    begin = pl.col(TIMESTAMP)
    paired = False
    if has_start_col:
        begin = pl.coalesce(START_TIMESTAMP, TIMESTAMP)
    elif wanted == ("complete",):
        starts = events.filter(pl.col(LC) == "start")
        if starts.height:
            paired = True
            rank = pl.int_range(pl.len()).over(CASE, ACTIVITY).alias("@@k")
            kept = (
                kept.with_columns(rank)
                .join(
                    starts.select(
                        CASE, ACTIVITY, pl.col(TIMESTAMP).alias("@@started")
                    ).with_columns(rank),
                    on=[CASE, ACTIVITY, "@@k"],
                    how="left",
                    maintain_order="left",
                )
                .drop("@@k")
            )
            begin = pl.coalesce("@@started", TIMESTAMP)
    has_dept = GROUP in names
    same = pl.col(CASE) == pl.col(CASE).shift(1)
    prev_ts = pl.when(same).then(pl.col(TIMESTAMP).shift(1))
    gap_end = pl.coalesce(START_TIMESTAMP, TIMESTAMP) if has_start_col else pl.col(TIMESTAMP)
    departments: tuple[str, ...] = ()
    dept = pl.lit(None, pl.UInt32)
    if has_dept:
        text = pl.col(GROUP).cast(pl.String)
        departments = tuple(
            sorted(v for v in events.select(text.unique()).to_series().to_list() if v)
        )
        if departments:
            dept = text.replace("", None).cast(pl.Enum(departments)).to_physical().cast(pl.UInt32)
    kept = (
        kept.with_columns(begin.alias(BEGIN), dept.alias(DEPT))
        .with_columns(
            seconds(gap_end - prev_ts).alias(GAP),
            seconds(pl.col(BEGIN) - prev_ts).clip(lower_bound=0.0).alias(WAIT),
            (
                seconds(
                    pl.col(TIMESTAMP) - pl.col(START_TIMESTAMP if has_start_col else "@@started")
                ).clip(lower_bound=0.0)
                if has_start_col or paired
                else pl.lit(None, pl.Float64)
            ).alias(SERVICE),
            pl.when(same).then(pl.col(ACT).shift(1)).alias(PREV_ACT),
            pl.when(same).then(pl.col(DEPT).shift(1)).alias(PREV_DEPT),
        )
        .drop("@@started", strict=False)
    )
    case_attrs = [c for c in names if c.startswith("case:") and c != CASE_ID]
    cases = (
        events.group_by(CASE, maintain_order=True)
        .agg(
            pl.col(CASE_ID).first(),
            pl.col(TIMESTAMP).min().alias("start"),
            pl.col(TIMESTAMP).max().alias("end"),
            pl.len().alias("events"),
            *[pl.col(c).drop_nulls().first() for c in case_attrs],
        )
        .with_columns(seconds(pl.col("end") - pl.col("start")).alias("duration"))
    )
    has_start = has_start_col or paired
    has_departments = bool(departments) and kept.select(pl.col(DEPT).is_not_null().any()).item()
    return Prepared(
        events, kept, cases, wanted, has_start, bool(has_departments), activities, departments
    )
