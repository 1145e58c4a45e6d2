"""Feedback pages under the web look: the rating page (SMS link, hall tablet, QR code), the
public "you said, we did" board, and the analyst's page with hotspots first.

The templates live beside this module and extend the web package's ``base.html``; the
translator falls back to the web's for the frame's keys.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Annotated, Any

from fastapi import APIRouter, Request
from jinja2 import ChoiceLoader, Environment, PackageLoader
from starlette.responses import HTMLResponse, Response

from onewindow.feedback import corpus
from onewindow.feedback import service as feedback
from onewindow.feedback.schemas import RatingIn
from onewindow.kit.errors import ValidationFailed
from onewindow.security.authz import public, require_page
from onewindow.security.schemas import Principal
from onewindow.simulation import publish
from onewindow.web import pages as web_pages
from onewindow.web.i18n import Lang, lang_of, translate
from onewindow.web.routes import PageCtx, PageRoute

router = APIRouter(include_in_schema=False, route_class=PageRoute)

# key: (中文, English)
MESSAGES: dict[str, tuple[str, str]] = {
    "fb_rate_title": ("办事评价", "Rate the service"),
    "fb_rate_intro": (
        "您的评价会被认真对待：差评将被核实、整改并答复您。",
        "Your rating is taken seriously: a bad rating is verified, put right and answered.",
    ),
    "fb_rate_level": ("总体评价", "Overall"),
    "fb_rate_comment": ("意见（差评请说明原因）", "Comment (say why, for a bad rating)"),
    "fb_rate_anonymous": ("匿名评价（不接受回访）", "Anonymous (no call-back)"),
    "fb_rate_submit": ("提交评价", "Submit"),
    "fb_rate_thanks": ("感谢您的评价！", "Thank you for your rating!"),
    "fb_rate_used": ("该次办事已评价。", "This has already been rated."),
    "fb_rate_expired": ("评价链接已过期。", "This rating link has expired."),
    "fb_board_title": ("你说我改", "You said, we did"),
    "fb_board_intro": (
        "群众的评价、投诉和建议推动了以下改进；个人信息已脱敏。",
        "Ratings, complaints and suggestions from the public led to these improvements; "
        "personal information is masked.",
    ),
    "fb_board_owner": ("责任单位", "Owner"),
    "fb_board_progress": ("进度", "Progress"),
    "fb_board_raised_by": ("来源诉求", "Raised by"),
    "fb_board_effect": ("实施效果", "Measured effect"),
    "fb_board_empty": ("暂无改进事项。", "No improvements yet."),
    "fb_status_planned": ("计划中", "Planned"),
    "fb_status_in_progress": ("推进中", "In progress"),
    "fb_status_live": ("已上线", "Live"),
    "fb_status_done": ("已完成", "Done"),
    "fb_dash_title": ("诉求分析", "Feedback analysis"),
    "fb_hotspots": ("本周热点（异常升高）", "This week's hotspots (unusual rises)"),
    "fb_hotspots_none": ("本周没有显著异常。", "Nothing stands out this week."),
    "fb_method": ("检验方法", "Test"),
    "fb_district": ("区域", "District"),
    "fb_category": ("类别", "Category"),
    "fb_count": ("本周件数", "This week"),
    "fb_baseline": ("历史周均", "Weekly baseline"),
    "fb_rate10k": ("每万人", "Per 10,000"),
    "fb_topics": ("上升关键词", "Rising keywords"),
    "fb_hot_topics": ("热点问题（同一地点、同一问题）", "Hot topics (one place, one problem)"),
    "fb_hot_topics_none": ("近期没有成群的同类诉求。", "No clusters of messages lately."),
    "fb_hot_topics_window": (
        "近 {days} 天工单，按热度排序",
        "Tickets of the last {days} days, hottest first",
    ),
    "fb_topic": ("话题", "Topic"),
    "fb_topic_size": ("件数", "Messages"),
    "fb_topic_senders": ("人数", "Senders"),
    "fb_topic_period": ("时间", "Period"),
    "fb_topic_heat": ("热度", "Heat"),
    "fb_topic_members": ("工单", "Tickets"),
    "fb_satisfaction": ("满意度（按事项）", "Satisfaction by service"),
    "fb_departments": ("满意度（按部门）", "Satisfaction by department"),
    "fb_ratings": ("评价数", "Ratings"),
    "fb_sat_rate": ("满意率", "Satisfied"),
    "fb_bad": ("差评", "Bad"),
    "fb_rect_rate": ("整改率", "Rectified"),
    "fb_tickets": ("工单", "Tickets"),
    "fb_surveys": ("问卷", "Surveys"),
    "fb_responses": ("答卷", "Responses"),
}


def _t(lang: Lang) -> Callable[..., str]:
    def t(key: str, /, **values: Any) -> str:
        pair = MESSAGES.get(key)
        if pair is None:
            return translate(lang, key, **values)
        text = pair[1] if lang == "en" else pair[0]
        return text.format(**values) if values else text

    return t


@lru_cache(maxsize=1)
def _env() -> Environment:
    return web_pages.env().overlay(
        loader=ChoiceLoader(
            [PackageLoader("onewindow.feedback", "templates"), web_pages.env().loader]  # type: ignore[list-item]
        )
    )


def _page(
    request: Request, template: str, *, principal: Principal | None, **context: Any
) -> HTMLResponse:
    lang = lang_of(request)
    html = (
        _env()
        .get_template(template)
        .render(
            t=_t(lang),
            lang=lang,
            who=principal,
            nav=web_pages.nav_for(principal),
            path=request.url.path,
            zone=web_pages.DEFAULT_ZONE,
            here=request.url.path,
            categories=corpus.CATEGORIES,
            **context,
        )
    )
    response = HTMLResponse(html)
    if principal is not None:
        response.headers["Cache-Control"] = "no-store"
    return response


@router.get("/rate/{token}")
def rate_page(
    request: Request, ctx: PageCtx, token: str, who: Annotated[Principal | None, public()]
) -> Response:
    invitation = feedback.get_invitation(ctx, token)
    return _page(
        request,
        "feedback_rate.html",
        principal=who,
        token=token,
        shown=feedback.invitation_view(ctx, invitation),
        done=False,
        error=None,
    )


@router.post("/rate/{token}")
async def rate_submit(
    request: Request, ctx: PageCtx, token: str, who: Annotated[Principal | None, public()]
) -> Response:
    form = await request.form()
    indicators = {
        k.removeprefix("i_"): int(str(v))
        for k, v in form.items()
        if k.startswith("i_") and str(v).isdigit()
    }
    error = None
    try:
        body = RatingIn(
            level=int(str(form.get("level") or 0)) or 5,
            indicators=indicators,
            comment=str(form.get("comment") or ""),
            anonymous=form.get("anonymous") == "on",
        )
        feedback.rate_by_invitation(ctx, token, body)
        ctx.session.commit()
        done = True
    except (ValidationFailed, ValueError) as exc:
        ctx.session.rollback()
        done = False
        error = exc.message_zh if isinstance(exc, ValidationFailed) else str(exc)
    return _page(
        request,
        "feedback_rate.html",
        principal=who,
        token=token,
        shown=feedback.invitation_view(ctx, feedback.get_invitation(ctx, token)),
        done=done,
        error=error,
    )


@router.get("/board")
def board_page(
    request: Request, ctx: PageCtx, who: Annotated[Principal | None, public()]
) -> Response:
    # Published redesigns: the simulation's prediction next to the measured effect.
    redesigns = [publish.prediction_summary(p) for p in publish.list_predictions(ctx)]
    return _page(
        request,
        "feedback_board.html",
        principal=who,
        items=feedback.public_board(ctx),
        redesigns=redesigns,
    )


@router.get("/feedback")
def analysis_page(
    request: Request, ctx: PageCtx, who: Annotated[Principal, require_page("feedback.analyse")]
) -> Response:
    return _page(
        request,
        "feedback_dashboard.html",
        principal=who,
        report=feedback.hotspot_report(ctx),
        topics=feedback.topic_report(ctx),
        overview=feedback.overview(ctx),
    )
