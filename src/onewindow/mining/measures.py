"""Government-service measures none of the general tools has built in.

- :func:`returns`: 补正 send-backs per case and per service;
- :func:`ping_pong`: a case handed from department A to B and straight back to A;
- :func:`handoffs`: transfers between departments and how long the case waited;
- :func:`duplicate_entry`: the same data field captured at more than one step;
- :func:`queues`: how many cases wait for each activity, over time;
- :func:`rank_bottlenecks`: activities, activity hand-offs and department hand-offs
  ranked by the waiting time they add, as a share of all cases' cycle time, each with a
  sentence ("材料审核 → 消防审查 waits 3.2 days median, 41 % of cycle time").

All take a :class:`~onewindow.mining.prepared.Prepared` log (or any event frame) and
give durations in seconds. Waiting is defined as in :mod:`~onewindow.mining.prepared`;
on a log with one timestamp per event the waits of a case add up to its cycle time,
so the shares of all activity hand-offs add up to 100 %.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import polars as pl

from onewindow.mining.frame import (
    ACTIVITY,
    ACTIVITY_ID,
    CASE_ID,
    GROUP,
    LIFECYCLE,
    POSITION,
    RESOURCE,
    START_TIMESTAMP,
    TIMESTAMP,
    EventFrame,
)
from onewindow.mining.layout import human_duration
from onewindow.mining.prepared import (
    ACT,
    BEGIN,
    CASE,
    DEPT,
    PREV_ACT,
    PREV_DEPT,
    WAIT,
    Prepared,
    prepare,
)

__all__ = [
    "DEFAULT_RETURN_ACTIVITIES",
    "RESERVED_KEYS",
    "DuplicateEntryReport",
    "PingPongReport",
    "QueueReport",
    "ReturnsReport",
    "period_bounds",
    "duplicate_entry",
    "handoffs",
    "ping_pong",
    "queues",
    "rank_bottlenecks",
    "returns",
]

P90: Final = 0.9
# Activity names that mean "sent back to the applicant for more material" (补正).
DEFAULT_RETURN_ACTIVITIES: Final = ("补正通知", "补正告知", "退回补正")
# Columns that describe the event itself, never a data field someone typed in.
# Share of events that must carry a value for a column to count as an event identifier.
IDENTIFIER_COVERAGE: Final = 0.95
RESERVED_KEYS: Final = frozenset(
    {
        CASE_ID,
        ACTIVITY,
        TIMESTAMP,
        START_TIMESTAMP,
        LIFECYCLE,
        RESOURCE,
        GROUP,
        ACTIVITY_ID,
        POSITION,
        "org:role",
        "concept:instance",
        "event_type",
        "channel",
        "ocel:eid",
        "@@row",
    }
)


def _prep(log: EventFrame | Prepared) -> Prepared:
    return log if isinstance(log, Prepared) else prepare(log, "complete")


def _stats(column: str) -> list[pl.Expr]:
    return [
        pl.col(column).mean().alias("mean_seconds"),
        pl.col(column).median().alias("median_seconds"),
        pl.col(column).quantile(P90, "linear").alias("p90_seconds"),
        pl.col(column).max().alias("max_seconds"),
        pl.col(column).sum().alias("total_seconds"),
    ]


# --------------------------------------------------------------------------- returns


@dataclass(frozen=True)
class ReturnsReport:
    """补正: how often cases were sent back to the applicant, per case and per service."""

    activities: list[str]
    cases: int
    cases_with_returns: int
    total_returns: int
    distribution: pl.DataFrame  # returns, cases
    by_group: pl.DataFrame | None
    group_by: str | None

    @property
    def share(self) -> float:
        return self.cases_with_returns / self.cases if self.cases else 0.0

    @property
    def mean_per_case(self) -> float:
        return self.total_returns / self.cases if self.cases else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "activities": self.activities,
            "cases": self.cases,
            "cases_with_returns": self.cases_with_returns,
            "share": self.share,
            "total_returns": self.total_returns,
            "mean_per_case": self.mean_per_case,
            "distribution": self.distribution.to_dicts(),
            "group_by": self.group_by,
            "by_group": None
            if self.by_group is None
            else [
                {
                    "group": None if g is None else str(g),
                    "cases": c,
                    "cases_with_returns": r,
                    "share": s,
                    "mean_per_case": m,
                }
                for g, c, r, s, m in self.by_group.iter_rows()
            ],
        }


def returns(
    log: EventFrame | Prepared,
    activities: Iterable[str] = DEFAULT_RETURN_ACTIVITIES,
    *,
    group_by: str | None = None,
) -> ReturnsReport:
    """Send-backs (补正) per case: completed events of the ``activities`` (names or, in
    our own log, BPMN task ids), per case and per value of ``group_by`` (a case column
    such as ``case:service``)."""
    prep = _prep(log)
    wanted = sorted(set(activities))
    events = prep.events
    match = pl.col(ACT).is_in(prep.codes(wanted))
    if ACTIVITY_ID in events.columns:
        match = match | pl.col(ACTIVITY_ID).cast(pl.String).is_in(wanted)
    counted = events.group_by(CASE).agg(
        (match & (pl.col("@@lc") == "complete")).sum().cast(pl.Int64).alias("returns")
    )
    group = group_by if group_by and group_by in prep.cases.columns else None
    per_case = prep.cases.select(CASE, *([group] if group else [])).join(
        counted, on=CASE, how="left"
    )
    distribution = (
        per_case.group_by("returns").agg(pl.len().alias("cases")).sort("returns")
        if per_case.height
        else pl.DataFrame(schema={"returns": pl.Int64, "cases": pl.UInt32})
    )
    by_group = None
    if group is not None:
        by_group = (
            per_case.group_by(group)
            .agg(
                pl.len().alias("cases"),
                (pl.col("returns") > 0).sum().alias("cases_with_returns"),
                (pl.col("returns") > 0).mean().alias("share"),
                pl.col("returns").mean().alias("mean_per_case"),
            )
            .sort(group, nulls_last=True)
        )
    return ReturnsReport(
        activities=wanted,
        cases=per_case.height,
        cases_with_returns=int((per_case["returns"] > 0).sum()) if per_case.height else 0,
        total_returns=int(per_case["returns"].sum() or 0) if per_case.height else 0,
        distribution=distribution,
        by_group=by_group,
        group_by=group,
    )


# --------------------------------------------------------------------------- departments


def _department_runs(prep: Prepared) -> pl.DataFrame:
    """Consecutive events of one department collapsed: case, department, order."""
    events = prep.kept.lazy().select(CASE, DEPT).filter(pl.col(DEPT).is_not_null()).collect()
    changed = (pl.col(CASE) != pl.col(CASE).shift(1)) | (pl.col(DEPT) != pl.col(DEPT).shift(1))
    return events.filter(changed.fill_null(True))


@dataclass(frozen=True)
class PingPongReport:
    """推诿/来回: a case went department A → B → A (B sent it straight back)."""

    cases: int
    ping_pong_cases: int
    occurrences: int
    pairs: pl.DataFrame  # department_a, department_b, occurrences, cases

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "ping_pong_cases": self.ping_pong_cases,
            "share": self.ping_pong_cases / self.cases if self.cases else 0.0,
            "occurrences": self.occurrences,
            "pairs": self.pairs.to_dicts(),
        }


def ping_pong(log: EventFrame | Prepared) -> PingPongReport:
    """Department ping-pong: in the case's sequence of departments (repeats collapsed),
    every A → B → A is one occurrence, counted for the pair (A, B)."""
    prep = _prep(log)
    runs = _department_runs(prep)
    same2 = pl.col(CASE) == pl.col(CASE).shift(-2)
    found = runs.with_columns(
        pl.col(DEPT).shift(-1).alias("department_b"),
        (same2 & (pl.col(DEPT) == pl.col(DEPT).shift(-2))).fill_null(False).alias("@@pp"),
    ).filter(pl.col("@@pp"))
    pairs = (
        found.group_by(DEPT, "department_b")
        .agg(pl.len().alias("occurrences"), pl.col(CASE).n_unique().alias("cases"))
        .select(
            prep.department_names(DEPT, "department_a"),
            prep.department_names("department_b", "department_b"),
            "occurrences",
            "cases",
        )
        .sort(["occurrences", "department_a", "department_b"], descending=[True, False, False])
    )
    return PingPongReport(
        cases=prep.case_count,
        ping_pong_cases=found[CASE].n_unique(),
        occurrences=found.height,
        pairs=pairs,
    )


def handoffs(log: EventFrame | Prepared) -> pl.DataFrame:
    """Transfers of a case between departments (consecutive events whose department
    differs): from_department, to_department, count, cases, the wait's mean, median,
    p90, max and total seconds, and its share of all cases' cycle time."""
    prep = _prep(log)
    cycle = prep.total_cycle_seconds
    moved = (
        prep.kept.lazy()
        .select(CASE, DEPT, PREV_DEPT, WAIT)
        .filter(
            pl.col(DEPT).is_not_null()
            & pl.col(PREV_DEPT).is_not_null()
            & (pl.col(DEPT) != pl.col(PREV_DEPT))
        )
    )
    return (
        moved.group_by(PREV_DEPT, DEPT)
        .agg(pl.len().alias("count"), pl.col(CASE).n_unique().alias("cases"), *_stats(WAIT))
        .with_columns(
            prep.department_names(PREV_DEPT, "from_department"),
            prep.department_names(DEPT, "to_department"),
        )
        .drop(PREV_DEPT, DEPT)
        .select(
            "from_department", "to_department", pl.all().exclude("from_department", "to_department")
        )
        .with_columns(
            (pl.col("total_seconds") / cycle if cycle else pl.lit(0.0)).alias("share_of_cycle_time")
        )
        .sort(
            ["total_seconds", "from_department", "to_department"],
            descending=[True, False, False],
        )
        .collect()
    )


# --------------------------------------------------------------------------- duplicates


@dataclass(frozen=True)
class DuplicateEntryReport:
    """重复录入: a data field captured at more than one step of the same case."""

    fields: list[str]
    cases: int
    cases_with_duplicates: int
    table: pl.DataFrame  # field, cases, duplicate_cases, share, same_value_cases, steps
    identifier_like: list[str] = field(default_factory=list)  # left out of the check

    def as_dict(self) -> dict[str, Any]:
        return {
            "fields_checked": self.fields,
            "identifier_like_fields": self.identifier_like,
            "cases": self.cases,
            "cases_with_duplicates": self.cases_with_duplicates,
            "share": self.cases_with_duplicates / self.cases if self.cases else 0.0,
            "fields": self.table.to_dicts(),
        }


def _candidate_fields(frame: pl.DataFrame) -> list[str]:
    return [
        c
        for c in frame.columns
        if c not in RESERVED_KEYS and not c.startswith(("case:", "@@", "time:", "lifecycle:"))
    ]


def _identifier_like(frame: pl.DataFrame, name: str) -> bool:
    """A column that numbers or names the events themselves (a row number, an event id,
    ``.order``, ``activity_instance_id``): a value on (nearly) every event, and never the
    same value at two different activities of a case. Checked for duplicate entry it
    would flag every case with two steps."""
    value = pl.col(name).cast(pl.String)
    present = frame.select(CASE, ACTIVITY, value.alias("@@v")).filter(
        pl.col("@@v").is_not_null() & (pl.col("@@v") != "")
    )
    if present.height < IDENTIFIER_COVERAGE * frame.height or present.is_empty():
        return False
    shared = present.group_by(CASE, "@@v").agg(pl.col(ACTIVITY).n_unique().alias("@@steps"))
    return not shared.select((pl.col("@@steps") > 1).any()).item()


def duplicate_entry(
    log: EventFrame | Prepared, fields: Sequence[str] | None = None
) -> DuplicateEntryReport:
    """Per event attribute (``fields``, default every event-level column that is not an
    XES standard key, a case attribute or identifier-like — see :func:`_identifier_like`):
    in how many cases it was captured (had a value) at more than one distinct activity,
    in how many of those the value was the same each time (pure re-keying), and at which
    steps it is captured."""
    prep = _prep(log)
    kept = prep.kept
    excluded: list[str] = []
    if fields is None:
        candidates = _candidate_fields(kept)
        excluded = [f for f in candidates if _identifier_like(kept, f)]
        chosen = [f for f in candidates if f not in excluded]
    else:
        chosen = [f for f in fields if f in kept]
    rows: list[dict[str, Any]] = []
    dup_cases: set[int] = set()
    for name in chosen:
        value = pl.col(name).cast(pl.String)
        present = kept.select(CASE, ACTIVITY, value.alias("@@v")).filter(
            pl.col("@@v").is_not_null() & (pl.col("@@v") != "")
        )
        if present.is_empty():
            continue
        per_case = present.group_by(CASE).agg(
            pl.col(ACTIVITY).n_unique().alias("steps"), pl.col("@@v").n_unique().alias("values")
        )
        dups = per_case.filter(pl.col("steps") > 1)
        dup_cases.update(dups[CASE].to_list())
        steps = (
            present.group_by(ACTIVITY)
            .agg(pl.col(CASE).n_unique().alias("cases"))
            .sort(["cases", ACTIVITY], descending=[True, False])
        )
        rows.append(
            {
                "field": name,
                "cases": per_case.height,
                "duplicate_cases": dups.height,
                "share": dups.height / per_case.height if per_case.height else 0.0,
                "same_value_cases": int((dups["values"] == 1).sum()),
                "steps": [{"activity": a, "cases": c} for a, c in steps.iter_rows()],
            }
        )
    schema: dict[str, pl.DataType] = {
        "field": pl.String(),
        "cases": pl.Int64(),
        "duplicate_cases": pl.Int64(),
        "share": pl.Float64(),
        "same_value_cases": pl.Int64(),
        "steps": pl.List(pl.Struct({"activity": pl.String, "cases": pl.Int64})),
    }
    table = pl.DataFrame(rows, schema=schema).sort(
        ["duplicate_cases", "field"], descending=[True, False]
    )
    return DuplicateEntryReport(chosen, prep.case_count, len(dup_cases), table, excluded)


# --------------------------------------------------------------------------- queues


@dataclass(frozen=True)
class QueueReport:
    """排队: cases waiting for each activity (previous step done, this one not begun),
    sampled at the start of every ``interval`` bucket; ``mean_length`` is the
    time-average (total waiting ÷ observed span)."""

    interval: str
    span_seconds: float
    activities: pl.DataFrame  # activity, mean_length, max_length, max_at
    series: pl.DataFrame  # activity, at, length

    def as_dict(self, top: int = 8) -> dict[str, Any]:
        shown = self.activities.head(top)["activity"].to_list()
        points = self.series.filter(pl.col("activity").is_in(shown))
        return {
            "interval": self.interval,
            "span_seconds": self.span_seconds,
            "activities": [
                {**row, "max_at": None if row["max_at"] is None else row["max_at"].isoformat()}
                for row in self.activities.to_dicts()
            ],
            "series": [
                {
                    "activity": a,
                    "points": [
                        {"at": t.isoformat(), "length": n}
                        for t, n in points.filter(pl.col("activity") == a)
                        .select("at", "length")
                        .iter_rows()
                    ],
                }
                for a in shown
            ],
        }


def _interval(span_seconds: float) -> str:
    day = 86400.0
    if span_seconds <= 2 * day:
        return "1h"
    if span_seconds <= 120 * day:
        return "1d"
    if span_seconds <= 3 * 365 * day:
        return "1w"
    return "1mo"


_FIXED: Final = {"1h": 3_600_000_000, "1d": 86_400_000_000, "1w": 7 * 86_400_000_000}
# 1970-01-01 was a Thursday; weekly buckets start on Mondays, as dt.truncate("1w") does.
_WEEK_ORIGIN: Final = 4 * 86_400_000_000


def queues(log: EventFrame | Prepared, interval: str | None = None) -> QueueReport:
    """Queue length per activity over time (see :class:`QueueReport`).

    ``interval`` is a polars duration (``1h``, ``1d``, ``1w``, ``1mo`` …); by default
    it follows the log's span (hours for two days, days for four months, weeks for
    three years, months beyond).
    """
    prep = _prep(log)
    kept = prep.kept
    waits = (
        kept.lazy()
        .select(ACT, PREV_ACT, BEGIN, WAIT)
        .filter(pl.col(PREV_ACT).is_not_null() & (pl.col(WAIT) > 0))
        .collect()
    ).select(
        ACT,
        pl.col(BEGIN).dt.epoch("us").alias("@@out"),
        (pl.col(BEGIN).dt.epoch("us") - (pl.col(WAIT) * 1e6).round().cast(pl.Int64)).alias("@@in"),
        WAIT,
    )
    first, last = (
        kept.select(pl.col(TIMESTAMP).min().alias("lo"), pl.col(TIMESTAMP).max().alias("hi")).row(0)
        if kept.height
        else (None, None)
    )
    span = (last - first).total_seconds() if first is not None and last is not None else 0.0
    every = interval or _interval(span)
    empty_series = pl.DataFrame(
        schema={"activity": pl.String, "at": pl.Datetime("us", "UTC"), "length": pl.Int64}
    )
    if waits.is_empty() or span <= 0:
        empty = pl.DataFrame(
            schema={
                "activity": pl.String,
                "mean_length": pl.Float64,
                "max_length": pl.Int64,
                "max_at": pl.Datetime("us", "UTC"),
            }
        )
        return QueueReport(every, span, empty, empty_series)

    def boundary(col: str) -> pl.Expr:
        # First bucket start at or after the instant: a wait [in, out) is counted at t
        # when in <= t < out.
        step = _FIXED.get(every)
        if step is not None:
            origin = _WEEK_ORIGIN if every == "1w" else 0
            shifted = pl.col(col) - origin
            return (-((-shifted) // step)) * step + origin
        stamp = pl.from_epoch(pl.col(col), "us").dt.replace_time_zone("UTC")
        floor = stamp.dt.truncate(every)
        up = pl.when(floor == stamp).then(floor).otherwise(floor.dt.offset_by(every))
        return up.dt.epoch("us")

    arrivals = waits.group_by(ACT, boundary("@@in").alias("at")).agg(
        pl.len().cast(pl.Int64).alias("in")
    )
    leaves = waits.group_by(ACT, boundary("@@out").alias("at")).agg(
        pl.len().cast(pl.Int64).alias("out")
    )
    series = (
        arrivals.join(leaves, on=[ACT, "at"], how="full", coalesce=True)
        .fill_null(0)
        .sort(ACT, "at")
        .with_columns((pl.col("in") - pl.col("out")).cum_sum().over(ACT).alias("length"))
        .select(
            prep.names(ACT, "activity"),
            pl.from_epoch("at", "us").dt.replace_time_zone("UTC").alias("at"),
            "length",
        )
    )
    totals = waits.group_by(ACT).agg(pl.col(WAIT).sum().alias("@@total"))
    peaks = (
        series.sort("length", "at", descending=[True, False])
        .group_by("activity", maintain_order=True)
        .agg(pl.col("length").first().alias("max_length"), pl.col("at").first().alias("max_at"))
    )
    activities = (
        totals.select(prep.names(ACT, "activity"), (pl.col("@@total") / span).alias("mean_length"))
        .join(peaks, on="activity", how="left")
        .sort(["mean_length", "activity"], descending=[True, False])
    )
    return QueueReport(every, span, activities, series)


# --------------------------------------------------------------------------- ranking


def _sentence(name: str, median: float | None, share: float, kind: str) -> str:
    verb = "waits" if kind != "activity" else "is waited for"
    return f"{name} {verb} {human_duration(median)} median, {100 * share:.0f} % of cycle time"


def rank_bottlenecks(log: EventFrame | Prepared, *, top: int = 15) -> list[dict[str, Any]]:
    """Activities (the wait before them), activity hand-offs (a → b) and department
    hand-offs ranked by total waiting, each with its share of all cases' cycle time and
    a sentence. Kinds overlap (a hand-off's wait is also its target's), so shares are
    compared within a ranking, not added up across kinds."""
    prep = _prep(log)
    cycle = prep.total_cycle_seconds
    kept = (
        prep.kept.lazy()
        .select(ACT, PREV_ACT, DEPT, PREV_DEPT, WAIT)
        .filter(pl.col(PREV_ACT).is_not_null() & pl.col(WAIT).is_not_null())
        .collect()
    )
    pairs = (
        kept.group_by(PREV_ACT, ACT)
        .agg(pl.len().alias("count"), *_stats(WAIT))
        .with_columns(prep.names(PREV_ACT, "source"), prep.names(ACT, "target"))
    )
    singles = (
        kept.group_by(ACT)
        .agg(pl.len().alias("count"), *_stats(WAIT))
        .with_columns(prep.names(ACT, "target"))
    )
    frames = [
        pairs.select(
            pl.lit("handoff").alias("kind"),
            pl.format("{} → {}", "source", "target").alias("name"),
            "source",
            "target",
            pl.all().exclude(PREV_ACT, ACT, "source", "target"),
        ),
        singles.select(
            pl.lit("activity").alias("kind"),
            pl.col("target").alias("name"),
            pl.lit(None, pl.String).alias("source"),
            "target",
            pl.all().exclude(ACT, "target"),
        ),
    ]
    if prep.has_departments:
        moved = kept.filter(
            pl.col(DEPT).is_not_null()
            & pl.col(PREV_DEPT).is_not_null()
            & (pl.col(DEPT) != pl.col(PREV_DEPT))
        )
        frames.append(
            moved.group_by(PREV_DEPT, DEPT)
            .agg(pl.len().alias("count"), *_stats(WAIT))
            .with_columns(
                prep.department_names(PREV_DEPT, "source"),
                prep.department_names(DEPT, "target"),
            )
            .select(
                pl.lit("department_handoff").alias("kind"),
                pl.format("{} → {}", "source", "target").alias("name"),
                "source",
                "target",
                pl.all().exclude(PREV_DEPT, DEPT, "source", "target"),
            )
        )
    ranked = (
        pl.concat([f.with_columns(pl.col("count").cast(pl.Int64)) for f in frames])
        .filter(pl.col("total_seconds") > 0)
        .sort(["total_seconds", "kind", "name"], descending=[True, False, False])
        .head(top)
    )
    out = []
    for rank, row in enumerate(ranked.iter_rows(named=True), start=1):
        share = row["total_seconds"] / cycle if cycle else 0.0
        out.append(
            {
                "rank": rank,
                **row,
                "share_of_cycle_time": share,
                "sentence": _sentence(row["name"], row["median_seconds"], share, row["kind"]),
            }
        )
    return out


def period_bounds(prep: Prepared) -> tuple[datetime | None, datetime | None]:
    if prep.events.is_empty():
        return None, None
    first, last = prep.events.select(
        pl.col(TIMESTAMP).min().alias("lo"), pl.col(TIMESTAMP).max().alias("hi")
    ).row(0)
    return first, last
