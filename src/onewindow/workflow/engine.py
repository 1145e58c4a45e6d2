"""Running cases of a compiled process on SpiffWorkflow, without any database.

An ``EngineCase`` wraps one SpiffWorkflow workflow. Its state (``dump``) excludes the
process spec, which the caller stores once per process version (``CompiledProcess``);
``restore`` reattaches a deserialised spec shared by all cases of that version.

Every method that can move the workflow takes ``now``: it is the only clock timers see.
When a method raises, the in-memory case may be half-updated: discard it and restore from
the last dump (the caller's transaction rollback does exactly that).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
from uuid import UUID

from SpiffWorkflow.bpmn.specs.control import BoundaryEventSplit
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.multiple import MultipleEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.intermediate_event import BoundaryEvent
from SpiffWorkflow.bpmn.util.event import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.util.task import TaskState

from onewindow.kit.errors import Conflict, OneWindowError
from onewindow.workflow.bpmn import (
    INSTANCE_FORMAT,
    REGISTRY,
    ClockedCycleTimer,
    CompiledProcess,
    CountingParallelMI,
    CountingSequentialMI,
    FormField,
    ProcessInvalid,
    ProcessProblem,
    ScriptEngine,
    UserTaskInfo,
    analyse_bpmn,
    compile_bpmn,
    json_default,
    load_specs,
    parse_instant,
    plain_message,
    process_from_state,
)
from onewindow.workflow.expressions import ExpressionError

__all__ = [
    "CompiledProcess",
    "EngineCase",
    "ExpressionError",
    "FiredTimer",
    "FormField",
    "ProcessInvalid",
    "ProcessProblem",
    "ProcessRuntimeError",
    "ReadyTask",
    "TaskNotReady",
    "UserTaskInfo",
    "analyse_bpmn",
    "compile_bpmn",
    "process_from_state",
    "trial_start",
    "validate_bpmn",
]


class TaskNotReady(Conflict):
    code = "task.not_ready"


class ProcessRuntimeError(OneWindowError):
    """A script, condition, timer or decision failed while the case was running."""

    code = "process.runtime_error"
    status = 422


@dataclass(frozen=True)
class ReadyTask:
    """A user or manual task waiting for a person.

    ``escalates`` is the engine id of the task this one escalates: set when the task lies on
    the path of a non-interrupting boundary event (a 督办 branch) attached to that task.
    """

    task_uuid: str
    task_id: str
    name: str
    lane: str
    form_fields: list[FormField]
    escalates: str | None = None
    #: For one instance of a multi-instance task: its element variable and value (e.g.
    #: ``{"level": "处长"}``) and its number among the instances (1-based).
    instance: Mapping[str, Any] = field(default_factory=dict)
    instance_no: int | None = None

    @property
    def assignee(self) -> str | None:
        """The instance's person when the element variable is ``assignee`` (Camunda's
        convention for a 会签 over named reviewers)."""
        value = self.instance.get("assignee")
        return value if isinstance(value, str) and value else None


@dataclass(frozen=True)
class FiredTimer:
    """A timer that fired: its BPMN id and, for a boundary timer, the task it sits on."""

    timer_id: str
    attached_to: str | None = None
    interrupting: bool = True


def validate_bpmn(
    xml: bytes, dmn: Sequence[bytes] = (), called: Mapping[str, bytes] | None = None
) -> list[ProcessProblem]:
    """Every problem ``catalog load`` and starting a case would meet, as one line each with
    the element id: the static checks, compiling, storing the spec, and a trial start (run to
    the first wait, stored and restored) — a file this accepts always loads and starts.

    ``called`` maps the processes the catalogue holds (for call activities) to their BPMN.
    """
    problems = analyse_bpmn(xml, dmn, called)
    if problems:
        return problems
    try:
        compiled = compile_bpmn(xml, dmn, called)
        others = {
            key: compile_bpmn(other)
            for key, other in (called or {}).items()
            if key in compiled.called
        }
    except ProcessInvalid as exc:
        return [ProcessProblem(**p) for p in exc.details.get("problems", [])] or [
            ProcessProblem(None, exc.message)
        ]
    deeper = [
        ProcessProblem(
            None,
            f"the called process {key!r} itself calls {', '.join(other.called)}: "
            "one level of call activities is supported",
        )
        for key, other in others.items()
        if other.called
    ]
    return deeper or trial_start(compiled, others)


def trial_start(
    compiled: CompiledProcess, called: Mapping[str, CompiledProcess] | None = None
) -> list[ProcessProblem]:
    """Start a case with no data, run it to its first wait, store and restore it: what goes
    wrong there would go wrong for every case (a step that needs the case's own data is
    checked when a real case gets there)."""
    now = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
    try:
        case = EngineCase.start(compiled, {}, now, called)
        EngineCase.restore(compiled, case.dump(), called)
    except ProcessRuntimeError as exc:
        if any(m in exc.message for m in ("unknown variable", "which the case lacks")):
            return []
        element = exc.details.get("element_id") if exc.details else None
        return [ProcessProblem(element, plain_message(exc.message))]
    except (TypeError, ValueError, KeyError) as exc:
        return [ProcessProblem(None, plain_message(f"a started case cannot be stored: {exc}"))]
    return []


def _require_aware(now: datetime) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("EngineCase needs a timezone-aware 'now'")


def _definitions(definition: Any) -> list[Any]:
    if isinstance(definition, MultipleEventDefinition):
        return list(definition.event_definitions)
    return [definition]


def _timer_tasks(workflow: Any) -> list[Any]:
    return [
        task
        for task in workflow.event_manager.tasks.values()
        if any(
            isinstance(d, TimerEventDefinition)
            for d in _definitions(task.task_spec.event_definition)
        )
    ]


def _timer_values(task: Any) -> list[Any]:
    """The schedule values a waiting task's timers keep (one, or one per gateway branch)."""
    if isinstance(task.task_spec.event_definition, MultipleEventDefinition):
        return [v for k, v in task.internal_data.items() if k.startswith("event_value:")]
    return [task._get_internal_data("event_value")]


class EngineCase:
    """One running (or finished) case of a compiled process."""

    __slots__ = ("_called", "_engine", "_process", "_workflow", "ended_escalations")

    def __init__(
        self,
        process: CompiledProcess,
        workflow: Any,
        engine: ScriptEngine,
        called: Mapping[str, CompiledProcess] | None = None,
    ) -> None:
        self._process = process
        self._workflow = workflow
        self._engine = engine
        self._called = dict(called or {})
        # Engine ids of escalation tasks ended because the task they escalate ended.
        self.ended_escalations: set[str] = set()

    # --- lifecycle ------------------------------------------------------------------------

    @staticmethod
    def _specs(
        process: CompiledProcess, called: Mapping[str, CompiledProcess]
    ) -> tuple[Any, dict[str, Any]]:
        """The process's spec and every sub-process spec a case of it may need: its own, and
        those of the called processes' versions the case is bound to."""
        spec, subprocess_specs = load_specs(process.spec_state)
        needed = {*process.called, *(k for other in called.values() for k in other.called)}
        missing = sorted(key for key in needed if key not in called)
        if missing:
            raise ProcessRuntimeError(
                f"the called process(es) {', '.join(missing)} are not available",
                message_zh=f"被调用的流程 {'、'.join(missing)} 不可用",
            )
        merged = dict(subprocess_specs)
        for key, other in called.items():
            other_spec, other_subs = load_specs(other.spec_state)
            merged[key] = other_spec
            merged.update(other_subs)
        return spec, merged

    @classmethod
    def start(
        cls,
        process: CompiledProcess,
        data: Mapping[str, Any],
        now: datetime,
        called: Mapping[str, CompiledProcess] | None = None,
    ) -> EngineCase:
        """Create a case with the initial process variables and run it to its first wait.

        ``called`` binds the processes its call activities call to the versions to use.
        """
        _require_aware(now)
        spec, subprocess_specs = cls._specs(process, called or {})
        engine = ScriptEngine()
        workflow = BpmnWorkflow(spec, subprocess_specs, script_engine=engine)
        initial = deepcopy(dict(data))
        for task in workflow.get_tasks(state=TaskState.READY):
            task.data.update(initial)
        case = cls(process, workflow, engine, called)
        case._advance(now, None)
        return case

    @classmethod
    def restore(
        cls,
        process: CompiledProcess,
        state: str,
        called: Mapping[str, CompiledProcess] | None = None,
    ) -> EngineCase:
        """Rebuild a case from ``dump()`` output and the process it was started from."""
        raw = json.loads(state)
        if raw.pop("format", None) != INSTANCE_FORMAT:
            raise ProcessRuntimeError("case state has an unknown format")
        spec, subprocess_specs = cls._specs(process, called or {})
        engine = ScriptEngine()
        workflow = REGISTRY.restore(
            raw, spec=spec, subprocess_specs=subprocess_specs, script_engine=engine
        )
        return cls(process, workflow, engine, called)

    def dump(self) -> str:
        """Case state as JSON text, without the process spec."""
        dct = cast(dict[str, Any], REGISTRY.convert(self._workflow))
        dct["format"] = INSTANCE_FORMAT
        return json.dumps(dct, default=json_default, ensure_ascii=False, separators=(",", ":"))

    # --- queries --------------------------------------------------------------------------

    @property
    def process(self) -> CompiledProcess:
        return self._process

    def is_completed(self) -> bool:
        return bool(self._workflow.is_completed())

    @property
    def data(self) -> dict[str, Any]:
        """Process variables: the final data once completed, else the latest task's."""
        workflow = self._workflow
        if workflow.is_completed():
            merged = dict(workflow.data)
            if workflow.last_task is not None:
                merged.update(workflow.last_task.data)
            return merged
        last = workflow.last_task
        if last is None:
            return dict(workflow.data)
        return dict(last.data)

    def _workflows(self) -> list[Any]:
        """The case's workflow and every sub-process (embedded or called) running in it."""
        return [self._workflow, *self._workflow.subprocesses.values()]

    def _tasks(self, **kwargs: Any) -> list[Any]:
        seen: set[Any] = set()
        out = []
        for wf in self._workflows():
            for task in wf.get_tasks(**kwargs):
                if task.id not in seen:
                    seen.add(task.id)
                    out.append(task)
        return out

    def task_info(self, task_id: str) -> UserTaskInfo | None:
        """What the process (or a process it calls) says of a user task."""
        found = self._process.user_tasks_by_id.get(task_id)
        if found is not None:
            return found
        for other in self._called.values():
            found = other.user_tasks_by_id.get(task_id)
            if found is not None:
                return found
        return None

    def ready_user_tasks(self) -> list[ReadyTask]:
        """User and manual tasks waiting for a person, in a stable order."""
        ready: list[ReadyTask] = []
        for task in self._tasks(state=TaskState.READY, manual=True):
            task_id = str(task.task_spec.bpmn_id)
            info = self.task_info(task_id)
            ready.append(
                ReadyTask(
                    task_uuid=str(task.id),
                    task_id=task_id,
                    name=info.name if info else str(task.task_spec.bpmn_name or task_id),
                    lane=info.lane if info else str(task.task_spec.lane or ""),
                    form_fields=info.form_fields if info else [],
                    escalates=_escalated_task(task),
                    **_instance_of(task),
                )
            )
        return ready

    def next_timer_due(self) -> datetime | None:
        """When the earliest waiting timer falls due (None when no timer waits), including
        the timers behind an event-based gateway."""
        due: list[datetime] = []
        for task in _timer_tasks(self._workflow):
            for value in _timer_values(task):
                if isinstance(value, dict):  # cycle timers keep a schedule
                    if value.get("cycles", 0) == 0:
                        continue
                    value = value.get("next")
                if isinstance(value, str):
                    due.append(parse_instant(value))
        return min(due) if due else None

    def waiting_messages(self) -> list[str]:
        """Names of the messages the case waits for now (catch events, receive tasks,
        message branches of an event-based gateway)."""
        names: list[str] = []
        for task in list(self._workflow.event_manager.tasks.values()):
            for definition in _definitions(task.task_spec.event_definition):
                if isinstance(definition, MessageEventDefinition) and definition.name:
                    if definition.name not in names:
                        names.append(str(definition.name))
        return names

    def deliver(self, name: str, payload: Mapping[str, Any], now: datetime) -> bool:
        """Hand the case a message it waits for; False when nothing waits for ``name``.

        The payload's keys become process variables of the catching task.
        """
        _require_aware(now)
        if name not in self.waiting_messages():
            return False
        event = BpmnEvent(MessageEventDefinition(name), payload=deepcopy(dict(payload)))
        self._advance(now, lambda: self._workflow.catch(event))
        return True

    def thrown_messages(self) -> list[tuple[str, dict[str, Any]]]:
        """Messages the case sent that nothing inside it caught (for the outside world),
        taken out so each is reported once."""
        out: list[tuple[str, dict[str, Any]]] = []
        for event in self._workflow.get_events():
            definition = event.event_definition
            payload = event.payload if isinstance(event.payload, dict) else {}
            out.append((str(getattr(definition, "name", "") or ""), payload))
        return out

    # --- commands -------------------------------------------------------------------------

    def complete(self, task_uuid: str, data: Mapping[str, Any], now: datetime) -> None:
        """Merge ``data`` into a ready user/manual task, finish it and run the engine on."""
        _require_aware(now)
        task = self._ready_task(task_uuid)
        update = deepcopy(dict(data))

        def finish() -> None:
            task.data.update(update)
            task.run()

        self._advance(now, finish)

    def fire_due_timers(self, now: datetime) -> list[str]:
        """Fire every timer due at ``now``; returns the BPMN ids of the timer events fired."""
        return [fired.timer_id for fired in self.fired_timers(now)]

    def fired_timers(self, now: datetime) -> list[FiredTimer]:
        """Fire every timer due at ``now``; what fired, with the task a boundary timer is on."""
        _require_aware(now)
        waiting = {task.id: task for task in _timer_tasks(self._workflow)}
        cycles_before = {
            task.id: _cycle_count(task)
            for task in waiting.values()
            if isinstance(task.task_spec.event_definition, ClockedCycleTimer)
        }
        attached = {task_id: _attached_task(task) for task_id, task in waiting.items()}
        branches = {task_id: _timer_branches(task) for task_id, task in waiting.items()}
        self._advance(now, self._workflow.refresh_timers)
        fired: list[FiredTimer] = []
        for task_id, task in waiting.items():
            if branches[task_id]:  # an event-based gateway: which timer branch was taken
                taken = [
                    str(c.task_spec.bpmn_id)
                    for c in task.children
                    if str(c.task_spec.bpmn_id) in branches[task_id]
                    and c.has_state(TaskState.DEFINITE_MASK | TaskState.FINISHED_MASK)
                    and not c.has_state(TaskState.CANCELLED)
                ]
                if task.state != TaskState.WAITING:
                    fired += [FiredTimer(name, None, True) for name in taken]
                continue
            if task_id in cycles_before:
                before, after = cycles_before[task_id], _cycle_count(task)
                # Each firing counts the remaining cycles down by one (from -1 when unbounded).
                went = isinstance(before, int) and isinstance(after, int) and after < before
            else:
                went = task.state != TaskState.WAITING and not task.has_state(TaskState.CANCELLED)
            if went:
                spec = task.task_spec
                fired.append(
                    FiredTimer(
                        str(spec.bpmn_id),
                        attached[task_id],
                        bool(getattr(spec, "cancel_activity", True)),
                    )
                )
        return fired

    # --- internals ------------------------------------------------------------------------

    def _ready_task(self, task_uuid: str) -> Any:
        try:
            task = self._workflow.get_task_from_id(UUID(task_uuid))
        except (ValueError, TypeError, SpiffWorkflowException):
            task = None
        if task is None:
            raise TaskNotReady(
                f"task {task_uuid} does not exist in this case",
                message_zh=f"任务 {task_uuid} 不存在",
            )
        if task.state != TaskState.READY or not task.task_spec.manual:
            raise TaskNotReady(
                f"task {task_uuid} ({task.task_spec.bpmn_id}) is "
                f"{TaskState.get_name(task.state)}, not ready for a person",
                message_zh=f"任务 {task_uuid} 当前不可办理",
            )
        return task

    def _advance(self, now: datetime, action: Callable[[], Any] | None) -> None:
        self._engine.now = now
        try:
            if action is not None:
                action()
            self._workflow.do_engine_steps()
            # An escalation (督办) branch ends with the task it escalates; ending it may let the
            # case finish, so the engine runs on once more after.
            if self._end_escalations():
                self._workflow.do_engine_steps()
        except SpiffWorkflowException as exc:
            raise _runtime_error(exc) from exc
        finally:
            self._engine.now = None

    def _end_escalations(self) -> bool:
        """Cancel what is still open on a fired non-interrupting boundary path whose task ended.

        BPMN lets such a branch live on after its activity; in a service hall a 督办 task for a
        step already done is noise that keeps the case open for ever, so it ends with the step.
        """
        specs = [self._workflow.spec, *self._workflow.subprocess_specs.values()]
        if not any(_has_escalation_paths(spec) for spec in specs):  # called processes too
            return False
        ended = False
        for split in self._tasks(state=TaskState.COMPLETED):
            if not isinstance(split.task_spec, BoundaryEventSplit):
                continue
            main = [c for c in split.children if not isinstance(c.task_spec, BoundaryEvent)]
            if not main or not main[0].has_state(TaskState.FINISHED_MASK):
                continue
            for event in split.children:
                spec = event.task_spec
                if not isinstance(spec, BoundaryEvent) or spec.cancel_activity:
                    continue
                if event.state != TaskState.COMPLETED:
                    continue
                for open_task in [
                    t for t in event if t is not event and not t.has_state(TaskState.FINISHED_MASK)
                ]:
                    if open_task.task_spec.manual:
                        self.ended_escalations.add(str(open_task.id))
                    open_task.cancel()
                    ended = True
        if ended:
            # A join waiting for the cancelled branch (a called process's end) looks again;
            # Spiff only does so when a task of that workflow completes.
            for workflow in self._workflows():
                workflow.update_waiting_tasks()
        return ended


def _instance_of(task: Any) -> dict[str, Any]:
    """The element variable and number of a multi-instance child task (empty otherwise)."""
    parent = task.parent
    spec = getattr(parent, "task_spec", None)
    if not isinstance(spec, (CountingParallelMI, CountingSequentialMI)):
        return {}
    item = spec.input_item
    instance = {}
    if item is not None and item.bpmn_id in task.data:
        instance[item.bpmn_id] = deepcopy(task.data[item.bpmn_id])
    iteration = task.internal_data.get("key_or_index")
    number = iteration + 1 if isinstance(iteration, int) else None
    return {"instance": instance, "instance_no": number}


def _timer_branches(task: Any) -> set[str]:
    """BPMN ids of the timer branches behind an event-based gateway task (else empty)."""
    definition = task.task_spec.event_definition
    if not isinstance(definition, MultipleEventDefinition):
        return set()
    outputs = list(task.task_spec.outputs)
    return {
        str(outputs[i].bpmn_id)
        for i, d in enumerate(definition.event_definitions)
        if isinstance(d, TimerEventDefinition) and i < len(outputs)
    }


def _has_escalation_paths(spec: Any) -> bool:
    return any(
        isinstance(s, BoundaryEvent) and not s.cancel_activity for s in spec.task_specs.values()
    )


def _attached_task(timer_task: Any) -> str | None:
    """Engine id of the activity a boundary event task sits on (None for other events)."""
    if not isinstance(timer_task.task_spec, BoundaryEvent):
        return None
    split = timer_task.parent
    if split is None:
        return None
    for sibling in split.children:
        if not isinstance(sibling.task_spec, BoundaryEvent):
            return str(sibling.id)
    return None


def _escalated_task(task: Any) -> str | None:
    """Engine id of the task whose non-interrupting boundary path ``task`` lies on."""
    node = task.parent
    while node is not None:
        spec = node.task_spec
        if isinstance(spec, BoundaryEvent):
            return None if spec.cancel_activity else _attached_task(node)
        if isinstance(spec, BoundaryEventSplit):
            return None  # reached the split from its main branch
        node = node.parent
    return None


def _cycle_count(task: Any) -> Any:
    value = task._get_internal_data("event_value")
    return value.get("cycles") if isinstance(value, dict) else None


def _runtime_error(exc: SpiffWorkflowException) -> ProcessRuntimeError:
    task = getattr(exc, "task", None)
    element_id = getattr(getattr(task, "task_spec", None), "bpmn_id", None)
    cause = getattr(exc, "exception", None) or exc
    message = cause.message if isinstance(cause, OneWindowError) else str(cause)
    where = f" at {element_id}" if element_id else ""
    return ProcessRuntimeError(
        f"process failed{where}: {message}",
        message_zh=f"流程运行出错{where}：{message}",
        details={"element_id": element_id},
    )
