"""Idempotency records: the first answer to a state-changing request sent with an
``Idempotency-Key``, so a client that lost the answer can send the request again safely.

The record is taken in the request's own transaction, before the work, and its answer is
written in that same transaction, after: a request that committed has its record, one that
rolled back has none. A second request with the same key waits on the first one's row lock
(the unique index) and then finds the record. See ``onewindow.api.units``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, LargeBinary, String, UniqueConstraint, delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from onewindow.kit.db import Base, UTCDateTime


class IdempotencyRecord(Base):
    """幂等记录: one caller's key, the request it was first used with, and the answer."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("caller", "key"),
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # sha256 of the caller's credential (bearer token or session), never the credential
    caller: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(255))
    # sha256 of method, path, query and body (a multipart body by its parts, not its bytes)
    fingerprint: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # the answer; None while the request that took the key has not answered
    status_code: Mapped[int | None] = mapped_column(default=None)
    content_type: Mapped[str | None] = mapped_column(String(200), default=None)
    location: Mapped[str | None] = mapped_column(String(2000), default=None)
    body: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)


class KeyTaken(Exception):
    """Another request took the key first (it committed while this one waited)."""


def find(session: Session, caller: str, key: str) -> IdempotencyRecord | None:
    return session.scalars(
        select(IdempotencyRecord).where(
            IdempotencyRecord.caller == caller, IdempotencyRecord.key == key
        )
    ).one_or_none()


def take(
    session: Session,
    *,
    caller: str,
    key: str,
    fingerprint: str,
    method: str,
    path: str,
    now: datetime,
) -> IdempotencyRecord:
    """Insert the record in the caller's transaction (in a savepoint, so losing the race
    leaves the transaction usable).

    Raises:
        KeyTaken: a record for (caller, key) exists or was committed meanwhile.
    """
    record = IdempotencyRecord(
        caller=caller,
        key=key,
        fingerprint=fingerprint,
        method=method,
        path=path[:2000],
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(record)
    except IntegrityError as exc:
        raise KeyTaken(key) from exc
    return record


def purge(session: Session, before: datetime) -> int:
    """Forget records made before ``before``; returns how many."""
    result = session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.created_at < before))
    return int(result.rowcount)  # type: ignore[attr-defined]
