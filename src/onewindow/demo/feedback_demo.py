"""Feedback for the demo city: ratings of its closed cases and of hall visits, twelve weeks of
complaint history with one planted district hotspot, live tickets on the 12345 loop, a
survey with answers, and "you said, we did" board items — so every feedback page has data.

Everything goes through the feedback service, on a manual clock that walks through the
past weeks, so timestamps, deadlines and the event log look like a real city's.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from rich.console import Console

from onewindow.feedback import corpus
from onewindow.feedback import service as feedback
from onewindow.feedback.schemas import (
    ImprovementIn,
    MilestoneIn,
    ProgressIn,
    QuestionIn,
    RatingIn,
    SourceIn,
    SurveyIn,
    TicketIn,
    VisitIn,
)
from onewindow.intake import service as intake
from onewindow.kit.clock import ManualClock
from onewindow.kit.errors import OneWindowError
from onewindow.kit.platform import Ctx, Platform
from onewindow.workflow import service as workflow

HISTORY_WEEKS = 12
TICKETS_PER_WEEK = 110
HOTSPOT = ("鼓楼区", "traffic")  # the planted hotspot: 鼓楼区's traffic complaints
HOTSPOT_FACTOR = 6.0
# Relative frequency of each category in an ordinary week.
CATEGORY_WEIGHTS = {
    "traffic": 1.6, "environment": 1.4, "housing": 1.3, "construction": 1.0,
    "consumer": 1.0, "wages": 0.8, "social_insurance": 0.9, "service_hall": 0.9,
    "food_safety": 0.6, "hukou_id": 0.6, "tax": 0.5, "fire_safety": 0.4,
}  # fmt: skip
LEVEL_WEIGHTS = {5: 62, 4: 22, 3: 9, 2: 4, 1: 3}
BAD_COMMENTS = (
    "窗口工作人员态度冷淡，问了三遍才回答",
    "材料要求和办事指南不一致，白跑了一趟",
    "网上提交总是失败，系统太卡",
    "排队等了两个多小时",
    "审批超过承诺时限也没人通知",
)


@dataclass
class FeedbackSummary:
    ratings: int = 0
    rectifications: int = 0
    visits: int = 0
    historic_tickets: int = 0
    live_tickets: int = 0
    survey_responses: int = 0
    board_items: int = 0


def _staff(ctx: Ctx, username: str) -> feedback.Actor:
    from onewindow.catalog import service as catalog

    return feedback.Actor.of_staff(catalog.get_staff(ctx, username))


def seed_feedback(
    platform: Platform, *, seed: int, console: Console | None = None
) -> FeedbackSummary:
    """Generate the demo city's feedback once (a second call finds it and does nothing)."""
    console = console or Console(stderr=True)
    summary = FeedbackSummary()
    with platform.unit_of_work() as ctx:
        if feedback.count_tickets(ctx):
            console.print("demo feedback already present")
            return summary
    rng = random.Random(seed)  # noqa: S311 - demo data
    cal = platform.calendar
    now = platform.clock.now()
    clock = ManualClock(now)
    sim = Platform(
        platform.settings, platform.engine, platform.sessions, clock, cal, platform.shared
    )

    # --- ratings of closed cases (一事一评), through the invitations the platform sends -----
    with sim.unit_of_work() as ctx:
        closed = feedback.closed_cases_to_rate(ctx, limit=5000)
    rated = [(i, t) for i, t in closed if rng.random() < 0.35]
    for app_id, closed_at in sorted(rated, key=lambda x: x[1]):
        clock.set(max(closed_at + timedelta(hours=rng.uniform(1, 72)), closed_at))
        if clock.now() > now:
            clock.set(now)
        level = rng.choices(list(LEVEL_WEIGHTS), list(LEVEL_WEIGHTS.values()))[0]
        comment = rng.choice(BAD_COMMENTS) if level <= 2 else ""

        def rate(
            ctx: Ctx, app_id: int = app_id, level: int = level, comment: str = comment
        ) -> bool:
            invitation = feedback.invite_for_case(ctx, intake.get_application(ctx, app_id))
            body = RatingIn(level=level, comment=comment, indicators={"efficiency": level})
            return feedback.rate_by_invitation(ctx, invitation.token, body).level <= 2

        try:
            summary.rectifications += sim.run(rate)
            summary.ratings += 1
        except OneWindowError as exc:
            console.print(f"[yellow]skipped a rating: {exc}")
    clock.set(now)
    sim.run(lambda ctx: feedback.invite_closed_cases(ctx, limit=5000))
    _work_rectifications(sim, rng)

    # --- hall visits (一次一评) ---------------------------------------------------------------
    for n in range(40):
        clock.set(now - timedelta(days=rng.uniform(0, 28)))
        clerk = rng.choice(("center_qian", "center_sun"))
        window = f"A0{rng.randint(1, 6)}"
        level = rng.choices(list(LEVEL_WEIGHTS), list(LEVEL_WEIGHTS.values()))[0]

        def visit(ctx: Ctx, clerk: str = clerk, window: str = window, level: int = level) -> None:
            v = feedback.start_visit(
                ctx, VisitIn(window=window, service_code="HRSS-001"), actor=_staff(ctx, clerk)
            )
            invitation = feedback.end_visit(ctx, v.number, actor=_staff(ctx, clerk))
            comment = "窗口人员业务不熟练，反复查询" if level <= 2 else ""
            feedback.rate_by_invitation(
                ctx, invitation.token, RatingIn(level=level, comment=comment, anonymous=True)
            )

        try:
            sim.run(visit)
            summary.visits += 1
            summary.ratings += 1
        except OneWindowError as exc:
            console.print(f"[yellow]skipped visit {n}: {exc}")

    # --- twelve weeks of historic tickets, imported like a city's 12345 export -------------
    clock.set(now)
    summary.historic_tickets = _historic_tickets(sim, rng, now)

    # --- live tickets on the 12345 loop ----------------------------------------------------
    summary.live_tickets, live_numbers = _live_tickets(sim, rng, clock, now)

    # --- a survey --------------------------------------------------------------------------
    clock.set(now - timedelta(days=10))
    summary.survey_responses, response_ids = _survey(sim, rng, clock, now)

    # --- the board -------------------------------------------------------------------------
    clock.set(now)
    summary.board_items = _board(sim, live_numbers, response_ids)
    clock.set(now)
    sim.run(lambda ctx: workflow.fire_due_timers(ctx))
    return summary


def _work_rectifications(sim: Platform, rng: random.Random) -> None:
    """Most bad ratings are verified and rectified; a few are excluded after review."""
    with sim.unit_of_work() as ctx:
        tasks = [
            (t["id"], t["task"], t["department"])
            for dept in ("CENTER", "SAMR", "HRSS", "PSB", "HOUSING", "FIRE", "TAX")
            for t in feedback.queue(ctx, _head(ctx, dept), limit=500)
            if t["task"] == "Task_verify"
        ]
    for task_id, _, dept in tasks:
        verdict = "genuine" if rng.random() < 0.85 else "mistaken"

        def verify(
            ctx: Ctx, task_id: int = task_id, dept: str = dept, verdict: str = verdict
        ) -> None:
            feedback.complete_task(
                ctx, task_id, {"verdict": verdict, "finding": "经核实"}, actor=_head(ctx, dept)
            )

        try:
            sim.run(verify)
        except OneWindowError:
            continue
    for _ in range(3):  # a few more steps for each open case
        with sim.unit_of_work() as ctx:
            work = [
                (t["id"], t["task"], t["department"])
                for dept in ("CENTER", "SAMR", "HRSS", "PSB", "HOUSING", "FIRE", "TAX")
                for t in feedback.queue(ctx, _head(ctx, dept), limit=500)
                if t["task"] in ("Task_review", "Task_rectify", "Task_answer")
            ]
        for task_id, element, dept in work:
            if rng.random() < 0.25:
                continue  # left open: the queue and the overdue list have something
            data = {
                "Task_review": {"review": "excluded"},
                "Task_rectify": {"measures": "开展业务培训，更新办事指南"},
                "Task_answer": {"answer": "已整改，感谢您的监督"},
            }[element]

            def step(ctx: Ctx, task_id: int = task_id, dept: str = dept, data: Any = data) -> None:
                feedback.complete_task(ctx, task_id, data, actor=_head(ctx, dept))

            try:
                sim.run(step)
            except OneWindowError:
                continue


def _head(ctx: Ctx, dept: str) -> feedback.Actor:
    heads = {
        "CENTER": "center_zhao", "SAMR": "samr_chen", "TAX": "tax_huang", "HRSS": "hrss_ma",
        "PSB": "psb_lin", "HOUSING": "housing_liang", "FIRE": "fire_feng",
    }  # fmt: skip
    return _staff(ctx, heads[dept])


def _historic_tickets(sim: Platform, rng: random.Random, now: datetime) -> int:
    zone = sim.calendar.zone
    this_monday = now.astimezone(zone).date() - timedelta(days=now.astimezone(zone).weekday())
    last_week = this_monday - timedelta(weeks=1)
    total_people = sum(p for p, _ in corpus.DISTRICTS.values())
    cats = list(CATEGORY_WEIGHTS)
    rows: list[dict[str, str]] = []
    n = 0
    for w in range(HISTORY_WEEKS, 0, -1):
        monday = this_monday - timedelta(weeks=w)
        for district, (people, streets) in corpus.DISTRICTS.items():
            expected = TICKETS_PER_WEEK * people / total_people
            for category in cats:
                lam = expected * CATEGORY_WEIGHTS[category] / sum(CATEGORY_WEIGHTS.values())
                if (district, category) == HOTSPOT and monday == last_week:
                    lam *= HOTSPOT_FACTOR
                for _ in range(_poisson(rng, lam)):
                    ex = corpus.ticket_text(rng, category)
                    street = rng.choice(streets)
                    text = ex.text.replace(ex.district, district).replace(ex.street, street)
                    day = monday + timedelta(days=rng.randint(0, 6))
                    at = datetime.combine(day, time(8), tzinfo=zone) + timedelta(
                        minutes=rng.randint(0, 12 * 60)
                    )
                    n += 1
                    rows.append(
                        {
                            "id": f"12345-{n:06d}",
                            "text": text,
                            "category": category,
                            "district": district,
                            "street": street,
                            "created_at": at.isoformat(),
                        }
                    )
    report = sim.run(
        lambda ctx: feedback.import_tickets(ctx, rows, source="demo-12345-export", actor="demo")
    )
    return report.imported


def _live_tickets(
    sim: Platform, rng: random.Random, clock: ManualClock, now: datetime
) -> tuple[int, list[str]]:
    numbers: list[str] = []
    for i in range(30):
        clock.set(now - timedelta(days=rng.uniform(0, 9)))
        category = rng.choice(list(CATEGORY_WEIGHTS))
        ex = corpus.ticket_text(rng, category)
        phone = f"139{rng.randint(10_000_000, 99_999_999)}"
        body = TicketIn(
            text=ex.text,
            channel="hotline",
            district=ex.district,
            street=ex.street,
            contact_phone=phone,
            contact_name=rng.choice(("王先生", "李女士", "陈先生", "林女士")),
        )
        try:
            number = sim.run(_submitter(body))
        except OneWindowError:
            continue
        numbers.append(number)
        if i % 3 == 0:
            continue  # still with the department
        with sim.unit_of_work() as ctx:
            view = feedback.ticket_view(ctx, feedback.get_ticket(ctx, number))
            steps = feedback.open_steps(ctx, str(view["case"]))
        if "Task_handle" not in steps or not view["department"]:
            continue
        clock.set(min(clock.now() + timedelta(days=rng.uniform(0.5, 4)), now))
        _step(
            sim,
            steps["Task_handle"],
            str(view["department"]),
            {"decision": "resolve", "reply": "已安排人员现场处理，问题已解决"},
        )
        with sim.unit_of_work() as ctx:
            close = feedback.open_steps(ctx, str(view["case"])).get("Task_close")
        if close is not None:
            _step(sim, close, "CENTER", {"close": "close"})
    return len(numbers), numbers


def _step(sim: Platform, task_id: int, dept: str, data: dict[str, Any]) -> None:
    def do(ctx: Ctx) -> None:
        feedback.complete_task(ctx, task_id, data, actor=_head(ctx, dept))

    try:
        sim.run(do)
    except OneWindowError:
        return


def _survey(
    sim: Platform, rng: random.Random, clock: ManualClock, now: datetime
) -> tuple[int, list[int]]:
    body = SurveyIn(
        code="hall-2026",
        title="政务服务大厅满意度调查",
        anonymous=True,
        closes_at=now + timedelta(days=20),
        questions=[
            QuestionIn(id="q1", text="您本次办事的总体满意度", type="scale"),
            QuestionIn(id="q2", text="您会向亲友推荐网上办事吗？（0-10）", type="nps"),
            QuestionIn(
                id="q3",
                text="您最希望改进的方面（可多选）",
                type="multiple",
                options=["排队时间", "材料要求", "网上办理", "窗口服务", "停车"],
            ),
            QuestionIn(
                id="q4", text="办事渠道", type="single", options=["窗口", "网上", "自助终端"]
            ),
            QuestionIn(id="q5", text="您的意见和建议", type="text", required=False),
        ],
    )
    sim.run(lambda ctx: feedback.create_survey(ctx, body, actor="center_li"))
    ideas = [corpus.ticket_text(rng, c).text for c in ("service_hall",) * 6 + ("traffic",) * 2]
    ids: list[int] = []
    for _ in range(60):
        clock.set(min(clock.now() + timedelta(hours=rng.uniform(1, 4)), now))
        answers: dict[str, Any] = {
            "q1": rng.choices([5, 4, 3, 2, 1], [45, 30, 15, 6, 4])[0],
            "q2": rng.choices(range(11), [1, 1, 1, 2, 2, 4, 6, 10, 16, 22, 35])[0],
            "q3": rng.sample(
                ["排队时间", "材料要求", "网上办理", "窗口服务", "停车"], rng.randint(1, 2)
            ),
            "q4": rng.choice(["窗口", "网上", "自助终端"]),
        }
        if rng.random() < 0.4:
            answers["q5"] = rng.choice(ideas)
        try:
            ids.append(sim.run(_responder(answers)))
        except OneWindowError:
            continue
    return len(ids), ids


def _board(sim: Platform, tickets: list[str], responses: list[int]) -> int:
    items = [
        ImprovementIn(
            code="GL-TRAFFIC-01",
            title="鼓楼区五四路沿线信号灯改造与违停治理",
            description="针对鼓楼区交通类诉求集中上升，公安交警对五四路沿线信号灯配时优化并加强违停整治。",
            owner_department="PSB",
            milestones=[
                MilestoneIn(title="现场勘查"),
                MilestoneIn(title="信号灯配时优化"),
                MilestoneIn(title="违停专项整治"),
            ],
            sources=[SourceIn(kind="ticket", ref=n) for n in tickets[:2]],
        ),
        ImprovementIn(
            code="HALL-QUEUE-01",
            title="政务服务大厅延时服务与预约分流",
            description="群众反映排队时间长，服务中心推行午间不间断和预约分时段办理。",
            owner_department="CENTER",
            service_code="HRSS-001",
            milestones=[MilestoneIn(title="午间延时服务上线"), MilestoneIn(title="预约分流上线")],
            sources=[SourceIn(kind="survey_response", ref=str(r)) for r in responses[:2]],
        ),
        ImprovementIn(
            code="GUIDE-01",
            title="统一办事指南与窗口材料要求",
            description="差评反映办事指南与窗口要求不一致，逐项核对并一次性告知。",
            owner_department="CENTER",
            milestones=[MilestoneIn(title="指南核对"), MilestoneIn(title="公开发布")],
        ),
    ]
    for item in items:
        sim.run(_creator(item))
    sim.run(
        lambda ctx: feedback.update_improvement(
            ctx,
            "GL-TRAFFIC-01",
            ProgressIn(status="in_progress", milestone_done="现场勘查"),
            actor="center_zhao",
        )
    )
    sim.run(
        lambda ctx: feedback.update_improvement(
            ctx,
            "HALL-QUEUE-01",
            ProgressIn(status="live", milestone_done="午间延时服务上线"),
            actor="center_zhao",
        )
    )
    return len(items)


def _submitter(body: TicketIn) -> Callable[[Ctx], str]:
    return lambda ctx: feedback.submit_ticket(ctx, body, actor=_staff(ctx, "center_qian")).number


def _responder(answers: dict[str, Any]) -> Callable[[Ctx], int]:
    return lambda ctx: feedback.submit_response(ctx, "hall-2026", answers, phone=None).id


def _creator(item: ImprovementIn) -> Callable[[Ctx], Any]:
    return lambda ctx: feedback.create_improvement(ctx, item, actor="center_zhao")


def _poisson(rng: random.Random, lam: float) -> int:
    import math

    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
