"""The complaint and 好差评 desk: staff work complaints, rectifications and appeals in pages.

Queues are the department's open feedback tasks (searched and paged in the database, with the
true total); a ticket page shows the message, the classifier's suggestion and its confidence,
likely duplicates, and a form for whichever step waits for the caller's department. Every
action goes through ``feedback.desk`` / ``feedback.service`` — the engine's own checks apply
and each step lands in the one event log. A refused action shows the page again with the
reason and nothing changed; a done one commits and redirects.

Surveys (create, close, results drawn as SVG bars: the CSP allows no inline style) and the
board's items (edit, publish) are for those who manage feedback.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from onewindow.catalog import service as catalog
from onewindow.feedback import desk
from onewindow.feedback import service as feedback
from onewindow.feedback.schemas import ImprovementIn, QuestionIn, SurveyIn
from onewindow.kit.errors import NotFound, OneWindowError, ValidationFailed
from onewindow.kit.platform import Ctx
from onewindow.security.authz import require_page
from onewindow.security.schemas import Principal
from onewindow.web.i18n import MESSAGES, Lang, error_text, lang_of, translate
from onewindow.web.pages import DEFAULT_ZONE, page
from onewindow.web.routes import FormDep, PageCtx, PageRoute
from onewindow.workflow import service as workflow

router = APIRouter(include_in_schema=False, route_class=PageRoute)

Worker = Annotated[Principal, require_page("feedback.work")]
Manager = Annotated[Principal, require_page("feedback.manage")]
PAGE_SIZE = 20
DONE = frozenset(
    {
        "accepted",
        "dispatched",
        "merged",
        "replied",
        "closed",
        "called_back",
        "completed",
        "created",
        "saved",
        "published",
        "survey_closed",
        "linked",
    }
)
QUESTION_TYPES = ("single", "multiple", "scale", "nps", "text", "date")
BAR_W, LABEL_W, ROW_H = 360, 200, 26


def actor_of(who: Principal) -> feedback.Actor:
    return feedback.Actor(who.name, frozenset(who.roles), who.department_id, who.department_code)


def label(lang: Lang, key: str, fallback: str) -> str:
    """A translated label, or the fallback (a BPMN label) when the catalogue has none."""
    return translate(lang, key) if key in MESSAGES else fallback


def when(value: str | datetime | None) -> str:
    """An instant (ISO text or datetime) in the city's time, to the minute."""
    if not value:
        return "—"
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.astimezone(DEFAULT_ZONE).strftime("%Y-%m-%d %H:%M")


def _field(form: FormData, name: str, limit: int = 2000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _done(request: Request) -> str | None:
    done = request.query_params.get("done", "")
    return translate(lang_of(request), f"fbd_done_{done}") if done in DONE else None


def _render(
    request: Request,
    template: str,
    who: Principal,
    *,
    status: int = 200,
    errors: list[str] | None = None,
    **context: Any,
) -> Response:
    lang = lang_of(request)
    return page(
        request,
        template,
        status=status,
        principal=who,
        errors=errors or [],
        notice=None if errors else _done(request),
        tl=lambda key, fallback="": label(lang, key, fallback),
        when=when,
        **context,
    )


def _act(
    request: Request,
    ctx: Ctx,
    act: Callable[[], object],
    done: str,
    target: str,
    again: Callable[[list[str], int], Response],
) -> Response:
    """Run one action: on success commit and go to ``target``; on a refusal roll back and show
    the page again with the reason (nothing changed)."""
    try:
        act()
    except OneWindowError as exc:
        ctx.session.rollback()
        return again([error_text(lang_of(request), exc)], exc.status)
    ctx.session.commit()
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}done={done}", status_code=303)


# --- queues ----------------------------------------------------------------------------------


@router.get("/fbdesk")
def queue_page(request: Request, ctx: PageCtx, who: Worker) -> Response:
    params = request.query_params
    name = params.get("queue", "complaints")
    if name not in desk.QUEUES:
        name = "complaints"
    q = params.get("q", "")[: desk.SEARCH_MAX]
    number = int(params["page"]) if params.get("page", "").isdigit() else 1
    number = max(number, 1)
    rows, total = desk.queue(
        ctx, actor_of(who), name, text=q, limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE
    )
    pages = max((total + PAGE_SIZE - 1) // PAGE_SIZE, 1)

    def link(p: int) -> str:
        return "/fbdesk?" + urlencode({"queue": name, "q": q, "page": p})

    return _render(
        request,
        "fbdesk_queue.html",
        who,
        queue=name,
        queues=list(desk.QUEUES),
        q=q,
        rows=rows,
        total=total,
        page_no=number,
        pages=pages,
        prev_link=link(number - 1) if number > 1 else None,
        next_link=link(number + 1) if number < pages else None,
        now=ctx.clock.now(),
    )


# --- a ticket (complaint case) ----------------------------------------------------------------


def _ticket_page(
    request: Request,
    ctx: Ctx,
    who: Principal,
    number: str,
    *,
    errors: list[str] | None = None,
    status: int = 200,
    form: FormData | None = None,
) -> Response:
    actor = actor_of(who)
    ticket = feedback.visible_ticket(ctx, number, actor)
    shown = desk.view(ctx, ticket)
    mine: dict[str, int] = {}
    for t in workflow.open_tasks(ctx, ticket.case_id) if ticket.case_id else []:
        own = t.department_id == actor.department_id and not t.for_applicant
        proxy = t.for_applicant and t.element_id == "Task_rate"
        if own or (proxy and _proxy_of(ctx, t.case_id) == actor.department_id):
            mine[t.element_id] = t.id
    duplicates = desk.likely_duplicates(ctx, ticket)
    merged = desk.merged_into(ctx, ticket)
    return _render(
        request,
        "fbdesk_ticket.html",
        who,
        status=status,
        errors=errors,
        ticket=shown,
        mine=mine,
        duplicates=[(feedback.ticket_view(ctx, d, masked=True), score) for d, score in duplicates],
        merged=[m.number for m in merged],
        categories=desk.categories(),
        departments=catalog.list_departments(ctx),
        threshold=feedback.policy(ctx).confidence_threshold,
        form=form,
    )


def _proxy_of(ctx: Ctx, case_id: int) -> int | None:
    return feedback.get_case(ctx, case_id).party_proxy_department_id


@router.get("/fbdesk/tickets/{number}")
def ticket_page(number: str, request: Request, ctx: PageCtx, who: Worker) -> Response:
    return _ticket_page(request, ctx, who, number)


def _satisfaction(raw: str) -> int | None:
    return int(raw) if raw.isdigit() else None


# action -> (what the redirect says, the step done with the form's fields)
TicketAction = Callable[[Ctx, str, FormData, feedback.Actor], object]
TICKET_ACTIONS: dict[str, tuple[str, TicketAction]] = {
    "accept": (
        "accepted",
        lambda ctx, n, f, a: desk.accept(
            ctx, n, decision=_field(f, "decision", 16), reason=_field(f, "reason"), actor=a
        ),
    ),
    "dispatch": (
        "dispatched",
        lambda ctx, n, f, a: desk.dispatch(
            ctx,
            n,
            category=_field(f, "category", 32),
            department=_field(f, "department", 32),
            reason=_field(f, "reason"),
            actor=a,
        ),
    ),
    "merge": (
        "merged",
        lambda ctx, n, f, a: desk.merge(
            ctx, n, _field(f, "into", 32), reason=_field(f, "reason"), actor=a
        ),
    ),
    "reply": (
        "replied",
        lambda ctx, n, f, a: desk.reply(
            ctx, n, decision=_field(f, "decision", 16), text=_field(f, "reply", 5000), actor=a
        ),
    ),
    "close": (
        "closed",
        lambda ctx, n, f, a: desk.review_closure(
            ctx, n, decision=_field(f, "decision", 16), comment=_field(f, "comment"), actor=a
        ),
    ),
    "callback": (
        "called_back",
        lambda ctx, n, f, a: desk.call_back(
            ctx,
            n,
            action=_field(f, "action", 16),
            satisfaction=_satisfaction(_field(f, "satisfaction", 2)),
            comment=_field(f, "comment"),
            actor=a,
        ),
    ),
}


@router.post("/fbdesk/tickets/{number}/{action}")
def ticket_action(
    number: str, action: str, request: Request, ctx: PageCtx, form: FormDep, who: Worker
) -> Response:
    """受理, 派单, 合并, 答复, 办结审核 or 回访 on a ticket, each one step of its case."""
    actor = actor_of(who)
    feedback.visible_ticket(ctx, number, actor)  # 404 before anything else
    if action not in TICKET_ACTIONS:
        raise NotFound(f"No action {action}", message_zh="操作不存在", code="fbdesk.action")
    done, act = TICKET_ACTIONS[action]
    return _act(
        request,
        ctx,
        lambda: act(ctx, number, form, actor),
        done,
        f"/fbdesk/tickets/{quote(number)}",
        lambda errors, status: _ticket_page(
            request, ctx, who, number, errors=errors, status=status, form=form
        ),
    )


# --- a rating's rectification or appeal (and any step by its form) -----------------------------


def _case_page(
    request: Request,
    ctx: Ctx,
    who: Principal,
    number: str,
    *,
    errors: list[str] | None = None,
    status: int = 200,
) -> Response:
    actor = actor_of(who)
    case = feedback.repo_case(ctx, number)
    if case is None:
        raise NotFound(f"No case {number}", message_zh="案件不存在", code="feedback.unknown")
    subject = feedback.subject_view(ctx, case)
    if case.kind == "complaint" and subject:
        return _redirect_ticket(str(subject["number"]))
    tasks = [
        t
        for t in workflow.open_tasks(ctx, case.id)
        if not t.for_applicant and t.department_id == actor.department_id
    ]
    visible = tasks or actor.department_id in (
        desk.office_id(ctx),
        case.subject_department_id,
    )
    if not visible:
        raise NotFound(f"No case {number}", message_zh="案件不存在", code="feedback.unknown")
    return _render(
        request,
        "fbdesk_case.html",
        who,
        status=status,
        errors=errors,
        case=case,
        rating=subject,
        tasks=tasks,
        history=desk.history(ctx, case),
        # names, not codes, for the rated service and department
        names={
            **{s.code: (s.name_zh, s.name_en) for s in catalog.list_services(ctx)},
            **{d.code: (d.name_zh, d.name_en) for d in catalog.list_departments(ctx)},
        },
    )


def _redirect_ticket(number: str) -> Response:
    return RedirectResponse(f"/fbdesk/tickets/{quote(number)}", status_code=303)


@router.get("/fbdesk/cases/{number}")
def case_page(number: str, request: Request, ctx: PageCtx, who: Worker) -> Response:
    return _case_page(request, ctx, who, number)


@router.post("/fbdesk/tasks/{task_id}")
def task_complete(
    task_id: int, request: Request, ctx: PageCtx, form: FormDep, who: Worker
) -> Response:
    """Any step of a rectification (核实, 整改, 答复, 回访, 公开), appeal review or supervision,
    by the fields of its form."""
    task = feedback.get_task(ctx, task_id)
    case = feedback.get_case(ctx, task.case_id)
    data = {
        f["id"]: _field(form, f"f_{f['id']}", 5000)
        for f in task.form_fields
        if _field(form, f"f_{f['id']}", 5000)
    }
    if case.kind == "complaint":
        subject = feedback.subject_view(ctx, case) or {}
        target = f"/fbdesk/tickets/{quote(str(subject.get('number', '')))}"

        def again(errors: list[str], status: int) -> Response:
            return _ticket_page(
                request, ctx, who, str(subject.get("number")), errors=errors, status=status
            )
    else:
        target = f"/fbdesk/cases/{quote(case.number)}"

        def again(errors: list[str], status: int) -> Response:
            return _case_page(request, ctx, who, case.number, errors=errors, status=status)

    return _act(
        request,
        ctx,
        lambda: feedback.complete_task(ctx, task_id, data, actor=actor_of(who)),
        "completed",
        target,
        again,
    )


# --- surveys -------------------------------------------------------------------------------------


def parse_questions(text: str) -> list[QuestionIn]:
    """``type: question | option; option`` per line (type defaults to ``scale``).

    Raises:
        ValidationFailed: a line that is not in that form, with its number.
    """
    out: list[QuestionIn] = []
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    for n, line in enumerate(lines, start=1):
        kind, sep, rest = line.partition(":")
        if not sep:
            kind, sep, rest = line.partition("：")
        kind = kind.strip().lower()
        if not sep or kind not in QUESTION_TYPES:
            kind, rest = "scale", line
        question, _, options = rest.partition("|")
        choices = [o.strip() for o in options.replace("；", ";").split(";") if o.strip()]
        try:
            out.append(
                QuestionIn(
                    id=f"q{n}",
                    text=question.strip(),
                    type=kind,
                    options=choices,
                )
            )
        except ValidationError as exc:
            raise ValidationFailed(
                f"Line {n} is not in the expected format: {line}",
                message_zh=f"第 {n} 行格式不对：{line}",
                code="fbdesk.survey_line",
            ) from exc
    if not out:
        raise ValidationFailed(
            "Write at least one question",
            message_zh="请至少填写一道题目",
            code="fbdesk.no_questions",
        )
    return out


def _survey_list(
    request: Request,
    ctx: Ctx,
    who: Principal,
    *,
    errors: list[str] | None = None,
    status: int = 200,
    form: FormData | None = None,
) -> Response:
    return _render(
        request,
        "fbdesk_surveys.html",
        who,
        status=status,
        errors=errors,
        surveys=desk.surveys(ctx),
        form=form,
    )


@router.get("/fbdesk/surveys")
def surveys_page(request: Request, ctx: PageCtx, who: Manager) -> Response:
    return _survey_list(request, ctx, who)


@router.post("/fbdesk/surveys")
def survey_create(request: Request, ctx: PageCtx, form: FormDep, who: Manager) -> Response:
    code = _field(form, "code", 64)

    def act() -> None:
        closes = _field(form, "closes_on", 10)
        try:
            day = datetime.fromisoformat(closes).date()
        except ValueError as exc:
            raise ValidationFailed(
                "Give the closing date",
                message_zh="请填写截止日期",
                code="fbdesk.survey_date",
            ) from exc
        try:
            body = SurveyIn(
                code=code,
                title=_field(form, "title", 200),
                questions=parse_questions(_field(form, "questions", 20000)),
                anonymous=form.get("anonymous") == "on",
                closes_at=datetime.combine(day, time(23, 59, 59), tzinfo=ctx.calendar.zone),
            )
        except ValidationError as exc:
            raise ValidationFailed(
                "The survey has problems: "
                + "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()),
                message_zh="问卷设置有误：代码只能用字母、数字、- 或 _，标题不能为空",
                code="survey.invalid",
            ) from exc
        feedback.create_survey(ctx, body, actor=who.name)

    return _act(
        request,
        ctx,
        act,
        "created",
        f"/fbdesk/surveys/{quote(code)}",
        lambda errors, status: _survey_list(
            request, ctx, who, errors=errors, status=status, form=form
        ),
    )


def bars(counts: dict[str, int]) -> dict[str, Any]:
    """Geometry of a horizontal bar chart (SVG attributes, no inline style)."""
    top = max(counts.values(), default=0) or 1
    rows = [
        {
            "label": key,
            "n": n,
            "y": i * ROW_H,
            "w": round(BAR_W * n / top, 1),
        }
        for i, (key, n) in enumerate(counts.items())
    ]
    return {
        "rows": rows,
        "h": max(len(rows), 1) * ROW_H,
        "w": LABEL_W + BAR_W + 60,
        "x": LABEL_W,
    }


def _survey_page(
    request: Request,
    ctx: Ctx,
    who: Principal,
    code: str,
    *,
    errors: list[str] | None = None,
    status: int = 200,
) -> Response:
    results = feedback.survey_results(ctx, code)
    charts = {
        q["id"]: bars(q.get("counts") or q.get("categories") or {})
        for q in results["questions"]
        if q.get("counts") or q.get("categories")
    }
    return _render(
        request,
        "fbdesk_survey.html",
        who,
        status=status,
        errors=errors,
        results=results,
        charts=charts,
        categories={code: (zh, en) for code, zh, en, _ in desk.categories()},
    )


@router.get("/fbdesk/surveys/{code}")
def survey_page(code: str, request: Request, ctx: PageCtx, who: Manager) -> Response:
    return _survey_page(request, ctx, who, code)


@router.post("/fbdesk/surveys/{code}/close")
def survey_close(
    code: str, request: Request, ctx: PageCtx, form: FormDep, who: Manager
) -> Response:
    feedback.get_survey(ctx, code)
    return _act(
        request,
        ctx,
        lambda: feedback.close_survey(ctx, code, actor=who.name),
        "survey_closed",
        f"/fbdesk/surveys/{quote(code)}",
        lambda errors, status: _survey_page(request, ctx, who, code, errors=errors, status=status),
    )


# --- the board's items -----------------------------------------------------------------------


def _board_page(
    request: Request,
    ctx: Ctx,
    who: Principal,
    *,
    errors: list[str] | None = None,
    status: int = 200,
    form: FormData | None = None,
) -> Response:
    return _render(
        request,
        "fbdesk_board.html",
        who,
        status=status,
        errors=errors,
        items=[feedback.improvement_view(ctx, i) for i in desk.board_items(ctx)],
        departments=catalog.list_departments(ctx),
        statuses=feedback.BOARD_STATUSES,
        form=form,
    )


@router.get("/fbdesk/board")
def board_page(request: Request, ctx: PageCtx, who: Manager) -> Response:
    return _board_page(request, ctx, who)


@router.post("/fbdesk/board")
def board_create(request: Request, ctx: PageCtx, form: FormDep, who: Manager) -> Response:
    code = _field(form, "code", 64)

    def act() -> None:
        try:
            body = ImprovementIn(
                code=code,
                title=_field(form, "title", 200),
                description=_field(form, "description", 5000),
                owner_department=_field(form, "owner", 32),
                publish=False,
            )
        except ValidationError as exc:
            raise ValidationFailed(
                "Code (letters, digits, - or _) and title are required",
                message_zh="请填写代码（字母、数字、- 或 _）和标题",
                code="board.invalid",
            ) from exc
        feedback.create_improvement(ctx, body, actor=who.name)

    return _act(
        request,
        ctx,
        act,
        "created",
        f"/fbdesk/board/{quote(code)}",
        lambda errors, status: _board_page(
            request, ctx, who, errors=errors, status=status, form=form
        ),
    )


def _item_page(
    request: Request,
    ctx: Ctx,
    who: Principal,
    code: str,
    *,
    errors: list[str] | None = None,
    status: int = 200,
    form: FormData | None = None,
) -> Response:
    return _render(
        request,
        "fbdesk_item.html",
        who,
        status=status,
        errors=errors,
        item=feedback.improvement_view(ctx, feedback.get_improvement(ctx, code)),
        statuses=feedback.BOARD_STATUSES,
        form=form,
    )


@router.get("/fbdesk/board/{code}")
def item_page(code: str, request: Request, ctx: PageCtx, who: Manager) -> Response:
    return _item_page(request, ctx, who, code)


@router.post("/fbdesk/board/{code}")
def item_save(code: str, request: Request, ctx: PageCtx, form: FormDep, who: Manager) -> Response:
    feedback.get_improvement(ctx, code)
    raw = _field(form, "progress", 4)
    return _act(
        request,
        ctx,
        lambda: desk.edit_improvement(
            ctx,
            code,
            title=_field(form, "title", 300),
            description=_field(form, "description", 5000),
            status=_field(form, "status", 16) or None,
            progress=int(raw) if raw.isdigit() else None,
            actor=who.name,
        ),
        "saved",
        f"/fbdesk/board/{quote(code)}",
        lambda errors, status: _item_page(
            request, ctx, who, code, errors=errors, status=status, form=form
        ),
    )


@router.post("/fbdesk/board/{code}/publish")
def item_publish(
    code: str, request: Request, ctx: PageCtx, form: FormDep, who: Manager
) -> Response:
    feedback.get_improvement(ctx, code)
    return _act(
        request,
        ctx,
        lambda: desk.publish_improvement(ctx, code, actor=who.name),
        "published",
        f"/fbdesk/board/{quote(code)}",
        lambda errors, status: _item_page(request, ctx, who, code, errors=errors, status=status),
    )


@router.post("/fbdesk/board/{code}/sources")
def item_link(code: str, request: Request, ctx: PageCtx, form: FormDep, who: Manager) -> Response:
    """Link the rating, ticket or survey answer that raised the item (shown masked publicly)."""
    feedback.get_improvement(ctx, code)
    kind, ref = _field(form, "kind", 16), _field(form, "ref", 64)

    def act() -> None:
        if kind not in ("rating", "ticket", "survey_response") or not ref:
            raise ValidationFailed(
                "Choose what raised the item and give its number",
                message_zh="请选择来源类型并填写编号",
                code="board.source_invalid",
            )
        feedback.link_source(ctx, code, kind, ref, actor=who.name)

    return _act(
        request,
        ctx,
        act,
        "linked",
        f"/fbdesk/board/{quote(code)}",
        lambda errors, status: _item_page(
            request, ctx, who, code, errors=errors, status=status, form=form
        ),
    )
