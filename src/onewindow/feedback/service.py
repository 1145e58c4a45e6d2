"""Feedback rules and state changes: ratings (好差评), complaints (12345 loop), surveys, board.

The rectification of a bad rating and the handling of a complaint run as BPMN processes
(``processes/*.bpmn``) on the platform's engine: the process versions are registered in the
catalogue like any other, and each case keeps its engine state here, saved with a version
column. Lanes route to departments by role: the *office* lanes (好差评办, 受理派单中心) to the
service centre, the *subject* lanes (被评部门, 承办部门) to the rated or handling department,
the *citizen* lanes (评价人, 市民) to the rater or caller. Deadlines are working days on the
platform's calendar, computed here and handed to the process as timer instants.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from importlib.resources import files
from typing import Any

from sqlalchemy.orm.attributes import flag_modified

from onewindow.catalog import service as catalog
from onewindow.catalog.models import Department, ServiceItem, Staff
from onewindow.eventlog import service as eventlog
from onewindow.eventlog.models import EventType
from onewindow.eventlog.schemas import NewEvent
from onewindow.feedback import classifier as clf
from onewindow.feedback import corpus, hotspots, topics
from onewindow.feedback import repository as repo
from onewindow.feedback.models import (
    ClassifierVersion,
    ImprovementItem,
    ImprovementSource,
    Invitation,
    Rating,
    Survey,
    SurveyResponse,
    Ticket,
    Visit,
    invitee_key,
)
from onewindow.feedback.schemas import (
    CaseRatingIn,
    ImprovementIn,
    ProgressIn,
    RatingIn,
    SurveyIn,
    TicketIn,
    VisitIn,
)
from onewindow.intake import service as intake
from onewindow.intake.models import Application
from onewindow.kit.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from onewindow.kit.platform import Ctx
from onewindow.workflow import service as workflow
from onewindow.workflow.models import Case, CaseKind, Task

# --- policy ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """Local rules (the national texts leave them to the city). Set per platform with
    ``configure``; running cases keep the deadlines they were given."""

    office_department: str = "CENTER"
    rectify_days: int = 5  # working days from a bad rating to rectification and answer
    appeal_days: int = 5  # working days the rater has to contest an exclusion
    handle_days: int = 5  # working days a department has to handle a ticket (DIGIT: 5)
    reopen_days: int = 3  # calendar days after closure in which a ticket may be reopened
    invitation_days: int = 15  # days an invitation to rate stays valid
    confidence_threshold: float = 0.6  # below: a dispatcher routes the ticket
    duplicate_days: int = 7
    duplicate_similarity: float = 0.6
    population: Mapping[str, int] = field(
        default_factory=lambda: {d: p for d, (p, _) in corpus.DISTRICTS.items()}
    )


def configure(shared: dict[Any, Any], policy: Policy) -> None:
    """Install a policy for a platform (``platform.shared``)."""
    shared["feedback_policy"] = policy


def policy(ctx: Ctx) -> Policy:
    found = ctx.shared.get("feedback_policy")
    return found if isinstance(found, Policy) else Policy()


# --- who acts -------------------------------------------------------------------------------

STAFF_ROLES = frozenset({"clerk", "reviewer", "head"})
LEVELS = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
INDICATORS = {
    "online": ("overall", "efficiency", "guide_accuracy", "convenience", "usability"),
    "onsite": ("overall", "efficiency", "competence", "attitude"),
}
INDICATOR_LABELS = {
    "overall": "整体满意度",
    "efficiency": "办事效率",
    "guide_accuracy": "办事指南精确度",
    "convenience": "办事便捷度",
    "usability": "平台操作性",
    "competence": "服务水平",
    "attitude": "服务态度",
}


@dataclass(frozen=True)
class Actor:
    """Who acts: a member of staff, or a citizen identified by a verified mobile number."""

    username: str
    roles: frozenset[str]
    department_id: int | None = None
    department_code: str | None = None
    phone: str | None = None

    @classmethod
    def of_staff(cls, staff: Staff) -> Actor:
        return cls(
            staff.username,
            frozenset(staff.roles),
            staff.department_id,
            staff.department.code,
        )

    @classmethod
    def citizen(cls, phone: str) -> Actor:
        return cls("citizen", frozenset({"applicant"}), phone=phone)

    @property
    def is_staff(self) -> bool:
        return self.phone is None


def _staff_actor(ctx: Ctx, username: str) -> Actor:
    return Actor.of_staff(catalog.get_staff(ctx, username))


# --- small helpers --------------------------------------------------------------------------


def _now(ctx: Ctx) -> datetime:
    return ctx.clock.now()


def _number(ctx: Ctx, prefix: str) -> str:
    day = _now(ctx).astimezone(ctx.calendar.zone)
    return f"{prefix}{day:%Y%m%d}{secrets.token_hex(4).upper()}"


def _department_by_code(ctx: Ctx, code: str) -> Department | None:
    codes: dict[str, int] | None = ctx.memo.get("feedback_departments")
    if codes is None:
        codes = ctx.memo["feedback_departments"] = {
            d.code: d.id for d in catalog.list_departments(ctx)
        }
    dept_id = codes.get(code)
    return ctx.session.get(Department, dept_id) if dept_id is not None else None


def _office(ctx: Ctx) -> Department:
    dept = _department_by_code(ctx, policy(ctx).office_department)
    if dept is None:
        raise NotFound(
            f"The feedback office department {policy(ctx).office_department} does not exist",
            message_zh="未配置好差评及工单受理的牵头部门",
            code="feedback.office_unknown",
        )
    return dept


def _department_code(ctx: Ctx, department_id: int | None) -> str | None:
    if department_id is None:
        return None
    dept = ctx.session.get(Department, department_id)
    return dept.code if dept else None


_PHONE = re.compile(r"^1[3-9]\d{9}$")


def _phone(value: str | None) -> str | None:
    if value is None or not value.strip():
        return None
    digits = re.sub(r"[\s-]", "", value)
    if digits.startswith("+86"):
        digits = digits[3:]
    if not _PHONE.match(digits):
        raise ValidationFailed(
            f"{value!r} is not a mainland mobile number",
            message_zh=f"手机号码 {value} 格式不正确",
            code="feedback.phone_invalid",
        )
    return digits


def _text(value: str, *, what_zh: str, required: bool = True) -> str:
    """User text kept as typed (trimmed), after the same checks the classifier needs."""
    if not value.strip() and not required:
        return ""
    clf.check_length(value)  # a comment or reply, unlike a ticket, has an upper limit
    clf.normalise(value)  # raises TextInvalid with a clear message
    return value.strip()


# --- masking for public pages (GB/T 35273-2020 §7.2) ----------------------------------------

_MASKS = (
    (re.compile(r"(?<!\d)(\d{6})\d{8}(\d{3}[\dXx])(?!\d)"), r"\1********\2"),  # citizen ID
    (re.compile(r"(?<!\d)(\d{6})\d{6,9}(\d{4})(?!\d)"), r"\1*********\2"),  # bank card
    (re.compile(r"(?<!\d)(1[3-9]\d)\d{4}(\d{4})(?!\d)"), r"\1****\2"),  # mobile
    (re.compile(r"(?<!\d)(0\d{3})\d{5,6}(\d{2})(?!\d)"), r"\1*****\2"),  # landline
    (re.compile(r"([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})"), r"\1****@\2"),
    (re.compile(r"(我叫|本人|我是|姓名[:：]?)([\u4e00-\u9fff])[\u4e00-\u9fff]{1,2}"), r"\1\2**"),
)


def mask_name(name: str | None) -> str:
    if not name:
        return ""
    return name[0] + "*" * min(max(len(name) - 1, 1), 8)


def mask_text(text: str, names: Iterable[str | None] = ()) -> str:
    """Free text with phone, ID, card and e-mail numbers and the given names masked."""
    out = text
    for name in names:
        if name and len(name) >= 2:
            out = out.replace(name, mask_name(name))
    for pattern, repl in _MASKS:
        out = pattern.sub(repl, out)
    return out


# --- the engine glue: feedback cases run on the platform's one case engine --------------------

PROCESS_FILES = {"rectification": "rectification.bpmn", "complaint": "complaint.bpmn"}
KINDS = frozenset({CaseKind.COMPLAINT, CaseKind.RECTIFICATION})
LANE_ROLES = {
    "好差评办": "office",
    "受理派单中心": "office",
    "被评部门": "subject",
    "承办部门": "subject",
    "评价人": "citizen",
    "市民": "citizen",
}
SUPERVISION_TASKS = frozenset({"Task_supervise"})
# Each step's deadline is an instant the process holds (working days counted here).
TASK_SLA: dict[str, int | str] = {
    "Task_rectify": "var:rectify_due",
    "Task_handle": "var:handle_due",
    "Task_rate": "var:rate_due",
    "Task_rater_appeal": "var:appeal_due",
}


def process_xml(kind: str) -> bytes:
    return files("onewindow.feedback").joinpath("processes", PROCESS_FILES[kind]).read_bytes()


def _process_id(ctx: Ctx, kind: str) -> int:
    key = ("feedback_process", kind)
    known: int | None = ctx.shared.get(key)
    if known is None or ctx.memo.get(key) is None:
        # register_process is idempotent (one version per distinct content); checked once
        # per transaction so a database reset under a long-lived platform is noticed.
        known = catalog.register_process(ctx, process_xml(kind), actor="system").id
        ctx.shared[key] = ctx.memo[key] = known
    return known


def _routes(ctx: Ctx) -> dict[str, str]:
    """Lanes by role: the office lanes to the centre, the subject lanes to the handling or
    rated department (the centre until one is known), the citizen lanes to the party."""
    office = policy(ctx).office_department
    to = {"office": f"dept:{office}", "subject": f"subject:{office}", "citizen": "party"}
    routes = {lane: to[role] for lane, role in LANE_ROLES.items()}
    routes["*"] = routes[""] = f"dept:{office}"
    return routes


def _due_variables(ctx: Ctx, now: datetime, rating: Rating | None) -> dict[str, str]:
    """Timer instants for whatever task comes next, counted from ``now``."""
    p = policy(ctx)
    cal = ctx.calendar
    out = {
        "handle_due": cal.deadline(now, p.handle_days).isoformat(),
        "appeal_due": cal.deadline(now, p.appeal_days).isoformat(),
        "rate_due": (now + timedelta(days=p.reopen_days)).isoformat(),
    }
    if rating is not None:
        # The rectification deadline runs from the bad rating, not from the latest step.
        out["rectify_due"] = cal.deadline(rating.created_at, p.rectify_days).isoformat()
    return out


def _event(
    ctx: Ctx,
    case: Case,
    event_type: EventType,
    activity: str,
    now: datetime,
    *,
    resource: str | None = "system",
    department: str | None = None,
    activity_id: str | None = None,
    attributes: dict[str, Any] | None = None,
) -> None:
    eventlog.record(
        ctx,
        workflow.case_ref(case),
        NewEvent(
            event_type,
            activity,
            "complete",
            now,
            resource=resource,
            department=department,
            activity_id=activity_id,
            attributes=attributes or {},
        ),
    )


def _start_case(
    ctx: Ctx,
    kind: str,
    data: dict[str, Any],
    *,
    department_id: int | None,
    channel: str,
    rating: Rating | None = None,
    ticket: Ticket | None = None,
) -> Case:
    now = _now(ctx)
    case, out = workflow.start(
        ctx,
        workflow.NewCase(
            kind=kind,
            number=_number(ctx, "ZG" if kind == CaseKind.RECTIFICATION else "GD"),
            process_definition_id=_process_id(ctx, kind),
            service_code=kind,
            channel=channel,
            data={**data, **_due_variables(ctx, now, rating)},
            routes=_routes(ctx),
            task_sla=TASK_SLA,
            subject_department_id=department_id,
            party_proxy_department_id=_office(ctx).id,
        ),
    )
    if rating is not None:
        rating.case_id = case.id
    if ticket is not None:
        ticket.case_id = case.id
    ctx.session.flush()
    _after_step(ctx, case, out)  # the subject was linked only now
    return case


def _before_complete(
    ctx: Ctx, case: Case, task: Task, data: dict[str, Any], actor: workflow.Actor
) -> dict[str, Any]:
    """The domain side of a step: what the subject (rating or ticket) records; returns the
    timer instants the next steps need."""
    now = _now(ctx)
    who = Actor(actor.username, actor.roles, actor.department_id, actor.department_code)
    if case.kind == CaseKind.COMPLAINT:
        ticket = _ticket_of(ctx, case)
        _complaint_step(ctx, case, ticket, task, data, who, now)
        return _due_variables(ctx, now, None)
    rating = _rating_of(ctx, case)
    _rectification_step(ctx, case, rating, task, data, who, now)
    return _due_variables(ctx, now, rating)


def _after_step(ctx: Ctx, case: Case, out: workflow.StepOutcome) -> None:
    """Keep the ticket's or rating's status in line with its case after any step."""
    if case.kind == CaseKind.COMPLAINT:
        ticket = repo.ticket_of_case(ctx.session, case.id)
        if ticket is None:
            return
        tasks = workflow.tasks_of_case(ctx, case.id)
        ticket.escalations = sum(t.escalated for t in tasks)
        if case.subject_department_id is not None:  # a head's 转办 moves the handling department
            ticket.department_id = case.subject_department_id
    elif repo.rating_of_case(ctx.session, case.id) is None:
        return
    main = [
        t.element_id
        for t in workflow.open_tasks(ctx, case.id)
        if t.element_id not in SUPERVISION_TASKS
    ]
    if case.kind == CaseKind.COMPLAINT:
        _complaint_status(ctx, case, main, _now(ctx))
    else:
        _rectification_status(ctx, case, main, _now(ctx))


def _ticket_of(ctx: Ctx, case: Case) -> Ticket:
    ticket = repo.ticket_of_case(ctx.session, case.id)
    if ticket is None:
        raise NotFound(f"No ticket for case {case.number}", code="ticket.unknown")
    return ticket


def _rating_of(ctx: Ctx, case: Case) -> Rating:
    rating = repo.rating_of_case(ctx.session, case.id)
    if rating is None:
        raise NotFound(f"No rating for case {case.number}", code="rating.unknown")
    return rating


workflow.register_hooks(CaseKind.COMPLAINT, workflow.CaseHooks(_before_complete, _after_step))
workflow.register_hooks(CaseKind.RECTIFICATION, workflow.CaseHooks(_before_complete, _after_step))


# --- tasks: who may complete them ------------------------------------------------------------


def get_task(ctx: Ctx, task_id: int) -> Task:
    """A task of a feedback case (404 for any other)."""
    task = repo_task(ctx, task_id)
    if task is None:
        raise NotFound(
            f"No feedback task {task_id}", message_zh="任务不存在", code="feedback.task_unknown"
        )
    return task


def repo_task(ctx: Ctx, task_id: int) -> Task | None:
    try:
        task = workflow.get_task(ctx, task_id)
    except NotFound:
        return None
    return task if workflow.get_case(ctx, task.case_id).kind in KINDS else None


def get_case(ctx: Ctx, case_id: int) -> Case:
    case = workflow.get_case(ctx, case_id)
    if case.kind not in KINDS:
        raise NotFound("No such feedback case", message_zh="案件不存在", code="feedback.unknown")
    return case


def _citizen_phone(ctx: Ctx, case: Case) -> str | None:
    if case.kind == CaseKind.COMPLAINT:
        ticket = repo.ticket_of_case(ctx.session, case.id)
        return ticket.contact_phone if ticket else None
    rating = repo.rating_of_case(ctx.session, case.id)
    return rating.rater_phone if rating else None


def complete_task(ctx: Ctx, task_id: int, data: dict[str, Any], *, actor: Actor) -> Task:
    """Complete one step of a rectification or complaint case.

    Staff work these tasks from their ordinary queue too (the engine calls this domain's
    hooks either way); a citizen answers only their own case's citizen steps.

    Raises:
        NotFound: no such task (or a citizen's task of someone else).
        PermissionDenied: another department's task.
        Conflict: already completed or cancelled.
        ValidationFailed: the step's form is incomplete or has a value out of its options.
    """
    task = get_task(ctx, task_id)
    case = workflow.get_case(ctx, task.case_id)
    if actor.phone is not None:
        if not task.for_applicant or actor.phone != _citizen_phone(ctx, case):
            raise NotFound(
                f"No feedback task {task.id}",
                message_zh="任务不存在",
                code="feedback.task_unknown",
            )
        who = workflow.Actor.as_party("citizen")
    else:
        who = workflow.Actor(
            actor.username, actor.department_id, actor.department_code, actor.roles
        )
    workflow.complete_task(ctx, task_id, data, actor=who)
    return task


def queue(ctx: Ctx, actor: Actor, *, limit: int = 100) -> list[dict[str, Any]]:
    """Open feedback tasks for the actor: their department's, or a citizen's own."""
    if actor.phone is not None:
        case_ids = [
            *(t.case_id for t in repo.tickets(ctx.session, contact_phone=actor.phone) if t.case_id),
            *(r.case_id for r in repo.ratings_of_phone(ctx.session, actor.phone) if r.case_id),
        ]
        rows = workflow.party_tasks(ctx, case_ids)[:limit]
    else:
        if actor.department_id is None:
            return []
        rows = workflow.open_tasks_of_kinds(
            ctx, sorted(KINDS), department_id=actor.department_id, limit=limit
        )
    return [task_view(ctx, t, workflow.get_case(ctx, t.case_id)) for t in rows]


def task_view(ctx: Ctx, task: Task, case: Case) -> dict[str, Any]:
    return {
        "id": task.id,
        "case": case.number,
        "kind": case.kind,
        "task": task.element_id,
        "name": task.name,
        "status": task.status,
        "department": _department_code(ctx, task.department_id),
        "for_citizen": task.for_applicant,
        "sla_due": task.sla_due.isoformat() if task.sla_due else None,
        "escalated": task.escalated,
        "form_fields": task.form_fields,
        "data": task.data,
    }


def case_history(ctx: Ctx, case: Case) -> list[dict[str, Any]]:
    return [
        {
            "activity": h.event.activity,
            "lifecycle": h.event.lifecycle,
            "event_type": h.event.event_type,
            "timestamp": h.event.timestamp.isoformat(),
            "resource": h.event.resource,
            "department": h.event.department,
            "attributes": h.event.attributes,
            "opinion": h.decision.opinion if h.decision else None,
        }
        for h in workflow.case_history(ctx, case)
    ]


# --- ratings (好差评) ------------------------------------------------------------------------


def get_rating_by_id(ctx: Ctx, rating_id: int | None) -> Rating:
    rating = repo.rating(ctx.session, rating_id) if rating_id else None
    if rating is None:
        raise NotFound("No such rating", message_zh="评价不存在", code="rating.unknown")
    return rating


def get_rating(ctx: Ctx, number: str) -> Rating:
    rating = repo.rating_by_number(ctx.session, number)
    if rating is None:
        raise NotFound(f"No rating {number}", message_zh="评价不存在", code="rating.unknown")
    return rating


def _new_invitation(
    ctx: Ctx, *, application: Application | None, visit: Visit | None, channels: list[str]
) -> Invitation:
    now = _now(ctx)
    invitation = Invitation(
        token=secrets.token_urlsafe(24),
        application_id=application.id if application else None,
        visit_id=visit.id if visit else None,
        channels=channels,
        created_at=now,
        expires_at=now + timedelta(days=policy(ctx).invitation_days),
    )
    repo.add(ctx.session, invitation)
    ctx.session.flush()
    return invitation


class InvitationSender:
    """Sends the rating link by SMS; replace with ``set_invitation_sender`` for a gateway."""

    sent: list[tuple[str, str]]

    def __init__(self) -> None:
        self.sent = []

    def send(self, phone: str, link: str) -> None:
        self.sent.append((phone[:3] + "****" + phone[-4:], link))


_sender = InvitationSender()


def set_invitation_sender(sender: Any) -> None:
    """Any object with ``send(phone, link)``; called inside the transaction that invites."""
    global _sender
    _sender = sender


def rating_link(token: str) -> str:
    return f"/rate/{token}"


def invite_for_case(ctx: Ctx, application: Application) -> Invitation:
    """一事一评: invite the applicant of a closed case (portal, and SMS when a phone is known)."""
    existing = repo.invitation_for_application(ctx.session, application.id)
    if existing is not None:
        return existing
    phone = application.applicant.phone
    invitation = _new_invitation(
        ctx, application=application, visit=None, channels=["portal", *(["sms"] if phone else [])]
    )
    if phone:
        _sender.send(phone, rating_link(invitation.token))
    return invitation


def invite_closed_cases(ctx: Ctx, *, limit: int = 200) -> int:
    """The job that invites every case closed since the last pass; returns how many."""
    rows = repo.closed_applications_without_invitation(ctx.session, limit)
    for application in rows:
        invite_for_case(ctx, application)
    return len(rows)


def start_visit(ctx: Ctx, data: VisitIn, *, actor: Actor) -> Visit:
    """A visitor sits down at a window (the hall's queue system or the clerk records it)."""
    if actor.department_id is None:
        raise PermissionDenied("Staff only", message_zh="仅限工作人员", code="permission.denied")
    service_id = catalog.get_service(ctx, data.service_code).id if data.service_code else None
    visit = Visit(
        number=_number(ctx, "XC"),
        service_item_id=service_id,
        department_id=actor.department_id,
        window=data.window.strip(),
        staff_username=actor.username,
        visitor_phone=_phone(data.visitor_phone),
        visitor_name=(data.visitor_name or "").strip() or None,
        started_at=_now(ctx),
    )
    repo.add(ctx.session, visit)
    ctx.session.flush()
    return visit


def get_visit(ctx: Ctx, number: str) -> Visit:
    visit = repo.visit_by_number(ctx.session, number)
    if visit is None:
        raise NotFound(f"No visit {number}", message_zh="现场办事记录不存在", code="visit.unknown")
    return visit


def end_visit(ctx: Ctx, number: str, *, actor: Actor) -> Invitation:
    """一次一评: the visit ends and the hall tablet / QR code (and SMS) invite a rating."""
    visit = get_visit(ctx, number)
    if visit.department_id != actor.department_id:
        raise NotFound(f"No visit {number}", message_zh="现场办事记录不存在", code="visit.unknown")
    if visit.ended_at is not None:
        existing = repo.invitation_for_visit(ctx.session, visit.id)
        if existing is not None:
            return existing
    visit.ended_at = _now(ctx)
    invitation = _new_invitation(
        ctx,
        application=None,
        visit=visit,
        channels=["tablet", "qr", *(["sms"] if visit.visitor_phone else [])],
    )
    if visit.visitor_phone:
        _sender.send(visit.visitor_phone, rating_link(invitation.token))
    return invitation


def get_invitation(ctx: Ctx, token: str) -> Invitation:
    invitation = repo.invitation_by_token(ctx.session, token)
    if invitation is None:
        raise NotFound(
            "This rating link is unknown",
            message_zh="评价链接无效",
            code="invitation.unknown",
        )
    return invitation


def invitation_view(ctx: Ctx, invitation: Invitation) -> dict[str, Any]:
    """What the rating page shows: the service, who served (masked), the indicators."""
    service: ServiceItem | None
    if invitation.application_id:
        application = intake.get_application(ctx, invitation.application_id)
        service = catalog.get_service_by_id(ctx, application.service_item_id)
        channel, subject = "online", application.number
    else:
        visit = ctx.session.get(Visit, invitation.visit_id)
        assert visit is not None
        service = (
            catalog.get_service_by_id(ctx, visit.service_item_id) if visit.service_item_id else None
        )
        channel, subject = "onsite", visit.number
    return {
        "subject": subject,
        "channel": channel,
        "service_zh": service.name_zh if service else "现场咨询",
        "service_en": service.name_en if service else "Enquiry at the hall",
        "indicators": [{"id": i, "label": INDICATOR_LABELS[i]} for i in INDICATORS[channel]],
        "levels": [{"level": k, "label": v} for k, v in LEVELS.items()],
        "used": invitation.used_at is not None,
        "expired": invitation.expires_at <= _now(ctx),
    }


def _served_by(ctx: Ctx, application: Application) -> tuple[int | None, str | None]:
    """(department id, staff username) of the last member of staff who worked the case."""
    for task in reversed(workflow.tasks_of_case(ctx, application.id)):
        if task.status == "completed" and task.department_id is not None:
            return task.department_id, task.completed_by
    return None, None


def _check_rating(channel: str, data: RatingIn) -> tuple[dict[str, int], str]:
    allowed = INDICATORS[channel]
    problems: list[str] = []
    indicators: dict[str, int] = {}
    for key, value in data.indicators.items():
        if key not in allowed:
            problems.append(f"{key}: not an indicator of {channel} ratings ({', '.join(allowed)})")
        elif not isinstance(value, int) or not 1 <= value <= 5:
            problems.append(f"{key}: must be 1 to 5")
        else:
            indicators[key] = value
    indicators.setdefault("overall", data.level)
    if problems:
        raise ValidationFailed(
            "The rating has problems: " + "; ".join(problems),
            message_zh="评价内容有误：" + "；".join(problems),
            code="rating.invalid",
            details={"problems": problems},
        )
    if data.level <= 2 and not data.comment.strip():
        raise ValidationFailed(
            "A bad rating needs a reason so that it can be verified and put right",
            message_zh="差评请说明原因，以便核实整改",
            code="rating.reason_required",
        )
    comment = _text(data.comment, what_zh="评价内容", required=False)
    return indicators, comment


def rate_case(ctx: Ctx, data: CaseRatingIn, *, actor: Actor) -> Rating:
    """A signed-in applicant rates their own closed case, or a visit made under their number.

    Raises:
        NotFound: the case or visit is unknown or not the caller's.
        Conflict: already rated, or the case is still running.
    """
    if actor.phone is None:
        raise PermissionDenied(
            "Ratings are given by the applicant, not by staff",
            message_zh="评价须由办事人本人作出，工作人员不能代评",
            code="rating.staff_may_not_rate",
        )
    if bool(data.case_number) == bool(data.visit_number):
        raise ValidationFailed(
            "Name either the case or the visit you rate",
            message_zh="请指明评价的办件编号或现场办事编号（二选一）",
            code="rating.subject_required",
        )
    if data.case_number:
        try:
            application = intake.get_application_by_number(ctx, data.case_number)
        except NotFound:
            application = None
        if application is None or application.applicant.phone != actor.phone:
            raise NotFound(
                f"No case {data.case_number} of yours",
                message_zh=f"没有找到您名下的办件 {data.case_number}",
                code="rating.case_unknown",
            )
        return _rate(ctx, data, application=application, visit=None, phone=actor.phone)
    visit = repo.visit_by_number(ctx.session, data.visit_number or "")
    if visit is None or visit.visitor_phone != actor.phone:
        raise NotFound(
            f"No visit {data.visit_number} of yours",
            message_zh=f"没有找到您的现场办事记录 {data.visit_number}",
            code="rating.visit_unknown",
        )
    return _rate(ctx, data, application=None, visit=visit, phone=actor.phone)


def rate_by_invitation(ctx: Ctx, token: str, data: RatingIn) -> Rating:
    """Rate through an invitation (SMS link, hall tablet, QR code): the token is the proof."""
    invitation = get_invitation(ctx, token)
    if invitation.expires_at <= _now(ctx):
        raise Conflict(
            "This rating link has expired",
            message_zh="评价链接已过期",
            code="invitation.expired",
        )
    if invitation.application_id:
        application = intake.get_application(ctx, invitation.application_id)
        rating = _rate(
            ctx, data, application=application, visit=None, phone=application.applicant.phone
        )
    else:
        visit = ctx.session.get(Visit, invitation.visit_id)
        assert visit is not None
        rating = _rate(ctx, data, application=None, visit=visit, phone=visit.visitor_phone)
    invitation.used_at = _now(ctx)
    return rating


def _rate(
    ctx: Ctx,
    data: RatingIn,
    *,
    application: Application | None,
    visit: Visit | None,
    phone: str | None,
) -> Rating:
    now = _now(ctx)
    if application is not None:
        if application.closed_at is None:
            raise Conflict(
                f"Case {application.number} is still being handled; rate it once it is closed",
                message_zh=f"办件 {application.number} 尚未办结，办结后可以评价",
                code="rating.case_open",
            )
        if repo.rating_for_application(ctx.session, application.id) is not None:
            raise Conflict(
                f"Case {application.number} has already been rated (one rating per case)",
                message_zh=f"办件 {application.number} 已评价（一事一评），不能重复评价",
                code="rating.already_rated",
            )
        channel = "online"
        department_id, staff = _served_by(ctx, application)
        service_id: int | None = application.service_item_id
        window: str | None = None if application.channel == "online" else application.channel
    else:
        assert visit is not None
        if visit.ended_at is None:
            raise Conflict(
                "The visit has not ended yet",
                message_zh="本次现场办事尚未结束，结束后可以评价",
                code="rating.visit_open",
            )
        if repo.rating_for_visit(ctx.session, visit.id) is not None:
            raise Conflict(
                f"Visit {visit.number} has already been rated (one rating per visit)",
                message_zh="本次现场办事已评价（一次一评），不能重复评价",
                code="rating.already_rated",
            )
        channel = "onsite"
        department_id, staff = visit.department_id, visit.staff_username
        service_id, window = visit.service_item_id, visit.window
    indicators, comment = _check_rating(channel, data)
    rating = Rating(
        number=_number(ctx, "PJ"),
        application_id=application.id if application else None,
        visit_id=visit.id if visit else None,
        channel=channel,
        level=data.level,
        indicators=indicators,
        comment=comment,
        service_item_id=service_id,
        department_id=department_id,
        window=window,
        staff_username=staff,
        rater_phone=None if data.anonymous else phone,
        real_name=bool(phone) and not data.anonymous,
        created_at=now,
        status="counted",
    )
    repo.add(ctx.session, rating)
    ctx.session.flush()
    if rating.level <= 2:
        _start_case(
            ctx,
            CaseKind.RECTIFICATION,
            {"real_name": rating.real_name, "level": rating.level},
            department_id=department_id or _office(ctx).id,
            channel=channel,
            rating=rating,
        )
    return rating


def _rectification_step(
    ctx: Ctx,
    case: Case,
    rating: Rating,
    task: Task,
    data: dict[str, Any],
    actor: Actor,
    now: datetime,
) -> None:
    if task.element_id == "Task_verify" and data.get("verdict") != "genuine":
        rating.excluded_reason = str(data.get("verdict"))
    elif task.element_id == "Task_review":
        if data.get("review") == "excluded":
            rating.status = "excluded"
            _event(
                ctx,
                case,
                EventType.RATING_EXCLUDED,
                "差评排除",
                now,
                resource=actor.username,
                attributes={"reason": rating.excluded_reason},
            )
        else:
            rating.excluded_reason = None
    elif task.element_id == "Task_appeal_review" and data.get("appeal_review") == "reinstated":
        rating.status, rating.excluded_reason = "counted", None
        _event(ctx, case, EventType.RATING_REINSTATED, "差评恢复", now, resource=actor.username)
    elif task.element_id == "Task_rectify":
        rating.rectified = True


def answer_appeal(ctx: Ctx, rating: Rating, data: dict[str, Any], *, actor: Actor) -> Rating:
    """申诉: the rater contests (``appeal``) or accepts the exclusion of their bad rating.

    Raises:
        Conflict: nothing waits for the rater (no exclusion, or the appeal window passed).
    """
    case = workflow.get_case(ctx, rating.case_id) if rating.case_id else None
    waiting = [
        t
        for t in (workflow.open_tasks(ctx, case.id) if case else [])
        if t.element_id == "Task_rater_appeal"
    ]
    if not waiting:
        raise Conflict(
            "Nothing is waiting for the rater on this rating (no exclusion, or too late)",
            message_zh="该评价当前无需申诉（未被排除，或已超过申诉期限）",
            code="rating.nothing_to_appeal",
        )
    complete_task(ctx, waiting[0].id, data, actor=actor)
    return rating


MAX_CONFIRMATION_CHARS = 2000
CITIZEN_RESOURCE = "citizen"  # the rater, in the log and on the tasks they answer
# What the rater may read of their rectification (国办发〔2019〕51号: the answer and the
# measures go back to the rater); review, supervision and call-back notes stay internal.
_FOR_RATER = {"Task_verify": "finding", "Task_rectify": "measures", "Task_answer": "answer"}


def rectification_answer(ctx: Ctx, rating: Rating) -> dict[str, Any] | None:
    """The department's answer as the rater sees it, once the 答复 step is done: what was
    found, the measures, the answer, when and by which department (never by whom); and the
    回访 — whether it waits for the rater, and its outcome once done (the comment only when
    the rater wrote it themself). None before the answer."""
    if rating.case_id is None:
        return None
    done: dict[str, Task] = {}
    callback: Task | None = None
    for t in workflow.tasks_of_case(ctx, rating.case_id):
        if t.element_id == "Task_callback":
            callback = t
        elif t.status == "completed" and t.element_id in _FOR_RATER:
            done[t.element_id] = t  # the latest completion of a step wins
    answer = done.get("Task_answer")
    if answer is None:
        return None
    dept = ctx.session.get(Department, answer.department_id) if answer.department_id else None
    out: dict[str, Any] = {
        key: mask_text(str(done[element].data.get(key, "")))
        for element, key in _FOR_RATER.items()
        if element in done and done[element].data.get(key)
    }
    by_rater = callback is not None and callback.completed_by == CITIZEN_RESOURCE
    out |= {
        "answered_at": answer.completed_at,
        "department_zh": dept.name_zh if dept else "",
        "department_en": dept.name_en if dept else "",
        "confirm": callback is not None
        and callback.status in ("ready", "claimed")
        and rating.rater_phone is not None,
        "callback": str(callback.data.get("callback", ""))
        if callback is not None and callback.status == "completed"
        else None,
        "callback_at": callback.completed_at if callback is not None else None,
        "by_rater": by_rater,
        "rater_comment": str(callback.data.get("comment", "")) if callback and by_rater else "",
    }
    return out


def confirm_rectification(
    ctx: Ctx, rating: Rating, satisfied: bool, comment: str, *, actor: Actor
) -> Rating:
    """回访 answered by the rater online: satisfied with the rectification or not, with a
    comment (required when not satisfied). It completes the case's 回访 step for the centre,
    so nobody phones them afterwards, and writes ``rectification_confirmed`` to the log.

    Raises:
        NotFound: not the rater's own rating.
        Conflict: nothing waits for the rater (answered already, called back, or anonymous).
        ValidationFailed: no comment when not satisfied, or one too long.
    """
    if actor.phone is None or rating.rater_phone != actor.phone or rating.case_id is None:
        raise NotFound("No such rating", message_zh="评价不存在", code="rating.unknown")
    case = workflow.get_case(ctx, rating.case_id)
    waiting = [t for t in workflow.open_tasks(ctx, case.id) if t.element_id == "Task_callback"]
    if not waiting:
        answered = any(
            t.element_id == "Task_callback" and t.completed_by == CITIZEN_RESOURCE
            for t in workflow.tasks_of_case(ctx, case.id)
        )
        raise Conflict(
            "You have already said whether the rectification satisfies you"
            if answered
            else "Nothing is waiting for your confirmation on this rating",
            message_zh="您已确认过整改结果，不能重复提交"
            if answered
            else "该评价当前无需您确认整改结果",
            code="rating.already_confirmed" if answered else "rating.nothing_to_confirm",
        )
    if not satisfied and not comment.strip():
        raise ValidationFailed(
            "Tell us what is still wrong",
            message_zh="不满意时请说明原因",
            code="rating.confirmation_reason_required",
        )
    clf.check_length(comment, MAX_CONFIRMATION_CHARS)
    text = _text(comment, what_zh="意见", required=False)
    task = waiting[0]
    # The platform records the rater's own answer on the centre's step; the resource is the
    # rater, never a member of staff.
    dept_code = _department_code(ctx, task.department_id)
    who = workflow.Actor(CITIZEN_RESOURCE, task.department_id, dept_code, frozenset({"system"}))
    outcome = "satisfied" if satisfied else "unsatisfied"
    workflow.complete_task(
        ctx, task.id, {"callback": outcome, **({"comment": text} if text else {})}, actor=who
    )
    _event(
        ctx,
        case,
        EventType.RECTIFICATION_CONFIRMED,
        "评价人确认整改",
        _now(ctx),
        resource=CITIZEN_RESOURCE,
        department=dept_code,
        attributes={"callback": outcome, "channel": "portal"},
    )
    return rating


def rating_of_application(ctx: Ctx, application_id: int) -> Rating | None:
    """The 一事一评 rating of a case, if it has been rated (one per case)."""
    return repo.rating_for_application(ctx.session, application_id)


def rectify_due(ctx: Ctx, rating: Rating) -> datetime:
    """When a bad rating's rectification and answer are due (working days from the rating)."""
    return ctx.calendar.deadline(rating.created_at, policy(ctx).rectify_days)


def appeal_due(ctx: Ctx, rating: Rating) -> datetime | None:
    """Until when the rater may contest the exclusion of their bad rating; None when nothing
    waits for them."""
    if rating.case_id is None:
        return None
    waiting = [
        t for t in workflow.open_tasks(ctx, rating.case_id) if t.element_id == "Task_rater_appeal"
    ]
    return waiting[0].sla_due if waiting else None


def recent_ratings(ctx: Ctx, *, limit: int = 100) -> Sequence[Rating]:
    return repo.ratings(ctx.session, limit=min(max(limit, 1), 500))


def _rectification_status(ctx: Ctx, case: Case, main: list[str], now: datetime) -> None:
    if main:
        return
    rating = _rating_of(ctx, case)
    case.outcome = "excluded" if rating.status == "excluded" else "rectified"


def rating_view(ctx: Ctx, rating: Rating, *, masked: bool = True) -> dict[str, Any]:
    case = workflow.get_case(ctx, rating.case_id) if rating.case_id else None
    return {
        "number": rating.number,
        "channel": rating.channel,
        "level": rating.level,
        "level_label": LEVELS[rating.level],
        "indicators": rating.indicators,
        "comment": mask_text(rating.comment) if masked else rating.comment,
        "service": _service_code(ctx, rating.service_item_id),
        "department": _department_code(ctx, rating.department_id),
        "window": rating.window,
        "staff": rating.staff_username,
        "real_name": rating.real_name,
        "status": rating.status,
        "excluded_reason": rating.excluded_reason,
        "rectified": rating.rectified,
        "created_at": rating.created_at.isoformat(),
        "case": case.number if case else None,
        "case_outcome": case.outcome if case else None,
    }


def _service_code(ctx: Ctx, service_item_id: int | None) -> str | None:
    if service_item_id is None:
        return None
    return catalog.get_service_by_id(ctx, service_item_id).code


def rating_stats(
    ctx: Ctx, by: str = "service", *, since: datetime | None = None
) -> list[dict[str, Any]]:
    """Satisfaction and rectification per service, department, window or staff member.

    satisfaction_rate: share of counted ratings at 3 or above (非常满意+满意+基本满意);
    rectification_rate: share of counted bad ratings already rectified. Excluded ratings
    (mistaken or malicious after review) count in neither.
    """
    keys = {"service", "department", "window", "staff"}
    if by not in keys:
        raise ValidationFailed(
            f"by must be one of {', '.join(sorted(keys))}",
            message_zh="统计维度只能是 service、department、window 或 staff",
            code="rating.stats_dimension",
        )
    groups: dict[str | None, list[Rating]] = defaultdict(list)
    for r in repo.ratings(ctx.session, since=since):
        if by == "service":
            key = _service_code(ctx, r.service_item_id)
        elif by == "department":
            key = _department_code(ctx, r.department_id)
        elif by == "window":
            key = r.window or "online"
        else:
            key = r.staff_username
        groups[key].append(r)
    out: list[dict[str, Any]] = []
    for key, rows in groups.items():
        counted = [r for r in rows if r.status == "counted"]
        bad = [r for r in counted if r.level <= 2]
        out.append(
            {
                by: key,
                "ratings": len(rows),
                "counted": len(counted),
                "excluded": len(rows) - len(counted),
                "mean_level": round(sum(r.level for r in counted) / len(counted), 3)
                if counted
                else None,
                "satisfaction_rate": round(
                    sum(1 for r in counted if r.level >= 3) / len(counted), 4
                )
                if counted
                else None,
                "bad": len(bad),
                "rectified": sum(1 for r in bad if r.rectified),
                "rectification_rate": round(sum(1 for r in bad if r.rectified) / len(bad), 4)
                if bad
                else None,
            }
        )
    out.sort(key=lambda row: (-row["ratings"], str(row[by])))
    return out


# --- complaints (12345 loop) ----------------------------------------------------------------


def get_ticket_by_id(ctx: Ctx, ticket_id: int | None) -> Ticket:
    ticket = repo.ticket(ctx.session, ticket_id) if ticket_id else None
    if ticket is None:
        raise NotFound("No such ticket", message_zh="工单不存在", code="ticket.unknown")
    return ticket


def get_ticket(ctx: Ctx, number: str) -> Ticket:
    ticket = repo.ticket_by_number(ctx.session, number)
    if ticket is None:
        raise NotFound(
            f"No ticket {number}", message_zh=f"工单 {number} 不存在", code="ticket.unknown"
        )
    return ticket


def visible_ticket(ctx: Ctx, number: str, actor: Actor) -> Ticket:
    """The ticket, or 404 when it does not exist or the caller may not see it."""
    ticket = repo.ticket_by_number(ctx.session, number)
    if ticket is not None:
        if actor.phone is not None:
            ok = ticket.contact_phone == actor.phone
        elif actor.roles & {"clerk", "analyst", "auditor", "admin", "head"} or (
            actor.department_id == _office(ctx).id
        ):
            ok = True
        else:
            ok = ticket.department_id == actor.department_id
        if ok:
            return ticket
    raise NotFound(f"No ticket {number}", message_zh=f"工单 {number} 不存在", code="ticket.unknown")


def classifier(ctx: Ctx) -> clf.Classifier:
    """The platform's current model: the last retraining, else the starter model."""
    found = ctx.shared.get("feedback_classifier")
    return found if isinstance(found, clf.Classifier) else clf.starter()


def classify(ctx: Ctx, texts: Sequence[str]) -> list[dict[str, Any]]:
    """Category, department and confidence for each text (a bad text gets its error)."""
    model = classifier(ctx)
    out: list[dict[str, Any]] = []
    for text in texts:
        try:
            category, confidence = model.predict([clf.normalise(text)])[0]
        except clf.TextInvalid as exc:
            out.append({"error": exc.code, "message": exc.message, "message_zh": exc.message_zh})
            continue
        out.append(_category_view(category, confidence, policy(ctx).confidence_threshold))
    return out


def _category_view(category: str, confidence: float, threshold: float) -> dict[str, Any]:
    zh, en, dept = corpus.CATEGORIES.get(category, (category, category, ""))
    return {
        "category": category,
        "category_zh": zh,
        "category_en": en,
        "department": dept,
        "confidence": confidence,
        "auto_dispatch": confidence >= threshold,
    }


def _bigrams(text: str) -> set[str]:
    chars = [c for c in text if "\u4e00" <= c <= "\u9fff" or c.isalnum()]
    return {a + b for a, b in zip(chars, chars[1:], strict=False)}


def similarity(a: str, b: str) -> float:
    """Dice similarity of the character bigrams of two normalised texts (0..1)."""
    x, y = _bigrams(a), _bigrams(b)
    return 2 * len(x & y) / (len(x) + len(y)) if x and y else 0.0


def _likely_duplicate(
    ctx: Ctx,
    normalised: str,
    category: str,
    district: str | None,
    street: str | None,
    now: datetime,
) -> Ticket | None:
    """A similar ticket of the same category from the same place within the last days."""
    if not district:
        return None
    p = policy(ctx)
    best: tuple[float, Ticket] | None = None
    for other in repo.recent_tickets_near(
        ctx.session, district, now - timedelta(days=p.duplicate_days), now
    ):
        if other.category != category or (street and other.street and other.street != street):
            continue
        score = similarity(normalised, other.normalised)
        if score >= p.duplicate_similarity and (best is None or score > best[0]):
            best = (score, other)
    if best is None:
        return None
    found = best[1]
    while found.duplicate_of_id is not None:  # link to the first of the chain
        found = get_ticket_by_id(ctx, found.duplicate_of_id)
    return found


def submit_ticket(ctx: Ctx, data: TicketIn, *, actor: Actor) -> Ticket:
    """受理: record a complaint or suggestion, classify and route it, start its process.

    A citizen's own submission (portal) waits for acceptance by the centre; one entered by
    an operator (hotline) or at a window is accepted as it is entered.
    """
    normalised = clf.normalise(data.text)
    now = _now(ctx)
    phone: str | None
    if actor.phone is not None:
        channel, phone, accepted = "portal", actor.phone, False
    else:
        if data.channel not in ("hotline", "window"):
            raise ValidationFailed(
                "Staff enter tickets taken on the hotline or at a window",
                message_zh="工作人员录入的工单渠道须为 hotline（热线）或 window（窗口）",
                code="ticket.channel_invalid",
            )
        channel, phone, accepted = data.channel, _phone(data.contact_phone), True
    category, confidence = classifier(ctx).predict([normalised])[0]
    view = _category_view(category, confidence, policy(ctx).confidence_threshold)
    dept = _department_by_code(ctx, view["department"])
    auto = bool(view["auto_dispatch"] and dept is not None)
    duplicate = _likely_duplicate(ctx, normalised, category, data.district, data.street, now)
    ticket = Ticket(
        number=_number(ctx, "T"),
        kind=data.kind,
        channel=channel,
        text=data.text.strip(),
        normalised=normalised,
        category=category,
        confidence=confidence,
        category_source="model",
        department_id=dept.id if auto and dept else None,
        district=(data.district or "").strip() or None,
        street=(data.street or "").strip() or None,
        latitude=data.latitude,
        longitude=data.longitude,
        contact_name=(data.contact_name or "").strip() or None,
        contact_phone=phone,
        status="pending_acceptance",
        created_at=now,
        created_by=actor.username if actor.is_staff else "citizen",
        duplicate_of_id=duplicate.id if duplicate else None,
    )
    repo.add(ctx.session, ticket)
    ctx.session.flush()
    _start_case(
        ctx,
        CaseKind.COMPLAINT,
        {
            "accepted": accepted,
            "auto_dispatch": auto,
            "category": category,
            "confidence": confidence,
            "channel": channel,
        },
        department_id=ticket.department_id,
        channel=channel,
        ticket=ticket,
    )
    return ticket


def _complaint_step(
    ctx: Ctx,
    case: Case,
    ticket: Ticket,
    task: Task,
    data: dict[str, Any],
    actor: Actor,
    now: datetime,
) -> None:
    element = task.element_id
    if element == "Task_accept":
        if data["accept"] != "accept":
            ticket.outcome = "not_accepted" if data["accept"] == "reject" else "duplicate"
    elif element == "Task_dispatch":
        category = str(data["category"])
        if category not in corpus.CATEGORIES:
            raise ValidationFailed(
                f"Unknown category {category!r}",
                message_zh=f"问题分类 {category} 不存在",
                code="ticket.category_unknown",
                details={"categories": list(corpus.CATEGORIES)},
            )
        dept = _department_by_code(ctx, str(data["department"]))
        if dept is None:
            raise ValidationFailed(
                f"Unknown department {data['department']!r}",
                message_zh=f"部门 {data['department']} 不存在",
                code="department.unknown",
            )
        if category != ticket.category or ticket.category_source != "dispatcher":
            _event(
                ctx,
                case,
                EventType.TICKET_RECLASSIFIED,
                "人工分类",
                now,
                resource=actor.username,
                attributes={
                    "from": ticket.category,
                    "to": category,
                    "confidence": ticket.confidence,
                },
            )
        ticket.category, ticket.category_source = category, "dispatcher"
        ticket.department_id = case.subject_department_id = dept.id
    elif element == "Task_handle":
        if data["decision"] in ("resolve", "reject"):
            if not str(data.get("reply", "")).strip():
                raise ValidationFailed(
                    "Write the reply to the citizen",
                    message_zh="请填写答复市民的内容",
                    code="ticket.reply_required",
                )
            _text(str(data["reply"]), what_zh="答复内容")
            ticket.reply = str(data["reply"])
            ticket.outcome = "resolved" if data["decision"] == "resolve" else "rejected"
    elif element == "Task_rate":
        if data.get("satisfaction") is not None and not 1 <= int(data["satisfaction"]) <= 5:
            raise ValidationFailed(
                "satisfaction must be 1 to 5",
                message_zh="满意度须为 1 至 5",
                code="ticket.satisfaction_invalid",
            )
        if data.get("satisfaction") is not None:
            ticket.satisfaction = int(data["satisfaction"])
        if data["action"] == "reopen":
            ticket.reopened += 1
            ticket.closed_at = None
            _event(
                ctx,
                case,
                EventType.TICKET_REOPENED,
                "重新办理",
                now,
                resource=actor.username,
                attributes={"reopened": ticket.reopened},
            )


_STATUS_OF_TASK = (
    ("Task_accept", "pending_acceptance"),
    ("Task_dispatch", "pending_assignment"),
    ("Task_handle", "pending_at_department"),
    ("Task_close", "pending_closure"),
    ("Task_rate", "resolved"),
)


def _complaint_status(ctx: Ctx, case: Case, main: list[str], now: datetime) -> None:
    ticket = _ticket_of(ctx, case)
    for element, status in _STATUS_OF_TASK:
        if element in main:
            ticket.status = status
            if status == "pending_at_department":
                handle = [
                    t for t in workflow.open_tasks(ctx, case.id) if t.element_id == "Task_handle"
                ]
                ticket.handle_due = handle[0].sla_due if handle else None
            return
    if ticket.status in ("closed", "not_accepted"):
        return
    if ticket.outcome in ("not_accepted", "duplicate") and ticket.reply is None:
        ticket.status, case.outcome = "not_accepted", ticket.outcome
    else:
        ticket.status, case.outcome = "closed", ticket.outcome or "resolved"
    ticket.closed_at = now
    _event(
        ctx,
        case,
        EventType.TICKET_CLOSED,
        "办结",
        now,
        attributes={"status": ticket.status, "outcome": ticket.outcome},
    )


def answer_as_citizen(
    ctx: Ctx, number: str, action: str, satisfaction: int | None, comment: str, *, actor: Actor
) -> Ticket:
    """The citizen (or the centre on a call-back) confirms the closure or reopens it.

    Raises:
        Conflict: nothing is waiting for the citizen (e.g. the reopening window has passed).
    """
    ticket = visible_ticket(ctx, number, actor)
    case = workflow.get_case(ctx, ticket.case_id) if ticket.case_id else None
    waiting = [
        t
        for t in (workflow.open_tasks(ctx, case.id) if case else [])
        if t.element_id == "Task_rate"
    ]
    if not waiting:
        raise Conflict(
            "Nothing is waiting for the citizen on this ticket"
            + (" (the time to reopen it has passed)" if ticket.status == "closed" else ""),
            message_zh="该工单当前无需市民评价"
            + ("（已超过可申请重新办理的期限）" if ticket.status == "closed" else ""),
            code="ticket.nothing_to_answer",
        )
    data: dict[str, Any] = {"action": action, "comment": comment}
    if satisfaction is not None:
        data["satisfaction"] = satisfaction
    complete_task(ctx, waiting[0].id, data, actor=actor)
    return ticket


def ticket_view(ctx: Ctx, ticket: Ticket, *, masked: bool = False) -> dict[str, Any]:
    case = workflow.get_case(ctx, ticket.case_id) if ticket.case_id else None
    zh, en, _ = corpus.CATEGORIES.get(ticket.category, (ticket.category, ticket.category, ""))
    duplicate = repo.ticket(ctx.session, ticket.duplicate_of_id) if ticket.duplicate_of_id else None
    names = [ticket.contact_name]
    return {
        "number": ticket.number,
        "kind": ticket.kind,
        "channel": ticket.channel,
        "text": mask_text(ticket.text, names) if masked else ticket.text,
        "category": ticket.category,
        "category_zh": zh,
        "category_en": en,
        "confidence": ticket.confidence,
        "category_source": ticket.category_source,
        "department": _department_code(ctx, ticket.department_id),
        "district": ticket.district,
        "street": ticket.street,
        "latitude": None if masked else ticket.latitude,
        "longitude": None if masked else ticket.longitude,
        "contact_name": mask_name(ticket.contact_name) if masked else ticket.contact_name,
        "contact_phone": (
            (ticket.contact_phone[:3] + "****" + ticket.contact_phone[-4:])
            if masked and ticket.contact_phone
            else ticket.contact_phone
        ),
        "status": ticket.status,
        "outcome": ticket.outcome,
        "reply": ticket.reply,
        "satisfaction": ticket.satisfaction,
        "reopened": ticket.reopened,
        "escalations": ticket.escalations,
        "duplicate_of": duplicate.number if duplicate else None,
        "created_at": ticket.created_at.isoformat(),
        "handle_due": ticket.handle_due.isoformat() if ticket.handle_due else None,
        "closed_at": ticket.closed_at.isoformat() if ticket.closed_at else None,
        "case": case.number if case else None,
        "tasks": [task_view(ctx, t, case) for t in workflow.tasks_of_case(ctx, case.id)]
        if case and not masked
        else [],
        "history": case_history(ctx, case) if case and not masked else [],
    }


def list_tickets(
    ctx: Ctx, actor: Actor, *, status: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    if actor.phone is not None:
        rows = repo.tickets(ctx.session, contact_phone=actor.phone, status=status, limit=limit)
    elif actor.roles & {"clerk", "analyst", "auditor", "admin", "head"} or (
        actor.department_id == _office(ctx).id
    ):
        rows = repo.tickets(ctx.session, status=status, limit=limit)
    else:
        rows = repo.tickets(
            ctx.session, department_id=actor.department_id, status=status, limit=limit
        )
    return [
        {k: v for k, v in ticket_view(ctx, t).items() if k not in ("tasks", "history")}
        for t in rows
    ]


# --- import of historic tickets (CSV / Excel) -------------------------------------------------


@dataclass
class ImportReport:
    imported: int = 0
    already_imported: int = 0
    classified: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)


def read_table(data: bytes, filename: str) -> list[dict[str, str]]:
    """Rows of a CSV (UTF-8 or GB18030) or XLSX file as dicts of trimmed strings.

    Raises:
        ValidationFailed: the file cannot be read as either.
    """
    if filename.lower().endswith((".xlsx", ".xlsm")):
        try:
            from openpyxl import load_workbook

            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).active
            assert sheet is not None
            values = [list(r) for r in sheet.iter_rows(values_only=True)]
        except Exception as exc:  # openpyxl raises many kinds on a broken file
            raise ValidationFailed(
                f"{filename} is not a readable Excel file: {exc}",
                message_zh=f"{filename} 不是可读取的 Excel 文件",
                code="import.unreadable",
            ) from exc
        if not values:
            return []
        header = [str(h or "").strip() for h in values[0]]
        return [
            {
                h: ""
                if v is None
                else (v.isoformat() if isinstance(v, datetime | date) else str(v)).strip()
                for h, v in zip(header, row, strict=False)
            }
            for row in values[1:]
        ]
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationFailed(
            f"{filename} is neither UTF-8 nor GB18030 text",
            message_zh=f"{filename} 编码无法识别（须为 UTF-8 或 GB18030）",
            code="import.unreadable",
        )
    return [
        {(k or "").strip(): (v or "").strip() if isinstance(v, str) else "" for k, v in row.items()}
        for row in csv.DictReader(io.StringIO(text))
    ]


def parse_instant(value: str, zone: Any) -> datetime:
    """An ISO date or date-time; naive values are the city's local time."""
    value = value.strip().replace("/", "-")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        moment = datetime.combine(date.fromisoformat(value), time(12, 0))
    return moment if moment.tzinfo else moment.replace(tzinfo=zone)


def import_tickets(
    ctx: Ctx, rows: Sequence[Mapping[str, str]], *, source: str, actor: str
) -> ImportReport:
    """Bring in historic tickets (closed, no process). Broken rows are reported by line and
    skipped; rows already imported from the same source are skipped, never changed.

    Columns: ``text`` (required), ``created_at`` (required), ``category`` (classified when
    empty), ``district``, ``street``, ``id`` (the source system's number), ``kind``.
    """
    report = ImportReport()
    if rows and "text" not in rows[0]:
        raise ValidationFailed(
            "The file needs a 'text' column (and 'created_at')",
            message_zh="文件须包含 text（诉求内容）和 created_at（登记时间）列",
            code="import.columns_missing",
        )
    model = classifier(ctx)
    zone = ctx.calendar.zone
    for line, row in enumerate(rows, start=2):
        try:
            normalised = clf.normalise(row.get("text", ""))
            created = parse_instant(row.get("created_at", ""), zone)
        except (ValidationFailed, ValueError) as exc:
            message = exc.message_zh if isinstance(exc, ValidationFailed) else "登记时间格式不正确"
            report.problems.append({"line": line, "message": message})
            continue
        category = (row.get("category") or "").strip()
        if category and category not in corpus.CATEGORIES:
            by_name = {v[0]: k for k, v in corpus.CATEGORIES.items()}
            if category not in by_name:
                report.problems.append({"line": line, "message": f"未知分类 {category}"})
                continue
            category = by_name[category]
        ref = (row.get("id") or "").strip() or hashlib.sha256(
            f"{normalised}|{created.isoformat()}".encode()
        ).hexdigest()[:32]
        if repo.ticket_by_source(ctx.session, source, ref) is not None:
            report.already_imported += 1
            continue
        confidence = 1.0
        category_source = "import"
        if not category:
            category, confidence = model.predict([normalised])[0]
            category_source = "model"
            report.classified += 1
        dept = _department_by_code(ctx, corpus.CATEGORIES[category][2])
        repo.add(
            ctx.session,
            Ticket(
                number=_number(ctx, "H"),
                kind=row.get("kind") or "complaint",
                channel="import",
                text=row["text"].strip(),
                normalised=normalised,
                category=category,
                confidence=confidence,
                category_source=category_source,
                department_id=dept.id if dept else None,
                district=(row.get("district") or "").strip() or None,
                street=(row.get("street") or "").strip() or None,
                status="closed",
                outcome="resolved",
                created_at=created,
                closed_at=created,
                created_by=actor,
                source=source[:64],
                source_ref=ref,
            ),
        )
        report.imported += 1
    ctx.session.flush()
    return report


def retrain_classifier(ctx: Ctx, *, actor: str) -> ClassifierVersion:
    """Retrain on the starter examples plus every ticket a person categorised (dispatcher
    corrections, imported history); the new model serves this platform at once."""
    texts, labels = clf.starter_examples()
    own = repo.labelled_tickets(ctx.session)
    accuracy = macro_f1 = None
    if len(own) >= 50:
        # Score on a fifth of the city's own tickets held back, before training on all.
        held = own[::5]
        train_rows = [r for i, r in enumerate(own) if i % 5]
        trial = clf.train(texts + [t for t, _ in train_rows], labels + [c for _, c in train_rows])
        accuracy, macro_f1 = clf.evaluate(trial, [t for t, _ in held], [c for _, c in held])
    model = clf.train(texts + [t for t, _ in own], labels + [c for _, c in own])
    ctx.shared["feedback_classifier"] = model
    version = ClassifierVersion(
        trained_at=_now(ctx),
        examples=model.examples,
        from_tickets=len(own),
        accuracy=accuracy,
        macro_f1=macro_f1,
        trained_by=actor,
    )
    repo.add(ctx.session, version)
    ctx.session.flush()
    return version


# --- hotspots and trends ----------------------------------------------------------------------


def hotspot_report(ctx: Ctx, *, week: date | None = None, weeks: int = 12) -> dict[str, Any]:
    """What the analyst sees first: flagged cells (most significant first), then the table,
    rising keywords and the satisfaction trend per service. ``week`` defaults to the last
    complete week (the current one is still filling up)."""
    now = _now(ctx)
    zone = ctx.calendar.zone
    target = hotspots.week_of(week or now, zone) - (timedelta(0) if week else timedelta(weeks=1))
    since = datetime.combine(
        target - timedelta(weeks=max(weeks, hotspots.HISTORY_WEEKS)), time(0), tzinfo=zone
    )
    rows = [
        t
        for t in repo.tickets(ctx.session, since=since)
        if hotspots.week_of(t.created_at, zone) <= target
    ]
    records = [hotspots.Record(t.district, t.category, t.created_at) for t in rows if t.district]
    population = dict(policy(ctx).population)
    flags = hotspots.detect(records, week=target, population=population, zone=zone)
    topics = hotspots.rising_topics(
        [(t.normalised, t.created_at) for t in rows], clf.words, week=target, zone=zone
    )
    trend = hotspots.satisfaction_trend(
        (
            (_service_code(ctx, r.service_item_id) or "-", r.created_at, r.level)
            for r in repo.ratings(ctx.session, since=since)
            if r.status == "counted"
        ),
        zone,
    )
    return {
        "week": target.isoformat(),
        "method": hotspots.METHOD,
        "alpha": hotspots.ALPHA,
        "flags": [f.as_dict() for f in flags],
        "table": hotspots.table(records, population=population, zone=zone),
        "rising_topics": topics,
        "satisfaction_trend": trend,
    }


def topic_report(ctx: Ctx, *, days: int = 90, top: int = 10) -> dict[str, Any]:
    """Topic hotspots (热点问题: one place, one problem) in the last ``days`` of tickets."""
    since = _now(ctx) - timedelta(days=days)
    messages = [
        topics.Message(t.number, t.text, t.created_at, sender=t.contact_phone or t.created_by)
        for t in repo.tickets(ctx.session, since=since)
    ]
    found = topics.find_topics(messages)
    return {"days": days, "method": topics.METHOD, "topics": [t.as_dict() for t in found[:top]]}


# --- surveys ----------------------------------------------------------------------------------

CHOICE_TYPES = ("single", "multiple")


def get_survey(ctx: Ctx, code: str) -> Survey:
    survey = repo.survey_by_code(ctx.session, code)
    if survey is None:
        raise NotFound(f"No survey {code}", message_zh=f"问卷 {code} 不存在", code="survey.unknown")
    return survey


def create_survey(ctx: Ctx, data: SurveyIn, *, actor: str) -> Survey:
    """A survey, open or targeted at everyone who applied for a service in a period."""
    if repo.survey_by_code(ctx.session, data.code) is not None:
        raise Conflict(
            f"Survey {data.code} exists",
            message_zh=f"问卷 {data.code} 已存在",
            code="survey.exists",
        )
    problems: list[str] = []
    ids = [q.id for q in data.questions]
    if len(set(ids)) != len(ids):
        problems.append("question ids must be unique")
    for q in data.questions:
        if q.type in CHOICE_TYPES and len(set(q.options)) < 2:
            problems.append(f"{q.id}: a choice question needs at least two distinct options")
        if q.type not in CHOICE_TYPES and q.options:
            problems.append(f"{q.id}: only choice questions have options")
    now = _now(ctx)
    opens = data.opens_at or now
    if data.closes_at.tzinfo is None or opens.tzinfo is None:
        problems.append("opens_at and closes_at need a time zone")
    elif data.closes_at <= opens:
        problems.append("closes_at must be after opens_at")
    if problems:
        raise ValidationFailed(
            "The survey has problems: " + "; ".join(problems),
            message_zh="问卷设置有误：" + "；".join(problems),
            code="survey.invalid",
            details={"problems": problems},
        )
    invitees: list[str] = []
    audience: dict[str, Any] = {}
    if data.audience is not None:
        catalog.get_service(ctx, data.audience.service)
        zone = ctx.calendar.zone
        since = datetime.combine(data.audience.since, time(0), tzinfo=zone)
        until = datetime.combine(data.audience.until, time(0), tzinfo=zone) + timedelta(days=1)
        phones = repo.phones_of_service_users(ctx.session, data.audience.service, since, until)
        invitees = [invitee_key(p) for p in phones]
        audience = data.audience.model_dump(mode="json")
    survey = Survey(
        code=data.code,
        title=data.title,
        questions=[q.model_dump() for q in data.questions],
        anonymous=data.anonymous,
        audience=audience,
        invitees=invitees,
        opens_at=opens,
        closes_at=data.closes_at,
        created_at=now,
        created_by=actor,
    )
    repo.add(ctx.session, survey)
    ctx.session.flush()
    return survey


def survey_is_open(ctx: Ctx, survey: Survey) -> bool:
    now = _now(ctx)
    return survey.closed_early_at is None and survey.opens_at <= now < survey.closes_at


def close_survey(ctx: Ctx, code: str, *, actor: str) -> Survey:
    survey = get_survey(ctx, code)
    if survey.closed_early_at is None and _now(ctx) < survey.closes_at:
        survey.closed_early_at = _now(ctx)
    return survey


def _check_answer(q: Mapping[str, Any], value: Any) -> tuple[Any, str | None]:
    """(clean value, problem)."""
    kind = q["type"]
    if kind == "single":
        return (value, None) if value in q["options"] else (None, "choose one of the options")
    if kind == "multiple":
        if not isinstance(value, list) or not value or any(v not in q["options"] for v in value):
            return None, "choose one or more of the options"
        return sorted(set(value), key=q["options"].index), None
    if kind in ("scale", "nps"):
        low, high = (1, 5) if kind == "scale" else (0, 10)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return None, f"a whole number from {low} to {high}"
        return value, None
    if kind == "date":
        try:
            return date.fromisoformat(str(value)).isoformat(), None
        except ValueError:
            return None, "a date as YYYY-MM-DD"
    if not isinstance(value, str):
        return None, "text"
    try:
        clf.normalise(value)
    except clf.TextInvalid as exc:
        return None, exc.message
    return value.strip(), None


def submit_response(
    ctx: Ctx, code: str, answers: Mapping[str, Any], *, phone: str | None
) -> SurveyResponse:
    """One respondent's answers.

    Raises:
        Conflict: the survey is closed (or not open yet), or this person answered already.
        PermissionDenied: a signed-in survey answered anonymously, or a targeted survey
            answered by someone outside its audience.
        ValidationFailed: every problem with the answers, by question.
    """
    survey = get_survey(ctx, code)
    now = _now(ctx)
    if survey.closed_early_at is not None or now >= survey.closes_at:
        ended = (survey.closed_early_at or survey.closes_at).astimezone(ctx.calendar.zone)
        raise Conflict(
            f"Survey {code} closed on {ended:%Y-%m-%d %H:%M}",
            message_zh=f"问卷已于 {ended:%Y-%m-%d %H:%M} 截止，不再接受答卷",
            code="survey.closed",
        )
    if now < survey.opens_at:
        raise Conflict(
            "The survey is not open yet", message_zh="问卷尚未开始", code="survey.not_open"
        )
    if phone is None and (not survey.anonymous or survey.audience):
        raise PermissionDenied(
            "Sign in to answer this survey",
            message_zh="该问卷需登录后作答",
            code="survey.sign_in_required",
        )
    if survey.audience and (phone is None or invitee_key(phone) not in survey.invitees):
        raise PermissionDenied(
            "This survey is for the people who used the service in the period",
            message_zh="该问卷仅面向相应时段办理过该事项的群众",
            code="survey.not_invited",
        )
    key = hashlib.sha256(f"{survey.code}:{phone}".encode()).hexdigest() if phone else None
    if key and repo.response_by_key(ctx.session, survey.id, key) is not None:
        raise Conflict(
            "You have answered this survey already",
            message_zh="您已提交过该问卷",
            code="survey.already_answered",
        )
    clean: dict[str, Any] = {}
    problems: list[str] = []
    known = {q["id"] for q in survey.questions}
    for extra in sorted(set(answers) - known):
        problems.append(f"{extra}: no such question")
    for q in survey.questions:
        value = answers.get(q["id"])
        if value in (None, "", []):
            if q.get("required", True):
                problems.append(f"{q['id']}: required")
            continue
        cleaned, problem = _check_answer(q, value)
        if problem:
            problems.append(f"{q['id']}: {problem}")
        else:
            clean[q["id"]] = cleaned
    if problems:
        raise ValidationFailed(
            "The answers have problems: " + "; ".join(problems),
            message_zh="答卷有误：" + "；".join(problems),
            code="survey.answers_invalid",
            details={"problems": problems},
        )
    texts = {
        q["id"]: clean[q["id"]]
        for q in survey.questions
        if q["type"] == "text" and q["id"] in clean
    }
    categories: dict[str, Any] = {}
    if texts:
        model = classifier(ctx)
        for qid, (category, confidence) in zip(
            texts, model.predict([clf.normalise(t) for t in texts.values()]), strict=True
        ):
            categories[qid] = {"category": category, "confidence": confidence}
    response = SurveyResponse(
        survey_id=survey.id,
        respondent_key=key,
        respondent_phone=None if survey.anonymous else phone,
        answers=clean,
        categories=categories,
        submitted_at=now,
    )
    repo.add(ctx.session, response)
    ctx.session.flush()
    return response


def survey_view(ctx: Ctx, survey: Survey) -> dict[str, Any]:
    return {
        "code": survey.code,
        "title": survey.title,
        "questions": survey.questions,
        "anonymous": survey.anonymous,
        "targeted": bool(survey.audience),
        "audience": survey.audience,
        "invitees": len(survey.invitees),
        "opens_at": survey.opens_at.isoformat(),
        "closes_at": (survey.closed_early_at or survey.closes_at).isoformat(),
        "open": survey_is_open(ctx, survey),
    }


def survey_results(ctx: Ctx, code: str) -> dict[str, Any]:
    """Per question: option counts, the scale's distribution and mean, NPS, text categories."""
    survey = get_survey(ctx, code)
    rows = repo.responses(ctx.session, survey.id)
    out: list[dict[str, Any]] = []
    for q in survey.questions:
        values = [r.answers[q["id"]] for r in rows if q["id"] in r.answers]
        item: dict[str, Any] = {
            "id": q["id"],
            "text": q["text"],
            "type": q["type"],
            "n": len(values),
        }
        if q["type"] in CHOICE_TYPES:
            counts: Counter[str] = Counter()
            for v in values:
                counts.update(v if isinstance(v, list) else [v])
            item["counts"] = {o: counts.get(o, 0) for o in q["options"]}
        elif q["type"] in ("scale", "nps"):
            low, high = (1, 5) if q["type"] == "scale" else (0, 10)
            dist = Counter(int(v) for v in values)
            item["counts"] = {str(k): dist.get(k, 0) for k in range(low, high + 1)}
            item["mean"] = round(sum(values) / len(values), 3) if values else None
            if q["type"] == "nps" and values:
                promoters = sum(1 for v in values if v >= 9)
                detractors = sum(1 for v in values if v <= 6)
                item["nps"] = round(100 * (promoters - detractors) / len(values), 1)
        elif q["type"] == "text":
            cats: Counter[str] = Counter(
                r.categories[q["id"]]["category"] for r in rows if q["id"] in r.categories
            )
            item["categories"] = dict(cats.most_common())
            item["samples"] = [mask_text(str(v)) for v in values[:20]]
        else:
            item["counts"] = dict(Counter(str(v) for v in values).most_common(20))
        out.append(item)
    return {"survey": survey_view(ctx, survey), "responses": len(rows), "questions": out}


def survey_csv(ctx: Ctx, code: str) -> str:
    """One row per response, one column per question (multiple choices joined by '|')."""
    survey = get_survey(ctx, code)
    buf = io.StringIO()
    writer = csv.writer(buf)
    qids = [q["id"] for q in survey.questions]
    texts = [q["id"] for q in survey.questions if q["type"] == "text"]
    writer.writerow(["response_id", "submitted_at", *qids, *(f"{t}_category" for t in texts)])
    for r in repo.responses(ctx.session, survey.id):
        cells = []
        for qid in qids:
            v = r.answers.get(qid, "")
            cells.append("|".join(map(str, v)) if isinstance(v, list) else v)
        writer.writerow(
            [
                r.id,
                r.submitted_at.isoformat(),
                *cells,
                *(r.categories.get(t, {}).get("category", "") for t in texts),
            ]
        )
    return buf.getvalue()


# --- the public board (你说我改) -------------------------------------------------------------

BOARD_STATUSES = ("planned", "in_progress", "live", "done")


def get_improvement(ctx: Ctx, code: str) -> ImprovementItem:
    item = repo.improvement_by_code(ctx.session, code)
    if item is None:
        raise NotFound(
            f"No improvement {code}", message_zh=f"整改事项 {code} 不存在", code="board.unknown"
        )
    return item


def _resolve_source(ctx: Ctx, kind: str, ref: str) -> int:
    if kind == "rating":
        return get_rating(ctx, ref).id
    if kind == "ticket":
        return get_ticket(ctx, ref).id
    response = repo.response(ctx.session, int(ref)) if ref.isdigit() else None
    if response is None:
        raise NotFound(
            f"No survey answer {ref}", message_zh="问卷答卷不存在", code="survey.response_unknown"
        )
    return response.id


def create_improvement(ctx: Ctx, data: ImprovementIn, *, actor: str) -> ImprovementItem:
    if repo.improvement_by_code(ctx.session, data.code) is not None:
        raise Conflict(
            f"Improvement {data.code} exists",
            message_zh=f"整改事项 {data.code} 已存在",
            code="board.exists",
        )
    owner = catalog.get_department(ctx, data.owner_department)
    service_id = catalog.get_service(ctx, data.service_code).id if data.service_code else None
    _text(data.title, what_zh="标题")
    now = _now(ctx)
    item = ImprovementItem(
        code=data.code,
        title=data.title.strip(),
        description=data.description.strip(),
        owner_department_id=owner.id,
        service_item_id=service_id,
        status="planned",
        progress=0,
        milestones=[
            {"title": m.title, "due": m.due.isoformat() if m.due else None, "done": None}
            for m in data.milestones
        ],
        published_at=now if data.publish else None,
        created_at=now,
        updated_at=now,
        created_by=actor,
    )
    repo.add(ctx.session, item)
    ctx.session.flush()
    for source in data.sources:
        link_source(ctx, item.code, source.kind, source.ref, actor=actor)
    return item


def link_source(ctx: Ctx, code: str, kind: str, ref: str, *, actor: str) -> ImprovementSource:
    item = get_improvement(ctx, code)
    source_id = _resolve_source(ctx, kind, ref)
    existing = repo.source_link(ctx.session, item.id, kind, source_id)
    if existing is not None:
        return existing
    link = ImprovementSource(item_id=item.id, source_kind=kind, source_id=source_id)
    repo.add(ctx.session, link)
    ctx.session.flush()
    return link


def update_improvement(ctx: Ctx, code: str, data: ProgressIn, *, actor: str) -> ImprovementItem:
    item = get_improvement(ctx, code)
    now = _now(ctx)
    if data.milestone_done is not None:
        titles = [m["title"] for m in item.milestones]
        if data.milestone_done not in titles:
            raise ValidationFailed(
                f"No milestone {data.milestone_done!r}",
                message_zh=f"里程碑 {data.milestone_done} 不存在",
                code="board.milestone_unknown",
            )
        item.milestones = [
            {**m, "done": m["done"] or now.date().isoformat()}
            if m["title"] == data.milestone_done
            else m
            for m in item.milestones
        ]
    if data.status is not None:
        if data.status == "live" and item.live_since is None:
            item.live_since = now
        item.status = data.status
    if data.progress is not None:
        item.progress = data.progress
    elif item.milestones:
        done = sum(1 for m in item.milestones if m["done"])
        item.progress = max(item.progress, round(100 * done / len(item.milestones)))
    item.updated_at = now
    return item


def record_effect(ctx: Ctx, code: str, effect: Mapping[str, Any], *, actor: str) -> ImprovementItem:
    """Attach the measured effect (the mining module's before/after comparison) to a live item."""
    item = get_improvement(ctx, code)
    if item.live_since is None:
        raise Conflict(
            "The change is not live yet; its effect can be measured once it is",
            message_zh="整改措施尚未上线，上线后才能评估效果",
            code="board.not_live",
        )
    item.effect = {**dict(effect), "recorded_at": _now(ctx).isoformat(), "recorded_by": actor}
    item.updated_at = _now(ctx)
    return item


def _source_view(ctx: Ctx, link: ImprovementSource) -> dict[str, Any]:
    """A linked rating, ticket or answer as the public may see it: masked, no contacts."""
    if link.source_kind == "rating":
        r = get_rating_by_id(ctx, link.source_id)
        return {
            "kind": "rating",
            "ref": r.number,
            "level": r.level,
            "text": mask_text(r.comment),
            "date": r.created_at.date().isoformat(),
        }
    if link.source_kind == "ticket":
        t = get_ticket_by_id(ctx, link.source_id)
        return {
            "kind": "ticket",
            "ref": t.number,
            "category": t.category,
            "district": t.district,
            "text": mask_text(t.text, [t.contact_name]),
            "date": t.created_at.date().isoformat(),
        }
    response = repo.response(ctx.session, link.source_id)
    texts = [str(v) for v in (response.answers.values() if response else []) if isinstance(v, str)]
    return {
        "kind": "survey_response",
        "ref": str(link.source_id),
        "text": mask_text("；".join(texts)),
        "date": response.submitted_at.date().isoformat() if response else None,
    }


def improvement_view(ctx: Ctx, item: ImprovementItem) -> dict[str, Any]:
    owner = ctx.session.get(Department, item.owner_department_id)
    return {
        "code": item.code,
        "title": item.title,
        "description": item.description,
        "owner": owner.code if owner else None,
        "owner_zh": owner.name_zh if owner else None,
        "owner_en": owner.name_en if owner else None,
        "service": _service_code(ctx, item.service_item_id),
        "status": item.status,
        "progress": item.progress,
        "milestones": item.milestones,
        "live_since": item.live_since.isoformat() if item.live_since else None,
        "effect": item.effect,
        "updated_at": item.updated_at.isoformat(),
        "published_at": item.published_at.isoformat() if item.published_at else None,
        "sources": [_source_view(ctx, s) for s in repo.sources_of(ctx.session, item.id)],
    }


def public_board(ctx: Ctx) -> list[dict[str, Any]]:
    """你说我改: every published improvement with what raised it, masked for the public."""
    return [
        improvement_view(ctx, item) for item in repo.improvements(ctx.session, published_only=True)
    ]


def improvements(ctx: Ctx) -> Sequence[ImprovementItem]:
    """Every improvement, drafts included (the staff's board editor)."""
    return repo.improvements(ctx.session)


def overview(ctx: Ctx) -> dict[str, Any]:
    """Counts for the analyst's page."""
    tickets = repo.tickets(ctx.session)
    by_status = Counter(t.status for t in tickets)
    by_category = Counter(t.category for t in tickets)
    return {
        "tickets": len(tickets),
        "by_status": dict(by_status),
        "by_category": dict(by_category.most_common()),
        "ratings": rating_stats(ctx, "service"),
        "departments": rating_stats(ctx, "department"),
        "windows": rating_stats(ctx, "window"),
        "surveys": [survey_view(ctx, s) for s in repo.surveys(ctx.session)],
    }


def count_tickets(ctx: Ctx) -> int:
    return repo.count_tickets(ctx.session)


def closed_cases_to_rate(ctx: Ctx, *, limit: int = 500) -> list[tuple[int, datetime]]:
    """(application id, closed at) of closed cases not invited to rate yet, oldest first."""
    return [
        (a.id, a.closed_at)
        for a in repo.closed_applications_without_invitation(ctx.session, limit)
        if a.closed_at is not None
    ]


def open_steps(ctx: Ctx, case_number: str) -> dict[str, int]:
    """Open tasks of a feedback case: BPMN element id -> task id."""
    case = repo_case(ctx, case_number)
    if case is None:
        raise NotFound(
            f"No feedback case {case_number}", message_zh="案件不存在", code="feedback.unknown"
        )
    return {t.element_id: t.id for t in workflow.open_tasks(ctx, case.id)}


def repo_case(ctx: Ctx, number: str) -> Case | None:
    try:
        case = workflow.case_by_number(ctx, number)
    except NotFound:
        return None
    return case if case.kind in KINDS else None


def subject_view(ctx: Ctx, case: Case) -> dict[str, Any] | None:
    """What a member of staff working a feedback task reads: the ticket or the rating."""
    if case.kind == CaseKind.COMPLAINT:
        ticket = repo.ticket_of_case(ctx.session, case.id)
        if ticket is None:
            return None
        return {k: v for k, v in ticket_view(ctx, ticket).items() if k not in ("tasks", "history")}
    if case.kind == CaseKind.RECTIFICATION:
        rating = repo.rating_of_case(ctx.session, case.id)
        return rating_view(ctx, rating, masked=False) if rating else None
    return None


# The feedback columns encrypted at rest, by table (see ``feedback.models``).
_PERSONAL: tuple[tuple[type[Any], tuple[str, ...]], ...] = (
    (Visit, ("visitor_phone", "visitor_name")),
    (Rating, ("rater_phone",)),
    (Ticket, ("contact_name", "contact_phone")),
    (SurveyResponse, ("respondent_phone",)),
)


def reencrypt_personal(ctx: Ctx, active_key_id: str, *, limit: int = 500) -> int:
    """Re-encrypt up to ``limit`` feedback rows holding personal data under an older key."""
    done = 0
    for model, names in _PERSONAL:
        rows = repo.rows_not_under_key(ctx.session, model, names, active_key_id, limit=limit - done)
        for row in rows:
            for name in names:
                flag_modified(row, name)  # written back under the active key
        done += len(rows)
        if done >= limit:
            break
    ctx.session.flush()
    return done
