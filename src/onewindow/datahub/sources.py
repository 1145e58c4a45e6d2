"""Reading department sources: CSV (any common encoding and separator, see
:mod:`onewindow.kit.textfiles`), Excel (xlsx), or a SQL query.

Readers return every row before anything is applied, so a source that fails halfway
loses nothing and applies nothing. Structural problems are reported per row (1-based line
numbers as a spreadsheet shows them, the header being line 1).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from onewindow.kit.textfiles import UnreadableText, decode, sniff_separator


@dataclass
class SourceRows:
    columns: list[str]
    rows: list[tuple[int, dict[str, str | None]]]  # (line number, values by column)
    problems: list[dict[str, Any]] = field(default_factory=list)
    encoding: str | None = None


class SourceUnreadable(ValueError):
    """The source as a whole cannot be read (not a table, no header, broken file)."""


def read_csv(data: bytes) -> SourceRows:
    try:
        text, encoding = decode(data)
    except UnreadableText as exc:
        raise SourceUnreadable(str(exc)) from None
    separator = sniff_separator(text[:65536])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
    try:
        header = next(reader)
    except StopIteration:
        raise SourceUnreadable("the file is empty") from None
    except csv.Error as exc:
        raise SourceUnreadable(f"not a CSV file: {exc}") from None
    columns = [h.strip() for h in header]
    if not any(columns):
        raise SourceUnreadable("the first line has no column names")
    out = SourceRows(columns=columns, rows=[], encoding=encoding)
    line = 1
    try:
        for values in reader:
            line = reader.line_num
            if not values or all(not v.strip() for v in values):
                continue
            if len(values) != len(columns):
                out.problems.append(
                    {
                        "line": line,
                        "field": None,
                        "rule": "structure",
                        "reason": "ragged_row",
                        "message": f"{len(values)} values for {len(columns)} columns",
                    }
                )
                continue
            out.rows.append((line, dict(zip(columns, (v or None for v in values), strict=True))))
    except csv.Error as exc:
        raise SourceUnreadable(f"broken CSV after line {line}: {exc}") from None
    return out


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 13800138000 as a float
    text = str(value)
    return text if text.strip() else None


def read_xlsx(data: bytes, sheet: str | None = None) -> SourceRows:
    from openpyxl import load_workbook  # type: ignore[import-untyped,unused-ignore]

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a file that is not xlsx
        raise SourceUnreadable(f"not an Excel .xlsx file: {exc}") from None
    try:
        ws = book[sheet] if sheet else book.worksheets[0]
        rows = ws.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise SourceUnreadable("the sheet is empty")
        columns = [str(h).strip() if h is not None else "" for h in header]
        while columns and not columns[-1]:
            columns.pop()
        out = SourceRows(columns=columns, rows=[], encoding=None)
        for line, values in enumerate(rows, start=2):
            cells = [_cell(v) for v in values]
            extra = [c for c in cells[len(columns) :] if c is not None]
            if all(c is None for c in cells):
                continue
            if extra:
                out.problems.append(
                    {
                        "line": line,
                        "field": None,
                        "rule": "structure",
                        "reason": "ragged_row",
                        "message": f"values beyond the {len(columns)} named columns",
                    }
                )
                continue
            cells += [None] * (len(columns) - len(cells))
            out.rows.append((line, dict(zip(columns, cells[: len(columns)], strict=True))))
        return out
    finally:
        book.close()


def read_sql(url: str, query: str) -> SourceRows:
    """Rows of a read-only query against another database (a department's own system)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            result = conn.execute(text(query))
            columns = [str(c) for c in result.keys()]
            rows = [
                (n, {c: _cell(v) for c, v in zip(columns, values, strict=True)})
                for n, values in enumerate(result, start=1)
            ]
    except Exception as exc:  # any driver error: the load is refused whole
        raise SourceUnreadable(f"the query failed: {type(exc).__name__}: {exc}") from None
    finally:
        engine.dispose()
    return SourceRows(columns=columns, rows=rows)
