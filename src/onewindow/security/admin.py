"""An administrator's changes — staff accounts, password-reset links, service items and the
holiday calendar — each written with its ledger entry in the same transaction.

A password is never shown to anyone: the administrator hands the member of staff a one-time
link (``issue_reset``), which expires after ``RESET_HOURS`` and works once; the new password
ends every session the account had. A deactivated account cannot sign in, its sessions end
and its open links are void.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from onewindow.catalog import service as catalog
from onewindow.catalog.models import ServiceItem, Staff
from onewindow.kit import calendar_store
from onewindow.kit.calendar import WorkingCalendar
from onewindow.kit.errors import OneWindowError, PermissionDenied, ValidationFailed
from onewindow.kit.platform import Ctx
from onewindow.security import ledger
from onewindow.security.ledger_hooks import ACTOR_KEY
from onewindow.security.models import AuthSession, StaffPasswordReset
from onewindow.security.passwords import digest, hash_password, new_token
from onewindow.security.service import set_password_hash

RESET_HOURS = 24
RESET_MIN_LENGTH = 8


class ResetInvalid(OneWindowError):
    code = "reset.invalid"
    status = 404


class ResetUsed(OneWindowError):
    code = "reset.used"
    status = 409


class ResetExpired(OneWindowError):
    code = "reset.expired"
    status = 410


def _acting(ctx: Ctx, actor: str) -> None:
    # The ledger hook names this actor on the permission changes it records for staff rows.
    ctx.session.info[ACTOR_KEY] = actor


def _record(ctx: Ctx, kind: ledger.EntryKind, payload: Mapping[str, Any], actor: str) -> None:
    ledger.append(ctx, kind, payload, actor=actor)


# --- staff ------------------------------------------------------------------------------------


def create_staff(ctx: Ctx, data: Mapping[str, Any], *, actor: str) -> Staff:
    """Raises ``catalog.StaffInvalid`` with the bad fields (a taken username among them)."""
    _acting(ctx, actor)
    staff = catalog.create_staff(ctx, data, actor=actor)
    _record(
        ctx,
        ledger.EntryKind.PERMISSION_CHANGED,
        {
            "change": "staff_created",
            "staff": staff.username,
            "department_id": staff.department_id,
            "roles": sorted(staff.roles),
            "active": True,
        },
        actor,
    )
    return staff


def update_staff(ctx: Ctx, username: str, data: Mapping[str, Any], *, actor: str) -> Staff:
    """Name, department and roles. An administrator cannot take their own admin role away
    (the last way back in would go with it).

    Raises:
        PermissionDenied: removing one's own admin role.
        catalog.StaffInvalid: with the bad fields.
    """
    _acting(ctx, actor)
    roles = data.get("roles") or []
    if username == actor and "admin" not in roles:
        raise PermissionDenied(
            "You cannot remove your own administrator role",
            message_zh="不能取消自己的系统管理员角色",
            code="staff.self_lockout",
        )
    before = catalog.get_staff_any(ctx, username)
    was = (before.name, before.department_id)
    staff = catalog.update_staff(ctx, username, data, actor=actor)
    if (staff.name, staff.department_id) != was:
        _record(
            ctx,
            ledger.EntryKind.PERMISSION_CHANGED,
            {
                "change": "staff_updated",
                "staff": staff.username,
                "department_id": staff.department_id,
                "department_id_before": was[1],
                "name_changed": staff.name != was[0],
            },
            actor,
        )
    return staff


def set_active(ctx: Ctx, username: str, active: bool, *, actor: str) -> Staff:
    """Deactivate (or reactivate) an account. Deactivating ends its sessions and voids its
    reset links; the ledger hook records the change with the actor.

    Raises:
        PermissionDenied: deactivating oneself.
    """
    if username == actor and not active:
        raise PermissionDenied(
            "You cannot deactivate your own account",
            message_zh="不能停用自己的账号",
            code="staff.self_lockout",
        )
    _acting(ctx, actor)
    staff = catalog.set_staff_active(ctx, username, active, actor=actor)
    if not active:
        end_sessions(ctx, staff)
        _void_resets(ctx, staff)
    return staff


def end_sessions(ctx: Ctx, staff: Staff) -> int:
    result = ctx.session.execute(
        update(AuthSession)
        .where(AuthSession.staff_id == staff.id, AuthSession.revoked.is_(False))
        .values(revoked=True)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def _void_resets(ctx: Ctx, staff: Staff) -> None:
    now = ctx.clock.now()
    ctx.session.execute(
        update(StaffPasswordReset)
        .where(
            StaffPasswordReset.staff_id == staff.id,
            StaffPasswordReset.used_at.is_(None),
            StaffPasswordReset.voided_at.is_(None),
        )
        .values(voided_at=now)
    )


# --- one-time password-reset links --------------------------------------------------------------


@dataclass(frozen=True)
class IssuedReset:
    token: str  # shown once, in the link; stored only as its SHA-256
    reset: StaffPasswordReset


def issue_reset(ctx: Ctx, username: str, *, actor: str) -> IssuedReset:
    """A new one-time link for an active member of staff; earlier links of theirs are void.

    Raises:
        NotFound: no such member of staff.
        ValidationFailed: the account is deactivated.
    """
    staff = catalog.get_staff_any(ctx, username)
    if not staff.active:
        raise ValidationFailed(
            "The account is deactivated; reactivate it first",
            message_zh="该账号已停用，请先启用",
            code="reset.inactive",
        )
    _void_resets(ctx, staff)
    token = new_token()
    now = ctx.clock.now()
    row = StaffPasswordReset(
        staff_id=staff.id,
        token_hash=digest(token),
        created_by=actor,
        created_at=now,
        expires_at=now + timedelta(hours=RESET_HOURS),
    )
    ctx.session.add(row)
    ctx.session.flush()
    _record(
        ctx,
        ledger.EntryKind.PERMISSION_CHANGED,
        {
            "change": "password_reset_issued",
            "staff": staff.username,
            "reset_id": row.id,
            "expires_at": row.expires_at.isoformat(),
        },
        actor,
    )
    return IssuedReset(token, row)


def open_reset(ctx: Ctx, token: str) -> tuple[StaffPasswordReset, Staff]:
    """The link's reset and its member of staff, if the link can still be used.

    Raises:
        ResetInvalid: unknown link (or its account was deactivated / a newer link replaced it).
        ResetUsed: the link was used already.
        ResetExpired: the link is past its time.
    """
    row = ctx.session.scalar(
        select(StaffPasswordReset).where(StaffPasswordReset.token_hash == digest(token))
    )
    staff = ctx.session.get(Staff, row.staff_id) if row is not None else None
    if row is None or staff is None or row.voided_at is not None or not staff.active:
        raise ResetInvalid(
            "This link is not valid; ask your administrator for a new one",
            message_zh="该链接无效，请联系管理员重新获取",
        )
    if row.used_at is not None:
        raise ResetUsed(
            "This link was already used; a link sets a password once. "
            "Ask your administrator for a new one if you need it",
            message_zh="该链接已使用过，每个链接只能设置一次密码；如需再次设置，请联系管理员重新获取",
        )
    if row.expires_at <= ctx.clock.now():
        raise ResetExpired(
            f"This link has expired (links are valid for {RESET_HOURS} hours); "
            "ask your administrator for a new one",
            message_zh=f"该链接已过期（有效期 {RESET_HOURS} 小时），请联系管理员重新获取",
        )
    return row, staff


def redeem_reset(ctx: Ctx, token: str, password: str, confirm: str) -> Staff:
    """Set the new password through the link; the link is then used, and every session of the
    account ends.

    Raises:
        ResetInvalid | ResetUsed | ResetExpired: see ``open_reset`` (nothing changes).
        ValidationFailed: ``details["fields"]`` names the password problem.
    """
    row, staff = open_reset(ctx, token)
    problem: tuple[str, str] | None = None
    if len(password) < RESET_MIN_LENGTH:
        problem = (
            f"at least {RESET_MIN_LENGTH} characters",
            f"至少 {RESET_MIN_LENGTH} 个字符",
        )
    elif password.strip().lower() == staff.username.lower():
        problem = ("must not be the username", "不能与用户名相同")
    elif password != confirm:
        problem = ("the two passwords differ", "两次输入的密码不一致")
    if problem is not None:
        raise ValidationFailed(
            f"Password refused: {problem[0]}",
            message_zh=f"密码不符合要求：{problem[1]}",
            code="reset.password_invalid",
            details={"fields": {"password": {"en": problem[0], "zh": problem[1]}}},
        )
    # Marked used first, in the same statement's condition: two tabs submitting at once
    # cannot both set a password with one link.
    claimed = ctx.session.execute(
        update(StaffPasswordReset)
        .where(StaffPasswordReset.id == row.id, StaffPasswordReset.used_at.is_(None))
        .values(used_at=ctx.clock.now())
    )
    if int(claimed.rowcount) != 1:  # type: ignore[attr-defined]
        raise ResetUsed(
            "This link was already used", message_zh="该链接已使用过，请联系管理员重新获取"
        )
    set_password_hash(ctx, staff, hash_password(password), actor=staff.username)
    end_sessions(ctx, staff)
    _record(
        ctx,
        ledger.EntryKind.PERMISSION_CHANGED,
        {"change": "password_set_by_reset", "staff": staff.username, "reset_id": row.id},
        staff.username,
    )
    return staff


# --- service items and the holiday calendar -----------------------------------------------------


def update_service_item(ctx: Ctx, code: str, data: Mapping[str, Any], *, actor: str) -> ServiceItem:
    """Raises ``catalog.ServiceInvalid`` with every bad field; nothing is changed then."""
    before = catalog.service_edit_of(catalog.service_for_edit(ctx, code))
    item = catalog.update_service_item(ctx, code, data, actor=actor)
    after = catalog.service_edit_of(item)
    changed = sorted(k for k in after if after[k] != before[k])
    if changed:
        _record(
            ctx,
            ledger.EntryKind.CATALOG_CHANGED,
            {
                "change": "service_item_updated",
                "service": item.code,
                "fields": changed,
                "time_limit_days": item.time_limit_days,
                "materials": [m["code"] for m in after["materials"]],
                # key: required and not to be promised instead (容缺)
                "key_materials": [
                    m["code"]
                    for m in after["materials"]
                    if m["required"] and not m.get("deferrable")
                ],
                "form": [f["name"] for f in after["form"]],
                "legal_bases": [b["code"] for b in after["legal_bases"]],
            },
            actor,
        )
    return item


class CalendarInvalid(ValidationFailed):
    code = "calendar.invalid"


def save_calendar_year(
    ctx: Ctx,
    base: WorkingCalendar,
    year: str,
    holidays: str,
    makeup_workdays: str,
    *,
    notice: str,
    actor: str,
) -> calendar_store.CalendarYear:
    """Store one notice year's holidays and make-up working days over ``base`` (the shipped
    calendar). New deadlines count them once the platform reloads its calendar.

    Raises:
        CalendarInvalid: ``details["fields"]`` maps year / holidays / makeup_workdays to
            every refused line; nothing is stored.
    """
    entry = calendar_store.check_year(year, holidays, makeup_workdays)
    fields: dict[str, dict[str, str]] = {}
    for p in entry.problems:
        slot = fields.setdefault(p.field, {"en": "", "zh": ""})
        slot["en"] = f"{slot['en']}\n{p.en}" if slot["en"] else p.en
        slot["zh"] = f"{slot['zh']}\n{p.zh}" if slot["zh"] else p.zh
    if not fields:
        others = [
            (y, h, m)
            for y, h, m in calendar_store.rows(ctx.session.connection())
            if y != entry.year
        ]
        new = (
            entry.year,
            [d.isoformat() for d in entry.holidays],
            [d.isoformat() for d in entry.makeup_workdays],
        )
        try:
            calendar_store.overlay(base, [*others, new])
        except ValidationFailed as exc:
            fields["makeup_workdays"] = {"en": exc.message, "zh": exc.message_zh or exc.message}
    if fields:
        raise CalendarInvalid(
            f"The {year} calendar has problems; nothing was saved",
            message_zh=f"{year} 年的节假日安排有问题，未保存",
            details={"fields": fields},
        )
    row = calendar_store.save_year(
        ctx.session, entry, notice=notice.strip(), actor=actor, now=ctx.clock.now()
    )
    _record(
        ctx,
        ledger.EntryKind.CATALOG_CHANGED,
        {
            "change": "calendar_year_saved",
            "year": row.year,
            "notice": row.notice,
            "holidays": row.holidays,
            "makeup_workdays": row.makeup_workdays,
        },
        actor,
    )
    return row


def calendar_years(ctx: Ctx) -> list[calendar_store.CalendarYear]:
    return list(calendar_store.years(ctx.session))
