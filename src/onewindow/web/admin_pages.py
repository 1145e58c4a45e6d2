"""Administration pages (系统管理): staff accounts, service items and the holiday calendar,
and the public page where a member of staff sets a password through a one-time link.

Every change goes through ``security.admin`` (the catalogue's rules plus a ledger entry). A
refused form is drawn again with what was typed and each problem beside its field; the
request's transaction is rolled back first, so nothing of it is kept.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.datastructures import FormData, UploadFile
from starlette.responses import Response

from onewindow.catalog import service as catalog
from onewindow.catalog.models import ServiceItem, Staff
from onewindow.catalog.schemas import ROLES
from onewindow.kit import calendar_store
from onewindow.kit.calendar import WorkingCalendar
from onewindow.kit.calendar_store import FIRST_YEAR, LAST_YEAR
from onewindow.kit.errors import OneWindowError, ValidationFailed
from onewindow.kit.http import PlatformDep
from onewindow.kit.platform import Ctx
from onewindow.security import admin
from onewindow.security import service as security
from onewindow.security.authz import require_page
from onewindow.security.schemas import Principal
from onewindow.web.i18n import Lang, error_text, lang_of, translate
from onewindow.web.pages import page
from onewindow.web.routes import (
    Anyone,
    FormDep,
    PageCtx,
    PageRoute,
    _commit,
    _pre_ok,
    _pre_token,
    _redirect,
    _text,
    _with_pre,
    _zone,
)

router = APIRouter(include_in_schema=False, route_class=PageRoute)

Admin = Annotated[Principal, require_page("admin.manage")]
PAGE_SIZE = 20
MAX_ROWS = 200  # rows of one list a form may send
BLANK_ROWS = 2  # empty rows offered for new materials, fields and legal bases
FIELD_TYPES = ("string", "number", "integer", "boolean", "date", "enum", "multi")
REFUSALS = ("not_accept", "reject")


def _fields_of(exc: OneWindowError, lang: Lang) -> dict[str, str]:
    """A refused form's problems by field, in the page's language."""
    raw = exc.details.get("fields") or {}
    return {k: str(v.get(lang) or v.get("en") or "") for k, v in raw.items()}


def _page(request: Request, ctx: Ctx, who: Principal, template: str, **context: Any) -> Response:
    return page(
        request,
        template,
        status=int(context.pop("status", 200)),
        principal=who,
        zone=_zone(ctx),
        **context,
    )


# --- staff ------------------------------------------------------------------------------------


def _int(value: str | None, default: int) -> int:
    try:
        return int(value or default)
    except ValueError:
        return default


def _staff_list(
    request: Request,
    ctx: Ctx,
    who: Principal,
    *,
    status: int = 200,
    form: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    params = request.query_params
    query = (params.get("q") or "").strip()[:100]
    departments = catalog.list_departments(ctx)
    codes = {d.code for d in departments}
    dept = params.get("dept") or ""
    dept = dept if dept in codes else ""
    state = params.get("state") or ""
    active = {"active": True, "inactive": False}.get(state)
    page_no = max(_int(params.get("page"), 1), 1)
    rows, total = catalog.staff_page(
        ctx, query=query, department_code=dept or None, active=active, page=page_no, size=PAGE_SIZE
    )
    pages = max(math.ceil(total / PAGE_SIZE), 1)
    return _page(
        request,
        ctx,
        who,
        "admin_staff.html",
        status=status,
        tab="staff",
        rows=rows,
        total=total,
        page_no=page_no,
        pages=pages,
        query=query,
        dept=dept,
        state=state,
        departments=departments,
        roles=ROLES,
        form=form or {"roles": []},
        errors=errors or {},
        error=error,
        notice=notice,
        passwords={s.id: security.has_password(ctx, s) for s in rows},
    )


@router.get("/admin/staff")
def admin_staff(request: Request, ctx: PageCtx, who: Admin) -> Response:
    return _staff_list(request, ctx, who)


def _staff_form(form: FormData) -> dict[str, Any]:
    return {
        "username": _text(form, "username", 64).lower(),
        "name": _text(form, "name", 100),
        "department": _text(form, "department", 32),
        "roles": [r for r in form.getlist("roles") if isinstance(r, str) and r in ROLES],
    }


@router.post("/admin/staff")
def admin_create_staff(request: Request, ctx: PageCtx, form: FormDep, who: Admin) -> Response:
    lang = lang_of(request)
    data = _staff_form(form)
    try:
        staff = admin.create_staff(ctx, data, actor=who.name)
    except OneWindowError as exc:
        ctx.session.rollback()
        return _staff_list(
            request,
            ctx,
            who,
            status=exc.status,
            form=data,
            errors=_fields_of(exc, lang),
            error=error_text(lang, exc),
        )
    _commit(ctx)
    return _redirect(f"/admin/staff/{staff.username}?created=1")


def _staff_page(
    request: Request,
    ctx: Ctx,
    who: Principal,
    staff: Staff,
    *,
    status: int = 200,
    form: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    error: str | None = None,
    notice: str | None = None,
    reset_link: str | None = None,
    reset_expires: Any = None,
) -> Response:
    current = {
        "name": staff.name,
        "department": staff.department.code,
        "roles": list(staff.roles or []),
    }
    return _page(
        request,
        ctx,
        who,
        "admin_staff_edit.html",
        status=status,
        tab="staff",
        staff=staff,
        form=form or current,
        departments=catalog.list_departments(ctx),
        roles=ROLES,
        errors=errors or {},
        error=error,
        notice=notice,
        has_password=security.has_password(ctx, staff),
        reset_link=reset_link,
        reset_expires=reset_expires,
        reset_hours=admin.RESET_HOURS,
    )


_STAFF_NOTICES = {
    "created": "am_staff_created",
    "saved": "am_staff_saved",
    "deactivated": "am_staff_deactivated",
    "activated": "am_staff_activated",
}


@router.get("/admin/staff/{username}")
def admin_staff_edit(username: str, request: Request, ctx: PageCtx, who: Admin) -> Response:
    staff = catalog.get_staff_any(ctx, username)
    notice = next(
        (
            translate(lang_of(request), key)
            for flag, key in _STAFF_NOTICES.items()
            if flag in request.query_params
        ),
        None,
    )
    return _staff_page(request, ctx, who, staff, notice=notice)


@router.post("/admin/staff/{username}")
def admin_staff_save(
    username: str, request: Request, ctx: PageCtx, form: FormDep, who: Admin
) -> Response:
    lang = lang_of(request)
    data = _staff_form(form)
    data.pop("username")
    try:
        admin.update_staff(ctx, username, data, actor=who.name)
    except OneWindowError as exc:
        ctx.session.rollback()
        staff = catalog.get_staff_any(ctx, username)
        return _staff_page(
            request,
            ctx,
            who,
            staff,
            status=exc.status,
            form=data,
            errors=_fields_of(exc, lang),
            error=error_text(lang, exc),
        )
    _commit(ctx)
    return _redirect(f"/admin/staff/{username}?saved=1")


@router.post("/admin/staff/{username}/active")
def admin_staff_active(
    username: str, request: Request, ctx: PageCtx, form: FormDep, who: Admin
) -> Response:
    active = _text(form, "active", 8) == "1"
    try:
        admin.set_active(ctx, username, active, actor=who.name)
    except OneWindowError as exc:
        ctx.session.rollback()
        staff = catalog.get_staff_any(ctx, username)
        lang = lang_of(request)
        return _staff_page(request, ctx, who, staff, status=exc.status, error=error_text(lang, exc))
    _commit(ctx)
    return _redirect(f"/admin/staff/{username}?{'activated' if active else 'deactivated'}=1")


@router.get("/admin/staff/{username}/reset")
def admin_staff_reset_again(username: str, ctx: PageCtx, who: Admin) -> Response:
    """Reloading (or switching language on) the page that showed a link goes back to the
    member of staff's page: the link is never shown a second time."""
    catalog.get_staff_any(ctx, username)
    return _redirect(f"/admin/staff/{username}")


@router.post("/admin/staff/{username}/reset")
def admin_staff_reset(
    username: str, request: Request, ctx: PageCtx, form: FormDep, who: Admin
) -> Response:
    lang = lang_of(request)
    try:
        issued = admin.issue_reset(ctx, username, actor=who.name)
    except OneWindowError as exc:
        ctx.session.rollback()
        staff = catalog.get_staff_any(ctx, username)
        return _staff_page(request, ctx, who, staff, status=exc.status, error=error_text(lang, exc))
    _commit(ctx)
    staff = catalog.get_staff_any(ctx, username)
    link = str(request.base_url).rstrip("/") + f"/password/reset/{issued.token}"
    # Shown in this answer only (no redirect to a page that could show it again).
    return _staff_page(
        request,
        ctx,
        who,
        staff,
        status=201,
        reset_link=link,
        reset_expires=issued.reset.expires_at,
    )


# --- setting a password through the link (public) -----------------------------------------------


def _reset_page(
    request: Request,
    *,
    token: str,
    status: int = 200,
    staff: Staff | None = None,
    error: str | None = None,
    errors: Mapping[str, str] | None = None,
    done: bool = False,
) -> Response:
    pre = _pre_token(request)
    response = page(
        request,
        "password_reset.html",
        status=status,
        token=token,
        staff=staff,
        error=error,
        errors=errors or {},
        done=done,
        pre=pre,
        min_length=admin.RESET_MIN_LENGTH,
        headers={"Cache-Control": "no-store"},
    )
    return _with_pre(request, response, pre)


@router.get("/password/reset/{token}")
def password_reset_form(token: str, request: Request, ctx: PageCtx, who: Anyone) -> Response:
    lang = lang_of(request)
    try:
        _row, staff = admin.open_reset(ctx, token[:200])
    except OneWindowError as exc:
        return _reset_page(request, token="", status=exc.status, error=error_text(lang, exc))
    return _reset_page(request, token=token, staff=staff)


@router.post("/password/reset/{token}")
def password_reset_submit(
    token: str, request: Request, ctx: PageCtx, form: FormDep, who: Anyone
) -> Response:
    lang = lang_of(request)
    token = token[:200]
    if not _pre_ok(request, form):
        try:
            _row, staff = admin.open_reset(ctx, token)
        except OneWindowError as exc:
            return _reset_page(request, token="", status=exc.status, error=error_text(lang, exc))
        return _reset_page(
            request, token=token, staff=staff, status=403, error=translate(lang, "login_expired")
        )
    try:
        admin.redeem_reset(ctx, token, _text(form, "password", 256), _text(form, "confirm", 256))
    except ValidationFailed as exc:
        ctx.session.rollback()
        _row, staff = admin.open_reset(ctx, token)
        return _reset_page(
            request,
            token=token,
            staff=staff,
            status=exc.status,
            error=error_text(lang, exc),
            errors=_fields_of(exc, lang),
        )
    except OneWindowError as exc:
        ctx.session.rollback()
        return _reset_page(request, token="", status=exc.status, error=error_text(lang, exc))
    _commit(ctx)
    return _reset_page(request, token="", done=True)


# --- service items ------------------------------------------------------------------------------


def _rows_of(edit: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """A service's lists as the editor's rows (strings and ticks), plus blank rows."""
    materials = [
        {
            "code": m["code"],
            "name_zh": m["name_zh"],
            "name_en": m["name_en"],
            "required": bool(m["required"]),
            "certificate": bool(m["certificate"]),
            "deferrable": bool(m.get("deferrable")),
            "valid_days": "" if m.get("valid_days") is None else str(m["valid_days"]),
            "remove": False,
        }
        for m in edit["materials"]
    ]
    form = [
        {
            "name": f.get("name", ""),
            "label_zh": f.get("label_zh", ""),
            "label_en": f.get("label_en", ""),
            "type": f.get("type", "string"),
            "required": bool(f.get("required")),
            "options": "\n".join(f.get("options") or []),
            "remove": False,
        }
        for f in edit["form"]
    ]
    bases = [
        {
            "code": b.get("code", ""),
            "zh": b.get("zh", ""),
            "en": b.get("en", ""),
            "applies_to": list(b.get("applies_to") or []),
            "remove": False,
        }
        for b in edit["legal_bases"]
    ]
    blank_material = {"required": True, "certificate": False, "deferrable": False, "remove": False}
    materials += [dict(blank_material) for _ in range(BLANK_ROWS)]
    form += [{"type": "string", "required": False, "remove": False} for _ in range(BLANK_ROWS)]
    bases += [{"applies_to": list(REFUSALS), "remove": False} for _ in range(BLANK_ROWS)]
    return {"materials": materials, "form": form, "legal_bases": bases}


def _read_rows(
    form: FormData, prefix: str, texts: Sequence[str], ticks: Sequence[str], lists: Sequence[str]
) -> list[dict[str, Any]]:
    count = min(max(_int(_text(form, f"{prefix}.count", 8), 0), 0), MAX_ROWS)
    rows = []
    for i in range(count):
        row: dict[str, Any] = {t: _text(form, f"{prefix}.{i}.{t}", 2000) for t in texts}
        for tick in ticks:
            row[tick] = form.get(f"{prefix}.{i}.{tick}") is not None
        for name in lists:
            row[name] = [v for v in form.getlist(f"{prefix}.{i}.{name}") if isinstance(v, str)]
        row["remove"] = form.get(f"{prefix}.{i}.remove") is not None
        rows.append(row)
    return rows


def _submitted(
    rows: Sequence[dict[str, Any]], texts: Sequence[str]
) -> tuple[list[dict[str, Any]], list[int]]:
    """Rows to save (not removed, not left blank) and each one's row number on the page."""
    kept, where = [], []
    for i, row in enumerate(rows):
        if row["remove"] or not any(row.get(t) for t in texts):
            continue
        kept.append(row)
        where.append(i)
    return kept, where


_MATERIAL_TEXTS = ("code", "name_zh", "name_en", "valid_days")
_FORM_TEXTS = ("name", "label_zh", "label_en", "options")
_BASIS_TEXTS = ("code", "zh", "en")


def _service_data(form: FormData) -> tuple[dict[str, Any], dict[str, Any], dict[str, list[int]]]:
    """(rows as typed, data for the catalogue, page row of each list entry)."""
    rows = {
        "materials": _read_rows(
            form, "materials", _MATERIAL_TEXTS, ("required", "certificate", "deferrable"), ()
        ),
        "form": _read_rows(form, "form", (*_FORM_TEXTS, "type"), ("required",), ()),
        "legal_bases": _read_rows(form, "legal_bases", _BASIS_TEXTS, (), ("applies_to",)),
    }
    materials, m_at = _submitted(rows["materials"], _MATERIAL_TEXTS)
    fields, f_at = _submitted(rows["form"], _FORM_TEXTS)
    bases, b_at = _submitted(rows["legal_bases"], _BASIS_TEXTS)
    data = {
        "time_limit_days": _text(form, "time_limit_days", 8),
        "materials": [
            {
                "code": r["code"],
                "name_zh": r["name_zh"],
                "name_en": r["name_en"],
                "required": r["required"],
                "certificate": r["certificate"],
                "deferrable": r["deferrable"],
                "valid_days": r["valid_days"] or None,
            }
            for r in materials
        ],
        "form": [
            {
                "name": r["name"],
                "label_zh": r["label_zh"],
                "label_en": r["label_en"],
                "type": r["type"] or "string",
                "required": r["required"],
                "options": [o.strip() for o in r["options"].splitlines() if o.strip()],
            }
            for r in fields
        ],
        "legal_bases": [
            {"code": r["code"], "zh": r["zh"], "en": r["en"], "applies_to": r["applies_to"]}
            for r in bases
        ],
    }
    page_rows = {
        "time_limit": _text(form, "time_limit_days", 8),
        **rows,
    }
    return page_rows, data, {"materials": m_at, "form": f_at, "legal_bases": b_at}


def _errors_on_page(errors: Mapping[str, str], at: Mapping[str, list[int]]) -> dict[str, str]:
    """Error keys of the saved lists (``form.1.options``) as rows of the page (``form.3...``)."""
    out: dict[str, str] = {}
    for key, text in errors.items():
        parts = key.split(".")
        if len(parts) >= 2 and parts[0] in at and parts[1].isdigit():
            index = int(parts[1])
            rows = at[parts[0]]
            if index < len(rows):
                parts[1] = str(rows[index])
        out[".".join(parts)] = text
    return out


def _service_page(
    request: Request,
    ctx: Ctx,
    who: Principal,
    item: ServiceItem,
    *,
    status: int = 200,
    rows: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    if rows is None:
        rows = {"time_limit": str(item.time_limit_days), **_rows_of(catalog.service_edit_of(item))}
    return _page(
        request,
        ctx,
        who,
        "admin_service_edit.html",
        status=status,
        tab="services",
        item=item,
        rows=rows,
        errors=errors or {},
        error=error,
        notice=notice,
        field_types=FIELD_TYPES,
        refusals=REFUSALS,
    )


@router.get("/admin/services/{code}")
def admin_service_edit(code: str, request: Request, ctx: PageCtx, who: Admin) -> Response:
    item = catalog.service_for_edit(ctx, code)
    notice = (
        translate(lang_of(request), "am_service_saved") if "saved" in request.query_params else None
    )
    return _service_page(request, ctx, who, item, notice=notice)


@router.post("/admin/services/{code}")
def admin_service_save(
    code: str, request: Request, ctx: PageCtx, form: FormDep, who: Admin
) -> Response:
    lang = lang_of(request)
    rows, data, at = _service_data(form)
    try:
        admin.update_service_item(ctx, code, data, actor=who.name)
    except OneWindowError as exc:
        ctx.session.rollback()
        item = catalog.service_for_edit(ctx, code)
        return _service_page(
            request,
            ctx,
            who,
            item,
            status=exc.status,
            rows=rows,
            errors=_errors_on_page(_fields_of(exc, lang), at),
            error=error_text(lang, exc),
        )
    _commit(ctx)
    return _redirect(f"/admin/services/{code}?saved=1")


# --- holiday calendar ---------------------------------------------------------------------------


def _calendar_page(
    request: Request,
    ctx: Ctx,
    who: Principal,
    base: WorkingCalendar,
    *,
    status: int = 200,
    form: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    entered = admin.calendar_years(ctx)
    entered_years = {row.year for row in entered}
    shipped: dict[int, tuple[int, int]] = {}
    for d in base.holidays:
        h, m = shipped.get(d.year, (0, 0))
        shipped[d.year] = (h + 1, m)
    for d in base.makeup_workdays:
        h, m = shipped.get(d.year, (0, 0))
        shipped[d.year] = (h, m + 1)
    return _page(
        request,
        ctx,
        who,
        "admin_calendar.html",
        status=status,
        tab="calendar",
        entered=entered,
        shipped=sorted(
            ((y, h, m) for y, (h, m) in shipped.items() if y not in entered_years), reverse=True
        ),
        as_lines=calendar_store.as_lines,
        form=form or {"year": str(ctx.clock.now().astimezone(ctx.calendar.zone).year + 1)},
        errors=errors or {},
        error=error,
        notice=notice,
    )


@router.get("/admin/calendar")
def admin_calendar(
    request: Request,
    ctx: PageCtx,
    platform: PlatformDep,
    who: Admin,
    year: Annotated[int | None, Query(ge=FIRST_YEAR, le=LAST_YEAR)] = None,
) -> Response:
    lang = lang_of(request)
    base = platform.base_calendar or platform.calendar
    notice = None
    if "saved" in request.query_params:
        notice = translate(lang, "am_cal_saved", year=request.query_params.get("saved", ""))
    form = None
    if year is not None:
        # Start from the year as entered (or as shipped) to correct it.
        row = next((r for r in admin.calendar_years(ctx) if r.year == year), None)
        if row is not None:
            holidays = row.holidays
            makeups = row.makeup_workdays
            notice_title = row.notice
        else:
            holidays = [d.isoformat() for d in base.holidays if d.year == year]
            makeups = [d.isoformat() for d in base.makeup_workdays if d.year == year]
            notice_title = ""
        form = {
            "year": str(year),
            "notice": notice_title,
            "holidays": calendar_store.as_lines([date.fromisoformat(d) for d in holidays]),
            "makeup_workdays": calendar_store.as_lines([date.fromisoformat(d) for d in makeups]),
        }
    return _calendar_page(request, ctx, who, base, form=form, notice=notice)


def _uploaded_lists(upload: UploadFile) -> tuple[str, str, str] | None:
    """An uploaded YAML in ``holidays_cn.yaml``'s shape as (holidays, makeups, year guess)."""
    import yaml

    raw = upload.file.read(256 * 1024)
    try:
        data = yaml.safe_load(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, yaml.YAMLError):
        return None
    if not isinstance(data, dict):
        return None

    def lines(key: str) -> str:
        entries = data.get(key) or []
        if not isinstance(entries, list):
            return str(entries)
        return "\n".join(str(e) for e in entries)

    year = str(data.get("year", ""))
    return lines("holidays"), lines("makeup_workdays"), year


def _extract_from_notice(
    request: Request, ctx: Ctx, who: Principal, base: WorkingCalendar, values: dict[str, str]
) -> Response:
    """Fill the two lists from the notice's pasted text, to be checked before saving."""
    lang = lang_of(request)
    try:
        year = int(values["year"])
    except ValueError:
        year = 0
    if not calendar_store.FIRST_YEAR <= year <= calendar_store.LAST_YEAR:
        problem = translate(lang, "am_cal_year_first")
        return _calendar_page(
            request, ctx, who, base, status=422, form=values, errors={"year": problem}
        )
    holidays, makeups = calendar_store.dates_from_notice(values["notice_text"], year)
    if not holidays:
        problem = translate(lang, "am_cal_nothing_found", year=year)
        return _calendar_page(
            request, ctx, who, base, status=422, form=values, errors={"notice_text": problem}
        )
    values["holidays"], values["makeup_workdays"] = holidays, makeups
    notice = translate(
        lang,
        "am_cal_extracted",
        h=len(holidays.splitlines()),
        m=len(makeups.splitlines()) if makeups else 0,
    )
    return _calendar_page(request, ctx, who, base, form=values, notice=notice)


@router.post("/admin/calendar")
def admin_calendar_save(
    request: Request, ctx: PageCtx, platform: PlatformDep, form: FormDep, who: Admin
) -> Response:
    lang = lang_of(request)
    base = platform.base_calendar or platform.calendar
    values = {
        "year": _text(form, "year", 8),
        "notice": _text(form, "notice", 300),
        "holidays": _text(form, "holidays", 20000),
        "makeup_workdays": _text(form, "makeup_workdays", 20000),
    }
    values["notice_text"] = _text(form, "notice_text", 20000)
    if _text(form, "action", 16) == "extract":
        return _extract_from_notice(request, ctx, who, base, values)
    upload = form.get("file")
    if isinstance(upload, UploadFile) and upload.filename:
        lists = _uploaded_lists(upload)
        if lists is None:
            return _calendar_page(
                request,
                ctx,
                who,
                base,
                status=422,
                form=values,
                errors={"file": translate(lang, "am_cal_bad_file")},
                error=translate(lang, "am_cal_bad_file"),
            )
        values["holidays"], values["makeup_workdays"] = lists[0], lists[1]
        values["year"] = values["year"] or lists[2]
    try:
        row = admin.save_calendar_year(
            ctx,
            base,
            values["year"],
            values["holidays"],
            values["makeup_workdays"],
            notice=values["notice"],
            actor=who.name,
        )
    except OneWindowError as exc:
        ctx.session.rollback()
        return _calendar_page(
            request,
            ctx,
            who,
            base,
            status=exc.status,
            form=values,
            errors=_fields_of(exc, lang),
            error=error_text(lang, exc),
        )
    year = row.year
    _commit(ctx)
    platform.reload_calendar()
    return _redirect(f"/admin/calendar?saved={year}")
