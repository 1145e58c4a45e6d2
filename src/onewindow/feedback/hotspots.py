"""Hotspots and trends: district x category x week, anomalies against each cell's own past.

The test, stated once: for the week under study, a cell (district, category) with ``x``
tickets this week and ``h`` tickets in its previous ``k`` weeks is compared with its own
rate by the exact conditional test for two Poisson counts: under "the weekly rate did not
change", ``x`` given ``x + h`` is Binomial(x + h, 1 / (k + 1)), and the one-sided p-value is
P(X >= x). A cell is flagged when that p-value is below ``alpha`` divided by the number of
cells tested that week (Bonferroni), with at least ``min_count`` tickets. Defaults: k = 8
weeks of history (at least 3 needed), alpha = 0.01, min_count = 5. The test conditions on the
cell's own total, so a busy district is judged against itself, not against a quiet one.

Pure functions over plain records: the CLI runs them on a CSV, the service on the database.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")
HISTORY_WEEKS = 8
MIN_HISTORY_WEEKS = 3
ALPHA = 0.01
MIN_COUNT = 5
METHOD = (
    "exact conditional binomial test of this week's count against the cell's previous weeks "
    "(Poisson rates), one-sided, Bonferroni-corrected over the week's cells"
)


@dataclass(frozen=True)
class Record:
    district: str
    category: str
    created_at: datetime


@dataclass(frozen=True)
class Flag:
    district: str
    category: str
    week: str  # ISO date of the Monday
    count: int
    baseline: float  # mean weekly count over the history weeks
    history_weeks: int
    ratio: float
    p_value: float
    p_adjusted: float
    rate_per_10k: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def week_of(moment: datetime | date, zone: tzinfo = DEFAULT_ZONE) -> date:
    """The Monday (local date) of the week a moment falls in."""
    day = moment.astimezone(zone).date() if isinstance(moment, datetime) else moment
    return day - timedelta(days=day.weekday())


def weekly_counts(
    records: Iterable[Record], zone: tzinfo = DEFAULT_ZONE
) -> dict[tuple[str, str], Counter[date]]:
    cells: dict[tuple[str, str], Counter[date]] = defaultdict(Counter)
    for r in records:
        cells[(r.district, r.category)][week_of(r.created_at, zone)] += 1
    return dict(cells)


def p_value(count: int, history_total: int, history_weeks: int) -> float:
    """One-sided P(X >= count) for X ~ Binomial(count + history_total, 1 / (weeks + 1))."""
    n = count + history_total
    if count <= 0 or n == 0:
        return 1.0
    from scipy.stats import binom  # type: ignore[import-untyped,unused-ignore]

    return float(binom.sf(count - 1, n, 1.0 / (history_weeks + 1)))


def detect(
    records: Sequence[Record],
    *,
    week: date | None = None,
    history: int = HISTORY_WEEKS,
    alpha: float = ALPHA,
    min_count: int = MIN_COUNT,
    population: Mapping[str, int] | None = None,
    zone: tzinfo = DEFAULT_ZONE,
) -> list[Flag]:
    """Cells of ``week`` (default: the latest week in the data) that stand out, most
    significant first. Weeks before the first record do not count as history."""
    if not records:
        return []
    cells = weekly_counts(records, zone)
    first = min(min(c) for c in cells.values())
    target = week_of(week, zone) if week else max(max(c) for c in cells.values())
    span = [target - timedelta(weeks=i) for i in range(1, history + 1)]
    span = [w for w in span if w >= first]
    if len(span) < MIN_HISTORY_WEEKS:
        return []
    tested: list[tuple[str, str, int, int]] = []
    for (district, category), counts in cells.items():
        x = counts.get(target, 0)
        h = sum(counts.get(w, 0) for w in span)
        if x + h:
            tested.append((district, category, x, h))
    m = max(len(tested), 1)
    flags: list[Flag] = []
    for district, category, x, h in tested:
        baseline = h / len(span)
        if x < min_count or x <= baseline:
            continue
        p = p_value(x, h, len(span))
        if p * m >= alpha:
            continue
        people = (population or {}).get(district)
        flags.append(
            Flag(
                district=district,
                category=category,
                week=target.isoformat(),
                count=x,
                baseline=round(baseline, 3),
                history_weeks=len(span),
                ratio=round(x / baseline, 2) if baseline else math.inf,
                p_value=p,
                p_adjusted=min(1.0, p * m),
                rate_per_10k=round(x / people * 10_000, 3) if people else None,
            )
        )
    flags.sort(key=lambda f: (f.p_value, -(f.count - f.baseline)))
    return flags


def table(
    records: Iterable[Record],
    *,
    population: Mapping[str, int] | None = None,
    zone: tzinfo = DEFAULT_ZONE,
) -> list[dict[str, Any]]:
    """Rows of district x category x week with counts and rates per 10,000 residents."""
    rows: list[dict[str, Any]] = []
    for (district, category), counts in sorted(weekly_counts(records, zone).items()):
        people = (population or {}).get(district)
        for wk, n in sorted(counts.items()):
            rows.append(
                {
                    "district": district,
                    "category": category,
                    "week": wk.isoformat(),
                    "count": n,
                    "rate_per_10k": round(n / people * 10_000, 3) if people else None,
                }
            )
    return rows


_WORDLIKE = re.compile(r"^[\u4e00-\u9fff]{2,}$")
STOPWORDS = frozenset(
    "希望 相关 部门 尽快 处理 有关 反映 问题 已经 一个 星期 持续 好几天 最近 一直 这样 "
    "谢谢 您好 你好 市民 来电 附近 居民 多次 没有 解决 答复 核实 严重 影响 生活 督促 整改 "
    "建议 而且 每天 现在 小区 门口 路口 街道 旁边".split()
)


def rising_topics(
    texts: Sequence[tuple[str, datetime]],
    tokenize: Callable[[str], list[str]],
    *,
    week: date | None = None,
    history: int = 4,
    top: int = 10,
    min_count: int = 3,
    zone: tzinfo = DEFAULT_ZONE,
) -> list[dict[str, Any]]:
    """Keywords whose share of this week's words rose most against the previous weeks'
    (smoothed log ratio), with their counts."""
    if not texts:
        return []
    weeks = [week_of(t, zone) for _, t in texts]
    target = week_of(week, zone) if week else max(weeks)
    start = target - timedelta(weeks=history)
    now: Counter[str] = Counter()
    before: Counter[str] = Counter()
    for (text, _), wk in zip(texts, weeks, strict=True):
        if wk == target:
            bucket = now
        elif start <= wk < target:
            bucket = before
        else:
            continue
        bucket.update(
            {
                w
                for w in tokenize(text)
                if _WORDLIKE.match(w) and w not in STOPWORDS and "区" != w[-1]
            }
        )
    total_now, total_before = sum(now.values()) or 1, sum(before.values()) or 1
    vocabulary = len(set(now) | set(before)) or 1
    scored: list[dict[str, Any]] = []
    for word, c in now.items():
        if c < min_count:
            continue
        share_now = (c + 0.5) / (total_now + 0.5 * vocabulary)
        share_before = (before.get(word, 0) + 0.5) / (total_before + 0.5 * vocabulary)
        scored.append(
            {
                "keyword": word,
                "count": c,
                "before": before.get(word, 0),
                "lift": round(math.log(share_now / share_before), 3),
            }
        )
    scored.sort(key=lambda s: (-s["lift"], -s["count"]))
    return [s for s in scored if s["lift"] > 0][:top]


def satisfaction_trend(
    ratings: Iterable[tuple[str, datetime, int]], zone: tzinfo = DEFAULT_ZONE
) -> dict[str, list[dict[str, Any]]]:
    """Per service: each week's mean rating level, the count, and the share rated 3 or more."""
    acc: dict[str, dict[date, list[int]]] = defaultdict(lambda: defaultdict(list))
    for service, when, level in ratings:
        acc[service][week_of(when, zone)].append(level)
    out: dict[str, list[dict[str, Any]]] = {}
    for service, weeks in sorted(acc.items()):
        out[service] = [
            {
                "week": wk.isoformat(),
                "n": len(levels),
                "mean": round(sum(levels) / len(levels), 3),
                "satisfied_share": round(sum(1 for v in levels if v >= 3) / len(levels), 3),
            }
            for wk, levels in sorted(weeks.items())
        ]
    return out
