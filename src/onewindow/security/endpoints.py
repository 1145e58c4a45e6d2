"""Sign-in, sign-out, who-am-I, one-time codes, and API token administration."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from onewindow.kit.http import CtxDep, PlatformDep
from onewindow.security import service as security
from onewindow.security.authz import SESSION_COOKIE, public, require
from onewindow.security.schemas import Principal

router = APIRouter(tags=["sign-in"])


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class CodeIn(BaseModel):
    phone: str = Field(min_length=1, max_length=32)


class VerifyIn(CodeIn):
    code: str = Field(min_length=1, max_length=12)


class MeOut(BaseModel):
    kind: str
    name: str
    roles: list[str]
    department: str | None
    csrf_token: str | None


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[str]
    department: str | None = None
    days: int | None = Field(default=None, gt=0, le=3650)


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    department_id: int | None
    created_by: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class IssuedTokenOut(TokenOut):
    token: str  # shown once


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def set_session_cookie(response: Response, token: str, *, secure: bool) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=security.SESSION_HOURS * 3600,
        httponly=True,
        samesite="lax",
        secure=secure,
        path="/",
    )


def _me(p: Principal) -> MeOut:
    return MeOut(
        kind=p.kind,
        name=p.name,
        roles=sorted(p.roles),
        department=p.department_code,
        csrf_token=p.csrf_token,
    )


@router.post("/auth/login", response_model=MeOut)
def login(
    body: LoginIn,
    request: Request,
    response: Response,
    ctx: CtxDep,
    platform: PlatformDep,
    _: Annotated[Principal | None, public()],
) -> MeOut:
    """Staff sign-in with a password; sets an HttpOnly session cookie."""
    address = _address(request)
    try:
        staff = security.authenticate(ctx, body.username, body.password, address=address)
    except security.AuthFailed:
        # Release this request's transaction (SQLite's write lock) before writing the failure
        # in a transaction of its own, which must outlive this request's rollback.
        ctx.session.rollback()
        with platform.unit_of_work() as other:
            security.record_failure(other, security.failure_keys(body.username.lower(), address))
        raise
    token, row = security.start_session(ctx, staff=staff, address=address)
    set_session_cookie(response, token, secure=platform.settings.env == "production")
    principal = security.principal_from_session(ctx, token)
    assert principal is not None
    return _me(principal)


@router.post("/auth/logout", status_code=204)
def logout(
    request: Request, response: Response, ctx: CtxDep, _: Annotated[Principal, require("me.read")]
) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        security.end_session(ctx, token)
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/auth/me", response_model=MeOut)
def me(who: Annotated[Principal, require("me.read")]) -> MeOut:
    return _me(who)


@router.post("/auth/code", status_code=202)
def request_code(
    body: CodeIn, ctx: CtxDep, _: Annotated[Principal | None, public()]
) -> dict[str, str]:
    """Applicants: send a one-time code to a mobile number (the built-in sender logs it)."""
    security.request_code(ctx, body.phone)
    return {"status": "sent"}


@router.post("/auth/code/verify", response_model=MeOut)
def verify_code(
    body: VerifyIn,
    request: Request,
    response: Response,
    ctx: CtxDep,
    platform: PlatformDep,
    _: Annotated[Principal | None, public()],
) -> MeOut:
    try:
        phone = security.verify_code(ctx, body.phone, body.code)
    except security.AuthFailed:
        ctx.session.rollback()
        with platform.unit_of_work() as other:
            security.record_code_failure(other, body.phone)
        raise
    token, _row = security.start_session(ctx, phone=phone, address=_address(request))
    set_session_cookie(response, token, secure=platform.settings.env == "production")
    principal = security.principal_from_session(ctx, token)
    assert principal is not None
    return _me(principal)


def _token_out(row: object) -> TokenOut:
    return TokenOut.model_validate(row, from_attributes=True)


@router.get("/admin/tokens", response_model=list[TokenOut])
def list_tokens(ctx: CtxDep, _: Annotated[Principal, require("admin.manage")]) -> list[TokenOut]:
    return [_token_out(t) for t in security.list_tokens(ctx)]


@router.post("/admin/tokens", response_model=IssuedTokenOut, status_code=201)
def issue_token(
    body: TokenIn, ctx: CtxDep, who: Annotated[Principal, require("admin.manage")]
) -> IssuedTokenOut:
    """Issue a bearer token for an API client or a department's system; shown once."""
    secret, row = security.issue_token(
        ctx, body.name, body.scopes, department=body.department, days=body.days, actor=who.name
    )
    return IssuedTokenOut(**_token_out(row).model_dump(), token=secret)


@router.delete("/admin/tokens/{token_id}", response_model=TokenOut)
def revoke_token(
    token_id: int, ctx: CtxDep, who: Annotated[Principal, require("admin.manage")]
) -> TokenOut:
    return _token_out(security.revoke_token(ctx, token_id, actor=who.name))
