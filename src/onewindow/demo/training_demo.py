"""Demo training: needs found in the demo city's own event log, a course per struggling
step, plans approved by the heads, courses taken, an exam sat and a sharing session held.

The demo generator gives about 15 % of staff a 1.8–2.6x speed factor; nothing here knows
who they are — the needs come from the log, as they would in a real city. Given the
generator's history, the training happens where that history stopped, and the city then
runs on for some weeks in which those who took a course work closer to their peers' pace,
so each course's effect (difference-in-differences) shows in the demo's own log.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

from rich.console import Console

from onewindow.catalog import service as catalog
from onewindow.demo.generator import DemoSummary, continue_city
from onewindow.kit.errors import OneWindowError
from onewindow.kit.platform import Platform
from onewindow.training import service as training
from onewindow.training.effect import Effect
from onewindow.training.profile import DEFAULT_MIN_CASES

QUESTIONS = (
    ("single", "办件超过承诺时限前应当？", ["等待督办", "主动说明并申请延期", "直接退件"], [1]),
    ("true_false", "一次性告知应列明全部所缺材料。", ["对", "错"], [0]),
    ("multiple", "窗口服务礼仪包括：", ["首问负责", "微笑服务", "让申请人多跑一次"], [0, 1]),
    ("single", "材料不齐时应当？", ["受理后补", "一次性告知补正", "口头告知"], [1]),
    ("true_false", "审查意见可以不写理由。", ["对", "错"], [1]),
    ("multiple", "超时的常见原因：", ["材料反复退回", "环节积压", "系统自动办结"], [0, 1]),
)


@dataclass
class TrainingSummary:
    needs: int = 0
    courses: int = 0
    assigned: int = 0
    completed: int = 0
    certificates: int = 0
    flagged: list[str] = field(default_factory=list)
    trained: list[str] = field(default_factory=list)
    # Per course key, per activity it teaches: the measured effect on handling minutes.
    effects: dict[str, dict[str, Effect]] = field(default_factory=dict)


# How much of a trained person's excess time a course removes in the demo (0.75: a 2.4x
# slow reviewer works at about 1.35x afterwards).
CATCH_UP = 0.75


def caught_up(factor: float) -> float:
    """A trained person's speed factor after the course: most of the gap to 1.0 closed."""
    return factor if factor <= 1.0 else 1.0 + (factor - 1.0) * (1 - CATCH_UP)


def seed_training(
    platform: Platform,
    *,
    seed: int,
    console: Console | None = None,
    min_cases: int = DEFAULT_MIN_CASES,
    history: DemoSummary | None = None,
    after_weeks: int = 0,
) -> TrainingSummary:
    """Detect needs from the demo's log and run the training loop once (idempotent).

    ``min_cases`` may be lowered for a short demo history (a week has few cases per person).
    With the generator's ``history`` (a summary that still holds its simulation), the
    training is dated where the history stopped and, for ``after_weeks`` > 0, the city runs
    on with the trainees' speed factors moved toward the norm; the effect per course is then
    measured on the log and returned in ``effects``.
    """
    console = console or Console(stderr=True)
    if history is not None and history.city is not None:
        platform = history.city.platform  # the simulation's clock: now = end of the history
    rng = random.Random(seed)  # noqa: S311 - demo data
    summary = TrainingSummary()
    with platform.unit_of_work() as ctx:
        if training.list_courses(ctx):
            console.print("demo training already present")
            return summary
        found = training.needs(ctx, min_cases=min_cases)
        summary.needs = len(found)
        summary.flagged = sorted({f"{n.resource}:{n.activity}" for n in found})
        known = training.known_activities(ctx)
        for i, activity in enumerate(sorted({n.activity for n in found if n.activity in known})):
            training.create_course(
                ctx,
                key=f"skill-{i + 1:02d}",
                title=f"{activity}要点",
                content_md=f"# {activity}要点\n\n审查重点、常见退件原因、时限要求与服务用语。",
                activities=[activity],
                skills=["speed", "quality"],
                actor="demo",
            )
            summary.courses += 1
        training.create_course(
            ctx,
            key="etiquette",
            title="窗口服务礼仪与沟通",
            content_md="# 窗口服务礼仪与沟通\n\n首问负责、一次性告知、文明用语。",
            skills=["service", "communication"],
            actor="demo",
        )
        summary.courses += 1
        for kind, text, options, answer in QUESTIONS:
            training.add_question(ctx, kind=kind, text=text, options=options, answer=answer)
        training.create_exam(
            ctx, key="service-basics", title="服务规范考试", question_count=4, pass_mark=75
        )
        heads = {s.department.code: s for s in catalog.list_staff(ctx) if "head" in s.roles}
        departments = sorted({d for d in heads})
    for code in departments:
        with platform.unit_of_work() as ctx:
            plan = training.propose_plan(ctx, code, min_cases=min_cases)
            if any(i.get("course_key") for i in plan.items):
                summary.assigned += len(
                    training.approve_plan(
                        ctx, plan.id, actor=catalog.get_staff(ctx, heads[code].username)
                    )
                )
    with platform.unit_of_work() as ctx:
        learners = {}
        for view_staff in catalog.list_staff(ctx):
            for a in training.assignments_for(ctx, [view_staff]):
                if rng.random() < 0.8:
                    training.complete_assignment(ctx, a.id, actor=view_staff)
                    summary.completed += 1
                    learners[view_staff.username] = view_staff
        for staff in learners.values():
            try:
                attempt = training.start_attempt(
                    ctx, "service-basics", actor=staff, seed=rng.randrange(2**31)
                )
                answers = {
                    str(q.id): (q.answer if rng.random() < 0.85 else [])
                    for q in training.paper_of(ctx, attempt)
                }
                _, cert = training.submit_attempt(ctx, attempt.id, answers, actor=staff)
                summary.certificates += cert is not None
            except OneWindowError as exc:  # a too-small bank is a demo bug: say so, go on
                console.print(f"exam skipped for {staff.username}: {exc}")
        now = ctx.clock.now()
        session = training.schedule_session(
            ctx,
            title="窗口服务经验分享会",
            topic="群众满意的办件是怎样办成的",
            scheduled_at=now - timedelta(days=2),
            actor="center_zhao",
        )
        training.record_attendance(
            ctx, session.id, sorted(learners)[:10] or ["center_zhao"], actor="center_zhao"
        )
    summary.trained = sorted(learners)
    console.print(
        f"training: {summary.needs} needs, {summary.courses} courses, {summary.assigned} "
        f"assigned, {summary.completed} completed, {summary.certificates} certificates"
    )
    if history is not None and history.city is not None and after_weeks > 0:
        trained = set(learners)
        continue_city(
            history,
            after_weeks,
            speed=lambda who, factor: caught_up(factor) if who in trained else factor,
            console=console,
        )
        summary.effects = measure_effects(platform)
        for key, per_activity in summary.effects.items():
            for activity, eff in per_activity.items():
                console.print(f"training effect {key} on {activity}: {effect_line(eff)}")
    return summary


def effect_line(eff: Effect) -> str:
    """One course's effect as the demo prints it: an estimate only when enough people took
    it and enough did not (``training.effect.MIN_PEOPLE`` each); otherwise why not."""
    if eff.estimate is not None and eff.low is not None and eff.high is not None:
        return (
            f"{eff.estimate:+.1f} min [{eff.low:+.1f}, {eff.high:+.1f}] "
            f"({eff.treated} trained, {eff.controls} not)"
        )
    return eff.reason or "no estimate"


def measure_effects(platform: Platform, *, draws: int = 500) -> dict[str, dict[str, Effect]]:
    """Each activity course's difference-in-differences on handling minutes."""
    with platform.unit_of_work() as ctx:
        return {
            c.key: training.course_effect(ctx, c.key, draws=draws)
            for c in training.list_courses(ctx)
            if c.activities
        }
