"""好差评: one rating per case and per visit, who may rate, the bad-rating loop with appeal."""

from __future__ import annotations

from datetime import timedelta

import pytest

from onewindow.feedback import service as feedback
from onewindow.feedback.schemas import CaseRatingIn, RatingIn, VisitIn
from onewindow.kit.clock import ManualClock
from onewindow.kit.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from onewindow.kit.platform import Platform
from onewindow.workflow import service as workflow

from .feedback_support import OTHER_PHONE, PHONE, closed_case, open_elements, staff, work

CITIZEN = feedback.Actor.citizen(PHONE)


def _rate(city: Platform, number: str, level: int, comment: str = "", **kw: object) -> str:
    body = CaseRatingIn(case_number=number, level=level, comment=comment, **kw)  # type: ignore[arg-type]
    return city.run(lambda ctx: feedback.rate_case(ctx, body, actor=CITIZEN).number)


def _case_of(city: Platform, rating_number: str) -> str:
    with city.unit_of_work() as ctx:
        view = feedback.rating_view(ctx, feedback.get_rating(ctx, rating_number))
        assert view["case"]
        return str(view["case"])


def test_one_rating_per_case_by_its_own_applicant_only(city: Platform) -> None:
    number = closed_case(city)
    # someone else's case: not found (its existence does not leak), nothing recorded
    with pytest.raises(NotFound), city.unit_of_work() as ctx:
        feedback.rate_case(
            ctx,
            CaseRatingIn(case_number=number, level=5),
            actor=feedback.Actor.citizen(OTHER_PHONE),
        )
    # staff may not rate on the applicant's behalf
    with pytest.raises(PermissionDenied), city.unit_of_work() as ctx:
        feedback.rate_case(
            ctx, CaseRatingIn(case_number=number, level=5), actor=staff(ctx, "center_qian")
        )
    first = _rate(city, number, 4, indicators={"efficiency": 5, "convenience": 4})
    with pytest.raises(Conflict) as again, city.unit_of_work() as ctx:
        feedback.rate_case(
            ctx, CaseRatingIn(case_number=number, level=1, comment="差"), actor=CITIZEN
        )
    assert again.value.code == "rating.already_rated"
    with city.unit_of_work() as ctx:
        view = feedback.rating_view(ctx, feedback.get_rating(ctx, first))
    assert view["level"] == 4
    assert view["channel"] == "online"
    assert view["department"] == "CENTER"
    assert view["staff"] == "center_qian"
    assert view["indicators"] == {"efficiency": 5, "convenience": 4, "overall": 4}
    assert view["case"] is None  # a good rating opens no rectification


def test_bad_input_gets_a_clear_answer(city: Platform) -> None:
    number = closed_case(city)
    with pytest.raises(ValidationFailed) as no_reason, city.unit_of_work() as ctx:
        feedback.rate_case(ctx, CaseRatingIn(case_number=number, level=2), actor=CITIZEN)
    assert no_reason.value.code == "rating.reason_required"
    with pytest.raises(ValidationFailed) as wrong, city.unit_of_work() as ctx:
        feedback.rate_case(
            ctx,
            CaseRatingIn(case_number=number, level=4, indicators={"attitude": 4}),
            actor=CITIZEN,
        )
    assert "attitude" in wrong.value.message  # an on-site indicator on an online case
    with pytest.raises(ValidationFailed) as huge, city.unit_of_work() as ctx:
        feedback.rate_case(
            ctx, CaseRatingIn(case_number=number, level=1, comment="差" * 5000), actor=CITIZEN
        )
    assert huge.value.code == "feedback.text_invalid"
    with pytest.raises(ValidationFailed), city.unit_of_work() as ctx:
        feedback.rate_case(
            ctx, CaseRatingIn(case_number=number, level=1, comment="😡😡😡"), actor=CITIZEN
        )
    # traditional characters and emoji are accepted and kept as typed
    rating = _rate(city, number, 2, comment="窗口態度很差😡")
    with city.unit_of_work() as ctx:
        assert feedback.get_rating(ctx, rating).comment == "窗口態度很差😡"


def test_an_open_case_cannot_be_rated_yet(city: Platform) -> None:
    from onewindow.intake import service as intake

    number = closed_case(city)
    with city.unit_of_work() as ctx:
        intake.get_application_by_number(ctx, number).closed_at = None
    with pytest.raises(Conflict) as err, city.unit_of_work() as ctx:
        feedback.rate_case(ctx, CaseRatingIn(case_number=number, level=5), actor=CITIZEN)
    assert err.value.code == "rating.case_open"


def test_visit_rated_once_through_the_hall_tablet(city: Platform) -> None:
    with city.unit_of_work() as ctx:
        clerk = staff(ctx, "center_sun")
        visit = feedback.start_visit(
            ctx, VisitIn(window="A03", service_code="HRSS-001", visitor_phone=PHONE), actor=clerk
        )
        number = visit.number
    with pytest.raises(Conflict), city.unit_of_work() as ctx:  # not ended yet
        feedback.rate_case(ctx, CaseRatingIn(visit_number=number, level=5), actor=CITIZEN)
    token = city.run(
        lambda ctx: feedback.end_visit(ctx, number, actor=staff(ctx, "center_sun")).token
    )
    with city.unit_of_work() as ctx:
        shown = feedback.invitation_view(ctx, feedback.get_invitation(ctx, token))
    assert shown["channel"] == "onsite"
    assert {i["id"] for i in shown["indicators"]} >= {"attitude"}
    rated = city.run(
        lambda ctx: feedback.rating_view(
            ctx,
            feedback.rate_by_invitation(
                ctx, token, RatingIn(level=5, indicators={"attitude": 5}, anonymous=True)
            ),
        )
    )
    assert rated["window"] == "A03"
    assert rated["staff"] == "center_sun"
    assert not rated["real_name"]  # the visitor chose to rate anonymously
    with pytest.raises(Conflict) as twice, city.unit_of_work() as ctx:
        feedback.rate_by_invitation(ctx, token, RatingIn(level=1, comment="再评一次"))
    assert twice.value.code == "rating.already_rated"


def test_closed_cases_are_invited_once_by_sms_and_portal(city: Platform) -> None:
    sender = feedback.InvitationSender()
    feedback.set_invitation_sender(sender)
    try:
        number = closed_case(city)
        assert city.run(lambda ctx: feedback.invite_closed_cases(ctx)) == 1
        assert city.run(lambda ctx: feedback.invite_closed_cases(ctx)) == 0
    finally:
        feedback.set_invitation_sender(feedback.InvitationSender())
    assert len(sender.sent) == 1
    masked, link = sender.sent[0]
    assert masked == "138****8000"
    assert link.startswith("/rate/")
    token = link.removeprefix("/rate/")
    with city.unit_of_work() as ctx:
        assert (
            feedback.invitation_view(ctx, feedback.get_invitation(ctx, token))["subject"] == number
        )


def test_genuine_bad_rating_is_rectified_answered_called_back_and_published(
    city: Platform, clock: ManualClock
) -> None:
    rating = _rate(city, closed_case(city), 1, comment="窗口工作人员态度很差，让我跑了两趟")
    case = _case_of(city, rating)
    assert open_elements(city, case) == {"Task_verify"}
    with city.unit_of_work() as ctx:
        task = feedback.queue(ctx, staff(ctx, "center_zhao"))[0]
    assert task["task"] == "Task_verify"
    assert task["department"] == "CENTER"
    # the rectification deadline: 5 working days from the rating (Monday -> next Monday)
    with city.unit_of_work() as ctx:
        c = workflow.case_by_number(ctx, case)
        assert c is not None
    work(city, case, "Task_verify", "center_zhao", {"verdict": "genuine", "finding": "属实"})
    with city.unit_of_work() as ctx:
        rectify = feedback.queue(ctx, staff(ctx, "center_zhao"))[0]
    assert rectify["task"] == "Task_rectify"
    assert rectify["sla_due"].startswith("2026-03-09T15:59:59")  # 23:59:59 Shanghai, in UTC
    work(city, case, "Task_rectify", "center_zhao", {"measures": "窗口开展服务礼仪培训"})
    work(city, case, "Task_answer", "center_zhao", {"answer": "已整改，感谢监督"})
    assert open_elements(city, case) == {"Task_callback"}  # a real-name rating: call back
    work(city, case, "Task_callback", "center_qian", {"callback": "satisfied"})
    work(city, case, "Task_publish", "center_qian", {"summary": "窗口服务态度整改完毕"})
    with city.unit_of_work() as ctx:
        view = feedback.rating_view(ctx, feedback.get_rating(ctx, rating))
        stats = {r["department"]: r for r in feedback.rating_stats(ctx, "department")}
    assert view["rectified"]
    assert view["status"] == "counted"
    assert view["case_outcome"] == "rectified"
    assert stats["CENTER"]["bad"] == 1
    assert stats["CENTER"]["rectification_rate"] == 1.0


def test_overdue_rectification_is_escalated(city: Platform, clock: ManualClock) -> None:
    rating = _rate(city, closed_case(city), 2, comment="等了太久")
    case = _case_of(city, rating)
    work(city, case, "Task_verify", "center_zhao", {"verdict": "genuine", "finding": "属实"})
    clock.advance(timedelta(days=8))
    assert city.run(lambda ctx: workflow.fire_due_timers(ctx)) == 1
    assert open_elements(city, case) == {"Task_rectify", "Task_supervise"}
    with city.unit_of_work() as ctx:
        rectify = [
            t for t in feedback.queue(ctx, staff(ctx, "center_zhao")) if t["task"] == "Task_rectify"
        ]
        assert rectify[0]["escalated"]


def test_mistaken_rating_excluded_then_reinstated_on_the_raters_appeal(city: Platform) -> None:
    rating = _rate(city, closed_case(city), 1, comment="系统太慢")
    case = _case_of(city, rating)
    work(
        city, case, "Task_verify", "center_zhao", {"verdict": "mistaken", "finding": "评价对象错误"}
    )
    work(city, case, "Task_review", "center_qian", {"review": "excluded"})
    with city.unit_of_work() as ctx:
        assert feedback.get_rating(ctx, rating).status == "excluded"
        stats = feedback.rating_stats(ctx, "department")
    assert stats[0]["excluded"] == 1
    assert stats[0]["counted"] == 0
    # someone else cannot appeal; the rater can
    with pytest.raises(NotFound), city.unit_of_work() as ctx:
        feedback.answer_appeal(
            ctx,
            feedback.get_rating(ctx, rating),
            {"appeal": "appeal"},
            actor=feedback.Actor.citizen(OTHER_PHONE),
        )
    city.run(
        lambda ctx: feedback.answer_appeal(
            ctx,
            feedback.get_rating(ctx, rating),
            {"appeal": "appeal", "reason": "没有评错"},
            actor=CITIZEN,
        )
    )
    work(city, case, "Task_appeal_review", "center_qian", {"appeal_review": "reinstated"})
    assert open_elements(city, case) == {"Task_rectify"}
    with city.unit_of_work() as ctx:
        assert feedback.get_rating(ctx, rating).status == "counted"
        history = [
            e["activity"] for e in feedback.case_history(ctx, workflow.case_by_number(ctx, case))
        ]  # type: ignore[arg-type]
    assert "差评排除" in history
    assert "差评恢复" in history


def test_exclusion_stands_when_the_appeal_window_passes(city: Platform, clock: ManualClock) -> None:
    rating = _rate(city, closed_case(city), 1, comment="恶意")
    case = _case_of(city, rating)
    work(city, case, "Task_verify", "center_zhao", {"verdict": "malicious", "finding": "恶意差评"})
    work(city, case, "Task_review", "center_qian", {"review": "excluded"})
    clock.advance(timedelta(days=10))
    city.run(lambda ctx: workflow.fire_due_timers(ctx))
    assert open_elements(city, case) == set()
    with city.unit_of_work() as ctx:
        r = feedback.rating_view(ctx, feedback.get_rating(ctx, rating))
    assert r["status"] == "excluded"
    assert r["excluded_reason"] == "malicious"
    assert r["case_outcome"] == "excluded"
    with pytest.raises(Conflict), city.unit_of_work() as ctx:
        feedback.answer_appeal(
            ctx, feedback.get_rating(ctx, rating), {"appeal": "appeal"}, actor=CITIZEN
        )
