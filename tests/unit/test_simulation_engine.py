"""The simulator against queueing theory, and its event log's shape."""

from __future__ import annotations

import math
from pathlib import Path

import polars as pl
import pytest

from onewindow.simulation.engine import replicate, simulate
from onewindow.simulation.model import parse_model
from onewindow.simulation.params import parse_params

EXAMPLES = Path(__file__).resolve().parents[2] / "src" / "onewindow" / "simulation" / "examples"
CITY = Path(__file__).resolve().parents[2] / "src" / "onewindow" / "demo" / "city" / "services"

ONE_TASK = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">
  <bpmn:process id="queue" isExecutable="true">
    <bpmn:laneSet><bpmn:lane id="Lane_desk" name="desk">
      <bpmn:flowNodeRef>Task_serve</bpmn:flowNodeRef></bpmn:lane></bpmn:laneSet>
    <bpmn:startEvent id="Start"/>
    <bpmn:userTask id="Task_serve" name="serve"/>
    <bpmn:endEvent id="End"/>
    <bpmn:sequenceFlow id="f1" sourceRef="Start" targetRef="Task_serve"/>
    <bpmn:sequenceFlow id="f2" sourceRef="Task_serve" targetRef="End"/>
  </bpmn:process>
</bpmn:definitions>"""

# Tolerance: the simulated mean wait over 5 x 40,000 customers is within 6 % of the closed
# form (the standard error at these loads is about 1-2 %).
TOLERANCE = 0.06


def _queue_params(mean_gap: float, mean_service: float, servers: int) -> dict[str, object]:
    return {
        "calendar": "always",
        "arrivals": {"distribution": "exponential", "mean_minutes": mean_gap},
        "resources": {"Lane_desk": servers},
        "activities": {"Task_serve": {"distribution": "exponential", "mean_minutes": mean_service}},
    }


def erlang_c_wait(lam: float, mu: float, c: int) -> float:
    """Mean time in queue of M/M/c (Erlang C)."""
    a = lam / mu
    top = a**c / math.factorial(c) * c / (c - a)
    p_wait = top / (sum(a**k / math.factorial(k) for k in range(c)) + top)
    return p_wait / (c * mu - lam)


def test_mm1_mean_wait_matches_closed_form() -> None:
    lam, mu = 1 / 10, 1 / 5  # rho = 0.5: Wq = rho / (mu - lam) = 5 minutes
    model = parse_model(ONE_TASK)
    params = parse_params(_queue_params(10, 5, 1))
    reps = replicate(model, params, cases=40_000, replications=5, seed=11)
    wait_min = reps.estimate("wait_h:Task_serve").mean * 60
    theory = (lam / mu) / (mu - lam)
    assert abs(wait_min - theory) / theory < TOLERANCE
    cycle_min = reps.estimate("cycle_mean_h").mean * 60
    assert abs(cycle_min - (theory + 1 / mu)) / (theory + 1 / mu) < TOLERANCE


def test_mmc_mean_wait_matches_erlang_c() -> None:
    lam, mu, c = 0.21, 0.1, 3  # rho = 0.7
    model = parse_model(ONE_TASK)
    params = parse_params(_queue_params(1 / lam, 1 / mu, c))
    reps = replicate(model, params, cases=40_000, replications=5, seed=5)
    wait_min = reps.estimate("wait_h:Task_serve").mean * 60
    theory = erlang_c_wait(lam, mu, c)
    assert abs(wait_min - theory) / theory < TOLERANCE
    assert reps.estimate("utilization:Lane_desk").mean == pytest.approx(lam / (c * mu), rel=0.03)


def test_replications_give_a_confidence_interval() -> None:
    model = parse_model(ONE_TASK)
    params = parse_params(_queue_params(10, 5, 1))
    reps = replicate(model, params, cases=2000, replications=4, seed=1)
    est = reps.estimate("cycle_mean_h")
    assert est.n == 4
    assert est.low < est.mean < est.high
    assert reps.seeds == [1, 2, 3, 4]


def test_same_seed_same_log_and_log_shape() -> None:
    model = parse_model((EXAMPLES / "business_licence_legacy.bpmn").read_bytes())
    from onewindow.simulation.params import load_params

    params = load_params(EXAMPLES / "business_licence_legacy.yaml")
    a = simulate(model, params, cases=200, seed=3).frame()
    b = simulate(model, params, cases=200, seed=3).frame()
    assert a.equals(b)
    assert a.columns[:6] == [
        "case:concept:name",
        "concept:name",
        "time:timestamp",
        "lifecycle:transition",
        "org:resource",
        "org:group",
    ]
    firsts = a.group_by("case:concept:name", maintain_order=True).first()
    assert set(firsts["concept:name"]) == {"提交申请"}
    assert set(a["lifecycle:transition"]) == {"start", "complete"}
    # staff work only on office hours (09:00-17:00 Shanghai)
    staff = a.filter(pl.col("org:resource") != "")
    hours = staff["time:timestamp"].dt.hour() + staff["time:timestamp"].dt.minute() / 60
    assert hours.min() >= 9
    assert hours.max() <= 17


def test_parallel_split_and_join_on_the_demo_bundle() -> None:
    from onewindow.simulation.params import load_params

    model = parse_model((CITY / "business_licence.bpmn").read_bytes())
    params = load_params(EXAMPLES / "business_licence.yaml")
    run = simulate(model, params, cases=300, seed=2)
    frame = run.frame()
    done = frame.filter(pl.col("concept:name") == "办结")
    assert done.height == run.completed == 300
    issued = frame.filter(
        (pl.col("activity_id") == "Task_window_issue")
        & (pl.col("lifecycle:transition") == "complete")
    )
    # every approved case is issued once, after all three parallel registrations
    per_case = (
        frame.filter(pl.col("lifecycle:transition") == "complete")
        .group_by("case:concept:name")
        .agg(pl.col("activity_id"))
    )
    for acts in per_case["activity_id"].to_list():
        if "Task_window_issue" in acts:
            before = acts[: acts.index("Task_window_issue")]
            assert {"Task_tax_register", "Task_hrss_register", "Task_psb_seal"} <= set(before)
    assert issued.height > 250


def test_boundary_timer_escalates_without_stopping_the_task() -> None:
    xml = ONE_TASK.replace(
        b'<bpmn:endEvent id="End"/>',
        b'<bpmn:endEvent id="End"/><bpmn:boundaryEvent id="Sla" attachedToRef="Task_serve" '
        b'cancelActivity="false"><bpmn:timerEventDefinition><bpmn:timeDuration>"PT30M"'
        b"</bpmn:timeDuration></bpmn:timerEventDefinition></bpmn:boundaryEvent>"
        b'<bpmn:userTask id="Task_chase" name="chase"/><bpmn:endEvent id="End2"/>'
        b'<bpmn:sequenceFlow id="f3" sourceRef="Sla" targetRef="Task_chase"/>'
        b'<bpmn:sequenceFlow id="f4" sourceRef="Task_chase" targetRef="End2"/>',
    ).replace(
        b"<bpmn:flowNodeRef>Task_serve",
        b"<bpmn:flowNodeRef>Task_chase</bpmn:flowNodeRef><bpmn:flowNodeRef>Task_serve",
    )
    params = _queue_params(10, 20, 1)
    params["activities"] = {
        "Task_serve": {"distribution": "fixed", "mean_minutes": 45},
        "Task_chase": {"distribution": "fixed", "mean_minutes": 1},
    }
    params["resources"] = {"Lane_desk": 5}
    run = simulate(parse_model(xml), parse_params(params), cases=50, seed=1)
    frame = run.frame()
    chased = frame.filter(pl.col("activity_id") == "Task_chase")
    assert chased.height == 2 * 50  # every case waits 45 > 30 minutes: escalated once
    assert frame.filter(pl.col("activity_id") == "Task_serve").height == 2 * 50
