"""Training effect (培训成效): difference-in-differences with a cluster-bootstrap interval.

The trainees' change from before to after their training, minus the change over the same
period among staff doing the same activity who did not take it. Persons are resampled (not
single events), because one person's events are not independent of each other. With fewer
than :data:`MIN_PEOPLE` trainees or comparison staff (with work both before and after) there
is no estimate at all, only "not enough people to conclude": one person's change says more
about that person than about a course.
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final

from onewindow.training.profile import Completion

__all__ = ["MIN_PEOPLE", "Effect", "PersonPeriods", "did", "did_from_completions"]

DEFAULT_DRAWS: Final = 1000
MIN_PEOPLE: Final = 3  # trainees, and comparison staff, needed before an effect is estimated


@dataclass(frozen=True)
class PersonPeriods:
    """One person's metric before and after the cut: sums and counts, so means pool."""

    person: str
    treated: bool
    before_sum: float
    before_n: int
    after_sum: float
    after_n: int


@dataclass(frozen=True)
class Effect:
    """``estimate`` is in the metric's unit (minutes for handling time); negative is better
    for times and shares. ``low``/``high`` bound the bootstrap interval. All three are
    ``None`` when a group has fewer than :data:`MIN_PEOPLE` people (the reason says so; the
    groups' own before/after means are still given, as description, not as an effect)."""

    estimate: float | None
    low: float | None
    high: float | None
    treated: int
    controls: int
    treated_before: float | None = None
    treated_after: float | None = None
    control_before: float | None = None
    control_after: float | None = None
    reason: str | None = None

    @property
    def conclusive(self) -> bool:
        """An effect was estimated (enough people in both groups)."""
        return self.estimate is not None

    @property
    def significant(self) -> bool:
        return self.low is not None and self.high is not None and (self.low > 0 or self.high < 0)


def _pooled(people: Sequence[PersonPeriods]) -> tuple[float, float] | None:
    nb = sum(p.before_n for p in people)
    na = sum(p.after_n for p in people)
    if not nb or not na:
        return None
    return sum(p.before_sum for p in people) / nb, sum(p.after_sum for p in people) / na


def _estimate(treated: Sequence[PersonPeriods], controls: Sequence[PersonPeriods]) -> float | None:
    t, c = _pooled(treated), _pooled(controls)
    if t is None or c is None:
        return None
    return (t[1] - t[0]) - (c[1] - c[0])


def did(
    people: Sequence[PersonPeriods],
    *,
    draws: int = DEFAULT_DRAWS,
    level: float = 0.95,
    seed: int = 0,
) -> Effect:
    """The difference-in-differences estimate with a percentile bootstrap interval."""
    treated = [p for p in people if p.treated and p.before_n and p.after_n]
    controls = [p for p in people if not p.treated and p.before_n and p.after_n]
    tp, cp = _pooled(treated), _pooled(controls)
    described = Effect(  # the groups' own means: description, never the effect itself
        None,
        None,
        None,
        len(treated),
        len(controls),
        treated_before=tp[0] if tp else None,
        treated_after=tp[1] if tp else None,
        control_before=cp[0] if cp else None,
        control_after=cp[1] if cp else None,
    )
    if not treated or not controls:
        return replace(
            described,
            reason="no trainees with work before and after"
            if not treated
            else "no comparable staff who did not take the course",
        )
    if len(treated) < MIN_PEOPLE or len(controls) < MIN_PEOPLE:
        return replace(
            described,
            reason=(
                f"样本人数不足，不作结论 / not enough people to conclude: {len(treated)} "
                f"trained, {len(controls)} not (at least {MIN_PEOPLE} of each needed)"
            ),
        )
    estimate = _estimate(treated, controls)
    rng = random.Random(seed)  # noqa: S311 - statistics, not secrets
    samples: list[float] = []
    for _ in range(draws):
        t = [treated[rng.randrange(len(treated))] for _ in treated]
        c = [controls[rng.randrange(len(controls))] for _ in controls]
        value = _estimate(t, c)
        if value is not None:
            samples.append(value)
    samples.sort()
    tail = (1 - level) / 2
    low = samples[int(tail * (len(samples) - 1))] if samples else None
    high = samples[int((1 - tail) * (len(samples) - 1))] if samples else None
    return replace(described, estimate=estimate, low=low, high=high)


def did_from_completions(
    rows: Sequence[Completion],
    activity: str,
    trained_at: Mapping[str, datetime],
    *,
    metric: str = "handling_minutes",
    draws: int = DEFAULT_DRAWS,
    seed: int = 0,
) -> Effect:
    """DiD of one activity's metric: trainees cut at their own training, the others at the
    trainees' median training time. A piece of work belongs to the period it was begun in."""
    if not trained_at:
        return Effect(None, None, None, 0, 0, reason="nobody has completed the course yet")
    cut_for_controls = statistics.median_low(sorted(trained_at.values()))
    acc: dict[str, list[float]] = {}
    for r in rows:
        if r.activity != activity:
            continue
        if metric == "handling_minutes":
            if r.minutes is None:
                continue
            value = r.minutes
        elif metric == "rework_share":
            value = float(r.reworked)
        elif metric == "breach_share":
            value = float(r.breached)
        else:
            if r.bad_rating is None:
                continue
            value = float(r.bad_rating)
        cut = trained_at.get(r.resource, cut_for_controls)
        slot = acc.setdefault(r.resource, [0.0, 0.0, 0.0, 0.0])
        # Work counts in the period it was begun in: a task taken up before the training
        # and finished after it was still done by the untrained person.
        begun = r.began if r.began is not None and r.began <= r.at else r.at
        if begun < cut:
            slot[0] += value
            slot[1] += 1
        else:
            slot[2] += value
            slot[3] += 1
    people = [
        PersonPeriods(who, who in trained_at, s[0], int(s[1]), s[2], int(s[3]))
        for who, s in sorted(acc.items())
    ]
    return did(people, draws=draws, seed=seed)
