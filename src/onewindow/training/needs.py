"""Training needs (培训需求): rules that turn a skill profile into recommendations.

A need is raised only on a scored metric (enough cases, enough peers) that is both far from
the peers (robust z-score) and materially worse (a ratio or a difference a head would care
about), so a steady performer on a noisy day is not flagged. Pure functions, no database.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from onewindow.training.profile import Metric, MetricScore, Profile

__all__ = ["NEED_RULES", "Need", "NeedRule", "find_needs", "phrase", "unjudged"]


@dataclass(frozen=True)
class NeedRule:
    """Flag when ``score >= min_score`` and the gap to the peers' median is material."""

    metric: Metric
    min_score: float
    min_ratio: float | None = None  # value / peer median (times)
    min_gap: float | None = None  # value - peer median (shares)
    skill_zh: str = ""
    skill_en: str = ""


NEED_RULES: Final[tuple[NeedRule, ...]] = (
    NeedRule("handling_minutes", 3.0, min_ratio=1.5, skill_zh="业务熟练度", skill_en="speed"),
    NeedRule("rework_share", 3.0, min_gap=0.10, skill_zh="办理质量", skill_en="quality"),
    NeedRule("breach_share", 3.0, min_gap=0.10, skill_zh="时限管理", skill_en="deadlines"),
    NeedRule("bad_rating_share", 3.0, min_gap=0.05, skill_zh="服务礼仪与沟通", skill_en="service"),
)
_METRIC_ZH: Final[dict[str, str]] = {
    "handling_minutes": "办理用时",
    "rework_share": "退回/返工比例",
    "breach_share": "超时比例",
    "bad_rating_share": "差评比例",
}


@dataclass(frozen=True)
class Need:
    resource: str
    activity: str
    metric: Metric
    value: float
    peer_median: float
    score: float
    cases: int
    skill: str
    message_zh: str
    message_en: str
    course: str | None = None  # the course title that answers it, when there is one

    def addressed(self, lang: str, *, subject: str | None = None) -> str:
        """The need in words: to the person themself, or about them by ``subject``'s name."""
        return phrase(
            lang,
            activity=self.activity,
            metric=self.metric,
            value=self.value,
            peer_median=self.peer_median,
            cases=self.cases,
            subject=subject,
            course=self.course,
        )

    def as_row(self) -> dict[str, Any]:
        """The CLI's JSON row."""
        return {
            "resource": self.resource,
            "activity": self.activity,
            "metric": self.metric,
            "value": round(self.value, 4),
            "peer_median": round(self.peer_median, 4),
            "score": round(self.score, 3),
            "cases": self.cases,
        }


def _messages(s: MetricScore, course: str | None) -> tuple[str, str]:
    if s.value is None or s.peer_median is None:
        return "", ""
    if s.metric == "handling_minutes":
        ratio = s.value / s.peer_median if s.peer_median else float("inf")
        zh = f"{s.resource} 办理「{s.activity}」比同岗慢 {ratio:.1f} 倍（{s.cases} 件）"
        en = (
            f"{s.resource} handles {s.activity} {ratio:.1f}x slower than peers over {s.cases} cases"
        )
    else:
        zh = (
            f"{s.resource} 在「{s.activity}」的{_METRIC_ZH[s.metric]}为 {s.value:.0%}，"
            f"同岗中位 {s.peer_median:.0%}（{s.cases} 件）"
        )
        en = (
            f"{s.resource}'s {s.metric.replace('_', ' ')} on {s.activity} is {s.value:.0%} "
            f"against peers' {s.peer_median:.0%} over {s.cases} cases"
        )
    if course:
        zh += f" → 课程「{course}」"
        en += f" → course {course}"
    return zh, en


_METRIC_EN: Final[dict[str, str]] = {
    "handling_minutes": "handling time",
    "rework_share": "share of cases sent back or redone",
    "breach_share": "share of cases past their time limit",
    "bad_rating_share": "share of bad ratings",
}


def phrase(
    lang: str,
    *,
    activity: str,
    metric: str,
    value: float,
    peer_median: float,
    cases: int,
    subject: str | None = None,
    course: str | None = None,
) -> str:
    """A need as a sentence: addressed to the person (``subject`` None: "您…" / "You…") or
    about them by name, for a head ("王芳 办理…" / "王芳 handles…").

    The person reading about themself is never named in the third person.
    """
    ratio = value / peer_median if peer_median else float("inf")
    en = lang == "en"
    if metric == "handling_minutes":
        if subject is None:
            text = (
                f"You handle {activity} {ratio:.1f}× slower than colleagues ({cases} cases)"
                if en
                else f"您办理「{activity}」比同事慢 {ratio:.1f} 倍（{cases} 件）"
            )
        else:
            text = (
                f"{subject} handles {activity} {ratio:.1f}× slower than colleagues ({cases} cases)"
                if en
                else f"{subject} 办理「{activity}」比同事慢 {ratio:.1f} 倍（{cases} 件）"
            )
    elif en:
        owner = "Your" if subject is None else f"{subject}'s"
        text = (
            f"{owner} {_METRIC_EN.get(metric, metric)} on {activity} is {value:.0%}, "
            f"colleagues' median {peer_median:.0%} ({cases} cases)"
        )
    else:
        owner = "您" if subject is None else f"{subject} "
        text = (
            f"{owner}在「{activity}」的{_METRIC_ZH.get(metric, metric)}为 {value:.0%}，"
            f"同事中位 {peer_median:.0%}（{cases} 件）"
        )
    if course:
        text += f" → course {course}" if en else f" → 课程「{course}」"
    return text


def find_needs(
    profile: Profile,
    *,
    rules: Sequence[NeedRule] = NEED_RULES,
    courses: Mapping[tuple[str, str], str] | None = None,
) -> list[Need]:
    """Needs, worst first. ``courses`` maps (activity, metric) to a course title to name."""
    by_metric = {r.metric: r for r in rules}
    out: list[Need] = []
    for s in profile.scores:
        rule = by_metric.get(s.metric)
        if rule is None or s.status != "scored" or s.score is None or s.score < rule.min_score:
            continue
        if s.value is None or s.peer_median is None:
            continue
        if rule.min_ratio is not None and (
            s.peer_median <= 0 or s.value / s.peer_median < rule.min_ratio
        ):
            continue
        if rule.min_gap is not None and s.value - s.peer_median < rule.min_gap:
            continue
        course = (courses or {}).get((s.activity, s.metric)) or (courses or {}).get(
            (s.activity, "*")
        )
        zh, en = _messages(s, course)
        skill = rule.skill_en
        out.append(
            Need(
                s.resource,
                s.activity,
                s.metric,
                s.value,
                s.peer_median,
                s.score,
                s.cases,
                skill,
                zh,
                en,
                course,
            )
        )
    return sorted(out, key=lambda n: -n.score)


def unjudged(profile: Profile) -> list[MetricScore]:
    """Pairs the profile refused to judge (too few cases, no peers), one row per pair."""
    seen: set[tuple[str, str]] = set()
    out: list[MetricScore] = []
    for s in profile.scores:
        if s.status in ("too_few_cases", "no_peers") and (s.resource, s.activity) not in seen:
            seen.add((s.resource, s.activity))
            out.append(s)
    return out
