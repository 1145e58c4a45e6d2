"""Sign-in, sessions, API tokens and one-time codes. Every failure is a specific error code."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial
from typing import Protocol

from onewindow.catalog import service as catalog
from onewindow.catalog.models import Staff
from onewindow.kit.errors import NotFound, OneWindowError, ValidationFailed
from onewindow.kit.platform import Ctx, Platform
from onewindow.security import ledger
from onewindow.security import repository as repo
from onewindow.security.models import (
    ApiToken,
    AuthSession,
    OtpChallenge,
    SignInFailure,
    StaffPassword,
)
from onewindow.security.passwords import (
    MIN_LENGTH,
    digest,
    dummy_hash,
    hash_password,
    needs_rehash,
    new_token,
    verify_password,
)
from onewindow.security.schemas import Principal

log = logging.getLogger("onewindow.security")

SESSION_HOURS = 12
OTP_MINUTES = 5
OTP_MAX_ATTEMPTS = 5
OTP_PER_HOUR = 5
WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_ADDRESS = 20
TOKEN_SCOPES = (
    "applications.read",
    "applications.create",
    "materials.read",
    "tasks.work",
    "cases.search",
    "eventlog.export",
    "messages.send",
    "messages.read",
)
_PHONE = re.compile(r"^1[3-9]\d{9}$")


class AuthFailed(OneWindowError):
    code = "auth.failed"
    status = 401


class RateLimited(OneWindowError):
    code = "auth.rate_limited"
    status = 429


class OtpSender(Protocol):
    def send(self, phone: str, code: str) -> None: ...


class LogSender:
    """The built-in sender: writes the code to the server log (phone masked)."""

    def send(self, phone: str, code: str) -> None:
        log.warning("one-time code for %s: %s", mask_phone(phone), code)


_sender: OtpSender = LogSender()


def set_sender(sender: OtpSender) -> None:
    """Plug in an SMS gateway (or a test double that records codes)."""
    global _sender
    _sender = sender


def mask_phone(phone: str) -> str:
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


# --- passwords ------------------------------------------------------------------------------


def has_password(ctx: Ctx, staff: Staff) -> bool:
    return repo.password(ctx.session, staff.id) is not None


def set_password(ctx: Ctx, staff: Staff, password: str, *, actor: str) -> None:
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(
            f"Password too short (at least {MIN_LENGTH} characters)",
            message_zh=f"密码太短（至少 {MIN_LENGTH} 位）",
            code="auth.password_too_short",
        )
    set_password_hash(ctx, staff, hash_password(password), actor=actor)


def set_password_hash(ctx: Ctx, staff: Staff, argon2_hash: str, *, actor: str) -> None:
    """Store an already-hashed password (imports from another system; the demo's shared one)."""
    if not argon2_hash.startswith("$argon2"):
        raise ValidationFailed(
            "Not an argon2 hash", message_zh="不是 argon2 哈希", code="auth.bad_hash"
        )
    row = repo.password(ctx.session, staff.id)
    if row is None:
        row = StaffPassword(staff_id=staff.id, hash="", changed_at=ctx.clock.now())
        ctx.session.add(row)
    row.hash, row.changed_at = argon2_hash, ctx.clock.now()
    ctx.session.flush()


def _check_rate(ctx: Ctx, keys: Sequence[tuple[str, int]]) -> None:
    since = ctx.clock.now() - WINDOW
    for key, limit in keys:
        if repo.failures_since(ctx.session, key, since) >= limit:
            raise RateLimited(
                "Too many failed sign-ins; wait 15 minutes and try again",
                message_zh="登录失败次数过多，请 15 分钟后再试",
            )


def record_failure(ctx: Ctx, keys: Sequence[str]) -> None:
    """Failures are recorded in their own transaction by the caller, so they survive the
    rollback of the failed request."""
    for key in keys:
        ctx.session.add(SignInFailure(key=key, at=ctx.clock.now()))
    ctx.session.flush()


def _keys(account: str, address: str | None) -> list[tuple[str, int]]:
    keys = [(f"account:{account}", MAX_FAILURES_PER_ACCOUNT)]
    if address:
        keys.append((f"address:{address}", MAX_FAILURES_PER_ADDRESS))
    return keys


def failure_keys(account: str, address: str | None) -> list[str]:
    return [k for k, _ in _keys(account, address)]


def authenticate(ctx: Ctx, username: str, password: str, *, address: str | None) -> Staff:
    """Check a staff password.

    Raises:
        RateLimited: too many recent failures for the account or the address.
        AuthFailed: wrong username or password (the same answer for both).
    """
    username = username.strip().lower()
    _check_rate(ctx, _keys(username, address))
    try:
        staff: Staff | None = catalog.get_staff(ctx, username)
    except NotFound:
        staff = None
    row = repo.password(ctx.session, staff.id) if staff else None
    ok = verify_password(row.hash if row else dummy_hash(), password)
    if not (staff and row and ok):
        raise AuthFailed(
            "Wrong username or password", message_zh="用户名或密码错误", code="auth.failed"
        )
    if needs_rehash(row.hash):
        row.hash = hash_password(password)
    return staff


# --- sessions -------------------------------------------------------------------------------


def start_session(
    ctx: Ctx, *, staff: Staff | None = None, phone: str | None = None, address: str | None
) -> tuple[str, AuthSession]:
    """Create a server-side session; returns the cookie token (shown once) and the row."""
    token = new_token()
    now = ctx.clock.now()
    row = AuthSession(
        id=digest(token),
        kind="staff" if staff else "applicant",
        staff_id=staff.id if staff else None,
        phone=phone,
        csrf_token=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=now + timedelta(hours=SESSION_HOURS),
        address=address,
    )
    ctx.session.add(row)
    ctx.session.flush()
    return token, row


def end_session(ctx: Ctx, token: str) -> None:
    row = repo.auth_session(ctx.session, digest(token))
    if row is not None:
        row.revoked = True


def principal_from_session(ctx: Ctx, token: str) -> Principal | None:
    row = repo.auth_session(ctx.session, digest(token))
    if row is None or row.revoked or row.expires_at <= ctx.clock.now():
        return None
    if row.kind == "applicant":
        return Principal(
            kind="applicant",
            name="applicant",
            roles=frozenset({"applicant"}),
            via="session",
            phone=row.phone,
            csrf_token=row.csrf_token,
        )
    if row.staff_id is None:
        return None
    staff = ctx.session.get(Staff, row.staff_id)
    if staff is None or not staff.active:
        return None
    return Principal(
        kind="staff",
        name=staff.username,
        roles=frozenset(staff.roles),
        via="session",
        staff_id=staff.id,
        department_id=staff.department_id,
        department_code=staff.department.code,
        csrf_token=row.csrf_token,
        display_name=staff.name,
        department_names=(staff.department.name_zh, staff.department.name_en),
    )


# --- API tokens -----------------------------------------------------------------------------


def issue_token(
    ctx: Ctx,
    name: str,
    scopes: Sequence[str],
    *,
    department: str | None = None,
    days: int | None = None,
    actor: str,
) -> tuple[str, ApiToken]:
    """Issue a bearer token; the secret is returned once and stored only as a hash."""
    unknown = sorted(set(scopes) - set(TOKEN_SCOPES))
    if unknown or not scopes:
        raise ValidationFailed(
            f"Unknown or no scopes: {', '.join(unknown) or '(none)'}",
            message_zh="权限范围无效",
            code="token.invalid_scopes",
            details={"allowed": list(TOKEN_SCOPES)},
        )
    if not name.strip() or len(name) > 100:
        raise ValidationFailed(
            "Token name required", message_zh="令牌名称必填", code="token.invalid_name"
        )
    dept_id = catalog.get_department(ctx, department).id if department else None
    secret = new_token("ow_")
    now = ctx.clock.now()
    row = ApiToken(
        name=name.strip(),
        prefix=secret[:10],
        token_hash=digest(secret),
        scopes=sorted(set(scopes)),
        department_id=dept_id,
        created_by=actor,
        created_at=now,
        expires_at=now + timedelta(days=days) if days else None,
    )
    ctx.session.add(row)
    ctx.session.flush()
    ledger.append(
        ctx,
        ledger.EntryKind.PERMISSION_CHANGED,
        {"token_id": row.id, "token": row.name, "scopes": row.scopes, "change": "issued"},
        actor=actor,
    )
    return secret, row


def revoke_token(ctx: Ctx, token_id: int, *, actor: str) -> ApiToken:
    row = repo.token(ctx.session, token_id)
    if row is None:
        raise NotFound("No such token", message_zh="令牌不存在", code="token.unknown")
    if row.revoked_at is None:
        row.revoked_at = ctx.clock.now()
        ledger.append(
            ctx,
            ledger.EntryKind.PERMISSION_CHANGED,
            {"token_id": row.id, "token": row.name, "scopes": row.scopes, "change": "revoked"},
            actor=actor,
        )
    return row


def list_tokens(ctx: Ctx) -> Sequence[ApiToken]:
    return repo.tokens(ctx.session)


def principal_from_token(ctx: Ctx, secret: str) -> Principal | None:
    row = repo.token_by_hash(ctx.session, digest(secret))
    now = ctx.clock.now()
    if row is None or row.revoked_at is not None or (row.expires_at and row.expires_at <= now):
        return None
    row.last_used_at = now
    code = None
    if row.department_id is not None:
        code = next(d.code for d in catalog.list_departments(ctx) if d.id == row.department_id)
    return Principal(
        kind="system",
        name=row.name,
        roles=frozenset({"system"}),
        via="token",
        department_id=row.department_id,
        department_code=code,
        scopes=frozenset(row.scopes),
    )


# --- applicants: phone + one-time code ------------------------------------------------------


def normalise_phone(phone: str) -> str:
    digits = re.sub(r"[\s-]", "", phone.strip())
    if digits.startswith("+86"):
        digits = digits[3:]
    if not _PHONE.match(digits):
        raise ValidationFailed(
            "Enter an 11-digit mainland mobile number",
            message_zh="请输入 11 位手机号码",
            code="auth.invalid_phone",
        )
    return digits


def request_code(ctx: Ctx, phone: str) -> None:
    """Send a one-time code. Always answers the same way, whether or not the phone is known."""
    phone = normalise_phone(phone)
    now = ctx.clock.now()
    if repo.challenges_since(ctx.session, phone, now - timedelta(hours=1)) >= OTP_PER_HOUR:
        raise RateLimited(
            "Too many codes requested; try again later", message_zh="验证码请求过于频繁，请稍后再试"
        )
    code = f"{secrets.randbelow(1_000_000):06d}"
    ctx.session.add(
        OtpChallenge(
            phone=phone,
            code_hash=digest(f"{phone}:{code}"),
            created_at=now,
            expires_at=now + timedelta(minutes=OTP_MINUTES),
        )
    )
    ctx.session.flush()
    _sender.send(phone, code)


def verify_code(ctx: Ctx, phone: str, code: str) -> str:
    """Check a one-time code; returns the normalised phone it proves.

    Raises:
        AuthFailed: no open code, wrong code, or too many attempts (the code is then void).
    """
    phone = normalise_phone(phone)
    challenge = repo.open_challenge(ctx.session, phone, ctx.clock.now())
    failed = AuthFailed(
        "Wrong or expired code", message_zh="验证码错误或已过期", code="auth.code_invalid"
    )
    if challenge is None or challenge.attempts >= OTP_MAX_ATTEMPTS:
        raise failed
    if not secrets.compare_digest(challenge.code_hash, digest(f"{phone}:{code.strip()}")):
        raise failed
    challenge.consumed_at = ctx.clock.now()
    return phone


def record_code_failure(ctx: Ctx, phone: str) -> None:
    """Count a wrong code against the open challenge (in its own transaction: the failed
    request's transaction is rolled back)."""
    challenge = repo.open_challenge(ctx.session, normalise_phone(phone), ctx.clock.now())
    if challenge is not None:
        challenge.attempts += 1


# --- encryption upkeep ----------------------------------------------------------------------


def reencrypt_all(platform: Platform, active_key_id: str, *, batch: int = 500) -> int:
    """Background re-encryption after a key rotation: short transactions, each a batch, so
    requests keep running (old values decrypt with their own key id meanwhile)."""
    from onewindow.feedback import service as feedback
    from onewindow.intake import service as intake

    steps: list[Callable[..., int]] = [
        intake.reencrypt_applicants,
        intake.reencrypt_forms,
        feedback.reencrypt_personal,
    ]
    total = 0
    for step in steps:
        while True:
            done: int = platform.run(partial(step, active_key_id=active_key_id, limit=batch))
            total += done
            if done < batch:
                break
    return total
