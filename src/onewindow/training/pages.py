"""Training pages in the web look: a member of staff's needs, courses and exams; a head's
team needs, plan and the measured effect of courses; a competition's leaderboard."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, Response

from onewindow.security.authz import require_page, staff_of
from onewindow.security.schemas import Principal
from onewindow.training import service as training
from onewindow.web import pages as web_pages
from onewindow.web.i18n import Lang, lang_of, translate
from onewindow.web.routes import PageCtx, PageRoute

router = APIRouter(include_in_schema=False, route_class=PageRoute)

# key: (中文, English)
MESSAGES: dict[str, tuple[str, str]] = {
    "tr_my_title": ("我的培训", "My training"),
    "tr_my_needs": ("我的培训需求", "My training needs"),
    "tr_my_needs_none": ("暂未发现培训需求。", "No training needs found."),
    "tr_my_courses": ("我的课程", "My courses"),
    "tr_my_courses_none": ("暂无分配的课程。", "No courses assigned."),
    "tr_my_exams": ("我的考试", "My exams"),
    "tr_course": ("课程", "Course"),
    "tr_due": ("截止", "Due"),
    "tr_done": ("已完成", "Done"),
    "tr_overdue": ("已逾期", "Overdue"),
    "tr_open": ("待完成", "To do"),
    "tr_reason": ("原因", "Why"),
    "tr_exam": ("考试", "Exam"),
    "tr_pass_mark": ("及格线", "Pass mark"),
    "tr_attempts": ("答卷", "Papers"),
    "tr_score": ("得分", "Score"),
    "tr_certificates": ("证书", "Certificates"),
    "tr_team_title": ("团队培训", "Team training"),
    "tr_team_needs": ("团队培训需求", "Team training needs"),
    "tr_plan": ("培训计划", "Training plan"),
    "tr_plan_none": ("尚无培训计划。", "No plan yet."),
    "tr_plan_status_proposed": ("待批准", "Proposed"),
    "tr_plan_status_approved": ("已批准", "Approved"),
    "tr_effect": ("培训成效（双重差分）", "Training effect (difference-in-differences)"),
    "tr_effect_none": ("暂无可评估的课程。", "No course to evaluate yet."),
    "tr_effect_est": ("效果估计", "Estimate"),
    "tr_effect_ci": ("95% 置信区间", "95% interval"),
    "tr_staff": ("人员", "Staff"),
    "tr_activity": ("环节", "Activity"),
    "tr_metric": ("指标", "Metric"),
    "tr_value": ("本人", "Value"),
    "tr_peer": ("同岗中位", "Peers' median"),
    "tr_zscore": ("稳健 z 分", "Robust z"),
    "tr_cases": ("件数", "Cases"),
    "tr_board_title": ("技能竞赛排行榜", "Competition leaderboard"),
    "tr_rank": ("名次", "Rank"),
    "tr_department": ("部门", "Department"),
    "tr_seconds": ("用时（秒）", "Time (s)"),
    "tr_board_none": ("暂无成绩。", "No results yet."),
    "tr_metric_handling_minutes": ("办理用时（分钟）", "Handling time (min)"),
    "tr_metric_rework_share": ("退回/返工比例", "Rework share"),
    "tr_metric_breach_share": ("超时比例", "Deadline breaches"),
    "tr_metric_bad_rating_share": ("差评比例", "Bad ratings"),
}


def _t(lang: Lang) -> Callable[..., str]:
    def t(key: str, /, **values: Any) -> str:
        pair = MESSAGES.get(key)
        if pair is None:
            return translate(lang, key, **values)
        text = pair[1] if lang == "en" else pair[0]
        return text.format(**values) if values else text

    return t


def _page(request: Request, template: str, *, principal: Principal, **context: Any) -> Response:
    lang = lang_of(request)
    html = (
        web_pages.env()
        .get_template(template)
        .render(
            t=_t(lang),
            lang=lang,
            who=principal,
            nav=web_pages.nav_for(principal),
            path=request.url.path,
            zone=web_pages.DEFAULT_ZONE,
            here=request.url.path,
            **context,
        )
    )
    response = HTMLResponse(html)
    response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/training")
def my_training(
    request: Request, ctx: PageCtx, who: Annotated[Principal, require_page("training.self")]
) -> Response:
    staff = staff_of(ctx, who)
    return _page(
        request,
        "training_my.html",
        principal=who,
        needs=training.needs(ctx, username=staff.username),
        assignments=training.assignments_for(ctx, [staff]),
        exams=training.my_exams(ctx, staff),
    )


@router.get("/training/courses/{key}")
def course_page(
    request: Request,
    ctx: PageCtx,
    key: str,
    who: Annotated[Principal, require_page("training.self")],
) -> Response:
    course = training.get_course(ctx, key)
    return _page(
        request,
        "training_course.html",
        principal=who,
        course=course,
        stale=training.stale_activities(ctx, course),
    )


@router.get("/training/team")
def team_page(
    request: Request, ctx: PageCtx, who: Annotated[Principal, require_page("training.lead")]
) -> Response:
    staff = staff_of(ctx, who)
    dept = staff.department.code
    team = training.team_of(ctx, dept)
    effects = {
        c.key: (c, training.course_effect(ctx, c.key, draws=200))
        for c in training.list_courses(ctx)
        if c.kind == "standard" and c.activities
    }
    return _page(
        request,
        "training_team.html",
        principal=who,
        department=staff.department,
        needs=training.needs(ctx, department_code=dept),
        plan=training.latest_plan(ctx, dept),
        assignments=training.assignments_for(ctx, team),
        effects=effects,
    )


@router.get("/training/leaderboard/{key}")
def leaderboard_page(
    request: Request,
    ctx: PageCtx,
    key: str,
    who: Annotated[Principal, require_page("training.self")],
) -> Response:
    exam = training.get_exam(ctx, key)
    return _page(
        request,
        "training_leaderboard.html",
        principal=who,
        exam=exam,
        city=training.leaderboard(ctx, key),
        mine=training.leaderboard(ctx, key, department_code=staff_of(ctx, who).department.code),
    )
