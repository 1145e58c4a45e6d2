"""Changes other domains make that belong in the ledger, caught as their rows are flushed.

Sharing grants (requested, approved, refused, revoked), shared-data reads and refusals (the
data hub's access log) and staff permission changes (roles, active) are appended to the
ledger in the same transaction as the change, without those domains having to call the
ledger. The rows are recognised by table name, so the security domain imports none of them.

Record keys in shared-data reads are written as keyed digests (the blind index), not as the
keys themselves: an exported ledger names no citizen.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import Session, UOWTransaction

from onewindow.security import ledger
from onewindow.security.crypto import blind_index
from onewindow.security.ledger import EntryKind

RECORD_KEY_INDEX = "ledger.record_key"
# Who is changing staff rows in this session (set by the administrator's actions); the
# permission-change entries the hook writes name them instead of "unknown".
ACTOR_KEY = "ledger.actor"

Item = tuple[EntryKind, Mapping[str, Any], str]


def _table(obj: object) -> str | None:
    return getattr(type(obj), "__tablename__", None)


def _changed(obj: object, attribute: str) -> bool:
    history = inspect(obj).attrs[attribute].history
    return bool(history.added or history.deleted)


def _grant(obj: Any, kind: EntryKind, actor: str | None) -> Item:
    return (
        kind,
        {
            "grant_id": obj.id,
            "dataset_id": obj.dataset_id,
            "consumer_department_id": obj.consumer_department_id,
            "fields": sorted(obj.fields or []),
            "purpose": obj.purpose,
            "expires_at": obj.expires_at.isoformat() if obj.expires_at else None,
            "status": obj.status,
        },
        actor or "unknown",
    )


def _read(obj: Any) -> Item:
    return (
        EntryKind.SHARED_DATA_READ,
        {
            "access_log_id": obj.id,
            "outcome": obj.outcome,
            "dataset_id": obj.dataset_id,
            "grant_id": obj.grant_id,
            "consumer_department_id": obj.consumer_department_id,
            "owner_department_id": obj.owner_department_id,
            "purpose": obj.purpose,
            "case_ref": obj.case_ref,
            "fields": sorted(obj.fields or []),
            "record_key_digests": [
                blind_index(RECORD_KEY_INDEX, str(k)) for k in (obj.record_keys or [])
            ],
            "reason": obj.reason,
        },
        obj.actor,
    )


def _collect(session: Session) -> list[tuple[datetime | None, Item]]:
    found: list[tuple[datetime | None, Item]] = []
    for obj in session.new:
        table = _table(obj)
        if table == "datahub_access_log":
            found.append((obj.at, _read(obj)))
        elif table == "datahub_grants":
            g: Any = obj
            found.append((g.requested_at, _grant(g, EntryKind.GRANT_REQUESTED, g.requested_by)))
    for obj in session.dirty:
        table = _table(obj)
        if table == "datahub_grants" and _changed(obj, "status"):
            g = obj
            if g.status == "approved":
                found.append((g.approved_at, _grant(g, EntryKind.GRANT_APPROVED, g.approved_by)))
            elif g.status == "revoked":
                found.append((g.revoked_at, _grant(g, EntryKind.GRANT_REVOKED, g.revoked_by)))
            elif g.status == "refused":
                found.append((g.revoked_at, _grant(g, EntryKind.GRANT_REFUSED, g.revoked_by)))
        elif table == "staff" and (_changed(obj, "roles") or _changed(obj, "active")):
            s: Any = obj
            found.append(
                (
                    None,
                    (
                        EntryKind.PERMISSION_CHANGED,
                        {
                            "staff": s.username,
                            "roles": sorted(s.roles or []),
                            "active": bool(s.active),
                        },
                        str(session.info.get(ACTOR_KEY) or "unknown"),
                    ),
                )
            )
    return found


def _after_flush(session: Session, _flush: UOWTransaction) -> None:
    found = _collect(session)
    if not found:
        return
    # Ordered by when each change happened, then as found (stable).
    stamped = [(at, item) for at, item in found]
    default = next((at for at, _ in stamped if at is not None), None)
    for at, item in stamped:
        when = at or default
        if when is None:
            when = datetime.now(UTC)
        ledger.append_rows(session, [item], at=when)


_installed = False


def install() -> None:
    """Listen on every session (idempotent; done when ``onewindow.security`` is imported)."""
    global _installed
    if not _installed:
        event.listen(Session, "after_flush", _after_flush)
        _installed = True
