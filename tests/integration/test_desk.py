"""The front desk: files kept across a failed submission, abandoned ones cleaned up, choices
from the service's form definition, 容缺受理 promised / fulfilled / lapsed, search, today's
list and the 一次性告知书 — driven through the pages like a browser, on a real database."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from onewindow import worker
from onewindow.catalog import service as catalog
from onewindow.eventlog import service as eventlog
from onewindow.intake import service as intake
from onewindow.intake import staging
from onewindow.intake.models import MaterialPromise, StagedUpload
from onewindow.intake.schemas import ApplicantIn, Upload
from onewindow.kit.clock import ManualClock
from onewindow.kit.errors import Conflict, ValidationFailed
from onewindow.kit.platform import Platform
from onewindow.workflow import flows
from onewindow.workflow import service as workflow

from .helpers import COMPANY, complete, open_tasks, pdf, valid_form
from .test_web_pages import HRSS_FORM, PERSON, PHONE, hidden, sign_in

SCOPE = ["软件开发", "餐饮服务"]


def _staged_count(city: Platform) -> int:
    with city.unit_of_work() as ctx:
        return int(ctx.session.scalar(select(func.count()).select_from(StagedUpload)) or 0)


def _hrss_fields(**extra: str) -> dict[str, str]:
    return {f"f_{k}": v for k, v in HRSS_FORM.items()} | extra


def test_files_chosen_on_a_failed_submission_are_kept_and_reused(
    client: Any, city: Platform
) -> None:
    csrf = sign_in(client, "center_qian")
    form = client.get("/desk?service=HRSS-001")
    batch = hidden(form.text, "staging")
    assert len(batch) >= 16
    base = {
        "csrf_token": csrf,
        "service": "HRSS-001",
        "staging": batch,
        "kind": "person",
        "applicant_name": "张三",
        "phone": PHONE,
    }
    # A bad ID number and a bad photo: nothing is taken, but the two good files are kept.
    r = client.post(
        "/desk",
        data=base | {"id_number": "110105194912310020"} | _hrss_fields(),
        files={
            "file_id_card": ("身份证.pdf", pdf("id"), "application/pdf"),
            "file_card_application": ("登记表.pdf", pdf("form"), "application/pdf"),
            "file_photo": ("photo.exe", b"MZ\x90\x00", "image/png"),
        },
    )
    assert r.status_code == 422
    assert hidden(r.text, "staging") == batch
    assert r.text.count(">已暂存<") == 2
    assert "身份证.pdf" in r.text
    assert "登记表.pdf" in r.text
    assert "已选择的 2 份文件已暂存" in r.text
    assert r.text.count("不允许的文件类型") == 1  # the rejected file: beside its row, once
    assert r.text.count("校验位应为 X") == 1
    assert _staged_count(city) == 2
    # Another clerk holding the key sees nothing of it.
    with city.unit_of_work() as ctx:
        assert staging.staged(ctx, batch, actor="center_sun") == []
    # The resubmission chooses only the photo; the kept files come along.
    r = client.post(
        "/desk",
        data=base | {"id_number": PERSON} | _hrss_fields(),
        files={"file_photo": ("photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 32, "image/png")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    number = r.headers["location"].rsplit("/", 1)[1]
    with city.unit_of_work() as ctx:
        app = intake.get_application_by_number(ctx, number)
        names = sorted(m.filename for m in app.materials)
        contents = {
            m.material_code: intake.material_content(ctx, m.blob_sha256) for m in app.materials
        }
    assert names == ["photo.png", "登记表.pdf", "身份证.pdf"]
    assert contents["id_card"] == pdf("id")
    assert _staged_count(city) == 0  # taken: the staging is gone


def test_a_kept_file_can_be_removed_and_a_forged_key_is_refused(
    client: Any, city: Platform
) -> None:
    csrf = sign_in(client, "center_qian")
    batch = hidden(client.get("/desk?service=HRSS-001").text, "staging")
    r = client.post(
        "/desk",
        data={"csrf_token": csrf, "service": "HRSS-001", "staging": batch, "kind": "person"},
        files={"file_id_card": ("身份证.pdf", pdf("id"), "application/pdf")},
    )
    assert r.status_code == 422
    assert _staged_count(city) == 1
    r = client.post(
        "/desk/staged/remove",
        data={"staging": batch, "material": "id_card", "service": "HRSS-001"},
        headers={"X-CSRF-Token": csrf, "HX-Request": "true"},
    )
    assert r.status_code == 200, r.text
    assert "已移除暂存文件" in r.text
    assert "removed-id_card" in r.text
    assert _staged_count(city) == 0
    r = client.post(
        "/desk/staged/remove",
        data={"staging": "../../x' or 1=1", "material": "id_card", "service": "HRSS-001"},
        headers={"X-CSRF-Token": csrf},
    )
    assert r.status_code == 422
    assert "暂存编号无效" in r.text


def test_abandoned_staging_is_cleaned_up_by_the_worker(
    client: Any, city: Platform, clock: ManualClock
) -> None:
    csrf = sign_in(client, "center_qian")
    batch = hidden(client.get("/desk?service=HRSS-001").text, "staging")
    r = client.post(
        "/desk",
        data={"csrf_token": csrf, "service": "HRSS-001", "staging": batch, "kind": "person"},
        files={"file_id_card": ("身份证.pdf", pdf("id"), "application/pdf")},
    )
    assert r.status_code == 422
    worker.run_once(city)
    assert _staged_count(city) == 1  # fresh: kept
    clock.advance(staging.STAGING_TTL + timedelta(minutes=1))
    with city.unit_of_work() as ctx:  # past its time it is no longer offered, even before
        assert staging.staged(ctx, batch, actor="center_qian") == []
    worker.run_once(city)
    assert _staged_count(city) == 0
    # The form coming back after that simply asks for the file again.
    r = client.post(
        "/desk",
        data={"csrf_token": csrf, "service": "HRSS-001", "staging": batch, "kind": "person"},
    )
    assert r.status_code == 422
    assert ">已暂存<" not in r.text


def _samr_data(csrf: str, batch: str, **extra: Any) -> dict[str, Any]:
    return {
        "csrf_token": csrf,
        "service": "SAMR-001",
        "staging": batch,
        "kind": "business",
        "id_number": COMPANY,
        "applicant_name": "临江云帆信息科技有限公司",
        "phone": PHONE,
        "f_company_name": "临江云帆信息科技有限公司",
        "f_company_type": "有限责任公司（自然人独资）",
        "f_registered_capital": "100",
        "f_legal_representative": "张三",
        "f_business_scope": SCOPE,
        "f_registered_address": "临江市江北区人民路1号",
    } | extra


SAMR_FILES_BUT_OFFICERS = {
    "file_registration_application": ("申请书.pdf", pdf("app"), "application/pdf"),
    "file_articles_of_association": ("章程.pdf", pdf("aoa"), "application/pdf"),
    "file_id_card": ("身份证.pdf", pdf("id"), "application/pdf"),
    "file_shareholder_id": ("股东.pdf", pdf("sh"), "application/pdf"),
}


def test_choices_come_from_the_form_definition_and_outside_values_are_refused(
    client: Any, city: Platform
) -> None:
    csrf = sign_in(client, "center_qian")
    page = client.get("/desk?service=SAMR-001")
    assert '<select id="f_company_type"' in page.text
    assert page.text.count('name="f_business_scope"') == 22  # one tick box per option
    batch = hidden(page.text, "staging")
    r = client.post(
        "/desk",
        data=_samr_data(
            csrf,
            batch,
            f_company_type="跨国集团",
            f_business_scope=["软件开发", "网络借贷信息中介"],
            promise_officer_appointment="1",
        ),
        files=SAMR_FILES_BUT_OFFICERS,
    )
    assert r.status_code == 422
    assert r.text.count("企业类型：must be one of") == 1
    assert r.text.count("经营范围：not among the options: 网络借贷信息中介") == 1
    # the ticks and the promise come back as they were
    assert re.search(r'value="软件开发" checked', r.text)
    assert 'name="promise_officer_appointment" value="1" checked' in r.text
    with city.unit_of_work() as ctx:
        service = catalog.get_service(ctx, "SAMR-001")
        with pytest.raises(ValidationFailed):
            intake.validate_form(service, valid_form(service) | {"business_scope": "放贷"})
        clean = intake.validate_form(
            service, valid_form(service) | {"business_scope": ["餐饮服务", "软件开发"]}
        )
    assert clean["business_scope"] == "软件开发；餐饮服务"  # in the definition's order


def test_accepted_on_a_promise_waits_for_it_and_the_fulfilment_is_visible(
    client: Any, city: Platform
) -> None:
    csrf = sign_in(client, "center_qian")
    page = client.get("/desk?service=SAMR-001")
    assert "容缺受理：申请人承诺于" in page.text
    assert page.text.count('name="promise_') == 1  # only the deferrable material
    batch = hidden(page.text, "staging")
    # Without the promise the missing material stops the intake ...
    r = client.post("/desk", data=_samr_data(csrf, batch), files=SAMR_FILES_BUT_OFFICERS)
    assert r.status_code == 422
    assert r.text.count("必要材料，未提交") == 1
    # ... with it, the case is taken (the files kept from the first try come along).
    r = client.post(
        "/desk",
        data=_samr_data(csrf, batch, promise_officer_appointment="1"),
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    receipt_url = r.headers["location"]
    number = receipt_url.rsplit("/", 1)[1]
    receipt = client.get(receipt_url)
    assert "容缺承诺材料" in receipt.text
    assert "待补交" in receipt.text
    with city.unit_of_work() as ctx:
        app = intake.get_application_by_number(ctx, number)
        app_id = app.id
        (promise,) = intake.promises_of(ctx, app)
        assert (promise.material_code, promise.state) == ("officer_appointment", "open")
        assert promise.due_on == ctx.calendar.add_workdays(app.submitted_at, 5)
        assert len(app.materials) == 4
        types = [e.event_type for e in eventlog.history_of_number(ctx, number)]
    assert "material_promised" in types
    # The window accepts; the approval waits for the promised material.
    complete(city, open_tasks(city, app_id)["Task_window_accept"], "center_qian")
    review = open_tasks(city, app_id)["Task_samr_review"]
    with pytest.raises(Conflict) as refused:
        complete(city, review, "samr_wang")
    assert refused.value.code == "case.promise_open"
    # Handed in at the window: fulfilled, with its event; the approval goes through.
    r = client.post(
        f"{receipt_url}/promises",
        data={"csrf_token": csrf, "material": "officer_appointment"},
        files={"file": ("任职文件.pdf", pdf("officers"), "application/pdf")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert "已补交" in client.get(receipt_url).text
    with city.unit_of_work() as ctx:
        app = intake.get_application_by_number(ctx, number)
        assert [p.state for p in intake.promises_of(ctx, app)] == ["fulfilled"]
        types = [e.event_type for e in eventlog.history_of_number(ctx, number)]
    assert "material_promise_fulfilled" in types
    case_page = client.get(f"/workbench/cases/{number}")
    assert case_page.status_code == 200
    assert "容缺受理 · 承诺补交材料" in case_page.text
    assert "容缺材料已补交" in case_page.text
    complete(city, review, "samr_wang")
    # Twice is refused with a clear message, nothing changes.
    r = client.post(
        f"{receipt_url}/promises",
        data={"csrf_token": csrf, "material": "officer_appointment"},
        files={"file": ("任职文件.pdf", pdf("officers2"), "application/pdf")},
    )
    assert r.status_code == 422
    assert "没有该材料的容缺承诺" in r.text


def test_a_promise_not_kept_lapses_visibly_and_a_key_material_cannot_be_promised(
    city: Platform, clock: ManualClock
) -> None:
    with city.unit_of_work() as ctx:
        service = catalog.get_service(ctx, "SAMR-001")
        form = valid_form(service)
    uploads = [
        Upload(code, name, content)
        for code, (name, content, _) in (
            (k.removeprefix("file_"), v) for k, v in SAMR_FILES_BUT_OFFICERS.items()
        )
    ]
    applicant = ApplicantIn("business", COMPANY, "临江云帆信息科技有限公司", PHONE)
    with pytest.raises(ValidationFailed) as refused:
        city.run(
            lambda ctx: flows.submit_application(
                ctx,
                "SAMR-001",
                applicant,
                channel="window",
                form=form,
                uploads=uploads[1:],
                actor="center_qian",
                promised={"officer_appointment", "registration_application"},
            )
        )
    assert refused.value.code == "application.not_deferrable"
    submitted = city.run(
        lambda ctx: flows.submit_application(
            ctx,
            "SAMR-001",
            applicant,
            channel="window",
            form=form,
            uploads=uploads,
            actor="center_qian",
            promised={"officer_appointment"},
        )
    )
    number = submitted.application.number
    worker.run_once(city)
    with city.unit_of_work() as ctx:
        assert [
            p.state for p in intake.promises_of(ctx, intake.get_application_by_number(ctx, number))
        ] == ["open"]
    clock.advance(timedelta(days=10))  # past 5 working days
    worker.run_once(city)
    with city.unit_of_work() as ctx:
        app = intake.get_application_by_number(ctx, number)
        (promise,) = intake.promises_of(ctx, app)
        assert promise.state == "lapsed"
        assert promise.settled_at is not None
        lapsed = [
            e
            for e in eventlog.history_of_number(ctx, number)
            if e.event_type == "material_promise_lapsed"
        ]
        assert len(lapsed) == 1
        assert lapsed[0].attributes["material_code"] == "officer_appointment"
        assert workflow.application_case(ctx, app.id).completed is False
    worker.run_once(city)  # a lapse is recorded once
    with city.unit_of_work() as ctx:
        n = sum(
            e.event_type == "material_promise_lapsed"
            for e in eventlog.history_of_number(ctx, number)
        )
        assert n == 1
        assert ctx.session.scalar(select(func.count()).select_from(MaterialPromise)) == 1


def test_service_search_todays_list_and_the_one_time_notice(client: Any, city: Platform) -> None:
    csrf = sign_in(client, "center_qian")
    r = client.get("/desk", params={"q": "营业执照"})
    assert "SAMR-001" in r.text
    assert "HRSS-001" not in r.text
    r = client.get("/desk", params={"q": "social security"})
    assert "HRSS-001" in r.text
    assert "SAMR-001" not in r.text
    r = client.get("/desk", params={"q": "<script>alert(1)</script>' OR 1=1 --"})
    assert r.status_code == 200
    assert "<script>alert(1)" not in r.text
    assert "没有与" in r.text
    # today's list: 23 taken, 20 a page, the true total on each page
    with city.unit_of_work() as ctx:
        service = catalog.get_service(ctx, "HRSS-001")
        uploads = [Upload(m.code, f"{m.code}.pdf", pdf(m.code)) for m in service.materials]
    for i in range(23):
        city.run(
            lambda ctx, i=i: flows.submit_application(
                ctx,
                "HRSS-001",
                ApplicantIn("person", PERSON, "张三", PHONE),
                channel="window",
                form={**HRSS_FORM, "id_number": PERSON},
                uploads=uploads,
                actor="center_qian" if i % 2 else "center_sun",
            )
        )
    first = client.get("/desk/today")
    assert "共 23 件" in first.text
    assert first.text.count("/desk/receipt/OW") == 20
    assert "第 1 / 2 页" in first.text
    second = client.get("/desk/today", params={"page": "2"})
    assert second.text.count("/desk/receipt/OW") == 3
    mine = client.get("/desk/today", params={"mine": "1"})
    assert "共 11 件" in mine.text
    assert client.get("/desk/today", params={"page": "x'"}).status_code == 200
    # 一次性告知书: every material and entry, the options and what may be promised
    notice = client.get("/desk/notice/SAMR-001")
    assert notice.status_code == 200
    for text in (
        "一次性告知书",
        "公司章程",
        "董事、监事、高级管理人员任职文件",
        "可容缺受理",
        "经营范围",
        "data-print",
    ):
        assert text in notice.text
    client.cookies.set("lang", "en")
    notice_en = client.get("/desk/notice/SAMR-001")
    assert "One-time notice of requirements" in notice_en.text
    assert "Software development" in notice_en.text
    assert client.get("/desk/notice/NOPE").status_code == 404
    assert csrf
