"""Read event logs from CSV, Parquet, XES (plain or gzipped) and OCEL 2.0 into event frames.

Every reader returns the frame with XES column names plus an :class:`ImportReport` that
says which rows were dropped and why (their row numbers, the values and the format that was
expected), how many timestamps had no time zone and were read in the assumed zone, and how
columns were mapped. Timestamps with any UTC offset become UTC instants, so a log with mixed
zones sorts correctly; the formats a timestamp column may be in are those of
:mod:`onewindow.mining.timestamps`. CSV files are read in any encoding and with any
separator :mod:`onewindow.kit.textfiles` recognises (or the ones named).

XES and OCEL XML are read with ``lxml.etree.iterparse`` and each finished element is
cleared, so memory grows with the rows kept, never with a DOM of the whole file.
"""

from __future__ import annotations

import gzip
import io
import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar, Final, Literal, cast

import polars as pl
from lxml import etree

from onewindow.kit.errors import ValidationFailed
from onewindow.kit.textfiles import (
    SEPARATORS,
    UnreadableText,
    detect_encoding,
    separator_name,
    sniff_separator,
)
from onewindow.mining.frame import (
    ACTIVITY,
    CASE_ID,
    CHANNEL,
    GROUP,
    LIFECYCLE,
    RESOURCE,
    SERVICE_KEY,
    START_TIMESTAMP,
    TIMESTAMP,
    UTC_MICROS,
)
from onewindow.mining.timestamps import (
    TimestampFormat,
    format_named,
    parse_timestamps,
)
from onewindow.mining.timestamps import detect_format as detect_timestamp_format

__all__ = [
    "ColumnMap",
    "DroppedRows",
    "ImportReport",
    "LogFormat",
    "OcelMode",
    "parse_timestamps",
    "read_csv",
    "timestamp_format",
    "read_log",
    "read_ocel",
    "read_parquet",
    "read_xes",
]

LogFormat = Literal["csv", "parquet", "xes", "ocel-json", "ocel-xml"]
OcelMode = Literal["explode", "first"]
# Dropped rows listed (with their values) per reason; the summary prints the first few.
_LISTED_ROWS: Final = 10_000
_PRINTED_ROWS: Final = 20
_XES_VALUE_TAGS: Final = frozenset({"string", "date", "int", "float", "boolean", "id"})


@dataclass(frozen=True)
class ColumnMap:
    """Which source column holds each XES key; unmapped keys keep their own name.

    ``group`` is the department (部门) that handled the event (``org:group``);
    ``start_timestamp`` when work on the event's activity began (gives service time).
    """

    case: str = CASE_ID
    activity: str = ACTIVITY
    timestamp: str = TIMESTAMP
    lifecycle: str | None = None
    resource: str | None = None
    group: str | None = None
    start_timestamp: str | None = None
    channel: str | None = None
    service: str | None = None

    # Names accepted by from_pairs (the CLI's --mapping key=column).
    KEYS: ClassVar[dict[str, str]] = {
        "case": "case",
        "activity": "activity",
        "timestamp": "timestamp",
        "time": "timestamp",
        "start": "start_timestamp",
        "start_timestamp": "start_timestamp",
        "lifecycle": "lifecycle",
        "resource": "resource",
        "department": "group",
        "group": "group",
        "channel": "channel",
        "service": "service",
    }

    @classmethod
    def from_pairs(cls, pairs: Mapping[str, str]) -> ColumnMap:
        """``{"case": "CaseID", "department": "Dept", …}`` → a map.

        Raises:
            ValidationFailed: an unknown key.
        """
        fields: dict[str, str] = {}
        for key, column in pairs.items():
            name = cls.KEYS.get(key.strip().lower())
            if name is None:
                known = ", ".join(sorted(set(cls.KEYS)))
                raise _invalid(
                    f"unknown mapping key {key!r}; use {known}",
                    f"未知的列映射键 {key!r}；可用：{known}",
                )
            fields[name] = column.strip()
        return cls(**fields)

    def renames(self) -> dict[str, str]:
        pairs = {
            self.case: CASE_ID,
            self.activity: ACTIVITY,
            self.timestamp: TIMESTAMP,
            self.lifecycle: LIFECYCLE,
            self.resource: RESOURCE,
            self.group: GROUP,
            self.start_timestamp: START_TIMESTAMP,
            self.channel: CHANNEL,
            self.service: SERVICE_KEY,
        }
        return {src: dst for src, dst in pairs.items() if src is not None and src != dst}


@dataclass
class DroppedRows:
    reason: str
    count: int = 0
    rows: list[int] = field(default_factory=list)  # 1-based input rows (first ones only)
    values: list[str | None] = field(default_factory=list)  # the offending value of each
    expected: str | None = None  # the format a timestamp was expected in
    # Left out by choice (an OCEL event about other objects), not unusable: such rows do
    # not count towards the share of dropped rows a command tolerates.
    out_of_scope: bool = False

    def add(self, row: int, value: str | None = None) -> None:
        self.count += 1
        if len(self.rows) < _LISTED_ROWS:
            self.rows.append(row)
            self.values.append(value)


@dataclass
class ImportReport:
    """What an import kept, dropped and assumed (导入报告)."""

    source: str
    format: str
    rows_read: int = 0
    rows_kept: int = 0
    dropped: list[DroppedRows] = field(default_factory=list)
    naive_timestamps: int = 0
    assumed_time_zone: str = "UTC"
    renamed: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    encoding: str | None = None  # CSV: the encoding the file was read in
    separator: str | None = None  # CSV: the column separator
    timestamp_format: str | None = None  # the format the timestamp column was read in

    def drop(self, reason: str, row: int, *, out_of_scope: bool = False) -> None:
        for entry in self.dropped:
            if entry.reason == reason:
                entry.add(row)
                return
        entry = DroppedRows(reason, out_of_scope=out_of_scope)
        entry.add(row)
        self.dropped.append(entry)

    @property
    def rows_dropped(self) -> int:
        """Rows that could not be used (no case, activity or readable timestamp)."""
        return sum(entry.count for entry in self.dropped if not entry.out_of_scope)

    @property
    def dropped_share(self) -> float:
        return self.rows_dropped / self.rows_read if self.rows_read else 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        lines = [f"{self.source} ({self.format}): {self.rows_kept} of {self.rows_read} rows kept"]
        read_as = []
        if self.encoding:
            read_as.append(f"encoding {self.encoding}")
        if self.separator:
            read_as.append(f"separator {separator_name(self.separator)}")
        if self.timestamp_format:
            read_as.append(f"timestamps {self.timestamp_format}")
        if read_as:
            lines.append("  read with " + ", ".join(read_as))
        for entry in self.dropped:
            expected = f"; expected {entry.expected}" if entry.expected else ""
            shown = list(zip(entry.rows, entry.values, strict=True))[:_PRINTED_ROWS]
            if any(v is not None for _, v in shown):
                sample = ", ".join(f"{r} {v!r}" if v is not None else str(r) for r, v in shown)
            else:
                sample = ", ".join(str(r) for r, _ in shown)
            more = f" … (+{entry.count - len(shown)} more)" if entry.count > len(shown) else ""
            lines.append(f"  dropped {entry.count} ({entry.reason}{expected}): rows {sample}{more}")
        if self.naive_timestamps:
            lines.append(
                f"  {self.naive_timestamps} timestamps had no time zone; read as "
                f"{self.assumed_time_zone}"
            )
        lines.extend(f"  {note}" for note in self.notes)
        return "\n".join(lines)


def _invalid(message: str, message_zh: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(
        message, message_zh=message_zh, code="mining.import_invalid", details=details or None
    )


# --------------------------------------------------------------------------- timestamps


def timestamp_format(name: str | None) -> TimestampFormat | None:
    """The format a user named (``--timestamp-format``); None for automatic detection.

    Raises:
        ValidationFailed: an unknown name that is not a ``strftime`` pattern either.
    """
    if name is None or not name.strip() or name.strip().lower() == "auto":
        return None
    found = format_named(name)
    if found is None:
        from onewindow.mining.timestamps import FORMATS

        known = ", ".join(f.name for f in FORMATS)
        raise _invalid(
            f"unknown timestamp format {name!r}; use one of {known}, auto, or a strftime "
            "pattern such as %d.%m.%Y %H:%M",
            f"未知的时间格式 {name!r}；可用：{known}、auto 或 strftime 格式（如 %d.%m.%Y %H:%M）",
        )
    return found


def _iso_with_offset(values: pl.Series) -> pl.Series | None:
    """The column parsed in one pass when every value is ISO 8601 with an offset, else None.

    ``parse_timestamps`` tries every format on every row (a full pass each, ~8x the time);
    most exports need only this one, and where it parses a value the result is the same.
    """
    fast = values.cast(pl.String).str.strptime(UTC_MICROS, "%Y-%m-%dT%H:%M:%S%.f%z", strict=False)
    return fast if fast.null_count() == values.null_count() else None


def _is_naive_text(values: pl.Expr) -> pl.Expr:
    return ~values.cast(pl.String).str.strip_chars().str.contains(r"([Zz]|[+-]\d{2}:?\d{2})$")


def _column_format(
    frame: pl.DataFrame, column: str, forced: TimestampFormat | None, assume_tz: str
) -> TimestampFormat | None:
    return forced or detect_timestamp_format(frame[column], assume_tz)


def _finish(
    frame: pl.DataFrame,
    report: ImportReport,
    columns: ColumnMap,
    *,
    assume_tz: str,
    row_offset: int = 1,
    timestamps: TimestampFormat | None = None,
) -> pl.DataFrame:
    """Map columns, parse the timestamp, drop unusable rows and record why."""
    renames = columns.renames()
    absent = [src for src in renames if src not in frame.columns]
    needed = [columns.case, columns.activity, columns.timestamp]
    missing = [c for c in needed if c not in frame.columns]
    listed = ", ".join(frame.columns[:30])
    if missing:
        raise _invalid(
            f"{report.source}: no column {', '.join(missing)} (columns: {listed})",
            f"{report.source}：缺少列 {', '.join(missing)}（现有列：{listed}）",
            missing=missing,
            columns=frame.columns,
        )
    if absent:
        raise _invalid(
            f"{report.source}: the mapping names columns the file does not have: "
            f"{', '.join(absent)} (columns: {listed})",
            f"{report.source}：列映射中的列在文件中不存在：{', '.join(absent)}（现有列：{listed}）",
            missing=absent,
            columns=frame.columns,
        )
    clash = [dst for src, dst in renames.items() if dst in frame.columns and src in frame.columns]
    frame = frame.drop(clash).rename(renames)
    report.renamed = dict(renames)
    report.assumed_time_zone = assume_tz
    report.rows_read = frame.height

    stamp = frame.schema[TIMESTAMP]
    with_row = frame.with_row_index("@@row", offset=row_offset)
    fmt: TimestampFormat | None = None
    if isinstance(stamp, pl.Datetime):
        expr = pl.col(TIMESTAMP)
        if stamp.time_zone is None:
            report.naive_timestamps = frame.height - frame[TIMESTAMP].null_count()
            expr = expr.dt.replace_time_zone(assume_tz, ambiguous="earliest", non_existent="null")
        parsed = with_row.with_columns(
            expr.dt.convert_time_zone("UTC").cast(UTC_MICROS).alias("@@ts"),
            pl.lit(False).alias("@@naive"),
        )
    elif isinstance(stamp, pl.Date):
        parsed = with_row.with_columns(
            pl.col(TIMESTAMP)
            .cast(pl.Datetime("us"))
            .dt.replace_time_zone(assume_tz)
            .dt.convert_time_zone("UTC")
            .alias("@@ts"),
            pl.lit(True).alias("@@naive"),
        )
    elif (fast := _iso_with_offset(frame[TIMESTAMP])) is not None:
        parsed = with_row.with_columns(fast.alias("@@ts"), pl.lit(False).alias("@@naive"))
    else:
        fmt = _column_format(frame, TIMESTAMP, timestamps, assume_tz)
        report.timestamp_format = None if fmt is None else fmt.name
        naive = _is_naive_text(pl.col(TIMESTAMP))
        if fmt is not None and fmt.name.startswith("epoch"):
            naive = pl.lit(False)
        parsed = with_row.with_columns(
            (
                parse_timestamps(pl.col(TIMESTAMP), assume_tz, fmt)
                if fmt is not None
                else pl.lit(None, UTC_MICROS)
            ).alias("@@ts"),
            naive.alias("@@naive"),
        )

    case_missing = pl.col(CASE_ID).is_null() | (pl.col(CASE_ID).cast(pl.String) == "")
    act_missing = pl.col(ACTIVITY).is_null() | (pl.col(ACTIVITY).cast(pl.String) == "")
    ts_missing = pl.col(TIMESTAMP).is_null()
    if fmt is not None or not isinstance(stamp, pl.Datetime | pl.Date):
        # typed instants are never blank; casting a million of them to text costs seconds
        ts_missing = ts_missing | (pl.col(TIMESTAMP).cast(pl.String).str.strip_chars() == "")
    checks = parsed.select(
        "@@row",
        TIMESTAMP,
        case_missing.alias("case"),
        act_missing.alias("activity"),
        ts_missing.alias("ts_missing"),
        (pl.col("@@ts").is_null() & ~ts_missing).alias("ts_bad"),
    )
    expected = fmt.expected if fmt is not None else "a date and time (no format reads this column)"
    for reason, column, with_value in (
        ("case id missing", "case", False),
        ("activity missing", "activity", False),
        ("timestamp missing", "ts_missing", False),
        ("timestamp unparsable", "ts_bad", True),
    ):
        bad = checks.filter(pl.col(column))
        if bad.is_empty():
            continue
        entry = DroppedRows(reason, expected=expected if with_value else None)
        listed_rows = bad.head(_LISTED_ROWS)
        entry.rows = listed_rows["@@row"].to_list()
        entry.values = (
            listed_rows[TIMESTAMP].cast(pl.String).to_list()
            if with_value
            else [None] * len(entry.rows)
        )
        entry.count = bad.height
        report.dropped.append(entry)
    keep = ~(case_missing | act_missing | pl.col("@@ts").is_null())
    kept = parsed.filter(keep)
    if not isinstance(stamp, pl.Datetime):
        report.naive_timestamps = int(kept["@@naive"].sum())
    out = kept.with_columns(
        pl.col(CASE_ID).cast(pl.String),
        pl.col(ACTIVITY).cast(pl.String),
        pl.col("@@ts").alias(TIMESTAMP),
    ).drop("@@ts", "@@naive", "@@row")
    if START_TIMESTAMP in out.columns and not isinstance(out.schema[START_TIMESTAMP], pl.Datetime):
        out = _start_timestamps(out, report, timestamps, assume_tz)
    report.rows_kept = out.height
    return out


def _start_timestamps(
    frame: pl.DataFrame, report: ImportReport, forced: TimestampFormat | None, assume_tz: str
) -> pl.DataFrame:
    """Parse the start-timestamp column; a value that does not read is left empty (the
    event keeps its completion) and reported with examples."""
    raw = pl.col(START_TIMESTAMP).cast(pl.String).str.strip_chars().replace("", None)
    fmt = _column_format(frame, START_TIMESTAMP, forced, assume_tz)
    parsed = parse_timestamps(raw, assume_tz, fmt) if fmt is not None else pl.lit(None, UTC_MICROS)
    out = frame.with_columns(parsed.alias("@@start"))
    bad = out.filter(pl.col("@@start").is_null() & raw.is_not_null())
    if bad.height:
        examples = ", ".join(repr(v) for v in bad[START_TIMESTAMP].cast(pl.String).head(3))
        expected = fmt.expected if fmt is not None else "a date and time"
        report.notes.append(
            f"{bad.height} start timestamps could not be read (expected {expected}; e.g. "
            f"{examples}) and were ignored"
        )
    return out.with_columns(pl.col("@@start").alias(START_TIMESTAMP)).drop("@@start")


# --------------------------------------------------------------------------- tables


def read_csv(
    path: str | os.PathLike[str],
    columns: ColumnMap | None = None,
    *,
    assume_tz: str = "UTC",
    separator: str | None = None,
    encoding: str | None = None,
    timestamps: TimestampFormat | None = None,
) -> tuple[pl.DataFrame, ImportReport]:
    """A CSV file (``.gz`` too) with a header row; every column read as text first.

    The encoding (UTF-8 with or without BOM, UTF-16, GBK/GB18030) and the separator
    (``,`` ``;`` tab ``|``) are detected unless given.

    Raises:
        ValidationFailed: the file cannot be read or decoded, or lacks a mapped column.
    """
    source = Path(path)
    report = ImportReport(source=source.name, format="csv")
    try:
        data = source.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise _invalid(
            f"cannot read {source.name}: {exc}", f"无法读取 {source.name}：{exc}"
        ) from exc
    payload, report.encoding = _utf8(data, encoding, source.name, head_only=encoding is None)
    head = payload[:65536].decode("utf-8", errors="ignore")
    if separator is None:
        separator = sniff_separator(head)
    elif separator.lower() in ("tab", "\\t"):
        separator = "\t"
    report.separator = separator
    if len(separator) != 1:
        raise _invalid(
            f"a separator is one character (or 'tab'), not {separator!r}",
            f"分隔符应为单个字符（或 tab），而不是 {separator!r}",
        )
    try:
        try:
            frame = _read_table(payload, separator)
        except pl.exceptions.ComputeError as exc:
            if encoding is not None or "utf" not in str(exc).lower():
                raise
            # UTF-8 at the head, something else further down: judge the whole file
            payload, report.encoding = _utf8(data, None, source.name)
            frame = _read_table(payload, separator)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise _invalid(
            f"cannot read {source.name} as CSV ({separator_name(separator)}-separated, "
            f"{report.encoding}): {exc}",
            f"无法读取 CSV 文件 {source.name}：{exc}",
        ) from exc
    if frame.width == 1 and separator in SEPARATORS:
        report.notes.append(
            f"one column only: if the file is not {separator_name(separator)}-separated, "
            "name its separator (--separator)"
        )
    # Row numbers in the report count the header as line 1, as a spreadsheet shows them.
    out = _finish(
        frame,
        report,
        columns or ColumnMap(),
        assume_tz=assume_tz,
        row_offset=2,
        timestamps=timestamps,
    )
    return _typed_text_columns(out), report


def _utf8(
    data: bytes, encoding: str | None, name: str, *, head_only: bool = False
) -> tuple[bytes, str]:
    """The file's bytes as UTF-8 (without a byte-order mark) and the encoding they were in.

    UTF-8 input is passed on as it is: only other encodings pay for a decode and re-encode.
    ``head_only``: judge an undeclared encoding on the first 64 KiB (the CSV reader checks
    the rest and asks again on the whole file when it is not UTF-8 after all).

    Raises:
        ValidationFailed: the bytes are not text in ``encoding`` or any recognised one.
    """
    try:
        chosen = encoding or detect_encoding(data[:65536] if head_only else data, partial=head_only)
    except UnreadableText as exc:
        raise _invalid(
            f"{name}: {exc} (--encoding)", f"{name}：无法识别文件编码，请用 --encoding 指定"
        ) from None
    normal = chosen.lower().replace("_", "-")
    if normal in ("utf-8", "utf8", "utf-8-sig"):
        body = data.removeprefix(b"\xef\xbb\xbf")
        if not head_only:
            try:
                body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _invalid(
                    f"{name}: not UTF-8 text (byte {exc.start}); name the encoding "
                    "(--encoding gbk)",
                    f"{name}：不是 UTF-8 文本（第 {exc.start} 字节），请用 --encoding 指定编码",
                ) from None
        return body, "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        text = data.decode(chosen)
    except LookupError:
        raise _invalid(f"unknown encoding {chosen!r}", f"未知的编码 {chosen!r}") from None
    except UnicodeDecodeError as exc:
        raise _invalid(
            f"{name}: not {chosen} text (byte {exc.start}); name the encoding (--encoding)",
            f"{name}：不是 {chosen} 文本（第 {exc.start} 字节），请用 --encoding 指定编码",
        ) from None
    return text.removeprefix("\ufeff").encode("utf-8"), chosen


def _read_table(payload: bytes, separator: str) -> pl.DataFrame:
    return pl.read_csv(io.BytesIO(payload), infer_schema=False, separator=separator)


def _typed_text_columns(frame: pl.DataFrame) -> pl.DataFrame:
    """Text columns that are wholly numeric or timestamps get that type (case: too)."""
    updates = []
    for name in frame.columns:
        if name in (CASE_ID, ACTIVITY, TIMESTAMP) or frame.schema[name] != pl.String:
            continue
        col = frame[name]
        present = col.drop_nulls()
        present = present.filter(present != "")
        if present.is_empty():
            continue
        as_int = present.cast(pl.Int64, strict=False)
        if as_int.null_count() == 0:
            updates.append(pl.col(name).replace("", None).cast(pl.Int64, strict=False))
            continue
        as_float = present.cast(pl.Float64, strict=False)
        if as_float.null_count() == 0:
            updates.append(pl.col(name).replace("", None).cast(pl.Float64, strict=False))
            continue
        if present.str.contains(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}").all():
            parsed = present.to_frame().select(parse_timestamps(pl.col(name))).to_series()
            if parsed.null_count() == 0:
                updates.append(parse_timestamps(pl.col(name).replace("", None)).alias(name))
    return frame.with_columns(updates) if updates else frame


def read_parquet(
    path: str | os.PathLike[str],
    columns: ColumnMap | None = None,
    *,
    assume_tz: str = "UTC",
    timestamps: TimestampFormat | None = None,
) -> tuple[pl.DataFrame, ImportReport]:
    """A Parquet file; instants are converted to UTC, naive ones read in ``assume_tz``.

    Raises:
        ValidationFailed: the file cannot be read or lacks a mapped column.
    """
    source = Path(path)
    report = ImportReport(source=source.name, format="parquet")
    try:
        frame = pl.read_parquet(source)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise _invalid(
            f"cannot read {source.name} as Parquet: {exc}",
            f"无法读取 Parquet 文件 {source.name}：{exc}",
        ) from exc
    out = _finish(frame, report, columns or ColumnMap(), assume_tz=assume_tz, timestamps=timestamps)
    return out, report


# --------------------------------------------------------------------------- XES


class _Columns:
    """Column-wise accumulation: a key first seen late is back-filled with nulls."""

    def __init__(self) -> None:
        self.data: dict[str, list[Any]] = {}
        self.types: dict[str, str] = {}
        self.length = 0

    def append(self, row: dict[str, tuple[str, str]]) -> None:
        for key, (xes_type, value) in row.items():
            column = self.data.get(key)
            if column is None:
                column = self.data[key] = [None] * self.length
                self.types[key] = xes_type
            elif self.types[key] != xes_type:
                self.types[key] = "string"
            column.append(value)
        self.length += 1
        for column in self.data.values():
            if len(column) < self.length:
                column.append(None)

    def frame(self, assume_tz: str) -> pl.DataFrame:
        series = []
        for key, values in self.data.items():
            raw = pl.Series(key, values, dtype=pl.String)
            kind = self.types[key]
            if key == TIMESTAMP or kind == "string" or kind == "id":
                series.append(raw)
            elif kind == "date":
                parsed = raw.to_frame().select(parse_timestamps(pl.col(key), assume_tz))
                series.append(parsed.to_series())
            elif kind == "int":
                series.append(raw.cast(pl.Int64, strict=False))
            elif kind == "float":
                series.append(raw.str.to_uppercase().cast(pl.Float64, strict=False))
            else:
                series.append(raw.str.to_lowercase() == "true")
        return pl.DataFrame(series) if series else pl.DataFrame()


def _open_maybe_gzip(path: Path) -> IO[bytes]:
    with path.open("rb") as probe:
        magic = probe.read(2)
    if magic == b"\x1f\x8b":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""  # comments and processing instructions
    return tag.rpartition("}")[2]


def _attributes(element: etree._Element) -> dict[str, tuple[str, str]]:
    out: dict[str, tuple[str, str]] = {}
    for child in element:
        kind = _local(child.tag)
        if kind in _XES_VALUE_TAGS:
            key = child.get("key")
            value = child.get("value")
            if key is not None and value is not None:
                out[key] = (kind, value)
    return out


def read_xes(
    path: str | os.PathLike[str],
    columns: ColumnMap | None = None,
    *,
    assume_tz: str = "UTC",
    timestamps: TimestampFormat | None = None,
) -> tuple[pl.DataFrame, ImportReport]:
    """An IEEE 1849 XES file, plain or gzipped, read as a stream.

    Trace attributes become ``case:``-prefixed columns; nested attributes (lists,
    containers, meta-attributes) are skipped. Typed values keep their type (date → UTC
    instant, int, float, boolean).

    Raises:
        ValidationFailed: the file is not well-formed XML or lacks the mapped keys.
    """
    source = Path(path)
    report = ImportReport(source=source.name, format="xes")
    table = _Columns()
    pending: list[dict[str, tuple[str, str]]] = []
    try:
        with _open_maybe_gzip(source) as stream:
            for _, element in etree.iterparse(
                stream, events=("end",), tag=("{*}event", "{*}trace")
            ):
                if _local(element.tag) == "event":
                    pending.append(_attributes(element))
                    element.clear()
                    # Drop the finished event before this one; trace attributes stay.
                    previous = element.getprevious()
                    parent = element.getparent()
                    if previous is not None and parent is not None:
                        if _local(previous.tag) == "event":
                            parent.remove(previous)
                    continue
                trace_attrs = {f"case:{k}": v for k, v in _attributes(element).items()}
                for row in pending:
                    table.append({**trace_attrs, **row})
                pending = []
                _release(element)
    except etree.XMLSyntaxError as exc:
        raise _invalid(
            f"{source.name} is not well-formed XES: {exc}",
            f"{source.name} 不是格式正确的 XES：{exc}",
        ) from exc
    except OSError as exc:
        raise _invalid(
            f"cannot read {source.name}: {exc}", f"无法读取 {source.name}：{exc}"
        ) from exc
    frame = table.frame(assume_tz)
    if frame.is_empty():
        frame = pl.DataFrame(schema={CASE_ID: pl.String, ACTIVITY: pl.String, TIMESTAMP: pl.String})
    out = _finish(frame, report, columns or ColumnMap(), assume_tz=assume_tz, timestamps=timestamps)
    return out, report


def _release(element: etree._Element) -> None:
    """Free a finished element and the already-processed siblings before it."""
    element.clear()
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


# --------------------------------------------------------------------------- OCEL 2.0


@dataclass
class _OcelEvent:
    id: str
    type: str
    time: str
    attributes: dict[str, Any]
    objects: list[str]


def _ocel_json(path: Path) -> tuple[dict[str, str], Iterator[_OcelEvent]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict) or "events" not in data:
        raise _invalid(
            f"{path.name} is not OCEL 2.0 JSON (no events)", f"{path.name} 不是 OCEL 2.0 JSON"
        )
    object_types = {str(o["id"]): str(o["type"]) for o in data.get("objects", [])}

    def events() -> Iterator[_OcelEvent]:
        for e in data["events"]:
            attrs = {str(a["name"]): a.get("value") for a in e.get("attributes") or []}
            related = [str(r["objectId"]) for r in e.get("relationships") or []]
            yield _OcelEvent(str(e["id"]), str(e["type"]), str(e["time"]), attrs, related)

    return object_types, events()


def _ocel_xml(path: Path) -> tuple[dict[str, str], list[_OcelEvent]]:
    object_types: dict[str, str] = {}
    events: list[_OcelEvent] = []
    with _open_maybe_gzip(path) as stream:
        for _, element in etree.iterparse(stream, events=("end",)):
            name = _local(element.tag)
            if name == "object" and element.get("type") is not None:
                object_types[element.get("id", "")] = element.get("type", "")
                _release(element)
            elif name == "event" and element.get("type") is not None:
                attrs: dict[str, Any] = {}
                related: list[str] = []
                for part in element:
                    for item in part:
                        tag = _local(item.tag)
                        if tag == "attribute" and item.get("name"):
                            attrs[item.get("name", "")] = item.text
                        elif tag == "relationship" and item.get("object-id"):
                            related.append(item.get("object-id", ""))
                events.append(
                    _OcelEvent(
                        element.get("id", ""),
                        element.get("type", ""),
                        element.get("time", ""),
                        attrs,
                        related,
                    )
                )
                _release(element)
    return object_types, events


def read_ocel(
    path: str | os.PathLike[str],
    object_type: str,
    *,
    mode: OcelMode = "explode",
    assume_tz: str = "UTC",
) -> tuple[pl.DataFrame, ImportReport]:
    """Flatten an OCEL 2.0 log (JSON or XML) on one object type.

    ``explode``: one row per event × related object of ``object_type``, the object being
    the case (pm4py's flattening). ``first``: one row per event, the case being its
    first related object of that type. Events with no such object are dropped and
    reported; in ``first`` mode events with several are reported too.

    Raises:
        ValidationFailed: the file is not OCEL 2.0 or has no object of that type.
    """
    source = Path(path)
    is_json = source.suffix.lower() in {".json", ".jsonocel"} or _looks_json(source)
    report = ImportReport(source=source.name, format="ocel-json" if is_json else "ocel-xml")
    try:
        object_types, events = _ocel_json(source) if is_json else _ocel_xml(source)
    except (OSError, ValueError, KeyError, TypeError, etree.XMLSyntaxError) as exc:
        raise _invalid(
            f"cannot read {source.name} as OCEL 2.0: {exc}",
            f"无法读取 OCEL 2.0 文件 {source.name}：{exc}",
        ) from exc
    known = sorted(set(object_types.values()))
    if object_type not in known:
        raise _invalid(
            f"{source.name} has no objects of type {object_type!r} (types: {', '.join(known)})",
            f"{source.name} 中没有类型为 {object_type!r} 的对象",
            object_types=known,
        )
    rows: list[dict[str, Any]] = []
    attr_keys: dict[str, None] = {}
    read = 0
    several = 0
    for number, event in enumerate(events, start=1):
        read += 1
        mine = [o for o in event.objects if object_types.get(o) == object_type]
        if not mine:
            report.drop(f"no related {object_type} object", number, out_of_scope=True)
            continue
        if mode == "first":
            several += len(mine) > 1
            mine = mine[:1]
        for key in event.attributes:
            attr_keys.setdefault(key, None)
        for obj in mine:
            rows.append(
                {
                    CASE_ID: obj,
                    ACTIVITY: event.type,
                    TIMESTAMP: event.time,
                    "ocel:eid": event.id,
                    **{k: _text(v) for k, v in event.attributes.items()},
                }
            )
    if several:
        report.notes.append(
            f"{several} events relate to several {object_type} objects; the first was kept"
        )
    schema = {CASE_ID: pl.String, ACTIVITY: pl.String, TIMESTAMP: pl.String, "ocel:eid": pl.String}
    schema.update({k: pl.String for k in attr_keys if k not in schema})
    frame = pl.DataFrame(rows, schema=schema)
    out = _finish(frame, report, ColumnMap(), assume_tz=assume_tz)
    # Rows were multiplied or dropped before _finish; report in events, not rows.
    report.rows_read = read
    return out, report


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _looks_json(path: Path) -> bool:
    with _open_maybe_gzip(path) as stream:
        head = stream.read(64).lstrip()
    return head.startswith((b"{", b"["))


# --------------------------------------------------------------------------- dispatch


def detect_format(path: str | os.PathLike[str]) -> LogFormat:
    name = Path(path).name.lower()
    for suffix, fmt in (
        (".jsonocel", "ocel-json"),
        (".xmlocel", "ocel-xml"),
        (".xes.gz", "xes"),
        (".xes", "xes"),
        (".parquet", "parquet"),
        (".csv.gz", "csv"),
        (".csv", "csv"),
    ):
        if name.endswith(suffix):
            return fmt  # type: ignore[return-value]
    raise _invalid(
        f"cannot tell the format of {Path(path).name}; name it .csv, .parquet, .xes(.gz), "
        ".jsonocel or .xmlocel, or pass the format",
        f"无法识别 {Path(path).name} 的格式，请使用 .csv/.parquet/.xes/.jsonocel/.xmlocel 扩展名",
    )


def read_log(
    path: str | os.PathLike[str],
    *,
    fmt: LogFormat | None = None,
    columns: ColumnMap | None = None,
    assume_tz: str = "UTC",
    object_type: str | None = None,
    ocel_mode: OcelMode = "explode",
    separator: str | None = None,
    encoding: str | None = None,
    timestamps: TimestampFormat | None = None,
) -> tuple[pl.DataFrame, ImportReport]:
    """Read any supported log; the format comes from the file name unless given.

    ``separator`` and ``encoding`` apply to CSV (detected when None); ``timestamps`` forces
    the format of text timestamp columns (detected per column when None).

    Raises:
        ValidationFailed: unknown format, unreadable file, missing columns, or an OCEL
            file without ``object_type``.
    """
    kind = fmt or detect_format(path)
    if kind == "csv":
        return read_csv(
            path,
            columns,
            assume_tz=assume_tz,
            separator=separator,
            encoding=encoding,
            timestamps=timestamps,
        )
    if kind == "parquet":
        return read_parquet(path, columns, assume_tz=assume_tz, timestamps=timestamps)
    if kind == "xes":
        return read_xes(path, columns, assume_tz=assume_tz, timestamps=timestamps)
    if object_type is None:
        raise _invalid(
            "an OCEL log needs an object type to use as the case (e.g. --object-type Invoice)",
            "OCEL 日志需指定作为案例的对象类型（如 --object-type Invoice）",
        )
    return read_ocel(path, object_type, mode=ocel_mode, assume_tz=assume_tz)
