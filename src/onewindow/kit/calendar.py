"""Working-day calendar (工作日历) for legal time limits (承诺时限).

Time limits on government services are counted in working days: weekends and public
holidays do not count, and the weekend days the State Council turns into make-up
working days (调休上班) do. The official list changes every year, so it is data
(``holidays_cn.yaml``), not code.
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from importlib import resources
from os import PathLike
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from onewindow.kit.errors import ValidationFailed

__all__ = ["WorkingCalendar", "default_calendar"]

_RANGE_SEPARATOR = ".."
_KNOWN_KEYS = frozenset({"holidays", "makeup_workdays", "tz"})
_SATURDAY = 5


def _invalid(message: str, message_zh: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(
        message, message_zh=message_zh, code="calendar.invalid", details=details or None
    )


def _parse_day(value: object, where: str) -> date:
    # YAML turns an unquoted 2026-10-01 into a date already; a quoted one stays a string.
    if isinstance(value, datetime):
        raise _invalid(
            f"{where}: {value!r} has a time of day; calendar entries are whole days",
            f"{where}：{value!r} 含有时刻，日历条目应为整天日期",
            entry=str(value),
        )
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise _invalid(
        f"{where}: cannot read {value!r} as a date (expected YYYY-MM-DD)",
        f"{where}：无法将 {value!r} 解析为日期（应为 YYYY-MM-DD）",
        entry=str(value),
    )


def _expand_entries(entries: object, where: str) -> list[date]:
    if entries is None:
        return []
    if isinstance(entries, str | date) or not isinstance(entries, Iterable):
        raise _invalid(
            f"{where} must be a list of dates or ranges like 2026-10-01..2026-10-07",
            f"{where} 应为日期或日期区间（如 2026-10-01..2026-10-07）的列表",
        )
    days: list[date] = []
    for entry in entries:
        if isinstance(entry, str) and _RANGE_SEPARATOR in entry:
            first_text, _, last_text = entry.partition(_RANGE_SEPARATOR)
            first = _parse_day(first_text, where)
            last = _parse_day(last_text, where)
            if last < first:
                raise _invalid(
                    f"{where}: range {entry!r} ends before it starts",
                    f"{where}：日期区间 {entry!r} 的结束日早于开始日",
                    entry=entry,
                )
            days.extend(first + timedelta(days=i) for i in range((last - first).days + 1))
        else:
            days.append(_parse_day(entry, where))
    return days


def _is_weekend(d: date) -> bool:
    return d.weekday() >= _SATURDAY


def _weekdays_upto(d: date) -> int:
    """Mon–Fri days in [0001-01-01, d]; differences of this count weekdays in a span."""
    ordinal = d.toordinal()  # 0001-01-01 is ordinal 1 and a Monday
    full_weeks, rest = divmod(ordinal, 7)
    return full_weeks * 5 + min(rest, 5)


class WorkingCalendar:
    """Which days are working days, and where a time limit in working days ends.

    A day is a working day when it is a listed make-up working day, or when it is
    Monday–Friday and not a listed holiday. Datetimes are first converted to the
    calendar's time zone, because "which day" depends on where the office is.
    Naive datetimes are refused (the platform only handles timezone-aware time).
    """

    def __init__(
        self,
        holidays: Iterable[date] = (),
        makeup_workdays: Iterable[date] = (),
        tz: str = "Asia/Shanghai",
    ) -> None:
        holiday_set = frozenset(_parse_day(d, "holidays") for d in holidays)
        makeup_set = frozenset(_parse_day(d, "makeup_workdays") for d in makeup_workdays)
        clash = sorted(holiday_set & makeup_set)
        if clash:
            listed = ", ".join(d.isoformat() for d in clash)
            raise _invalid(
                f"days listed both as holiday and as make-up working day: {listed}",
                f"以下日期同时被列为节假日和调休工作日：{listed}",
                days=[d.isoformat() for d in clash],
            )
        try:
            self._zone = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise _invalid(f"unknown time zone {tz!r}", f"未知时区 {tz!r}", tz=tz) from exc
        self._tz = tz
        self._holidays = holiday_set
        self._makeup_workdays = makeup_set
        # Only these change the Mon–Fri count, so workdays_between can bisect them.
        self._weekday_holidays = sorted(d for d in holiday_set if not _is_weekend(d))
        self._weekend_makeups = sorted(d for d in makeup_set if _is_weekend(d))

    # Read-only because default_calendar() hands one shared instance to every caller.
    @property
    def tz(self) -> str:
        return self._tz

    @property
    def zone(self) -> ZoneInfo:
        return self._zone

    @property
    def holidays(self) -> frozenset[date]:
        return self._holidays

    @property
    def makeup_workdays(self) -> frozenset[date]:
        return self._makeup_workdays

    def __repr__(self) -> str:
        return (
            f"WorkingCalendar(holidays={len(self.holidays)} days, "
            f"makeup_workdays={len(self.makeup_workdays)} days, tz={self.tz!r})"
        )

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> WorkingCalendar:
        """Build from ``{"holidays": [...], "makeup_workdays": [...], "tz": "..."}``.

        Entries are dates or ``"YYYY-MM-DD"`` strings, or inclusive ranges
        ``"2026-10-01..2026-10-07"``. ``tz`` is optional (default Asia/Shanghai).

        Raises:
            ValidationFailed: unknown key, unparsable date, reversed range, or a day
                listed both as holiday and make-up working day.
        """
        if not isinstance(data, Mapping):
            raise _invalid(
                "calendar data must be a mapping with holidays / makeup_workdays",
                "日历数据应为包含 holidays / makeup_workdays 的映射",
            )
        unknown = sorted(str(k) for k in data if k not in _KNOWN_KEYS)
        if unknown:
            raise _invalid(
                f"unknown calendar keys: {', '.join(unknown)} "
                f"(expected holidays, makeup_workdays, tz)",
                f"未知的日历字段：{', '.join(unknown)}（应为 holidays、makeup_workdays、tz）",
                keys=unknown,
            )
        tz = data.get("tz", "Asia/Shanghai")
        if not isinstance(tz, str):
            raise _invalid(f"tz must be a string, got {tz!r}", f"tz 应为字符串，实际为 {tz!r}")
        return cls(
            holidays=_expand_entries(data.get("holidays"), "holidays"),
            makeup_workdays=_expand_entries(data.get("makeup_workdays"), "makeup_workdays"),
            tz=tz,
        )

    @classmethod
    def from_yaml(cls, path: str | PathLike[str]) -> WorkingCalendar:
        """Load a calendar file in the :meth:`from_mapping` shape.

        Raises:
            ValidationFailed: the file cannot be read, is not YAML, or has bad entries.
        """
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise _invalid(
                f"cannot read calendar file {path}: {exc.strerror or exc}",
                f"无法读取日历文件 {path}：{exc.strerror or exc}",
            ) from exc
        return cls._from_yaml_text(text, str(path))

    @classmethod
    def _from_yaml_text(cls, text: str, source: str) -> WorkingCalendar:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise _invalid(
                f"calendar file {source} is not valid YAML: {exc}",
                f"日历文件 {source} 不是有效的 YAML：{exc}",
            ) from exc
        return cls.from_mapping(data if data is not None else {})

    def _local_day(self, when: date | datetime) -> date:
        if isinstance(when, datetime):
            if when.tzinfo is None or when.utcoffset() is None:
                raise _invalid(
                    f"naive datetime {when.isoformat()} has no time zone",
                    f"时间 {when.isoformat()} 缺少时区",
                )
            return when.astimezone(self._zone).date()
        if isinstance(when, date):
            return when
        raise TypeError(f"expected a date or datetime, got {type(when).__name__}")

    def is_workday(self, d: date | datetime) -> bool:
        day = self._local_day(d)
        if day in self.makeup_workdays:
            return True
        return not _is_weekend(day) and day not in self.holidays

    def next_workday(self, d: date | datetime) -> date:
        """The first working day strictly after ``d``."""
        day = self._local_day(d) + timedelta(days=1)
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    def add_workdays(self, start: date | datetime, n: int) -> date:
        """The day a time limit of ``n`` working days ends.

        Rule (民法典 §201: the starting day is not counted; 行政许可法 §82: limits in
        working days skip public holidays and weekends): the result is the n-th working
        day strictly *after* the start day. A start on a non-working day therefore
        counts from the next working day, which is day 1 — a Saturday application with
        a 1-working-day limit is due on Monday, the same as a Friday one. The time of
        day of ``start`` does not matter once it is converted to the calendar's zone.
        ``n == 0`` gives the start day itself when it is a working day, otherwise the
        next working day.

        Raises:
            ValidationFailed: ``n`` is negative, or ``start`` is a naive datetime.
        """
        if n < 0:
            raise _invalid(
                f"a time limit cannot be negative (got {n} working days)",
                f"时限不能为负数（{n} 个工作日）",
                n=n,
            )
        day = self._local_day(start)
        if n == 0:
            return day if self.is_workday(day) else self.next_workday(day)
        for _ in range(n):
            day = self.next_workday(day)
        return day

    def workdays_between(self, a: date | datetime, b: date | datetime) -> int:
        """Working days in the half-open span (a, b]: a itself is not counted, b is.

        This is the inverse of :meth:`add_workdays` for working-day ends:
        ``workdays_between(s, add_workdays(s, n)) == n`` for n >= 1. When ``b`` is
        before ``a`` the result is negative (the count of (b, a], negated), which is
        how far past a deadline something is.
        """
        start = self._local_day(a)
        end = self._local_day(b)
        if end < start:
            return -self.workdays_between(end, start)
        weekdays = _weekdays_upto(end) - _weekdays_upto(start)
        holidays = bisect.bisect_right(self._weekday_holidays, end) - bisect.bisect_right(
            self._weekday_holidays, start
        )
        makeups = bisect.bisect_right(self._weekend_makeups, end) - bisect.bisect_right(
            self._weekend_makeups, start
        )
        return weekdays - holidays + makeups

    def deadline(self, start: datetime, n: int) -> datetime:
        """End of the last allowed working day: 23:59:59 local time, timezone-aware.

        Raises:
            ValidationFailed: ``n`` is negative, or ``start`` is naive.
        """
        last_day = self.add_workdays(start, n)
        return datetime.combine(last_day, time(23, 59, 59), tzinfo=self._zone)


@functools.lru_cache(maxsize=1)
def default_calendar() -> WorkingCalendar:
    """China's official public holidays and make-up working days (shipped YAML).

    Cached: the calendar is immutable, and every SLA computation needs it.
    """
    text = resources.files("onewindow.kit").joinpath("holidays_cn.yaml").read_text("utf-8")
    return WorkingCalendar._from_yaml_text(text, "holidays_cn.yaml")
