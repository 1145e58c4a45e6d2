"""The complaint and 好差评 desk's pages on a real database (SQLite, and PostgreSQL when the test
database URL is set): a citizen's ticket accepted, dispatched with a reason, answered, closed
and called back; a duplicate merged; a survey created, answered, charted and closed; a board
item drafted, edited and published. Every refusal shows the reason and changes nothing."""

from __future__ import annotations

import re
from typing import Any

from onewindow.catalog import service as catalog
from onewindow.eventlog import service as eventlog
from onewindow.feedback import desk
from onewindow.feedback import service as feedback
from onewindow.feedback.schemas import CaseRatingIn, TicketIn
from onewindow.kit.platform import Platform
from onewindow.workflow import service as workflow
from tests.integration.test_web_pages import sign_in

from .feedback_support import PHONE, closed_case

CITIZEN = feedback.Actor.citizen(PHONE)
VAGUE = "我有个情况想反映一下"  # the classifier is unsure: a dispatcher routes it
RUBBISH = "小区门口垃圾桶满了好几天没人清运，臭气熏天，请尽快处理"


def _portal_ticket(city: Platform, text: str, district: str = "仓山区") -> str:
    body = TicketIn(text=text, district=district)
    return city.run(lambda ctx: feedback.submit_ticket(ctx, body, actor=CITIZEN).number)


def _state(city: Platform, number: str) -> dict[str, Any]:
    """What a refused action must leave alone: the ticket, its open steps, its events."""
    with city.unit_of_work() as ctx:
        t = feedback.get_ticket(ctx, number)
        assert t.case_id is not None
        return {
            "status": t.status,
            "category": t.category,
            "category_source": t.category_source,
            "department": t.department_id,
            "reply": t.reply,
            "outcome": t.outcome,
            "duplicate_of": t.duplicate_of_id,
            "satisfaction": t.satisfaction,
            "open": sorted(x.element_id for x in workflow.open_tasks(ctx, t.case_id)),
            "events": len(eventlog.case_history(ctx, t.case_id)),
        }


def _clean(html: str) -> None:
    """No catalogue key shown raw, no inline style (the CSP would block it)."""
    assert not re.search(r"\bfbd?_[a-z]", re.sub(r"<[^>]*>", " ", html))
    assert 'style="' not in html
    title = re.search(r"<title>(.*?)</title>", html, re.S)
    assert title is not None
    assert "<" not in title.group(1)  # nothing of the page leaked into the head
    assert html.count("<main") == 1


def _as(client: Any, username: str) -> str:
    client.cookies.clear()
    return sign_in(client, username)


def _post(client: Any, path: str, csrf: str, **data: str) -> Any:
    return client.post(path, data={"csrf_token": csrf, **data}, follow_redirects=False)


def test_a_ticket_goes_from_acceptance_through_dispatch_reply_and_call_back(
    city: Platform, client: Any
) -> None:
    number = _portal_ticket(city, VAGUE)
    csrf = _as(client, "center_zhao")  # the centre's head: accepts, dispatches, calls back
    queue = client.get("/fbdesk?queue=complaints")
    assert queue.status_code == 200
    assert number in queue.text
    assert "共 1 条" in queue.text
    assert "共 0 条" in client.get(f"/fbdesk?queue=complaints&q=%25{number}x").text
    page = client.get(f"/fbdesk/tickets/{number}")
    assert page.status_code == 200
    assert VAGUE in page.text
    assert "模型建议" in page.text
    assert "置信度" in page.text
    _clean(page.text)

    r = _post(client, f"/fbdesk/tickets/{number}/accept", csrf, decision="accept")
    assert r.status_code == 303, r.text
    assert _state(city, number)["open"] == ["Task_dispatch"]

    # bad dispatches: an unknown department, no reason — refused, nothing changed
    before = _state(city, number)
    r = _post(
        client,
        f"/fbdesk/tickets/{number}/dispatch",
        csrf,
        category="tax",
        department="NOPE",
        reason="属于税务问题",
    )
    assert r.status_code == 422
    assert "部门 NOPE 不存在" in r.text
    assert "未能完成，未作任何更改" in r.text
    assert _state(city, number) == before
    r = _post(client, f"/fbdesk/tickets/{number}/dispatch", csrf, category="tax", department="TAX")
    assert r.status_code == 422
    assert "请填写派单理由" in r.text
    assert _state(city, number) == before

    r = _post(
        client,
        f"/fbdesk/tickets/{number}/dispatch",
        csrf,
        category="tax",
        department="TAX",
        reason="来电补充说明为发票问题",
    )
    assert r.status_code == 303, r.text
    after = _state(city, number)
    assert after["category"] == "tax"
    assert after["category_source"] == "dispatcher"
    assert after["open"] == ["Task_handle"]
    assert after["events"] > before["events"]
    with city.unit_of_work() as ctx:
        t = feedback.get_ticket(ctx, number)
        types = [e.event_type for e in eventlog.case_history(ctx, t.case_id or 0)]
        assert "ticket_reclassified" in types
        dispatched = next(
            x
            for x in workflow.tasks_of_case(ctx, t.case_id or 0)
            if x.element_id == "Task_dispatch"
        )
        assert dispatched.data["comment"] == "来电补充说明为发票问题"
        assert dispatched.completed_by == "center_zhao"

    # another department's staff: a reviewer elsewhere does not see it, a head may see it
    # but not answer for the tax bureau
    _as(client, "psb_luo")
    assert client.get(f"/fbdesk/tickets/{number}").status_code == 404
    other = _as(client, "samr_chen")
    r = _post(client, f"/fbdesk/tickets/{number}/reply", other, decision="resolve", reply="好")
    assert r.status_code == 403
    assert "该任务属于其他部门" in r.text
    assert _state(city, number) == after

    tax = _as(client, "tax_xu")
    assert number in client.get("/fbdesk?queue=complaints").text
    r = _post(client, f"/fbdesk/tickets/{number}/reply", tax, decision="resolve", reply="  ")
    assert r.status_code == 422
    assert "请填写答复市民的内容" in r.text
    assert _state(city, number) == after
    r = _post(
        client,
        f"/fbdesk/tickets/{number}/reply",
        tax,
        decision="resolve",
        reply="已联系您并补开发票",
    )
    assert r.status_code == 303, r.text
    assert _state(city, number)["open"] == ["Task_close"]

    csrf = _as(client, "center_zhao")
    r = _post(client, f"/fbdesk/tickets/{number}/close", csrf, decision="close")
    assert r.status_code == 303, r.text
    assert _state(city, number)["open"] == ["Task_rate"]
    page = client.get(f"/fbdesk/tickets/{number}")
    assert "回访" in page.text
    r = _post(client, f"/fbdesk/tickets/{number}/callback", csrf, action="maybe", satisfaction="5")
    assert r.status_code == 422
    assert _state(city, number)["open"] == ["Task_rate"]
    r = _post(
        client,
        f"/fbdesk/tickets/{number}/callback",
        csrf,
        action="confirm",
        satisfaction="5",
        comment="市民表示满意",
    )
    assert r.status_code == 303, r.text
    done = _state(city, number)
    assert done["status"] == "closed"
    assert done["satisfaction"] == 5
    assert done["reply"] == "已联系您并补开发票"
    assert done["open"] == []
    page = client.get(f"/fbdesk/tickets/{number}?done=called_back")
    assert "回访结果已记录" in page.text
    assert "赵敏" in page.text  # names in the history, not usernames
    client.cookies.set("lang", "en")
    page = client.get(f"/fbdesk/tickets/{number}")
    _clean(page.text)
    assert "Classifier&#39;s suggestion" in page.text
    assert "Dispatch" in page.text


def test_a_duplicate_is_merged_and_bad_merges_change_nothing(city: Platform, client: Any) -> None:
    first = _portal_ticket(city, RUBBISH)
    second = _portal_ticket(city, RUBBISH + "！")
    csrf = _as(client, "center_qian")
    page = client.get(f"/fbdesk/tickets/{second}")
    assert first in page.text  # offered as a likely duplicate
    with city.unit_of_work() as ctx:
        found = desk.likely_duplicates(ctx, feedback.get_ticket(ctx, second))
        assert found[0][0].number == first
        assert found[0][1] > 0.9

    before = _state(city, second)
    r = _post(client, f"/fbdesk/tickets/{second}/merge", csrf, into=second)
    assert r.status_code == 422
    assert "工单不能合并到自身" in r.text
    assert _state(city, second) == before
    r = _post(client, f"/fbdesk/tickets/{second}/merge", csrf, into="T20990101NOPE")
    assert r.status_code == 404
    assert _state(city, second) == before

    r = _post(client, f"/fbdesk/tickets/{second}/merge", csrf, into=first, reason="同一地点")
    assert r.status_code == 303, r.text
    merged = _state(city, second)
    assert merged["status"] == "not_accepted"
    assert merged["outcome"] == "duplicate"
    assert merged["open"] == []
    with city.unit_of_work() as ctx:
        root = feedback.get_ticket(ctx, first)
        assert merged["duplicate_of"] == root.id
        types = [e.event_type for e in eventlog.case_history(ctx, root.case_id or 0)]
        assert "ticket_merged" in types
    # the first cannot now be merged into its own duplicate
    before = _state(city, first)
    r = _post(client, f"/fbdesk/tickets/{first}/merge", csrf, into=second)
    assert r.status_code == 422
    assert _state(city, first) == before
    assert second in client.get(f"/fbdesk/tickets/{first}").text
    # a ticket past acceptance cannot be merged
    _post(client, f"/fbdesk/tickets/{first}/accept", csrf, decision="accept")
    third = _portal_ticket(city, "五四路的餐馆超市销售过期食品", district="鼓楼区")
    r = _post(client, f"/fbdesk/tickets/{first}/merge", csrf, into=third)
    assert r.status_code == 409
    assert "只有待受理的工单" in r.text


def test_surveys_are_created_answered_charted_and_closed(city: Platform, client: Any) -> None:
    csrf = _as(client, "center_zhao")
    assert client.get("/fbdesk/surveys").status_code == 200
    good = {
        "code": "hall-2026",
        "title": "办事大厅满意度",
        "closes_on": "2026-12-31",
        "anonymous": "on",
        "questions": "single: 您通过什么渠道办理？ | 窗口; 网上; 手机\nscale: 总体满意度\n"
        "text: 您的建议",
    }
    for bad, text in (
        ({**good, "questions": "single: 只有一个选项 | 窗口"}, "问卷设置有误"),
        ({**good, "closes_on": ""}, "请填写截止日期"),
        ({**good, "code": "有 空格"}, "问卷设置有误"),
        ({**good, "questions": "   "}, "请至少填写一道题目"),
    ):
        r = _post(client, "/fbdesk/surveys", csrf, **bad)
        assert r.status_code == 422, bad
        assert text in r.text
        assert bad["title"] in r.text  # what was typed is kept
    with city.unit_of_work() as ctx:
        assert desk.surveys(ctx) == []
    r = _post(client, "/fbdesk/surveys", csrf, **good)
    assert r.status_code == 303, r.text
    assert r.headers["location"].startswith("/fbdesk/surveys/hall-2026")
    r = _post(client, "/fbdesk/surveys", csrf, **good)
    assert r.status_code == 409
    for channel, level in (("窗口", 5), ("窗口", 4), ("网上", 2)):
        city.run(
            lambda ctx, c=channel, v=level: feedback.submit_response(
                ctx, "hall-2026", {"q1": c, "q2": v, "q3": "排队时间太长了"}, phone=None
            )
        )
    page = client.get("/fbdesk/surveys/hall-2026")
    assert page.status_code == 200
    assert "答卷 3 份" in page.text
    _clean(page.text)
    bars = re.findall(r'class="fbd-chart-bar"[^>]*width="([\d.]+)"', page.text)
    widths = [float(w) for w in bars]
    assert max(widths) == 360.0  # the longest bar is the full width
    assert 180.0 in widths  # 网上: one answer of two for 窗口
    r = _post(client, "/fbdesk/surveys/hall-2026/close", csrf)
    assert r.status_code == 303
    with city.unit_of_work() as ctx:
        assert not feedback.survey_is_open(ctx, feedback.get_survey(ctx, "hall-2026"))
    assert "已截止" in client.get("/fbdesk/surveys/hall-2026").text
    assert client.get("/fbdesk/surveys/nope").status_code == 404
    # the analysis page's bars carry no inline style either
    assert 'style="' not in client.get("/feedback").text


def test_board_items_are_drafted_edited_and_published(city: Platform, client: Any) -> None:
    csrf = _as(client, "center_zhao")
    r = _post(
        client,
        "/fbdesk/board",
        csrf,
        code="queue-sms",
        title="排队叫号短信提醒",
        description="群众反映排队久",
        owner="CENTER",
    )
    assert r.status_code == 303, r.text
    assert "排队叫号短信提醒" not in client.get("/board").text  # a draft is not public
    r = _post(client, "/fbdesk/board", csrf, code="queue-sms", title="重复", owner="CENTER")
    assert r.status_code == 409
    r = _post(client, "/fbdesk/board", csrf, code="x", title="未知部门", owner="NOPE")
    assert r.status_code == 404

    def item() -> dict[str, Any]:
        with city.unit_of_work() as ctx:
            return feedback.improvement_view(ctx, feedback.get_improvement(ctx, "queue-sms"))

    before = item()
    r = _post(client, "/fbdesk/board/queue-sms", csrf, title=" ", status="live", progress="50")
    assert r.status_code == 422
    assert "请填写标题" in r.text
    r = _post(client, "/fbdesk/board/queue-sms", csrf, title="好", status="gone", progress="5")
    assert r.status_code == 422
    assert item() == before
    r = _post(
        client,
        "/fbdesk/board/queue-sms",
        csrf,
        title="排队叫号短信提醒上线",
        description="叫号前 10 分钟短信提醒",
        status="live",
        progress="80",
    )
    assert r.status_code == 303, r.text
    edited = item()
    assert edited["title"] == "排队叫号短信提醒上线"
    assert edited["status"] == "live"
    assert edited["progress"] == 80
    assert edited["published_at"] is None
    ticket = _portal_ticket(city, RUBBISH)
    r = _post(client, "/fbdesk/board/queue-sms/sources", csrf, kind="ticket", ref="T-NOPE")
    assert r.status_code == 404
    r = _post(client, "/fbdesk/board/queue-sms/sources", csrf, kind="memo", ref=ticket)
    assert r.status_code == 422
    assert item()["sources"] == []
    r = _post(client, "/fbdesk/board/queue-sms/sources", csrf, kind="ticket", ref=ticket)
    assert r.status_code == 303, r.text
    assert [s["ref"] for s in item()["sources"]] == [ticket]
    item_page = client.get("/fbdesk/board/queue-sms").text
    _clean(item_page)
    assert item_page.count('id="fbd-item-sources"') == 1
    _clean(client.get("/fbdesk/board").text)
    r = _post(client, "/fbdesk/board/queue-sms/publish", csrf)
    assert r.status_code == 303
    assert item()["published_at"] is not None
    assert "排队叫号短信提醒上线" in client.get("/board").text
    r = _post(client, "/fbdesk/board/queue-sms/publish", csrf)
    assert r.status_code == 409
    assert "已公开" in r.text


def test_the_desk_is_for_staff_who_work_feedback(city: Platform, client: Any) -> None:
    _as(client, "center_li")  # an analyst: manages surveys, works no tasks
    assert client.get("/fbdesk").status_code == 403
    assert client.get("/fbdesk/surveys").status_code == 200
    _as(client, "psb_luo")  # a reviewer: works tasks, does not manage surveys
    assert client.get("/fbdesk").status_code == 200
    assert client.get("/fbdesk/surveys").status_code == 403
    assert client.get("/fbdesk/tickets/T-NOPE").status_code == 404


def test_a_bad_rating_is_verified_appealed_rectified_and_called_back_on_the_desk(
    city: Platform, client: Any
) -> None:
    body = CaseRatingIn(case_number=closed_case(city), level=1, comment="窗口让我跑了两趟")
    rating = city.run(lambda ctx: feedback.rate_case(ctx, body, actor=CITIZEN).number)
    with city.unit_of_work() as ctx:
        case = str(feedback.rating_view(ctx, feedback.get_rating(ctx, rating))["case"])

    def steps() -> dict[str, int]:
        with city.unit_of_work() as ctx:
            return feedback.open_steps(ctx, case)

    csrf = _as(client, "center_zhao")
    assert rating in client.get("/fbdesk?queue=rectifications").text
    assert rating not in client.get("/fbdesk?queue=appeals").text
    page = client.get(f"/fbdesk/cases/{case}")
    assert page.status_code == 200
    assert "核实差评" in page.text
    # the rated service and department by name, not by code
    rows = dict(re.findall(r"<tr><th>([^<]+)</th><td>([^<]+)", page.text))
    with city.unit_of_work() as ctx:
        departments = {d.name_zh for d in catalog.list_departments(ctx)}
        services = {sv.name_zh for sv in catalog.list_services(ctx)}
    assert rows["被评部门"].strip() in departments
    assert rows["事项"].strip() in services
    _clean(page.text)
    verify = steps()["Task_verify"]
    r = _post(client, f"/fbdesk/tasks/{verify}", csrf, f_verdict="mistaken")
    assert r.status_code == 422  # the finding is required
    assert steps() == {"Task_verify": verify}
    # another department's staff can neither see nor work it (404: its existence is not told)
    other = _as(client, "psb_lin")
    assert client.get(f"/fbdesk/cases/{case}").status_code == 404
    r = _post(client, f"/fbdesk/tasks/{verify}", other, f_verdict="genuine", f_finding="属实")
    assert r.status_code == 404
    assert steps() == {"Task_verify": verify}

    csrf = _as(client, "center_zhao")
    r = _post(client, f"/fbdesk/tasks/{verify}", csrf, f_verdict="mistaken", f_finding="对象错误")
    assert r.status_code == 303, r.text
    assert set(steps()) == {"Task_review"}
    assert rating in client.get("/fbdesk?queue=appeals").text
    r = _post(client, f"/fbdesk/tasks/{steps()['Task_review']}", csrf, f_review="genuine")
    assert r.status_code == 303, r.text
    assert set(steps()) == {"Task_rectify"}
    for element, data in (
        ("Task_rectify", {"f_measures": "窗口开展服务礼仪培训"}),
        ("Task_answer", {"f_answer": "已整改，感谢监督"}),
        ("Task_callback", {"f_callback": "satisfied", "f_comment": "电话回访满意"}),
        ("Task_publish", {"f_summary": "窗口服务整改完毕"}),
    ):
        r = _post(client, f"/fbdesk/tasks/{steps()[element]}", csrf, **data)
        assert r.status_code == 303, (element, r.text)
    assert steps() == {}
    with city.unit_of_work() as ctx:
        done = feedback.rating_view(ctx, feedback.get_rating(ctx, rating))
        history = desk.history(ctx, workflow.case_by_number(ctx, case))
    assert done["rectified"]
    assert any(h["element"] == "Task_callback" and h["who"] == "赵敏" for h in history)
    # every step's fields in the history, by name and option name, in both languages
    page = client.get(f"/fbdesk/cases/{case}").text
    _clean(page)
    shown = page.split('id="fbd-history"')[1]
    for field in (
        "<dt>核实结论</dt><dd>误评</dd>",
        "<dt>核实情况</dt><dd>对象错误</dd>",
        "<dt>复核结论</dt><dd>申诉不成立，差评有效</dd>",
        "<dt>整改措施</dt><dd>窗口开展服务礼仪培训</dd>",
        "<dt>答复内容</dt><dd>已整改，感谢监督</dd>",
        "<dt>回访结果</dt><dd>满意</dd>",
        "<dt>意见</dt><dd>电话回访满意</dd>",
        "<dt>公开内容</dt><dd>窗口服务整改完毕</dd>",
    ):
        assert field in shown, field
    assert "center_zhao" not in shown  # names, not usernames
    client.cookies.set("lang", "en")
    page = client.get(f"/fbdesk/cases/{case}").text
    _clean(page)
    shown = page.split('id="fbd-history"')[1]
    for field in (
        "<dt>Finding</dt><dd>Mistaken</dd>",
        "<dt>Review</dt><dd>Appeal dismissed: the rating stands</dd>",
        "<dt>Call-back result</dt><dd>Satisfied</dd>",
        "<dt>Published summary</dt>",
    ):
        assert field in shown, field


def test_the_queue_pages_through_the_true_total_and_searches_safely(
    city: Platform, client: Any
) -> None:
    def enter(ctx: Any) -> None:
        clerk = feedback.Actor.of_staff(catalog.get_staff(ctx, "center_qian"))
        for i in range(23):
            body = TicketIn(text=f"{VAGUE}，第{i}件", channel="hotline")
            feedback.submit_ticket(ctx, body, actor=clerk)

    city.run(enter)
    _as(client, "center_zhao")
    first = client.get("/fbdesk?queue=complaints")
    assert "共 23 条" in first.text
    assert "第 1 / 2 页" in first.text
    assert first.text.count('href="/fbdesk/tickets/') == 2 * 20  # number and button
    second = client.get("/fbdesk?queue=complaints&page=2")
    assert "第 2 / 2 页" in second.text
    assert second.text.count('href="/fbdesk/tickets/') == 2 * 3
    assert "第12件" in client.get("/fbdesk?queue=complaints&q=第12件").text
    for hostile in ("%", "_", "' OR 1=1 --", "<script>alert(1)</script>", "\\"):
        r = client.get("/fbdesk", params={"queue": "complaints", "q": hostile})
        assert r.status_code == 200
        assert "共 0 条" in r.text
        assert "<script>alert(1)</script>" not in r.text
    assert "共 23 条" in client.get("/fbdesk?queue=nope&page=x").text  # defaults, not an error
