"""After a fuzzing run of text into the API, every JSON column of every table still stores
and queries on PostgreSQL (a single ``\\u0000`` once broke ``form_data->>'...'`` for the
whole table: "unsupported Unicode escape sequence")."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import JSON, text

from onewindow.kit.db import Base
from onewindow.kit.models import import_all_models
from onewindow.kit.platform import Platform
from onewindow.kit.text import forbidden_character
from tests.conftest import PG_URL

from .test_api_support import FORM, application_fields, material_files, staff, task_id

pytestmark = pytest.mark.skipif(not PG_URL, reason="the JSON operators are PostgreSQL's")

HOSTILE = st.sampled_from(
    ["\x00", "a\x00b", "\u0000\u0000", "\x1b[31mred", "\x7f", "\u0085", "\ufffe", "\x08", "\t\n"]
)
TEXTS = st.one_of(
    st.text(max_size=20), HOSTILE, st.tuples(st.text(max_size=5), HOSTILE).map("".join)
)


def json_columns() -> list[tuple[str, str]]:
    import_all_models()
    return [
        (table.name, column.name)
        for table in Base.metadata.sorted_tables
        for column in table.columns
        # JSON itself, or a JSON column with sealed values (SealedJSON)
        if isinstance(column.type, JSON)
        or isinstance(getattr(column.type, "impl_instance", None), JSON)
    ]


def test_every_json_column_queries_after_fuzzing(client: TestClient, city: Platform) -> None:
    clerk = staff(client, "center_qian")
    answers: list[int] = []

    @settings(
        max_examples=25, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    @given(name=TEXTS, address=TEXTS, note=TEXTS)
    def fuzz(name: str, address: str, note: str) -> None:
        # a free-text field (经营范围 is a list of choices now)
        form = {**FORM, "registered_address": address or "x"}
        r = clerk.post(
            "/applications",
            data=application_fields(applicant_name=name or "x", form=json.dumps(form)),
            files=material_files(),
        )
        answers.append(r.status_code)
        assert r.status_code < 500, r.text
        dirty = any(forbidden_character(t) for t in (name, address))
        if dirty or r.status_code != 201:
            assert r.status_code == 422, r.text
            return
        task = task_id(clerk, r.json()["number"], "Task_window_accept")
        data: dict[str, Any] = {"decision": "approve", "materials_complete": True, "note": note}
        done = clerk.post(f"/tasks/{task}/complete", json={"data": data})
        answers.append(done.status_code)
        expected = 422 if forbidden_character(note) else 200
        assert done.status_code == expected, done.text

    fuzz()
    assert 201 in answers
    assert 422 in answers
    columns = json_columns()
    assert ("applications", "form_data") in columns
    stored: dict[tuple[str, str], int] = {}
    with city.engine.connect() as db:
        for table, column in columns:
            # json -> jsonb checks every escape; ->> and the text cast read every value
            stored[(table, column)] = db.execute(
                text(
                    f'SELECT count(*) FROM "{table}" '  # noqa: S608 - names from our metadata
                    f'WHERE "{column}" IS NOT NULL AND length(("{column}")::jsonb::text) >= 0'
                )
            ).scalar_one()
        names = (
            db.execute(text("SELECT form_data->>'registered_address' FROM applications"))
            .scalars()
            .all()
        )
    assert stored[("applications", "form_data")] == len(names) > 0
    assert stored[("tasks", "data")] > 0
    assert not [n for n in names if n is None or forbidden_character(n)]
