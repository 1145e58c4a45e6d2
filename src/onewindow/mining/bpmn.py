"""The designed process's control flow: BPMN 2.0 XML → Petri net for token replay.

Read with lxml only (the workflow package owns the BPMN engine). Every sequence flow is a
place; tasks (any activity type, collapsed sub-processes and call activities included) are
visible transitions labelled with their name; everything else is silent:

- start event: from the net's source place to its outgoing flows;
- end event: from each incoming flow to the sink (an end event reachable only through a
  non-interrupting boundary event ends that side branch and produces nothing);
- exclusive / event-based gateway: one silent transition per (incoming, outgoing) pair
  through a gateway place; parallel gateway: one transition from all inputs to all outputs;
- inclusive gateway: one transition per non-empty subset of outputs (split) or inputs
  (join) — the usual local approximation of the OR-join;
- a task with several incoming flows merges them (XOR); several outgoing flows fork (AND);
- boundary event: interrupting ones take the task's input token to their outgoing flows,
  non-interrupting ones put it back as well (error, escalation, message, timer alike);
- multi-instance (会签, 逐级审批) and loop tasks: the task's transition may fire again
  (a silent redo back to its input), so a log with one event per instance replays;
- embedded sub-processes and call activities are inlined first (``kit.bpmn_flatten``):
  their tasks are the net's tasks; a call activity whose process is neither in the file nor
  in ``called`` stays one visible transition, and event sub-processes are left out;
- multi-instance sub-processes and call activities: the inlined part may run again;
- event-based gateways are exclusive choices between their (silent) catch events.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from lxml import etree

from onewindow.kit.bpmn_flatten import flatten_process
from onewindow.kit.errors import ValidationFailed
from onewindow.mining.petri import PetriNet

__all__ = ["BpmnModel", "bpmn_to_petri", "parse_bpmn"]

SOURCE: Final = "p:source"
SINK: Final = "p:sink"
_TASKS: Final = frozenset(
    {
        "task",
        "userTask",
        "serviceTask",
        "scriptTask",
        "businessRuleTask",
        "manualTask",
        "sendTask",
        "receiveTask",
        "callActivity",
        "subProcess",
    }
)
_XOR: Final = frozenset({"exclusiveGateway", "eventBasedGateway", "complexGateway"})
_PASS: Final = frozenset({"intermediateCatchEvent", "intermediateThrowEvent"})
_MAX_SUBSET_ARITY: Final = 6


@dataclass
class _Node:
    id: str
    kind: str
    name: str | None
    incoming: list[str] = field(default_factory=list)
    outgoing: list[str] = field(default_factory=list)
    attached_to: str | None = None
    interrupting: bool = True
    repeats: bool = False  # multi-instance or loop: may fire several times in a row


@dataclass
class BpmnModel:
    """One process of a BPMN file: its flow nodes and sequence flows."""

    process_id: str
    nodes: dict[str, _Node]
    flows: dict[str, tuple[str, str]]
    inlined: list[str] = field(default_factory=list)  # sub-processes / call activities

    @property
    def task_names(self) -> dict[str, str]:
        """Task id → the label its events carry (its name, or the id when unnamed)."""
        return {n.id: n.name or n.id for n in self.nodes.values() if n.kind in _TASKS}


def _local(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def _invalid(message: str, message_zh: str) -> ValidationFailed:
    return ValidationFailed(message, message_zh=message_zh, code="mining.bpmn_invalid")


def parse_bpmn(
    xml: bytes | str,
    process_id: str | None = None,
    called: Mapping[str, bytes] | None = None,
) -> BpmnModel:
    """The (first executable, or named) process of a BPMN 2.0 document, with its embedded
    sub-processes and call activities inlined (``called``: process id → BPMN bytes of the
    processes its call activities call, when not in the same file).

    Raises:
        ValidationFailed: not XML, no process, or a flow naming an unknown node.
    """
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise _invalid(f"not a BPMN XML document: {exc}", f"不是 BPMN XML 文档：{exc}") from exc
    processes = [e for e in root.iter() if _local(e.tag) == "process"]
    if process_id is not None:
        processes = [p for p in processes if p.get("id") == process_id]
    elif len(processes) > 1:
        executable = [p for p in processes if p.get("isExecutable") == "true"]
        processes = executable or processes
    if not processes:
        raise _invalid("no BPMN process found", "未找到 BPMN 流程")
    flat = flatten_process(processes[0], called, root)
    process = flat.process
    nodes: dict[str, _Node] = {}
    flows: dict[str, tuple[str, str]] = {}
    for element in process:
        kind = _local(element.tag)
        ident = element.get("id")
        if ident is None:
            continue
        if kind == "sequenceFlow":
            flows[ident] = (element.get("sourceRef", ""), element.get("targetRef", ""))
        elif kind in {"laneSet", "documentation", "extensionElements", "textAnnotation"}:
            continue
        elif kind in {"association", "dataObject", "dataObjectReference", "dataStoreReference"}:
            continue
        else:
            name = (element.get("name") or "").strip()
            nodes[ident] = _Node(
                ident,
                kind,
                name or None,
                attached_to=element.get("attachedToRef"),
                interrupting=element.get("cancelActivity", "true") != "false",
                repeats=any(
                    _local(child.tag)
                    in ("multiInstanceLoopCharacteristics", "standardLoopCharacteristics")
                    for child in element
                ),
            )
    for exit_id, repeated in flat.multi_scopes.items():
        # A multi-instance sub-process: its inlined part may run again.
        flows[f"{exit_id}/again"] = (exit_id, repeated.entry)
    for flow_id, (source, target) in flows.items():
        if source not in nodes or target not in nodes:
            raise _invalid(
                f"sequence flow {flow_id} connects unknown elements {source} → {target}",
                f"顺序流 {flow_id} 连接了不存在的元素 {source} → {target}",
            )
        nodes[source].outgoing.append(flow_id)
        nodes[target].incoming.append(flow_id)
    return BpmnModel(process.get("id", ""), nodes, flows, list(flat.inlined))


def _subsets(items: list[str]) -> Iterable[tuple[str, ...]]:
    if len(items) > _MAX_SUBSET_ARITY:
        yield from ((i,) for i in items)
        yield tuple(items)
        return
    for size in range(1, len(items) + 1):
        yield from itertools.combinations(items, size)


def _main_reach(model: BpmnModel) -> set[str]:
    """Nodes reachable from the start events and interrupting boundary events (which end
    their task and carry its token on) without passing a non-interrupting one."""
    seen: set[str] = set()
    todo = [n.id for n in model.nodes.values() if n.kind == "startEvent" or not n.incoming]
    todo = [
        n for n in todo if model.nodes[n].kind != "boundaryEvent" or model.nodes[n].interrupting
    ]
    while todo:
        node = todo.pop()
        if node in seen:
            continue
        seen.add(node)
        for flow in model.nodes[node].outgoing:
            todo.append(model.flows[flow][1])
    return seen


def bpmn_to_petri(
    model: BpmnModel | bytes | str, called: Mapping[str, bytes] | None = None
) -> PetriNet:
    """The model's control flow as a Petri net with source → sink markings.

    ``called``: the BPMN of processes call activities call (process id → bytes).

    Raises:
        ValidationFailed: the XML cannot be parsed (when given as text).
    """
    bpmn = model if isinstance(model, BpmnModel) else parse_bpmn(model, called=called)
    net = PetriNet()
    net.add_place(SOURCE)
    net.add_place(SINK)
    net.initial = {SOURCE: 1}
    net.final = {SINK: 1}
    for flow in bpmn.flows:
        net.add_place(f"p:{flow}")
    main = _main_reach(bpmn)

    def entry(node: _Node) -> str:
        """The place a node's token waits in: its one incoming flow, or a merge place."""
        if len(node.incoming) == 1:
            return f"p:{node.incoming[0]}"
        place = net.add_place(f"p:in:{node.id}")
        for flow in node.incoming:
            net.add_transition(f"t:merge:{flow}:{node.id}", None, [f"p:{flow}"], [place])
        return place

    outs = {n.id: [f"p:{f}" for f in n.outgoing] for n in bpmn.nodes.values()}
    boundaries: dict[str, list[_Node]] = {}
    for node in bpmn.nodes.values():
        if node.kind == "boundaryEvent" and node.attached_to:
            boundaries.setdefault(node.attached_to, []).append(node)

    for node in bpmn.nodes.values():
        kind = node.kind
        out = outs[node.id] or [SINK]
        if kind == "startEvent":
            net.add_transition(f"t:start:{node.id}", None, [SOURCE], out)
        elif kind == "endEvent" or (kind in _PASS and not node.outgoing):
            target = [SINK] if node.id in main else []
            for flow in node.incoming:
                net.add_transition(f"t:end:{flow}:{node.id}", None, [f"p:{flow}"], target)
        elif kind in _TASKS:
            if not node.incoming:
                place = SOURCE
            else:
                place = entry(node)
            if node.repeats:
                again = net.add_place(f"p:mi:{node.id}")
                net.add_transition(f"t:task:{node.id}", node.name or node.id, [place], [again])
                net.add_transition(f"t:mi-again:{node.id}", None, [again], [place])
                net.add_transition(f"t:mi-done:{node.id}", None, [again], out)
            else:
                net.add_transition(f"t:task:{node.id}", node.name or node.id, [place], out)
            for boundary in boundaries.get(node.id, []):
                keep = [] if boundary.interrupting else [place]
                net.add_transition(
                    f"t:boundary:{boundary.id}", None, [place], keep + outs[boundary.id]
                )
        elif kind == "parallelGateway":
            ins = [f"p:{f}" for f in node.incoming] or [SOURCE]
            net.add_transition(f"t:and:{node.id}", None, ins, out)
        elif kind == "inclusiveGateway":
            ins = [f"p:{f}" for f in node.incoming] or [SOURCE]
            if len(ins) == 1:
                for subset in _subsets(out):
                    suffix = "+".join(p.removeprefix("p:") for p in subset)
                    net.add_transition(f"t:or:{node.id}:{suffix}", None, ins, list(subset))
            elif len(out) == 1:
                for subset in _subsets(ins):
                    suffix = "+".join(p.removeprefix("p:") for p in subset)
                    net.add_transition(f"t:or:{node.id}:{suffix}", None, list(subset), out)
            else:
                _xor(net, node, ins, out)
        elif kind in _XOR or kind in _PASS:
            ins = [f"p:{f}" for f in node.incoming] or [SOURCE]
            _xor(net, node, ins, out)
            if len(ins) == 1:  # the entry of an inlined sub-process can carry boundaries
                for boundary in boundaries.get(node.id, []):
                    keep = [] if boundary.interrupting else ins
                    net.add_transition(
                        f"t:boundary:{boundary.id}", None, ins, keep + outs[boundary.id]
                    )
        # boundary events are wired with their task; anything else has no control flow
    return net


def _xor(net: PetriNet, node: _Node, ins: list[str], out: list[str]) -> None:
    if len(ins) == 1:
        for place in out:
            net.add_transition(f"t:xor:{node.id}:{place[2:]}", None, ins, [place])
        return
    hub = net.add_place(f"p:gw:{node.id}")
    for place in ins:
        net.add_transition(f"t:xor-in:{node.id}:{place[2:]}", None, [place], [hub])
    for place in out:
        net.add_transition(f"t:xor:{node.id}:{place[2:]}", None, [hub], [place])
