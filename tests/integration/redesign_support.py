"""A business-licence (SAMR-001) log made quickly: the loop demo's city, run through the
platform's own services on the demo catalogue's current process, on a manual clock."""

from __future__ import annotations

from datetime import datetime

from onewindow.kit.clock import ManualClock
from onewindow.kit.platform import Platform
from tests.conftest import START


def seed_business_licence_log(
    city: Platform,
    *,
    weeks: int = 2,
    gap_minutes: float = 90.0,
    seed: int = 3,
    start: datetime = START,
) -> int:
    """Cases of SAMR-001 arriving every ``gap_minutes`` working minutes for ``weeks`` weeks,
    worked by the demo staff and left a week to finish; returns how many arrived."""
    from onewindow.demo.loop_demo import LoopOptions, _City, _legacy_world

    clock = ManualClock(start)
    sim = Platform(city.settings, city.engine, city.sessions, clock, city.calendar)
    town = _City(sim, clock, _legacy_world(), LoopOptions(mean_gap_minutes=gap_minutes), seed)
    end = weeks * 7 * 1440.0
    arrived = town.plan_arrivals(0.0, end)
    town.run_until(end + 7 * 1440.0)
    return arrived
