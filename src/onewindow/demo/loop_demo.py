"""The improvement loop, end to end, on the demo city's business-licence bundle (SAMR-001).

1. The bundle runs for some weeks on a *legacy* sequential process (the SAMR re-keys the
   application, tax / social insurance / seal one after another, frequent returns), through
   the platform's own services, so the event log is the platform's.
2. Analysis: parameters are fitted from that log, the fitted baseline is validated, redesign
   proposals are simulated and ranked.
3. The best proposal is published as a new process version (the service switches to it) with
   its prediction recorded.
4. The city runs on it for more weeks; the world changes the way the redesign changes it
   (the pre-check really does stop most incomplete applications — a little less well than
   the proposal assumed, so prediction and measurement need not agree).
5. The before/after comparison is shown next to the prediction.

Staff claim tasks first come, first served within office hours (09:00–17:00, working days).
"""

from __future__ import annotations

import heapq
import math
import random
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console
from rich.table import Table

from onewindow.catalog import service as catalog
from onewindow.intake import service as intake
from onewindow.intake.identifiers import make_credit_code
from onewindow.intake.schemas import ApplicantIn, Upload
from onewindow.kit.clock import ManualClock
from onewindow.kit.platform import Ctx, Platform
from onewindow.simulation import publish
from onewindow.simulation.fit import fit_params
from onewindow.simulation.model import parse_model
from onewindow.simulation.params import Distribution, load_params
from onewindow.simulation.redesign import evaluate, propose
from onewindow.simulation.validate import validate_baseline
from onewindow.simulation.workhours import OfficeHours
from onewindow.workflow import flows
from onewindow.workflow import service as workflow
from onewindow.workflow.models import Task

__all__ = ["LoopOptions", "LoopResult", "run_improvement_loop"]

SERVICE = "SAMR-001"
EXAMPLES = Path(__file__).resolve().parents[1] / "simulation" / "examples"
CITY = Path(__file__).parent / "city"
# How much better the world really gets than the proposal assumed (pre-check 80 % -> 70 %).
REAL_PRECHECK_FIRST = 0.7
REAL_PRECHECK_LATER = 0.25
_DEPT_OF_LANE = {"窗口": "CENTER", "市场监管": "SAMR", "税务": "TAX", "人社": "HRSS", "公安": "PSB"}


@dataclass(frozen=True)
class LoopOptions:
    weeks_before: int = 4
    weeks_after: int = 4
    drain_weeks: int = 2  # no new arrivals: let the last cases finish before measuring
    mean_gap_minutes: float = 40.0  # working minutes between applications
    replications: int = 5
    sim_cases: int = 1500
    start: datetime | None = None  # default: a Monday 09:00 in the calendar's zone


@dataclass
class LoopResult:
    cases_before: int = 0
    cases_after: int = 0
    proposal: str = ""
    changes: list[str] = field(default_factory=list)
    validation: str = ""
    validation_report: dict[str, Any] = field(default_factory=dict)  # ValidationReport.as_dict
    prediction_id: int = 0
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class _World:
    """How the city really behaves (the simulation never sees this, only the log)."""

    p_incomplete: float
    p_send_back: float
    p_reject: float
    durations: dict[str, Distribution]
    response: Distribution
    staff: dict[str, int]  # department -> members working this service


def _legacy_world() -> _World:
    params = load_params(EXAMPLES / "business_licence_legacy.yaml")
    assert params.applicant_response is not None
    # Branch probabilities of a fresh visit; a second visit always passes (see task_data).
    return _World(
        p_incomplete=params.gateways["Flow_03"],
        p_send_back=params.gateways["Flow_06"],
        p_reject=params.gateways["Flow_08"],
        durations=dict(params.activities),
        response=params.applicant_response,
        staff={"CENTER": 2, "SAMR": 2, "TAX": 1, "HRSS": 1, "PSB": 1},
    )


class _City:
    def __init__(
        self, platform: Platform, clock: ManualClock, world: _World, opts: LoopOptions, seed: int
    ) -> None:
        self.platform, self.clock, self.world, self.opts = platform, clock, world, opts
        self.rng = random.Random(seed)  # noqa: S311 - a demo, not secrets
        self.origin = clock.now()
        self.hours = OfficeHours(self.origin, platform.calendar, time(9, 0), time(17, 0))
        self.queue: list[tuple[float, int, str, dict[str, Any]]] = []
        self.seq = 0
        self.free: dict[str, deque[str]] = {}
        self.waiting: dict[str, deque[int]] = {}
        self.sent_back: set[tuple[int, str]] = set()
        self.cases = 0
        self.samplers = {k: v.sampler(self.rng) for k, v in world.durations.items()}
        self.response = world.response.sampler(self.rng)
        with platform.unit_of_work() as ctx:
            for dept, count in world.staff.items():
                people = [
                    s.username
                    for s in catalog.list_staff(ctx, dept)
                    if set(s.roles) & {"clerk", "reviewer"}
                ]
                self.free[dept] = deque(people[:count])
                self.waiting[dept] = deque()

    # --- time -----------------------------------------------------------------------------

    def at(self, minutes: float) -> datetime:
        return self.origin + timedelta(minutes=minutes)

    def now(self) -> float:
        return (self.clock.now() - self.origin).total_seconds() / 60.0

    def schedule(self, minutes: float, kind: str, **payload: Any) -> None:
        self.seq += 1
        heapq.heappush(self.queue, (minutes, self.seq, kind, payload))

    def run_until(self, end: float) -> None:
        while self.queue and self.queue[0][0] < end:
            when, _, kind, payload = heapq.heappop(self.queue)
            self.clock.set(self.at(when))
            getattr(self, f"_{kind}")(**payload)
        self.clock.set(self.at(end))

    # --- the city ---------------------------------------------------------------------------

    def plan_arrivals(self, begin: float, end: float) -> int:
        work = self.hours.to_work(begin)
        count = 0
        while True:
            work += self.rng.expovariate(1.0 / self.opts.mean_gap_minutes)
            wall = self.hours.to_wall_start(work)
            if wall >= end:
                return count
            self.schedule(wall, "arrive")
            count += 1

    def _arrive(self) -> None:
        self.cases += 1
        code = make_credit_code(
            authority="9",
            org_type="1",
            area_code="310104",
            org_code=f"{self.rng.randint(0, 99999999):08d}",
        )
        applicant = ApplicantIn("business", code, f"演示企业{self.cases}有限公司", "13800000000")

        def submit(ctx: Ctx) -> flows.Submitted:
            service = catalog.get_service(ctx, SERVICE)
            found = intake.find_applicant(ctx, applicant.kind, applicant.id_number)
            checks = intake.check_completeness(ctx, service, found, ())
            uploads = [
                Upload(c.code, f"{c.code}.pdf", b"%PDF-1.4\n% demo\n%%EOF\n")
                for c in checks
                if c.state != "on_file" and c.required
            ]
            form = {
                f["name"]: (
                    f["options"][0]
                    if f.get("options")
                    else 1
                    if f.get("type") in ("number", "integer")
                    else f"演示{f['name']}"
                )
                for f in service.form_fields
                if f.get("required")
            }
            return flows.submit_application(
                ctx, SERVICE, applicant, channel="window", form=form, uploads=uploads, actor="demo"
            )

        submitted = self.platform.run(submit)
        self.handle(submitted.outcome.created)

    def handle(self, tasks: list[Task]) -> None:
        now = self.now()
        for task in tasks:
            if task.for_applicant:
                self.schedule(now + self.response(), "supplement", case=task.case_id)
                continue
            dept = _DEPT_OF_LANE.get(task.lane or "", "CENTER")
            self.waiting.setdefault(dept, deque()).append(task.id)
        self.dispatch()

    def dispatch(self) -> None:
        now = self.now()
        for dept, queue in self.waiting.items():
            free = self.free.get(dept)
            while queue and free:
                task_id = queue.popleft()
                who = free.popleft()
                begin = (
                    now
                    if self.hours.is_open(now)
                    else self.hours.to_wall_start(self.hours.to_work(now))
                )
                self.schedule(begin, "claim", task_id=task_id, who=who, dept=dept)

    def _claim(self, task_id: int, who: str, dept: str) -> None:
        def do(ctx: Ctx) -> str:
            task = workflow.get_task(ctx, task_id)
            if task.status != "ready":
                return ""
            workflow.claim_task(ctx, task_id, actor=catalog.get_staff(ctx, who))
            return task.element_id

        element = self.platform.run(do)
        if not element:
            self.free[dept].append(who)
            self.dispatch()
            return
        sample = self.samplers.get(element)
        minutes = sample() if sample else 15.0
        self.schedule(
            self.hours.finish(self.now(), minutes), "complete", task_id=task_id, who=who, dept=dept
        )

    def _complete(self, task_id: int, who: str, dept: str) -> None:
        def do(ctx: Ctx) -> workflow.StepOutcome:
            task = workflow.get_task(ctx, task_id)
            return workflow.complete_task(
                ctx, task_id, self.task_data(task), actor=catalog.get_staff(ctx, who)
            )

        outcome = self.platform.run(do)
        self.free[dept].append(who)
        self.handle(outcome.created)

    def task_data(self, task: Task) -> dict[str, Any]:
        data: dict[str, Any] = {"comment": ""}
        for f in task.form_fields:
            if f.get("required") and f["id"] not in ("decision", "materials_complete"):
                data[f["id"]] = "演示"
        key = (task.case_id, task.element_id)
        fresh = key not in self.sent_back
        ids = {f["id"] for f in task.form_fields}
        if "materials_complete" in ids:
            incomplete = fresh and self.rng.random() < self.world.p_incomplete
            data["materials_complete"] = not incomplete
            if incomplete:
                data["missing_materials"] = "公司章程"
                self.sent_back.add(key)
        if "decision" in ids:
            roll = self.rng.random()
            if fresh and roll < self.world.p_send_back:
                data["decision"] = "send_back"
                data["missing_materials"] = ["articles_of_association"]
                self.sent_back.add(key)
            elif roll > 1 - self.world.p_reject:
                data["decision"] = "reject"
                data["reason"] = "申请的企业名称与已登记的同行业企业名称相同。"
                data["legal_basis"] = "name_conflict"
            else:
                data["decision"] = "approve"
        return data

    def _supplement(self, case: int) -> None:
        def do(ctx: Ctx) -> workflow.StepOutcome:
            application_id = workflow.get_case(ctx, case).application_id
            assert application_id is not None
            application = intake.get_application(ctx, application_id)
            upload = Upload("articles_of_association", "v2.pdf", b"%PDF-1.4\n% v2\n%%EOF\n")
            return flows.supplement(ctx, application.number, [upload], actor="applicant")

        self.handle(self.platform.run(do).created)


def _world_after(world: _World, applied: list[str], materials: list[dict[str, Any]]) -> _World:
    new = _World(
        world.p_incomplete,
        world.p_send_back,
        world.p_reject,
        dict(world.durations),
        world.response,
        dict(world.staff),
    )
    if "precheck" in applied:
        new.p_incomplete *= 1 - REAL_PRECHECK_FIRST
        new.p_send_back *= 1 - REAL_PRECHECK_LATER
    if "held_materials" in applied:
        required = [m for m in materials if m.get("required", True)]
        share = sum(1 for m in required if m.get("certificate")) / max(len(required), 1)
        new.p_incomplete *= 1 - share
        accept = new.durations.get("Task_window_accept")
        if accept is not None:
            new.durations["Task_window_accept"] = accept.scaled(1 - share / 2)
    return new


def run_improvement_loop(
    platform: Platform,
    *,
    seed: int = 42,
    console: Console | None = None,
    options: LoopOptions | None = None,
) -> LoopResult:
    """Run the loop (see the module docstring) and print prediction next to measurement.

    The catalogue must be loaded (``seed_demo`` does it); the loop adds its own cases for
    SAMR-001 on a simulated clock and leaves them in the database.
    """
    console = console or Console(stderr=True)
    opts = options or LoopOptions()
    result = LoopResult()
    cal = platform.calendar
    if opts.start is not None:
        start = opts.start
    else:
        day = datetime.now(cal.zone).date() - timedelta(
            weeks=opts.weeks_before + opts.weeks_after + opts.drain_weeks + 1
        )
        day -= timedelta(days=day.weekday())
        start = datetime.combine(day, time(9, 0), tzinfo=cal.zone)
    clock = ManualClock(start)
    sim = Platform(platform.settings, platform.engine, platform.sessions, clock, cal)
    legacy_xml = (EXAMPLES / "business_licence_legacy.bpmn").read_bytes()
    service_yaml = yaml.safe_load((CITY / "services" / "business_licence.yaml").read_text("utf-8"))
    materials = list(service_yaml.get("materials") or [])

    with sim.unit_of_work() as ctx:
        legacy = catalog.register_process(ctx, legacy_xml, actor="demo")
        publish.switch_service_process(ctx, SERVICE, legacy, actor="demo")
        in_person = list(catalog.get_service(ctx, SERVICE).in_person_activities)
    console.print(f"[bold]improvement loop[/] {SERVICE}: legacy process v{legacy.version}")

    world = _legacy_world()
    city = _City(sim, clock, world, opts, seed)
    change = datetime.combine(
        start.date() + timedelta(weeks=opts.weeks_before), time(9, 0), cal.zone
    )
    change_min = (change - start).total_seconds() / 60.0
    result.cases_before = city.plan_arrivals(0.0, change_min)
    city.run_until(change_min)
    console.print(f"  {opts.weeks_before} weeks on the legacy process: {result.cases_before} cases")

    # --- analysis: fit, validate, propose, rank ---------------------------------------------
    model = parse_model(legacy_xml, source="legacy")
    with sim.unit_of_work() as ctx:
        log = publish.service_log(ctx, SERVICE, since=start)
    fitted = fit_params(log, model, in_person=in_person, applicant_lanes=["申请人"])
    report = validate_baseline(
        log, model, fitted.params, replications=opts.replications, seed=seed, calendar=cal
    )
    result.validation, result.validation_report = report.verdict(), report.as_dict()
    console.print(report.text())
    proposals = propose(model, fitted.params, materials=materials, seed=seed)
    ranking = evaluate(
        model,
        fitted.params,
        proposals,
        cases=opts.sim_cases,
        replications=opts.replications,
        seed=seed,
    )
    table = Table(title="redesigns, ranked by predicted median cycle time (95 % CI)")
    for col in ("proposal", "median h", "change", "95 % CI", "trips/case"):
        table.add_column(col)
    base = ranking.baseline.estimate("cycle_median_h")
    table.add_row(
        "baseline (fitted)",
        f"{base.mean:.1f}",
        "",
        "",
        f"{ranking.baseline.estimate('trips_per_case').mean:.2f}",
    )
    for row in ranking.rows:
        table.add_row(
            row.proposal.key,
            f"{row.median.mean:.1f}",
            f"{row.change.mean:+.0%}",
            f"[{row.change.low:+.0%}, {row.change.high:+.0%}]",
            f"{row.trips.mean:.2f}",
        )
    console.print(table)
    best = ranking.best
    if best is None:
        console.print("[yellow]no redesign applies to this process[/]")
        return result
    result.proposal, result.changes = best.proposal.key, list(best.proposal.changes)

    # --- publish ------------------------------------------------------------------------------
    with sim.unit_of_work() as ctx:
        prediction = publish.publish_redesign(
            ctx,
            SERVICE,
            best.proposal,
            best,
            ranking.baseline,
            baseline_since=start,
            evaluate_after_weeks=opts.weeks_after,
            actor="demo",
        )
        result.prediction_id = prediction.id
        console.print(
            f"  published {best.proposal.key} as process v"
            f"{catalog.get_process(ctx, prediction.to_process_id).version}"
        )

    # --- the city on the new process ----------------------------------------------------------
    city.world = _world_after(world, best.proposal.applied, materials)
    city.samplers = {k: v.sampler(city.rng) for k, v in city.world.durations.items()}
    end_arrivals = change_min + opts.weeks_after * 7 * 1440
    result.cases_after = city.plan_arrivals(change_min, end_arrivals)
    city.run_until(end_arrivals + opts.drain_weeks * 7 * 1440)
    console.print(f"  {opts.weeks_after} weeks on the new process: {result.cases_after} cases")

    with sim.unit_of_work() as ctx:
        measured = publish.measure(ctx, result.prediction_id)
        result.summary = publish.prediction_summary(measured)
    _print_summary(console, result.summary)
    return result


def _pct(value: Any) -> str:
    return (
        "-"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:+.0%}"
    )


def _val(value: Any) -> str:
    return "-" if value is None else f"{value:.2f}"


def _print_summary(console: Console, summary: dict[str, Any]) -> None:
    table = Table(title=f"prediction vs measured: {summary['title']}")
    for col in ("KPI", "before", "predicted after", "measured after", "predicted", "measured"):
        table.add_column(col)
    for row in summary["kpis"]:
        table.add_row(
            row["kpi"],
            _val(row["measured_before"]),
            _val(row["predicted"]),
            _val(row["measured_after"]),
            _pct(row["predicted_change"]),
            _pct(row["measured_change"]),
        )
    console.print(table)
