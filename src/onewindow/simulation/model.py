"""A BPMN process as the simulator reads it: tasks, lanes, flows, gateways, events, timers.

Parsed with lxml straight from the file (the workflow engine's library is not used here),
keeping the element tree so a redesign can edit it and write a BPMN file back out. Only
control flow matters to the simulator; forms are read so steps that capture the same data
twice can be found.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from lxml import etree

from onewindow.kit.bpmn_flatten import executable_process, flatten_process
from onewindow.kit.errors import ValidationFailed

__all__ = [
    "BPMN_NS",
    "NOT_EXECUTABLE",
    "Boundary",
    "Flow",
    "Lane",
    "Node",
    "ProcessModel",
    "Timer",
    "called_processes",
    "iso_duration_minutes",
    "parse_model",
]

BPMN_NS: Final = "http://www.omg.org/spec/BPMN/20100524/MODEL"
CAMUNDA_NS: Final = "http://camunda.org/schema/1.0/bpmn"
_B: Final = f"{{{BPMN_NS}}}"

TASK_TAGS: Final = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "serviceTask",
        "scriptTask",
        "businessRuleTask",
        "sendTask",
        "receiveTask",
    }
)
# Done by the system: no staff, no queue, no office hours.
AUTOMATED_TAGS: Final = frozenset({"serviceTask", "scriptTask", "businessRuleTask", "sendTask"})
GATEWAY_KINDS: Final = {
    "exclusiveGateway": "xor",
    "eventBasedGateway": "xor",
    "parallelGateway": "and",
    "inclusiveGateway": "or",
}
# Inlined before reading (kit.bpmn_flatten); what is left of them here is refused.
_UNSUPPORTED: Final = frozenset(
    {"subProcess", "callActivity", "transaction", "adHocSubProcess", "complexGateway"}
)
# The sentence `process validate` refuses a file without an executable process with.
NOT_EXECUTABLE: Final = 'no executable process (isExecutable="true")'
_BOUNDARY_KINDS: Final = ("error", "escalation", "message", "signal", "conditional")
_IGNORED: Final = frozenset(
    {
        "laneSet",
        "sequenceFlow",
        "documentation",
        "extensionElements",
        "dataObject",
        "dataObjectReference",
        "dataStoreReference",
        "textAnnotation",
        "association",
        "ioSpecification",
        "property",
    }
)
_DURATION: Final = re.compile(
    r"^P(?:(?P<w>\d+(?:\.\d+)?)W)?(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
# Form fields every step has; they say nothing about duplicated data entry.
_TRIVIAL_FIELDS: Final = frozenset({"comment", "decision", "supplement_note"})


def invalid_model(message: str, message_zh: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(
        message, message_zh=message_zh, code="simulation.model_invalid", details=details or None
    )


def iso_duration_minutes(text: str) -> float:
    """Minutes in an ISO 8601 duration such as ``P1D``, ``PT4H`` or ``"P1DT2H"`` (quotes ok).

    Raises:
        ValidationFailed: not a duration this reader understands.
    """
    cleaned = text.strip().strip("\"'").strip()
    match = _DURATION.match(cleaned)
    if not match or cleaned in ("P", "PT"):
        raise invalid_model(
            f"cannot read timer duration {text!r} (expected ISO 8601 like P1D or PT4H)",
            f"无法解析定时器时长 {text!r}（应为 ISO 8601，如 P1D、PT4H）",
        )
    parts = {k: float(v) if v else 0.0 for k, v in match.groupdict().items()}
    return (
        parts["w"] * 7 * 1440 + parts["d"] * 1440 + parts["h"] * 60 + parts["m"] + parts["s"] / 60.0
    )


@dataclass
class Flow:
    id: str
    source: str
    target: str
    name: str = ""
    condition: str | None = None


@dataclass
class Timer:
    """A boundary timer on a task: after ``minutes`` it fires its outgoing flows."""

    id: str
    attached_to: str
    minutes: float
    interrupting: bool
    outgoing: list[str] = field(default_factory=list)
    repeats: int | None = 1  # a cycle R3/P1D: 3 (non-interrupting ones); R/P1D: None, no end


@dataclass
class Boundary:
    """An error / escalation / message / signal / conditional boundary event on a task.

    Simulated with a probability (parameters ``boundary``): when the task is done, the
    event fires with that probability — an interrupting one instead of the task's own
    outgoing flows, a non-interrupting one as well as them.
    """

    id: str
    attached_to: str
    trigger: str  # error | escalation | message | signal | conditional
    interrupting: bool
    outgoing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class MultiInstance:
    """会签 / 逐级审批: a task done by several instances, in parallel or one after another.

    ``instances`` is None when the count comes from a collection variable (the parameters'
    ``multi_instance`` gives it); ``complete_after`` is the number of completed instances
    after which the completion condition holds (None: all of them).
    """

    sequential: bool
    instances: int | None
    complete_after: int | None
    condition: str | None = None


@dataclass
class Node:
    id: str
    tag: str  # the BPMN element's local name
    kind: str  # task | start | end | xor | and | or | timer | event | catch | ebg
    name: str = ""
    lane: str | None = None  # lane id
    incoming: list[str] = field(default_factory=list)
    outgoing: list[str] = field(default_factory=list)
    default: str | None = None  # default flow id of a gateway
    delay_minutes: float = 0.0  # intermediate timer events
    form_fields: tuple[str, ...] = ()
    multi: MultiInstance | None = None
    message: str | None = None  # catch events and receive tasks: the message's name

    @property
    def automated(self) -> bool:
        return self.tag in AUTOMATED_TAGS

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass
class Lane:
    id: str
    name: str
    nodes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.name or self.id


@dataclass
class ProcessModel:
    """流程模型: the control flow of one executable BPMN process."""

    id: str
    name: str
    nodes: dict[str, Node]
    flows: dict[str, Flow]
    lanes: dict[str, Lane]
    timers: dict[str, Timer]
    tree: Any = field(repr=False, default=None)  # the lxml tree, for redesigns
    warnings: list[str] = field(default_factory=list)
    boundaries: dict[str, Boundary] = field(default_factory=dict)
    called: dict[str, bytes] = field(default_factory=dict, repr=False)  # call activities
    inlined: list[str] = field(default_factory=list)  # sub-processes / call activities
    # multi-instance sub-process / call activity: its exit (the scope's id) -> its entry and
    # how its instances run (the inlined part runs once per instance)
    multi_scopes: dict[str, tuple[str, MultiInstance]] = field(default_factory=dict)

    @property
    def start_events(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == "start"]

    @property
    def tasks(self) -> list[Node]:
        return [n for n in self.nodes.values() if n.kind == "task"]

    def task(self, task_id: str) -> Node:
        return self.nodes[task_id]

    def lane_of_name(self, key: str) -> Lane | None:
        """A lane by id, else by name."""
        if key in self.lanes:
            return self.lanes[key]
        return next((lane for lane in self.lanes.values() if lane.name == key), None)

    def first_tasks(self, flow_id: str, _seen: set[str] | None = None) -> set[str]:
        """Task ids (and ``"@end"``) reached first along a flow, through gateways and events."""
        seen = _seen if _seen is not None else set()
        if flow_id in seen:
            return set()
        seen.add(flow_id)
        node = self.nodes[self.flows[flow_id].target]
        if node.kind == "task":
            return {node.id}
        if node.kind == "end":
            return {"@end"}
        found: set[str] = set()
        if not node.outgoing:
            return found
        for out in node.outgoing:
            found |= self.first_tasks(out, seen)
        return found

    def tasks_before(self, node_id: str) -> set[str]:
        """Tasks whose completion leads to ``node_id`` without passing another task."""
        found: set[str] = set()
        stack = list(self.nodes[node_id].incoming)
        seen: set[str] = set()
        while stack:
            fid = stack.pop()
            if fid in seen:
                continue
            seen.add(fid)
            src = self.nodes[self.flows[fid].source]
            if src.kind == "task":
                found.add(src.id)
            elif src.kind not in ("start",):
                stack.extend(src.incoming)
        return found

    def to_bytes(self) -> bytes:
        if self.tree is None:
            raise invalid_model("this model has no BPMN document to write", "该模型没有 BPMN 文档")
        return bytes(
            etree.tostring(self.tree, xml_declaration=True, encoding="UTF-8", pretty_print=True)
        )


def _local(tag: object) -> str:
    text = str(tag)
    return text.rsplit("}", 1)[-1] if "}" in text else text


_CYCLE: Final = re.compile(r"^R(\d*)/(P[^/]+)$")


def _timer_spec(element: Any) -> tuple[float, int | None] | None:
    """Minutes and repetitions of a timer (``timeDuration``, or a ``timeCycle`` such as
    ``R3/P1D``: 3 times a day), None for an element without a timer."""
    definition = element.find(f"{_B}timerEventDefinition")
    if definition is None:
        return None
    duration = definition.find(f"{_B}timeDuration")
    if duration is not None and (duration.text or "").strip():
        return iso_duration_minutes(duration.text or ""), 1
    cycle = definition.find(f"{_B}timeCycle")
    text = (cycle.text or "").strip().strip("\"'") if cycle is not None else ""
    match = _CYCLE.match(text)
    if match:
        count = int(match.group(1)) if match.group(1) else None
        return iso_duration_minutes(match.group(2)), count
    raise invalid_model(
        f"timer {element.get('id')}: only a timeDuration (P5D) or a repeating timeCycle "
        f"(R3/P1D) is simulated, not {'timeCycle ' + repr(text) if text else 'a timeDate'}",
        f"定时器 {element.get('id')}：仿真只支持 timeDuration（如 P5D）或 timeCycle（如 R3/P1D）",
        element_id=element.get("id"),
    )


def _timer_duration(element: Any) -> float | None:
    spec = _timer_spec(element)
    return None if spec is None else spec[0]


def _lanes(lane_set: Any, lanes: dict[str, Lane], node_lane: dict[str, str]) -> None:
    for lane_el in lane_set.findall(f"{_B}lane"):
        lane = Lane(lane_el.get("id", ""), (lane_el.get("name") or "").strip())
        for ref in lane_el.findall(f"{_B}flowNodeRef"):
            node_id = (ref.text or "").strip()
            lane.nodes.append(node_id)
            node_lane[node_id] = lane.id  # a nested lane, read later, overrides its parent
        lanes[lane.id] = lane
        child = lane_el.find(f"{_B}childLaneSet")
        if child is not None:
            _lanes(child, lanes, node_lane)


def _form_fields(element: Any) -> tuple[str, ...]:
    fields = element.iter(f"{{{CAMUNDA_NS}}}formField")
    return tuple(f.get("id", "") for f in fields if f.get("id") not in _TRIVIAL_FIELDS)


def _multi_instance(element: Any) -> MultiInstance | None:
    mi = element.find(f"{_B}multiInstanceLoopCharacteristics")
    if mi is None:
        return None
    sequential = mi.get("isSequential") == "true"
    instances: int | None = None
    cardinality = mi.find(f"{_B}loopCardinality")
    text = (cardinality.text or "").strip() if cardinality is not None else ""
    if text.isdigit():
        instances = int(text)
    condition_el = mi.find(f"{_B}completionCondition")
    condition = (condition_el.text or "").strip() if condition_el is not None else ""
    return MultiInstance(sequential, instances, completion_count(condition), condition or None)


_THRESHOLD: Final = re.compile(r"nr_?[oO]f_?\w*\s*(>=|>|==)\s*(\d+)")


def completion_count(condition: str) -> int | None:
    """Completed instances after which a completion condition holds, or None (all).

    Read from comparisons like ``nr_of_completed >= 2`` / ``${nrOfCompletedInstances > 1}``;
    with several (``nr_of_approved >= 2 or nr_of_rejected >= 2``) the smallest wins: that many
    completed instances always decide the vote.
    """
    counts = []
    for op, number in _THRESHOLD.findall(condition or ""):
        n = int(number)
        counts.append(n + 1 if op == ">" else n)
    return min(counts) if counts else None


def _has_nodes(element: Any) -> bool:
    return any(
        isinstance(c.tag, str) and _local(c.tag) not in _IGNORED | {"incoming", "outgoing"}
        for c in element
    )


def _trigger(element: Any) -> str | None:
    for child in element:
        name = _local(child.tag)
        if name.endswith("EventDefinition"):
            return name.removesuffix("EventDefinition")
    return None


def _message_names(root: Any) -> dict[str, str]:
    return {
        str(m.get("id")): str(m.get("name") or m.get("id"))
        for m in root.iter(f"{_B}message")
        if m.get("id")
    }


def _message_of(element: Any, names: Mapping[str, str]) -> str | None:
    definition = element.find(f"{_B}messageEventDefinition")
    ref = definition.get("messageRef") if definition is not None else element.get("messageRef")
    return names.get(str(ref), str(ref)) if ref else None


def parse_model(
    xml: bytes | str, *, source: str = "model", called: Mapping[str, bytes] | None = None
) -> ProcessModel:
    """Read the executable process of a BPMN 2.0 file.

    Embedded sub-processes and call activities are inlined (``called``: process id → BPMN
    bytes of the processes call activities call, besides those in the same file).

    Raises:
        ValidationFailed (``simulation.model_invalid``): not BPMN, no process, no process
            marked ``isExecutable="true"`` (the sentence ``process validate`` uses), no start
            event, a flow to an unknown element, an element with no way on, or an element
            the simulator cannot run (a call activity to an unknown process, a boundary
            event on a sub-process, a multi-instance sub-process) — each named.
    """
    data = xml.encode("utf-8") if isinstance(xml, str) else xml
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise invalid_model(
            f"{source} is not well-formed XML: {exc}", f"{source} 不是格式正确的 XML：{exc}"
        ) from exc
    if not root.findall(f"{_B}process"):
        raise invalid_model(
            f"{source} has no <bpmn:process> (is it a BPMN 2.0 file?)",
            f"{source} 中没有 <bpmn:process>（是否为 BPMN 2.0 文件？）",
        )
    original = executable_process(root)
    if original is None:
        raise invalid_model(
            f"{source}: {NOT_EXECUTABLE}",
            f'{source}：没有可执行流程（isExecutable="true"）',
            problems=[{"file": source, "message": NOT_EXECUTABLE}],
        )
    problems: list[str] = []
    flat = flatten_process(original, called, root)
    process = flat.process
    model = ProcessModel(
        id=str(process.get("id", "process")),
        name=str(process.get("name") or process.get("id", "process")),
        nodes={},
        flows={},
        lanes={},
        timers={},
        tree=root.getroottree(),
        called=dict(called or {}),
        inlined=list(flat.inlined),
    )
    for repeated in flat.multi_scopes.values():
        model.multi_scopes[repeated.exit] = (
            repeated.entry,
            MultiInstance(
                repeated.sequential,
                repeated.cardinality,
                completion_count(repeated.condition or ""),
                repeated.condition,
            ),
        )
    for element_id, problem in flat.problems.items():
        if problem.startswith("event sub-process"):
            model.warnings.append(f"{element_id}: event sub-process left out of the simulation")
        else:
            problems.append(f"{element_id}: {problem}")
    messages = _message_names(root)
    refused: set[str] = set()  # elements already reported: their flows are not reported again
    node_lane: dict[str, str] = {}
    for lane_set in process.findall(f"{_B}laneSet"):
        _lanes(lane_set, model.lanes, node_lane)

    for el in process:
        if not isinstance(el.tag, str):
            continue  # comments, processing instructions
        tag = _local(el.tag)
        el_id = el.get("id", "")
        name = (el.get("name") or "").strip()
        if tag == "sequenceFlow":
            cond = el.find(f"{_B}conditionExpression")
            model.flows[el_id] = Flow(
                el_id,
                el.get("sourceRef", ""),
                el.get("targetRef", ""),
                name,
                (cond.text or "").strip() if cond is not None else None,
            )
        elif tag == "callActivity":
            refused.add(el_id)  # reported by the flattening (unknown process or a cycle)
        elif tag in ("subProcess", "transaction", "adHocSubProcess") and not _has_nodes(el):
            # A collapsed sub-process drawn without its inside: one step of people's work.
            model.nodes[el_id] = Node(el_id, tag, "task", name)
        elif tag in _UNSUPPORTED:
            problems.append(f"{el_id}: {tag} is not supported by the simulator")
            refused.add(el_id)
        elif tag == "receiveTask":
            # Waits for a message (parameters ``messages``), takes no staff.
            model.nodes[el_id] = Node(el_id, tag, "catch", name, message=_message_of(el, messages))
        elif tag in TASK_TAGS:
            node = Node(el_id, tag, "task", name, form_fields=_form_fields(el))
            node.multi = _multi_instance(el)
            if el.find(f"{_B}standardLoopCharacteristics") is not None:
                model.warnings.append(f"{el_id}: loop marker ignored, the task runs once")
            model.nodes[el_id] = node
        elif tag == "startEvent":
            model.nodes[el_id] = Node(el_id, tag, "start", name)
        elif tag == "endEvent":
            model.nodes[el_id] = Node(el_id, tag, "end", name)
        elif tag == "eventBasedGateway":
            model.nodes[el_id] = Node(el_id, tag, "ebg", name)
        elif tag in GATEWAY_KINDS:
            model.nodes[el_id] = Node(
                el_id, tag, GATEWAY_KINDS[tag], name, default=el.get("default")
            )
        elif tag == "intermediateCatchEvent":
            delay = _timer_duration(el)
            if delay is not None:
                model.nodes[el_id] = Node(el_id, tag, "timer", name, delay_minutes=delay)
            else:
                trigger = _trigger(el)
                message = _message_of(el, messages) if trigger == "message" else None
                model.nodes[el_id] = Node(el_id, tag, "catch", name, message=message or trigger)
        elif tag == "intermediateThrowEvent":
            model.nodes[el_id] = Node(el_id, tag, "event", name)
        elif tag == "boundaryEvent":
            scope = flat.scope_boundaries.get(el_id)
            if scope is not None:
                problems.append(
                    f"{el_id}: a boundary event on sub-process or call activity {scope} is not "
                    "simulated (attach it to a task inside)"
                )
                refused.add(el_id)
                continue
            trigger = _trigger(el)
            interrupting = el.get("cancelActivity", "true") != "false"
            if trigger == "timer":
                minutes, repeats = _timer_spec(el) or (0.0, 1)
                model.timers[el_id] = Timer(
                    el_id, el.get("attachedToRef", ""), minutes, interrupting, repeats=repeats
                )
            elif trigger in _BOUNDARY_KINDS:
                model.boundaries[el_id] = Boundary(
                    el_id, el.get("attachedToRef", ""), trigger, interrupting
                )
            else:
                model.warnings.append(
                    f"{el_id}: {trigger or 'untyped'} boundary event left out of the simulation"
                )
                model.boundaries[el_id] = Boundary(
                    el_id, el.get("attachedToRef", ""), trigger or "none", interrupting
                )
        elif tag not in _IGNORED:
            model.warnings.append(f"{el_id or tag}: {tag} ignored by the simulator")

    for node_id, lane_id in node_lane.items():
        if node_id in model.nodes:
            model.nodes[node_id].lane = lane_id
    refused |= {b.id for b in model.boundaries.values() if b.attached_to in refused}
    refused |= {t.id for t in model.timers.values() if t.attached_to in refused}
    for boundary_id in refused:
        model.boundaries.pop(boundary_id, None)
        model.timers.pop(boundary_id, None)
    orphaned: set[str] = set()
    feeds_refused = {f.source for f in model.flows.values() if f.target in refused}
    for flow in model.flows.values():
        if flow.source in refused or flow.target in refused:
            orphaned.add(flow.target)
            continue
        for end, ref in (("source", flow.source), ("target", flow.target)):
            if end == "source" and ref in model.timers:
                model.timers[ref].outgoing.append(flow.id)
            elif end == "source" and ref in model.boundaries:
                model.boundaries[ref].outgoing.append(flow.id)
            elif ref not in model.nodes:
                problems.append(f"{flow.id}: {end} {ref!r} is not an element the simulator knows")
        if flow.source in model.nodes and flow.target in model.nodes:
            model.nodes[flow.source].outgoing.append(flow.id)
        if flow.target in model.nodes and (
            flow.source in model.nodes
            or flow.source in model.timers
            or flow.source in model.boundaries
        ):
            model.nodes[flow.target].incoming.append(flow.id)
    for timer in model.timers.values():
        if timer.attached_to in refused:
            continue
        attached = model.nodes.get(timer.attached_to)
        if attached is None or attached.kind not in ("task", "catch"):
            problems.append(f"{timer.id}: attached to {timer.attached_to!r}, which is not a task")
        if not timer.outgoing:
            problems.append(f"{timer.id}: boundary timer has no outgoing flow")
    for boundary in list(model.boundaries.values()):
        attached = model.nodes.get(boundary.attached_to)
        if boundary.attached_to in refused:
            continue  # its call activity is reported already
        if attached is None or attached.kind not in ("task", "catch"):
            problems.append(
                f"{boundary.id}: {boundary.trigger} boundary event attached to "
                f"{boundary.attached_to!r}, which is not a task"
            )
    for node in model.nodes.values():
        if node.kind == "ebg":
            for flow_id in node.outgoing:
                target = model.nodes[model.flows[flow_id].target]
                if target.kind not in ("timer", "catch"):
                    problems.append(
                        f"{node.id}: event-based gateway leads to {target.id}, which is not "
                        "a timer, message or receive event"
                    )
    if not model.start_events:
        problems.append(f"{model.id}: the process has no start event")
    for node in model.nodes.values():
        if node.kind != "end" and not node.outgoing:
            if node.id in orphaned or node.id in feeds_refused:
                continue
            if node.kind == "event":
                node.kind = "end"  # a throw event with nothing after it ends its branch
                continue
            problems.append(f"{node.id} ({node.label}): no outgoing sequence flow")
        if node.kind not in ("start",) and not node.incoming and node.id not in orphaned:
            problems.append(f"{node.id} ({node.label}): nothing leads to it")
        if node.default and node.default not in node.outgoing:
            problems.append(f"{node.id}: default flow {node.default!r} is not one of its outgoing")
    if problems:
        raise invalid_model(
            f"{source}: {len(problems)} problem(s): " + "; ".join(problems),
            f"{source}：模型有 {len(problems)} 个问题：" + "；".join(problems),
            problems=[{"file": source, "message": p} for p in problems],
        )
    return model


def called_processes(files: Iterable[bytes]) -> dict[str, bytes]:
    """Process id → file, for the processes call activities may call (a catalogue's shared
    processes, or files given on the command line). Unreadable files are skipped: the call
    activity that needs one is then refused by :func:`parse_model`, naming it."""
    out: dict[str, bytes] = {}
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    for data in files:
        try:
            root = etree.fromstring(data, parser)
        except etree.XMLSyntaxError:
            continue
        for process in root.iter(f"{_B}process"):
            if process.get("id"):
                out.setdefault(str(process.get("id")), data)
    return out


def overlapping_fields(a: Node, b: Node) -> set[str]:
    return set(a.form_fields) & set(b.form_fields)


def task_ids(nodes: Iterable[Node]) -> list[str]:
    return [n.id for n in nodes if n.kind == "task"]
