"""The simulator on what modellers draw: automated tasks in staffed lanes, office hours in
every lane, non-executable processes, multi-instance tasks, call activities and embedded
sub-processes, event-based gateways and boundary events."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path

import polars as pl
import pytest
import yaml
from typer.testing import CliRunner

from onewindow.cli.simulate import simulate_app
from onewindow.kit.calendar import default_calendar
from onewindow.kit.errors import ValidationFailed
from onewindow.mining.importers import read_log
from onewindow.simulation.engine import simulate
from onewindow.simulation.model import NOT_EXECUTABLE, parse_model
from onewindow.simulation.params import parse_params

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sim_constructs"
CITY = Path(__file__).resolve().parents[2] / "src" / "onewindow" / "demo" / "city"
runner = CliRunner()


def _fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def _params(name: str) -> dict[str, object]:
    data = yaml.safe_load((FIXTURES / name).read_text("utf-8"))
    assert isinstance(data, dict)
    return data


def _events(frame: pl.DataFrame, activity_id: str, life: str) -> pl.DataFrame:
    return frame.filter(
        (pl.col("activity_id") == activity_id) & (pl.col("lifecycle:transition") == life)
    ).sort("case:concept:name")


# --------------------------------------------------------------------------- automated tasks


def test_cli_writes_the_log_of_an_automated_task_in_a_staffed_lane(tmp_path: Path) -> None:
    log = tmp_path / "log.csv"
    result = runner.invoke(
        simulate_app,
        [
            "--model",
            str(FIXTURES / "automated_in_lane.bpmn"),
            "--params",
            str(FIXTURES / "automated_in_lane.yaml"),
            "--cases",
            "300",
            "--seed",
            "4",
            "--out",
            str(log),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.exception is None
    assert "Traceback" not in result.output
    frame, _ = read_log(log)
    accepted = _events(frame, "Task_accept", "complete")
    system_start = _events(frame, "Task_check_system", "start")
    system_done = _events(frame, "Task_check_system", "complete")
    assert accepted.height == system_start.height == 300
    # Enabled when 受理 completes, started at that very moment: no queue, no office hours.
    assert system_start["time:timestamp"].to_list() == accepted["time:timestamp"].to_list()
    durations = system_done["time:timestamp"] - system_start["time:timestamp"]
    assert set(durations.to_list()) == {timedelta(minutes=3)}
    assert set(system_start["org:resource"].fill_null("").to_list()) == {""}
    # It still queues nobody: 审批 is staffed by the one window clerk as before.
    assert set(_events(frame, "Task_decide", "start")["org:resource"].to_list()) == {"窗口-1"}


def test_automated_task_never_waits_for_staff_in_kpis() -> None:
    model = parse_model(_fixture("automated_in_lane.bpmn"))
    params = parse_params(_params("automated_in_lane.yaml"))
    run = simulate(model, params, cases=400, seed=2, record_log=False)
    kpis = run.kpis()
    assert "wait_h:Task_check_system" not in kpis
    assert kpis["wait_h:Task_accept"] >= 0


# --------------------------------------------------------------------------- office hours


def _outside_hours(
    frame: pl.DataFrame, ids: list[str], life: str = "start"
) -> list[tuple[str, datetime]]:
    calendar = default_calendar()
    bad: list[tuple[str, datetime]] = []
    starts = frame.filter(
        pl.col("activity_id").is_in(ids) & (pl.col("lifecycle:transition") == life)
    )
    for activity, stamp in starts.select("activity_id", "time:timestamp").iter_rows():
        local = stamp.astimezone(calendar.zone)
        open_now = calendar.is_workday(local.date()) and time(9, 0) <= local.time() < time(17, 0)
        if not open_now:
            bad.append((activity, local))
    return bad


def test_no_human_task_starts_outside_working_hours_in_any_lane() -> None:
    # Lanes without a calendar of their own (and one applicant lane, which keeps the wall
    # clock); arrivals around the clock, over weeks with weekends and a public holiday.
    model = parse_model(_fixture("calendar_lanes.bpmn"))
    params = parse_params(
        {
            "calendar": "working_days",
            "start": "2026-04-27T09:00:00+08:00",  # the week before the 5-1 holiday
            "arrivals": {"distribution": "exponential", "mean_minutes": 25},
            "resources": {"Lane_window": 2, "审查科": 3},
            "applicant": {"lanes": ["Lane_applicant"]},
            "activities": {
                "Task_accept": {"distribution": "exponential", "mean_minutes": 20},
                "Task_review": {"distribution": "exponential", "mean_minutes": 40},
                "Task_supplement": {"distribution": "exponential", "mean_hours": 30},
            },
            "gateways": {"f_back": 0.3},
        }
    )
    frame = simulate(model, params, cases=600, seed=9).frame()
    humans = ["Task_accept", "Task_review"]
    assert frame.filter(pl.col("activity_id").is_in(humans)).height > 2000
    assert _outside_hours(frame, humans) == []
    # The applicant answers at any hour; they are not staff.
    assert _outside_hours(frame, ["Task_supplement"], "complete") != []


def test_tasks_in_a_model_without_lanes_keep_office_hours() -> None:
    model = parse_model(_fixture("no_lanes.bpmn"))
    params = parse_params(
        {
            "arrivals": {"distribution": "exponential", "mean_minutes": 30},
            "activities": {
                "Task_a": {"distribution": "exponential", "mean_minutes": 50},
                "Task_b": {"distribution": "exponential", "mean_minutes": 50},
            },
        }
    )
    frame = simulate(model, params, cases=500, seed=1, log_automated=True).frame()
    assert _outside_hours(frame, ["Task_a", "Task_b"]) == []
    assert frame.filter(pl.col("activity_id") == "Task_calc").height == 1000
    # Unless the run says the office never closes.
    params.calendar = "always"
    frame = simulate(model, params, cases=500, seed=1).frame()
    assert _outside_hours(frame, ["Task_a", "Task_b"]) != []


# --------------------------------------------------------------------------- executable


@pytest.mark.parametrize("name", ["not_executable.bpmn", "executable_missing.bpmn"])
def test_non_executable_process_is_refused_as_validate_refuses_it(name: str) -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_model(_fixture(name), source=name)
    assert err.value.message == f"{name}: {NOT_EXECUTABLE}"
    result = runner.invoke(
        simulate_app,
        [
            "--model",
            str(FIXTURES / name),
            "--params",
            str(FIXTURES / "automated_in_lane.yaml"),
        ],
    )
    assert result.exit_code == 2
    assert NOT_EXECUTABLE in result.output
    assert "Traceback" not in result.output


def test_validate_uses_the_same_sentence() -> None:
    from onewindow.workflow.engine import validate_bpmn

    problems = validate_bpmn(_fixture("not_executable.bpmn"), [], {})
    assert NOT_EXECUTABLE in [p.message for p in problems if p.element_id is None]
