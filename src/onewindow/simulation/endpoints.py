"""Simulation routes only: what-if runs, published redesigns and their measured effect."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from onewindow.catalog import service as catalog
from onewindow.kit.http import CtxDep
from onewindow.security.authz import require
from onewindow.security.schemas import Principal
from onewindow.simulation import publish
from onewindow.simulation.engine import replicate
from onewindow.simulation.model import parse_model
from onewindow.simulation.params import parse_params

router = APIRouter(tags=["simulation"])

MAX_CASES = 20_000  # a request's simulation stays well under a few seconds per run


class WhatIfIn(BaseModel):
    bpmn: str = Field(min_length=1, description="BPMN 2.0 XML")
    params: dict[str, Any] = Field(description="the parameters file's content")
    cases: int = Field(default=1000, ge=1, le=MAX_CASES)
    replications: int = Field(default=5, ge=1, le=30)
    seed: int = 0
    called: dict[str, str] = Field(
        default_factory=dict,
        description="BPMN of processes its call activities call, by process id; others are "
        "taken from the catalogue (latest version)",
    )


@router.post("/simulation/run")
def run_what_if(
    body: WhatIfIn, ctx: CtxDep, _: Annotated[Principal, require("simulation.run")]
) -> dict[str, Any]:
    """Simulate a (hand-edited) BPMN with parameters: KPIs with 95 % confidence intervals."""
    xml = body.bpmn.encode("utf-8")
    called = {key: text.encode("utf-8") for key, text in body.called.items()}
    for key in catalog.bpmn_keys(xml)[1]:
        if key not in called:
            versions = catalog.process_versions(ctx, key)
            if versions:
                called[key] = versions[-1].bpmn_xml.encode("utf-8")
    model = parse_model(xml, source="request", called=called)
    params = parse_params(body.params, source="params")
    reps = replicate(
        model, params, cases=body.cases, replications=body.replications, seed=body.seed
    )
    return {
        "kpis": reps.summary(),
        "events": reps.events,
        "seconds": reps.seconds,
        "warnings": model.warnings,
    }


@router.get("/simulation/predictions")
def predictions(
    ctx: CtxDep,
    _: Annotated[Principal, require("simulation.read")],
    service: str | None = None,
) -> list[dict[str, Any]]:
    """Published redesigns, each with its prediction next to the measured effect."""
    return [publish.prediction_summary(p) for p in publish.list_predictions(ctx, service)]


@router.get("/simulation/predictions/{prediction_id}")
def prediction(
    prediction_id: int, ctx: CtxDep, _: Annotated[Principal, require("simulation.read")]
) -> dict[str, Any]:
    found = publish.get_prediction(ctx, prediction_id)
    return {**publish.prediction_summary(found), "measured": found.measured}


@router.post("/simulation/predictions/{prediction_id}/measure")
def measure(
    prediction_id: int, ctx: CtxDep, _: Annotated[Principal, require("simulation.publish")]
) -> dict[str, Any]:
    """Run the before/after comparison now (the worker does it when the weeks are over)."""
    return publish.prediction_summary(publish.measure(ctx, prediction_id))
