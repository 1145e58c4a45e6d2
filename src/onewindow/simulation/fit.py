"""Fit simulation parameters from an event log (ours or an imported one).

- **Arrivals**: a Poisson rate per weekday and hour (arrivals in that hour / days of that
  weekday in the observed period).
- **Durations**: per task, from ``start``/``complete`` pairs (the k-th start of a task in a
  case with its k-th complete), in working minutes for lanes on office hours. Candidates
  exponential, gamma, lognormal and normal are fitted by maximum likelihood; those the
  Kolmogorov–Smirnov test does not reject at α = 0.05 compete on AIC, the lowest wins.
  When every candidate is rejected the empirical distribution (101 quantiles) is kept.
  Tasks with no ``start`` events (applicant tasks, complete-only logs) are measured from
  the case's previous event, so their time includes waiting.
- **Branches**: after each task that leads into a gateway, the next task the case opened
  (its start, or the platform's send-back notice for an applicant task) that one of the
  gateway's flows leads to decides the flow taken (no such task: the flow that ends the
  case); probabilities are the shares. A case's first pass through a gateway and its
  later passes are counted apart (``gateways`` and ``gateways_on_repeat``) when the log
  has at least ``MIN_REPEAT_PASSES`` later passes: an application resubmitted after a
  send-back (补正) is almost always complete, so one pooled probability would spread the
  returns over too many cases' repeat passes and too few cases' first one — fewer cases
  sent back, each sent back more often.
- **Resources and calendar**: per lane, the mean number of distinct ``org:resource`` seen
  per working day (rounded up); office hours when ≥ 95 % of staff events fall on working
  days 09:00–17:00, otherwise always.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Final

import numpy as np
import polars as pl
from scipy import stats

from onewindow.kit.calendar import WorkingCalendar, default_calendar
from onewindow.kit.errors import ValidationFailed
from onewindow.simulation.model import ProcessModel
from onewindow.simulation.params import (
    ArrivalSpec,
    Distribution,
    ResourceSpec,
    SimParams,
    _is_applicant_lane,
)

__all__ = ["ALPHA", "DistributionFit", "FitResult", "fit_distribution", "fit_params", "map_tasks"]

ALPHA: Final = 0.05  # KS significance level for "fits"
_MAX_FIT_SAMPLE: Final = 5000
_QUANTILES: Final = 101
_OFFICE_SHARE: Final = 0.95
_UNMATCHED_SHARE: Final = 0.2
# Later passes through a gateway needed before they get probabilities of their own.
MIN_REPEAT_PASSES: Final = 5
_CASE, _ACT, _TS, _LIFE, _RES = (
    "case:concept:name",
    "concept:name",
    "time:timestamp",
    "lifecycle:transition",
    "org:resource",
)
# Events the platform writes besides tasks (submitted, returned, decided, escalated).
PLATFORM_EVENTS: Final = frozenset(
    {"提交申请", "补正通知", "办结", "不予受理", "超时督办", "立案", "流程结束"}
)


def invalid_log(message: str, message_zh: str, **details: Any) -> ValidationFailed:
    return ValidationFailed(
        message, message_zh=message_zh, code="simulation.log_mismatch", details=details or None
    )


# --------------------------------------------------------------------------- distributions


@dataclass
class DistributionFit:
    """The chosen distribution and how every candidate scored."""

    activity: str
    n: int
    chosen: Distribution
    reason: str
    candidates: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "activity": self.activity,
            "n": self.n,
            "chosen": self.chosen.to_spec() if self.chosen.kind != "empirical" else "empirical",
            "mean_minutes": round(self.chosen.mean, 3),
            "reason": self.reason,
            "candidates": self.candidates,
        }


def _as_distribution(name: str, params: tuple[float, ...]) -> Distribution:
    if name == "exponential":
        return Distribution("exponential", mean=params[-1])
    if name == "gamma":
        a, _, scale = params
        return Distribution("gamma", mean=a * scale, sd=math.sqrt(a) * scale)
    if name == "lognormal":
        s, _, scale = params
        mean = scale * math.exp(s * s / 2)
        return Distribution("lognormal", mean=mean, sd=mean * math.sqrt(math.expm1(s * s)))
    loc, scale = params
    return Distribution("normal", mean=loc, sd=scale)


_CANDIDATES: Final[tuple[tuple[str, Any, dict[str, float]], ...]] = (
    ("exponential", stats.expon, {"floc": 0}),
    ("gamma", stats.gamma, {"floc": 0}),
    ("lognormal", stats.lognorm, {"floc": 0}),
    ("normal", stats.norm, {}),
)


def fit_distribution(
    values: Sequence[float] | np.ndarray, activity: str = "activity", *, seed: int = 0
) -> DistributionFit:
    """Choose a duration distribution (minutes) for one activity; see the module docstring.

    Raises:
        ValidationFailed (``simulation.fit_failed``): no observations, or values that are
            negative or not finite — the activity is named.
    """
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        raise ValidationFailed(
            f"cannot fit a duration distribution for {activity}: the log has no durations for it",
            message_zh=f"无法为 {activity} 拟合时长分布：日志中没有它的时长",
            code="simulation.fit_failed",
            details={"activity": activity},
        )
    if not np.isfinite(data).all() or (data < 0).any():
        bad = int((~np.isfinite(data) | (data < 0)).sum())
        raise ValidationFailed(
            f"cannot fit a duration distribution for {activity}: {bad} durations are negative "
            "or not numbers (complete before start? check the log's clocks)",
            message_zh=(
                f"无法为 {activity} 拟合时长分布：{bad} 个时长为负数或非数值（完成早于开始？）"
            ),
            code="simulation.fit_failed",
            details={"activity": activity, "bad": bad},
        )
    n = int(data.size)
    mean = float(data.mean())
    if n < 5 or float(data.std()) <= 1e-9 * max(mean, 1.0):
        return DistributionFit(
            activity, n, Distribution("fixed", mean=mean), f"{n} observation(s) or no spread: fixed"
        )
    sample = data
    if n > _MAX_FIT_SAMPLE:
        sample = np.random.default_rng(seed).choice(data, _MAX_FIT_SAMPLE, replace=False)
    positive = sample[sample > 0]
    candidates: list[dict[str, Any]] = []
    best: tuple[float, str, tuple[float, ...]] | None = None
    for name, family, fixed in _CANDIDATES:
        fit_on = positive if fixed else sample
        if fit_on.size < 5:
            continue
        try:
            params = tuple(float(p) for p in family.fit(fit_on, **fixed))
            loglik = float(np.sum(family.logpdf(sample, *params)))
            ks = stats.kstest(sample, family.cdf, args=params)
        except (ValueError, FloatingPointError, RuntimeError):  # a fit that does not converge
            continue
        k = len(params) - len(fixed)
        aic = 2 * k - 2 * loglik if math.isfinite(loglik) else math.inf
        p_value = float(ks.pvalue)
        candidates.append(
            {
                "distribution": name,
                "aic": round(aic, 2) if math.isfinite(aic) else None,
                "ks_statistic": round(float(ks.statistic), 4),
                "ks_p": round(p_value, 4),
                "fits": p_value >= ALPHA,
            }
        )
        if p_value >= ALPHA and math.isfinite(aic) and (best is None or aic < best[0]):
            best = (aic, name, params)
    if best is not None:
        chosen = _as_distribution(best[1], best[2])
        reason = f"lowest AIC among candidates the KS test does not reject (α={ALPHA})"
    else:
        qs = np.quantile(data, np.linspace(0, 1, _QUANTILES))
        chosen = Distribution("empirical", mean=mean, values=tuple(float(q) for q in qs))
        reason = f"every candidate rejected by KS at α={ALPHA}: empirical quantiles kept"
    return DistributionFit(activity, n, chosen, reason, candidates)


# --------------------------------------------------------------------------- the log


@dataclass
class FitResult:
    params: SimParams
    fits: dict[str, DistributionFit]
    branches: dict[str, dict[str, Any]]
    resources: dict[str, dict[str, Any]]
    warnings: list[str]
    cases: int
    events: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "events": self.events,
            "activities": {k: v.as_dict() for k, v in self.fits.items()},
            "branches": self.branches,
            "resources": self.resources,
            "calendar": self.params.calendar,
            "arrivals_per_hour_mean": round(self.params.arrivals.mean_per_hour, 4),
            "warnings": self.warnings,
        }


def _utc(frame: pl.DataFrame) -> pl.DataFrame:
    dtype = frame.schema[_TS]
    if dtype == pl.String:
        stamp = pl.col(_TS).str.to_datetime(time_zone="UTC", time_unit="us")
    elif isinstance(dtype, pl.Datetime):
        stamp = (
            pl.col(_TS).dt.replace_time_zone("UTC")
            if dtype.time_zone is None
            else pl.col(_TS).dt.convert_time_zone("UTC")
        )
    else:
        raise invalid_log(f"{_TS} is not a timestamp column", f"{_TS} 不是时间列")
    return frame.with_columns(stamp.cast(pl.Datetime("us", "UTC")).alias(_TS))


def map_tasks(
    log: pl.DataFrame, model: ProcessModel, names: Iterable[str] = ()
) -> tuple[pl.DataFrame, list[str]]:
    """Add a ``@task`` column (the model's task id of each event, or null).

    Matching is by the ``activity_id`` column when present, else by task name or id.
    Platform events (``PLATFORM_EVENTS`` and ``names``: arrival, send-back notice, end)
    are never tasks, even when they carry a task's ``activity_id``: the platform writes
    its ``补正通知`` with the id of the applicant task it opens, and counting that notice as
    the task's completion doubles the returns and halves the applicant's response time.

    Raises:
        ValidationFailed (``simulation.log_mismatch``): no event matches a task, or the log
            has activities the model lacks while model tasks never occur — both listed.
    """
    for column in (_CASE, _ACT, _TS):
        if column not in log.columns:
            raise invalid_log(
                f"the log has no column {column}; map your columns to XES keys",
                f"日志缺少列 {column}，请将列映射为 XES 键",
                missing=[column],
            )
    ids = {t.id for t in model.tasks}
    by_name = {t.name: t.id for t in model.tasks if t.name}
    by_name.update({t.id: t.id for t in model.tasks})
    special = PLATFORM_EVENTS | set(names)
    mapped = pl.col(_ACT).cast(pl.String).replace_strict(by_name, default=None)
    if "activity_id" in log.columns:
        task_id = pl.col("activity_id").cast(pl.String)
        by_id = pl.when(task_id.is_in(list(ids)) & ~pl.col(_ACT).is_in(list(special))).then(task_id)
        mapped = pl.coalesce(by_id, mapped)
    out = log.with_columns(mapped.alias("@task"))
    unmatched = (
        out.filter(pl.col("@task").is_null() & ~pl.col(_ACT).is_in(list(special)))
        .group_by(_ACT)
        .len()
        .sort("len", descending=True)
    )
    seen = set(out["@task"].drop_nulls().unique().to_list())
    unseen = sorted(t.id for t in model.tasks if t.id not in seen and not t.automated)
    task_events = out.height - int(out.filter(pl.col(_ACT).is_in(list(special))).height)
    unmatched_events = int(unmatched["len"].sum()) if unmatched.height else 0
    strange = [str(a) for a in unmatched[_ACT].to_list()]
    if not seen or (
        strange and (unseen or unmatched_events > _UNMATCHED_SHARE * max(task_events, 1))
    ):
        raise invalid_log(
            "the log does not match the model's activities: in the log but not the model: "
            f"{', '.join(strange[:20]) or '-'}; model tasks never in the log: "
            f"{', '.join(unseen) or '-'}",
            "日志与模型的活动不匹配：日志中有而模型中没有："
            f"{'、'.join(strange[:20]) or '-'}；"
            f"模型中从未出现在日志里的任务：{'、'.join(unseen) or '-'}",
            in_log_only=strange,
            in_model_only=unseen,
        )
    warnings = []
    if strange:
        warnings.append(
            f"ignored {unmatched_events} events of activities not in the model: "
            + ", ".join(strange[:10])
        )
    if unseen:
        warnings.append("model tasks never in the log: " + ", ".join(unseen))
    return out, warnings


def working_minutes(
    stamps: pl.Series, calendar: WorkingCalendar, hours: tuple[time, time]
) -> pl.Series:
    """Working minutes since an origin for each UTC instant (office hours on working days)."""
    local = stamps.dt.convert_time_zone(calendar.tz)
    days = local.dt.date()
    origin = days.min()
    if not isinstance(origin, date):
        return pl.Series([], dtype=pl.Float64)
    origin = origin - timedelta(days=1)
    length = (hours[1].hour * 60 + hours[1].minute) - (hours[0].hour * 60 + hours[0].minute)
    opens = hours[0].hour * 60 + hours[0].minute
    unique = days.unique().to_list()
    index = {d: calendar.workdays_between(origin, d) for d in unique}
    workday = {d: calendar.is_workday(d) for d in unique}
    frame = pl.DataFrame(
        {
            "d": days,
            "m": local.dt.hour().cast(pl.Float64) * 60
            + local.dt.minute().cast(pl.Float64)
            + local.dt.second().cast(pl.Float64) / 60
            + local.dt.microsecond().cast(pl.Float64) / 60e6,
        }
    )
    lookup = pl.DataFrame(
        {"d": list(index), "idx": [index[d] for d in index], "work": [workday[d] for d in index]}
    )
    joined = frame.join(lookup, on="d", how="left", maintain_order="left")
    value = (
        pl.when(pl.col("work"))
        .then((pl.col("idx") - 1) * length + (pl.col("m") - opens).clip(0, length))
        .otherwise(pl.col("idx") * length)
    )
    return joined.select(value.cast(pl.Float64)).to_series()


def fit_params(
    log: pl.DataFrame,
    model: ProcessModel,
    *,
    calendar: WorkingCalendar | None = None,
    applicant_lanes: Sequence[str] = (),
    in_person: Sequence[str] = (),
    seed: int = 0,
) -> FitResult:
    """Fit a parameters set for ``model`` from ``log`` (XES column names).

    Raises:
        ValidationFailed: the log lacks columns or does not match the model's tasks
            (``simulation.log_mismatch``), or a task's durations cannot be fitted
            (``simulation.fit_failed``) — each named.
    """
    cal = calendar or default_calendar()
    base = SimParams(arrivals=ArrivalSpec(interarrival=Distribution("exponential", mean=1.0)))
    frame = _utc(log)
    if frame.height == 0:
        raise invalid_log("the log is empty", "日志为空")
    if "@pos" not in frame.columns:
        frame = frame.with_row_index("@pos")
    frame = frame.with_columns(pl.col(_CASE).cast(pl.String), pl.col(_ACT).cast(pl.String))
    frame = frame.sort([_CASE, _TS, "@pos"])
    frame, warnings = map_tasks(frame, model, base.names.values())
    if _LIFE not in frame.columns:
        frame = frame.with_columns(pl.lit("complete").alias(_LIFE))
    frame = frame.with_columns(
        pl.col(_LIFE).cast(pl.String).str.to_lowercase().fill_null("complete").alias(_LIFE)
    )

    lane_of = {t.id: t.lane for t in model.tasks}
    applicant = {
        lane.id
        for lane in model.lanes.values()
        if _is_applicant_lane(lane.id, lane.name, list(applicant_lanes))
    }
    staff_tasks = [t.id for t in model.tasks if t.lane not in applicant and not t.automated]
    applicant_tasks = [t.id for t in model.tasks if t.lane in applicant]

    # calendar: do staff work on office hours?
    staff_events = frame.filter(pl.col("@task").is_in(staff_tasks))
    params = SimParams(arrivals=base.arrivals)
    if staff_events.height:
        local = staff_events[_TS].dt.convert_time_zone(cal.tz)
        minutes = local.dt.hour().cast(pl.Int32) * 60 + local.dt.minute().cast(pl.Int32)
        days = local.dt.date()
        workdays = {d: cal.is_workday(d) for d in days.unique().to_list()}
        on_day = days.replace_strict(workdays, return_dtype=pl.Boolean)
        inside = (on_day & (minutes >= 9 * 60) & (minutes <= 17 * 60)).mean()
        share = float(inside) if isinstance(inside, float | int) else 0.0
        params.calendar = "working_days" if share >= _OFFICE_SHARE else "always"
    else:
        params.calendar = "always"

    # arrivals
    first = frame.group_by(_CASE).agg(pl.col(_TS).min().alias("t")).sort("t")
    cases = first.height
    local_first = first["t"].dt.convert_time_zone(cal.tz)
    params.arrivals = _arrival_rates(local_first, cal, params.calendar == "working_days", warnings)
    start_day = local_first.min()
    if isinstance(start_day, datetime):
        params.start = datetime.combine(start_day.date(), time(0, 0), tzinfo=cal.zone)

    # durations
    if params.calendar == "working_days":
        frame = frame.with_columns(working_minutes(frame[_TS], cal, params.hours).alias("@work"))
    else:
        frame = frame.with_columns(
            ((pl.col(_TS) - pl.col(_TS).min()).dt.total_microseconds() / 60e6).alias("@work")
        )
    frame = frame.with_columns(
        ((pl.col(_TS) - pl.col(_TS).min()).dt.total_microseconds() / 60e6).alias("@wall"),
    )
    frame = frame.with_columns(
        pl.col("@wall").shift(1).over(_CASE).alias("@prev_wall"),
    )
    tasks_ev = frame.filter(pl.col("@task").is_not_null())
    starts = tasks_ev.filter(pl.col(_LIFE) == "start").with_columns(
        pl.col("@work").cum_count().over([_CASE, "@task"]).alias("@k")
    )
    completes = tasks_ev.filter(pl.col(_LIFE) == "complete").with_columns(
        pl.col("@work").cum_count().over([_CASE, "@task"]).alias("@k")
    )
    paired = completes.join(
        starts.select(
            _CASE,
            "@task",
            "@k",
            pl.col("@work").alias("@start_work"),
            pl.col("@wall").alias("@start_wall"),
        ),
        on=[_CASE, "@task", "@k"],
        how="left",
    )
    fits: dict[str, DistributionFit] = {}
    by_task = paired.partition_by("@task", as_dict=True)
    cant: list[str] = []
    for task in model.tasks:
        part = by_task.get((task.id,))
        if part is None or part.height == 0:
            continue
        is_applicant = task.lane in applicant
        with_start = part.filter(pl.col("@start_work").is_not_null())
        if with_start.height and not is_applicant:
            values = (with_start["@work"] - with_start["@start_work"]).to_numpy()
        else:
            if not is_applicant:
                warnings.append(
                    f"{task.id}: no start events, duration measured from the previous event "
                    "(includes waiting)"
                )
            column = "@wall" if is_applicant or params.calendar == "always" else "@work"
            prev = part["@prev_wall"] if column == "@wall" else None
            if prev is None:
                values = (part["@work"] - part["@work"].shift(1)).to_numpy()
            else:
                values = (part["@wall"] - prev).drop_nulls().to_numpy()
        values = values[~np.isnan(values)] if values.size else values
        try:
            fits[task.id] = fit_distribution(values, f"{task.id} ({task.label})", seed=seed)
        except ValidationFailed as exc:
            cant.append(exc.message)
    if cant:
        raise ValidationFailed(
            "; ".join(cant),
            message_zh="；".join(cant),
            code="simulation.fit_failed",
        )
    params.activities = {k: v.chosen for k, v in fits.items()}
    response_values = [fits[t].chosen for t in applicant_tasks if t in fits]
    if response_values:
        params.applicant_lanes = sorted(applicant)
        params.applicant_response = response_values[0]

    # branches
    traces = _opening_traces(frame, model, base.names["returned"])
    branches = _branch_probabilities(model, traces, warnings)
    params.gateways = {f: p for table in branches.values() for f, p in table["flows"].items()}
    params.gateways_on_repeat = {
        f: p for table in branches.values() for f, p in (table["repeat_flows"] or {}).items()
    }

    # resources
    resources: dict[str, dict[str, Any]] = {}
    for lane in model.lanes.values():
        if lane.id in applicant:
            continue
        lane_tasks = [t for t, ln in lane_of.items() if ln == lane.id]
        if not lane_tasks:
            continue
        events = tasks_ev.filter(pl.col("@task").is_in(lane_tasks))
        count, how = _staff_count(events, cal)
        resources[lane.id] = {"label": lane.label, "count": count, "estimated_by": how}
        params.resources[lane.id] = ResourceSpec(count)
    params.in_person = [t for t in in_person if t in {x.id for x in model.tasks}]
    return FitResult(params, fits, branches, resources, warnings, cases, frame.height)


def _arrival_rates(
    local_first: pl.Series, cal: WorkingCalendar, working: bool, warnings: list[str]
) -> ArrivalSpec:
    stamps: list[datetime] = local_first.to_list()
    first_day, last_day = stamps[0].date(), stamps[-1].date()
    days_of: Counter[int] = Counter()
    day = first_day
    while day <= last_day:
        if not working or cal.is_workday(day):
            days_of[day.weekday()] += 1
        day += timedelta(days=1)
    counts = [[0.0] * 24 for _ in range(7)]
    dropped = 0
    for stamp in stamps:
        if working and not cal.is_workday(stamp.date()):
            dropped += 1
            continue
        counts[stamp.weekday()][stamp.hour] += 1
    if dropped:
        warnings.append(f"{dropped} arrivals on non-working days left out of the arrival rates")
    rates = tuple(
        tuple(c / days_of[wd] if days_of[wd] else 0.0 for c in counts[wd]) for wd in range(7)
    )
    if not any(any(r) for r in rates):
        raise invalid_log("no arrivals to fit a rate from", "没有可用于拟合到达率的到达记录")
    return ArrivalSpec(rates=rates)


def _opening_traces(frame: pl.DataFrame, model: ProcessModel, returned: str) -> list[list[str]]:
    """Each case's tasks in the order they were *opened*: a task's start event, or for an
    applicant task the platform's send-back notice naming it (``activity_id``), else its
    completion.

    The branch a case took is known when the next task opens. Read from completions, a
    case still waiting for the applicant at the log's end has not taken the send-back
    branch yet, and with a response of days every late return goes missing: on the demo
    loop's log the window's send-back share came out 0.25 where the city sent back 0.34.
    """
    ids = [t.id for t in model.tasks]
    notice = pl.col(_ACT) == returned
    if "activity_id" in frame.columns:
        by_notice = pl.when(notice & pl.col("activity_id").cast(pl.String).is_in(ids)).then(
            pl.col("activity_id").cast(pl.String)
        )
        events = frame.with_columns(pl.coalesce(pl.col("@task"), by_notice).alias("@open"))
    else:
        events = frame.with_columns(pl.col("@task").alias("@open"))
    started = events.filter(pl.col(_LIFE) == "start")["@task"].drop_nulls().unique().to_list()
    noticed = events.filter(notice)["@open"].drop_nulls().unique().to_list()
    opening = (
        ((pl.col(_LIFE) == "start") & pl.col("@task").is_in(started))
        | (notice & pl.col("@open").is_in(noticed))
        | (
            (pl.col(_LIFE) == "complete")
            & pl.col("@task").is_not_null()
            & ~pl.col("@task").is_in(started + noticed)
        )
    )
    grouped = events.filter(opening).group_by(_CASE, maintain_order=True).agg(pl.col("@open"))
    return [list(t) for t in grouped["@open"].to_list()]


def _branch_probabilities(
    model: ProcessModel, traces: list[list[str]], warnings: list[str]
) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for node in model.nodes.values():
        if node.kind not in ("xor", "or") or len(node.outgoing) < 2:
            continue
        preds = model.tasks_before(node.id)
        firsts = {f: model.first_tasks(f) for f in node.outgoing}
        union = set().union(*firsts.values())
        # index 0: a case's first pass through the gateway, 1: its later passes
        counts: tuple[dict[str, float], dict[str, float]] = (defaultdict(float), defaultdict(float))
        passes = [0, 0]
        for trace in traces:
            positions = [i for i, t in enumerate(trace) if t in preds] if preds else [-1]
            seen = 0
            for i in positions:
                nxt = "@end"
                for t in trace[i + 1 :]:
                    if t in union:
                        nxt = t
                        break
                    if t in preds:
                        break
                hits = [f for f, tasks in firsts.items() if nxt in tasks]
                if not hits:
                    continue
                which = min(seen, 1)
                seen += 1
                passes[which] += 1
                for f in hits:
                    counts[which][f] += 1.0 / len(hits)
        total = passes[0] + passes[1]
        if total == 0:
            warnings.append(f"gateway {node.id}: never passed in the log, branches left unset")
            continue
        repeat: dict[str, float] | None = None
        if passes[1] >= MIN_REPEAT_PASSES:
            flows = {f: counts[0].get(f, 0.0) / passes[0] for f in node.outgoing}
            repeat = {f: counts[1].get(f, 0.0) / passes[1] for f in node.outgoing}
        else:
            pooled = {f: counts[0].get(f, 0.0) + counts[1].get(f, 0.0) for f in node.outgoing}
            flows = {f: n / total for f, n in pooled.items()}
        out[node.id] = {
            "passes": total,
            "flows": flows,
            "repeat_passes": passes[1],
            "repeat_flows": repeat,
        }
    return out


def _staff_count(events: pl.DataFrame, cal: WorkingCalendar) -> tuple[int, str]:
    if _RES in events.columns:
        named = events.filter(pl.col(_RES).is_not_null() & (pl.col(_RES).cast(pl.String) != ""))
        if named.height:
            per_day = (
                named.with_columns(pl.col(_TS).dt.convert_time_zone(cal.tz).dt.date().alias("@d"))
                .group_by("@d")
                .agg(pl.col(_RES).n_unique().alias("n"))
            )
            mean = float(per_day["n"].mean() or 1.0)  # type: ignore[arg-type]
            return max(1, math.ceil(mean - 1e-9)), "mean distinct resources per working day"
    starts = events.filter(pl.col(_LIFE) == "start").height
    if not starts:
        return 1, "no resources or start events in the log: 1 assumed"
    # Peak overlap of service intervals.
    moments = sorted(
        [(t, 1) for t in events.filter(pl.col(_LIFE) == "start")[_TS].to_list()]
        + [(t, -1) for t in events.filter(pl.col(_LIFE) == "complete")[_TS].to_list()]
    )
    level = peak = 0
    for _, step in moments:
        level += step
        peak = max(peak, level)
    return max(1, peak), "peak number of tasks in service at once"
