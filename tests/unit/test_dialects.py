"""JUEL (Camunda 7) and FEEL (Camunda 8) expressions: translated into the restricted language at
load, or refused naming the element and quoting the expression."""

from pathlib import Path
from typing import Any

import pytest

from onewindow.workflow.dialects import DialectError, dialect_of, translate
from onewindow.workflow.engine import EngineCase, compile_bpmn, validate_bpmn
from onewindow.workflow.expressions import check_expression, evaluate

from .test_engine_constructs import T0, do

FIXTURES = Path(__file__).parent / "fixtures" / "constructs"
DATA: dict[str, Any] = {
    "amount": 1500,
    "kind": "business",
    "order": {"total": 7, "lines": [1, 2]},
    "done": False,
    "note": None,
    "tags": [],
}


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("${amount > 1000}", True),
        ("#{amount <= 1000}", False),
        ("${amount gt 1000 and kind eq 'business'}", True),
        ('${kind == "person" || !done}', True),
        ("${not done && order.total >= 7}", True),
        ("${order['total'] * 2 div 4}", 3.5),
        ("${amount mod 7 + -1}", 1),
        ("${empty tags and not empty order.lines}", True),
        ("${empty note}", True),
        ("${amount > 1000 ? 'high' : 'low'}", "high"),
        ("${note == null}", True),
        ("  ${ amount ne 1500 }  ", False),
    ],
)
def test_juel_translates_and_evaluates(src: str, expected: Any) -> None:
    assert dialect_of(src) == "JUEL"
    ours = translate(src)
    assert check_expression(ours) == []
    assert evaluate(ours, DATA) == expected


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("= amount > 1000", True),
        ('=kind = "business"', True),
        ('= kind != "business" or amount >= 1500', True),
        ("= not(done) and order.total < 10", True),
        ("= (amount - 500) / 2 * 3 ** 2", 4500),
        ("= amount in [1000, 1500]", True),
        ('= kind in ("person", "business")', True),
        ("= amount in [1000..2000]", True),
        ("= amount in ]1500..2000]", False),
        ("= amount between 1000 and 1500", True),
        ("= note = null", True),
        ('= if amount > 1000 then "high" else "low"', "high"),
        ("= count(order.lines) = 2 and sum(order.lines) = 3", True),
        ("= max(1, amount, 3) + min(order.lines) + abs(-1)", 1502),
        ('= "说明" = "说明"', True),
        ("= .5 + 1.5", 2.0),
    ],
)
def test_feel_translates_and_evaluates(src: str, expected: Any) -> None:
    assert dialect_of(src) == "FEEL"
    ours = translate(src)
    assert check_expression(ours) == []
    assert evaluate(ours, DATA) == expected


def test_our_own_language_is_left_alone() -> None:
    assert dialect_of("amount > 1000") is None
    assert translate("amount > 1000") == "amount > 1000"


@pytest.mark.parametrize(
    ("src", "message"),
    [
        ("${order.getTotal() > 5}", "JUEL: method call getTotal() is not supported"),
        ('${execution.getVariable("x")}', "method call getVariable()"),
        ("${fn:length(tags) > 0}", "JUEL: function fn:length() is not supported"),
        ("${size(tags)}", "JUEL: function call size() is not supported"),
        ("${x instanceof y}", "instanceof is not supported"),
        ("amount ${x}", "text mixed with ${…} is not supported"),
        ("${amount >}", "JUEL: expected a value, found the end"),
        ("${}", "JUEL: empty ${}"),
        ("${'open}", "JUEL: string not closed"),
        ("${__import__}", "starts with an underscore"),
        ("= substring(kind, 1)", "FEEL: function substring() is not supported"),
        ("= date(x) > today()", "FEEL: function date() is not supported"),
        ("= tags[1]", "filters and indexes"),
        ("= {a: 1}", "contexts ({…}) are not supported"),
        ('= some r in tags satisfies r = "red"', "'some' expressions are not supported"),
        ("= x instance of number", "'instance of' is not supported"),
        ("=", "FEEL: nothing after '='"),
        ("= a b", "unexpected text after the expression, found 'b'"),
        ("= a @ b", "unexpected character '@'"),
    ],
)
def test_outside_the_subset_is_refused_saying_what(src: str, message: str) -> None:
    with pytest.raises(DialectError) as info:
        translate(src)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def _countersign(condition: str) -> bytes:
    body = (FIXTURES / "countersign.bpmn").read_text(encoding="utf-8")
    return body.replace("nr_of_approved &gt;= 2</bpmn:conditionExpression>", condition).encode()


def test_a_juel_condition_is_stored_translated_and_runs() -> None:
    xml = _countersign("${nrOfApproved &gt;= 2}</bpmn:conditionExpression>")
    assert validate_bpmn(xml) == []
    process = compile_bpmn(xml)
    assert "${" not in process.spec_state
    assert "(nrOfApproved >= 2)" in process.spec_state
    case = EngineCase.start(process, {"nrOfApproved": 0}, T0)
    for _ in range(2):
        do(case, "Task_joint_review", {"decision": "approve", "nrOfApproved": 2})
    assert case.is_completed()


def test_a_feel_completion_condition_and_collection_translate() -> None:
    xml = (FIXTURES / "sequential.bpmn").read_text(encoding="utf-8")
    xml = xml.replace('camunda:collection="levels"', 'camunda:collection="${levels}"')
    xml = xml.replace("nr_of_rejected &gt;= 1<", "= nr_of_rejected &gt;= 1 or false<")
    process = compile_bpmn(xml.encode())
    case = EngineCase.start(process, {"levels": ["科长", "处长"]}, T0)
    do(case, "Task_level", {"decision": "reject"})
    assert case.is_completed()


@pytest.mark.parametrize(
    ("condition", "quoted", "why"),
    [
        ("${order.getTotal() &gt; 5}", '"${order.getTotal() > 5}"', "method call getTotal()"),
        ("= substring(kind, 1) = &quot;b&quot;", '"= substring(kind, 1) = "b""', "substring()"),
    ],
)
def test_validate_names_the_flow_and_quotes_the_expression(
    condition: str, quoted: str, why: str
) -> None:
    problems = validate_bpmn(_countersign(condition + "</bpmn:conditionExpression>"))
    assert len(problems) == 1
    assert problems[0].element_id == "Flow_approve"
    assert problems[0].message.startswith(f"condition {quoted}: ")
    assert why in problems[0].message


def test_a_plain_syntax_error_quotes_the_expression_too() -> None:
    problems = validate_bpmn(_countersign("amount &gt;</bpmn:conditionExpression>"))
    assert [p.element_id for p in problems] == ["Flow_approve"]
    assert problems[0].message.startswith('condition "amount >": syntax error')


def test_a_juel_collection_that_is_not_a_name_is_refused() -> None:
    xml = (FIXTURES / "sequential.bpmn").read_text(encoding="utf-8")
    xml = xml.replace('camunda:collection="levels"', 'camunda:collection="${a.b}"')
    problems = validate_bpmn(xml.encode())
    assert [p.element_id for p in problems] == ["Task_level"]
    assert "name the list variable itself" in problems[0].message


def test_bare_iso_timer_values_are_literals_and_cron_is_explained() -> None:
    xml = (FIXTURES / "event_gateway.bpmn").read_text(encoding="utf-8")
    assert '"P3D"' in xml
    bare = xml.replace('"P3D"', "P3D")
    process = compile_bpmn(bare.encode())
    case = EngineCase.start(process, {}, T0)
    do(case, "Task_review", {})
    assert case.next_timer_due() is not None
    cron = xml.replace("<bpmn:timeDuration", "<bpmn:timeCycle").replace(
        "</bpmn:timeDuration>", "</bpmn:timeCycle>"
    )
    cron = cron.replace('"P3D"', "0 0 9 * * ?")
    problems = validate_bpmn(cron.encode())
    assert len(problems) == 1
    assert "is a cron expression; write an ISO 8601 repeating interval" in problems[0].message


def test_a_called_process_drawn_the_camunda_way_is_read_as_when_compiled_alone() -> None:
    # Its task has two outgoing flows, one with a JUEL condition (an implicit inclusive split).
    site = (FIXTURES / "site_check.bpmn").read_text(encoding="utf-8")
    site = site.replace(
        '<bpmn:sequenceFlow id="F2" sourceRef="Task_site" targetRef="End_1"/>',
        '<bpmn:sequenceFlow id="F2" sourceRef="Task_site" targetRef="End_1"/>'
        '<bpmn:endEvent id="End_flagged"/>'
        '<bpmn:sequenceFlow id="F3" sourceRef="Task_site" targetRef="End_flagged">'
        "<bpmn:conditionExpression>${site_ok == false}</bpmn:conditionExpression>"
        "</bpmn:sequenceFlow>",
    )
    caller = (FIXTURES / "calls_site_check.bpmn").read_bytes()
    assert validate_bpmn(caller, called={"site_check": site.encode()}) == []
    called = {"site_check": compile_bpmn(site.encode())}
    process = compile_bpmn(caller, called={"site_check": site.encode()})
    case = EngineCase.start(process, {}, T0, called)
    do(case, "Task_accept", {"area": 120})
    do(case, "Task_site", {"site_ok": False})
    do(case, "Task_issue", {})
    assert case.is_completed()
