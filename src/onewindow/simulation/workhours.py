"""Office hours on the simulation clock: minutes since the run's start, wall-clock.

Staff work only while the office is open (09:00–17:00 on the platform's working days by
default): a task taken at 16:30 that needs an hour ends at 09:30 on the next working day.
Working time is counted in *working minutes*; converting between the two is a bisect over
the opening times, extended lazily as the run goes on.
"""

from __future__ import annotations

import bisect
from datetime import datetime, time, timedelta

from onewindow.kit.calendar import WorkingCalendar

__all__ = ["OfficeHours"]


class OfficeHours:
    """Working minutes <-> wall minutes since ``start`` for one working calendar."""

    def __init__(
        self,
        start: datetime,
        calendar: WorkingCalendar,
        opens: time = time(9, 0),
        closes: time = time(17, 0),
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("OfficeHours needs a timezone-aware start")
        self.start = start
        self.calendar = calendar
        self.opens, self.closes = opens, closes
        length = (closes.hour * 60 + closes.minute) - (opens.hour * 60 + opens.minute)
        if length <= 0:
            raise ValueError("office hours must close after they open")
        self.length = float(length)
        self._open_at: list[float] = []  # wall minutes of each working day's opening
        self._next_day = start.astimezone(calendar.zone).date()

    def _extend(self) -> None:
        # Whole weeks at a time: a bisect per call is cheap, extending often is not.
        zone = self.calendar.zone
        for _ in range(7):
            day = self._next_day
            self._next_day = day + timedelta(days=1)
            if self.calendar.is_workday(day):
                opening = datetime.combine(day, self.opens, tzinfo=zone)
                self._open_at.append((opening - self.start).total_seconds() / 60.0)

    def _day_of(self, wall: float) -> int:
        while not self._open_at or self._open_at[-1] <= wall:
            self._extend()
        return bisect.bisect_right(self._open_at, wall) - 1

    def to_work(self, wall: float) -> float:
        """Working minutes elapsed between the start and ``wall``."""
        i = self._day_of(wall)
        if i < 0:
            return 0.0
        return i * self.length + min(wall - self._open_at[i], self.length)

    def _day(self, i: int) -> float:
        while len(self._open_at) <= i:
            self._extend()
        return self._open_at[i]

    def to_wall_start(self, work: float) -> float:
        """Wall minute at which ``work`` working minutes have passed (an opening, not a close)."""
        i = int(work // self.length)
        return self._day(i) + (work - i * self.length)

    def to_wall_end(self, work: float) -> float:
        """Like :meth:`to_wall_start`, but work ending exactly at a closing ends there."""
        i = int(work // self.length)
        rest = work - i * self.length
        if rest == 0.0 and i > 0:
            return self._day(i - 1) + self.length
        return self._day(i) + rest

    def finish(self, wall: float, minutes: float) -> float:
        """When ``minutes`` of work started (or queued) at ``wall`` are done."""
        return max(wall, self.to_wall_end(self.to_work(wall) + minutes))

    def is_open(self, wall: float) -> bool:
        i = self._day_of(wall)
        return i >= 0 and wall - self._open_at[i] < self.length
