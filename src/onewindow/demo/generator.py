"""Drive a synthetic population through the real service layer over simulated weeks.

A discrete-event loop over a manual clock: applicants arrive on working days, front-desk
clerks and department reviewers claim and complete their tasks after realistic waits, some
applications come back for 补正 and the applicants answer days later; timers and SLA
escalations fire at the end of each working day. Everything goes through the same service
functions the API uses, so the event log is the platform's own.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from faker import Faker
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from onewindow.catalog import service as catalog
from onewindow.catalog.models import ServiceItem
from onewindow.demo import values
from onewindow.eventlog import service as eventlog
from onewindow.intake import service as intake
from onewindow.intake.identifiers import make_citizen_id, make_credit_code
from onewindow.intake.schemas import ApplicantIn, Upload
from onewindow.kit.clock import ManualClock
from onewindow.kit.errors import OneWindowError
from onewindow.kit.platform import Ctx, Platform
from onewindow.security import service as security
from onewindow.security.passwords import hash_password
from onewindow.workflow import flows
from onewindow.workflow import service as workflow
from onewindow.workflow.models import Task

CITY = Path(__file__).parent / "city"
DEMO_PASSWORD = "demo"  # noqa: S105 - the demo city's published password
DAY_START, DAY_END = time(9, 0), time(17, 0)
WORK_MINUTES = 8 * 60
BACKGROUND_CHECK = "background_check_done"  # the PSB system's answer the residence permit waits for
# Share of arrivals per service code; codes missing from the catalogue are skipped.
SERVICE_WEIGHTS = {
    "SAMR-001": 30,
    "HRSS-001": 18,
    "PSB-001": 14,
    "SAMR-002": 14,
    "HOUSING-001": 6,
    "FIRE-001": 6,
    "HRSS-002": 6,
}
# GB/T 2260 codes of the demo city's districts (福州市: 鼓楼 台江 仓山 晋安 马尾, 闽侯县,
# 福清市) that its applicants' ID numbers and credit codes carry.
AREA_CODES = ("350102", "350103", "350104", "350111", "350105", "350121", "350181")


@dataclass(frozen=True)
class DemoOptions:
    weeks: int = 8
    seed: int = 42
    cases_per_day: int = 40
    start: date | None = None  # default: ``weeks`` weeks before today, ending now
    p_incomplete_at_desk: float = 0.12
    p_send_back: float = 0.10
    p_reject: float = 0.02
    p_not_accepted: float = 0.01


@dataclass
class DemoSummary:
    cases: int = 0
    closed: int = 0
    returns: int = 0
    events: int = 0
    turned_away: int = 0
    logins: list[tuple[str, str, str]] = field(default_factory=list)
    # Where the simulation stopped: the city (speeds, pending actions) and the instant, so
    # ``continue_city`` can run it on (``None`` when no history was generated this time).
    city: _City | None = field(default=None, repr=False, compare=False)
    ended_at: datetime | None = None

    @property
    def speed(self) -> dict[str, float]:
        """Each staff member's simulated speed factor (1.0 is the norm; >1 is slower)."""
        return dict(self.city.speed) if self.city is not None else {}


@dataclass(order=True)
class _Action:
    when: datetime
    seq: int
    kind: str = field(compare=False)
    payload: dict[str, Any] = field(compare=False, default_factory=dict)


class _Population:
    def __init__(self, rng: random.Random, faker: Faker, today: date) -> None:
        self.rng, self.faker, self.today = rng, faker, today
        self.people: list[ApplicantIn] = []
        self.businesses: list[ApplicantIn] = []

    def person(self) -> ApplicantIn:
        # Returning applicants are how certificates on file get reused (免提交).
        if self.people and self.rng.random() < 0.3:
            return self.rng.choice(self.people)
        birth = self.today - timedelta(days=self.rng.randint(18 * 365, 70 * 365))
        number = make_citizen_id(self.rng.choice(AREA_CODES), birth, self.rng.randint(1, 999))
        p = ApplicantIn("person", number, self.faker.name(), self.faker.phone_number())
        self.people.append(p)
        return p

    def business(self) -> ApplicantIn:
        if self.businesses and self.rng.random() < 0.25:
            return self.rng.choice(self.businesses)
        code = make_credit_code(
            authority="9",
            org_type="1",
            area_code=self.rng.choice(AREA_CODES),
            org_code=f"{self.rng.randint(0, 99999999):08d}",
        )
        name, _ = values.company_name(self.rng)
        b = ApplicantIn("business", code, name, self.faker.phone_number())
        self.businesses.append(b)
        return b


class _City:
    """The simulation: state that lives outside the database (speeds, schedules)."""

    def __init__(self, platform: Platform, clock: ManualClock, opts: DemoOptions) -> None:
        self.platform, self.clock, self.opts = platform, clock, opts
        self.rng = random.Random(opts.seed)
        faker = Faker("zh_CN")
        faker.seed_instance(opts.seed)
        self.faker = faker
        self.queue: list[_Action] = []
        self.seq = 0
        self.summary = DemoSummary()
        self.speed: dict[str, float] = {}
        self.sent_back: set[tuple[int, str]] = set()
        self.pop = _Population(self.rng, faker, clock.now().date())
        self.clerks: list[str] = []
        self.scheduled: set[int] = set()  # tasks someone will pick up
        self.checking: set[int] = set()  # cases the PSB system is checking

    # --- working time ---------------------------------------------------------------------

    def _local(self, when: datetime) -> datetime:
        return when.astimezone(self.platform.calendar.zone)

    def open_at_or_after(self, when: datetime) -> datetime:
        """The first working instant at or after ``when``."""
        local = self._local(when)
        cal = self.platform.calendar
        day = local.date()
        if local.time() >= DAY_END or not cal.is_workday(day):
            day = (
                cal.next_workday(day + timedelta(days=1))
                if cal.is_workday(day)
                else cal.next_workday(day)
            )
            return datetime.combine(day, DAY_START, tzinfo=local.tzinfo)
        if local.time() < DAY_START:
            return datetime.combine(day, DAY_START, tzinfo=local.tzinfo)
        return local

    def add_work_minutes(self, when: datetime, minutes: float) -> datetime:
        t = self.open_at_or_after(when)
        remaining = minutes
        while True:
            end_of_day = datetime.combine(t.date(), DAY_END, tzinfo=t.tzinfo)
            left = (end_of_day - t).total_seconds() / 60
            if remaining <= left:
                return t + timedelta(minutes=remaining)
            remaining -= left
            t = self.open_at_or_after(end_of_day)

    def lognormal_minutes(self, mean: float, sigma: float = 0.6) -> float:
        mu = math.log(mean) - sigma * sigma / 2
        return self.rng.lognormvariate(mu, sigma)

    # --- scheduling -----------------------------------------------------------------------

    def schedule(self, when: datetime, kind: str, **payload: Any) -> None:
        self.seq += 1
        heapq.heappush(self.queue, _Action(when, self.seq, kind, payload))

    def schedule_tasks(self, tasks: Sequence[Task], now: datetime) -> None:
        for task in tasks:
            self.scheduled.add(task.id)
            if task.for_applicant:
                days = self.rng.choice((1, 1, 2, 2, 3, 5))
                self.schedule(
                    self.add_work_minutes(now, days * WORK_MINUTES * self.rng.uniform(0.5, 1.0)),
                    "supplement",
                    case_id=task.case_id,
                )
            else:
                wait = self.lognormal_minutes(90 if task.lane and "窗口" in task.lane else 300, 0.9)
                self.schedule(self.add_work_minutes(now, wait), "claim", task_id=task.id)

    # --- actions --------------------------------------------------------------------------

    def run(self, fn: Callable[[Ctx], Any]) -> Any:
        return self.platform.run(fn)

    def arrive(self, service: ServiceItem) -> None:
        applicant = (
            self.pop.person()
            if service.applicant_kind == "person"
            else (
                self.pop.business()
                if service.applicant_kind == "business"
                else (self.pop.person() if self.rng.random() < 0.6 else self.pop.business())
            )
        )
        channel = self.rng.choices(("window", "online", "hotline"), (50, 45, 5))[0]
        known = {
            "applicant_name": applicant.name,
            "id_number": applicant.id_number,
            "credit_code": applicant.id_number,
            "company_name": applicant.name,
            "employer_name": applicant.name,
            "mobile": applicant.phone,
        }
        form = {
            f["name"]: self.form_value(f, known)
            for f in service.form_fields
            if f.get("required") or self.rng.random() < 0.7
        }

        def submit(ctx: Ctx) -> Any:
            found = intake.find_applicant(ctx, applicant.kind, applicant.id_number)
            live = catalog.get_service(ctx, service.code)
            checks = intake.check_completeness(ctx, live, found, ())
            needed = [
                c.code
                for c in checks
                if c.state != "on_file" and (c.required or self.rng.random() < 0.5)
            ]
            if self.rng.random() < 0.08 and needed:
                needed.pop(
                    self.rng.randrange(len(needed))
                )  # forgot one: turned away, told all at once
            uploads = [
                Upload(code, f"{code}.pdf", self.fake_pdf(applicant.id_number, code))
                for code in needed
            ]
            return flows.submit_application(
                ctx,
                service.code,
                applicant,
                channel=channel,
                form=form,
                uploads=uploads,
                actor=self.clerk() if channel == "window" else "portal",
            )

        try:
            submitted = self.run(submit)
        except intake.MaterialsMissing:
            self.summary.turned_away += 1
            self.schedule(
                self.add_work_minutes(self.clock.now(), WORK_MINUTES * self.rng.uniform(0.5, 3)),
                "arrive",
                service=service,
                retry=True,
            )
            return
        self.summary.cases += 1
        self.after_step(submitted.outcome)

    def claim(self, task_id: int) -> None:
        def do(ctx: Ctx) -> tuple[Task, str] | None:
            task = workflow.get_task(ctx, task_id)
            if task.status != "ready":
                return None
            username = self.pick_staff(ctx, task, busy=self.voices(ctx, task))
            workflow.claim_task(ctx, task_id, actor=catalog.get_staff(ctx, username))
            return task, username

        got = self.run(do)
        if got is None:
            return
        task, username = got
        minutes = self.lognormal_minutes(35, 0.5) * self.speed.get(username, 1.0)
        self.schedule(
            self.add_work_minutes(self.clock.now(), minutes),
            "complete",
            task_id=task_id,
            username=username,
        )

    def complete(self, task_id: int, username: str) -> None:
        def do(ctx: Ctx) -> workflow.StepOutcome | None:
            task = workflow.get_task(ctx, task_id)
            if task.status != "claimed":
                return None
            data = self.task_data(ctx, task)
            return workflow.complete_task(
                ctx, task_id, data, actor=catalog.get_staff(ctx, username)
            )

        outcome = self.run(do)
        if outcome is None:
            return
        self.after_step(outcome)

    def supplement(self, case_id: int) -> None:
        def do(ctx: Ctx) -> workflow.StepOutcome | None:
            case = workflow.get_case(ctx, case_id)
            if case.application_id is None or not any(
                t.for_applicant for t in workflow.open_tasks(ctx, case_id)
            ):
                return None
            application = intake.get_application(ctx, case.application_id)
            asked = [d for d in workflow.decisions_of_case(ctx, case_id) if d.missing_items]
            codes = asked[-1].missing_items if asked else []
            if not codes:
                service = catalog.get_service_by_id(ctx, application.service_item_id)
                codes = [self.rng.choice([m.code for m in service.materials])]
            ups = [
                Upload(c, f"{c}-v2.pdf", self.fake_pdf(application.number, c + "-v2"))
                for c in codes
            ]
            return flows.supplement(ctx, application.number, ups, actor="applicant")

        outcome = self.run(do)
        if outcome is not None:
            self.after_step(outcome)

    def after_step(self, outcome: workflow.StepOutcome) -> None:
        """Schedule the new tasks; a case that now waits for the PSB's background check gets
        it from the PSB's system after a while — sometimes after the 3-day timer has fired."""
        self.schedule_tasks(outcome.created, self.clock.now())
        if outcome.finished:
            self.summary.closed += 1
        case = outcome.case
        if case is None or case.id in self.checking or case.completed:
            return
        case_id = case.id
        if BACKGROUND_CHECK in self.run(
            lambda ctx: workflow.waits_for(ctx, workflow.get_case(ctx, case_id))
        ):
            self.checking.add(case_id)
            minutes = self.lognormal_minutes(WORK_MINUTES * 0.9, 1.1)
            self.schedule(
                self.add_work_minutes(self.clock.now(), minutes),
                "background_check",
                case_id=case_id,
            )

    def background_check(self, case_id: int) -> None:
        """The PSB's system answers: through the same message service its API calls use."""

        def do(ctx: Ctx) -> workflow.Received:
            case = workflow.get_case(ctx, case_id)
            flagged = self.rng.random() < 0.04
            return workflow.receive_message(
                ctx,
                sender="system:psb-background-check",
                message_id=f"bg-{case.number}",
                name=BACKGROUND_CHECK,
                case_number=case.number,
                payload={"check_result": "flagged" if flagged else "clear"},
            )

        received = self.run(do)
        if received.step is not None:
            self.after_step(received.step)

    def pick_up_new_tasks(self, since: datetime) -> None:
        """Tasks the worker's timers opened (e.g. a manual check after a late answer); the
        督办 tasks of escalations are left to end with the task they escalate."""

        def do(ctx: Ctx) -> list[Task]:
            return [
                t
                for t in workflow.open_tasks_created_since(ctx, since)
                if t.id not in self.scheduled and t.escalates_task_id is None
            ]

        self.schedule_tasks(self.run(do), self.clock.now())

    # --- choices --------------------------------------------------------------------------

    def clerk(self) -> str:
        return self.rng.choice(self.clerks)

    def voices(self, ctx: Ctx, task: Task) -> set[str]:
        """Who already has a voice in the 会签 round of ``task`` (one each)."""
        if task.instance_no is None:
            return set()
        return {
            who
            for t in workflow.tasks_of_case(ctx, task.case_id)
            if t.id != task.id
            and t.element_id == task.element_id
            and t.created_at == task.created_at
            for who in (t.claimed_by, t.completed_by)
            if who
        }

    def pick_staff(self, ctx: Ctx, task: Task, busy: set[str] | None = None) -> str:
        if task.department_id is None:
            raise AssertionError("applicant tasks are not claimed by staff")
        dept = next(d for d in catalog.list_departments(ctx) if d.id == task.department_id)
        staff = [
            s
            for s in catalog.list_staff(ctx, dept.code)
            if set(s.roles) & {"clerk", "reviewer"} and s.username not in (busy or set())
        ]
        if not staff:
            staff = [s for s in catalog.list_staff(ctx, dept.code) if "head" in s.roles]
        chosen = self.rng.choice(staff).username
        if chosen not in self.speed:
            # A few staff are markedly slower: the training module should find them.
            slow = self.rng.random() < 0.15
            self.speed[chosen] = self.rng.uniform(1.8, 2.6) if slow else self.rng.uniform(0.8, 1.2)
        return chosen

    def task_data(self, ctx: Ctx, task: Task) -> dict[str, Any]:
        """What a member of staff enters: only options the step offers, an opinion, and for a
        refusal or 补正 the reasons the law asks for."""
        case = workflow.get_case(ctx, task.case_id)
        data: dict[str, Any] = {}
        for f in task.form_fields:
            if f["id"] not in ("decision", "comment", "missing_materials") and f.get("required"):
                data[f["id"]] = self.form_value(
                    {"type": f.get("type", "string"), "name": f["id"], "options": f.get("options")}
                )
        decision = next((f for f in task.form_fields if f["id"] == "decision"), None)
        options = list(decision.get("options", [])) if decision else []
        if case.application_id is None:
            data["comment"] = self.rng.choice(values.DONE_OPINIONS)
            if options:
                data["decision"] = options[0]
            return data
        application = intake.get_application(ctx, case.application_id)
        service = catalog.get_service_by_id(ctx, application.service_item_id)
        at_acceptance = task.element_id == service.acceptance_task
        key = (task.case_id, task.element_id)
        fresh = key not in self.sent_back
        if not options:
            data["comment"] = self.rng.choice(values.DONE_OPINIONS)
            return data
        data["decision"] = "approve"
        data["comment"] = self.rng.choice(
            values.ACCEPT_OPINIONS if at_acceptance else values.APPROVE_OPINIONS
        )
        roll = self.rng.random()
        p_send_back = self.opts.p_incomplete_at_desk if at_acceptance else self.opts.p_send_back
        p_reject = self.opts.p_not_accepted if at_acceptance else self.opts.p_reject
        if "send_back" in options and fresh and roll < p_send_back:
            data["decision"] = "send_back"
            codes = [m.code for m in service.materials]
            data["missing_materials"] = self.rng.sample(
                codes, k=min(len(codes), self.rng.choice((1, 1, 2)))
            )
            data["comment"] = self.rng.choice(values.SEND_BACK_NOTES)
            self.sent_back.add(key)
        elif "rectify" in options and fresh and roll < p_send_back:
            # 限期整改 on site: the applicant puts the site right, then it is inspected again
            data["decision"] = "rectify"
            data["comment"] = self.rng.choice(values.RECTIFY_NOTES)
            self.sent_back.add(key)
        elif "reject" in options and roll > 1 - p_reject:
            why = values.refusal(self.rng, service.code, at_acceptance=at_acceptance)
            data.update(decision="reject", reason=why.reason, legal_basis=why.legal_basis)
            data["comment"] = why.reason
        return data

    def form_value(self, f: dict[str, Any], known: dict[str, Any] | None = None) -> Any:
        return values.form_value(
            self.rng,
            f,
            today=self.clock.now().date(),
            name=self.faker.name(),
            extra=known or {},
        )

    def fake_pdf(self, owner: str, code: str) -> bytes:
        body = f"onewindow demo material {code} of {owner}".encode()
        return b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n" + body + b"\n%%EOF\n"


def seed_demo(
    platform: Platform, opts: DemoOptions, *, console: Console | None = None
) -> DemoSummary:
    """Load the demo catalogue and, on an empty database, generate ``opts.weeks`` of cases."""
    console = console or Console(stderr=True)
    with platform.unit_of_work() as ctx:
        catalog.load_catalog(ctx, CITY, actor="demo")
        shared = hash_password(DEMO_PASSWORD)  # one hash for all: argon2 is slow on purpose
        for staff in catalog.list_staff(ctx):
            if not security.has_password(ctx, staff):
                security.set_password_hash(ctx, staff, shared, actor="demo")
        already = intake.count_applications(ctx)
        logins = [
            (s.username, s.department.code, ",".join(s.roles)) for s in catalog.list_staff(ctx)
        ]
        services = {s.code: s for s in catalog.list_services(ctx)}
    summary = DemoSummary(logins=logins)
    if already:
        console.print(f"demo data already present ({already} cases); use --reset to regenerate")
        return _totals(platform, summary)
    if opts.weeks == 0:
        return _totals(platform, summary)

    cal = platform.calendar
    now = datetime.now(cal.zone)
    # By default the history ends now, so the served city's queues and overdue cases are live.
    start_day = opts.start or (now.date() - timedelta(weeks=opts.weeks))
    start = datetime.combine(start_day, DAY_START, tzinfo=cal.zone)
    end = start + timedelta(weeks=opts.weeks)
    if opts.start is None:
        end = min(end, now)
    clock = ManualClock(start)
    sim_platform = Platform(platform.settings, platform.engine, platform.sessions, clock, cal)
    city = _City(sim_platform, clock, opts)
    city.summary = summary
    city.clerks = [u for u, dept, roles in logins if dept == "CENTER" and "clerk" in roles]
    weights = [(services[c], w) for c, w in SERVICE_WEIGHTS.items() if c in services]
    for s in services.values():
        if s.code not in SERVICE_WEIGHTS:
            weights.append((s, 5))

    _schedule_arrivals(city, weights, start_day, end, opts.cases_per_day)
    _simulate(city, end, console)
    summary.city, summary.ended_at = city, end
    return _totals(platform, summary)


def _schedule_arrivals(
    city: _City,
    weights: list[tuple[ServiceItem, int]],
    first_day: date,
    end: datetime,
    cases_per_day: int,
) -> None:
    cal = city.platform.calendar
    day = first_day
    while day < end.date():
        if cal.is_workday(day):
            n = _poisson(city.rng, cases_per_day)
            for _ in range(n):
                at = datetime.combine(day, DAY_START, tzinfo=cal.zone) + timedelta(
                    minutes=city.rng.uniform(0, WORK_MINUTES - 1)
                )
                service = city.rng.choices([s for s, _ in weights], [w for _, w in weights])[0]
                city.schedule(at, "arrive", service=service)
            city.schedule(datetime.combine(day, DAY_END, tzinfo=cal.zone), "day_end")
        day += timedelta(days=1)


def _simulate(city: _City, end: datetime, console: Console) -> None:
    """Run the queued actions up to ``end``; later ones stay queued for a continuation."""
    total = sum(1 for a in city.queue if a.when < end)
    done = 0
    with Progress(
        TextColumn("[bold]demo city[/] {task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} actions"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        bar = progress.add_task("simulating", total=total)
        while city.queue:
            if city.queue[0].when >= end:
                break
            action = heapq.heappop(city.queue)
            city.clock.set(action.when)
            queued = len(city.queue)
            try:
                _dispatch(city, action)
            except OneWindowError as exc:  # a demo step that breaks a rule is skipped, not fatal
                console.print(f"[yellow]skipped {action.kind}: {exc}")
            done += 1
            total += len(city.queue) - queued  # what this action scheduled (most before end)
            progress.update(
                bar, completed=done, total=max(total, done), description=f"{action.when:%Y-%m-%d}"
            )
        progress.update(bar, completed=done, total=done)  # the rest lies after ``end``
    if city.clock.now() < end:
        city.clock.set(end)


def continue_city(
    history: DemoSummary,
    weeks: int,
    *,
    speed: Mapping[str, float] | Callable[[str, float], float] | None = None,
    cases_per_day: int | None = None,
    console: Console | None = None,
) -> DemoSummary:
    """Run the city of ``history`` on for ``weeks`` more weeks from where it stopped.

    ``speed`` changes staff speed factors first: a mapping of new factors, or a function of
    (username, old factor) -> new factor (how the demo lets trained staff catch up). The
    pending work (claimed tasks, waiting applicants) carries over; the run never goes past
    the real present. Returns the same summary, updated, ready to be continued again.
    """
    console = console or Console(stderr=True)
    city, start = history.city, history.ended_at
    if city is None or start is None:
        raise ValueError("this demo summary has no simulation to continue")
    if isinstance(speed, Mapping):
        city.speed.update(speed)
    elif speed is not None:
        city.speed = {who: speed(who, factor) for who, factor in city.speed.items()}
    end = min(start + timedelta(weeks=weeks), datetime.now(city.platform.calendar.zone))
    if end <= start:
        return history
    with city.platform.unit_of_work() as ctx:
        services = {s.code: s for s in catalog.list_services(ctx)}
    weights = [(services[c], w) for c, w in SERVICE_WEIGHTS.items() if c in services]
    weights += [(s, 5) for s in services.values() if s.code not in SERVICE_WEIGHTS]
    first = city._local(start).date()
    if city._local(start).time() > DAY_START:  # that day's arrivals belong to the history
        first += timedelta(days=1)
    _schedule_arrivals(city, weights, first, end, cases_per_day or city.opts.cases_per_day)
    _simulate(city, end, console)
    history.ended_at = end
    return _totals(city.platform, history)


def _dispatch(city: _City, action: _Action) -> None:
    p = action.payload
    if action.kind == "arrive":
        city.arrive(p["service"])
    elif action.kind == "claim":
        city.claim(p["task_id"])
    elif action.kind == "complete":
        city.complete(p["task_id"], p["username"])
    elif action.kind == "supplement":
        city.supplement(p["case_id"])
    elif action.kind == "background_check":
        city.background_check(p["case_id"])
    elif action.kind == "day_end":
        since = city.clock.now()
        workflow_pass(city.platform)
        city.pick_up_new_tasks(since)


def workflow_pass(platform: Platform) -> None:
    from onewindow.workflow.tasks import run_worker_pass

    run_worker_pass(platform)


def _totals(platform: Platform, summary: DemoSummary) -> DemoSummary:
    with platform.unit_of_work() as ctx:
        counts = intake.status_counts(ctx)
        summary.cases = sum(counts.values())
        summary.closed = sum(counts.get(s, 0) for s in intake.CLOSED_STATUSES)
        summary.returns = intake.total_returns(ctx)
        summary.events = eventlog.count(ctx)
    return summary


def _poisson(rng: random.Random, lam: float) -> int:
    # Knuth's method is fine for the small rates a city's day has.
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
