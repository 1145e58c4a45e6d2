"""The demo city's slow staff are found from its own event log, and trained."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from rich.console import Console

from onewindow.demo import generator
from onewindow.demo.generator import DemoOptions, seed_demo
from onewindow.demo.training_demo import seed_training
from onewindow.kit.platform import Platform
from onewindow.training import service as training

# One week of history: fewer cases per person than a real quarter, so a lower minimum.
MIN_CASES = 5
OPTS = DemoOptions(weeks=1, seed=11, cases_per_day=45, start=date(2026, 3, 2))


def test_demo_needs_are_the_planted_slow_staff(
    platform: Platform, monkeypatch: pytest.MonkeyPatch
) -> None:
    cities: list[Any] = []
    real = generator._City

    def spy(*args: Any, **kwargs: Any) -> Any:
        city = real(*args, **kwargs)
        cities.append(city)
        return city

    monkeypatch.setattr(generator, "_City", spy)
    seed_demo(platform, OPTS, console=Console(quiet=True))
    (city,) = cities
    slow = {who for who, factor in city.speed.items() if factor >= 1.8}
    with platform.unit_of_work() as ctx:
        needs = training.needs(ctx, min_cases=MIN_CASES)
    flagged = {n.resource for n in needs if n.metric == "handling_minutes"}
    assert flagged, "no slow performer found in the demo log"
    assert flagged <= slow, f"steady staff flagged: {flagged - slow}"

    summary = seed_training(platform, seed=3, console=Console(quiet=True), min_cases=MIN_CASES)
    assert summary.needs >= len(flagged)
    assert summary.courses >= 2
    assert summary.assigned >= 1
    assert summary.completed >= 1
    again = seed_training(platform, seed=3, console=Console(quiet=True), min_cases=MIN_CASES)
    assert again.courses == 0
