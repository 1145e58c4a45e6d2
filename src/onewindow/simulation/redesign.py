"""Redesign proposals (流程再造方案): each a modified BPMN file plus changed parameters.

Proposals, each applied only where the model offers the chance:

- ``parallel``: independent department steps that run one after another (a chain of staff
  tasks in different lanes, no decision between them) run in parallel (并联审批).
- ``precheck``: an online completeness pre-check (在线预审, 一次性告知) before the first step;
  assumed to catch 80 % of the incomplete applications at the first check and 30 % of
  later send-backs.
- ``held_materials``: materials the city already holds (电子证照) are no longer asked for
  (免提交); incomplete applications fall by the share of such materials, and the first
  step's time by half that share.
- ``post_delivery``: the result is posted or issued electronically (免费寄递/电子证照), so
  the last in-person step is no longer a trip.
- ``move_staff``: one member of staff moves from the least to the most utilised lane.
- ``merge``: a step that captures the same form data as an earlier one is dropped (its data
  comes from the earlier step).
- ``combined``: all of the above that apply.

Every proposal is simulated with the baseline's seeds (common random numbers) and ranked by
the change of the median cycle time, with a 95 % confidence interval from the paired
replications. The assumed effects are stated in each proposal's ``assumptions``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, cast

from lxml import etree

from onewindow.simulation.engine import (
    Estimate,
    Replications,
    compare_replications,
    replicate,
    simulate,
)
from onewindow.simulation.model import BPMN_NS, ProcessModel, parse_model
from onewindow.simulation.params import ResourceSpec, SimParams, bind

__all__ = ["Proposal", "Ranking", "RankedProposal", "evaluate", "hand_edited", "propose"]

_B: Final = f"{{{BPMN_NS}}}"
_DI: Final = "http://www.omg.org/spec/BPMN/20100524/DI"
_DC: Final = "http://www.omg.org/spec/DD/20100524/DC"
_DD: Final = "http://www.omg.org/spec/DD/20100524/DI"
PRECHECK_FIRST: Final = 0.8
PRECHECK_LATER: Final = 0.3


@dataclass
class Proposal:
    key: str
    title_zh: str
    title_en: str
    bpmn: bytes
    params: SimParams
    changes: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)  # the single changes it is made of
    called: dict[str, bytes] = field(default_factory=dict, repr=False)  # call activities
    # The same changes and assumptions in Chinese, one for one (empty for a hand-edited model
    # and for studies saved before they were written in both languages).
    changes_zh: list[str] = field(default_factory=list)
    assumptions_zh: list[str] = field(default_factory=list)

    def model(self) -> ProcessModel:
        return parse_model(self.bpmn, source=f"proposal {self.key}", called=self.called)

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "changes": self.changes,
            "assumptions": self.assumptions,
            "changes_zh": self.changes_zh,
            "assumptions_zh": self.assumptions_zh,
        }


# --------------------------------------------------------------------------- XML editing


def _xpath(element: Any, expr: str) -> list[Any]:
    return cast(list[Any], element.xpath(expr))


class _Editor:
    """Edits a BPMN document: flow nodes, flows, lanes and the diagram together."""

    def __init__(self, xml: bytes) -> None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
        self.root: Any = etree.fromstring(xml, parser)
        processes = self.root.findall(f"{_B}process")
        self.process: Any = next(
            (p for p in processes if p.get("isExecutable") == "true"), processes[0]
        )
        self.plane: Any = self.root.find(f".//{{{_DI}}}BPMNPlane")
        self._n = 0

    def new_id(self, prefix: str) -> str:
        while True:
            self._n += 1
            candidate = f"{prefix}_{self._n}"
            if not _xpath(self.root, f"//*[@id='{candidate}']"):
                return candidate

    def el(self, element_id: str) -> Any:
        found = _xpath(self.process, f"*[@id='{element_id}']")
        return found[0] if found else None

    def flows_from(self, node_id: str) -> list[Any]:
        return list(_xpath(self.process, f"*[local-name()='sequenceFlow'][@sourceRef='{node_id}']"))

    def flows_to(self, node_id: str) -> list[Any]:
        return list(_xpath(self.process, f"*[local-name()='sequenceFlow'][@targetRef='{node_id}']"))

    def _set_ref(self, node_id: str, tag: str, flow_id: str, add: bool) -> None:
        node = self.el(node_id)
        if node is None:
            return
        if add:
            ref = etree.Element(f"{_B}{tag}")
            ref.text = flow_id
            # BPMN's order: documentation, extensionElements, incoming*, outgoing*, the rest
            before = {"documentation", "extensionElements", "incoming"}
            if tag == "outgoing":
                before.add("outgoing")
            pos = 0
            for i, child in enumerate(node):
                if isinstance(child.tag, str) and etree.QName(child).localname in before:
                    pos = i + 1
            node.insert(pos, ref)
        else:
            for ref in node.findall(f"{_B}{tag}"):
                if (ref.text or "").strip() == flow_id:
                    node.remove(ref)

    def _shape(self, element_id: str) -> Any:
        if self.plane is None:
            return None
        found = _xpath(self.plane, f"*[@bpmnElement='{element_id}']")
        return found[0] if found else None

    def _center(self, element_id: str) -> tuple[float, float]:
        shape = self._shape(element_id)
        bounds = shape.find(f"{{{_DC}}}Bounds") if shape is not None else None
        if bounds is None:
            return (0.0, 0.0)
        return (
            float(bounds.get("x", 0)) + float(bounds.get("width", 0)) / 2,
            float(bounds.get("y", 0)) + float(bounds.get("height", 0)) / 2,
        )

    def _edge(self, flow_id: str) -> None:
        if self.plane is None:
            return
        old = self._shape(flow_id)
        if old is not None:
            self.plane.remove(old)
        flow = self.el(flow_id)
        edge = etree.SubElement(
            self.plane, f"{{{_DI}}}BPMNEdge", id=f"{flow_id}_di", bpmnElement=flow_id
        )
        for end in (flow.get("sourceRef"), flow.get("targetRef")):
            x, y = self._center(end)
            etree.SubElement(edge, f"{{{_DD}}}waypoint", x=f"{x:.0f}", y=f"{y:.0f}")

    def add_flow(self, source: str, target: str, name: str = "") -> str:
        flow_id = self.new_id("Flow_redesign")
        flow = etree.SubElement(
            self.process, f"{_B}sequenceFlow", id=flow_id, sourceRef=source, targetRef=target
        )
        if name:
            flow.set("name", name)
        self._set_ref(source, "outgoing", flow_id, True)
        self._set_ref(target, "incoming", flow_id, True)
        self._edge(flow_id)
        return flow_id

    def remove_flow(self, flow: Any) -> None:
        flow_id = flow.get("id")
        self._set_ref(flow.get("sourceRef"), "outgoing", flow_id, False)
        self._set_ref(flow.get("targetRef"), "incoming", flow_id, False)
        self.process.remove(flow)
        shape = self._shape(flow_id)
        if shape is not None and self.plane is not None:
            self.plane.remove(shape)

    def retarget(self, flow: Any, target: str) -> None:
        flow_id = flow.get("id")
        self._set_ref(flow.get("targetRef"), "incoming", flow_id, False)
        flow.set("targetRef", target)
        self._set_ref(target, "incoming", flow_id, True)
        self._edge(flow_id)

    def resource(self, flow: Any, source: str) -> None:
        flow_id = flow.get("id")
        self._set_ref(flow.get("sourceRef"), "outgoing", flow_id, False)
        flow.set("sourceRef", source)
        self._set_ref(source, "outgoing", flow_id, True)
        self._edge(flow_id)

    def add_node(
        self,
        tag: str,
        name: str,
        lane: str | None,
        near: str,
        dx: float,
        dy: float = 0.0,
        **attrs: str,
    ) -> str:
        node_id = self.new_id(f"{tag[0].upper()}{tag[1:]}_redesign")
        node = etree.Element(f"{_B}{tag}", {"id": node_id, "name": name, **attrs})
        first_flow = self.process.find(f"{_B}sequenceFlow")
        if first_flow is not None:
            first_flow.addprevious(node)
        else:
            self.process.append(node)
        if lane:
            lane_el = _xpath(self.process, f".//*[local-name()='lane'][@id='{lane}']")
            if lane_el:
                ref = etree.SubElement(lane_el[0], f"{_B}flowNodeRef")
                ref.text = node_id
        if self.plane is not None:
            x, y = self._center(near)
            w, h = (100.0, 80.0) if tag.endswith("Task") else (50.0, 50.0)
            shape = etree.SubElement(
                self.plane, f"{{{_DI}}}BPMNShape", id=f"{node_id}_di", bpmnElement=node_id
            )
            etree.SubElement(
                shape,
                f"{{{_DC}}}Bounds",
                x=f"{x + dx - w / 2:.0f}",
                y=f"{y + dy - h / 2:.0f}",
                width=f"{w:.0f}",
                height=f"{h:.0f}",
            )
        return node_id

    def remove_node(self, node_id: str) -> None:
        node = self.el(node_id)
        if node is not None:
            self.process.remove(node)
        for ref in _xpath(self.process, f".//*[local-name()='flowNodeRef'][text()='{node_id}']"):
            ref.getparent().remove(ref)
        for boundary in _xpath(
            self.process, f"*[local-name()='boundaryEvent'][@attachedToRef='{node_id}']"
        ):
            for flow in self.flows_from(boundary.get("id")):
                self.remove_flow(flow)
            self.process.remove(boundary)
        shape = self._shape(node_id)
        if shape is not None and self.plane is not None:
            self.plane.remove(shape)

    def document(self, node_id: str, text: str) -> None:
        node = self.el(node_id)
        if node is None:
            return
        doc = node.find(f"{_B}documentation")
        if doc is None:
            doc = etree.Element(f"{_B}documentation")
            node.insert(0, doc)
        doc.text = ((doc.text or "") + "\n" + text).strip()

    def to_bytes(self) -> bytes:
        return bytes(
            etree.tostring(self.root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
        )


# --------------------------------------------------------------------------- transformations


@dataclass
class _Draft:
    editor: _Editor
    model: ProcessModel
    params: SimParams
    changes: list[str] = field(default_factory=list)
    assumptions: list[str] = field(default_factory=list)
    changes_zh: list[str] = field(default_factory=list)
    assumptions_zh: list[str] = field(default_factory=list)

    def change(self, zh: str, en: str) -> None:
        self.changes_zh.append(zh)
        self.changes.append(en)

    def assume(self, zh: str, en: str) -> None:
        self.assumptions_zh.append(zh)
        self.assumptions.append(en)

    def refresh(self) -> None:
        self.model = parse_model(
            self.editor.to_bytes(), source="redesign", called=self.model.called
        )


def _staff_task(model: ProcessModel, params: SimParams, node_id: str) -> bool:
    node = model.nodes.get(node_id)
    if node is None or node.kind != "task" or node.automated:
        return False
    binding_lanes = {
        lane.id
        for lane in model.lanes.values()
        if lane.id in params.applicant_lanes or lane.name in params.applicant_lanes
    }
    return (
        node.lane is not None
        and node.lane not in binding_lanes
        and not _applicant(model, node.lane, params)
    )


def _applicant(model: ProcessModel, lane_id: str, params: SimParams) -> bool:
    from onewindow.simulation.params import _is_applicant_lane

    lane = model.lanes[lane_id]
    return _is_applicant_lane(lane.id, lane.name, params.applicant_lanes)


def _chains(model: ProcessModel, params: SimParams) -> list[list[str]]:
    """Maximal chains of staff tasks in different lanes joined by single plain flows."""

    def successor(node_id: str) -> str | None:
        node = model.nodes[node_id]
        if len(node.outgoing) != 1:
            return None
        nxt = model.nodes[model.flows[node.outgoing[0]].target]
        if len(nxt.incoming) != 1 or not back_office(nxt.id):
            return None
        return nxt.id

    front = model.nodes[_first_task(model) or ""].lane if _first_task(model) else None

    def back_office(node_id: str) -> bool:
        # Department reviews: staff tasks outside the front desk's lane (受理/出件 stay put).
        return _staff_task(model, params, node_id) and model.nodes[node_id].lane != front

    heads = []
    for task in model.tasks:
        if not back_office(task.id):
            continue
        preds = [model.flows[f].source for f in task.incoming]
        if len(preds) == 1 and back_office(preds[0]) and successor(preds[0]) == task.id:
            continue  # not the head of its chain
        heads.append(task.id)
    chains = []
    for head in heads:
        chain = [head]
        lanes = {model.nodes[head].lane}
        while True:
            nxt = successor(chain[-1])
            if nxt is None or model.nodes[nxt].lane in lanes or nxt in chain:
                break
            chain.append(nxt)
            lanes.add(model.nodes[nxt].lane)
        if len(chain) >= 2:
            chains.append(chain)
    return chains


def _parallel(d: _Draft) -> bool:
    chains = _chains(d.model, d.params)
    if not chains:
        return False
    ed = d.editor
    for chain in chains:
        first, last = chain[0], chain[-1]
        lane = d.model.nodes[first].lane
        fork = ed.add_node("parallelGateway", "并联办理", lane, first, -90)
        join = ed.add_node("parallelGateway", "并联办结", lane, last, 90)
        for flow in ed.flows_to(first):
            ed.retarget(flow, fork)
        for flow in ed.flows_from(last):
            ed.resource(flow, join)
        for a in chain[:-1]:
            for flow in ed.flows_from(a):
                ed.remove_flow(flow)
        for task in chain:
            ed.add_flow(fork, task)
            ed.add_flow(task, join)
        names = " / ".join(d.model.nodes[t].label for t in chain)
        d.change(
            f"{'、'.join(d.model.nodes[t].label for t in chain)} 由依次办理改为并联办理",
            f"run {names} in parallel (并联办理) instead of one after another",
        )
    d.assume(
        "并联的各环节相互独立，互不依赖对方的办理结果",
        "the parallel steps are independent: none needs another's result",
    )
    d.refresh()
    return True


def _return_flows(model: ProcessModel, params: SimParams) -> list[tuple[str, bool]]:
    """Flows from gateways into applicant tasks, and whether it is the first check's."""
    first_task = _first_task(model)
    out = []
    for flow in model.flows.values():
        src, tgt = model.nodes.get(flow.source), model.nodes.get(flow.target)
        if src is None or tgt is None or src.kind not in ("xor", "or") or tgt.lane is None:
            continue
        if tgt.kind == "task" and _applicant(model, tgt.lane, params):
            out.append((flow.id, first_task in model.tasks_before(src.id)))
    return out


def _first_task(model: ProcessModel) -> str | None:
    start = model.start_events[0]
    found = model.first_tasks(start.outgoing[0]) - {"@end"} if start.outgoing else set()
    return sorted(found)[0] if found else None


def _precheck(d: _Draft) -> bool:
    returns = _return_flows(d.model, d.params)
    first = _first_task(d.model)
    if not returns or first is None:
        return False
    ed = d.editor
    start = d.model.start_events[0]
    lane = d.model.nodes[first].lane
    check = ed.add_node(
        "scriptTask",
        "在线预审（一次性告知）",
        lane,
        start.id,
        60,
        -110,
    )
    script = etree.SubElement(ed.el(check), f"{_B}script")
    script.text = "precheck_done = True"
    for flow in ed.flows_from(start.id):
        ed.resource(flow, check)
    ed.add_flow(start.id, check)
    for flow_id, at_first in returns:
        cut = PRECHECK_FIRST if at_first else PRECHECK_LATER
        _scale_branch(d, flow_id, 1 - cut)
    d.change(
        "在第一个环节之前增加在线预审（材料齐全性检查）",
        "add an online completeness pre-check (在线预审) before the first step",
    )
    d.assume(
        f"预审能在首次审查时拦下 {PRECHECK_FIRST:.0%} 的材料不全申请，"
        f"并减少 {PRECHECK_LATER:.0%} 的后续退回补正",
        f"the pre-check catches {PRECHECK_FIRST:.0%} of incomplete applications at the first "
        f"check and {PRECHECK_LATER:.0%} of later send-backs",
    )
    d.refresh()
    return True


def _scale_branch(d: _Draft, flow_id: str, factor: float) -> None:
    """Scale one flow's probability; the default (or the other flows) absorb the rest."""
    binding = bind(d.model, d.params)
    gateway = d.model.flows[flow_id].source
    table = dict(binding.branches.get(gateway, []))
    if flow_id not in table:
        return
    old = table[flow_id]
    new = old * factor
    others = [f for f in table if f != flow_id]
    default = d.model.nodes[gateway].default
    sink = default if default in others else None
    table[flow_id] = new
    if sink is not None:
        table[sink] = table[sink] + (old - new)
    elif others:
        rest = sum(table[f] for f in others)
        for f in others:
            table[f] = table[f] + (old - new) * (table[f] / rest if rest else 1 / len(others))
    d.params.gateways.update(table)


def _held_materials(d: _Draft, materials: Sequence[Mapping[str, Any]] | None) -> bool:
    if not materials:
        return False
    required = [m for m in materials if m.get("required", True)]
    held = [m for m in required if m.get("certificate")]
    first = _first_task(d.model)
    if not held or not required or first is None:
        return False
    share = len(held) / len(required)
    for flow_id, at_first in _return_flows(d.model, d.params):
        if at_first:
            _scale_branch(d, flow_id, 1 - share)
    node = d.model.nodes[first]
    key = first if first in d.params.activities else node.name
    if key in d.params.activities:
        d.params.activities[key] = d.params.activities[key].scaled(1 - share / 2)
    names = "、".join(str(m.get("name_zh") or m.get("code")) for m in held)
    d.editor.document(first, f"免提交：{names}（从电子证照库调取，申请人无需提交）")
    d.change(
        f"不再要求申请人提交本市已持有的 {len(held)} 项材料（免提交）：{names}",
        f"stop asking for {len(held)} materials the city already holds (免提交): {names}",
    )
    d.assume(
        f"材料不全的申请减少 {share:.0%}（已持有材料占必交材料的比例），"
        f"{node.label} 用时缩短 {share / 2:.0%}",
        f"incomplete applications fall by {share:.0%} (the share of required materials held) "
        f"and {node.label} takes {share / 2:.0%} less time",
    )
    d.refresh()
    return True


def _post_delivery(d: _Draft) -> bool:
    ends = {n.id for n in d.model.nodes.values() if n.kind == "end"}
    in_person = set(d.params.in_person)
    last = [
        t.id
        for t in d.model.tasks
        if (t.id in in_person or t.name in in_person)
        and any(d.model.flows[f].target in ends for f in t.outgoing)
    ]
    if not last:
        return False
    for task_id in last:
        d.params.in_person = [
            x for x in d.params.in_person if x not in (task_id, d.model.nodes[task_id].name)
        ]
        d.editor.document(task_id, "出件方式：免费寄递或电子证照，申请人无需到场")
        d.change(
            f"{d.model.nodes[task_id].label} 的办理结果免费寄递或以电子证照送达，"
            "申请人无需再跑一次",
            f"deliver the result of {d.model.nodes[task_id].label} by post or electronically "
            "(免费寄递/电子证照): no trip to collect it",
        )
    d.refresh()
    return True


def _move_staff(d: _Draft, cases: int, seed: int) -> bool:
    run = simulate(d.model, d.params, cases=cases, seed=seed, record_log=False)
    binding = bind(d.model, d.params)
    util = {lane: u for lane, u in run.utilization.items() if not math.isnan(u)}
    if len(util) < 2:
        return False
    hot = max(util, key=lambda k: util[k])
    # A donor must stay below 85 % busy with one member of staff fewer.
    donors = [
        k
        for k in util
        if k != hot
        and binding.lanes[k].count >= 2
        and util[k] * binding.lanes[k].count / (binding.lanes[k].count - 1) < 0.85
    ]
    if not donors:
        return False
    cold = min(donors, key=lambda k: util[k])
    if util[hot] - util[cold] < 0.1:
        return False
    for lane_id, delta in ((hot, 1), (cold, -1)):
        lane = d.model.lanes[lane_id]
        key = lane_id if lane_id in d.params.resources else lane.name
        spec = d.params.resources[key]
        d.params.resources[key] = ResourceSpec(spec.count + delta, spec.calendar)
    d.change(
        f"从 {binding.lanes[cold].label}（忙碌 {util[cold]:.0%}）调一名工作人员到 "
        f"{binding.lanes[hot].label}（忙碌 {util[hot]:.0%}）",
        f"move one member of staff from {binding.lanes[cold].label} "
        f"({util[cold]:.0%} busy) to {binding.lanes[hot].label} ({util[hot]:.0%} busy)",
    )
    d.assume(
        "调来的工作人员与该泳道原有人员办理速度相同",
        "the moved member of staff is as fast as the lane's own staff",
    )
    return True


def _merge(d: _Draft) -> bool:
    model = d.model
    order = _topological_tasks(model)
    dropped = False
    for later in order:
        b = model.nodes[later]
        if len(b.incoming) != 1 or len(b.outgoing) != 1 or not b.form_fields:
            continue
        for earlier in order[: order.index(later)]:
            a = model.nodes[earlier]
            same = set(a.form_fields) & set(b.form_fields)
            if not same or len(same) < 0.5 * len(set(b.form_fields)):
                continue
            ed = d.editor
            out_flow = ed.flows_from(later)[0]
            target = out_flow.get("targetRef")
            ed.remove_flow(out_flow)
            for flow in ed.flows_to(later):
                ed.retarget(flow, target)
            ed.remove_node(later)
            d.params.activities.pop(later, None)
            d.params.activities.pop(b.name, None)
            d.params.in_person = [x for x in d.params.in_person if x not in (later, b.name)]
            d.change(
                f"取消 {b.label}：它再次采集 {'、'.join(sorted(same))}，这些信息已在 "
                f"{a.label} 采集（信息共享，一次录入）",
                f"drop {b.label}: it captures {', '.join(sorted(same))} again, already "
                f"captured at {a.label} (信息共享，一次录入)",
            )
            dropped = True
            break
        if dropped:
            break
    if dropped:
        d.assume(
            "一次采集的数据以电子方式传递，不耗费时间",
            "the data captured once is passed on electronically at no cost",
        )
        d.refresh()
        _merge(d)  # there may be more
    return dropped


def _topological_tasks(model: ProcessModel) -> list[str]:
    start = model.start_events[0].id
    seen: list[str] = []
    queue = [start]
    visited = {start}
    while queue:
        node_id = queue.pop(0)
        if model.nodes[node_id].kind == "task":
            seen.append(node_id)
        for f in model.nodes[node_id].outgoing:
            nxt = model.flows[f].target
            if nxt not in visited:
                visited.add(nxt)
                queue.append(nxt)
    return seen


_SINGLE: Final[dict[str, tuple[str, str]]] = {
    "parallel": ("并联审批", "Run independent department steps in parallel"),
    "precheck": ("在线预审", "Online completeness pre-check"),
    "held_materials": ("免提交", "Drop materials the city already holds"),
    "post_delivery": ("免费寄递/电子证照", "Deliver the result by post or electronically"),
    "move_staff": ("调配人员到瓶颈", "Move staff to the bottleneck lane"),
    "merge": ("一次录入", "Merge steps that capture the same data twice"),
}


def propose(
    model: ProcessModel,
    params: SimParams,
    *,
    materials: Sequence[Mapping[str, Any]] | None = None,
    probe_cases: int = 1500,
    seed: int = 0,
) -> list[Proposal]:
    """Every applicable proposal, plus ``combined`` when more than one applies.

    Raises:
        ValidationFailed: the parameters do not fit the model.
    """
    bind(model, params)
    xml = model.to_bytes()
    steps: dict[str, Callable[[_Draft], bool]] = {
        "merge": _merge,
        "parallel": _parallel,
        "precheck": _precheck,
        "held_materials": lambda d: _held_materials(d, materials),
        "post_delivery": _post_delivery,
        "move_staff": lambda d: _move_staff(d, probe_cases, seed),
    }
    proposals: list[Proposal] = []
    applied: list[str] = []
    for key, step in steps.items():
        draft = _Draft(_Editor(xml), parse_model(xml, called=model.called), params.copy())
        if step(draft):
            zh, en = _SINGLE[key]
            proposals.append(
                Proposal(
                    key,
                    zh,
                    en,
                    draft.editor.to_bytes(),
                    draft.params,
                    draft.changes,
                    draft.assumptions,
                    [key],
                    model.called,
                    draft.changes_zh,
                    draft.assumptions_zh,
                )
            )
            applied.append(key)
    if len(applied) > 1:
        draft = _Draft(_Editor(xml), parse_model(xml, called=model.called), params.copy())
        for key in applied:
            steps[key](draft)
        proposals.append(
            Proposal(
                "combined",
                "组合方案",
                "All applicable changes together",
                draft.editor.to_bytes(),
                draft.params,
                draft.changes,
                draft.assumptions,
                list(applied),
                model.called,
                draft.changes_zh,
                draft.assumptions_zh,
            )
        )
    for p in proposals:
        p.model()  # every proposal must be a readable model
        bind(p.model(), p.params)
    return proposals


def hand_edited(
    xml: bytes,
    params: SimParams,
    *,
    name: str = "hand_edited",
    called: dict[str, bytes] | None = None,
) -> Proposal:
    """An analyst's own BPMN, simulated with the baseline's parameters (``called``: the
    processes its call activities call).

    Raises:
        ValidationFailed: the file is not a usable model, or the parameters miss its tasks.
    """
    model = parse_model(xml, source=name, called=called)
    copy = params.copy()
    keys = {t.id for t in model.tasks} | {t.name for t in model.tasks}
    copy.activities = {k: v for k, v in copy.activities.items() if k in keys}
    copy.gateways = {k: v for k, v in copy.gateways.items() if k in model.flows}
    copy.gateways_on_repeat = {k: v for k, v in copy.gateways_on_repeat.items() if k in model.flows}
    copy.in_person = [x for x in copy.in_person if x in keys]
    lanes = set(model.lanes) | {lane.name for lane in model.lanes.values()}
    copy.resources = {k: v for k, v in copy.resources.items() if k in lanes}
    bind(model, copy)
    return Proposal(
        name,
        "人工修改",
        "Hand-edited model",
        xml,
        copy,
        ["analyst's own model"],
        called=dict(called or {}),
    )


# --------------------------------------------------------------------------- ranking


@dataclass
class RankedProposal:
    proposal: Proposal
    reps: Replications
    median: Estimate
    change: Estimate  # relative change of the median cycle time vs the baseline
    p90: Estimate
    trips: Estimate
    returns: Estimate

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.proposal.as_dict(),
            "cycle_median_h": self.median.as_dict(),
            "cycle_median_change": self.change.as_dict(),
            "cycle_p90_h": self.p90.as_dict(),
            "trips_per_case": self.trips.as_dict(),
            "returns_per_case": self.returns.as_dict(),
        }


@dataclass
class Ranking:
    baseline: Replications
    rows: list[RankedProposal]

    def as_dict(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline.summary(),
            "proposals": [r.as_dict() for r in self.rows],
        }

    @property
    def best(self) -> RankedProposal | None:
        return self.rows[0] if self.rows else None


def evaluate(
    model: ProcessModel,
    params: SimParams,
    proposals: Iterable[Proposal],
    *,
    cases: int = 2000,
    replications: int = 5,
    seed: int = 0,
    until_minutes: float | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Ranking:
    """Simulate the baseline and every proposal on the same seeds; best first.

    ``progress(done, total)`` is called after each scenario (the baseline counts as one).
    """
    proposals = list(proposals)
    total = 1 + len(proposals)
    base = replicate(
        model,
        params,
        cases=cases,
        replications=replications,
        seed=seed,
        until_minutes=until_minutes,
    )
    if progress is not None:
        progress(1, total)
    rows = []
    for done, proposal in enumerate(proposals, start=2):
        reps = replicate(
            proposal.model(),
            proposal.params,
            cases=cases,
            replications=replications,
            seed=seed,
            until_minutes=until_minutes,
        )
        _, change = compare_replications(base, reps, "cycle_median_h")
        rows.append(
            RankedProposal(
                proposal,
                reps,
                reps.estimate("cycle_median_h"),
                change,
                reps.estimate("cycle_p90_h"),
                reps.estimate("trips_per_case"),
                reps.estimate("returns_per_case"),
            )
        )
        if progress is not None:
            progress(done, total)
    rows.sort(key=lambda r: math.inf if math.isnan(r.change.mean) else r.change.mean)
    return Ranking(base, rows)
