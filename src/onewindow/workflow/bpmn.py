"""Loading, validating and compiling BPMN/DMN files, and the SpiffWorkflow glue they need.

Everything SpiffWorkflow-specific that both compiling and running need lives here: the
restricted script engine, timer event definitions that read an injected clock instead of
``datetime.now``, the Camunda parser wired to those timers, and the serializer registry.
"""

from __future__ import annotations

import ast
import hashlib
import json
import re
import threading
from collections import ChainMap
from collections.abc import Iterable, Mapping, Sequence
from copy import deepcopy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property, lru_cache
from typing import Any, cast
from uuid import UUID

from lxml import etree
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.parser.BpmnParser import BpmnValidator, full_tag
from SpiffWorkflow.bpmn.parser.event_parsers import EventDefinitionParser
from SpiffWorkflow.bpmn.parser.TaskParser import TaskParser
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.serializer import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.serializer.default.event_definition import (
    MessageEventDefinitionConverter,
)
from SpiffWorkflow.bpmn.serializer.default.task_spec import (
    BpmnTaskSpecConverter,
    MultiInstanceTaskConverter,
)
from SpiffWorkflow.bpmn.serializer.default.workflow import BpmnWorkflowConverter, TaskConverter
from SpiffWorkflow.bpmn.specs.data_spec import TaskDataReference
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent,
    EndEvent,
    IntermediateCatchEvent,
    IntermediateThrowEvent,
    ManualTask,
    NoneTask,
    ParallelMultiInstanceTask,
    SequentialMultiInstanceTask,
    ServiceTask,
    StartEvent,
)
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.camunda.parser.CamundaParser import CamundaParser
from SpiffWorkflow.camunda.parser.event_parsers import (
    CamundaBoundaryEventParser,
    CamundaEndEventParser,
    CamundaIntermediateCatchEventParser,
    CamundaIntermediateThrowEventParser,
    CamundaStartEventParser,
)
from SpiffWorkflow.camunda.parser.task_spec import CamundaTaskParser
from SpiffWorkflow.camunda.serializer.config import CAMUNDA_CONFIG
from SpiffWorkflow.camunda.specs.user_task import UserTask as CamundaUserTask
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import Task
from SpiffWorkflow.util.deep_merge import DeepMerge
from SpiffWorkflow.util.task import TaskState

from onewindow.kit.errors import OneWindowError
from onewindow.workflow import dialects, expressions
from onewindow.workflow.expressions import ExpressionError
from onewindow.workflow.rewrites import (
    BPMN_NS,
    CAMUNDA_NS,
    DIALECT_FAILED,
    DIALECT_ORIGINAL,
    ProcessProblem,
    make_flows_explicit,
    quoted,
    reference_problems,
    translate_dialects,
)
from onewindow.workflow.rewrites import NS as _NS
from onewindow.workflow.rewrites import local_name as _local
from onewindow.workflow.rewrites import node_text as _text

__all__ = [
    "CompiledProcess",
    "FormField",
    "ProcessInvalid",
    "ProcessProblem",
    "UserTaskInfo",
    "compile_bpmn",
    "process_from_state",
    "analyse_bpmn",
]

_SPEC_FORMAT = 1
INSTANCE_FORMAT = 1

# Only these two hit policies are implemented by SpiffWorkflow's DMN engine; others would
# silently behave like FIRST.
_HIT_POLICIES = frozenset({"UNIQUE", "COLLECT"})


# --- public data --------------------------------------------------------------------------


class ProcessInvalid(OneWindowError):
    code = "process.invalid"
    status = 422


@dataclass(frozen=True)
class FormField:
    id: str
    label: str
    type: str
    required: bool
    # Option ids of an enum field, in form order (empty for other types).
    options: list[str] = field(default_factory=list)
    # The modeller's name of each option, same order (e.g. "不予受理" for "reject").
    option_names: list[str] = field(default_factory=list)
    # camunda:formField/@defaultValue, when the model gives one.
    default: str | None = None


@dataclass(frozen=True)
class UserTaskInfo:
    task_id: str
    name: str
    lane: str
    form_fields: list[FormField]
    can_send_back: bool


@dataclass(frozen=True)
class CompiledProcess:
    """A validated process, ready to start cases.

    ``spec_state`` is what must be stored (once per process version) to run cases later;
    ``to_json``/``from_json`` round-trip the whole object so it need not be recompiled.
    """

    process_id: str
    name: str
    spec_state: str
    lanes: list[str]
    user_tasks: list[UserTaskInfo]
    # Processes its call activities call: a case binds to their versions when it starts.
    called: list[str] = field(default_factory=list)

    @cached_property
    def spec_hash(self) -> str:
        return hashlib.sha256(self.spec_state.encode()).hexdigest()

    @cached_property
    def user_tasks_by_id(self) -> dict[str, UserTaskInfo]:
        return {task.task_id: task for task in self.user_tasks}

    def to_json(self) -> str:
        return json.dumps(
            {
                "process_id": self.process_id,
                "name": self.name,
                "spec_state": self.spec_state,
                "lanes": self.lanes,
                "user_tasks": [_user_task_to_dict(t) for t in self.user_tasks],
                "called": self.called,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> CompiledProcess:
        raw = json.loads(text)
        return cls(
            process_id=raw["process_id"],
            name=raw["name"],
            spec_state=raw["spec_state"],
            lanes=list(raw["lanes"]),
            user_tasks=[_user_task_from_dict(t) for t in raw["user_tasks"]],
            called=list(raw.get("called", [])),
        )


# --- the script engine --------------------------------------------------------------------


class ScriptEngine(PythonScriptEngine):  # type: ignore[misc]
    """Routes every expression and script SpiffWorkflow runs through ``expressions``.

    One instance per running case: it also carries that case's notion of "now", which the
    timer definitions below read, so two cases in two threads never share a clock.
    """

    def __init__(self) -> None:
        super().__init__()
        self.now: datetime | None = None

    def validate(self, expression: str) -> None:
        # The DMN engine calls this for every rule it tests and relies on SyntaxError to
        # decide whether an input entry like "> 100" needs the input expression prefixed.
        error = _syntax_error(expression)
        if error is not None:
            raise SyntaxError(error)

    def evaluate(
        self, task: Any, expression: str, external_context: Mapping[str, Any] | None = None
    ) -> Any:
        data = cast(dict[str, Any], task.data)
        context: Mapping[str, Any] = (
            ChainMap(data, dict(external_context)) if external_context else data
        )
        try:
            return expressions.evaluate(expression, context)
        except ExpressionError as exc:
            raise WorkflowTaskException(exc.message, task=task, exception=exc) from exc

    def execute(
        self, task: Any, script: str, external_context: Mapping[str, Any] | None = None
    ) -> bool:
        data = cast(dict[str, Any], task.data)
        try:
            if external_context:
                expressions.execute(script, ChainMap(data, dict(external_context)))
            else:
                expressions.execute(script, data)
        except ExpressionError as exc:
            raise WorkflowTaskException(exc.message, task=task, exception=exc) from exc
        return True

    def call_service(self, task: Any, **kwargs: Any) -> Any:
        raise WorkflowTaskException("service calls are not supported", task=task)


@lru_cache(maxsize=4096)
def _syntax_error(expression: str) -> str | None:
    try:
        ast.parse(expression)
    except SyntaxError as exc:
        return str(exc)
    return None


# --- timers on an injected clock ----------------------------------------------------------


def _case_now(my_task: Any) -> datetime:
    engine = my_task.workflow.script_engine
    now = getattr(engine, "now", None)
    if now is None:
        # A timer evaluated without an explicit time would make runs depend on the wall
        # clock; every EngineCase entry point that can move the workflow sets one.
        raise WorkflowTaskException("timer evaluated without a current time", task=my_task)
    return cast(datetime, now)


def parse_instant(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    # Naive instants are taken as UTC rather than the server's zone (which SpiffWorkflow
    # uses) so that a case behaves the same on every machine.
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _duration_after(expression: str, start: datetime) -> timedelta:
    parsed = TimerEventDefinition.parse_iso_duration(expression)
    return cast(timedelta, TimerEventDefinition.get_timedelta_from_start(parsed, start))


def _timer_keys(definition: Any, my_task: Any) -> tuple[str, str]:
    """Where a timer keeps its schedule in the task's internal data.

    A timer behind an event-based gateway shares its task with the gateway's other branches,
    so each keeps its own keys there (by its position among the gateway's events).
    """
    owner = my_task.task_spec.event_definition
    if owner is definition or not hasattr(owner, "event_definitions"):
        return "event_value", "event_fired"
    index = next(i for i, d in enumerate(owner.event_definitions) if d is definition)
    return f"event_value:{index}", f"event_fired:{index}"


class ClockedTimeDateTimer(TimeDateEventDefinition):  # type: ignore[misc]
    def has_fired(self, my_task: Any) -> bool:
        now = _case_now(my_task)
        value_key, fired_key = _timer_keys(self, my_task)
        event_value = my_task._get_internal_data(value_key)
        if event_value is None:
            event_value = str(my_task.workflow.script_engine.evaluate(my_task, self.expression))
            parse_instant(event_value)
            my_task._set_internal_data(**{value_key: event_value})
        if parse_instant(event_value) <= now:
            my_task._set_internal_data(**{fired_key: True})
        return bool(my_task._get_internal_data(fired_key, False))


class ClockedDurationTimer(DurationTimerEventDefinition):  # type: ignore[misc]
    def has_fired(self, my_task: Any) -> bool:
        now = _case_now(my_task)
        value_key, fired_key = _timer_keys(self, my_task)
        event_value = my_task._get_internal_data(value_key)
        if event_value is None:
            expression = str(my_task.workflow.script_engine.evaluate(my_task, self.expression))
            event_value = (now + _duration_after(expression, now)).isoformat()
            my_task._set_internal_data(**{value_key: event_value})
        if parse_instant(event_value) <= now:
            my_task._set_internal_data(**{fired_key: True})
        return bool(my_task._get_internal_data(fired_key, False))


def _recurring(expression: str, now: datetime) -> tuple[int, datetime, timedelta]:
    parts = expression.upper().replace("--", "/").strip("R").split("/")
    if len(parts) == 2 and parts[1].startswith("P"):
        cycles = int(parts[0]) if parts[0] else -1
        duration = _duration_after(parts[1], now)
        return cycles, now + duration, duration
    # Explicit start or end instants do not depend on the clock.
    cycles, start, duration = TimerEventDefinition.parse_iso_recurring_interval(expression)
    return int(cycles), cast(datetime, start), cast(timedelta, duration)


class ClockedCycleTimer(CycleTimerEventDefinition):  # type: ignore[misc]
    def cycle_complete(self, my_task: Any) -> bool:
        now = _case_now(my_task)
        event_value = my_task._get_internal_data("event_value")
        if event_value is None:
            expression = str(my_task.workflow.script_engine.evaluate(my_task, self.expression))
            cycles, start, duration = _recurring(expression, now)
            event_value = {
                "cycles": cycles,
                "next": start.isoformat(),
                "duration": duration.total_seconds(),
            }
        ready = False
        if event_value["cycles"] != 0:
            next_event = parse_instant(event_value["next"])
            if next_event <= now:
                following = next_event + timedelta(seconds=event_value["duration"])
                event_value["next"] = following.isoformat()
                event_value["cycles"] -= 1
                ready = True
        else:
            my_task.internal_data.pop("event_value", None)
            my_task.internal_data["event_fired"] = True
        my_task._set_internal_data(event_value=event_value)
        return ready


_CLOCKED: dict[type, type] = {
    TimeDateEventDefinition: ClockedTimeDateTimer,
    DurationTimerEventDefinition: ClockedDurationTimer,
    CycleTimerEventDefinition: ClockedCycleTimer,
}


class _ClockedTimers:
    """Timers read the case's clock; messages are the standard BPMN ones.

    Camunda's message variant puts a payload into one ``<task>_Response`` variable and needs a
    ``camunda:expression`` to throw; the standard one hands the payload's keys to the catching
    task as process variables, which is what a department system's answer should do.
    """

    def parse_timer_event(self, event: Any) -> Any:
        definition = super().parse_timer_event(event)  # type: ignore[misc]
        clocked = _CLOCKED[type(definition)]
        return clocked(definition.name, definition.expression, description=definition.description)

    def parse_message_event(self, message_event: Any) -> Any:
        return EventDefinitionParser.parse_message_event(self, message_event)


class _StartEventParser(_ClockedTimers, CamundaStartEventParser):  # type: ignore[misc]
    pass


class _CatchEventParser(_ClockedTimers, CamundaIntermediateCatchEventParser):  # type: ignore[misc]
    pass


class _ThrowEventParser(_ClockedTimers, CamundaIntermediateThrowEventParser):  # type: ignore[misc]
    pass


class _BoundaryEventParser(_ClockedTimers, CamundaBoundaryEventParser):  # type: ignore[misc]
    pass


class _EndEventParser(_ClockedTimers, CamundaEndEventParser):  # type: ignore[misc]
    pass


class NoOpServiceTask(ServiceTask):  # type: ignore[misc]
    """A service task that completes at once.

    SpiffWorkflow's own service task returns None from its run hook, which parks the task in
    STARTED until the application completes it; onewindow performs no external calls from
    processes, so it records the step and moves on.
    """

    def _run_hook(self, my_task: Any) -> bool:
        super()._run_hook(my_task)
        return True


class PassThroughTask(NoneTask):  # type: ignore[misc]
    """A plain ``bpmn:task``: a step the model names but nobody works, done at once.

    Modellers draw plain tasks for steps that happen outside the platform or merely document
    the flow; a human step is a ``userTask`` (or ``manualTask``) in a lane. SpiffWorkflow makes
    plain tasks manual, which would leave work items for nobody.
    """

    def __init__(self, wf_spec: Any, bpmn_id: str, **kwargs: Any) -> None:
        super().__init__(wf_spec, bpmn_id, **kwargs)
        self.manual = False


# --- multi-instance (会签, 逐级审批) -----------------------------------------------------------

# Camunda's names for the counts, and ours (the restricted language's style).
_MI_ALIASES = {
    "nrOfInstances": "nr_of_instances",
    "nrOfCompletedInstances": "nr_of_completed",
    "nrOfActiveInstances": "nr_of_active",
}


def mi_counts(spec: Any, my_task: Any) -> dict[str, int]:
    """The counts of a multi-instance task that its completion condition (and the gateway
    after it) may read: instances in all, completed, active, and completed instances whose
    ``decision`` was approve / reject (a 会签's two-of-three)."""
    instances = [c for c in my_task.children if c.task_spec.name == spec.task_spec]
    merged = set(my_task.internal_data.get("merged", []))
    done = [c for c in instances if str(c.id) in merged]
    active = [c for c in instances if not c.has_state(TaskState.FINISHED_MASK)]
    total = len(instances) + len(my_task.internal_data.get("remaining", []))
    cardinality = my_task.internal_data.get("cardinality")
    if isinstance(cardinality, int):
        total = max(total, cardinality)
    decisions = [c.data.get("decision") for c in done]
    counts = {
        "nr_of_instances": total,
        "nr_of_completed": len(done),
        "nr_of_active": len(active),
        "nr_of_approved": decisions.count("approve"),
        "nr_of_rejected": decisions.count("reject"),
    }
    for camunda, ours in _MI_ALIASES.items():
        counts[camunda] = counts[ours]
    return counts


def _kind(value: Any) -> str:
    names = {str: "text", int: "a number", float: "a number", bool: "true/false", dict: "a map"}
    return names.get(type(value), type(value).__name__)


class _Counting:
    """Multi-instance completion read from the counts, which also go into the data after each
    instance; a parallel 会签 leaves its majority verdict in ``decision``."""

    task_spec: str
    condition: str | None

    data_input: Any

    def _update_hook(self, my_task: Any) -> Any:
        reference = self.data_input
        if reference is not None and not my_task.internal_data.get("merged"):
            my_task._inherit_data()  # what the library's own hook does first
            name = reference.bpmn_id
            if not reference.exists(my_task):
                raise WorkflowTaskException(
                    f"multi-instance needs the list variable {name!r}, which the case lacks",
                    task=my_task,
                )
            value = reference.get(my_task)
            if not isinstance(value, list):
                raise WorkflowTaskException(
                    f"multi-instance needs a list in {name!r}, not {_kind(value)}",
                    task=my_task,
                )
        return super()._update_hook(my_task)  # type: ignore[misc]

    def check_completion_condition(self, my_task: Any) -> bool:
        if self.condition is None or not my_task.internal_data.get("merged"):
            return False
        # The live counts win over the copies left in the data by earlier instances.
        context = ChainMap(mi_counts(self, my_task), my_task.data)
        try:
            return bool(expressions.evaluate(self.condition, context))
        except ExpressionError as exc:
            raise WorkflowTaskException(exc.message, task=my_task, exception=exc) from exc

    def merge_child(self, workflow: Any, child: Any) -> None:
        my_task = child.parent
        item = getattr(self, "input_item", None)
        if item is not None:
            # The instance's own item (e.g. its reviewer) stays with the instance; merged up it
            # would block the next instance (SpiffWorkflow refuses an existing input item).
            child.data.pop(item.bpmn_id, None)
        super().merge_child(workflow, child)  # type: ignore[misc]
        counts = mi_counts(self, my_task)
        my_task.data.update({k: v for k, v in counts.items() if k not in _MI_ALIASES})
        if isinstance(self, ParallelMultiInstanceTask) and (
            counts["nr_of_approved"] or counts["nr_of_rejected"]
        ):
            approved = counts["nr_of_approved"] >= counts["nr_of_rejected"]
            my_task.data["decision"] = "approve" if approved else "reject"


class CountingParallelMI(_Counting, ParallelMultiInstanceTask):  # type: ignore[misc]
    pass


class CountingSequentialMI(_Counting, SequentialMultiInstanceTask):  # type: ignore[misc]
    pass


class _MultiInstanceParsing:
    """Camunda's multi-instance (``camunda:collection`` + ``camunda:elementVariable``, or a
    ``loopCardinality``) as the standard BPMN tasks, with nothing decided at run time.

    SpiffWorkflow's Camunda variant rewrites the task spec when an instance starts, which is
    wrong for specs shared by every case of a process version.
    """

    spec: Any
    task: Any

    def _add_multiinstance_task(self, loop_characteristics: Any) -> None:
        prefix = "bpmn:multiInstanceLoopCharacteristics"
        xpath = cast(Any, self).xpath
        cardinality_nodes = xpath(f"./{prefix}/bpmn:loopCardinality")
        cardinality = _text(cardinality_nodes[0]) if cardinality_nodes else None
        collection = loop_characteristics.get(f"{{{CAMUNDA_NS}}}collection")
        element = loop_characteristics.get(f"{{{CAMUNDA_NS}}}elementVariable")
        if collection is None and xpath(f"./{prefix}/bpmn:loopDataInputRef"):
            # Standard BPMN data references (loopDataInputRef / inputDataItem).
            TaskParser._add_multiinstance_task(self, loop_characteristics)
            return
        if collection is None and not cardinality:
            cast(Any, self).raise_validation_exception(
                "multi-instance task needs a loopCardinality or a camunda:collection"
            )
        condition_nodes = xpath(f"./{prefix}/bpmn:completionCondition")
        condition = _text(condition_nodes[0]) if condition_nodes else None
        original = self.spec.task_specs.pop(self.task.name)
        params = {
            "task_spec": "",
            "cardinality": None if collection is not None else cardinality,
            "data_input": TaskDataReference(collection) if collection is not None else None,
            "data_output": None,
            "input_item": TaskDataReference(element) if element else None,
            "output_item": None,
            "condition": condition,
        }
        sequential = loop_characteristics.get("isSequential") == "true"
        mi_class = CountingSequentialMI if sequential else CountingParallelMI
        self.task = mi_class(self.spec, original.name, description="MultiInstance", **params)
        cast(Any, self)._copy_task_attrs(original, loop_characteristics)


def _with_multiinstance(parser_class: type) -> type:
    return type(
        f"_MI{parser_class.__name__}",
        (_MultiInstanceParsing, parser_class),
        {"PARALLEL_MI_CLASS": CountingParallelMI, "SEQUENTIAL_MI_CLASS": CountingSequentialMI},
    )


def _task_parsers(classes: Mapping[str, tuple[type, type]]) -> dict[str, tuple[type, type]]:
    out: dict[str, tuple[type, type]] = {}
    for tag, (parser_class, spec_class) in classes.items():
        if issubclass(parser_class, TaskParser):
            parser_class = _with_multiinstance(parser_class)
        out[tag] = (parser_class, spec_class)
    return out


class _Parser(CamundaParser):  # type: ignore[misc]
    OVERRIDE_PARSER_CLASSES = _task_parsers(
        {
            **CamundaParser.OVERRIDE_PARSER_CLASSES,
            full_tag("task"): (CamundaTaskParser, PassThroughTask),
            full_tag("serviceTask"): (CamundaTaskParser, NoOpServiceTask),
            full_tag("startEvent"): (_StartEventParser, StartEvent),
            full_tag("intermediateCatchEvent"): (_CatchEventParser, IntermediateCatchEvent),
            full_tag("intermediateThrowEvent"): (_ThrowEventParser, IntermediateThrowEvent),
            full_tag("boundaryEvent"): (_BoundaryEventParser, BoundaryEvent),
            full_tag("endEvent"): (_EndEventParser, EndEvent),
        }
    )


# --- serialisation ------------------------------------------------------------------------


class _TaskConverter(TaskConverter):  # type: ignore[misc]
    """SpiffWorkflow's task format, with UUID text conversions shared across one dump/restore.

    Each task id appears up to three times (id, parent, children); parsing and printing
    UUIDs was over a third of the (de)serialisation time.
    """

    def to_dict(self, task: Any, names: dict[UUID, str] | None = None) -> dict[str, Any]:
        name = names.__getitem__ if names is not None else str
        parent = task.parent
        if parent is None:
            data, delta = task.data, {}
        else:
            data = {}
            delta = {
                "updates": DeepMerge.get_updated_keys(parent.data, task.data),
                "deletions": DeepMerge.get_deleted_keys(parent.data, task.data),
            }
        return {
            "id": name(task.id),
            "parent": name(task._parent) if parent is not None else None,
            "children": [name(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task.state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": self.registry.convert(task.internal_data),
            "data": data,
            "delta": delta,
        }

    def from_dict(
        self, dct: dict[str, Any], workflow: Any, ids: dict[str, UUID] | None = None
    ) -> Any:
        if ids is None:
            ids = {}

        def uuid(text: str) -> UUID:
            value = ids.get(text)
            if value is None:
                value = ids[text] = UUID(text)
            return value

        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        task = self.target_class(workflow, task_spec, state=dct["state"], id=uuid(dct["id"]))
        task._parent = uuid(dct["parent"]) if dct["parent"] is not None else None
        task._children = [uuid(child) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        task.internal_data = self.registry.restore(dct["internal_data"])
        if isinstance(task_spec, CatchingEvent) and task.has_state(TaskState.WAITING):
            workflow.top_workflow.event_manager.add_task(task)
        delta = dct.get("delta")
        parent = task.parent
        if delta and parent is not None:
            data = DeepMerge.merge({}, parent.data)
            data.update(self.registry.restore(delta.get("updates", {})))
            for key in delta.get("deletions", ()):
                data.pop(key, None)
        else:
            data = self.registry.restore(dct["data"])
        task.data = data
        return task


class _InstanceConverter(BpmnWorkflowConverter):  # type: ignore[misc]
    """Workflow state without the process spec, which is stored once per process version."""

    def to_dict(self, workflow: Any) -> dict[str, Any]:
        names = {task_id: str(task_id) for task_id in workflow.tasks}
        task_to_dict = self.registry.convert_to_dict["Task"]
        return {
            "data": self.registry.convert(self.registry.clean(workflow.data)),
            "correlations": workflow.correlations,
            "last_task": names[workflow.last_task.id] if workflow.last_task is not None else None,
            "success": workflow.success,
            "completed": workflow.completed,
            "tasks": {names[k]: task_to_dict(t, names=names) for k, t in workflow.tasks.items()},
            "root": names[workflow.task_tree.id],
            "subprocesses": self.mapping_to_dict(workflow.subprocesses),
            "bpmn_events": self.registry.convert(workflow.bpmn_events),
        }

    def from_dict(
        self,
        dct: dict[str, Any],
        spec: Any = None,
        subprocess_specs: Any = None,
        script_engine: Any = None,
    ) -> Any:
        workflow = self.target_class(
            spec, subprocess_specs, script_engine=script_engine, deserializing=True
        )
        ids: dict[str, UUID] = {}
        tasks = {}
        for task_dct in dct["tasks"].values():
            task = self.registry.restore(task_dct, workflow=workflow, ids=ids)
            tasks[task.id] = task
        workflow.tasks = tasks
        workflow.task_tree = tasks.get(ids.get(dct["root"]) or UUID(dct["root"]))
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow


def _build_registry() -> Any:
    config = dict(CAMUNDA_CONFIG)
    for plain, clocked in _CLOCKED.items():
        config[clocked] = config.pop(plain)
    # CAMUNDA_CONFIG (like DEFAULT_CONFIG) has no entry for service tasks at all.
    config[NoOpServiceTask] = BpmnTaskSpecConverter
    config[PassThroughTask] = BpmnTaskSpecConverter
    config[MessageEventDefinition] = MessageEventDefinitionConverter
    config[CountingParallelMI] = MultiInstanceTaskConverter
    config[CountingSequentialMI] = MultiInstanceTaskConverter
    config[BpmnWorkflow] = _InstanceConverter
    config[Task] = _TaskConverter
    return BpmnWorkflowSerializer.configure(config)


REGISTRY: Any = _build_registry()


def json_default(value: Any) -> Any:
    """JSON fallback for values SpiffWorkflow leaves unconverted (e.g. in task data deltas)."""
    typename = REGISTRY.typenames.get(type(value))
    if typename is not None:
        return REGISTRY.convert_to_dict[typename](value)
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@lru_cache(maxsize=256)
def load_specs(spec_state: str) -> tuple[Any, dict[str, Any]]:
    """Deserialised (spec, subprocess specs), shared by every case of one process version.

    Sharing is safe because nothing this module lets through mutates specs at run time
    (multi-instance tasks, which do, are rejected at validation).
    """
    raw = json.loads(spec_state)
    if raw.get("format") != _SPEC_FORMAT:
        raise ProcessInvalid(f"unknown spec format {raw.get('format')!r}")
    spec = REGISTRY.restore(raw["spec"])
    subprocess_specs = {name: REGISTRY.restore(s) for name, s in raw["subprocess_specs"].items()}
    return spec, subprocess_specs


# --- hardened XML -------------------------------------------------------------------------

_DANGEROUS_XML = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _xml_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def _parse_xml(data: bytes | str, label: str) -> tuple[Any, list[ProcessProblem]]:
    raw = data.encode() if isinstance(data, str) else bytes(data)
    if _DANGEROUS_XML.search(raw):
        return None, [ProcessProblem(None, f"{label}: DOCTYPE/ENTITY declarations are not allowed")]
    try:
        root = etree.fromstring(raw, parser=_xml_parser())
    except etree.XMLSyntaxError as exc:
        return None, [ProcessProblem(None, f"{label}: malformed XML: {exc}")]
    tree = root.getroottree()
    docinfo: Any = tree.docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        return None, [ProcessProblem(None, f"{label}: DOCTYPE declarations are not allowed")]
    return root, []


_validator_lock = threading.Lock()
_validator: BpmnValidator | None = None


def _schema_problems(root: Any) -> list[ProcessProblem]:
    global _validator
    with _validator_lock:
        if _validator is None:
            _validator = BpmnValidator()
        schema = _validator.validator
        # Same preprocessing SpiffWorkflow applies before validating (bpmn.js quirk).
        checked = deepcopy(root)
        _validator.preprocess(checked)
        if schema.validate(checked):
            return []
        return [
            ProcessProblem(None, f"schema: line {error.line}: {error.message}")
            for error in schema.error_log
        ]


# --- static checks ------------------------------------------------------------------------


def _expression_problems(
    element_id: str | None, what: str, src: str, original: str | None = None
) -> list[ProcessProblem]:
    shown = original if original is not None else src
    label = f"{what} {quoted(shown)}" if shown.strip() else what
    return [ProcessProblem(element_id, f"{label}: {p}") for p in expressions.check_expression(src)]


def _node_problems(element_id: str | None, what: str, node: Any) -> list[ProcessProblem]:
    """Problems of the expression in ``node``'s text, quoting what the modeller wrote (a JUEL
    or FEEL expression is checked in its translation; one that did not translate is reported
    once, by the translation)."""
    if node is not None and node.get(DIALECT_FAILED):
        return []
    original = node.get(DIALECT_ORIGINAL) if node is not None else None
    return _expression_problems(element_id, what, _text(node), original)


def _timer_problems(event_id: str | None, timer: Any) -> list[ProcessProblem]:
    problems: list[ProcessProblem] = []
    found = False
    for kind in ("timeDate", "timeDuration", "timeCycle"):
        node = timer.find(f"bpmn:{kind}", _NS)
        if node is None:
            continue
        found = True
        src = _text(node)
        issues = _node_problems(event_id, f"timer {kind}", node)
        if node.get(DIALECT_FAILED):
            continue
        problems.extend(issues)
        if issues:
            continue
        try:
            value = expressions.evaluate(src, {})
        except ExpressionError:
            continue  # depends on process variables: checked when the timer starts
        try:
            now = datetime(2000, 1, 1, tzinfo=UTC)
            if kind == "timeDate":
                parse_instant(str(value))
            elif kind == "timeDuration":
                _duration_after(str(value), now)
            else:
                _recurring(str(value), now)
        except Exception as exc:
            text = str(value)
            if kind == "timeCycle" and len(text.split()) in (5, 6, 7):
                problems.append(
                    ProcessProblem(
                        event_id,
                        f"timer timeCycle {text!r} is a cron expression; write an ISO 8601 "
                        "repeating interval instead, e.g. R/P1D (every day) or "
                        "R3/2026-01-05T09:00:00+08:00/P1D (three days from a start)",
                    )
                )
            else:
                problems.append(
                    ProcessProblem(
                        event_id,
                        f"timer {kind} {text!r} is not ISO 8601 "
                        f"({'an instant' if kind == 'timeDate' else 'a duration such as P3D'}): "
                        + plain_message(str(exc)),
                    )
                )
    if not found:
        problems.append(ProcessProblem(event_id, "timer has no timeDate/timeDuration/timeCycle"))
    return problems


def _lane_of(element: Any, lanes_by_node: Mapping[str, str | None]) -> str | None:
    current = element
    while current is not None and _local(current.tag) != "process":
        node_id = current.get("id")
        if node_id in lanes_by_node:
            return lanes_by_node[node_id]
        current = current.getparent()
    return None


# SpiffWorkflow names its own task specs like this; a BPMN element with such an id is
# silently merged with the internal one (a start event "Start" yields an empty process).
_RESERVED_IDS = frozenset({"Start", "End", "Root", "StartEventSplit", "StartEventJoin"})
_RESERVED_SUFFIXES = (".EndJoin", ".BoundaryEventSplit", ".BoundaryEventJoin", " [child]")


def _process_problems(
    process: Any,
    lanes_by_node: Mapping[str, str | None],
    decisions: set[str],
    known_processes: Iterable[str] = (),
) -> list[ProcessProblem]:
    known_processes = set(known_processes)
    problems: list[ProcessProblem] = []
    thrown_signals = {
        str(d.get("signalRef") or "")
        for d in process.iter(f"{{{BPMN_NS}}}signalEventDefinition")
        if not _catches(d.getparent())
    }
    for element in process.iter():
        kind = _local(element.tag)
        element_id = element.get("id")
        if element_id and (element_id in _RESERVED_IDS or element_id.endswith(_RESERVED_SUFFIXES)):
            problems.append(
                ProcessProblem(element_id, f"id {element_id!r} is reserved by the engine")
            )
        if kind == "sequenceFlow":
            condition = element.find("bpmn:conditionExpression", _NS)
            if condition is not None:
                problems += _node_problems(element_id, "condition", condition)
        elif kind == "scriptTask":
            script = element.find("bpmn:script", _NS)
            if script is None or not _text(script):
                problems.append(ProcessProblem(element_id, "script task has no script"))
            elif not script.get(DIALECT_FAILED):
                shown = script.get(DIALECT_ORIGINAL)
                label = f"script {quoted(shown)}" if shown else "script"
                problems += [
                    ProcessProblem(element_id, f"{label}: {p}")
                    for p in expressions.check_script(script.text or "")
                ]
        elif kind == "conditionalEventDefinition":
            event_id = element.getparent().get("id")
            condition = element.find("bpmn:condition", _NS)
            problems += _node_problems(event_id, "event condition", condition)
        elif kind == "timerEventDefinition":
            problems += _timer_problems(element.getparent().get("id"), element)
        elif kind == "businessRuleTask":
            ref = element.get(f"{{{CAMUNDA_NS}}}decisionRef")
            if not ref:
                problems.append(ProcessProblem(element_id, "business rule task has no decisionRef"))
            elif ref not in decisions:
                problems.append(ProcessProblem(element_id, f"DMN decision {ref!r} not found"))
        elif kind in _UNSUPPORTED:
            problems.append(ProcessProblem(element_id, _UNSUPPORTED[kind]))
        elif kind in ("exclusiveGateway", "inclusiveGateway"):
            outgoing = [
                f
                for f in element.getparent()
                if _local(f.tag) == "sequenceFlow" and f.get("sourceRef") == element_id
            ]
            bare = [
                str(f.get("id"))
                for f in outgoing
                if f.find("bpmn:conditionExpression", _NS) is None
                and f.get("id") != element.get("default")
            ]
            if len(outgoing) > 1 and bare:
                word = "exclusive" if kind == "exclusiveGateway" else "inclusive"
                problems.append(
                    ProcessProblem(
                        element_id,
                        f"{word} gateway: the outgoing flow(s) {', '.join(bare)} have no condition "
                        "and are not the default flow: give each a condition or make one the "
                        "gateway's default",
                    )
                )
        elif kind in ("userTask", "manualTask") and lanes_by_node:
            # A process without lanes sends every task to the service's "" department; in one
            # with lanes, a task outside them is a slip of the modeller.
            if not _lane_of(element, lanes_by_node):
                problems.append(
                    ProcessProblem(
                        element_id,
                        f"{kind} is not in a named lane (the process has lanes: put it in one)",
                    )
                )
        elif kind in ("subProcess", "transaction") and not any(
            c.get("id") and _local(c.tag) not in ("sequenceFlow", "laneSet") for c in element
        ):
            problems.append(
                ProcessProblem(
                    element_id,
                    "sub-process is empty (drawn collapsed, with no steps inside): draw its "
                    "steps, or make it a call activity to a process of the catalogue",
                )
            )
        elif kind == "signalEventDefinition" and _catches(element.getparent()):
            name = element.get("signalRef") or ""
            if name not in thrown_signals:
                problems.append(
                    ProcessProblem(
                        element.getparent().get("id"),
                        f"signal catch event ({name or 'no signal named'}): nothing in the "
                        "process throws this signal and no system can send one, so the case "
                        "would wait for ever; use a message event (department systems send "
                        "messages through POST /api/v1/messages)",
                    )
                )
        elif kind == "standardLoopCharacteristics":
            problems.append(
                ProcessProblem(
                    element.getparent().get("id"),
                    "standard loops are not supported: use a multi-instance task "
                    "(multiInstanceLoopCharacteristics) or a gateway back to the task",
                )
            )
        elif kind == "multiInstanceLoopCharacteristics":
            problems += _multiinstance_problems(element)
        elif kind == "callActivity":
            called = element.get("calledElement")
            if not called:
                problems.append(ProcessProblem(element_id, "call activity has no calledElement"))
            elif called not in known_processes:
                problems.append(
                    ProcessProblem(
                        element_id,
                        f"call activity calls process {called!r}, which is not in the catalogue",
                    )
                )
    return problems


_UNSUPPORTED = {
    "complexGateway": "complex gateways are not supported: use an inclusive gateway (conditions "
    "on its flows) or a parallel one",
    "adHocSubProcess": "ad-hoc sub-processes are not supported: draw the order of its steps, "
    "use a parallel gateway, or a multi-instance task",
}


def _catches(event: Any) -> bool:
    return _local(event.tag) in ("startEvent", "intermediateCatchEvent", "boundaryEvent")


def _multiinstance_problems(loop: Any) -> list[ProcessProblem]:
    owner = loop.getparent().get("id")
    problems: list[ProcessProblem] = []
    cardinality = loop.find("bpmn:loopCardinality", _NS)
    collection = loop.get(f"{{{CAMUNDA_NS}}}collection")
    data_input = loop.find("bpmn:loopDataInputRef", _NS)
    if cardinality is None and collection is None and data_input is None:
        problems.append(
            ProcessProblem(
                owner, "multi-instance task needs a loopCardinality or a camunda:collection"
            )
        )
    if cardinality is not None:
        problems += _node_problems(owner, "loop cardinality", cardinality)
    if collection is not None and dialects.dialect_of(collection) is None:
        problems += _expression_problems(owner, "multi-instance collection", collection)
    condition = loop.find("bpmn:completionCondition", _NS)
    if condition is not None and _text(condition):
        problems += _node_problems(owner, "completion condition", condition)
    return problems


def _dmn_entry_problems(entry_id: str | None, text: str) -> list[ProcessProblem]:
    if text in ("", "-"):
        return []
    # Mirrors the DMN engine: "?" stands for the input value, a bare operator like "> 5"
    # gets the input prepended, anything else is compared for equality.
    candidate = re.sub(r"\?", "dmninputexpr", text)
    try:
        ast.parse(candidate.strip(), mode="eval")
    except SyntaxError:
        candidate = f"dmninputexpr {candidate.strip()}"
    return _expression_problems(entry_id, "DMN input entry", candidate)


def _dmn_problems(root: Any, label: str) -> tuple[list[ProcessProblem], set[str]]:
    problems: list[ProcessProblem] = []
    decisions = [el for el in root.iter() if _local(el.tag) == "decision"]
    if len(decisions) != 1:
        problems.append(ProcessProblem(None, f"{label}: exactly one decision per DMN file"))
    for element in root.iter():
        kind = _local(element.tag)
        if kind == "decisionTable":
            policy = (element.get("hitPolicy") or "UNIQUE").upper()
            if policy not in _HIT_POLICIES:
                problems.append(
                    ProcessProblem(element.get("id"), f"DMN hit policy {policy} is not supported")
                )
        elif kind in ("inputExpression", "inputEntry", "outputEntry"):
            text_node = next((c for c in element if _local(c.tag) == "text"), None)
            text = _text(text_node)
            owner = element.get("id") or element.getparent().get("id")
            if kind == "inputEntry":
                problems += _dmn_entry_problems(owner, text)
            elif text:
                what = "DMN input" if kind == "inputExpression" else "DMN output entry"
                problems += _expression_problems(owner, what, text)
    return problems, {d.get("id") for d in decisions if d.get("id")}


def _lanes(process: Any) -> tuple[list[str], dict[str, str | None]]:
    names: list[str] = []
    by_node: dict[str, str | None] = {}
    for lane in process.iterfind(".//bpmn:lane", _NS):
        name = lane.get("name")
        if name and name not in names:
            names.append(name)
        for ref in lane.iterfind("bpmn:flowNodeRef", _NS):
            if ref.text:
                by_node[ref.text.strip()] = name
    return names, by_node


def _is_send_back_test(node: ast.AST) -> bool:
    for sub in ast.walk(node):
        if isinstance(sub, ast.Compare) and any(isinstance(o, ast.Eq) for o in sub.ops):
            operands = [sub.left, *sub.comparators]
            names = {o.id for o in operands if isinstance(o, ast.Name)}
            values = {o.value for o in operands if isinstance(o, ast.Constant)}
            if "decision" in names and "send_back" in values:
                return True
    return False


def _can_send_back(process: Any, task_id: str) -> bool:
    flows_from: dict[str, list[Any]] = {}
    nodes: dict[str, Any] = {}
    for element in process.iter():
        if _local(element.tag) == "sequenceFlow":
            flows_from.setdefault(element.get("sourceRef", ""), []).append(element)
        elif element.get("id"):
            nodes[element.get("id")] = element
    # Walk forward through gateways and events only: reaching another activity first means
    # the decision being tested is not this task's.
    pending = [f.get("targetRef") for f in flows_from.get(task_id, [])]
    seen: set[str] = set()
    while pending:
        node_id = pending.pop()
        if not node_id or node_id in seen or node_id not in nodes:
            continue
        seen.add(node_id)
        kind = _local(nodes[node_id].tag)
        outgoing = flows_from.get(node_id, [])
        if kind == "exclusiveGateway":
            for flow in outgoing:
                condition = flow.find("bpmn:conditionExpression", _NS)
                if condition is None:
                    continue
                try:
                    tree = ast.parse(_text(condition), mode="eval")
                except SyntaxError:
                    continue
                if _is_send_back_test(tree):
                    return True
        if kind.endswith("Gateway") or kind.endswith("Event"):
            pending += [f.get("targetRef") for f in outgoing]
    return False


def _form_fields(task_spec: Any) -> list[FormField]:
    form = getattr(task_spec, "form", None)
    if form is None:
        return []
    fields: list[FormField] = []
    for raw in form.fields:
        required = any(
            v.name == "required" and str(v.config).lower() not in ("false", "0")
            for v in raw.validation
        )
        fields.append(
            FormField(
                id=str(raw.id),
                label=str(raw.label or raw.id),
                type=str(raw.type or "string"),
                required=required,
                options=[str(o.id) for o in getattr(raw, "options", [])],
                option_names=[str(o.name or o.id) for o in getattr(raw, "options", [])],
                default=str(raw.default_value) if raw.default_value not in (None, "") else None,
            )
        )
    return fields


# --- validate and compile -----------------------------------------------------------------


@dataclass
class _Analysis:
    problems: list[ProcessProblem] = field(default_factory=list)
    process: Any = None
    spec: Any = None
    subprocess_specs: dict[str, Any] = field(default_factory=dict)
    lanes: list[str] = field(default_factory=list)
    lanes_by_node: Mapping[str, str | None] = field(default_factory=dict)
    called: list[str] = field(default_factory=list)

    def add(self, problem: ProcessProblem) -> None:
        if problem not in self.problems:
            self.problems.append(problem)


_ELEMENT_REPR = re.compile(r"<Element \{[^}]*\}(\w+) at 0x[0-9a-f]+>")
_QUALIFIED = re.compile(r"\{[^}]*\}(\w+)")


def plain_message(text: str) -> str:
    """A library's message without Python reprs or namespace URIs (one readable line)."""
    text = _ELEMENT_REPR.sub(lambda m: f"<{m.group(1)}>", text)
    text = _QUALIFIED.sub(lambda m: m.group(1), text)
    return " ".join(text.split())


_CANNOT_RUN = "the engine (SpiffWorkflow) cannot run this"


def _spiff_problem(exc: Exception) -> ProcessProblem:
    if isinstance(exc, ValidationException):
        element_id = getattr(exc, "id", None) or None
        message = str(exc.args[0]) if exc.args else str(exc)
        return ProcessProblem(
            element_id, plain_message(f"the engine (SpiffWorkflow) cannot run this: {message}")
        )
    task = getattr(exc, "task", None)
    element_id = getattr(getattr(task, "task_spec", None), "bpmn_id", None)
    if isinstance(exc, KeyError):
        what = plain_message(str(exc.args[0]) if exc.args else "")
        return ProcessProblem(element_id, f"an element lacks the attribute or reference {what}")
    return ProcessProblem(
        element_id, plain_message(f"the engine (SpiffWorkflow) cannot run this: {exc}")
    )


def _embedded_ids(process: Any) -> set[str]:
    """Ids of the process's own sub-processes (kept in its spec, unlike called processes)."""
    kinds = ("subProcess", "transaction", "adHocSubProcess")
    return {str(el.get("id")) for el in process.iter() if _local(el.tag) in kinds and el.get("id")}


def _prepare(root: Any) -> list[ProcessProblem]:
    """The in-memory rewrites every file gets before the engine reads it (JUEL/FEEL
    translated, references checked, implicit flows drawn); the problems they find."""
    problems = translate_dialects(root) + reference_problems(root)
    make_flows_explicit(root)
    return problems


def _analyse(
    xml: bytes | str,
    dmn: Iterable[bytes | str],
    called: Mapping[str, bytes | str] | None = None,
) -> _Analysis:
    result = _Analysis()
    root, problems = _parse_xml(xml, "BPMN")
    for problem in problems:
        result.add(problem)

    dmn_roots: list[Any] = []
    decisions: set[str] = set()
    for index, document in enumerate(dmn, start=1):
        label = f"DMN #{index}"
        dmn_root, problems = _parse_xml(document, label)
        for problem in problems:
            result.add(problem)
        if dmn_root is None:
            continue
        dmn_roots.append(dmn_root)
        problems, found = _dmn_problems(dmn_root, label)
        decisions |= found
        for problem in problems:
            result.add(problem)

    if root is None:
        return result
    if _local(root.tag) != "definitions" or etree.QName(root.tag).namespace != BPMN_NS:
        result.add(ProcessProblem(None, "root element is not bpmn:definitions"))
        return result
    for problem in _schema_problems(root):
        result.add(problem)
    for problem in _prepare(root):
        result.add(problem)

    processes = [p for p in root.iterfind("bpmn:process", _NS)]
    executable = [p for p in processes if p.get("isExecutable") == "true"]
    if not executable:
        result.add(ProcessProblem(None, 'no executable process (isExecutable="true")'))
    elif len(executable) > 1:
        ids = ", ".join(str(p.get("id")) for p in executable)
        result.add(
            ProcessProblem(
                str(executable[1].get("id")),
                f"more than one executable process ({ids}): the platform runs one process "
                '(pool) per file; mark the others isExecutable="false" or give each its own '
                "file",
            )
        )
    same_file = {str(p.get("id")) for p in processes if p.get("id")}
    known = same_file | set(called or {})
    for process in executable:
        lanes, lanes_by_node = _lanes(process)
        for problem in _process_problems(process, lanes_by_node, decisions, known):
            result.add(problem)
        result.lanes = lanes
        result.lanes_by_node = lanes_by_node
    if len(executable) != 1:
        return result

    process = executable[0]
    result.process = process
    result.called = sorted(
        {
            str(el.get("calledElement"))
            for el in process.iter()
            if _local(el.tag) == "callActivity" and el.get("calledElement") not in same_file
        }
    )
    parser = _Parser()
    try:
        for dmn_root in dmn_roots:
            parser.add_dmn_xml(dmn_root)
        parser.add_bpmn_xml(root.getroottree())
        for key, other in (called or {}).items():
            if key in result.called:
                other_root, other_problems = _parse_xml(other, f"called process {key}")
                if other_root is not None:
                    # Read as it is when compiled on its own (its problems are its own).
                    _prepare(other_root)
                    parser.add_bpmn_xml(other_root.getroottree())
                for problem in other_problems:
                    result.add(problem)
        result.spec = parser.get_spec(process.get("id"))
        everything = dict(parser.get_subprocess_specs(process.get("id")))
        own = _embedded_ids(process) | (same_file - {str(process.get("id"))})
        # A called process is stored as its own versions; a case binds to them when it starts.
        result.subprocess_specs = {k: v for k, v in everything.items() if k in own}
    except (SpiffWorkflowException, KeyError, ValueError, TypeError, AttributeError) as exc:
        problem = _spiff_problem(exc)
        # A problem already reported is usually its root cause (an unknown called process
        # makes the library fail without naming an element): report the library's own only
        # when it adds something — it is reported once the others are fixed.
        if problem.element_id is None:
            if not result.problems:
                result.add(problem)
        elif not any(p.element_id == problem.element_id for p in result.problems):
            result.add(problem)
    return result


def analyse_bpmn(
    xml: bytes, dmn: Sequence[bytes] = (), called: Mapping[str, bytes] | None = None
) -> list[ProcessProblem]:
    """The static problems of a BPMN file and its DMN files (see ``engine.validate_bpmn`` for
    the whole check: compile, store, start)."""
    return _analyse(xml, dmn, called).problems


def compile_bpmn(
    xml: bytes, dmn: Sequence[bytes] = (), called: Mapping[str, bytes] | None = None
) -> CompiledProcess:
    """Validate and compile; raises ProcessInvalid listing every problem."""
    analysis = _analyse(xml, dmn, called)
    if analysis.problems or analysis.spec is None:
        problems = analysis.problems or [ProcessProblem(None, "process could not be parsed")]
        raise ProcessInvalid(
            f"process has {len(problems)} problem(s): "
            + "; ".join(f"{p.element_id or '-'}: {p.message}" for p in problems[:5]),
            message_zh=f"流程定义有 {len(problems)} 个问题",
            details={"problems": [vars(p) for p in problems]},
        )
    spec = analysis.spec
    elements = {str(el.get("id")): el for el in analysis.process.iter() if el.get("id")}
    user_tasks: list[UserTaskInfo] = []
    seen: set[str] = set()
    for process_spec in [spec, *analysis.subprocess_specs.values()]:
        for task_spec in process_spec.task_specs.values():
            if not isinstance(task_spec, CamundaUserTask | ManualTask):
                continue
            task_id = str(task_spec.bpmn_id)
            if task_id in seen:
                continue
            seen.add(task_id)
            element = elements.get(task_id)
            # The lane of the task, or of the sub-process it sits in (SpiffWorkflow knows
            # only lanes that list the task itself).
            lane = _lane_of(element, analysis.lanes_by_node) if element is not None else None
            user_tasks.append(
                UserTaskInfo(
                    task_id=task_id,
                    name=str(task_spec.bpmn_name or task_id),
                    lane=str(lane or task_spec.lane or ""),
                    form_fields=_form_fields(task_spec),
                    can_send_back=_can_send_back(analysis.process, task_id),
                )
            )
    order = {el.get("id"): n for n, el in enumerate(analysis.process.iter())}
    user_tasks.sort(key=lambda t: order.get(t.task_id, len(order)))
    name = str(spec.description or spec.name)
    # The task metadata travels inside spec_state so that the stored text alone is enough
    # to rebuild the CompiledProcess (process_from_state).
    meta = {
        "name": name,
        "lanes": list(analysis.lanes),
        "user_tasks": [_user_task_to_dict(t) for t in user_tasks],
        "called": list(analysis.called),
    }
    try:
        spec_state = json.dumps(
            {
                "format": _SPEC_FORMAT,
                "meta": meta,
                "spec": REGISTRY.convert(spec),
                "subprocess_specs": {
                    key: REGISTRY.convert(sub) for key, sub in analysis.subprocess_specs.items()
                },
            },
            default=json_default,
            ensure_ascii=False,
            separators=(",", ":"),
            sort_keys=True,
        )
    except (TypeError, ValueError) as exc:
        raise ProcessInvalid(
            plain_message(f"the process cannot be stored: {exc}"),
            message_zh="流程无法保存（含引擎不支持的构件）",
            details={"problems": [{"element_id": None, "message": plain_message(str(exc))}]},
        ) from exc
    return CompiledProcess(
        process_id=str(spec.name),
        name=name,
        spec_state=spec_state,
        lanes=list(analysis.lanes),
        user_tasks=user_tasks,
        called=list(analysis.called),
    )


def _user_task_to_dict(task: UserTaskInfo) -> dict[str, Any]:
    return {
        "task_id": task.task_id,
        "name": task.name,
        "lane": task.lane,
        "can_send_back": task.can_send_back,
        "form_fields": [vars(f) for f in task.form_fields],
    }


def _user_task_from_dict(raw: Mapping[str, Any]) -> UserTaskInfo:
    return UserTaskInfo(
        task_id=raw["task_id"],
        name=raw["name"],
        lane=raw["lane"],
        can_send_back=raw["can_send_back"],
        form_fields=[FormField(**f) for f in raw["form_fields"]],
    )


@lru_cache(maxsize=256)
def process_from_state(process_id: str, spec_state: str) -> CompiledProcess:
    """The CompiledProcess that produced ``spec_state`` (as stored), cached per version."""
    raw = json.loads(spec_state)
    if raw.get("format") != _SPEC_FORMAT or "meta" not in raw:
        raise ProcessInvalid(f"stored spec of {process_id!r} has an unknown format")
    stored_id = raw["spec"].get("name")
    if stored_id != process_id:
        raise ProcessInvalid(f"stored spec is for process {stored_id!r}, not {process_id!r}")
    meta = raw["meta"]
    return CompiledProcess(
        process_id=process_id,
        name=meta["name"],
        spec_state=spec_state,
        lanes=list(meta["lanes"]),
        user_tasks=[_user_task_from_dict(t) for t in meta["user_tasks"]],
        called=list(meta.get("called", [])),
    )
