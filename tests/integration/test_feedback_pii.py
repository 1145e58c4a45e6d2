"""Personal data at rest: no plain mobile number or ID number in any text column.

The demo city (cases, ratings, complaints, surveys) is seeded through the services, then every
text and JSON column of every table is read raw, under the ORM, and searched. Migration 0015
encrypts the feedback rows that earlier versions stored in plain text.
"""

from __future__ import annotations

import json
import re
from datetime import date

import sqlalchemy as sa
from rich.console import Console

from onewindow.demo.feedback_demo import seed_feedback
from onewindow.demo.generator import DemoOptions, seed_demo
from onewindow.intake.identifiers import citizen_id_check_char
from onewindow.kit.platform import Platform

MOBILE = re.compile(r"(?<![0-9A-Za-z])1[3-9]\d{9}(?![0-9A-Za-z])")
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def _plain_identifiers(text: str) -> list[str]:
    found = MOBILE.findall(text)
    found += [m for m in ID_NUMBER.findall(text) if citizen_id_check_char(m[:17]) == m[17].upper()]
    return found


def _text_columns(engine: sa.Engine) -> dict[str, list[str]]:
    meta = sa.MetaData()
    meta.reflect(engine)
    out: dict[str, list[str]] = {}
    for table in meta.sorted_tables:
        cols = [
            c.name
            for c in table.columns
            if isinstance(c.type, sa.String | sa.Text | sa.JSON) or "JSON" in str(c.type)
        ]
        if cols and table.name != "alembic_version":
            out[table.name] = cols
    return out


def test_no_plain_phone_or_id_number_in_any_text_column(platform: Platform) -> None:
    seed_demo(
        platform,
        DemoOptions(weeks=1, seed=5, cases_per_day=12, start=date(2026, 3, 2)),
        console=Console(quiet=True),
    )
    summary = seed_feedback(platform, seed=7, console=Console(quiet=True))
    assert summary.live_tickets
    assert summary.ratings
    engine = platform.engine
    hits: dict[str, set[str]] = {}
    with engine.connect() as conn:
        for table, cols in _text_columns(engine).items():
            quoted = ", ".join(f'"{c}"' for c in cols)
            for row in conn.execute(sa.text(f'SELECT {quoted} FROM "{table}"')):  # noqa: S608
                for name, value in zip(cols, row, strict=True):
                    if value is None:
                        continue
                    text = value if isinstance(value, str) else json.dumps(value)
                    for found in _plain_identifiers(text):
                        hits.setdefault(f"{table}.{name}", set()).add(found)
    assert not hits, sorted(hits)
