"""Every query of the security domain."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onewindow.security.models import (
    ApiToken,
    AuthSession,
    OtpChallenge,
    SignInFailure,
    StaffPassword,
)


def password(session: Session, staff_id: int) -> StaffPassword | None:
    return session.get(StaffPassword, staff_id)


def auth_session(session: Session, session_id: str) -> AuthSession | None:
    return session.get(AuthSession, session_id)


def token_by_hash(session: Session, token_hash: str) -> ApiToken | None:
    return session.scalar(select(ApiToken).where(ApiToken.token_hash == token_hash))


def tokens(session: Session) -> Sequence[ApiToken]:
    return session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).all()


def token(session: Session, token_id: int) -> ApiToken | None:
    return session.get(ApiToken, token_id)


def open_challenge(session: Session, phone: str, now: datetime) -> OtpChallenge | None:
    return session.scalar(
        select(OtpChallenge)
        .where(
            OtpChallenge.phone == phone,
            OtpChallenge.consumed_at.is_(None),
            OtpChallenge.expires_at > now,
        )
        .order_by(OtpChallenge.id.desc())
        .limit(1)
    )


def challenges_since(session: Session, phone: str, since: datetime) -> int:
    return (
        session.scalar(
            select(func.count(OtpChallenge.id)).where(
                OtpChallenge.phone == phone, OtpChallenge.created_at >= since
            )
        )
        or 0
    )


def failures_since(session: Session, key: str, since: datetime) -> int:
    return (
        session.scalar(
            select(func.count(SignInFailure.id)).where(
                SignInFailure.key == key, SignInFailure.at >= since
            )
        )
        or 0
    )
