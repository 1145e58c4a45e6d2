"""Government measures, filters, bottleneck ranking and the report JSON on hand-made logs.

Every expected figure below is worked out by hand from the little logs in this file.
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema_rs
import polars as pl
import pytest

from onewindow.kit.calendar import WorkingCalendar, default_calendar
from onewindow.kit.errors import ValidationFailed
from onewindow.mining.analyses import sla
from onewindow.mining.filters import LogFilter, apply_filter
from onewindow.mining.importers import read_log
from onewindow.mining.maps import process_map, variants
from onewindow.mining.measures import (
    duplicate_entry,
    handoffs,
    ping_pong,
    queues,
    rank_bottlenecks,
    returns,
)
from onewindow.mining.prepared import prepare
from onewindow.mining.report import (
    ReportOptions,
    build_compare,
    build_report,
    happy_path,
    render_html,
)
from onewindow.mining.schema import COMPARE_SCHEMA, REPORT_SCHEMA
from tests.conftest import TEST_DATA

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday
H = 3600.0
LOGS = TEST_DATA / "eventlogs"

# case, activity, hours after T0, department, id_number field, service, channel
ROWS: list[tuple[str, str, float, str, str | None, str, str]] = [
    ("a", "提交申请", 0, "窗口", "110", "S1", "online"),
    ("a", "受理", 1, "窗口", "110", "S1", "online"),
    ("a", "材料审核", 3, "审批科", None, "S1", "online"),
    ("a", "补正通知", 4, "审批科", None, "S1", "online"),
    ("a", "材料审核", 10, "窗口", "110", "S1", "online"),
    ("a", "消防审查", 20, "消防科", None, "S1", "online"),
    ("a", "办结", 21, "审批科", None, "S1", "online"),
    ("b", "提交申请", 0, "窗口", "220", "S1", "window"),
    ("b", "受理", 2, "窗口", "221", "S1", "window"),
    ("b", "材料审核", 4, "审批科", None, "S1", "window"),
    ("b", "消防审查", 8, "消防科", None, "S1", "window"),
    ("b", "办结", 9, "审批科", None, "S1", "window"),
    ("c", "提交申请", 0, "窗口", "330", "S2", "online"),
    ("c", "受理", 1, "窗口", None, "S2", "online"),
    ("c", "材料审核", 2, "审批科", None, "S2", "online"),
    ("c", "消防审查", 6, "消防科", None, "S2", "online"),
    ("c", "办结", 7, "审批科", None, "S2", "online"),
    ("d", "提交申请", 30, "窗口", None, "S2", "window"),  # a case with one event
]


def _log(rows: list[tuple[str, str, float, str, str | None, str, str]] = ROWS) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "case:concept:name": [r[0] for r in rows],
            "concept:name": [r[1] for r in rows],
            "time:timestamp": [T0 + timedelta(hours=r[2]) for r in rows],
            "org:group": [r[3] for r in rows],
            "id_number": [r[4] for r in rows],
            "case:service": [r[5] for r in rows],
            "case:channel": [r[6] for r in rows],
        }
    )


LOG = _log()


def _edge(table: pl.DataFrame, source: str, target: str) -> dict[str, Any]:
    return table.filter((pl.col("source") == source) & (pl.col("target") == target)).row(
        0, named=True
    )


def test_process_map_edge_statistics_and_one_event_case() -> None:
    pm = process_map(LOG)
    review_fire = _edge(pm.edges, "材料审核", "消防审查")
    # a: 10 → 20 (10 h), b: 4 → 8 (4 h), c: 2 → 6 (4 h)
    assert review_fire["count"] == 3
    assert review_fire["mean"] == pytest.approx(6 * H)
    assert review_fire["median"] == 4 * H
    assert review_fire["p90"] == pytest.approx(8.8 * H)  # linear: 4 + 0.8 · (10 − 4)
    assert review_fire["max"] == 10 * H
    assert pm.cases == 4
    assert pm.start_counts() == {"提交申请": 4}
    assert pm.end_counts() == {"办结": 3, "提交申请": 1}  # d: start and end at once
    assert "d" not in set(prepare(LOG).kept.filter(pl.col("@@prev_act").is_not_null())["@@case"])


def test_service_time_from_a_start_timestamp_column() -> None:
    log = pl.DataFrame(
        {
            "case:concept:name": ["x", "x", "y", "y"],
            "concept:name": ["收件", "审核", "收件", "审核"],
            "start_timestamp": [T0, T0 + timedelta(hours=5), T0, T0 + timedelta(hours=3)],
            "time:timestamp": [
                T0 + timedelta(hours=1),
                T0 + timedelta(hours=6),
                T0 + timedelta(hours=2),
                T0 + timedelta(hours=7),
            ],
        }
    )
    nodes = {r["activity"]: r for r in process_map(log).nodes.iter_rows(named=True)}
    assert nodes["审核"]["service_mean"] == pytest.approx(2.5 * H)  # 1 h and 4 h
    assert nodes["收件"]["service_median"] == pytest.approx(1.5 * H)
    edge = _edge(process_map(log).edges, "收件", "审核")
    assert edge["mean"] == pytest.approx(2.5 * H)  # waits: 5 − 1 = 4 h, 3 − 2 = 1 h


def test_handoffs_between_departments_with_waiting() -> None:
    table = handoffs(LOG)
    rows = {(r["from_department"], r["to_department"]): r for r in table.iter_rows(named=True)}
    # 审批科 → 消防科: b 4 h, c 4 h (a goes 窗口 → 消防科)
    assert rows["审批科", "消防科"]["count"] == 2
    assert rows["审批科", "消防科"]["median_seconds"] == 4 * H
    assert rows["窗口", "消防科"]["total_seconds"] == 10 * H
    # 窗口 → 审批科: a 2 h, b 2 h, c 1 h
    assert rows["窗口", "审批科"]["count"] == 3
    assert rows["窗口", "审批科"]["total_seconds"] == 5 * H
    cycle = (21 + 9 + 7 + 0) * H
    assert rows["窗口", "审批科"]["share_of_cycle_time"] == pytest.approx(5 * H / cycle)


def test_ping_pong_between_departments() -> None:
    report = ping_pong(LOG)
    # departments, repeats collapsed — a: 窗口 审批科 窗口 消防科 审批科 (窗口 ⇄ 审批科);
    # b and c: 窗口 审批科 消防科 审批科 (审批科 ⇄ 消防科); d: 窗口 alone
    assert report.ping_pong_cases == 3
    assert report.occurrences == 3
    assert report.pairs.to_dicts() == [
        {"department_a": "审批科", "department_b": "消防科", "occurrences": 2, "cases": 2},
        {"department_a": "窗口", "department_b": "审批科", "occurrences": 1, "cases": 1},
    ]


def test_duplicate_data_entry() -> None:
    report = duplicate_entry(LOG)
    assert report.fields == ["id_number"]
    row = report.table.row(0, named=True)
    # a: 提交申请, 受理, 材料审核 (same value); b: two steps, values differ; c: one step
    assert row["cases"] == 3
    assert row["duplicate_cases"] == 2
    assert row["same_value_cases"] == 1
    assert report.cases_with_duplicates == 2
    assert [s["activity"] for s in row["steps"]][:2] == ["提交申请", "受理"]


def test_queue_length_over_time() -> None:
    report = queues(LOG, "1h")
    fire = report.series.filter(pl.col("activity") == "消防审查")
    at = {t: n for t, n in fire.select("at", "length").iter_rows()}
    # waiting for 消防审查: a [10, 20), b [4, 8), c [2, 6)
    assert at[T0 + timedelta(hours=2)] == 1
    assert at[T0 + timedelta(hours=4)] == 2
    assert at[T0 + timedelta(hours=6)] == 1  # c done waiting, b still waits
    assert at[T0 + timedelta(hours=8)] == 0
    assert at[T0 + timedelta(hours=10)] == 1
    assert at[T0 + timedelta(hours=20)] == 0
    row = report.activities.filter(pl.col("activity") == "消防审查").row(0, named=True)
    assert row["max_length"] == 2
    assert row["mean_length"] == pytest.approx(18 * H / (30 * H))  # waits ÷ span


def test_returns_per_case_and_service() -> None:
    report = returns(LOG, ["补正通知"], group_by="case:service")
    assert report.cases == 4
    assert report.cases_with_returns == 1
    assert report.total_returns == 1
    groups = {g["group"]: g for g in report.as_dict()["by_group"]}
    assert groups["S1"]["share"] == 0.5
    assert groups["S2"]["cases_with_returns"] == 0


def test_bottlenecks_ranked_with_share_and_sentence() -> None:
    ranked = rank_bottlenecks(LOG, top=50)
    assert ranked[0]["kind"] in {"activity", "handoff", "department_handoff"}
    totals = [b["total_seconds"] for b in ranked]
    assert totals == sorted(totals, reverse=True)
    edges = [b for b in ranked if b["kind"] == "handoff"]
    # one timestamp per event: the waits of all activity hand-offs are the cycle time
    assert sum(b["share_of_cycle_time"] for b in edges) == pytest.approx(1.0)
    fire = next(b for b in edges if b["name"] == "材料审核 → 消防审查")
    assert fire["share_of_cycle_time"] == pytest.approx(18 / 37)
    assert fire["sentence"] == "材料审核 → 消防审查 waits 4.0 h median, 49 % of cycle time"


def test_variants_coverage_and_happy_path() -> None:
    found = variants(LOG)
    assert [v.cases for v in found] == [2, 1, 1]
    assert found[0].activities == ("提交申请", "受理", "材料审核", "消防审查", "办结")
    assert happy_path(found, ["补正通知"]) == found[0]
    report = build_report(LOG)
    rows = report.variant_rows()
    assert [r["coverage"] for r in rows] == [0.5, 0.75, 1.0]
    assert rows[0]["happy_path"] is True
    rework = [v for v in found if "补正通知" in v.activities][0]
    assert happy_path([rework]) == rework  # nothing better: the most frequent


@pytest.mark.parametrize(
    ("spec", "cases"),
    [
        (LogFilter(services=["S2"]), {"c", "d"}),
        (LogFilter(channels=["window"]), {"b", "d"}),
        (LogFilter(departments=["消防科"]), {"a", "b", "c"}),
        (LogFilter(since=T0 + timedelta(hours=1)), {"d"}),
        (LogFilter(until=T0 + timedelta(hours=1)), {"a", "b", "c"}),
        (LogFilter(variants=["1"]), {"b", "c"}),
        (LogFilter(variants=["提交申请"]), {"d"}),
        (LogFilter(attributes={"id_number": ["221"]}), {"b"}),
        (LogFilter(services=["S1"], channels=["online"]), {"a"}),
    ],
)
def test_filters_keep_whole_cases(spec: LogFilter, cases: set[str]) -> None:
    kept = apply_filter(LOG, spec)
    assert set(kept["case:concept:name"]) == cases
    for case in cases:
        assert (
            kept.filter(pl.col("case:concept:name") == case).height
            == LOG.filter(pl.col("case:concept:name") == case).height
        )


def test_filter_on_a_missing_column_is_a_clear_error() -> None:
    with pytest.raises(ValidationFailed) as err:
        apply_filter(LOG.drop("org:group"), LogFilter(departments=["x"]))
    assert err.value.code == "mining.filter_column_missing"
    with pytest.raises(ValidationFailed) as err:
        build_report(LOG, ReportOptions(filter=LogFilter(services=["nope"])))
    assert err.value.code == "mining.empty_log"


def test_vectorised_sla_equals_the_calendar() -> None:
    cal = WorkingCalendar(
        holidays=[datetime(2026, 4, 6).date(), datetime(2026, 5, 1).date()],
        makeup_workdays=[datetime(2026, 4, 26).date()],
        tz="Asia/Shanghai",
    )
    rng = random.Random(5)
    rows = []
    for i in range(300):
        start = T0 + timedelta(hours=rng.uniform(0, 24 * 60))
        end = start + timedelta(hours=rng.uniform(0, 24 * 30))
        rows += [(f"k{i}", "收件", start), (f"k{i}", "办结", end)]
    log = pl.DataFrame(
        {
            "case:concept:name": [r[0] for r in rows],
            "concept:name": [r[1] for r in rows],
            "time:timestamp": [r[2] for r in rows],
        }
    )
    for limit in (0, 1, 5, 20):
        report = sla(log, time_limit_days=limit, end_activities=["办结"], calendar=cal)
        for row in report.per_case.iter_rows(named=True):
            deadline = cal.deadline(row["start"], limit)
            assert row["deadline"] == deadline
            assert row["workdays_used"] == cal.workdays_between(row["start"], row["end"])
            assert row["on_time"] == (row["end"] <= deadline)
            over = 0 if row["on_time"] else max(0, cal.workdays_between(deadline, row["end"]))
            assert row["workdays_over"] == over


def test_sla_days_over_on_a_hand_log() -> None:
    report = sla(LOG, time_limit_days=0, end_activities=["办结"], calendar=default_calendar())
    # every finished case ends on Monday/Tuesday; a limit of 0 ends Monday 23:59:59 local
    on_time = dict(report.per_case.select("case:concept:name", "on_time").iter_rows())
    assert on_time == {"a": False, "b": True, "c": True}
    assert report.as_dict()["overdue_cases"][0]["workdays_over"] == 1
    assert report.open_cases == 1  # d never reached 办结


def _valid(schema: dict[str, Any], document: dict[str, Any]) -> None:
    errors = [str(e) for e in jsonschema_rs.validator_for(schema).iter_errors(document)]
    assert not errors, errors[:5]


def test_report_json_validates_and_has_every_section() -> None:
    opts = ReportOptions(
        in_person=["受理"],
        return_activities=["补正通知"],
        time_limit_days=3,
        end_activities=["办结"],
        group_by="case:service",
        split_at=T0 + timedelta(hours=12),
    )
    document = json.loads(json.dumps(build_report(LOG, opts).as_dict()))
    _valid(REPORT_SCHEMA, document)
    for key in ("activities", "variants", "bottlenecks", "trips", "returns", "rework"):
        assert document[key]
    assert document["handoffs"][0]["from_department"]
    assert document["sla"]["cases"] == 3
    assert document["rework"]["ping_pong"]["ping_pong_cases"] == 3
    assert document["duplicate_entry"]["cases_with_duplicates"] == 2
    edge = document["process_map"]["edges"][0]
    assert {"source", "target", "count", "mean_seconds", "median_seconds", "p90_seconds"} <= set(
        edge
    )


def test_compare_json_validates() -> None:
    before = LOG.filter(pl.col("case:service") == "S1")
    after = LOG.filter(pl.col("case:service") == "S2")
    built = build_compare(before, after, before_source="S1", after_source="S2")
    document = json.loads(json.dumps(built.as_dict()))
    _valid(COMPARE_SCHEMA, document)
    assert document["before"]["cases"] == 2
    statuses = {e["status"] for e in document["comparison"]["edges"]}
    assert "removed" in statuses  # 补正通知 edges only before


@pytest.mark.parametrize(
    "name",
    [
        "running-example.xes",
        "road_traffic_fines_100_traces.xes",
        "wabo_receipt.xes.gz",
        "bpic2020_permits_1_trace_per_variant.xes.gz",
    ],
)
def test_report_on_real_logs_validates(name: str) -> None:
    frame, imported = read_log(LOGS / name)
    deadline = "case:deadline" if "wabo" in name else None
    report = build_report(frame, ReportOptions(deadline_column=deadline), imported)
    _valid(REPORT_SCHEMA, json.loads(json.dumps(report.as_dict())))
    html = render_html(report)
    assert "<script" not in html
    assert "<svg" in html


def test_a_log_of_one_single_event_case(tmp_path: Path) -> None:
    one = LOG.filter(pl.col("case:concept:name") == "d")
    report = build_report(one, ReportOptions(time_limit_days=1))
    document = report.as_dict()
    _valid(REPORT_SCHEMA, json.loads(json.dumps(document)))
    assert document["cases"] == 1
    assert document["process_map"]["edges"] == []
    assert document["variants"][0]["activities"] == ["提交申请"]
    assert document["cycle_time"]["median_seconds"] == 0.0
    assert document["sla"]["on_time"] == 1
    assert document["bottlenecks"] == []
    render_html(report)
