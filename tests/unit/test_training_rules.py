"""BPMN diff behind the "what changed" course, exam grading, and the DiD estimate."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from onewindow.kit.errors import ValidationFailed
from onewindow.training.bpmn_diff import diff_processes, render_markdown
from onewindow.training.effect import PersonPeriods, did, did_from_completions
from onewindow.training.exams import QuestionSpec, check_question, draw_paper, grade
from onewindow.training.profile import Completion

NS = 'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:camunda="http://camunda.org/schema/1.0/bpmn"'


def _bpmn(
    lanes: dict[str, list[str]], tasks: dict[str, tuple[str, list[str]]], flow: list[str]
) -> str:
    lane_xml = "".join(
        f'<bpmn:lane id="L{i}" name="{name}">'
        + "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in nodes)
        + "</bpmn:lane>"
        for i, (name, nodes) in enumerate(lanes.items())
    )
    task_xml = "".join(
        f'<bpmn:userTask id="{tid}" name="{name}"><bpmn:extensionElements><camunda:formData>'
        + "".join(f'<camunda:formField id="{f}" label="{f}标签" type="string"/>' for f in fields)
        + "</camunda:formData></bpmn:extensionElements></bpmn:userTask>"
        for tid, (name, fields) in tasks.items()
    )
    chain = ["S", *flow, "E"]
    flows = "".join(
        f'<bpmn:sequenceFlow id="F{i}" sourceRef="{a}" targetRef="{b}"/>'
        for i, (a, b) in enumerate(zip(chain, chain[1:], strict=False))
    )
    return (
        f'<bpmn:definitions {NS}><bpmn:process id="p"><bpmn:laneSet>{lane_xml}</bpmn:laneSet>'
        f'<bpmn:startEvent id="S"/>{task_xml}<bpmn:endEvent id="E"/>{flows}'
        "</bpmn:process></bpmn:definitions>"
    )


OLD = _bpmn(
    {"窗口": ["T1", "T4"], "消防": ["T2", "T3"]},
    {
        "T1": ("窗口受理", ["a"]),
        "T2": ("材料审查", ["b"]),
        "T3": ("现场检查", []),
        "T4": ("发证", []),
    },
    ["T1", "T2", "T3", "T4"],
)
NEW = _bpmn(
    {"窗口": ["T1", "T4", "T5"], "消防": ["T3"]},
    {
        "T1": ("窗口受理", ["a", "risk_level"]),
        "T3": ("现场检查", []),
        "T5": ("告知承诺核验", []),
        "T4": ("发证", []),
    },
    ["T1", "T5", "T3", "T4"],
)


def test_diff_finds_added_removed_moved_and_new_fields() -> None:
    diff = diff_processes(OLD, NEW)
    assert [c.name for c in diff.added] == ["告知承诺核验"]
    assert [c.name for c in diff.removed] == ["材料审查"]
    moved = {c.name: c for c in diff.moved}
    assert set(moved) == {"现场检查"}
    assert moved["现场检查"].before == ("材料审查",)
    assert moved["现场检查"].after == ("告知承诺核验",)
    assert [(c.name, c.fields) for c in diff.new_fields] == [
        ("窗口受理", (("risk_level", "risk_level标签"),))
    ]
    assert diff.affected_lanes() == {"窗口", "消防"}
    text = render_markdown("变更", diff)
    assert "告知承诺核验" in text
    assert "~~材料审查~~" in text
    assert "risk_level" in text


def test_lane_change_is_a_move_and_same_version_is_empty() -> None:
    swapped = OLD.replace('name="窗口"', 'name="X"').replace('name="消防"', 'name="窗口"')
    assert diff_processes(OLD, OLD).empty
    assert {c.name for c in diff_processes(OLD, swapped).moved} == {
        "窗口受理",
        "材料审查",
        "现场检查",
        "发证",
    }


def test_diff_refuses_non_bpmn() -> None:
    with pytest.raises(ValidationFailed):
        diff_processes("<x/>", NEW)
    with pytest.raises(ValidationFailed):
        diff_processes("not xml", NEW)


BANK = [
    QuestionSpec(1, "single", ("a", "b", "c"), (1,), ("消防审查",)),
    QuestionSpec(2, "multiple", ("a", "b", "c"), (0, 2), ("消防审查",), points=2),
    QuestionSpec(3, "true_false", ("对", "错"), (0,), ("礼仪",)),
]


def test_grading_all_or_nothing() -> None:
    assert grade(BANK, {"1": 1, "2": [2, 0], "3": [0]}) == 100
    assert grade(BANK, {"1": 1, "2": [0], "3": 0}) == 50  # 2 of 4 points
    assert grade(BANK, {"1": True, "2": [0, 1, 2], "3": "0"}) == 0
    assert grade(BANK, {}) == 0


def test_question_checks_and_paper_drawing() -> None:
    with pytest.raises(ValidationFailed):
        check_question("single", ["a", "b"], [0, 1])
    with pytest.raises(ValidationFailed):
        check_question("true_false", ["a", "b", "c"], [0])
    with pytest.raises(ValidationFailed):
        check_question("essay", ["a", "b"], [0])
    paper = draw_paper(BANK, 2, ["消防审查"], random.Random(1))
    assert sorted(paper) == [1, 2]
    with pytest.raises(ValidationFailed, match="needs 3"):
        draw_paper(BANK, 3, ["消防审查"], random.Random(1))


def test_did_by_hand() -> None:
    people = [
        PersonPeriods("t1", True, 200, 10, 120, 10),  # 20 -> 12
        PersonPeriods("t2", True, 100, 5, 60, 5),  # 20 -> 12
        PersonPeriods("t3", True, 400, 20, 240, 20),  # 20 -> 12: pooled 20 -> 12
        PersonPeriods("c1", False, 100, 10, 90, 10),  # 10 -> 9
        PersonPeriods("c2", False, 50, 5, 45, 5),  # 10 -> 9
        PersonPeriods("c3", False, 200, 20, 180, 20),  # 10 -> 9: pooled 10 -> 9
    ]
    effect = did(people, draws=50)
    assert effect.estimate == pytest.approx(-7.0)
    assert effect.reason is None
    assert effect.conclusive


@pytest.mark.parametrize(("trained", "others"), [(1, 5), (2, 5), (5, 2), (1, 2)])
def test_too_few_people_is_no_effect(trained: int, others: int) -> None:
    people = [PersonPeriods(f"t{i}", True, 200, 10, 100, 10) for i in range(trained)]
    people += [PersonPeriods(f"c{i}", False, 100, 10, 100, 10) for i in range(others)]
    effect = did(people, draws=50)
    assert effect.estimate is None
    assert effect.low is None
    assert effect.high is None
    assert not effect.conclusive
    assert not effect.significant
    assert effect.reason is not None
    assert "not enough people to conclude" in effect.reason
    assert f"{trained} trained, {others} not" in effect.reason
    # the groups' own means stay visible as description
    assert effect.treated_before == pytest.approx(20.0)
    assert effect.treated_after == pytest.approx(10.0)


def test_did_without_controls_says_so() -> None:
    effect = did([PersonPeriods("t1", True, 1, 1, 1, 1)])
    assert effect.estimate is None
    assert effect.reason is not None
    assert "comparable" in effect.reason


def test_did_recovers_a_known_effect_on_generated_data() -> None:
    rng = random.Random(7)
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    cut = t0 + timedelta(days=30)
    rows: list[Completion] = []
    trained = {f"t{i}": cut for i in range(8)}
    for person in [*trained, *(f"c{i}" for i in range(12))]:
        base = rng.uniform(20, 40) + (15 if person in trained else 0)
        for day in range(60):
            at = t0 + timedelta(days=day, hours=rng.uniform(0, 8))
            trend = -0.05 * day  # everyone gets a little faster
            effect = -10.0 if person in trained and at >= cut else 0.0
            minutes = base + trend + effect + rng.gauss(0, 3)
            rows.append(
                Completion(person, "审查", f"{person}-{day}", at, minutes, False, False, None)
            )
    result = did_from_completions(rows, "审查", trained, draws=400, seed=3)
    assert result.estimate == pytest.approx(-10.0, abs=1.5)
    assert result.low is not None
    assert result.high is not None
    assert result.low < -10.0 < result.high
    assert result.significant
    assert result.treated == 8
    assert result.controls == 12
    none = did_from_completions(rows, "审查", {}, draws=10)
    assert none.estimate is None
