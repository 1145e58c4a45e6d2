"""The simulation routes: what-if runs for analysts, clear errors for bad input."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from onewindow.simulation.endpoints import router
from tests.conftest import login

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "onewindow" / "simulation" / "examples"


def _mount(client: Any) -> None:
    if not any(getattr(r, "path", "").startswith("/api/v1/simulation") for r in client.app.routes):
        client.app.include_router(router, prefix="/api/v1")


def test_what_if_run_and_errors(client: Any) -> None:
    _mount(client)
    body = {
        "bpmn": (EXAMPLES / "business_licence_legacy.bpmn").read_text("utf-8"),
        "params": yaml.safe_load((EXAMPLES / "business_licence_legacy.yaml").read_text("utf-8")),
        "cases": 200,
        "replications": 3,
    }
    assert client.post("/api/v1/simulation/run", json=body).status_code == 401
    headers = login(client, "center_li")  # analyst
    r = client.post("/api/v1/simulation/run", json=body, headers=headers)
    assert r.status_code == 200, r.text
    kpis = r.json()["kpis"]
    assert kpis["cycle_median_h"]["ci_low"] <= kpis["cycle_median_h"]["ci_high"]

    bad = {**body, "params": {**body["params"], "gateways": {"Flow_06": 0.7, "Flow_08": 0.5}}}
    r = client.post("/api/v1/simulation/run", json=bad, headers=headers)
    assert r.status_code == 422
    assert "Gateway_samr_decision" in r.json()["title"]

    assert client.get("/api/v1/simulation/predictions", headers=headers).json() == []
    r = client.post("/api/v1/simulation/predictions/99/measure", headers=headers)
    assert r.status_code == 404


def test_a_clerk_may_not_run_simulations(client: Any) -> None:
    _mount(client)
    headers = login(client, "center_qian")
    r = client.get("/api/v1/simulation/predictions", headers=headers)
    assert r.status_code == 403


FIXTURES = Path(__file__).resolve().parents[1] / "unit" / "fixtures" / "sim_constructs"


def test_what_if_run_inlines_called_processes_and_refuses_an_unknown_one(client: Any) -> None:
    _mount(client)
    headers = login(client, "center_li")
    body: dict[str, Any] = {
        "bpmn": (FIXTURES / "call_parent.bpmn").read_text("utf-8"),
        "params": {
            "arrivals": {"distribution": "exponential", "mean_minutes": 60},
            "resources": {"Lane_office": 2},
            "activities": {"Task_accept": 10, "现场核查": 30},
        },
        "cases": 100,
        "replications": 2,
    }
    r = client.post("/api/v1/simulation/run", json=body, headers=headers)
    assert r.status_code == 422
    assert "Call_first: call activity to process 'shared_check'" in r.json()["title"]
    body["called"] = {"shared_check": (FIXTURES / "shared_check.bpmn").read_text("utf-8")}
    r = client.post("/api/v1/simulation/run", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["kpis"]["completed"]["mean"] == 100


def test_what_if_run_takes_a_called_process_from_the_catalogue(client: Any) -> None:
    _mount(client)
    headers = login(client, "center_li")
    city = Path(__file__).resolve().parents[2] / "src" / "onewindow" / "demo" / "city"
    xml = (city / "services" / "fire_inspection.bpmn").read_text("utf-8")
    from onewindow.simulation.model import parse_model

    model = parse_model(
        xml.encode("utf-8"),
        called={"site_inspection": (city / "processes" / "site_inspection.bpmn").read_bytes()},
    )
    humans = [t.id for t in model.tasks if not t.automated]
    body = {
        "bpmn": xml,
        "params": {
            "arrivals": {"distribution": "exponential", "mean_minutes": 120},
            "resources": {lane: 2 for lane in model.lanes if "applicant" not in lane.lower()},
            "activities": {t: 30 for t in humans},
        },
        "cases": 100,
        "replications": 2,
    }
    assert "Call_site_inspection/Task_site_inspection" in humans
    r = client.post("/api/v1/simulation/run", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.json()["kpis"]["completed"]["mean"] == 100
