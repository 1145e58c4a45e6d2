"""Administration pages: staff accounts (create, edit, deactivate, one-time set-password
links, search and paging), service items and the holiday calendar — through the pages, on a
real database, with the ledger entries each change leaves."""

from __future__ import annotations

import html
import json
import re
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from onewindow.catalog import service as catalog
from onewindow.kit.clock import ManualClock
from onewindow.kit.platform import Platform
from onewindow.security import admin
from onewindow.security import service as security
from onewindow.security.models import LedgerEntry

from .test_web_pages import hidden, sign_in

ADMIN = "center_zhou"
CLERK = "center_qian"


def _ledger(platform: Platform, kind: str) -> list[dict[str, Any]]:
    with platform.unit_of_work() as ctx:
        rows = ctx.session.scalars(
            select(LedgerEntry.entry).where(LedgerEntry.kind == kind).order_by(LedgerEntry.idx)
        ).all()
    return [json.loads(r) for r in rows]


def _staff(platform: Platform, username: str) -> Any:
    with platform.unit_of_work() as ctx:
        s = catalog.get_staff_any(ctx, username)
        return {"name": s.name, "dept": s.department.code, "roles": s.roles, "active": s.active}


def _create(client: Any, csrf: str, **fields: Any) -> Any:
    data = {"csrf_token": csrf, **fields}
    return client.post("/admin/staff", data=data, follow_redirects=False)


def _reset_link(client: Any, csrf: str, username: str) -> str:
    r = client.post(f"/admin/staff/{username}/reset", data={"csrf_token": csrf})
    assert r.status_code == 201, r.text
    match = re.search(r'value="(http[^"]*/password/reset/[^"]+)"', r.text)
    assert match, "the page shows the link"
    return "/password/reset/" + match.group(1).rsplit("/", 1)[1]


def _set_password(client: Any, link: str, password: str, confirm: str | None = None) -> Any:
    form = client.get(link)
    pre = hidden(form.text, "pre") if 'name="pre"' in form.text else "x"
    return client.post(
        link, data={"password": password, "confirm": confirm or password, "pre": pre}
    )


def _can_sign_in(client: Any, username: str, password: str) -> int:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    return r.status_code


# --- staff ----------------------------------------------------------------------------------


def test_admin_creates_staff_and_a_taken_username_is_refused_beside_the_field(
    client: Any, city: Platform
) -> None:
    csrf = sign_in(client, ADMIN)
    r = _create(
        client, csrf, username="center_xin", name="辛丽", department="CENTER", roles=["clerk"]
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"] == "/admin/staff/center_xin?created=1"
    assert _staff(city, "center_xin") == {
        "name": "辛丽",
        "dept": "CENTER",
        "roles": ["clerk"],
        "active": True,
    }
    r = _create(
        client, csrf, username="center_xin", name="辛二", department="SAMR", roles=["reviewer"]
    )
    assert r.status_code == 422
    error = re.search(r'id="err-username">([^<]+)<', r.text)
    assert error is not None
    assert error.group(1) == "该用户名已被使用"
    # what was typed is still there
    assert 'value="辛二"' in r.text
    assert '<option value="SAMR" selected>' in r.text
    assert 'value="reviewer" checked' in r.text
    assert _staff(city, "center_xin")["name"] == "辛丽"
    # bad username, no department, no role: each problem beside its own field
    r = _create(client, csrf, username="9<b>", name="", department="", roles=[])
    assert r.status_code == 422
    for key in ("username", "name", "department", "roles"):
        assert f'id="err-{key}"' in r.text, key
    assert "<b>" not in r.text.split("<main", 1)[1]
    created = [e for e in _ledger(city, "permission_changed") if e.get("change")]
    assert [(e["change"], e["staff"], e["actor"]) for e in created] == [
        ("staff_created", "center_xin", ADMIN)
    ]


def test_edit_changes_name_department_and_roles_and_the_ledger_names_the_admin(
    client: Any, city: Platform
) -> None:
    csrf = sign_in(client, ADMIN)
    r = client.post(
        f"/admin/staff/{CLERK}",
        data={"csrf_token": csrf, "name": "钱新", "department": "SAMR", "roles": ["reviewer"]},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert _staff(city, CLERK) == {
        "name": "钱新",
        "dept": "SAMR",
        "roles": ["reviewer"],
        "active": True,
    }
    entries = [e for e in _ledger(city, "permission_changed") if e.get("staff") == CLERK]
    assert {e["actor"] for e in entries} == {ADMIN}
    assert any(e.get("roles") == ["reviewer"] for e in entries)
    assert any(e.get("change") == "staff_updated" for e in entries)
    # an empty name is refused, and the admin cannot take their own admin role away
    r = client.post(
        f"/admin/staff/{CLERK}",
        data={"csrf_token": csrf, "name": " ", "department": "SAMR", "roles": ["reviewer"]},
    )
    assert r.status_code == 422
    assert 'id="err-name"' in r.text
    r = client.post(
        f"/admin/staff/{ADMIN}",
        data={"csrf_token": csrf, "name": "周涛", "department": "CENTER", "roles": ["clerk"]},
    )
    assert r.status_code == 403
    assert "不能取消自己的系统管理员角色" in r.text
    assert _staff(city, ADMIN)["roles"] == ["admin"]


def test_search_and_paging_show_the_true_total(client: Any, city: Platform) -> None:
    with city.unit_of_work() as ctx:
        for i in range(45):
            admin.create_staff(
                ctx,
                {
                    "username": f"temp_{i:02d}",
                    "name": f"临时{i:02d}",
                    "department": "SAMR",
                    "roles": ["reviewer"],
                },
                actor="test",
            )
    sign_in(client, ADMIN)
    first = client.get("/admin/staff", params={"q": "TEMP_"})
    assert first.status_code == 200
    assert "共 45 人 · 第 1 / 3 页" in first.text
    names = set(re.findall(r'href="/admin/staff/(temp_\d\d)"', first.text))
    third = client.get("/admin/staff", params={"q": "temp_", "page": 3})
    names |= set(re.findall(r'href="/admin/staff/(temp_\d\d)"', third.text))
    second = client.get("/admin/staff", params={"q": "temp_", "page": 2})
    names |= set(re.findall(r'href="/admin/staff/(temp_\d\d)"', second.text))
    assert names == {f"temp_{i:02d}" for i in range(45)}
    # by name, and LIKE metacharacters are matched literally
    assert "共 1 人" in client.get("/admin/staff", params={"q": "临时07"}).text
    assert "共 0 人" in client.get("/admin/staff", params={"q": "%"}).text
    assert "共 0 人" in client.get("/admin/staff", params={"q": "' OR 1=1 --"}).text
    # a page past the end, or not a number, is an empty page or the first, never an error
    assert client.get("/admin/staff", params={"q": "temp_", "page": 99}).status_code == 200
    assert client.get("/admin/staff", params={"page": "x"}).status_code == 200


def test_non_admin_is_refused_and_nothing_changes(client: Any, city: Platform) -> None:
    anonymous = client.get("/admin/staff", follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")
    csrf = sign_in(client, CLERK)
    for path in (
        "/admin/staff",
        f"/admin/staff/{ADMIN}",
        "/admin/calendar",
        "/admin/services/HRSS-001",
    ):
        assert client.get(path).status_code == 403, path
    r = _create(client, csrf, username="intruder", name="X", department="CENTER", roles=["admin"])
    assert r.status_code == 403
    r = client.post(f"/admin/staff/{ADMIN}/reset", data={"csrf_token": csrf})
    assert r.status_code == 403
    r = client.post(f"/admin/staff/{ADMIN}/active", data={"csrf_token": csrf, "active": "0"})
    assert r.status_code == 403
    with city.unit_of_work() as ctx:
        assert catalog.staff_page(ctx, query="intruder")[1] == 0
        assert catalog.get_staff_any(ctx, ADMIN).active
    assert not [e for e in _ledger(city, "permission_changed") if e.get("change")]


def test_reset_link_sets_a_password_once_and_ends_old_sessions(client: Any, city: Platform) -> None:
    csrf = sign_in(client, ADMIN)
    _create(client, csrf, username="center_xin", name="辛丽", department="CENTER", roles=["clerk"])
    link = _reset_link(client, csrf, "center_xin")
    page = client.get("/admin/staff/center_xin")
    assert "/password/reset/" not in page.text  # shown once, in the answer that made it
    client.post("/logout", data={"csrf_token": csrf})
    client.cookies.clear()

    form = client.get(link)
    assert form.status_code == 200
    assert "辛丽" in form.text
    assert form.headers["cache-control"] == "no-store"
    # too short, and two different passwords: refused beside the field, link still good
    r = _set_password(client, link, "short")
    assert r.status_code == 422
    assert 'id="err-password"' in r.text
    r = _set_password(client, link, "long enough 1", "long enough 2")
    assert r.status_code == 422
    assert "两次输入的密码不一致" in r.text
    r = _set_password(client, link, "sun-new-pass-1")
    assert r.status_code == 200, r.text
    assert 'id="am-pw-done"' in r.text
    assert _can_sign_in(client, "center_xin", "sun-new-pass-1") == 200

    # used twice: a clear error and nothing changes
    client.cookies.clear()
    again = client.get(link)
    assert again.status_code == 409
    assert "该链接已使用过" in again.text
    r = client.post(
        link, data={"password": "another-pass-2", "confirm": "another-pass-2", "pre": "x"}
    )
    assert r.status_code == 409
    client.cookies.set("ow_pre", "same")
    r = client.post(
        link, data={"password": "another-pass-2", "confirm": "another-pass-2", "pre": "same"}
    )
    assert r.status_code == 409
    assert "该链接已使用过" in r.text
    client.cookies.clear()
    assert _can_sign_in(client, "center_xin", "another-pass-2") == 401
    assert _can_sign_in(client, "center_xin", "sun-new-pass-1") == 200

    # a new link ends the sessions the account had once it is used
    client.cookies.clear()
    with city.unit_of_work() as ctx:
        staff = catalog.get_staff_any(ctx, "center_xin")
        token, _row = security.start_session(ctx, staff=staff, address=None)
        issued = admin.issue_reset(ctx, "center_xin", actor=ADMIN)
    r = _set_password(client, f"/password/reset/{issued.token}", "third-pass-33")
    assert r.status_code == 200
    with city.unit_of_work() as ctx:
        assert security.principal_from_session(ctx, token) is None
    changes = [e.get("change") for e in _ledger(city, "permission_changed")]
    assert changes.count("password_reset_issued") == 2
    assert changes.count("password_set_by_reset") == 2


def test_expired_unknown_and_replaced_links_are_refused(
    client: Any, city: Platform, clock: ManualClock
) -> None:
    with city.unit_of_work() as ctx:
        old = admin.issue_reset(ctx, CLERK, actor=ADMIN)
        new = admin.issue_reset(ctx, CLERK, actor=ADMIN)
    r = client.get(f"/password/reset/{old.token}")
    assert r.status_code == 404  # replaced by the newer link
    assert "该链接无效" in r.text
    assert client.get("/password/reset/not-a-token").status_code == 404
    clock.advance(timedelta(hours=admin.RESET_HOURS, seconds=1))
    r = client.get(f"/password/reset/{new.token}")
    assert r.status_code == 410
    assert "已过期" in r.text
    client.cookies.set("ow_pre", "p")
    r = client.post(
        f"/password/reset/{new.token}",
        data={"password": "expired-pass-1", "confirm": "expired-pass-1", "pre": "p"},
    )
    assert r.status_code == 410
    assert _can_sign_in(client, CLERK, "expired-pass-1") == 401
    assert _can_sign_in(client, CLERK, "demo") == 200


def test_deactivated_staff_cannot_sign_in_and_their_sessions_end(
    client: Any, city: Platform
) -> None:
    from fastapi.testclient import TestClient

    from onewindow.api.app import create_app

    with TestClient(create_app(city)) as clerk:
        sign_in(clerk, CLERK)
        assert clerk.get("/desk").status_code == 200
        with city.unit_of_work() as ctx:
            link = admin.issue_reset(ctx, CLERK, actor=ADMIN)
        csrf = sign_in(client, ADMIN)
        r = client.post(
            f"/admin/staff/{CLERK}/active",
            data={"csrf_token": csrf, "active": "0"},
            follow_redirects=False,
        )
        assert r.status_code == 303
        assert "已停用" in client.get(r.headers["location"]).text
        # the open session ends, signing in is refused, the open link is void
        gone = clerk.get("/desk", follow_redirects=False)
        assert gone.status_code == 303
        assert gone.headers["location"].startswith("/login")
        assert _can_sign_in(clerk, CLERK, "demo") == 401
        assert clerk.get(f"/password/reset/{link.token}").status_code == 404
        # nor can a new link be made for a deactivated account
        r = client.post(f"/admin/staff/{CLERK}/reset", data={"csrf_token": csrf})
        assert r.status_code == 422
        # the admin cannot lock themself out
        r = client.post(f"/admin/staff/{ADMIN}/active", data={"csrf_token": csrf, "active": "0"})
        assert r.status_code == 403
        # reactivated: signs in again
        client.post(f"/admin/staff/{CLERK}/active", data={"csrf_token": csrf, "active": "1"})
        assert _can_sign_in(clerk, CLERK, "demo") == 200
    entries = [e for e in _ledger(city, "permission_changed") if e.get("staff") == CLERK]
    assert [(e["active"], e["actor"]) for e in entries if "active" in e] == [
        (False, ADMIN),
        (True, ADMIN),
    ]


# --- service items ----------------------------------------------------------------------------


def _service_form(client: Any, code: str) -> dict[str, Any]:
    """The editor's form as the browser would send it unchanged."""
    page = client.get(f"/admin/services/{code}").text
    form_html = page.split('class="am-service"', 1)[1].split("</form>", 1)[0]
    data: dict[str, Any] = {}
    for m in re.finditer(r"<input ([^>]*)>", form_html):
        attrs = dict(re.findall(r'([\w.-]+)="([^"]*)"', m.group(1)))
        name = attrs.get("name")
        if not name:
            continue
        if attrs.get("type") == "checkbox":
            if " checked" in m.group(1):
                data.setdefault(name, []).append(attrs.get("value", "on"))
        else:
            data[name] = html.unescape(attrs.get("value", ""))
    for m in re.finditer(r'<textarea name="([^"]+)"[^>]*>([^<]*)</textarea>', form_html):
        data[m.group(1)] = html.unescape(m.group(2))
    for m in re.finditer(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form_html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', m.group(2))
        data[m.group(1)] = chosen.group(1) if chosen else ""
    return data


def test_service_item_edits_are_saved_and_recorded(client: Any, city: Platform) -> None:
    sign_in(client, ADMIN)
    with city.unit_of_work() as ctx:
        code = catalog.list_services(ctx)[0].code
        before = catalog.service_edit_of(catalog.get_service(ctx, code))
    data = _service_form(client, code)
    n_mat = len(before["materials"])
    n_form = len(before["form"])
    data["time_limit_days"] = "7"
    data["materials.0.required"] = []  # the first material is no longer key
    data[f"materials.{n_mat}.code"] = "premises_sketch"
    data[f"materials.{n_mat}.name_zh"] = "平面图"
    data[f"materials.{n_mat}.name_en"] = "Floor plan"
    data[f"materials.{n_mat}.required"] = ["on"]
    data[f"form.{n_form}.name"] = "premises_kind"
    data[f"form.{n_form}.label_zh"] = "场所类型"
    data[f"form.{n_form}.label_en"] = "Premises"
    data[f"form.{n_form}.type"] = "enum"
    data[f"form.{n_form}.options"] = "自有\n租赁\n"
    r = client.post(f"/admin/services/{code}", data=data, follow_redirects=False)
    assert r.status_code == 303, re.findall(r'id="err-[^"]+">[^<]+<', r.text)
    with city.unit_of_work() as ctx:
        after = catalog.service_edit_of(catalog.service_for_edit(ctx, code))
    assert after["time_limit_days"] == 7
    assert after["materials"][0]["required"] is False
    assert after["materials"][-1] == {
        "code": "premises_sketch",
        "name_zh": "平面图",
        "name_en": "Floor plan",
        "required": True,
        "certificate": False,
        "valid_days": None,
        "deferrable": False,
    }
    assert after["form"][-1]["options"] == ["自有", "租赁"]
    assert after["legal_bases"] == before["legal_bases"]
    (entry,) = _ledger(city, "catalog_changed")
    assert entry["actor"] == ADMIN
    assert entry["fields"] == ["form", "materials", "time_limit_days"]
    assert "premises_sketch" in entry["key_materials"]


def test_service_item_errors_are_shown_beside_each_field_and_nothing_is_lost(
    client: Any, city: Platform
) -> None:
    sign_in(client, ADMIN)
    with city.unit_of_work() as ctx:
        item = catalog.list_services(ctx)[0]
        code = item.code
        before = catalog.service_edit_of(item)
    data = _service_form(client, code)
    n_mat = len(before["materials"])
    n_form = len(before["form"])
    n_lb = len(before["legal_bases"])
    data["time_limit_days"] = "0"
    data[f"materials.{n_mat}.code"] = before["materials"][0]["code"]  # a duplicate code
    data[f"materials.{n_mat}.name_zh"] = "重复的材料"
    data[f"materials.{n_mat}.name_en"] = "Duplicate"
    data[f"form.{n_form}.name"] = "kind"
    data[f"form.{n_form}.label_zh"] = "类型"
    data[f"form.{n_form}.label_en"] = "Kind"
    data[f"form.{n_form}.type"] = "enum"  # a select with no options
    data[f"legal_bases.{n_lb}.code"] = "Bad Code"
    data[f"legal_bases.{n_lb}.zh"] = "依"
    data[f"legal_bases.{n_lb}.en"] = "A basis long enough"
    data[f"legal_bases.{n_lb}.applies_to"] = []
    r = client.post(f"/admin/services/{code}", data=data)
    assert r.status_code == 422
    for key in (
        "time_limit_days",
        f"materials-{n_mat}-code",
        f"form-{n_form}-options",
        f"legal_bases-{n_lb}-code",
        f"legal_bases-{n_lb}-zh",
        f"legal_bases-{n_lb}-applies_to",
    ):
        assert f'id="err-{key}"' in r.text, (key, re.findall(r'id="err-[^"]+">[^<]+<', r.text))
    assert "下拉选择字段需要填写选项" in r.text
    # every typed value is on the page again
    for value in ("重复的材料", "Bad Code", "A basis long enough", 'value="0"'):
        assert value in r.text, value
    with city.unit_of_work() as ctx:
        assert catalog.service_edit_of(catalog.service_for_edit(ctx, code)) == before
    assert _ledger(city, "catalog_changed") == []


# --- holiday calendar -------------------------------------------------------------------------

NOTICE_2027 = """2027-01-01..2027-01-03  # 元旦
2027-02-06..2027-02-13  # 春节
2027-04-05
2027-05-01..2027-05-05
"""


def test_a_years_holidays_are_saved_and_count_in_new_deadlines(client: Any, city: Platform) -> None:
    csrf = sign_in(client, ADMIN)
    r = client.post(
        "/admin/calendar",
        data={
            "csrf_token": csrf,
            "year": "2027",
            "notice": "国务院办公厅关于2027年部分节假日安排的通知",
            "holidays": NOTICE_2027,
            "makeup_workdays": "2027-02-14\n2027年2月20日",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert "2027 年节假日安排已保存" in client.get(r.headers["location"]).text
    with city.unit_of_work() as ctx:
        cal = ctx.calendar
        assert not cal.is_workday(date(2027, 2, 8))  # a Monday of 春节
        assert cal.is_workday(date(2027, 2, 14))  # a Sunday worked
        # the shipped years are kept
        assert not cal.is_workday(date(2026, 10, 1))
        # a deadline from the Friday before 春节: 8 holidays skipped, the Sunday counted
        assert cal.add_workdays(date(2027, 2, 5), 1) == date(2027, 2, 14)
    (entry,) = _ledger(city, "catalog_changed")
    assert entry["change"] == "calendar_year_saved"
    assert entry["actor"] == ADMIN
    assert "2027-02-08" in entry["holidays"]
    # the year can be opened again to correct it, as ranges
    again = client.get("/admin/calendar", params={"year": 2027})
    assert "2027-02-06..2027-02-13" in again.text


def test_bad_dates_are_refused_clearly_and_nothing_is_saved(client: Any, city: Platform) -> None:
    csrf = sign_in(client, ADMIN)
    cases = [
        ("2027-02-30", "", "holidays", "无法识别日期「2027-02-30」"),
        ("2027-02-13..2027-02-06", "", "holidays", "结束日早于开始日"),
        ("2026-05-01", "", "holidays", "不属于 2027 年的通知"),
        ("2027-01-01..2027-03-31", "", "holidays", "超过 31 天"),
        ("2027-01-01", "2027-02-10", "makeup_workdays", "是周三：调休上班日应为周六或周日"),
        ("2027-02-06..2027-02-13", "2027-02-13", "makeup_workdays", "同时被列为放假日和调休上班日"),
        ("", "", "holidays", "请填写通知中的放假日期"),
        ("next friday", "", "holidays", "第 1 行"),
    ]
    for holidays, makeups, field, text in cases:
        r = client.post(
            "/admin/calendar",
            data={
                "csrf_token": csrf,
                "year": "2027",
                "holidays": holidays,
                "makeup_workdays": makeups,
            },
        )
        assert r.status_code == 422, holidays
        error = re.search(rf'id="err-{field}">([^<]+)<', r.text)
        assert error is not None, (holidays, makeups)
        assert text in error.group(1), (error.group(1), text)
        assert holidays in r.text  # the typed lines are kept
    r = client.post(
        "/admin/calendar", data={"csrf_token": csrf, "year": "27", "holidays": "2027-01-01"}
    )
    assert r.status_code == 422
    assert 'id="err-year"' in r.text
    bad_file = ("notice.yaml", b"holidays: [unclosed", "application/x-yaml")
    r = client.post(
        "/admin/calendar", data={"csrf_token": csrf, "year": "2027"}, files={"file": bad_file}
    )
    assert r.status_code == 422
    assert 'id="err-file"' in r.text
    with city.unit_of_work() as ctx:
        assert admin.calendar_years(ctx) == []
        assert ctx.calendar.is_workday(date(2027, 2, 8))
    assert _ledger(city, "catalog_changed") == []


def test_a_yaml_file_in_the_shipped_shape_is_accepted(client: Any, city: Platform) -> None:
    csrf = sign_in(client, ADMIN)
    body = (
        b"holidays:\n  - '2027-10-01..2027-10-07'\n  - 2027-01-01\n"
        b"makeup_workdays:\n  - '2027-09-26'\n"
    )
    r = client.post(
        "/admin/calendar",
        data={"csrf_token": csrf, "year": "2027"},
        files={"file": ("2027.yaml", body, "application/x-yaml")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    with city.unit_of_work() as ctx:
        (row,) = admin.calendar_years(ctx)
        assert row.makeup_workdays == ["2027-09-26"]
        assert len(row.holidays) == 8
        assert not ctx.calendar.is_workday(date(2027, 10, 4))


def test_the_notice_text_fills_the_lists_for_checking_then_saves(
    client: Any, city: Platform
) -> None:
    csrf = sign_in(client, ADMIN)
    text = (
        "二、春节：2月6日（农历除夕、周六）至13日（农历正月初七、周六）放假调休，共8天。"
        "2月14日（周日）上班。"
    )
    r = client.post(
        "/admin/calendar",
        data={"csrf_token": csrf, "year": "2027", "notice_text": text, "action": "extract"},
    )
    assert r.status_code == 200, r.text
    assert "请逐行核对后保存" in r.text
    holidays = re.search(r'<textarea id="holidays"[^>]*>([^<]*)</textarea>', r.text)
    makeups = re.search(r'<textarea id="makeup_workdays"[^>]*>([^<]*)</textarea>', r.text)
    assert holidays is not None
    assert makeups is not None
    assert holidays.group(1) == "2027-02-06..2027-02-13  # 春节"
    assert makeups.group(1) == "2027-02-14  # 春节"
    with city.unit_of_work() as ctx:
        assert admin.calendar_years(ctx) == []  # nothing saved until checked
    r = client.post(
        "/admin/calendar",
        data={"csrf_token": csrf, "year": "2027", "notice_text": "无日期", "action": "extract"},
    )
    assert r.status_code == 422
    assert 'id="err-notice_text"' in r.text
    r = client.post(
        "/admin/calendar",
        data={
            "csrf_token": csrf,
            "year": "2027",
            "holidays": html.unescape(holidays.group(1)),
            "makeup_workdays": html.unescape(makeups.group(1)),
            "action": "save",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    with city.unit_of_work() as ctx:
        assert ctx.calendar.is_workday(date(2027, 2, 14))


def test_another_process_sees_a_saved_year_when_it_next_looks(
    city: Platform, settings: Any, clock: ManualClock
) -> None:
    other = Platform.create(settings, clock=clock)
    try:
        with other.unit_of_work() as ctx:
            assert ctx.calendar.is_workday(date(2027, 2, 8))  # read now: nothing entered
        with city.unit_of_work() as ctx:
            admin.save_calendar_year(
                ctx,
                city.base_calendar or city.calendar,
                "2027",
                "2027-02-06..2027-02-13",
                "",
                notice="",
                actor=ADMIN,
            )
        # within CALENDAR_RECHECK seconds the other process keeps what it read ...
        with other.unit_of_work() as ctx:
            assert ctx.calendar.is_workday(date(2027, 2, 8))
        # ... and the next look finds the saved year
        assert not other.reload_calendar().is_workday(date(2027, 2, 8))
        with other.unit_of_work() as ctx:
            assert not ctx.calendar.is_workday(date(2027, 2, 8))
    finally:
        other.dispose()


def test_new_applications_follow_the_edited_time_limit_and_key_materials(
    city: Platform,
) -> None:
    from onewindow.intake.schemas import ApplicantIn, Upload
    from onewindow.intake.service import MaterialsMissing
    from onewindow.workflow import flows

    from .helpers import COMPANY, pdf, valid_form

    with city.unit_of_work() as ctx:
        item = catalog.get_service(ctx, "SAMR-001")
        data = catalog.service_edit_of(item)
        dropped = data["materials"][-1]["code"]
        assert data["materials"][-1]["required"]
    with city.unit_of_work() as ctx:
        service = catalog.get_service(ctx, "SAMR-001")
        uploads = [
            Upload(m.code, f"{m.code}.pdf", pdf(m.code))
            for m in service.materials
            if m.required and m.code != dropped
        ]
        form = valid_form(service)
        form["registered_capital"] = 100

    def submit(ctx: Any) -> Any:
        return flows.submit_application(
            ctx,
            "SAMR-001",
            ApplicantIn("business", COMPANY, "闽江贸易有限公司"),
            channel="window",
            form=form,
            uploads=uploads,
            actor=CLERK,
        )

    with pytest.raises(MaterialsMissing), city.unit_of_work() as ctx:
        submit(ctx)  # before the edit the material is key
    with city.unit_of_work() as ctx:
        data["time_limit_days"] = 3
        data["materials"][-1]["required"] = False
        admin.update_service_item(ctx, "SAMR-001", data, actor=ADMIN)
    submitted = city.run(submit)
    # submitted on Monday 2026-03-02: three working days later
    assert submitted.application.deadline == date(2026, 3, 5)
    assert dropped not in [u.material_code for u in uploads]
