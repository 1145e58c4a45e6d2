"""The staff desk of the feedback domain: queues, dispatch, merge, reply, call-back, board.

Every action here is a step of the complaint or rectification case run through
``service.complete_task`` (so the engine's checks — department, claim, form — apply and the
step lands in the one event log), plus the few facts a step does not carry (a merge's link).
Nothing here commits; a refused action raises before anything is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from onewindow.catalog import service as catalog
from onewindow.eventlog.models import EventType
from onewindow.feedback import classifier as clf
from onewindow.feedback import corpus
from onewindow.feedback import repository as repo
from onewindow.feedback import service as feedback
from onewindow.feedback.models import ImprovementItem, Rating, Ticket
from onewindow.feedback.schemas import ProgressIn
from onewindow.kit.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from onewindow.kit.platform import Ctx
from onewindow.workflow import service as workflow
from onewindow.workflow.models import Case, CaseKind, Task

# 申诉复核: the office's review of a department's appeal, and of the rater's appeal.
APPEAL_TASKS = ("Task_review", "Task_appeal_review")
QUEUES: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    # queue -> (kind of case, only these steps, not these steps)
    "complaints": (CaseKind.COMPLAINT, (), ()),
    "rectifications": (CaseKind.RECTIFICATION, (), APPEAL_TASKS),
    "appeals": (CaseKind.RECTIFICATION, APPEAL_TASKS, ()),
}
SEARCH_MAX = 100
REASON_MAX = 500
DUPLICATE_WINDOW_DAYS = 30
DUPLICATE_FLOOR = 0.3


@dataclass(frozen=True)
class DeskRow:
    task: Task
    case: Case
    ticket: Ticket | None
    rating: Rating | None


def _staff(actor: feedback.Actor) -> int:
    if not actor.is_staff or actor.department_id is None:
        raise PermissionDenied(
            "The feedback desk is for staff of a department",
            message_zh="诉求工作台仅限部门工作人员使用",
            code="fbdesk.staff_only",
        )
    return actor.department_id


def queue(
    ctx: Ctx, actor: feedback.Actor, name: str, *, text: str = "", limit: int = 20, offset: int = 0
) -> tuple[list[DeskRow], int]:
    """A page of the actor's department's open tasks in one queue, and the true total.

    Raises:
        NotFound: no such queue.
    """
    if name not in QUEUES:
        raise NotFound(f"No queue {name}", message_zh="队列不存在", code="fbdesk.queue_unknown")
    kind, only, exclude = QUEUES[name]
    rows, total = repo.desk_tasks(
        ctx.session,
        department_id=_staff(actor),
        kind=kind,
        elements=only,
        exclude=exclude,
        text=" ".join(text.split())[:SEARCH_MAX],
        limit=min(max(limit, 1), 200),
        offset=max(offset, 0),
    )
    return [DeskRow(*r) for r in rows], total


def open_task(ctx: Ctx, case_id: int | None, element: str) -> Task | None:
    if case_id is None:
        return None
    return next((t for t in workflow.open_tasks(ctx, case_id) if t.element_id == element), None)


def _waiting(ctx: Ctx, ticket: Ticket, element: str, what: str, what_zh: str) -> Task:
    task = open_task(ctx, ticket.case_id, element)
    if task is None:
        raise Conflict(
            f"Ticket {ticket.number} is not waiting for {what}",
            message_zh=f"工单 {ticket.number} 当前不在{what_zh}环节",
            code="fbdesk.not_waiting",
        )
    return task


def _reason(value: str, *, required: bool, what: str, what_zh: str) -> str:
    text = value.strip()
    if required and not text:
        raise ValidationFailed(
            f"Give the {what}", message_zh=f"请填写{what_zh}", code="fbdesk.reason_required"
        )
    if len(text) > REASON_MAX:
        raise ValidationFailed(
            f"The {what} is longer than {REASON_MAX} characters",
            message_zh=f"{what_zh}超过 {REASON_MAX} 字",
            code="fbdesk.reason_too_long",
        )
    return text


def dispatch(
    ctx: Ctx,
    number: str,
    *,
    category: str,
    department: str,
    reason: str,
    actor: feedback.Actor,
) -> Ticket:
    """派单: the dispatcher's category and handling department, with the reason.

    Raises:
        NotFound: no such ticket (or not visible to the actor).
        Conflict: the ticket is not waiting for dispatch.
        ValidationFailed: unknown category or department, no reason.
        PermissionDenied: the dispatch step belongs to another department.
    """
    ticket = feedback.visible_ticket(ctx, number, actor)
    task = _waiting(ctx, ticket, "Task_dispatch", "dispatch", "派单")
    text = _reason(reason, required=True, what="reason for the dispatch", what_zh="派单理由")
    feedback.complete_task(
        ctx,
        task.id,
        {"category": category.strip(), "department": department.strip(), "comment": text},
        actor=actor,
    )
    return ticket


def accept(ctx: Ctx, number: str, *, decision: str, reason: str, actor: feedback.Actor) -> Ticket:
    """受理: accept a citizen's ticket, or refuse it (with the reason)."""
    ticket = feedback.visible_ticket(ctx, number, actor)
    task = _waiting(ctx, ticket, "Task_accept", "acceptance", "受理")
    if decision not in ("accept", "reject"):
        raise ValidationFailed(
            "Accept or refuse the ticket (a duplicate is merged)",
            message_zh="请选择受理或不予受理（重复件请合并）",
            code="fbdesk.accept_invalid",
        )
    text = _reason(reason, required=decision == "reject", what="reason", what_zh="不予受理理由")
    feedback.complete_task(ctx, task.id, {"accept": decision, "comment": text}, actor=actor)
    return ticket


def merge(ctx: Ctx, number: str, into: str, *, reason: str, actor: feedback.Actor) -> Ticket:
    """合并重复件: close a ticket waiting for acceptance as a duplicate of another.

    The duplicate ends as 重复件 at its acceptance step and keeps its link to the ticket that is
    handled (the first of a chain); both cases' logs record the merge.

    Raises:
        ValidationFailed: a ticket merged into itself (or into its own duplicate).
        NotFound: either ticket unknown.
        Conflict: the ticket is past acceptance (it is already being handled).
    """
    number, into = number.strip(), into.strip()
    if not into:
        raise ValidationFailed(
            "Name the ticket to merge into",
            message_zh="请指定要合并到的工单",
            code="fbdesk.merge_target_required",
        )
    ticket = feedback.visible_ticket(ctx, number, actor)
    target = feedback.visible_ticket(ctx, into, actor)
    root = target
    while root.duplicate_of_id is not None and root.id != ticket.id:
        root = feedback.get_ticket_by_id(ctx, root.duplicate_of_id)
    if ticket.id in (target.id, root.id):
        raise ValidationFailed(
            "A ticket cannot be merged into itself",
            message_zh="工单不能合并到自身",
            code="fbdesk.merge_self",
        )
    task = open_task(ctx, ticket.case_id, "Task_accept")
    if task is None:
        raise Conflict(
            f"Ticket {ticket.number} is past acceptance; only a ticket waiting for acceptance "
            "can be merged",
            message_zh=f"工单 {ticket.number} 已受理，只有待受理的工单可以作为重复件合并",
            code="fbdesk.merge_too_late",
        )
    text = _reason(reason, required=False, what="reason", what_zh="合并说明")
    comment = f"重复件，并入 {root.number}" + (f"：{text}" if text else "")
    feedback.complete_task(ctx, task.id, {"accept": "duplicate", "comment": comment}, actor=actor)
    ticket.duplicate_of_id = root.id
    now = ctx.clock.now()
    for case_id, attributes in (
        (ticket.case_id, {"into": root.number}),
        (root.case_id, {"merged": ticket.number}),
    ):
        if case_id is not None:
            feedback._event(
                ctx,
                workflow.get_case(ctx, case_id),
                EventType.TICKET_MERGED,
                "合并重复件",
                now,
                resource=actor.username,
                attributes={**attributes, "reason": text},
            )
    return ticket


def reply(ctx: Ctx, number: str, *, decision: str, text: str, actor: feedback.Actor) -> Ticket:
    """办理答复: the handling department's answer to the citizen (or a return to dispatch).

    Raises:
        ValidationFailed: an empty reply, or a decision out of the step's options.
    """
    ticket = feedback.visible_ticket(ctx, number, actor)
    task = _waiting(ctx, ticket, "Task_handle", "a reply", "办理答复")
    if decision not in ("resolve", "reject", "transfer"):
        raise ValidationFailed(
            "Choose how the ticket was handled",
            message_zh="请选择办理结论",
            code="fbdesk.decision_invalid",
        )
    feedback.complete_task(ctx, task.id, {"decision": decision, "reply": text}, actor=actor)
    return ticket


def review_closure(
    ctx: Ctx, number: str, *, decision: str, comment: str, actor: feedback.Actor
) -> Ticket:
    """办结审核: the centre agrees to close, or sends the ticket back for handling again."""
    ticket = feedback.visible_ticket(ctx, number, actor)
    task = _waiting(ctx, ticket, "Task_close", "the closure check", "办结审核")
    text = _reason(comment, required=decision == "redo", what="reason", what_zh="退回理由")
    feedback.complete_task(ctx, task.id, {"close": decision, "comment": text}, actor=actor)
    return ticket


def call_back(
    ctx: Ctx,
    number: str,
    *,
    action: str,
    satisfaction: int | None,
    comment: str,
    actor: feedback.Actor,
) -> Ticket:
    """回访: the centre records what the citizen said on the phone (confirm or reopen)."""
    if not actor.is_staff:
        raise PermissionDenied(
            "A call-back is recorded by staff",
            message_zh="回访由工作人员记录",
            code="fbdesk.staff_only",
        )
    if action not in ("confirm", "reopen"):
        raise ValidationFailed(
            "Record whether the citizen confirmed or asked to reopen",
            message_zh="请选择市民确认办结或要求重新办理",
            code="fbdesk.callback_invalid",
        )
    if satisfaction is not None and not 1 <= satisfaction <= 5:
        raise ValidationFailed(
            "Satisfaction is 1 to 5", message_zh="满意度须为 1 至 5", code="fbdesk.satisfaction"
        )
    text = _reason(comment, required=False, what="call-back note", what_zh="回访记录")
    return feedback.answer_as_citizen(ctx, number, action, satisfaction, text, actor=actor)


def likely_duplicates(ctx: Ctx, ticket: Ticket, *, limit: int = 5) -> list[tuple[Ticket, float]]:
    """Tickets of the last days most like this one (character-bigram similarity), best first;
    the one the intake already flagged comes first."""
    since = ticket.created_at - timedelta(days=DUPLICATE_WINDOW_DAYS)
    scored: list[tuple[float, Ticket]] = []
    for other in repo.tickets_since(ctx.session, since):
        if other.id == ticket.id or other.duplicate_of_id == ticket.id:
            continue
        score = feedback.similarity(ticket.normalised, other.normalised)
        if other.id == ticket.duplicate_of_id:
            score = max(score, 1.0)
        if score >= DUPLICATE_FLOOR:
            scored.append((score, other))
    scored.sort(key=lambda p: (-p[0], p[1].id))
    return [(t, min(s, 1.0)) for s, t in scored[:limit]]


def merged_into(ctx: Ctx, ticket: Ticket) -> Sequence[Ticket]:
    return repo.merged_into(ctx.session, ticket.id)


def categories() -> list[tuple[str, str, str, str]]:
    """(code, 中文, English, department code) of every category the dispatcher may pick."""
    return [(code, zh, en, dept) for code, (zh, en, dept) in corpus.CATEGORIES.items()]


# --- the board (你说我改) ----------------------------------------------------------------------


def edit_improvement(
    ctx: Ctx,
    code: str,
    *,
    title: str,
    description: str,
    status: str | None,
    progress: int | None,
    actor: str,
) -> ImprovementItem:
    """Edit an item's words, status and progress (published or not).

    Raises:
        ValidationFailed: an empty title, an unknown status, progress outside 0–100.
    """
    item = feedback.get_improvement(ctx, code)
    title = title.strip()
    if not title:
        raise ValidationFailed(
            "The title is required", message_zh="请填写标题", code="board.title_required"
        )
    if len(title) > 200:
        raise ValidationFailed(
            "The title is longer than 200 characters",
            message_zh="标题超过 200 字",
            code="board.title_too_long",
        )
    if status is not None and status not in feedback.BOARD_STATUSES:
        raise ValidationFailed(
            f"Unknown status {status!r}", message_zh="状态不存在", code="board.status_unknown"
        )
    if progress is not None and not 0 <= progress <= 100:
        raise ValidationFailed(
            "Progress is 0 to 100", message_zh="进度须为 0 至 100", code="board.progress_invalid"
        )
    for text in (title, description):
        if text.strip():
            clf.check_length(text)
            clf.normalise(text)  # raises TextInvalid with a clear message
    item.title, item.description = title, description.strip()
    feedback.update_improvement(
        ctx,
        code,
        ProgressIn(status=status, progress=progress),
        actor=actor,
    )
    return item


def publish_improvement(ctx: Ctx, code: str, *, actor: str) -> ImprovementItem:
    """Put an item on the public board.

    Raises:
        Conflict: it is published already.
    """
    item = feedback.get_improvement(ctx, code)
    if item.published_at is not None:
        raise Conflict(
            f"{code} is published already",
            message_zh=f"整改事项 {code} 已公开",
            code="board.published",
        )
    item.published_at = item.updated_at = ctx.clock.now()
    return item


def office_id(ctx: Ctx) -> int:
    """The department that accepts, dispatches and calls back (the service centre)."""
    return feedback._office(ctx).id


def surveys(ctx: Ctx) -> list[tuple[dict[str, Any], int]]:
    """Every survey's view and its number of responses, newest first."""
    rows = sorted(repo.surveys(ctx.session), key=lambda s: (s.created_at, s.id), reverse=True)
    return [(feedback.survey_view(ctx, s), len(repo.responses(ctx.session, s.id))) for s in rows]


def board_items(ctx: Ctx) -> Sequence[ImprovementItem]:
    return feedback.improvements(ctx)


def history(ctx: Ctx, case: Case) -> list[dict[str, Any]]:
    """The case's events for staff: the step's element id (so pages can name it in either
    language), when, who (by name) and the opinion recorded."""
    names = {s.username: s.name for s in catalog.list_staff(ctx)}
    tasks = {t.id: t for t in workflow.tasks_of_case(ctx, case.id)}
    return [
        {
            "element": h.event.activity_id,
            "activity": h.event.activity,
            "lifecycle": h.event.lifecycle,
            "timestamp": h.event.timestamp,
            "who": names.get(h.event.resource or "", h.event.resource or ""),
            "attributes": h.event.attributes or {},
            "opinion": h.decision.opinion if h.decision else None,
            "fields": _fields(tasks.get(h.event.task_id or 0))
            if h.event.event_type == EventType.TASK_COMPLETED
            else [],
        }
        for h in workflow.case_history(ctx, case)
    ]


def _fields(task: Task | None) -> list[dict[str, Any]]:
    """What a completed step recorded, in its form's order: the field's id and BPMN label
    (pages translate by id), the value, and for a choice the option's BPMN name."""
    if task is None or not task.data:
        return []
    out = []
    for f in task.form_fields:
        value = task.data.get(f["id"])
        if value in (None, ""):
            continue
        options = dict(zip(f.get("options") or [], f.get("option_names") or [], strict=False))
        out.append(
            {
                "id": f["id"],
                "label": f.get("label") or f["id"],
                "value": value,
                "option": options.get(value, str(value)) if f.get("options") else None,
            }
        )
    return out


def view(ctx: Ctx, ticket: Ticket) -> dict[str, Any]:
    """The ticket as the desk shows it: the staff view, the classifier's suggestion for its
    text, and its history with names."""
    shown = feedback.ticket_view(ctx, ticket)
    shown["suggestion"] = feedback.classify(ctx, [ticket.text])[0]
    case = workflow.get_case(ctx, ticket.case_id) if ticket.case_id else None
    shown["history"] = history(ctx, case) if case else []
    return shown
