"""Skill profiles and need rules on small logs whose numbers are worked out by hand."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from typer.testing import CliRunner

from onewindow.cli.training import training_app
from onewindow.kit.calendar import default_calendar
from onewindow.kit.worktime import OFFICE
from onewindow.training.needs import find_needs, unjudged
from onewindow.training.profile import completions, profile, robust_z

SHANGHAI = ZoneInfo("Asia/Shanghai")
# Handling time counts working minutes (09:00–17:00 on working days), so each hand-made case
# starts at 09:00 on its own working day: its clock minutes are then its working minutes.
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI).astimezone(UTC)


def _opening(i: int) -> datetime:
    """09:00 Shanghai on the i-th working day from Monday 2 March 2026 (i = 0: that day)."""
    day = default_calendar().add_workdays(date(2026, 3, 2), i)
    return datetime.combine(day, time(9, 0), tzinfo=SHANGHAI).astimezone(UTC)


def _log(work: list[tuple[str, str, str, float]], **extra: list[object]) -> pl.DataFrame:
    """(case, activity, resource, minutes) -> start/complete rows, a working day apart."""
    rows: list[dict[str, object]] = []
    for i, (case, activity, resource, minutes) in enumerate(work):
        start = _opening(i)
        for lc, ts in (("start", start), ("complete", start + timedelta(minutes=minutes))):
            rows.append(
                {
                    "case:concept:name": case,
                    "concept:name": activity,
                    "time:timestamp": ts,
                    "lifecycle:transition": lc,
                    "org:resource": resource,
                }
            )
    return pl.DataFrame(rows)


STEADY = {"A": [10, 11, 9, 10], "B": [12, 11, 13, 12], "C": [9, 10, 10, 11], "D": [11, 10, 12, 11]}


def _team_log(cases_each: int = 12) -> pl.DataFrame:
    work: list[tuple[str, str, str, float]] = []
    n = 0
    for who, pattern in STEADY.items():
        for k in range(cases_each):
            n += 1
            work.append((f"c{n}", "消防审查", who, pattern[k % 4]))
    for k in range(cases_each):  # the planted slow performer: about 2.2x
        n += 1
        work.append((f"c{n}", "消防审查", "S", 22 + (k % 3)))
    for _ in range(3):  # too few cases to judge, and also slow
        n += 1
        work.append((f"c{n}", "消防审查", "T", 40))
    for k in range(cases_each):  # an activity only one person does
        n += 1
        work.append((f"c{n}", "现场勘验", "A", 60 + k))
    return _log(work)


def test_robust_z_by_hand() -> None:
    # peers 10, 11, 12, 13, 14: median 12, deviations 2,1,0,1,2 -> MAD 1 -> scale 1.4826
    score, mid = robust_z(18.0, [10, 11, 12, 13, 14], "handling_minutes")
    assert mid == 12
    assert score == pytest.approx(6 / 1.4826)


def test_robust_z_floor_when_peers_agree() -> None:
    # MAD 0: the floor is 10 % of the median (2 minutes), so 30 vs 20 scores 5, not infinity
    score, _ = robust_z(30.0, [20, 20, 20], "handling_minutes")
    assert score == pytest.approx(5.0)


def test_handling_time_is_start_to_complete_median() -> None:
    log = _log([("c1", "受理", "A", 10), ("c2", "受理", "A", 30), ("c3", "受理", "A", 20)])
    rows, _ = completions(log)
    assert sorted(r.minutes or 0 for r in rows) == [10, 20, 30]
    result = profile(log, min_cases=1)
    (minutes,) = [s for s in result.scores if s.metric == "handling_minutes"]
    assert minutes.value == 20
    assert minutes.cases == 3


def _span(start: datetime, end: datetime) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "case:concept:name": ["c1", "c1"],
            "concept:name": ["审查", "审查"],
            "time:timestamp": [start, end],
            "lifecycle:transition": ["start", "complete"],
            "org:resource": ["A", "A"],
        }
    )


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [
        # same morning: clock and working time agree
        (datetime(2026, 3, 2, 10, 0), datetime(2026, 3, 2, 10, 25), 25),
        # 16:30 to 09:30 the next day: 30 + 30, not 17 hours
        (datetime(2026, 3, 2, 16, 30), datetime(2026, 3, 3, 9, 30), 60),
        # Friday 16:00 to Monday 09:15: the weekend does not count
        (datetime(2026, 3, 6, 16, 0), datetime(2026, 3, 9, 9, 15), 75),
        # taken up at 08:00 and 18:00 the same day: the whole office day, 480
        (datetime(2026, 3, 2, 8, 0), datetime(2026, 3, 2, 18, 0), 480),
        # 30 Sept 16:00 to 8 Oct 09:10 across the National Day holiday: 60 + 10
        (datetime(2026, 9, 30, 16, 0), datetime(2026, 10, 8, 9, 10), 70),
        # Saturday work outside any office day counts nothing
        (datetime(2026, 3, 7, 10, 0), datetime(2026, 3, 7, 11, 0), 0),
    ],
)
def test_handling_time_counts_working_minutes(
    start: datetime, end: datetime, minutes: float
) -> None:
    log = _span(start.replace(tzinfo=SHANGHAI), end.replace(tzinfo=SHANGHAI))
    (row,) = completions(log, hours=OFFICE)[0]
    assert row.minutes == pytest.approx(minutes)
    assert row.began == start.replace(tzinfo=SHANGHAI)


def test_rework_and_send_back_share() -> None:
    log = _log(
        [
            ("c1", "受理", "A", 5),
            ("c1", "受理", "B", 5),
            ("c2", "受理", "A", 5),
            ("c3", "受理", "A", 5),
        ]
    ).with_columns(pl.lit(None, pl.String).alias("decision"))
    # A's c1 work came back (redone by B); A sent c3 back to the applicant.
    log = log.with_columns(
        pl.when(
            (pl.col("case:concept:name") == "c3") & (pl.col("lifecycle:transition") == "complete")
        )
        .then(pl.lit("send_back"))
        .otherwise(pl.col("decision"))
        .alias("decision")
    )
    result = profile(log, min_cases=1)
    share = {s.resource: s.value for s in result.scores if s.metric == "rework_share"}
    assert share == {"A": pytest.approx(2 / 3), "B": 0.0}


def test_deadline_breaches_from_escalations_and_ratings() -> None:
    log = _log([("c1", "审查", "A", 5), ("c2", "审查", "A", 5)])
    escalation = pl.DataFrame(
        {
            "case:concept:name": ["c1"],
            "concept:name": ["超时督办"],
            "time:timestamp": [T0 + timedelta(minutes=3)],
            "lifecycle:transition": ["complete"],
            "org:resource": ["system"],
            "task": ["审查"],
            "rating": [None],
        }
    )
    rating = escalation.with_columns(
        pl.lit("c2").alias("case:concept:name"),
        pl.lit("评价").alias("concept:name"),
        pl.lit("applicant").alias("org:resource"),
        pl.lit("差评").alias("rating"),
        pl.lit(None, pl.String).alias("task"),
    )
    full = pl.concat([log, escalation, rating], how="diagonal_relaxed")
    result = profile(full, min_cases=1)
    values = {s.metric: s.value for s in result.scores if s.resource == "A"}
    assert values["breach_share"] == 0.5
    assert values["bad_rating_share"] == 0.5


def test_planted_slow_performer_flagged_steady_not() -> None:
    result = profile(_team_log(), min_cases=10)
    needs = find_needs(result)
    assert [(n.resource, n.activity, n.metric) for n in needs] == [
        ("S", "消防审查", "handling_minutes")
    ]
    (need,) = needs
    assert need.value == 23  # median of 22, 23, 24
    # peers' own medians: A 10, B 12, C 10, D 11 -> 10.5; MAD 0.5 -> 0.74 < floor 1.05
    assert need.peer_median == pytest.approx(10.5)
    assert need.score == pytest.approx(12.5 / 1.05, abs=1e-3)
    assert need.cases == 12
    assert "慢" in need.message_zh


def test_too_few_cases_said_not_flagged() -> None:
    result = profile(_team_log(), min_cases=10)
    t = [s for s in result.scores if s.resource == "T"]
    assert t
    assert {s.status for s in t} == {"too_few_cases"}
    assert all(s.score is None for s in t)
    assert "T" not in {n.resource for n in find_needs(result)}
    assert ("T", "too_few_cases") in {(s.resource, s.status) for s in unjudged(result)}


def test_activity_without_peers_is_not_judged() -> None:
    result = profile(_team_log(), min_cases=10)
    lone = [s for s in result.scores if s.activity == "现场勘验"]
    assert lone
    assert {s.status for s in lone} == {"no_peers"}
    assert all(s.score is None for s in lone)


def test_log_without_start_events_falls_back() -> None:
    log = _log([("c1", "受理", "A", 5)]).filter(pl.col("lifecycle:transition") == "complete")
    result = profile(log, min_cases=1)
    assert result.duration_source == "previous_event"
    assert result.notes


def test_cli_needs_json(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    _team_log().with_columns(
        pl.col("time:timestamp").dt.to_string("%Y-%m-%dT%H:%M:%S%z")
    ).write_csv(path)
    r = CliRunner().invoke(training_app, ["needs", "--log", str(path), "--format", "json"])
    assert r.exit_code == 0, r.output
    body = json.loads(r.stdout)
    assert body["hours"]["used"] == "office"
    rows = body["needs"]
    assert [(x["resource"], x["metric"]) for x in rows] == [("S", "handling_minutes")]
    assert set(rows[0]) == {
        "resource",
        "activity",
        "metric",
        "value",
        "peer_median",
        "score",
        "cases",
    }
    assert "T · 消防审查" in r.stderr
    few = CliRunner().invoke(
        training_app, ["needs", "--log", str(path), "--format", "json", "--min-cases", "50"]
    )
    assert json.loads(few.stdout)["needs"] == []


def test_cli_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("a,b\n1,2\n")
    r = CliRunner().invoke(training_app, ["needs", "--log", str(path)])
    assert r.exit_code == 2
