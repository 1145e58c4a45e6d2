"""Feedback routes only: ratings, visits, tickets, feedback tasks, surveys, hotspots, board."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Query, UploadFile, status
from fastapi.responses import Response

from onewindow.feedback import service as feedback
from onewindow.feedback.schemas import (
    CaseRatingIn,
    CitizenAnswer,
    ClassifyIn,
    EffectIn,
    ImprovementIn,
    ProgressIn,
    RatingIn,
    SourceIn,
    SurveyAnswers,
    SurveyIn,
    TaskDone,
    TicketIn,
    VisitIn,
)
from onewindow.kit.errors import NotFound, ValidationFailed
from onewindow.kit.http import CtxDep
from onewindow.security.authz import public, require
from onewindow.security.schemas import Principal

router = APIRouter(prefix="/feedback", tags=["feedback"])
MAX_IMPORT_BYTES = 20 * 1024 * 1024


def actor_of(principal: Principal) -> feedback.Actor:
    if principal.kind == "applicant" and principal.phone:
        return feedback.Actor.citizen(principal.phone)
    return feedback.Actor(
        principal.name,
        frozenset(principal.roles),
        principal.department_id,
        principal.department_code,
    )


# --- ratings --------------------------------------------------------------------------------


@router.get("/invitations/{code}")
def invitation(ctx: CtxDep, code: str, _: Annotated[Principal | None, public()]) -> dict[str, Any]:
    return feedback.invitation_view(ctx, feedback.get_invitation(ctx, code))


@router.post("/invitations/{code}/rating", status_code=status.HTTP_201_CREATED)
def rate_by_invitation(
    ctx: CtxDep, code: str, body: RatingIn, _: Annotated[Principal | None, public()]
) -> dict[str, Any]:
    return feedback.rating_view(ctx, feedback.rate_by_invitation(ctx, code, body))


@router.post("/ratings", status_code=status.HTTP_201_CREATED)
def rate(
    ctx: CtxDep, body: CaseRatingIn, who: Annotated[Principal, require("feedback.rate")]
) -> dict[str, Any]:
    return feedback.rating_view(ctx, feedback.rate_case(ctx, body, actor=actor_of(who)))


@router.post("/ratings/{number}/appeal")
def appeal(
    ctx: CtxDep,
    number: str,
    body: TaskDone,
    who: Annotated[Principal, require("feedback.rate")],
) -> dict[str, Any]:
    """The rater contests a decision to exclude their bad rating (申诉), or accepts it."""
    rating = feedback.get_rating(ctx, number)
    actor = actor_of(who)
    if rating.rater_phone != actor.phone:
        raise NotFound(f"No rating {number}", message_zh="评价不存在", code="rating.unknown")
    return feedback.rating_view(ctx, feedback.answer_appeal(ctx, rating, body.data, actor=actor))


@router.get("/ratings")
def ratings(
    ctx: CtxDep,
    _: Annotated[Principal, require("feedback.analyse")],
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    return [feedback.rating_view(ctx, r) for r in feedback.recent_ratings(ctx, limit=limit)]


@router.get("/ratings/stats")
def rating_stats(
    ctx: CtxDep,
    _: Annotated[Principal, require("feedback.analyse")],
    by: str = "service",
) -> list[dict[str, Any]]:
    return feedback.rating_stats(ctx, by)


@router.post("/visits", status_code=status.HTTP_201_CREATED)
def start_visit(
    ctx: CtxDep, body: VisitIn, who: Annotated[Principal, require("feedback.visit")]
) -> dict[str, Any]:
    visit = feedback.start_visit(ctx, body, actor=actor_of(who))
    return {"number": visit.number, "window": visit.window, "started_at": visit.started_at}


@router.post("/visits/{number}/end")
def end_visit(
    ctx: CtxDep, number: str, who: Annotated[Principal, require("feedback.visit")]
) -> dict[str, Any]:
    invitation = feedback.end_visit(ctx, number, actor=actor_of(who))
    return {
        "visit": number,
        "token": invitation.token,
        "link": feedback.rating_link(invitation.token),
        "channels": invitation.channels,
        "expires_at": invitation.expires_at,
    }


# --- tickets --------------------------------------------------------------------------------


@router.post("/tickets", status_code=status.HTTP_201_CREATED)
def submit_ticket(
    ctx: CtxDep, body: TicketIn, who: Annotated[Principal, require("feedback.submit")]
) -> dict[str, Any]:
    ticket = feedback.submit_ticket(ctx, body, actor=actor_of(who))
    return feedback.ticket_view(ctx, ticket, masked=False)


@router.get("/tickets")
def tickets(
    ctx: CtxDep,
    who: Annotated[Principal, require("feedback.read")],
    status_: Annotated[str | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    return feedback.list_tickets(ctx, actor_of(who), status=status_, limit=limit)


@router.post("/tickets/import")
async def import_tickets(
    ctx: CtxDep,
    file: Annotated[UploadFile, File(description="CSV (UTF-8 or GB18030) or .xlsx")],
    who: Annotated[Principal, require("feedback.manage")],
) -> dict[str, Any]:
    data = await file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationFailed(
            "The file is larger than 20 MB",
            message_zh="文件超过 20 MB",
            code="import.too_large",
        )
    name = file.filename or "upload.csv"
    rows = feedback.read_table(data, name)
    report = feedback.import_tickets(ctx, rows, source=name, actor=who.name)
    return {
        "imported": report.imported,
        "already_imported": report.already_imported,
        "classified": report.classified,
        "problems": report.problems,
    }


@router.get("/tickets/{number}")
def ticket(
    ctx: CtxDep, number: str, who: Annotated[Principal, require("feedback.read")]
) -> dict[str, Any]:
    actor = actor_of(who)
    found = feedback.visible_ticket(ctx, number, actor)
    return feedback.ticket_view(ctx, found, masked=actor.phone is None and "analyst" in who.roles)


@router.post("/tickets/{number}/answer")
def answer(
    ctx: CtxDep,
    number: str,
    body: CitizenAnswer,
    who: Annotated[Principal, require("feedback.submit")],
) -> dict[str, Any]:
    """回访评价: confirm the closure (with a satisfaction level) or reopen within the window."""
    found = feedback.answer_as_citizen(
        ctx, number, body.action, body.satisfaction, body.comment, actor=actor_of(who)
    )
    return feedback.ticket_view(ctx, found)


# --- feedback tasks -------------------------------------------------------------------------


@router.get("/tasks")
def tasks(ctx: CtxDep, who: Annotated[Principal, require("feedback.work")]) -> list[dict[str, Any]]:
    return feedback.queue(ctx, actor_of(who))


@router.post("/tasks/{task_id}/complete")
def complete(
    ctx: CtxDep,
    task_id: int,
    body: TaskDone,
    who: Annotated[Principal, require("feedback.work")],
) -> dict[str, Any]:
    task = feedback.complete_task(ctx, task_id, body.data, actor=actor_of(who))
    return feedback.task_view(ctx, task, feedback.get_case(ctx, task.case_id))


# --- classification and analytics -----------------------------------------------------------


@router.post("/classify")
def classify(
    ctx: CtxDep, body: ClassifyIn, _: Annotated[Principal, require("feedback.analyse")]
) -> list[dict[str, Any]]:
    return feedback.classify(ctx, body.texts)


@router.post("/classifier/retrain")
def retrain(ctx: CtxDep, who: Annotated[Principal, require("feedback.manage")]) -> dict[str, Any]:
    v = feedback.retrain_classifier(ctx, actor=who.name)
    return {
        "examples": v.examples,
        "from_tickets": v.from_tickets,
        "accuracy": v.accuracy,
        "macro_f1": v.macro_f1,
    }


@router.get("/hotspots")
def hotspots(ctx: CtxDep, _: Annotated[Principal, require("feedback.analyse")]) -> dict[str, Any]:
    return feedback.hotspot_report(ctx)


# --- surveys --------------------------------------------------------------------------------


@router.post("/surveys", status_code=status.HTTP_201_CREATED)
def create_survey(
    ctx: CtxDep, body: SurveyIn, who: Annotated[Principal, require("feedback.manage")]
) -> dict[str, Any]:
    return feedback.survey_view(ctx, feedback.create_survey(ctx, body, actor=who.name))


@router.get("/surveys/{code}")
def survey(ctx: CtxDep, code: str, _: Annotated[Principal | None, public()]) -> dict[str, Any]:
    view = feedback.survey_view(ctx, feedback.get_survey(ctx, code))
    view.pop("audience", None)
    return view


@router.post("/surveys/{code}/responses", status_code=status.HTTP_201_CREATED)
def answer_survey(
    ctx: CtxDep,
    code: str,
    body: SurveyAnswers,
    who: Annotated[Principal | None, public()],
) -> dict[str, Any]:
    phone = who.phone if who is not None and who.kind == "applicant" else None
    response = feedback.submit_response(ctx, code, body.answers, phone=phone)
    return {"id": response.id, "submitted_at": response.submitted_at}


@router.get("/surveys/{code}/results")
def survey_results(
    ctx: CtxDep, code: str, _: Annotated[Principal, require("feedback.analyse")]
) -> dict[str, Any]:
    return feedback.survey_results(ctx, code)


@router.get("/surveys/{code}/export.csv")
def survey_export(
    ctx: CtxDep, code: str, _: Annotated[Principal, require("feedback.analyse")]
) -> Response:
    return Response(
        feedback.survey_csv(ctx, code),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="survey-{code}.csv"'},
    )


@router.post("/surveys/{code}/close")
def close_survey(
    ctx: CtxDep, code: str, who: Annotated[Principal, require("feedback.manage")]
) -> dict[str, Any]:
    return feedback.survey_view(ctx, feedback.close_survey(ctx, code, actor=who.name))


# --- the public board -----------------------------------------------------------------------


@router.get("/board")
def board(ctx: CtxDep, _: Annotated[Principal | None, public()]) -> list[dict[str, Any]]:
    return feedback.public_board(ctx)


@router.post("/board", status_code=status.HTTP_201_CREATED)
def create_item(
    ctx: CtxDep, body: ImprovementIn, who: Annotated[Principal, require("feedback.manage")]
) -> dict[str, Any]:
    return feedback.improvement_view(ctx, feedback.create_improvement(ctx, body, actor=who.name))


@router.post("/board/{code}/progress")
def progress(
    ctx: CtxDep,
    code: str,
    body: ProgressIn,
    who: Annotated[Principal, require("feedback.manage")],
) -> dict[str, Any]:
    item = feedback.update_improvement(ctx, code, body, actor=who.name)
    return feedback.improvement_view(ctx, item)


@router.post("/board/{code}/sources")
def link(
    ctx: CtxDep,
    code: str,
    body: SourceIn,
    who: Annotated[Principal, require("feedback.manage")],
) -> dict[str, Any]:
    feedback.link_source(ctx, code, body.kind, body.ref, actor=who.name)
    return feedback.improvement_view(ctx, feedback.get_improvement(ctx, code))


@router.post("/board/{code}/effect")
def effect(
    ctx: CtxDep,
    code: str,
    body: EffectIn,
    who: Annotated[Principal, require("feedback.manage")],
) -> dict[str, Any]:
    item = feedback.record_effect(ctx, code, body.effect, actor=who.name)
    return feedback.improvement_view(ctx, item)
