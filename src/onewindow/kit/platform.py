"""The running platform's shared parts, built once per process by an entrypoint.

An entrypoint (CLI command, request, job, test) asks for a unit of work and gets a ``Ctx``:
the session of its one transaction plus the clock, settings and working-day calendar.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from onewindow.kit import calendar_store
from onewindow.kit.calendar import WorkingCalendar, default_calendar
from onewindow.kit.clock import Clock, SystemClock
from onewindow.kit.db import make_engine, make_sessionmaker, run_in_transaction, transaction
from onewindow.kit.settings import Settings

T = TypeVar("T")
log = logging.getLogger("onewindow.platform")
# How often a process looks for holiday-calendar years saved by another process (seconds).
CALENDAR_RECHECK = 30.0


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
    # ``calendar`` is the shipped (or configured) one with the years an administrator entered
    # laid over it; ``base_calendar`` is the one it was built from.
    base_calendar: WorkingCalendar | None = None
    _calendar_stamp: Any = field(default=None, repr=False)
    _calendar_checked: float = field(default=-math.inf, repr=False)

    def __post_init__(self) -> None:
        if self.base_calendar is None:
            self.base_calendar = self.calendar

    def current_calendar(self) -> WorkingCalendar:
        """The working calendar with the entered years, re-read when they changed (looked
        for at most every ``CALENDAR_RECHECK`` seconds, at once after ``reload_calendar``)."""
        now = time.monotonic()
        if now - self._calendar_checked < CALENDAR_RECHECK:
            return self.calendar
        self._calendar_checked = now
        base = self.base_calendar or self.calendar
        try:
            with self.engine.connect() as conn:
                stamp = calendar_store.stamp(conn)
                if stamp != self._calendar_stamp:
                    self.calendar = calendar_store.overlay(base, calendar_store.rows(conn))
                    self._calendar_stamp = stamp
        except SQLAlchemyError:
            # Not migrated yet (``db upgrade`` itself runs on a platform): the shipped calendar.
            log.debug("holiday calendar years not readable; using the shipped calendar")
        except ValueError as exc:  # entered years that clash: keep the last good calendar
            log.error("holiday calendar years refused: %s", exc)
        return self.calendar

    def reload_calendar(self) -> WorkingCalendar:
        """Read the entered years now (after a year was saved in this process)."""
        self._calendar_checked = -math.inf
        return self.current_calendar()

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
            yield Ctx(
                session, self.clock, self.settings, self.current_calendar(), shared=self.shared
            )

    def run(self, fn: Callable[[Ctx], T], *, attempts: int = 5) -> T:
        """Run ``fn`` in one transaction, retried whole on a concurrent-update conflict."""
        calendar = self.current_calendar()
        return run_in_transaction(
            self.sessions,
            lambda session: fn(
                Ctx(session, self.clock, self.settings, calendar, shared=self.shared)
            ),
            attempts=attempts,
        )

    def dispose(self) -> None:
        self.engine.dispose()
