"""Hostile clients get a clear problem+json answer and change nothing: oversized bodies and
headers, JSON too deep or with endless numbers, control characters in any text field, a
database that went away, an upload without credentials. (Memory and slow-client checks on a
real server: ``test_server_limits``.)"""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from starlette.routing import compile_path

from onewindow.api.limits import PAGE_UPLOADS, upload_routes
from onewindow.intake.models import Application
from onewindow.kit.db import make_engine, make_sessionmaker
from onewindow.kit.platform import Platform

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


def _cases(platform: Platform) -> int:
    with platform.unit_of_work() as ctx:
        return int(ctx.session.scalar(select(func.count()).select_from(Application)) or 0)


# --- item 6: the multipart ``form`` field and JSON bodies ---------------------------------


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ('{"registered_capital": ' + "9" * 5000 + "}", "request.json_too_complex"),
        ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "request.json_too_complex"),
        ("[" * 100_000, "request.json_too_complex"),
        ('{"registered_capital": 1e999999999}', "request.number_out_of_range"),
        ('{"registered_capital": NaN}', "application.form_not_json"),
    ],
)
def test_hostile_form_field_is_422_not_500(
    client: TestClient, city: Platform, form: str, code: str
) -> None:
    clerk = staff(client, "center_qian")
    r = clerk.post("/applications", data=application_fields(form=form), files=material_files())
    body = assert_problem(r, 422, code)
    assert body["details"]["field"].startswith("form")
    assert _cases(city) == 0


@pytest.mark.parametrize(
    "raw",
    [
        b'{"data": {"n": ' + b"7" * 5000 + b"}}",
        b'{"data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    ],
)
def test_hostile_json_body_is_422(client: TestClient, raw: bytes) -> None:
    clerk = staff(client, "center_qian")
    task = task_id(clerk, take_application(clerk)["number"], "Task_window_accept")
    r = clerk.client.post(
        f"{API}/tasks/{task}/complete",
        content=raw,
        headers={**clerk.headers, "content-type": "application/json"},
    )
    body = assert_problem(r, 422, "request.json_too_complex")
    assert body["details"]["field"] == "body"
    # the task is untouched and can still be completed
    assert clerk.post(f"/tasks/{task}/complete", json={"data": ACCEPT}).status_code == 200


# --- item 7: control characters, wherever text comes in ------------------------------------


def test_nul_in_any_field_of_a_submission_is_refused_and_nothing_stored(
    client: TestClient, city: Platform
) -> None:
    clerk = staff(client, "center_qian")
    cases = [
        ({"applicant_name": "闽江\x00贸易"}, "applicant_name"),
        ({"form": json.dumps({**FORM, "company_name": "闽江\u0000"})}, "form.company_name"),
        ({"form": json.dumps({**FORM, "business_scope": "销售\u001b[31m"})}, "form.business_scope"),
        ({"service": "SAMR-001\x07"}, "service"),
    ]
    for fields, named in cases:
        r = clerk.post("/applications", data=application_fields(**fields), files=material_files())
        body = assert_problem(r, 422, "request.control_character")
        assert body["details"]["field"] == named
    # httpx escapes control characters in file names; a hostile client sends them raw
    parts = [
        f'--B\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
        for k, v in application_fields().items()
    ]
    parts.append(
        b'--B\r\nContent-Disposition: form-data; name="material:registration_application"; '
        b'filename="scan\x00.pdf"\r\nContent-Type: application/pdf\r\n\r\n%PDF-1.4\r\n--B--\r\n'
    )
    r = clerk.client.post(
        f"{API}/applications",
        content=b"".join(parts),
        headers={**clerk.headers, "content-type": "multipart/form-data; boundary=B"},
    )
    body = assert_problem(r, 422, "request.control_character")
    assert body["details"]["field"] == "material:registration_application.filename"
    assert _cases(city) == 0
    # tabs and line breaks are text (in a free-text field: 经营范围 is a list of choices)
    address = {**FORM, "registered_address": "鼓楼区\n五四路\t1 号"}
    r = clerk.post(
        "/applications",
        data=application_fields(form=json.dumps(address, ensure_ascii=False)),
        files=material_files(),
    )
    assert r.status_code == 201, r.text


def test_nul_in_json_bodies_query_and_path_is_refused(client: TestClient) -> None:
    clerk = staff(client, "center_qian")
    task = task_id(clerk, take_application(clerk)["number"], "Task_window_accept")
    r = clerk.post(f"/tasks/{task}/complete", json={"data": {**ACCEPT, "note": "a\u0000b"}})
    assert assert_problem(r, 422, "request.control_character")["details"]["field"] == (
        "body.data.note"
    )
    r = clerk.post(f"/tasks/{task}/complete", json={"data": {"k\u0001": 1}})
    assert assert_problem(r, 422, "request.control_character")["details"]["field"] == (
        "body.data.k\u0001"
    )
    r = clerk.get("/cases", params={"number": "OW\x00"})
    assert assert_problem(r, 422, "request.control_character")["details"]["field"] == (
        "query.number"
    )
    r = clerk.get("/applications/OW%00X")
    assert assert_problem(r, 422, "request.control_character")["details"]["field"] == (
        "path.number"
    )
    r = clerk.client.post(
        "/login", data={"username": "a\x00", "password": "x"}, follow_redirects=False
    )
    assert r.status_code == 422  # the page's error, in the page's form


# --- item 5: sizes ------------------------------------------------------------------------


def test_bodies_over_the_route_limit_are_413_before_reading(
    client: TestClient, city: Platform
) -> None:
    limit = city.settings.max_json_bytes
    r = client.post(
        f"{API}/auth/login",
        content=b"{" + b" " * limit + b"}",
        headers={"content-type": "application/json"},
    )
    body = assert_problem(r, 413, "request.too_large")
    assert body["details"]["limit_bytes"] == limit
    assert r.headers["connection"] == "close"
    # a chunked body (no Content-Length) is cut off at the limit too
    r = client.post(
        f"{API}/auth/login",
        content=iter([b" " * 65536] * (limit // 65536 + 2)),
        headers={"content-type": "application/json"},
    )
    assert_problem(r, 413, "request.too_large")
    # uploads have their own, larger limit: material limit x files per request
    clerk = staff(client, "center_qian")
    files = material_files()
    files[0] = (files[0][0], ("big.pdf", b"%PDF-1.4\n" + b"0" * (2 * limit), "application/pdf"))
    r = clerk.post("/applications", data=application_fields(), files=files)
    assert r.status_code == 201, r.text  # twice the JSON limit, a fine upload
    city.settings.max_upload_bytes = limit  # smaller, so the test body stays small
    too_big = limit * city.settings.max_files_per_request + limit + 1
    r = clerk.post(
        "/applications",
        data=application_fields(),
        files=[("material:id_card", ("a.pdf", b"%PDF" + b"0" * too_big, "application/pdf"))],
    )
    assert_problem(r, 413, "request.too_large")
    assert _cases(city) == 1


def test_the_routes_that_take_files_are_found(client: TestClient) -> None:
    found = {
        (method, rx.pattern) for rx, methods in upload_routes(client.app) for method in methods
    }
    paths = {p for _, p in found}
    for path in (
        "/api/v1/applications",
        "/api/v1/applications/{number}/materials",
        "/api/v1/datahub/datasets/{code}/loads",
        "/api/v1/feedback/tickets/import",
        *PAGE_UPLOADS,
    ):
        assert compile_path(path)[0].pattern in paths, path
    assert compile_path("/api/v1/tasks/{task_id}/complete")[0].pattern not in paths
    # every page named in PAGE_UPLOADS is a page that exists (and asks for sign-in)
    for path in PAGE_UPLOADS:
        r = client.post(path.replace("{number}", "OW1"), follow_redirects=False)
        assert r.status_code in (303, 401, 403), (path, r.status_code)


def test_upload_without_credentials_is_401_before_its_body_is_read(client: TestClient) -> None:
    r = client.post(f"{API}/applications", data=application_fields(), files=material_files())
    assert_problem(r, 401, "auth.required")


def test_oversized_headers_are_431(client: TestClient) -> None:
    r = client.get(f"{API}/health/live", headers={"x-filler": "a" * 20_000})
    assert_problem(r, 431, "request.headers_too_large")
    r = client.get(f"{API}/health/live", headers={f"x-h{i}": "1" for i in range(120)})
    assert_problem(r, 431, "request.headers_too_large")


# --- item 10: the database goes away --------------------------------------------------------


def test_database_outage_is_503_problem_with_retry_after(
    client: TestClient, city: Platform
) -> None:
    clerk = staff(client, "center_qian")
    engine, sessions = city.engine, city.sessions
    # Nothing listens on port 1: every connection is refused, as when PostgreSQL is down.
    dead = make_engine("postgresql+psycopg://postgres@127.0.0.1:1/none?connect_timeout=2")
    city.engine, city.sessions = dead, make_sessionmaker(dead)
    try:
        for r in (
            clerk.get("/applications"),
            clerk.post("/applications", data=application_fields(), files=material_files()),
            clerk.post("/tasks/1/complete", json={"data": {}}),
            client.get(f"{API}/health/ready"),
        ):
            assert r.status_code == 503, r.text
            assert r.headers["retry-after"] == "5"
            if r.headers["content-type"].startswith(PROBLEM):
                assert r.json()["code"] == "service.database_unavailable"
            else:  # the readiness report says what is down
                assert r.json()["database"]["status"] == "down"
        assert client.get(f"{API}/health/live").status_code == 200
    finally:
        city.engine, city.sessions = engine, sessions
        dead.dispose()
    ready = client.get(f"{API}/health/ready").json()
    assert ready["status"] == "ok"
    assert ready["database"]["status"] == "ok"
    assert ready["worker"] == {"status": "none"}
    assert ready["outbox"]["pending"] == 0
