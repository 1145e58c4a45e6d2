"""Where time goes and what applicants go through: bottlenecks, trips, rework, SLA.

All durations are in seconds. Service time is the time between an activity's ``start``
and its ``complete`` event (the k-th start of an activity in a case pairs with its k-th
complete); waiting time is the time from the case's previous completed event to the
start of the activity (to its completion when the log has no start events).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Final

import polars as pl

from onewindow.kit.calendar import WorkingCalendar, default_calendar
from onewindow.kit.errors import ValidationFailed
from onewindow.mining.frame import (
    ACTIVITY,
    ACTIVITY_ID,
    CASE_ID,
    TIMESTAMP,
    UTC_MICROS,
    EventFrame,
    with_lifecycle,
)
from onewindow.mining.importers import parse_timestamps
from onewindow.mining.prepared import ACT, CASE, LC, SERVICE, WAIT, Prepared, prepare

__all__ = [
    "Bottlenecks",
    "ReworkReport",
    "SlaReport",
    "TripsReport",
    "bottlenecks",
    "case_table",
    "rework",
    "sla",
    "trips",
]

_P90: Final = 0.9


def _mean(values: pl.Series) -> float:
    """Mean of a float series; 0.0 when empty."""
    if values.is_empty():
        return 0.0
    return float(values.cast(pl.Float64).fill_null(0.0).sum()) / values.len()


# --------------------------------------------------------------------------- cases


def case_table(
    log: EventFrame | Prepared, *, lifecycle: str | Iterable[str] | None = None
) -> pl.DataFrame:
    """One row per case: first and last timestamp, duration (s), events, plus every
    ``case:`` attribute (its first value)."""
    if isinstance(log, Prepared):
        return log.cases.drop(CASE).sort(CASE_ID)
    return prepare(with_lifecycle(log, lifecycle), None).cases.drop(CASE).sort(CASE_ID)


# --------------------------------------------------------------------------- bottlenecks


@dataclass(frozen=True)
class Bottlenecks:
    """瓶颈: per activity, how long it waits and how long it takes (seconds).

    ``activities``: activity, executions, cases, service_mean/median/p90 (null without
    start times), waiting_mean/median/p90/max, waiting_total and waiting_share (of all
    cases' cycle time). Sorted by waiting_total, the case-time an activity's queue costs.
    """

    activities: pl.DataFrame
    has_start_events: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "has_start_events": self.has_start_events,
            "activities": self.activities.to_dicts(),
        }


def bottlenecks(log: EventFrame | Prepared) -> Bottlenecks:
    """Service and waiting time per activity, from start times where the log has them.

    Waiting is the time from the case's previous completed event to the activity's
    start (to its completion when it has no start).

    Raises:
        ValidationFailed: the log lacks case, activity or timestamp.
    """
    prep = prepare(log, "complete")
    cycle = prep.total_cycle_seconds
    table = (
        prep.kept.lazy()
        .group_by(ACT)
        .agg(
            pl.len().alias("executions"),
            pl.col(CASE).n_unique().alias("cases"),
            pl.col(SERVICE).mean().alias("service_mean"),
            pl.col(SERVICE).median().alias("service_median"),
            pl.col(SERVICE).quantile(_P90, "linear").alias("service_p90"),
            pl.col(WAIT).mean().alias("waiting_mean"),
            pl.col(WAIT).median().alias("waiting_median"),
            pl.col(WAIT).quantile(_P90, "linear").alias("waiting_p90"),
            pl.col(WAIT).max().alias("waiting_max"),
            pl.col(WAIT).sum().alias("waiting_total"),
        )
        .with_columns(
            (pl.col("waiting_total") / cycle if cycle else pl.lit(0.0)).alias("waiting_share")
        )
        .with_columns(prep.names(ACT, "activity"))
        .drop(ACT)
        .select("activity", pl.all().exclude("activity"))
        .sort(["waiting_total", "activity"], descending=[True, False], nulls_last=True)
        .collect()
    )
    return Bottlenecks(table, prep.has_start)


# --------------------------------------------------------------------------- trips


@dataclass(frozen=True)
class TripsReport:
    """跑动次数: how many times applicants had to come in person (最多跑一次).

    ``per_case``: case, trips. ``distribution``: trips, cases. ``by_group``: per value
    of ``group_by`` (e.g. service), cases, mean trips, share at most one trip.
    """

    activities: list[str]
    cases: int
    mean_trips: float
    at_most_one_share: float
    zero_trip_share: float
    distribution: pl.DataFrame
    per_case: pl.DataFrame
    by_group: pl.DataFrame | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "activities": self.activities,
            "cases": self.cases,
            "mean_trips": self.mean_trips,
            "at_most_one_share": self.at_most_one_share,
            "zero_trip_share": self.zero_trip_share,
            "distribution": self.distribution.to_dicts(),
            "by_group": None if self.by_group is None else self.by_group.to_dicts(),
        }


def trips(
    log: EventFrame | Prepared,
    in_person: Iterable[str],
    *,
    group_by: str | None = None,
) -> TripsReport:
    """Count, per case, the completed events of activities that need the applicant there.

    ``in_person`` holds activity names, or BPMN task ids matched against our log's
    ``activity_id`` column. Each completed in-person activity is one trip; a 补正 loop
    that sends the applicant back to the window shows as a second one.
    """
    wanted = sorted(set(in_person))
    prep = prepare(log, "complete") if not isinstance(log, Prepared) else log
    events = prep.events
    names = events.columns
    match = pl.col(ACT).is_in(prep.codes(wanted))
    if ACTIVITY_ID in names:
        match = match | pl.col(ACTIVITY_ID).cast(pl.String).is_in(wanted)
    group = group_by if group_by and group_by in names else None
    counted = (
        events.lazy()
        .group_by(CASE)
        .agg((match & (pl.col(LC) == "complete")).sum().cast(pl.Int64).alias("trips"))
    )
    per_case = (
        prep.cases.lazy()
        .select(CASE, CASE_ID, *([group] if group and group in prep.cases.columns else []))
        .join(counted, on=CASE, how="left", maintain_order="left")
    )
    if group and group not in prep.cases.columns:
        firsts = events.lazy().group_by(CASE).agg(pl.col(group).drop_nulls().first())
        per_case = per_case.join(firsts, on=CASE, how="left", maintain_order="left")
    per_case_df = (
        per_case.select(CASE_ID, "trips", *([group] if group else [])).sort(CASE_ID).collect()
    )
    cases = per_case_df.height
    distribution = (
        per_case_df.group_by("trips").agg(pl.len().alias("cases")).sort("trips")
        if cases
        else pl.DataFrame(schema={"trips": pl.Int64, "cases": pl.UInt32})
    )
    by_group = None
    if group is not None:
        by_group = (
            per_case_df.group_by(group)
            .agg(
                pl.len().alias("cases"),
                pl.col("trips").mean().alias("mean_trips"),
                (pl.col("trips") <= 1).mean().alias("at_most_one_share"),
            )
            .sort(group)
        )
    trip_values = per_case_df["trips"].cast(pl.Float64)
    return TripsReport(
        activities=wanted,
        cases=cases,
        mean_trips=_mean(trip_values),
        at_most_one_share=_mean((trip_values <= 1).cast(pl.Float64)),
        zero_trip_share=_mean((trip_values == 0).cast(pl.Float64)),
        distribution=distribution,
        per_case=per_case_df,
        by_group=by_group,
    )


# --------------------------------------------------------------------------- rework


@dataclass(frozen=True)
class ReworkReport:
    """返工: activities done more than once in a case.

    ``activities``: activity, cases (with it), rework_cases (with it more than once),
    rework_share, extra_executions. ``returns``: cases with a return activity
    (e.g. 补正通知) and their share, when one is named.
    """

    cases: int
    rework_cases: int
    rework_share: float
    activities: pl.DataFrame
    return_activity: str | None = None
    return_cases: int = 0
    return_share: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "rework_cases": self.rework_cases,
            "rework_share": self.rework_share,
            "activities": self.activities.to_dicts(),
            "return_activity": self.return_activity,
            "return_cases": self.return_cases,
            "return_share": self.return_share,
        }


def rework(
    log: EventFrame | Prepared,
    *,
    lifecycle: str | Iterable[str] | None = "complete",
    return_activity: str | None = None,
) -> ReworkReport:
    """Repeated activities per case (completed events only by default)."""
    prep = prepare(log, lifecycle)
    # One integer key per (case, activity) groups far faster than the pair.
    width = max(len(prep.activities), 1)
    key = (pl.col(CASE).cast(pl.UInt64) * width + pl.col(ACT)).alias("@@key")
    counts = (
        prep.kept.group_by(key)
        .agg(pl.len().alias("n"))
        .with_columns(
            (pl.col("@@key") // width).cast(pl.UInt32).alias(CASE),
            (pl.col("@@key") % width).cast(pl.UInt32).alias(ACT),
        )
    )
    cases = prep.case_count
    table = (
        counts.group_by(ACT)
        .agg(
            pl.len().alias("cases"),
            (pl.col("n") > 1).sum().alias("rework_cases"),
            (pl.col("n") - 1).sum().alias("extra_executions"),
        )
        .with_columns(
            (pl.col("rework_cases") / pl.col("cases")).alias("rework_share"),
            prep.names(ACT, "activity"),
        )
        .select("activity", "cases", "rework_cases", "extra_executions", "rework_share")
        .sort(["rework_cases", "activity"], descending=[True, False])
    )
    rework_cases = counts.filter(pl.col("n") > 1)[CASE].n_unique()
    return_cases = 0
    if return_activity is not None:
        wanted = prep.codes([return_activity])
        return_cases = counts.filter(pl.col(ACT).is_in(wanted))[CASE].n_unique()
    return ReworkReport(
        cases=cases,
        rework_cases=rework_cases,
        rework_share=rework_cases / cases if cases else 0.0,
        activities=table,
        return_activity=return_activity,
        return_cases=return_cases,
        return_share=return_cases / cases if cases else 0.0,
    )


# --------------------------------------------------------------------------- SLA


@dataclass(frozen=True)
class SlaReport:
    """承诺时限: did cases finish within their legal time limit (working days)?

    ``per_case``: case, start, end, deadline, workdays_used, on_time, workdays_over
    (working days past the deadline, 0 when on time), and the group column when given.
    Cases without a known limit, and cases not yet finished, are left out and counted.
    """

    cases: int
    on_time: int
    on_time_share: float
    overdue: int
    without_limit: int
    mean_workdays: float | None
    per_case: pl.DataFrame
    by_group: pl.DataFrame | None = None
    notes: list[str] = field(default_factory=list)
    open_cases: int = 0

    @property
    def overdue_cases(self) -> pl.DataFrame:
        """Overdue cases, most working days over first."""
        return self.per_case.filter(~pl.col("on_time")).sort(
            ["workdays_over", CASE_ID], descending=[True, False]
        )

    def as_dict(self, top: int = 20) -> dict[str, Any]:
        overdue = self.overdue_cases
        over = overdue["workdays_over"] if overdue.height else None
        return {
            "cases": self.cases,
            "on_time": self.on_time,
            "on_time_share": self.on_time_share,
            "overdue": self.overdue,
            "overdue_share": self.overdue / self.cases if self.cases else 0.0,
            "without_limit": self.without_limit,
            "open_cases": self.open_cases,
            "mean_workdays": self.mean_workdays,
            "mean_workdays_over": None if over is None else float(over.mean()),  # type: ignore[arg-type]
            "max_workdays_over": None if over is None else int(over.max()),  # type: ignore[arg-type]
            "overdue_cases": [
                {
                    "case": row[CASE_ID],
                    "start": row["start"].isoformat(),
                    "end": row["end"].isoformat(),
                    "deadline": row["deadline"].isoformat(),
                    "workdays_over": row["workdays_over"],
                }
                for row in overdue.head(top).iter_rows(named=True)
            ],
            "by_group": None if self.by_group is None else self.by_group.to_dicts(),
            "notes": self.notes,
        }


def _workday_table(cal: WorkingCalendar, first: date, last: date) -> pl.DataFrame:
    """Every local day from ``first`` to ``last``: is it a working day, and the running
    count of working days up to and including it (``cum``)."""
    days = pl.date_range(first, last, "1d", eager=True)
    flags = [cal.is_workday(d) for d in days.to_list()]
    return pl.DataFrame({"day": days, "workday": flags}).with_columns(
        pl.col("workday").cast(pl.Int64).cum_sum().alias("cum")
    )


def sla(
    log: EventFrame | Prepared,
    *,
    time_limit_days: int | Mapping[str, int] | None = None,
    group_by: str | None = None,
    deadline_column: str | None = None,
    end_activities: Iterable[str] | None = None,
    calendar: WorkingCalendar | None = None,
) -> SlaReport:
    """Legal-deadline compliance per case, in working days, computed column-wise.

    A case starts at its first event and ends at its first event of ``end_activities``
    (or its last event when none are named; cases that never reach one are left out as
    still open). Its deadline is either ``deadline_column`` (a ``case:`` timestamp, e.g.
    WABO's ``case:deadline``) or the end of the working day ``time_limit_days`` working
    days after the start (民法典 §201: the start day is not counted), with a mapping
    keyed by the ``group_by`` value (e.g. service code → limit). The results equal
    :meth:`WorkingCalendar.deadline` and :meth:`WorkingCalendar.workdays_between`.

    Raises:
        ValidationFailed: neither a deadline column nor a time limit is given, or the
            log lacks the needed columns.
    """
    if time_limit_days is None and deadline_column is None:
        raise ValidationFailed(
            "SLA analysis needs a time limit (working days) or a deadline column",
            message_zh="时限分析需要承诺时限（工作日）或截止时间列",
            code="mining.sla_unconfigured",
        )
    cal = calendar or default_calendar()
    prep = log if isinstance(log, Prepared) else prepare(log, "complete")
    events = prep.events
    names = events.columns
    notes: list[str] = []
    if deadline_column and deadline_column not in names:
        notes.append(f"no column {deadline_column}; deadlines come from the time limit")
        deadline_column = None
    ends_at = pl.col(TIMESTAMP).max()
    if end_activities is not None:
        ends_at = pl.col(TIMESTAMP).filter(pl.col(ACTIVITY).is_in(list(end_activities))).min()
    extra = [c for c in dict.fromkeys([group_by, deadline_column]) if c and c in names]
    cases = (
        events.lazy()
        .group_by(CASE)
        .agg(
            pl.col(CASE_ID).first(),
            pl.col(TIMESTAMP).min().alias("start"),
            ends_at.alias("end"),
            *[pl.col(c).drop_nulls().first() for c in extra],
        )
        .collect()
    )
    open_cases = cases["end"].null_count()
    if open_cases:
        notes.append(f"{open_cases} cases have not reached an end activity and are left out")
    cases = cases.filter(pl.col("end").is_not_null())
    group = group_by if group_by and group_by in names else None
    if group is not None:
        cases = cases.with_columns(pl.col(group).cast(pl.String))
    zone = cal.tz

    def local_day(column: str) -> pl.Expr:
        return pl.col(column).dt.convert_time_zone(zone).dt.date()

    if deadline_column:
        given = pl.col(deadline_column)
        dtype = cases.schema[deadline_column]
        if not isinstance(dtype, pl.Datetime):
            given = parse_timestamps(given.cast(pl.String))
        elif dtype.time_zone is None:
            given = given.dt.replace_time_zone("UTC")
        cases = cases.with_columns(given.cast(UTC_MICROS).alias("@@given"))
    else:
        cases = cases.with_columns(pl.lit(None, UTC_MICROS).alias("@@given"))
    if isinstance(time_limit_days, int):
        limit = pl.lit(time_limit_days, pl.Int64)
    elif isinstance(time_limit_days, Mapping) and group is not None:
        limit = pl.col(group).replace_strict(
            {str(k): int(v) for k, v in time_limit_days.items()},
            default=None,
            return_dtype=pl.Int64,
        )
    else:
        limit = pl.lit(None, pl.Int64)
    cases = cases.with_columns(
        limit.alias("@@limit"), local_day("start").alias("@@d0"), local_day("end").alias("@@d1")
    )
    if cases.height:
        max_limit = int(cases["@@limit"].max() or 0)  # type: ignore[arg-type]
        bounds = cases.select(
            pl.min_horizontal(pl.col("@@d0").min(), pl.col("@@d1").min()).alias("lo"),
            pl.max_horizontal(pl.col("@@d0").max(), pl.col("@@d1").max()).alias("hi"),
            local_day("@@given").min().alias("glo"),
            local_day("@@given").max().alias("ghi"),
        ).row(0, named=True)
        lo = min(d for d in (bounds["lo"], bounds["glo"]) if d is not None)
        hi = max(d for d in (bounds["hi"], bounds["ghi"]) if d is not None)
        days = _workday_table(cal, lo, hi + timedelta(days=2 * max_limit + 60))
    else:
        days = _workday_table(cal, date(2000, 1, 1), date(2000, 1, 2))
    cum = days.select(pl.col("day"), pl.col("cum"), pl.col("workday"))
    by_cum = days.filter(pl.col("workday")).select(
        pl.col("cum").alias("@@target"), pl.col("day").alias("@@due")
    )
    timed = (
        cases.join(
            cum.rename({"day": "@@d0", "cum": "@@c0", "workday": "@@w0"}), on="@@d0", how="left"
        )
        .join(
            cum.select(pl.col("day").alias("@@d1"), pl.col("cum").alias("@@c1")),
            on="@@d1",
            how="left",
        )
        .with_columns(
            pl.when(pl.col("@@limit") == 0)
            .then(pl.col("@@c0") + (~pl.col("@@w0")).cast(pl.Int64))
            .otherwise(pl.col("@@c0") + pl.col("@@limit"))
            .alias("@@target")
        )
        .join(by_cum, on="@@target", how="left")
        .with_columns(
            pl.coalesce(
                "@@given",
                (
                    pl.col("@@due").cast(pl.Datetime("us"))
                    + pl.duration(hours=23, minutes=59, seconds=59)
                )
                .dt.replace_time_zone(zone)
                .dt.convert_time_zone("UTC"),
            ).alias("deadline")
        )
    )
    without = timed["deadline"].null_count()
    timed = timed.filter(pl.col("deadline").is_not_null())
    per_case = (
        timed.join(
            cum.select(pl.col("day").alias("@@dd"), pl.col("cum").alias("@@cd")),
            left_on=local_day("deadline"),
            right_on="@@dd",
            how="left",
        )
        .with_columns(
            (pl.col("@@c1") - pl.col("@@c0")).alias("workdays_used"),
            (pl.col("end") <= pl.col("deadline")).alias("on_time"),
        )
        .with_columns(
            pl.when(pl.col("on_time"))
            .then(0)
            .otherwise((pl.col("@@c1") - pl.col("@@cd")).clip(lower_bound=0))
            .cast(pl.Int64)
            .alias("workdays_over")
        )
        .select(
            CASE_ID,
            "start",
            "end",
            pl.col("deadline").cast(UTC_MICROS),
            pl.col("workdays_used").cast(pl.Int64),
            "on_time",
            "workdays_over",
            *([group] if group else []),
        )
        .sort(CASE_ID)
    )
    on_time = int(per_case["on_time"].sum()) if per_case.height else 0
    by_group = None
    if group and per_case.height:
        by_group = (
            per_case.group_by(group)
            .agg(
                pl.len().alias("cases"),
                pl.col("on_time").mean().alias("on_time_share"),
                pl.col("workdays_used").mean().alias("mean_workdays"),
                (~pl.col("on_time")).sum().alias("overdue"),
            )
            .sort(group)
        )
    if without:
        notes.append(f"{without} cases have no known time limit and are left out")
    return SlaReport(
        cases=per_case.height,
        on_time=on_time,
        on_time_share=on_time / per_case.height if per_case.height else 0.0,
        overdue=per_case.height - on_time,
        without_limit=without,
        mean_workdays=float(per_case["workdays_used"].mean())  # type: ignore[arg-type]
        if per_case.height
        else None,
        per_case=per_case,
        by_group=by_group,
        notes=notes,
        open_cases=open_cases,
    )
