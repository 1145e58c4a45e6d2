"""The workbench queue: server-side search, filters, sort and pages with true totals."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, select

from onewindow.catalog import service as catalog
from onewindow.eventlog import service as eventlog
from onewindow.feedback import service as feedback
from onewindow.feedback.schemas import TicketIn
from onewindow.intake.schemas import ApplicantIn, Upload
from onewindow.kit.clock import ManualClock
from onewindow.kit.platform import Platform
from onewindow.workflow import flows
from onewindow.workflow import service as workflow
from onewindow.workflow.models import Case, Task

from .helpers import COMPANY, complete, open_tasks, pdf, valid_form
from .test_bpmn_constructs import _submit
from .test_web_pages import (
    OTHER_PERSON,
    OTHER_PHONE,
    PERSON,
    PHONE,
    open_task,
    sign_in,
    submit_hrss,
)

TASK_LINK = re.compile(r'href="/workbench/tasks/(\d+)"')
CASE_LINK = re.compile(r'href="/workbench/cases/([^"]+)"')


def results(html: str) -> int:
    match = re.search(r"共 (\d+) 条", html)
    assert match, "no result count on the page"
    return int(match.group(1))


def kpi(html: str, label: str) -> int:
    match = re.search(rf"<b>(\d+)</b><span>{label}</span>", html)
    assert match, f"no counter {label}"
    return int(match.group(1))


def add_open_tasks(
    city: Platform, department: str, count: int, *, overdue: int, nearing: int
) -> None:
    """``count`` open tasks in a department's queue, each on its own case, in two statements.

    The cases copy a real started case (its process and engine state), so every row is what
    the engine would have written; ``overdue`` of them are past their SLA, ``nearing`` due
    within 24 hours, the rest later.
    """
    number = submit_hrss(city)
    with city.unit_of_work() as ctx:
        model = ctx.session.scalar(select(Case).where(Case.number == number))
        assert model is not None
        dept = catalog.get_department(ctx, department).id
        now = ctx.clock.now()
        ctx.session.execute(
            insert(Case),
            [
                {
                    "number": f"ZZ{i:06d}",
                    "kind": "application",
                    "process_definition_id": model.process_definition_id,
                    "service_code": model.service_code,
                    "channel": "window",
                    "routes": model.routes,
                    "task_sla": model.task_sla,
                    "called_versions": {},
                    "state": model.state,
                    "completed": False,
                    "started_at": now,
                    "version": 1,
                }
                for i in range(count)
            ],
        )
        ids = ctx.session.scalars(
            select(Case.id).where(Case.number.like("ZZ%")).order_by(Case.number)
        ).all()

        def due(i: int) -> Any:
            if i < overdue:
                return now - timedelta(hours=1 + i)
            if i < overdue + nearing:
                return now + timedelta(hours=1)
            return now + timedelta(days=3, minutes=i)

        ctx.session.execute(
            insert(Task),
            [
                {
                    "case_id": case_id,
                    "engine_task_id": str(uuid.uuid4()),
                    "element_id": "Task_hrss_review",
                    "name": "社保卡审核",
                    "department_id": dept,
                    "for_applicant": False,
                    "status": "ready",
                    "created_at": now,
                    "sla_due": due(i),
                    "escalated": i < 7,  # 督办 on the seven longest overdue
                    "form_fields": [],
                    "data": {},
                }
                for i, case_id in enumerate(ids)
            ],
        )


def test_a_department_with_1000_open_tasks_shows_the_true_total_and_pages_through_all(
    client: Any, city: Platform
) -> None:
    add_open_tasks(city, "HRSS", 1000, overdue=300, nearing=200)
    sign_in(client, "hrss_hu")
    first = client.get("/workbench").text
    assert results(first) == 1000
    assert (kpi(first, "待办"), kpi(first, "已超时"), kpi(first, "24 小时内到期")) == (
        1000,
        300,
        200,
    )
    assert "第 1 / 20 页" in first
    seen: list[int] = []
    for number in range(1, 11):
        page = client.get(f"/workbench?size=100&page={number}").text
        assert results(page) == 1000
        seen += [int(i) for i in TASK_LINK.findall(page)]
    assert len(seen) == len(set(seen)) == 1000
    past = client.get("/workbench?size=100&page=11").text  # past the end: the last page
    assert results(past) == 1000
    assert "第 10 / 10 页" in past
    assert len(TASK_LINK.findall(past)) == 100
    # Filters narrow the total; the counters stay those of the whole search.
    overdue = client.get("/workbench?due=overdue&size=100&page=3").text
    assert results(overdue) == 300
    assert len(TASK_LINK.findall(overdue)) == 100
    assert kpi(overdue, "已超时") == 300
    assert kpi(overdue, "待办") == 1000
    assert results(client.get("/workbench?due=nearing").text) == 200
    assert results(client.get("/workbench?due=escalated").text) == 7
    # The most urgent first by default; the latest first when sorted the other way.
    asc = TASK_LINK.findall(client.get("/workbench?size=20").text)
    desc = TASK_LINK.findall(client.get("/workbench?size=20&sort=sla_due&dir=desc").text)
    assert asc != desc
    assert not set(asc) & set(desc)


def _submit_business(city: Platform, company: str) -> str:
    with city.unit_of_work() as ctx:
        service = catalog.get_service(ctx, "SAMR-001")
        uploads = [
            Upload(m.code, f"{m.code}.pdf", pdf(m.code)) for m in service.materials if m.required
        ]
        form = {**valid_form(service), "company_name": company, "registered_capital": 100}
    done = city.run(
        lambda ctx: flows.submit_application(
            ctx,
            "SAMR-001",
            ApplicantIn("business", COMPANY, "福州某投资有限公司"),
            channel="window",
            form=form,
            uploads=uploads,
            actor="center_qian",
        )
    )
    return done.application.number


def test_search_by_number_name_company_phone_and_id_number(client: Any, city: Platform) -> None:
    mine = submit_hrss(city)
    other = submit_hrss(city, person=OTHER_PERSON, phone=OTHER_PHONE)
    business = _submit_business(city, "闽江科技有限公司")
    sign_in(client, "center_qian")  # the window accepts all three

    def found(q: str) -> set[str]:
        page = client.get("/workbench", params={"q": q})
        assert page.status_code == 200
        return set(CASE_LINK.findall(page.text))

    assert found("") == {mine, other, business}
    assert found(mine) == {mine}
    assert found(mine[-4:]) == {mine} or mine[-4:] in other  # a part of the number
    assert found("闽江科技") == {business}  # the company the application is for
    assert found("福州某投资") == {business}  # the business applicant's name
    assert found(PHONE) == {mine}  # exact, through the blind index
    assert found(f"{PHONE[:3]} {PHONE[3:7]} {PHONE[7:]}") == {mine}  # spaces typed in
    assert found(PHONE[:7]) == set()  # a partial phone number finds nothing
    assert found(OTHER_PERSON) == {other}
    assert found(PERSON.lower()) == {mine}  # 18-digit ID with a lower-case x
    assert found(COMPANY) == {business}  # unified social credit code
    assert found(PERSON[:6]) == set()


def test_search_with_sql_and_html_metacharacters_is_harmless(client: Any, city: Platform) -> None:
    submit_hrss(city)
    submit_hrss(city, person=OTHER_PERSON, phone=OTHER_PHONE)
    sign_in(client, "center_qian")
    assert results(client.get("/workbench").text) == 2
    for q in (
        "' OR 1=1 --",
        "%",
        "_",
        "%%",
        "\\",
        "<script>alert(1)</script>",
        "'; DROP TABLE tasks; --",
    ):
        page = client.get("/workbench", params={"q": q})
        assert page.status_code == 200, q
        assert results(page.text) == 0, q
        assert CASE_LINK.findall(page.text) == [], q
    page = client.get("/workbench", params={"q": "<script>alert(1)</script>"})
    assert "<script>alert(1)" not in page.text
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in page.text
    # Unknown filter values fall back to the defaults instead of failing.
    odd = client.get("/workbench?status=x&due=y&sort=z;drop&page=-1&size=99999&dir=sideways")
    assert odd.status_code == 200
    assert results(odd.text) == 2
    assert results(client.get("/workbench").text) == 2  # nothing changed


def test_claimed_by_me_and_head_scope(client: Any, city: Platform, clock: ManualClock) -> None:
    number = submit_hrss(city)
    csrf = sign_in(client, "center_qian")
    task = int(TASK_LINK.findall(client.get("/workbench").text)[0])
    r = client.post(
        f"/workbench/tasks/{task}/claim", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    mine = client.get("/workbench?mine=1").text
    assert results(mine) == 1
    assert kpi(mine, "我已认领") == 1
    assert "钱丽华" in mine
    assert "center_qian" not in mine  # the top bar names the person and the department too
    assert "钱丽华 · 政务服务中心" in mine
    client.cookies.clear()
    sign_in(client, "center_sun")
    assert results(client.get("/workbench?mine=1").text) == 0
    assert number in client.get("/workbench").text


# --- names and words ---------------------------------------------------------------------------


def test_after_a_send_back_the_task_says_so_and_history_shows_names(
    client: Any, city: Platform
) -> None:
    number = submit_hrss(city)
    accept = open_task(city, number, "Task_window_accept")
    city.run(
        lambda ctx: workflow.complete_task(
            ctx, accept, {"decision": "approve"}, actor=catalog.get_staff(ctx, "center_qian")
        )
    )
    review = open_task(city, number, "Task_hrss_review")
    csrf = sign_in(client, "hrss_hu")
    r = client.post(
        f"/workbench/tasks/{review}",
        data={
            "csrf_token": csrf,
            "action": "send_back",
            "missing": ["photo"],
            "f_comment": "照片不清晰",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert f"办件 {number} 已退回申请人补正" in client.get(r.headers["location"]).text
    page = client.get(f"/workbench/tasks/{review}").text
    assert "该任务已退回申请人补正" in page
    assert "已办结" not in page
    main = page.split('id="main"', 1)[1]
    assert "钱丽华" in main  # who accepted it, by name
    assert "胡斌" in main
    assert "center_qian" not in main
    assert "hrss_hu" not in main
    assert "系统" in main  # the 补正 notice is the system's
    assert ">system<" not in main
    assert "照片不清晰" in main  # the opinion
    again = client.post(
        f"/workbench/tasks/{review}",
        data={"csrf_token": csrf, "action": "approve"},
        follow_redirects=False,
    )
    assert again.status_code == 409
    assert "任务已退回补正，不能重复办理" in again.text
    client.cookies.clear()
    client.cookies.set("lang", "en")
    sign_in(client, "hrss_hu")
    english = client.get(f"/workbench/tasks/{review}").text
    assert "sent the case back to the applicant" in english
    assert "System" in english


def test_a_timer_in_the_history_reads_as_its_bpmn_name(
    client: Any, city: Platform, clock: ManualClock
) -> None:
    app_id = _submit(city, "PSB-001", "person", PERSON, "林小雨", residence_basis="study")
    complete(city, open_tasks(city, app_id)["Task_window_accept"], "center_qian")
    clock.advance(timedelta(days=4))  # the PSB's system did not answer within 3 days
    assert city.run(lambda ctx: workflow.fire_due_timers(ctx)) == 1
    manual = open_tasks(city, app_id)["Task_psb_manual_check"]
    sign_in(client, "psb_luo")
    page = client.get(f"/workbench/tasks/{manual}").text
    assert "3日未返回 · 计时到期" in page
    assert "Timer_check_late" not in page


# --- the case page -----------------------------------------------------------------------------

PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d49444154789c63f8"
    "cfc0f01f0005000201e2a3a8f50000000049454e44ae426082"
)


def test_case_page_timeline_materials_versions_preview_and_diagram(
    client: Any, city: Platform
) -> None:
    number = submit_hrss(city)
    accept = open_task(city, number, "Task_window_accept")
    city.run(
        lambda ctx: workflow.complete_task(
            ctx, accept, {"decision": "approve"}, actor=catalog.get_staff(ctx, "center_qian")
        )
    )
    review = open_task(city, number, "Task_hrss_review")
    city.run(
        lambda ctx: workflow.send_back(
            ctx, review, ["photo"], "照片不清晰", actor=catalog.get_staff(ctx, "hrss_hu")
        )
    )
    city.run(
        lambda ctx: flows.supplement(
            ctx, number, [Upload("photo", "photo-new.png", PNG)], actor="applicant"
        )
    )
    sign_in(client, "hrss_guo")
    queue = client.get("/workbench", params={"q": number}).text
    assert f'href="/workbench/cases/{number}"' in queue  # reachable from the search
    page = client.get(f"/workbench/cases/{number}")
    assert page.status_code == 200, page.text
    html = page.text
    assert "照片不清晰" in html  # the opinion in the timeline
    assert "受理通知书" in html  # and the documents
    assert "胡斌" in html
    assert "hrss_hu" not in html.split('id="main"', 1)[1]
    # The photo twice: the new version current, the old one superseded (not a duplicate).
    rows = re.findall(
        r'<tr class="(wb-superseded)?">\s*<td>([^<]+)</td>\s*<td class="nowrap">v(\d)', html
    )
    photos = [(bool(old), v) for old, name, v in rows if "照片" in name]
    assert photos == [(False, "2"), (True, "1")]
    assert "已被替换" in html
    # Inline previews: the image shown in the page, the PDFs in a frame of this site only.
    image = re.search(rf'<img src="(/files/{number}/\d+\?inline=1)"', html)
    assert image is not None
    shown = client.get(image.group(1))
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["content-disposition"].startswith("inline")
    assert "frame-ancestors 'self'" in shown.headers["content-security-policy"]
    frame = re.search(rf'<iframe src="(/files/{number}/\d+)\?inline=1"', html)
    assert frame is not None
    pdf_inline = client.get(frame.group(1) + "?inline=1")
    assert pdf_inline.headers["content-disposition"].startswith("inline")
    assert pdf_inline.headers["x-frame-options"] == "SAMEORIGIN"
    assert client.get(frame.group(1)).headers["content-disposition"].startswith("attachment")
    # The diagram: its data comes from a JSON endpoint, the script from a static file.
    assert 'data-diagram-url="/workbench/cases/' in html
    assert '<script src="/static/workbench.js"' in html
    assert "<script>" not in html
    assert 'style="' not in html
    drawn = client.get(f"/workbench/cases/{number}/diagram").json()
    assert drawn["current"] == ["Task_hrss_review"]
    assert "Task_window_accept" in drawn["done"]
    assert drawn["xml"].lstrip().startswith("<?xml") or "<bpmn:definitions" in drawn["xml"]
    assert client.get("/static/workbench.js").status_code == 200
    # The task page lists the versions the same way, not as two photos.
    again = open_task(city, number, "Task_hrss_review")
    task_page = client.get(f"/workbench/tasks/{again}").text
    assert task_page.count("已被替换") == 1
    assert "v2" in task_page


def test_case_page_is_hidden_from_departments_without_a_part_in_it(
    client: Any, city: Platform
) -> None:
    number = submit_hrss(city)
    sign_in(client, "samr_wang")  # SAMR never had a task in this HRSS case
    assert client.get(f"/workbench/cases/{number}").status_code == 404
    assert client.get(f"/workbench/cases/{number}/diagram").status_code == 404
    assert client.get("/workbench/cases/NOPE-1").status_code == 404


# --- a head's actions --------------------------------------------------------------------------


def _task(city: Platform, task_id: int) -> tuple[str, str | None, int | None]:
    with city.unit_of_work() as ctx:
        task = workflow.get_task(ctx, task_id)
        return task.status, task.claimed_by, task.department_id


def _events_of(city: Platform, number: str) -> list[tuple[str, str | None, dict[str, Any]]]:
    with city.unit_of_work() as ctx:
        case = workflow.case_by_number(ctx, number)
        return [
            (e.event_type, e.resource, e.attributes) for e in eventlog.case_history(ctx, case.id)
        ]


def _at_review(city: Platform) -> tuple[str, int]:
    number = submit_hrss(city)
    accept = open_task(city, number, "Task_window_accept")
    complete(city, accept, "center_qian")
    review = open_task(city, number, "Task_hrss_review")
    city.run(lambda ctx: workflow.claim_task(ctx, review, actor=catalog.get_staff(ctx, "hrss_hu")))
    return number, review


def test_head_reassigns_within_the_department_and_takes_back(client: Any, city: Platform) -> None:
    number, review = _at_review(city)
    csrf = sign_in(client, "hrss_ma")  # head of HRSS
    page = client.get(f"/workbench/cases/{number}").text
    assert "负责人操作" in page
    assert '<option value="hrss_guo">郭静怡</option>' in page  # colleagues by name
    r = client.post(
        f"/workbench/tasks/{review}/reassign",
        data={"csrf_token": csrf, "to": "hrss_guo", "reason": "胡斌休假"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert _task(city, review)[:2] == ("claimed", "hrss_guo")
    shown = client.get(r.headers["location"]).text
    assert "已改派" in shown
    assert "· 改派" in shown  # the history says it in words
    assert "胡斌 → 郭静怡" in shown
    assert "胡斌休假" in shown
    kinds = [k for k, _, _ in _events_of(city, number)]
    assert kinds.count("task_reassigned") == 1
    reassigned = next(e for e in _events_of(city, number) if e[0] == "task_reassigned")
    assert reassigned[1] == "hrss_ma"
    assert (reassigned[2]["from"], reassigned[2]["to"]) == ("hrss_hu", "hrss_guo")
    # ... and the step starts again in the new hands (handling time is theirs from now on).
    last = _events_of(city, number)[-1]
    assert (last[0], last[1], last[2]["assigned_by"]) == ("task_claimed", "hrss_guo", "hrss_ma")

    r = client.post(
        f"/workbench/tasks/{review}/take-back", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    assert _task(city, review)[:2] == ("ready", None)
    assert "task_unclaimed" in [k for k, _, _ in _events_of(city, number)]
    again = client.post(
        f"/workbench/tasks/{review}/take-back", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert again.status_code == 409
    assert "尚未被认领" in again.text
    # The new holder works it to the end: the history stays readable.
    client.cookies.clear()
    csrf_guo = sign_in(client, "hrss_guo")
    r = client.post(
        f"/workbench/tasks/{review}",
        data={"csrf_token": csrf_guo, "action": "approve"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text


def test_reassignment_outside_the_department_is_refused_and_nothing_changes(
    client: Any, city: Platform
) -> None:
    number, review = _at_review(city)
    before = _events_of(city, number)
    csrf = sign_in(client, "hrss_ma")
    for to in ("samr_wang", "nobody_here", "center_zhou", "", "hrss_hu"):
        r = client.post(
            f"/workbench/tasks/{review}/reassign",
            data={"csrf_token": csrf, "to": to},
            follow_redirects=False,
        )
        assert r.status_code in (409, 422), (to, r.status_code)
        assert 'role="alert"' in r.text
        assert _task(city, review)[:2] == ("claimed", "hrss_hu")
    outside = client.post(
        f"/workbench/tasks/{review}/reassign",
        data={"csrf_token": csrf, "to": "samr_wang"},
        follow_redirects=False,
    )
    assert outside.status_code == 422
    assert "只能改派给本部门的工作人员" in outside.text
    assert _events_of(city, number) == before  # no event, nothing changed
    # The process fixes HRSS for the review: no transfer, said plainly.
    moved = client.post(
        f"/workbench/tasks/{review}/transfer",
        data={"csrf_token": csrf, "department": "SAMR"},
        follow_redirects=False,
    )
    assert moved.status_code == 409
    assert "不能转办" in moved.text
    assert _events_of(city, number) == before
    # Not a head: no such power; another department's head: no such task.
    client.cookies.clear()
    csrf = sign_in(client, "hrss_guo")
    r = client.post(
        f"/workbench/tasks/{review}/reassign",
        data={"csrf_token": csrf, "to": "hrss_guo"},
        follow_redirects=False,
    )
    assert r.status_code == 403
    client.cookies.clear()
    csrf = sign_in(client, "samr_chen")
    r = client.post(
        f"/workbench/tasks/{review}/take-back", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 404
    assert _task(city, review)[:2] == ("claimed", "hrss_hu")
    assert _events_of(city, number) == before


def test_transfer_where_the_process_lets_the_case_choose_its_department(
    client: Any, city: Platform
) -> None:
    ticket = city.run(
        lambda ctx: feedback.ticket_view(
            ctx,
            feedback.submit_ticket(
                ctx,
                TicketIn(
                    text="鼓楼区五四路路口的红绿灯坏了好几天，早晚高峰堵车非常严重，请尽快处理",
                    channel="hotline",
                    contact_phone=PHONE,
                    district="鼓楼区",
                ),
                actor=feedback.Actor.of_staff(catalog.get_staff(ctx, "center_qian")),
            ),
        )
    )
    number = str(ticket["case"])
    with city.unit_of_work() as ctx:
        case = workflow.case_by_number(ctx, number)
        handle = next(
            t.id for t in workflow.open_tasks(ctx, case.id) if t.element_id == "Task_handle"
        )
        housing = catalog.get_department(ctx, "HOUSING").id
    csrf = sign_in(client, "psb_lin")  # head of the PSB, where dispatch sent it
    assert "转办到部门" in client.get(f"/workbench/cases/{number}").text
    r = client.post(
        f"/workbench/tasks/{handle}/transfer",
        data={"csrf_token": csrf, "department": "HOUSING", "reason": "属住建职责"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert _task(city, handle) == ("ready", None, housing)
    moved = next(e for e in _events_of(city, number) if e[0] == "task_transferred")
    assert (moved[1], moved[2]["from"], moved[2]["to"]) == ("psb_lin", "PSB", "HOUSING")
    with city.unit_of_work() as ctx:  # the ticket follows its case
        assert (
            feedback.ticket_view(ctx, feedback.get_ticket(ctx, str(ticket["number"])))["department"]
            == "HOUSING"
        )
    client.cookies.clear()
    sign_in(client, "housing_song")
    assert number in client.get("/workbench").text


def test_every_workbench_route_names_its_permission() -> None:
    from fastapi.routing import APIRoute

    from onewindow.security import authz
    from onewindow.web import workbench as pages

    for route in pages.router.routes:
        assert isinstance(route, APIRoute)
        perms = [authz.route_permission(d.call) for d in route.dependant.dependencies]
        assert any(perms), route.path


def test_a_head_follows_the_cases_of_the_department_into_other_queues(
    client: Any, city: Platform
) -> None:
    ours = submit_hrss(city)
    complete(city, open_task(city, ours, "Task_window_accept"), "center_qian")
    complete(city, open_task(city, ours, "Task_hrss_review"), "hrss_hu")
    issue = open_task(city, ours, "Task_window_issue")  # back at the window (CENTER)
    untouched = submit_hrss(city, person=OTHER_PERSON, phone=OTHER_PHONE)  # never at HRSS
    sign_in(client, "hrss_ma")
    own = client.get("/workbench").text
    assert results(own) == 0
    wider = client.get("/workbench?scope=involved").text
    assert results(wider) == 1
    assert set(CASE_LINK.findall(wider)) == {ours}
    assert untouched not in wider
    assert "政务服务中心" in wider  # whose queue it is in
    assert f'href="/workbench/tasks/{issue}"' not in wider  # seen, not worked
    client.cookies.clear()
    sign_in(client, "hrss_hu")  # not a head: the scope is their own queue whatever is asked
    assert results(client.get("/workbench?scope=involved").text) == 0
