"""Worker heartbeats: each background worker stamps its row after every pass, so the
readiness check can tell a live worker from a dead one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from onewindow.kit.db import Base, UTCDateTime


class WorkerHeartbeat(Base):
    """后台任务心跳: one worker process (``host:pid``) and when it last finished a pass."""

    __tablename__ = "worker_heartbeats"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # standalone | in-process
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    beat_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    passes: Mapped[int] = mapped_column(default=0)


def beat(session: Session, *, name: str, kind: str, started_at: datetime, now: datetime) -> None:
    row = session.get(WorkerHeartbeat, name)
    if row is None:
        session.add(
            WorkerHeartbeat(name=name, kind=kind, started_at=started_at, beat_at=now, passes=1)
        )
    else:
        row.beat_at, row.passes = now, row.passes + 1
    session.flush()


def latest(session: Session) -> WorkerHeartbeat | None:
    return session.scalars(
        select(WorkerHeartbeat).order_by(WorkerHeartbeat.beat_at.desc()).limit(1)
    ).first()


def purge(session: Session, before: datetime) -> int:
    """Forget workers silent since before ``before`` (restarted processes leave rows)."""
    result = session.execute(delete(WorkerHeartbeat).where(WorkerHeartbeat.beat_at < before))
    return int(result.rowcount)  # type: ignore[attr-defined]
