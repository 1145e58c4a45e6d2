"""The fitted baseline of a log shaped like the platform's own passes its validation.

The platform writes a send-back notice (补正通知) carrying the ``activity_id`` of the
applicant task it opens, and a resubmitted application is usually complete. These tests
build such logs from known parameters (the legacy business-licence world of the demo
loop) and check that fitting and validation see through both.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from onewindow.kit.errors import ValidationFailed
from onewindow.simulation.engine import simulate
from onewindow.simulation.fit import fit_params, map_tasks
from onewindow.simulation.model import ProcessModel, parse_model
from onewindow.simulation.params import Distribution, SimParams, bind, load_params, parse_params
from onewindow.simulation.validate import log_kpis, validate_baseline

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "onewindow" / "simulation" / "examples"
APPLICANT = ("Task_applicant_supplement_accept", "Task_applicant_supplement_samr")
IN_PERSON = ["Task_window_accept", "Task_window_issue"]


def _model() -> ProcessModel:
    return parse_model((EXAMPLES / "business_licence_legacy.bpmn").read_bytes(), source="legacy")


def _world() -> SimParams:
    """The demo loop's legacy city: a resubmission always passes the check it failed."""
    params = load_params(EXAMPLES / "business_licence_legacy.yaml")
    params.gateways_on_repeat = {"Flow_03": 0.0, "Flow_06": 0.0, "Flow_08": 0.02}
    return params


def _platform_shaped(frame: pl.DataFrame) -> pl.DataFrame:
    """A simulated log as the platform writes it: the send-back notice carries the id of
    the applicant task it opens, and that task has a completion only (none while the
    applicant has not answered)."""
    previous = pl.col("activity_id").shift(1).over("case:concept:name")
    opened = (
        pl.when(previous == "Task_window_accept")
        .then(pl.lit(APPLICANT[0]))
        .when(previous == "Task_samr_review")
        .then(pl.lit(APPLICANT[1]))
    )
    notice = pl.col("concept:name") == "补正通知"
    applicant_start = pl.col("activity_id").is_in(APPLICANT) & (
        pl.col("lifecycle:transition") == "start"
    )
    shaped = frame.with_columns(
        pl.when(notice).then(opened).otherwise(pl.col("activity_id")).alias("activity_id")
    )
    return shaped.filter(~applicant_start)


def test_a_send_back_notice_is_not_the_applicant_task() -> None:
    model = _model()
    stamp = "2026-03-02T{}:00+08:00"
    log = pl.DataFrame(
        {
            "case:concept:name": ["c1"] * 6,
            "concept:name": [
                "提交申请",
                "窗口受理",
                "窗口受理",
                "补正通知",
                "补正受理材料",
                "办结",
            ],
            "time:timestamp": [stamp.format(t) for t in ("09:00", "09:00", "09:30", "09:30")]
            + ["2026-03-05T10:00:00+08:00", "2026-03-05T10:00:00+08:00"],
            "lifecycle:transition": ["complete", "start", "complete", "complete", "complete"]
            + ["complete"],
            "activity_id": [None, "Task_window_accept", "Task_window_accept"]
            + ["Task_applicant_supplement_accept", "Task_applicant_supplement_accept", None],
        }
    )
    mapped, _ = map_tasks(log, model)
    assert mapped["@task"].to_list() == [
        None,
        "Task_window_accept",
        "Task_window_accept",
        None,  # the notice opens the applicant task; it is not its completion
        "Task_applicant_supplement_accept",
        None,
    ]
    kpis = log_kpis(log, model, applicant_tasks=APPLICANT)
    assert kpis["returns_per_case"] == 1.0  # one return, not two


def test_the_engine_draws_repeat_passes_from_their_own_table() -> None:
    model = _model()
    always_once = _world()
    always_once.gateways = {"Flow_03": 0.5, "Flow_06": 0.0, "Flow_08": 0.0}
    memoryless = parse_params({**always_once.to_dict(), "gateways_on_repeat": {}})
    returns: dict[str, pl.DataFrame] = {}
    for name, params in (("once", always_once), ("memoryless", memoryless)):
        frame = simulate(model, params, cases=800, seed=3).frame()
        returns[name] = (
            frame.filter(pl.col("concept:name") == "补正通知").group_by("case:concept:name").len()
        )
    assert returns["once"]["len"].max() == 1
    assert returns["once"].height / 800 == pytest.approx(0.5, abs=0.06)
    # drawn afresh on every pass, some cases are sent back again and again
    assert returns["memoryless"]["len"].max() >= 3
    assert returns["memoryless"]["len"].sum() / 800 == pytest.approx(1.0, abs=0.15)


def test_fitting_counts_first_and_repeat_passes_apart_and_sees_pending_returns() -> None:
    model = _model()
    # applicants who take two weeks: the cases sent back in the log's last weeks are
    # still waiting for them when it ends
    slow = {"distribution": "lognormal", "mean_days": 14, "sd_days": 4}
    world = _world()
    world.applicant_response = Distribution.from_spec(slow, "applicant.response")
    run = simulate(model, world, cases=10_000, seed=11, until_minutes=56 * 1440)
    log = _platform_shaped(run.frame())
    fitted = fit_params(log, model, in_person=IN_PERSON, applicant_lanes=["申请人"])
    assert fitted.params.gateways["Flow_03"] == pytest.approx(0.35, abs=0.05)
    assert fitted.params.gateways["Flow_06"] == pytest.approx(0.20, abs=0.05)
    assert fitted.params.gateways_on_repeat["Flow_03"] == pytest.approx(0.0, abs=0.01)
    assert fitted.params.gateways_on_repeat["Flow_06"] == pytest.approx(0.0, abs=0.01)
    # the pending returns count: read from completions the window's share is far lower
    traces = (
        map_tasks(log, model)[0]
        .filter(pl.col("lifecycle:transition") == "complete")
        .group_by("case:concept:name")
        .agg(pl.col("@task"))["@task"]
        .to_list()
    )
    after = [t[t.index("Task_window_accept") + 1 :] for t in traces if "Task_window_accept" in t]
    first_checks = [rest for rest in after if rest]
    sent_back = sum(1 for rest in first_checks if rest[0] == APPLICANT[0])
    assert sent_back / len(first_checks) < 0.28


def test_the_fitted_baseline_of_a_platform_shaped_log_passes_validation() -> None:
    model = _model()
    world = _world()
    log = _platform_shaped(
        simulate(model, world, cases=240, seed=5, until_minutes=28 * 1440).frame()
    )
    fitted = fit_params(log, model, in_person=IN_PERSON, applicant_lanes=["申请人"])
    report = validate_baseline(log, model, fitted.params, replications=5, seed=1)
    assert report.trustworthy, report.text()
    checks = {c.kpi: c for c in report.checks}
    assert abs(checks["returns_per_case"].error) <= 0.05
    assert abs(checks["cycle_p90_h"].error) <= 0.10
    assert report.unit.startswith("working hours")
    # the same log judged with the notices counted as returns: the doubled returns fail
    doubled = log.with_columns(
        pl.when(pl.col("concept:name") == "补正通知")
        .then(pl.lit("补正受理材料"))
        .otherwise(pl.col("concept:name"))
        .alias("concept:name")
    )
    wrong = validate_baseline(doubled, model, fitted.params, replications=5, seed=1)
    assert "returns_per_case" in [c.kpi for c in wrong.failing]


def test_repeat_probabilities_are_checked_against_the_model() -> None:
    good = _world().to_dict()
    model = _model()
    with pytest.raises(ValidationFailed, match="gateways_on_repeat: no sequence flow Flow_x"):
        bind(model, parse_params({**good, "gateways_on_repeat": {"Flow_x": 0.1}}))
    with pytest.raises(ValidationFailed, match=r"gateways_on_repeat\.Flow_03.*outside"):
        parse_params({**good, "gateways_on_repeat": {"Flow_03": 1.5}})
    over = {**good, "gateways_on_repeat": {"Flow_06": 0.7, "Flow_08": 0.7}}
    with pytest.raises(ValidationFailed, match=r"Gateway_samr_decision \(gateways_on_repeat\)"):
        bind(model, parse_params(over))
    assert parse_params(good).gateways_on_repeat == {
        "Flow_03": 0.0,
        "Flow_06": 0.0,
        "Flow_08": 0.02,
    }
