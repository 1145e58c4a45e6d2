"""The holiday calendar as an administrator enters it: lines of dates checked one by one, a
State Council notice's text read into those lines, entered years laid over the shipped ones."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from onewindow.kit.calendar import default_calendar
from onewindow.kit.calendar_store import as_lines, check_year, dates_from_notice, overlay

NOTICES = Path(__file__).resolve().parents[1] / "data" / "holiday_notices"


def test_the_2025_notice_text_gives_the_shipped_2025_days() -> None:
    holidays, makeups = dates_from_notice((NOTICES / "2025.txt").read_text("utf-8"), 2025)
    entry = check_year("2025", holidays, makeups)
    assert entry.problems == []
    shipped = default_calendar()
    assert set(entry.holidays) == {d for d in shipped.holidays if d.year == 2025}
    assert set(entry.makeup_workdays) == {d for d in shipped.makeup_workdays if d.year == 2025}
    assert "2025-01-28..2025-02-04  # 春节" in holidays.splitlines()


def test_a_new_year_break_from_december_belongs_to_the_year_before() -> None:
    assert dates_from_notice("一、元旦：12月30日（周六）至1月1日（周一）放假调休。", 2024) == (
        "2023-12-30..2024-01-01  # 元旦",
        "",
    )
    text = "一、元旦：2022年12月31日至2023年1月2日放假调休，共3天。"
    assert dates_from_notice(text, 2023)[0] == "2022-12-31..2023-01-02  # 元旦"
    assert check_year("2024", "2023-12-30..2024-01-01", "").problems == []
    assert check_year("2024", "2023-11-30", "").problems[0].field == "holidays"


def test_text_with_no_dates_gives_nothing() -> None:
    assert dates_from_notice("节假日期间，各地区要妥善安排好值班。", 2027) == ("", "")


def test_each_bad_line_is_named_with_its_number() -> None:
    entry = check_year("2027", "2027-01-01\n\n2027-02-29\n2027-10-01 至 2027-10-07", "")
    assert [(p.field, p.line) for p in entry.problems] == [("holidays", 3)]
    assert date(2027, 10, 7) in entry.holidays
    weekday = check_year("2027", "2027-01-01", "2027-02-10")
    assert "周三" in weekday.problems[0].zh


def test_an_entered_year_replaces_the_shipped_one_and_keeps_the_others() -> None:
    base = default_calendar()
    cal = overlay(base, [(2026, ["2026-03-02"], [])])
    assert not cal.is_workday(date(2026, 3, 2))
    assert cal.is_workday(date(2026, 10, 1))  # the shipped 2026 is replaced whole
    assert not cal.is_workday(date(2025, 10, 1))  # 2025 kept
    assert overlay(base, []) is base


def test_lines_round_trip_as_ranges() -> None:
    days = [date(2027, 2, 6) + (date(2027, 2, 7) - date(2027, 2, 6)) * i for i in range(8)]
    text = as_lines([*days, date(2027, 1, 1)])
    assert text == "2027-01-01\n2027-02-06..2027-02-13"
    assert check_year("2027", text, "").holidays == sorted([*days, date(2027, 1, 1)])
