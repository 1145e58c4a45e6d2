"""The rewrites a BPMN file gets in memory before the engine reads it, so that models drawn in
other tools run as drawn: JUEL and FEEL expressions translated to the restricted language,
Camunda 8 (Zeebe) extensions read as their Camunda 7 equivalents, implicit BPMN semantics
(splits after activities, starts and ends of sub-processes) drawn out, documentation-only
data stores dropped; and the references between events and messages, signals, errors and
escalations checked.

The stored BPMN file stays the modeller's; the stored process spec holds what the engine read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree

from onewindow.workflow import dialects

__all__ = [
    "BPMN_NS",
    "CAMUNDA_NS",
    "DIALECT_FAILED",
    "DIALECT_ORIGINAL",
    "NS",
    "ZEEBE_NS",
    "ProcessProblem",
    "local_name",
    "make_flows_explicit",
    "node_text",
    "quoted",
    "reference_problems",
    "translate_dialects",
]

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS = "http://camunda.org/schema/1.0/bpmn"
ZEEBE_NS = "http://camunda.org/schema/zeebe/1.0"
NS = {"bpmn": BPMN_NS, "camunda": CAMUNDA_NS}


@dataclass(frozen=True)
class ProcessProblem:
    element_id: str | None
    message: str


def local_name(tag: Any) -> str:
    return etree.QName(tag).localname if isinstance(tag, str) else ""


def node_text(element: Any) -> str:
    return (element.text or "").strip() if element is not None else ""


def quoted(src: str) -> str:
    text = " ".join(src.split())
    return '"' + (text if len(text) <= 120 else text[:117] + "...") + '"'


# --- JUEL and FEEL ------------------------------------------------------------------------

# Marks left on the in-memory tree by the translation (never stored: the stored BPMN is the
# modeller's file, the stored spec holds the translated text).
DIALECT_ORIGINAL = "{urn:onewindow:dialects}original"
DIALECT_FAILED = "{urn:onewindow:dialects}failed"
# A timer written the Camunda way, as a bare ISO 8601 value rather than a quoted expression.
_BARE_ISO = re.compile(
    r"(R\d*/)?(P[0-9YMWDTHS.,]+|\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?)"
    r"(/P[0-9YMWDTHS.,]+)?"
)

_CRON_FIELD = r"(?:[0-9*?/,#LW-]+|[A-Z]{3}(?:-[A-Z]{3})?)"
_CRON = re.compile(rf"{_CRON_FIELD}(?:\s+{_CRON_FIELD}){{4,6}}")


def _translate_node(element_id: str | None, what: str, node: Any) -> list[ProcessProblem]:
    src = node.text or ""
    if dialects.dialect_of(src) is None:
        return []
    try:
        translated = dialects.translate(src)
    except dialects.DialectError as exc:
        node.set(DIALECT_FAILED, "1")
        return [ProcessProblem(element_id, f"{what} {quoted(src)}: {exc}")]
    node.set(DIALECT_ORIGINAL, src.strip())
    node.text = translated
    return []


def translate_dialects(root: Any) -> list[ProcessProblem]:
    """Rewrite the JUEL/FEEL expressions of a parsed BPMN file into the restricted language, in
    place, before anything reads them; returns the ones outside the translated subset."""
    problems: list[ProcessProblem] = []
    for element in root.iter():
        kind = local_name(element.tag)
        parent = element.getparent()
        owner = parent.get("id") if parent is not None else None
        if kind == "conditionExpression":
            problems += _translate_node(owner, "condition", element)
        elif kind == "condition" and parent is not None:
            event = parent.getparent()
            event_id = event.get("id") if event is not None else None
            problems += _translate_node(event_id, "event condition", element)
        elif kind in ("completionCondition", "loopCardinality"):
            task = parent.getparent() if parent is not None else None
            what = "completion condition" if kind == "completionCondition" else "loop cardinality"
            problems += _translate_node(task.get("id") if task is not None else None, what, element)
        elif kind in ("timeDate", "timeDuration", "timeCycle"):
            event = parent.getparent() if parent is not None else None
            event_id = event.get("id") if event is not None else None
            text = (element.text or "").strip()
            if _BARE_ISO.fullmatch(text) or (kind == "timeCycle" and _CRON.fullmatch(text)):
                element.set(DIALECT_ORIGINAL, text)
                element.text = repr(text)
            else:
                problems += _translate_node(event_id, f"timer {kind}", element)
        elif kind == "multiInstanceLoopCharacteristics":
            _from_zeebe_loop(element)
            problems += _translate_collection(owner, element)
        elif kind == "calledElement" and etree.QName(element.tag).namespace == ZEEBE_NS:
            # Camunda 8 names the called process in an extension; Camunda 7 and BPMN in the
            # call activity's own attribute.
            activity = parent.getparent() if parent is not None else None
            if activity is not None and not activity.get("calledElement"):
                if element.get("processId"):
                    activity.set("calledElement", str(element.get("processId")))
        elif kind == "script" and parent is not None and local_name(parent.tag) == "scriptTask":
            problems += _translate_script(owner, parent, element)
    return problems


_EVENT_REFS = {
    "messageEventDefinition": ("messageRef", "message"),
    "signalEventDefinition": ("signalRef", "signal"),
    "errorEventDefinition": ("errorRef", "error"),
    "escalationEventDefinition": ("escalationRef", "escalation"),
}


def reference_problems(root: Any) -> list[ProcessProblem]:
    """Events that refer to a message, signal, error or escalation the file does not define,

    Changes the tree in place: a message or signal without a name is named by its id
    (modelling tools often leave the name out; the name is what a department system sends);
    data stores and their associations are dropped, like plain tasks they document a system
    outside the platform (a case keeps its data in its variables).
    """
    _drop_data_stores(root)
    problems: list[ProcessProblem] = []
    defined: dict[str, set[str]] = {kind: set() for _, kind in _EVENT_REFS.values()}
    for element in root:
        kind = local_name(element.tag)
        if kind in defined and element.get("id"):
            defined[kind].add(str(element.get("id")))
            if kind in ("message", "signal") and not element.get("name"):
                element.set("name", str(element.get("id")))
    for element in root.iter():
        ref_kind = _EVENT_REFS.get(local_name(element.tag))
        if ref_kind is None:
            continue
        attribute, kind = ref_kind
        ref = element.get(attribute)
        if ref and ref not in defined[kind]:
            parent = element.getparent()
            problems.append(
                ProcessProblem(
                    parent.get("id") if parent is not None else element.get("id"),
                    f"{kind} event refers to {kind} {ref!r}, which the file does not define",
                )
            )
    return problems


_ACTIVITIES = frozenset(
    {"task", "userTask", "manualTask", "serviceTask", "scriptTask", "sendTask", "receiveTask"}
    | {"businessRuleTask", "callActivity", "subProcess", "transaction"}
)
_CONTAINERS = frozenset({"process", "subProcess", "transaction"})


def _fresh_id(taken: set[str], wanted: str) -> str:
    candidate, n = wanted, 1
    while candidate in taken:
        n += 1
        candidate = f"{wanted}{n}"
    taken.add(candidate)
    return candidate


def make_flows_explicit(root: Any) -> None:
    """Write out, in place, implicit BPMN semantics the engine needs drawn: an activity with
    several outgoing flows (a parallel split, or an inclusive one when flows carry conditions),
    a sub-process without a start event (every node without incoming flow starts) or without
    an end event (every node without outgoing flow ends its path)."""
    taken = {str(el.get("id")) for el in root.iter() if el.get("id")}
    for container in [el for el in root.iter() if local_name(el.tag) in _CONTAINERS]:
        flows = [c for c in container if local_name(c.tag) == "sequenceFlow"]
        nodes = [c for c in container if c.get("id") and local_name(c.tag) not in ("sequenceFlow",)]
        for node in nodes:
            node_id = str(node.get("id"))
            outgoing = [f for f in flows if f.get("sourceRef") == node_id]
            if local_name(node.tag) not in _ACTIVITIES or len(outgoing) < 2:
                continue
            conditional = any(f.find("bpmn:conditionExpression", NS) is not None for f in outgoing)
            kind = "inclusiveGateway" if conditional else "parallelGateway"
            gateway_id = _fresh_id(taken, f"{node_id}_split")
            gateway = etree.SubElement(container, f"{{{BPMN_NS}}}{kind}", id=gateway_id)
            if node.get("default"):
                gateway.set("default", str(node.attrib.pop("default")))
            for flow in outgoing:
                flow.set("sourceRef", gateway_id)
                # Next to conditional flows, a flow without a condition is always taken.
                if conditional and flow.find("bpmn:conditionExpression", NS) is None:
                    if flow.get("id") != gateway.get("default"):
                        always = etree.SubElement(flow, f"{{{BPMN_NS}}}conditionExpression")
                        always.text = "True"
            _add_flow(container, taken, node_id, gateway_id)
        if local_name(container.tag) != "process":
            # Again: the splits above added flows and gateways.
            flows = [c for c in container if local_name(c.tag) == "sequenceFlow"]
            nodes = [c for c in container if c.get("id") and local_name(c.tag) != "sequenceFlow"]
            _add_implicit_start(container, flows, nodes, taken)
            _add_implicit_ends(container, flows, nodes, taken)


def _flow_node(node: Any) -> bool:
    kind = local_name(node.tag)
    return (
        (kind in _ACTIVITIES or kind.endswith(("Gateway", "Event")))
        and kind != "boundaryEvent"
        and node.get("isForCompensation") != "true"
        and node.get("triggeredByEvent") != "true"
    )


def _add_flow(container: Any, taken: set[str], source: str, target: str) -> None:
    etree.SubElement(
        container,
        f"{{{BPMN_NS}}}sequenceFlow",
        id=_fresh_id(taken, f"{source}_to_{target}"),
        sourceRef=source,
        targetRef=target,
    )


def _add_implicit_start(
    container: Any, flows: list[Any], nodes: list[Any], taken: set[str]
) -> None:
    """Every node of a sub-process without incoming flow starts (BPMN's implicit start)."""
    if any(local_name(n.tag) == "startEvent" for n in nodes):
        return
    targets = {f.get("targetRef") for f in flows}
    starts = [n for n in nodes if n.get("id") not in targets and _flow_node(n)]
    if not starts:
        return
    start_id = _fresh_id(taken, f"{container.get('id')}_start")
    etree.SubElement(container, f"{{{BPMN_NS}}}startEvent", id=start_id)
    source = start_id
    if len(starts) > 1:
        source = _fresh_id(taken, f"{container.get('id')}_start_split")
        etree.SubElement(container, f"{{{BPMN_NS}}}parallelGateway", id=source)
        _add_flow(container, taken, start_id, source)
    for node in starts:
        _add_flow(container, taken, source, str(node.get("id")))


def _add_implicit_ends(container: Any, flows: list[Any], nodes: list[Any], taken: set[str]) -> None:
    """Each node of a sub-process without outgoing flow ends a path (BPMN's implicit end)."""
    if any(local_name(n.tag) == "endEvent" for n in nodes):
        return
    sources = {f.get("sourceRef") for f in flows}
    for node in nodes:
        if node.get("id") in sources or not _flow_node(node):
            continue
        end_id = _fresh_id(taken, f"{node.get('id')}_end")
        etree.SubElement(container, f"{{{BPMN_NS}}}endEvent", id=end_id)
        _add_flow(container, taken, str(node.get("id")), end_id)


def _drop_data_stores(root: Any) -> None:
    stores = {"dataStore", "dataStoreReference"}
    dropped = {str(el.get("id")) for el in root.iter() if local_name(el.tag) in stores}
    if not dropped:
        return
    doomed = []
    for element in root.iter():
        kind = local_name(element.tag)
        if kind in stores:
            doomed.append(element)
        elif kind in ("dataInputAssociation", "dataOutputAssociation"):
            refs = [
                node_text(r) for r in element if local_name(r.tag) in ("sourceRef", "targetRef")
            ]
            if any(ref in dropped for ref in refs):
                doomed.append(element)
    for element in doomed:
        parent = element.getparent()
        if parent is not None:
            parent.remove(element)


def _from_zeebe_loop(loop: Any) -> None:
    """Camunda 8's ``zeebe:loopCharacteristics`` (``inputCollection``, ``inputElement``) as the
    Camunda 7 attributes the multi-instance parsing reads."""
    for extension in loop.iterfind("bpmn:extensionElements", NS):
        for zeebe in extension:
            if etree.QName(zeebe.tag) != etree.QName(ZEEBE_NS, "loopCharacteristics"):
                continue
            collection = zeebe.get("inputCollection")
            if collection and loop.get(f"{{{CAMUNDA_NS}}}collection") is None:
                loop.set(f"{{{CAMUNDA_NS}}}collection", collection)
            element = zeebe.get("inputElement")
            if element and loop.get(f"{{{CAMUNDA_NS}}}elementVariable") is None:
                loop.set(f"{{{CAMUNDA_NS}}}elementVariable", element)


def _translate_collection(task_id: str | None, loop: Any) -> list[ProcessProblem]:
    attribute = f"{{{CAMUNDA_NS}}}collection"
    src = loop.get(attribute)
    if src is None or dialects.dialect_of(src) is None:
        return []
    try:
        translated = dialects.translate(src)
    except dialects.DialectError as exc:
        return [ProcessProblem(task_id, f"multi-instance collection {quoted(src)}: {exc}")]
    name = translated.strip("() ")
    if not name.isidentifier():
        return [
            ProcessProblem(
                task_id,
                f"multi-instance collection {quoted(src)}: name the list variable itself "
                "(e.g. ${reviewers}), not an expression",
            )
        ]
    loop.set(attribute, name)
    return []


def _translate_script(task_id: str | None, task: Any, script: Any) -> list[ProcessProblem]:
    """A JUEL/FEEL script is one expression whose value goes to ``camunda:resultVariable``."""
    src = script.text or ""
    if dialects.dialect_of(src) is None:
        return []
    result = task.get(f"{{{CAMUNDA_NS}}}resultVariable")
    if not result or not result.isidentifier() or result.startswith("_"):
        script.set(DIALECT_FAILED, "1")
        return [
            ProcessProblem(
                task_id,
                f"script {quoted(src)} is a single expression: the script task needs "
                "camunda:resultVariable naming the variable it sets",
            )
        ]
    problems = _translate_node(task_id, "script", script)
    if not problems:
        script.text = f"{result} = {script.text}"
    return problems
