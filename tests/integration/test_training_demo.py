"""The demo city's slow staff are found from its own event log, and trained."""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import Any

import pytest
from rich.console import Console

from onewindow.catalog import service as catalog
from onewindow.demo import generator
from onewindow.demo.generator import DemoOptions, seed_demo
from onewindow.demo.training_demo import seed_training
from onewindow.kit.platform import Platform
from onewindow.training import service as training
from onewindow.training.effect import MIN_PEOPLE

# One week of history: fewer cases per person than a real quarter (a slow person, being
# slow, takes fewer of the shared queue: three to four in a week), so a lower minimum.
MIN_CASES = 3
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


def test_demo_training_effect_shows_in_later_weeks(platform: Platform) -> None:
    """After the courses the city runs on; the trainees catch up, and the log shows it.
    A week's demo trains one or two people per course: too few to conclude anything, so
    the demo states no effect as a finding, only the groups' own before/after times."""
    quiet = Console(quiet=True)
    history = seed_demo(
        platform,
        DemoOptions(weeks=1, seed=7, cases_per_day=60, start=date(2026, 3, 2)),
        console=quiet,
    )
    assert history.city is not None
    assert history.ended_at is not None
    cut = history.ended_at
    slow = {who for who, factor in history.speed.items() if factor >= 1.8}
    printed = Console(record=True, width=200, file=io.StringIO())
    summary = seed_training(
        platform, seed=3, console=printed, min_cases=MIN_CASES, history=history, after_weeks=1
    )
    assert summary.trained
    assert history.ended_at > cut
    assert set(summary.trained) & slow
    skill = {k: v for k, v in summary.effects.items() if k.startswith("skill-")}
    effects = [e for per in skill.values() for e in per.values()]
    assert effects, summary.effects
    lines = printed.export_text().splitlines()
    for key, per_activity in skill.items():
        for activity, e in per_activity.items():
            (line,) = [x for x in lines if x.startswith(f"training effect {key} on {activity}:")]
            if e.treated < MIN_PEOPLE or e.controls < MIN_PEOPLE:
                assert e.estimate is None
                assert e.low is None
                assert e.high is None
                assert e.reason is not None
                assert "not enough people to conclude" in e.reason
                assert f"{e.treated} trained, {e.controls} not" in line
                assert " min [" not in line
    # The catch-up the demo simulates is in the log, described (not concluded) by the
    # trainees' own before/after means. Only the planted slow staff's factors move much
    # (toward the norm); a trainee of ordinary speed with a handful of cases is noise
    # either way. So: the trainees together got faster, and some markedly.
    described = [e for e in effects if e.treated_before and e.treated_after]
    assert described
    pairs = [(e.treated_before or 0.0, e.treated_after or 0.0) for e in described]
    assert sum(after for _, after in pairs) < sum(before for before, _ in pairs), pairs
    assert any(after < 0.7 * before for before, after in pairs), pairs
    with platform.unit_of_work() as ctx:
        # Training was dated where the history stopped, not at the wall clock's now.
        done = [a.completed_at for a in training.assignments_for(ctx, catalog.list_staff(ctx))]
        assert all(d is None or d <= cut + timedelta(minutes=1) for d in done)
