"""Running cases on BPMN: tasks, claims, completion, send-back (补正), timers and SLAs.

The engine state of a case is saved with a version column: two people completing parallel
tasks of one case at once either both succeed or one gets a clean ``ConcurrentUpdate`` that
``Platform.run`` retries, never a lost update.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from onewindow.catalog import service as catalog
from onewindow.catalog.models import ServiceItem, Staff
from onewindow.eventlog import service as eventlog
from onewindow.eventlog.models import EventType
from onewindow.eventlog.schemas import NewEvent
from onewindow.intake import service as intake
from onewindow.intake.models import Application
from onewindow.integration import service as integration
from onewindow.kit.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from onewindow.kit.platform import Ctx
from onewindow.security import ledger
from onewindow.workflow import repository as repo
from onewindow.workflow.engine import EngineCase, ReadyTask
from onewindow.workflow.models import CaseState, Task

RETURN_ACTIVITY = "补正通知"
DECIDED_ACTIVITY = "办结"
ESCALATED_ACTIVITY = "超时督办"
APPLICANT_RESOURCE = "applicant"
STAFF_ROLES = ("clerk", "reviewer", "head")


@dataclass
class StepOutcome:
    """What one step of a case changed."""

    created: list[Task] = field(default_factory=list)
    cancelled: list[Task] = field(default_factory=list)
    finished: bool = False
    outcome: str | None = None


def _case_payload(application: Application, service: ServiceItem) -> dict[str, Any]:
    return {
        "case_number": application.number,
        "service": service.code,
        "channel": application.channel,
        "status": application.status,
        "deadline": application.deadline.isoformat(),
    }


def _department_codes(ctx: Ctx) -> dict[str, int]:
    codes: dict[str, int] | None = ctx.memo.get("department_codes")
    if codes is None:
        codes = ctx.memo["department_codes"] = {d.code: d.id for d in catalog.list_departments(ctx)}
    return codes


def _lane_departments(
    ctx: Ctx, service: ServiceItem, engine: EngineCase
) -> dict[str | None, int | None]:
    """Department id behind each lane of the process (None: the applicant's own lane).

    A lane is mapped by the service file, or named after a department code.

    Raises:
        NotFound: a lane whose department is not in the catalogue.
    """
    ids = _department_codes(ctx)
    lanes: dict[str | None, int | None] = {None: None}
    for lane in engine.process.lanes:
        code = catalog.department_for_lane(service, lane)
        lanes[lane] = (ids.get(code) or catalog.get_department(ctx, code).id) if code else None
    return lanes


def _new_task(
    ctx: Ctx,
    application: Application,
    service: ServiceItem,
    engine: EngineCase,
    ready: ReadyTask,
    lanes: dict[str | None, int | None],
    now: datetime,
) -> Task:
    dept_id = lanes[ready.lane]
    info = engine.process.user_tasks_by_id.get(ready.task_id)
    sla_days = service.task_sla_days.get(ready.task_id, 1)
    return Task(
        application_id=application.id,
        engine_task_id=ready.task_uuid,
        element_id=ready.task_id,
        name=ready.name or ready.task_id,
        lane=ready.lane,
        department_id=dept_id,
        for_applicant=dept_id is None,
        status="ready",
        created_at=now,
        sla_due=ctx.calendar.deadline(now, sla_days),
        can_send_back=bool(info and info.can_send_back),
        form_fields=[
            {
                "id": f.id,
                "label": f.label,
                "type": f.type,
                "required": f.required,
                "options": list(f.options),
            }
            for f in ready.form_fields
        ],
        data={},
    )


def _sync(
    ctx: Ctx,
    application: Application,
    service: ServiceItem,
    state: CaseState,
    engine: EngineCase,
    now: datetime,
) -> StepOutcome:
    """Make the task table and the saved state match the engine after a step."""
    out = StepOutcome()
    ready = {t.task_uuid: t for t in engine.ready_user_tasks()}
    # Save the engine state first: its version check is where a concurrent step of the same
    # case loses (cleanly, to be retried) before it writes any task row of its own.
    state.state = engine.dump()
    state.next_timer_at = engine.next_timer_due()
    ctx.session.flush()
    for task in repo.open_tasks(ctx.session, application.id):
        if task.engine_task_id not in ready:
            task.status = "cancelled"
            out.cancelled.append(task)
        else:
            del ready[task.engine_task_id]
    ref = intake.case_ref(application, service)
    lanes = _lane_departments(ctx, service, engine) if ready else {}
    created_for: list[tuple[Task, ReadyTask]] = []
    for r in ready.values():
        task = _new_task(ctx, application, service, engine, r, lanes, now)
        ctx.session.add(task)
        out.created.append(task)
        created_for.append((task, r))
        if task.for_applicant:
            intake.count_return(ctx, application)
            eventlog.record(
                ctx,
                ref,
                NewEvent(
                    EventType.CASE_RETURNED,
                    RETURN_ACTIVITY,
                    "complete",
                    now,
                    resource="system",
                    activity_id=r.task_id,
                    attributes={"returns": application.returns},
                ),
            )
    if created_for:
        ctx.session.flush()  # task ids for the messages below
        codes = {v: k for k, v in _department_codes(ctx).items()}
        for task, r in created_for:
            integration.publish(
                ctx,
                "case.returned" if task.for_applicant else "task.created",
                {
                    **_case_payload(application, service),
                    "task_id": task.id,
                    "task": r.task_id,
                    "task_name": task.name,
                    "sla_due": task.sla_due.isoformat(),
                },
                department=codes.get(task.department_id) if task.department_id else None,
            )
    if engine.is_completed() and not state.completed:
        state.completed = True
        out.finished = True
        out.outcome = _outcome(ctx, application)
        intake.set_status(ctx, application, out.outcome)
        integration.publish(
            ctx, "case.decided", {**_case_payload(application, service), "outcome": out.outcome}
        )
        eventlog.record(
            ctx,
            ref,
            NewEvent(
                EventType.CASE_APPROVED if out.outcome == "approved" else EventType.CASE_REJECTED,
                DECIDED_ACTIVITY,
                "complete",
                now,
                resource="system",
                attributes={
                    "outcome": out.outcome,
                    "on_time": now.astimezone(ctx.calendar.zone).date() <= application.deadline,
                },
            ),
        )
    ctx.session.flush()
    return out


def _outcome(ctx: Ctx, application: Application) -> str:
    for task in repo.tasks_of_case(ctx.session, application.id):
        if task.status == "completed" and task.data.get("decision") == "reject":
            return "rejected"
    return "approved"


# --- state changes -------------------------------------------------------------------------


def start_case(ctx: Ctx, application: Application, service: ServiceItem) -> StepOutcome:
    """Start the engine on the process version the application was taken under."""
    compiled = catalog.compiled_process(ctx, application.process_definition_id)
    now = ctx.clock.now()
    data: dict[str, Any] = {
        **application.form_data,
        "applicant_kind": application.applicant.kind,
        "channel": application.channel,
        "materials_complete": True,
        "case_number": application.number,
    }
    engine = EngineCase.start(compiled, data, now)
    state = CaseState(
        application_id=application.id,
        process_definition_id=application.process_definition_id,
        state="",
        completed=False,
    )
    ctx.session.add(state)
    integration.publish(ctx, "case.started", _case_payload(application, service))
    return _sync(ctx, application, service, state, engine, now)


def get_task(ctx: Ctx, task_id: int) -> Task:
    task = repo.task(ctx.session, task_id)
    if task is None:
        raise NotFound(f"No task {task_id}", message_zh="任务不存在", code="task.unknown")
    return task


@dataclass(frozen=True)
class Actor:
    """Who works a task: a member of staff, or a department's own system acting for it."""

    username: str
    department_id: int
    department_code: str
    roles: frozenset[str]

    @classmethod
    def of(cls, who: Staff | Actor) -> Actor:
        if isinstance(who, Actor):
            return who
        return cls(who.username, who.department_id, who.department.code, frozenset(who.roles))


def _check_actor(task: Task, who: Staff | Actor) -> Actor:
    actor = Actor.of(who)
    if not actor.roles & {*STAFF_ROLES, "system"}:
        raise PermissionDenied(
            f"{actor.username} needs one of the roles {', '.join(STAFF_ROLES)}",
            message_zh=f"{actor.username} 没有办理任务的角色",
            code="permission.role_required",
        )
    if task.for_applicant:
        raise PermissionDenied(
            "This task is the applicant's: it is completed by handing in the missing materials",
            message_zh="该任务由申请人补正材料完成",
            code="task.for_applicant",
        )
    if task.department_id != actor.department_id:
        raise PermissionDenied(
            "This task belongs to another department",
            message_zh="该任务属于其他部门，无权办理",
            code="task.wrong_department",
        )
    if task.status not in repo.OPEN:
        raise Conflict(
            f"Task {task.id} is already {task.status}",
            message_zh=f"任务已{'办结' if task.status == 'completed' else '取消'}，不能重复办理",
            code="task.already_completed" if task.status == "completed" else "task.cancelled",
        )
    if task.status == "claimed" and task.claimed_by != actor.username:
        raise Conflict(
            f"Task {task.id} is claimed by {task.claimed_by}",
            message_zh=f"任务已被 {task.claimed_by} 认领",
            code="task.claimed_by_other",
        )
    return actor


def _restore(ctx: Ctx, state: CaseState) -> EngineCase:
    compiled = catalog.compiled_process(ctx, state.process_definition_id)
    return EngineCase.restore(compiled, state.state)


def _state_of(ctx: Ctx, application: Application) -> CaseState:
    state = repo.case_state(ctx.session, application.id)
    if state is None:
        raise NotFound("Case has no engine state", code="case.unknown")
    return state


def _case_of(ctx: Ctx, task: Task) -> tuple[Application, ServiceItem]:
    application = intake.get_application(ctx, task.application_id)
    return application, catalog.get_service_by_id(ctx, application.service_item_id)


def claim_task(ctx: Ctx, task_id: int, *, actor: Staff | Actor) -> Task:
    """Take a task into one's own hands (the activity's ``start`` in the event log)."""
    task = get_task(ctx, task_id)
    who = _check_actor(task, actor)
    if task.status == "ready":
        _claim(ctx, task, *_case_of(ctx, task), actor=who)
    return task


def _claim(
    ctx: Ctx, task: Task, application: Application, service: ServiceItem, *, actor: Actor
) -> None:
    now = ctx.clock.now()
    task.status, task.claimed_by, task.claimed_at = "claimed", actor.username, now
    eventlog.record(
        ctx,
        intake.case_ref(application, service),
        NewEvent(
            EventType.TASK_CLAIMED,
            task.name,
            "start",
            now,
            resource=actor.username,
            department=actor.department_code,
            activity_id=task.element_id,
        ),
    )


def _check_form(task: Task, data: dict[str, Any]) -> None:
    """The BPMN task's form: required fields present, enum values among the options."""
    problems: list[str] = []
    for f in task.form_fields:
        value = data.get(f["id"])
        if value in (None, ""):
            if f.get("required"):
                problems.append(f"{f['id']}: required")
        elif f.get("options") and value not in f["options"]:
            problems.append(f"{f['id']}: must be one of {', '.join(f['options'])}")
    if problems:
        raise ValidationFailed(
            "The task form has problems: " + "; ".join(problems),
            message_zh="办理表单有误：" + "；".join(problems),
            code="task.form_invalid",
            details={"problems": problems},
        )


def complete_task(
    ctx: Ctx, task_id: int, data: dict[str, Any], *, actor: Staff | Actor
) -> StepOutcome:
    """Complete one task as a member of its department; claims it first if nobody has.

    Raises:
        PermissionDenied: another department's task, or the applicant's.
        Conflict: already completed/cancelled, or claimed by someone else.
        ConcurrentUpdate: a parallel task of the case was completed at the same moment.
    """
    task = get_task(ctx, task_id)
    who = _check_actor(task, actor)
    decision = data.get("decision")
    if decision is not None and decision not in ("approve", "reject", "send_back"):
        raise ValidationFailed(
            "decision must be approve, reject or send_back",
            message_zh="审批结论只能是 approve（通过）、reject（不予许可）或 send_back（补正）",
            code="task.invalid_decision",
        )
    if decision == "send_back" and not task.can_send_back:
        raise Conflict(
            "This step cannot send the case back to the applicant",
            message_zh="该环节不能退回补正",
            code="task.cannot_send_back",
        )
    _check_form(task, data)
    application, service = _case_of(ctx, task)
    # Claim and completion of one task land in one UPDATE, not two.
    with ctx.session.no_autoflush:
        if task.status == "ready":
            _claim(ctx, task, application, service, actor=who)
        state = _state_of(ctx, application)
    return _complete(
        ctx,
        task,
        application,
        service,
        data,
        resource=who.username,
        department=who.department_code,
        state=state,
    )


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


def _complete(
    ctx: Ctx,
    task: Task,
    application: Application,
    service: ServiceItem,
    data: dict[str, Any],
    *,
    resource: str,
    department: str | None,
    state: CaseState | None = None,
) -> StepOutcome:
    state = state or _state_of(ctx, application)
    engine = _restore(ctx, state)
    now = ctx.clock.now()
    engine.complete(task.engine_task_id, data, now)
    task.status, task.completed_by, task.completed_at = "completed", resource, now
    task.data = {k: v for k, v in data.items() if isinstance(v, str | int | float | bool | list)}
    attributes: dict[str, Any] = {}
    if "decision" in data:
        attributes["decision"] = data["decision"]
        ledger.append(
            ctx,
            ledger.EntryKind.TASK_DECIDED,
            {
                "case": application.number,
                "service": service.code,
                "task_id": task.id,
                "task": task.element_id,
                "department": department,
                "decision": data["decision"],
            },
            actor=resource,
        )
    integration.publish(
        ctx,
        "task.completed",
        {
            **_case_payload(application, service),
            "task_id": task.id,
            "task": task.element_id,
            "decision": data.get("decision"),
        },
        department=department,
    )
    eventlog.record(
        ctx,
        intake.case_ref(application, service),
        NewEvent(
            EventType.TASK_COMPLETED,
            task.name,
            "complete",
            now,
            resource=resource,
            department=department,
            activity_id=task.element_id,
            attributes=attributes,
        ),
    )
    return _sync(ctx, application, service, state, engine, now)


def complete_applicant_task(
    ctx: Ctx, application: Application, data: dict[str, Any]
) -> StepOutcome:
    """The applicant's side of 补正: their open task is completed with what they handed in."""
    tasks = [t for t in repo.open_tasks(ctx.session, application.id) if t.for_applicant]
    if not tasks:
        raise Conflict(
            "Nothing is waiting for the applicant on this case",
            message_zh="该办件当前不需要补正",
            code="case.nothing_to_supplement",
        )
    application.status = "in_progress"
    return _complete(
        ctx,
        tasks[0],
        application,
        catalog.get_service_by_id(ctx, application.service_item_id),
        {"materials_complete": True, **data},
        resource=APPLICANT_RESOURCE,
        department=None,
    )


def fire_due_timers(ctx: Ctx, *, limit: int = 100) -> int:
    """Fire the engine timers that are due by the clock; returns how many fired."""
    now = ctx.clock.now()
    fired = 0
    for state in repo.cases_with_due_timers(ctx.session, now, limit):
        application = intake.get_application(ctx, state.application_id)
        service = catalog.get_service_by_id(ctx, application.service_item_id)
        engine = _restore(ctx, state)
        names = engine.fire_due_timers(now)
        ref = intake.case_ref(application, service)
        for name in names:
            eventlog.record(
                ctx, ref, NewEvent(EventType.TIMER_FIRED, name, "complete", now, resource="system")
            )
        fired += len(names)
        _sync(ctx, application, service, state, engine, now)
    return fired


def escalate_overdue_tasks(ctx: Ctx) -> list[Task]:
    """Mark open tasks past their SLA as escalated (督办), once each, with an event."""
    now = ctx.clock.now()
    out: list[Task] = []
    for task in repo.tasks_due_before(ctx.session, now, escalated=False):
        task.escalated = True
        application = intake.get_application(ctx, task.application_id)
        service = catalog.get_service_by_id(ctx, application.service_item_id)
        eventlog.record(
            ctx,
            intake.case_ref(application, service),
            NewEvent(
                EventType.TASK_ESCALATED,
                ESCALATED_ACTIVITY,
                "complete",
                now,
                resource="system",
                activity_id=task.element_id,
                attributes={"task": task.name, "sla_due": task.sla_due.isoformat()},
            ),
        )
        out.append(task)
    ctx.session.flush()
    return out


# --- queries -------------------------------------------------------------------------------


def queue(ctx: Ctx, actor: Staff | Actor, *, limit: int = 50, offset: int = 0) -> Sequence[Task]:
    """The actor's department's open tasks, most urgent SLA first."""
    return repo.queue(
        ctx.session, department_id=actor.department_id, limit=min(limit, 500), offset=offset
    )


def tasks_nearing_sla(ctx: Ctx, within: timedelta) -> Sequence[Task]:
    now = ctx.clock.now()
    return [t for t in repo.tasks_due_before(ctx.session, now + within) if t.sla_due >= now]


def overdue_tasks(ctx: Ctx) -> Sequence[Task]:
    return repo.tasks_due_before(ctx.session, ctx.clock.now())


def tasks_of_case(ctx: Ctx, application_id: int) -> Sequence[Task]:
    return repo.tasks_of_case(ctx.session, application_id)


def open_tasks(ctx: Ctx, application_id: int) -> Sequence[Task]:
    return repo.open_tasks(ctx.session, application_id)


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
) -> tuple[Sequence[tuple[Task, Application]], int]:
    """A department's open tasks with their applications (most urgent first) and the total."""
    return repo.queue_page(
        ctx.session,
        department_id=department_id,
        limit=min(max(limit, 1), 500),
        offset=max(offset, 0),
    )
