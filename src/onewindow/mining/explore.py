"""What the analysis page asks of a log beyond its map: the cases behind one activity or one
edge (钻取到案件), and the bottlenecks said in sentences in Chinese and English.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import polars as pl

from onewindow.mining.frame import CASE_ID, SERVICE_KEY, TIMESTAMP
from onewindow.mining.layout import human_duration
from onewindow.mining.measures import rank_bottlenecks
from onewindow.mining.petri import PetriNet, replay_log
from onewindow.mining.prepared import ACT, CASE, GAP, PREV_ACT, Prepared

__all__ = ["CaseRow", "Deviations", "bottleneck_sentences", "cases_of", "deviations"]


@dataclass(frozen=True)
class CaseRow:
    case: str
    service: str | None
    started: datetime
    ended: datetime
    duration_s: float
    times: int  # how often the case passes the activity / edge
    wait_s: float | None  # the longest wait on the edge (edges only)


def cases_of(
    prep: Prepared,
    *,
    activity: str | None = None,
    edge: tuple[str, str] | None = None,
) -> list[CaseRow]:
    """The cases that pass ``activity`` (or the directly-follows ``edge``), slowest first:
    by their longest wait on the edge, or by case duration for an activity."""
    kept = prep.kept
    codes = {name: i for i, name in enumerate(prep.activities)}
    if edge is not None:
        source, target = edge
        if source not in codes or target not in codes:
            return []
        hits = kept.filter((pl.col(PREV_ACT) == codes[source]) & (pl.col(ACT) == codes[target]))
        per_case = hits.group_by(CASE).agg(pl.len().alias("times"), pl.col(GAP).max().alias("wait"))
    elif activity is not None:
        if activity not in codes:
            return []
        hits = kept.filter(pl.col(ACT) == codes[activity])
        per_case = hits.group_by(CASE).agg(
            pl.len().alias("times"), pl.lit(None, pl.Float64).alias("wait")
        )
    else:
        return []
    has_service = SERVICE_KEY in kept.columns
    spans = kept.group_by(CASE).agg(
        pl.col(CASE_ID).first().alias("id"),
        (
            pl.col(SERVICE_KEY).cast(pl.String).first() if has_service else pl.lit(None, pl.String)
        ).alias("service"),
        pl.col(TIMESTAMP).min().alias("first"),
        pl.col(TIMESTAMP).max().alias("last"),
    )
    rows = (
        per_case.join(spans, on=CASE, how="left")
        .with_columns(
            ((pl.col("last") - pl.col("first")).dt.total_microseconds() / 1e6).alias("duration")
        )
        .sort(["wait" if edge is not None else "duration", "id"], descending=[True, False])
    )
    return [
        CaseRow(
            str(r["id"]),
            r["service"],
            r["first"],
            r["last"],
            float(r["duration"] or 0.0),
            int(r["times"]),
            None if r["wait"] is None else float(r["wait"]),
        )
        for r in rows.iter_rows(named=True)
    ]


def _times(count: int) -> str:
    return "once" if count == 1 else f"{count:,} times"


def bottleneck_sentences(prep: Prepared, *, top: int = 5) -> list[dict[str, Any]]:
    """The activities and hand-offs that add the most waiting, each as a sentence in
    Chinese and in English (``zh``, ``en``), with the figures they are made of."""
    out = []
    for row in rank_bottlenecks(prep, top=top * 3):
        if row["kind"] == "department_handoff":
            continue
        median = human_duration(row.get("median_seconds"))
        share = 100 * float(row.get("share_of_cycle_time") or 0.0)
        count = int(row["count"])
        if row["kind"] == "handoff":
            zh = (
                f"从「{row['source']}」到「{row['target']}」等待中位数 {median}，"
                f"发生 {count:,} 次，占全部案件总时长的 {share:.0f}%。"
            )
            en = (
                f"From “{row['source']}” to “{row['target']}” cases wait {median} (median), "
                f"{_times(count)}, {share:.0f} % of all cases' cycle time."
            )
        else:
            zh = (
                f"「{row['target']}」前的等待中位数 {median}，发生 {count:,} 次，"
                f"占全部案件总时长的 {share:.0f}%。"
            )
            en = (
                f"Cases wait {median} (median) before “{row['target']}”, {_times(count)}, "
                f"{share:.0f} % of all cases' cycle time."
            )
        out.append({**row, "zh": zh, "en": en})
        if len(out) >= top:
            break
    return out


@dataclass(frozen=True)
class Deviations:
    """Token replay of each case against the deployed BPMN (符合性): the log's fitness,
    per task id the cases that reached it without a token (a step out of order or
    skipped before it), and the cases that do not fit, least fitting first."""

    fitness: float
    fitting_share: float
    cases: int
    per_task: dict[str, int]
    # case, fitness, the activities where it deviates (out of order, or not in the model)
    unfit: list[tuple[str, float, tuple[str, ...]]]
    not_in_model: dict[str, int]


def deviations(prep: Prepared, net: PetriNet, task_names: dict[str, str]) -> Deviations:
    """Replay every case of ``prep`` on ``net`` (each distinct trace once)."""
    per_case = (
        prep.kept.group_by(CASE, maintain_order=True)
        .agg(pl.col(CASE_ID).first().alias("id"), pl.col(ACT).alias("trace"))
        .select("id", "trace")
    )
    names = prep.activities
    traces = {str(case): tuple(names[c] for c in codes) for case, codes in per_case.iter_rows()}
    result = replay_log(net, traces.values())
    by_trace = {r.trace: r for r, _ in result.variants}
    ids_of: dict[str, list[str]] = {}
    for task_id, name in task_names.items():
        ids_of.setdefault(name, []).append(task_id)
    per_task: dict[str, int] = {}
    missing: dict[str, int] = {}
    for replayed, n in result.variants:
        for name in set(replayed.problems):
            for task_id in ids_of.get(name, []):
                per_task[task_id] = per_task.get(task_id, 0) + n
        for name in set(replayed.not_in_model):
            missing[name] = missing.get(name, 0) + n
    unfit = sorted(
        (
            (
                case,
                by_trace[trace].fitness,
                tuple(dict.fromkeys(by_trace[trace].problems + by_trace[trace].not_in_model)),
            )
            for case, trace in traces.items()
            if not by_trace[trace].is_fit
        ),
        key=lambda row: (row[1], row[0]),
    )
    return Deviations(
        result.log_fitness,
        result.percentage_of_fitting_traces / 100.0,
        result.traces,
        per_task,
        unfit,
        missing,
    )
