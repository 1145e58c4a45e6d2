"""Is the fitted baseline good enough to trust? Simulate it and compare with the real log.

The same KPI function reads the real log and every simulated one: cycle time (median and
p90 of completed cases), mean waiting before each task (from the case's previous completed
event to the task's start), returns (补正) and trips per case. Each KPI's error is checked
against a stated tolerance; the report says plainly which ones fail.

Tolerances: cycle-time median and p90 within 20 % (relative); waiting per task within 30 %
or 0.5 h; returns per case within 0.05 and trips per case within 0.1 (absolute).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import polars as pl

from onewindow.simulation.engine import estimate, simulate
from onewindow.simulation.fit import PLATFORM_EVENTS, _utc, map_tasks
from onewindow.simulation.model import ProcessModel
from onewindow.simulation.params import SimParams, bind

__all__ = ["KpiCheck", "ValidationReport", "log_kpis", "validate_baseline"]

CYCLE_TOLERANCE: Final = 0.20
WAIT_TOLERANCE: Final = 0.30
WAIT_ABSOLUTE_H: Final = 0.5
RETURNS_TOLERANCE: Final = 0.05
TRIPS_TOLERANCE: Final = 0.1
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
) -> dict[str, float]:
    """KPIs of an event log in hours and per case; see the module docstring.

    A case is complete when it has an ``end_activity`` event, or, in a log that has none
    at all, always. Raises ValidationFailed when the log does not match the model.
    """
    frame = _utc(log)
    if "@pos" not in frame.columns:
        frame = frame.with_row_index("@pos")
    frame = frame.with_columns(pl.col(_CASE).cast(pl.String), pl.col(_ACT).cast(pl.String))
    frame = frame.sort([_CASE, _TS, "@pos"])
    frame, _ = map_tasks(frame, model, PLATFORM_EVENTS)
    if _LIFE not in frame.columns:
        frame = frame.with_columns(pl.lit("complete").alias(_LIFE))
    life = pl.col(_LIFE).cast(pl.String).str.to_lowercase().fill_null("complete")
    frame = frame.with_columns(life.alias(_LIFE))
    has_end = bool((frame[_ACT] == end_activity).any())
    per_case = frame.group_by(_CASE).agg(
        pl.col(_TS).min().alias("first"),
        (
            pl.col(_TS).filter(pl.col(_ACT) == end_activity).min() if has_end else pl.col(_TS).max()
        ).alias("end"),
    )
    cases = per_case.height
    done = per_case.filter(pl.col("end").is_not_null())
    hours = ((done["end"] - done["first"]).dt.total_seconds() / 3600.0).sort()
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
            .then(pl.col(_TS))
            .otherwise(None)
            .forward_fill()
            .shift(1)
            .over(_CASE)
            .alias("@enabled")
        )
        .filter((pl.col(_LIFE) == "start") & pl.col("@task").is_not_null())
        .group_by("@task")
        .agg(((pl.col(_TS) - pl.col("@enabled")).dt.total_seconds() / 3600.0).mean().alias("w"))
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

    @property
    def ok(self) -> bool:
        if math.isnan(self.real) or math.isnan(self.simulated):
            return False
        if self.kpi.startswith("wait_h:") and abs(self.simulated - self.real) <= WAIT_ABSOLUTE_H:
            return True
        return abs(self.error) <= self.tolerance

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
            "ok": self.ok,
        }


@dataclass
class ValidationReport:
    """Each KPI real vs simulated with its error, and a plain verdict (验证报告)."""

    checks: list[KpiCheck]
    replications: int
    cases: int
    notes: list[str] = field(default_factory=list)

    @property
    def failing(self) -> list[KpiCheck]:
        return [c for c in self.checks if not c.ok]

    @property
    def trustworthy(self) -> bool:
        return not self.failing

    def verdict(self) -> str:
        if self.trustworthy:
            return (
                "The model reproduces the real log within every tolerance: its predictions "
                "can be trusted. / 模型在各项容差内复现了真实日志，预测可信。"
            )
        names = ", ".join(c.kpi for c in self.failing)
        return (
            f"The model is NOT good enough to trust: {names} miss their tolerance. Check the "
            "fitted parameters (staff counts, calendar, branch probabilities) before using its "
            f"predictions. / 模型不足以信任：{names} 超出容差，请先检查拟合参数。"
        )

    def text(self) -> str:
        lines = [f"validation: {self.cases} cases x {self.replications} replications"]
        for c in self.checks:
            err = f"{c.error:+.1%}" if c.relative else f"{c.error:+.3f}"
            tol = f"{c.tolerance:.0%}" if c.relative else f"{c.tolerance:g}"
            mark = "ok  " if c.ok else "FAIL"
            lines.append(
                f"  {mark} {c.kpi:<40} real {c.real:10.3f}  sim {c.simulated:10.3f} "
                f"[{c.ci_low:.3f}, {c.ci_high:.3f}]  error {err} (tolerance {tol})"
            )
        lines.extend(f"  note: {n}" for n in self.notes)
        lines.append(self.verdict())
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {
            "cases": self.cases,
            "replications": self.replications,
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
) -> ValidationReport:
    """Simulate as many cases as the log has, over the same period, and compare KPIs.

    Raises:
        ValidationFailed: parameters that do not fit the model, or a log that does not.
    """
    binding = bind(model, params)
    in_person, applicant = binding.in_person, binding.applicant_tasks
    real = log_kpis(log, model, in_person=in_person, applicant_tasks=applicant)
    frame = _utc(log)
    first, last = frame[_TS].min(), frame[_TS].max()
    notes: list[str] = []
    horizon: float | None = None
    if isinstance(first, datetime) and isinstance(last, datetime):
        # the run starts where the fitted parameters start (the log's first day)
        origin = params.start if params.start is not None and params.start <= first else first
        horizon = (last - origin).total_seconds() / 60.0
    cases = int(real["cases"])
    runs: list[dict[str, float]] = []
    for i in range(replications):
        run = simulate(model, params, cases=cases, seed=seed + i, until_minutes=horizon)
        runs.append(log_kpis(run.frame(), model, in_person=in_person, applicant_tasks=applicant))
    checks: list[KpiCheck] = []
    keys = ["cycle_median_h", "cycle_p90_h", "returns_per_case", "trips_per_case"]
    keys += sorted(k for k in real if k.startswith("wait_h:"))
    if not in_person:
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
        checks.append(KpiCheck(key, value, est.mean, est.low, est.high, error, tolerance, relative))
    done_share = real["completed"] / real["cases"] if real["cases"] else 0.0
    if done_share < 0.9:
        notes.append(
            f"only {done_share:.0%} of the log's cases are complete: cycle times cover "
            "completed cases in both the log and the simulation"
        )
    return ValidationReport(checks, replications, cases, notes)
