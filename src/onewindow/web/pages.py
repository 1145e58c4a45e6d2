"""Page rendering. Templates are autoescaped; nothing is fetched from the network.

Every page gets the translator ``t``, the language, the signed-in principal (or ``None``)
and the navigation that principal may use; filters format dates in the city's time zone
and mask personal information the way Chinese systems usually show it (docs/domain.md).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import date, datetime, tzinfo
from decimal import Decimal
from functools import lru_cache
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, pass_context, select_autoescape
from jinja2.runtime import Context
from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse

from onewindow.security.authz import allowed
from onewindow.security.schemas import Principal
from onewindow.web.i18n import (
    OPTION_LABELS,
    ROLE_LABELS,
    STATUS_KEYS,
    Lang,
    lang_of,
    pick,
    translate,
    translator,
)

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")

# (permission, translation key, path); applicants see only their portal.
NAV: tuple[tuple[str, str, str], ...] = (
    ("applications.create", "nav_desk", "/desk"),
    ("tasks.work", "nav_workbench", "/workbench"),
    ("cases.search", "nav_dashboard", "/dashboard"),
    ("mining.analyse", "nav_analysis", "/analysis"),
    ("feedback.analyse", "nav_feedback", "/feedback"),
    ("simulation.read", "nav_redesign", "/analysis/redesign"),
    ("feedback.work", "fbd_nav", "/fbdesk"),
    ("training.self", "nav_training", "/training"),
    ("datahub.grant", "nav_datahub", "/datahub"),
    ("ledger.read", "nav_audit", "/audit"),
    ("admin.manage", "nav_admin", "/admin"),
)


def nav_for(principal: Principal | None) -> list[tuple[str, str]]:
    if principal is None:
        return []
    if principal.kind == "applicant":
        return [("nav_portal", "/portal")]
    return [(key, path) for perm, key, path in NAV if allowed(principal, perm)]


def home_for(principal: Principal | None) -> str:
    """Where ``/`` sends a signed-in user: the page of their main role."""
    if principal is None:
        return "/"
    if principal.kind == "applicant":
        return "/portal"
    roles = principal.roles
    if "clerk" in roles:
        return "/desk"
    if roles & {"reviewer", "head"}:
        return "/workbench"
    if "admin" in roles:
        return "/admin"
    if "data_admin" in roles:
        return "/datahub"
    if "auditor" in roles:
        return "/audit"
    if roles & {"analyst", "auditor"}:
        return "/dashboard"
    return "/"


# --- masking (GB/T 35273-2020 §7.2: de-identify personal information on screen and paper) --


def mask_id(number: str | None) -> str:
    if not number:
        return ""
    if len(number) <= 10:
        return number[:2] + "*" * max(len(number) - 2, 0)
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


def mask_phone(phone: str | None) -> str:
    if not phone:
        return ""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def mask_name(name: str | None) -> str:
    if not name:
        return ""
    if name.isascii():
        return name[0] + "***"
    return name[0] + "*" * min(max(len(name) - 1, 1), 8)


# --- filters --------------------------------------------------------------------------------


def _zone(context: Context) -> tzinfo:
    zone = context.get("zone")
    return zone if isinstance(zone, tzinfo) else DEFAULT_ZONE


@pass_context
def _dt(context: Context, value: datetime | date | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.astimezone(_zone(context)).strftime("%Y-%m-%d %H:%M")
    return value.isoformat()


@pass_context
def _loc(context: Context, obj: Any, field: str = "name") -> str:
    """``obj.name_zh`` or ``obj.name_en`` (or dict keys) by the page's language."""
    suffix = "en" if context.get("lang") == "en" else "zh"
    if isinstance(obj, Mapping):
        return str(obj.get(f"{field}_{suffix}") or obj.get(f"{field}_zh") or obj.get(field, ""))
    return str(getattr(obj, f"{field}_{suffix}", "") or getattr(obj, f"{field}_zh", ""))


@pass_context
def _status(context: Context, status: str) -> str:
    key = STATUS_KEYS.get(status)
    return translate(context.get("lang", "zh"), key) if key else status


@pass_context
def _option(context: Context, value: Any) -> str:
    return pick(context.get("lang", "zh"), OPTION_LABELS.get(str(value)), str(value))


@pass_context
def _role(context: Context, role: str) -> str:
    return pick(context.get("lang", "zh"), ROLE_LABELS.get(role), role)


def _money(value: Decimal | float | int | None) -> str:
    return f"¥{Decimal(value or 0):,.2f}"


@lru_cache(maxsize=1)
def env() -> Environment:
    e = Environment(
        loader=PackageLoader("onewindow.web", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    e.filters.update(
        dt=_dt,
        loc=_loc,
        status_label=_status,
        option_label=_option,
        role_label=_role,
        money=_money,
        mask_id=mask_id,
        mask_phone=mask_phone,
        mask_name=mask_name,
    )
    # A fresh key in each rendered form's action: a double click sends the same key twice
    # and makes one case (onewindow.api.units).
    e.globals["new_idempotency_key"] = new_idempotency_key
    return e


def new_idempotency_key() -> str:
    return secrets.token_urlsafe(18)


def render_html(
    conn: HTTPConnection,
    template: str,
    *,
    principal: Principal | None = None,
    zone: tzinfo | None = None,
    **context: Any,
) -> str:
    lang: Lang = lang_of(conn)
    return (
        env()
        .get_template(template)
        .render(
            t=translator(lang),
            lang=lang,
            who=principal,
            nav=nav_for(principal),
            path=conn.url.path,
            zone=zone or DEFAULT_ZONE,
            here=quote(conn.url.path, safe="/") + (f"?{conn.url.query}" if conn.url.query else ""),
            **context,
        )
    )


def page(
    conn: HTTPConnection,
    template: str,
    *,
    status: int = 200,
    principal: Principal | None = None,
    zone: tzinfo | None = None,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A whole page; signed-in pages are never cached (they show personal information)."""
    response = HTMLResponse(
        render_html(conn, template, principal=principal, zone=zone, **context),
        status_code=status,
        headers=dict(headers or {}),
    )
    if principal is not None:
        response.headers["Cache-Control"] = "no-store"
    return response
