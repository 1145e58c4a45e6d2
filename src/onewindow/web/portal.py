"""The citizen portal, phone first: my cases, 补正, 一事一评 ratings, complaints, applying online.

Every page here is for an applicant signed in with a one-time code sent to their mobile: they
see only what is theirs (their own name unmasked), and act through the domains' services —
intake's checks for an application, the workflow for a 补正, feedback for ratings and tickets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import Response

from onewindow.catalog import service as catalog
from onewindow.catalog.models import ServiceItem
from onewindow.eventlog import service as eventlog
from onewindow.feedback import corpus
from onewindow.feedback import service as feedback
from onewindow.feedback.schemas import CaseRatingIn, TicketIn
from onewindow.intake import service as intake
from onewindow.intake.models import Application
from onewindow.intake.schemas import Upload
from onewindow.kit.errors import OneWindowError, PermissionDenied, ValidationFailed
from onewindow.kit.platform import Ctx
from onewindow.security.authz import require_page, visible_application
from onewindow.security.schemas import Principal
from onewindow.web import case_views
from onewindow.web.i18n import Lang, error_text, lang_of, translate
from onewindow.web.pages import page
from onewindow.web.routes import (
    FormDep,
    PageCtx,
    PageRoute,
    _commit,
    _document_rows,
    _file,
    _redirect,
    _text,
    _upload,
    _zone,
)
from onewindow.workflow import flows
from onewindow.workflow import service as workflow

router = APIRouter(include_in_schema=False, route_class=PageRoute)

Reader = Annotated[Principal, require_page("applications.read")]
LEVELS = (5, 4, 3, 2, 1)
ONLINE_INDICATORS = feedback.INDICATORS["online"]
MAX_TICKET_CHARS = 4000
TICKET_KINDS = ("complaint", "suggestion", "enquiry", "praise")
# The 12345 loop as the citizen sees it: 受理 → 派单 → 办理 → 答复 → 办结.
TICKET_STEPS = (
    ("pt_step_accept", "pending_acceptance"),
    ("pt_step_dispatch", "pending_assignment"),
    ("pt_step_handle", "pending_at_department"),
    ("pt_step_reply", "resolved"),
    ("pt_step_close", "closed"),
)
_STEP_OF_STATUS = {
    "pending_acceptance": 0,
    "pending_assignment": 1,
    "pending_at_department": 2,
    "pending_closure": 3,
    "resolved": 3,
    "closed": 4,
    "not_accepted": 4,
}


def _applicant_only(who: Principal) -> str:
    if who.kind != "applicant" or not who.phone:
        raise PermissionDenied(
            "Applicants only: sign in with your mobile number",
            message_zh="仅限申请人（请使用手机号码登录）",
            code="permission.denied",
        )
    return who.phone


def _citizen(phone: str) -> feedback.Actor:
    return feedback.Actor.citizen(phone)


def _own_name(ctx: Ctx, phone: str) -> str:
    """The applicant's own name, shown to them unmasked (they are its owner)."""
    found = intake.applicants_of_phone(ctx, phone)
    return found[0].name if len(found) == 1 else ""


# --- my cases -------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseCard:
    application: Application
    service: ServiceItem | None
    supplement_due: datetime | None = None
    rate: bool = False
    rated_level: int | None = None


def _applicant_task(ctx: Ctx, application: Application) -> Any:
    case = workflow.application_case(ctx, application.id)
    return next((t for t in workflow.open_tasks(ctx, case.id) if t.for_applicant), None)


def _card(ctx: Ctx, application: Application, services: dict[int, ServiceItem]) -> CaseCard:
    waiting = _applicant_task(ctx, application) if application.closed_at is None else None
    rating = feedback.rating_of_application(ctx, application.id)
    return CaseCard(
        application,
        services.get(application.service_item_id),
        supplement_due=waiting.sla_due if waiting is not None else None,
        rate=application.closed_at is not None and rating is None,
        rated_level=rating.level if rating is not None else None,
    )


@router.get("/portal")
def portal(request: Request, ctx: PageCtx, who: Reader) -> Response:
    phone = _applicant_only(who)
    services = {s.id: s for s in catalog.list_services(ctx)}
    cards = [_card(ctx, a, services) for a in intake.applications_of_phone(ctx, phone)]
    todo = [c for c in cards if c.supplement_due is not None or c.rate]
    running = [c for c in cards if c not in todo and c.application.closed_at is None]
    done = [c for c in cards if c not in todo and c.application.closed_at is not None]
    return page(
        request,
        "portal.html",
        principal=who,
        zone=_zone(ctx),
        todo=todo,
        running=running,
        done=done,
        empty=not cards,
        phone=phone,
        own_name=_own_name(ctx, phone),
        tab="cases",
    )


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    label: str
    department: str
    tone: str  # done | start | warn | bad | good


_DECISION_LABELS = {
    "send_back": ("pt_ev_sent_back", "warn"),
    "reject": ("pt_ev_refused", "bad"),
    "not_accept": ("pt_ev_not_accepted", "bad"),
    "approve": ("pt_ev_passed", "done"),
    "accept": ("pt_ev_accepted", "done"),
}


def _timeline(ctx: Ctx, lang: Lang, application: Application) -> list[TimelineEntry]:
    """The case's events in the applicant's words: a send-back says so, never 办理完成."""
    departments = case_views.department_names(ctx, lang)
    out: list[TimelineEntry] = []
    case = workflow.application_case(ctx, application.id)
    for event in eventlog.case_history(ctx, case.id):
        tone = case_views.TONES.get(event.event_type, "done")
        activity = case_views.element_name(ctx, lang, case, event.activity_id, event.activity)
        decision = str((event.attributes or {}).get("decision") or "")
        if event.event_type == "task_completed" and event.resource == workflow.APPLICANT_RESOURCE:
            label = translate(lang, "ev_applicant_completed")
        elif event.event_type == "task_completed" and decision in _DECISION_LABELS:
            key, tone = _DECISION_LABELS[decision]
            label = translate(lang, key, activity=activity)
        else:
            label = translate(lang, f"ev_{event.event_type}", activity=activity)
            if label == f"ev_{event.event_type}":
                label = activity
        name = departments.get(event.department or "", "")
        out.append(TimelineEntry(event.timestamp, label, name, tone))
    return out


@dataclass
class SendBack:
    """The latest 补正 the applicant has to answer: what, by when, from whom."""

    items: list[dict[str, Any]]
    note: str
    due: datetime | None
    department: str
    overdue: bool


def _send_back(
    ctx: Ctx, lang: Lang, application: Application, decisions: Sequence[dict[str, Any]]
) -> SendBack | None:
    task = _applicant_task(ctx, application)
    if task is None:
        return None
    asked = [d for d in decisions if d["decision"] == "send_back"]
    last = asked[-1] if asked else {}
    dept_code = str(last.get("department") or "")
    dept = next((d for d in catalog.list_departments(ctx) if d.code == dept_code), None)
    return SendBack(
        items=list(last.get("missing_items") or []),
        note=str(last.get("opinion") or ""),
        due=task.sla_due,
        department=(dept.name_en if lang == "en" else dept.name_zh) if dept else "",
        overdue=task.sla_due is not None and task.sla_due < ctx.clock.now(),
    )


@dataclass
class RatingForm:
    level: int | None = None
    indicators: dict[str, int] = field(default_factory=dict)
    comment: str = ""
    anonymous: bool = False
    errors: list[str] = field(default_factory=list)


def _case_page(
    request: Request,
    ctx: Ctx,
    who: Principal,
    application: Application,
    *,
    status: int = 200,
    errors: Sequence[str] = (),
    notice: str | None = None,
    rating_form: RatingForm | None = None,
    confirm_form: dict[str, str] | None = None,
) -> Response:
    lang = lang_of(request)
    service = catalog.get_service_by_id(ctx, application.service_item_id)
    case = workflow.application_case(ctx, application.id)
    decisions = workflow.decision_views(ctx, case, for_applicant=True)
    send_back = _send_back(ctx, lang, application, decisions)
    asked = {i["code"] for i in send_back.items} if send_back else set()
    requested = [m for m in service.materials if m.code in asked]
    rating = feedback.rating_of_application(ctx, application.id)
    if rating_form is not None and (application.closed_at is None or rating is not None):
        errors = [*errors, *rating_form.errors]  # no rating form to show them beside
    return page(
        request,
        "portal_case.html",
        status=status,
        principal=who,
        zone=_zone(ctx),
        application=application,
        service=service,
        timeline=_timeline(ctx, lang, application),
        send_back=send_back,
        requested=requested,
        # Items named in free words rather than by a material: any material may answer them.
        others=[] if requested or send_back is None else list(service.materials),
        refusals=[d for d in decisions if d["decision"] in ("reject", "not_accept")],
        documents=_document_rows(ctx, case, application.number),
        errors=list(errors),
        notice=notice,
        finished=application.closed_at is not None,
        rating=feedback.rating_view(ctx, rating, masked=False) if rating else None,
        rectify_due=feedback.rectify_due(ctx, rating) if rating and rating.level <= 2 else None,
        appeal_due=feedback.appeal_due(ctx, rating) if rating else None,
        answer=feedback.rectification_answer(ctx, rating) if rating else None,
        confirm_form=confirm_form or {},
        rating_form=rating_form or RatingForm(),
        levels=LEVELS,
        indicators=[i for i in ONLINE_INDICATORS if i != "overall"],
        tab="cases",
    )


@router.get("/portal/cases/{number}")
def portal_case(number: str, request: Request, ctx: PageCtx, who: Reader) -> Response:
    _applicant_only(who)
    application = visible_application(ctx, who, number)
    lang = lang_of(request)
    notice = None
    if "done" in request.query_params:
        notice = translate(lang, "portal_supplemented")
    elif "rated" in request.query_params:
        notice = translate(lang, "pt_rate_done")
    elif "appealed" in request.query_params:
        notice = translate(lang, "pt_appeal_sent")
    elif "confirmed" in request.query_params:
        notice = translate(lang, "pt_answer_confirmed")
    elif "applied" in request.query_params:
        notice = translate(lang, "pt_apply_done", number=application.number)
    return _case_page(request, ctx, who, application, notice=notice)


@router.post("/portal/cases/{number}/supplement")
def portal_supplement(
    number: str,
    request: Request,
    ctx: PageCtx,
    form: FormDep,
    who: Annotated[Principal, require_page("applications.supplement")],
) -> Response:
    _applicant_only(who)
    lang = lang_of(request)
    application = visible_application(ctx, who, number)
    service = catalog.get_service_by_id(ctx, application.service_item_id)
    uploads: list[Upload] = []
    errors: list[str] = []
    for m in service.materials:
        file = _file(form, f"file_{m.code}")
        if file is None:
            continue
        upload = _upload(m.code, file)
        try:
            intake.check_upload(ctx, service, upload)
        except ValidationFailed as exc:
            errors.append(f"{m.name_en if lang == 'en' else m.name_zh}: {error_text(lang, exc)}")
            continue
        uploads.append(upload)
    if not uploads and not errors:
        errors.append(translate(lang, "portal_upload_none"))
    if errors:
        return _case_page(request, ctx, who, application, status=422, errors=errors)
    try:
        flows.supplement(ctx, application.number, uploads, actor=workflow.APPLICANT_RESOURCE)
    except OneWindowError as exc:
        ctx.session.rollback()
        application = visible_application(ctx, who, number)
        return _case_page(
            request, ctx, who, application, status=exc.status, errors=[error_text(lang, exc)]
        )
    _commit(ctx)
    return _redirect(f"/portal/cases/{quote(application.number)}?done=1")


# --- 一事一评 -----------------------------------------------------------------------------


def _rating_form(form: Any, lang: Lang) -> RatingForm:
    """What the applicant chose, with every problem the page can tell before the service."""
    out = RatingForm(
        comment=_text(form, "comment", 4000), anonymous=_text(form, "anonymous") == "on"
    )
    raw = _text(form, "level", 4)
    if raw.isdigit() and int(raw) in LEVELS:
        out.level = int(raw)
    else:
        out.errors.append(translate(lang, "pt_rate_choose_level"))
    for key in ONLINE_INDICATORS:
        value = _text(form, f"i_{key}", 4)
        if not value:
            continue
        if value.isdigit() and int(value) in LEVELS:
            out.indicators[key] = int(value)
        else:
            out.errors.append(translate(lang, "pt_rate_bad_indicator", name=_ind(lang, key)))
    return out


def _ind(lang: Lang, key: str) -> str:
    return translate(lang, f"pt_ind_{key}")


@router.post("/portal/cases/{number}/rate")
def portal_rate(
    number: str,
    request: Request,
    ctx: PageCtx,
    form: FormDep,
    who: Annotated[Principal, require_page("feedback.rate")],
) -> Response:
    phone = _applicant_only(who)
    lang = lang_of(request)
    application = visible_application(ctx, who, number)
    chosen = _rating_form(form, lang)
    if not chosen.errors and chosen.level is not None:
        try:
            feedback.rate_case(
                ctx,
                CaseRatingIn(
                    case_number=application.number,
                    level=chosen.level,
                    indicators=chosen.indicators,
                    comment=chosen.comment,
                    anonymous=chosen.anonymous,
                ),
                actor=_citizen(phone),
            )
        except OneWindowError as exc:
            ctx.session.rollback()
            chosen.errors.append(error_text(lang, exc))
            application = visible_application(ctx, who, number)
            return _case_page(request, ctx, who, application, status=exc.status, rating_form=chosen)
        _commit(ctx)
        return _redirect(f"/portal/cases/{quote(application.number)}?rated=1#rating")
    return _case_page(request, ctx, who, application, status=422, rating_form=chosen)


@router.post("/portal/cases/{number}/appeal")
def portal_appeal(
    number: str,
    request: Request,
    ctx: PageCtx,
    form: FormDep,
    who: Annotated[Principal, require_page("feedback.rate")],
) -> Response:
    """申诉: the rater contests the exclusion of their bad rating, or accepts it."""
    phone = _applicant_only(who)
    lang = lang_of(request)
    application = visible_application(ctx, who, number)
    rating = feedback.rating_of_application(ctx, application.id)
    action, reason = _text(form, "appeal", 16), _text(form, "reason", 4000)
    errors: list[str] = []
    if action not in ("appeal", "accept"):
        errors.append(translate(lang, "please_choose"))
    elif action == "appeal" and not reason:
        errors.append(translate(lang, "pt_appeal_reason_required"))
    if rating is None or rating.rater_phone != phone:
        errors = [translate(lang, "pt_appeal_nothing")]
    if not errors and rating is not None:
        try:
            data = {"appeal": action, **({"reason": reason} if reason else {})}
            feedback.answer_appeal(ctx, rating, data, actor=_citizen(phone))
        except OneWindowError as exc:
            ctx.session.rollback()
            errors.append(error_text(lang, exc))
            application = visible_application(ctx, who, number)
        else:
            _commit(ctx)
            return _redirect(f"/portal/cases/{quote(application.number)}?appealed=1#rating")
    return _case_page(request, ctx, who, application, status=422, errors=errors)


@router.post("/portal/cases/{number}/confirm")
def portal_confirm(
    number: str,
    request: Request,
    ctx: PageCtx,
    form: FormDep,
    who: Annotated[Principal, require_page("feedback.rate")],
) -> Response:
    """回访 online: the rater says whether the rectification of their bad rating satisfies
    them, with a comment (required when it does not)."""
    phone = _applicant_only(who)
    lang = lang_of(request)
    application = visible_application(ctx, who, number)
    rating = feedback.rating_of_application(ctx, application.id)
    choice = _text(form, "satisfied", 8)
    # one character over the limit is kept so the service can refuse it, not cut it
    comment = _text(form, "comment", feedback.MAX_CONFIRMATION_CHARS + 1)
    chosen = {"satisfied": choice, "comment": comment}
    errors: list[str] = []
    if choice not in ("yes", "no"):
        errors.append(translate(lang, "please_choose"))
    if rating is None:
        errors = [translate(lang, "pt_answer_nothing")]
    if not errors and rating is not None:
        try:
            feedback.confirm_rectification(
                ctx, rating, choice == "yes", comment, actor=_citizen(phone)
            )
        except OneWindowError as exc:
            ctx.session.rollback()
            errors.append(error_text(lang, exc))
            application = visible_application(ctx, who, number)
            return _case_page(
                request,
                ctx,
                who,
                application,
                status=exc.status,
                errors=errors,
                confirm_form=chosen,
            )
        _commit(ctx)
        return _redirect(f"/portal/cases/{quote(application.number)}?confirmed=1#answer")
    return _case_page(
        request, ctx, who, application, status=422, errors=errors, confirm_form=chosen
    )


# --- complaints (12345-style) ---------------------------------------------------------------


@router.get("/portal/complaints")
def complaints(request: Request, ctx: PageCtx, who: Reader) -> Response:
    phone = _applicant_only(who)
    return page(
        request,
        "portal_complaints.html",
        principal=who,
        zone=_zone(ctx),
        tickets=feedback.list_tickets(ctx, _citizen(phone)),
        tab="complaints",
        when=_instant,
    )


def _instant(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


@dataclass
class ComplaintForm:
    kind: str = "complaint"
    text: str = ""
    district: str = ""
    street: str = ""
    contact_name: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def _complaint_page(
    request: Request, ctx: Ctx, who: Principal, data: ComplaintForm, *, status: int = 200
) -> Response:
    return page(
        request,
        "portal_complaint_new.html",
        status=status,
        principal=who,
        zone=_zone(ctx),
        form=data,
        kinds=TICKET_KINDS,
        districts=list(corpus.DISTRICTS),
        tab="complaints",
    )


@router.get("/portal/complaints/new")
def complaint_form(request: Request, ctx: PageCtx, who: Reader) -> Response:
    phone = _applicant_only(who)
    return _complaint_page(request, ctx, who, ComplaintForm(contact_name=_own_name(ctx, phone)))


@router.post("/portal/complaints")
def complaint_submit(
    request: Request,
    ctx: PageCtx,
    form: FormDep,
    who: Annotated[Principal, require_page("feedback.submit")],
) -> Response:
    phone = _applicant_only(who)
    lang = lang_of(request)
    data = ComplaintForm(
        kind=_text(form, "kind", 16),
        text=_text(form, "text", 100_000),
        district=_text(form, "district", 32),
        street=_text(form, "street", 64),
        contact_name=_text(form, "contact_name", 100),
    )
    if data.kind not in TICKET_KINDS:
        data.errors["kind"] = translate(lang, "pt_complaint_kind_invalid")
    if not data.text:
        data.errors["text"] = translate(lang, "pt_complaint_text_required")
    elif len(data.text) > MAX_TICKET_CHARS:
        data.errors["text"] = translate(lang, "pt_complaint_too_long", n=len(data.text))
    if data.district not in corpus.DISTRICTS:
        data.errors["district"] = translate(lang, "pt_complaint_district_invalid")
    if data.errors:
        return _complaint_page(request, ctx, who, data, status=422)
    try:
        ticket = feedback.submit_ticket(
            ctx,
            TicketIn(
                text=data.text,
                kind=data.kind,  # checked against TICKET_KINDS
                district=data.district,
                street=data.street or None,
                contact_name=data.contact_name or None,
            ),
            actor=_citizen(phone),
        )
    except OneWindowError as exc:
        ctx.session.rollback()
        data.errors["text"] = error_text(lang, exc)
        return _complaint_page(request, ctx, who, data, status=exc.status)
    number = ticket.number
    _commit(ctx)
    return _redirect(f"/portal/complaints/{quote(number)}?sent=1")


def _ticket_page(
    request: Request,
    ctx: Ctx,
    who: Principal,
    phone: str,
    number: str,
    *,
    status: int = 200,
    errors: Sequence[str] = (),
    notice: str | None = None,
) -> Response:
    ticket = feedback.visible_ticket(ctx, number, _citizen(phone))
    view = feedback.ticket_view(ctx, ticket)
    departments = {d.code: d for d in catalog.list_departments(ctx)}
    dept = departments.get(view["department"] or "")
    duplicate = view["duplicate_of"]
    return page(
        request,
        "portal_complaint.html",
        status=status,
        principal=who,
        zone=_zone(ctx),
        ticket=view,
        department=dept,
        step=_STEP_OF_STATUS.get(view["status"], 0),
        steps=TICKET_STEPS,
        created_at=_instant(view["created_at"]),
        handle_due=_instant(view["handle_due"]),
        closed_at=_instant(view["closed_at"]),
        answerable=view["status"] == "resolved",
        reopen_days=feedback.policy(ctx).reopen_days,
        duplicate=duplicate,
        levels=LEVELS,
        errors=list(errors),
        notice=notice,
        tab="complaints",
    )


@router.get("/portal/complaints/{number}")
def complaint(number: str, request: Request, ctx: PageCtx, who: Reader) -> Response:
    phone = _applicant_only(who)
    lang = lang_of(request)
    notice = None
    if "sent" in request.query_params:
        notice = translate(lang, "pt_complaint_sent", number=number)
    elif "answered" in request.query_params:
        notice = translate(lang, "pt_complaint_answered")
    return _ticket_page(request, ctx, who, phone, number, notice=notice)


@router.post("/portal/complaints/{number}/answer")
def complaint_answer(
    number: str,
    request: Request,
    ctx: PageCtx,
    form: FormDep,
    who: Annotated[Principal, require_page("feedback.submit")],
) -> Response:
    phone = _applicant_only(who)
    lang = lang_of(request)
    action = _text(form, "action", 16)
    raw = _text(form, "satisfaction", 4)
    comment = _text(form, "comment", 4000)
    errors: list[str] = []
    satisfaction = int(raw) if raw.isdigit() and int(raw) in LEVELS else None
    if action not in ("confirm", "reopen"):
        errors.append(translate(lang, "please_choose"))
    if action == "confirm" and satisfaction is None:
        errors.append(translate(lang, "pt_rate_choose_level"))
    if action == "reopen" and not comment:
        errors.append(translate(lang, "pt_complaint_reopen_reason"))
    if errors:
        return _ticket_page(request, ctx, who, phone, number, status=422, errors=errors)
    try:
        feedback.answer_as_citizen(
            ctx, number, action, satisfaction, comment, actor=_citizen(phone)
        )
    except OneWindowError as exc:
        ctx.session.rollback()
        return _ticket_page(
            request, ctx, who, phone, number, status=exc.status, errors=[error_text(lang, exc)]
        )
    _commit(ctx)
    return _redirect(f"/portal/complaints/{quote(number)}?answered=1")
