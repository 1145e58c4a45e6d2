"""Fitting recovers known parameters; bad input is named in the error."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from onewindow.kit.errors import ValidationFailed
from onewindow.simulation.engine import simulate
from onewindow.simulation.fit import fit_distribution, fit_params
from onewindow.simulation.model import parse_model
from onewindow.simulation.params import bind, load_params, parse_params

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "onewindow" / "simulation" / "examples"


def test_gamma_sample_is_recognised_with_its_parameters() -> None:
    rng = np.random.default_rng(1)
    mean, sd = 30.0, 12.0
    shape, scale = (mean / sd) ** 2, sd * sd / mean
    fit = fit_distribution(rng.gamma(shape, scale, 4000), "accept")
    assert fit.chosen.kind == "gamma"
    assert fit.chosen.mean == pytest.approx(mean, rel=0.03)
    assert fit.chosen.sd == pytest.approx(sd, rel=0.05)


def test_lognormal_sample_is_recognised_with_its_parameters() -> None:
    rng = np.random.default_rng(2)
    mean, sd = 40.0, 20.0
    sigma = np.sqrt(np.log1p((sd / mean) ** 2))
    fit = fit_distribution(rng.lognormal(np.log(mean) - sigma**2 / 2, sigma, 4000), "review")
    assert fit.chosen.kind == "lognormal"
    assert fit.chosen.mean == pytest.approx(mean, rel=0.03)
    assert fit.chosen.sd == pytest.approx(sd, rel=0.08)


def test_exponential_sample_keeps_its_mean() -> None:
    fit = fit_distribution(np.random.default_rng(3).exponential(20.0, 4000), "register")
    assert fit.chosen.kind in ("exponential", "gamma")  # gamma with shape 1 is the same law
    assert fit.chosen.mean == pytest.approx(20.0, rel=0.04)


def test_no_candidate_fits_keeps_the_empirical_distribution() -> None:
    rng = np.random.default_rng(4)
    bimodal = np.concatenate([rng.normal(10, 1, 2000), rng.normal(60, 2, 2000)])
    fit = fit_distribution(bimodal, "two kinds of case")
    assert fit.chosen.kind == "empirical"
    assert "empirical" in fit.reason
    assert all(not c["fits"] for c in fit.candidates)


def test_a_distribution_that_cannot_be_fitted_is_named() -> None:
    with pytest.raises(ValidationFailed, match="Task_x") as err:
        fit_distribution([5.0, -3.0, 4.0], "Task_x")
    assert err.value.code == "simulation.fit_failed"
    with pytest.raises(ValidationFailed, match="Task_y"):
        fit_distribution([], "Task_y")


def test_fit_from_a_simulated_log_recovers_the_parameters() -> None:
    model = parse_model(
        (EXAMPLES.parents[1] / "demo" / "city" / "services" / "business_licence.bpmn").read_bytes()
    )
    truth = load_params(EXAMPLES / "business_licence.yaml")
    log = simulate(model, truth, cases=4000, seed=7).frame()
    fitted = fit_params(log, model, in_person=truth.in_person)
    p = fitted.params
    assert p.calendar == "working_days"
    assert {k: v.count for k, v in p.resources.items()} == {
        "Lane_window": 3,
        "Lane_samr": 3,
        "Lane_tax": 2,
        "Lane_hrss": 2,
        "Lane_psb": 2,
    }
    assert p.gateways["Flow_03"] == pytest.approx(0.12, abs=0.02)
    assert p.gateways["Flow_06"] == pytest.approx(0.10, abs=0.02)
    assert p.gateways["Flow_08"] == pytest.approx(0.02, abs=0.01)
    for task, dist in truth.activities.items():
        assert p.activities[task].mean == pytest.approx(dist.mean, rel=0.05), task
    assert p.activities["Task_window_accept"].kind == "gamma"
    assert p.activities["Task_samr_review"].kind == "lognormal"
    assert p.activities["Task_window_issue"].kind == "fixed"
    # about 3 arrivals per working hour (one every 20 working minutes)
    weekday = [sum(row[9:17]) / 8 for row in (p.arrivals.rates or ())[:5]]
    assert np.mean(weekday) == pytest.approx(3.0, rel=0.08)
    bind(model, p)  # the fitted set runs on the model


def test_a_log_that_does_not_match_the_model_names_the_activities() -> None:
    model = parse_model(
        (EXAMPLES.parents[1] / "demo" / "city" / "services" / "business_licence.bpmn").read_bytes()
    )
    log = pl.DataFrame(
        {
            "case:concept:name": ["1", "1", "2"],
            "concept:name": ["Register", "Pay fee", "Register"],
            "time:timestamp": ["2026-03-02T10:00:00+08:00"] * 3,
        }
    )
    with pytest.raises(ValidationFailed) as err:
        fit_params(log, model)
    assert err.value.code == "simulation.log_mismatch"
    assert "Pay fee" in err.value.message
    assert "Register" in err.value.message
    assert "Task_samr_review" in err.value.message


def test_bad_parameters_are_named() -> None:
    model = parse_model(
        (EXAMPLES.parents[1] / "demo" / "city" / "services" / "business_licence.bpmn").read_bytes()
    )
    good = load_params(EXAMPLES / "business_licence.yaml").to_dict()
    probs = {**good, "gateways": {"Flow_06": 0.5, "Flow_08": 0.3, "Flow_10": 0.3}}
    with pytest.raises(ValidationFailed, match="Gateway_samr_decision.*sum to 1.1"):
        bind(model, parse_params(probs))
    no_staff = {
        **good,
        "resources": {k: v for k, v in good["resources"].items() if k != "Lane_tax"},
    }
    with pytest.raises(ValidationFailed, match="Lane_tax.*Task_tax_register.*no resources"):
        bind(model, parse_params(no_staff))
    with pytest.raises(ValidationFailed, match="unknown distribution 'weibull'"):
        parse_params({**good, "activities": {"Task_psb_seal": {"distribution": "weibull"}}})
    with pytest.raises(ValidationFailed, match="no sequence flow Flow_nope"):
        bind(model, parse_params({**good, "gateways": {"Flow_nope": 0.2}}))


def test_a_model_without_a_start_event_is_named() -> None:
    xml = b"""<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">
      <bpmn:process id="p" isExecutable="true"><bpmn:userTask id="T"/><bpmn:endEvent id="E"/>
      <bpmn:sequenceFlow id="f" sourceRef="T" targetRef="E"/></bpmn:process></bpmn:definitions>"""
    with pytest.raises(ValidationFailed, match="no start event") as err:
        parse_model(xml)
    assert err.value.code == "simulation.model_invalid"
