"""The full analysis of one log, and its single-file HTML report (流程挖掘报告).

The HTML has inline CSS and an inline SVG process map; it loads nothing from the network
and runs no script, so it can be mailed, archived or opened offline.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from typing import Any, Final, cast

import polars as pl

from onewindow.kit.calendar import WorkingCalendar
from onewindow.kit.errors import ValidationFailed
from onewindow.mining.analyses import (
    Bottlenecks,
    ReworkReport,
    SlaReport,
    TripsReport,
    bottlenecks,
    rework,
    sla,
    trips,
)
from onewindow.mining.bpmn import bpmn_to_petri
from onewindow.mining.compare import Comparison, compare_samples, map_diff, split_by_start
from onewindow.mining.filters import LogFilter, apply_filter, describe
from onewindow.mining.frame import (
    ACTIVITY,
    CASE_ID,
    SERVICE_KEY,
    EventFrame,
    ordered,
    with_lifecycle,
)
from onewindow.mining.importers import ImportReport
from onewindow.mining.layout import OVERLAP_COLOUR, draw_map, human_duration
from onewindow.mining.maps import ProcessMap, Variant, process_map, variants
from onewindow.mining.measures import (
    DEFAULT_RETURN_ACTIVITIES,
    DuplicateEntryReport,
    PingPongReport,
    QueueReport,
    ReturnsReport,
    duplicate_entry,
    handoffs,
    period_bounds,
    ping_pong,
    queues,
    rank_bottlenecks,
    returns,
)
from onewindow.mining.petri import PetriNet, ReplayResult, replay_log
from onewindow.mining.prepared import CASE, LC, Prepared, prepare

SCHEMA_VERSION: Final = "1"

__all__ = [
    "SCHEMA_VERSION",
    "MiningReport",
    "ReportOptions",
    "build_report",
    "CompareReport",
    "build_compare",
    "compare_logs",
    "happy_path",
    "render_compare_html",
    "render_html",
    "traces",
]


@dataclass
class ReportOptions:
    """What to analyse beyond the map; every field is optional."""

    title: str = "流程挖掘报告 Process mining report"
    lifecycle: str | list[str] | None = "complete"
    in_person: list[str] = field(default_factory=list)
    return_activity: str | None = None
    # Activities that mean a send-back (补正); default DEFAULT_RETURN_ACTIVITIES plus
    # ``return_activity``.
    return_activities: list[str] | None = None
    time_limit_days: int | Mapping[str, int] | None = None
    deadline_column: str | None = None
    group_by: str | None = None
    end_activities: list[str] | None = None
    bpmn: bytes | str | None = None
    # The processes ``bpmn``'s call activities call (process id → BPMN), inlined in the net.
    bpmn_called: Mapping[str, bytes] | None = None
    net: PetriNet | None = None
    split_at: datetime | None = None
    after: EventFrame | None = None
    calendar: WorkingCalendar | None = None
    seed: int = 0
    max_nodes: int = 24
    max_edges: int = 48
    source: str | None = None
    filter: LogFilter | None = None
    fields: list[str] | None = None  # data fields for duplicate entry; None: auto
    top_variants: int = 20
    top_bottlenecks: int = 15
    queue_interval: str | None = None

    def returns_list(self) -> list[str]:
        if self.return_activities is not None:
            return list(self.return_activities)
        named = [self.return_activity] if self.return_activity else []
        return sorted({*DEFAULT_RETURN_ACTIVITIES, *named})


@dataclass
class MiningReport:
    options: ReportOptions
    cases: int
    events: int
    period: tuple[datetime | None, datetime | None]
    durations: pl.DataFrame
    map: ProcessMap
    variants: list[Variant]
    bottlenecks: Bottlenecks
    rework: ReworkReport
    trips: TripsReport | None = None
    sla: SlaReport | None = None
    conformance: ReplayResult | None = None
    comparison: Comparison | None = None
    imported: ImportReport | None = None
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    ranked: list[dict[str, Any]] = field(default_factory=list)
    returns: ReturnsReport | None = None
    ping_pong: PingPongReport | None = None
    handoffs: pl.DataFrame | None = None
    duplicates: DuplicateEntryReport | None = None
    queues: QueueReport | None = None
    happy_path: Variant | None = None
    notes: list[str] = field(default_factory=list)

    def variant_rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        covered = 0.0
        for rank, v in enumerate(self.variants[: self.options.top_variants], start=1):
            covered += v.share
            rows.append(_variant_dict(v, rank, covered, v == self.happy_path))
        return rows

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON (docs/mining-report.md, :data:`~.schema.REPORT_SCHEMA`)."""
        dur = (
            self.durations["duration"] if self.durations.height else pl.Series([], dtype=pl.Float64)
        )
        happy = None
        if self.happy_path is not None:
            rank = self.variants.index(self.happy_path) + 1
            covered = sum(v.share for v in self.variants[:rank])
            happy = _variant_dict(self.happy_path, rank, covered, True)
        return _clean_dict(
            {
                "schema_version": SCHEMA_VERSION,
                "title": self.options.title,
                "source": self.options.source or (self.imported.source if self.imported else None),
                "generated_at": self.generated_at,
                "filters": describe(self.options.filter),
                "cases": self.cases,
                "events": self.events,
                "period": {"start": self.period[0], "end": self.period[1]},
                "cycle_time": {
                    "mean_seconds": dur.mean(),
                    "median_seconds": dur.median(),
                    "p90_seconds": dur.quantile(0.9, "linear"),
                    "max_seconds": dur.max(),
                    "total_seconds": dur.sum(),
                },
                "process_map": {
                    "lifecycle": _lifecycle_label(self.options.lifecycle),
                    "cases": self.map.cases,
                    "events": self.map.events,
                    "edges": [
                        {
                            "source": e["source"],
                            "target": e["target"],
                            "count": e["count"],
                            "cases": e["cases"],
                            "mean_seconds": e["mean"],
                            "median_seconds": e["median"],
                            "p90_seconds": e["p90"],
                            "max_seconds": e["max"],
                            "min_seconds": e["min"],
                            "total_seconds": e["sum"],
                        }
                        for e in self.map.edges.iter_rows(named=True)
                    ],
                    "start_activities": self.map.starts.to_dicts(),
                    "end_activities": self.map.ends.to_dicts(),
                },
                "activities": [
                    {
                        "activity": a["activity"],
                        "count": a["executions"],
                        "cases": a["cases"],
                        "service_mean_seconds": a["service_mean"],
                        "service_median_seconds": a["service_median"],
                        "service_p90_seconds": a["service_p90"],
                        "waiting_mean_seconds": a["waiting_mean"],
                        "waiting_median_seconds": a["waiting_median"],
                        "waiting_p90_seconds": a["waiting_p90"],
                        "waiting_total_seconds": a["waiting_total"],
                        "waiting_share_of_cycle_time": a["waiting_share"],
                    }
                    for a in self.bottlenecks.activities.iter_rows(named=True)
                ],
                "variant_count": len(self.variants),
                "variants": self.variant_rows(),
                "happy_path": happy,
                "bottlenecks": self.ranked,
                "trips": None if self.trips is None else self.trips.as_dict(),
                "returns": None if self.returns is None else self.returns.as_dict(),
                "rework": {
                    **self.rework.as_dict(),
                    "ping_pong": None if self.ping_pong is None else self.ping_pong.as_dict(),
                },
                "handoffs": [] if self.handoffs is None else self.handoffs.to_dicts(),
                "duplicate_entry": None if self.duplicates is None else self.duplicates.as_dict(),
                "queues": None if self.queues is None else self.queues.as_dict(),
                "sla": None if self.sla is None else self.sla.as_dict(),
                "conformance": None if self.conformance is None else self.conformance.as_dict(),
                "comparison": None if self.comparison is None else self.comparison.as_dict(),
                "import": None if self.imported is None else self.imported.as_dict(),
                "notes": self.notes,
            }
        )


def _variant_dict(v: Variant, rank: int, coverage: float, happy: bool) -> dict[str, Any]:
    return {
        "rank": rank,
        "activities": list(v.activities),
        "cases": v.cases,
        "frequency": v.share,
        "coverage": coverage,
        "mean_duration_seconds": v.mean_duration_s,
        "median_duration_seconds": v.median_duration_s,
        "happy_path": happy,
    }


def _lifecycle_label(lifecycle: str | list[str] | None) -> str:
    """What the map kept: ``all`` (every event), one transition, or several joined by commas."""
    if lifecycle is None:
        return "all"
    if isinstance(lifecycle, str):
        return lifecycle
    return ",".join(lifecycle)


def _clean_dict(value: dict[str, Any]) -> dict[str, Any]:
    return {str(k): _clean(v) for k, v in value.items()}


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf → null, instants → ISO 8601, tuples → lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def _median(series: pl.Series) -> float | None:
    value = series.median()
    return None if value is None else float(value)  # type: ignore[arg-type]


def traces(log: EventFrame, lifecycle: str | Iterable[str] | None = "complete") -> list[list[str]]:
    """Each case's activity sequence, in stable time order."""
    grouped = (
        ordered(with_lifecycle(log, lifecycle))
        .group_by(CASE_ID, maintain_order=True)
        .agg(pl.col(ACTIVITY))
        .collect()
    )
    return [list(t) for t in grouped[ACTIVITY].to_list()]


def happy_path(found: Sequence[Variant], returns_to: Iterable[str] = ()) -> Variant | None:
    """The most frequent variant with no repeated activity and no send-back (补正);
    the most frequent variant when every one has some."""
    avoid = set(returns_to)
    for v in found:
        if len(set(v.activities)) == len(v.activities) and not avoid.intersection(v.activities):
            return v
    return found[0] if found else None


def _empty_log(filtered: bool) -> ValidationFailed:
    if filtered:
        return ValidationFailed(
            "no events match the filters",
            message_zh="没有符合筛选条件的事件",
            code="mining.empty_log",
        )
    return ValidationFailed(
        "the event log is empty: no usable events (see the import report for dropped rows)",
        message_zh="事件日志为空：没有可用的事件（被丢弃的行见导入报告）",
        code="mining.empty_log",
    )


def _case_metrics(
    prep: Prepared, opts: ReportOptions
) -> tuple[pl.DataFrame, pl.DataFrame | None, pl.DataFrame]:
    cases = prep.cases.select(CASE, "duration")
    trip_frame = None
    if opts.in_person:
        trip_frame = trips(prep, opts.in_person).per_case.select(CASE_ID, "trips")
    wanted = opts.returns_list()
    per_case = prep.events.group_by(CASE).agg(
        (pl.col(ACTIVITY).is_in(wanted) & (pl.col(LC) == "complete")).sum().alias("returns"),
        (pl.len() - pl.col(ACTIVITY).filter(pl.col(LC) == "complete").n_unique()).alias("rework"),
    )
    return cases, trip_frame, per_case


def compare_logs(before: EventFrame, after: EventFrame, opts: ReportOptions) -> Comparison:
    """Case duration, trips, returns and rework before vs. after, and the map diff."""
    b_prep = prepare(before, opts.lifecycle)
    a_prep = prepare(after, opts.lifecycle)
    b_cases, b_trips, b_counts = _case_metrics(b_prep, opts)
    a_cases, a_trips, a_counts = _case_metrics(a_prep, opts)
    metrics = [
        compare_samples(
            "case duration (h) 办理时长",
            (b_cases["duration"] / 3600).to_list(),
            (a_cases["duration"] / 3600).to_list(),
            seed=opts.seed,
        )
    ]
    if b_trips is not None and a_trips is not None:
        metrics.append(
            compare_samples(
                "trips per case 跑动次数",
                b_trips["trips"].cast(pl.Float64).to_list(),
                a_trips["trips"].cast(pl.Float64).to_list(),
                seed=opts.seed + 10,
            )
        )
    metrics.append(
        compare_samples(
            "returns per case 补正次数",
            b_counts["returns"].cast(pl.Float64).to_list(),
            a_counts["returns"].cast(pl.Float64).to_list(),
            seed=opts.seed + 20,
        )
    )
    metrics.append(
        compare_samples(
            "repeated steps per case 返工次数",
            b_counts["rework"].cast(pl.Float64).to_list(),
            a_counts["rework"].cast(pl.Float64).to_list(),
            seed=opts.seed + 30,
        )
    )
    b_map = process_map(b_prep, lifecycle=opts.lifecycle)
    a_map = process_map(a_prep, lifecycle=opts.lifecycle)
    return Comparison(
        "before 改进前",
        "after 改进后",
        metrics,
        map_diff(b_map, a_map),
        cases_before=b_prep.case_count,
        cases_after=a_prep.case_count,
        events_before=b_prep.events.height,
        events_after=a_prep.events.height,
    )


def build_report(
    log: EventFrame, options: ReportOptions | None = None, imported: ImportReport | None = None
) -> MiningReport:
    """Run every analysis the options ask for on ``log`` (after ``options.filter``).

    Raises:
        ValidationFailed: an empty log (or no events left by the filters), missing
            columns, an unreadable BPMN, or SLA options that cannot work (see
            :func:`onewindow.mining.analyses.sla`).
    """
    opts = options or ReportOptions()
    frame = apply_filter(log, opts.filter)
    if frame.is_empty():
        raise _empty_log(bool(opts.filter and opts.filter.active))
    prep = prepare(frame, opts.lifecycle)
    full = prep if prep.lifecycle == ("complete",) else prepare(prep.events.drop(CASE, LC))
    notes: list[str] = []
    if prep.kept.is_empty():
        notes.append(f"no events with lifecycle {opts.lifecycle}; the map is empty")
    comparison = None
    if opts.after is not None:
        after = apply_filter(opts.after, opts.filter)
        if after.is_empty():
            raise _empty_log(bool(opts.filter and opts.filter.active))
        comparison = compare_logs(frame, after, opts)
    elif opts.split_at is not None:
        before, after = split_by_start(frame, opts.split_at)
        comparison = compare_logs(before, after, opts)
        if before.is_empty() or after.is_empty():
            notes.append("one side of the before/after split has no cases")

    net = opts.net
    if net is None and opts.bpmn is not None:
        net = bpmn_to_petri(opts.bpmn, called=opts.bpmn_called)
    sla_report = None
    if opts.time_limit_days is not None or opts.deadline_column is not None:
        sla_report = sla(
            full,
            time_limit_days=opts.time_limit_days,
            group_by=opts.group_by,
            deadline_column=opts.deadline_column,
            end_activities=opts.end_activities,
            calendar=opts.calendar,
        )
    else:
        notes.append(
            "sla: no time limit or deadline column given (--time-limit, --deadline-column)"
        )
    if not opts.in_person:
        notes.append("trips: no in-person activities given (--trip-activity)")
    if not full.has_departments:
        notes.append("handoffs, ping-pong: the log has no department column (org:group)")
    found = variants(prep, lifecycle=prep.lifecycle)
    returns_to = opts.returns_list()
    group = opts.group_by or (SERVICE_KEY if SERVICE_KEY in full.cases.columns else None)
    return MiningReport(
        options=opts,
        cases=prep.case_count,
        events=prep.events.height,
        period=period_bounds(prep),
        durations=prep.cases.select(CASE_ID, "start", "end", "events", "duration"),
        map=process_map(prep, lifecycle=prep.lifecycle),
        variants=found,
        bottlenecks=bottlenecks(full),
        rework=rework(prep, return_activity=opts.return_activity),
        trips=trips(full, opts.in_person, group_by=opts.group_by) if opts.in_person else None,
        sla=sla_report,
        conformance=None if net is None else replay_log(net, traces(frame, opts.lifecycle)),
        comparison=comparison,
        imported=imported,
        ranked=rank_bottlenecks(full, top=opts.top_bottlenecks),
        returns=returns(full, returns_to, group_by=group),
        ping_pong=ping_pong(full),
        handoffs=handoffs(full),
        duplicates=duplicate_entry(full, opts.fields),
        queues=queues(full, opts.queue_interval),
        happy_path=happy_path(found, returns_to),
        notes=notes,
    )


# --------------------------------------------------------------------------- HTML

_CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 -apple-system,"Segoe UI","PingFang SC","Noto Sans CJK SC",
"Microsoft YaHei",sans-serif;color:#1c2a3a;background:#f3f5f8}
header{background:linear-gradient(120deg,#143a66,#1f5c99);color:#fff;padding:26px 40px 22px}
header h1{margin:0 0 4px;font-size:24px;font-weight:650;letter-spacing:.3px}
header p{margin:0;opacity:.85;font-size:13px}
main{padding:22px 40px 40px;max-width:1500px}
section{background:#fff;border:1px solid #dde3ea;border-radius:10px;padding:18px 22px;
margin:0 0 18px;box-shadow:0 1px 2px rgba(16,40,70,.05)}
h2{font-size:17px;margin:0 0 12px;color:#143a66}
h2 small{font-weight:400;color:#66768a;font-size:12.5px;margin-left:8px}
.kpis{display:grid;grid-template-columns:repeat(auto-fill,minmax(170px,1fr));gap:12px;
margin-bottom:18px}
.kpi{background:#fff;border:1px solid #dde3ea;border-radius:10px;padding:12px 14px}
.kpi b{display:block;font-size:22px;color:#143a66;font-weight:650}
.kpi span{font-size:12px;color:#66768a}
.kpi.warn b{color:#b4471c}.kpi.good b{color:#2d7d46}
.map{overflow-x:auto;border:1px solid #eef1f5;border-radius:8px;background:#fbfcfe}
.map svg{display:block;width:100%;height:auto}
.legend{font-size:12px;color:#66768a;margin-top:8px}
.legend i{display:inline-block;width:34px;height:8px;border-radius:4px;vertical-align:middle;
margin:0 4px 0 10px}
table{border-collapse:collapse;width:100%;font-size:13px}
th{text-align:left;color:#4b5b70;font-weight:600;border-bottom:2px solid #dde3ea;
padding:6px 8px;white-space:nowrap}
td{border-bottom:1px solid #eef1f5;padding:6px 8px;vertical-align:middle}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.bar{height:8px;border-radius:4px;background:#2563ab;opacity:.75;min-width:2px}
.bar.hot{background:#d0632a}
.chips{display:flex;flex-wrap:wrap;gap:3px}
.chip{background:#e8eff8;color:#1d4f8a;border-radius:4px;padding:1px 6px;font-size:12px;
white-space:nowrap}
.chip+.chip::before{content:"›";color:#9aa7b8;margin:0 5px 0 -2px}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:18px}
.grid2>section{margin:0}
.note{color:#66768a;font-size:12.5px}
.pos{color:#2d7d46}.neg{color:#b4471c}
footer{color:#8593a6;font-size:12px;padding:0 40px 30px}
.sentences{margin:0 0 14px;padding-left:22px}.sentences li{margin:0 0 6px}
.happy{background:#e3f3e8;color:#2d7d46;border-radius:4px;padding:1px 6px;font-size:12px}
.chart svg{display:block;width:100%;height:auto}
"""


def _pct(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}%"


def _num(x: float | None, digits: int = 2) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    return f"{x:,.{digits}f}"


def _kpi(value: str, label: str, tone: str = "") -> str:
    return f'<div class="kpi {tone}"><b>{escape(value)}</b><span>{escape(label)}</span></div>'


def _table(headers: Sequence[tuple[str, bool]], rows: Iterable[Sequence[str]]) -> str:
    head = "".join(f'<th class="{"n" if n else ""}">{escape(h)}</th>' for h, n in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="{"n" if headers[i][1] else ""}">{cell}</td>' for i, cell in enumerate(r)
        )
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _bar(share: float, hot: bool = False) -> str:
    width = max(0.0, min(1.0, share)) * 100
    return f'<div class="bar{" hot" if hot else ""}" style="width:{width:.1f}%"></div>'


def _kpis(r: MiningReport) -> str:
    cards = [
        _kpi(f"{r.cases:,}", "办件 cases"),
        _kpi(f"{r.events:,}", "事件 events"),
        _kpi(f"{r.map.nodes.height}", "环节 activities"),
        _kpi(f"{len(r.variants):,}", "路径变体 variants"),
        _kpi(human_duration(_median(r.durations["duration"])), "办理时长中位数 median case time"),
    ]
    if r.sla is not None:
        tone = "good" if r.sla.on_time_share >= 0.95 else "warn"
        cards.append(_kpi(_pct(r.sla.on_time_share), "按时办结率 on time", tone))
    if r.trips is not None:
        tone = "good" if r.trips.at_most_one_share >= 0.9 else "warn"
        cards.append(_kpi(_num(r.trips.mean_trips), "平均跑动次数 trips per case"))
        cards.append(_kpi(_pct(r.trips.at_most_one_share), "最多跑一次 ≤1 trip", tone))
    cards.append(_kpi(_pct(r.rework.rework_share), "返工办件占比 cases with rework"))
    if r.rework.return_activity:
        cards.append(_kpi(_pct(r.rework.return_share), f"补正率 {r.rework.return_activity}"))
    if r.conformance is not None:
        tone = "good" if r.conformance.log_fitness >= 0.95 else "warn"
        cards.append(_kpi(_num(r.conformance.log_fitness, 3), "模型符合度 fitness", tone))
    return '<div class="kpis">' + "".join(cards) + "</div>"


def _map_section(r: MiningReport) -> str:
    drawing = draw_map(r.map, max_nodes=r.options.max_nodes, max_edges=r.options.max_edges)
    hidden = ""
    if drawing.hidden_activities or drawing.hidden_edges:
        hidden = (
            f" · 为清晰起见隐藏了 {drawing.hidden_activities} 个低频环节、{drawing.hidden_edges} "
            f"条低频连线 (hidden for clarity: {drawing.hidden_activities} rare activities, "
            f"{drawing.hidden_edges} rare edges)"
        )
    scope = f"lifecycle: {_lifecycle_label(r.options.lifecycle)}"
    if r.options.lifecycle is None:
        scope += " (every event, start and complete alike)"
    overlap = ""
    if r.map.edges.height and r.map.edges.select((pl.col("mean") < 0).any()).item():
        overlap = (
            f'<i style="background:{OVERLAP_COLOUR}"></i>negative: the next activity began '
            "before this one ended (overlap) · "
        )
    return (
        f"<section><h2>流程图 Process map<small>{escape(scope)}{escape(hidden)}</small></h2>"
        f'<div class="map">{drawing.svg}</div>'
        '<div class="legend">连线：次数 · 平均间隔 (edge: count · mean time between the events)'
        '<i style="background:#607da0"></i>fast<i style="background:#de9628"></i>'
        '<i style="background:#c82d2d"></i>slow · '
        f"{overlap}dashed: back/rework edges · box shade: event count</div></section>"
    )


def _bottleneck_section(r: MiningReport) -> str:
    sentences = "".join(
        f'<li><b>{escape(str(b["name"]))}</b> <span class="note">{escape(_kind(b["kind"]))}'
        f"</span><br>{escape(b['sentence'])} · {b['count']:,} ×</li>"
        for b in r.ranked[:6]
    )
    table = r.bottlenecks.activities.head(12)
    top = float(table["waiting_total"].max() or 0.0) if table.height else 0.0  # type: ignore[arg-type]
    rows = []
    for i, row in enumerate(table.iter_rows(named=True)):
        total = row["waiting_total"] or 0.0
        rows.append(
            [
                escape(str(row["activity"])),
                f"{row['executions']:,}",
                human_duration(row["waiting_median"]),
                human_duration(row["waiting_p90"]),
                human_duration(row["service_median"]),
                _pct(row["waiting_share"]),
                _bar(total / top if top else 0.0, hot=i < 3),
            ]
        )
    note = (
        ""
        if r.bottlenecks.has_start_events
        else '<p class="note">日志无开始时间，无法区分办理与等待 (no start times: service '
        "time unknown; waiting = time since the previous event)</p>"
    )
    return (
        "<section><h2>瓶颈 Where cases wait<small>按累计等待排序，占全部办理时长的比例 "
        "(ranked by total waiting, share of all cases' cycle time)</small></h2>"
        f'<ol class="sentences">{sentences}</ol>'
        + _table(
            [
                ("环节 activity", False),
                ("次数 runs", True),
                ("等待中位数 median wait", True),
                ("P90 等待", True),
                ("办理中位数 median service", True),
                ("占时长 share", True),
                ("累计等待 total waiting", False),
            ],
            rows,
        )
        + note
        + "</section>"
    )


def _kind(kind: str) -> str:
    return {
        "handoff": "环节交接 activity hand-off",
        "activity": "环节前等待 wait before activity",
        "department_handoff": "部门交接 department hand-off",
    }.get(kind, kind)


def _handoff_section(r: MiningReport) -> str:
    table = r.handoffs
    if table is None or table.is_empty():
        return ""
    rows = [
        [
            escape(f"{row['from_department']} → {row['to_department']}"),
            f"{row['count']:,}",
            human_duration(row["median_seconds"]),
            human_duration(row["p90_seconds"]),
            _pct(row["share_of_cycle_time"]),
        ]
        for row in table.head(10).iter_rows(named=True)
    ]
    pp = ""
    if r.ping_pong is not None:
        d = r.ping_pong.as_dict()
        pairs = ", ".join(
            f"{escape(str(p['department_a']))} ⇄ {escape(str(p['department_b']))} ({p['cases']:,})"
            for p in d["pairs"][:5]
        )
        pp = (
            f'<p class="note">来回推送 ping-pong (A → B → A): {d["ping_pong_cases"]:,} 件 '
            f"({_pct(d['share'])}) {pairs}</p>"
        )
    return (
        "<section><h2>部门交接 Hand-offs between departments</h2>"
        + _table(
            [
                ("交接 from → to", False),
                ("次数", True),
                ("等待中位数 median", True),
                ("P90", True),
                ("占时长 share", True),
            ],
            rows,
        )
        + pp
        + "</section>"
    )


def _returns_section(ret: ReturnsReport) -> str:
    d = ret.as_dict()
    if not d["cases_with_returns"]:
        return (
            f"<section><h2>补正退回 Returns<small>{escape(', '.join(ret.activities))}</small>"
            "</h2><p class=note>没有办件被退回补正 (no case was sent back; name the log's "
            "return activities with --return-activity)</p></section>"
        )
    rows = [[f"{x['returns']}", f"{x['cases']:,}"] for x in d["distribution"]]
    group = ""
    if d["by_group"]:
        group = _table(
            [(str(d["group_by"]), False), ("办件", True), ("补正率 share", True), ("平均", True)],
            [
                [
                    escape(str(g["group"])),
                    f"{g['cases']:,}",
                    _pct(g["share"]),
                    _num(g["mean_per_case"]),
                ]
                for g in d["by_group"][:12]
            ],
        )
    return (
        f"<section><h2>补正退回 Returns<small>{escape(', '.join(ret.activities))}</small></h2>"
        f"<p>{d['cases_with_returns']:,} 件被退回补正 ({_pct(d['share'])}), 平均 "
        f"{_num(d['mean_per_case'])} 次/件 (cases sent back; returns per case)</p>"
        + _table([("补正次数 returns", True), ("办件 cases", True)], rows)
        + group
        + "</section>"
    )


def _duplicates_section(dup: DuplicateEntryReport) -> str:
    d = dup.as_dict()
    skipped = ""
    if dup.identifier_like:
        names = escape(", ".join(dup.identifier_like))
        skipped = (
            f"<p class=note>视为事件标识、未检查 (identifier-like, not checked; name them with "
            f"--field to check them): {names}</p>"
        )
    if not d["fields"]:
        return (
            "<section><h2>重复录入 Duplicate data entry</h2><p class=note>日志中没有可检查的"
            f"数据字段 (no event data fields in the log)</p>{skipped}</section>"
        )
    rows = [
        [
            escape(str(f["field"])),
            f"{f['duplicate_cases']:,}",
            _pct(f["share"]),
            f"{f['same_value_cases']:,}",
            escape(", ".join(str(st["activity"]) for st in f["steps"][:5])),
        ]
        for f in d["fields"][:12]
    ]
    return (
        "<section><h2>重复录入 Duplicate data entry<small>同一字段在多个环节录入 "
        "(a field captured at more than one step)</small></h2>"
        + _table(
            [
                ("字段 field", False),
                ("重复办件 cases", True),
                ("占比", True),
                ("值相同 same value", True),
                ("录入环节 steps", False),
            ],
            rows,
        )
        + skipped
        + "</section>"
    )


_LINE_COLOURS = ("#1f5c99", "#d0632a", "#2d7d46", "#8e44ad", "#b4471c", "#607da0")


def _queue_section(q: QueueReport) -> str:
    if q.activities.is_empty():
        return ""
    shown = q.activities.head(len(_LINE_COLOURS))["activity"].to_list()
    series = q.series.filter(pl.col("activity").is_in(shown))
    w, h, pad = 1000.0, 220.0, 34.0
    t0 = cast(datetime, series["at"].min())
    t1 = cast(datetime, series["at"].max())
    top = max(int(series["length"].max() or 1), 1)  # type: ignore[arg-type]
    span = max((t1 - t0).total_seconds(), 1.0)
    lines = []
    legend = []
    for colour, activity in zip(_LINE_COLOURS, shown, strict=False):
        pts = series.filter(pl.col("activity") == activity).select("at", "length").rows()
        coords = " ".join(
            f"{pad + (w - 2 * pad) * (t - t0).total_seconds() / span:.1f},"
            f"{h - pad - (h - 2 * pad) * n / top:.1f}"
            for t, n in pts
        )
        lines.append(
            f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="1.6"/>'
        )
        legend.append(f'<i style="background:{colour}"></i>{escape(activity)}')
    axis = (
        f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#b7c2d0"/>'
        f'<text x="{pad}" y="{h - 12}" class="ax">{t0:%Y-%m-%d}</text>'
        f'<text x="{w - pad}" y="{h - 12}" class="ax" text-anchor="end">{t1:%Y-%m-%d}</text>'
        f'<text x="{pad - 4}" y="{pad + 4}" class="ax" text-anchor="end">{top}</text>'
        f'<text x="{pad - 4}" y="{h - pad}" class="ax" text-anchor="end">0</text>'
    )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w:.0f} {h:.0f}" '
        'role="img" aria-label="queue length over time">'
        "<style>.ax{font-size:11px;fill:#66768a}</style>" + axis + "".join(lines) + "</svg>"
    )
    rows = [
        [escape(str(a)), _num(m, 1), f"{mx:,}", "–" if at is None else f"{at:%Y-%m-%d}"]
        for a, m, mx, at in q.activities.head(8).iter_rows()
    ]
    return (
        f"<section><h2>排队 Queue length over time<small>等待中的办件数，每 {escape(q.interval)} "
        f"采样 (cases waiting for each activity, sampled every {escape(q.interval)})</small></h2>"
        f'<div class="chart">{svg}</div><div class="legend">{"".join(legend)}</div>'
        + _table(
            [
                ("环节 activity", False),
                ("平均排队 mean", True),
                ("最长 max", True),
                ("最长于 at", True),
            ],
            rows,
        )
        + "</section>"
    )


def _variant_section(r: MiningReport) -> str:
    rows = []
    shown = r.variant_rows()[:10]
    for v in shown:
        acts = v["activities"]
        chips = "".join(f'<span class="chip">{escape(a)}</span>' for a in acts[:14])
        if len(acts) > 14:
            chips += f'<span class="chip">… +{len(acts) - 14}</span>'
        mark = ' <span class="happy">理想路径 happy path</span>' if v["happy_path"] else ""
        rows.append(
            [
                f"{v['rank']}",
                f"{v['cases']:,}",
                _pct(v["frequency"]),
                _pct(v["coverage"]),
                human_duration(v["median_duration_seconds"]),
                f'<div class="chips">{chips}</div>{mark}',
            ]
        )
    covered = shown[-1]["coverage"] if shown else 0.0
    happy = ""
    if r.happy_path is not None and not any(v["happy_path"] for v in shown):
        happy = (
            f'<p class="note">理想路径 happy path: {escape(r.happy_path.label)} '
            f"({_pct(r.happy_path.share)})</p>"
        )
    return (
        f"<section><h2>路径变体 Variants<small>共 {len(r.variants):,} 个；前 {len(shown)} 个覆盖 "
        f"{_pct(covered)} 的办件 (top {len(shown)} cover {_pct(covered)} of cases)</small></h2>"
        + _table(
            [
                ("#", True),
                ("办件 cases", True),
                ("占比 share", True),
                ("累计 coverage", True),
                ("时长中位数 median", True),
                ("路径 path", False),
            ],
            rows,
        )
        + happy
        + "</section>"
    )


def _trips_section(t: TripsReport) -> str:
    dist = t.distribution
    most = int(dist["cases"].max() or 1) if dist.height else 1  # type: ignore[arg-type]
    bars = []
    for trips_n, cases in dist.iter_rows():
        share = cases / t.cases if t.cases else 0.0
        bars.append(
            [
                f"{trips_n}",
                f"{cases:,}",
                _pct(share),
                _bar(cases / most, hot=trips_n > 1),
            ]
        )
    body = _table(
        [("跑动次数 trips", True), ("办件 cases", True), ("占比", True), ("", False)], bars
    )
    group = ""
    if t.by_group is not None and t.by_group.height:
        key = t.by_group.columns[0]
        group = _table(
            [(key, False), ("办件 cases", True), ("平均 mean", True), ("≤1 次", True)],
            [[escape(str(g)), f"{c:,}", _num(m), _pct(s)] for g, c, m, s in t.by_group.iter_rows()],
        )
    acts = ", ".join(t.activities)
    return (
        f"<section><h2>跑动次数 Trips<small>到场环节 in person: {escape(acts)}</small></h2>"
        f"{body}{group}</section>"
    )


def _rework_section(w: ReworkReport) -> str:
    rows = [
        [escape(str(a)), f"{c:,}", f"{rc:,}", f"{x:,}", _pct(s)]
        for a, c, rc, x, s in w.activities.head(10).iter_rows()
        if rc
    ]
    if not rows:
        rows = [["无重复环节 no repeated activities", "", "", "", ""]]
    return (
        f"<section><h2>返工 Rework<small>{_pct(w.rework_share)} 的办件有重复环节 "
        f"(cases with a repeated activity)</small></h2>"
        + _table(
            [
                ("环节 activity", False),
                ("办件 cases", True),
                ("返工办件 rework cases", True),
                ("多做次数 extra runs", True),
                ("返工率", True),
            ],
            rows,
        )
        + "</section>"
    )


def _sla_section(s: SlaReport) -> str:
    d = s.as_dict()
    summary = _table(
        [("", False), ("", True)],
        [
            ["已办结办件 finished cases", f"{s.cases:,}"],
            ["按时 on time", f"{s.on_time:,} ({_pct(s.on_time_share)})"],
            ["超期 overdue", f"{s.overdue:,} ({_pct(d['overdue_share'])})"],
            ["平均超期（工作日） mean working days over", _num(d["mean_workdays_over"], 1)],
            ["最多超期（工作日） most working days over", _num(d["max_workdays_over"], 0)],
            ["平均用时（工作日） mean working days used", _num(s.mean_workdays, 1)],
        ],
    )
    group = ""
    if s.by_group is not None and s.by_group.height:
        key = s.by_group.columns[0]
        group = _table(
            [
                (key, False),
                ("办件", True),
                ("按时率 on time", True),
                ("平均工作日", True),
                ("超期 overdue", True),
            ],
            [
                [
                    escape(str(g[key])),
                    f"{g['cases']:,}",
                    _pct(g["on_time_share"]),
                    _num(g["mean_workdays"], 1),
                    f"{g['overdue']:,}",
                ]
                for g in s.by_group.head(12).iter_rows(named=True)
            ],
        )
    notes = "".join(f'<p class="note">{escape(n)}</p>' for n in s.notes)
    return f"<section><h2>承诺时限 Legal time limit</h2>{summary}{group}{notes}</section>"


def _conformance_section(c: ReplayResult) -> str:
    rows = []
    for result, n in sorted(c.variants, key=lambda rn: (rn[0].fitness, -rn[1]))[:8]:
        if result.is_fit:
            continue
        problems = ", ".join(sorted(set(result.problems))) or "–"
        rows.append(
            [
                f"{n:,}",
                _num(result.fitness, 3),
                f"{result.missing}/{result.remaining}",
                escape(problems),
            ]
        )
    summary = (
        f"<p>日志符合度 log fitness <b>{_num(c.log_fitness, 4)}</b> · 平均轨迹符合度 average "
        f"trace fitness {_num(c.average_trace_fitness, 4)} · 完全符合的办件 fitting cases "
        f"{_num(c.percentage_of_fitting_traces, 1)}%</p>"
    )
    table = _table(
        [
            ("办件 cases", True),
            ("符合度 fitness", True),
            ("缺失/剩余 missing/remaining", True),
            ("偏离环节 activities out of order or skipped ahead", False),
        ],
        rows or [["", "", "", "全部符合 every case fits"]],
    )
    return (
        "<section><h2>与设计流程的符合度 Conformance to the designed BPMN"
        "<small>token replay</small></h2>" + summary + table + "</section>"
    )


def _comparison_section(c: Comparison) -> str:
    rows = []
    for m in c.metrics:
        change = m.relative_change
        tone = "pos" if m.change < 0 else "neg"
        rows.append(
            [
                escape(m.name),
                f"{_num(m.mean_before)} <span class=note>[{_num(m.ci_before[0])}, "
                f"{_num(m.ci_before[1])}]</span>",
                f"{_num(m.mean_after)} <span class=note>[{_num(m.ci_after[0])}, "
                f"{_num(m.ci_after[1])}]</span>",
                f'<span class="{tone}">{_pct(change) if change is not None else "–"}</span>',
                f"[{_num(m.diff_ci[0])}, {_num(m.diff_ci[1])}]",
                f"{m.p_value:.3g}",
                f"{m.n_before:,} / {m.n_after:,}",
            ]
        )
    metrics = _table(
        [
            ("指标 metric", False),
            (f"{c.label_before} (95% CI)", True),
            (f"{c.label_after} (95% CI)", True),
            ("变化 change", True),
            ("差值 95% CI", True),
            ("Mann–Whitney p", True),
            ("n", True),
        ],
        rows,
    )
    edges = _table(
        [
            ("连线 edge", False),
            ("每百件 before", True),
            ("每百件 after", True),
            ("变化", True),
            ("平均等待 before", True),
            ("平均等待 after", True),
            ("状态 status", False),
        ],
        [
            [
                f"{escape(str(s))} → {escape(str(t))}",
                _num(b, 1),
                _num(a, 1),
                _num(d, 1),
                human_duration(mb),
                human_duration(ma),
                escape(str(st)),
            ]
            for s, t, b, a, d, mb, ma, st in c.edges.select(
                "source",
                "target",
                "per100_before",
                "per100_after",
                "per100_change",
                "mean_before",
                "mean_after",
                "status",
            )
            .head(12)
            .iter_rows()
        ],
    )
    return (
        "<section><h2>改进前后对比 Before / after<small>bootstrap 95% CI (seeded), "
        "Mann–Whitney U two-sided</small></h2>"
        + metrics
        + '<h2 style="margin-top:18px">流程图变化 Map changes<small>per 100 cases</small></h2>'
        + edges
        + "</section>"
    )


def render_html(report: MiningReport) -> str:
    """One self-contained HTML document for the report."""
    r = report
    start, end = r.period
    period = f"{start:%Y-%m-%d} – {end:%Y-%m-%d}" if start is not None and end is not None else "–"
    source = r.options.source or (r.imported.source if r.imported else "event log")
    parts = [
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(r.options.title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{escape(r.options.title)}</h1><p>{escape(source)} · {period} (UTC) · "
        f"generated {r.generated_at:%Y-%m-%d %H:%M} UTC by onewindow</p></header><main>",
        _kpis(r),
        _map_section(r),
        _bottleneck_section(r),
        _handoff_section(r),
    ]
    if r.trips is not None:
        parts.append('<div class="grid2">')
        parts.append(_trips_section(r.trips))
        parts.append(_rework_section(r.rework))
        parts.append('</div><div style="height:18px"></div>')
    else:
        parts.append(_rework_section(r.rework))
    parts.append(_variant_section(r))
    if r.returns is not None:
        parts.append(_returns_section(r.returns))
    if r.sla is not None:
        parts.append(_sla_section(r.sla))
    if r.queues is not None:
        parts.append(_queue_section(r.queues))
    if r.duplicates is not None:
        parts.append(_duplicates_section(r.duplicates))
    if r.conformance is not None:
        parts.append(_conformance_section(r.conformance))
    if r.comparison is not None:
        parts.append(_comparison_section(r.comparison))
    if r.imported is not None:
        parts.append(
            '<section><h2>导入报告 Import report</h2><pre class="note">'
            f"{escape(r.imported.summary())}</pre></section>"
        )
    parts.append("</main><footer>onewindow · 一窗通办 · process mining</footer></body></html>")
    return "".join(parts)


# --------------------------------------------------------------------------- compare


@dataclass
class CompareReport:
    """Two logs (or two periods) side by side: ``onewindow mining compare``."""

    options: ReportOptions
    comparison: Comparison
    before_source: str | None = None
    after_source: str | None = None
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def as_dict(self) -> dict[str, Any]:
        """The documented JSON (:data:`~.schema.COMPARE_SCHEMA`)."""
        c = self.comparison
        return _clean_dict(
            {
                "schema_version": SCHEMA_VERSION,
                "generated_at": self.generated_at,
                "filters": describe(self.options.filter),
                "before": {
                    "source": self.before_source,
                    "cases": c.cases_before,
                    "events": c.events_before,
                },
                "after": {
                    "source": self.after_source,
                    "cases": c.cases_after,
                    "events": c.events_after,
                },
                "comparison": c.as_dict(),
            }
        )


def build_compare(
    before: EventFrame,
    after: EventFrame,
    options: ReportOptions | None = None,
    *,
    before_source: str | None = None,
    after_source: str | None = None,
) -> CompareReport:
    """Compare two logs after the same filters.

    Raises:
        ValidationFailed: either log is empty (after the filters) or lacks columns.
    """
    opts = options or ReportOptions()
    filtered = bool(opts.filter and opts.filter.active)
    b = apply_filter(before, opts.filter)
    a = apply_filter(after, opts.filter)
    for frame in (b, a):
        if frame.is_empty():
            raise _empty_log(filtered)
    return CompareReport(opts, compare_logs(b, a, opts), before_source, after_source)


def render_compare_html(report: CompareReport) -> str:
    """One self-contained HTML page for a before/after comparison."""
    c = report.comparison
    title = "改进前后对比 Before / after"
    cards = [
        _kpi(f"{c.cases_before:,}", f"办件 cases · {c.label_before}"),
        _kpi(f"{c.cases_after:,}", f"办件 cases · {c.label_after}"),
    ]
    for m in c.metrics[:3]:
        change = m.relative_change
        tone = "good" if m.change < 0 and m.p_value < 0.05 else "warn" if m.change > 0 else ""
        cards.append(_kpi(_pct(change) if change is not None else "–", m.name, tone))
    sources = " vs ".join(escape(s or "–") for s in (report.before_source, report.after_source))
    return (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>{_CSS}</style></head><body>"
        f"<header><h1>{title}</h1><p>{sources} · generated "
        f"{report.generated_at:%Y-%m-%d %H:%M} UTC by onewindow</p></header><main>"
        + '<div class="kpis">'
        + "".join(cards)
        + "</div>"
        + _comparison_section(c)
        + "</main><footer>onewindow · 一窗通办 · process mining</footer></body></html>"
    )
