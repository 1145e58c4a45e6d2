"""Timestamps as legacy systems export them: which format a column is in, and its instants.

A column is read in *one* format: the one that reads most of a sample of its values (ties
go to the earlier format in :data:`FORMATS`), or the one the user names. Values that format
cannot read are reported with the format that was expected, never guessed one by one — a
column that mixes ``2024-03-05`` and ``05-03-2024`` is a column to fix, not to half-read.

Formats (``--timestamp-format`` takes the name, or a ``strftime`` pattern such as
``%d.%m.%Y %H:%M``):

==============  ==========================================================================
``iso``         ISO 8601: ``2024-03-05T09:30:00+08:00``, ``2024-03-05 09:30``, ``2024-03-05``
``ymd-slash``   ``2014/10/22 11:15:41.000`` (Disco, Excel), seconds and fraction optional
``dmy``         ``05-03-2024 09:30``, time optional
``chinese``     ``2024年3月5日 9:30``, ``2024年3月5日9时30分``, time optional
``epoch-ms``    milliseconds since 1970-01-01 UTC (13 digits)
``epoch-s``     seconds since 1970-01-01 UTC (10 digits)
``excel``       Excel serial day numbers (``45356.395833``: days since 1899-12-30)
==============  ==========================================================================

Every format but ISO with an offset and the epochs is naive: read in the assumed zone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

import polars as pl

from onewindow.mining.frame import UTC_MICROS

__all__ = ["FORMATS", "TimestampFormat", "detect_format", "format_named", "parse_timestamps"]

_SAMPLE: Final = 2000
_EXCEL_EPOCH: Final = pl.datetime(1899, 12, 30)


@dataclass(frozen=True)
class TimestampFormat:
    name: str
    example: str
    parse: Callable[[pl.Expr, str], pl.Expr]  # text, assumed zone -> UTC instant or null

    @property
    def expected(self) -> str:
        return f"{self.name} (e.g. {self.example})"


def _local(naive: pl.Expr, assume_tz: str) -> pl.Expr:
    return (
        naive.dt.replace_time_zone(assume_tz, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
        .cast(UTC_MICROS)
    )


def _naive_iso(text: pl.Expr) -> pl.Expr:
    """``YYYY-MM-DDTHH:MM[:SS[.f]]`` or a bare date → naive instant (digits may be single)."""
    return pl.coalesce(
        text.str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M:%S%.f", strict=False),
        text.str.strptime(pl.Datetime("us"), "%Y-%m-%dT%H:%M", strict=False),
        text.str.strptime(pl.Date, "%Y-%m-%d", strict=False).cast(pl.Datetime("us")),
    )


def _iso(text: pl.Expr, assume_tz: str) -> pl.Expr:
    """ISO 8601-ish: ``T`` or a space, any fraction, ``Z``/``±hh:mm``/``±hhmm`` or naive."""
    t = text.str.replace(r"^(\d{4}-\d{2}-\d{2})[ T]", "${1}T").str.replace(r"[Zz]$", "+00:00")
    aware = pl.coalesce(
        t.str.strptime(UTC_MICROS, "%Y-%m-%dT%H:%M:%S%.f%z", strict=False),
        t.str.strptime(UTC_MICROS, "%Y-%m-%dT%H:%M%z", strict=False),
    )
    iso_shaped = t.str.contains(r"^\d{4}-\d{2}-\d{2}(T|$)")
    return pl.coalesce(aware, _local(pl.when(iso_shaped).then(_naive_iso(t)), assume_tz))


_TIME: Final = r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2}(?:\.\d+)?))?)?$"


def _reordered(pattern: str, order: tuple[int, int, int]) -> Callable[[pl.Expr, str], pl.Expr]:
    """A date in some order of year, month, day (regex groups), an optional time after it."""
    y, m, d = (f"${{{i}}}" for i in order)

    def parse(text: pl.Expr, assume_tz: str) -> pl.Expr:
        shaped = text.str.contains(pattern + _TIME)
        iso = text.str.replace(pattern + r"[ T]?", f"{y}-{m}-{d}T").str.strip_suffix("T")
        return _local(pl.when(shaped).then(_naive_iso(iso)), assume_tz)

    return parse


_CHINESE: Final = (
    r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*"
    r"(?:(\d{1,2})\s*[:：时点]\s*(\d{1,2})\s*分?\s*(?:[:：]?\s*(\d{1,2}(?:\.\d+)?)\s*秒?)?)?$"
)


def _chinese(text: pl.Expr, assume_tz: str) -> pl.Expr:
    parts = text.str.extract_groups(_CHINESE)
    year, month, day, hour, minute, second = (parts.struct.field(str(i)) for i in range(1, 7))
    iso = pl.format(
        "{}-{}-{}T{}:{}:{}",
        year,
        month,
        day,
        hour.fill_null("0"),
        minute.fill_null("0"),
        second.fill_null("0"),
    )
    return _local(_naive_iso(iso), assume_tz)


def _number(text: pl.Expr, low: float, high: float) -> pl.Expr:
    value = text.cast(pl.Float64, strict=False)
    return pl.when((value >= low) & (value < high)).then(value)


def _epoch(scale_to_us: float, low: float, high: float) -> Callable[[pl.Expr, str], pl.Expr]:
    def parse(text: pl.Expr, assume_tz: str) -> pl.Expr:
        micros = (_number(text, low, high) * scale_to_us).round(0).cast(pl.Int64)
        return pl.from_epoch(micros, time_unit="us").dt.replace_time_zone("UTC")

    return parse


def _excel(text: pl.Expr, assume_tz: str) -> pl.Expr:
    days = _number(text, 1.0, 100_000.0)  # 1900-01-01 .. 2173
    millis = (days * 86_400_000).round(0).cast(pl.Int64)
    return _local(_EXCEL_EPOCH + pl.duration(milliseconds=millis), assume_tz)


FORMATS: Final[tuple[TimestampFormat, ...]] = (
    TimestampFormat("iso", "2024-03-05 09:30:00+08:00", _iso),
    TimestampFormat(
        "ymd-slash",
        "2014/10/22 11:15:41.000",
        _reordered(r"^(\d{4})/(\d{1,2})/(\d{1,2})", (1, 2, 3)),
    ),
    TimestampFormat(
        "dmy", "05-03-2024 09:30", _reordered(r"^(\d{1,2})-(\d{1,2})-(\d{4})", (3, 2, 1))
    ),
    TimestampFormat("chinese", "2024年3月5日 9:30", _chinese),
    TimestampFormat("epoch-ms", "1709602200000", _epoch(1_000.0, 1e11, 1e13)),
    TimestampFormat("epoch-s", "1709602200", _epoch(1_000_000.0, 1e8, 1e10)),
    TimestampFormat("excel", "45356.395833", _excel),
)
_BY_NAME: Final = {f.name: f for f in FORMATS}


def _strftime(pattern: str) -> TimestampFormat:
    aware = "%z" in pattern or "%:z" in pattern or "%#z" in pattern

    def parse(text: pl.Expr, assume_tz: str) -> pl.Expr:
        if aware:
            return text.str.strptime(UTC_MICROS, pattern, strict=False)
        return _local(text.str.strptime(pl.Datetime("us"), pattern, strict=False), assume_tz)

    return TimestampFormat(pattern, pattern, parse)


def format_named(name: str) -> TimestampFormat | None:
    """The format called ``name``, a ``strftime`` pattern (has ``%``) as a format, or None."""
    if "%" in name:
        return _strftime(name)
    return _BY_NAME.get(name.strip().lower())


def _text(values: pl.Expr) -> pl.Expr:
    return values.cast(pl.String).str.strip_chars().replace("", None)


def detect_format(values: pl.Series, assume_tz: str = "UTC") -> TimestampFormat | None:
    """The format that reads most of a sample of ``values`` (None: it reads none of them)."""
    if values.len() > 10 * _SAMPLE:  # evenly spread rows, so a late change of format shows
        step = values.len() / (10 * _SAMPLE)
        values = values.gather([int(i * step) for i in range(10 * _SAMPLE)])
    present = values.cast(pl.String).str.strip_chars().drop_nulls()
    present = present.filter(present != "").unique(maintain_order=True)
    if present.len() > _SAMPLE:
        step = present.len() / _SAMPLE
        present = present.gather([int(i * step) for i in range(_SAMPLE)])
    if present.is_empty():
        return None
    frame = present.to_frame("v")
    counts = frame.select(
        *[f.parse(pl.col("v"), assume_tz).is_not_null().sum().alias(f.name) for f in FORMATS]
    ).row(0)
    best = max(range(len(FORMATS)), key=lambda i: (counts[i], -i))
    return FORMATS[best] if counts[best] else None


def parse_timestamps(
    values: pl.Expr, assume_tz: str = "UTC", fmt: TimestampFormat | None = None
) -> pl.Expr:
    """Text → UTC instant in ``fmt`` (default ISO 8601); null where it does not read."""
    return (fmt or FORMATS[0]).parse(_text(values), assume_tz)
