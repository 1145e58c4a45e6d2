"""Publish a redesign and prove (or refute) its prediction (发布与验证).

Publishing registers the redesigned BPMN as the next version of the service's process,
switches the service item to it (running cases keep their version), and records the change
point with the simulation's prediction. After the chosen number of weeks, :func:`measure`
compares the cases that arrived before the change point with those that arrived after it,
using the mining module's before/after statistics (bootstrap CIs, Mann–Whitney), and stores
the measured effect next to the prediction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import polars as pl

from onewindow.catalog import service as catalog
from onewindow.catalog.models import ProcessDefinition, ServiceItem
from onewindow.eventlog import service as eventlog
from onewindow.kit.errors import NotFound, ValidationFailed
from onewindow.kit.platform import Ctx
from onewindow.mining.compare import compare_samples
from onewindow.simulation.engine import Replications
from onewindow.simulation.models import Prediction
from onewindow.simulation.redesign import Proposal, RankedProposal

if TYPE_CHECKING:  # numpy loads where a measurement needs it, not with the web server
    import numpy as np

__all__ = [
    "due_for_measurement",
    "get_prediction",
    "list_predictions",
    "measure",
    "prediction_summary",
    "publish_redesign",
    "service_log",
    "switch_service_process",
]

RETURN_ACTIVITY = "补正通知"
END_ACTIVITY = "办结"
KPIS = ("cycle_median_h", "cycle_p90_h", "trips_per_case", "returns_per_case")


def switch_service_process(
    ctx: Ctx,
    service_code: str,
    proc: ProcessDefinition,
    *,
    in_person: Sequence[str] | None = None,
    actor: str,
) -> ServiceItem:
    """Point the service item at ``proc`` for new applications; running cases keep theirs."""
    return catalog.switch_process(
        ctx, service_code, proc, in_person_activities=in_person, actor=actor
    )


def publish_redesign(
    ctx: Ctx,
    service_code: str,
    proposal: Proposal,
    row: RankedProposal,
    baseline: Replications,
    *,
    baseline_since: datetime,
    evaluate_after_weeks: int = 4,
    actor: str,
) -> Prediction:
    """Register the redesign as a new process version, switch the service, record the
    prediction.

    Raises:
        ProcessInvalid: the redesigned BPMN is not executable by the workflow engine.
        NotFound: unknown service code.
        ValidationFailed: ``evaluate_after_weeks`` below 1.
    """
    if evaluate_after_weeks < 1:
        raise ValidationFailed(
            "evaluate_after_weeks must be at least 1",
            message_zh="评估周数至少为 1",
            code="simulation.publish_invalid",
        )
    item = catalog.get_service(ctx, service_code)
    before_id = item.process_definition_id
    before_in_person = list(item.in_person_activities)
    proc = catalog.register_process(ctx, proposal.bpmn, actor=actor)
    task_ids = {t["task_id"] for t in proc.user_tasks}
    after_in_person = [t for t in proposal.params.in_person if t in task_ids]
    switch_service_process(ctx, service_code, proc, in_person=after_in_person, actor=actor)
    predicted: dict[str, Any] = {}
    for kpi in KPIS:
        base = baseline.estimate(kpi)
        new = row.reps.estimate(kpi)
        from onewindow.simulation.engine import compare_replications

        _, rel = compare_replications(baseline, row.reps, kpi)
        predicted[kpi] = {
            "baseline": _num(base.mean),
            "predicted": _num(new.mean),
            "predicted_low": _num(new.low),
            "predicted_high": _num(new.high),
            "change": _num(rel.mean),
            "change_low": _num(rel.low),
            "change_high": _num(rel.high),
        }
    prediction = Prediction(
        service_code=service_code,
        from_process_id=before_id,
        to_process_id=proc.id,
        proposal_key=proposal.key,
        title=f"{proposal.title_zh} / {proposal.title_en}"[:200],
        changes=list(proposal.changes),
        assumptions=list(proposal.assumptions),
        predicted=predicted,
        in_person_before=before_in_person,
        in_person_after=after_in_person,
        change_point=ctx.clock.now(),
        baseline_since=baseline_since,
        evaluate_after_weeks=evaluate_after_weeks,
        published_by=actor,
    )
    ctx.session.add(prediction)
    ctx.session.flush()
    return prediction


def _num(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else round(float(value), 6)


def service_log(
    ctx: Ctx, service_code: str, *, since: datetime | None = None, until: datetime | None = None
) -> pl.DataFrame:
    """The platform's event log of one service as a frame with XES column names."""
    rows = list(eventlog.iter_rows(ctx, since=since, until=until, service_code=service_code))
    if not rows:
        return pl.DataFrame(
            schema={
                "case:concept:name": pl.String,
                "concept:name": pl.String,
                "time:timestamp": pl.Datetime("us", "UTC"),
                "lifecycle:transition": pl.String,
                "activity_id": pl.String,
            }
        )
    keep = ("case:concept:name", "concept:name", "time:timestamp", "lifecycle:transition")
    return pl.DataFrame(
        {
            **{k: [r[k] for r in rows] for k in keep},
            "org:resource": [r.get("org:resource") or "" for r in rows],
            "activity_id": [r.get("activity_id") for r in rows],
        },
        schema_overrides={"time:timestamp": pl.Datetime("us", "UTC"), "activity_id": pl.String},
    )


def _case_measures(frame: pl.DataFrame, in_person: Sequence[str]) -> pl.DataFrame:
    complete = pl.col("lifecycle:transition") == "complete"
    return frame.group_by("case:concept:name").agg(
        pl.col("time:timestamp").min().alias("first"),
        pl.col("time:timestamp").filter(pl.col("concept:name") == END_ACTIVITY).min().alias("end"),
        (complete & pl.col("activity_id").is_in(list(in_person))).sum().alias("trips"),
        (pl.col("concept:name") == RETURN_ACTIVITY).sum().alias("returns"),
    )


def _period(frame: pl.DataFrame, in_person: Sequence[str]) -> dict[str, Any]:
    per_case = _case_measures(frame, in_person)
    done = per_case.filter(pl.col("end").is_not_null())
    hours = ((done["end"] - done["first"]).dt.total_seconds() / 3600.0).to_numpy()
    return {
        "cases": per_case.height,
        "completed": done.height,
        "hours": hours,
        "trips": per_case["trips"].cast(pl.Float64).to_numpy(),
        "returns": per_case["returns"].cast(pl.Float64).to_numpy(),
    }


def _median_change(
    before: np.ndarray[Any, Any], after: np.ndarray[Any, Any], *, seed: int = 0
) -> tuple[float, float, float]:
    """Relative change of the median with a percentile bootstrap 95 % interval."""
    import numpy as np

    if before.size == 0 or after.size == 0:
        return math.nan, math.nan, math.nan
    base = float(np.median(before))
    point = float(np.median(after)) / base - 1 if base else math.nan
    rng = np.random.default_rng(seed)
    draws = [
        float(np.median(rng.choice(after, after.size)))
        / float(np.median(rng.choice(before, before.size)))
        - 1
        for _ in range(1000)
    ]
    low, high = np.quantile([d for d in draws if math.isfinite(d)] or [math.nan], [0.025, 0.975])
    return point, float(low), float(high)


def measure(ctx: Ctx, prediction_id: int, *, until: datetime | None = None) -> Prediction:
    """Compare the weeks before the change point with the weeks after and store the result.

    Before: cases that arrived in [baseline_since, change point); after: cases that arrived
    in [change point, change point + weeks). Cycle times cover completed cases.

    Raises:
        NotFound: unknown prediction.
        ValidationFailed (``simulation.nothing_to_measure``): no cases on one side yet.
    """
    import numpy as np

    prediction = get_prediction(ctx, prediction_id)
    change = prediction.change_point
    window_end = change + timedelta(weeks=prediction.evaluate_after_weeks)
    frame = service_log(ctx, prediction.service_code, since=prediction.baseline_since, until=until)
    # Reading the log streams it and expunges the session (eventlog.repository.stream), so
    # the prediction is loaded again before it is changed.
    prediction = get_prediction(ctx, prediction_id)
    first = frame.group_by("case:concept:name").agg(pl.col("time:timestamp").min().alias("@first"))
    tagged = frame.join(first, on="case:concept:name")
    before_frame = tagged.filter(pl.col("@first") < change)
    after_frame = tagged.filter((pl.col("@first") >= change) & (pl.col("@first") < window_end))
    before = _period(before_frame, prediction.in_person_before)
    after = _period(after_frame, prediction.in_person_after)
    if not before["cases"] or not after["cases"]:
        raise ValidationFailed(
            f"nothing to compare yet: {before['cases']} cases before and {after['cases']} after "
            "the change point",
            message_zh=f"尚无可比较的数据：变更前 {before['cases']} 件，变更后 {after['cases']} 件",
            code="simulation.nothing_to_measure",
        )
    cycle = compare_samples("cycle time (h) 办理时长", before["hours"], after["hours"])
    trips = compare_samples("trips per case 跑动次数", before["trips"], after["trips"])
    returns = compare_samples("returns per case 补正次数", before["returns"], after["returns"])
    median_change = _median_change(before["hours"], after["hours"])
    measured = {
        "cases_before": before["cases"],
        "cases_after": after["cases"],
        "completed_before": before["completed"],
        "completed_after": after["completed"],
        "cycle_median_h": {
            "before": _num(float(np.median(before["hours"])) if before["hours"].size else math.nan),
            "after": _num(float(np.median(after["hours"])) if after["hours"].size else math.nan),
            "change": _num(median_change[0]),
            "change_low": _num(median_change[1]),
            "change_high": _num(median_change[2]),
        },
        "cycle_time": cycle.as_dict(),
        "trips_per_case": {
            **trips.as_dict(),
            "at_most_one_share_after": _num(float((after["trips"] <= 1).mean())),
        },
        "returns_per_case": returns.as_dict(),
    }
    prediction.measured = _jsonable(measured)
    prediction.measured_at = ctx.clock.now()
    ctx.session.flush()
    return prediction


def _jsonable(value: Any) -> Any:
    import numpy as np

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, float | np.floating):
        return _num(float(value))
    if isinstance(value, np.integer):
        return int(value)
    return value


def get_prediction(ctx: Ctx, prediction_id: int) -> Prediction:
    found = ctx.session.get(Prediction, prediction_id)
    if found is None:
        raise NotFound(
            f"No published redesign {prediction_id}",
            message_zh="没有该改革记录",
            code="simulation.prediction_unknown",
        )
    return found


def list_predictions(ctx: Ctx, service_code: str | None = None) -> list[Prediction]:
    from sqlalchemy import select

    query = select(Prediction).order_by(Prediction.change_point.desc())
    if service_code:
        query = query.where(Prediction.service_code == service_code)
    return list(ctx.session.scalars(query))


def due_for_measurement(ctx: Ctx) -> list[Prediction]:
    """Published redesigns whose evaluation weeks are over and that are not measured yet."""
    now = ctx.clock.now()
    return [
        p
        for p in list_predictions(ctx)
        if p.measured is None and p.change_point + timedelta(weeks=p.evaluate_after_weeks) <= now
    ]


def prediction_summary(prediction: Prediction) -> dict[str, Any]:
    """Prediction next to the measured effect, for the public board and the analyst page."""
    measured = prediction.measured or {}
    rows = []
    for kpi in ("cycle_median_h", "trips_per_case", "returns_per_case"):
        pred = prediction.predicted.get(kpi, {})
        meas = measured.get(kpi, {})
        rows.append(
            {
                "kpi": kpi,
                "baseline_predicted": pred.get("baseline"),
                "predicted": pred.get("predicted"),
                "predicted_change": pred.get("change"),
                "predicted_change_ci": [pred.get("change_low"), pred.get("change_high")],
                "measured_before": meas.get("before", meas.get("mean_before")),
                "measured_after": meas.get("after", meas.get("mean_after")),
                "measured_change": meas.get("relative_change", meas.get("change")),
                "measured_change_ci": [meas.get("change_low"), meas.get("change_high")]
                if "change_low" in meas
                else meas.get("diff_ci"),
            }
        )
    return {
        "id": prediction.id,
        "service_code": prediction.service_code,
        "title": prediction.title,
        "changes": prediction.changes,
        "assumptions": prediction.assumptions,
        "change_point": prediction.change_point.isoformat(),
        "evaluate_after_weeks": prediction.evaluate_after_weeks,
        "measured_at": prediction.measured_at.isoformat() if prediction.measured_at else None,
        "kpis": rows,
    }
