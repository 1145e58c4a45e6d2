"""Working time (工作时间): which minutes count as work, and when a log works round the clock.

Handling times are compared between colleagues, so they must count the same minutes for
everyone. An office counts only its opening hours on working days (a task taken up at 16:30
and finished at 09:30 the next working day took an hour); a hotline, a police desk or a
hospital works round the clock, and there every elapsed minute counts.

:class:`WorkingHours` says which minutes count: per weekday the local opening intervals,
and whether the working-day calendar applies (its holidays have no hours; its make-up
working days on a weekend, 调休, have Monday's). :data:`OFFICE` is 09:00–17:00 on the
calendar's working days, :data:`ROUND_THE_CLOCK` every minute. A schedule file (YAML)
gives any other::

    hours:
      mon-fri: "08:30-12:00, 13:30-17:30"
      sat: "09:00-12:00"
    holidays: true        # the calendar's holidays and make-up days apply (default)

:func:`work_pattern` reads when a log's staff actually work, and :func:`choose_hours` picks
office hours when at least three quarters of their events fall in office time
(:data:`OFFICE_SHARE_NEEDED`), elapsed minutes otherwise (and office hours when there are
fewer than 20 staff events to tell from).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Final

import polars as pl
import yaml

from onewindow.kit.calendar import WorkingCalendar, default_calendar
from onewindow.kit.errors import ValidationFailed

__all__ = [
    "OFFICE",
    "OFFICE_SHARE_NEEDED",
    "ROUND_THE_CLOCK",
    "WorkPattern",
    "WorkingHours",
    "choose_hours",
    "describe_choice",
    "hours_from_file",
    "hours_from_mapping",
    "in_hours",
    "schedule",
    "work_pattern",
    "working_minutes",
]

DAY_MINUTES: Final = 24 * 60
OFFICE_SHARE_NEEDED: Final = 0.75
MIN_PATTERN_EVENTS: Final = 20  # fewer staff events tell no pattern: office hours
NIGHT_FROM: Final = 22 * 60  # 22:00–06:00 local: the night
NIGHT_TO: Final = 6 * 60
Interval = tuple[int, int]  # minutes since local midnight, [start, end)


@dataclass(frozen=True)
class WorkingHours:
    """Which minutes count as work (see the module's docstring). ``week`` has seven
    entries, Monday first, each a tuple of disjoint ``(start, end)`` minute intervals."""

    name: str
    week: tuple[tuple[Interval, ...], ...]
    calendar_days: bool = True
    always: bool = False

    def on(self, day: date, calendar: WorkingCalendar) -> tuple[Interval, ...]:
        """The intervals that count on ``day``."""
        if self.always:
            return ((0, DAY_MINUTES),)
        if self.calendar_days:
            if day in calendar.holidays:
                return ()
            if day in calendar.makeup_workdays and day.weekday() >= 5:
                return self.week[0]
        return self.week[day.weekday()]

    def describe(self) -> str:
        if self.always:
            return "elapsed minutes (every minute counts)"
        names = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
        parts = [
            f"{n} "
            + ", ".join(f"{s // 60:02d}:{s % 60:02d}-{e // 60:02d}:{e % 60:02d}" for s, e in d)
            for n, d in zip(names, self.week, strict=True)
            if d
        ]
        tail = ", holidays off and make-up days worked" if self.calendar_days else ""
        return "working minutes (" + "; ".join(parts) + tail + ")"


OFFICE: Final = WorkingHours("office", (((9 * 60, 17 * 60),),) * 5 + ((), ()))
ROUND_THE_CLOCK: Final = WorkingHours(
    "24x7", (((0, DAY_MINUTES),),) * 7, calendar_days=False, always=True
)


def _invalid(where: str, message: str, message_zh: str) -> ValidationFailed:
    return ValidationFailed(
        f"{where}: {message}", message_zh=f"{where}：{message_zh}", code="worktime.invalid"
    )


_DAY_NAMES: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_SPAN = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


def _days(key: str, where: str) -> list[int]:
    """``mon``, ``mon-fri`` -> weekday numbers (Monday 0)."""
    first, _, last = key.strip().lower().partition("-")
    if first not in _DAY_NAMES or (last and last not in _DAY_NAMES):
        raise _invalid(
            where,
            f"{key!r} is not a day or day range (use mon … sun, e.g. mon-fri)",
            f"{key!r} 不是星期或星期范围（应为 mon … sun，如 mon-fri）",
        )
    a = _DAY_NAMES.index(first)
    b = _DAY_NAMES.index(last) if last else a
    if b < a:
        raise _invalid(where, f"{key!r} runs backwards", f"{key!r} 的起止顺序颠倒")
    return list(range(a, b + 1))


def _intervals(value: object, where: str) -> tuple[Interval, ...]:
    """``"08:30-12:00, 13:30-17:30"`` -> ((510, 720), (810, 1050))."""
    if value is None or value == "":
        return ()
    if not isinstance(value, str):
        raise _invalid(
            where,
            f"{value!r} is not a text like '09:00-17:00'",
            f"{value!r} 应为如 '09:00-17:00' 的文本",
        )
    out: list[Interval] = []
    for part in value.split(","):
        found = _SPAN.match(part)
        if not found:
            raise _invalid(
                where,
                f"{part.strip()!r} is not a time span like 09:00-17:00",
                f"{part.strip()!r} 不是如 09:00-17:00 的时间段",
            )
        h1, m1, h2, m2 = (int(x) for x in found.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if m1 > 59 or m2 > 59 or start >= DAY_MINUTES or end > DAY_MINUTES or end <= start:
            raise _invalid(
                where,
                f"{part.strip()!r} must end after it starts, within one day (24:00 at the latest)",
                f"{part.strip()!r} 须在同一天内且结束晚于开始（最晚 24:00）",
            )
        out.append((start, end))
    out.sort()
    for (_, e1), (s2, _) in zip(out, out[1:], strict=False):
        if s2 < e1:
            raise _invalid(where, f"time spans overlap in {value!r}", f"{value!r} 中的时间段重叠")
    return tuple(out)


def hours_from_mapping(data: Mapping[str, Any], name: str = "file") -> WorkingHours:
    """Working hours from a parsed schedule (see the module's docstring).

    Raises:
        ValidationFailed: unknown keys, days or times, overlapping spans, no hours at all.
    """
    unknown = set(data) - {"hours", "holidays"}
    if unknown:
        raise _invalid(
            name,
            f"unknown keys {sorted(unknown)} (expected hours, holidays)",
            f"未知的键 {sorted(unknown)}（应为 hours、holidays）",
        )
    hours = data.get("hours")
    if not isinstance(hours, Mapping) or not hours:
        raise _invalid(
            name,
            "needs 'hours', e.g. hours: {mon-fri: '09:00-17:00'}",
            "需要 hours，例如 hours: {mon-fri: '09:00-17:00'}",
        )
    week: list[tuple[Interval, ...]] = [()] * 7
    for key, value in hours.items():
        for day in _days(str(key), name):
            if week[day]:
                raise _invalid(name, f"{_DAY_NAMES[day]} is given twice", f"{_DAY_NAMES[day]} 重复")
            week[day] = _intervals(value, f"{name} {key}")
    if not any(week):
        raise _invalid(name, "no working hours on any day", "没有任何工作时间")
    holidays = data.get("holidays", True)
    if not isinstance(holidays, bool):
        raise _invalid(name, "holidays must be true or false", "holidays 应为 true 或 false")
    return WorkingHours(name, tuple(week), calendar_days=holidays)


def hours_from_file(path: str | Path) -> WorkingHours:
    """Working hours from a YAML schedule file.

    Raises:
        ValidationFailed: the file cannot be read or says something impossible.
    """
    where = Path(path).name
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise _invalid(where, f"cannot read it: {exc}", f"无法读取：{exc}") from exc
    if not isinstance(data, Mapping):
        raise _invalid(where, "must be a YAML mapping", "应为 YAML 映射")
    return hours_from_mapping(data, where)


# --------------------------------------------------------------------------- minutes


def _local(stamps: pl.Expr, calendar: WorkingCalendar) -> pl.Expr:
    return stamps.dt.convert_time_zone(calendar.tz).dt.replace_time_zone(None)


def _clock(
    stamp: pl.Expr,
    calendar: WorkingCalendar,
    days: list[date],
    before: list[int],
    slots: list[tuple[list[int], list[int]]],
) -> pl.Expr:
    """Counted minutes from the first of ``days`` to ``stamp``: the whole days before it
    (``before``) plus the part of its day's intervals already gone (``slots``: per interval
    position, the start and length on each day)."""
    naive = _local(stamp, calendar)
    day = naive.dt.date()
    of_day = (naive - naive.dt.truncate("1d")).dt.total_microseconds() / 60e6
    total = day.replace_strict(days, before, default=None).cast(pl.Float64)
    for starts, lengths in slots:
        start = day.replace_strict(days, starts, default=0).cast(pl.Float64)
        length = day.replace_strict(days, lengths, default=0).cast(pl.Float64)
        total = total + (of_day - start).clip(lower_bound=0.0).clip(upper_bound=length)
    return total


def working_minutes(
    frame: pl.DataFrame,
    began: str,
    ended: str,
    calendar: WorkingCalendar | None = None,
    hours: WorkingHours = OFFICE,
) -> pl.Series:
    """Minutes that count under ``hours`` from ``began`` to ``ended`` (two UTC datetime
    columns of ``frame``); null where either is null, and the (negative) clock span where
    ``ended`` is before ``began``."""
    calendar = calendar or default_calendar()
    clock = (pl.col(ended) - pl.col(began)).dt.total_microseconds() / 60e6
    if hours.always:
        return frame.select(clock.alias("@minutes")).to_series()
    local = [frame[c].dt.convert_time_zone(calendar.tz).dt.date() for c in (began, ended)]
    stamps = pl.concat([s.drop_nulls() for s in local])
    if stamps.is_empty():
        return pl.Series("@minutes", [None] * frame.height, dtype=pl.Float64)
    first, last = stamps.min(), stamps.max()
    assert isinstance(first, date)
    assert isinstance(last, date)
    days = [first + timedelta(days=k) for k in range((last - first).days + 1)]
    per_day = [hours.on(d, calendar) for d in days]
    before: list[int] = []
    count = 0
    for intervals in per_day:
        before.append(count)
        count += sum(e - s for s, e in intervals)
    width = max((len(i) for i in per_day), default=0)
    slots = [
        (
            [i[k][0] if k < len(i) else 0 for i in per_day],
            [i[k][1] - i[k][0] if k < len(i) else 0 for i in per_day],
        )
        for k in range(width)
    ]
    work = _clock(pl.col(ended), calendar, days, before, slots) - _clock(
        pl.col(began), calendar, days, before, slots
    )
    return frame.select(
        pl.when(clock < 0).then(clock).otherwise(work).alias("@minutes")
    ).to_series()


def in_hours(
    stamps: pl.Series, calendar: WorkingCalendar | None = None, hours: WorkingHours = OFFICE
) -> pl.Series:
    """Whether each UTC instant falls inside the counted hours."""
    calendar = calendar or default_calendar()
    if hours.always or stamps.is_empty():
        return pl.Series("@inside", [True] * stamps.len(), dtype=pl.Boolean)
    local = stamps.dt.convert_time_zone(calendar.tz).dt.replace_time_zone(None)
    days = local.dt.date()
    minute = (local.dt.hour().cast(pl.Int32) * 60 + local.dt.minute().cast(pl.Int32)).to_list()
    table = {d: hours.on(d, calendar) for d in days.drop_nulls().unique().to_list()}
    return pl.Series(
        "@inside",
        [
            d is not None and any(s <= m < e for s, e in table[d])
            for d, m in zip(days.to_list(), minute, strict=True)
        ],
        dtype=pl.Boolean,
    )


# --------------------------------------------------------------------------- pattern


@dataclass(frozen=True)
class WorkPattern:
    """When a log's staff work: shares of their events in office time, at night
    (22:00–06:00 local) and on days off (weekends and holidays of the calendar)."""

    events: int
    office_share: float
    night_share: float
    days_off_share: float

    def as_dict(self) -> dict[str, Any]:
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in asdict(self).items()}


def work_pattern(stamps: pl.Series, calendar: WorkingCalendar | None = None) -> WorkPattern:
    """The shares of :class:`WorkPattern` over UTC instants (nulls left out)."""
    calendar = calendar or default_calendar()
    stamps = stamps.drop_nulls()
    n = stamps.len()
    if n == 0:
        return WorkPattern(0, 1.0, 0.0, 0.0)
    inside = in_hours(stamps, calendar, OFFICE)
    local = stamps.dt.convert_time_zone(calendar.tz).dt.replace_time_zone(None)
    minute = local.dt.hour().cast(pl.Int32) * 60 + local.dt.minute().cast(pl.Int32)
    night = ((minute >= NIGHT_FROM) | (minute < NIGHT_TO)).sum()
    days = local.dt.date().to_list()
    off = sum(1 for d in days if not calendar.is_workday(d))
    return WorkPattern(n, float(inside.sum()) / n, float(night) / n, off / n)


def choose_hours(pattern: WorkPattern) -> tuple[WorkingHours, str]:
    """Office hours when at least :data:`OFFICE_SHARE_NEEDED` of the staff's events fall in
    office time, elapsed minutes otherwise; with the reason in words."""
    outside = 1 - pattern.office_share
    if pattern.events < MIN_PATTERN_EVENTS:
        return OFFICE, (
            f"only {pattern.events} staff events, too few to tell a working pattern: office "
            "hours (09:00-17:00 on working days) count"
        )
    if pattern.office_share < OFFICE_SHARE_NEEDED:
        return ROUND_THE_CLOCK, (
            f"{outside:.0%} of staff events fall outside office hours (09:00-17:00 on working "
            f"days; {pattern.night_share:.0%} at night, {pattern.days_off_share:.0%} on days "
            f"off): the log works round the clock, so every elapsed minute counts"
        )
    return OFFICE, (
        f"{pattern.office_share:.0%} of staff events fall in office hours (09:00-17:00 on "
        f"working days): only those minutes count"
    )


def describe_choice(
    hours: WorkingHours, chosen_by: str, reason: str, pattern: WorkPattern
) -> dict[str, Any]:
    """The JSON-ready account of which minutes were counted and why."""
    return {
        "used": hours.name,
        "method": hours.describe(),
        "chosen_by": chosen_by,
        "reason": reason,
        "pattern": pattern.as_dict(),
        "office_share_needed": OFFICE_SHARE_NEEDED,
    }


def schedule(value: str | None) -> WorkingHours | None:
    """``office``, ``24x7`` or a schedule file's path -> working hours; ``None``/``auto``:
    detect from the log.

    Raises:
        ValidationFailed: the file cannot be read or is not a schedule.
    """
    if value is None or value == "auto":
        return None
    if value == "office":
        return OFFICE
    if value in ("24x7", "24/7", "elapsed"):
        return ROUND_THE_CLOCK
    return hours_from_file(value)
