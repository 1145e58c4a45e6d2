"""Trips, rework, SLA, bottlenecks, before/after and the HTML report on small logs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from onewindow.kit.calendar import WorkingCalendar
from onewindow.mining.analyses import bottlenecks, rework, sla, trips
from onewindow.mining.compare import bootstrap_mean_ci, compare_samples
from onewindow.mining.report import ReportOptions, build_report, render_html
from tests.conftest import DEMO_CITY

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # Monday 09:00 in Shanghai


def _log(rows: list[tuple[str, str, str, float, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "case:concept:name": [r[0] for r in rows],
            "concept:name": [r[1] for r in rows],
            "lifecycle:transition": [r[2] for r in rows],
            "time:timestamp": [T0 + timedelta(hours=r[3]) for r in rows],
            "activity_id": [r[4] for r in rows],
            "case:service": ["S1" if r[0] != "c3" else "S2" for r in rows],
        }
    )


LOG = _log(
    [
        ("c1", "提交申请", "complete", 0, None),
        ("c1", "窗口受理", "start", 1, "Task_accept"),
        ("c1", "窗口受理", "complete", 2, "Task_accept"),
        ("c1", "审核", "start", 5, "Task_review"),
        ("c1", "审核", "complete", 6, "Task_review"),
        ("c1", "窗口出件", "complete", 30, "Task_issue"),
        ("c1", "办结", "complete", 30, None),
        ("c2", "提交申请", "complete", 0, None),
        ("c2", "窗口受理", "complete", 1, "Task_accept"),
        ("c2", "补正通知", "complete", 2, None),
        ("c2", "窗口受理", "complete", 50, "Task_accept"),
        ("c2", "审核", "complete", 60, "Task_review"),
        ("c2", "窗口出件", "complete", 200, "Task_issue"),
        ("c2", "办结", "complete", 200, None),
        ("c3", "提交申请", "complete", 0, None),
        ("c3", "审核", "complete", 3, "Task_review"),
    ]
)


def test_trips_by_task_id_or_name() -> None:
    by_id = trips(LOG, ["Task_accept", "Task_issue"], group_by="case:service")
    assert dict(by_id.per_case.select("case:concept:name", "trips").iter_rows()) == {
        "c1": 2,
        "c2": 3,
        "c3": 0,
    }
    assert by_id.at_most_one_share == 1 / 3
    by_name = trips(LOG, ["窗口受理"])
    assert by_name.mean_trips == 1.0  # (1 + 2 + 0) / 3: starts are not trips


def test_rework_and_returns() -> None:
    report = rework(LOG, return_activity="补正通知")
    assert report.rework_cases == 1
    assert report.return_cases == 1
    row = report.activities.filter(pl.col("activity") == "窗口受理").row(0, named=True)
    assert row["rework_cases"] == 1
    assert row["extra_executions"] == 1


def test_sla_counts_working_days_from_the_calendar() -> None:
    calendar = WorkingCalendar(holidays=[datetime(2026, 3, 4).date()], tz="Asia/Shanghai")
    report = sla(
        LOG,
        time_limit_days={"S1": 2},
        group_by="case:service",
        end_activities=["办结"],
        calendar=calendar,
    )
    on_time = dict(report.per_case.select("case:concept:name", "on_time").iter_rows())
    # c1 done Tuesday (1 working day), c2 on day 9 calendar; c3 never decided
    assert on_time == {"c1": True, "c2": False}
    assert any("not reached an end activity" in n for n in report.notes)


def test_bottlenecks_split_waiting_and_service() -> None:
    table = bottlenecks(LOG).activities
    review = table.filter(pl.col("activity") == "审核")
    assert review["service_mean"].drop_nulls().to_list() == [3600.0]
    # c1 waits 3 h (accept done at 2 h, review starts 5 h); c2 10 h; c3 3 h
    assert sorted(review["waiting_total"].to_list()) == [16 * 3600.0]


def test_bootstrap_is_seeded_and_covers_the_mean() -> None:
    values = [float(x) for x in range(100)]
    assert bootstrap_mean_ci(values, seed=3) == bootstrap_mean_ci(values, seed=3)
    low, high = bootstrap_mean_ci(values, seed=3)
    assert low < 49.5 < high
    change = compare_samples("x", values, [v - 30 for v in values])
    assert change.change == -30
    assert change.p_value < 1e-6
    assert change.diff_ci[1] < 0


def test_report_is_one_self_contained_file() -> None:
    opts = ReportOptions(
        in_person=["Task_accept", "Task_issue"],
        return_activity="补正通知",
        time_limit_days=2,
        end_activities=["办结"],
        bpmn=(DEMO_CITY / "services" / "business_licence.bpmn").read_bytes(),
        split_at=T0 + timedelta(minutes=1),
        group_by="case:service",
    )
    report = build_report(LOG, opts)
    html = render_html(report)
    assert html.startswith("<!doctype html>")
    assert "<svg" in html
    assert "<script" not in html
    assert "<link" not in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html
    for heading in ("流程图", "瓶颈", "跑动次数", "返工", "路径变体", "承诺时限", "符合度"):
        assert heading in html
    assert report.as_dict()["trips"]["cases"] == 3
