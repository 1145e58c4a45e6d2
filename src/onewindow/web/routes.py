"""HTML pages: sign-in, front desk, department workbench, applicant portal, dashboard, admin.

Every route names its permission (``require_page`` / ``public``). Errors raised inside a page
become a page in the user's language, not problem JSON: ``PageRoute`` catches them, rolls the
request's transaction back and renders ``error.html``. A handler that writes commits before it
answers, so the page the browser is redirected to already sees the change.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from starlette.datastructures import FormData, UploadFile
from starlette.responses import HTMLResponse, RedirectResponse, Response

from onewindow.catalog import service as catalog
from onewindow.catalog.models import ServiceItem
from onewindow.datahub import service as datahub
from onewindow.datahub.schemas import AggregateTotal, PrefillSource
from onewindow.documents import DocumentKind
from onewindow.feedback import service as feedback
from onewindow.intake import service as intake
from onewindow.intake import staging
from onewindow.intake.models import Application, StagedUpload
from onewindow.intake.schemas import ApplicantIn, Upload
from onewindow.integration import service as integration
from onewindow.kit.errors import NotFound, OneWindowError, PermissionDenied, ValidationFailed
from onewindow.kit.http import CtxDep, PlatformDep
from onewindow.kit.platform import Ctx
from onewindow.security import service as security
from onewindow.security.authz import (
    SESSION_COOKIE,
    LoginRedirect,
    public,
    require_page,
    resolve,
    staff_of,
    visible_application,
)
from onewindow.security.endpoints import set_session_cookie
from onewindow.security.schemas import Principal
from onewindow.simulation import publish
from onewindow.web import application_form, case_views, desk_forms
from onewindow.web.i18n import LANG_COOKIE, LANGS, Lang, error_text, lang_of, translate
from onewindow.web.pages import home_for, mask_name, mask_phone, page, render_html
from onewindow.workflow import documents, flows
from onewindow.workflow import service as workflow
from onewindow.workflow.engine import compile_bpmn, validate_bpmn
from onewindow.workflow.models import Case, Task

PRE_COOKIE = "ow_pre"  # double-submit token of the sign-in forms (no session exists yet)
NEARING = timedelta(hours=24)
# Fields the workbench's buttons fill in; the rest of a task's form is shown as inputs.
ACTION_FIELDS = frozenset({"decision", "missing_materials", "materials_complete"})


# --- error pages ----------------------------------------------------------------------------


def _safe_next(value: str | None) -> str | None:
    """A same-site path to return to after signing in, never another origin."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return None
    return value


def _login_redirect(request: Request, exc: LoginRedirect) -> Response:
    target = _safe_next(str(exc.details.get("next", ""))) or request.url.path
    login = "/portal/login" if target.startswith("/portal") else "/login"
    return RedirectResponse(f"{login}?next={quote(target, safe='/')}", status_code=303)


def error_page(request: Request, exc: OneWindowError) -> Response:
    """Render a OneWindowError as a page; the request's transaction is rolled back first."""
    ctx: Ctx | None = getattr(request.state, "ow_ctx", None)
    principal = None
    if ctx is not None:
        ctx.session.rollback()
        try:
            principal = resolve(request, ctx)
        except OneWindowError:
            principal = None
    lang = lang_of(request)
    if exc.status == 404:
        title, text = translate(lang, "error_404_title"), translate(lang, "error_404_text")
    elif exc.status == 403:
        title, text = translate(lang, "error_403_title"), error_text(lang, exc)
    else:
        title, text = translate(lang, "error_title"), error_text(lang, exc)
    return page(
        request,
        "error.html",
        status=exc.status if 400 <= exc.status < 600 else 400,
        principal=principal,
        title=title,
        text=text,
        code=exc.code,
        code_status=exc.status,
    )


class PageRoute(APIRoute):
    """A route whose OneWindowErrors (from dependencies too) render as pages."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRedirect as exc:
                return _login_redirect(request, exc)
            except OneWindowError as exc:
                return await run_in_threadpool(error_page, request, exc)

        return guarded


router = APIRouter(include_in_schema=False, route_class=PageRoute)


# --- dependencies ---------------------------------------------------------------------------


def _page_ctx(request: Request, ctx: CtxDep) -> Ctx:
    # Remembered so that an error page can roll the request's transaction back.
    request.state.ow_ctx = ctx
    return ctx


async def _form(request: Request) -> FormData:
    return await request.form()


PageCtx = Annotated[Ctx, Depends(_page_ctx)]
FormDep = Annotated[FormData, Depends(_form)]
Anyone = Annotated[Principal | None, public()]


def _text(form: FormData, name: str, limit: int = 2000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def _file(form: FormData, name: str) -> UploadFile | None:
    value = form.get(name)
    if isinstance(value, UploadFile) and value.filename:
        return value
    return None


def _upload(code: str, file: UploadFile) -> Upload:
    return Upload(code, file.filename or "material", file.file.read())


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _commit(ctx: Ctx) -> None:
    """Commit before answering: the page the browser goes to next must see the change."""
    ctx.session.commit()


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _staff_only(who: Principal) -> None:
    if who.kind != "staff":
        raise PermissionDenied("Staff only", message_zh="仅限工作人员", code="permission.denied")


def _zone(ctx: Ctx) -> Any:
    return ctx.calendar.zone


# --- landing, language, sign-in -------------------------------------------------------------


@router.get("/")
def landing(request: Request, ctx: PageCtx, who: Anyone) -> Response:
    target = home_for(who)
    if who is not None and target != "/":
        return _redirect(target)
    return page(
        request, "landing.html", principal=who, zone=_zone(ctx), services=catalog.list_services(ctx)
    )


@router.get("/favicon.ico", include_in_schema=False)
def favicon(who: Anyone) -> Response:
    """Browsers ask for /favicon.ico where a page names no icon (an htmx fragment opened on its
    own): the same icon, not a 404 in the console."""
    return RedirectResponse("/static/favicon.svg", status_code=308)


@router.get("/lang/{lang}")
def switch_language(lang: str, request: Request, who: Anyone) -> Response:
    if lang not in LANGS:
        raise NotFound("Unknown language", message_zh="不支持的语言")
    response = _redirect(_safe_next(request.query_params.get("next")) or "/")
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return response


def _pre_token(request: Request) -> str:
    return request.cookies.get(PRE_COOKIE) or secrets.token_urlsafe(18)


def _pre_ok(request: Request, form: FormData) -> bool:
    cookie = request.cookies.get(PRE_COOKIE)
    sent = _text(form, "pre")
    return bool(cookie and sent and secrets.compare_digest(cookie, sent))


def _with_pre(request: Request, response: Response, token: str) -> Response:
    if request.cookies.get(PRE_COOKIE) != token:
        response.set_cookie(PRE_COOKIE, token, httponly=True, samesite="lax", path="/")
    return response


def _login_page(
    request: Request,
    *,
    status: int = 200,
    error: str | None = None,
    username: str = "",
    next_url: str | None = None,
) -> Response:
    pre = _pre_token(request)
    response = page(
        request,
        "login.html",
        status=status,
        error=error,
        username=username,
        next_url=next_url or "",
        pre=pre,
    )
    return _with_pre(request, response, pre)


@router.get("/login")
def login_form(request: Request, ctx: PageCtx, who: Anyone) -> Response:
    next_url = _safe_next(request.query_params.get("next"))
    if who is not None and who.kind == "staff":
        return _redirect(next_url or home_for(who))
    return _login_page(request, next_url=next_url)


@router.post("/login")
def login_submit(
    request: Request, ctx: PageCtx, platform: PlatformDep, form: FormDep, who: Anyone
) -> Response:
    lang = lang_of(request)
    username, password = _text(form, "username", 64), _text(form, "password", 256)
    next_url = _safe_next(_text(form, "next"))
    if not _pre_ok(request, form):
        return _login_page(
            request,
            status=403,
            error=translate(lang, "login_expired"),
            username=username,
            next_url=next_url,
        )
    if not username or not password:
        return _login_page(
            request,
            status=422,
            error=translate(lang, "login_missing"),
            username=username,
            next_url=next_url,
        )
    address = _address(request)
    try:
        staff = security.authenticate(ctx, username, password, address=address)
    except security.AuthFailed as exc:
        ctx.session.rollback()
        with platform.unit_of_work() as other:  # the failure must outlive the rollback
            security.record_failure(other, security.failure_keys(username.strip().lower(), address))
        return _login_page(
            request,
            status=401,
            error=error_text(lang, exc),
            username=username,
            next_url=next_url,
        )
    except security.RateLimited as exc:
        ctx.session.rollback()
        return _login_page(
            request,
            status=429,
            error=error_text(lang, exc),
            username=username,
            next_url=next_url,
        )
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        security.end_session(ctx, old)
    token, _row = security.start_session(ctx, staff=staff, address=address)
    principal = security.principal_from_session(ctx, token)
    _commit(ctx)
    response = _redirect(next_url or home_for(principal))
    set_session_cookie(response, token, secure=platform.settings.env == "production")
    response.delete_cookie(PRE_COOKIE, path="/")
    return response


def _portal_login_page(
    request: Request,
    *,
    status: int = 200,
    error: str | None = None,
    phone: str = "",
    step: str = "phone",
    next_url: str | None = None,
) -> Response:
    pre = _pre_token(request)
    response = page(
        request,
        "portal_login.html",
        status=status,
        error=error,
        phone=phone,
        masked_phone=mask_phone(phone),
        step=step,
        next_url=next_url or "",
        pre=pre,
    )
    return _with_pre(request, response, pre)


@router.get("/portal/login")
def portal_login_form(request: Request, ctx: PageCtx, who: Anyone) -> Response:
    next_url = _safe_next(request.query_params.get("next"))
    if who is not None and who.kind == "applicant":
        return _redirect(next_url or "/portal")
    return _portal_login_page(request, next_url=next_url)


@router.post("/portal/login/code")
def portal_send_code(request: Request, ctx: PageCtx, form: FormDep, who: Anyone) -> Response:
    lang = lang_of(request)
    raw = _text(form, "phone", 32)
    next_url = _safe_next(_text(form, "next"))
    if not _pre_ok(request, form):
        return _portal_login_page(
            request, status=403, error=translate(lang, "login_expired"), phone=raw
        )
    try:
        phone = security.normalise_phone(raw)
        security.request_code(ctx, phone)
    except OneWindowError as exc:
        ctx.session.rollback()
        return _portal_login_page(
            request, status=exc.status, error=error_text(lang, exc), phone=raw, next_url=next_url
        )
    _commit(ctx)
    return _portal_login_page(request, phone=phone, step="code", next_url=next_url)


@router.post("/portal/login")
def portal_login_submit(
    request: Request, ctx: PageCtx, platform: PlatformDep, form: FormDep, who: Anyone
) -> Response:
    lang = lang_of(request)
    raw, code = _text(form, "phone", 32), _text(form, "code", 12)
    next_url = _safe_next(_text(form, "next"))
    if not _pre_ok(request, form):
        return _portal_login_page(
            request, status=403, error=translate(lang, "login_expired"), phone=raw
        )
    try:
        phone = security.normalise_phone(raw)
    except OneWindowError as exc:
        return _portal_login_page(request, status=422, error=error_text(lang, exc), phone=raw)
    try:
        security.verify_code(ctx, phone, code)
    except security.AuthFailed as exc:
        ctx.session.rollback()
        with platform.unit_of_work() as other:
            security.record_code_failure(other, phone)
        return _portal_login_page(
            request,
            status=401,
            error=error_text(lang, exc),
            phone=phone,
            step="code",
            next_url=next_url,
        )
    old = request.cookies.get(SESSION_COOKIE)
    if old:
        security.end_session(ctx, old)
    token, _row = security.start_session(ctx, phone=phone, address=_address(request))
    _commit(ctx)
    response = _redirect(next_url if next_url and next_url.startswith("/portal") else "/portal")
    set_session_cookie(response, token, secure=platform.settings.env == "production")
    response.delete_cookie(PRE_COOKIE, path="/")
    return response


@router.post("/logout")
def logout(
    request: Request, ctx: PageCtx, who: Annotated[Principal, require_page("me.read")]
) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        security.end_session(ctx, token)
    _commit(ctx)
    response = _redirect("/portal/login" if who.kind == "applicant" else "/")
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


# --- front desk -----------------------------------------------------------------------------


@dataclass
class DeskForm:
    """What the clerk typed, and every problem with it, so the form comes back filled in."""

    kind: str = "person"
    id_number: str = ""
    applicant_name: str = ""
    phone: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)
    files_chosen: bool = False
    # the form's staging key and the files kept under it from a failed submission
    batch: str = ""
    staged: list[StagedUpload] = field(default_factory=list)
    promised: set[str] = field(default_factory=set)  # 容缺: materials ticked as promised
    # input name (applicant_name, phone, f_<field>) -> where its pre-filled value came from
    prefilled: dict[str, PrefillSource] = field(default_factory=dict)
    prefill_missing: int = 0


def _desk_prefill(ctx: Ctx, who: Principal, service: ServiceItem, data: DeskForm) -> None:
    """免提交: fill what the clerk left empty from the golden record, through the center's
    grants, noting where each value came from; what was typed is neither read nor replaced."""
    try:
        clean = intake.normalise_applicant(ctx, ApplicantIn(data.kind, data.id_number, "-"))
    except ValidationFailed:
        return
    if service.applicant_kind not in ("any", clean.kind):
        return
    typed = {f"form.{k}" for k, v in data.fields.items() if v}
    if data.applicant_name:
        typed.add("applicant_name")
    if data.phone:
        typed.add("applicant_phone")
    out = datahub.prefill_application(
        ctx, service.code, clean.kind, clean.id_number, actor=who.name, roles=who.roles, skip=typed
    )
    data.prefill_missing = len(out.missing_grants)
    for target, source in out.provenance.items():
        if target == "applicant_name":
            data.applicant_name = str(out.values[target])
            data.prefilled["applicant_name"] = source
        elif target == "applicant_phone":
            data.phone = str(out.values[target])
            data.prefilled["phone"] = source
        else:
            name = target.removeprefix("form.")
            data.fields[name] = str(out.form[name])
            data.prefilled[f"f_{name}"] = source


def _desk_page(
    request: Request,
    ctx: Ctx,
    who: Principal,
    service: ServiceItem,
    data: DeskForm,
    *,
    status: int = 200,
) -> Response:
    applicant = None
    if data.id_number and "id_number" not in data.errors:
        try:
            applicant = intake.find_applicant(ctx, data.kind, data.id_number)
        except ValidationFailed:
            applicant = None
    if not data.batch:
        data.batch = staging.new_batch()
    staged = {r.material_code: r for r in data.staged}
    checks = intake.check_completeness(ctx, service, applicant, staged)
    deferrable = intake.deferrable_codes(service)
    return page(
        request,
        "desk_form.html",
        status=status,
        principal=who,
        zone=_zone(ctx),
        service=service,
        checks=checks,
        form=data,
        staged=staged,
        deferrable=deferrable,
        promise_due=intake.promise_due_on(ctx, service) if deferrable else None,
        field_errors=len(data.errors),
    )


@router.get("/desk")
def desk(
    request: Request,
    ctx: PageCtx,
    who: Annotated[Principal, require_page("applications.create")],
) -> Response:
    _staff_only(who)
    code = request.query_params.get("service")
    if not code:
        query = request.query_params.get("q", "")[:100].strip()
        return page(
            request,
            "desk_pick.html",
            principal=who,
            zone=_zone(ctx),
            services=desk_forms.search_services(catalog.list_services(ctx), query),
            query=query,
        )
    service = catalog.get_service(ctx, code)
    kind = service.applicant_kind if service.applicant_kind != "any" else "person"
    data = DeskForm(kind=request.query_params.get("kind", kind)[:16])
    data.id_number = request.query_params.get("id_number", "")[:40].strip()
    if data.id_number:  # e.g. from an ID card reader: pre-fill the form at once
        _desk_prefill(ctx, who, service, data)
    return _desk_page(request, ctx, who, service, data)


def _id_message(ctx: Ctx, lang: Lang, kind: str, number: str) -> tuple[bool, str]:
    """(valid?, what to tell the clerk) for the ID number typed so far."""
    if not number.strip():
        return False, translate(lang, "id_empty")
    try:
        intake.normalise_applicant(ctx, ApplicantIn(kind, number, "-"))
    except ValidationFailed as exc:
        return False, error_text(lang, exc)
    applicant = intake.find_applicant(ctx, kind, number)
    ok = translate(lang, "id_ok_business" if kind == "business" else "id_ok_person")
    if applicant is None:
        return True, f"{ok} · {translate(lang, 'id_new')}"
    on_file = intake.on_file_codes(ctx, applicant)
    known = translate(lang, "id_known", name=mask_name(applicant.name), n=len(on_file))
    return True, f"{ok} · {known}"


@router.get("/desk/check-id")
def desk_check_id(
    request: Request,
    ctx: PageCtx,
    who: Annotated[Principal, require_page("applications.create")],
) -> Response:
    """htmx: checks the ID number as it is typed; also refreshes the materials' states."""
    _staff_only(who)
    lang = lang_of(request)
    kind = request.query_params.get("kind", "person")
    number = request.query_params.get("id_number", "")[:40]
    ok, message = _id_message(ctx, lang, kind, number)
    checks = None
    code = request.query_params.get("service")
    service: ServiceItem | None = None
    data = DeskForm(kind=kind, id_number=number)
    if code:
        service = catalog.get_service(ctx, code)
        applicant = intake.find_applicant(ctx, kind, number) if ok else None
        # files kept from a failed submission of this form count as handed in
        kept = staging.staged(ctx, request.query_params.get("staging", "")[:64], actor=who.name)
        checks = intake.check_completeness(ctx, service, applicant, {r.material_code for r in kept})
        if ok:  # what the clerk has typed so far comes along (hx-include): it is kept
            data.applicant_name = request.query_params.get("applicant_name", "")[:200].strip()
            data.phone = request.query_params.get("phone", "")[:32].strip()
            data.fields = {
                f["name"]: "；".join(request.query_params.getlist(f"f_{f['name']}"))[:2000].strip()
                for f in service.form_fields
            }
            _desk_prefill(ctx, who, service, data)
    html = render_html(
        request,
        "_id_check.html",
        principal=who,
        ok=ok,
        message=message,
        checks=checks,
        empty=not number.strip(),
        service=service,
        form=data,
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


def _field_problem(lang: Lang, service: ServiceItem, problem: str) -> tuple[str, str]:
    name, _, what = problem.partition(": ")
    spec = next((f for f in service.form_fields if f.get("name") == name), {})
    label = str(spec.get(f"label_{lang}") or spec.get("label_zh") or name)
    if what == "required":
        return name, translate(lang, "field_required", label=label)
    return name, translate(lang, "field_invalid", label=label, problem=what)


@router.post("/desk")
def desk_submit(
    request: Request,
    ctx: PageCtx,
    form: FormDep,
    who: Annotated[Principal, require_page("applications.create")],
) -> Response:
    _staff_only(who)
    lang = lang_of(request)
    service = catalog.get_service(ctx, _text(form, "service", 64))
    data = DeskForm(
        kind=_text(form, "kind", 16),
        id_number=_text(form, "id_number", 40),
        applicant_name=_text(form, "applicant_name", 200),
        phone=_text(form, "phone", 32),
        fields={f["name"]: desk_forms.field_value(form, f) for f in service.form_fields},
    )
    data.batch = application_form.staging_key(form)
    deferrable = intake.deferrable_codes(service)
    data.promised = {c for c in deferrable if _text(form, f"promise_{c}", 8)}
    # Every check runs, so the clerk sees every problem at once (一次性告知).
    try:
        intake.normalise_applicant(ctx, ApplicantIn(data.kind, data.id_number, "-"))
    except ValidationFailed as exc:
        data.errors["kind" if exc.code == "applicant.invalid_kind" else "id_number"] = error_text(
            lang, exc
        )
    if service.applicant_kind not in ("any", data.kind) and "kind" not in data.errors:
        data.errors["kind"] = translate(
            lang, "kind_mismatch", kind=translate(lang, f"kind_{service.applicant_kind}")
        )
    if not data.applicant_name:
        label = translate(lang, "applicant_name")
        data.errors["applicant_name"] = translate(lang, "field_required", label=label)
    phone: str | None = None
    if data.phone:
        try:
            phone = security.normalise_phone(data.phone)
        except ValidationFailed as exc:
            data.errors["phone"] = error_text(lang, exc)
    values = {k: v for k, v in data.fields.items() if v != ""}
    try:
        intake.validate_form(service, values)
    except ValidationFailed as exc:
        for problem in exc.details.get("problems", []):
            name, text = _field_problem(lang, service, str(problem))
            data.errors[f"f_{name}"] = text
    uploads: list[Upload] = []
    tried: set[str] = set()
    for m in service.materials:
        file = _file(form, f"file_{m.code}")
        if file is None:
            continue
        data.files_chosen = True
        tried.add(m.code)
        upload = _upload(m.code, file)
        try:
            intake.check_upload(ctx, service, upload)
        except ValidationFailed as exc:
            data.errors[f"file_{m.code}"] = error_text(lang, exc)
            continue
        uploads.append(upload)
    # Files kept from an earlier failed submission of this form count as handed in, unless a
    # new file for the same material passed its checks (it replaces them).
    kept = staging.as_uploads(
        ctx, service, data.batch, actor=who.name, skip={u.material_code for u in uploads}
    )
    applicant = None
    if "id_number" not in data.errors and "kind" not in data.errors:
        applicant = intake.find_applicant(ctx, data.kind, data.id_number)
    provided = {u.material_code for u in uploads} | {u.material_code for u in kept}
    checks = intake.check_completeness(ctx, service, applicant, provided)
    lacking = [
        c
        for c in checks
        if c.state == "missing" and c.code not in tried and c.code not in data.promised
    ]
    # Each missing material is marked on its own row; the summary above only counts.
    data.missing = {c.code for c in lacking}
    if data.errors or data.problems or data.missing:
        return _desk_failed(request, ctx, who, service, data, uploads, status=422)
    try:
        submitted = flows.submit_application(
            ctx,
            service.code,
            ApplicantIn(data.kind, data.id_number, data.applicant_name, phone),
            channel="window",
            form=values,
            uploads=[*uploads, *kept],
            actor=who.name,
            promised=data.promised,
        )
    except OneWindowError as exc:
        data.problems.append(error_text(lang, exc))
        return _desk_failed(request, ctx, who, service, data, uploads, status=exc.status)
    staging.discard(ctx, data.batch, actor=who.name)
    number = submitted.application.number
    _commit(ctx)
    return _redirect(f"/desk/receipt/{quote(number)}")


def _desk_failed(
    request: Request,
    ctx: Ctx,
    who: Principal,
    service: ServiceItem,
    data: DeskForm,
    uploads: Sequence[Upload],
    *,
    status: int,
) -> Response:
    """Nothing of the application is written, but the files that passed their checks are
    staged, so the clerk fixes the errors without choosing them again."""
    data.batch, data.staged = application_form.keep_files(
        ctx, service, data.batch, uploads, actor=who.name
    )
    return _desk_page(request, ctx, who, service, data, status=status)


def _receipt_context(ctx: Ctx, application: Application) -> dict[str, Any]:
    service = catalog.get_service_by_id(ctx, application.service_item_id)
    names = {m.code: m for m in service.materials}
    # One line a material: a later version (a 补正) replaces the earlier one.
    latest = {m.material_code: m for m in sorted(application.materials, key=lambda m: m.id)}
    received = [m for m in latest.values() if not m.reused]
    reused = [m for m in latest.values() if m.reused]
    case = workflow.application_case(ctx, application.id)
    accepted = any(d.decision == "accept" for d in workflow.decisions_of_case(ctx, case.id))
    acceptance = [
        t
        for t in workflow.open_tasks(ctx, case.id)
        if t.element_id == service.acceptance_task and not t.for_applicant
    ]
    clerk = application.submitted_by or ""
    try:
        clerk_name = catalog.get_staff(ctx, clerk).name if clerk else ""
    except NotFound:
        clerk_name = clerk
    return {
        "application": application,
        "service": service,
        "applicant": application.applicant,
        "material_names": names,
        "received": received,
        "reused": reused,
        "clerk_name": clerk_name,
        "accepted": accepted or service.acceptance_task is None,
        "acceptance_task": acceptance[0] if acceptance else None,
        "promises": intake.promises_of(ctx, application),
    }


@router.get("/desk/receipt/{number}")
def receipt(
    number: str,
    request: Request,
    ctx: PageCtx,
    who: Annotated[Principal, require_page("applications.read")],
) -> Response:
    application = visible_application(ctx, who, number)
    return page(
        request,
        "receipt.html",
        principal=who,
        zone=_zone(ctx),
        **_receipt_context(ctx, application),
    )


@router.get("/desk/receipt/{number}/download")
def receipt_download(
    number: str,
    request: Request,
    ctx: PageCtx,
    who: Annotated[Principal, require_page("applications.read")],
) -> Response:
    application = visible_application(ctx, who, number)
    html = render_html(
        request,
        "receipt_doc.html",
        principal=who,
        zone=_zone(ctx),
        **_receipt_context(ctx, application),
    )
    filename = f"receipt-{application.number}.html"
    return HTMLResponse(
        html,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


def _document_rows(ctx: Ctx, case: Case, number: str) -> list[dict[str, Any]]:
    return [
        {
            "id": d.id,
            "kind": DocumentKind(d.kind),
            "code": d.code,
            "issued_at": d.issued_at,
            "url": f"/documents/{quote(number)}/{d.id}",
        }
        for d in documents.documents_of_case(ctx, case.id)
    ]


@router.get("/documents/{number}/{document_id}")
def document_file(
    number: str,
    document_id: int,
    ctx: PageCtx,
    who: Annotated[Principal, require_page("applications.read")],
) -> Response:
    """A document of a case as PDF, for its applicant and the staff who may see the case."""
    application = visible_application(ctx, who, number)
    pdf, name = documents.download(ctx, application, document_id)
    _commit(ctx)  # the first download records the PDF's hash in the ledger
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": "inline; filename*=UTF-8''" + quote(name, safe=""),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )


@router.get("/verify")
def verify_form(
    request: Request, ctx: PageCtx, who: Annotated[Principal | None, public()]
) -> Response:
    """核验: type the code printed on a document."""
    code = request.query_params.get("code", "").strip()[:64]
    if code:
        return _redirect(f"/verify/{quote(code)}")
    return page(request, "verify.html", principal=who, result=None, code="", error=None)


def _verify_page(
    request: Request, ctx: Ctx, who: Principal | None, code: str, copy: bytes | None
) -> Response:
    lang = lang_of(request)
    try:
        result = documents.verify(ctx, code, copy)
    except OneWindowError as exc:
        ctx.session.rollback()
        return page(
            request,
            "verify.html",
            status=exc.status,
            principal=who,
            result=None,
            code=code,
            error=error_text(lang, exc),
        )
    _commit(ctx)
    return page(request, "verify.html", principal=who, result=result, code=code, error=None)


@router.get("/verify/{code}")
def verify_code(
    code: str, request: Request, ctx: PageCtx, who: Annotated[Principal | None, public()]
) -> Response:
    """Is this document genuine? Anyone with the code (or the QR code) may ask."""
    return _verify_page(request, ctx, who, code[:64], None)


@router.post("/verify/{code}")
def verify_upload(
    code: str,
    request: Request,
    ctx: PageCtx,
    form: FormDep,
    who: Annotated[Principal | None, public()],
) -> Response:
    """Compare a copy (uploaded PDF) with the document issued under the code."""
    file = _file(form, "copy")
    if file is None:
        return _verify_page(request, ctx, who, code[:64], None)
    data = file.file.read(ctx.settings.max_upload_bytes + 1)
    return _verify_page(request, ctx, who, code[:64], bytes(data))


@router.get("/files/{number}/{material_id}")
def material_file(
    number: str,
    material_id: int,
    request: Request,
    ctx: PageCtx,
    who: Annotated[Principal, require_page("materials.read")],
) -> Response:
    application = visible_application(ctx, who, number)
    material = next((m for m in application.materials if m.id == material_id), None)
    if material is None:
        raise NotFound("No such material", message_zh="材料不存在", code="material.unknown")
    content = intake.material_content(ctx, material.blob_sha256)
    blob = intake.get_blob(ctx, material.blob_sha256)
    media_type = blob.content_type if blob else "application/octet-stream"
    headers = {
        "Content-Disposition": "attachment; filename*=UTF-8''" + quote(material.filename, safe=""),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
    }
    if request.query_params.get("inline") == "1" and media_type in case_views.PREVIEWABLE:
        # Shown inside the case page (a PDF in a frame of this site only); nothing it holds
        # may run script or reach out, and HTML or SVG are never shown inline.
        headers["Content-Disposition"] = headers["Content-Disposition"].replace(
            "attachment", "inline", 1
        )
        headers["X-Frame-Options"] = "SAMEORIGIN"
        headers["Content-Security-Policy"] = (
            "default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'; "
            "object-src 'self'; frame-ancestors 'self'"
        )
    return Response(content, media_type=media_type, headers=headers)


# --- department workbench -------------------------------------------------------------------


# The queue, the case page and a head's actions: onewindow.web.workbench.


def _my_task(ctx: Ctx, who: Principal, task_id: int) -> Task:
    """The task if it belongs to the caller's department; 404 otherwise (no existence leak)."""
    try:
        task = workflow.get_task(ctx, task_id)
    except NotFound:
        task = None
    if task is None or task.for_applicant or task.department_id != who.department_id:
        raise NotFound(f"No task {task_id}", message_zh="任务不存在", code="task.unknown")
    return task


@dataclass
class TaskInput:
    values: dict[str, str] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    reason: str = ""
    legal_basis: str = ""
    legal_basis_text: str = ""
    errors: list[str] = field(default_factory=list)


def _task_page(
    request: Request,
    ctx: Ctx,
    who: Principal,
    task: Task,
    entered: TaskInput | None = None,
    *,
    status: int = 200,
    notice: str | None = None,
) -> Response:
    case = workflow.get_case(ctx, task.case_id)
    fields = {f["id"]: f for f in task.form_fields}
    decision = fields.get("decision")
    options = list(decision.get("options", [])) if decision else []
    departments = {d.code: d for d in catalog.list_departments(ctx)}
    common: dict[str, Any] = {
        "task": task,
        "task_name": case_views.task_name(ctx, lang_of(request), task, case),
        "case": case,
        "is_open": task.status in ("ready", "claimed"),
        "history": case_views.history_rows(ctx, lang_of(request), case),
        "claimed_name": case_views.person_name(ctx, lang_of(request), task.claimed_by),
        "closed_text": ""
        if task.status in ("ready", "claimed")
        else case_views.closed_text(ctx, lang_of(request), task),
        "documents": _document_rows(ctx, case, case.number) if case.application_id else [],
        "departments": departments,
        "entered": entered or TaskInput(),
        "notice": notice,
        "now": ctx.clock.now(),
    }
    if case.application_id is None:  # a complaint or a rectification: the form as it is
        shown: dict[str, Any] = {
            "application": None,
            "service": None,
            "subject": feedback.subject_view(ctx, case),
            "inputs": task.form_fields,
            "approve_key": "task_complete",
            "can_reject": False,
            "can_send_back": False,
        }
    else:
        application = intake.get_application(ctx, case.application_id)
        service = catalog.get_service_by_id(ctx, application.service_item_id)
        at_acceptance = task.element_id == service.acceptance_task
        refusal = "not_accept" if at_acceptance else "reject"
        shown = {
            "application": application,
            "service": service,
            "subject": None,
            "applicant": application.applicant,
            "material_names": {m.code: m for m in service.materials},
            "materials": case_views.material_groups(ctx, lang_of(request), application, service),
            "form_labels": {f["name"]: f for f in service.form_fields},
            "inputs": [f for f in task.form_fields if f["id"] not in ACTION_FIELDS],
            "approve_key": "task_complete"
            if not decision
            else ("task_accept" if at_acceptance else "task_approve"),
            "reject_key": "task_not_accept" if at_acceptance else "task_reject",
            "can_reject": "reject" in options,
            "can_send_back": "send_back" in options,
            "legal_bases": [b for b in service.legal_bases if refusal in b.get("applies_to", [])],
        }
    return page(
        request, "task.html", status=status, principal=who, zone=_zone(ctx), **shown, **common
    )


@router.get("/workbench/tasks/{task_id}")
def task_view(
    task_id: int,
    request: Request,
    ctx: PageCtx,
    who: Annotated[Principal, require_page("tasks.work")],
) -> Response:
    staff_of(ctx, who)
    task = _my_task(ctx, who, task_id)
    notice = (
        translate(lang_of(request), "wb_claimed_ok") if "claimed" in request.query_params else None
    )
    return _task_page(request, ctx, who, task, notice=notice)


@router.post("/workbench/tasks/{task_id}/claim")
def task_claim(
    task_id: int,
    request: Request,
    ctx: PageCtx,
    form: FormDep,
    who: Annotated[Principal, require_page("tasks.work")],
) -> Response:
    staff = staff_of(ctx, who)
    _my_task(ctx, who, task_id)
    try:
        workflow.claim_task(ctx, task_id, actor=staff)
    except OneWindowError as exc:
        ctx.session.rollback()
        entered = TaskInput(errors=[error_text(lang_of(request), exc)])
        return _task_page(
            request, ctx, who, _my_task(ctx, who, task_id), entered, status=exc.status
        )
    _commit(ctx)
    return _redirect(f"/workbench/tasks/{task_id}?claimed=1")


def _coerce_input(spec: dict[str, Any], raw: str) -> Any:
    kind = spec.get("type", "string")
    if kind == "boolean":
        return raw == "true"
    if kind in ("long", "integer", "int"):
        return int(raw)
    if kind in ("number", "double", "float", "decimal"):
        return float(raw)
    return raw


@router.post("/workbench/tasks/{task_id}")
def task_decide(
    task_id: int,
    request: Request,
    ctx: PageCtx,
    form: FormDep,
    who: Annotated[Principal, require_page("tasks.work")],
) -> Response:
    lang = lang_of(request)
    staff = staff_of(ctx, who)
    task = _my_task(ctx, who, task_id)
    case = workflow.get_case(ctx, task.case_id)
    fields = {f["id"]: f for f in task.form_fields}
    action = _text(form, "action", 16)
    own = case.application_id is not None
    editable = [fid for fid in fields if not own or fid not in ACTION_FIELDS]
    entered = TaskInput(
        values={fid: _text(form, f"f_{fid}") for fid in editable},
        missing=[str(v)[:64] for v in form.getlist("missing")][:50],
        reason=_text(form, "reason", 4000),
        legal_basis=_text(form, "legal_basis", 64),
        legal_basis_text=_text(form, "legal_basis_text", 500),
    )
    data: dict[str, Any] = {}
    for fid, raw in entered.values.items():
        if raw == "":
            continue
        try:
            data[fid] = _coerce_input(fields[fid], raw)
        except ValueError:
            label = fields[fid].get("label") or fid
            entered.errors.append(translate(lang, "field_invalid", label=label, problem=raw[:40]))
    allowed = ("approve", "reject", "send_back", "complete") if own else ("complete",)
    if action not in allowed:
        entered.errors.append(translate(lang, "please_choose"))
    if action == "send_back" and not entered.missing:
        entered.errors.append(translate(lang, "task_missing_required"))
    if action == "reject" and form.get("confirm_refusal") != "yes":
        entered.errors.append(translate(lang, "dec_confirm_required"))
    if entered.errors:
        return _task_page(request, ctx, who, task, entered, status=422)
    if own and "decision" in fields and action in ("approve", "reject", "send_back"):
        data["decision"] = action
    if action == "send_back":
        data["missing_materials"] = entered.missing
    if action == "reject":
        data.update(
            reason=entered.reason,
            legal_basis=entered.legal_basis,
            legal_basis_text=entered.legal_basis_text,
        )
    try:
        workflow.complete_task(ctx, task_id, data, actor=staff)
    except OneWindowError as exc:
        ctx.session.rollback()
        entered.errors.append(error_text(lang, exc))
        return _task_page(
            request, ctx, who, _my_task(ctx, who, task_id), entered, status=exc.status
        )
    number = case.number
    _commit(ctx)
    done = f"/workbench?done={quote(number)}"
    return _redirect(done + (f"&action={action}" if action in ("send_back", "reject") else ""))


# --- applicant portal: onewindow.web.portal -------------------------------------------------


# --- dashboard ------------------------------------------------------------------------------


@router.get("/dashboard")
def dashboard(
    request: Request,
    ctx: PageCtx,
    who: Annotated[Principal, require_page("cases.search")],
) -> Response:
    status_counts = intake.status_counts(ctx)
    by_service = intake.status_counts_by_service(ctx)
    overdue_by_service = intake.overdue_counts_by_service(ctx)
    return page(
        request,
        "dashboard.html",
        principal=who,
        zone=_zone(ctx),
        status_counts=status_counts,
        total=sum(status_counts.values()),
        overdue_cases=sum(overdue_by_service.values()),
        # counted per case, as their drill-down lists them (web/drilldown.py)
        overdue_task_cases=len(workflow.applications_with_overdue_tasks(ctx)),
        nearing_task_cases=len(workflow.applications_with_tasks_nearing_sla(ctx, NEARING)),
        returned_cases=intake.count_returned(ctx),
        services=catalog.list_services(ctx),
        by_service=by_service,
        overdue_by_service=overdue_by_service,
        statuses=("in_progress", "returned", "approved", "rejected"),
        redesigns=[publish.prediction_summary(p) for p in publish.list_predictions(ctx)],
    )


# --- data for decisions --------------------------------------------------------------------

CHART_W, CHART_H, CHART_PAD = 720, 220, 36


def _date_param(request: Request, name: str) -> date | None:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise ValidationFailed(
            f"{name}: not a date (YYYY-MM-DD)",
            message_zh=f"{name}：日期格式应为 YYYY-MM-DD",
            code="request.invalid",
        ) from exc


def _week_chart(totals: Sequence[AggregateTotal]) -> dict[str, Any]:
    """Bar geometry for an inline SVG: applications per week, overdue ones over them."""
    top = max((t.applications for t in totals), default=0) or 1
    plot_w, plot_h = CHART_W - 2 * CHART_PAD, CHART_H - 2 * CHART_PAD
    step = plot_w / max(len(totals), 1)
    every = max(1, round(len(totals) / 12))
    bars = []
    for i, t in enumerate(totals):
        h = plot_h * t.applications / top
        oh = plot_h * t.overdue / top
        x = CHART_PAD + i * step + step * 0.15
        bars.append(
            {
                "x": round(x, 1),
                "w": round(step * 0.7, 1),
                "y": round(CHART_PAD + plot_h - h, 1),
                "h": round(h, 1),
                "oy": round(CHART_PAD + plot_h - oh, 1),
                "oh": round(oh, 1),
                "label": t.key[5:] if i % every == 0 else "",
                "lx": round(x + step * 0.35, 1),
                "total": t,
            }
        )
    return {
        "w": CHART_W,
        "h": CHART_H,
        "pad": CHART_PAD,
        "base": CHART_PAD + plot_h,
        "top": top,
        "bars": bars,
    }


def _district_chart(totals: Sequence[AggregateTotal]) -> dict[str, Any]:
    """Horizontal bars, one per district: applications, overdue ones over them."""
    label_w, row_h = 180, 24
    plot_w = CHART_W - label_w - CHART_PAD
    top = max((t.applications for t in totals), default=0) or 1
    rows = []
    for i, t in enumerate(totals):
        rows.append(
            {
                "y": 8 + i * row_h,
                "w": round(plot_w * t.applications / top, 1),
                "ow": round(plot_w * t.overdue / top, 1),
                "total": t,
            }
        )
    return {"w": CHART_W, "h": 16 + len(totals) * row_h, "x": label_w, "rows": rows}


@router.get("/dashboard/decisions")
def dashboard_decisions(
    request: Request,
    ctx: PageCtx,
    who: Annotated[Principal, require_page("cases.search")],
) -> Response:
    """决策分析: applications and overdue cases by week, district and service (data hub)."""
    agg = datahub.aggregates(
        ctx,
        start=_date_param(request, "from"),
        end=_date_param(request, "to"),
        service=request.query_params.get("service", "").strip()[:64] or None,
    )
    services = catalog.list_services(ctx)
    return page(
        request,
        "dashboard_decisions.html",
        principal=who,
        zone=_zone(ctx),
        agg=agg,
        services=services,
        service_by_code={s.code: s for s in services},
        week_chart=_week_chart(agg.by_week),
        district_chart=_district_chart(agg.by_district),
    )


# --- administration -------------------------------------------------------------------------

Admin = Annotated[Principal, require_page("admin.manage")]


@router.get("/admin")
def admin_org(request: Request, ctx: PageCtx, who: Admin) -> Response:
    staff = catalog.list_staff(ctx)
    counts: dict[int, int] = {}
    for s in staff:
        counts[s.department_id] = counts.get(s.department_id, 0) + 1
    return page(
        request,
        "admin_org.html",
        principal=who,
        zone=_zone(ctx),
        tab="org",
        departments=catalog.list_departments(ctx),
        staff=staff,
        counts=counts,
        passwords={s.id: security.has_password(ctx, s) for s in staff},
    )


def _services_page(
    request: Request,
    ctx: Ctx,
    who: Principal,
    *,
    status: int = 200,
    problems: Sequence[Any] = (),
    notice: str | None = None,
    error: str | None = None,
    extra_key: str | None = None,
) -> Response:
    services = catalog.list_services(ctx)
    keys: list[str] = []
    for s in services:
        if s.process_definition.process_key not in keys:
            keys.append(s.process_definition.process_key)
    if extra_key and extra_key not in keys:
        keys.append(extra_key)
    in_use: dict[int, list[str]] = {}
    for s in services:
        in_use.setdefault(s.process_definition_id, []).append(s.code)
    return page(
        request,
        "admin_services.html",
        status=status,
        principal=who,
        zone=_zone(ctx),
        tab="services",
        services=services,
        versions={key: catalog.process_versions(ctx, key) for key in keys},
        in_use=in_use,
        problems=list(problems),
        notice=notice,
        error=error,
    )


@router.get("/admin/services")
def admin_services(request: Request, ctx: PageCtx, who: Admin) -> Response:
    return _services_page(request, ctx, who)


@router.post("/admin/processes")
def admin_upload_process(request: Request, ctx: PageCtx, form: FormDep, who: Admin) -> Response:
    lang = lang_of(request)
    bpmn_file = _file(form, "bpmn")
    if bpmn_file is None:
        return _services_page(
            request, ctx, who, status=422, error=translate(lang, "process_no_file")
        )
    bpmn = bpmn_file.file.read()
    dmn = [f.file.read() for f in form.getlist("dmn") if isinstance(f, UploadFile) and f.filename]
    problems = validate_bpmn(bpmn, dmn)
    if problems:
        return _services_page(
            request,
            ctx,
            who,
            status=422,
            problems=problems,
            error=translate(lang, "process_invalid", n=len(problems)),
        )
    try:
        key = compile_bpmn(bpmn, dmn).process_id
        before = max((p.version for p in catalog.process_versions(ctx, key)), default=0)
        proc = catalog.register_process(ctx, bpmn, dmn, actor=who.name)
    except OneWindowError as exc:
        ctx.session.rollback()
        raw = exc.details.get("problems", [])
        return _services_page(
            request,
            ctx,
            who,
            status=exc.status,
            problems=[_Problem(p.get("element_id"), p.get("message", "")) for p in raw],
            error=error_text(lang, exc),
        )
    if proc.version > before:
        notice = translate(lang, "process_registered", key=proc.process_key, version=proc.version)
    else:
        notice = translate(lang, "process_unchanged", version=proc.version)
    _commit(ctx)
    return _services_page(request, ctx, who, notice=notice, extra_key=proc.process_key)


@dataclass(frozen=True)
class _Problem:
    element_id: str | None
    message: str


def _tokens_page(
    request: Request,
    ctx: Ctx,
    who: Principal,
    *,
    status: int = 200,
    secret: str | None = None,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    departments = catalog.list_departments(ctx)
    return page(
        request,
        "admin_tokens.html",
        status=status,
        principal=who,
        zone=_zone(ctx),
        tab="tokens",
        tokens=security.list_tokens(ctx),
        departments=departments,
        dept_by_id={d.id: d for d in departments},
        scopes=security.TOKEN_SCOPES,
        secret=secret,
        error=error,
        notice=notice,
        now=ctx.clock.now(),
    )


@router.get("/admin/tokens")
def admin_tokens(request: Request, ctx: PageCtx, who: Admin) -> Response:
    notice = None
    if "revoked" in request.query_params:
        notice = translate(lang_of(request), "token_revoked_ok")
    return _tokens_page(request, ctx, who, notice=notice)


@router.post("/admin/tokens")
def admin_issue_token(request: Request, ctx: PageCtx, form: FormDep, who: Admin) -> Response:
    lang = lang_of(request)
    days_raw = _text(form, "days", 8)
    try:
        days = int(days_raw) if days_raw else None
        if days is not None and not 0 < days <= 3650:
            raise ValueError(days_raw)
    except ValueError:
        return _tokens_page(
            request,
            ctx,
            who,
            status=422,
            error=translate(
                lang, "field_invalid", label=translate(lang, "token_days"), problem=days_raw
            ),
        )
    scopes = [s for s in form.getlist("scopes") if isinstance(s, str)]
    try:
        secret, _row = security.issue_token(
            ctx,
            _text(form, "name", 100),
            scopes,
            department=_text(form, "department", 32) or None,
            days=days,
            actor=who.name,
        )
    except OneWindowError as exc:
        ctx.session.rollback()
        return _tokens_page(request, ctx, who, status=exc.status, error=error_text(lang, exc))
    _commit(ctx)
    return _tokens_page(request, ctx, who, status=201, secret=secret)


@router.post("/admin/tokens/{token_id}/revoke")
def admin_revoke_token(
    token_id: int, request: Request, ctx: PageCtx, form: FormDep, who: Admin
) -> Response:
    security.revoke_token(ctx, token_id, actor=who.name)
    _commit(ctx)
    return _redirect("/admin/tokens?revoked=1")


def _integration_page(
    request: Request,
    ctx: Ctx,
    who: Principal,
    *,
    status: int = 200,
    secret: str | None = None,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    return page(
        request,
        "admin_integration.html",
        status=status,
        principal=who,
        zone=_zone(ctx),
        tab="integration",
        subscriptions=integration.list_subscriptions(ctx),
        dead=integration.dead_letters(ctx, limit=100),
        pending=integration.pending_count(ctx),
        topics=integration.TOPICS,
        departments=catalog.list_departments(ctx),
        secret=secret,
        error=error,
        notice=notice,
    )


@router.get("/admin/integration")
def admin_integration(request: Request, ctx: PageCtx, who: Admin) -> Response:
    lang = lang_of(request)
    notice = None
    if "replayed" in request.query_params:
        n = request.query_params.get("replayed", "0")
        notice = translate(lang, "dl_replayed", n=int(n) if n.isdigit() else 0)
    elif "deactivated" in request.query_params:
        notice = translate(lang, "sub_deactivated_ok")
    return _integration_page(request, ctx, who, notice=notice)


@router.post("/admin/subscriptions")
def admin_create_subscription(
    request: Request, ctx: PageCtx, form: FormDep, who: Admin
) -> Response:
    lang = lang_of(request)
    try:
        _sub, secret = integration.create_subscription(
            ctx,
            _text(form, "name", 200),
            _text(form, "url", 2000),
            [s for s in form.getlist("topics") if isinstance(s, str)],
            _text(form, "department", 32) or None,
            actor=who.name,
        )
    except OneWindowError as exc:
        ctx.session.rollback()
        return _integration_page(request, ctx, who, status=exc.status, error=error_text(lang, exc))
    _commit(ctx)
    return _integration_page(request, ctx, who, status=201, secret=secret)


@router.post("/admin/subscriptions/{subscription_id}/deactivate")
def admin_deactivate_subscription(
    subscription_id: int, request: Request, ctx: PageCtx, form: FormDep, who: Admin
) -> Response:
    integration.deactivate_subscription(ctx, subscription_id, actor=who.name)
    _commit(ctx)
    return _redirect("/admin/integration?deactivated=1")


@router.post("/admin/dead-letters/{message_id}/replay")
def admin_replay(
    message_id: str, request: Request, ctx: PageCtx, form: FormDep, who: Admin
) -> Response:
    integration.replay(ctx, message_id, actor=who.name)
    _commit(ctx)
    return _redirect("/admin/integration?replayed=1")


@router.post("/admin/dead-letters/replay-all")
def admin_replay_all(request: Request, ctx: PageCtx, form: FormDep, who: Admin) -> Response:
    n = integration.replay_all_dead(ctx, actor=who.name)
    _commit(ctx)
    return _redirect(f"/admin/integration?replayed={n}")
