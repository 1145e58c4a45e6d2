"""Inline embedded sub-processes and call activities of a BPMN process (lxml only).

The simulator, mining's BPMN → Petri net and the training module's "what changed" diff all
read control flow from one flat process. This module rewrites a copy of the process so that:

- an embedded ``subProcess`` (or ``transaction``) is replaced by its contents: its start
  event becomes a pass-through event that the sub-process's incoming flows lead to, and its
  end events lead to an exclusive merge that keeps the sub-process's id, so the flows
  leaving the sub-process still leave from it;
- a ``callActivity`` is replaced in the same way by a copy of the called process (found in
  the same file, else in ``called``: process id → BPMN bytes), its element ids prefixed with
  ``<call activity id>/`` so a process called twice stays two separate parts;
- the inlined nodes take the lane of the sub-process or call activity when it has one;
- end events reached only from a non-interrupting boundary event end that side branch
  (they do not lead back out of the sub-process);
- a boundary event on a sub-process or call activity is attached to its entry event;
- an activity whose outgoing flows carry conditions (or that names a default flow) gets an
  exclusive gateway ``<id>/choice`` right after it, which those flows leave from, so every
  reader sees the choice as a gateway.

Event sub-processes (``triggeredByEvent``) are removed and reported; call activities to a
process that cannot be found are left in place and reported, as are call cycles.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from lxml import etree

__all__ = [
    "BPMN_NS",
    "Flattened",
    "MultiScope",
    "executable_process",
    "flatten_process",
    "local_name",
]

BPMN_NS: Final = "http://www.omg.org/spec/BPMN/20100524/MODEL"
_B: Final = f"{{{BPMN_NS}}}"
_SCOPES: Final = frozenset({"subProcess", "transaction", "callActivity"})
_MAX_DEPTH: Final = 8
_REF_ATTRS: Final = ("sourceRef", "targetRef", "attachedToRef", "default")
_NOT_MOVED: Final = frozenset(
    {
        "laneSet",
        "ioSpecification",
        "property",
        "multiInstanceLoopCharacteristics",
        "standardLoopCharacteristics",
        "incoming",
        "outgoing",
        "documentation",
        "extensionElements",
    }
)


def local_name(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


@dataclass
class Flattened:
    """The flat process element and what the flattening could not do."""

    process: Any  # lxml element (a copy; the input tree is not changed)
    inlined: list[str] = field(default_factory=list)  # ids of inlined scopes
    # element id -> one plain sentence: unresolved call activities, cycles, event sub-processes
    problems: dict[str, str] = field(default_factory=dict)
    # boundary event id -> the sub-process / call activity it was attached to
    scope_boundaries: dict[str, str] = field(default_factory=dict)
    # multi-instance sub-process / call activity id (now its exit) -> how it repeats
    multi_scopes: dict[str, MultiScope] = field(default_factory=dict)


@dataclass(frozen=True)
class MultiScope:
    """A multi-instance sub-process or call activity, inlined once: its instances run the
    inlined part from ``entry`` to ``exit`` (the scope's id) several times."""

    entry: str
    exit: str
    sequential: bool
    cardinality: int | None  # None: over a collection
    condition: str | None


def executable_process(root: Any) -> Any | None:
    """The process marked ``isExecutable="true"`` (the first one), or None."""
    for process in root.iter(f"{_B}process"):
        if process.get("isExecutable") == "true":
            return process
    return None


def _parse(data: bytes) -> Any | None:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None


def _called_process(
    name: str, root: Any, called: Mapping[str, bytes], cache: dict[str, Any]
) -> Any | None:
    for process in root.iter(f"{_B}process"):
        if process.get("id") == name:
            return process
    if name not in called:
        return None
    if name not in cache:
        parsed = _parse(called[name])
        found = None
        if parsed is not None:
            found = next((p for p in parsed.iter(f"{_B}process") if p.get("id") == name), None)
            if found is None:
                found = executable_process(parsed)
        cache[name] = found
    return cache[name]


def _prefix_ids(body: Any, prefix: str) -> None:
    for el in body.iter():
        if not isinstance(el.tag, str):
            continue
        if el.get("id"):
            el.set("id", prefix + str(el.get("id")))
        for attr in _REF_ATTRS:
            if el.get(attr):
                el.set(attr, prefix + str(el.get(attr)))
        if local_name(el.tag) in ("incoming", "outgoing", "flowNodeRef") and el.text:
            el.text = prefix + el.text.strip()


def _lane_of(process: Any, node_id: str) -> Any | None:
    found = None
    for lane in process.iter(f"{_B}lane"):
        for ref in lane.findall(f"{_B}flowNodeRef"):
            if (ref.text or "").strip() == node_id:
                found = lane  # the innermost lane wins (iter is document order)
    return found


def _side_ends(body: Any) -> set[str]:
    """End events reached only through non-interrupting boundary events."""
    outgoing: dict[str, list[str]] = {}
    for flow in body.findall(f"{_B}sequenceFlow"):
        outgoing.setdefault(str(flow.get("sourceRef")), []).append(str(flow.get("targetRef")))
    roots = []
    ends: set[str] = set()
    for el in body:
        tag = local_name(el.tag)
        if tag == "startEvent" or (
            tag == "boundaryEvent" and el.get("cancelActivity", "true") != "false"
        ):
            roots.append(str(el.get("id")))
        if tag == "endEvent":
            ends.add(str(el.get("id")))
    seen: set[str] = set()
    while roots:
        node = roots.pop()
        if node in seen:
            continue
        seen.add(node)
        roots.extend(outgoing.get(node, []))
    return ends - seen


def _inline(
    process: Any,
    root: Any,
    called: Mapping[str, bytes],
    result: Flattened,
    stack: tuple[str, ...],
    cache: dict[str, Any],
) -> None:
    for scope in list(process):
        tag = local_name(scope.tag)
        if tag not in _SCOPES:
            continue
        scope_id = str(scope.get("id"))
        if tag == "subProcess" and scope.get("triggeredByEvent") == "true":
            result.problems[scope_id] = "event sub-process: not inlined (left out)"
            process.remove(scope)
            continue
        if tag == "callActivity":
            name = str(scope.get("calledElement") or "")
            target = _called_process(name, root, called, cache) if name else None
            if target is None:
                result.problems[scope_id] = (
                    f"call activity to process {name!r}, which is not in this file or the "
                    "catalogue given"
                )
                continue
            if name in stack or len(stack) >= _MAX_DEPTH:
                result.problems[scope_id] = f"call activity to {name!r} calls itself (a cycle)"
                continue
            body = copy.deepcopy(target)
            _prefix_ids(body, f"{scope_id}/")
            _inline(body, root, called, result, (*stack, name), cache)
        else:
            body = scope
            if not _flow_nodes(body):
                continue  # collapsed, drawn without its inside: an activity of its own
            _inline(body, root, called, result, stack, cache)
        mi = scope.find(f"{_B}multiInstanceLoopCharacteristics")
        entry = _replace(process, scope, body, result)
        if mi is not None and entry is not None:
            cardinality = mi.find(f"{_B}loopCardinality")
            count = (cardinality.text or "").strip() if cardinality is not None else ""
            condition = mi.find(f"{_B}completionCondition")
            result.multi_scopes[scope_id] = MultiScope(
                entry,
                scope_id,
                mi.get("isSequential") == "true",
                int(count) if count.isdigit() else None,
                (condition.text or "").strip() or None if condition is not None else None,
            )


def _replace(process: Any, scope: Any, body: Any, result: Flattened) -> str | None:
    """Put ``body`` in place of ``scope``; the id of its entry (None: nothing enters)."""
    scope_id = str(scope.get("id"))
    starts = [
        el for el in body if local_name(el.tag) == "startEvent" and not _has_definition(el)
    ] or [el for el in body if local_name(el.tag) == "startEvent"]
    side = _side_ends(body)
    thrown = {str(el.get("id")): _thrown(el) for el in body if local_name(el.tag) == "endEvent"}
    thrown = {k: v for k, v in thrown.items() if v is not None}
    ends = [
        el
        for el in body
        if local_name(el.tag) == "endEvent"
        and el.get("id") not in side
        and el.get("id") not in thrown
    ]
    first, last = _open_ends(body) if not starts or not ends else ([], [])
    lane = _lane_of(process, scope_id)
    start_ids = {str(s.get("id")) for s in starts}
    end_ids = {str(e.get("id")) for e in ends}
    moved: list[str] = []
    index = list(process).index(scope)
    for el in list(body):
        tag = local_name(el.tag)
        if tag == "laneSet" and lane is None and body is not scope:
            _adopt_lanes(process, el)
            continue
        if tag in _NOT_MOVED or not el.get("id"):
            continue
        if el.get("id") in start_ids or el.get("id") in end_ids:
            el.tag = f"{_B}intermediateThrowEvent"
            for definition in list(el):
                if local_name(definition.tag).endswith("EventDefinition"):
                    el.remove(definition)
        index += 1
        process.insert(index, el)
        if local_name(el.tag) != "sequenceFlow":
            moved.append(str(el.get("id")))
    # The scope becomes the exclusive merge its ends lead to; incoming flows go to the start.
    for child in list(scope):
        scope.remove(child)
    for attr in list(scope.attrib):
        if attr not in ("id", "name"):
            del scope.attrib[attr]
    scope.tag = f"{_B}exclusiveGateway"
    entry = str(starts[0].get("id")) if starts else None
    if entry is None and first:
        # No start event: every node nothing leads to starts, together.
        entry = f"{scope_id}/enter"
        enter = etree.Element(f"{_B}intermediateThrowEvent")
        enter.set("id", entry)
        process.insert(list(process).index(scope), enter)
        moved.append(entry)
        for i, node_id in enumerate(first):
            flow = etree.SubElement(process, f"{_B}sequenceFlow")
            flow.set("id", f"{scope_id}/enter{i}")
            flow.set("sourceRef", entry)
            flow.set("targetRef", node_id)
    exits = [str(e.get("id")) for e in ends] or last
    for flow in process.findall(f"{_B}sequenceFlow"):
        if flow.get("targetRef") == scope_id and entry is not None:
            flow.set("targetRef", entry)
    for i, end_id in enumerate(exits):
        flow = etree.SubElement(process, f"{_B}sequenceFlow")
        flow.set("id", f"{scope_id}/done{i}")
        flow.set("sourceRef", end_id)
        flow.set("targetRef", scope_id)
    for boundary in process.findall(f"{_B}boundaryEvent"):
        if boundary.get("attachedToRef") != scope_id:
            continue
        caught = _catches(boundary, thrown)
        if caught:
            # An error (escalation) end event inside, caught by this boundary event: the
            # boundary becomes the step after those end events.
            boundary.tag = f"{_B}intermediateThrowEvent"
            del boundary.attrib["attachedToRef"]
            for definition in list(boundary):
                if local_name(definition.tag).endswith("EventDefinition"):
                    boundary.remove(definition)
            for i, end_id in enumerate(caught):
                end = next(e for e in process if e.get("id") == end_id)
                end.tag = f"{_B}intermediateThrowEvent"
                flow = etree.SubElement(process, f"{_B}sequenceFlow")
                flow.set("id", f"{boundary.get('id')}/caught{i}")
                flow.set("sourceRef", end_id)
                flow.set("targetRef", str(boundary.get("id")))
            continue
        if entry is not None:
            boundary.set("attachedToRef", entry)
            result.scope_boundaries[str(boundary.get("id"))] = scope_id
    if lane is not None:
        for node_id in moved:
            if _lane_of(process, node_id) is None:
                ref = etree.SubElement(lane, f"{_B}flowNodeRef")
                ref.text = node_id
    outgoing = [f for f in process.findall(f"{_B}sequenceFlow") if f.get("sourceRef") == scope_id]
    if len(outgoing) > 1 and all(f.find(f"{_B}conditionExpression") is None for f in outgoing):
        # Several plain flows leaving an activity all run: split after the merge.
        split = etree.Element(f"{_B}parallelGateway")
        split.set("id", f"{scope_id}/split")
        process.insert(list(process).index(scope) + 1, split)
        for flow in outgoing:
            flow.set("sourceRef", f"{scope_id}/split")
        link = etree.SubElement(process, f"{_B}sequenceFlow")
        link.set("id", f"{scope_id}/to-split")
        link.set("sourceRef", scope_id)
        link.set("targetRef", f"{scope_id}/split")
    result.inlined.append(scope_id)
    return entry


def _adopt_lanes(process: Any, lane_set: Any) -> None:
    """A called process's lanes become lanes of the caller (ids already prefixed)."""
    target = process.find(f"{_B}laneSet")
    if target is None:
        target = etree.Element(f"{_B}laneSet")
        target.set("id", f"{lane_set.get('id')}")
        process.insert(0, target)
    for lane in lane_set.findall(f"{_B}lane"):
        target.append(lane)


_NOT_FLOW_NODES: Final = _NOT_MOVED | {
    "sequenceFlow",
    "boundaryEvent",
    "textAnnotation",
    "association",
    "dataObject",
    "dataObjectReference",
    "dataStoreReference",
}


def _flow_nodes(body: Any) -> list[Any]:
    return [
        el
        for el in body
        if isinstance(el.tag, str) and el.get("id") and local_name(el.tag) not in _NOT_FLOW_NODES
    ]


def _open_ends(body: Any) -> tuple[list[str], list[str]]:
    """Flow nodes with no incoming / no outgoing sequence flow (a sub-process drawn without
    start or end events starts and ends there)."""
    flows = body.findall(f"{_B}sequenceFlow")
    targets = {f.get("targetRef") for f in flows}
    sources = {f.get("sourceRef") for f in flows}
    nodes = [str(n.get("id")) for n in _flow_nodes(body)]
    return [n for n in nodes if n not in targets], [n for n in nodes if n not in sources]


def _thrown(end: Any) -> tuple[str, str | None] | None:
    """(error | escalation, its reference) that an end event throws, or None."""
    for child in end:
        name = local_name(child.tag)
        if name == "errorEventDefinition":
            return "error", child.get("errorRef")
        if name == "escalationEventDefinition":
            return "escalation", child.get("escalationRef")
    return None


def _catches(boundary: Any, thrown: Mapping[str, tuple[str, str | None] | None]) -> list[str]:
    """The end events (ids) whose error or escalation this boundary event catches."""
    kind = _thrown(boundary)
    if kind is None:
        return []
    found = []
    for end_id, what in thrown.items():
        if what is None or what[0] != kind[0]:
            continue
        if kind[1] is None or what[1] is None or kind[1] == what[1]:
            found.append(end_id)
    return found


def _has_definition(el: Any) -> bool:
    return any(local_name(c.tag).endswith("EventDefinition") for c in el)


def flatten_process(
    process: Any, called: Mapping[str, bytes] | None = None, root: Any | None = None
) -> Flattened:
    """A flat copy of ``process`` (an lxml ``bpmn:process`` element).

    ``called`` maps process ids to BPMN files for call activities to processes not in the
    same file (the catalogue's shared processes). Never raises for BPMN content: what it
    could not inline is in :attr:`Flattened.problems`.
    """
    tree_root = root if root is not None else process.getroottree().getroot()
    flat = copy.deepcopy(process)
    result = Flattened(flat)
    _inline(flat, tree_root, called or {}, result, (str(process.get("id")),), {})
    _choices_after_activities(flat)
    return result


_NOT_ACTIVITIES: Final = frozenset(
    {"exclusiveGateway", "inclusiveGateway", "parallelGateway", "eventBasedGateway"}
    | {"complexGateway"}
)


def _choices_after_activities(process: Any) -> None:
    flows = process.findall(f"{_B}sequenceFlow")
    by_source: dict[str, list[Any]] = {}
    for flow in flows:
        by_source.setdefault(str(flow.get("sourceRef")), []).append(flow)
    for el in list(process):
        if not isinstance(el.tag, str) or local_name(el.tag) in _NOT_ACTIVITIES:
            continue
        element_id = el.get("id")
        outgoing = by_source.get(str(element_id), [])
        conditional = any(f.find(f"{_B}conditionExpression") is not None for f in outgoing)
        default = el.get("default")
        if not element_id or not outgoing or not (conditional or default):
            continue
        choice = etree.Element(f"{_B}exclusiveGateway")
        choice.set("id", f"{element_id}/choice")
        if default:
            choice.set("default", default)
            del el.attrib["default"]
        process.insert(list(process).index(el) + 1, choice)
        for flow in outgoing:
            flow.set("sourceRef", f"{element_id}/choice")
        link = etree.SubElement(process, f"{_B}sequenceFlow")
        link.set("id", f"{element_id}/to-choice")
        link.set("sourceRef", str(element_id))
        link.set("targetRef", f"{element_id}/choice")
        lane = _lane_of(process, str(element_id))
        if lane is not None:
            ref = etree.SubElement(lane, f"{_B}flowNodeRef")
            ref.text = f"{element_id}/choice"
