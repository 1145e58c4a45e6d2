from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from onewindow.kit.db import Base, UTCDateTime


class StaffPassword(Base):
    """A member of staff's password, as an argon2id hash."""

    __tablename__ = "staff_passwords"

    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True
    )
    hash: Mapped[str] = mapped_column(String(255))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StaffPasswordReset(Base):
    """重置密码链接: a one-time link an administrator gives a member of staff to set a new
    password. Only the token's SHA-256 is kept; the link works once and expires."""

    __tablename__ = "staff_password_resets"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    # a newer link, or the account's deactivation, voids the links given before it
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class AuthSession(Base):
    """登录会话: a server-side session; the cookie holds a random token, we keep its hash."""

    __tablename__ = "auth_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie token
    kind: Mapped[str] = mapped_column(String(16))  # staff | applicant
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff.id", ondelete="CASCADE"), default=None, index=True
    )
    phone: Mapped[str | None] = mapped_column(String(32), default=None)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    revoked: Mapped[bool] = mapped_column(default=False)
    address: Mapped[str | None] = mapped_column(String(64), default=None)


class ApiToken(Base):
    """接口令牌: a bearer token for an API client or a department's own system."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON, default=list)
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("departments.id", ondelete="RESTRICT"), default=None
    )
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class OtpChallenge(Base):
    """短信验证码: a one-time code sent to an applicant's phone."""

    __tablename__ = "otp_challenges"

    id: Mapped[int] = mapped_column(primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class SignInFailure(Base):
    """A failed sign-in, kept to rate-limit guessing per account and per address."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(128))  # "account:<name>" or "address:<ip>"
    at: Mapped[datetime] = mapped_column(UTCDateTime())


# --- the ledger (RFC 9162 Merkle tree; see security/ledger.py) -------------------------------


class LedgerEntry(Base):
    """账本条目: one canonical-JSON entry; ``leaf_hash`` = SHA-256(0x00 ‖ entry). Append-only."""

    __tablename__ = "ledger_entries"

    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    entry: Mapped[str] = mapped_column(Text)
    leaf_hash: Mapped[str] = mapped_column(String(64))


class LedgerNode(Base):
    """A perfect subtree's hash (2^level leaves from index·2^level), written once when
    complete, so proofs need no rebuilding. Append-only."""

    __tablename__ = "ledger_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[str] = mapped_column(String(64))


class LedgerState(Base):
    """The one row that holds the tree's compact range (its frontier) and size; appends lock
    it, so entries are numbered without gaps."""

    __tablename__ = "ledger_state"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    frontier: Mapped[list[str]] = mapped_column(JSON, default=list)
    root_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TreeHead(Base):
    """签名树头: a signed (size, root hash, timestamp), published so rewriting is detectable."""

    __tablename__ = "ledger_tree_heads"

    id: Mapped[int] = mapped_column(primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger, index=True)
    root_hash: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[int] = mapped_column(BigInteger)  # milliseconds since the epoch, UTC
    key_id: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(200))


class PrivacyRequest(Base):
    """个人信息权利请求 (GB/T 35273-2020 §8): access, correction or deletion, and the answer."""

    __tablename__ = "privacy_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    applicant_id: Mapped[int | None] = mapped_column(
        ForeignKey("applicants.id", ondelete="SET NULL"), index=True, default=None
    )
    kind: Mapped[str] = mapped_column(String(16))  # access | correction | deletion
    status: Mapped[str] = mapped_column(String(16))  # open | done | refused
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    answer: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    decided_by: Mapped[str | None] = mapped_column(String(64), default=None)
