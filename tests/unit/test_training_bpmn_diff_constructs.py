"""The "what changed" diff on 会签, sub-processes and call activities, event-based gateways
and boundary events."""

from __future__ import annotations

from pathlib import Path

from onewindow.simulation.model import called_processes
from onewindow.training.bpmn_diff import diff_processes, parse_steps, render_markdown

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sim_constructs"
CITY = Path(__file__).resolve().parents[2] / "src" / "onewindow" / "demo" / "city"


def _read(name: str) -> str:
    return (FIXTURES / name).read_text("utf-8")


def test_a_step_becoming_a_joint_review_is_done_differently() -> None:
    new = _read("mi_vote.bpmn")
    start = new.index("<bpmn:multiInstanceLoopCharacteristics>")
    end = new.index("</bpmn:multiInstanceLoopCharacteristics>") + len(
        "</bpmn:multiInstanceLoopCharacteristics>"
    )
    old = new[:start] + new[end:]
    diff = diff_processes(old, new)
    assert [c.name for c in diff.reworked] == ["会签"]
    change = diff.reworked[0]
    assert change.old_mode == ""
    assert change.mode == "会签（3 人同时办理），满足 nr_of_completed >= 2 即完成"
    assert not (diff.added)
    assert not (diff.removed)
    assert not (diff.moved)
    assert diff.affected_lanes() == {"审查组"}
    text = render_markdown("变更", diff)
    assert "## 办理方式变化 / Done differently" in text
    assert "**会签**（审查组）：一人办理 → 会签（3 人同时办理）" in text
    assert parse_steps(new)["Task_sign"].mode == "逐级审批（多人依次办理）"


def test_wrapping_steps_in_a_sub_process_changes_nothing() -> None:
    wrapped = _read("subprocess.bpmn")
    flat = (
        wrapped.replace(
            "<bpmn:flowNodeRef>Sub_review</bpmn:flowNodeRef>",
            "<bpmn:flowNodeRef>Task_first</bpmn:flowNodeRef>"
            "<bpmn:flowNodeRef>Task_second</bpmn:flowNodeRef>",
        )
        .replace('<bpmn:subProcess id="Sub_review" name="审查">', "")
        .replace("</bpmn:subProcess>", "")
        .replace('<bpmn:startEvent id="Sub_start"/>', "")
        .replace('<bpmn:endEvent id="Sub_end"/>', "")
        .replace(
            'sourceRef="Sub_start" targetRef="Task_first"',
            'sourceRef="Task_accept" targetRef="Task_first"',
        )
        .replace(
            'sourceRef="Task_second" targetRef="Sub_end"',
            'sourceRef="Task_second" targetRef="Task_issue"',
        )
        .replace('<bpmn:sequenceFlow id="f2" sourceRef="Task_accept" targetRef="Sub_review"/>', "")
        .replace('<bpmn:sequenceFlow id="f3" sourceRef="Sub_review" targetRef="Task_issue"/>', "")
    )
    steps = parse_steps(wrapped)
    assert steps["Task_first"].predecessors == {"受理"}
    assert steps["Task_issue"].predecessors == {"复审"}
    assert steps["Task_first"].lane == "科室"
    assert diff_processes(flat, wrapped).empty


def test_a_call_activity_shows_the_steps_of_the_called_process() -> None:
    called = called_processes([(CITY / "processes" / "site_inspection.bpmn").read_bytes()])
    new = (CITY / "services" / "fire_inspection.bpmn").read_text("utf-8")
    # The earlier version did the inspection as one step of its own.
    old = new.replace(
        '<bpmn:callActivity id="Call_site_inspection" name="现场核查" '
        'calledElement="site_inspection">',
        '<bpmn:userTask id="Call_site_inspection" name="现场核查">',
    ).replace("</bpmn:callActivity>", "</bpmn:userTask>")
    diff = diff_processes(old, new, called)
    # 现场核查 is matched by name; the shared process brings its overdue escalation.
    assert [c.name for c in diff.added] == ["现场核查督办"]
    assert not diff.removed
    assert [c.name for c in diff.reworked] == ["现场核查"]
    assert diff.reworked[0].events == ("定时（不中断） 超过5日未核查",)
    # Without the called process the call activity is one step, as before.
    assert diff_processes(old, new).empty


def test_waiting_for_a_message_behind_an_event_based_gateway_is_new() -> None:
    diff = diff_processes(_read("ebg_before.bpmn"), _read("ebg.bpmn"))
    assert [c.name for c in diff.added] == ["收到核查结果", "3日未返回", "人工核查"]
    assert [(c.name, c.before, c.after) for c in diff.moved] == [
        ("审核", ("发起核查",), ("人工核查", "收到核查结果"))
    ]
    assert "**收到核查结果**" in render_markdown("变更", diff)


def test_a_new_error_boundary_event_is_a_change_of_the_step() -> None:
    new = _read("boundary.bpmn")
    steps = parse_steps(new)
    assert steps["Task_check"].events == ("上报（不中断） 领导关注", "错误 材料无效")
    # What follows a boundary event follows its step.
    assert steps["Task_reject"].predecessors == {"材料核验"}
    start = new.index('<bpmn:boundaryEvent id="Boundary_err"')
    end = new.index("</bpmn:boundaryEvent>", start) + len("</bpmn:boundaryEvent>")
    old = new[:start] + new[end:]
    diff = diff_processes(old, new)
    assert [(c.name, c.old_events, c.events) for c in diff.reworked] == [
        ("材料核验", ("上报（不中断） 领导关注",), ("上报（不中断） 领导关注", "错误 材料无效"))
    ]
    assert "新增：错误 材料无效" in render_markdown("变更", diff)
    assert [(c.name, c.before, c.after) for c in diff.moved] == [
        ("不予受理告知", (), ("材料核验",))
    ]


def test_what_follows_an_error_caught_on_a_sub_process_follows_the_step_inside() -> None:
    steps = parse_steps(_read("subprocess_error.bpmn"))
    assert steps["Task_rectify"].predecessors == {"核查"}
    assert steps["Task_issue"].predecessors == {"核查"}
    assert steps["Task_inspect"].lane == "科室"
