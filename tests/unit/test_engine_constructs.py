"""The BPMN constructs real modellers draw, run by the engine without a database:
会签 (parallel multi-instance with a completion condition), 逐级审批 (sequential
multi-instance), embedded sub-processes with an error boundary, event-based gateways with a
timer and a message branch, call activities and plain tasks.

Every step goes through ``dump``/``restore`` as the service does between requests.
"""

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from onewindow.workflow.engine import (
    CompiledProcess,
    EngineCase,
    ProcessInvalid,
    ProcessRuntimeError,
    compile_bpmn,
    validate_bpmn,
)

FIXTURES = Path(__file__).parent / "fixtures" / "constructs"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def xml(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def again(case: EngineCase, called: dict[str, CompiledProcess] | None = None) -> EngineCase:
    return EngineCase.restore(case.process, case.dump(), called)


def do(case: EngineCase, task_id: str, data: dict[str, Any], when: datetime = T0) -> None:
    matches = [t for t in case.ready_user_tasks() if t.task_id == task_id]
    assert matches, (task_id, [t.task_id for t in case.ready_user_tasks()])
    case.complete(matches[0].task_uuid, data, when)


def test_countersign_two_of_three_approve_and_the_third_is_cancelled() -> None:
    process = compile_bpmn(xml("countersign.bpmn"))
    case = EngineCase.start(process, {}, T0)
    ready = case.ready_user_tasks()
    assert [t.task_id for t in ready] == ["Task_joint_review"] * 3
    assert sorted(t.instance_no or 0 for t in ready) == [1, 2, 3]
    case.complete(ready[0].task_uuid, {"decision": "approve"}, T0)
    case = again(case)
    assert len(case.ready_user_tasks()) == 2
    case.complete(case.ready_user_tasks()[0].task_uuid, {"decision": "approve"}, T0)
    case = again(case)
    assert case.ready_user_tasks() == []  # the third reviewer's task is gone
    assert case.is_completed()
    assert case.data["nr_of_approved"] == 2
    assert case.data["decision"] == "approve"


def test_countersign_two_rejections_end_on_the_rejected_path() -> None:
    process = compile_bpmn(xml("countersign.bpmn"))
    case = EngineCase.start(process, {}, T0)
    first, second, _third = case.ready_user_tasks()
    case.complete(first.task_uuid, {"decision": "reject"}, T0)
    case.complete(second.task_uuid, {"decision": "approve"}, T0)
    case = again(case)
    assert len(case.ready_user_tasks()) == 1  # 1-1: the third vote decides
    case.complete(case.ready_user_tasks()[0].task_uuid, {"decision": "reject"}, T0)
    case = again(case)
    assert case.is_completed()
    assert (case.data["nr_of_approved"], case.data["nr_of_rejected"]) == (1, 2)
    assert case.data["decision"] == "reject"


def test_sequential_levels_one_after_another_each_knowing_its_level() -> None:
    process = compile_bpmn(xml("sequential.bpmn"))
    case = EngineCase.start(process, {"levels": ["科长", "处长", "局长"]}, T0)
    seen = []
    while ready := case.ready_user_tasks():
        assert len(ready) == 1
        seen.append((ready[0].instance_no, ready[0].instance["level"]))
        case.complete(ready[0].task_uuid, {"decision": "approve"}, T0)
        case = again(case)
    assert seen == [(1, "科长"), (2, "处长"), (3, "局长")]
    assert case.is_completed()


def test_sequential_stops_at_the_first_rejection() -> None:
    process = compile_bpmn(xml("sequential.bpmn"))
    case = EngineCase.start(process, {"levels": ["科长", "处长", "局长"]}, T0)
    do(case, "Task_level", {"decision": "approve"})
    case = again(case)
    do(case, "Task_level", {"decision": "reject"})
    case = again(case)
    assert case.is_completed()
    assert case.data["nr_of_completed"] == 2


def test_multi_instance_over_a_non_list_is_refused_with_the_element() -> None:
    process = compile_bpmn(xml("sequential.bpmn"))
    with pytest.raises(ProcessRuntimeError) as info:
        EngineCase.start(process, {"levels": 3}, T0)
    assert info.value.details == {"element_id": "Task_level"}
    assert "needs a list in 'levels', not a number" in info.value.message
    with pytest.raises(ProcessRuntimeError, match="'levels', which the case lacks"):
        EngineCase.start(process, {}, T0)
    assert validate_bpmn(xml("sequential.bpmn")) == []  # the list comes with each case


def test_error_end_event_in_a_subprocess_takes_the_boundary_path() -> None:
    process = compile_bpmn(xml("subprocess_error.bpmn"))
    assert validate_bpmn(xml("subprocess_error.bpmn")) == []
    lanes = {t.task_id: t.lane for t in process.user_tasks}
    assert lanes == {"Task_inspect": "消防", "Task_rectify": "消防"}

    failed = EngineCase.start(process, {}, T0)
    do(failed, "Task_inspect", {"passed": False})
    failed = again(failed)
    assert [t.task_id for t in failed.ready_user_tasks()] == ["Task_rectify"]

    passed = EngineCase.start(process, {}, T0)
    do(passed, "Task_inspect", {"passed": True})
    passed = again(passed)
    assert passed.is_completed()


def test_event_gateway_the_message_wins() -> None:
    process = compile_bpmn(xml("event_gateway.bpmn"))
    case = EngineCase.start(process, {}, T0)
    do(case, "Task_review", {})
    case = again(case)
    assert case.waiting_messages() == ["background_check_done"]
    assert case.next_timer_due() == T0 + timedelta(days=3)
    assert not case.deliver("something_else", {}, T0)
    assert case.deliver("background_check_done", {"check_result": "clear"}, T0 + timedelta(days=1))
    case = again(case)
    assert [t.task_id for t in case.ready_user_tasks()] == ["Task_decide"]
    assert case.data["check_result"] == "clear"
    assert case.next_timer_due() is None  # the timer branch is withdrawn
    assert case.waiting_messages() == []


def test_event_gateway_the_timer_wins() -> None:
    process = compile_bpmn(xml("event_gateway.bpmn"))
    case = EngineCase.start(process, {}, T0)
    do(case, "Task_review", {})
    case = again(case)
    assert case.fired_timers(T0 + timedelta(days=2)) == []
    fired = case.fired_timers(T0 + timedelta(days=3, minutes=1))
    assert [f.timer_id for f in fired] == ["Catch_timeout"]
    case = again(case)
    assert [t.task_id for t in case.ready_user_tasks()] == ["Task_manual_check"]
    assert case.waiting_messages() == []
    assert not case.deliver("background_check_done", {}, T0 + timedelta(days=4))


def test_call_activity_runs_the_called_process_with_its_lanes() -> None:
    site_xml = xml("site_check.bpmn")
    site = compile_bpmn(site_xml)
    process = compile_bpmn(xml("calls_site_check.bpmn"), called={"site_check": site_xml})
    assert process.called == ["site_check"]
    case = EngineCase.start(process, {}, T0, {"site_check": site})
    do(case, "Task_accept", {"area": 120})
    case = again(case, {"site_check": site})
    ready = case.ready_user_tasks()
    assert [(t.task_id, t.lane) for t in ready] == [("Task_site", "现场核查组")]
    do(case, "Task_site", {"site_ok": True})
    case = again(case, {"site_check": site})
    assert [t.task_id for t in case.ready_user_tasks()] == ["Task_issue"]
    assert case.data["site_ok"] is True


def test_a_call_activity_to_an_unknown_process_is_refused() -> None:
    problems = validate_bpmn(xml("calls_site_check.bpmn"))
    assert [p.element_id for p in problems] == ["Call_site"]
    assert "site_check" in problems[0].message
    with pytest.raises(ProcessInvalid):
        compile_bpmn(xml("calls_site_check.bpmn"))


def test_plain_tasks_run_through_and_make_no_work_item() -> None:
    body = xml("site_check.bpmn").replace(
        b'<bpmn:userTask id="Task_site" name="\xe7\x8e\xb0\xe5\x9c\xba\xe6\xa0\xb8\xe6\x9f\xa5">',
        b'<bpmn:task id="Task_site" name="note">',
    )
    body = body.replace(b"</bpmn:userTask>", b"</bpmn:task>")
    assert b"<bpmn:task " in body
    case = EngineCase.start(compile_bpmn(body), {}, T0)
    assert case.is_completed()


def test_escalation_end_event_in_a_subprocess_takes_the_boundary_path() -> None:
    xml_ = xml("subprocess_escalation.bpmn")  # its condition is JUEL: ${amount > 100000}
    assert validate_bpmn(xml_) == []
    process = compile_bpmn(xml_)

    big = EngineCase.start(process, {}, T0)
    do(big, "Task_review", {"amount": 250_000})
    big = again(big)
    assert [t.task_id for t in big.ready_user_tasks()] == ["Task_leader"]
    do(big, "Task_leader", {})
    assert again(big).is_completed()

    small = EngineCase.start(process, {}, T0)
    do(small, "Task_review", {"amount": 8_000})
    small = again(small)
    assert small.is_completed()
