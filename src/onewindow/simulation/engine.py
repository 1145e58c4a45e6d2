"""Discrete-event simulation of a BPMN process on SimPy.

Each case is a set of tokens walking the model: a task waits for a free member of its
lane's staff (a ``simpy.Resource`` of the lane's size), works for a sampled duration on the
lane's office hours, and hands on to the next element; exclusive gateways draw a branch,
parallel ones split and join, inclusive ones take each branch with its own probability.
A gateway with probabilities for repeat passes (``gateways_on_repeat``) uses them from a
case's second pass through it on.
Applicant tasks (补正) have no queue: their duration is the applicant's response time, on
the wall clock. Boundary timers fire their flow when the task is not done in time
(interrupting ones cancel it).

The event log is kept in flat lists while running and becomes a polars frame with XES
column names only when asked for: the arrival (``提交申请``) as each case's first event,
``start``/``complete`` per task, a ``补正通知`` when a case goes back to the applicant and
``办结`` when it ends — the same shape as the platform's own log, so every analysis of the
mining module runs on a simulated log unchanged.
"""

from __future__ import annotations

import math
import random
import time as wallclock
from collections import deque
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any, Final, cast

import polars as pl

from onewindow.kit.calendar import WorkingCalendar, default_calendar
from onewindow.simulation.model import Node, ProcessModel, parse_model
from onewindow.simulation.params import (
    ArrivalSpec,
    ModelBinding,
    SimParams,
    bind,
    parse_params,
)
from onewindow.simulation.workhours import OfficeHours

__all__ = [
    "DEFAULT_START",
    "Estimate",
    "Replications",
    "RunResult",
    "compare_replications",
    "replicate",
    "simulate",
]

# A Monday 09:00 in Shanghai: runs without a start date are reproducible.
DEFAULT_START: Final = datetime.fromisoformat("2026-03-02T09:00:00+08:00")
_TASK, _XOR, _AND, _OR, _END, _TIMER, _PASS, _CATCH, _EBG = range(9)
_KINDS: Final = {
    "task": _TASK,
    "xor": _XOR,
    "and": _AND,
    "or": _OR,
    "end": _END,
    "timer": _TIMER,
    "event": _PASS,
    "start": _PASS,
    "catch": _CATCH,
    "ebg": _EBG,
}
_COMPLETE, _START = 0, 1


class _Pool:
    """A lane's staff: free members, and the tasks waiting for one (first come, first served).

    Lighter than ``simpy.Resource``: a task that finds someone free takes them without
    scheduling an event; one that waits gets an event the next release succeeds with the
    member's number.
    """

    __slots__ = ("free", "waiting", "ids", "hours", "busy", "count", "label")

    def __init__(self, label: str, count: int, hours: OfficeHours | None) -> None:
        self.label = label
        self.count = count
        self.ids: list[int] = []  # indexes into RunResult.resources
        self.free: deque[int] = deque(range(count))
        self.waiting: deque[Any] = deque()
        self.hours = hours
        self.busy = 0.0  # minutes of work done (working minutes on office hours)


class _Node:
    __slots__ = (
        "id",
        "kind",
        "targets",
        "cum",
        "probs",
        "repeat_cum",
        "repeat_probs",
        "n_in",
        "pool",
        "sample",
        "act",
        "logged",
        "timers",
        "returns",
        "in_person",
        "delay",
        "join",
        "hours",
        "multi",
        "sequential",
        "boundaries",
        "wait",
        "options",
        "automated",
        "scope_split",
        "scope_join",
    )

    def __init__(self, node_id: str, kind: int) -> None:
        self.id = node_id
        self.kind = kind
        self.targets: list[str] = []
        self.cum: list[float] = []
        self.probs: list[float] = []
        self.repeat_cum: list[float] = []  # empty: the same table on every pass
        self.repeat_probs: list[float] = []
        self.n_in = 1
        self.pool: _Pool | None = None
        self.sample: Callable[[], float] = lambda: 0.0
        self.act = -1
        self.logged = True
        self.timers: list[tuple[float, bool, list[str], int | None]] = []
        self.returns = False
        self.in_person = False
        self.delay = 0.0
        self.join: str | None = None  # inclusive split: the join that waits for its branches
        self.hours: OfficeHours | None = None  # a human task without a staff pool
        self.multi: tuple[int, int] | None = None  # (instances, complete after)
        self.sequential = False
        self.boundaries: list[tuple[float, bool, list[str]]] = []
        self.wait: Callable[[], float] | None = None  # catch events: the message's arrival
        self.options: list[tuple[Callable[[], float], list[str]]] = []  # event-based gateway
        self.automated = False
        # A multi-instance sub-process: its entry starts ``scope_split`` parallel instances;
        # its exit (entry id, instances, complete after, sequential) lets the token on
        # after that many (sequential: sends it back to the entry until then).
        self.scope_split = 0
        self.scope_join: tuple[str, int, int, bool] | None = None


class _Case:
    __slots__ = ("index", "arrived", "tokens", "joins", "expect", "done", "passes")

    def __init__(self, index: int, arrived: float) -> None:
        self.index = index
        self.arrived = arrived
        self.tokens = 1
        self.joins: dict[str, int] = {}
        self.expect: dict[str, int] = {}
        self.done = -1.0
        self.passes: set[str] = set()  # gateways with repeat tables this case has passed

    def repeat(self, node_id: str) -> bool:
        """Whether the case passed ``node_id`` before; records this pass."""
        if node_id in self.passes:
            return True
        self.passes.add(node_id)
        return False


@dataclass
class RunResult:
    """One simulation run: KPIs and (when recorded) the event log in flat columns."""

    start: datetime
    zone: str
    activities: list[str]
    activity_ids: list[str | None]
    resources: list[str]
    groups: list[str | None]
    cases: int = 0
    completed: int = 0
    events: int = 0
    simpy_steps: int = 0
    seconds: float = 0.0
    horizon_minutes: float = 0.0
    cycle_minutes: list[float] = field(default_factory=list)
    wait_sum: dict[str, float] = field(default_factory=dict)
    wait_count: dict[str, int] = field(default_factory=dict)
    returns: int = 0
    trips: int = 0
    utilization: dict[str, float] = field(default_factory=dict)
    log_case: list[int] = field(default_factory=list)
    log_act: list[int] = field(default_factory=list)
    log_time: list[float] = field(default_factory=list)
    log_life: list[int] = field(default_factory=list)
    log_res: list[int] = field(default_factory=list)

    def kpis(self) -> dict[str, float]:
        """Case KPIs in hours (cycle time over completed cases) and per-case counts."""
        cycles = sorted(self.cycle_minutes)
        out = {
            "cases": float(self.cases),
            "completed": float(self.completed),
            "cycle_mean_h": _mean(cycles) / 60,
            "cycle_median_h": _quantile(cycles, 0.5) / 60,
            "cycle_p90_h": _quantile(cycles, 0.9) / 60,
            "returns_per_case": self.returns / self.cases if self.cases else 0.0,
            "trips_per_case": self.trips / self.cases if self.cases else 0.0,
        }
        for task, total in self.wait_sum.items():
            count = self.wait_count.get(task, 0)
            out[f"wait_h:{task}"] = total / count / 60 if count else 0.0
        for lane, value in self.utilization.items():
            out[f"utilization:{lane}"] = value
        return out

    def frame(self) -> pl.DataFrame:
        """The event log with XES column names, in case then time order."""
        origin = self.start.astimezone(UTC).replace(tzinfo=None)
        zone = self.zone
        n = len(self.log_case)
        acts = pl.Series("a", self.activities, dtype=pl.String)
        ids = pl.Series("i", self.activity_ids, dtype=pl.String)
        res = pl.Series("r", ["", *self.resources], dtype=pl.String)
        groups = pl.Series("g", self.groups, dtype=pl.String)
        raw = pl.DataFrame(
            {
                "case": pl.Series(self.log_case, dtype=pl.Int64),
                "act": pl.Series(self.log_act, dtype=pl.UInt32),
                "t": pl.Series(self.log_time, dtype=pl.Float64),
                "life": pl.Series(self.log_life, dtype=pl.Int8),
                "res": pl.Series([r + 1 for r in self.log_res], dtype=pl.UInt32),
                "order": pl.Series(range(n), dtype=pl.Int64),
            }
        )
        base = pl.lit(origin, dtype=pl.Datetime("us")).dt.replace_time_zone("UTC")
        raw = raw.sort(["case", "t", "order"])
        act, res_idx = raw["act"], raw["res"]
        frame = raw.select(
            pl.format("SIM-{}", pl.col("case").cast(pl.String).str.zfill(7)).alias(
                "case:concept:name"
            ),
            acts.gather(act).alias("concept:name"),
            (base + pl.duration(milliseconds=(pl.col("t") * 60_000).round(0).cast(pl.Int64)))
            .dt.convert_time_zone(zone)
            .alias("time:timestamp"),
            pl.when(pl.col("life") == _START)
            .then(pl.lit("start"))
            .otherwise(pl.lit("complete"))
            .alias("lifecycle:transition"),
            res.gather(res_idx).alias("org:resource"),
            groups.gather(act).alias("org:group"),
            ids.gather(act).alias("activity_id"),
        )
        return frame


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def _quantile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return math.nan
    pos = q * (len(sorted_values) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (pos - lo) * (sorted_values[hi] - sorted_values[lo])


class _Simulation:
    def __init__(
        self,
        model: ProcessModel,
        params: SimParams,
        binding: ModelBinding,
        *,
        seed: int,
        start: datetime,
        calendar: WorkingCalendar,
        record_log: bool,
        log_automated: bool = False,
    ) -> None:
        import simpy  # here, not at import: the web server loads this module without simulating

        self.env = simpy.Environment()
        self.interrupt = simpy.Interrupt
        self.rng = random.Random(seed)  # noqa: S311 - simulation, not secrets
        self.params = params
        self.record = record_log
        self.log_automated = log_automated
        self.start = start
        self.calendar = calendar
        opens, closes = params.hours
        self.office = OfficeHours(start, calendar, opens, closes)
        names = params.names
        self.result = RunResult(
            start=start,
            zone=calendar.tz,
            activities=[names["arrival"], names["end"], names["returned"]],
            activity_ids=[None, None, None],
            resources=[],
            groups=[None, None, None],
        )
        self.pools: dict[str, _Pool] = {}
        for lane in binding.lanes.values():
            hours = self.office if lane.calendar == "working_days" else None
            pool = _Pool(lane.label, lane.count, hours)
            offset = len(self.result.resources)
            self.result.resources.extend(f"{lane.label}-{i + 1}" for i in range(lane.count))
            pool.ids = list(range(offset, offset + lane.count))
            self.pools[lane.lane_id] = pool
        self.nodes = self._compile(model, binding)
        starts = model.start_events
        first = starts[0]
        self.first_targets = [model.flows[f].target for f in first.outgoing]

    def _compile(self, model: ProcessModel, binding: ModelBinding) -> dict[str, _Node]:
        nodes: dict[str, _Node] = {}
        for node in model.nodes.values():
            c = _Node(node.id, _KINDS[node.kind])
            c.targets = [model.flows[f].target for f in node.outgoing]
            if node.tag == "receiveTask" and self.log_automated:
                # A system's wait, written to the log with the automated tasks.
                c.act = self._activity(model, node)
            c.n_in = max(1, len(node.incoming))
            c.delay = node.delay_minutes
            if node.kind == "task":
                c.automated = node.automated
                lane_binding = binding.lanes.get(node.lane or "")
                # Automated tasks take no staff and keep no office hours; human tasks keep
                # their lane's calendar (the run's calendar when the lane has no pool).
                c.pool = None if node.automated else self.pools.get(node.lane or "")
                if c.pool is not None and c.pool.count == 0:
                    c.pool = None
                applicant = node.id in binding.applicant_tasks
                calendar = lane_binding.calendar if lane_binding else self.params.calendar
                if c.pool is None and not node.automated and not applicant:
                    c.hours = self.office if calendar == "working_days" else None
                dist = binding.durations.get(node.id)
                c.sample = dist.sampler(self.rng) if dist is not None else (lambda: 0.0)
                c.logged = not node.automated or self.log_automated
                if node.id in binding.multi:
                    c.multi = binding.multi[node.id]
                    c.sequential = node.multi is not None and node.multi.sequential
                c.returns = node.id in binding.applicant_tasks
                c.in_person = node.id in binding.in_person
                if c.logged:
                    c.act = self._activity(model, node)
            if node.kind in ("xor", "or") and node.id in binding.branches:
                table = binding.branches[node.id]
                c.targets = [model.flows[f].target for f, _ in table]
                c.probs, c.cum = _cumulative(table)
                if node.id in binding.repeat_branches:
                    c.repeat_probs, c.repeat_cum = _cumulative(binding.repeat_branches[node.id])
            nodes[node.id] = c
        for timer in model.timers.values():
            nodes[timer.attached_to].timers.append(
                (
                    timer.minutes,
                    timer.interrupting,
                    [model.flows[f].target for f in timer.outgoing],
                    timer.repeats,
                )
            )
        for boundary in model.boundaries.values():
            p = binding.boundary.get(boundary.id, 0.0)
            if p > 0 and boundary.outgoing:
                nodes[boundary.attached_to].boundaries.append(
                    (p, boundary.interrupting, [model.flows[f].target for f in boundary.outgoing])
                )
        for exit_id, (entry_id, scope) in model.multi_scopes.items():
            if exit_id not in binding.multi:
                continue
            n, k = binding.multi[exit_id]
            nodes[exit_id].scope_join = (entry_id, n, k, scope.sequential)
            if not scope.sequential:
                nodes[entry_id].scope_split = n
        for node in model.nodes.values():
            if node.kind == "catch" and node.id in binding.messages:
                nodes[node.id].wait = binding.messages[node.id].sampler(self.rng)
        for node in model.nodes.values():
            c = nodes[node.id]
            if node.kind == "ebg":
                for target in c.targets:
                    event = nodes[target]
                    if event.kind == _TIMER:
                        c.options.append((_constant(event.delay), event.targets))
                    else:
                        wait = event.wait or (lambda: 0.0)
                        c.options.append((wait, event.targets))
        for node in model.nodes.values():
            if node.kind == "or" and len(node.outgoing) > 1:
                nodes[node.id].join = _matching_join(model, node.id)
        return nodes

    def _activity(self, model: ProcessModel, node: Node) -> int:
        """A new activity of the log (its index) for a task or receive task."""
        res = self.result
        res.activities.append(node.name or node.id)
        res.activity_ids.append(node.id)
        lane = model.lanes.get(node.lane or "")
        res.groups.append(lane.label if lane else None)
        return len(res.activities) - 1

    # --- log --------------------------------------------------------------------------------

    def _log(self, case: int, act: int, when: float, life: int, res: int) -> None:
        r = self.result
        r.events += 1
        if self.record:
            r.log_case.append(case)
            r.log_act.append(act)
            r.log_time.append(when)
            r.log_life.append(life)
            r.log_res.append(res)

    # --- arrivals ---------------------------------------------------------------------------

    def arrivals(self, count: int, spec: ArrivalSpec) -> Generator[Any, Any, None]:
        env, rng = self.env, self.rng
        working = self.params.calendar == "working_days"
        if spec.interarrival is not None:
            gap = spec.interarrival.sampler(rng)
            work = 0.0
            now_wall = 0.0
            for i in range(count):
                if working:
                    work += gap()
                    now_wall = self.office.to_wall_start(work)
                else:
                    now_wall += gap()
                yield env.timeout(now_wall - env.now)
                self._arrive(i)
            return
        assert spec.rates is not None
        flat = [r / 60.0 for row in spec.rates for r in row]  # per minute, Monday 00:00 first
        peak = max(flat)
        local = self.start.astimezone(self.calendar.zone)
        week_offset = local.weekday() * 1440 + local.hour * 60 + local.minute + local.second / 60
        day0 = local.date()
        workday_cache: dict[int, bool] = {}
        t = 0.0
        for i in range(count):
            while True:
                t += rng.expovariate(peak)
                minute = week_offset + t
                rate = flat[int(minute // 60) % 168]
                if working and rate > 0:
                    day = int(minute // 1440) - local.weekday()
                    ok = workday_cache.get(day)
                    if ok is None:
                        ok = self.calendar.is_workday(day0 + timedelta(days=day))
                        workday_cache[day] = ok
                    if not ok:
                        rate = 0.0
                if rng.random() * peak < rate:
                    break
            yield env.timeout(t - env.now)
            self._arrive(i)

    def replayed_arrivals(self, minutes: Sequence[float]) -> Generator[Any, Any, None]:
        """Cases arriving at given wall minutes since the start (a log's own arrivals)."""
        for i, when in enumerate(sorted(minutes)):
            yield self.env.timeout(max(0.0, when - self.env.now))
            self._arrive(i)

    def _arrive(self, index: int) -> None:
        now = self.env.now
        case = _Case(index, now)
        self.result.cases += 1
        self._log(index, 0, now, _COMPLETE, -1)
        targets = self.first_targets
        case.tokens = len(targets)
        for target in targets:
            self.env.process(self.token(case, target))

    # --- tokens -----------------------------------------------------------------------------

    def _spawn(self, case: _Case, target: str) -> None:
        case.tokens += 1
        self.env.process(self.token(case, target))

    def _finish_token(self, case: _Case) -> None:
        case.tokens -= 1
        if case.tokens == 0 and case.done < 0:
            now = self.env.now
            case.done = now
            r = self.result
            r.completed += 1
            r.cycle_minutes.append(now - case.arrived)
            self._log(case.index, 1, now, _COMPLETE, -1)

    def token(self, case: _Case, node_id: str) -> Generator[Any, Any, None]:
        nodes = self.nodes
        rng_random = self.rng.random
        while True:
            node = nodes[node_id]
            kind = node.kind
            if kind == _TASK:
                override = yield from self._task(case, node)
                targets = override if override is not None else node.targets
                if not targets:
                    self._finish_token(case)
                    return
                for extra in targets[1:]:
                    self._spawn(case, extra)
                node_id = targets[0]
            elif kind == _XOR and node.scope_join is not None:
                entry, n, k, sequential = node.scope_join
                seen = case.joins.get(node_id, 0) + 1
                case.joins[node_id] = 0 if seen >= (k if sequential else n) else seen
                if sequential and seen < k:
                    node_id = entry  # the next instance
                    continue
                if seen != k:
                    # Instances before the k-th wait for it; those after it end here.
                    self._finish_token(case)
                    return
                node_id = node.targets[0]
            elif kind == _XOR:
                if node.cum:
                    u = rng_random()
                    cum = node.cum
                    if node.repeat_cum and case.repeat(node_id):
                        cum = node.repeat_cum
                    i = 0
                    while i < len(cum) - 1 and u >= cum[i]:
                        i += 1
                    node_id = node.targets[i]
                else:
                    node_id = node.targets[0]
            elif kind == _AND:
                if node.n_in > 1:
                    seen = case.joins.get(node_id, 0) + 1
                    if seen < node.n_in:
                        case.joins[node_id] = seen
                        case.tokens -= 1
                        return
                    case.joins[node_id] = 0
                for extra in node.targets[1:]:
                    self._spawn(case, extra)
                node_id = node.targets[0]
            elif kind == _OR:
                if node.n_in > 1:
                    need = case.expect.get(node_id, node.n_in)
                    seen = case.joins.get(node_id, 0) + 1
                    if seen < need:
                        case.joins[node_id] = seen
                        case.tokens -= 1
                        return
                    case.joins[node_id] = 0
                    case.expect.pop(node_id, None)
                if len(node.targets) > 1:
                    probs = node.probs
                    if node.repeat_probs and case.repeat(node_id):
                        probs = node.repeat_probs
                    chosen = [
                        t for t, p in zip(node.targets, probs, strict=True) if rng_random() < p
                    ]
                    if not chosen:
                        best = max(range(len(probs)), key=probs.__getitem__)
                        chosen = [node.targets[best]]
                    if node.join is not None:
                        case.expect[node.join] = len(chosen)
                    for extra in chosen[1:]:
                        self._spawn(case, extra)
                    node_id = chosen[0]
                else:
                    node_id = node.targets[0]
            elif kind == _END:
                self._finish_token(case)
                return
            elif kind == _TIMER:
                yield self.env.timeout(node.delay)
                for extra in node.targets[1:]:
                    self._spawn(case, extra)
                node_id = node.targets[0]
            elif kind == _CATCH:
                delay = node.wait() if node.wait is not None else 0.0
                timed_out = self._catch_timers(case, node, delay) if node.timers else None
                if timed_out is not None:
                    delay, targets = timed_out
                else:
                    targets = []
                if node.act >= 0:
                    self._log(case.index, node.act, self.env.now, _START, -1)
                if delay > 0:
                    yield self.env.timeout(delay)
                if node.act >= 0 and timed_out is None:
                    self._log(case.index, node.act, self.env.now, _COMPLETE, -1)
                targets = targets or self._fired(case, node) or node.targets
                for extra in targets[1:]:
                    self._spawn(case, extra)
                node_id = targets[0]
            elif kind == _EBG:
                # The first of the gateway's timer and message events wins.
                first = math.inf
                after = node.targets
                for draw, targets in node.options:
                    drawn = draw()
                    if drawn < first:
                        first, after = drawn, targets
                if first > 0:
                    yield self.env.timeout(first)
                for extra in after[1:]:
                    self._spawn(case, extra)
                node_id = after[0]
            else:
                # Events (and a start) with several outgoing flows split in parallel.
                for extra in node.targets[1:]:
                    self._spawn(case, extra)
                for _ in range(node.scope_split - 1):  # a multi-instance sub-process
                    for target in node.targets:
                        self._spawn(case, target)
                node_id = node.targets[0]

    def _task(self, case: _Case, node: _Node) -> Generator[Any, Any, list[str] | None]:
        enabled = self.env.now
        r = self.result
        if node.returns:
            r.returns += 1
            self._log(case.index, 2, enabled, _COMPLETE, -1)
        state: list[Any] = [False, None]  # done, interrupting timer that fired
        if node.timers:
            self._arm_timers(case, node, state)
        # Error / escalation / message boundaries are drawn as the task begins: a
        # non-interrupting one starts its branch while the task goes on, an interrupting
        # one ends the task (its work is spent, it is not completed) and leads on instead.
        raised = self._fired(case, node) if node.boundaries else None
        try:
            if node.multi is not None:
                yield from self._multi(case, node, enabled, raised is None)
            else:
                yield from self._work(case, node, enabled, raised is None)
        except self.interrupt:
            state[0] = True
            targets: list[str] = state[1]
            return targets
        state[0] = True
        if node.in_person:
            r.trips += 1
        return raised

    def _catch_timers(
        self, case: _Case, node: _Node, wait: float
    ) -> tuple[float, list[str]] | None:
        """Boundary timers on a receive task waiting ``wait`` minutes for its message: the
        first interrupting one due before then (its time and targets), else None; the
        non-interrupting ones due before then start their branches when due."""
        first: tuple[float, list[str]] | None = None
        for minutes, interrupting, targets, _ in node.timers:
            if interrupting and minutes < wait and (first is None or minutes < first[0]):
                first = (minutes, targets)
        until = wait if first is None else first[0]
        for minutes, interrupting, targets, repeats in node.timers:
            if interrupting or minutes <= 0:
                continue
            k = 1
            while k * minutes < until and (repeats is None or k <= repeats):
                for target in targets:
                    self.env.timeout(k * minutes).callbacks.append(
                        partial(self._spawn_later, case, target)
                    )
                k += 1
        return first

    def _spawn_later(self, case: _Case, target: str, _: Any) -> None:
        self._spawn(case, target)

    def _fired(self, case: _Case, node: _Node) -> list[str] | None:
        """Boundary events (error, escalation, message…) drawn for one task: the targets of
        an interrupting one that fires, else None (non-interrupting ones that fire start
        their branch)."""
        chosen: list[str] | None = None
        for p, interrupting, targets in node.boundaries:
            if self.rng.random() >= p:
                continue
            if interrupting:
                if chosen is None:
                    chosen = targets
            else:
                for target in targets:
                    self._spawn(case, target)
        return chosen

    def _multi(
        self, case: _Case, node: _Node, enabled: float, completes: bool = True
    ) -> Generator[Any, Any, None]:
        """A multi-instance task: ``complete after`` of its instances, in parallel (the rest
        cancelled then) or one after another."""
        assert node.multi is not None
        instances, needed = node.multi
        env = self.env
        if node.sequential:
            for _ in range(needed):
                yield from self._work(case, node, env.now, completes)
            return
        done = [0]
        finished = env.event()
        wanted = [True]  # false once the condition holds: an instance ending then is cancelled

        def one() -> Generator[Any, Any, None]:
            try:
                yield from self._work(case, node, enabled, completes, wanted)
            except self.interrupt:
                return
            done[0] += 1
            if done[0] >= needed and not finished.triggered:
                wanted[0] = False
                finished.succeed()

        children = [env.process(one()) for _ in range(instances)]
        try:
            yield finished
        finally:
            for child in children:
                if child.is_alive and child is not env.active_process:
                    child.interrupt("completion condition")

    def _work(
        self,
        case: _Case,
        node: _Node,
        enabled: float,
        completes: bool = True,
        wanted: list[bool] | None = None,
    ) -> Generator[Any, Any, None]:
        """One instance of a task: wait for staff (if the lane has a pool), work on the
        office hours (staff and human tasks), log start and (unless a boundary event
        interrupted it) complete."""
        env = self.env
        r = self.result
        pool = node.pool
        if pool is None:
            duration = node.sample()
            hours = node.hours
            now = env.now
            if hours is None:
                began, ends = now, now + duration
            else:
                began = now if hours.is_open(now) else hours.to_wall_start(hours.to_work(now))
                ends = hours.finish(began, duration)
            if ends > now:
                yield env.timeout(ends - now)
            completes = completes and (wanted is None or wanted[0])
            if node.logged:
                self._log(case.index, node.act, began, _START, -1)
                if completes:
                    self._log(case.index, node.act, ends, _COMPLETE, -1)
            return
        if pool.free:
            who = pool.free.popleft()
        else:
            ticket = env.event()
            pool.waiting.append(ticket)
            try:
                who = yield ticket
            except self.interrupt:
                if ticket.triggered:  # handed a member just now: give them back
                    self._release(pool, cast(int, ticket.value))
                else:
                    pool.waiting.remove(ticket)
                raise
        try:
            granted = env.now
            duration = node.sample()
            hours = pool.hours
            if hours is None:
                began, ends = granted, granted + duration
            else:
                began = (
                    granted
                    if hours.is_open(granted)
                    else hours.to_wall_start(hours.to_work(granted))
                )
                ends = hours.finish(began, duration)
            pool.busy += duration
            yield env.timeout(ends - granted)
        finally:
            self._release(pool, who)
        name = pool.ids[who]
        index, act = case.index, node.act
        completes = completes and (wanted is None or wanted[0])
        if not completes:
            self._log(index, act, began, _START, name)
        else:
            r.events += 2
            if self.record:
                r.log_case.extend((index, index))
                r.log_act.extend((act, act))
                r.log_time.extend((began, ends))
                r.log_life.extend((_START, _COMPLETE))
                r.log_res.extend((name, name))
        key = node.id
        r.wait_sum[key] = r.wait_sum.get(key, 0.0) + (began - enabled)
        r.wait_count[key] = r.wait_count.get(key, 0) + 1

    @staticmethod
    def _release(pool: _Pool, who: int) -> None:
        if pool.waiting:
            pool.waiting.popleft().succeed(who)
        else:
            pool.free.append(who)

    def _arm_timers(self, case: _Case, node: _Node, state: list[Any]) -> None:
        env = self.env
        process = env.active_process
        for minutes, interrupting, targets, repeats in node.timers:

            def fire(
                _: Any,
                targets: list[str] = targets,
                interrupting: bool = interrupting,
                minutes: float = minutes,
                left: int | None = repeats,
            ) -> None:
                if state[0]:
                    return
                if interrupting:
                    if state[1] is None and process is not None and process.is_alive:
                        state[1] = targets
                        process.interrupt("timer")
                    return
                for target in targets:
                    self._spawn(case, target)
                # A cycle (R3/P1D) fires again while the task goes on.
                if (left is None or left > 1) and minutes > 0:
                    again = None if left is None else left - 1
                    env.timeout(minutes).callbacks.append(partial(fire, left=again))

            env.timeout(minutes).callbacks.append(fire)

    def run(
        self, cases: int, until: float | None, arrivals_at: Sequence[float] | None = None
    ) -> RunResult:
        began = wallclock.perf_counter()
        if arrivals_at is not None:
            self.env.process(self.replayed_arrivals(arrivals_at))
        else:
            self.env.process(self.arrivals(cases, self.params.arrivals))
        if until is None:
            self.env.run()
        else:
            self.env.run(until=until)
        r = self.result
        r.seconds = wallclock.perf_counter() - began
        r.horizon_minutes = float(self.env.now)
        for lane_id, pool in self.pools.items():
            if not pool.count:
                continue
            span = r.horizon_minutes
            available = self.office.to_work(span) if pool.hours is not None else span
            r.utilization[lane_id] = pool.busy / (pool.count * available) if available else 0.0
        return r


def _constant(value: float) -> Callable[[], float]:
    return lambda: value


def _cumulative(table: list[tuple[str, float]]) -> tuple[list[float], list[float]]:
    """A branch table's probabilities and their running sums (the last at least 1)."""
    probs = [p for _, p in table]
    cum: list[float] = []
    acc = 0.0
    for p in probs:
        acc += p
        cum.append(acc)
    if cum:
        cum[-1] = max(cum[-1], 1.0)
    return probs, cum


def _matching_join(model: ProcessModel, split_id: str) -> str | None:
    """The first inclusive gateway with several incoming flows after ``split_id``."""
    seen = {split_id}
    frontier = [model.flows[f].target for f in model.nodes[split_id].outgoing]
    while frontier:
        nxt: list[str] = []
        for node_id in frontier:
            if node_id in seen:
                continue
            seen.add(node_id)
            node = model.nodes[node_id]
            if node.kind == "or" and len(node.incoming) > 1:
                return node_id
            nxt.extend(model.flows[f].target for f in node.outgoing)
        frontier = nxt
    return None


def simulate(
    model: ProcessModel,
    params: SimParams,
    *,
    cases: int,
    seed: int = 0,
    start: datetime | None = None,
    until_minutes: float | None = None,
    record_log: bool = True,
    calendar: WorkingCalendar | None = None,
    arrivals_at: Sequence[float] | None = None,
    log_automated: bool = False,
) -> RunResult:
    """Run ``cases`` arrivals through the model once.

    ``until_minutes`` stops the clock early (cases still open are not counted as
    completed). Without a start, the parameters' start or :data:`DEFAULT_START`.
    ``arrivals_at`` replaces the parameters' arrival process by cases arriving at those
    wall minutes since the start (``cases`` is then their number): a trace-driven run,
    as validation against a real log uses. ``log_automated`` also writes the automated
    tasks (service, script, rule, send) to the log, with no resource; the platform's own
    log has only people's work, so fitting and validation leave them out.

    Raises:
        ValidationFailed: the parameters do not fit the model (see :func:`bind`), or
            ``cases`` is not positive.
    """
    from onewindow.simulation.params import invalid_params

    if arrivals_at is not None:
        cases = len(arrivals_at)
    if cases < 1:
        raise invalid_params(f"cases must be at least 1, got {cases}", f"办件数至少为 1（{cases}）")
    binding = bind(model, params)
    sim = _Simulation(
        model,
        params,
        binding,
        seed=seed,
        start=start or params.start or DEFAULT_START,
        calendar=calendar or default_calendar(),
        record_log=record_log,
        log_automated=log_automated,
    )
    return sim.run(cases, until_minutes, arrivals_at)


# --------------------------------------------------------------------------- replications


@dataclass(frozen=True)
class Estimate:
    """A KPI over replications: mean and the half-width of its 95 % confidence interval."""

    mean: float
    half_width: float
    n: int

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width

    def as_dict(self) -> dict[str, float]:
        return {"mean": self.mean, "ci_low": self.low, "ci_high": self.high, "n": self.n}


def estimate(values: Iterable[float], confidence: float = 0.95) -> Estimate:
    data = [v for v in values if not math.isnan(v)]
    n = len(data)
    if n == 0:
        return Estimate(math.nan, math.nan, 0)
    mean = sum(data) / n
    if n == 1:
        return Estimate(mean, math.inf, 1)
    var = sum((v - mean) ** 2 for v in data) / (n - 1)
    from scipy import stats

    t = float(stats.t.ppf(0.5 + confidence / 2, n - 1))
    return Estimate(mean, t * math.sqrt(var / n), n)


@dataclass
class Replications:
    """复制实验: KPIs of independent runs with different seeds."""

    runs: list[dict[str, float]]
    seeds: list[int]
    events: int
    seconds: float

    def values(self, kpi: str) -> list[float]:
        return [run.get(kpi, math.nan) for run in self.runs]

    def estimate(self, kpi: str) -> Estimate:
        return estimate(self.values(kpi))

    def summary(self) -> dict[str, dict[str, float]]:
        keys: list[str] = []
        for run in self.runs:
            keys.extend(k for k in run if k not in keys)
        return {k: self.estimate(k).as_dict() for k in keys}

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else math.inf


def _one(
    job: tuple[bytes, dict[str, Any], int, int, float | None, dict[str, bytes]],
) -> tuple[dict[str, float], int, float]:
    xml, params_dict, cases, seed, until, called = job
    model = parse_model(xml, called=called)
    params = parse_params(params_dict)
    run = simulate(model, params, cases=cases, seed=seed, until_minutes=until, record_log=False)
    return run.kpis(), run.events, run.seconds


def replicate(
    model: ProcessModel,
    params: SimParams,
    *,
    cases: int,
    replications: int = 10,
    seed: int = 0,
    until_minutes: float | None = None,
    workers: int = 1,
) -> Replications:
    """Independent runs with seeds ``seed, seed+1, …`` (the same seeds for every scenario,
    so two scenarios compared run on common random numbers).

    Raises:
        ValidationFailed: bad parameters, or fewer than one replication.
    """
    from onewindow.simulation.params import invalid_params

    if replications < 1:
        raise invalid_params(
            f"replications must be at least 1, got {replications}",
            f"复制次数至少为 1（{replications}）",
        )
    bind(model, params)  # fail before starting any run
    seeds = [seed + i for i in range(replications)]
    began = wallclock.perf_counter()
    runs: list[dict[str, float]] = []
    events = 0
    if workers > 1 and replications > 1:
        xml = model.to_bytes()
        data = params.to_dict()
        jobs = [(xml, data, cases, s, until_minutes, model.called) for s in seeds]
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for kpis, n, _ in pool.map(_one, jobs):
                runs.append(kpis)
                events += n
    else:
        for s in seeds:
            run = simulate(
                model, params, cases=cases, seed=s, until_minutes=until_minutes, record_log=False
            )
            runs.append(run.kpis())
            events += run.events
    return Replications(runs, seeds, events, wallclock.perf_counter() - began)


def compare_replications(
    base: Replications, other: Replications, kpi: str
) -> tuple[Estimate, Estimate]:
    """Paired difference ``other - base`` of one KPI, absolute and relative to the base mean.

    Seeds pair the runs (common random numbers), which narrows the interval.
    """
    pairs = [
        (b, o)
        for b, o in zip(base.values(kpi), other.values(kpi), strict=False)
        if not (math.isnan(b) or math.isnan(o))
    ]
    diff = estimate(o - b for b, o in pairs)
    base_mean = sum(b for b, _ in pairs) / len(pairs) if pairs else math.nan
    if not base_mean or math.isnan(base_mean):
        return diff, Estimate(math.nan, math.nan, diff.n)
    rel = Estimate(diff.mean / base_mean, diff.half_width / abs(base_mean), diff.n)
    return diff, rel


def kpi_labels() -> Mapping[str, str]:
    return {
        "cycle_median_h": "median cycle time (h) / 办理时长中位数（小时）",
        "cycle_p90_h": "p90 cycle time (h) / 办理时长 P90（小时）",
        "cycle_mean_h": "mean cycle time (h) / 平均办理时长（小时）",
        "returns_per_case": "returns per case / 件均补正次数",
        "trips_per_case": "trips per case / 件均跑动次数",
    }
