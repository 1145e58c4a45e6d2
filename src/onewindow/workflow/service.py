"""Running every BPMN case: tasks, claims, completion, decisions, 补正, timers and SLAs.

One runner for every kind of case (applications, complaints, rectifications of bad ratings).
The domain that owns a case's subject starts it with ``start`` and may register ``CaseHooks``
for its kind: checks and process variables before a step, and its own bookkeeping after one
(a ticket's status, a rating's exclusion). Applications are this module's own kind.

The engine state of a case is saved with a version column: two people completing parallel
tasks of one case at once either both succeed or one gets a clean ``ConcurrentUpdate`` that
``Platform.run`` retries, never a lost update.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from onewindow.catalog import service as catalog
from onewindow.catalog.models import ServiceItem, Staff
from onewindow.eventlog import service as eventlog
from onewindow.eventlog.models import Event, EventType
from onewindow.eventlog.schemas import CaseRef, NewEvent
from onewindow.intake import service as intake
from onewindow.intake.models import Application, MaterialPromise
from onewindow.integration import service as integration
from onewindow.kit.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from onewindow.kit.platform import Ctx
from onewindow.security import ledger
from onewindow.security.crypto import sealed_values
from onewindow.workflow import documents
from onewindow.workflow import repository as repo
from onewindow.workflow.engine import EngineCase, ProcessRuntimeError, ReadyTask
from onewindow.workflow.models import Case, CaseKind, CaseMessage, Decision, Document, Task

RETURN_ACTIVITY = "补正通知"
DECIDED_ACTIVITY = "办结"
NOT_ACCEPTED_ACTIVITY = "不予受理"
ESCALATED_ACTIVITY = "超时督办"
STARTED_ACTIVITY = "立案"
ENDED_ACTIVITY = "流程结束"
APPLICANT_RESOURCE = "applicant"
SYSTEM_RESOURCE = "system"
STAFF_ROLES = ("clerk", "reviewer", "head")
DECISIONS = ("approve", "reject", "send_back")
# Completion data that describes a decision, not the process: never handed to the engine.
DECISION_KEYS = frozenset({"reason", "legal_basis", "legal_basis_text"})
# Process variables a step may set besides its form (the 补正 list and its legacy flag).
PROCESS_KEYS = frozenset({"missing_materials", "materials_complete"})
OTHER_BASIS = "other"
MAX_TEXT = 10_000

# A route says who works a lane: "dept:CODE", "party", or "subject:CODE" (the case's subject
# department, CODE until one is set). "" is the route of tasks outside any lane, "*" the
# route of lanes not listed.
PARTY_ROUTE = "party"
# The party's own tasks (补正, supplying what was promised) without an SLA in the service file:
# working days the applicant is given, the date the 补正材料通知书 states. A staff task's default
# is one working day.
PARTY_SLA_DAYS = 10


@dataclass
class StepOutcome:
    """What one step of a case changed."""

    created: list[Task] = field(default_factory=list)
    cancelled: list[Task] = field(default_factory=list)
    escalated: list[Task] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)
    finished: bool = False
    outcome: str | None = None
    case: Case | None = None
    decision: Decision | None = None
    documents: list[Document] = field(default_factory=list)


@dataclass(frozen=True)
class NewCase:
    """What starting a case needs; ``data`` are the process variables it starts with."""

    kind: str
    number: str
    process_definition_id: int
    service_code: str
    channel: str
    data: Mapping[str, Any]
    routes: Mapping[str, str]
    task_sla: Mapping[str, int | str] = field(default_factory=dict)
    application_id: int | None = None
    subject_department_id: int | None = None
    party_proxy_department_id: int | None = None


@dataclass(frozen=True)
class Actor:
    """Who works a task: a member of staff, a department's own system acting for it, or the
    case's party (applicant, caller, rater), whose identity the calling domain has checked."""

    username: str
    department_id: int | None
    department_code: str | None
    roles: frozenset[str]
    party: bool = False

    @classmethod
    def of(cls, who: Staff | Actor) -> Actor:
        if isinstance(who, Actor):
            return who
        return cls(who.username, who.department_id, who.department.code, frozenset(who.roles))

    @classmethod
    def as_party(cls, username: str = APPLICANT_RESOURCE) -> Actor:
        return cls(username, None, None, frozenset({"applicant"}), party=True)


BeforeComplete = Callable[[Ctx, Case, Task, dict[str, Any], Actor], Mapping[str, Any]]
AfterStep = Callable[[Ctx, Case, StepOutcome], None]


@dataclass(frozen=True)
class CaseHooks:
    """A domain's part in the steps of its cases.

    ``before_complete`` checks a step's data against the subject (raise to refuse) and returns
    extra process variables; ``after_step`` keeps the subject in line with the case after any
    step — a completion, a timer, an escalation.
    """

    before_complete: BeforeComplete | None = None
    after_step: AfterStep | None = None


_HOOKS: dict[str, CaseHooks] = {CaseKind.APPLICATION: CaseHooks()}


def register_hooks(kind: str, hooks: CaseHooks) -> None:
    """Install the owning domain's hooks for a kind of case (at its import)."""
    _HOOKS[kind] = hooks


def _hooks(kind: str) -> CaseHooks:
    found = _HOOKS.get(kind)
    if found is None:
        raise ProcessRuntimeError(
            f"no domain runs cases of kind {kind!r} in this process",
            message_zh=f"本进程未加载处理 {kind} 类案件的模块",
        )
    return found


# --- reference data --------------------------------------------------------------------------


def _department_ids(ctx: Ctx) -> dict[str, int]:
    ids: dict[str, int] | None = ctx.memo.get("department_ids")
    if ids is None:
        ids = ctx.memo["department_ids"] = {d.code: d.id for d in catalog.list_departments(ctx)}
    return ids


def _department_id(ctx: Ctx, code: str) -> int:
    found = _department_ids(ctx).get(code)
    return found if found is not None else catalog.get_department(ctx, code).id


def department_code(ctx: Ctx, department_id: int | None) -> str | None:
    if department_id is None:
        return None
    for code, known in _department_ids(ctx).items():
        if known == department_id:
            return code
    return None


def application_routes(ctx: Ctx, service: ServiceItem, lanes: Sequence[str]) -> dict[str, str]:
    """Routes of an application's lanes from the service file (APPLICANT: the applicant).

    Raises:
        NotFound: a lane whose department is not in the catalogue.
    """
    routes = {"": PARTY_ROUTE}
    if "" in service.lanes:  # tasks outside any lane go where the service file says
        lanes = ["", *lanes]
    for lane in lanes:
        code = catalog.department_for_lane(service, lane)
        if code is None:
            routes[lane] = PARTY_ROUTE
        else:
            _department_id(ctx, code)
            routes[lane] = f"dept:{code}"
    return routes


def _route(ctx: Ctx, case: Case, lane: str | None) -> tuple[int | None, bool]:
    """(department id, for the party) behind a lane of this case."""
    route = case.routes.get(lane or "", case.routes.get("*"))
    if route is None:
        raise ProcessRuntimeError(
            f"case {case.number}: lane {lane!r} has no route",
            message_zh=f"案件 {case.number}：泳道 {lane} 未指定办理部门",
        )
    if route == PARTY_ROUTE:
        return None, True
    kind, _, code = route.partition(":")
    if kind == "subject" and case.subject_department_id is not None:
        return case.subject_department_id, False
    return _department_id(ctx, code), False


def _sla_due(
    ctx: Ctx,
    case: Case,
    element_id: str,
    data: Mapping[str, Any],
    now: datetime,
    *,
    for_party: bool = False,
) -> datetime:
    rule = case.task_sla.get(element_id, PARTY_SLA_DAYS if for_party else 1)
    if isinstance(rule, str) and rule.startswith("var:"):
        value = data.get(rule[4:])
        if value:
            due = datetime.fromisoformat(str(value))
            if due.tzinfo is not None:
                return due.astimezone(UTC)
        return ctx.calendar.deadline(now, 1)
    return ctx.calendar.deadline(now, int(rule))


def case_ref(case: Case) -> CaseRef:
    return CaseRef(
        case.id, case.number, case.kind, case.channel, case.service_code, case.application_id
    )


def _record(ctx: Ctx, case: Case, event: NewEvent) -> None:
    eventlog.record(ctx, case_ref(case), event)


def _payload(ctx: Ctx, case: Case) -> dict[str, Any]:
    """What every webhook about a case says of it."""
    out: dict[str, Any] = {
        "case_number": case.number,
        "kind": case.kind,
        "service": case.service_code,
        "channel": case.channel,
    }
    if case.application_id is not None:
        application = intake.get_application(ctx, case.application_id)
        out["status"] = application.status
        out["deadline"] = application.deadline.isoformat()
    return out


# --- keeping tasks in line with the engine ---------------------------------------------------


def _new_task(
    ctx: Ctx,
    case: Case,
    engine: EngineCase,
    ready: ReadyTask,
    data: Mapping[str, Any],
    now: datetime,
    escalates: int | None,
) -> Task:
    dept_id, for_party = _route(ctx, case, ready.lane)
    info = engine.process.user_tasks_by_id.get(ready.task_id)
    return Task(
        case_id=case.id,
        engine_task_id=ready.task_uuid,
        element_id=ready.task_id,
        name=ready.name or ready.task_id,
        lane=ready.lane,
        department_id=dept_id,
        for_applicant=for_party,
        status="ready",
        created_at=now,
        sla_due=_sla_due(ctx, case, ready.task_id, data, now, for_party=for_party),
        can_send_back=bool(info and info.can_send_back),
        escalates_task_id=escalates,
        instance_no=ready.instance_no,
        assignee=ready.assignee,
        form_fields=[
            {
                "id": f.id,
                "label": f.label,
                "type": f.type,
                "required": f.required,
                "options": list(f.options),
                "option_names": list(f.option_names),
                "default": f.default,
            }
            for f in ready.form_fields
        ],
        data={},
    )


def _sync(
    ctx: Ctx, case: Case, engine: EngineCase, now: datetime, *, saved: bool = False
) -> StepOutcome:
    """Make the task table, the saved state and the case's subject match the engine."""
    out = StepOutcome(case=case)
    if _take_waiting_messages(ctx, case, engine, now):
        saved = False
    _send_thrown_messages(ctx, case, engine)
    ready = {t.task_uuid: t for t in engine.ready_user_tasks()}
    if not saved:
        # Save the engine state first: its version check is where a concurrent step of the same
        # case loses (cleanly, to be retried) before it writes any task row of its own.
        case.state = engine.dump()
        case.next_timer_at = engine.next_timer_due()
        ctx.session.flush()
    ended = engine.ended_escalations
    for task in repo.open_tasks(ctx.session, case.id):
        if task.engine_task_id in ready:
            del ready[task.engine_task_id]
            continue
        task.status = "cancelled"
        task.cancel_reason = (
            "escalated_task_ended" if task.engine_task_id in ended else "flow_moved_on"
        )
        out.cancelled.append(task)
        _record(
            ctx,
            case,
            NewEvent(
                EventType.TASK_CANCELLED,
                task.name,
                "ate_abort",
                now,
                resource=SYSTEM_RESOURCE,
                department=department_code(ctx, task.department_id),
                activity_id=task.element_id,
                attributes={"reason": task.cancel_reason},
                task_id=task.id,
            ),
        )
    data = engine.data
    by_engine_id: dict[str, int] = {}
    if any(r.escalates for r in ready.values()):
        by_engine_id = {t.engine_task_id: t.id for t in repo.tasks_of_case(ctx.session, case.id)}
    application = intake.get_application(ctx, case.application_id) if case.application_id else None
    for r in ready.values():
        escalates = by_engine_id.get(r.escalates) if r.escalates else None
        task = _new_task(ctx, case, engine, r, data, now, escalates)
        ctx.session.add(task)
        out.created.append(task)
    if out.created:
        ctx.session.flush()  # task ids for the events and messages below
    for task in out.created:
        if task.for_applicant and application is not None:
            intake.count_return(ctx, application)
            _record(
                ctx,
                case,
                NewEvent(
                    EventType.CASE_RETURNED,
                    RETURN_ACTIVITY,
                    "complete",
                    now,
                    resource=SYSTEM_RESOURCE,
                    activity_id=task.element_id,
                    attributes={"returns": application.returns},
                    task_id=task.id,
                ),
            )
        integration.publish(
            ctx,
            "case.returned" if task.for_applicant else "task.created",
            {
                **_payload(ctx, case),
                "task_id": task.id,
                "task": task.element_id,
                "task_name": task.name,
                "sla_due": task.sla_due.isoformat(),
            },
            department=department_code(ctx, task.department_id),
        )
    out.finished = engine.is_completed() and not case.completed
    hooks = _hooks(case.kind)
    if application is not None and out.finished:
        out.outcome = case.outcome = _application_outcome(ctx, case, data)
        intake.set_status(ctx, application, out.outcome)
    elif hooks.after_step is not None:
        hooks.after_step(ctx, case, out)
        out.outcome = case.outcome
    if out.finished:
        case.completed, case.completed_at = True, now
        _record_end(ctx, case, application, now)
        if application is not None:
            decided = repo.decisions_of_case(ctx.session, case.id)
            out.documents += documents.after_case(ctx, case, decided)
    ctx.session.flush()
    return out


def _record_end(ctx: Ctx, case: Case, application: Application | None, now: datetime) -> None:
    if application is None:
        _record(
            ctx,
            case,
            NewEvent(
                EventType.CASE_COMPLETED,
                ENDED_ACTIVITY,
                "complete",
                now,
                resource=SYSTEM_RESOURCE,
                attributes={"outcome": case.outcome},
            ),
        )
        return
    integration.publish(ctx, "case.decided", {**_payload(ctx, case), "outcome": case.outcome})
    event_type = {
        "approved": EventType.CASE_APPROVED,
        "not_accepted": EventType.CASE_NOT_ACCEPTED,
    }.get(case.outcome or "", EventType.CASE_REJECTED)
    _record(
        ctx,
        case,
        NewEvent(
            event_type,
            NOT_ACCEPTED_ACTIVITY if case.outcome == "not_accepted" else DECIDED_ACTIVITY,
            "complete",
            now,
            resource=SYSTEM_RESOURCE,
            attributes={
                "outcome": case.outcome,
                "on_time": now.astimezone(ctx.calendar.zone).date() <= application.deadline,
            },
        ),
    )


def _application_outcome(ctx: Ctx, case: Case, data: Mapping[str, Any]) -> str:
    """not_accepted, rejected or approved.

    One instance of a 会签 or 逐级审批 voting "reject" does not reject the application: the
    multi-instance task's own outcome does (the engine's ``decision`` after it). Any other
    rejection does.
    """
    voted = False
    for decision in repo.decisions_of_case(ctx.session, case.id):
        if decision.decision == "not_accept":
            return "not_accepted"
        if decision.decision == "reject":
            return "rejected"
        voted = voted or decision.decision.startswith("vote_")
    if voted and data.get("decision") == "reject":
        return "rejected"
    return "approved"


# --- messages between cases and department systems -------------------------------------------

MESSAGE_NAME_MAX = 200


def _take_waiting_messages(ctx: Ctx, case: Case, engine: EngineCase, now: datetime) -> bool:
    """Hand the case the kept messages it now waits for (oldest first); True if any."""
    took = False
    while names := engine.waiting_messages():
        kept = repo.waiting_messages(ctx.session, case.id, names)
        if not kept:
            break
        message = kept[0]
        engine.deliver(message.name, message.payload, now)
        message.status, message.delivered_at = "delivered", now
        _record(
            ctx,
            case,
            NewEvent(
                EventType.MESSAGE_RECEIVED,
                message.name,
                "complete",
                now,
                resource=message.sender,
                attributes={"message_id": message.message_id},
            ),
        )
        took = True
    return took


def _send_thrown_messages(ctx: Ctx, case: Case, engine: EngineCase) -> None:
    for name, payload in engine.thrown_messages():
        integration.publish(
            ctx, "case.message", {**_payload(ctx, case), "message": name, "data": payload}
        )


@dataclass
class Received:
    """What sending a message did: the message kept, whether it was a duplicate, and the
    step it made the case take (None when the case does not wait for it yet)."""

    message: CaseMessage
    duplicate: bool
    step: StepOutcome | None = None


def receive_message(
    ctx: Ctx,
    *,
    sender: str,
    message_id: str,
    name: str,
    case_number: str,
    payload: Mapping[str, Any],
) -> Received:
    """A department system's message for a case: delivered at once when the case waits for
    it, else kept (``waiting``) and delivered when the case comes to wait for it.

    Idempotent by (sender, message_id): the same id again returns the first message as a
    duplicate, changing nothing.

    Raises:
        NotFound: no case with that number (nothing is kept).
        ValidationFailed: an empty name or id.
    """
    name, message_id = name.strip(), message_id.strip()
    if not name or not message_id:
        raise ValidationFailed(
            "A message needs a name and a message_id",
            message_zh="消息须有名称和消息编号",
            code="message.invalid",
        )
    existing = repo.message_by_sender_id(ctx.session, sender, message_id)
    if existing is not None:
        return Received(existing, True)
    case = repo.case_by_number(ctx.session, case_number.strip())
    if case is None:
        raise NotFound(
            f"No case {case_number}: the message was not kept",
            message_zh=f"案件 {case_number} 不存在，消息未保存",
            code="message.case_unknown",
        )
    now = ctx.clock.now()
    message = CaseMessage(
        sender=sender,
        message_id=message_id,
        name=name,
        case_id=case.id,
        payload=dict(payload),
        status="waiting",
        received_at=now,
    )
    repo.add(ctx.session, message)
    ctx.session.flush()
    step = None
    if not case.completed:
        engine = _restore(ctx, case)
        if name in engine.waiting_messages():
            step = _sync(ctx, case, engine, now)
    return Received(message, False, step)


def messages_page(
    ctx: Ctx, *, status: str | None, limit: int, offset: int
) -> tuple[Sequence[tuple[CaseMessage, str]], int]:
    return repo.messages_page(ctx.session, status=status, limit=limit, offset=offset)


# --- starting cases ----------------------------------------------------------------------------


def start(ctx: Ctx, new: NewCase, *, first: Sequence[NewEvent] = ()) -> tuple[Case, StepOutcome]:
    """Start a case of any kind and run it to its first wait.

    ``first`` are events to record before the engine's own (e.g. the application's submission).
    """
    compiled = catalog.compiled_process(ctx, new.process_definition_id)
    now = ctx.clock.now()
    versions = catalog.bound_versions(ctx, compiled)
    called = catalog.called_processes(ctx, versions)
    engine = EngineCase.start(compiled, {**new.data, "case_number": new.number}, now, called)
    case = Case(
        called_versions=versions,
        number=new.number,
        kind=new.kind,
        process_definition_id=new.process_definition_id,
        application_id=new.application_id,
        service_code=new.service_code,
        channel=new.channel,
        subject_department_id=new.subject_department_id,
        party_proxy_department_id=new.party_proxy_department_id,
        routes=dict(new.routes),
        task_sla=dict(new.task_sla),
        state=engine.dump(),
        completed=False,
        started_at=now,
        next_timer_at=engine.next_timer_due(),
    )
    repo.add(ctx.session, case)
    ctx.session.flush()
    for event in first:
        _record(ctx, case, event)
    if case.kind != CaseKind.APPLICATION:
        _record(
            ctx,
            case,
            NewEvent(
                EventType.CASE_STARTED, STARTED_ACTIVITY, "complete", now, resource=SYSTEM_RESOURCE
            ),
        )
    else:
        integration.publish(ctx, "case.started", _payload(ctx, case))
    return case, _sync(ctx, case, engine, now, saved=True)


def start_case(
    ctx: Ctx,
    application: Application,
    service: ServiceItem,
    *,
    actor: str,
    attributes: Mapping[str, Any] | None = None,
) -> StepOutcome:
    """Start an application's case on the process version it was taken under."""
    compiled = catalog.compiled_process(ctx, application.process_definition_id)
    # The form's ID and phone values stay with the application (sealed), out of the engine's
    # state: no process decides on them, and the state is stored in plain JSON.
    personal = sealed_values(application.form_data)
    data: dict[str, Any] = {
        **{k: v for k, v in application.form_data.items() if k not in personal},
        "applicant_kind": application.applicant.kind,
        "channel": application.channel,
        "materials_complete": True,
    }
    submitted = NewEvent(
        EventType.APPLICATION_SUBMITTED,
        intake.SUBMITTED_ACTIVITY,
        "complete",
        ctx.clock.now(),
        resource=actor,
        attributes=dict(attributes or {}),
    )
    _, out = start(
        ctx,
        NewCase(
            kind=CaseKind.APPLICATION,
            number=application.number,
            process_definition_id=application.process_definition_id,
            service_code=service.code,
            channel=application.channel,
            data=data,
            routes=application_routes(
                ctx,
                service,
                catalog.all_lanes(
                    compiled,
                    catalog.called_processes(ctx, catalog.bound_versions(ctx, compiled)),
                ),
            ),
            task_sla=dict(service.task_sla_days),
            application_id=application.id,
        ),
        first=[submitted],
    )
    return out


# --- reading ---------------------------------------------------------------------------------


def get_task(ctx: Ctx, task_id: int) -> Task:
    task = repo.task(ctx.session, task_id)
    if task is None:
        raise NotFound(f"No task {task_id}", message_zh="任务不存在", code="task.unknown")
    return task


def get_case(ctx: Ctx, case_id: int) -> Case:
    case = repo.case(ctx.session, case_id)
    if case is None:
        raise NotFound("No such case", message_zh="案件不存在", code="case.unknown")
    return case


def case_by_number(ctx: Ctx, number: str) -> Case:
    case = repo.case_by_number(ctx.session, number)
    if case is None:
        raise NotFound(f"No case {number}", message_zh=f"案件 {number} 不存在", code="case.unknown")
    return case


def application_case(ctx: Ctx, application_id: int) -> Case:
    case = repo.case_of_application(ctx.session, application_id)
    if case is None:
        raise NotFound("Case has no engine state", message_zh="办件未启动流程", code="case.unknown")
    return case


def _restore(ctx: Ctx, case: Case) -> EngineCase:
    compiled = catalog.compiled_process(ctx, case.process_definition_id)
    called = catalog.called_processes(ctx, case.called_versions or {})
    return EngineCase.restore(compiled, case.state, called)


# --- who may work a task ---------------------------------------------------------------------


def _check_actor(task: Task, case: Case, who: Staff | Actor) -> Actor:
    actor = Actor.of(who)
    if task.for_applicant:
        proxy = (
            case.party_proxy_department_id is not None
            and actor.department_id == case.party_proxy_department_id
            and bool(actor.roles & set(STAFF_ROLES))
        )
        if not actor.party and not proxy:
            raise PermissionDenied(
                "This task is the applicant's: it is completed by handing in the missing materials"
                if case.kind == CaseKind.APPLICATION
                else "This step is the citizen's (or the service centre's call-back)",
                message_zh="该任务由申请人补正材料完成"
                if case.kind == CaseKind.APPLICATION
                else "该环节由市民本人或服务中心回访时填写",
                code="task.for_applicant",
            )
    else:
        if actor.party or not actor.roles & {*STAFF_ROLES, "system"}:
            raise PermissionDenied(
                f"{actor.username} needs one of the roles {', '.join(STAFF_ROLES)}",
                message_zh=f"{actor.username} 没有办理任务的角色",
                code="permission.role_required",
            )
        if task.department_id != actor.department_id:
            raise PermissionDenied(
                "This task belongs to another department",
                message_zh="该任务属于其他部门，无权办理",
                code="task.wrong_department",
            )
        if task.assignee and actor.username != task.assignee and "system" not in actor.roles:
            raise PermissionDenied(
                f"This task is {task.assignee}'s (one instance of a joint review)",
                message_zh=f"该任务指定由 {task.assignee} 办理（会签）",
                code="task.assigned_to_other",
            )
    if task.status not in repo.OPEN:
        raise Conflict(
            f"Task {task.id} is already {task.status}",
            message_zh=f"任务已{_closed_zh(task)}，不能重复办理",
            code="task.already_completed" if task.status == "completed" else "task.cancelled",
        )
    if task.status == "claimed" and task.claimed_by != actor.username:
        raise Conflict(
            f"Task {task.id} is claimed by {task.claimed_by}",
            message_zh=f"任务已被 {task.claimed_by} 认领",
            code="task.claimed_by_other",
        )
    return actor


def _closed_zh(task: Task) -> str:
    """What happened to a closed task, in Chinese: a 补正 is not "办结"."""
    if task.status != "completed":
        return "取消"
    return "退回补正" if (task.data or {}).get("decision") == "send_back" else "办结"


def claim_task(ctx: Ctx, task_id: int, *, actor: Staff | Actor) -> Task:
    """Take a task into one's own hands (the activity's ``start`` in the event log)."""
    task = get_task(ctx, task_id)
    case = get_case(ctx, task.case_id)
    who = _check_actor(task, case, actor)
    _one_voice(ctx, task, who)
    if task.status == "ready":
        _claim(ctx, task, case, actor=who)
    return task


def _one_voice(ctx: Ctx, task: Task, actor: Actor) -> None:
    """One person, one voice in a 会签: nobody works two instances of the same round."""
    if task.instance_no is None or task.for_applicant:
        return
    for other in repo.tasks_of_case(ctx.session, task.case_id):
        same_round = (
            other.id != task.id
            and other.element_id == task.element_id
            and other.instance_no is not None
            and other.created_at == task.created_at
        )
        if same_round and actor.username in (other.claimed_by, other.completed_by):
            raise Conflict(
                f"{actor.username} already has a voice in this joint review",
                message_zh="同一会签中每人只能办理一份",
                code="task.one_voice",
            )


def _claim(ctx: Ctx, task: Task, case: Case, *, actor: Actor) -> None:
    now = ctx.clock.now()
    task.status, task.claimed_by, task.claimed_at = "claimed", actor.username, now
    _record(
        ctx,
        case,
        NewEvent(
            EventType.TASK_CLAIMED,
            task.name,
            "start",
            now,
            resource=actor.username,
            department=actor.department_code,
            activity_id=task.element_id,
            task_id=task.id,
        ),
    )


# --- a head's hand on the queue: reassign, transfer, take back ---------------------------------

HEAD_ROLE = "head"
REASON_MAX = 500


def _as_head(ctx: Ctx, task: Task, who: Staff) -> Actor:
    """The acting head of the task's department, the task still open; refused otherwise.

    Raises:
        PermissionDenied: not a head, or a task of another department (or the party's).
        Conflict: the task is no longer open.
    """
    actor = Actor.of(who)
    if HEAD_ROLE not in actor.roles:
        raise PermissionDenied(
            "Only the head of the department may do this",
            message_zh="只有部门负责人可以改派、转办或收回任务",
            code="task.head_only",
        )
    if task.for_applicant or task.department_id != actor.department_id:
        raise PermissionDenied(
            "This task belongs to another department",
            message_zh="该任务属于其他部门，无权调整",
            code="task.wrong_department",
        )
    if task.status not in repo.OPEN:
        raise Conflict(
            f"Task {task.id} is already {task.status}",
            message_zh=f"任务已{_closed_zh(task)}，不能再调整",
            code="task.already_completed" if task.status == "completed" else "task.cancelled",
        )
    return actor


def _head_event(
    ctx: Ctx,
    case: Case,
    task: Task,
    kind: EventType,
    lifecycle: str,
    head: Actor,
    attributes: dict[str, Any],
) -> None:
    _record(
        ctx,
        case,
        NewEvent(
            kind,
            task.name,
            lifecycle,
            ctx.clock.now(),
            resource=head.username,
            department=head.department_code,
            activity_id=task.element_id,
            attributes=attributes,
            task_id=task.id,
        ),
    )


def reassign_task(
    ctx: Ctx, task_id: int, to_username: str, *, actor: Staff, reason: str = ""
) -> Task:
    """改派: a head puts an open task into the hands of a member of their department.

    Raises:
        PermissionDenied: not the task department's head.
        ValidationFailed: nobody by that name, someone of another department, inactive, or
            without a role that works tasks.
        Conflict: the task is closed, already theirs, or a 会签 instance named for another.
    """
    task = get_task(ctx, task_id)
    case = get_case(ctx, task.case_id)
    head = _as_head(ctx, task, actor)
    try:
        target = catalog.get_staff(ctx, to_username)
    except NotFound:
        target = None
    if target is None or target.department_id != task.department_id:
        raise ValidationFailed(
            "A task can be reassigned only to a member of its own department",
            message_zh="只能改派给本部门的工作人员",
            code="task.reassign_outside_department",
        )
    if not target.active or not set(target.roles) & set(STAFF_ROLES):
        raise ValidationFailed(
            f"{target.name} cannot work tasks (inactive or without a working role)",
            message_zh=f"{target.name} 不能办理任务（已停用或没有办件角色）",
            code="task.reassign_cannot_work",
        )
    if task.assignee and task.assignee != target.username:
        raise Conflict(
            "This instance of a joint review is named for one person",
            message_zh="该会签任务已指定办理人，不能改派",
            code="task.assigned_to_other",
        )
    if task.claimed_by == target.username:
        raise Conflict(
            f"The task is already {target.name}'s",
            message_zh=f"该任务已由 {target.name} 办理",
            code="task.already_theirs",
        )
    _one_voice(ctx, task, Actor.of(target))
    previous, now = task.claimed_by, ctx.clock.now()
    task.status, task.claimed_by, task.claimed_at = "claimed", target.username, now
    _head_event(
        ctx,
        case,
        task,
        EventType.TASK_REASSIGNED,
        "reassign",
        head,
        {"from": previous, "to": target.username, "comment": _text(reason, REASON_MAX)},
    )
    # The step starts again in the new hands: handling times are theirs from now on.
    _record(
        ctx,
        case,
        NewEvent(
            EventType.TASK_CLAIMED,
            task.name,
            "start",
            now,
            resource=target.username,
            department=head.department_code,
            activity_id=task.element_id,
            attributes={"assigned_by": head.username},
            task_id=task.id,
        ),
    )
    ctx.session.flush()
    return task


def take_back_task(ctx: Ctx, task_id: int, *, actor: Staff, reason: str = "") -> Task:
    """收回: a head takes a claimed task out of someone's hands, back into the queue.

    Raises:
        PermissionDenied: not the task department's head.
        Conflict: the task is closed or nobody has claimed it.
    """
    task = get_task(ctx, task_id)
    case = get_case(ctx, task.case_id)
    head = _as_head(ctx, task, actor)
    if task.status != "claimed":
        raise Conflict(
            "Nobody has claimed this task",
            message_zh="该任务尚未被认领，无需收回",
            code="task.not_claimed",
        )
    previous = task.claimed_by
    task.status, task.claimed_by, task.claimed_at = "ready", None, None
    _head_event(
        ctx,
        case,
        task,
        EventType.TASK_UNCLAIMED,
        "withdraw",
        head,
        {"from": previous, "comment": _text(reason, REASON_MAX)},
    )
    ctx.session.flush()
    return task


def can_transfer(case: Case, task: Task) -> bool:
    """Whether the process lets a task go to another department: only when its lane is worked
    by a department chosen per case (``subject:``), never one the service catalogue fixes."""
    route = case.routes.get(task.lane or "", case.routes.get("*")) or ""
    return route.startswith("subject:") and not task.assignee


def transfer_task(
    ctx: Ctx, task_id: int, to_department: str, *, actor: Staff, reason: str = ""
) -> Task:
    """转办: a head sends an open task to another department's queue, where the process
    allows it; the case's subject department follows.

    Raises:
        PermissionDenied: not the task department's head.
        ValidationFailed: an unknown department or the task's own.
        Conflict: the process fixes the department of this step.
    """
    task = get_task(ctx, task_id)
    case = get_case(ctx, task.case_id)
    head = _as_head(ctx, task, actor)
    target_id = _department_ids(ctx).get(to_department)
    if target_id is None or target_id == task.department_id:
        raise ValidationFailed(
            "Choose another department",
            message_zh="请选择其他部门",
            code="task.transfer_department_invalid",
        )
    if not can_transfer(case, task):
        raise Conflict(
            "The process fixes which department works this step: it cannot be transferred",
            message_zh="该环节的办理部门由事项流程确定，不能转办到其他部门",
            code="task.transfer_not_allowed",
        )
    previous = department_code(ctx, task.department_id)
    task.department_id = case.subject_department_id = target_id
    task.status, task.claimed_by, task.claimed_at = "ready", None, None
    _head_event(
        ctx,
        case,
        task,
        EventType.TASK_TRANSFERRED,
        "reassign",
        head,
        {"from": previous, "to": to_department, "comment": _text(reason, REASON_MAX)},
    )
    hooks = _hooks(case.kind)
    if hooks.after_step is not None:
        hooks.after_step(ctx, case, StepOutcome(case=case))
    ctx.session.flush()
    return task


# --- the step's data -------------------------------------------------------------------------


def _coerce(spec: Mapping[str, Any], value: Any) -> Any:
    kind = spec.get("type") or "string"
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "1", "yes"):
            return True
        if str(value).lower() in ("false", "0", "no"):
            return False
        raise ValueError("must be true or false")
    if kind in ("long", "integer", "int"):
        if isinstance(value, bool):
            raise ValueError("must be a whole number")
        return int(value)
    if kind in ("number", "double", "float", "decimal"):
        if isinstance(value, bool):
            raise ValueError("must be a number")
        return float(value)
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise ValueError(f"at most {MAX_TEXT} characters")
        return value.strip()
    return value


def check_form(task: Task, data: Mapping[str, Any]) -> dict[str, Any]:
    """The BPMN task's form: required fields present, enum values among the options, values of
    the declared type; returns the form's values (defaults filled in, other keys left out).

    Raises:
        ValidationFailed: ``task.form_invalid`` with every problem in ``details.problems``.
    """
    problems: list[str] = []
    clean: dict[str, Any] = {}
    for f in task.form_fields:
        value = data.get(f["id"])
        if isinstance(value, str):
            value = value.strip()
        if value in (None, "") and f.get("default") is not None:
            value = f["default"]
        if value in (None, ""):
            if f.get("required"):
                problems.append(f"{f['id']}: required")
            continue
        if f.get("options") and value not in f["options"]:
            problems.append(f"{f['id']}: must be one of {', '.join(f['options'])}")
            continue
        try:
            clean[f["id"]] = _coerce(f, value)
        except (TypeError, ValueError) as exc:
            problems.append(f"{f['id']}: {exc}")
    if problems:
        raise ValidationFailed(
            "The task form has problems: " + "; ".join(problems),
            message_zh="办理表单有误：" + "；".join(problems),
            code="task.form_invalid",
            details={"problems": problems},
        )
    return clean


def _text(value: Any, limit: int = MAX_TEXT) -> str:
    text = str(value or "").strip()
    return text[:limit]


def _missing_items(data: Mapping[str, Any]) -> list[str]:
    raw = data.get("missing_materials")
    if raw is None:
        return []
    if isinstance(raw, str):
        raw = [line for line in raw.replace("、", "\n").replace(",", "\n").splitlines()]
    if not isinstance(raw, list):
        raise ValidationFailed(
            "missing_materials must be a list of material codes",
            message_zh="补正材料须为材料编码列表",
            code="decision.missing_items_invalid",
        )
    return [str(x).strip() for x in raw if str(x).strip()]


def _legal_meaning(task: Task, service: ServiceItem | None, decision: str | None) -> str:
    """The decision in the law's words: accept / not_accept at the acceptance step, else
    approve / reject; send_back anywhere; done for a step without a verdict."""
    if decision is None:
        return "done"
    at_acceptance = service is not None and service.acceptance_task == task.element_id
    if decision == "approve":
        return "accept" if at_acceptance else "approve"
    if decision == "reject":
        return "not_accept" if at_acceptance else "reject"
    return decision


def _refusal_basis(service: ServiceItem, meaning: str, data: Mapping[str, Any]) -> tuple[str, str]:
    """(code, text) of the legal basis a refusal cites, checked against the service's list.

    Raises:
        ValidationFailed: no reason, no basis, or a basis the service does not list for it.
    """
    allowed = [b for b in service.legal_bases if meaning in b.get("applies_to", [])]
    choices = {"allowed": [b["code"] for b in allowed] + [OTHER_BASIS]}
    code = _text(data.get("legal_basis"), 64)
    if not code:
        raise ValidationFailed(
            "A refusal names its legal basis (行政许可法 §38)",
            message_zh="不予受理或不予许可须选择法律依据",
            code="decision.legal_basis_required",
            details=choices,
        )
    if code == OTHER_BASIS:
        text = _text(data.get("legal_basis_text"), 500)
        if len(text) < 4:
            raise ValidationFailed(
                "Write out the legal basis when choosing 'other'",
                message_zh="选择“其他”时须写明法律依据",
                code="decision.legal_basis_required",
                details=choices,
            )
        return code, text
    found = next((b for b in allowed if b["code"] == code), None)
    if found is None:
        raise ValidationFailed(
            f"{code!r} is not a legal basis {service.code} lists for this decision",
            message_zh=f"法律依据 {code} 不适用于本事项的该项决定",
            code="decision.legal_basis_unknown",
            details=choices,
        )
    return code, str(found["zh"])


def _decide(
    ctx: Ctx,
    case: Case,
    task: Task,
    service: ServiceItem | None,
    clean: Mapping[str, Any],
    data: Mapping[str, Any],
    actor: Actor,
    now: datetime,
) -> Decision:
    """The record of a staff step, with the reasons the law asks for (application cases)."""
    raw = clean.get("decision")
    meaning = _legal_meaning(task, service, str(raw) if raw is not None else None)
    opinion = _text(clean.get("comment") or data.get("comment") or data.get("opinion"))
    decision = Decision(
        case_id=case.id,
        task_id=task.id,
        decision=meaning,
        opinion=opinion,
        decided_by=actor.username,
        department=actor.department_code,
        decided_at=now,
        missing_items=[],
    )
    if service is None:
        return decision
    if meaning == "approve" and case.application_id is not None:
        _no_unsettled_promise(ctx, case.application_id)
    if meaning == "approve" and task.instance_no is not None:
        decision.decision = "vote_approve"
    if meaning in ("not_accept", "reject"):
        reason = _text(data.get("reason"))
        if len(reason) < 2:
            raise ValidationFailed(
                "A refusal needs its reasons, which the applicant receives in writing",
                message_zh="不予受理、不予许可须写明理由（将书面告知申请人）",
                code="decision.reason_required",
            )
        decision.reason = reason
        decision.legal_basis_code, decision.legal_basis = _refusal_basis(service, meaning, data)
        if task.instance_no is not None:
            # One voice of a 会签: it refuses only with the others (the task's own outcome),
            # but gives its reasons as a refusal would, for the decision it may become.
            decision.decision = "vote_reject"
    elif meaning == "send_back":
        items = _missing_items(data)
        if not items:
            raise ValidationFailed(
                "Say what is missing when sending a case back",
                message_zh="退回补正时须一次性列明所缺材料",
                code="task.send_back_empty",
            )
        known = {m.code for m in service.materials}
        unknown = [i for i in items if i not in known]
        if unknown:
            raise ValidationFailed(
                "Choose the missing items from the service's materials: " + ", ".join(unknown),
                message_zh="补正材料须从本事项的材料清单中选择：" + "、".join(unknown),
                code="decision.missing_item_unknown",
                details={"unknown": unknown, "allowed": sorted(known)},
            )
        decision.missing_items = list(dict.fromkeys(items))
        decision.reason = opinion or None
    return decision


def reason_digest(decision: Decision) -> str:
    """SHA-256 of what a decision says to the applicant (in the ledger beside the decision)."""
    return hashlib.sha256(
        ledger.canonical(
            {
                "decision": decision.decision,
                "opinion": decision.opinion,
                "reason": decision.reason,
                "legal_basis_code": decision.legal_basis_code,
                "legal_basis": decision.legal_basis,
                "missing_items": decision.missing_items,
            }
        )
    ).hexdigest()


# --- completing tasks --------------------------------------------------------------------------


def complete_task(
    ctx: Ctx, task_id: int, data: Mapping[str, Any], *, actor: Staff | Actor
) -> StepOutcome:
    """Complete one task as a member of its department (or as the case's party); claims it
    first if nobody has.

    Raises:
        PermissionDenied: another department's task, or the party's.
        Conflict: already completed/cancelled, or claimed by someone else.
        ValidationFailed: the form, a refusal without reasons, an unknown 补正 item.
        ConcurrentUpdate: a parallel task of the case was completed at the same moment.
    """
    task = get_task(ctx, task_id)
    case = get_case(ctx, task.case_id)
    who = _check_actor(task, case, actor)
    _one_voice(ctx, task, who)
    decision = data.get("decision")
    field = next((f for f in task.form_fields if f["id"] == "decision"), None)
    if decision not in (None, "") and field and field.get("options"):
        if decision not in field["options"]:
            names = dict(zip(field["options"], field.get("option_names") or [], strict=False))
            shown = "、".join(f"{o}（{names.get(o, o)}）" for o in field["options"])
            raise ValidationFailed(
                f"decision must be one of {', '.join(field['options'])} at this step",
                message_zh=f"该环节的审批结论只能是：{shown}",
                code="task.invalid_decision",
                details={"allowed": list(field["options"])},
            )
    if decision == "send_back" and not task.can_send_back and case.kind == CaseKind.APPLICATION:
        raise Conflict(
            "This step cannot send the case back to the applicant",
            message_zh="该环节不能退回补正",
            code="task.cannot_send_back",
        )
    return _complete(ctx, task, case, data, who)


def send_back(
    ctx: Ctx, task_id: int, missing: Sequence[str], comment: str = "", *, actor: Staff | Actor
) -> StepOutcome:
    """补正: return the case to the applicant with everything that is missing, in one notice."""
    items = [m.strip() for m in missing if m.strip()]
    if not items:
        raise ValidationFailed(
            "Say what is missing when sending a case back",
            message_zh="退回补正时须一次性列明所缺材料",
            code="task.send_back_empty",
        )
    return complete_task(
        ctx,
        task_id,
        {"decision": "send_back", "missing_materials": items, "comment": comment},
        actor=actor,
    )


def _complete(ctx: Ctx, task: Task, case: Case, data: Mapping[str, Any], who: Actor) -> StepOutcome:
    clean = check_form(task, data)
    now = ctx.clock.now()
    service = (
        catalog.get_service_by_id(
            ctx, intake.get_application(ctx, case.application_id).service_item_id
        )
        if case.application_id is not None
        else None
    )
    extra: Mapping[str, Any] = {}
    hooks = _hooks(case.kind)
    if hooks.before_complete is not None:
        extra = hooks.before_complete(ctx, case, task, clean, who)
    record = None
    if not task.for_applicant:
        record = _decide(ctx, case, task, service, clean, data, who, now)
    engine_data: dict[str, Any] = {**clean, **extra}
    for key in PROCESS_KEYS & set(data):
        engine_data[key] = data[key]
    if record is not None and record.decision in ("accept", "send_back", "not_accept"):
        engine_data["materials_complete"] = record.decision != "send_back"
    if record is not None and record.missing_items:
        engine_data["missing_materials"] = record.missing_items
    if record is not None and record.decision == "accept" and service is not None:
        # 行政许可法 §42: the time limit runs from the day the application is accepted.
        application = intake.get_application(ctx, case.application_id or 0)
        application.deadline = ctx.calendar.add_workdays(now, service.time_limit_days)
    engine = _restore(ctx, case)
    engine.complete(task.engine_task_id, engine_data, now)
    with ctx.session.no_autoflush:
        if task.status == "ready" and not task.for_applicant:
            _claim(ctx, task, case, actor=who)
    task.status, task.completed_by, task.completed_at = "completed", who.username, now
    task.data = {
        k: v
        for k, v in {**clean, **{k: data[k] for k in PROCESS_KEYS & set(data)}}.items()
        if isinstance(v, str | int | float | bool | list)
    }
    attributes: dict[str, Any] = {}
    if record is not None and record.decision != "done":
        attributes["decision"] = record.decision
        record.reason_sha256 = reason_digest(record)
        ledger.append(
            ctx,
            ledger.EntryKind.TASK_DECIDED,
            {
                "case": case.number,
                "kind": case.kind,
                "service": case.service_code,
                "task_id": task.id,
                "task": task.element_id,
                "department": who.department_code,
                "decision": record.decision,
                "reason_sha256": record.reason_sha256,
            },
            actor=who.username,
        )
    if record is not None:
        repo.add(ctx.session, record)
    integration.publish(
        ctx,
        "task.completed",
        {
            **_payload(ctx, case),
            "task_id": task.id,
            "task": task.element_id,
            "decision": clean.get("decision"),
        },
        department=who.department_code,
    )
    _record(
        ctx,
        case,
        NewEvent(
            EventType.TASK_COMPLETED,
            task.name,
            "complete",
            now,
            resource=who.username,
            department=who.department_code,
            activity_id=task.element_id,
            attributes=attributes,
            task_id=task.id,
        ),
    )
    out = _sync(ctx, case, engine, now)
    out.decision = record
    if record is not None:
        out.documents = documents.after_decision(ctx, case, task, record, out.created) + (
            out.documents
        )
    return out


def complete_applicant_task(
    ctx: Ctx, application: Application, data: dict[str, Any]
) -> StepOutcome:
    """The applicant's side of 补正: their open task is completed with what they handed in.

    The legal time limit stood still while the case waited for the applicant: the deadline
    moves by the working days it waited.
    """
    case = application_case(ctx, application.id)
    tasks = [t for t in repo.open_tasks(ctx.session, case.id) if t.for_applicant]
    if not tasks:
        raise Conflict(
            "Nothing is waiting for the applicant on this case",
            message_zh="该办件当前不需要补正",
            code="case.nothing_to_supplement",
        )
    now = ctx.clock.now()
    waited = ctx.calendar.workdays_between(tasks[0].created_at, now)
    if waited > 0:
        application.deadline = ctx.calendar.add_workdays(application.deadline, waited)
    application.status = "in_progress"
    return _complete(ctx, tasks[0], case, {"materials_complete": True, **data}, Actor.as_party())


# --- timers and escalation ---------------------------------------------------------------------


def _escalate(ctx: Ctx, case: Case, task: Task, now: datetime, *, cause: str) -> None:
    task.escalated = True
    _record(
        ctx,
        case,
        NewEvent(
            EventType.TASK_ESCALATED,
            ESCALATED_ACTIVITY,
            "complete",
            now,
            resource=SYSTEM_RESOURCE,
            department=department_code(ctx, task.department_id),
            activity_id=task.element_id,
            attributes={"task": task.name, "sla_due": task.sla_due.isoformat(), "cause": cause},
            task_id=task.id,
        ),
    )


def fire_due_timers(ctx: Ctx, *, limit: int = 100) -> int:
    """Fire the engine timers that are due by the clock; returns how many fired.

    A non-interrupting boundary timer on a task (a deadline with a 督办 branch) marks that task
    escalated as it fires.
    """
    now = ctx.clock.now()
    fired = 0
    for case in repo.cases_with_due_timers(ctx.session, now, limit):
        engine = _restore(ctx, case)
        timers = engine.fired_timers(now)
        escalated: list[Task] = []
        open_by_engine_id = {t.engine_task_id: t for t in repo.open_tasks(ctx.session, case.id)}
        for timer in timers:
            _record(
                ctx,
                case,
                NewEvent(
                    EventType.TIMER_FIRED,
                    timer.timer_id,
                    "complete",
                    now,
                    resource=SYSTEM_RESOURCE,
                    activity_id=timer.timer_id,
                ),
            )
            target = open_by_engine_id.get(timer.attached_to or "")
            if target is not None and not timer.interrupting and not target.escalated:
                _escalate(ctx, case, target, now, cause=timer.timer_id)
                escalated.append(target)
        fired += len(timers)
        out = _sync(ctx, case, engine, now)
        out.fired = [t.timer_id for t in timers]
        out.escalated = escalated
    return fired


def escalate_overdue_tasks(ctx: Ctx) -> list[Task]:
    """Mark staff tasks past their SLA as escalated (督办), once each, with an event.

    The party's own tasks (their time does not count against staff) and escalation tasks
    themselves are left alone.
    """
    now = ctx.clock.now()
    out: list[Task] = []
    by_case: dict[int, list[Task]] = {}
    for task in repo.staff_tasks_due_before(ctx.session, now, escalated=False):
        if task.escalates_task_id is not None:
            continue
        case = get_case(ctx, task.case_id)
        _escalate(ctx, case, task, now, cause="sla")
        out.append(task)
        by_case.setdefault(case.id, []).append(task)
    ctx.session.flush()
    for case_id, tasks in by_case.items():
        case = get_case(ctx, case_id)
        hooks = _hooks(case.kind)
        if hooks.after_step is not None:
            hooks.after_step(ctx, case, StepOutcome(case=case, escalated=tasks))
    return out


# --- queries -------------------------------------------------------------------------------------


def tasks_nearing_sla(ctx: Ctx, within: timedelta) -> Sequence[Task]:
    now = ctx.clock.now()
    return [t for t in repo.staff_tasks_due_before(ctx.session, now + within) if t.sla_due >= now]


def overdue_tasks(ctx: Ctx) -> Sequence[Task]:
    return repo.staff_tasks_due_before(ctx.session, ctx.clock.now())


def applications_with_overdue_tasks(ctx: Ctx) -> set[int]:
    """Applications (ids) with at least one overdue staff task: ``overdue_tasks`` per case."""
    return repo.applications_with_staff_tasks_due(ctx.session, ctx.clock.now())


def applications_with_tasks_nearing_sla(ctx: Ctx, within: timedelta) -> set[int]:
    """Applications (ids) with a staff task due within ``within``: ``tasks_nearing_sla`` per
    case."""
    now = ctx.clock.now()
    return repo.applications_with_staff_tasks_due(ctx.session, now + within, not_before=now)


def tasks_of_case(ctx: Ctx, case_id: int) -> Sequence[Task]:
    return repo.tasks_of_case(ctx.session, case_id)


def open_tasks(ctx: Ctx, case_id: int) -> Sequence[Task]:
    return repo.open_tasks(ctx.session, case_id)


def party_tasks(ctx: Ctx, case_ids: Sequence[int]) -> Sequence[Task]:
    """Open tasks waiting for the party of any of these cases."""
    return repo.party_tasks(ctx.session, case_ids)


def open_tasks_created_since(ctx: Ctx, when: datetime) -> Sequence[Task]:
    """Open tasks created at or after ``when`` (e.g. by the timers the worker fired)."""
    return repo.open_tasks_created_since(ctx.session, when)


def waits_for(ctx: Ctx, case: Case) -> list[str]:
    """Names of the messages a case waits for now (none when it has ended)."""
    return [] if case.completed else _restore(ctx, case).waiting_messages()


def open_tasks_of_kinds(
    ctx: Ctx, kinds: Sequence[str], *, department_id: int, limit: int = 100
) -> Sequence[Task]:
    """A department's open tasks of some kinds of case, most urgent first."""
    return repo.open_tasks_of_kinds(
        ctx.session, kinds, department_id=department_id, limit=min(max(limit, 1), 500)
    )


def decisions_of_case(ctx: Ctx, case_id: int) -> Sequence[Decision]:
    return repo.decisions_of_case(ctx.session, case_id)


def decision_of_task(ctx: Ctx, task_id: int) -> Decision | None:
    return repo.decision_of_task(ctx.session, task_id)


def open_escalations_of_ended(ctx: Ctx) -> Sequence[tuple[Task, Task | None, Case]]:
    """Escalation tasks still open although the task they escalate or their case ended (none
    should exist: a check for operators and tests)."""
    return repo.open_escalations(ctx.session)


def find_cases(
    ctx: Ctx,
    *,
    applicant_phone: str | None = None,
    department_id: int | None = None,
    number: str | None = None,
    applicant_id_number: str | None = None,
    status: str | None = None,
    service_code: str | None = None,
    overdue: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> tuple[Sequence[Application], int]:
    """A page of applications and the total; the scoping arguments are the caller's rows
    (see ``repository.find_applications``), the rest are filters."""
    return repo.find_applications(
        ctx.session,
        applicant_phone=applicant_phone,
        department_id=department_id,
        number=number,
        applicant_id_number=applicant_id_number,
        status=status,
        service_code=service_code,
        overdue_on=intake.local_today(ctx) if overdue else None,
        limit=min(max(limit, 1), 500),
        offset=max(offset, 0),
    )


def queue_page(
    ctx: Ctx, department_id: int, *, limit: int = 50, offset: int = 0
) -> tuple[Sequence[tuple[Task, Case]], int]:
    """A department's open tasks with their cases (most urgent first) and the total."""
    return repo.queue_page(
        ctx.session,
        department_id=department_id,
        limit=min(max(limit, 1), 500),
        offset=max(offset, 0),
    )


# --- the process diagram and the names of its elements -------------------------------------------

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def element_names(ctx: Ctx, process_definition_id: int) -> dict[str, str]:
    """BPMN id -> the element's name (tasks, events, gateways) of one stored process version.

    A stored version never changes, so the platform keeps the map by id after the first read.
    """
    from lxml import etree

    key = ("element_names", process_definition_id)
    names: dict[str, str] | None = ctx.shared.get(key)
    if names is None:
        xml = catalog.get_process(ctx, process_definition_id).bpmn_xml
        parser = etree.XMLParser(resolve_entities=False, no_network=True)
        root = etree.fromstring(xml.encode(), parser)
        names = {}
        for element in root.iter(f"{{{BPMN_NS}}}*"):
            element_id, name = element.get("id"), element.get("name")
            if element_id and name:
                names[element_id] = " ".join(name.split())
        ctx.shared[key] = names
    return names


def case_element_names(ctx: Ctx, case: Case) -> dict[str, str]:
    """Names of the elements of a case's process and of the processes it calls."""
    out: dict[str, str] = {}
    for called in (case.called_versions or {}).values():
        out.update(element_names(ctx, called))
    out.update(element_names(ctx, case.process_definition_id))
    return out


@dataclass(frozen=True)
class CaseDiagram:
    """A case's process as drawn (BPMN XML) with where it stands: the elements of its open
    tasks, and those it has passed through."""

    xml: str
    current: list[str]
    done: list[str]


def case_diagram(ctx: Ctx, case: Case) -> CaseDiagram:
    xml = catalog.get_process(ctx, case.process_definition_id).bpmn_xml
    current = [t.element_id for t in repo.open_tasks(ctx.session, case.id)]
    done = {
        e.activity_id
        for e in eventlog.case_history(ctx, case.id)
        if e.activity_id and e.lifecycle == "complete"
    }
    return CaseDiagram(
        xml=xml,
        current=sorted(set(current)),
        done=sorted(done - set(current)),
    )


QueueQuery = repo.QueueQuery
QueueCounts = repo.QueueCounts
QUEUE_SORTS = tuple(repo.QUEUE_SORTS)
COMPANY_FIELDS = repo.COMPANY_FIELDS
SEARCH_MAX = 100
_PHONE = re.compile(r"1\d{10}")
_ID_NUMBER = re.compile(r"[0-9A-Z]{18}")


def search_terms(text: str) -> tuple[str, str | None, str | None]:
    """(the text, as a mobile number, as an ID number or credit code) of a workbench search.

    A number that looks like a phone or an 18-character ID is also looked up exactly, through
    its blind index; the text itself matches case numbers, names and company names.
    """
    text = " ".join(text.split())[:SEARCH_MAX]
    compact = re.sub(r"[\s-]", "", text)
    phone = compact if _PHONE.fullmatch(compact) else None
    id_number = compact.upper() if _ID_NUMBER.fullmatch(compact.upper()) else None
    return text, phone, id_number


def search_queue(
    ctx: Ctx, query: QueueQuery, *, me: str
) -> tuple[Sequence[tuple[Task, Case, Application | None, Any]], int, QueueCounts]:
    """A page of open staff tasks matching the query, the true total and the counters."""
    bounded = replace(query, limit=min(max(query.limit, 1), 500), offset=max(query.offset, 0))
    return repo.search_queue(ctx.session, bounded, me=me)


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a case's history for staff: an event, with the decision it recorded."""

    event: Event
    decision: Decision | None


def case_history(ctx: Ctx, case: Case) -> list[HistoryEntry]:
    """Every event of the case with the opinions and reasons of the decisions taken."""
    decisions = {d.task_id: d for d in repo.decisions_of_case(ctx.session, case.id)}
    out = []
    for event in eventlog.case_history(ctx, case.id):
        found = (
            decisions.get(event.task_id)
            if event.event_type == EventType.TASK_COMPLETED and event.task_id is not None
            else None
        )
        out.append(HistoryEntry(event, found))
    return out


def overdue_on(ctx: Ctx) -> date:
    """The day against which deadlines are compared (today, in the calendar's zone)."""
    return intake.local_today(ctx)


PUBLIC_DECISIONS = frozenset({"not_accept", "reject", "send_back"})


def decision_views(ctx: Ctx, case: Case, *, for_applicant: bool) -> list[dict[str, Any]]:
    """The case's decisions as pages and the API show them.

    Staff see every decision with its opinion. The applicant sees what the law gives them:
    refusals with their reasons, legal basis and rights of review, and 补正 with every item.
    """
    service = None
    if case.application_id is not None:
        application = intake.get_application(ctx, case.application_id)
        service = catalog.get_service_by_id(ctx, application.service_item_id)
    materials = {m.code: m for m in service.materials} if service else {}
    tasks = {t.id: t for t in repo.tasks_of_case(ctx.session, case.id)}
    review = dict(service.review) if service and service.review else {}
    out: list[dict[str, Any]] = []
    for d in repo.decisions_of_case(ctx.session, case.id):
        if for_applicant and d.decision not in PUBLIC_DECISIONS:
            continue
        task = tasks.get(d.task_id)
        refusal = d.decision in ("not_accept", "reject")
        out.append(
            {
                "task": task.element_id if task else "",
                "task_name": task.name if task else "",
                "decision": d.decision,
                "decided_at": d.decided_at,
                "department": d.department,
                "decided_by": None if for_applicant else d.decided_by,
                "opinion": None
                if for_applicant and not refusal and d.decision != "send_back"
                else d.opinion,
                "reason": d.reason,
                "legal_basis_code": d.legal_basis_code,
                "legal_basis": d.legal_basis,
                "missing_items": [
                    {
                        "code": code,
                        "name_zh": materials[code].name_zh if code in materials else code,
                        "name_en": materials[code].name_en if code in materials else code,
                    }
                    for code in d.missing_items
                ],
                "review": review if refusal and review else None,
            }
        )
    return out


# --- 容缺受理: a case accepted on a promise waits for the promised materials -----------------

PROMISED_ACTIVITY = "容缺承诺"
PROMISE_FULFILLED_ACTIVITY = "容缺材料补齐"
PROMISE_LAPSED_ACTIVITY = "容缺承诺逾期"


def _no_unsettled_promise(ctx: Ctx, application_id: int) -> None:
    """An approval waits until every promised material is in (a refusal need not).

    Raises:
        Conflict: a promised material is still owed (open or lapsed).
    """
    owed = intake.unsettled_promises(ctx, application_id)
    if owed:
        codes = [p.material_code for p in owed]
        raise Conflict(
            "The case waits for promised materials: " + ", ".join(codes),
            message_zh="容缺受理的材料尚未补齐，不能作出准予决定：" + "、".join(codes),
            code="case.promise_open",
            details={"owed": codes},
        )


def _promise_event(
    ctx: Ctx,
    case: Case,
    kind: EventType,
    activity: str,
    promise: MaterialPromise,
    resource: str | None,
) -> None:
    _record(
        ctx,
        case,
        NewEvent(
            kind,
            activity,
            "complete",
            ctx.clock.now(),
            resource=resource,
            attributes={
                "material_code": promise.material_code,
                "due_on": promise.due_on.isoformat(),
            },
        ),
    )


def record_promises(ctx: Ctx, application: Application, *, actor: str) -> int:
    """Write a 容缺承诺 event for each promise the application was taken on."""
    promises = intake.promises_of(ctx, application)
    if not promises:
        return 0
    case = application_case(ctx, application.id)
    for p in promises:
        _promise_event(ctx, case, EventType.MATERIAL_PROMISED, PROMISED_ACTIVITY, p, actor)
    return len(promises)


def promise_fulfilled(
    ctx: Ctx, application: Application, promise: MaterialPromise, *, actor: str
) -> None:
    case = application_case(ctx, application.id)
    _promise_event(
        ctx,
        case,
        EventType.MATERIAL_PROMISE_FULFILLED,
        PROMISE_FULFILLED_ACTIVITY,
        promise,
        actor,
    )


def lapse_due_promises(ctx: Ctx, *, limit: int = 200) -> int:
    """Promises past their last day lapse, each with its event; returns how many (worker)."""
    lapsed = intake.lapse_due_promises(ctx, limit=limit)
    for p in lapsed:
        case = application_case(ctx, p.application_id)
        _promise_event(
            ctx, case, EventType.MATERIAL_PROMISE_LAPSED, PROMISE_LAPSED_ACTIVITY, p, "system"
        )
    return len(lapsed)
