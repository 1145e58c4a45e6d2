"""One small model per BPMN element of the coverage table in docs/process-authoring.md: it
validates and a case runs to its end (driven as the MIWG models are), or validate refuses it
in one line naming the element."""

from __future__ import annotations

import pytest

from onewindow.workflow.engine import validate_bpmn

from .test_miwg import drive

HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?><bpmn:definitions '
    'xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="D" targetNamespace="x">'
    '<bpmn:message id="m" name="go"/><bpmn:signal id="sg" name="sg"/>'
    '<bpmn:escalation id="x" escalationCode="c"/>'
    '<bpmn:process id="p" isExecutable="true">{}</bpmn:process></bpmn:definitions>'
)
START = '<bpmn:startEvent id="s"/>'
END = '<bpmn:endEvent id="e"/>'


def model(*nodes: str, extra: str = "") -> bytes:
    """``nodes`` in a row from a start to an end event (each XML with the id ``nN``)."""
    ids = ["s", *(f"n{i}" for i in range(len(nodes))), "e"]
    body = START + "".join(n.format(id=f"n{i}") for i, n in enumerate(nodes)) + END + extra
    flows = "".join(
        f'<bpmn:sequenceFlow id="f{i}" sourceRef="{a}" targetRef="{b}"/>'
        for i, (a, b) in enumerate(zip(ids, ids[1:], strict=False))
    )
    return HEAD.format(body + flows).encode()


TIMER = (
    "<bpmn:timerEventDefinition><bpmn:timeDuration>PT1H</bpmn:timeDuration>"
    "</bpmn:timerEventDefinition>"
)

RUNS = {
    "userTask": '<bpmn:userTask id="{id}"/>',
    "manualTask": '<bpmn:manualTask id="{id}"/>',
    "task": '<bpmn:task id="{id}"/>',
    "serviceTask": '<bpmn:serviceTask id="{id}"/>',
    "sendTask": '<bpmn:sendTask id="{id}" messageRef="m"/>',
    "receiveTask": '<bpmn:receiveTask id="{id}" messageRef="m"/>',
    "scriptTask": '<bpmn:scriptTask id="{id}"><bpmn:script>fee = 2 * 3</bpmn:script>'
    "</bpmn:scriptTask>",
    "timer catch": f'<bpmn:intermediateCatchEvent id="{{id}}">{TIMER}'
    "</bpmn:intermediateCatchEvent>",
    "message catch": '<bpmn:intermediateCatchEvent id="{id}"><bpmn:messageEventDefinition '
    'messageRef="m"/></bpmn:intermediateCatchEvent>',
    "message throw": '<bpmn:intermediateThrowEvent id="{id}"><bpmn:messageEventDefinition '
    'messageRef="m"/></bpmn:intermediateThrowEvent>',
    "escalation throw": '<bpmn:intermediateThrowEvent id="{id}"><bpmn:escalationEventDefinition '
    'escalationRef="x"/></bpmn:intermediateThrowEvent>',
    "conditional catch": '<bpmn:intermediateCatchEvent id="{id}"><bpmn:conditionalEventDefinition>'
    "<bpmn:condition>True</bpmn:condition></bpmn:conditionalEventDefinition>"
    "</bpmn:intermediateCatchEvent>",
    "transaction": '<bpmn:transaction id="{id}"><bpmn:task id="{id}_t"/></bpmn:transaction>',
    "subProcess without start event": '<bpmn:subProcess id="{id}"><bpmn:task id="{id}_a"/>'
    '<bpmn:task id="{id}_b"/></bpmn:subProcess>',
    "task with two outgoing flows": '<bpmn:task id="{id}"/>',
}


@pytest.mark.parametrize("element", sorted(RUNS))
def test_element_runs(element: str) -> None:
    extra = ""
    if element == "task with two outgoing flows":
        extra = '<bpmn:endEvent id="e2"/><bpmn:sequenceFlow id="x2" sourceRef="n0" targetRef="e2"/>'
    xml = model(RUNS[element], extra=extra)
    assert validate_bpmn(xml) == []
    drive(xml)


def test_timer_and_message_start_events_run() -> None:
    for definition in (TIMER, '<bpmn:messageEventDefinition messageRef="m"/>'):
        xml = model().replace(
            START.encode(), f'<bpmn:startEvent id="s">{definition}</bpmn:startEvent>'.encode()
        )
        assert validate_bpmn(xml) == []
        assert drive(xml) == 1


def test_signal_thrown_and_caught_inside_the_process_runs() -> None:
    body = (
        '<bpmn:startEvent id="s"/><bpmn:parallelGateway id="pg"/><bpmn:parallelGateway id="j"/>'
        '<bpmn:intermediateCatchEvent id="c"><bpmn:signalEventDefinition signalRef="sg"/>'
        '</bpmn:intermediateCatchEvent><bpmn:intermediateThrowEvent id="t">'
        '<bpmn:signalEventDefinition signalRef="sg"/></bpmn:intermediateThrowEvent>'
        '<bpmn:endEvent id="e"/>'
        '<bpmn:sequenceFlow id="a" sourceRef="s" targetRef="pg"/>'
        '<bpmn:sequenceFlow id="b" sourceRef="pg" targetRef="c"/>'
        '<bpmn:sequenceFlow id="c1" sourceRef="pg" targetRef="t"/>'
        '<bpmn:sequenceFlow id="d" sourceRef="c" targetRef="j"/>'
        '<bpmn:sequenceFlow id="e1" sourceRef="t" targetRef="j"/>'
        '<bpmn:sequenceFlow id="f" sourceRef="j" targetRef="e"/>'
    )
    xml = HEAD.format(body).encode()
    assert validate_bpmn(xml) == []
    drive(xml)


REFUSED = {
    "complexGateway": ('<bpmn:complexGateway id="{id}"/>', "complex gateways are not supported"),
    "adHocSubProcess": (
        '<bpmn:adHocSubProcess id="{id}"><bpmn:task id="{id}_t"/></bpmn:adHocSubProcess>',
        "ad-hoc sub-processes are not supported",
    ),
    "standard loop": (
        '<bpmn:task id="{id}"><bpmn:standardLoopCharacteristics/></bpmn:task>',
        "standard loops are not supported",
    ),
    "empty subProcess": ('<bpmn:subProcess id="{id}"/>', "sub-process is empty"),
    "signal catch nothing throws": (
        '<bpmn:intermediateCatchEvent id="{id}"><bpmn:signalEventDefinition signalRef="sg"/>'
        "</bpmn:intermediateCatchEvent>",
        "nothing in the process throws this signal",
    ),
    "undefined message": (
        '<bpmn:intermediateCatchEvent id="{id}"><bpmn:messageEventDefinition '
        'messageRef="nowhere"/></bpmn:intermediateCatchEvent>',
        "refers to message 'nowhere', which the file does not define",
    ),
    "callActivity to an unknown process": (
        '<bpmn:callActivity id="{id}" calledElement="elsewhere"/>',
        "which is not in the catalogue",
    ),
}


@pytest.mark.parametrize("element", sorted(REFUSED))
def test_element_refused_in_one_line_naming_it(element: str) -> None:
    node, words = REFUSED[element]
    problems = validate_bpmn(model(node))
    assert [p.element_id for p in problems] == ["n0"]
    assert words in problems[0].message
    assert "\n" not in problems[0].message
