"""Attacks through the front door: injection in text fields, path traversal, disguised and
oversized uploads, forged and replayed sessions, other people's records, unmasking without a
purpose. Each is refused or rendered harmless, and afterwards nothing is lost: the cases are
all there and the ledger still verifies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from onewindow.intake.models import Applicant, Application, ApplicationMaterial
from onewindow.kit.platform import Platform
from onewindow.security import ledger
from onewindow.security.authz import SESSION_COOKIE

from .helpers import pdf
from .test_api_support import (
    ACCEPT,
    API,
    applicant,
    application_fields,
    fresh,
    material_files,
    staff,
    take_application,
    task_id,
)

INJECTIONS = [
    "' OR '1'='1",
    "'; DROP TABLE applicants; --",
    "1; SELECT pg_sleep(5)--",
    "{{ 7*7 }}",
    "{% for x in ().__class__.__base__.__subclasses__() %}{{ x }}{% endfor %}",
    "<script>alert(1)</script>",
    "../../../../etc/passwd",
    "\x00\u202e",
]


def _counts(platform: Platform) -> tuple[int, int]:
    with platform.unit_of_work() as ctx:
        apps = ctx.session.scalar(select(func.count(Application.id))) or 0
        people = ctx.session.scalar(select(func.count(Applicant.id))) or 0
    return apps, people


def test_injection_in_text_fields_is_inert(client: Any, city: Platform) -> None:
    clerk = staff(client, "center_qian")
    before = _counts(city)
    created = 0
    for payload in INJECTIONS:  # before any case exists: every search must find nothing
        r = client.post(f"{API}/auth/login", json={"username": payload, "password": payload})
        assert r.status_code in (401, 422, 429)
        for param in ("applicant_id_number", "applicant_phone", "status", "service"):
            r = clerk.get("/cases", params={param: payload})
            assert r.status_code in (200, 404, 422), r.text
            if r.status_code == 200:
                assert r.json()["items"] == []
    for payload in INJECTIONS:
        r = clerk.post(
            "/applications",
            data=application_fields(applicant_name=f"闽江贸易{payload}"[:200]),
            files=material_files(),
        )
        assert r.status_code in (201, 422), r.text
        if r.status_code == 201:
            created += 1
            page = clerk.client.get(f"/desk/receipt/{r.json()['number']}")
            assert page.status_code == 200
            shown = page.text.split("闽江贸易", 1)[-1][:60]
            assert not shown.startswith("49")  # the template did not evaluate it
            assert "<script>alert(1)</script>" not in page.text
    assert created
    assert _counts(city)[0] == before[0] + created  # every table still there, nothing lost


def test_path_traversal_and_disguised_uploads(client: Any, city: Platform) -> None:
    clerk = staff(client, "center_qian")
    files = material_files()
    name, (_, content, ctype) = files[0]
    files[0] = (name, ("../../../etc/passwd.pdf", content, ctype))
    r = clerk.post("/applications", data=application_fields(), files=files)
    assert r.status_code == 201, r.text
    with city.unit_of_work() as ctx:
        names = ctx.session.scalars(select(ApplicationMaterial.filename)).all()
    assert "passwd.pdf" in names
    assert not any("/" in n or ".." in n for n in names)
    for bad in (b"MZ\x90\x00" + b"\x00" * 64, b"<?php system($_GET['c']); ?>", b""):
        files = material_files()
        files[0] = (files[0][0], ("licence.pdf", bad, "application/pdf"))
        r = clerk.post("/applications", data=application_fields(), files=files)
        assert r.status_code in (413, 415, 422), r.text
    huge = pdf("x") + b"0" * (city.settings.max_upload_bytes + 1)
    files = material_files()
    files[0] = (files[0][0], ("big.pdf", huge, "application/pdf"))
    r = clerk.post("/applications", data=application_fields(), files=files)
    assert r.status_code in (413, 415, 422)


def test_forged_and_replayed_sessions(client: Any) -> None:
    forged = fresh(client)
    forged.cookies.set(SESSION_COOKIE, "A" * 43)
    assert forged.get(f"{API}/auth/me").status_code == 401
    bearer = fresh(client)
    r = bearer.get(f"{API}/cases", headers={"Authorization": "Bearer ow_forged"})
    assert r.status_code == 401
    user = staff(client, "center_qian")
    cookie = user.client.cookies[SESSION_COOKIE]
    # a state change without the CSRF token, or with another session's, is refused
    other = staff(client, "center_li")
    r = user.client.post(f"{API}/auth/logout", headers=other.headers)
    assert r.status_code == 403
    assert user.post("/auth/logout").status_code == 204
    replay = fresh(client)
    replay.cookies.set(SESSION_COOKIE, cookie)
    assert replay.get(f"{API}/auth/me").status_code == 401


def test_other_departments_tasks_and_other_applicants_cases(client: Any) -> None:
    clerk = staff(client, "center_qian")
    number = take_application(clerk, "13700000011")["number"]
    accept = task_id(clerk, number, "Task_window_accept")
    assert clerk.post(f"/tasks/{accept}/complete", json={"data": ACCEPT}).status_code == 200
    review = task_id(staff(client, "samr_wang"), number, "Task_samr_review")
    other_dept = staff(client, "center_li")  # an analyst: no task work at all
    r = other_dept.post(f"/tasks/{review}/complete", json={"data": {"decision": "approve"}})
    assert r.status_code in (403, 404)
    stranger = applicant(client, "13700000099")
    assert stranger.get(f"/applications/{number}").status_code == 404
    owner = applicant(client, "13700000011")
    assert owner.get(f"/applications/{number}").status_code == 200
    r = stranger.post(
        "/privacy/unmask", json={"application": number, "field": "phone", "purpose": "好奇"}
    )
    assert r.status_code == 403
    auditor = staff(client, "center_zheng")
    r = auditor.post("/privacy/unmask", json={"application": number, "field": "phone"})
    assert r.status_code == 422


def test_nothing_is_lost_and_the_ledger_still_verifies(client: Any, city: Platform) -> None:
    clerk = staff(client, "center_qian")
    numbers = [take_application(clerk)["number"] for _ in range(2)]
    for payload in INJECTIONS:
        clerk.get("/cases", params={"applicant_id_number": payload})
        staff(client, "center_zheng").post(
            "/privacy/unmask",
            json={"application": numbers[0], "field": "phone", "purpose": payload},
        )
    with city.unit_of_work() as ctx:
        for n in numbers:
            assert ctx.session.scalar(select(Application).where(Application.number == n))
        verdict = ledger.verify_stored(ctx)
    assert verdict.ok, verdict
