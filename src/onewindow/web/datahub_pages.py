"""Data hub pages (数据中心): datasets and their schemas, loads, quality, sharing grants, the
linkage review queue and the access log, for data administrators and dataset owners.

Every route names its permission. A decision that cannot be taken (no such grant or pair,
already decided, another department's data) re-renders the list with the reason and the
matching status (404, 409, 403); nothing is changed, as the request's transaction is rolled
back before the page is drawn.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from onewindow.datahub import service as datahub
from onewindow.datahub.masking import apply as mask_value
from onewindow.datahub.schemas import FieldSpec, GrantOut
from onewindow.kit.errors import OneWindowError, ValidationFailed
from onewindow.kit.platform import Ctx
from onewindow.security.authz import allowed, require_page
from onewindow.security.schemas import Principal
from onewindow.web.i18n import error_text, lang_of, translate
from onewindow.web.pages import page
from onewindow.web.routes import FormDep, PageCtx, PageRoute, _commit, _redirect, _text, _zone

router = APIRouter(include_in_schema=False, route_class=PageRoute)

Manage = Annotated[Principal, require_page("datahub.manage")]
Grants = Annotated[Principal, require_page("datahub.grant")]
AccessLog = Annotated[Principal, require_page("datahub.audit")]

PAGE_SIZE = 50
REVIEW_STATES = ("pending", "accepted", "rejected")


def _caller(who: Principal) -> datahub.Caller:
    return datahub.Caller(actor=who.name, roles=who.roles, department_code=who.department_code)


def _tabs(who: Principal) -> list[tuple[str, str, str]]:
    """(tab id, message key, path) of the tabs this user may open."""
    tabs = [("datasets", "dh_tab_datasets", "/datahub")]
    if allowed(who, "datahub.grant"):
        tabs.append(("grants", "dh_tab_grants", "/datahub/grants"))
    if allowed(who, "datahub.manage"):
        tabs.append(("reviews", "dh_tab_reviews", "/datahub/reviews"))
    if allowed(who, "datahub.audit"):
        tabs.append(("access", "dh_tab_access", "/datahub/access"))
    return tabs


def _page(
    request: Request, ctx: Ctx, who: Principal, template: str, tab: str, **context: Any
) -> Response:
    status = int(context.pop("status", 200))
    return page(
        request,
        template,
        status=status,
        principal=who,
        zone=_zone(ctx),
        tab=tab,
        tabs=_tabs(who),
        can_manage=allowed(who, "datahub.manage"),
        **context,
    )


def _failure(request: Request, ctx: Ctx, exc: OneWindowError) -> tuple[int, str]:
    """Undo whatever the refused decision touched, then say why in the page's language."""
    ctx.session.rollback()
    return exc.status, error_text(lang_of(request), exc)


# --- datasets ---------------------------------------------------------------------------------


@router.get("/datahub")
def datasets(
    request: Request,
    ctx: PageCtx,
    who: Grants,
    q: Annotated[str, Query(max_length=100)] = "",
) -> Response:
    entries = datahub.catalogue(ctx, q.strip() or None)
    return _page(request, ctx, who, "datahub_datasets.html", "datasets", entries=entries, q=q)


def _key_masker(specs: list[FieldSpec], key_field: str, roles: frozenset[str]) -> Any:
    """Row keys (often a citizen ID) shown as the key field's sensitivity allows."""
    spec = next((f for f in specs if f.name == key_field), None)

    def show(value: Any) -> Any:
        if spec is None or value is None:
            return value
        return mask_value(value, spec.type, spec.sensitivity, roles)

    return show


@router.get("/datahub/datasets/{code}")
def dataset(request: Request, ctx: PageCtx, who: Manage, code: str) -> Response:
    ds = datahub.get_dataset(ctx, code)
    entry = next(e for e in datahub.catalogue(ctx) if e.code == ds.code)
    specs = datahub.field_specs(ds)
    return _page(
        request,
        ctx,
        who,
        "datahub_dataset.html",
        "datasets",
        entry=entry,
        key_field=ds.key_field,
        loads=datahub.load_history(ctx, code),
        quality=datahub.quality_report(ctx, code),
        show_key=_key_masker(specs, ds.key_field, who.roles),
    )


@router.get("/datahub/datasets/{code}/failures.csv")
def failures_csv(ctx: PageCtx, who: Manage, code: str) -> Response:
    body = "\ufeff" + datahub.failing_rows_csv(ctx, code)  # BOM: Excel opens it as UTF-8
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{code}-failures.csv"',
            "Cache-Control": "no-store",
        },
    )


# --- sharing grants ---------------------------------------------------------------------------


def _grants_page(
    request: Request,
    ctx: Ctx,
    who: Principal,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    everyone = "admin" in who.roles or who.department_code is None
    grants: list[GrantOut] = datahub.list_grants(ctx, None if everyone else who.department_code)
    waiting = [g for g in grants if g.status == "requested"]
    others = [g for g in grants if g.status != "requested"]
    now = ctx.clock.now()
    return _page(
        request,
        ctx,
        who,
        "datahub_grants.html",
        "grants",
        status=status,
        waiting=waiting,
        others=others,
        now=now,
        mine=lambda g: "admin" in who.roles or g.owner_department == who.department_code,
        error=error,
        notice=notice,
    )


@router.get("/datahub/grants")
def grants(request: Request, ctx: PageCtx, who: Grants) -> Response:
    done = request.query_params.get("done", "")
    notice = None
    if done in ("approved", "refused", "revoked"):
        notice = translate(lang_of(request), f"dh_grant_{done}_ok")
    return _grants_page(request, ctx, who, notice=notice)


def _expiry(request: Request, ctx: Ctx, raw: str) -> datetime | None:
    """The approver's expiry date (end of that day, local time), or None to keep the asked one.

    Raises:
        ValidationFailed: not a date.
    """
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(
            f"Not a date: {raw}", message_zh=f"日期无效：{raw}", code="datahub.bad_date"
        ) from None
    return datetime.combine(day, time(23, 59, 59), tzinfo=_zone(ctx))


@router.post("/datahub/grants/{grant_id}/{action}")
def decide_grant(
    grant_id: int, action: str, request: Request, ctx: PageCtx, form: FormDep, who: Grants
) -> Response:
    caller = _caller(who)
    try:
        if action == "approve":
            expires = _expiry(request, ctx, _text(form, "expires", 10))
            datahub.approve_grant(ctx, grant_id, caller=caller, expires_at=expires)
            done = "approved"
        elif action == "refuse":
            datahub.refuse_grant(ctx, grant_id, caller=caller)
            done = "refused"
        elif action == "revoke":
            datahub.revoke_grant(ctx, grant_id, caller=caller)
            done = "revoked"
        else:
            raise ValidationFailed(
                f"Unknown action {action}", message_zh="未知操作", code="datahub.bad_action"
            )
    except OneWindowError as exc:
        status, message = _failure(request, ctx, exc)
        return _grants_page(request, ctx, who, status=status, error=message)
    _commit(ctx)
    return _redirect(f"/datahub/grants?done={done}")


# --- the linkage review queue -----------------------------------------------------------------


def _reviews_page(
    request: Request,
    ctx: Ctx,
    who: Principal,
    state: str,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    pairs = datahub.list_reviews(ctx, state, roles=who.roles)
    rows = []
    for pair in pairs:
        left, right = pair.left.get("compare", {}), pair.right.get("compare", {})
        keys = list(left) + [k for k in right if k not in left]
        rows.append(
            (
                pair,
                [
                    (
                        (left.get(key) or right.get(key) or {}).get("label", key),
                        (left.get(key) or {}).get("value"),
                        (right.get(key) or {}).get("value"),
                        (left.get(key) or right.get(key) or {}).get("same"),
                    )
                    for key in keys
                ],
            )
        )
    return _page(
        request,
        ctx,
        who,
        "datahub_reviews.html",
        "reviews",
        status=status,
        state=state,
        states=REVIEW_STATES,
        rows=rows,
        error=error,
        notice=notice,
    )


@router.get("/datahub/reviews")
def reviews(
    request: Request,
    ctx: PageCtx,
    who: Manage,
    state: Annotated[str, Query(pattern="^(pending|accepted|rejected)$")] = "pending",
) -> Response:
    notice = None
    decided = request.query_params.get("decided", "")
    if decided in ("accepted", "rejected"):
        notice = translate(lang_of(request), f"dh_review_{decided}_ok")
    return _reviews_page(request, ctx, who, state, notice=notice)


@router.post("/datahub/reviews/{review_id}/decide")
def decide_review(
    review_id: int, request: Request, ctx: PageCtx, form: FormDep, who: Manage
) -> Response:
    choice = _text(form, "decision", 10)
    try:
        if choice not in ("accept", "reject"):
            raise ValidationFailed(
                "Choose accept or reject",
                message_zh="请选择“是同一人”或“不是同一人”",
                code="datahub.bad_decision",
            )
        review = datahub.decide_review(ctx, review_id, accept=choice == "accept", actor=who.name)
    except OneWindowError as exc:
        status, message = _failure(request, ctx, exc)
        return _reviews_page(request, ctx, who, "pending", status=status, error=message)
    _commit(ctx)
    return _redirect(f"/datahub/reviews?decided={review.status}")


# --- who read what ----------------------------------------------------------------------------


@router.get("/datahub/access")
def access_log(
    request: Request,
    ctx: PageCtx,
    who: AccessLog,
    q: Annotated[str, Query(max_length=100)] = "",
    outcome: Annotated[str, Query(pattern="^(|allowed|refused)$")] = "",
    page_no: Annotated[int, Query(alias="page", ge=1, le=100_000)] = 1,
) -> Response:
    everyone = bool(who.roles & {"auditor", "admin"}) or who.department_code is None
    items, total = datahub.access_log_for(
        ctx,
        None if everyone else who.department_code,
        limit=PAGE_SIZE,
        offset=(page_no - 1) * PAGE_SIZE,
        query=q.strip() or None,
        outcome=outcome or None,
    )
    pages = max(1, -(-total // PAGE_SIZE))
    return _page(
        request,
        ctx,
        who,
        "datahub_access.html",
        "access",
        items=items,
        total=total,
        q=q,
        outcome=outcome,
        page_no=page_no,
        pages=pages,
    )
