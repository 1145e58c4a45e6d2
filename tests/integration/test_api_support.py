"""What the API tests share: per-user HTTP clients, applicant sign-in by one-time code, and a
business start-up application sent the way a front-desk client sends it (multipart).

No tests here; the module is named ``test_api_*`` only so it sits with the tests it serves.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi.testclient import TestClient

from onewindow.security import service as security

from .helpers import COMPANY, pdf

API = "/api/v1"
PROBLEM = "application/problem+json"
SERVICE = "SAMR-001"
REQUIRED_MATERIALS = (
    "registration_application",
    "articles_of_association",
    "id_card",
    "shareholder_id",
    "officer_appointment",
)
FORM: dict[str, Any] = {
    "company_name": "闽江贸易有限公司",
    "company_type": "有限责任公司（自然人投资或控股）",
    "registered_capital": 100,
    "legal_representative": "张三",
    "business_scope": "日用百货销售",
    "registered_address": "鼓楼区五四路 1 号",
}
ACCEPT = {"decision": "approve"}
APPROVE = {"decision": "approve"}


class User:
    """One signed-in caller: its own cookie jar, plus the CSRF header or bearer token."""

    def __init__(self, client: TestClient, headers: dict[str, str]) -> None:
        self.client = client
        self.headers = headers

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(API + path, headers=self.headers, **kw)

    def post(self, path: str, **kw: Any) -> Any:
        return self.client.post(API + path, headers=self.headers, **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.client.delete(API + path, headers=self.headers, **kw)


def fresh(client: TestClient) -> TestClient:
    """Another client on the same app, with an empty cookie jar."""
    return TestClient(client.app)


def staff(client: TestClient, username: str) -> User:
    c = fresh(client)
    r = c.post(f"{API}/auth/login", json={"username": username, "password": "demo"})
    assert r.status_code == 200, r.text
    return User(c, {"X-CSRF-Token": r.json()["csrf_token"]})


class _Recorder:
    def __init__(self) -> None:
        self.codes: dict[str, str] = {}

    def send(self, phone: str, code: str) -> None:
        self.codes[phone] = code


def applicant(client: TestClient, phone: str) -> User:
    """Sign an applicant in with a one-time code caught by a recording sender."""
    recorder = _Recorder()
    security.set_sender(recorder)
    try:
        c = fresh(client)
        assert c.post(f"{API}/auth/code", json={"phone": phone}).status_code == 202
        r = c.post(f"{API}/auth/code/verify", json={"phone": phone, "code": recorder.codes[phone]})
        assert r.status_code == 200, r.text
        return User(c, {"X-CSRF-Token": r.json()["csrf_token"]})
    finally:
        security.set_sender(security.LogSender())


def system(
    client: TestClient,
    department: str,
    scopes: list[str] | None = None,
    *,
    admin: User | None = None,
) -> User:
    """A department's system, with a token an admin issued over the API."""
    admin = admin or staff(client, "center_zhou")
    r = admin.post(
        "/admin/tokens",
        json={
            "name": f"{department.lower()}-system",
            "scopes": scopes or list(security.TOKEN_SCOPES),
            "department": department,
        },
    )
    assert r.status_code == 201, r.text
    return User(fresh(client), {"Authorization": f"Bearer {r.json()['token']}"})


def material_files(
    codes: tuple[str, ...] = REQUIRED_MATERIALS, *, label: str = ""
) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [(f"material:{c}", (f"{c}.pdf", pdf(c + label), "application/pdf")) for c in codes]


def application_fields(phone: str | None = None, **over: Any) -> dict[str, str]:
    fields = {
        "service": SERVICE,
        "applicant_kind": "business",
        "applicant_id_number": COMPANY,
        "applicant_name": "闽江贸易有限公司",
        "channel": "window",
        "form": json.dumps(FORM, ensure_ascii=False),
    }
    if phone:
        fields["applicant_phone"] = phone
    fields.update({k: v for k, v in over.items() if v is not None})
    return fields


def take_application(clerk: User, phone: str | None = None) -> dict[str, Any]:
    r = clerk.post("/applications", data=application_fields(phone), files=material_files())
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


def task_id(user: User, number: str, element: str) -> int:
    """The open task ``element`` of the case, as the user's own queue shows it."""
    queue = user.get("/tasks/queue", params={"limit": 200}).json()["items"]
    ids = [t["id"] for t in queue if t["case_number"] == number and t["element_id"] == element]
    assert ids, f"{element} of {number} is not in the queue: {queue}"
    return int(ids[0])


def assert_problem(r: Any, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith(PROBLEM), r.headers["content-type"]
    body: dict[str, Any] = r.json()
    assert body["code"] == code, body
    assert body["status"] == status
    return body
