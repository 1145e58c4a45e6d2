"""The holiday calendar's years as an administrator entered them (节假日安排).

The State Council publishes each year's holidays and make-up working days (调休上班) in a
notice, usually in November. ``holidays_cn.yaml`` ships the years known at release; a year
entered here replaces that year of the shipped file (a December day of the year before, where
the 元旦 break begins, is added to it). The running platform reads the rows through
``Platform.current_calendar``, so a saved year counts in new deadlines without a restart.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Connection, Integer, String, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from onewindow.kit.calendar import WorkingCalendar
from onewindow.kit.db import Base, UTCDateTime

__all__ = ["CalendarYear", "YearEntry", "check_year", "overlay", "save_year", "stamp", "years"]

FIRST_YEAR, LAST_YEAR = 2000, 2100
LONGEST_BREAK_DAYS = 31  # the longest break so far is 9 days; a longer range is a typo
_RANGE = re.compile(r"\s*(?:\.\.|~|～|至|到|—|–)\s*|\s+-\s+")
_WEEKDAYS_ZH = "一二三四五六日"


class CalendarYear(Base):
    """节假日安排: one year's holidays and make-up working days, from that year's notice."""

    __tablename__ = "calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    holidays: Mapped[list[str]] = mapped_column(JSON, default=list)
    makeup_workdays: Mapped[list[str]] = mapped_column(JSON, default=list)
    notice: Mapped[str] = mapped_column(String(300), default="")
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class Problem:
    """One refused line: which list (``holidays`` / ``makeup_workdays`` / ``year``), its line
    number (1-based, 0 for the whole field) and why, in both languages."""

    field: str
    line: int
    en: str
    zh: str


@dataclass
class YearEntry:
    year: int
    holidays: list[date] = field(default_factory=list)
    makeup_workdays: list[date] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def _parse_one(text: str) -> date | None:
    text = text.strip().replace("/", "-").replace(".", "-")
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})|(\d{4})年(\d{1,2})月(\d{1,2})日?", text)
    if m is None:
        return None
    y, mo, d = (int(g) for g in (m.group(1, 2, 3) if m.group(1) else m.group(4, 5, 6)))
    try:
        return date(y, mo, d)
    except ValueError:
        return None


def _lines(text: str) -> Iterable[tuple[int, str]]:
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip().strip(",，;；")
        if line:
            yield number, line


def _parse_list(year: int, name: str, text: str, problems: list[Problem]) -> list[date]:
    days: list[date] = []
    for number, line in _lines(text):
        parts = [p for p in _RANGE.split(line) if p]
        if len(parts) > 2:
            parts = []
        ends = [e for e in (_parse_one(p) for p in parts) if e is not None]
        if not parts or len(ends) != len(parts):
            problems.append(
                Problem(
                    name,
                    number,
                    f"line {number}: cannot read {line!r} as a date or a range "
                    "(YYYY-MM-DD or YYYY-MM-DD..YYYY-MM-DD)",
                    f"第 {number} 行：无法识别日期「{line}」（应为 YYYY-MM-DD 或 "
                    "YYYY-MM-DD..YYYY-MM-DD，日期须真实存在）",
                )
            )
            continue
        first, last = ends[0], ends[-1]
        if last < first:
            problems.append(
                Problem(
                    name,
                    number,
                    f"line {number}: the range {line!r} ends before it starts",
                    f"第 {number} 行：区间「{line}」的结束日早于开始日",
                )
            )
            continue
        if (last - first).days >= LONGEST_BREAK_DAYS:
            problems.append(
                Problem(
                    name,
                    number,
                    f"line {number}: the range {line!r} is {(last - first).days + 1} days long; "
                    f"no break is longer than {LONGEST_BREAK_DAYS} days",
                    f"第 {number} 行：区间「{line}」长达 {(last - first).days + 1} 天，"
                    f"超过 {LONGEST_BREAK_DAYS} 天，请检查",
                )
            )
            continue
        span = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        outside = [d for d in span if not _in_notice_year(d, year)]
        if outside:
            problems.append(
                Problem(
                    name,
                    number,
                    f"line {number}: {outside[0].isoformat()} is not in the {year} notice "
                    f"(its days are in {year}, or in December {year - 1} for New Year)",
                    f"第 {number} 行：{outside[0].isoformat()} 不属于 {year} 年的通知"
                    f"（应在 {year} 年内，元旦假期可始于 {year - 1} 年 12 月）",
                )
            )
            continue
        days.extend(span)
    return days


def _in_notice_year(d: date, year: int) -> bool:
    return d.year == year or (d.year == year - 1 and d.month == 12)


def check_year(year_text: str, holidays_text: str, makeups_text: str) -> YearEntry:
    """Read one notice year's lists; every refused line is named in ``problems``.

    A line is a date (``2027-02-06``, ``2027/2/6`` or ``2027年2月6日``) or an inclusive
    range (``2027-02-06..2027-02-12``, also ``至`` / ``~``); text after ``#`` is a comment.
    Refused: a date that does not exist, a reversed or over-long range, a day outside the
    notice's year, a make-up working day that is not a Saturday or Sunday, a day in both
    lists, and a year with no holidays.
    """
    problems: list[Problem] = []
    try:
        year = int(year_text.strip())
        if not FIRST_YEAR <= year <= LAST_YEAR:
            raise ValueError(year_text)
    except ValueError:
        problems.append(
            Problem(
                "year",
                0,
                f"the year must be a number from {FIRST_YEAR} to {LAST_YEAR}",
                f"年份应为 {FIRST_YEAR} 至 {LAST_YEAR} 之间的数字",
            )
        )
        return YearEntry(0, problems=problems)
    holidays = _parse_list(year, "holidays", holidays_text, problems)
    makeups = _parse_list(year, "makeup_workdays", makeups_text, problems)
    for d in sorted(set(makeups)):
        if d.weekday() < 5:
            problems.append(
                Problem(
                    "makeup_workdays",
                    0,
                    f"{d.isoformat()} is a weekday ({d:%A}): make-up working days are "
                    "Saturdays or Sundays",
                    f"{d.isoformat()} 是周{_WEEKDAYS_ZH[d.weekday()]}：调休上班日应为周六或周日",
                )
            )
    for d in sorted(set(holidays) & set(makeups)):
        problems.append(
            Problem(
                "makeup_workdays",
                0,
                f"{d.isoformat()} is listed both as a holiday and as a make-up working day",
                f"{d.isoformat()} 同时被列为放假日和调休上班日",
            )
        )
    if not holidays and not any(p.field == "holidays" for p in problems):
        problems.append(
            Problem(
                "holidays",
                0,
                "enter the notice's holidays (at least one day)",
                "请填写通知中的放假日期（至少一天）",
            )
        )
    return YearEntry(year, sorted(set(holidays)), sorted(set(makeups)), problems)


def as_lines(days: Sequence[date]) -> str:
    """Days as the lines ``check_year`` reads, consecutive days joined into ranges."""
    out: list[str] = []
    run: list[date] = []
    for d in sorted(days):
        if run and d == run[-1] + timedelta(days=1):
            run.append(d)
            continue
        if run:
            out.append(_run_text(run))
        run = [d]
    if run:
        out.append(_run_text(run))
    return "\n".join(out)


def _run_text(run: Sequence[date]) -> str:
    if len(run) == 1:
        return run[0].isoformat()
    return f"{run[0].isoformat()}..{run[-1].isoformat()}"


# --- the notice's own words -------------------------------------------------------------------

_ASIDE = re.compile(r"（[^）]*）|\([^)]*\)")
_HEADING = re.compile(r"[一二三四五六七八九十]+、\s*([^：:，。]+)[：:]")
_DAY = r"(?:(\d{4})年)?(?:(\d{1,2})月)?(\d{1,2})日"
_BREAK = re.compile(_DAY + r"(?:\s*至\s*" + _DAY + r")?\s*放假")
_WORKED = re.compile(_DAY)


def dates_from_notice(text: str, year: int) -> tuple[str, str]:
    """The holidays and make-up working days of a State Council holiday notice, pasted as
    published (``二、春节：1月28日（农历除夕、周二）至2月4日（农历正月初七、周二）放假调休，
    共8天。1月26日（周日）、2月8日（周六）上班。``), as the lines ``check_year`` reads, each
    with its festival as a comment. Days the text does not make clear are left to the
    administrator: the lines are shown for checking before anything is saved.
    """
    holidays: list[str] = []
    makeups: list[str] = []
    festival = ""
    for sentence in re.split(r"[。；;\n]", _ASIDE.sub("", text)):
        heading = _HEADING.search(sentence)
        if heading:
            festival = heading.group(1).strip()
            sentence = sentence[heading.end() :]
        note = f"  # {festival}" if festival else ""
        found = _BREAK.search(sentence)
        if found:
            g = found.groups()
            first = _notice_day(g[0], g[1], g[2], year, None)
            if first is not None:
                last = _notice_day(g[3], g[4], g[5], year, first) if g[5] else first
                if last is not None and first.month == 12 and last.year > year and not g[0]:
                    # 元旦 from late December: the break begins in the year before
                    first, last = first.replace(year=year - 1), last.replace(year=year)
                if last is not None and last != first:
                    holidays.append(f"{first.isoformat()}..{last.isoformat()}{note}")
                else:
                    holidays.append(f"{first.isoformat()}{note}")
        elif "上班" in sentence:
            before = sentence.split("上班", 1)[0]
            month: str | None = None
            for y, m, d in _WORKED.findall(before):
                month = m or month
                day = _notice_day(y or None, month, d, year, None)
                if day is not None:
                    makeups.append(f"{day.isoformat()}{note}")
    return "\n".join(holidays), "\n".join(makeups)


def _notice_day(y: str | None, m: str | None, d: str, year: int, after: date | None) -> date | None:
    """A day of the notice: ``至3日`` takes the month (and year) of the day it follows; a
    December day in a 元旦 break that ends in January belongs to the year before."""
    month = int(m) if m else (after.month if after else 0)
    the_year = int(y) if y else (after.year if after else year)
    try:
        day = date(the_year, month, int(d))
    except ValueError:
        return None
    if after is not None and day < after and not y:
        day = day.replace(year=day.year + 1)
    return day


# --- storage and the running calendar ---------------------------------------------------------


def years(session: Session) -> Sequence[CalendarYear]:
    return session.scalars(select(CalendarYear).order_by(CalendarYear.year.desc())).all()


def save_year(
    session: Session, entry: YearEntry, *, notice: str, actor: str, now: datetime
) -> CalendarYear:
    """Store a checked year (replacing the year entered before)."""
    if entry.problems:
        raise ValueError("a year with problems is not stored")
    row = session.get(CalendarYear, entry.year)
    if row is None:
        row = CalendarYear(year=entry.year, updated_by=actor, updated_at=now)
        session.add(row)
    row.holidays = [d.isoformat() for d in entry.holidays]
    row.makeup_workdays = [d.isoformat() for d in entry.makeup_workdays]
    row.notice, row.updated_by, row.updated_at = notice[:300], actor, now
    session.flush()
    return row


def stamp(conn: Connection) -> tuple[Any, ...]:
    """Changes when any year is saved: (rows, latest save)."""
    count, latest = conn.execute(
        select(func.count(CalendarYear.year), func.max(CalendarYear.updated_at))
    ).one()
    return (int(count), latest)


def rows(conn: Connection) -> list[tuple[int, list[str], list[str]]]:
    result = conn.execute(
        select(CalendarYear.year, CalendarYear.holidays, CalendarYear.makeup_workdays)
    )
    return [(int(y), list(h or []), list(m or [])) for y, h, m in result]


def overlay(
    base: WorkingCalendar, entered: Iterable[tuple[int, Sequence[str], Sequence[str]]]
) -> WorkingCalendar:
    """``base`` with each entered year in place of that year's shipped days."""
    entered = list(entered)
    if not entered:
        return base
    replaced = {y for y, _, _ in entered}
    new_holidays = {date.fromisoformat(d) for _, h, _ in entered for d in h}
    new_makeups = {date.fromisoformat(d) for _, _, m in entered for d in m}
    # An entered day wins over the shipped list, also a December day of the year before.
    kept = new_holidays | new_makeups
    holidays = {d for d in base.holidays if d.year not in replaced and d not in kept}
    makeups = {d for d in base.makeup_workdays if d.year not in replaced and d not in kept}
    return WorkingCalendar(holidays | new_holidays, makeups | new_makeups, tz=base.tz)
