"""Database plumbing: declarative base, engines, the unit-of-work entrypoints use.

The entrypoint (request, job, CLI command) owns the transaction: services only ``flush()``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import DateTime, Engine, MetaData, create_engine, event, inspect
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from sqlalchemy.pool import StaticPool
from sqlalchemy.types import TypeDecorator

from onewindow.kit.errors import ConcurrentUpdate, OneWindowError

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware datetimes on every backend.

    SQLite has no timezone type, so values are normalised to UTC on the way in and marked
    UTC on the way out; a naive datetime is a bug and is refused.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime refused; use an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        if url in ("sqlite://", "sqlite:///:memory:"):
            kwargs.setdefault("poolclass", StaticPool)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # isolation_level None hands BEGIN to us, so writers serialise with BEGIN IMMEDIATE
            # instead of failing later with "database is locked" on lock upgrade.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_engine(url, **kwargs)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except StaleDataError as exc:
        session.rollback()
        raise ConcurrentUpdate(
            "Someone else changed this case at the same moment; try again",
            message_zh="该办件刚被他人同时修改，请重试",
        ) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


T = TypeVar("T")
_jitter = random.SystemRandom()


def run_in_transaction(
    factory: sessionmaker[Session],
    fn: Callable[[Session], T],
    *,
    attempts: int = 5,
) -> T:
    """Run ``fn`` in its own transaction, retrying the whole of it on a concurrency conflict."""
    for attempt in range(1, attempts + 1):
        try:
            with transaction(factory) as session:
                try:
                    return fn(session)
                except StaleDataError as exc:
                    raise ConcurrentUpdate(
                        "Someone else changed this case at the same moment; try again",
                        message_zh="该办件刚被他人同时修改，请重试",
                    ) from exc
        except ConcurrentUpdate:
            if attempt == attempts:
                raise
        except OperationalError as exc:
            # PostgreSQL serialization failures / deadlocks are retryable like a version clash.
            if attempt == attempts or not is_retryable(exc):
                raise
        time.sleep(retry_delay(attempt))
    raise AssertionError("unreachable")


def is_retryable(exc: DBAPIError) -> bool:
    """A serialization failure or deadlock (PostgreSQL): the whole transaction may be run
    again."""
    code = getattr(exc.orig, "sqlstate", None)
    return code in {"40001", "40P01"}


def retry_delay(attempt: int, *, base: float = 0.01, cap: float = 0.5) -> float:
    """Seconds to wait before attempt ``attempt + 1`` of a clashed unit of work: "full
    jitter" exponential backoff, so writers that clashed do not clash again in step."""
    return _jitter.uniform(0.0, min(cap, base * (2**attempt)))


class DatabaseNotMigrated(OneWindowError):
    code = "db.not_migrated"
    status = 503


def table_names(engine: Engine) -> set[str]:
    return set(inspect(engine).get_table_names())
