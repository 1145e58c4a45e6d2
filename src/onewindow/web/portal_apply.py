"""Applying online from the citizen portal, with the front desk's completeness rules.

The applicant applies only as themself (their verified phone; an ID registered under another
phone is refused), every problem is told at once beside its input, and what is on file already
(免提交) is not asked for again. Files chosen on a submission that came back with errors are
kept server-side for this applicant (the front desk's staging, ``application_form``), so a
citizen on a phone fixes the errors without choosing every file again.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from onewindow.catalog import service as catalog
from onewindow.catalog.models import ServiceItem
from onewindow.intake import service as intake
from onewindow.intake import staging
from onewindow.intake.schemas import ApplicantIn
from onewindow.kit.errors import OneWindowError, ValidationFailed
from onewindow.kit.platform import Ctx
from onewindow.security.authz import require_page
from onewindow.security.schemas import Principal
from onewindow.web import application_form
from onewindow.web.application_form import ApplicationForm
from onewindow.web.i18n import error_text, lang_of, translate
from onewindow.web.pages import page, render_html
from onewindow.web.portal import Reader, _applicant_only
from onewindow.web.routes import FormDep, PageCtx, PageRoute, _commit, _redirect, _zone
from onewindow.workflow import flows
from onewindow.workflow import service as workflow
from onewindow.workflow.endpoints import _check_applicant_self

router = APIRouter(include_in_schema=False, route_class=PageRoute)
Applying = Annotated[Principal, require_page("applications.create")]

# Form fields that repeat who the applicant is: filled from what they told us before.
OWN_FIELDS = {
    "applicant_name": "applicant",
    "name": "applicant",
    "id_number": "id",
    "mobile": "phone",
    "phone": "phone",
    "contact_phone": "phone",
}


# An applicant keeps the files of this many failed forms at once (a clerk is not bounded):
# staging one more drops the files of the form left longest ago.
KEEP_FORMS = 3


def staged_by(phone: str) -> str:
    """Whose staged files these are: the signed-in applicant, by verified phone. Staff
    usernames hold no ``:``, so no clerk's staged files and no applicant's ever mix."""
    return f"applicant:{phone}"


@router.get("/portal/apply")
def apply_pick(request: Request, ctx: PageCtx, who: Reader) -> Response:
    _applicant_only(who)
    query = request.query_params.get("q", "")[:64].strip().lower()
    services = [
        s
        for s in catalog.list_services(ctx)
        if s.active
        and (
            not query
            or query in s.name_zh.lower()
            or query in s.name_en.lower()
            or query in s.code.lower()
        )
    ]
    return page(
        request,
        "portal_apply_pick.html",
        principal=who,
        zone=_zone(ctx),
        services=services,
        query=request.query_params.get("q", "")[:64].strip(),
        tab="apply",
    )


def _apply_page(
    request: Request,
    ctx: Ctx,
    who: Principal,
    service: ServiceItem,
    data: ApplicationForm,
    *,
    status: int = 200,
) -> Response:
    applicant = None
    if data.id_number and "id_number" not in data.errors:
        try:
            applicant = intake.find_applicant(ctx, data.kind, data.id_number)
        except ValidationFailed:
            applicant = None
        if applicant is not None and applicant.phone != who.phone:
            applicant = None  # what someone else has on file is not shown here
    if not data.batch:
        data.batch = staging.new_batch()
    kept = {r.material_code: r for r in data.staged}
    return page(
        request,
        "portal_apply_form.html",
        status=status,
        principal=who,
        zone=_zone(ctx),
        service=service,
        checks=intake.check_completeness(ctx, service, applicant, kept),
        form=data,
        staged=kept,
        phone=who.phone,
        tab="apply",
    )


@router.get("/portal/apply/{code}")
def apply_form(code: str, request: Request, ctx: PageCtx, who: Reader) -> Response:
    phone = _applicant_only(who)
    service = catalog.get_service(ctx, code)
    kind = service.applicant_kind if service.applicant_kind != "any" else "person"
    data = ApplicationForm(kind=kind)
    mine = [a for a in intake.applicants_of_phone(ctx, phone) if a.kind == kind]
    if len(mine) == 1:  # the applicant applied before: their own details, unmasked
        data.id_number, data.applicant_name = mine[0].id_number, mine[0].name
    own = {"applicant": data.applicant_name, "id": data.id_number, "phone": phone}
    for f in service.form_fields:
        what = OWN_FIELDS.get(str(f.get("name")))
        if what and own[what]:
            data.fields[str(f["name"])] = own[what]
    return _apply_page(request, ctx, who, service, data)


@router.post("/portal/apply/staged/remove")
def staged_remove(request: Request, ctx: PageCtx, form: FormDep, who: Applying) -> Response:
    """htmx: the applicant drops a file kept from a failed submission; the cell comes back."""
    phone = _applicant_only(who)
    material = application_form.remove_staged(ctx, form, actor=staged_by(phone))
    html = render_html(request, "_staged_removed.html", principal=who, c=material)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.post("/portal/apply/{code}")
def apply_submit(
    code: str, request: Request, ctx: PageCtx, form: FormDep, who: Applying
) -> Response:
    phone = _applicant_only(who)
    owner = staged_by(phone)
    lang = lang_of(request)
    service = catalog.get_service(ctx, code)
    data = application_form.read(form, service)
    application_form.check(
        ctx,
        lang,
        service,
        form,
        data,
        name_label=translate(lang, "pt_apply_name"),
        staged_by=owner,
        may_apply=lambda d: _check_applicant_self(ctx, who, d.kind, d.id_number, phone),
    )
    if data.errors or data.problems:
        data.batch, data.staged = application_form.keep_files(
            ctx, service, data.batch, data.uploads, actor=owner, keep_forms=KEEP_FORMS
        )
        return _apply_page(request, ctx, who, service, data, status=422)
    try:
        submitted = flows.submit_application(
            ctx,
            service.code,
            ApplicantIn(data.kind, data.id_number, data.applicant_name, phone),
            channel="online",
            form=data.values,
            uploads=data.all_uploads,
            actor=workflow.APPLICANT_RESOURCE,
        )
    except OneWindowError as exc:
        data.problems.append(error_text(lang, exc))
        data.batch, data.staged = application_form.keep_files(
            ctx, service, data.batch, data.uploads, actor=owner, keep_forms=KEEP_FORMS
        )
        return _apply_page(request, ctx, who, service, data, status=exc.status)
    staging.discard(ctx, data.batch, actor=owner)
    number = submitted.application.number
    _commit(ctx)
    return _redirect(f"/portal/cases/{quote(number)}?applied=1")
