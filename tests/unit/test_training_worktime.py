"""Working time on any log: office minutes, elapsed minutes, a schedule file, and the
detection of a round-the-clock log, with two planted slow staff found in one."""

from __future__ import annotations

import json
import math
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from typer.testing import CliRunner

from onewindow.cli.training import training_app
from onewindow.kit import worktime
from onewindow.kit.calendar import default_calendar
from onewindow.kit.errors import ValidationFailed
from onewindow.training.needs import find_needs
from onewindow.training.profile import profile

SHANGHAI = ZoneInfo("Asia/Shanghai")
STAFF = [f"接警员{k:02d}" for k in range(10)]
SLOW = {"接警员03": 2.0, "接警员07": 2.2}


def _hotline_log(seed: int = 1, cases_each: int = 430) -> pl.DataFrame:
    """A police hotline: calls arrive at any hour of any day; each is taken up at once and
    handled in a log-normal time (median 40 min), the planted two 2.0x and 2.2x slower."""
    rng = random.Random(seed)
    t0 = datetime(2026, 3, 2, tzinfo=SHANGHAI)
    days = 60
    rows: list[dict[str, object]] = []
    n = 0
    for who in STAFF:
        for _ in range(cases_each):
            n += 1
            start = t0 + timedelta(minutes=rng.uniform(0, days * 24 * 60))
            minutes = SLOW.get(who, 1.0) * 40 * math.exp(rng.gauss(0, 0.4))
            for lc, ts in (("start", start), ("complete", start + timedelta(minutes=minutes))):
                rows.append(
                    {
                        "case:concept:name": f"call{n}",
                        "concept:name": "接警处置",
                        "time:timestamp": ts.astimezone(UTC),
                        "lifecycle:transition": lc,
                        "org:resource": who,
                    }
                )
    return pl.DataFrame(rows)


def test_round_the_clock_log_flags_both_slow_staff_and_says_how() -> None:
    log = _hotline_log()
    result = profile(log)
    assert result.hours["used"] == "24x7"
    assert result.hours["chosen_by"] == "detected"
    assert result.hours["pattern"]["office_share"] < 0.3
    assert result.hours["pattern"]["night_share"] > 0.2
    assert "round the clock" in result.hours["reason"]
    slow = {n.resource for n in find_needs(result) if n.metric == "handling_minutes"}
    assert slow == set(SLOW)
    # Counted in office minutes, night work is worth nothing and the medians collapse:
    # the same log then does not show both of them.
    office = profile(log, hours=worktime.OFFICE)
    assert office.hours["used"] == "office"
    assert office.hours["chosen_by"] == "given"
    assert {n.resource for n in find_needs(office) if n.metric == "handling_minutes"} != set(SLOW)


def test_office_log_keeps_office_minutes() -> None:
    # the same work done only 09:00-17:00 on working days is detected as office work
    rng = random.Random(3)
    calendar = default_calendar()
    rows: list[dict[str, object]] = []
    day = date(2026, 3, 2)
    for n in range(200):
        while not calendar.is_workday(day):
            day += timedelta(days=1)
        start = datetime(day.year, day.month, day.day, 9, tzinfo=SHANGHAI) + timedelta(
            minutes=rng.uniform(0, 400)
        )
        for lc, ts in (("start", start), ("complete", start + timedelta(minutes=30))):
            rows.append(
                {
                    "case:concept:name": f"c{n}",
                    "concept:name": "审查",
                    "time:timestamp": ts.astimezone(UTC),
                    "lifecycle:transition": lc,
                    "org:resource": STAFF[n % 4],
                }
            )
        if n % 10 == 9:
            day += timedelta(days=1)
    result = profile(pl.DataFrame(rows), min_cases=5)
    assert result.hours["used"] == "office"
    assert result.hours["chosen_by"] == "detected"
    assert result.hours["pattern"]["office_share"] == 1.0


def test_too_few_events_default_to_office() -> None:
    hours, reason = worktime.choose_hours(worktime.WorkPattern(5, 0.0, 1.0, 1.0))
    assert hours is worktime.OFFICE
    assert "too few" in reason


def test_work_pattern_by_hand() -> None:
    # Mon 10:00 (office), Mon 23:00 (night), Sat 10:00 (day off), Tue 16:59 (office)
    stamps = [
        datetime(2026, 3, 2, 10, 0),
        datetime(2026, 3, 2, 23, 0),
        datetime(2026, 3, 7, 10, 0),
        datetime(2026, 3, 3, 16, 59),
    ]
    series = pl.Series([s.replace(tzinfo=SHANGHAI).astimezone(UTC) for s in stamps])
    pattern = worktime.work_pattern(series)
    assert pattern.events == 4
    assert pattern.office_share == 0.5
    assert pattern.night_share == 0.25
    assert pattern.days_off_share == 0.25


def _span_minutes(start: datetime, end: datetime, hours: worktime.WorkingHours) -> float:
    frame = pl.DataFrame(
        {
            "a": [start.replace(tzinfo=SHANGHAI).astimezone(UTC)],
            "b": [end.replace(tzinfo=SHANGHAI).astimezone(UTC)],
        }
    )
    value = worktime.working_minutes(frame, "a", "b", default_calendar(), hours)[0]
    assert isinstance(value, float)
    return value


SPLIT_SHIFT = worktime.hours_from_mapping(
    {"hours": {"mon-fri": "08:30-12:00, 13:30-17:30", "sat": "09:00-12:00"}}, "shifts.yaml"
)


@pytest.mark.parametrize(
    ("start", "end", "hours", "minutes"),
    [
        # over lunch: 11:00-12:00 and 13:30-14:00
        (datetime(2026, 3, 2, 11, 0), datetime(2026, 3, 2, 14, 0), SPLIT_SHIFT, 90),
        # Friday 17:00 to Monday 09:00: 30 on Friday, Saturday's 180, 30 on Monday
        (datetime(2026, 3, 6, 17, 0), datetime(2026, 3, 9, 9, 0), SPLIT_SHIFT, 240),
        # National Day week: holidays have no hours; Saturday 10 Oct 2026 is a make-up working
        # day, with Monday's hours rather than Saturday's
        (datetime(2026, 9, 30, 17, 0), datetime(2026, 10, 8, 9, 0), SPLIT_SHIFT, 60),
        (datetime(2026, 10, 10, 8, 0), datetime(2026, 10, 10, 18, 0), SPLIT_SHIFT, 450),
        # round the clock: every minute
        (datetime(2026, 3, 6, 17, 0), datetime(2026, 3, 9, 9, 0), worktime.ROUND_THE_CLOCK, 3840),
        # the office: 09:00-17:00 on working days
        (datetime(2026, 3, 6, 16, 0), datetime(2026, 3, 9, 10, 0), worktime.OFFICE, 120),
    ],
)
def test_counted_minutes(
    start: datetime, end: datetime, hours: worktime.WorkingHours, minutes: float
) -> None:
    assert _span_minutes(start, end, hours) == pytest.approx(minutes)


def test_make_up_day_assumption_matches_the_calendar() -> None:
    assert default_calendar().is_workday(date(2026, 10, 10))
    assert not default_calendar().is_workday(date(2026, 10, 5))


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({}, "needs 'hours'"),
        ({"hours": {"mon-fri": "09:00-17:00"}, "extra": 1}, "unknown keys"),
        ({"hours": {"someday": "09:00-17:00"}}, "not a day"),
        ({"hours": {"fri-mon": "09:00-17:00"}}, "backwards"),
        ({"hours": {"mon": "9-17"}}, "not a time span"),
        ({"hours": {"mon": "17:00-09:00"}}, "must end after"),
        ({"hours": {"mon": "09:00-12:00, 11:00-13:00"}}, "overlap"),
        ({"hours": {"mon-fri": "09:00-17:00", "fri": "10:00-11:00"}}, "given twice"),
        ({"hours": {"mon": ""}}, "no working hours"),
        ({"hours": {"mon": "09:00-17:00"}, "holidays": "yes"}, "true or false"),
    ],
)
def test_bad_schedules_are_refused_with_the_reason(data: dict[str, object], fragment: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        worktime.hours_from_mapping(data, "shifts.yaml")
    assert fragment in refused.value.message
    assert refused.value.code == "worktime.invalid"


def test_cli_reports_the_method_and_takes_hours(tmp_path: Path) -> None:
    path = tmp_path / "hotline.csv"
    _hotline_log(seed=2, cases_each=60).with_columns(
        pl.col("time:timestamp").dt.to_string("%Y-%m-%dT%H:%M:%S%z")
    ).write_csv(path)
    auto = CliRunner().invoke(training_app, ["needs", "--log", str(path), "--format", "json"])
    assert auto.exit_code == 0, auto.output
    body = json.loads(auto.stdout)
    assert body["hours"]["used"] == "24x7"
    assert body["hours"]["chosen_by"] == "detected"
    assert {n["resource"] for n in body["needs"]} == set(SLOW)

    office = CliRunner().invoke(
        training_app, ["needs", "--log", str(path), "--format", "json", "--hours", "office"]
    )
    assert json.loads(office.stdout)["hours"] == {
        **json.loads(office.stdout)["hours"],
        "used": "office",
        "chosen_by": "given",
    }
    schedule = tmp_path / "hours.yaml"
    schedule.write_text("hours:\n  mon-sun: '00:00-24:00'\nholidays: false\n", encoding="utf-8")
    custom = CliRunner().invoke(
        training_app, ["needs", "--log", str(path), "--format", "json", "--hours", str(schedule)]
    )
    assert custom.exit_code == 0, custom.output
    custom_body = json.loads(custom.stdout)
    assert custom_body["hours"]["used"] == "hours.yaml"
    # every minute of every day is the same count as elapsed minutes
    assert {n["resource"] for n in custom_body["needs"]} == set(SLOW)

    text = CliRunner().invoke(training_app, ["needs", "--log", str(path)])
    assert "handling time: elapsed minutes" in text.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text("hours:\n  mon: 'nine to five'\n", encoding="utf-8")
    bad = CliRunner().invoke(training_app, ["needs", "--log", str(path), "--hours", str(broken)])
    assert bad.exit_code == 2
    assert "nine to five" in bad.stderr
    missing = CliRunner().invoke(
        training_app, ["needs", "--log", str(path), "--hours", str(tmp_path / "none.yaml")]
    )
    assert missing.exit_code == 2
