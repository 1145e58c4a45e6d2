"""Submit once in practice: the desk form and the API are pre-filled from the golden record
through the service center's grants, never over what the clerk typed; refusals are logged."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from onewindow.datahub import service as datahub
from onewindow.datahub.linkage import LinkageConfig
from onewindow.datahub.models import AccessLogEntry
from onewindow.datahub.schemas import GrantIn
from onewindow.kit.platform import Platform
from tests.conftest import login
from tests.integration.test_datahub_service import ID1, RESIDENTS, _setup
from tests.integration.test_web_pages import sign_in

ADDRESS = "福建省福州市鼓楼区五四路1号"


def linked_city(city: Platform) -> None:
    """PSB's residents loaded and linked into golden records; no grant to anyone yet."""
    _setup(city)
    with city.unit_of_work() as ctx:
        datahub.load_file(ctx, "psb_residents", RESIDENTS.encode(), filename="r.csv", actor="t")
        datahub.run_linkage(ctx, actor="center_wu", config=LinkageConfig())


def grant_center(city: Platform, fields: list[str], purpose: str = datahub.PREFILL_PURPOSE) -> None:
    with city.unit_of_work() as ctx:
        grant = datahub.request_grant(
            ctx,
            GrantIn(
                dataset="psb_residents",
                consumer_department="CENTER",
                fields=fields,
                purpose=purpose,
                expires_at=ctx.clock.now() + timedelta(days=30),
            ),
            actor="center_wu",
        )
        datahub.approve_grant(
            ctx, grant.id, caller=datahub.Caller("psb_lin", frozenset({"head"}), "PSB")
        )


def log(city: Platform) -> list[AccessLogEntry]:
    with city.unit_of_work() as ctx:
        entries = ctx.session.query(AccessLogEntry).order_by(AccessLogEntry.id).all()
        ctx.session.expunge_all()
        return entries


def value_of(html: str, input_id: str) -> str | None:
    match = re.search(rf'<input[^>]*id="{input_id}"[^>]*value="([^"]*)"', html)
    return match.group(1) if match else None


def test_service_prefills_only_granted_fields_and_skips_what_was_typed(city: Platform) -> None:
    linked_city(city)
    grant_center(city, ["name", "phone"])
    with city.unit_of_work() as ctx:
        out = datahub.prefill_application(
            ctx, "HRSS-001", "person", ID1, actor="center_qian", skip={"applicant_phone"}
        )
    assert out.found
    assert out.values == {"applicant_name": "张三"}  # the phone was typed: not read
    assert out.form == {"applicant_name": "张三", "mobile": "13800138000"}
    assert out.provenance["form.mobile"].dataset == "psb_residents"
    assert out.provenance["form.mobile"].dataset_name == "户籍人口"
    assert out.provenance["form.mobile"].attribute == "phone"
    assert "id_number" not in out.form
    # the mailing address needs the address field, which the grant does not cover
    assert len(out.missing_grants) == 1
    assert "address" in out.missing_grants[0]
    entries = log(city)
    assert [(e.outcome, e.actor, e.purpose) for e in entries] == [
        ("allowed", "center_qian", "一窗受理预填"),
        ("refused", "center_qian", "一窗受理预填"),
    ]
    assert sorted(entries[0].fields) == ["name", "phone"]
    assert entries[0].record_keys == [ID1]


def test_desk_form_is_prefilled_with_sources_when_granted(client: Any, city: Platform) -> None:
    linked_city(city)
    grant_center(city, ["name", "phone", "address"])
    sign_in(client, "center_qian")
    r = client.get("/desk", params={"service": "HRSS-001", "id_number": ID1})
    assert r.status_code == 200, r.text
    html = r.text
    assert value_of(html, "applicant_name") == "张三"
    assert value_of(html, "phone") == "13800138000"
    assert value_of(html, "f_mobile") == "13800138000"
    assert value_of(html, "f_mailing_address") == ADDRESS
    assert value_of(html, "f_bank_name") == ""  # nothing in the city's data: still asked
    assert html.count("由数据中台预填：户籍人口（psb_residents）") == 5
    # htmx ID check: what the clerk typed stays, the empty inputs are filled out of band
    r = client.get(
        "/desk/check-id",
        params={
            "kind": "person",
            "id_number": ID1,
            "service": "HRSS-001",
            "applicant_name": "张三丰",
            "phone": "",
            "f_applicant_name": "张三丰",
            "f_mobile": "",
            "f_mailing_address": "厦门市思明区",
            "f_bank_name": "",
        },
    )
    assert r.status_code == 200
    html = r.text
    assert "已从数据中台预填 2 项" in html
    assert 'id="applicant_name"' not in html
    assert 'id="wrap-f_applicant_name"' not in html
    assert 'id="wrap-f_mailing_address"' not in html
    assert re.search(r'<input[^>]*id="phone"[^>]*value="13800138000"[^>]*hx-swap-oob="true"', html)
    assert 'id="wrap-f_mobile" hx-swap-oob="true"' in html
    assert value_of(html, "f_mobile") == "13800138000"
    assert "由数据中台预填：户籍人口（psb_residents）" in html
    # the reads are in the access log under the clerk's name, with only what was read
    allowed = [e for e in log(city) if e.outcome == "allowed"]
    assert [e.actor for e in allowed] == ["center_qian", "center_qian"]
    assert sorted(allowed[0].fields) == ["address", "name", "phone"]
    assert sorted(allowed[1].fields) == ["phone"]


def test_desk_without_a_grant_prefills_nothing_and_logs_the_refusal(
    client: Any, city: Platform
) -> None:
    linked_city(city)
    grant_center(city, ["name", "phone", "address"], purpose="社保卡申领")  # another purpose
    sign_in(client, "center_qian")
    r = client.get("/desk", params={"service": "HRSS-001", "id_number": ID1})
    assert r.status_code == 200
    assert value_of(r.text, "applicant_name") == ""
    assert value_of(r.text, "f_mobile") == ""
    assert "由数据中台预填" not in r.text
    r = client.get(
        "/desk/check-id", params={"kind": "person", "id_number": ID1, "service": "HRSS-001"}
    )
    assert 'hx-swap-oob="true"' in r.text  # the materials' states, as before
    assert 'id="wrap-f_' not in r.text
    assert "1 个数据资源未向政务服务中心共享" in r.text
    entries = log(city)
    assert [e.outcome for e in entries] == ["refused", "refused"]
    assert all(e.purpose == "一窗受理预填" and e.actor == "center_qian" for e in entries)
    assert "no grant for the purpose" in (entries[0].reason or "")
    with city.unit_of_work() as ctx:
        page, total = datahub.access_log_for(ctx, "PSB")
    assert total == 2
    assert page[0].consumer_department == "CENTER"


def test_api_prefill(client: Any, city: Platform) -> None:
    linked_city(city)
    headers = login(client, "center_qian")
    params = {"service": "HRSS-001", "applicant_kind": "person", "applicant_id_number": ID1}
    r = client.get("/api/v1/applications/prefill", params=params, headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["found"], body["values"], body["form"]) == (True, {}, {})
    assert body["consumer_department"] == "CENTER"
    assert len(body["missing_grants"]) == 1
    assert "psb_residents" in body["missing_grants"][0]
    assert [e.outcome for e in log(city)] == ["refused"]
    grant_center(city, ["name", "phone", "address"])
    r = client.get(
        "/api/v1/applications/prefill",
        params={**params, "applicant_id_number": ID1.lower()},
        headers=headers,
    )
    body = r.json()
    assert body["values"] == {"applicant_name": "张三", "applicant_phone": "13800138000"}
    assert body["form"] == {
        "applicant_name": "张三",
        "mobile": "13800138000",
        "mailing_address": ADDRESS,
    }
    assert body["provenance"]["form.mailing_address"] == {
        "attribute": "address",
        "dataset": "psb_residents",
        "dataset_name": "户籍人口",
        "field": "address",
        "record_key": ID1,
    }
    assert body["missing_grants"] == []
    assert [e.outcome for e in log(city)] == ["refused", "allowed"]
    bad = client.get(
        "/api/v1/applications/prefill",
        params={**params, "applicant_id_number": ID1[:-1] + "0"},
        headers=headers,
    )
    assert bad.status_code == 422
    unknown = client.get(
        "/api/v1/applications/prefill",
        params={**params, "applicant_id_number": "11010519491231002X"},
        headers=headers,
    )
    assert unknown.json()["found"] is False
    assert len(log(city)) == 2  # nobody to read about: no read
    login(client, "hrss_hu")  # a reviewer does not take applications
    r = client.get("/api/v1/applications/prefill", params=params)
    assert r.status_code == 403
