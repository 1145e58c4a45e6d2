"""Training pages in the web look: a member of staff's needs, courses and exams; a head's
team needs, plan and the measured effect of courses; a competition's leaderboard."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from onewindow.security.authz import require_page, staff_of
from onewindow.security.schemas import Principal
from onewindow.training import service as training
from onewindow.web import pages as web_pages
from onewindow.web.i18n import lang_of, translator
from onewindow.web.routes import PageCtx, PageRoute

router = APIRouter(include_in_schema=False, route_class=PageRoute)


def _page(request: Request, template: str, *, principal: Principal, **context: Any) -> Response:
    lang = lang_of(request)
    html = (
        web_pages.env()
        .get_template(template)
        .render(
            t=translator(lang),
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


@router.post("/training/assignments/{assignment_id}/complete")
def complete_assignment(
    assignment_id: int,
    ctx: PageCtx,
    who: Annotated[Principal, require_page("training.self")],
) -> Response:
    """The learner marks an assigned course done (CSRF-checked form); another's is 404."""
    training.complete_assignment(ctx, assignment_id, actor=staff_of(ctx, who))
    ctx.session.commit()  # the page the browser goes to next must see it
    return RedirectResponse("/training?completed=1", status_code=303)


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
