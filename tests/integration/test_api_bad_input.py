"""Bad input through HTTP: every refusal is a problem+json answer with a stable code, and a
refused application leaves nothing behind."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from onewindow.eventlog.models import Event
from onewindow.intake.models import Applicant, Application, ApplicationMaterial, Blob
from onewindow.kit.clock import ManualClock
from onewindow.kit.platform import Platform
from onewindow.workflow.models import Task

from .helpers import pdf
from .test_api_support import (
    ACCEPT,
    API,
    FORM,
    PROBLEM,
    application_fields,
    assert_problem,
    material_files,
    staff,
    take_application,
    task_id,
)

# --- sign-in, sessions, tokens --------------------------------------------------------------


def test_wrong_password_then_rate_limited(client: TestClient) -> None:
    for _ in range(5):
        r = client.post(f"{API}/auth/login", json={"username": "center_qian", "password": "nope"})
        assert_problem(r, 401, "auth.failed")
    # Even the right password is refused now: the failures survived their requests' rollback.
    r = client.post(f"{API}/auth/login", json={"username": "center_qian", "password": "demo"})
    assert_problem(r, 429, "auth.rate_limited")


def test_session_expires_after_twelve_hours(client: TestClient, clock: ManualClock) -> None:
    clerk = staff(client, "center_qian")
    assert clerk.get("/auth/me").status_code == 200
    clock.advance(timedelta(hours=13))
    assert_problem(clerk.get("/auth/me"), 401, "auth.required")
    assert_problem(clerk.get("/tasks/queue"), 401, "auth.required")


@pytest.mark.parametrize("csrf", [None, "forged-token"])
def test_session_post_needs_the_csrf_token(client: TestClient, csrf: str | None) -> None:
    clerk = staff(client, "center_qian")
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    r = clerk.client.post(
        f"{API}/applications", data=application_fields(), files=material_files(), headers=headers
    )
    assert_problem(r, 403, "auth.csrf_failed")
    number = take_application(clerk)["number"]
    accept = task_id(clerk, number, "Task_window_accept")
    r = clerk.client.post(f"{API}/tasks/{accept}/complete", json={"data": ACCEPT}, headers=headers)
    assert_problem(r, 403, "auth.csrf_failed")


def test_revoked_token_is_refused(client: TestClient) -> None:
    admin = staff(client, "center_zhou")
    issued = admin.post(
        "/admin/tokens",
        json={"name": "samr-system", "scopes": ["tasks.work"], "department": "SAMR"},
    ).json()
    bearer = {"Authorization": f"Bearer {issued['token']}"}
    assert client.get(f"{API}/tasks/queue", headers=bearer).status_code == 200
    # The token's scopes are its permissions: this one may not read applications.
    assert_problem(client.get(f"{API}/applications", headers=bearer), 403, "permission.denied")
    assert admin.delete(f"/admin/tokens/{issued['id']}").status_code == 200
    assert_problem(client.get(f"{API}/tasks/queue", headers=bearer), 401, "auth.token_invalid")
    assert_problem(
        client.get(f"{API}/tasks/queue", headers={"Authorization": "Bearer ow_made_up"}),
        401,
        "auth.token_invalid",
    )


def test_anonymous_and_wrong_role_are_refused(client: TestClient) -> None:
    assert_problem(client.get(f"{API}/applications"), 401, "auth.required")
    analyst = staff(client, "center_li")
    assert_problem(analyst.get("/tasks/queue"), 403, "permission.denied")
    assert_problem(
        analyst.post("/applications", data=application_fields(), files=material_files()),
        403,
        "permission.denied",
    )


# --- a refused application stores nothing ---------------------------------------------------


def _stored(city: Platform) -> dict[str, int]:
    with city.unit_of_work() as ctx:
        counts = {
            model.__name__: ctx.session.scalar(select(func.count()).select_from(model)) or 0
            for model in (Applicant, Application, ApplicationMaterial, Blob, Event, Task)
        }
    blob_dir = city.settings.blob_dir
    counts["files"] = sum(1 for p in blob_dir.rglob("*") if p.is_file()) if blob_dir.exists() else 0
    return counts


def _gif() -> bytes:
    return b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"


BAD_SUBMISSIONS: list[tuple[str, dict[str, Any], Any, int, str]] = [
    (
        "wrong file type",
        {},
        [
            *material_files()[1:],
            ("material:registration_application", ("a.gif", _gif(), "application/pdf")),
        ],
        415,
        "material.type_not_allowed",
    ),
    (
        "empty file",
        {},
        [
            *material_files()[1:],
            ("material:registration_application", ("a.pdf", b"", "application/pdf")),
        ],
        422,
        "material.empty",
    ),
    (
        "material the service does not ask for",
        {},
        [*material_files(), ("material:passport", ("p.pdf", pdf("p"), "application/pdf"))],
        422,
        "material.unknown_code",
    ),
    (
        "file not named material:<code>",
        {},
        [*material_files(), ("scan", ("p.pdf", pdf("p"), "application/pdf"))],
        422,
        "material.bad_field",
    ),
    ("missing materials", {}, material_files()[:2], 422, "application.materials_missing"),
    ("no service", {"service": ""}, material_files(), 422, "application.field_missing"),
    ("unknown service", {"service": "NOPE-9"}, material_files(), 404, "service.unknown"),
    (
        "missing form field",
        {"form": json.dumps({k: v for k, v in FORM.items() if k != "company_name"})},
        material_files(),
        422,
        "application.form_invalid",
    ),
    (
        "malformed form field",
        {"form": json.dumps({**FORM, "registered_capital": "a lot"})},
        material_files(),
        422,
        "application.form_invalid",
    ),
    (
        "form not JSON",
        {"form": "{company_name:"},
        material_files(),
        422,
        "application.form_not_json",
    ),
    ("form not an object", {"form": "[1, 2]"}, material_files(), 422, "application.form_not_json"),
    (
        "invalid credit code",
        {"applicant_id_number": "91350100M000100Y44"},
        material_files(),
        422,
        "applicant.invalid_credit_code",
    ),
    ("bad channel", {"channel": "fax"}, material_files(), 422, "application.invalid_channel"),
    ("bad phone", {"applicant_phone": "12345"}, material_files(), 422, "auth.invalid_phone"),
    (
        "person for a business service",
        {"applicant_kind": "person", "applicant_id_number": "11010519491231002X"},
        material_files(),
        422,
        "application.applicant_kind_mismatch",
    ),
]


def test_refused_submissions_store_nothing(client: TestClient, city: Platform) -> None:
    # One loop rather than parametrised cases: the sign-in and the catalogue load once.
    clerk = staff(client, "center_qian")
    before = _stored(city)
    wrong: list[str] = []
    for name, fields, files, status, code in BAD_SUBMISSIONS:
        r = clerk.post("/applications", data=application_fields(**fields), files=files)
        body = r.json()
        if (
            r.status_code != status
            or not r.headers["content-type"].startswith(PROBLEM)
            or body.get("code") != code
            or not body.get("title_zh")
        ):
            wrong.append(f"{name}: expected {status} {code}, got {r.status_code} {r.text[:200]}")
        if _stored(city) != before:
            wrong.append(f"{name}: something was stored")
            before = _stored(city)
    assert not wrong, "\n".join(wrong)


def test_too_large_upload_is_413(client: TestClient, city: Platform) -> None:
    city.settings.max_upload_bytes = 2048
    clerk = staff(client, "center_qian")
    before = _stored(city)
    big = b"%PDF-1.4\n" + b"0" * 4096
    files = [
        *material_files()[1:],
        ("material:registration_application", ("big.pdf", big, "application/pdf")),
    ]
    assert_problem(
        clerk.post("/applications", data=application_fields(), files=files),
        413,
        "material.too_large",
    )
    assert _stored(city) == before


def test_missing_materials_lists_all_of_them(client: TestClient) -> None:
    clerk = staff(client, "center_qian")
    r = clerk.post("/applications", data=application_fields(), files=material_files()[:2])
    body = assert_problem(r, 422, "application.materials_missing")
    assert {m["code"] for m in body["details"]["missing"]} == {
        "id_card",
        "shareholder_id",
        "officer_appointment",
    }


# --- tasks ----------------------------------------------------------------------------------


def test_completing_twice_is_a_conflict(client: TestClient) -> None:
    clerk = staff(client, "center_qian")
    number = take_application(clerk)["number"]
    accept = task_id(clerk, number, "Task_window_accept")
    assert_problem(
        clerk.post(f"/tasks/{accept}/complete", json={"data": {}}), 422, "task.form_invalid"
    )
    assert_problem(
        clerk.post(f"/tasks/{accept}/complete", json={"data": {**ACCEPT, "decision": "maybe"}}),
        422,
        "task.invalid_decision",
    )
    assert clerk.post(f"/tasks/{accept}/complete", json={"data": ACCEPT}).status_code == 200
    assert_problem(
        clerk.post(f"/tasks/{accept}/complete", json={"data": ACCEPT}),
        409,
        "task.already_completed",
    )
    reviewer, head = staff(client, "samr_wang"), staff(client, "samr_chen")
    review = task_id(reviewer, number, "Task_samr_review")
    assert head.post(f"/tasks/{review}/claim").status_code == 200
    assert_problem(
        reviewer.post(f"/tasks/{review}/complete", json={"data": {"decision": "approve"}}),
        409,
        "task.claimed_by_other",
    )
    assert_problem(clerk.get("/tasks/999999"), 404, "task.unknown")


def test_unknown_application_and_material_are_404(client: TestClient) -> None:
    clerk = staff(client, "center_qian")
    assert_problem(clerk.get("/applications/OW0000"), 404, "application.unknown")
    number = take_application(clerk)["number"]
    assert_problem(
        clerk.get(f"/applications/{number}/materials/{'0' * 64}"), 404, "material.unknown"
    )
    assert_problem(
        clerk.get(f"/applications/{number}/materials/not-a-digest"), 404, "material.unknown"
    )
