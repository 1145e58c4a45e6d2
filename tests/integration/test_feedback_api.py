"""The feedback API and pages: permissions for every role, surveys end to end, the public
board without sign-in and with personal data masked."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from onewindow.feedback import service as feedback
from onewindow.feedback.schemas import ImprovementIn, SourceIn, TicketIn
from onewindow.kit.clock import ManualClock
from onewindow.kit.platform import Platform

from . import test_authz_routes
from .feedback_support import PHONE, staff
from .test_api_support import API, applicant
from .test_api_support import staff as signed_in
from .test_authz_routes import (
    Caller,
    _api_routes,
    _calls,
    _page_routes,
    _rules,
    _url,
    permissions_of,
)

world = test_authz_routes.world  # every role signed in, one open case to aim routes at


@pytest.fixture
def client(city: Platform) -> Iterator[Any]:
    """The app with the feedback routes and pages (mounted here until the app mounts them)."""
    from onewindow.api.app import create_app
    from onewindow.catalog import service as catalog
    from onewindow.feedback import endpoints, pages
    from onewindow.security import service as security

    from ..conftest import _demo_hash

    with city.unit_of_work() as ctx:
        for member in catalog.list_staff(ctx):
            security.set_password_hash(ctx, member, _demo_hash(), actor="test")
    app = create_app(city)
    if not any(getattr(r, "path", "") == f"{API}/feedback/board" for r in app.routes):
        app.include_router(endpoints.router, prefix=API)
        app.include_router(pages.router)
    with TestClient(app) as c:
        yield c


def test_feedback_routes_give_every_role_what_the_table_grants(
    client: TestClient, world: tuple[list[Caller], dict[str, str]]
) -> None:
    """The route x role matrix of test_authz_routes, on the feedback routes only."""
    from onewindow.security import authz

    routes = [r for r in _api_routes(client.app) if r.path.startswith(f"{API}/feedback")]
    assert len(routes) > 20
    assert all(len(permissions_of(r)) == 1 for r in routes)
    pages = [
        r for r in _page_routes(client.app) if r.path in ("/board", "/feedback", "/rate/{token}")
    ]
    for r in pages:
        (rule,) = _rules(r.dependant)
        assert rule.permission == authz.PUBLIC or isinstance(rule, authz.RequirePage)
    callers, params = world
    wrong = []
    for caller in callers:
        for method, route, permission in _calls(routes):
            r = caller.client.request(method, _url(route, params), headers=caller.headers)
            if permission == authz.PUBLIC:
                allowed = True
            elif caller.principal is None:
                allowed = False
            else:
                allowed = authz.allowed(caller.principal, permission)
            ok = (
                r.status_code not in (401, 403)
                if allowed
                else r.status_code == (401 if caller.principal is None else 403)
            )
            if not ok:
                wrong.append(
                    f"{caller.role} {method} {route.path} -> {r.status_code} {r.text[:100]}"
                )
    assert not wrong, "\n".join(wrong)


def test_survey_end_to_end_and_refused_after_closing(
    client: TestClient, city: Platform, clock: ManualClock
) -> None:
    analyst = signed_in(client, "center_li")
    body = {
        "code": "s1",
        "title": "满意度调查",
        "closes_at": (clock.now() + timedelta(days=7)).isoformat(),
        "questions": [
            {"id": "q1", "text": "总体满意度", "type": "scale"},
            {"id": "q2", "text": "推荐意愿", "type": "nps"},
            {
                "id": "q3",
                "text": "改进方面",
                "type": "multiple",
                "options": ["排队", "材料", "网办"],
            },
            {"id": "q4", "text": "建议", "type": "text", "required": False},
            {"id": "q5", "text": "办事日期", "type": "date", "required": False},
        ],
    }
    assert analyst.post("/feedback/surveys", json=body).status_code == 201
    anonymous = TestClient(client.app)
    answers = [
        {"q1": 5, "q2": 10, "q3": ["排队"], "q4": "希望延长窗口服务时间"},
        {"q1": 2, "q2": 3, "q3": ["排队", "网办"], "q5": "2026-03-01"},
        {"q1": 4, "q2": 9, "q3": ["材料"], "q4": "網上辦事系統經常卡頓😡"},
    ]
    for a in answers:
        r = anonymous.post(f"{API}/feedback/surveys/s1/responses", json={"answers": a})
        assert r.status_code == 201, r.text
    bad = anonymous.post(
        f"{API}/feedback/surveys/s1/responses", json={"answers": {"q1": 9, "q3": ["其他"]}}
    )
    assert bad.status_code == 422
    assert {"q1: a whole number from 1 to 5", "q2: required"} <= set(
        bad.json()["details"]["problems"]
    )
    results = analyst.get("/feedback/surveys/s1/results").json()
    assert results["responses"] == 3
    q = {x["id"]: x for x in results["questions"]}
    assert q["q1"]["mean"] == pytest.approx(11 / 3, abs=1e-3)
    assert q["q2"]["nps"] == pytest.approx(100 * (2 - 1) / 3, abs=0.1)
    assert q["q3"]["counts"] == {"排队": 2, "材料": 1, "网办": 1}
    assert sum(q["q4"]["categories"].values()) == 2
    csv_text = analyst.get("/feedback/surveys/s1/export.csv").text
    assert csv_text.splitlines()[0].startswith("response_id,submitted_at,q1,q2,q3,q4,q5")
    assert "排队|网办" in csv_text
    clock.advance(timedelta(days=8))
    late = anonymous.post(f"{API}/feedback/surveys/s1/responses", json={"answers": answers[0]})
    assert late.status_code == 409
    assert late.json()["code"] == "survey.closed"
    again = signed_in(client, "center_li")  # the earlier session has timed out
    assert again.get("/feedback/surveys/s1/results").json()["responses"] == 3


def test_targeted_survey_only_for_the_services_users(
    client: TestClient, city: Platform, clock: ManualClock
) -> None:
    from .feedback_support import closed_case

    closed_case(city)
    analyst = signed_in(client, "center_li")
    day = clock.now().date().isoformat()
    body = {
        "code": "t1",
        "title": "社保卡办理回访",
        "anonymous": False,
        "audience": {"service": "HRSS-001", "since": day, "until": day},
        "closes_at": (clock.now() + timedelta(days=7)).isoformat(),
        "questions": [{"id": "q1", "text": "满意度", "type": "scale"}],
    }
    created = analyst.post("/feedback/surveys", json=body).json()
    assert created["invitees"] == 1
    assert (
        TestClient(client.app)
        .post(f"{API}/feedback/surveys/t1/responses", json={"answers": {"q1": 5}})
        .status_code
        == 403
    )
    outsider = applicant(client, "13700000009")
    assert (
        outsider.post("/feedback/surveys/t1/responses", json={"answers": {"q1": 5}}).status_code
        == 403
    )
    user = applicant(client, PHONE)
    assert (
        user.post("/feedback/surveys/t1/responses", json={"answers": {"q1": 4}}).status_code == 201
    )
    again = user.post("/feedback/surveys/t1/responses", json={"answers": {"q1": 1}})
    assert again.status_code == 409


def test_public_board_needs_no_sign_in_and_masks_personal_data(
    client: TestClient, city: Platform
) -> None:
    text = "我叫王小明，电话13812345678，五四路路口红绿灯坏了，身份证11010519491231002X"
    number = city.run(
        lambda ctx: (
            feedback.submit_ticket(
                ctx,
                TicketIn(
                    text=text,
                    channel="hotline",
                    contact_name="王小明",
                    contact_phone="13812345678",
                    district="鼓楼区",
                ),
                actor=staff(ctx, "center_qian"),
            ).number
        )
    )
    city.run(
        lambda ctx: feedback.create_improvement(
            ctx,
            ImprovementIn(
                code="T-1",
                title="五四路信号灯改造",
                owner_department="PSB",
                sources=[SourceIn(kind="ticket", ref=number)],
            ),
            actor="center_zhao",
        )
    )
    anonymous = TestClient(client.app)
    api = anonymous.get(f"{API}/feedback/board")
    html = anonymous.get("/board")
    assert api.status_code == 200
    assert html.status_code == 200
    for body in (api.text, html.text):
        assert "13812345678" not in body
        assert "11010519491231002X" not in body
        assert "王小明" not in body
        assert "138****5678" in body
    assert api.json()[0]["sources"][0]["ref"] == number
    assert "五四路信号灯改造" in html.text


def test_rating_page_from_an_sms_link(client: TestClient, city: Platform) -> None:
    from .feedback_support import closed_case

    closed_case(city)
    sender = feedback.InvitationSender()
    feedback.set_invitation_sender(sender)
    try:
        city.run(lambda ctx: feedback.invite_closed_cases(ctx))
    finally:
        feedback.set_invitation_sender(feedback.InvitationSender())
    link = sender.sent[0][1]
    tablet = TestClient(client.app)
    page = tablet.get(link)
    assert page.status_code == 200
    assert "办事评价" in page.text
    done = tablet.post(link, data={"level": "1", "comment": ""})
    assert "差评请说明原因" in done.text
    done = tablet.post(link, data={"level": "4", "i_efficiency": "5", "comment": "不错"})
    assert "感谢您的评价" in done.text
    again = tablet.post(link, data={"level": "1", "comment": "再来"})
    assert "已评价" in again.text
    assert tablet.get("/rate/nonsense").status_code == 404


def test_analysis_page_is_for_analysts(client: TestClient) -> None:
    anonymous = TestClient(client.app)
    assert anonymous.get("/feedback", follow_redirects=False).status_code == 303
    analyst = signed_in(client, "center_li")
    page = analyst.client.get("/feedback")
    assert page.status_code == 200
    assert "诉求分析" in page.text
