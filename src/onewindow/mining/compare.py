"""Before/after: did a redesign change case durations, trips and the process map?

Bootstrap confidence intervals are seeded (``numpy.random.default_rng(seed)``), so a
report is reproducible. The Mann–Whitney U test follows scipy's ``mannwhitneyu``
(two-sided; exact distribution when a sample has at most 8 values and there are no ties,
otherwise the tie-corrected normal approximation with continuity correction).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Final

import polars as pl

from onewindow.mining.frame import CASE_ID, TIMESTAMP, EventFrame, lazy
from onewindow.mining.maps import ProcessMap

if TYPE_CHECKING:  # numpy is imported where used: a report without a comparison skips it
    import numpy as np

__all__ = [
    "Comparison",
    "MetricChange",
    "bootstrap_mean_ci",
    "compare_samples",
    "map_diff",
    "mann_whitney_u",
    "split_by_start",
]

_EXACT_MAX: Final = 8
# The exact table costs ~(n1·n2)²/4 steps; beyond this the normal approximation is used.
_EXACT_MAX_CELLS: Final = 2500


def split_by_start(log: EventFrame, when: datetime) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Cases that started before ``when`` and those that started at or after it."""
    frame = lazy(log)
    first = frame.group_by(CASE_ID).agg(pl.col(TIMESTAMP).min().alias("@@first"))
    tagged = frame.join(first, on=CASE_ID, how="left")
    before = tagged.filter(pl.col("@@first") < when).drop("@@first").collect()
    after = tagged.filter(pl.col("@@first") >= when).drop("@@first").collect()
    return before, after


# --------------------------------------------------------------------------- statistics


def bootstrap_mean_ci(
    values: Sequence[float] | np.ndarray[Any, Any],
    *,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean; (nan, nan) for an empty sample."""
    import numpy as np

    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


def _bootstrap_diff_ci(
    a: np.ndarray[Any, Any],
    b: np.ndarray[Any, Any],
    *,
    resamples: int,
    confidence: float,
    seed: int,
) -> tuple[float, float]:
    import numpy as np

    if a.size == 0 or b.size == 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    ma = a[rng.integers(0, a.size, size=(resamples, a.size))].mean(axis=1)
    mb = b[rng.integers(0, b.size, size=(resamples, b.size))].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(mb - ma, [tail, 1.0 - tail])
    return float(low), float(high)


@cache
def _u_counts(n1: int, n2: int) -> tuple[int, ...]:
    """How many arrangements give each U = 0..n1·n2 (no ties)."""
    # f(i, j)[u]: arrangements of i x-values and j y-values with statistic u.
    table: dict[tuple[int, int], list[int]] = {}
    for i in range(n1 + 1):
        for j in range(n2 + 1):
            if i == 0 or j == 0:
                table[i, j] = [1]
                continue
            with_x_last = [0] * j + table[i - 1, j]  # the largest value is an x: +j
            with_y_last = table[i, j - 1]
            size = i * j + 1
            row = [0] * size
            for u, c in enumerate(with_x_last):
                row[u] += c
            for u, c in enumerate(with_y_last):
                row[u] += c
            table[i, j] = row
    return tuple(table[n1, n2])


def mann_whitney_u(x: Sequence[float], y: Sequence[float]) -> tuple[float, float]:
    """(U of ``x``, two-sided p-value), as ``scipy.stats.mannwhitneyu(x, y)`` gives."""
    import numpy as np

    a = np.asarray(x, dtype=np.float64)
    b = np.asarray(y, dtype=np.float64)
    n1, n2 = a.size, b.size
    if n1 == 0 or n2 == 0:
        return math.nan, math.nan
    both = np.concatenate([a, b])
    ranks = pl.Series(both).rank("average").to_numpy()
    _, tie_sizes = np.unique(both, return_counts=True)
    u1 = float(ranks[:n1].sum() - n1 * (n1 + 1) / 2)
    u = max(u1, n1 * n2 - u1)
    ties = bool((tie_sizes > 1).any())
    if (n1 <= _EXACT_MAX or n2 <= _EXACT_MAX) and not ties and n1 * n2 <= _EXACT_MAX_CELLS:
        counts = _u_counts(n1, n2)
        total = sum(counts)
        survival = sum(counts[int(u) :]) / total
        return u1, min(1.0, 2.0 * survival)
    n = n1 + n2
    tie_term = float((tie_sizes.astype(np.float64) ** 3 - tie_sizes).sum())
    sigma = math.sqrt(n1 * n2 / 12.0 * ((n + 1) - tie_term / (n * (n - 1))))
    if sigma == 0:
        return u1, 1.0
    z = (u - n1 * n2 / 2.0 - 0.5) / sigma
    return u1, min(1.0, 2.0 * 0.5 * math.erfc(z / math.sqrt(2.0)))


@dataclass(frozen=True)
class MetricChange:
    """One metric before and after, with bootstrap CIs and the rank test."""

    name: str
    n_before: int
    n_after: int
    mean_before: float
    mean_after: float
    ci_before: tuple[float, float]
    ci_after: tuple[float, float]
    diff_ci: tuple[float, float]
    u: float
    p_value: float

    @property
    def change(self) -> float:
        return self.mean_after - self.mean_before

    @property
    def relative_change(self) -> float | None:
        return None if self.mean_before == 0 else self.change / self.mean_before

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "n_before": self.n_before,
            "n_after": self.n_after,
            "mean_before": self.mean_before,
            "mean_after": self.mean_after,
            "ci_before": list(self.ci_before),
            "ci_after": list(self.ci_after),
            "change": self.change,
            "relative_change": self.relative_change,
            "diff_ci": list(self.diff_ci),
            "u": self.u,
            "p_value": self.p_value,
        }


def compare_samples(
    name: str,
    before: Sequence[float],
    after: Sequence[float],
    *,
    resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> MetricChange:
    import numpy as np

    a = np.asarray(before, dtype=np.float64)
    b = np.asarray(after, dtype=np.float64)
    u, p = mann_whitney_u(a.tolist(), b.tolist())
    return MetricChange(
        name=name,
        n_before=int(a.size),
        n_after=int(b.size),
        mean_before=float(a.mean()) if a.size else math.nan,
        mean_after=float(b.mean()) if b.size else math.nan,
        ci_before=bootstrap_mean_ci(a, resamples=resamples, confidence=confidence, seed=seed),
        ci_after=bootstrap_mean_ci(b, resamples=resamples, confidence=confidence, seed=seed + 1),
        diff_ci=_bootstrap_diff_ci(a, b, resamples=resamples, confidence=confidence, seed=seed + 2),
        u=u,
        p_value=p,
    )


# --------------------------------------------------------------------------- map diff


def map_diff(before: ProcessMap, after: ProcessMap) -> pl.DataFrame:
    """Edges of both maps side by side: count per case and mean duration, and status.

    ``status`` is ``added`` (only after), ``removed`` (only before) or ``both``;
    ``mean_change`` is the change of the edge's mean wait in seconds (both only).
    Counts are per 100 cases so logs of different sizes compare.
    """
    cols = ["source", "target", "count", "mean"]
    b = before.edges.select(cols).rename({"count": "count_before", "mean": "mean_before"})
    a = after.edges.select(cols).rename({"count": "count_after", "mean": "mean_after"})
    joined = b.join(a, on=["source", "target"], how="full", coalesce=True)
    per_before = 100.0 / before.cases if before.cases else 0.0
    per_after = 100.0 / after.cases if after.cases else 0.0
    return (
        joined.with_columns(
            pl.col("count_before").fill_null(0),
            pl.col("count_after").fill_null(0),
        )
        .with_columns(
            (pl.col("count_before") * per_before).alias("per100_before"),
            (pl.col("count_after") * per_after).alias("per100_after"),
            pl.when(pl.col("count_before") == 0)
            .then(pl.lit("added"))
            .when(pl.col("count_after") == 0)
            .then(pl.lit("removed"))
            .otherwise(pl.lit("both"))
            .alias("status"),
        )
        .with_columns(
            (pl.col("per100_after") - pl.col("per100_before")).alias("per100_change"),
            (pl.col("mean_after") - pl.col("mean_before")).alias("mean_change"),
        )
        .sort(pl.col("per100_change").abs(), descending=True)
    )


@dataclass(frozen=True)
class Comparison:
    """改进前后对比: metrics with CIs and tests, and the map diff."""

    label_before: str
    label_after: str
    metrics: list[MetricChange]
    edges: pl.DataFrame
    cases_before: int = 0
    cases_after: int = 0
    events_before: int = 0
    events_after: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-safe (NaN → null); the ``comparison`` object of docs/mining-report.md."""
        return _finite_dict(
            {
                "label_before": self.label_before,
                "label_after": self.label_after,
                "cases_before": self.cases_before,
                "cases_after": self.cases_after,
                "events_before": self.events_before,
                "events_after": self.events_after,
                "metrics": [m.as_dict() for m in self.metrics],
                "edges": [
                    {
                        "source": e["source"],
                        "target": e["target"],
                        "status": e["status"],
                        "count_before": e["count_before"],
                        "count_after": e["count_after"],
                        "per100_before": e["per100_before"],
                        "per100_after": e["per100_after"],
                        "per100_change": e["per100_change"],
                        "mean_seconds_before": e["mean_before"],
                        "mean_seconds_after": e["mean_after"],
                        "mean_seconds_change": e["mean_change"],
                    }
                    for e in self.edges.iter_rows(named=True)
                ],
            }
        )


def _finite_dict(value: dict[str, Any]) -> dict[str, Any]:
    return {k: _finite(v) for k, v in value.items()}


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value
