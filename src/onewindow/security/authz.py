"""Authorisation in one place: permissions are data, every route names the one it needs.

A route declares ``Depends(require("tasks.work"))`` (or ``public()``); the route x role test
reads those declarations, so a new route without a rule fails the suite. A record the caller
may not see answers 404, never 403, so its existence does not leak.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from onewindow.catalog.models import Staff
from onewindow.intake import service as intake
from onewindow.intake.models import Application
from onewindow.kit.errors import NotFound, OneWindowError, PermissionDenied
from onewindow.kit.http import CtxDep
from onewindow.kit.platform import Ctx
from onewindow.security import service as security
from onewindow.security.schemas import Principal

SESSION_COOKIE = "ow_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STAFF_ALL = frozenset({"clerk", "reviewer", "head", "analyst", "data_admin", "auditor", "admin"})

PERMISSIONS: dict[str, frozenset[str]] = {
    "me.read": STAFF_ALL | {"applicant"},
    "applications.create": frozenset({"clerk", "applicant", "system"}),
    "applications.read": frozenset(
        {"clerk", "reviewer", "head", "analyst", "auditor", "admin", "applicant", "system"}
    ),
    "applications.supplement": frozenset({"clerk", "applicant"}),
    "materials.read": frozenset({"clerk", "reviewer", "head", "auditor", "applicant", "system"}),
    "tasks.work": frozenset({"clerk", "reviewer", "head", "system"}),
    # a head's hand on their department's queue: reassign, transfer, take back
    "tasks.assign": frozenset({"head"}),
    "cases.search": frozenset(
        {"clerk", "reviewer", "head", "analyst", "auditor", "admin", "system"}
    ),
    "eventlog.export": frozenset({"analyst", "auditor", "admin", "system"}),
    # the process-analysis pages: the map of our own log or an uploaded one, its cases
    "mining.analyse": frozenset({"analyst", "head", "admin"}),
    # messages from department systems to waiting cases; the list of those not yet taken
    "messages.send": frozenset({"system", "admin"}),
    "messages.read": frozenset({"admin", "auditor", "system"}),
    "admin.manage": frozenset({"admin"}),
    # simulation: see published redesigns and their proof; run what-ifs; publish / measure
    "simulation.read": frozenset({"head", "analyst", "auditor", "admin", "system"}),
    "simulation.run": frozenset({"analyst", "admin", "system"}),
    "simulation.publish": frozenset({"analyst", "admin"}),
    # the redesign studio: an analyst proposes, a head (of a department on the service) or an
    # admin publishes a redesign as the service's new process version
    "simulation.publish_redesign": frozenset({"head", "admin"}),
    # data hub: the catalogue and granted shared reads; sources, linkage and review;
    # sharing grants (requested and approved by heads / data admins); who read whose data
    "datahub.read": STAFF_ALL | {"system"},
    "datahub.manage": frozenset({"data_admin", "admin"}),
    "datahub.grant": frozenset({"head", "data_admin", "admin"}),
    "datahub.audit": frozenset({"head", "data_admin", "auditor", "admin"}),
    # privacy and the ledger: unmask one value with a purpose (the policy decides per field);
    # an applicant's own data rights; staff who answer correction requests; reading and
    # signing the ledger; de-identified analytics exports
    "privacy.unmask": STAFF_ALL,
    "privacy.self": frozenset({"applicant"}),
    "privacy.manage": frozenset({"data_admin", "admin"}),
    "ledger.read": frozenset({"head", "data_admin", "auditor", "admin"}),
    "ledger.sign": frozenset({"admin"}),
    "exports.deidentified": frozenset({"analyst", "auditor", "admin"}),
    # feedback: 好差评 by the applicant; tickets from citizens and from the hotline/window;
    # feedback tasks (rectification, complaint handling); analytics; surveys and the board
    "feedback.rate": frozenset({"applicant"}),
    "feedback.submit": frozenset({"applicant", "clerk"}),
    "feedback.read": STAFF_ALL | {"applicant"},
    "feedback.work": frozenset({"clerk", "reviewer", "head"}),
    "feedback.visit": frozenset({"clerk"}),
    "feedback.analyse": frozenset({"analyst", "head", "auditor", "admin"}),
    "feedback.manage": frozenset({"head", "analyst", "admin"}),
    # training: a member of staff's own needs, courses, exams and the leaderboards; a head's
    # team needs, plan, assignments, courses, exams and sessions; the measured effect
    "training.self": STAFF_ALL,
    "training.lead": frozenset({"head", "admin"}),
    "training.effect": frozenset({"head", "analyst", "auditor", "admin"}),
}
PUBLIC = "public"


class AuthRequired(OneWindowError):
    code = "auth.required"
    status = 401


def allowed(principal: Principal, permission: str) -> bool:
    roles = PERMISSIONS[permission]
    if principal.kind == "system":
        return "system" in roles and permission in principal.scopes
    return bool(principal.roles & roles)


def resolve(request: Request, ctx: Ctx) -> Principal | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        principal = security.principal_from_token(ctx, auth[7:].strip())
        if principal is None:
            raise AuthRequired(
                "The token is unknown, expired or revoked",
                message_zh="令牌无效、已过期或已吊销",
                code="auth.token_invalid",
            )
        return principal
    cookie = request.cookies.get(SESSION_COOKIE)
    return security.principal_from_session(ctx, cookie) if cookie else None


async def sent_csrf(request: Request) -> str | None:
    """The CSRF token the request carries (header, or form field for HTML forms).

    Async only to read the form; it touches no database, so the permission check itself can
    run in the thread pool and never block the event loop.
    """
    if request.method in SAFE_METHODS:
        return None
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get("csrf_token")
        sent = value if isinstance(value, str) else None
    return sent


def _check_csrf(sent: str | None, principal: Principal) -> None:
    if (
        not sent
        or not principal.csrf_token
        or not secrets.compare_digest(sent, principal.csrf_token)
    ):
        raise PermissionDenied(
            "Missing or wrong CSRF token; reload the page and try again",
            message_zh="表单已失效（CSRF 校验失败），请刷新页面后重试",
            code="auth.csrf_failed",
        )


class Require:
    """A FastAPI dependency that resolves the caller and checks one permission."""

    def __init__(self, permission: str) -> None:
        if permission != PUBLIC and permission not in PERMISSIONS:
            raise KeyError(permission)
        self.permission = permission

    def __call__(
        self,
        request: Request,
        ctx: CtxDep,
        csrf: Annotated[str | None, Depends(sent_csrf)],
    ) -> Principal:
        principal = resolve(request, ctx)
        if principal is None:
            raise AuthRequired("Sign in first", message_zh="请先登录")
        if not allowed(principal, self.permission):
            raise PermissionDenied(
                f"Your role may not do this ({self.permission})",
                message_zh="您的角色无权执行此操作",
                code="permission.denied",
            )
        if principal.via == "session" and request.method not in SAFE_METHODS:
            _check_csrf(csrf, principal)
        return principal


class LoginRedirect(OneWindowError):
    """A page asked for sign-in: the app answers with a redirect to the sign-in page."""

    code = "auth.login_required"
    status = 303


class RequirePage(Require):
    """Like ``Require`` for HTML pages: an anonymous visitor is sent to the sign-in page."""

    def __call__(
        self,
        request: Request,
        ctx: CtxDep,
        csrf: Annotated[str | None, Depends(sent_csrf)],
    ) -> Principal:
        try:
            return super().__call__(request, ctx, csrf)
        except AuthRequired as exc:
            raise LoginRedirect(
                "Sign in first", message_zh="请先登录", details={"next": request.url.path}
            ) from exc


def require_page(permission: str) -> Any:
    return Depends(RequirePage(permission))


class Public:
    permission = PUBLIC

    def __call__(self, request: Request, ctx: CtxDep) -> Principal | None:
        try:
            return resolve(request, ctx)
        except AuthRequired:
            return None


def require(permission: str) -> Any:
    return Depends(Require(permission))


def public() -> Any:
    return Depends(Public())


def route_permission(dependency: Callable[..., Awaitable[Any]] | Any) -> str | None:
    return getattr(dependency, "permission", None)


# --- row scoping ----------------------------------------------------------------------------


def can_see_application(ctx: Ctx, principal: Principal, application: Application) -> bool:
    if principal.kind == "applicant":
        return application.applicant.phone == principal.phone
    if principal.roles & {"clerk", "analyst", "auditor", "admin"}:
        return True
    if principal.department_id is None:
        return False
    from onewindow.workflow import service as workflow

    case = workflow.application_case(ctx, application.id)
    return any(
        t.department_id == principal.department_id for t in workflow.tasks_of_case(ctx, case.id)
    )


def visible_application(ctx: Ctx, principal: Principal, number: str) -> Application:
    """The application by number, or 404 when it does not exist *or* the caller may not see it."""
    try:
        application = intake.get_application_by_number(ctx, number)
    except NotFound:
        application = None
    if application is None or not can_see_application(ctx, principal, application):
        raise NotFound(
            f"No application {number}",
            message_zh=f"办件 {number} 不存在",
            code="application.unknown",
        )
    return application


def staff_of(ctx: Ctx, principal: Principal) -> Staff:
    if principal.staff_id is None:
        raise PermissionDenied("Staff only", message_zh="仅限工作人员", code="permission.denied")
    staff = ctx.session.get(Staff, principal.staff_id)
    if staff is None:
        raise AuthRequired("Sign in first", message_zh="请先登录")
    return staff
