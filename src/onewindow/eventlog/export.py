"""Write event rows as CSV, Parquet or XES so a log opens unchanged in process-mining tools.

Rows are mappings keyed by XES attribute names (``case:concept:name``, ``concept:name``,
``time:timestamp``, ``lifecycle:transition``, ``org:resource``, ``org:group``) plus any
other keys. ``case:``-prefixed keys describe the case, the rest describe the event.

Every writer puts events in the same canonical order: cases ordered by their earliest
event (ties: the case seen first in the input), events within a case by timestamp, ties
kept in input order. Tools that re-sort by (case, time) with a stable sort then see
exactly the traces the XES file holds. Files are written to a temporary name and moved
into place, so a failed export never leaves a truncated file behind.
"""

from __future__ import annotations

import gzip
import math
import os
import re
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Final, Literal, cast
from zoneinfo import ZoneInfo

import polars as pl
from lxml import etree

from onewindow.kit.errors import ValidationFailed

__all__ = [
    "CASE_ID",
    "ACTIVITY",
    "TIMESTAMP",
    "LIFECYCLE",
    "RESOURCE",
    "GROUP",
    "EventFormat",
    "EventRows",
    "write_csv",
    "write_events",
    "write_parquet",
    "write_xes",
]

CASE_ID: Final = "case:concept:name"
ACTIVITY: Final = "concept:name"
TIMESTAMP: Final = "time:timestamp"
LIFECYCLE: Final = "lifecycle:transition"
RESOURCE: Final = "org:resource"
GROUP: Final = "org:group"
STANDARD_COLUMNS: Final = (CASE_ID, ACTIVITY, TIMESTAMP, LIFECYCLE, RESOURCE, GROUP)
CASE_PREFIX: Final = "case:"

EventRows = Iterable[Mapping[str, Any]] | pl.DataFrame
EventFormat = Literal["csv", "parquet", "xes"]

XES_NAMESPACE: Final = "http://www.xes-standard.org/"
_XES_EXTENSIONS: Final = (
    ("Concept", "concept", "http://www.xes-standard.org/concept.xesext"),
    ("Time", "time", "http://www.xes-standard.org/time.xesext"),
    ("Lifecycle", "lifecycle", "http://www.xes-standard.org/lifecycle.xesext"),
    ("Organizational", "org", "http://www.xes-standard.org/org.xesext"),
)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
# Chars XML 1.0 forbids even as character references, so they cannot be escaped the
# XML way; they become a visible \uXXXX instead of failing the whole export.
_XML_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def _invalid(message: str, message_zh: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(
        message, message_zh=message_zh, code="eventlog.invalid_rows", details=details or None
    )


# --------------------------------------------------------------------------- rows


def _check_aware(value: datetime, key: str, index: int) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise _invalid(
            f"row {index}: {key} {value.isoformat()} has no time zone",
            f"第 {index} 行：{key} 的时间 {value.isoformat()} 缺少时区",
            row=index,
            key=key,
        )


def _prepare(rows: EventRows) -> tuple[list[dict[str, Any]], list[str]]:
    """Validate, copy and canonically order the rows; also return the column order."""
    if isinstance(rows, pl.DataFrame):
        declared = list(rows.columns)
        data = [dict(r) for r in rows.iter_rows(named=True)]
    else:
        declared = []
        data = [dict(r) for r in rows]

    seen: dict[str, None] = dict.fromkeys(declared)
    for index, row in enumerate(data):
        for key in (CASE_ID, ACTIVITY):
            value = row.get(key)
            if value is None:
                raise _invalid(
                    f"row {index}: {key} is missing", f"第 {index} 行：缺少 {key}", row=index
                )
            if not isinstance(value, str):
                row[key] = str(value)
        stamp = row.get(TIMESTAMP)
        if not isinstance(stamp, datetime):
            raise _invalid(
                f"row {index}: {TIMESTAMP} must be a timezone-aware datetime, got {stamp!r}",
                f"第 {index} 行：{TIMESTAMP} 应为带时区的时间，实际为 {stamp!r}",
                row=index,
            )
        for key, value in row.items():
            if not isinstance(key, str) or not key:
                raise _invalid(
                    f"row {index}: attribute names must be non-empty strings, got {key!r}",
                    f"第 {index} 行：属性名应为非空字符串，实际为 {key!r}",
                    row=index,
                )
            if isinstance(value, datetime):
                _check_aware(value, key, index)
            seen.setdefault(key, None)

    first_seen: dict[str, int] = {}
    earliest: dict[str, datetime] = {}
    for index, row in enumerate(data):
        case, stamp = row[CASE_ID], row[TIMESTAMP]
        first_seen.setdefault(case, index)
        if case not in earliest or stamp < earliest[case]:
            earliest[case] = stamp
    case_rank = {
        case: rank
        for rank, case in enumerate(sorted(first_seen, key=lambda c: (earliest[c], first_seen[c])))
    }
    # list.sort is stable: same-case events with equal timestamps keep input order.
    data.sort(key=lambda r: (case_rank[r[CASE_ID]], r[TIMESTAMP]))

    columns = [c for c in STANDARD_COLUMNS if c in seen or not data]
    columns += [c for c in seen if c not in STANDARD_COLUMNS]
    return data, columns


@contextmanager
def _atomic_path(path: Path) -> Iterator[Path]:
    # Not mkstemp: its 0600 mode would stick to the export instead of the usual umask.
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextmanager
def _open_for_write(path: Path) -> Iterator[IO[bytes]]:
    with _atomic_path(path) as tmp:
        if path.name.endswith(".gz"):
            # level 6: close to 9's size at a fraction of the time on large logs
            with gzip.open(tmp, "wb", compresslevel=6) as zipped:
                yield cast(IO[bytes], zipped)
        else:
            with tmp.open("wb") as plain:
                yield plain


# --------------------------------------------------------------------------- tables


def _iso(value: datetime) -> str:
    spec = "milliseconds" if value.microsecond % 1000 == 0 else "microseconds"
    return value.isoformat(timespec=spec)


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _series(name: str, values: list[Any], *, datetimes_as_text: bool) -> pl.Series:
    present = [v for v in values if v is not None]
    if not present:
        if name == TIMESTAMP and not datetimes_as_text:
            return pl.Series(name, values, dtype=pl.Datetime("us", "UTC"))
        return pl.Series(name, values, dtype=pl.String)
    if all(isinstance(v, bool) for v in present):
        return pl.Series(name, values, dtype=pl.Boolean)
    if all(_is_int(v) and _INT64_MIN <= v <= _INT64_MAX for v in present):
        return pl.Series(name, values, dtype=pl.Int64)
    if all(_is_int(v) or isinstance(v, float) for v in present):
        return pl.Series(name, [None if v is None else float(v) for v in values], pl.Float64)
    if all(isinstance(v, datetime) for v in present) and not datetimes_as_text:
        # Parquet stores instants; keep the zone name when all values share one so a
        # reader sees local office time, else fall back to UTC.
        zones = {v.tzinfo.key if isinstance(v.tzinfo, ZoneInfo) else None for v in present}
        zone = zones.pop() if len(zones) == 1 else None
        return pl.Series(name, values, dtype=pl.Datetime("us", zone or "UTC"))
    if all(isinstance(v, date) and not isinstance(v, datetime) for v in present):
        return pl.Series(name, values, dtype=pl.Date)
    return pl.Series(name, [_as_text(v) for v in values], dtype=pl.String)


def _frame(rows: EventRows, *, datetimes_as_text: bool) -> pl.DataFrame:
    data, columns = _prepare(rows)
    return pl.DataFrame(
        [_series(c, [r.get(c) for r in data], datetimes_as_text=datetimes_as_text) for c in columns]
    )


def write_csv(rows: EventRows, path: str | os.PathLike[str]) -> int:
    """Write UTF-8 CSV with a header; timestamps as ISO 8601 with their UTC offset.

    A path ending ``.gz`` is gzip-compressed. Returns the number of events written.

    Raises:
        ValidationFailed: a row lacks case, activity or an aware timestamp.
    """
    frame = _frame(rows, datetimes_as_text=True)
    with _open_for_write(Path(path)) as out:
        frame.write_csv(out)
    return frame.height


def write_parquet(rows: EventRows, path: str | os.PathLike[str]) -> int:
    """Write Parquet; timestamps as instants (zone kept when all events share one).

    Returns the number of events written.

    Raises:
        ValidationFailed: a row lacks case, activity or an aware timestamp.
    """
    frame = _frame(rows, datetimes_as_text=False)
    target = Path(path)
    with _atomic_path(target) as tmp:
        frame.write_parquet(tmp)
    return frame.height


# --------------------------------------------------------------------------- XES


def _xml_safe(text: str) -> str:
    if _XML_FORBIDDEN.search(text) is None:
        return text
    return _XML_FORBIDDEN.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _xes_float(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    return repr(value)


def _xes_typed(value: Any) -> tuple[str, str]:
    """(XES element name, lexical value) for one attribute value."""
    if isinstance(value, bool):
        return "boolean", "true" if value else "false"
    if _is_int(value) and _INT64_MIN <= value <= _INT64_MAX:
        return "int", str(value)
    if isinstance(value, float):
        return "float", _xes_float(value)
    if isinstance(value, datetime):
        return "date", _iso(value)
    if isinstance(value, str):
        return "string", value
    return "string", _as_text(value) or ""


_GLOBAL_DEFAULTS: Final = {
    "string": "__INVALID__",
    "date": "1970-01-01T00:00:00.000+00:00",
    "int": "0",
    "float": "0.0",
    "boolean": "false",
}


def _attribute(tag: str, key: str, value: str) -> etree._Element:
    return etree.Element(tag, key=_xml_safe(key), value=_xml_safe(value))


def _common_keys(items: list[dict[str, tuple[str, str]]]) -> dict[str, str]:
    """Keys every item has with one XES type: these may be declared global."""
    if not items:
        return {}
    common = {k: t for k, (t, _) in items[0].items()}
    for item in items[1:]:
        common = {k: t for k, t in common.items() if k in item and item[k][0] == t}
    return common


def _global_element(scope: str, keys: dict[str, str]) -> etree._Element:
    element = etree.Element("global", scope=scope)
    for key, xes_type in keys.items():
        default = "complete" if key == LIFECYCLE else _GLOBAL_DEFAULTS[xes_type]
        element.append(_attribute(xes_type, key, default))
    etree.indent(element, space="  ", level=1)
    return element


def write_xes(rows: EventRows, path: str | os.PathLike[str]) -> int:
    """Write an IEEE 1849-2016 XES log, streamed so no DOM of the whole log is built.

    One ``<trace>`` per case; ``case:``-prefixed keys become trace attributes with the
    prefix dropped (``case:concept:name`` is the trace's ``concept:name``), taken from
    the case's first event that has them. Values are typed: bool → boolean, int → int,
    float → float, aware datetime → date (ISO 8601 with offset), anything else →
    string. ``None`` values are left out. Attributes present with one type on every
    trace or event are declared in ``<global>``. A path ending ``.gz`` is gzipped.
    Returns the number of events written.

    Raises:
        ValidationFailed: a row lacks case, activity or an aware timestamp.
    """
    data, _ = _prepare(rows)

    traces: dict[str, dict[str, tuple[str, str]]] = {}
    events: list[tuple[str, dict[str, tuple[str, str]]]] = []
    for row in data:
        case = row[CASE_ID]
        trace_attrs = traces.setdefault(case, {})
        event_attrs: dict[str, tuple[str, str]] = {}
        for key, value in row.items():
            if value is None:
                continue
            if key.startswith(CASE_PREFIX):
                trace_attrs.setdefault(key[len(CASE_PREFIX) :], _xes_typed(value))
            else:
                event_attrs[key] = _xes_typed(value)
        events.append((case, event_attrs))

    trace_globals = _common_keys(list(traces.values())) or {"concept:name": "string"}
    event_globals = _common_keys([attrs for _, attrs in events]) or {
        ACTIVITY: "string",
        TIMESTAMP: "date",
    }

    target = Path(path)
    with _open_for_write(target) as out, etree.xmlfile(out, encoding="utf-8") as xf:
        xf.write_declaration()
        # Children are written without a namespace inside the root's default namespace,
        # so they parse as XES elements without repeating xmlns on each one.
        log_attrs = {"xes.version": "1849-2016"}
        with xf.element(f"{{{XES_NAMESPACE}}}log", log_attrs, nsmap={None: XES_NAMESPACE}):
            for name, prefix, uri in _XES_EXTENSIONS:
                xf.write("\n  ")
                xf.write(etree.Element("extension", name=name, prefix=prefix, uri=uri))
            for scope, keys in (("trace", trace_globals), ("event", event_globals)):
                xf.write("\n  ")
                xf.write(_global_element(scope, keys))
            classifiers = [("Activity", ACTIVITY)]
            if event_globals.get(LIFECYCLE) == "string":
                classifiers.append(("Activity and lifecycle", f"{ACTIVITY} {LIFECYCLE}"))
            for name, classifier_keys in classifiers:
                xf.write("\n  ")
                xf.write(etree.Element("classifier", name=name, keys=classifier_keys))
            _write_traces(xf, traces, events)
            xf.write("\n")
    return len(events)


def _write_traces(
    xf: Any,
    traces: dict[str, dict[str, tuple[str, str]]],
    events: list[tuple[str, dict[str, tuple[str, str]]]],
) -> None:
    position = 0
    for case, trace_attrs in traces.items():
        xf.write("\n  ")
        with xf.element("trace"):
            for key, (xes_type, value) in trace_attrs.items():
                xf.write("\n    ")
                xf.write(_attribute(xes_type, key, value))
            # events are grouped by case already, in the same case order as traces
            while position < len(events) and events[position][0] == case:
                event = etree.Element("event")
                event.text = "\n      "
                child = None
                for key, (xes_type, value) in events[position][1].items():
                    child = etree.SubElement(
                        event, xes_type, key=_xml_safe(key), value=_xml_safe(value)
                    )
                    child.tail = "\n      "
                if child is not None:
                    child.tail = "\n    "
                xf.write("\n    ")
                xf.write(event)
                position += 1
            xf.write("\n  ")


# --------------------------------------------------------------------------- dispatch

_WRITERS: Final[dict[str, Callable[[EventRows, str | os.PathLike[str]], int]]] = {
    "csv": write_csv,
    "parquet": write_parquet,
    "xes": write_xes,
}


def write_events(rows: EventRows, path: str | os.PathLike[str], fmt: str) -> int:
    """Write ``rows`` in ``fmt`` (``csv``, ``parquet`` or ``xes``; case-insensitive).

    Raises:
        ValidationFailed: code ``eventlog.unsupported_format`` for any other format,
            or the chosen writer's row errors.
    """
    writer = _WRITERS.get(fmt.strip().lower())
    if writer is None:
        supported = ", ".join(_WRITERS)
        raise ValidationFailed(
            f"unsupported event-log format {fmt!r}; choose one of {supported}",
            message_zh=f"不支持的事件日志格式 {fmt!r}，可选：{supported}",
            code="eventlog.unsupported_format",
            details={"format": fmt, "supported": list(_WRITERS)},
        )
    return writer(rows, path)
