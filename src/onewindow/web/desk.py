"""Front desk pages beyond the intake form: a staged file removed, today's intake list,
the printable 一次性告知书 of a service, and a promised material handed in (容缺受理).

The intake form itself (``/desk``, its check-as-you-type and the receipt) is in
``onewindow.web.routes``; both share the staging key carried by the form.
"""

from __future__ import annotations

from math import ceil
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from onewindow.catalog import service as catalog
from onewindow.intake import service as intake
from onewindow.intake.schemas import Upload
from onewindow.kit.errors import OneWindowError, ValidationFailed
from onewindow.security.authz import require_page, visible_application
from onewindow.security.schemas import Principal
from onewindow.web import application_form
from onewindow.web.case_views import staff_names
from onewindow.web.i18n import error_text, lang_of
from onewindow.web.pages import page, render_html
from onewindow.web.routes import (
    FormDep,
    PageCtx,
    PageRoute,
    _commit,
    _file,
    _receipt_context,
    _redirect,
    _staff_only,
    _text,
    _upload,
    _zone,
)
from onewindow.workflow import flows

router = APIRouter(include_in_schema=False, route_class=PageRoute)

Clerk = Annotated[Principal, require_page("applications.create")]
TODAY_PAGE = 20


@router.post("/desk/staged/remove")
def staged_remove(request: Request, ctx: PageCtx, form: FormDep, who: Clerk) -> Response:
    """htmx: the clerk drops a file kept from a failed submission; the cell comes back empty."""
    _staff_only(who)
    material = application_form.remove_staged(ctx, form, actor=who.name)
    html = render_html(request, "_staged_removed.html", principal=who, c=material)
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.get("/desk/today")
def today(request: Request, ctx: PageCtx, who: Clerk) -> Response:
    """今日受理: what was taken at the windows today, newest first, paged with a true total."""
    _staff_only(who)
    mine = request.query_params.get("mine") == "1"
    try:
        page_no = max(int(request.query_params.get("page", "1")), 1)
    except ValueError:
        page_no = 1
    day = intake.local_today(ctx)
    rows, total = intake.applications_taken_on(
        ctx,
        day,
        channel="window",
        submitted_by=who.name if mine else None,
        limit=TODAY_PAGE,
        offset=(page_no - 1) * TODAY_PAGE,
    )
    pages = max(ceil(total / TODAY_PAGE), 1)
    services = {s.id: s for s in catalog.list_services(ctx)}

    def link(n: int) -> str:
        query = {"page": str(n)} | ({"mine": "1"} if mine else {})
        return "/desk/today?" + urlencode(query)

    items: list[dict[str, Any]] = [
        {
            "application": a,
            "service": services.get(a.service_item_id),
            "clerk": staff_names(ctx).get(a.submitted_by or "", a.submitted_by or ""),
            "promised": len(intake.promises_of(ctx, a)),
            "url": f"/desk/receipt/{quote(a.number)}",
        }
        for a in rows
    ]
    return page(
        request,
        "desk_today.html",
        principal=who,
        zone=_zone(ctx),
        day=day,
        items=items,
        total=total,
        page_no=min(page_no, pages),
        pages=pages,
        mine=mine,
        prev_url=link(page_no - 1) if page_no > 1 else None,
        next_url=link(page_no + 1) if page_no < pages else None,
    )


@router.get("/desk/notice/{code}")
def notice(code: str, request: Request, ctx: PageCtx, who: Clerk) -> Response:
    """一次性告知书: every material and form entry the service needs, printable for the
    applicant to take away (the same list the desk's completeness check uses)."""
    _staff_only(who)
    service = catalog.get_service(ctx, code[:64])
    return page(
        request,
        "desk_notice.html",
        principal=who,
        zone=_zone(ctx),
        service=service,
        deferrable=intake.deferrable_codes(service),
        issued_on=intake.local_today(ctx),
    )


@router.post("/desk/receipt/{number}/promises")
def fulfil(number: str, request: Request, ctx: PageCtx, form: FormDep, who: Clerk) -> Response:
    """A material promised at 容缺受理 is handed in at the window."""
    _staff_only(who)
    application = visible_application(ctx, who, number)
    code = _text(form, "material", 64)
    file = _file(form, "file")
    try:
        if file is None:
            raise ValidationFailed(
                "Choose the file to hand in",
                message_zh="请选择要补交的文件",
                code="promise.file_required",
            )
        upload: Upload = _upload(code, file)
        flows.fulfil_promise(ctx, application.number, upload, actor=who.name)
    except OneWindowError as exc:
        ctx.session.rollback()
        application = visible_application(ctx, who, number)
        return page(
            request,
            "receipt.html",
            status=exc.status,
            principal=who,
            zone=_zone(ctx),
            fulfil_error=error_text(lang_of(request), exc),
            **_receipt_context(ctx, application),
        )
    _commit(ctx)
    return _redirect(f"/desk/receipt/{quote(application.number)}")
