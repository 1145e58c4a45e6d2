"""Mining over our own event log: the API routes (analyst only) and the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from onewindow.demo.generator import DemoOptions, seed_demo
from onewindow.eventlog import service as eventlog
from onewindow.kit.platform import Platform
from onewindow.mining import service as mining
from tests.conftest import TEST_DATA, login

OPTS = DemoOptions(weeks=1, seed=11, cases_per_day=5, start=date(2026, 3, 2))


@pytest.fixture
def history(platform: Platform) -> Platform:
    seed_demo(platform, OPTS, console=Console(quiet=True))
    return platform


@pytest.fixture
def api(history: Platform) -> Iterator[Any]:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from onewindow.api.app import create_app
    from onewindow.mining.endpoints import router

    app: FastAPI = create_app(history)
    if not any(getattr(r, "path", "").startswith("/api/v1/mining") for r in app.routes):
        app.include_router(router, prefix="/api/v1")
    with TestClient(app) as client:
        yield client


def test_own_log_analyses(history: Platform) -> None:
    with history.unit_of_work() as ctx:
        log = mining.own_log(ctx)
        report = mining.own_report(ctx)
        assert mining.in_person_activities(ctx) == ["Task_window_accept", "Task_window_issue"]
        assert log.height == eventlog.count(ctx)
    assert report.trips is not None
    assert report.trips.cases == report.cases
    assert report.sla is not None
    assert report.sla.cases > 0
    assert report.map.cases == report.cases


def test_routes_for_analysts_only(api: Any) -> None:
    login(api, "center_li")  # analyst
    for path in (
        "/api/v1/mining/process-map",
        "/api/v1/mining/variants?limit=5",
        "/api/v1/mining/bottlenecks",
        "/api/v1/mining/trips",
        "/api/v1/mining/rework",
        "/api/v1/mining/sla",
        "/api/v1/mining/conformance?service=SAMR-001",
        "/api/v1/mining/compare?split=2026-03-05T00:00:00%2B08:00",
    ):
        r = api.get(path)
        assert r.status_code == 200, (path, r.text)
    trips = api.get("/api/v1/mining/trips", params={"service": "SAMR-001"}).json()
    assert trips["activities"] == ["Task_window_accept", "Task_window_issue"]
    fitness = api.get("/api/v1/mining/conformance", params={"service": "SAMR-001"}).json()
    assert 0.5 < fitness["log_fitness"] <= 1.0
    page = api.get("/api/v1/mining/report", params={"service": "SAMR-001"})
    assert page.status_code == 200
    assert page.text.startswith("<!doctype html>")
    api.cookies.clear()
    login(api, "center_qian")  # clerk
    assert api.get("/api/v1/mining/process-map").status_code == 403


def test_cli_report_from_file(tmp_path: Path) -> None:
    from onewindow.cli.mining import mining_app

    log = TEST_DATA / "eventlogs"
    out = tmp_path / "wabo.html"
    result = CliRunner().invoke(
        mining_app,
        [
            "report",
            str(log / "wabo_receipt.xes.gz"),
            "--out",
            str(out),
            "--deadline-column",
            "case:deadline",
            "--group-by",
            "case:channel",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "<svg" in out.read_text(encoding="utf-8")
    result = CliRunner().invoke(mining_app, ["map", str(log / "running-example.xes")])
    assert result.exit_code == 0
    assert "register request" in result.output
    parquet = tmp_path / "o.parquet"
    result = CliRunner().invoke(
        mining_app,
        [
            "import",
            str(log / "ocel20_example.jsonocel"),
            "--object-type",
            "Invoice",
            "--out",
            str(parquet),
        ],
    )
    assert result.exit_code == 0
    assert parquet.exists()
    bad = CliRunner().invoke(mining_app, ["map", str(tmp_path / "nope.txt")])
    assert bad.exit_code == 2


def test_report_json_new_measures_and_filters(api: Any) -> None:
    import jsonschema_rs

    from onewindow.mining.schema import COMPARE_SCHEMA, REPORT_SCHEMA

    login(api, "center_li")
    r = api.get("/api/v1/mining/report.json")
    assert r.status_code == 200, r.text
    document = r.json()
    assert not list(jsonschema_rs.validator_for(REPORT_SCHEMA).iter_errors(document))
    assert document["trips"]["activities"] == ["Task_window_accept", "Task_window_issue"]
    assert document["sla"]["cases"] > 0
    one = api.get("/api/v1/mining/report.json", params={"service": "SAMR-001"}).json()
    assert 0 < one["cases"] < document["cases"]
    channel = document["variants"][0]
    assert channel["rank"] == 1
    for path in ("handoffs", "returns", "duplicate-entry", "queues", "ranked-bottlenecks"):
        r = api.get(f"/api/v1/mining/{path}")
        assert r.status_code == 200, (path, r.text)
    ranked = api.get("/api/v1/mining/ranked-bottlenecks", params={"top": 3}).json()
    assert len(ranked["bottlenecks"]) <= 3
    assert all("% of cycle time" in b["sentence"] for b in ranked["bottlenecks"])
    first = api.get("/api/v1/mining/variants", params={"variant": "1"}).json()
    assert first["total"] == 1
    # filters: department, channel, attribute, case period
    dept = document["handoffs"][0]["from_department"] if document["handoffs"] else None
    if dept:
        narrowed = api.get("/api/v1/mining/process-map", params={"department": dept}).json()
        assert 0 < narrowed["cases"] <= document["cases"]
    online = api.get("/api/v1/mining/process-map", params={"channel": "nowhere"})
    assert online.status_code == 200
    assert online.json()["cases"] == 0
    bad = api.get("/api/v1/mining/process-map", params={"attr": "nokey"})
    assert bad.status_code == 422
    empty = api.get("/api/v1/mining/report.json", params={"channel": "nowhere"})
    assert empty.status_code == 422
    assert "no events match" in empty.text
    split = {"split": "2026-03-05T00:00:00+08:00"}
    compared = api.get("/api/v1/mining/compare", params=split).json()
    assert not list(jsonschema_rs.validator_for(COMPARE_SCHEMA).iter_errors(compared))
    page = api.get("/api/v1/mining/compare", params={**split, "format": "html"})
    assert page.status_code == 200
    assert page.text.startswith("<!doctype html>")
