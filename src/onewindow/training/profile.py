"""Skill profiles (技能画像) from any event log: per member of staff and activity, how much,
how fast, how often redone or late, how often rated badly — each set against their peers.

Pure functions over polars frames with XES column names, so the same rules run on the
platform's own log, an imported CSV/XES file, or a hand-made test log.

Handling time is the span from an activity's ``start`` event to its ``complete`` event in the
same case, counted in the minutes that are work (``kit.worktime``): in an office only
09:00–17:00 on the working days of the calendar (``kit.calendar.default_calendar()`` unless
one is given), so a task taken at 16:30 and finished at 09:30 the next working day took an
hour, not seventeen; in a log that works round the clock (a hotline, a police desk) every
elapsed minute. Unless told which (``hours``), the profile reads it from the log: office
hours when at least three quarters of the staff's events fall in office time, elapsed
minutes otherwise — and says which it used and why (``Profile.hours``). A log
without start events falls back to the ``start_timestamp`` column, and failing that to the
time since the case's previous event (waiting included; the profile says which source it
used). Peers are judged with a robust z-score: the distance from the median
of the *other* members of staff doing that activity, in units of their scaled MAD, so one
slow person does not drag the yardstick they are measured by.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

import polars as pl

from onewindow.kit import worktime
from onewindow.kit.calendar import WorkingCalendar
from onewindow.kit.worktime import WorkingHours, working_minutes
from onewindow.mining.frame import (
    ACTIVITY,
    CASE_ID,
    LIFECYCLE,
    RESOURCE,
    START_TIMESTAMP,
    TIMESTAMP,
    ordered,
)

__all__ = [
    "BAD_RATING_WORDS",
    "DEFAULT_MIN_CASES",
    "METRICS",
    "Completion",
    "MetricScore",
    "Profile",
    "completions",
    "profile",
    "robust_z",
    "working_minutes",
]

DEFAULT_MIN_CASES: Final = 10
MIN_PEERS: Final = 2
MAD_SCALE: Final = 1.4826  # makes the MAD estimate sigma for normal data
# Resources that are not people: the engine, timers, the applicant's own steps.
NOT_STAFF: Final = frozenset({"", "system", "applicant", "申请人"})
SEND_BACK_DECISIONS: Final = frozenset({"send_back", "return", "returned", "退回", "补正"})
ESCALATION_ACTIVITIES: Final = frozenset({"超时督办"})
ESCALATION_EVENT_TYPES: Final = frozenset({"task_escalated"})
BAD_RATING_WORDS: Final = frozenset({"bad", "poor", "差评", "不满意", "非常不满意", "1", "2"})

Metric = Literal["handling_minutes", "rework_share", "breach_share", "bad_rating_share"]
METRICS: Final[tuple[Metric, ...]] = (
    "handling_minutes",
    "rework_share",
    "breach_share",
    "bad_rating_share",
)
DurationSource = Literal["start_complete", "start_timestamp", "previous_event", "none"]


@dataclass(frozen=True)
class Completion:
    """One completed piece of work: who, what, which case, and what came of it.

    ``minutes`` is the handling time in working minutes; ``began`` when the work was taken
    up (``None`` when the log does not say).
    """

    resource: str
    activity: str
    case: str
    at: datetime
    minutes: float | None
    reworked: bool
    breached: bool
    bad_rating: bool | None
    began: datetime | None = None


@dataclass
class MetricScore:
    """One metric of one (resource, activity) against the peers doing the same activity.

    ``status`` is ``scored``, ``too_few_cases`` (the person has fewer than the minimum:
    no verdict) or ``no_peers`` (fewer than two others with enough cases: no yardstick).
    """

    resource: str
    activity: str
    metric: Metric
    value: float | None
    peer_median: float | None
    score: float | None
    cases: int
    peers: int
    status: Literal["scored", "too_few_cases", "no_peers", "no_data"]

    @property
    def ratio(self) -> float | None:
        if self.value is None or not self.peer_median:
            return None
        return self.value / self.peer_median

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ratio": self.ratio}


@dataclass
class Profile:
    """Every scored metric, and what the profile could and could not see in the log."""

    scores: list[MetricScore]
    min_cases: int
    duration_source: DurationSource
    has_ratings: bool
    has_deadlines: bool
    notes: list[str] = field(default_factory=list)
    # Which minutes handling time counted and why (kit.worktime.describe_choice).
    hours: dict[str, Any] = field(default_factory=dict)

    def for_resource(self, resource: str) -> list[MetricScore]:
        return [s for s in self.scores if s.resource == resource]


# --------------------------------------------------------------------------- statistics


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def _mad(values: Sequence[float]) -> float:
    mid = _median(values)
    return _median([abs(v - mid) for v in values])


def _scale_floor(metric: Metric, peer_median: float) -> float:
    """Smallest spread used when the peers agree exactly (MAD 0), so a score stays finite.

    Times: 10 % of the peers' median (at least a minute); shares: five percentage points.
    """
    if metric == "handling_minutes":
        return max(0.1 * abs(peer_median), 1.0)
    return 0.05


def robust_z(value: float, peers: Sequence[float], metric: Metric) -> tuple[float, float]:
    """(score, peer median): ``(value - median) / max(1.4826 * MAD, floor)`` of ``peers``."""
    mid = _median(peers)
    scale = max(MAD_SCALE * _mad(peers), _scale_floor(metric, mid))
    return (value - mid) / scale, mid


# --------------------------------------------------------------------------- completions


def _text(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String).fill_null("").str.strip_chars()


def _bad_rating(expr: pl.Expr) -> pl.Expr:
    text = _text(expr).str.to_lowercase()
    return text.is_in(list(BAD_RATING_WORDS))


def completions(
    log: pl.DataFrame | pl.LazyFrame,
    *,
    calendar: WorkingCalendar | None = None,
    hours: WorkingHours | None = None,
) -> tuple[list[Completion], Profile]:
    """Each completed activity by a person, with its handling time (the minutes ``hours``
    counts on ``calendar``, the shipped Chinese calendar by default; ``None``: office or
    elapsed minutes as the log's working pattern says) and outcomes.

    Returns the completions and an empty :class:`Profile` carrying what the log offered
    (duration source, ratings, deadlines).

    Raises:
        ValidationFailed: the log lacks a case id, activity or timestamp column.
    """
    frame = ordered(log).collect()
    names = set(frame.columns)
    if LIFECYCLE in names:
        frame = frame.with_columns(
            _text(pl.col(LIFECYCLE)).str.to_lowercase().replace("", "complete").alias("@lc")
        )
    else:
        frame = frame.with_columns(pl.lit("complete").alias("@lc"))
    if RESOURCE in names:
        frame = frame.with_columns(_text(pl.col(RESOURCE)).alias("@res"))
    else:
        frame = frame.with_columns(pl.lit("").alias("@res"))
    frame = frame.with_row_index("@i")
    notes: list[str] = []

    # Handling time: pair each complete with the start just before it (same case, activity).
    has_starts = bool((frame["@lc"] == "start").any())
    by_step = frame.sort([CASE_ID, ACTIVITY, TIMESTAMP, "@i"]).with_columns(
        pl.col("@lc").shift(1).over([CASE_ID, ACTIVITY]).alias("@prev_lc"),
        pl.col(TIMESTAMP).shift(1).over([CASE_ID, ACTIVITY]).alias("@prev_ts"),
        pl.col("@res").shift(1).over([CASE_ID, ACTIVITY]).alias("@prev_res"),
    )
    source: DurationSource
    began: pl.Expr
    if has_starts:
        source = "start_complete"
        began = pl.when(pl.col("@prev_lc") == "start").then(pl.col("@prev_ts"))
    elif START_TIMESTAMP in names and frame.schema[START_TIMESTAMP] != pl.Null:
        source = "start_timestamp"
        dtype = frame.schema[START_TIMESTAMP]
        began = (
            pl.col(START_TIMESTAMP).dt.convert_time_zone("UTC")
            if isinstance(dtype, pl.Datetime) and dtype.time_zone
            else pl.col(START_TIMESTAMP).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
        )
    else:
        source = "previous_event"
        notes.append(
            "no start events: handling time is the time since the case's previous event "
            "(waiting included)"
        )
        began = pl.col(TIMESTAMP).shift(1).over(CASE_ID)
    by_step = by_step.sort("@i").with_columns(began.alias("@began"))
    done = by_step.filter(pl.col("@lc") == "complete").with_columns(
        pl.when(pl.col("@res") != "")
        .then(pl.col("@res"))
        .otherwise(_text(pl.col("@prev_res")) if has_starts else pl.lit(""))
        .alias("@who"),
        # Redone: the same activity is completed again later in the case.
        (
            pl.col("@i").rank("ordinal").over([CASE_ID, ACTIVITY])
            < pl.len().over([CASE_ID, ACTIVITY])
        ).alias("@again"),
    )

    sent_back = pl.lit(False)
    if "decision" in names:
        sent_back = _text(pl.col("decision")).str.to_lowercase().is_in(list(SEND_BACK_DECISIONS))

    # Deadline breaches: an ``sla_due`` on the completion, or an escalation naming the task.
    has_deadlines = False
    breached = pl.lit(False)
    if "sla_due" in names:
        has_deadlines = True
        due = frame.schema["sla_due"]
        due_expr = (
            pl.col("sla_due").dt.convert_time_zone("UTC")
            if isinstance(due, pl.Datetime) and due.time_zone
            else pl.col("sla_due")
            .cast(pl.String)
            .str.to_datetime(time_zone="UTC", strict=False)
            .cast(pl.Datetime("us", "UTC"))
        )
        breached = (pl.col(TIMESTAMP) > due_expr).fill_null(False)
    escalated: set[tuple[str, str]] = set()
    esc_filter = pl.col(ACTIVITY).is_in(list(ESCALATION_ACTIVITIES))
    if "event_type" in names:
        esc_filter = esc_filter | _text(pl.col("event_type")).is_in(list(ESCALATION_EVENT_TYPES))
    if "task" in names:
        esc = frame.filter(esc_filter).select(CASE_ID, _text(pl.col("task")).alias("task"))
        escalated = {(c, t) for c, t in esc.iter_rows() if t}
        has_deadlines = has_deadlines or bool(escalated)

    bad_cases: set[str] = set()
    rating_cols = [c for c in ("rating", "case:rating") if c in names]
    for col in rating_cols:
        bad_cases |= set(frame.filter(_bad_rating(pl.col(col)))[CASE_ID].to_list())
    has_ratings = bool(rating_cols)

    staff = frame.filter(
        (pl.col("@res") != "") & ~pl.col("@res").str.to_lowercase().is_in(list(NOT_STAFF))
    )
    pattern = worktime.work_pattern((staff if staff.height else frame)[TIMESTAMP], calendar)
    if hours is None:
        hours, reason = worktime.choose_hours(pattern)
        chosen_by = "detected"
    else:
        reason, chosen_by = f"given: {hours.name}", "given"
    done = done.with_columns(
        sent_back.alias("@sent_back"),
        breached.alias("@late"),
        working_minutes(done, "@began", TIMESTAMP, calendar, hours),
    )
    out: list[Completion] = []
    for row in done.select(
        "@who",
        ACTIVITY,
        CASE_ID,
        TIMESTAMP,
        "@minutes",
        "@again",
        "@sent_back",
        "@late",
        "@began",
    ).iter_rows():
        who, activity, case, at, minutes, again, back, late, began_at = row
        if who.lower() in NOT_STAFF or activity in ESCALATION_ACTIVITIES:
            continue
        good_minutes = minutes if minutes is not None and minutes >= 0 else None
        out.append(
            Completion(
                resource=who,
                activity=activity,
                case=case,
                at=at,
                minutes=good_minutes,
                reworked=bool(again or back),
                breached=bool(late or (case, activity) in escalated),
                bad_rating=(case in bad_cases) if has_ratings else None,
                began=began_at,
            )
        )
    choice = worktime.describe_choice(hours, chosen_by, reason, pattern)
    empty = Profile([], 0, source, has_ratings, has_deadlines, notes, hours=choice)
    return out, empty


# --------------------------------------------------------------------------- profile


def _metric_values(rows: Sequence[Completion]) -> dict[Metric, float | None]:
    minutes = [r.minutes for r in rows if r.minutes is not None]
    rated = [r.bad_rating for r in rows if r.bad_rating is not None]
    n = len(rows)
    return {
        "handling_minutes": _median(minutes) if minutes else None,
        "rework_share": sum(r.reworked for r in rows) / n if n else None,
        "breach_share": sum(r.breached for r in rows) / n if n else None,
        "bad_rating_share": sum(rated) / len(rated) if rated else None,
    }


def profile(
    log: pl.DataFrame | pl.LazyFrame,
    *,
    min_cases: int = DEFAULT_MIN_CASES,
    calendar: WorkingCalendar | None = None,
    hours: WorkingHours | None = None,
) -> Profile:
    """Score every (resource, activity, metric) against the activity's other staff.

    A pair with fewer than ``min_cases`` distinct cases is reported ``too_few_cases`` and
    never scored; it is not used as a peer either.

    Raises:
        ValidationFailed: the log lacks a case id, activity or timestamp column.
    """
    if min_cases < 1:
        min_cases = 1
    rows, result = completions(log, calendar=calendar, hours=hours)
    result.min_cases = min_cases
    groups: dict[tuple[str, str], list[Completion]] = {}
    for r in rows:
        groups.setdefault((r.activity, r.resource), []).append(r)
    cases = {key: len({r.case for r in grp}) for key, grp in groups.items()}
    values = {key: _metric_values(grp) for key, grp in groups.items()}
    metrics: list[Metric] = ["handling_minutes", "rework_share"]
    if result.has_deadlines:
        metrics.append("breach_share")
    if result.has_ratings:
        metrics.append("bad_rating_share")
    for (activity, resource), n in sorted(cases.items()):
        for metric in metrics:
            value = values[(activity, resource)][metric]
            eligible = [
                v[metric]
                for (act, res), v in values.items()
                if act == activity
                and res != resource
                and cases[(act, res)] >= min_cases
                and v[metric] is not None
            ]
            peers = [float(x) for x in eligible if x is not None]
            base = MetricScore(
                resource, activity, metric, value, None, None, n, len(peers), "no_data"
            )
            if value is None:
                result.scores.append(base)
                continue
            if peers:
                base.peer_median = _median(peers)
            if n < min_cases:
                base.status = "too_few_cases"
            elif len(peers) < MIN_PEERS:
                base.status = "no_peers"
            else:
                score, _ = robust_z(value, peers, metric)
                base.score = round(score, 3) if math.isfinite(score) else None
                base.status = "scored"
            result.scores.append(base)
    return result
