"""Publish and prove: the demo's improvement loop produces a prediction and a measured effect."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from rich.console import Console

from onewindow.catalog import service as catalog
from onewindow.demo.loop_demo import LoopOptions, run_improvement_loop
from onewindow.kit.platform import Platform
from onewindow.simulation import publish

OPTS = LoopOptions(
    weeks_before=2,
    weeks_after=2,
    drain_weeks=1,
    mean_gap_minutes=100,
    replications=3,
    sim_cases=300,
    start=datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")),
)


def test_the_loop_publishes_a_redesign_and_measures_it(city: Platform) -> None:
    result = run_improvement_loop(city, seed=3, console=Console(quiet=True), options=OPTS)
    assert result.cases_before > 15
    assert result.cases_after > 15
    assert result.proposal
    with city.unit_of_work() as ctx:
        prediction = publish.get_prediction(ctx, result.prediction_id)
        service = catalog.get_service(ctx, "SAMR-001")
        assert service.process_definition_id == prediction.to_process_id
        versions = catalog.process_versions(ctx, "business_licence")
        assert len(versions) >= 3  # demo catalogue, legacy, redesign
        assert prediction.measured is not None
        assert publish.due_for_measurement(ctx) == []
    kpis = {row["kpi"]: row for row in result.summary["kpis"]}
    cycle = kpis["cycle_median_h"]
    assert cycle["predicted_change"] is not None
    assert cycle["measured_change"] is not None
    assert cycle["measured_before"] > 0
    assert cycle["measured_after"] > 0
    assert kpis["trips_per_case"]["measured_after"] is not None
    # The public board shows the prediction next to the measured effect, without sign-in.
    from fastapi.testclient import TestClient

    from onewindow.api.app import create_app

    with TestClient(create_app(city)) as client:
        page = client.get("/board")
    assert page.status_code == 200
    assert "流程优化：预测与实测" in page.text
    assert f"{cycle['measured_change'] * 100:+.0f}%" in page.text


def test_the_demo_loops_fitted_baseline_passes_its_validation(city: Platform) -> None:
    """The demo's own world (4 weeks, an application every 40 working minutes, seed 42):
    returns counted once, resubmissions that pass, cycle times close to the city's."""
    opts = LoopOptions(
        weeks_after=1,
        drain_weeks=1,
        sim_cases=300,
        start=datetime(2026, 3, 2, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai")),
    )
    result = run_improvement_loop(city, seed=42, console=Console(quiet=True), options=opts)
    report = result.validation_report
    assert report["trustworthy"], result.validation
    checks = {c["kpi"]: c for c in report["checks"]}
    assert abs(checks["returns_per_case"]["error"]) <= 0.05
    assert abs(checks["cycle_p90_h"]["error"]) <= 0.10
    assert checks["cycle_median_h"]["ok"]
