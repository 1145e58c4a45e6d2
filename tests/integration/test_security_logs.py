"""A full demo run, then sign-ins and one-time codes through the app, with every logger at
DEBUG: no citizen ID, phone or password appears in the logs. The demo's decisions are all in
the ledger, and it verifies."""

from __future__ import annotations

import logging
from datetime import date

import pytest
from fastapi.testclient import TestClient
from rich.console import Console
from sqlalchemy import select

from onewindow.api.app import create_app
from onewindow.demo.generator import DemoOptions, seed_demo
from onewindow.intake.models import Applicant
from onewindow.kit.platform import Platform
from onewindow.kit.settings import Settings
from onewindow.security import ledger, masking

OPTS = DemoOptions(weeks=1, seed=11, cases_per_day=5, start=date(2026, 3, 2))


def test_logs_of_a_demo_run_hold_no_personal_data(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    masking.install_log_redaction()
    platform = Platform.create(settings)
    with caplog.at_level(logging.DEBUG):
        summary = seed_demo(platform, OPTS, console=Console(quiet=True))
        with TestClient(create_app(platform)) as client:
            with platform.unit_of_work() as ctx:
                people = ctx.session.scalars(select(Applicant)).all()
                secrets = {a.id_number for a in people} | {a.phone for a in people if a.phone}
                phones = sorted(a.phone for a in people if a.phone and len(a.phone) == 11)
            for phone in phones[:3]:
                client.post("/api/v1/auth/code", json={"phone": phone})
            client.post("/api/v1/auth/login", json={"username": "center_qian", "password": "demo"})
            logging.getLogger("onewindow.test").warning(
                "looked up %s with password=%s", phones[0], "demo-secret"
            )
    assert summary.cases > 10
    assert caplog.records, "nothing was logged: the scan would prove nothing"
    leaked = [s for s in secrets if s and s in caplog.text]
    assert not leaked, leaked[:5]
    assert "demo-secret" not in caplog.text
    with platform.unit_of_work() as ctx:
        kinds = [e.kind for e in ledger.entries(ctx.session)]
        assert kinds.count("task_decided") >= summary.cases
        assert ledger.verify_stored(ctx).ok
    platform.dispose()
