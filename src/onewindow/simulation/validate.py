"""Is the fitted baseline good enough to trust? Simulate it and compare with the real log.

The same KPI function reads the real log and every simulated one: cycle time (median and
p90 of completed cases), mean waiting before each task (from the case's previous completed
event to the task's start), returns (补正) and trips per case. Each KPI's error is checked
against a stated tolerance; the report says plainly which ones fail.

Tolerances: cycle-time median and p90 within 20 % (relative); waiting per task within 30 %
or 0.5 h; returns per case within 0.05 and trips per case within 0.1 (absolute).

Times of a process on office hours are *working* hours (nights, weekends and holidays do
not count): on the wall clock its cycle times bunch into "today", "tomorrow", "the day
after", and a median between two bunches jumps a whole day when a few cases finish a
little later; one Friday backlog adds a weekend to every wait behind it.

The log is one period of the real process, and a period's KPIs stray from the process's
long-run values by chance — near capacity by a lot. A KPI outside its tolerance still
passes when the real value lies inside the 95 % prediction interval of one simulated
period (from at least ``MIN_NOISE_REPLICATIONS`` replications): the model then produces
such a period itself, and the log cannot tell it from the process. (Judged on tolerances
alone, the demo loop's own world parameters failed against six of seven four-week logs
they had generated.) A wrong model still fails: one fitted with the platform's send-back
notices counted as returns (0.93 real vs 0.46 simulated) misses both.

The simulated cases arrive when the log's cases arrived (a trace-driven comparison, the
textbook way to validate a model against one observed period): the log is one draw of
the arrival process, and queues near capacity turn a busy Monday into hours of waiting,
so drawing fresh arrivals from the fitted rates compares the model with a different
week, not with this one. ``arrivals="fitted"`` draws them from the parameters instead.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, time
from typing import Any, Final, Literal

import polars as pl
from scipy import stats

from onewindow.kit.calendar import WorkingCalendar, default_calendar
from onewindow.simulation.engine import estimate, simulate
from onewindow.simulation.fit import PLATFORM_EVENTS, _utc, map_tasks, working_minutes
from onewindow.simulation.model import ProcessModel
from onewindow.simulation.params import SimParams, bind

__all__ = ["KpiCheck", "ValidationReport", "log_kpis", "validate_baseline"]

CYCLE_TOLERANCE: Final = 0.20
WAIT_TOLERANCE: Final = 0.30
WAIT_ABSOLUTE_H: Final = 0.5
RETURNS_TOLERANCE: Final = 0.05
TRIPS_TOLERANCE: Final = 0.1
# Replications needed before a KPI may pass as "within one period's noise".
MIN_NOISE_REPLICATIONS: Final = 5
_CASE, _ACT, _TS, _LIFE = (
    "case:concept:name",
    "concept:name",
    "time:timestamp",
    "lifecycle:transition",
)


def log_kpis(
    log: pl.DataFrame,
    model: ProcessModel,
    *,
    in_person: Iterable[str] = (),
    applicant_tasks: Iterable[str] = (),
    end_activity: str = "办结",
    names: Iterable[str] = (),
    office: tuple[WorkingCalendar, tuple[time, time]] | None = None,
) -> dict[str, float]:
    """KPIs of an event log in hours and per case; see the module docstring.

    With ``office`` (a calendar and its opening hours) times are working hours: nights,
    weekends and holidays do not count. A case is complete when it has an
    ``end_activity`` event, or, in a log that has none at all, always. Raises
    ValidationFailed when the log does not match the model.
    """
    frame = _utc(log)
    if "@pos" not in frame.columns:
        frame = frame.with_row_index("@pos")
    frame = frame.with_columns(pl.col(_CASE).cast(pl.String), pl.col(_ACT).cast(pl.String))
    frame = frame.sort([_CASE, _TS, "@pos"])
    frame, _ = map_tasks(frame, model, PLATFORM_EVENTS | set(names))
    if office is None:
        clock = (pl.col(_TS) - pl.col(_TS).min()).dt.total_seconds() / 3600.0
        frame = frame.with_columns(clock.alias("@h"))
    else:
        worked = working_minutes(frame[_TS], office[0], office[1]) / 60.0
        frame = frame.with_columns(worked.alias("@h"))
    if _LIFE not in frame.columns:
        frame = frame.with_columns(pl.lit("complete").alias(_LIFE))
    life = pl.col(_LIFE).cast(pl.String).str.to_lowercase().fill_null("complete")
    frame = frame.with_columns(life.alias(_LIFE))
    has_end = bool((frame[_ACT] == end_activity).any())
    per_case = frame.group_by(_CASE).agg(
        pl.col("@h").min().alias("first"),
        (
            pl.col("@h").filter(pl.col(_ACT) == end_activity).min()
            if has_end
            else pl.col("@h").max()
        ).alias("end"),
    )
    cases = per_case.height
    done = per_case.filter(pl.col("end").is_not_null())
    hours = (done["end"] - done["first"]).sort()
    out: dict[str, float] = {
        "cases": float(cases),
        "completed": float(done.height),
        "cycle_median_h": float(hours.quantile(0.5, "linear") or math.nan)
        if len(hours)
        else math.nan,
        "cycle_p90_h": float(hours.quantile(0.9, "linear") or math.nan) if len(hours) else math.nan,
        "cycle_mean_h": float(hours.mean() or math.nan) if len(hours) else math.nan,  # type: ignore[arg-type]
    }
    completes = frame.filter(pl.col(_LIFE) == "complete")
    applicant = set(applicant_tasks)
    persons = set(in_person)
    out["returns_per_case"] = (
        completes.filter(pl.col("@task").is_in(list(applicant))).height / cases if cases else 0.0
    )
    out["trips_per_case"] = (
        completes.filter(pl.col("@task").is_in(list(persons))).height / cases if cases else 0.0
    )
    waits = (
        frame.with_columns(
            pl.when(pl.col(_LIFE) == "complete")
            .then(pl.col("@h"))
            .otherwise(None)
            .forward_fill()
            .shift(1)
            .over(_CASE)
            .alias("@enabled")
        )
        .filter((pl.col(_LIFE) == "start") & pl.col("@task").is_not_null())
        .group_by("@task")
        .agg((pl.col("@h") - pl.col("@enabled")).mean().alias("w"))
    )
    for task, wait in waits.iter_rows():
        out[f"wait_h:{task}"] = float(wait) if wait is not None else math.nan
    return out


@dataclass(frozen=True)
class KpiCheck:
    kpi: str
    real: float
    simulated: float
    ci_low: float
    ci_high: float
    error: float  # relative for times, absolute for counts
    tolerance: float
    relative: bool
    # Half-width of the 95 % prediction interval of one simulated period's value: how far
    # one period (the log is one) strays from the model's mean by chance alone.
    noise: float = math.nan

    @property
    def within_noise(self) -> bool:
        """The real value is one the model itself produces for a period like the log's."""
        return math.isfinite(self.noise) and abs(self.simulated - self.real) <= self.noise

    @property
    def ok(self) -> bool:
        if math.isnan(self.real) or math.isnan(self.simulated):
            return False
        if self.kpi.startswith("wait_h:") and abs(self.simulated - self.real) <= WAIT_ABSOLUTE_H:
            return True
        return abs(self.error) <= self.tolerance or self.within_noise

    def as_dict(self) -> dict[str, Any]:
        return {
            "kpi": self.kpi,
            "real": self.real,
            "simulated": self.simulated,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "error": self.error,
            "relative": self.relative,
            "tolerance": self.tolerance,
            "noise": self.noise if math.isfinite(self.noise) else None,
            "within_noise": self.within_noise,
            "ok": self.ok,
        }


@dataclass
class ValidationReport:
    """Each KPI real vs simulated with its error, and a plain verdict (验证报告)."""

    checks: list[KpiCheck]
    replications: int
    cases: int
    notes: list[str] = field(default_factory=list)
    unit: str = "hours"

    @property
    def failing(self) -> list[KpiCheck]:
        return [c for c in self.checks if not c.ok]

    @property
    def trustworthy(self) -> bool:
        return not self.failing

    def verdict(self) -> str:
        if self.trustworthy:
            return (
                "The model reproduces the real log, every KPI within its tolerance or within "
                "one period's chance variation: its predictions can be trusted. / "
                "模型复现了真实日志（各项指标在容差或单期随机波动之内），预测可信。"
            )
        names = ", ".join(c.kpi for c in self.failing)
        return (
            f"The model is NOT good enough to trust: {names} miss their tolerance. Check the "
            "fitted parameters (staff counts, calendar, branch probabilities) before using its "
            f"predictions. / 模型不足以信任：{names} 超出容差，请先检查拟合参数。"
        )

    def text(self) -> str:
        lines = [
            f"validation: {self.cases} cases x {self.replications} replications; times in "
            f"{self.unit}"
        ]
        for c in self.checks:
            err = f"{c.error:+.1%}" if c.relative else f"{c.error:+.3f}"
            tol = f"{c.tolerance:.0%}" if c.relative else f"{c.tolerance:g}"
            mark = "ok  " if c.ok else "FAIL"
            noise = f", one period ±{c.noise:.3f}" if math.isfinite(c.noise) else ""
            lines.append(
                f"  {mark} {c.kpi:<40} real {c.real:10.3f}  sim {c.simulated:10.3f} "
                f"[{c.ci_low:.3f}, {c.ci_high:.3f}]  error {err} (tolerance {tol}{noise})"
            )
        lines.extend(f"  note: {n}" for n in self.notes)
        lines.append(self.verdict())
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "replications": self.replications,
            "unit": self.unit,
            "trustworthy": self.trustworthy,
            "verdict": self.verdict(),
            "checks": [c.as_dict() for c in self.checks],
            "notes": self.notes,
        }


def validate_baseline(
    log: pl.DataFrame,
    model: ProcessModel,
    params: SimParams,
    *,
    replications: int = 5,
    seed: int = 0,
    arrivals: Literal["log", "fitted"] = "log",
    calendar: WorkingCalendar | None = None,
) -> ValidationReport:
    """Simulate the log's period and compare KPIs (see the module docstring).

    ``arrivals="log"``: the simulated cases arrive when the log's did; ``"fitted"``: from
    the parameters' arrival process, as many cases as the log has at most.

    Raises:
        ValidationFailed: parameters that do not fit the model, or a log that does not.
    """
    binding = bind(model, params)
    cal = calendar or default_calendar()
    office = (cal, params.hours) if params.calendar == "working_days" else None
    kpi_options: dict[str, Any] = {
        "in_person": binding.in_person,
        "applicant_tasks": binding.applicant_tasks,
        "names": set(params.names.values()),
        "office": office,
    }
    real = log_kpis(log, model, **kpi_options)
    frame = _utc(log)
    first, last = frame[_TS].min(), frame[_TS].max()
    notes: list[str] = []
    horizon: float | None = None
    origin: datetime | None = None
    arrived: list[float] | None = None
    if isinstance(first, datetime) and isinstance(last, datetime):
        # the run starts where the fitted parameters start (the log's first day)
        origin = params.start if params.start is not None and params.start <= first else first
        horizon = (last - origin).total_seconds() / 60.0
        if arrivals == "log":
            starts = frame.group_by(_CASE).agg(pl.col(_TS).min())[_TS]
            arrived = [(t - origin).total_seconds() / 60.0 for t in starts.to_list()]
    if arrivals == "log":
        notes.append("simulated cases arrive when the log's cases arrived (trace-driven)")
    cases = int(real["cases"])
    runs: list[dict[str, float]] = []
    for i in range(replications):
        run = simulate(
            model,
            params,
            cases=cases,
            seed=seed + i,
            start=origin,
            until_minutes=horizon,
            arrivals_at=arrived,
            calendar=cal,
        )
        runs.append(log_kpis(run.frame(), model, **kpi_options))
    checks: list[KpiCheck] = []
    keys = ["cycle_median_h", "cycle_p90_h", "returns_per_case", "trips_per_case"]
    keys += sorted(k for k in real if k.startswith("wait_h:"))
    if not binding.in_person:
        keys.remove("trips_per_case")
        notes.append("no in-person tasks given (in_person): trips not compared")
    for key in keys:
        est = estimate(r.get(key, math.nan) for r in runs)
        value = real.get(key, math.nan)
        relative = key.startswith(("cycle", "wait"))
        if relative:
            error = (est.mean - value) / value if value else (0.0 if est.mean == 0 else math.inf)
            tolerance = CYCLE_TOLERANCE if key.startswith("cycle") else WAIT_TOLERANCE
        else:
            error = est.mean - value
            tolerance = RETURNS_TOLERANCE if key == "returns_per_case" else TRIPS_TOLERANCE
        noise = _prediction_half_width([r.get(key, math.nan) for r in runs])
        checks.append(
            KpiCheck(key, value, est.mean, est.low, est.high, error, tolerance, relative, noise)
        )
    done_share = real["completed"] / real["cases"] if real["cases"] else 0.0
    if done_share < 0.9:
        notes.append(
            f"only {done_share:.0%} of the log's cases are complete: cycle times cover "
            "completed cases in both the log and the simulation"
        )
    unit = "hours"
    if office is not None:
        opens, closes = (t.strftime("%H:%M") for t in params.hours)
        unit = f"working hours ({opens}–{closes} on working days)"
    return ValidationReport(checks, replications, cases, notes, unit)


def _prediction_half_width(values: Iterable[float]) -> float:
    """95 % prediction interval half-width for one more draw (t with n − 1 degrees of
    freedom); NaN below ``MIN_NOISE_REPLICATIONS`` values, too few to know the spread."""
    data = [v for v in values if not math.isnan(v)]
    n = len(data)
    if n < MIN_NOISE_REPLICATIONS:
        return math.nan
    mean = sum(data) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in data) / (n - 1))
    return float(stats.t.ppf(0.975, n - 1)) * sd * math.sqrt(1 + 1 / n)
