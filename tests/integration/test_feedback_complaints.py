"""The 12345 loop on the engine: accept, dispatch (automatic or by a dispatcher), handle with a
working-day deadline, escalation on breach, closure check, the citizen's rating or reopening."""

from __future__ import annotations

from datetime import timedelta

import pytest

from onewindow.feedback import service as feedback
from onewindow.feedback.schemas import TicketIn
from onewindow.kit.clock import ManualClock
from onewindow.kit.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from onewindow.kit.platform import Platform
from onewindow.workflow import service as workflow

from .feedback_support import OTHER_PHONE, PHONE, open_elements, open_task, staff, work

CITIZEN = feedback.Actor.citizen(PHONE)
TRAFFIC = "鼓楼区五四路路口的红绿灯坏了好几天，早晚高峰堵车非常严重，请尽快处理"


def _hotline(city: Platform, text: str = TRAFFIC, **kw: object) -> dict[str, object]:
    body = TicketIn(text=text, channel="hotline", contact_phone=PHONE, district="鼓楼区", **kw)  # type: ignore[arg-type]
    return city.run(
        lambda ctx: feedback.ticket_view(
            ctx, feedback.submit_ticket(ctx, body, actor=staff(ctx, "center_qian"))
        )
    )


def _view(city: Platform, number: str) -> dict[str, object]:
    with city.unit_of_work() as ctx:
        return feedback.ticket_view(ctx, feedback.get_ticket(ctx, number))


def test_confident_ticket_goes_straight_to_the_department_and_closes(
    city: Platform, clock: ManualClock
) -> None:
    t = _hotline(city)
    assert t["category"] == "traffic"
    assert t["department"] == "PSB"
    assert t["status"] == "pending_at_department"
    assert float(t["confidence"]) >= 0.6  # type: ignore[arg-type]
    case = str(t["case"])
    # handled within the deadline: 5 working days (Mon 2 March -> Mon 9 March, 23:59:59)
    assert str(t["handle_due"]).startswith("2026-03-09T15:59:59")
    clock.advance(timedelta(days=1))
    work(city, case, "Task_handle", "psb_luo", {"decision": "resolve", "reply": "已修复信号灯"})
    work(city, case, "Task_close", "center_zhao", {"close": "close"})
    assert _view(city, str(t["number"]))["status"] == "resolved"
    city.run(
        lambda ctx: feedback.answer_as_citizen(
            ctx, str(t["number"]), "confirm", 5, "", actor=CITIZEN
        )
    )
    done = _view(city, str(t["number"]))
    assert done["status"] == "closed"
    assert done["satisfaction"] == 5
    assert done["outcome"] == "resolved"
    assert done["escalations"] == 0


def test_breach_escalates_and_a_reopened_ticket_keeps_its_history(
    city: Platform, clock: ManualClock
) -> None:
    t = _hotline(city)
    number, case = str(t["number"]), str(t["case"])
    clock.advance(timedelta(days=8))  # past the 5 working days
    city.run(lambda ctx: workflow.fire_due_timers(ctx))
    assert open_elements(city, case) == {"Task_handle", "Task_supervise"}
    assert _view(city, number)["escalations"] == 1
    work(city, case, "Task_supervise", "center_zhao", {"comment": "请公安交警尽快处理"})
    work(city, case, "Task_handle", "psb_luo", {"decision": "resolve", "reply": "已处理"})
    work(city, case, "Task_close", "center_zhao", {"close": "close"})
    # the citizen reopens within the window (3 days): back to the same department
    clock.advance(timedelta(days=1))
    city.run(
        lambda ctx: feedback.answer_as_citizen(
            ctx, number, "reopen", 2, "红绿灯又坏了", actor=CITIZEN
        )
    )
    again = _view(city, number)
    assert again["status"] == "pending_at_department"
    assert again["reopened"] == 1
    assert again["reply"] == "已处理"  # the earlier answer is kept
    work(city, case, "Task_handle", "psb_luo", {"decision": "resolve", "reply": "更换了控制器"})
    work(city, case, "Task_close", "center_zhao", {"close": "close"})
    # nobody answers: the window passes and the ticket closes by itself
    clock.advance(timedelta(days=4))
    city.run(lambda ctx: workflow.fire_due_timers(ctx))
    final = _view(city, number)
    assert final["status"] == "closed"
    handled = [x for x in final["tasks"] if x["task"] == "Task_handle"]  # type: ignore[union-attr]
    assert len(handled) == 2
    history = final["history"]
    activities = [h["activity"] for h in history if h["lifecycle"] == "complete"]  # type: ignore[union-attr,index]
    assert activities.count("办理答复") == 2
    claims = [h["activity"] for h in history if h["lifecycle"] == "start"]  # type: ignore[union-attr,index]
    assert claims.count("办理答复") == 2  # each handling is claimed first, in the one event log
    assert "重新办理" in activities
    assert "超时督办" in activities
    with pytest.raises(Conflict) as late, city.unit_of_work() as ctx:
        feedback.answer_as_citizen(ctx, number, "reopen", 1, "", actor=CITIZEN)
    assert late.value.code == "ticket.nothing_to_answer"


def test_low_confidence_goes_to_a_dispatcher_whose_choice_is_training_data(
    city: Platform,
) -> None:
    body = TicketIn(text="我有个情况想反映一下", channel="hotline", district="台江区")
    t = city.run(
        lambda ctx: feedback.ticket_view(
            ctx, feedback.submit_ticket(ctx, body, actor=staff(ctx, "center_qian"))
        )
    )
    assert t["status"] == "pending_assignment"
    assert t["department"] is None
    case = str(t["case"])
    dispatch = open_task(city, case, "Task_dispatch")
    wrong = {"category": "nonsense", "department": "TAX"}
    with pytest.raises(ValidationFailed), city.unit_of_work() as ctx:
        feedback.complete_task(ctx, dispatch, wrong, actor=staff(ctx, "center_zhao"))
    work(city, case, "Task_dispatch", "center_zhao", {"category": "tax", "department": "TAX"})
    routed = _view(city, str(t["number"]))
    assert routed["department"] == "TAX"
    assert routed["category_source"] == "dispatcher"
    # another department may not work it; the tax bureau may send it back to dispatch
    handle = open_task(city, case, "Task_handle")
    with pytest.raises(PermissionDenied) as other, city.unit_of_work() as ctx:
        feedback.complete_task(ctx, handle, {"decision": "transfer"}, actor=staff(ctx, "psb_luo"))
    assert other.value.code == "task.wrong_department"
    work(city, case, "Task_handle", "tax_xu", {"decision": "transfer"})
    assert open_elements(city, case) == {"Task_dispatch"}


def test_portal_ticket_waits_for_acceptance_and_only_its_author_sees_it(city: Platform) -> None:
    body = TicketIn(text="小区门口垃圾桶满了好几天没人清运，臭气熏天", district="仓山区")
    t = city.run(
        lambda ctx: feedback.ticket_view(ctx, feedback.submit_ticket(ctx, body, actor=CITIZEN))
    )
    assert t["status"] == "pending_acceptance"
    assert t["channel"] == "portal"
    with pytest.raises(NotFound), city.unit_of_work() as ctx:
        feedback.visible_ticket(ctx, str(t["number"]), feedback.Actor.citizen(OTHER_PHONE))
    with city.unit_of_work() as ctx:
        assert feedback.visible_ticket(ctx, str(t["number"]), CITIZEN).number == t["number"]
    work(city, str(t["case"]), "Task_accept", "center_qian", {"accept": "reject"})
    assert _view(city, str(t["number"]))["status"] == "not_accepted"


def test_bad_text_is_refused_and_duplicates_are_linked(city: Platform) -> None:
    for text in ("", "   ", "🙂🙂"):  # any length is taken (issue 17): no upper limit here
        with pytest.raises(ValidationFailed), city.unit_of_work() as ctx:
            feedback.submit_ticket(
                ctx, TicketIn(text=text, channel="hotline"), actor=staff(ctx, "center_qian")
            )
    first = _hotline(city)
    traditional = _hotline(city, "鼓樓區五四路路口的紅綠燈壞了好幾天，早晚高峰堵車非常嚴重😡")
    other = _hotline(city, "鼓楼区五四路的餐馆超市销售过期食品")
    assert traditional["category"] == "traffic"
    assert traditional["duplicate_of"] == first["number"]
    assert other["duplicate_of"] is None
