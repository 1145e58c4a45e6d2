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
from onewindow.simulation.model import NOT_EXECUTABLE, called_processes, parse_model
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

    for name in ("not_executable.bpmn", "executable_missing.bpmn"):
        problems = validate_bpmn(_fixture(name), [], {})
        assert NOT_EXECUTABLE in [p.message for p in problems if p.element_id is None], name


# --------------------------------------------------------------------------- multi-instance


def _per_case(frame: pl.DataFrame, activity_id: str, life: str) -> dict[str, list[datetime]]:
    rows = _events(frame, activity_id, life).select("case:concept:name", "time:timestamp")
    out: dict[str, list[datetime]] = {}
    for case, stamp in rows.iter_rows():
        out.setdefault(case, []).append(stamp)
    return {k: sorted(v) for k, v in out.items()}


def test_parallel_multi_instance_finishes_when_two_of_three_complete() -> None:
    model = parse_model(_fixture("mi_vote.bpmn"))
    vote = model.task("Task_vote").multi
    assert vote is not None
    assert (vote.instances, vote.complete_after) == (3, 2)
    params = parse_params(
        {
            "calendar": "always",
            # One case at a time, three reviewers: the cancelled third one frees their
            # place at once, or 逐级审批 would wait for them.
            "arrivals": {"distribution": "fixed", "mean_minutes": 1000},
            "resources": {"Lane_review": 3},
            "activities": {
                "Task_vote": {"distribution": "exponential", "mean_minutes": 60},
                "Task_sign": {"distribution": "fixed", "mean_minutes": 10},
            },
            "multi_instance": {"Task_sign": {"instances": 2}},
        }
    )
    frame = simulate(model, params, cases=200, seed=3).frame()
    votes_started = _per_case(frame, "Task_vote", "start")
    votes_done = _per_case(frame, "Task_vote", "complete")
    sign_start = _per_case(frame, "Task_sign", "start")
    sign_done = _per_case(frame, "Task_sign", "complete")
    assert len(votes_done) == 200
    for case, done in votes_done.items():
        # Three reviewers start together; the third is cancelled when two have completed.
        assert len(done) == 2
        assert len(votes_started[case]) == 2
        assert sign_start[case][0] == done[1]
        # 逐级审批: two instances, one after another.
        assert len(sign_start[case]) == 2
        assert sign_start[case][1] == sign_done[case][0]


def test_multi_instance_over_a_collection_needs_its_count() -> None:
    model = parse_model(_fixture("mi_vote.bpmn"))
    params = parse_params(
        {
            "arrivals": {"distribution": "exponential", "mean_minutes": 600},
            "resources": {"Lane_review": 3},
            "activities": {"Task_vote": 60, "Task_sign": 10},
        }
    )
    with pytest.raises(ValidationFailed, match="Task_sign .*give its number of instances"):
        simulate(model, params, cases=5)


def test_sequential_multi_instance_takes_instances_times_duration() -> None:
    model = parse_model(_fixture("mi_vote.bpmn"))
    params = parse_params(
        {
            "calendar": "always",
            "arrivals": {"distribution": "fixed", "mean_minutes": 1000},
            "resources": {"Lane_review": 3},
            "activities": {"Task_vote": 60, "Task_sign": 25},
            "multi_instance": {"Task_sign": {"instances": 4}},
        }
    )
    run = simulate(model, params, cases=10, seed=0)
    # 60 (two of three votes, fixed) + 4 x 25 one after another
    assert run.cycle_minutes == [pytest.approx(160.0)] * 10


# --------------------------------------------------------------------------- event-based gateway


def _ebg_params(message: dict[str, object]) -> dict[str, object]:
    return {
        "calendar": "always",
        "arrivals": {"distribution": "exponential", "mean_minutes": 120},
        "activities": {"Task_manual": 30, "Task_review": 20},
        "messages": {"background_check_done": message},
    }


def test_event_based_gateway_message_wins() -> None:
    model = parse_model(_fixture("ebg.bpmn"))
    params = parse_params(_ebg_params({"distribution": "fixed", "mean_days": 1}))
    frame = simulate(model, params, cases=100, seed=1).frame()
    assert _events(frame, "Task_manual", "start").height == 0
    assert _events(frame, "Task_review", "start").height == 100


def test_event_based_gateway_timer_wins() -> None:
    model = parse_model(_fixture("ebg.bpmn"))
    params = parse_params(_ebg_params({"distribution": "fixed", "mean_days": 5}))
    run = simulate(model, params, cases=100, seed=1)
    frame = run.frame()
    assert _events(frame, "Task_manual", "start").height == 100
    # P3D timer + 30 + 20 minutes, never the 5-day message
    assert max(run.cycle_minutes) == pytest.approx(3 * 1440 + 50)


def test_event_based_gateway_first_of_both_wins() -> None:
    model = parse_model(_fixture("ebg.bpmn"))
    params = parse_params(_ebg_params({"distribution": "exponential", "mean_days": 3}))
    frame = simulate(model, params, cases=2000, seed=7).frame()
    late = _events(frame, "Task_manual", "start").height / 2000
    assert late == pytest.approx(0.3679, abs=0.04)  # P(message later than its mean) = 1/e


def test_event_based_gateway_message_without_arrival_time_is_refused() -> None:
    model = parse_model(_fixture("ebg.bpmn"))
    data = _ebg_params({})
    del data["messages"]
    with pytest.raises(ValidationFailed) as err:
        simulate(model, parse_params(data), cases=5)
    assert "event Catch_done (background_check_done) behind an event-based gateway" in str(
        err.value.message
    )


# --------------------------------------------------------------------------- boundary events


def test_error_and_escalation_boundary_events_fire_with_their_probability() -> None:
    model = parse_model(_fixture("boundary.bpmn"))
    assert model.warnings == []
    params = parse_params(
        {
            "calendar": "always",
            "arrivals": {"distribution": "exponential", "mean_minutes": 60},
            "activities": {"Task_check": 10, "Task_decide": 10, "Task_reject": 5, "Task_report": 5},
            "boundary": {"Boundary_err": 0.25, "Boundary_esc": 0.1},
        }
    )
    run = simulate(model, params, cases=4000, seed=5)
    frame = run.frame()
    rejected = _events(frame, "Task_reject", "complete").height / 4000
    decided = _events(frame, "Task_decide", "complete").height / 4000
    reported = _events(frame, "Task_report", "complete").height / 4000
    assert rejected == pytest.approx(0.25, abs=0.03)
    assert decided == pytest.approx(0.75, abs=0.03)  # interrupting: instead of the normal way
    assert reported == pytest.approx(0.1, abs=0.02)  # non-interrupting: as well
    assert run.completed == 4000


def test_boundary_events_without_probability_never_fire() -> None:
    model = parse_model(_fixture("boundary.bpmn"))
    params = parse_params(
        {
            "arrivals": {"distribution": "exponential", "mean_minutes": 60},
            "activities": {"Task_check": 10, "Task_decide": 10, "Task_reject": 5, "Task_report": 5},
        }
    )
    frame = simulate(model, params, cases=50).frame()
    assert _events(frame, "Task_reject", "start").height == 0


# --------------------------------------------------------------------------- sub-processes


def test_embedded_sub_process_is_inlined_in_its_lane() -> None:
    model = parse_model(_fixture("subprocess.bpmn"))
    assert model.inlined == ["Sub_review"]
    assert model.task("Task_first").lane == "Lane_office"
    params = parse_params(
        {
            "arrivals": {"distribution": "exponential", "mean_minutes": 60},
            "resources": {"Lane_office": 2},
            "activities": {"Task_accept": 10, "Task_first": 20, "Task_second": 20, "Task_issue": 5},
        }
    )
    frame = simulate(model, params, cases=30, seed=2).frame()
    for case in frame.partition_by("case:concept:name"):
        done = case.filter(pl.col("lifecycle:transition") == "complete")["activity_id"]
        assert [a for a in done.to_list() if a] == [
            "Task_accept",
            "Task_first",
            "Task_second",
            "Task_issue",
        ]


def test_boundary_event_on_a_sub_process_is_refused_in_one_line() -> None:
    with pytest.raises(ValidationFailed) as err:
        parse_model(_fixture("subprocess_boundary.bpmn"), source="m.bpmn")
    message = err.value.message
    assert message == (
        "m.bpmn: 1 problem(s): Timer_sub: a boundary event on sub-process or call activity "
        "Sub_review is not simulated (attach it to a task inside)"
    )
    assert "not an element the simulator knows" not in message


def test_call_activities_inline_the_called_process_from_the_files_given(tmp_path: Path) -> None:
    called = called_processes([_fixture("shared_check.bpmn")])
    model = parse_model(_fixture("call_parent.bpmn"), called=called)
    assert model.inlined == ["Call_first", "Call_again"]
    assert {"Call_first/Task_inspect", "Call_again/Task_inspect"} <= set(model.nodes)
    with pytest.raises(ValidationFailed, match="Call_first: call activity to process 'shared"):
        parse_model(_fixture("call_parent.bpmn"))

    params = tmp_path / "p.yaml"
    params.write_text(
        "arrivals: {distribution: exponential, mean_minutes: 60}\n"
        "resources: {Lane_office: 2}\n"
        "activities: {Task_accept: 10, 现场核查: 30}\n",
        "utf-8",
    )
    log = tmp_path / "log.csv"
    args = ["--model", str(FIXTURES / "call_parent.bpmn"), "--params", str(params)]
    result = runner.invoke(
        simulate_app, [*args, "--calls", str(FIXTURES / "shared_check.bpmn"), "--out", str(log)]
    )
    assert result.exit_code == 0, result.output
    frame, _ = read_log(log)
    inspections = frame.filter(
        (pl.col("concept:name") == "现场核查") & (pl.col("lifecycle:transition") == "complete")
    )
    assert inspections.height == 2 * 1000
    result = runner.invoke(simulate_app, args)
    assert result.exit_code == 2
    assert "Call_first: call activity to process 'shared_check'" in result.output


# --------------------------------------------------------------------------- the demo city


def _generic_params(model_tasks: list[str], lanes: list[str]) -> dict[str, object]:
    return {
        "arrivals": {"distribution": "exponential", "mean_minutes": 90},
        "resources": {lane: 3 for lane in lanes if "applicant" not in lane.lower()},
        "activities": {t: {"distribution": "exponential", "mean_minutes": 30} for t in model_tasks},
        "messages": {"background_check_done": {"distribution": "exponential", "mean_days": 2}},
    }


def test_demo_city_construction_permit_and_residence_permit_simulate() -> None:
    called = called_processes([(CITY / "processes" / "site_inspection.bpmn").read_bytes()])
    for service, needs_message in (("construction_permit", False), ("residence_permit", True)):
        model = parse_model((CITY / "services" / f"{service}.bpmn").read_bytes(), called=called)
        humans = [t.id for t in model.tasks if not t.automated]
        data = _generic_params(humans, list(model.lanes))
        if not needs_message:
            del data["messages"]
        run = simulate(model, parse_params(data), cases=200, seed=1)
        assert run.completed == 200, service
        frame = run.frame()
        if service == "construction_permit":
            votes = _per_case(frame, "Task_housing_drawing_review", "complete")
            assert votes
            assert {len(v) % 2 for v in votes.values()} == {0}
            assert _events(frame, "Call_site_inspection/Task_site_inspection", "start").height
        else:
            assert _events(frame, "Task_psb_manual_check", "start").height > 0


def test_error_end_event_in_a_sub_process_is_caught_by_its_boundary_event() -> None:
    model = parse_model(_fixture("subprocess_error.bpmn"))
    assert model.warnings == []
    params = parse_params(
        {
            "arrivals": {"distribution": "exponential", "mean_minutes": 60},
            "resources": {"Lane_office": 3},
            "activities": {"Task_inspect": 20, "Task_rectify": 30, "Task_issue": 10},
            "gateways": {"Flow_fail": 0.3},
        }
    )
    run = simulate(model, params, cases=2000, seed=6)
    frame = run.frame()
    rectified = set(_per_case(frame, "Task_rectify", "complete"))
    issued = set(_per_case(frame, "Task_issue", "complete"))
    assert len(rectified) / 2000 == pytest.approx(0.3, abs=0.03)
    assert not rectified & issued  # the error leaves the sub-process by its boundary only
    assert len(rectified | issued) == run.completed == 2000


def _mi_sub_params() -> dict[str, object]:
    return {
        "calendar": "always",
        "arrivals": {"distribution": "fixed", "mean_minutes": 1000},
        "resources": {"Lane_office": 3},
        "activities": {"Task_accept": 10, "Task_first": 20, "Task_second": 20, "Task_issue": 5},
    }


def test_sequential_multi_instance_sub_process_runs_its_steps_once_per_instance() -> None:
    model = parse_model(_fixture("subprocess_mi.bpmn"))
    run = simulate(model, parse_params(_mi_sub_params()), cases=20)
    frame = run.frame()
    for case in frame.partition_by("case:concept:name"):
        done = case.filter(pl.col("lifecycle:transition") == "complete")["activity_id"]
        steps = [a for a in done.to_list() if a]
        assert steps == ["Task_accept", *["Task_first", "Task_second"] * 3, "Task_issue"]
    assert run.cycle_minutes == [pytest.approx(10 + 3 * 40 + 5)] * 20


def test_parallel_multi_instance_sub_process_goes_on_when_two_of_three_are_done() -> None:
    xml = _fixture("subprocess_mi.bpmn").replace(
        b'isSequential="true"><bpmn:loopCardinality>3</bpmn:loopCardinality>',
        b"><bpmn:loopCardinality>3</bpmn:loopCardinality>"
        b"<bpmn:completionCondition>nr_of_completed &gt;= 2</bpmn:completionCondition>",
    )
    model = parse_model(xml)
    data = _mi_sub_params()
    data["activities"] = {
        "Task_accept": 10,
        "Task_first": {"distribution": "exponential", "mean_minutes": 20},
        "Task_second": 20,
        "Task_issue": 5,
    }
    frame = simulate(model, parse_params(data), cases=50, seed=3).frame()
    firsts = _per_case(frame, "Task_first", "complete")
    seconds = _per_case(frame, "Task_second", "complete")
    issued = _per_case(frame, "Task_issue", "start")
    assert len(issued) == 50
    for case, starts in issued.items():
        assert len(firsts[case]) == 3  # three instances run (staff enough)
        assert len(starts) == 1  # the case goes on once
        assert starts[0] == seconds[case][1]  # when the second instance is done

    data["multi_instance"] = {"Sub_review": {"instances": 2}}
    frame = simulate(model, parse_params(data), cases=10, seed=3).frame()
    assert {len(v) for v in _per_case(frame, "Task_first", "complete").values()} == {2}
