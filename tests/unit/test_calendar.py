from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from onewindow.kit.calendar import WorkingCalendar, default_calendar
from onewindow.kit.errors import ValidationFailed

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def cal() -> WorkingCalendar:
    return default_calendar()


def _brute_force_between(cal: WorkingCalendar, a: date, b: date) -> int:
    return sum(cal.is_workday(a + timedelta(days=i)) for i in range(1, (b - a).days + 1))


# --- is_workday -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 3, 4), True),  # ordinary Wednesday
        (date(2026, 3, 7), False),  # ordinary Saturday
        (date(2026, 2, 16), False),  # 春节, a Monday
        (date(2026, 2, 14), True),  # 春节调休, a Saturday
        (date(2026, 1, 4), True),  # 元旦调休, a Sunday
        (date(2025, 10, 8), False),  # 国庆中秋 2025, a Wednesday
        (date(2025, 10, 11), True),  # 国庆中秋调休 2025, a Saturday
        (date(2025, 1, 1), False),  # 元旦
    ],
)
def test_is_workday_follows_weekends_holidays_and_makeups(
    cal: WorkingCalendar, day: date, expected: bool
) -> None:
    assert cal.is_workday(day) is expected


def test_is_workday_uses_local_date_of_aware_datetime(cal: WorkingCalendar) -> None:
    # 2026-03-06 17:00 UTC is already Saturday 01:00 in Shanghai
    assert cal.is_workday(datetime(2026, 3, 6, 15, 0, tzinfo=UTC)) is True
    assert cal.is_workday(datetime(2026, 3, 6, 17, 0, tzinfo=UTC)) is False


def test_shipped_calendar_has_the_official_days(cal: WorkingCalendar) -> None:
    by_year = {y: sorted(d for d in cal.holidays if d.year == y) for y in (2025, 2026)}
    assert len(by_year[2025]) == 1 + 8 + 3 + 5 + 3 + 8
    assert len(by_year[2026]) == 3 + 9 + 3 + 5 + 3 + 3 + 7
    assert sorted(cal.makeup_workdays) == [
        date(2025, 1, 26),
        date(2025, 2, 8),
        date(2025, 4, 27),
        date(2025, 9, 28),
        date(2025, 10, 11),
        date(2026, 1, 4),
        date(2026, 2, 14),
        date(2026, 2, 28),
        date(2026, 5, 9),
        date(2026, 9, 20),
        date(2026, 10, 10),
    ]
    assert all(d.weekday() >= 5 for d in cal.makeup_workdays)
    assert cal.tz == "Asia/Shanghai"
    assert cal.zone == SHANGHAI
    assert default_calendar() is cal


# --- add_workdays -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 3, 4), 1, date(2026, 3, 5)),  # Wed -> Thu: start day not counted
        (date(2026, 3, 6), 1, date(2026, 3, 9)),  # Fri -> Mon
        (date(2026, 3, 7), 1, date(2026, 3, 9)),  # Sat: counts from Mon, which is day 1
        (date(2026, 3, 8), 1, date(2026, 3, 9)),  # Sun
        (date(2026, 3, 6), 5, date(2026, 3, 13)),
        (date(2026, 2, 13), 1, date(2026, 2, 14)),  # make-up Saturday counts
        (date(2026, 2, 13), 2, date(2026, 2, 24)),  # then the whole 春节 is skipped
        (date(2026, 9, 30), 1, date(2026, 10, 8)),  # 国庆 skipped
        (date(2025, 9, 26), 1, date(2025, 9, 28)),  # Fri -> make-up Sunday
        (date(2026, 3, 4), 0, date(2026, 3, 4)),
        (date(2026, 3, 7), 0, date(2026, 3, 9)),
        (date(2026, 10, 1), 0, date(2026, 10, 8)),
    ],
)
def test_add_workdays(cal: WorkingCalendar, start: date, n: int, expected: date) -> None:
    assert cal.add_workdays(start, n) == expected


def test_add_workdays_takes_the_local_day_of_a_datetime(cal: WorkingCalendar) -> None:
    # Thursday 16:30 UTC is Friday 00:30 in Shanghai: the limit runs from Friday.
    start = datetime(2026, 3, 5, 16, 30, tzinfo=UTC)
    assert cal.add_workdays(start, 1) == date(2026, 3, 9)
    assert cal.add_workdays(start.date(), 1) == date(2026, 3, 6)


def test_add_workdays_rejects_negative_and_naive(cal: WorkingCalendar) -> None:
    with pytest.raises(ValidationFailed, match="negative"):
        cal.add_workdays(date(2026, 3, 4), -1)
    with pytest.raises(ValidationFailed, match="time zone"):
        cal.add_workdays(datetime(2026, 3, 4, 9, 0), 1)


# --- workdays_between -------------------------------------------------------------


def test_workdays_between_is_the_inverse_of_add_workdays(cal: WorkingCalendar) -> None:
    start = date(2025, 12, 20)
    for offset in range(0, 420, 3):
        s = start + timedelta(days=offset)
        for n in (1, 2, 3, 5, 10, 20):
            assert cal.workdays_between(s, cal.add_workdays(s, n)) == n


def test_workdays_between_matches_day_by_day_count(cal: WorkingCalendar) -> None:
    a = date(2024, 12, 25)
    for span in range(0, 760, 7):
        b = a + timedelta(days=span)
        assert cal.workdays_between(a, b) == _brute_force_between(cal, a, b)
        assert cal.workdays_between(b, a) == -_brute_force_between(cal, a, b)


def test_workdays_between_examples(cal: WorkingCalendar) -> None:
    assert cal.workdays_between(date(2026, 3, 4), date(2026, 3, 4)) == 0
    assert cal.workdays_between(date(2026, 2, 13), date(2026, 2, 28)) == 6  # 14, 24–27, 28
    assert cal.workdays_between(date(2026, 2, 28), date(2026, 2, 13)) == -6
    start = datetime(2026, 3, 6, 10, 0, tzinfo=SHANGHAI)
    assert cal.workdays_between(start, datetime(2026, 3, 9, 8, 0, tzinfo=SHANGHAI)) == 1


# --- deadline ---------------------------------------------------------------------


def test_deadline_is_end_of_last_working_day_local_time(cal: WorkingCalendar) -> None:
    submitted = datetime(2026, 9, 30, 2, 0, tzinfo=UTC)  # 10:00 local, Wednesday
    due = cal.deadline(submitted, 3)
    assert due == datetime(2026, 10, 10, 23, 59, 59, tzinfo=SHANGHAI)  # 8, 9, 10 (make-up)
    assert due.tzinfo is not None
    assert due.utcoffset() == timedelta(hours=8)
    assert due.timetz().replace(tzinfo=None) == time(23, 59, 59)


def test_deadline_rejects_naive_start(cal: WorkingCalendar) -> None:
    with pytest.raises(ValidationFailed):
        cal.deadline(datetime(2026, 3, 4, 9, 0), 1)


def test_calendar_honours_its_time_zone() -> None:
    utc_cal = WorkingCalendar(tz="UTC")
    late_friday_utc = datetime(2026, 3, 6, 20, 0, tzinfo=UTC)
    assert utc_cal.is_workday(late_friday_utc) is True
    assert utc_cal.deadline(late_friday_utc, 1) == datetime(2026, 3, 9, 23, 59, 59, tzinfo=UTC)
    with pytest.raises(ValidationFailed, match="time zone"):
        WorkingCalendar(tz="Mars/Olympus_Mons")


# --- loading ----------------------------------------------------------------------


def test_from_mapping_expands_ranges_and_accepts_dates() -> None:
    cal = WorkingCalendar.from_mapping(
        {
            "holidays": ["2026-10-01..2026-10-03", date(2026, 12, 25), "2026-12-31"],
            "makeup_workdays": ["2026-10-10"],
        }
    )
    assert cal.holidays == {
        date(2026, 10, 1),
        date(2026, 10, 2),
        date(2026, 10, 3),
        date(2026, 12, 25),
        date(2026, 12, 31),
    }
    assert cal.makeup_workdays == {date(2026, 10, 10)}
    assert cal.is_workday(date(2026, 10, 10))


def test_from_mapping_allows_empty_lists_and_single_day_range() -> None:
    cal = WorkingCalendar.from_mapping({"holidays": ["2026-05-01..2026-05-01"]})
    assert cal.holidays == {date(2026, 5, 1)}
    assert cal.makeup_workdays == frozenset()
    assert WorkingCalendar.from_mapping({}).holidays == frozenset()


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"holidays": ["2026-10-07..2026-10-01"]}, "ends before it starts"),
        ({"holidays": ["2026-02-30"]}, "cannot read"),
        ({"holidays": ["next tuesday"]}, "cannot read"),
        ({"makeup_workdays": ["2026-10-01..soon"]}, "cannot read"),
        ({"holidays": "2026-10-01"}, "must be a list"),
        ({"holiday": ["2026-10-01"]}, "unknown calendar keys: holiday"),
        ({"holidays": ["2026-10-10"], "makeup_workdays": ["2026-10-10"]}, "both"),
        ({"holidays": [datetime(2026, 10, 1, tzinfo=UTC)]}, "time of day"),
        ({"tz": 8}, "tz must be a string"),
    ],
)
def test_from_mapping_rejects_bad_input(data: dict[str, object], match: str) -> None:
    with pytest.raises(ValidationFailed, match=match) as caught:
        WorkingCalendar.from_mapping(data)
    assert caught.value.code == "calendar.invalid"
    assert caught.value.message_zh != caught.value.message


def test_from_yaml_reads_unquoted_and_quoted_dates(tmp_path: Path) -> None:
    path = tmp_path / "cal.yaml"
    path.write_text(
        "tz: Asia/Shanghai\n"
        "holidays:\n  - 2026-10-01\n  - '2026-10-02..2026-10-03'\n"
        "makeup_workdays: [2026-10-10]\n",
        encoding="utf-8",
    )
    cal = WorkingCalendar.from_yaml(path)
    assert cal.holidays == {date(2026, 10, 1), date(2026, 10, 2), date(2026, 10, 3)}
    assert cal.makeup_workdays == {date(2026, 10, 10)}


def test_from_yaml_reports_missing_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(ValidationFailed, match="cannot read calendar file"):
        WorkingCalendar.from_yaml(tmp_path / "absent.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("holidays: [2026-10-01\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="not valid YAML"):
        WorkingCalendar.from_yaml(bad)
    reversed_range = tmp_path / "reversed.yaml"
    reversed_range.write_text("holidays: ['2026-10-07..2026-10-01']\n", encoding="utf-8")
    with pytest.raises(ValidationFailed, match="ends before it starts"):
        WorkingCalendar.from_yaml(reversed_range)


def test_calendar_is_read_only(cal: WorkingCalendar) -> None:
    with pytest.raises(AttributeError):
        cal.holidays = frozenset()  # type: ignore[misc]
