"""The running platform's shared parts, built once per process by an entrypoint.

An entrypoint (CLI command, request, job, test) asks for a unit of work and gets a ``Ctx``:
the session of its one transaction plus the clock, settings and working-day calendar.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from onewindow.kit.calendar import WorkingCalendar, default_calendar
from onewindow.kit.clock import Clock, SystemClock
from onewindow.kit.db import make_engine, make_sessionmaker, run_in_transaction, transaction
from onewindow.kit.settings import Settings

T = TypeVar("T")


@dataclass
class Ctx:
    """What a service function needs besides its arguments; ``session`` is the open transaction.

    ``memo`` lives as long as the transaction (safe for any row); ``shared`` as long as the
    platform, for rows that never change once written (e.g. a process version by id).
    """

    session: Session
    clock: Clock
    settings: Settings
    calendar: WorkingCalendar
    memo: dict[Any, Any] = field(default_factory=dict)
    shared: dict[Any, Any] = field(default_factory=dict)


@dataclass
class Platform:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    clock: Clock = field(default_factory=SystemClock)
    calendar: WorkingCalendar = field(default_factory=default_calendar)
    shared: dict[Any, Any] = field(default_factory=dict)

    @classmethod
    def create(
        cls,
        settings: Settings | None = None,
        *,
        clock: Clock | None = None,
        calendar: WorkingCalendar | None = None,
    ) -> Platform:
        settings = settings or Settings()
        settings.check()
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = make_engine(settings.resolved_database_url)
        if calendar is None:
            calendar = (
                WorkingCalendar.from_yaml(settings.holidays_file)
                if settings.holidays_file
                else default_calendar()
            )
        return cls(
            settings=settings,
            engine=engine,
            sessions=make_sessionmaker(engine),
            clock=clock or SystemClock(),
            calendar=calendar,
        )

    @contextmanager
    def unit_of_work(self) -> Iterator[Ctx]:
        with transaction(self.sessions) as session:
            yield Ctx(session, self.clock, self.settings, self.calendar, shared=self.shared)

    def run(self, fn: Callable[[Ctx], T], *, attempts: int = 5) -> T:
        """Run ``fn`` in one transaction, retried whole on a concurrent-update conflict."""
        return run_in_transaction(
            self.sessions,
            lambda session: fn(
                Ctx(session, self.clock, self.settings, self.calendar, shared=self.shared)
            ),
            attempts=attempts,
        )

    def dispose(self) -> None:
        self.engine.dispose()
