"""The department workbench: the searchable task queue, the case page and a head's actions.

The queue is searched, filtered, sorted and paged in the database: the total and the counters
are those of the whole filtered set, never of the rows on screen. Names are shown, never
usernames; the system's own steps read as words ("系统", "申请人", a timer's BPMN name).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from starlette.datastructures import FormData, QueryParams
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from onewindow.catalog import service as catalog
from onewindow.catalog.models import ServiceItem, Staff
from onewindow.feedback import service as feedback
from onewindow.intake.models import Applicant, Application
from onewindow.kit.errors import NotFound, OneWindowError
from onewindow.kit.platform import Ctx
from onewindow.security.authz import require_page, staff_of, visible_application
from onewindow.security.schemas import Principal
from onewindow.web import case_views
from onewindow.web.case_views import person_name
from onewindow.web.i18n import Lang, error_text, lang_of, translate
from onewindow.web.pages import mask_name, page, render_html
from onewindow.web.routes import NEARING, FormDep, PageCtx, PageRoute
from onewindow.web.routes import _document_rows as document_rows
from onewindow.web.routes import _my_task as my_task
from onewindow.workflow import service as workflow
from onewindow.workflow.models import Case, Task

router = APIRouter(include_in_schema=False, route_class=PageRoute)

Worker = Annotated[Principal, require_page("tasks.work")]
# The case page also opens from the process-analysis page's case lists (analysts, directors).
CaseReader = Annotated[Principal, require_page("cases.search")]
PAGE_SIZES = (20, 50, 100)
DEFAULT_SIZE = 50
STATUSES = ("ready", "claimed")
URGENCIES = ("overdue", "nearing", "escalated")


# --- names ---------------------------------------------------------------------------------------


def applicant_label(applicant: Applicant | None, form: Mapping[str, Any] | None) -> str:
    """The applicant as staff see them in a list: a business by name, a person masked, and the
    company the application is for when the form names one."""
    if applicant is None:
        return ""
    shown = applicant.name if applicant.kind == "business" else mask_name(applicant.name)
    company = next((str(form[f]) for f in workflow.COMPANY_FIELDS if form and form.get(f)), "")
    return f"{shown} · {company}" if company and company != applicant.name else shown


# --- the queue ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class QueueRow:
    task: Task
    task_name: str  # in the page's language (case_views.task_name)
    case: Case
    service: ServiceItem | None  # None for a complaint or rectification case
    urgency: str  # overdue | nearing | ok
    applicant: str
    claimed_by: str
    department: str
    own: bool  # the caller's department's task (it can be opened)


@dataclass(frozen=True)
class QueueParams:
    """The queue's query string, checked: anything unknown falls back to the default."""

    q: str = ""
    service: str = ""
    status: str = ""
    due: str = ""
    mine: bool = False
    scope: str = "own"  # own | involved (a head: every department's tasks of our cases)
    sort: str = "sla_due"
    desc: bool = False
    page: int = 1
    size: int = DEFAULT_SIZE

    @classmethod
    def parse(cls, params: QueryParams, *, head: bool) -> QueueParams:
        def number(name: str, default: int) -> int:
            raw = params.get(name, "")
            return int(raw) if raw.isdigit() and len(raw) < 7 else default

        size = number("size", DEFAULT_SIZE)
        return cls(
            q=params.get("q", "")[: workflow.SEARCH_MAX],
            service=params.get("service", "")[:64],
            status=params.get("status", "") if params.get("status") in STATUSES else "",
            due=params.get("due", "") if params.get("due") in URGENCIES else "",
            mine=params.get("mine") == "1",
            scope="involved" if head and params.get("scope") == "involved" else "own",
            sort=params.get("sort", "")
            if params.get("sort") in workflow.QUEUE_SORTS
            else "sla_due",
            desc=params.get("dir") == "desc",
            page=max(number("page", 1), 1),
            size=size if size in PAGE_SIZES else DEFAULT_SIZE,
        )

    def query(self, **change: Any) -> str:
        """This query string with some values changed (the page goes back to 1 unless given)."""
        values: dict[str, Any] = {
            "q": self.q,
            "service": self.service,
            "status": self.status,
            "due": self.due,
            "mine": "1" if self.mine else "",
            "scope": "" if self.scope == "own" else self.scope,
            "sort": "" if self.sort == "sla_due" else self.sort,
            "dir": "desc" if self.desc else "",
            "page": "",
            "size": "" if self.size == DEFAULT_SIZE else self.size,
        }
        values.update(change)
        return urlencode({k: v for k, v in values.items() if v not in ("", None, 1)})

    def sort_query(self, column: str) -> str:
        desc = "" if self.sort != column or self.desc else "desc"
        return self.query(sort="" if column == "sla_due" else column, dir=desc)


def _urgency(task: Task, now: Any) -> str:
    if task.sla_due < now:
        return "overdue"
    if task.sla_due < now + NEARING:
        return "nearing"
    return "ok"


def queue_context(
    ctx: Ctx, lang: Lang, who: Principal, staff: Staff, p: QueueParams
) -> dict[str, Any]:
    now = ctx.clock.now()
    services = {s.code: s for s in catalog.list_services(ctx)}
    departments = {d.id: d for d in catalog.list_departments(ctx)}
    head = "head" in who.roles
    text, phone, id_number = workflow.search_terms(p.q)
    involved = p.scope == "involved"
    query = workflow.QueueQuery(
        department_ids=list(departments) if involved else [staff.department_id],
        involving_department_id=staff.department_id if involved else None,
        now=now,
        nearing=NEARING,
        text=text,
        phone=phone,
        id_number=id_number,
        service_code=p.service or None,
        status=p.status or None,
        urgency=p.due or None,
        claimed_by=staff.username if p.mine else None,
        sort=p.sort,
        descending=p.desc,
        limit=p.size,
        offset=(p.page - 1) * p.size,
    )
    found, total, counts = workflow.search_queue(ctx, query, me=staff.username)
    last_page = max((total + p.size - 1) // p.size, 1)
    if p.page > last_page:  # past the end (the queue shrank, or a typed URL): the last page
        p = replace(p, page=last_page)
        query = replace(query, offset=(last_page - 1) * p.size)
        found, total, counts = workflow.search_queue(ctx, query, me=staff.username)
    rows = []
    for task, case, application, applicant in found:
        dept = departments.get(task.department_id or 0)
        rows.append(
            QueueRow(
                task=task,
                task_name=case_views.task_name(ctx, lang, task, case),
                case=case,
                service=services.get(case.service_code),
                urgency=_urgency(task, now),
                applicant=applicant_label(
                    applicant, application.form_data if application else None
                ),
                claimed_by=person_name(ctx, lang, task.claimed_by),
                department=(dept.name_en if lang == "en" else dept.name_zh) if dept else "",
                own=task.department_id == staff.department_id,
            )
        )
    pages = max((total + p.size - 1) // p.size, 1)
    return {
        "rows": rows,
        "counts": counts,
        "total": total,
        "p": p,
        "pages": pages,
        "first": (p.page - 1) * p.size + 1 if rows else 0,
        "last": (p.page - 1) * p.size + len(rows),
        "services": sorted(services.values(), key=lambda s: s.code),
        "head": head,
        "staff": staff,
    }


@router.get("/workbench")
def workbench(request: Request, ctx: PageCtx, who: Worker) -> Response:
    staff = staff_of(ctx, who)
    lang = lang_of(request)
    p = QueueParams.parse(request.query_params, head="head" in who.roles)
    return page(
        request,
        "workbench.html",
        principal=who,
        zone=ctx.calendar.zone,
        done=request.query_params.get("done", "")[:40],
        done_action=request.query_params.get("action", "")[:16],
        **queue_context(ctx, lang, who, staff, p),
    )


@router.get("/workbench/queue")
def workbench_queue(request: Request, ctx: PageCtx, who: Worker) -> Response:
    """htmx: the queue alone, refreshed in place with the same search."""
    staff = staff_of(ctx, who)
    p = QueueParams.parse(request.query_params, head="head" in who.roles)
    html = render_html(
        request,
        "_queue.html",
        principal=who,
        zone=ctx.calendar.zone,
        **queue_context(ctx, lang_of(request), who, staff, p),
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


# --- the case page -----------------------------------------------------------------------------


def visible_case(ctx: Ctx, who: Principal, number: str) -> tuple[Case, Application | None]:
    """The case by number, or 404 when it does not exist *or* the caller may not see it.

    An application is seen as ``authz.visible_application`` says; a complaint or a
    rectification by the departments that have (had) a task in it.
    """
    try:
        case = workflow.case_by_number(ctx, number)
    except NotFound:
        case = None
    if case is not None and case.application_id is not None:
        return case, visible_application(ctx, who, number)
    if case is None or not any(
        t.department_id == who.department_id for t in workflow.tasks_of_case(ctx, case.id)
    ):
        raise NotFound(f"No case {number}", message_zh=f"案件 {number} 不存在", code="case.unknown")
    return case, None


def _case_page(
    request: Request,
    ctx: Ctx,
    who: Principal,
    number: str,
    *,
    status: int = 200,
    errors: Sequence[str] = (),
    notice: str | None = None,
) -> Response:
    staff = staff_of(ctx, who)
    lang = lang_of(request)
    case, application = visible_case(ctx, who, number)
    service = catalog.get_service_by_id(ctx, application.service_item_id) if application else None
    open_tasks = [
        t for t in workflow.open_tasks(ctx, case.id) if not t.for_applicant or application
    ]
    head = "head" in who.roles
    return page(
        request,
        "case.html",
        status=status,
        principal=who,
        zone=ctx.calendar.zone,
        case=case,
        application=application,
        service=service,
        applicant=application.applicant if application else None,
        subject=None if application else feedback.subject_view(ctx, case),
        open_tasks=case_views.open_tasks_named(ctx, lang, open_tasks),
        history=case_views.history_rows(ctx, lang, case),
        documents=document_rows(ctx, case, case.number) if application else [],
        materials=case_views.material_groups(ctx, lang, application, service)
        if application and service
        else [],
        material_names={m.code: m for m in service.materials} if service else {},
        staff=staff,
        head=head,
        manageable=[
            {
                "task": t,
                "name": case_views.task_name(ctx, lang, t, case),
                "transfer": workflow.can_transfer(case, t),
            }
            for t in open_tasks
            if head and not t.for_applicant and t.department_id == staff.department_id
        ],
        colleagues=[
            s
            for s in catalog.list_staff(ctx, staff.department.code)
            if s.active and set(s.roles) & set(workflow.STAFF_ROLES)
        ]
        if head
        else [],
        departments=[d for d in catalog.list_departments(ctx) if d.id != staff.department_id],
        now=ctx.clock.now(),
        errors=list(errors),
        notice=notice,
    )


@router.get("/workbench/cases/{number}")
def case_page(number: str, request: Request, ctx: PageCtx, who: CaseReader) -> Response:
    """办件详情: the whole case — where it stands, its history with the opinions and the
    documents, the materials with their versions, and the process drawn."""
    done = request.query_params.get("done", "")
    notice = translate(lang_of(request), f"wb_done_{done}") if done in HEAD_ACTIONS else None
    return _case_page(request, ctx, who, number, notice=notice)


# --- a head's actions --------------------------------------------------------------------------

Head = Annotated[Principal, require_page("tasks.assign")]
HEAD_ACTIONS = ("reassigned", "transferred", "taken_back")


def _head_action(
    request: Request,
    ctx: Ctx,
    who: Principal,
    task_id: int,
    done: str,
    act: Callable[[Staff, Task], object],
) -> Response:
    """Run one head action on a task of the caller's department, then show its case again:
    on success after a redirect, on a refusal at once with the reason (nothing changed)."""
    staff = staff_of(ctx, who)
    task = my_task(ctx, who, task_id)
    number = workflow.get_case(ctx, task.case_id).number
    try:
        act(staff, task)
    except OneWindowError as exc:
        ctx.session.rollback()
        return _case_page(
            request,
            ctx,
            who,
            number,
            status=exc.status,
            errors=[error_text(lang_of(request), exc)],
        )
    ctx.session.commit()
    return RedirectResponse(f"/workbench/cases/{quote(number)}?done={done}", status_code=303)


def _field(form: FormData, name: str, limit: int) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


@router.post("/workbench/tasks/{task_id}/reassign")
def task_reassign(
    task_id: int, request: Request, ctx: PageCtx, form: FormDep, who: Head
) -> Response:
    """改派 to a named member of the department."""
    to, reason = _field(form, "to", 64), _field(form, "reason", 500)
    return _head_action(
        request,
        ctx,
        who,
        task_id,
        "reassigned",
        lambda staff, task: workflow.reassign_task(ctx, task.id, to, actor=staff, reason=reason),
    )


@router.post("/workbench/tasks/{task_id}/transfer")
def task_transfer(
    task_id: int, request: Request, ctx: PageCtx, form: FormDep, who: Head
) -> Response:
    """转办 to another department's queue, where the process allows it."""
    to, reason = _field(form, "department", 32), _field(form, "reason", 500)
    return _head_action(
        request,
        ctx,
        who,
        task_id,
        "transferred",
        lambda staff, task: workflow.transfer_task(ctx, task.id, to, actor=staff, reason=reason),
    )


@router.post("/workbench/tasks/{task_id}/take-back")
def task_take_back(
    task_id: int, request: Request, ctx: PageCtx, form: FormDep, who: Head
) -> Response:
    """收回 a claimed task into the queue."""
    reason = _field(form, "reason", 500)
    return _head_action(
        request,
        ctx,
        who,
        task_id,
        "taken_back",
        lambda staff, task: workflow.take_back_task(ctx, task.id, actor=staff, reason=reason),
    )


@router.get("/workbench/cases/{number}/diagram")
def case_diagram(number: str, ctx: PageCtx, who: CaseReader) -> Response:
    """The case's process (BPMN XML) and where it stands, for the diagram on the case page."""
    staff_of(ctx, who)
    case, _ = visible_case(ctx, who, number)
    drawn = workflow.case_diagram(ctx, case)
    return JSONResponse(
        {"xml": drawn.xml, "current": drawn.current, "done": drawn.done},
        headers={"Cache-Control": "no-store"},
    )
