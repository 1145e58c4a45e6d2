"""The redesign studio (流程再造工作室, ``/analysis/redesign``): an analyst fits the simulation
of a service from its own log and sees whether the baseline can be trusted, runs the redesign
proposals with replications and compares them with their confidence intervals, opens each
modified BPMN; the head of a department on the service (or an admin) publishes one as the
service's next process version, after a confirmation. Published redesigns show their
prediction next to the measured effect.

The proposals run in a thread and write their progress into the study (see
``simulation.studies``); the page polls it with htmx.
"""

from __future__ import annotations

import threading
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from onewindow.catalog import service as catalog
from onewindow.kit.errors import OneWindowError, PermissionDenied, ValidationFailed
from onewindow.kit.http import PlatformDep
from onewindow.kit.platform import Ctx
from onewindow.security.authz import allowed, require_page
from onewindow.security.schemas import Principal
from onewindow.simulation import publish, studies
from onewindow.web.i18n import error_text, lang_of
from onewindow.web.pages import page, render_html
from onewindow.web.routes import FormDep, PageCtx, PageRoute, _text, _zone

router = APIRouter(include_in_schema=False, route_class=PageRoute)

Reader = Annotated[Principal, require_page("simulation.read")]
Analyst = Annotated[Principal, require_page("simulation.run")]
BASE = "/analysis/redesign"
KPI_ORDER = ("cycle_median_h", "cycle_p90_h", "trips_per_case", "returns_per_case")


def _int(form: Any, name: str, default: int) -> int:
    raw = _text(form, name, 12)
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ValidationFailed(
            f"{name}: not a whole number ({raw})",
            message_zh=f"请输入整数：{raw}",
            code="simulation.study_invalid",
        ) from None


def _publisher(who: Principal, study: dict[str, Any]) -> bool:
    return allowed(who, "simulation.publish_redesign") and studies.may_publish(
        study, who.roles, who.department_code
    )


def _refusal() -> PermissionDenied:
    return PermissionDenied(
        "Only the head of a department working on this service, or an admin, may publish a "
        "redesign; nothing was changed",
        message_zh="只有承办该事项的部门负责人或系统管理员可以发布流程再造方案；未做任何更改",
        code="simulation.publish_forbidden",
    )


def _index(
    request: Request, ctx: Ctx, who: Principal, *, status: int = 200, **extra: Any
) -> Response:
    services = [
        {"code": s.code, "name_zh": s.name_zh, "name_en": s.name_en}
        for s in catalog.list_services(ctx)
        if s.active
    ]
    return page(
        request,
        "redesign_index.html",
        status=status,
        principal=who,
        zone=_zone(ctx),
        services=services,
        studies=[
            {**s, "created": datetime.fromisoformat(s["created_at"])}
            for s in studies.list_studies(ctx.settings.data_dir)
        ],
        redesigns=[publish.prediction_summary(p) for p in publish.list_predictions(ctx)],
        may_run=allowed(who, "simulation.run"),
        limits={
            "min_cases": studies.MIN_SIM_CASES,
            "max_cases": studies.MAX_SIM_CASES,
            "max_reps": studies.MAX_REPLICATIONS,
            "min_log": studies.MIN_LOG_CASES,
        },
        **extra,
    )


@router.get(BASE)
def index(request: Request, ctx: PageCtx, who: Reader) -> Response:
    return _index(request, ctx, who)


@router.post(BASE)
def fit(request: Request, ctx: PageCtx, who: Analyst, form: FormDep) -> Response:
    """Fit and validate (quick); a refusal re-shows the form with its reason."""
    chosen = _text(form, "service", 64)
    try:
        study = studies.start_study(
            ctx,
            chosen,
            cases=_int(form, "cases", 1000),
            replications=_int(form, "replications", 5),
            actor=who.name,
            actor_name=who.display_name,
        )
    except OneWindowError as exc:
        ctx.session.rollback()
        return _index(
            request,
            ctx,
            who,
            status=exc.status,
            error=error_text(lang_of(request), exc),
            error_code=exc.code,
            chosen=chosen,
        )
    ctx.session.rollback()  # nothing to keep: the study is a file
    return RedirectResponse(f"{BASE}/{study['id']}", status_code=303)


def _study_context(ctx: Ctx, who: Principal, study: dict[str, Any]) -> dict[str, Any]:
    """What every page of one study shows: the study, who may run and who may publish."""
    return {
        "principal": who,
        "zone": _zone(ctx),
        "study": study,
        "kpis": KPI_ORDER,
        "may_run": allowed(who, "simulation.run"),
        "may_publish": _publisher(who, study),
    }


@router.get(BASE + "/{study_id}")
def study_page(request: Request, ctx: PageCtx, who: Reader, study_id: str) -> Response:
    study = studies.load_study(ctx.settings.data_dir, study_id)
    redesigns = []
    if study.get("published"):
        found = publish.get_prediction(ctx, study["published"]["prediction_id"])
        redesigns.append(publish.prediction_summary(found))
    return page(
        request, "redesign_study.html", redesigns=redesigns, **_study_context(ctx, who, study)
    )


def _run_fragment(request: Request, ctx: Ctx, who: Principal, study: dict[str, Any]) -> Response:
    html = render_html(request, "_redesign_run.html", **_study_context(ctx, who, study))
    return Response(html, media_type="text/html", headers={"Cache-Control": "no-store"})


@router.post(BASE + "/{study_id}/run")
def run(
    request: Request, ctx: PageCtx, platform: PlatformDep, who: Analyst, study_id: str
) -> Response:
    study = studies.begin_run(ctx.settings.data_dir, study_id, actor=who.name)
    ctx.session.rollback()  # nothing written; free the connection before the thread reads
    threading.Thread(
        target=studies.run_proposals,
        args=(platform, study["id"]),
        name=f"redesign-{study['id']}",
        daemon=True,
    ).start()
    if request.headers.get("hx-request"):
        return _run_fragment(request, ctx, who, study)
    return RedirectResponse(f"{BASE}/{study['id']}", status_code=303)


@router.get(BASE + "/{study_id}/run")
def run_status(request: Request, ctx: PageCtx, who: Reader, study_id: str) -> Response:
    return _run_fragment(request, ctx, who, studies.load_study(ctx.settings.data_dir, study_id))


@router.get(BASE + "/{study_id}/proposals/{key}")
def proposal_page(request: Request, ctx: PageCtx, who: Reader, study_id: str, key: str) -> Response:
    study = studies.load_study(ctx.settings.data_dir, study_id)
    row = studies.proposal_of(study, key)
    return page(request, "redesign_proposal.html", row=row, **_study_context(ctx, who, study))


@router.get(BASE + "/{study_id}/proposals/{key}/diagram")
def diagram(ctx: PageCtx, who: Reader, study_id: str, key: str) -> Response:
    """The proposal's BPMN for the viewer, and the elements the redesign added."""
    study = studies.load_study(ctx.settings.data_dir, study_id)
    row = studies.proposal_of(study, key)
    import re

    added = sorted(set(re.findall(r'id="([A-Za-z]+_redesign_\d+)"', row["bpmn"])))
    return JSONResponse(
        {"xml": row["bpmn"], "markers": {"rd-added": added}},
        headers={"Cache-Control": "no-store"},
    )


@router.get(BASE + "/{study_id}/proposals/{key}/publish")
def confirm_publish(
    request: Request, ctx: PageCtx, who: Reader, study_id: str, key: str
) -> Response:
    study = studies.load_study(ctx.settings.data_dir, study_id)
    row = studies.proposal_of(study, key)
    if not _publisher(who, study):
        raise _refusal()
    return page(request, "redesign_publish.html", row=row, **_study_context(ctx, who, study))


@router.post(BASE + "/{study_id}/proposals/{key}/publish")
def do_publish(
    request: Request, ctx: PageCtx, who: Reader, form: FormDep, study_id: str, key: str
) -> Response:
    study = studies.load_study(ctx.settings.data_dir, study_id)
    row = studies.proposal_of(study, key)
    if not allowed(who, "simulation.publish_redesign"):
        raise _refusal()
    weeks = _int(form, "weeks", 4)
    if _text(form, "confirm", 8) != "yes":
        return page(
            request,
            "redesign_publish.html",
            status=422,
            row=row,
            weeks=weeks,
            error_key="rd_confirm_missing",
            **_study_context(ctx, who, study),
        )
    studies.publish_from_study(
        ctx,
        study_id,
        key,
        roles=who.roles,
        department=who.department_code,
        evaluate_after_weeks=weeks,
        actor=who.name,
        actor_name=who.display_name,
    )
    ctx.session.commit()
    return RedirectResponse(f"{BASE}/{study_id}?published=1", status_code=303)
