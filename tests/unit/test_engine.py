import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from onewindow.workflow.engine import (
    CompiledProcess,
    EngineCase,
    ProcessInvalid,
    ProcessProblem,
    ProcessRuntimeError,
    TaskNotReady,
    compile_bpmn,
    process_from_state,
    validate_bpmn,
)

FIXTURES = Path(__file__).parent / "fixtures" / "engine"
T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.fixture(scope="module")
def permit() -> CompiledProcess:
    return compile_bpmn(fixture("permit.bpmn"), [fixture("risk.dmn")])


@pytest.fixture(scope="module")
def payment() -> CompiledProcess:
    return compile_bpmn(fixture("timeout.bpmn"))


def ready_ids(case: EngineCase) -> list[str]:
    return sorted(task.task_id for task in case.ready_user_tasks())


def do(case: EngineCase, task_id: str, data: dict[str, Any] | None = None, when: datetime = T0):
    matches = [t for t in case.ready_user_tasks() if t.task_id == task_id]
    assert len(matches) == 1, (task_id, ready_ids(case))
    case.complete(matches[0].task_uuid, data or {}, when)


# --- compiling ----------------------------------------------------------------------------


def test_compiled_process_metadata(permit: CompiledProcess) -> None:
    assert permit.process_id == "permit"
    assert permit.name == "Shop permit"
    assert permit.lanes == ["窗口", "市场监管", "税务", "APPLICANT"]
    tasks = {t.task_id: t for t in permit.user_tasks}
    assert list(tasks)[0] == "Task_accept"
    assert tasks["Task_accept"].lane == "窗口"
    fields = {f.id: f for f in tasks["Task_accept"].form_fields}
    assert fields["area"].type == "long"
    assert fields["area"].required
    assert fields["area"].label == "Shop area (m2)"
    assert not fields["remark"].required
    decision = tasks["Task_decide"].form_fields[0]
    assert decision.type == "enum"
    assert decision.options == ["approve", "reject", "send_back"]
    assert tasks["Task_supplement"].lane == "APPLICANT"
    assert {t.task_id for t in permit.user_tasks if t.can_send_back} == {"Task_decide"}
    spec = json.loads(permit.spec_state)
    assert spec["spec"]["name"] == "permit"


def test_compiled_process_json_round_trip(permit: CompiledProcess) -> None:
    again = CompiledProcess.from_json(permit.to_json())
    assert again == permit
    assert again.spec_hash == permit.spec_hash


def test_process_from_state_rebuilds_the_compiled_process(permit: CompiledProcess) -> None:
    stored = "".join(permit.spec_state)  # a distinct string object, as read from a database
    rebuilt = process_from_state("permit", stored)
    assert rebuilt == permit
    assert process_from_state("permit", stored) is rebuilt
    with pytest.raises(ProcessInvalid):
        process_from_state("other", stored)


def test_compile_is_deterministic() -> None:
    first = compile_bpmn(fixture("permit.bpmn"), [fixture("risk.dmn")])
    second = compile_bpmn(fixture("permit.bpmn"), [fixture("risk.dmn")])
    assert first.spec_state == second.spec_state


# --- validation ---------------------------------------------------------------------------

HEADER = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Defs" targetNamespace="urn:test">'
)


def bpmn(body: str, *, lanes: str = "Task_a", extra_process: str = "") -> bytes:
    refs = "".join(f"<bpmn:flowNodeRef>{ref}</bpmn:flowNodeRef>" for ref in lanes.split())
    return (
        HEADER
        + '<bpmn:process id="proc" isExecutable="true">'
        + '<bpmn:laneSet id="ls"><bpmn:lane id="lane" name="窗口">'
        + refs
        + "</bpmn:lane></bpmn:laneSet>"
        + body
        + "</bpmn:process>"
        + extra_process
        + "</bpmn:definitions>"
    ).encode()


SIMPLE = (
    '<bpmn:startEvent id="StartEvent_1" />'
    '<bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Task_a" />'
    '<bpmn:userTask id="Task_a" />'
    '<bpmn:sequenceFlow id="Flow_2" sourceRef="Task_a" targetRef="EndEvent_1" />'
    '<bpmn:endEvent id="EndEvent_1" />'
)


def ids(problems: list[ProcessProblem]) -> set[str | None]:
    return {p.element_id for p in problems}


def test_fixtures_are_valid() -> None:
    assert validate_bpmn(fixture("permit.bpmn"), [fixture("risk.dmn")]) == []
    assert validate_bpmn(fixture("timeout.bpmn")) == []
    assert validate_bpmn(bpmn(SIMPLE)) == []


def test_malformed_xml() -> None:
    problems = validate_bpmn(b"<bpmn:definitions><oops></bpmn:definitions>")
    assert len(problems) == 1
    assert "malformed XML" in problems[0].message


@pytest.mark.parametrize(
    "payload",
    [
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;">]>'
        b"<d>&b;</d>",
        b'<?xml version="1.0"?><!DOCTYPE d SYSTEM "http://example.invalid/x.dtd"><d/>',
        b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/passwd">]><d>&x;</d>',
    ],
)
def test_entity_and_dtd_attacks_rejected(payload: bytes) -> None:
    problems = validate_bpmn(payload)
    assert problems
    assert "DOCTYPE" in problems[0].message
    with pytest.raises(ProcessInvalid):
        compile_bpmn(payload)


def test_dtd_in_dmn_rejected() -> None:
    dmn = b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "x">]><d>&a;</d>'
    problems = validate_bpmn(bpmn(SIMPLE), [dmn])
    assert any("DMN #1" in p.message and "DOCTYPE" in p.message for p in problems)


def test_no_executable_process() -> None:
    xml = bpmn(SIMPLE).replace(b'isExecutable="true"', b'isExecutable="false"')
    problems = validate_bpmn(xml)
    assert any("no executable process" in p.message for p in problems)


def test_two_executable_processes() -> None:
    other = (
        '<bpmn:process id="proc2" isExecutable="true"><bpmn:startEvent id="S2" /></bpmn:process>'
    )
    problems = validate_bpmn(bpmn(SIMPLE, extra_process=other))
    assert any("more than one executable process" in p.message for p in problems)


def test_unsafe_condition_reported_on_its_flow() -> None:
    body = (
        '<bpmn:startEvent id="StartEvent_1" />'
        '<bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Gw" />'
        '<bpmn:exclusiveGateway id="Gw" />'
        '<bpmn:sequenceFlow id="Flow_bad" sourceRef="Gw" targetRef="Task_a">'
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">'
        "__import__('os').system('rm -rf /')</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="Flow_ok" sourceRef="Gw" targetRef="EndEvent_1">'
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">x &gt; 1'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:userTask id="Task_a" />'
        '<bpmn:sequenceFlow id="Flow_2" sourceRef="Task_a" targetRef="EndEvent_1" />'
        '<bpmn:endEvent id="EndEvent_1" />'
    )
    problems = validate_bpmn(bpmn(body))
    assert ids(problems) == {"Flow_bad"}
    assert any("__import__" in p.message for p in problems)


def test_unsafe_script_reported_on_its_task() -> None:
    body = SIMPLE.replace(
        '<bpmn:endEvent id="EndEvent_1" />',
        '<bpmn:endEvent id="EndEvent_1" />'
        '<bpmn:scriptTask id="Script_bad"><bpmn:script>import os\nos.system("x")</bpmn:script>'
        "</bpmn:scriptTask>",
    ).replace('targetRef="EndEvent_1"', 'targetRef="Script_bad"')
    body += '<bpmn:sequenceFlow id="Flow_3" sourceRef="Script_bad" targetRef="EndEvent_1" />'
    problems = validate_bpmn(bpmn(body))
    assert ids(problems) == {"Script_bad"}
    assert len(problems) == 2  # the import and the attribute call


def test_user_task_outside_lane() -> None:
    problems = validate_bpmn(bpmn(SIMPLE, lanes="StartEvent_1"))
    assert ids(problems) == {"Task_a"}
    assert "lane" in problems[0].message


def test_missing_dmn_decision() -> None:
    body = SIMPLE.replace(
        '<bpmn:userTask id="Task_a" />',
        '<bpmn:businessRuleTask id="Rule_x" camunda:decisionRef="nowhere" />'
        '<bpmn:sequenceFlow id="Flow_r" sourceRef="Rule_x" targetRef="EndEvent_1" />'
        '<bpmn:userTask id="Task_a" />',
    ).replace(
        'sourceRef="StartEvent_1" targetRef="Task_a"', 'sourceRef="StartEvent_1" targetRef="Rule_x"'
    )
    problems = validate_bpmn(bpmn(body), [fixture("risk.dmn")])
    assert ids(problems) == {"Rule_x"}
    assert "nowhere" in problems[0].message


def test_unsafe_dmn_entry() -> None:
    dmn = fixture("risk.dmn").replace(b'<text>"high"</text>', b"<text>__import__('os')</text>")
    problems = validate_bpmn(fixture("permit.bpmn"), [dmn])
    assert ids(problems) == {"OutputEntry_large_risk"}


def test_bad_timer_duration() -> None:
    body = SIMPLE + (
        '<bpmn:boundaryEvent id="Timer_bad" attachedToRef="Task_a" cancelActivity="false">'
        '<bpmn:timerEventDefinition><bpmn:timeDuration>"three days"</bpmn:timeDuration>'
        "</bpmn:timerEventDefinition></bpmn:boundaryEvent>"
        '<bpmn:sequenceFlow id="Flow_t" sourceRef="Timer_bad" targetRef="EndEvent_1" />'
    )
    problems = validate_bpmn(bpmn(body))
    assert ids(problems) == {"Timer_bad"}


def test_spiffworkflow_parse_error_has_element_id() -> None:
    body = SIMPLE.replace(
        '<bpmn:userTask id="Task_a" />',
        '<bpmn:userTask id="Task_a" /><bpmn:complexGateway id="Gw_complex" />',
    ).replace(
        'sourceRef="Task_a" targetRef="EndEvent_1"', 'sourceRef="Task_a" targetRef="Gw_complex"'
    )
    body += '<bpmn:sequenceFlow id="Flow_c" sourceRef="Gw_complex" targetRef="EndEvent_1" />'
    problems = validate_bpmn(bpmn(body))
    assert ids(problems) == {"Gw_complex"}
    # Refused by our own check now, saying what to draw instead.
    assert "complex gateways are not supported" in problems[0].message


def test_every_problem_is_reported_and_compile_refuses() -> None:
    body = (
        '<bpmn:startEvent id="StartEvent_1" />'
        '<bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Gw" />'
        '<bpmn:exclusiveGateway id="Gw" />'
        '<bpmn:sequenceFlow id="Flow_bad" sourceRef="Gw" targetRef="Task_a">'
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">open("x")'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:sequenceFlow id="Flow_other" sourceRef="Gw" targetRef="Task_b">'
        '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">True'
        "</bpmn:conditionExpression></bpmn:sequenceFlow>"
        '<bpmn:userTask id="Task_a" />'
        '<bpmn:userTask id="Task_b" />'
        '<bpmn:sequenceFlow id="Flow_2" sourceRef="Task_a" targetRef="EndEvent_1" />'
        '<bpmn:sequenceFlow id="Flow_3" sourceRef="Task_b" targetRef="EndEvent_1" />'
        '<bpmn:endEvent id="EndEvent_1" />'
    )
    xml = bpmn(body, lanes="Task_a")
    problems = validate_bpmn(xml)
    assert ids(problems) == {"Flow_bad", "Task_b"}
    with pytest.raises(ProcessInvalid) as info:
        compile_bpmn(xml)
    error = info.value
    assert error.code == "process.invalid"
    assert error.status == 422
    reported = {p["element_id"] for p in error.details["problems"]}
    assert reported == {"Flow_bad", "Task_b"}


def test_engine_reserved_ids_are_refused() -> None:
    # SpiffWorkflow would silently merge these with its own internal task specs.
    xml = bpmn(SIMPLE.replace("StartEvent_1", "Start").replace("EndEvent_1", "End"))
    assert ids(validate_bpmn(xml)) == {"Start", "End"}


def test_multi_instance_runs_and_standard_loop_is_refused() -> None:
    counted = SIMPLE.replace(
        '<bpmn:userTask id="Task_a" />',
        '<bpmn:userTask id="Task_a"><bpmn:multiInstanceLoopCharacteristics>'
        "<bpmn:loopCardinality>3</bpmn:loopCardinality>"
        "</bpmn:multiInstanceLoopCharacteristics></bpmn:userTask>",
    )
    assert validate_bpmn(bpmn(counted)) == []
    looped = SIMPLE.replace(
        '<bpmn:userTask id="Task_a" />',
        '<bpmn:userTask id="Task_a"><bpmn:standardLoopCharacteristics /></bpmn:userTask>',
    )
    problems = validate_bpmn(bpmn(looped))
    assert ids(problems) == {"Task_a"}
    assert "loop" in problems[0].message


# --- running ------------------------------------------------------------------------------


def test_full_run_with_gateways_dmn_and_send_back(permit: CompiledProcess) -> None:
    case = EngineCase.start(permit, {"applicant_kind": "business"}, T0)
    assert ready_ids(case) == ["Task_accept"]
    accept = case.ready_user_tasks()[0]
    assert accept.lane == "窗口"
    assert accept.name == "Accept application"
    assert [f.id for f in accept.form_fields] == ["area", "materials_complete", "remark"]

    do(case, "Task_accept", {"area": 2000, "materials_complete": True})
    # exclusive gateway -> script -> DMN (first rule) -> parallel split
    assert ready_ids(case) == ["Task_samr_review", "Task_tax_register"]
    assert case.data["fee"] == 4000
    assert case.data["risk"] == "high"
    assert case.data["inspect_days"] == 3

    do(case, "Task_tax_register")
    assert ready_ids(case) == ["Task_samr_review"]  # the join waits for both branches
    do(case, "Task_samr_review")
    # inclusive gateway: inspection (high risk), service task and script all taken
    assert ready_ids(case) == ["Task_inspect"]
    do(case, "Task_inspect")
    assert ready_ids(case) == ["Task_decide"]
    assert case.data["note"] == "risk HIGH"

    do(case, "Task_decide", {"decision": "send_back"})
    assert ready_ids(case) == ["Task_supplement"]
    assert case.ready_user_tasks()[0].lane == "APPLICANT"
    do(case, "Task_supplement", {"supplement": "lease contract"})
    assert ready_ids(case) == ["Task_decide"]
    do(case, "Task_decide", {"decision": "send_back"})
    do(case, "Task_supplement", {"supplement": "fire certificate"})
    do(case, "Task_decide", {"decision": "approve"})

    assert case.is_completed()
    assert case.ready_user_tasks() == []
    assert case.next_timer_due() is None
    final = case.data
    assert final["decision"] == "approve"
    assert final["supplement"] == "fire certificate"
    assert final["fee"] == 4000


def test_inclusive_gateway_skips_false_branches(permit: CompiledProcess) -> None:
    case = EngineCase.start(permit, {"applicant_kind": "person"}, T0)
    do(case, "Task_accept", {"area": 50, "materials_complete": True})
    assert case.data["risk"] == "low"
    assert case.data["fee"] == 50
    do(case, "Task_samr_review")
    do(case, "Task_tax_register")
    # risk is low: neither inspection nor the note script, only the service task
    assert ready_ids(case) == ["Task_decide"]
    assert "note" not in case.data
    do(case, "Task_decide", {"decision": "reject"})
    assert case.is_completed()


def test_exclusive_gateway_ends_early(permit: CompiledProcess) -> None:
    case = EngineCase.start(permit, {"applicant_kind": "person"}, T0)
    do(case, "Task_accept", {"area": 50, "materials_complete": False})
    assert case.is_completed()
    assert "fee" not in case.data


def test_dmn_second_rule(permit: CompiledProcess) -> None:
    case = EngineCase.start(permit, {"applicant_kind": "business"}, T0)
    do(case, "Task_accept", {"area": 500, "materials_complete": True})
    assert case.data["risk"] == "medium"
    assert case.data["inspect_days"] == 1


def test_runtime_error_names_the_element(permit: CompiledProcess) -> None:
    case = EngineCase.start(permit, {}, T0)  # no applicant_kind for the DMN table
    task = case.ready_user_tasks()[0]
    with pytest.raises(ProcessRuntimeError) as info:
        case.complete(task.task_uuid, {"area": 50, "materials_complete": True}, T0)
    assert info.value.details["element_id"] == "Rule_risk"
    assert "applicant_kind" in info.value.message


def test_complete_twice_is_refused(permit: CompiledProcess) -> None:
    case = EngineCase.start(permit, {"applicant_kind": "business"}, T0)
    task = case.ready_user_tasks()[0]
    case.complete(task.task_uuid, {"area": 50, "materials_complete": True}, T0)
    with pytest.raises(TaskNotReady) as info:
        case.complete(task.task_uuid, {"area": 60, "materials_complete": True}, T0)
    assert info.value.code == "task.not_ready"
    assert info.value.status == 409
    with pytest.raises(TaskNotReady):
        case.complete("not-a-uuid", {}, T0)
    with pytest.raises(TaskNotReady):
        case.complete("00000000-0000-0000-0000-000000000000", {}, T0)


def test_naive_now_is_refused(permit: CompiledProcess) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        EngineCase.start(permit, {}, datetime(2024, 1, 1))  # noqa: DTZ001


def script_of_a_case(process: CompiledProcess, persist: bool) -> list[Any]:
    """Drive one case through a fixed script, optionally dumping and restoring every step."""
    steps: list[tuple[str, dict[str, Any]]] = [
        ("Task_accept", {"area": 2000, "materials_complete": True}),
        ("Task_samr_review", {}),
        ("Task_tax_register", {"tax_id": "91110000"}),
        ("Task_inspect", {"inspection": "passed"}),
        ("Task_decide", {"decision": "send_back"}),
        ("Task_supplement", {"supplement": "map"}),
        ("Task_decide", {"decision": "approve"}),
    ]
    trace: list[Any] = []
    case = EngineCase.start(process, {"applicant_kind": "business"}, T0)
    for task_id, data in steps:
        if persist:
            case = EngineCase.restore(process, case.dump())
        trace.append((ready_ids(case), case.next_timer_due(), dict(case.data)))
        do(case, task_id, data)
    trace.append((ready_ids(case), case.is_completed(), dict(case.data)))
    return trace


def test_dump_restore_continues_identically(permit: CompiledProcess) -> None:
    assert script_of_a_case(permit, persist=True) == script_of_a_case(permit, persist=False)


def test_dump_excludes_the_spec(permit: CompiledProcess) -> None:
    case = EngineCase.start(permit, {"applicant_kind": "business"}, T0)
    state = case.dump()
    assert "spec" not in json.loads(state)
    assert "Shop permit" not in state
    restored = EngineCase.restore(permit, state)
    assert restored.dump() == state


def test_restore_reuses_the_deserialized_spec(permit: CompiledProcess) -> None:
    first = EngineCase.start(permit, {"applicant_kind": "business"}, T0)
    second = EngineCase.restore(permit, first.dump())
    copy = process_from_state("permit", "".join(permit.spec_state))
    third = EngineCase.restore(copy, first.dump())
    assert first._workflow.spec is second._workflow.spec is third._workflow.spec


def test_interrupting_boundary_timer_fires_only_when_due(payment: CompiledProcess) -> None:
    case = EngineCase.start(payment, {}, T0)
    assert ready_ids(case) == ["Task_pay"]
    assert case.next_timer_due() == T0 + timedelta(hours=2)

    assert case.fire_due_timers(T0 + timedelta(hours=1, minutes=59)) == []
    assert ready_ids(case) == ["Task_pay"]

    case = EngineCase.restore(payment, case.dump())
    assert case.fire_due_timers(T0 + timedelta(hours=2)) == ["Timer_pay_deadline"]
    assert ready_ids(case) == ["Task_chase"]  # the payment task was cancelled
    assert case.next_timer_due() is None
    assert case.fire_due_timers(T0 + timedelta(days=9)) == []
    do(case, "Task_chase")
    assert case.is_completed()


def test_interrupting_timer_cancelled_by_completing_first(payment: CompiledProcess) -> None:
    case = EngineCase.start(payment, {}, T0)
    do(case, "Task_pay", {"paid": True}, when=T0 + timedelta(hours=1))
    assert case.is_completed()
    assert case.next_timer_due() is None
    assert case.fire_due_timers(T0 + timedelta(days=1)) == []


def test_timer_starts_from_the_injected_clock(payment: CompiledProcess) -> None:
    later = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)
    case = EngineCase.start(payment, {}, later)
    assert case.next_timer_due() == later + timedelta(hours=2)


def test_non_interrupting_sla_timer(permit: CompiledProcess) -> None:
    case = EngineCase.start(permit, {"applicant_kind": "business"}, T0)
    reviewed_at = T0 + timedelta(hours=3)
    do(case, "Task_accept", {"area": 500, "materials_complete": True}, when=reviewed_at)
    due = case.next_timer_due()
    assert due == reviewed_at + timedelta(days=1)

    assert case.fire_due_timers(due - timedelta(seconds=1)) == []
    case = EngineCase.restore(permit, case.dump())
    assert case.fire_due_timers(due) == ["Timer_samr_sla"]
    # the review stays open and an escalation task appears beside it
    assert ready_ids(case) == ["Task_escalate", "Task_samr_review", "Task_tax_register"]
    assert case.next_timer_due() is None
    do(case, "Task_escalate")
    do(case, "Task_samr_review")
    do(case, "Task_tax_register")
    do(case, "Task_decide", {"decision": "approve"})
    assert case.is_completed()


def test_cycle_timer_fires_each_period(payment: CompiledProcess) -> None:
    xml = (
        fixture("timeout.bpmn")
        .replace(b'attachedToRef="Task_pay">', b'attachedToRef="Task_pay" cancelActivity="false">')
        .replace(b"timeDuration", b"timeCycle")
        .replace(b'"PT2H"', b'"R2/PT1H"')
    )
    process = compile_bpmn(xml)
    case = EngineCase.start(process, {}, T0)
    fired = []
    for minutes in (30, 60, 90, 120, 180):
        case = EngineCase.restore(process, case.dump())
        fired.append(case.fire_due_timers(T0 + timedelta(minutes=minutes)))
    assert fired == [[], ["Timer_pay_deadline"], [], ["Timer_pay_deadline"], []]
    assert sorted(t.task_id for t in case.ready_user_tasks()) == [
        "Task_chase",
        "Task_chase",
        "Task_pay",
    ]
    assert case.next_timer_due() is None
