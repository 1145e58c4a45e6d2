"""What changed between two versions of a process (流程变更): the basis of a "what changed"
course. Reads BPMN 2.0 XML with lxml only — the workflow package owns the BPMN engine.

A step is matched across versions by its element id, then by its name, so a renamed id with
the same name is the same step. A step has *moved* when its lane changed or the steps right
before it changed; *new fields* are form fields (camunda ``formField``) it did not have; it
is *done differently* when how many do it changed (a 会签 of three where two must agree, a
逐级审批 one after another) or the events on it changed (a deadline, an error, a message).

Embedded sub-processes and call activities are inlined first (``kit.bpmn_flatten``; the
called processes from ``called``), so their steps are steps of the process. Waiting for a
message or a timer (a catch event, e.g. behind an event-based gateway) is a step too: staff
need to know a case now waits for another department's answer.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

from lxml import etree

from onewindow.kit.bpmn_flatten import executable_process, flatten_process
from onewindow.kit.errors import ValidationFailed

__all__ = ["ProcessDiff", "Step", "StepChange", "diff_processes", "parse_steps", "render_markdown"]

BPMN_NS: Final = "http://www.omg.org/spec/BPMN/20100524/MODEL"
STEP_TAGS: Final = frozenset(
    {
        "task",
        "userTask",
        "manualTask",
        "serviceTask",
        "scriptTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "intermediateCatchEvent",
    }
)
_EVENT_WORDS: Final = {
    "timer": "定时",
    "error": "错误",
    "escalation": "上报",
    "message": "消息",
    "signal": "信号",
    "conditional": "条件",
    "compensate": "补偿",
}


@dataclass(frozen=True)
class Step:
    id: str
    name: str
    lane: str | None
    predecessors: frozenset[str]  # names of the steps right before, through gateways/events
    fields: tuple[tuple[str, str], ...]  # (field id, label)
    order: int
    mode: str = ""  # how it is done: "" (once), 会签 3 人（2 人即可）, 逐级审批…
    events: tuple[str, ...] = ()  # boundary events on it, e.g. "定时 超过5日未核查"


@dataclass(frozen=True)
class StepChange:
    name: str
    lane: str | None
    old_lane: str | None = None
    before: tuple[str, ...] = ()  # old predecessors (moved)
    after: tuple[str, ...] = ()  # new predecessors (moved)
    fields: tuple[tuple[str, str], ...] = ()  # new fields
    old_mode: str = ""  # done differently: how, before and after
    mode: str = ""
    old_events: tuple[str, ...] = ()
    events: tuple[str, ...] = ()


@dataclass
class ProcessDiff:
    added: list[StepChange] = field(default_factory=list)
    removed: list[StepChange] = field(default_factory=list)
    moved: list[StepChange] = field(default_factory=list)
    new_fields: list[StepChange] = field(default_factory=list)
    reworked: list[StepChange] = field(default_factory=list)  # done differently

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.moved or self.new_fields or self.reworked)

    def affected_lanes(self) -> set[str]:
        lanes: set[str] = set()
        for change in (
            *self.added,
            *self.removed,
            *self.moved,
            *self.new_fields,
            *self.reworked,
        ):
            lanes |= {x for x in (change.lane, change.old_lane) if x}
        return lanes

    def activities(self) -> set[str]:
        return {c.name for c in (*self.added, *self.moved, *self.new_fields, *self.reworked)}


def _local(tag: object) -> str:
    text = str(tag)
    return text.rsplit("}", 1)[-1]


def _mode(el: etree._Element) -> str:
    mi = el.find(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics")
    if mi is None:
        loop = el.find(f"{{{BPMN_NS}}}standardLoopCharacteristics")
        return "循环办理" if loop is not None else ""
    cardinality = mi.find(f"{{{BPMN_NS}}}loopCardinality")
    count = (cardinality.text or "").strip() if cardinality is not None else ""
    who = f"{count} 人" if count.isdigit() else "多人"
    if mi.get("isSequential") == "true":
        text = f"逐级审批（{who}依次办理）"
    else:
        text = f"会签（{who}同时办理）"
    condition = mi.find(f"{{{BPMN_NS}}}completionCondition")
    if condition is not None and (condition.text or "").strip():
        text += f"，满足 {(condition.text or '').strip()} 即完成"
    return text


def _event_text(el: etree._Element) -> str:
    kind = next(
        (
            _local(c.tag).removesuffix("EventDefinition")
            for c in el
            if _local(c.tag).endswith("EventDefinition")
        ),
        "",
    )
    word = _EVENT_WORDS.get(kind, "事件")
    if el.get("cancelActivity") == "false":
        word += "（不中断）"
    return f"{word} {(el.get('name') or el.get('id') or '').strip()}"


def parse_steps(xml: str | bytes, called: Mapping[str, bytes] | None = None) -> dict[str, Step]:
    """The process's steps by element id (sub-processes and call activities inlined;
    ``called``: process id → BPMN of the processes call activities call).

    Raises:
        ValidationFailed: not well-formed XML or no BPMN process in it.
    """
    data = xml.encode() if isinstance(xml, str) else xml
    try:
        root = etree.fromstring(
            data, parser=etree.XMLParser(resolve_entities=False, no_network=True)
        )
    except etree.XMLSyntaxError as exc:
        raise ValidationFailed(
            f"not a BPMN file: {exc}",
            message_zh=f"不是有效的 BPMN 文件：{exc}",
            code="training.bpmn_invalid",
        ) from exc
    processes = root.findall(f".//{{{BPMN_NS}}}process")
    if not processes:
        raise ValidationFailed(
            "the file has no BPMN process",
            message_zh="文件中没有 BPMN 流程",
            code="training.bpmn_invalid",
        )
    chosen = executable_process(root)
    process = flatten_process(chosen if chosen is not None else processes[0], called, root).process
    lane_of: dict[str, str] = {}
    for lane in process.iter(f"{{{BPMN_NS}}}lane"):
        for ref in lane.findall(f"{{{BPMN_NS}}}flowNodeRef"):
            lane_of[(ref.text or "").strip()] = lane.get("name") or lane.get("id") or ""
    nodes: dict[str, etree._Element] = {}
    for el in process:
        if isinstance(el.tag, str) and el.get("id"):
            nodes[el.get("id") or ""] = el
    incoming: dict[str, list[str]] = {}
    outgoing: dict[str, list[str]] = {}
    events: dict[str, list[str]] = {}
    for el in nodes.values():
        if _local(el.tag) == "sequenceFlow":
            src, dst = el.get("sourceRef") or "", el.get("targetRef") or ""
            incoming.setdefault(dst, []).append(src)
            outgoing.setdefault(src, []).append(dst)
        elif _local(el.tag) == "boundaryEvent" and el.get("attachedToRef"):
            # What follows a boundary event follows the step it is attached to.
            attached = el.get("attachedToRef") or ""
            incoming.setdefault(el.get("id") or "", []).append(attached)
            events.setdefault(attached, []).append(_event_text(el))
    steps_ids = [i for i, el in nodes.items() if _local(el.tag) in STEP_TAGS]

    def name(i: str) -> str:
        return (nodes[i].get("name") or i).strip()

    def step_predecessors(i: str) -> frozenset[str]:
        found: set[str] = set()
        seen = {i}
        queue = deque(incoming.get(i, []))
        while queue:
            n = queue.popleft()
            if n in seen:
                continue
            seen.add(n)
            if n in nodes and _local(nodes[n].tag) in STEP_TAGS:
                found.add(name(n))
            else:
                queue.extend(incoming.get(n, []))
        return frozenset(found)

    # Order: breadth-first from the start events, for a stable listing.
    starts = [i for i, el in nodes.items() if _local(el.tag) == "startEvent"]
    order: dict[str, int] = {}
    queue = deque(starts)
    while queue:
        n = queue.popleft()
        if n in order:
            continue
        order[n] = len(order)
        queue.extend(outgoing.get(n, []))
    out: dict[str, Step] = {}
    for i in steps_ids:
        fields = tuple(
            (f.get("id") or "", f.get("label") or f.get("id") or "")
            for f in nodes[i].iter()
            if isinstance(f.tag, str) and _local(f.tag) == "formField"
        )
        out[i] = Step(
            i,
            name(i),
            lane_of.get(i),
            step_predecessors(i),
            fields,
            order.get(i, 10**6),
            _mode(nodes[i]),
            tuple(sorted(events.get(i, []))),
        )
    return out


def diff_processes(
    old_xml: str | bytes, new_xml: str | bytes, called: Mapping[str, bytes] | None = None
) -> ProcessDiff:
    """Steps added, removed, moved, given new fields and done differently from ``old_xml``
    to ``new_xml`` (``called``: the processes their call activities call, inlined)."""
    old, new = parse_steps(old_xml, called), parse_steps(new_xml, called)
    old_by_name = {s.name: s for s in old.values()}
    matched: dict[str, Step] = {}  # new id -> old step
    for i, step in new.items():
        if i in old:
            matched[i] = old[i]
        elif step.name in old_by_name:
            matched[i] = old_by_name[step.name]
    used_old = {s.id for s in matched.values()}
    diff = ProcessDiff()
    for step in sorted(new.values(), key=lambda s: s.order):
        before = matched.get(step.id)
        if before is None:
            diff.added.append(StepChange(step.name, step.lane, fields=step.fields))
            continue
        if before.lane != step.lane or before.predecessors != step.predecessors:
            diff.moved.append(
                StepChange(
                    step.name,
                    step.lane,
                    old_lane=before.lane,
                    before=tuple(sorted(before.predecessors)),
                    after=tuple(sorted(step.predecessors)),
                )
            )
        known = {f[0] for f in before.fields}
        fresh = tuple(f for f in step.fields if f[0] not in known)
        if fresh:
            diff.new_fields.append(StepChange(step.name, step.lane, fields=fresh))
        if before.mode != step.mode or before.events != step.events:
            diff.reworked.append(
                StepChange(
                    step.name,
                    step.lane,
                    old_mode=before.mode,
                    mode=step.mode,
                    old_events=before.events,
                    events=step.events,
                )
            )
    for step in sorted(old.values(), key=lambda s: s.order):
        if step.id not in used_old:
            diff.removed.append(StepChange(step.name, step.lane))
    return diff


def render_markdown(title: str, diff: ProcessDiff) -> str:
    """The course text: one section per kind of change, in the steps' order."""
    lines = [f"# {title}", ""]
    if diff.empty:
        lines.append("流程步骤没有变化。/ The steps did not change.")
        return "\n".join(lines)

    def lane(c: StepChange) -> str:
        return f"（{c.lane}）" if c.lane else ""

    if diff.added:
        lines += ["## 新增步骤 / Steps added", ""]
        lines += [f"- **{c.name}**{lane(c)}" for c in diff.added]
        lines.append("")
    if diff.removed:
        lines += ["## 取消步骤 / Steps removed", ""]
        lines += [f"- ~~{c.name}~~{lane(c)}" for c in diff.removed]
        lines.append("")
    if diff.moved:
        lines += ["## 调整的步骤 / Steps moved", ""]
        for c in diff.moved:
            where = f"{c.old_lane} → {c.lane}" if c.old_lane != c.lane else (c.lane or "")
            prev = f"前序：{'、'.join(c.before) or '开始'} → {'、'.join(c.after) or '开始'}"
            lines.append(f"- **{c.name}**：{where}；{prev}")
        lines.append("")
    if diff.reworked:
        lines += ["## 办理方式变化 / Done differently", ""]
        for c in diff.reworked:
            parts = []
            if c.old_mode != c.mode:
                parts.append(f"{c.old_mode or '一人办理'} → {c.mode or '一人办理'}")
            gained = [e for e in c.events if e not in c.old_events]
            lost = [e for e in c.old_events if e not in c.events]
            if gained:
                parts.append("新增：" + "、".join(gained))
            if lost:
                parts.append("取消：" + "、".join(lost))
            lines.append(f"- **{c.name}**{lane(c)}：" + "；".join(parts))
        lines.append("")
    if diff.new_fields:
        lines += ["## 新增填写项 / New fields", ""]
        for c in diff.new_fields:
            lines.append(
                f"- **{c.name}**：" + "、".join(f"{label}（`{fid}`）" for fid, label in c.fields)
            )
        lines.append("")
    return "\n".join(lines)
