"""The HTML pages, driven like a browser: forms, CSRF tokens, cookies, redirects."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute

from onewindow.catalog import service as catalog
from onewindow.intake.schemas import ApplicantIn, Upload
from onewindow.kit.clock import ManualClock
from onewindow.kit.platform import Platform
from onewindow.security import authz
from onewindow.security import service as security
from onewindow.web import routes as web_routes
from onewindow.web.i18n import MESSAGES
from onewindow.workflow import flows
from onewindow.workflow import service as workflow

from .helpers import PERSON, pdf

TEMPLATES = Path(web_routes.__file__).parent / "templates"
HRSS_FORM = {
    "applicant_name": "张三",
    "id_number": PERSON,
    "mobile": "13800138000",
    "bank_name": "中国银行",
}
PHONE = "13800138000"
OTHER_PHONE = "13900139000"
OTHER_PERSON = "110105198506151236"  # make_citizen_id("110105", 1985-06-15, 123)


class Codes:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, phone: str, code: str) -> None:
        self.sent.append((phone, code))


@pytest.fixture
def codes() -> Iterator[Codes]:
    recorder = Codes()
    security.set_sender(recorder)
    yield recorder
    security.set_sender(security.LogSender())


def hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, f"no hidden field {name}"
    return match.group(1)


def sign_in(client: Any, username: str, password: str = "demo") -> str:
    """Sign in through the /login form; returns the session's CSRF token."""
    form = client.get("/login")
    assert form.status_code == 200
    r = client.post(
        "/login",
        data={"username": username, "password": password, "pre": hidden(form.text, "pre")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    home = client.get(r.headers["location"])
    assert home.status_code == 200, home.text
    return hidden(home.text, "csrf_token")


def sign_in_applicant(client: Any, codes: Codes, phone: str) -> str:
    form = client.get("/portal/login")
    r = client.post("/portal/login/code", data={"phone": phone, "pre": hidden(form.text, "pre")})
    assert r.status_code == 200, r.text
    assert security.mask_phone(phone) in r.text
    sent_to, code = codes.sent[-1]
    assert sent_to == phone
    r = client.post(
        "/portal/login",
        data={"phone": phone, "code": code, "pre": hidden(r.text, "pre")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/portal"
    page = client.get("/portal")
    assert page.status_code == 200
    return hidden(page.text, "csrf_token")


def submit_hrss(city: Platform, *, person: str = PERSON, phone: str = PHONE) -> str:
    """A social security card case taken over the service layer; returns its number."""
    with city.unit_of_work() as ctx:
        service = catalog.get_service(ctx, "HRSS-001")
        uploads = [Upload(m.code, f"{m.code}.pdf", pdf(m.code)) for m in service.materials]
    submitted = city.run(
        lambda ctx: flows.submit_application(
            ctx,
            "HRSS-001",
            ApplicantIn("person", person, "张三", phone),
            channel="window",
            form={**HRSS_FORM, "id_number": person},
            uploads=uploads,
            actor="center_qian",
        )
    )
    return submitted.application.number


def open_task(city: Platform, number: str, element: str) -> int:
    with city.unit_of_work() as ctx:
        from onewindow.intake import service as intake

        app = intake.get_application_by_number(ctx, number)
        return next(
            t.id
            for t in workflow.open_tasks(ctx, workflow.application_case(ctx, app.id).id)
            if t.element_id == element
        )


def work(client: Any, csrf: str, task_id: int, **data: str) -> Any:
    return client.post(
        f"/workbench/tasks/{task_id}", data={"csrf_token": csrf, **data}, follow_redirects=False
    )


# --- tests ----------------------------------------------------------------------------------


def test_favicon_ico_is_the_icon_not_a_404(client: Any) -> None:
    # a fragment opened on its own names no icon: the browser asks for /favicon.ico
    r = client.get("/favicon.ico", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (308, "/static/favicon.svg")
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")


def test_landing_lists_services_and_pages_ask_for_sign_in(client: Any) -> None:
    r = client.get("/")
    assert r.status_code == 200
    assert "社会保障卡申领" in r.text
    assert 'href="/login"' in r.text
    assert 'href="/portal/login"' in r.text
    r = client.get("/desk", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login?next=/desk")
    r = client.get("/portal/cases/OW1", follow_redirects=False)
    assert r.headers["location"] == "/portal/login?next=/portal/cases/OW1"


def test_staff_sign_in_errors_are_in_the_users_language(client: Any) -> None:
    form = client.get("/login")
    pre = hidden(form.text, "pre")
    bad = {"username": "center_qian", "password": "wrong", "pre": pre}
    r = client.post("/login", data=bad)
    assert r.status_code == 401
    assert "用户名或密码错误" in r.text
    assert 'value="center_qian"' in r.text  # what was typed is kept
    client.cookies.set("lang", "en")
    r = client.post("/login", data=bad)
    assert r.status_code == 401
    assert "Wrong username or password" in r.text
    for _ in range(3):
        client.post("/login", data=bad)
    r = client.post("/login", data={**bad, "password": "demo"})
    assert r.status_code == 429
    assert "Too many failed sign-ins" in r.text
    r = client.post("/login", data={**bad, "pre": "forged"})
    assert r.status_code == 403


def test_every_role_lands_on_its_page(client: Any, codes: Codes) -> None:
    for username, home in [
        ("center_qian", "/desk"),
        ("hrss_hu", "/workbench"),
        ("center_zhou", "/admin"),
        ("center_li", "/dashboard"),
        ("center_zheng", "/audit"),
        ("center_wu", "/datahub"),
    ]:
        client.cookies.clear()
        sign_in(client, username)
        r = client.get("/", follow_redirects=False)
        assert (r.status_code, r.headers["location"]) == (303, home), username
    client.cookies.clear()
    sign_in_applicant(client, codes, PHONE)
    assert client.get("/", follow_redirects=False).headers["location"] == "/portal"


def test_desk_reports_every_problem_at_once_and_keeps_what_was_typed(client: Any) -> None:
    csrf = sign_in(client, "center_qian")
    r = client.get("/desk")
    assert "HRSS-001" in r.text
    r = client.get("/desk?service=HRSS-001")
    assert r.status_code == 200
    assert "社会保障卡申领登记表" in r.text
    r = client.get("/desk/check-id", params={"kind": "person", "id_number": "110105194912310020"})
    assert "校验位应为 X" in r.text
    assert "bad" in r.text
    r = client.get(
        "/desk/check-id", params={"kind": "person", "id_number": PERSON, "service": "HRSS-001"}
    )
    assert "身份证号码校验通过" in r.text
    assert 'hx-swap-oob="true"' in r.text
    r = client.post(
        "/desk",
        data={
            "csrf_token": csrf,
            "service": "HRSS-001",
            "kind": "person",
            "id_number": "110105194912310020",
            "applicant_name": "张三",
            "phone": PHONE,
            "f_applicant_name": "张三",
            "f_bank_name": "",
        },
        files={"file_photo": ("photo.exe", b"MZ\x90\x00 not an image", "image/png")},
    )
    assert r.status_code == 422
    text = r.text
    # Every problem at once, each shown once, beside its field; the summary only counts.
    assert "缺少 2 项必要材料，已在材料表中标出" in text
    assert text.count("必要材料，未提交") == 2
    assert text.count("校验位应为 X") == 1
    assert text.count("不允许的文件类型") == 1
    assert text.count("金融功能合作银行：必填") == 1
    assert 'value="110105194912310020"' in text
    assert 'value="张三"' in text


def test_desk_takes_an_application_and_prints_its_receipt(client: Any, city: Platform) -> None:
    csrf = sign_in(client, "center_qian")
    fields = {f"f_{k}": v for k, v in HRSS_FORM.items()}
    r = client.post(
        "/desk",
        data={
            "csrf_token": csrf,
            "service": "HRSS-001",
            "kind": "person",
            "id_number": PERSON.lower(),
            "applicant_name": "张三",
            "phone": PHONE,
            **fields,
        },
        files={
            "file_id_card": ("身份证.pdf", pdf("id"), "application/pdf"),
            "file_card_application": ("登记表.pdf", pdf("form"), "application/pdf"),
            "file_photo": ("photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 32, "image/png"),
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    location = r.headers["location"]
    assert location.startswith("/desk/receipt/OW")
    number = location.rsplit("/", 1)[1]
    receipt = client.get(location)
    assert receipt.status_code == 200
    assert number in receipt.text
    # taken, not yet accepted: a proof of submission, not the 受理回执
    assert "收件凭证" in receipt.text
    assert "受理回执" not in receipt.text
    assert "待窗口受理" in receipt.text
    assert "110105********002X" in receipt.text
    assert PERSON not in receipt.text
    assert "138****8000" in receipt.text
    assert "2026-03-16" in receipt.text  # 10 working days from Monday 2 March 2026
    assert "data-print" in receipt.text
    accept = open_task(city, number, "Task_window_accept")
    assert f'href="/workbench/tasks/{accept}"' in receipt.text  # the clerk goes on to accept
    city.run(
        lambda ctx: workflow.complete_task(
            ctx, accept, {"decision": "approve"}, actor=catalog.get_staff(ctx, "center_qian")
        )
    )
    accepted = client.get(location)
    assert "受理回执" in accepted.text
    assert "受理通知书" in client.get(f"/workbench/tasks/{accept}").text
    download = client.get(f"{location}/download")
    assert download.headers["content-disposition"] == (
        f'attachment; filename="receipt-{number}.html"'
    )
    assert "110105********002X" in download.text
    # the same applicant's ID card is now on file: the next service reuses it
    r = client.get(
        "/desk/check-id", params={"kind": "person", "id_number": PERSON, "service": "PSB-001"}
    )
    assert "库中证照 1 份" in r.text
    assert "库中已有，免提交" in r.text


def test_workbench_queue_task_page_and_department_scoping(
    client: Any, city: Platform, clock: ManualClock
) -> None:
    number = submit_hrss(city)
    accept = open_task(city, number, "Task_window_accept")
    csrf = sign_in(client, "center_qian")
    queue = client.get("/workbench")
    assert number in queue.text
    assert "窗口受理" in queue.text
    page = client.get(f"/workbench/tasks/{accept}")
    assert page.status_code == 200
    assert "110105********002X" in page.text
    assert "/files/" in page.text
    material = re.search(r'href="(/files/[^"]+)"', page.text)
    assert material is not None
    assert client.get(material.group(1)).content.startswith(b"%PDF")
    r = client.post(
        f"/workbench/tasks/{accept}/claim", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 303
    r = work(client, csrf, accept, action="send_back", missing="")
    assert r.status_code == 422
    assert "退回补正时须一次性列明所缺材料" in r.text
    r = work(client, csrf, accept, action="approve", f_comment="材料齐全")
    assert (r.status_code, r.headers["location"]) == (303, f"/workbench?done={number}")
    assert f"办件 {number} 的任务已办结" in client.get(r.headers["location"]).text

    review = open_task(city, number, "Task_hrss_review")
    assert client.get(f"/workbench/tasks/{review}").status_code == 404  # HRSS's, not CENTER's
    client.cookies.clear()
    clock.advance(timedelta(days=5))  # past the review's 2-working-day SLA
    csrf = sign_in(client, "hrss_hu")
    queue = client.get("/workbench")
    assert "row-overdue" in queue.text
    assert number in queue.text
    other = client.get(f"/workbench/tasks/{accept}")
    assert other.status_code == 404
    assert "页面不存在" in other.text
    r = work(client, csrf, review, action="approve")
    assert r.status_code == 303
    again = work(client, csrf, review, action="approve")
    assert again.status_code == 200 or again.status_code == 409
    issue = open_task(city, number, "Task_window_issue")
    assert issue


def test_applicant_sees_only_own_cases_and_hands_in_what_was_asked_for(
    client: Any, city: Platform, codes: Codes
) -> None:
    mine = submit_hrss(city)
    theirs = submit_hrss(city, person=OTHER_PERSON, phone=OTHER_PHONE)
    for number in (mine,):
        accept = open_task(city, number, "Task_window_accept")
        city.run(
            lambda ctx, t=accept: workflow.complete_task(
                ctx, t, {"decision": "approve"}, actor=catalog.get_staff(ctx, "center_qian")
            )
        )
    review = open_task(city, mine, "Task_hrss_review")
    csrf = sign_in(client, "hrss_hu")
    r = client.post(
        f"/workbench/tasks/{review}",
        data={
            "csrf_token": csrf,
            "action": "send_back",
            "missing": ["photo", "card_application"],
            "f_comment": "照片不清晰；登记表缺少签名",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    client.cookies.clear()

    csrf = sign_in_applicant(client, codes, PHONE)
    portal = client.get("/portal").text
    assert mine in portal
    assert theirs not in portal
    assert client.get(f"/portal/cases/{theirs}").status_code == 404
    case = client.get(f"/portal/cases/{mine}")
    assert case.status_code == 200
    for text in (
        "提交申请",
        "补正通知",
        "近期免冠证件照片",
        "社会保障卡申领登记表",
        "登记表缺少签名",
        "待补正",
    ):
        assert text in case.text
    client.cookies.set("lang", "en")
    assert "Returned for supplement" in client.get(f"/portal/cases/{mine}").text
    r = client.post(
        f"/portal/cases/{mine}/supplement", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert r.status_code == 422
    assert "Choose at least one file" in r.text
    r = client.post(
        f"/portal/cases/{mine}/supplement",
        data={"csrf_token": csrf},
        files={"file_photo": ("new.png", b"\x89PNG\r\n\x1a\n" + b"1" * 32, "image/png")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert "Applicant handed in missing items" in client.get(r.headers["location"]).text
    assert open_task(city, mine, "Task_hrss_review")
    assert client.get("/desk").status_code == 403  # applicants have no front desk


def test_forged_csrf_is_refused_with_a_page(client: Any) -> None:
    sign_in(client, "center_qian")
    r = client.post("/logout", data={"csrf_token": "forged"})
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert "CSRF" in r.text
    r = client.post("/desk", data={"service": "HRSS-001"})
    assert r.status_code == 403


def test_language_switch_changes_the_texts(client: Any) -> None:
    assert "工作人员登录" in client.get("/login").text
    r = client.get("/lang/en?next=/login", follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/login")
    page = client.get("/login").text
    assert "Staff sign-in" in page
    assert "工作人员登录" not in page
    assert 'href="/lang/zh?next=/login"' in page
    client.get("/lang/zh?next=https://evil.example/")
    assert "工作人员登录" in client.get("/login").text
    assert client.get("/lang/xx").status_code == 404


def test_language_switch_keeps_the_path_and_the_query(client: Any) -> None:
    sign_in(client, "center_li")
    page = client.get("/desk?service=HRSS-001").text
    link = re.search(r'class="lang" href="([^"]+)"', page)
    assert link is not None
    assert link.group(1) == "/lang/en?next=/desk%3Fservice%3DHRSS-001"
    r = client.get(link.group(1).replace("&amp;", "&"), follow_redirects=False)
    assert (r.status_code, r.headers["location"]) == (303, "/desk?service=HRSS-001")
    assert "lang=en" in r.headers["set-cookie"]


def test_dashboard_and_admin_pages(client: Any, city: Platform, tmp_path: Path) -> None:
    submit_hrss(city)
    sign_in(client, "center_li")
    dash = client.get("/dashboard")
    assert dash.status_code == 200
    assert "社会保障卡申领" in dash.text
    assert client.get("/admin").status_code == 403
    client.cookies.clear()

    csrf = sign_in(client, "center_zhou")
    assert "hrss_hu" in client.get("/admin").text
    services = client.get("/admin/services").text
    assert "social_security_card" in services
    bad_bpmn = (
        b'<?xml version="1.0"?>'
        b'<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL">'
        b'<process id="p" isExecutable="true"><startEvent id="Start_1"/>'
        b'<userTask id="Task_x" name="x"/>'
        b'<sequenceFlow id="F1" sourceRef="Start_1" targetRef="Nowhere"/>'
        b"</process></definitions>"
    )
    r = client.post(
        "/admin/processes",
        data={"csrf_token": csrf},
        files={"bpmn": ("bad.bpmn", bad_bpmn, "application/xml")},
    )
    assert r.status_code == 422
    assert "row-missing" in r.text
    source = (
        Path(catalog.__file__).parents[1] / "demo/city/services/social_security_card.bpmn"
    ).read_bytes()
    changed = source.replace('name="窗口发卡"'.encode(), 'name="窗口发卡（新）"'.encode())
    r = client.post(
        "/admin/processes",
        data={"csrf_token": csrf},
        files={"bpmn": ("ssc.bpmn", changed, "application/xml")},
    )
    assert r.status_code == 200, r.text
    assert "已登记流程 social_security_card 第 2 版" in r.text

    r = client.post(
        "/admin/tokens",
        data={
            "csrf_token": csrf,
            "name": "人社系统",
            "scopes": ["tasks.work"],
            "department": "HRSS",
        },
    )
    assert r.status_code == 201
    secret = re.search(r"(ow_[A-Za-z0-9_\-]+)", r.text)
    assert secret is not None
    assert secret.group(1) not in client.get("/admin/tokens").text  # shown once
    with city.unit_of_work() as ctx:
        (token,) = security.list_tokens(ctx)
    r = client.post(f"/admin/tokens/{token.id}/revoke", data={"csrf_token": csrf})
    assert r.status_code == 200
    assert "令牌已吊销" in r.text
    r = client.post("/admin/tokens", data={"csrf_token": csrf, "name": "x"})
    assert r.status_code == 422
    integ = client.get("/admin/integration")
    assert integ.status_code == 200
    r = client.post(
        "/admin/subscriptions",
        data={
            "csrf_token": csrf,
            "name": "人社回调",
            "url": "https://hrss.example.gov.cn/hook",
            "topics": ["task.created"],
            "department": "HRSS",
        },
    )
    assert r.status_code == 201, r.text


def test_pages_reference_nothing_outside_the_site(client: Any, city: Platform) -> None:
    number = submit_hrss(city)
    pages = ["/", "/login", "/portal/login"]
    sign_in(client, "center_qian")
    pages += ["/desk", "/desk?service=HRSS-001", f"/desk/receipt/{number}", "/workbench"]
    pages += [f"/workbench/tasks/{open_task(city, number, 'Task_window_accept')}"]
    seen = [client.get(p) for p in pages]
    client.cookies.clear()
    sign_in(client, "center_zhou")
    seen += [client.get(p) for p in ("/dashboard", "/admin", "/admin/services", "/admin/tokens")]
    seen += [client.get("/admin/integration")]
    for r in seen:
        assert r.status_code == 200, r.url
        for attr, value in re.findall(r'\b(src|href|action)="([^"]*)"', r.text):
            assert not re.match(r"^(https?:)?//", value), (r.url, attr, value)
        assert "<script>" not in r.text
        assert "onclick=" not in r.text
    for path in ("/static/app.css", "/static/app.js", "/static/vendor/htmx.min.js"):
        assert client.get(path).status_code == 200


def test_every_template_text_has_both_languages_and_every_page_a_permission() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"\bt\('([a-z0-9_]+)'", template.read_text(encoding="utf-8")))
    literal = {k for k in used if not k.endswith("_")}
    assert literal - MESSAGES.keys() == set()
    assert all(zh and en for zh, en in MESSAGES.values())
    for route in web_routes.router.routes:
        assert isinstance(route, APIRoute)
        perms = [authz.route_permission(d.call) for d in route.dependant.dependencies]
        assert any(perms), route.path
