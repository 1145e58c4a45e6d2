"""The citizen portal's pages driven like a browser: cases by what they need, 补正 with only the
items asked for, 一事一评, complaints followed to the reply, and applying online with the desk's
completeness rules. Bad input gets a clear answer and changes nothing."""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import APIRoute

from onewindow.feedback import service as feedback
from onewindow.intake import service as intake
from onewindow.kit.platform import Platform
from onewindow.security import authz
from onewindow.web import portal as portal_pages
from onewindow.web import portal_apply
from onewindow.web.i18n import MESSAGES
from onewindow.workflow import service as workflow

from .feedback_support import open_elements, work
from .helpers import COMPANY, PERSON, pdf
from .portal_support import (
    OTHER_PERSON,
    OTHER_PHONE,
    PHONE,
    closed_case,
    returned_case,
    running_case,
    work_ticket,
)
from .test_web_pages import Codes, codes, hidden, sign_in

__all__ = ["codes"]  # the one-time code recorder, shared with the other page tests

TRAFFIC = "鼓楼区五四路路口的红绿灯坏了好几天，早晚高峰堵车非常严重，请尽快处理"


def _citizen(client: Any, codes: Codes, phone: str = PHONE) -> str:
    """Sign in with a one-time code; returns the session's CSRF token."""
    client.cookies.clear()
    form = client.get("/portal/login")
    r = client.post("/portal/login/code", data={"phone": phone, "pre": hidden(form.text, "pre")})
    code = codes.sent[-1][1]
    r = client.post(
        "/portal/login",
        data={"phone": phone, "code": code, "pre": hidden(r.text, "pre")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    return hidden(client.get("/portal").text, "csrf_token")


def _files(html: str) -> list[str]:
    return re.findall(r'type="file" id="file_([a-z_0-9]+)"', html)


def test_cases_by_what_they_need_own_name_and_a_send_back_as_it_is(
    client: Any, city: Platform, codes: Codes
) -> None:
    closed, returned, running = closed_case(city), returned_case(city), running_case(city)
    theirs = running_case(city, OTHER_PHONE, OTHER_PERSON, "李四")
    _citizen(client, codes)
    page = client.get("/portal").text
    assert "您好，张伟" in page  # their own name, unmasked to themself
    assert "张*" not in page
    for number in (closed, returned, running):
        assert number in page
    assert theirs not in page
    todo = page.split("需要您处理")[1].split("办理中")[0]
    assert returned in todo  # a 补正 to hand in
    assert closed in todo  # a finished case to rate
    assert "去评价" in todo
    assert "请于 2026-03-16 23:59 前补正" in todo  # ten working days from Mon 2 March

    case = client.get(f"/portal/cases/{returned}").text
    assert "退回补正：需要您补交材料" in case
    assert "参保信息审核 · 退回补正" in case
    assert "参保信息审核 · 办理完成" not in case  # the send-back is not shown as done
    assert "补正截止" in case
    assert "2026-03-16 23:59" in case
    assert "人力资源和社会保障局" in case
    assert "照片不清晰；登记表缺少签名" in case
    assert sorted(_files(case)) == ["card_application", "photo"]  # not all seven slots
    assert "<dd>张伟</dd>" in case
    finished = client.get(f"/portal/cases/{closed}").text
    assert "参保信息审核 · 审核通过" in finished
    assert _files(finished) == []
    assert client.get(f"/portal/cases/{theirs}").status_code == 404

    client.cookies.set("lang", "en")
    case = client.get(f"/portal/cases/{returned}").text
    assert "Sent back: please hand in more material" in case
    assert "sent back for more material" in case


def test_one_rating_per_finished_case_bad_ones_need_a_reason_and_start_rectification(
    client: Any, city: Platform, codes: Codes
) -> None:
    closed, running = closed_case(city), running_case(city)
    theirs = closed_case(city, OTHER_PHONE, OTHER_PERSON, "李四")
    csrf = _citizen(client, codes)

    def rate(number: str, **data: str) -> Any:
        return client.post(
            f"/portal/cases/{number}/rate",
            data={"csrf_token": csrf, **data},
            follow_redirects=False,
        )

    r = rate(running, level="5")
    assert r.status_code == 409
    assert "尚未办结" in r.text
    page = client.get(f"/portal/cases/{closed}").text
    for label in ("非常满意", "满意", "基本满意", "不满意", "非常不满意"):
        assert f"<span>{label}</span>" in page
    for indicator in ("办事效率", "办事指南精确度", "办事便捷度", "平台操作性"):
        assert indicator in page
    assert rate(closed).status_code == 422
    assert "请选择总体评价" in rate(closed).text
    assert rate(closed, level="9").status_code == 422
    r = rate(closed, level="4", i_efficiency="7")
    assert r.status_code == 422
    assert "办事效率" in r.text
    r = rate(closed, level="2", i_efficiency="1", comment="   ")
    assert r.status_code == 422
    assert "差评请说明原因" in r.text
    assert 'value="2" checked' in r.text  # what was chosen comes back
    with city.unit_of_work() as ctx:
        app = intake.get_application_by_number(ctx, closed)
        assert feedback.rating_of_application(ctx, app.id) is None  # nothing kept
    assert rate(theirs, level="1", comment="x").status_code == 404

    r = rate(closed, level="2", i_efficiency="1", i_convenience="2", comment="跑了两趟才办成。")
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"]).text
    assert "感谢您的评价" in page
    assert "差评已转相关部门核实整改，整改期限：2026-03-09 23:59" in page
    assert 'action="/portal/cases/' + closed + "/rate" not in page
    with city.unit_of_work() as ctx:
        app = intake.get_application_by_number(ctx, closed)
        rating = feedback.rating_of_application(ctx, app.id)
        assert rating is not None
        assert rating.level == 2
        assert rating.channel == "online"
        assert rating.indicators == {"efficiency": 1, "convenience": 2, "overall": 2}
        assert rating.rater_phone == PHONE
        assert rating.case_id is not None  # the bad rating's rectification has started
        assert workflow.open_tasks(ctx, rating.case_id)
    again = rate(closed, level="5")
    assert again.status_code == 409
    assert "已评价" in again.text


def test_a_complaint_filed_followed_answered_and_confirmed(
    client: Any, city: Platform, codes: Codes
) -> None:
    csrf = _citizen(client, codes)
    assert "您还没有提交过投诉或建议" in client.get("/portal/complaints").text
    form = client.get("/portal/complaints/new").text
    assert 'name="district"' in form

    def send(**data: str) -> Any:
        return client.post(
            "/portal/complaints", data={"csrf_token": csrf, **data}, follow_redirects=False
        )

    r = send(kind="threat", text="", district="火星区")
    assert r.status_code == 422
    for text in ("请选择类型", "请填写诉求内容", "请选择所在区"):
        assert text in r.text
    r = send(kind="complaint", text="😀😀", district="鼓楼区")
    assert r.status_code == 422
    assert "请填写诉求内容" in r.text
    r = send(kind="complaint", text="长" * 4001, district="鼓楼区")
    assert r.status_code == 422
    assert "4001" in r.text
    with city.unit_of_work() as ctx:
        assert feedback.list_tickets(ctx, feedback.Actor.citizen(PHONE)) == []

    r = send(kind="complaint", text=TRAFFIC, district="鼓楼区", street="五四路")
    assert r.status_code == 303, r.text
    number = r.headers["location"].split("/portal/complaints/")[1].split("?")[0]
    page = client.get(r.headers["location"]).text
    assert f"已收到您的诉求，编号 {number}" in page
    assert "待受理" in page
    assert number in client.get("/portal/complaints").text
    r = client.post(
        f"/portal/complaints/{number}/answer",
        data={"csrf_token": csrf, "action": "confirm", "satisfaction": "5"},
    )
    assert r.status_code == 409  # nothing is waiting for the citizen yet

    work_ticket(
        city,
        number,
        [
            ("Task_accept", "center_qian", {"accept": "accept"}),
            ("Task_handle", "psb_luo", {"decision": "resolve", "reply": "信号灯已修复。"}),
            ("Task_close", "center_zhao", {"close": "close"}),
        ],
    )
    page = client.get(f"/portal/complaints/{number}").text
    assert "信号灯已修复。" in page
    assert "已答复，待您评价" in page
    assert "公安局" in page
    r = client.post(
        f"/portal/complaints/{number}/answer", data={"csrf_token": csrf, "action": "confirm"}
    )
    assert r.status_code == 422
    r = client.post(
        f"/portal/complaints/{number}/answer", data={"csrf_token": csrf, "action": "reopen"}
    )
    assert r.status_code == 422
    assert "请说明原因" in r.text
    r = client.post(
        f"/portal/complaints/{number}/answer",
        data={"csrf_token": csrf, "action": "confirm", "satisfaction": "4"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with city.unit_of_work() as ctx:
        view = feedback.ticket_view(ctx, feedback.get_ticket(ctx, number))
        assert view["status"] == "closed"
        assert view["satisfaction"] == 4
        assert view["channel"] == "portal"

    _citizen(client, codes, OTHER_PHONE)
    assert client.get(f"/portal/complaints/{number}").status_code == 404
    assert number not in client.get("/portal/complaints").text


def test_applying_online_uses_the_desks_completeness_rules(
    client: Any, city: Platform, codes: Codes
) -> None:
    closed_case(city)  # the citizen's ID card is on file from an earlier case
    running_case(
        city, OTHER_PHONE, OTHER_PERSON, "李四"
    )  # someone else, registered under another phone
    client.cookies.clear()
    assert 'href="/portal/apply/HRSS-001"' in client.get("/").text  # apply from the landing
    r = client.get("/portal/apply/HRSS-001", follow_redirects=False)
    assert r.headers["location"] == "/portal/login?next=/portal/apply/HRSS-001"
    csrf = _citizen(client, codes)
    pick = client.get("/portal/apply", params={"q": "社会保障"}).text
    assert "/portal/apply/HRSS-001" in pick
    assert "/portal/apply/SAMR-001" not in pick
    form = client.get("/portal/apply/HRSS-001").text
    assert f'value="{PERSON}"' in form  # their own details, filled in
    assert 'value="13800138000"' in form

    def apply(files: dict[str, Any] | None = None, **data: str) -> Any:
        return client.post(
            "/portal/apply/HRSS-001",
            data={"csrf_token": csrf, **data},
            files=files or {},
            follow_redirects=False,
        )

    r = apply(kind="person", id_number=PERSON, applicant_name="")
    assert r.status_code == 422
    assert "缺少 2 项必要材料：社会保障卡申领登记表、近期免冠证件照片" in r.text  # ID on file
    assert "姓名 / 企业名称：必填" in r.text
    r = apply(kind="person", id_number="110105194912310021", applicant_name="张伟")
    assert r.status_code == 422
    assert "身份证号码校验位应为 X" in r.text
    r = apply(kind="person", id_number=OTHER_PERSON, applicant_name="李四")
    assert r.status_code == 422
    assert "该申请人登记的手机号与您不符" in r.text
    files = {
        "file_photo": ("photo.png", b"\x89PNG\r\n\x1a\n" + b"1" * 32, "image/png"),
        "file_card_application": ("form.exe", b"MZ\x90\x00", "application/octet-stream"),
    }
    r = apply(files, kind="person", id_number=PERSON, applicant_name="张伟")
    assert r.status_code == 422
    assert "已选择的 1 份文件已为您保留" in r.text  # the photo; the .exe is refused
    with city.unit_of_work() as ctx:
        before = len(intake.applications_of_phone(ctx, PHONE))

    files["file_card_application"] = ("form.pdf", pdf("form"), "application/pdf")
    r = apply(
        files,
        kind="person",
        id_number=PERSON,
        applicant_name="张伟",
        f_applicant_name="张伟",
        f_id_number=PERSON,
        f_mobile=PHONE,
        f_bank_name="中国银行",
    )
    assert r.status_code == 303, r.text
    number = r.headers["location"].split("/portal/cases/")[1].split("?")[0]
    page = client.get(r.headers["location"]).text
    assert f"申请已提交，办件编号 {number}" in page
    with city.unit_of_work() as ctx:
        app = intake.get_application_by_number(ctx, number)
        assert app.channel == "online"
        assert app.applicant.phone == PHONE
        assert len(intake.applications_of_phone(ctx, PHONE)) == before + 1
        reused = {m.material_code for m in app.materials if m.reused}
        assert reused == {"id_card"}

    r = client.post(
        "/portal/apply/SAMR-001",
        data={"csrf_token": csrf, "kind": "person", "id_number": PERSON, "applicant_name": "x"},
    )
    assert r.status_code == 422
    assert "法人" in r.text  # a business service refuses a person, in words
    assert COMPANY not in r.text


def test_staff_have_no_portal_and_every_portal_page_names_its_permission(
    client: Any, codes: Codes
) -> None:
    form = client.get("/login")
    client.post(
        "/login",
        data={"username": "center_qian", "password": "demo", "pre": hidden(form.text, "pre")},
    )
    for path in ("/portal", "/portal/complaints", "/portal/apply", "/portal/complaints/new"):
        assert client.get(path).status_code == 403, path
    for route in [*portal_pages.router.routes, *portal_apply.router.routes]:
        assert isinstance(route, APIRoute)
        perms = [authz.route_permission(d.call) for d in route.dependant.dependencies]
        assert any(perms), route.path
    for key in [k for k in MESSAGES if k.startswith("pt_")]:
        zh, en = MESSAGES[key]
        assert zh, key
        assert en, key


def test_an_excluded_bad_rating_can_be_appealed_from_the_case_page(
    client: Any, city: Platform, codes: Codes
) -> None:
    closed = closed_case(city)
    csrf = _citizen(client, codes)
    r = client.post(
        f"/portal/cases/{closed}/rate",
        data={"csrf_token": csrf, "level": "1", "comment": "系统太慢"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with city.unit_of_work() as ctx:
        app = intake.get_application_by_number(ctx, closed)
        rating = feedback.rating_of_application(ctx, app.id)
        assert rating is not None
        assert rating.case_id is not None
        case = workflow.get_case(ctx, rating.case_id).number
    appeal = {"csrf_token": csrf, "appeal": "appeal", "reason": "没有评错"}
    r = client.post(f"/portal/cases/{closed}/appeal", data=appeal)
    assert r.status_code == 422  # nothing to appeal yet: the rating was not excluded
    assert "无需申诉" in r.text
    work(city, case, "Task_verify", "center_zhao", {"verdict": "mistaken", "finding": "评错对象"})
    work(city, case, "Task_review", "center_qian", {"review": "excluded"})
    page = client.get(f"/portal/cases/{closed}").text
    assert "该差评经核实被排除" in page
    assert "提出申诉" in page
    r = client.post(f"/portal/cases/{closed}/appeal", data={**appeal, "reason": ""})
    assert r.status_code == 422
    assert "申诉时请填写理由" in r.text
    assert open_elements(city, case) == {"Task_rater_appeal"}
    r = client.post(f"/portal/cases/{closed}/appeal", data=appeal, follow_redirects=False)
    assert r.status_code == 303, r.text
    assert open_elements(city, case) == {"Task_appeal_review"}
    assert "提出申诉" not in client.get(f"/portal/cases/{closed}").text


def test_the_rater_reads_the_answer_and_says_whether_the_rectification_satisfies_them(
    client: Any, city: Platform, codes: Codes
) -> None:
    closed = closed_case(city)
    csrf = _citizen(client, codes)
    r = client.post(
        f"/portal/cases/{closed}/rate",
        data={"csrf_token": csrf, "level": "1", "comment": "窗口让我跑了两趟，电话13800138000"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with city.unit_of_work() as ctx:
        app = intake.get_application_by_number(ctx, closed)
        rating = feedback.rating_of_application(ctx, app.id)
        assert rating is not None
        assert rating.case_id is not None
        case = workflow.get_case(ctx, rating.case_id).number
    confirm = f"/portal/cases/{closed}/confirm"

    def post(**data: str) -> Any:
        return client.post(confirm, data={"csrf_token": csrf, **data}, follow_redirects=False)

    def state() -> tuple[set[str], int]:
        with city.unit_of_work() as ctx:
            c = workflow.case_by_number(ctx, case)
            opened = {t.element_id for t in workflow.open_tasks(ctx, c.id)}
            return opened, len(workflow.case_history(ctx, c))

    work(
        city,
        case,
        "Task_verify",
        "center_zhao",
        {"verdict": "genuine", "finding": "窗口未一次告知"},
    )
    work(city, case, "Task_rectify", "center_zhao", {"measures": "一次性告知清单上墙"})
    page = client.get(f"/portal/cases/{closed}").text
    assert 'id="answer"' not in page  # nothing shown before the answer step is done
    assert "一次性告知清单上墙" not in page
    assert post(satisfied="yes").status_code == 409  # nothing to confirm yet
    work(city, case, "Task_answer", "center_zhao", {"answer": "已整改，感谢您的监督"})
    assert open_elements(city, case) == {"Task_callback"}
    page = client.get(f"/portal/cases/{closed}").text
    answer = page.split('id="answer"')[1].split("</section>")[0]
    for shown in ("整改答复", "窗口未一次告知", "一次性告知清单上墙", "已整改，感谢您的监督"):
        assert shown in answer, shown
    assert "答复部门" in answer
    assert "答复时间" in answer
    assert "center_zhao" not in page
    assert "赵敏" not in page
    assert "窗口让我跑了两趟，电话13800138000" in page  # their own words, unmasked
    assert 'action="/portal/cases/' + closed + "/confirm" in answer
    client.cookies.set("lang", "en")
    en = client.get(f"/portal/cases/{closed}").text
    assert "The department&#39;s answer" in en
    assert "What was changed" in en
    assert "Are you satisfied with how it was put right?" in en
    client.cookies.set("lang", "zh")

    before = state()
    # someone else's case: its existence is not told
    other_csrf = _citizen(client, codes, OTHER_PHONE)
    r = client.post(confirm, data={"csrf_token": other_csrf, "satisfied": "yes"})
    assert r.status_code == 404
    assert state() == before
    csrf = _citizen(client, codes)
    r = post(comment="好")
    assert r.status_code == 422
    assert "请选择" in r.text
    r = post(satisfied="no", comment="   ")
    assert r.status_code == 422
    assert "不满意时请说明原因" in r.text
    assert 'value="no" checked' in r.text  # what was chosen comes back
    r = post(satisfied="no", comment="长" * 2001)
    assert r.status_code == 422
    assert "超过上限 2000 字" in r.text
    assert state() == before  # nothing changed by any refusal

    r = post(satisfied="no", comment="告知清单字太小，老人看不清")
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"]).text
    assert "感谢您的回访意见" in page
    assert "回访结果：对整改不满意" in page
    assert "告知清单字太小，老人看不清" in page
    assert 'action="/portal/cases/' + closed + "/confirm" not in page
    assert open_elements(city, case) == {"Task_publish"}  # the call-back is done: no phone call
    after = state()
    r = post(satisfied="yes", comment="")
    assert r.status_code == 409
    assert "您已确认过整改结果，不能重复提交" in r.text
    assert state() == after
    with city.unit_of_work() as ctx:
        c = workflow.case_by_number(ctx, case)
        events = [h.event for h in workflow.case_history(ctx, c)]
        callback = [e for e in events if e.activity_id == "Task_callback"]
        assert callback[-1].resource == "citizen"
        confirmed = [e for e in events if e.event_type == "rectification_confirmed"]
        assert len(confirmed) == 1
        assert confirmed[0].attributes == {"callback": "unsatisfied", "channel": "portal"}

    # the centre reads every step's fields in the case's history, by name, in both languages
    client.cookies.clear()
    sign_in(client, "center_zhao")
    desk_page = client.get(f"/fbdesk/cases/{case}").text
    history = desk_page.split('id="fbd-history"')[1]
    for shown in (
        "<dt>核实结论</dt><dd>属实</dd>",
        "<dt>核实情况</dt><dd>窗口未一次告知</dd>",
        "<dt>整改措施</dt><dd>一次性告知清单上墙</dd>",
        "<dt>答复内容</dt><dd>已整改，感谢您的监督</dd>",
        "<dt>回访结果</dt><dd>不满意</dd>",
        "<dt>意见</dt><dd>告知清单字太小，老人看不清</dd>",
        "回访 · 市民",
        "评价人网上确认整改结果",
    ):
        assert shown in history, shown
    assert "verdict" not in history
    assert "genuine" not in history
    client.cookies.set("lang", "en")
    history = client.get(f"/fbdesk/cases/{case}").text.split('id="fbd-history"')[1]
    for shown in (
        "<dt>Finding</dt><dd>Genuine</dd>",
        "<dt>What was found</dt>",
        "<dt>Measures taken</dt><dd>一次性告知清单上墙</dd>",
        "<dt>Answer</dt>",
        "<dt>Call-back result</dt><dd>Not satisfied</dd>",
        "Call-back · Citizen",
        "Rater answered the return visit online",
    ):
        assert shown in history, shown
