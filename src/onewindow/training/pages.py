"""Training pages in the web look: a member of staff's needs, courses and exams (taken in the
browser against the clock); a head's team needs, plan approval, course assignment and the
measured effect of courses; a competition's leaderboard.

The examinee's page never receives the answers: it is rendered from ``PaperQuestion`` rows,
which have none. The timer is static JavaScript (``training.js``); the server alone decides
whether a paper came in time.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Request
from markupsafe import Markup
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from onewindow.catalog.models import Staff
from onewindow.kit.errors import Conflict, OneWindowError, ValidationFailed
from onewindow.kit.platform import Ctx
from onewindow.security.authz import allowed, require_page, staff_of
from onewindow.security.schemas import Principal
from onewindow.training import service as training
from onewindow.training.effect import MIN_PEOPLE, Effect
from onewindow.training.markdown import render_course
from onewindow.training.needs import phrase
from onewindow.web import pages as web_pages
from onewindow.web.i18n import Lang, error_text, lang_of, translate
from onewindow.web.routes import FormDep, PageCtx, PageRoute

router = APIRouter(include_in_schema=False, route_class=PageRoute)
Self = Annotated[Principal, require_page("training.self")]
Lead = Annotated[Principal, require_page("training.lead")]


def _page(
    request: Request,
    ctx: Ctx,
    template: str,
    *,
    principal: Principal,
    status: int = 200,
    **context: Any,
) -> Response:
    return web_pages.page(
        request,
        template,
        status=status,
        principal=principal,
        zone=ctx.calendar.zone,
        lead=allowed(principal, "training.lead"),
        **context,
    )


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _basis_text(lang: Lang, item: dict[str, Any], subject: str | None) -> str | None:
    """A plan item's need in the reader's words; None for items of plans made before the
    numbers were kept with them."""
    if not all(item.get(k) is not None for k in ("value", "peer_median", "cases")):
        return None
    return phrase(
        lang,
        activity=str(item.get("activity", "")),
        metric=str(item.get("metric", "")),
        value=float(item["value"]),
        peer_median=float(item["peer_median"]),
        cases=int(item["cases"]),
        subject=subject,
    )


# Reasons the platform writes itself, shown in the reader's language.
_KNOWN_REASONS = {"流程变更 / process changed": "trp_reason_process_changed"}


def _reason_text(lang: Lang, reason: str) -> str:
    key = _KNOWN_REASONS.get(reason)
    return translate(lang, key) if key else reason


# Why the effect module gave no estimate, in the reader's language.
_EFFECT_REASONS = {
    "nobody has completed the course yet": "trp_eff_nobody",
    "no trainees with work before and after": "trp_eff_no_trainees",
    "no comparable staff who did not take the course": "trp_eff_no_controls",
}


def _effect_reason(lang: Lang, effect: Effect) -> str:
    if effect.reason is None:
        return ""
    key = _EFFECT_REASONS.get(effect.reason)
    if key:
        return translate(lang, key)
    if effect.reason.startswith("样本人数不足"):
        return translate(
            lang, "trp_eff_few", treated=effect.treated, controls=effect.controls, least=MIN_PEOPLE
        )
    return effect.reason


def _skill(lang: Lang, key: str) -> str:
    """A skill tag in words; a tag the catalogue does not know is shown as written."""
    label = translate(lang, f"trp_skill_{key}")
    return key if label == f"trp_skill_{key}" else label


# --------------------------------------------------------------------------- a learner's


@router.get("/training")
def my_training(request: Request, ctx: PageCtx, who: Self) -> Response:
    staff = staff_of(ctx, who)
    lang = lang_of(request)
    basis = training.plan_basis(ctx, staff)
    exams = training.my_exams(ctx, staff)
    assignments = [
        (
            a,
            (_basis_text(lang, basis[a.course_key], None) if a.course_key in basis else None)
            or (
                translate(lang, "trp_reason_plan")
                if a.course_key in basis
                else _reason_text(lang, a.reason)
            ),
        )
        for a in training.assignments_for(ctx, [staff])
    ]
    return _page(
        request,
        ctx,
        "training_my.html",
        principal=who,
        needs=[(n, n.addressed(lang)) for n in training.needs(ctx, username=staff.username)],
        assignments=assignments,
        exams=exams,
        certified={exam.id for exam, _ in exams["certificates"]},
        completed=request.query_params.get("completed") == "1",
    )


@router.post("/training/assignments/{assignment_id}/complete")
def complete_assignment(assignment_id: int, ctx: PageCtx, who: Self) -> Response:
    """The learner marks an assigned course done (CSRF-checked form); another's is 404."""
    training.complete_assignment(ctx, assignment_id, actor=staff_of(ctx, who))
    ctx.session.commit()  # the page the browser goes to next must see it
    return _redirect("/training?completed=1")


@router.get("/training/courses/{key}")
def course_page(request: Request, ctx: PageCtx, key: str, who: Self) -> Response:
    course = training.get_course(ctx, key)
    exams = [e for e in training.list_exams(ctx) if e.course_id == course.id]
    return _page(
        request,
        ctx,
        "training_course.html",
        principal=who,
        course=course,
        body=Markup(render_course(course.content_md)),  # noqa: S704 - sanitised by nh3
        skills=[_skill(lang_of(request), s) for s in course.skills],
        stale=training.stale_activities(ctx, course),
        exams=exams,
    )


# --------------------------------------------------------------------------- exams


@router.get("/training/exams/{key}")
def exam_page(request: Request, ctx: PageCtx, key: str, who: Self) -> Response:
    standing = training.exam_standing(ctx, key, staff_of(ctx, who))
    return _page(
        request, ctx, "training_exam.html", principal=who, standing=standing, exam=standing.exam
    )


@router.post("/training/exams/{key}/start")
def start_exam(ctx: PageCtx, key: str, who: Self) -> Response:
    """Start a paper; a paper already running is continued, not a second one started (a
    double click must not spend an attempt)."""
    staff = staff_of(ctx, who)
    running = training.exam_standing(ctx, key, staff).open_attempt
    attempt = running or training.start_attempt(ctx, key, actor=staff)
    ctx.session.commit()
    return _redirect(f"/training/attempts/{attempt.id}")


def _attempt_page(
    request: Request,
    ctx: Ctx,
    who: Principal,
    attempt_id: int,
    *,
    status: int = 200,
    refused: str | None = None,
) -> Response:
    staff = staff_of(ctx, who)
    attempt = training.get_attempt(ctx, attempt_id, actor=staff)
    exam = training.exam_of(ctx, attempt)
    now = ctx.clock.now()
    running = attempt.submitted_at is None and now <= attempt.due_at
    return _page(
        request,
        ctx,
        "training_attempt.html",
        principal=who,
        status=status,
        attempt=attempt,
        exam=exam,
        running=running and refused is None,
        expired=attempt.submitted_at is None and not running,
        refused=refused,
        paper=training.paper_view(ctx, attempt) if running and refused is None else [],
        seconds_left=max(int((attempt.due_at - now).total_seconds()), 0),
        standing=training.exam_standing(ctx, exam.key, staff),
    )


@router.get("/training/attempts/{attempt_id}")
def attempt_page(request: Request, ctx: PageCtx, attempt_id: int, who: Self) -> Response:
    return _attempt_page(request, ctx, who, attempt_id)


def _answers(form: FormData, question_ids: list[int]) -> dict[str, Any]:
    """The form's choices per question as a list of option indexes (graded all or nothing).
    Anything that is not an index is no answer (graded wrong), never an error."""
    out: dict[str, Any] = {}
    for qid in question_ids:
        chosen: list[int] = []
        for raw in form.getlist(f"q_{qid}"):
            if isinstance(raw, str) and raw.isdigit() and len(raw) < 4:
                chosen.append(int(raw))
        if chosen:
            out[str(qid)] = sorted(set(chosen))
    return out


@router.post("/training/attempts/{attempt_id}/submit")
def submit_attempt(
    request: Request, ctx: PageCtx, attempt_id: int, form: FormDep, who: Self
) -> Response:
    """Grade the paper. After its time (and the grace for latency) the paper is refused: the
    page says so, the attempt stays unsubmitted, nothing is recorded as passed."""
    staff = staff_of(ctx, who)
    attempt = training.get_attempt(ctx, attempt_id, actor=staff)
    try:
        training.submit_attempt(
            ctx, attempt.id, _answers(form, list(attempt.question_ids)), actor=staff
        )
    except Conflict as exc:
        ctx.session.rollback()
        if exc.code == "exam.submitted":  # a second click: show the result of the first
            return _redirect(f"/training/attempts/{attempt_id}")
        return _attempt_page(
            request,
            ctx,
            who,
            attempt_id,
            status=exc.status,
            refused=error_text(lang_of(request), exc),
        )
    ctx.session.commit()
    return _redirect(f"/training/attempts/{attempt_id}")


# --------------------------------------------------------------------------- a head's


def _team_page(
    request: Request,
    ctx: Ctx,
    who: Principal,
    *,
    status: int = 200,
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    staff = staff_of(ctx, who)
    lang = lang_of(request)
    dept = staff.department.code
    team = training.team_of(ctx, dept)
    names = {s.username: s.name for s in team}
    effects = [
        (
            c,
            [
                (activity, e, _effect_reason(lang, e))
                for activity, e in training.course_effect(ctx, c.key, draws=200).items()
            ],
        )
        for c in training.list_courses(ctx)
        if c.kind == "standard" and c.activities
    ]
    plan = training.latest_plan(ctx, dept)
    courses = {c.key: c for c in training.list_courses(ctx)}
    plan_rows = []
    for item in plan.items if plan else []:
        who_name = names.get(str(item.get("username")), str(item.get("username")))
        key = item.get("course_key")
        plan_rows.append(
            (
                who_name,
                _basis_text(lang, item, who_name) or str(item.get("activity", "")),
                courses[key].title if key in courses else None,
                item.get("due_on"),
            )
        )
    return _page(
        request,
        ctx,
        "training_team.html",
        principal=who,
        status=status,
        error=error,
        notice=notice,
        department=staff.department,
        needs=[
            (n, names.get(n.resource, n.resource))
            for n in training.needs(ctx, department_code=dept)
        ],
        plan=plan,
        plan_rows=plan_rows,
        team=team,
        names=names,
        courses=[c for c in courses.values() if c.active],
        assignments=training.assignments_for(ctx, team),
        effects=effects,
        today=ctx.clock.now().astimezone(ctx.calendar.zone).date(),
    )


@router.get("/training/team")
def team_page(request: Request, ctx: PageCtx, who: Lead) -> Response:
    done = request.query_params.get("done")
    notice = (
        translate(lang_of(request), f"trp_done_{done}")
        if done in ("proposed", "approved", "assigned")
        else None
    )
    return _team_page(request, ctx, who, notice=notice)


def _refused(request: Request, ctx: Ctx, who: Principal, exc: OneWindowError) -> Response:
    """The team page again with the reason beside it; the request's changes are undone."""
    ctx.session.rollback()
    return _team_page(request, ctx, who, status=exc.status, error=error_text(lang_of(request), exc))


@router.post("/training/team/plans")
def propose_plan(request: Request, ctx: PageCtx, who: Lead) -> Response:
    staff = staff_of(ctx, who)
    try:
        training.propose_plan(ctx, staff.department.code)
    except OneWindowError as exc:
        return _refused(request, ctx, who, exc)
    ctx.session.commit()
    return _redirect("/training/team?done=proposed")


@router.post("/training/plans/{plan_id}/approve")
def approve_plan(request: Request, ctx: PageCtx, plan_id: int, who: Lead) -> Response:
    """Only the plan's own department's head (or an admin); another head gets 404."""
    training.approve_plan(ctx, plan_id, actor=staff_of(ctx, who))
    ctx.session.commit()
    return _redirect("/training/team?done=approved")


def _due(form: FormData) -> date:
    raw = form.get("due_on")
    try:
        return date.fromisoformat(raw if isinstance(raw, str) else "")
    except ValueError:
        raise ValidationFailed(
            "Give the due date as a date (YYYY-MM-DD)",
            message_zh="请填写截止日期（年-月-日）",
            code="training.due_invalid",
        ) from None


@router.post("/training/team/assignments")
def assign_course(request: Request, ctx: PageCtx, form: FormDep, who: Lead) -> Response:
    staff: Staff = staff_of(ctx, who)
    course_key, username, reason = (
        str(form.get(name) or "").strip() for name in ("course", "username", "reason")
    )
    try:
        training.assign_to_team(
            ctx, course_key, username, due_on=_due(form), reason=reason[:500], actor=staff
        )
    except OneWindowError as exc:
        return _refused(request, ctx, who, exc)
    ctx.session.commit()
    return _redirect("/training/team?done=assigned")


@router.get("/training/leaderboard/{key}")
def leaderboard_page(request: Request, ctx: PageCtx, key: str, who: Self) -> Response:
    exam = training.get_exam(ctx, key)
    return _page(
        request,
        ctx,
        "training_leaderboard.html",
        principal=who,
        exam=exam,
        city=training.leaderboard(ctx, key),
        mine=training.leaderboard(ctx, key, department_code=staff_of(ctx, who).department.code),
    )
