"""Personal data at rest: no plain mobile number or ID number in any text column.

The demo city (cases, ratings, complaints, surveys) is seeded through the services, then every
text and JSON column of every table is read raw, under the ORM, and searched. Migration 0015
encrypts the feedback rows that earlier versions stored in plain text.
"""

from __future__ import annotations

import json
import re
import secrets
from datetime import date

import sqlalchemy as sa
from rich.console import Console

from onewindow.catalog import service as catalog
from onewindow.demo.feedback_demo import seed_feedback
from onewindow.demo.generator import DemoOptions, seed_demo
from onewindow.feedback import repository as feedback_repo
from onewindow.feedback import service as feedback
from onewindow.feedback.schemas import TicketIn
from onewindow.intake import service as intake
from onewindow.intake.identifiers import citizen_id_check_char
from onewindow.intake.schemas import ApplicantIn, Upload
from onewindow.kit.platform import Platform
from onewindow.security import crypto
from onewindow.security import service as security
from onewindow.workflow import flows

from .helpers import COMPANY

PHONE = "13812345678"

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


def test_rotation_reencrypts_feedback_rows_and_sealed_forms(city: Platform) -> None:
    provider = crypto.EnvelopeKeyProvider.create(secrets.token_bytes(32))
    with crypto.using(crypto.Keyring(provider)):
        body = TicketIn(
            text="鼓楼区五四路路口的红绿灯坏了好几天，请尽快处理",
            channel="hotline",
            contact_phone=PHONE,
            contact_name="王先生",
            district="鼓楼区",
        )
        number = city.run(
            lambda ctx: (
                feedback.submit_ticket(
                    ctx, body, actor=feedback.Actor.of_staff(catalog.get_staff(ctx, "center_qian"))
                ).number
            )
        )
        with city.unit_of_work() as ctx:
            service = catalog.get_service(ctx, "SAMR-001")
            form = {
                f["name"]: (f.get("options") or ["闽江贸易"])[0]
                for f in service.form_fields
                if f.get("required")
            }
            form["registered_capital"] = 100
            form["registered_address"] = f"福州市鼓楼区五四路1号 联系电话{PHONE}"
            uploads = [
                Upload(m.code, f"{m.code}.pdf", b"%PDF-1.4\n" + m.code.encode())
                for m in service.materials
                if m.required
            ]
            sub = flows.submit_application(
                ctx,
                "SAMR-001",
                ApplicantIn("business", COMPANY, "闽江贸易有限公司"),
                channel="window",
                form=form,
                uploads=uploads,
                actor="center_qian",
            )
            application_id = sub.application.id
        provider.rotate()
        assert security.reencrypt_all(city, "k2", batch=1) >= 3  # applicant, form, ticket
        with city.engine.connect() as conn:
            phone, name = conn.execute(
                sa.text("SELECT contact_phone, contact_name FROM feedback_tickets")
            ).one()
            raw_form = conn.execute(sa.text("SELECT form_data FROM applications")).scalar_one()
        assert phone.startswith("k2$")
        assert name.startswith("k2$")
        assert '"$sealed": "k2$' in (
            raw_form if isinstance(raw_form, str) else json.dumps(raw_form)
        )
        assert PHONE not in str(raw_form)
        assert security.reencrypt_all(city, "k2", batch=1) == 0  # nothing left under k1
        with city.unit_of_work() as ctx:
            (ticket,) = feedback_repo.tickets(ctx.session, contact_phone=PHONE)
            assert (ticket.number, ticket.contact_name) == (number, "王先生")
            application = intake.get_application(ctx, application_id)
            assert application.form_data["registered_address"].endswith(PHONE)
