"""Sign-in rules through the service layer: passwords, sessions, tokens, one-time codes."""

from __future__ import annotations

from datetime import timedelta

import pytest

from onewindow.catalog import service as catalog
from onewindow.kit.clock import ManualClock
from onewindow.kit.errors import OneWindowError
from onewindow.kit.platform import Platform
from onewindow.security import service as security
from onewindow.security.authz import PERMISSIONS, allowed


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, code: str) -> None:
        self.sent.append((phone, code))


@pytest.fixture
def recorder() -> Recorder:
    r = Recorder()
    security.set_sender(r)
    yield r
    security.set_sender(security.LogSender())


def _with_password(city: Platform, username: str, password: str) -> None:
    with city.unit_of_work() as ctx:
        security.set_password(ctx, catalog.get_staff(ctx, username), password, actor="test")


def test_password_sign_in_and_same_error_for_unknown_user(city: Platform) -> None:
    _with_password(city, "samr_wang", "correct horse")
    with city.unit_of_work() as ctx:
        assert (
            security.authenticate(ctx, "SAMR_wang ", "correct horse", address="1.2.3.4").username
            == "samr_wang"
        )
    for user, pw in (("samr_wang", "wrong"), ("nobody", "correct horse"), ("samr_liu", "x")):
        with pytest.raises(OneWindowError) as info, city.unit_of_work() as ctx:
            security.authenticate(ctx, user, pw, address="1.2.3.4")
        assert info.value.code == "auth.failed"
        assert info.value.status == 401


def test_failed_sign_ins_are_rate_limited_per_account_and_address(
    city: Platform, clock: ManualClock
) -> None:
    _with_password(city, "samr_wang", "right-one")
    for _ in range(security.MAX_FAILURES_PER_ACCOUNT):
        with city.unit_of_work() as ctx:
            security.record_failure(ctx, security.failure_keys("samr_wang", "9.9.9.9"))
    with pytest.raises(OneWindowError) as info, city.unit_of_work() as ctx:
        security.authenticate(ctx, "samr_wang", "right-one", address="8.8.8.8")
    assert info.value.code == "auth.rate_limited"
    assert info.value.status == 429
    # Another account from the same address is still allowed (address limit is higher).
    _with_password(city, "tax_xu", "right-two")
    with city.unit_of_work() as ctx:
        security.authenticate(ctx, "tax_xu", "right-two", address="9.9.9.9")
    clock.advance(timedelta(minutes=16))
    with city.unit_of_work() as ctx:
        security.authenticate(ctx, "samr_wang", "right-one", address="8.8.8.8")


def test_session_expires_and_ends(city: Platform, clock: ManualClock) -> None:
    with city.unit_of_work() as ctx:
        token, _ = security.start_session(
            ctx, staff=catalog.get_staff(ctx, "fire_deng"), address=None
        )
    with city.unit_of_work() as ctx:
        who = security.principal_from_session(ctx, token)
        assert who is not None
        assert who.department_code == "FIRE"
        assert who.roles == {"reviewer"}
        assert security.principal_from_session(ctx, token + "x") is None
    clock.advance(timedelta(hours=security.SESSION_HOURS, seconds=1))
    with city.unit_of_work() as ctx:
        assert security.principal_from_session(ctx, token) is None
    clock.advance(timedelta(hours=-security.SESSION_HOURS))
    with city.unit_of_work() as ctx:
        security.end_session(ctx, token)
    with city.unit_of_work() as ctx:
        assert security.principal_from_session(ctx, token) is None


def test_tokens_scoped_revoked_and_stored_hashed(city: Platform, clock: ManualClock) -> None:
    with city.unit_of_work() as ctx:
        secret, row = security.issue_token(
            ctx,
            "消防系统",
            ["tasks.work", "materials.read"],
            department="FIRE",
            days=30,
            actor="center_zhou",
        )
        assert secret not in row.token_hash
        assert row.prefix == secret[:10]
    with city.unit_of_work() as ctx:
        who = security.principal_from_token(ctx, secret)
        assert who is not None
        assert who.kind == "system"
        assert who.department_code == "FIRE"
    assert allowed(who, "tasks.work")
    assert not allowed(who, "applications.create")  # not in its scopes
    assert not allowed(who, "admin.manage")  # not a system permission at all
    with pytest.raises(OneWindowError) as info, city.unit_of_work() as ctx:
        security.issue_token(ctx, "x", ["admin.manage"], actor="center_zhou")
    assert info.value.code == "token.invalid_scopes"
    with city.unit_of_work() as ctx:
        security.revoke_token(ctx, row.id, actor="center_zhou")
    with city.unit_of_work() as ctx:
        assert security.principal_from_token(ctx, secret) is None
    with city.unit_of_work() as ctx:
        other, _ = security.issue_token(ctx, "短期", ["cases.search"], days=1, actor="center_zhou")
    clock.advance(timedelta(days=1, seconds=1))
    with city.unit_of_work() as ctx:
        assert security.principal_from_token(ctx, other) is None


def test_one_time_code_flow(city: Platform, clock: ManualClock, recorder: Recorder) -> None:
    with city.unit_of_work() as ctx:
        security.request_code(ctx, "+86 138-0013-8000")
    ((phone, code),) = recorder.sent
    assert phone == "13800138000"
    with pytest.raises(OneWindowError) as info, city.unit_of_work() as ctx:
        security.verify_code(ctx, phone, "000000" if code != "000000" else "111111")
    assert info.value.code == "auth.code_invalid"
    with city.unit_of_work() as ctx:
        assert security.verify_code(ctx, phone, code) == phone
    with pytest.raises(OneWindowError), city.unit_of_work() as ctx:  # used once only
        security.verify_code(ctx, phone, code)


def test_code_attempts_and_expiry(city: Platform, clock: ManualClock, recorder: Recorder) -> None:
    with city.unit_of_work() as ctx:
        security.request_code(ctx, "13800138000")
    code = recorder.sent[-1][1]
    for _ in range(security.OTP_MAX_ATTEMPTS):
        with city.unit_of_work() as ctx:
            security.record_code_failure(ctx, "13800138000")
    with pytest.raises(OneWindowError), city.unit_of_work() as ctx:
        security.verify_code(ctx, "13800138000", code)  # right code, but too many attempts
    with city.unit_of_work() as ctx:
        security.request_code(ctx, "13800138000")
    clock.advance(timedelta(minutes=security.OTP_MINUTES, seconds=1))
    with pytest.raises(OneWindowError), city.unit_of_work() as ctx:
        security.verify_code(ctx, "13800138000", recorder.sent[-1][1])
    with pytest.raises(OneWindowError) as info, city.unit_of_work() as ctx:
        security.request_code(ctx, "12345")
    assert info.value.code == "auth.invalid_phone"


def test_every_permission_names_known_roles() -> None:
    from onewindow.security.schemas import ROLES

    for roles in PERMISSIONS.values():
        assert roles <= set(ROLES)
