"""Sign-in, sign-out, who-am-I, one-time codes, and API token administration."""

from __future__ import annotations

import json
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, Field

from onewindow.eventlog.export import write_events
from onewindow.kit.errors import NotFound, PermissionDenied
from onewindow.kit.http import CtxDep, PlatformDep
from onewindow.security import deidentify, ledger, rights
from onewindow.security import service as security
from onewindow.security.authz import SESSION_COOKIE, public, require, visible_application
from onewindow.security.schemas import Principal

router = APIRouter(tags=["sign-in"])


# No control characters in credentials: PostgreSQL refuses NUL in text, and nothing real
# has them.
_PRINTABLE = r"^[^\x00-\x1f\x7f]+$"


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=_PRINTABLE)
    password: str = Field(min_length=1, max_length=256, pattern=_PRINTABLE)


class CodeIn(BaseModel):
    phone: str = Field(min_length=1, max_length=32, pattern=_PRINTABLE)


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


# --- privacy: unmasking, the applicant's rights ---------------------------------------------


class UnmaskIn(BaseModel):
    application: str = Field(min_length=1, max_length=32)
    field: str = Field(min_length=1, max_length=32)
    purpose: str = Field(min_length=1, max_length=200)


class UnmaskOut(BaseModel):
    application: str
    field: str
    value: str | None


@router.post("/privacy/unmask", response_model=UnmaskOut, tags=["privacy"])
def unmask(
    body: UnmaskIn,
    response: Response,
    ctx: CtxDep,
    who: Annotated[Principal, require("privacy.unmask")],
) -> UnmaskOut:
    """One applicant field of one case in plain, once, for a stated purpose (ledgered)."""
    application = visible_application(ctx, who, body.application)
    value = rights.unmask(ctx, who, application, body.field, body.purpose)
    response.headers["Cache-Control"] = "no-store"
    return UnmaskOut(application=application.number, field=body.field, value=value)


class CorrectionIn(BaseModel):
    field: str = Field(min_length=1, max_length=32)
    value: str = Field(min_length=1, max_length=200)
    reason: str = Field(default="", max_length=500)


class RequestOut(BaseModel):
    id: int
    kind: str
    status: str
    detail: dict[str, Any]
    answer: str | None
    created_at: datetime


MAX_ID = 2**31 - 1


class DecideIn(BaseModel):
    request_id: int = Field(ge=1, le=MAX_ID)
    accept: bool


def _request_out(row: object) -> RequestOut:
    return RequestOut.model_validate(row, from_attributes=True)


def _own_phone(who: Principal) -> str:
    if not who.phone:
        raise PermissionDenied("Applicants only", message_zh="仅限申请人", code="permission.denied")
    return who.phone


@router.get("/me/personal-data", tags=["privacy"])
def my_personal_data(
    response: Response, ctx: CtxDep, who: Annotated[Principal, require("privacy.self")]
) -> dict[str, Any]:
    """Everything held about me (GB/T 35273-2020 §8): applicant record, cases, materials."""
    response.headers["Cache-Control"] = "no-store"
    return rights.personal_data(ctx, _own_phone(who))


@router.post("/me/corrections", response_model=RequestOut, status_code=201, tags=["privacy"])
def request_correction(
    body: CorrectionIn, ctx: CtxDep, who: Annotated[Principal, require("privacy.self")]
) -> RequestOut:
    row = rights.request_correction(ctx, _own_phone(who), body.field, body.value, body.reason)
    return _request_out(row)


@router.post("/me/deletion", tags=["privacy"])
def request_deletion(
    ctx: CtxDep, who: Annotated[Principal, require("privacy.self")]
) -> dict[str, Any]:
    """Delete what no retention rule keeps; say which rule keeps the rest."""
    return {"answers": rights.request_deletion(ctx, _own_phone(who))}


@router.get("/privacy/requests", response_model=list[RequestOut], tags=["privacy"])
def open_requests(
    ctx: CtxDep, _: Annotated[Principal, require("privacy.manage")]
) -> list[RequestOut]:
    return [_request_out(r) for r in rights.open_requests(ctx)]


@router.post("/privacy/corrections/decide", response_model=RequestOut, tags=["privacy"])
def decide_correction(
    body: DecideIn, ctx: CtxDep, who: Annotated[Principal, require("privacy.manage")]
) -> RequestOut:
    return _request_out(
        rights.decide_correction(ctx, body.request_id, accept=body.accept, actor=who.name)
    )


# --- the ledger -----------------------------------------------------------------------------


@router.get("/ledger/root", tags=["ledger"])
def ledger_root(
    ctx: CtxDep,
    _: Annotated[Principal, require("ledger.read")],
    size: Annotated[int | None, Query(ge=0, le=2**62)] = None,
) -> dict[str, Any]:
    return ledger.root(ctx, size)


@router.get("/ledger/inclusion", tags=["ledger"])
def ledger_inclusion(
    ctx: CtxDep,
    _: Annotated[Principal, require("ledger.read")],
    index: Annotated[int, Query(ge=0, le=2**62)],
    size: Annotated[int | None, Query(ge=1, le=2**62)] = None,
) -> dict[str, Any]:
    return ledger.prove_inclusion(ctx, index, size)


@router.get("/ledger/consistency", tags=["ledger"])
def ledger_consistency(
    ctx: CtxDep,
    _: Annotated[Principal, require("ledger.read")],
    old: Annotated[int, Query(ge=1, le=2**62)],
    new: Annotated[int, Query(ge=1, le=2**62)],
) -> dict[str, Any]:
    return ledger.prove_consistency(ctx, old, new)


@router.get("/ledger/tree-head", tags=["ledger"])
def ledger_tree_head(
    ctx: CtxDep, _: Annotated[Principal, require("ledger.read")]
) -> dict[str, Any]:
    head = ledger.latest_tree_head(ctx)
    if head is None:
        raise NotFound("No tree head signed yet", message_zh="尚无签名树头", code="ledger.no_head")
    return head


@router.post("/ledger/tree-head", tags=["ledger"])
def sign_tree_head(ctx: CtxDep, _: Annotated[Principal, require("ledger.sign")]) -> dict[str, Any]:
    """Sign the current tree head now (the worker also signs on a schedule)."""
    return ledger.sign_tree_head(ctx)


@router.get("/ledger/public-key", response_class=PlainTextResponse, tags=["ledger"])
def ledger_public_key(
    platform: PlatformDep, _: Annotated[Principal, require("ledger.read")]
) -> str:
    return ledger.public_key_pem(platform.settings)


# --- de-identified analytics exports --------------------------------------------------------


@router.get("/exports/events-deidentified", tags=["privacy"])
def deidentified_events(
    ctx: CtxDep,
    _: Annotated[Principal, require("exports.deidentified")],
    k: Annotated[int | None, Query(ge=2, le=1000)] = None,
) -> Response:
    """The event log for analysts (GB/T 37964): pseudonyms under a fresh key, generalised
    quasi-identifiers; refused (422) when a group is smaller than k."""
    result = deidentify.deidentified_events(ctx, k=k)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "events.csv"
        write_events(result.rows, path, "csv")
        body = path.read_bytes()
    return Response(
        body,
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": 'attachment; filename="events-deidentified.csv"',
            "X-K-Anonymity": json.dumps(result.report.as_json(), separators=(",", ":")),
            "Cache-Control": "no-store",
        },
    )
