"""A small hand-made event log on the real database: three SAMR reviewers do the same step on
twelve cases each, and one of them (刘洋, samr_liu) takes about three times as long. The
training profile finds the need from this log exactly as it would from a real one."""

from __future__ import annotations

from datetime import datetime, timedelta

from onewindow.catalog import service as catalog
from onewindow.eventlog import service as eventlog
from onewindow.eventlog.models import EventType
from onewindow.eventlog.schemas import CaseRef, NewEvent
from onewindow.kit.platform import Platform
from onewindow.workflow.models import Case

ACTIVITY = "名称自主申报审查"
SLOW = "samr_liu"
MINUTES = {"samr_wang": (28, 31, 34), "samr_yang": (30, 33, 36), SLOW: (88, 95, 102)}


def slow_colleague_log(city: Platform, first_day: datetime) -> None:
    """Twelve working mornings from ``first_day`` (a Monday 09:00 in the city's zone)."""
    with city.unit_of_work() as ctx:
        service = next(s for s in catalog.list_services(ctx) if s.code.startswith("SAMR"))
        proc = service.process_definition
        n = 0
        day = first_day
        for _ in range(12):
            while day.weekday() >= 5:
                day += timedelta(days=1)
            for offset, (who, spans) in enumerate(MINUTES.items()):
                n += 1
                start = day + timedelta(minutes=20 * offset)
                case = Case(
                    number=f"T{n:05d}",
                    kind="service",
                    process_definition_id=proc.id,
                    service_code=service.code,
                    channel="window",
                    state="{}",
                    started_at=start,
                    completed=True,
                    completed_at=start + timedelta(hours=3),
                )
                ctx.session.add(case)
                ctx.session.flush()
                ref = CaseRef(case.id, case.number, "service", "window", service.code)
                took = timedelta(minutes=spans[n % 3])
                for kind, life, at in (
                    (EventType.TASK_CLAIMED, "start", start),
                    (EventType.TASK_COMPLETED, "complete", start + took),
                ):
                    eventlog.record(
                        ctx,
                        ref,
                        NewEvent(kind, ACTIVITY, life, at, resource=who, department="SAMR"),
                    )
            day += timedelta(days=1)
