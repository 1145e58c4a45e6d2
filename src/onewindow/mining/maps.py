"""Process map (directly-follows graph) with frequencies and durations, and trace variants.

The figures are defined as pm4py defines them, so the two agree to rounding:

- events of a case are sorted by timestamp, ties in input order (stable);
- an edge a→b is counted once for every pair of consecutive events of a case;
- its duration is the time between the two events' timestamps in seconds (pm4py's
  performance DFG with one timestamp per event), aggregated as mean, median, min, max,
  sum and sample standard deviation;
- start and end activities are the first and last event of each case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Final

import polars as pl

from onewindow.mining.frame import ACTIVITY, CASE_ID, TIMESTAMP, EventFrame, ordered
from onewindow.mining.prepared import ACT, CASE, GAP, PREV_ACT, SERVICE, Prepared, prepare, seconds

__all__ = ["ProcessMap", "Variant", "directly_follows", "process_map", "variants"]

NEXT: Final = "@@next"
SECONDS: Final = "@@seconds"
VARIANT_SEPARATOR: Final = " → "
VARIANT_KEY: Final = "\x1f"
P90: Final = 0.9


def _seconds(delta: pl.Expr) -> pl.Expr:
    return delta.dt.total_microseconds().cast(pl.Float64) / 1_000_000.0


def directly_follows(log: EventFrame) -> pl.LazyFrame:
    """One row per pair of consecutive events of a case: source, target and seconds."""
    frame = ordered(log).select(CASE_ID, ACTIVITY, TIMESTAMP)
    same_case = pl.col(CASE_ID) == pl.col(CASE_ID).shift(-1)
    return frame.with_columns(
        pl.col(ACTIVITY).shift(-1).alias(NEXT),
        _seconds(pl.col(TIMESTAMP).shift(-1) - pl.col(TIMESTAMP)).alias(SECONDS),
        same_case.alias("@@same"),
    ).filter(pl.col("@@same"))


@dataclass(frozen=True)
class ProcessMap:
    """流程图: activities, directly-follows edges and where cases start and end.

    ``nodes``: activity, events, cases, service_mean/median/p90 (seconds, null without
    start times). ``edges``: source, target, count, cases, mean, median, p90, min, max,
    sum, stdev (seconds of waiting; stdev null for a single observation).
    ``starts`` / ``ends``: activity, cases.
    """

    nodes: pl.DataFrame
    edges: pl.DataFrame
    starts: pl.DataFrame
    ends: pl.DataFrame
    cases: int
    events: int

    def edge_counts(self) -> dict[tuple[str, str], int]:
        return {
            (s, t): int(c) for s, t, c in self.edges.select("source", "target", "count").iter_rows()
        }

    def edge_metric(self, metric: str = "mean") -> dict[tuple[str, str], float | None]:
        return {(s, t): v for s, t, v in self.edges.select("source", "target", metric).iter_rows()}

    def start_counts(self) -> dict[str, int]:
        return dict(self.starts.iter_rows())

    def end_counts(self) -> dict[str, int]:
        return dict(self.ends.iter_rows())

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "events": self.events,
            "nodes": self.nodes.to_dicts(),
            "edges": self.edges.to_dicts(),
            "starts": self.starts.to_dicts(),
            "ends": self.ends.to_dicts(),
        }


def process_map(
    log: EventFrame | Prepared, *, lifecycle: str | Iterable[str] | None = "complete"
) -> ProcessMap:
    """The frequency and performance process map in one pass.

    ``lifecycle`` keeps only events with that transition (default ``complete``, so a log
    with start/complete pairs shows each activity once); ``None`` keeps all events.
    ``nodes`` also carry service time (``service_mean``/``median``/``p90``, seconds)
    when the log has start times, and ``edges`` the 90th percentile (``p90``).

    Raises:
        ValidationFailed: the log lacks case, activity or timestamp.
    """
    prep = prepare(log, lifecycle)
    events = prep.kept.lazy()
    edges_q = (
        events.filter(pl.col(PREV_ACT).is_not_null())
        .group_by(PREV_ACT, ACT)
        .agg(
            pl.len().alias("count"),
            pl.col(CASE).n_unique().alias("cases"),
            pl.col(GAP).mean().alias("mean"),
            pl.col(GAP).median().alias("median"),
            pl.col(GAP).quantile(P90, "linear").alias("p90"),
            pl.col(GAP).min().alias("min"),
            pl.col(GAP).max().alias("max"),
            pl.col(GAP).sum().alias("sum"),
            pl.col(GAP).std(ddof=1).alias("stdev"),
        )
        .with_columns(prep.names(PREV_ACT, "source"), prep.names(ACT, "target"))
        .drop(PREV_ACT, ACT)
        .select("source", "target", pl.all().exclude("source", "target"))
        .sort(["count", "source", "target"], descending=[True, False, False])
    )
    nodes_q = (
        events.group_by(ACT)
        .agg(
            pl.len().alias("events"),
            pl.col(CASE).n_unique().alias("cases"),
            pl.col(SERVICE).mean().alias("service_mean"),
            pl.col(SERVICE).median().alias("service_median"),
            pl.col(SERVICE).quantile(P90, "linear").alias("service_p90"),
        )
        .with_columns(prep.names(ACT, "activity"))
        .drop(ACT)
        .select("activity", pl.all().exclude("activity"))
        .sort(["events", "activity"], descending=[True, False])
    )
    per_case = events.group_by(CASE).agg(
        pl.col(ACT).first().alias("start"), pl.col(ACT).last().alias("end")
    )
    starts_q = _count_by(per_case, "start", prep)
    ends_q = _count_by(per_case, "end", prep)
    nodes, edges, starts, ends = pl.collect_all([nodes_q, edges_q, starts_q, ends_q])
    cases = int(starts["cases"].sum()) if starts.height else 0
    return ProcessMap(nodes, edges, starts, ends, cases, int(nodes["events"].sum() or 0))


def _count_by(per_case: pl.LazyFrame, column: str, prep: Prepared) -> pl.LazyFrame:
    return (
        per_case.group_by(column)
        .agg(pl.len().alias("cases"))
        .select(prep.names(column, "activity"), "cases")
        .sort(["cases", "activity"], descending=[True, False])
    )


@dataclass(frozen=True)
class Variant:
    activities: tuple[str, ...]
    cases: int
    share: float
    mean_duration_s: float
    median_duration_s: float

    @property
    def label(self) -> str:
        return VARIANT_SEPARATOR.join(self.activities)


def variants(
    log: EventFrame | Prepared, *, lifecycle: str | Iterable[str] | None = "complete"
) -> list[Variant]:
    """Trace variants (distinct activity sequences), most frequent first.

    Durations are case durations (first to last kept event) in seconds. Ties in
    frequency are broken by the sequence, so the order is reproducible.
    """
    prep = prepare(log, lifecycle)
    kept = prep.kept
    if kept.is_empty():
        return []
    # Sequences are grouped as lists of small integer codes, not joined strings.
    per_case = (
        kept.lazy()
        .group_by(CASE)
        .agg(
            pl.col(ACT).alias("trace"),
            seconds(pl.col(TIMESTAMP).max() - pl.col(TIMESTAMP).min()).alias("duration"),
        )
    )
    grouped = (
        per_case.group_by("trace")
        .agg(
            pl.len().alias("cases"),
            pl.col("duration").mean().alias("mean"),
            pl.col("duration").median().alias("median"),
        )
        .collect()
    )
    lookup = prep.activities
    total = int(grouped["cases"].sum() or 0)
    found = [
        Variant(
            tuple(lookup[c] for c in trace),
            int(cases),
            cases / total if total else 0.0,
            float(mean),
            float(median),
        )
        for trace, cases, mean, median in grouped.iter_rows()
    ]
    found.sort(key=lambda v: (-v.cases, VARIANT_KEY.join(v.activities)))
    return found
