"""Idempotency-Key on state-changing calls, and clashes retried as a whole unit of work."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from onewindow.api.units import UnitOfWork
from onewindow.intake.models import Application
from onewindow.kit.errors import ConcurrentUpdate
from onewindow.kit.http import CtxDep
from onewindow.kit.idempotency import IdempotencyRecord
from onewindow.kit.platform import Ctx, Platform
from tests.conftest import PG_URL

from .test_api_support import (
    ACCEPT,
    API,
    APPROVE,
    application_fields,
    assert_problem,
    material_files,
    staff,
    system,
    take_application,
    task_id,
)


def _cases(platform: Platform) -> int:
    with platform.unit_of_work() as ctx:
        return int(ctx.session.scalar(select(func.count()).select_from(Application)) or 0)


def _records(platform: Platform) -> list[IdempotencyRecord]:
    with platform.unit_of_work() as ctx:
        return list(ctx.session.scalars(select(IdempotencyRecord)))


def _post(user: Any, path: str, key: str | bytes | None, **kw: Any) -> Any:
    """``user.post`` with an Idempotency-Key (when given) besides the user's own headers."""
    headers = {**user.headers, **({"Idempotency-Key": key} if key is not None else {})}
    return user.client.post(API + path, headers=headers, **kw)


def _submit(user: Any, key: str | None, **over: Any) -> Any:
    return _post(
        user, "/applications", key, data=application_fields(**over), files=material_files()
    )


def test_same_key_and_body_answer_once(client: TestClient, city: Platform) -> None:
    clerk = staff(client, "center_qian")
    first = _submit(clerk, "submit-1")
    assert first.status_code == 201, first.text
    again = _submit(clerk, "submit-1")  # a new multipart boundary, the same request
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert _cases(city) == 1
    # Without a key every request is a new one.
    assert _submit(clerk, None).status_code == 201
    assert _cases(city) == 2


def test_same_key_with_another_body_is_refused(client: TestClient, city: Platform) -> None:
    clerk = staff(client, "center_qian")
    assert _submit(clerk, "k-2").status_code == 201
    other = _submit(clerk, "k-2", applicant_name="另一家公司")
    body = assert_problem(other, 422, "idempotency.key_reused")
    assert body["details"]["first_used_for"] == "POST /api/v1/applications"
    # ...and on another route too.
    task = task_id(clerk, _submit(clerk, None).json()["number"], "Task_window_accept")
    r = _post(clerk, f"/tasks/{task}/complete", "k-2", json={"data": ACCEPT})
    assert_problem(r, 422, "idempotency.key_reused")
    assert _cases(city) == 2


def test_an_error_is_not_stored_and_the_key_can_be_used_again(
    client: TestClient, city: Platform
) -> None:
    clerk = staff(client, "center_qian")
    failed = _submit(clerk, "k-3", service="NO-SUCH")
    assert failed.status_code == 404
    assert _records(city) == []
    assert _submit(clerk, "k-3").status_code == 201
    assert _cases(city) == 1


def test_keys_belong_to_their_caller(client: TestClient, city: Platform) -> None:
    qian, sun = staff(client, "center_qian"), staff(client, "center_sun")
    a, b = _submit(qian, "shared"), _submit(sun, "shared")
    assert a.status_code == b.status_code == 201
    assert a.json()["number"] != b.json()["number"]
    assert _cases(city) == 2


def test_a_replay_needs_a_caller_still_signed_in(client: TestClient, city: Platform) -> None:
    clerk = staff(client, "center_qian")
    assert _submit(clerk, "k-4").status_code == 201
    assert clerk.post("/auth/logout").status_code == 204
    assert _submit(clerk, "k-4").status_code == 401
    assert _cases(city) == 1


def test_bad_keys_are_refused(client: TestClient) -> None:
    clerk = staff(client, "center_qian")
    for key in ("", "x" * 256, "with space", "中文".encode()):
        r = _post(clerk, "/auth/logout", key)
        assert_problem(r, 422, "idempotency.key_invalid")


def test_completion_and_send_back_are_answered_once(client: TestClient, city: Platform) -> None:
    clerk = staff(client, "center_qian")
    number = take_application(clerk)["number"]
    task = task_id(clerk, number, "Task_window_accept")
    first = _post(clerk, f"/tasks/{task}/complete", "complete-1", json={"data": ACCEPT})
    assert first.status_code == 200, first.text
    # Without the key the second completion is refused (the task is done); with it, the
    # client that lost the first answer gets it.
    assert clerk.post(f"/tasks/{task}/complete", json={"data": ACCEPT}).status_code == 409
    again = _post(clerk, f"/tasks/{task}/complete", "complete-1", json={"data": ACCEPT})
    assert (again.status_code, again.json()) == (200, first.json())

    reviewer = staff(client, "samr_wang")
    review = task_id(reviewer, number, "Task_samr_review")
    body = {"missing": ["id_card"], "comment": "扫描件不清晰"}
    sent = _post(reviewer, f"/tasks/{review}/send-back", "send-back-1", json=body)
    assert sent.status_code == 200, sent.text
    again = _post(reviewer, f"/tasks/{review}/send-back", "send-back-1", json=body)
    assert (again.status_code, again.json()) == (200, sent.json())


def test_a_system_token_retrying_a_submission_makes_one_case(
    client: TestClient, city: Platform
) -> None:
    desk = system(client, "CENTER", ["applications.create", "tasks.work"])
    answers = {_submit(desk, "sys-1").json()["number"] for _ in range(3)}
    assert len(answers) == 1
    assert _cases(city) == 1


def test_eight_identical_concurrent_submissions_make_one_case(
    client: TestClient, city: Platform
) -> None:
    clerk = staff(client, "center_qian")
    barrier = threading.Barrier(8)
    answers: list[Any] = []

    def send() -> None:
        barrier.wait()
        answers.append(_submit(clerk, "burst-1"))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [r.status_code for r in answers] == [201] * 8, [r.text for r in answers]
    assert len({r.json()["number"] for r in answers}) == 1
    assert _cases(city) == 1
    assert len(_records(city)) == 1


def test_a_double_click_on_the_desk_form_makes_one_case(client: TestClient, city: Platform) -> None:
    from .helpers import PERSON, pdf
    from .test_web_pages import HRSS_FORM, PHONE, sign_in

    browser = TestClient(client.app)
    csrf = sign_in(browser, "center_qian")
    page = browser.get("/desk", params={"service": "HRSS-001"})
    action = re.search(r'action="(/desk\?idempotency_key=[^"]+)"', page.text)
    assert action, page.text[:2000]
    fields = {
        "csrf_token": csrf,
        "service": "HRSS-001",
        "kind": "person",
        "id_number": PERSON,
        "applicant_name": "张三",
        "phone": PHONE,
        **{f"f_{k}": v for k, v in HRSS_FORM.items()},
    }
    files = {
        "file_id_card": ("身份证.pdf", pdf("id"), "application/pdf"),
        "file_card_application": ("登记表.pdf", pdf("form"), "application/pdf"),
        "file_photo": ("photo.png", b"\x89PNG\r\n\x1a\n" + b"0" * 32, "image/png"),
    }
    clicks = [
        browser.post(action.group(1), data=fields, files=files, follow_redirects=False)
        for _ in range(2)
    ]
    assert [r.status_code for r in clicks] == [303, 303], clicks[0].text[:500]
    assert clicks[0].headers["location"] == clicks[1].headers["location"]
    assert _cases(city) == 1
    # A page rendered again is a new form: a new key, a new case.
    page = browser.get("/desk", params={"service": "HRSS-001"})
    again = re.search(r'action="(/desk\?idempotency_key=[^"]+)"', page.text)
    assert again
    assert again.group(1) != action.group(1)


# --- retries -----------------------------------------------------------------------------


@pytest.fixture
def clashing(platform: Platform) -> Iterator[tuple[TestClient, list[int]]]:
    """A tiny app behind the same middleware: its endpoint clashes on its first calls."""
    app = FastAPI()
    app.state.platform = platform
    app.add_middleware(UnitOfWork, platform=platform)
    calls: list[int] = []

    def failing(ctx: Ctx, times: int) -> None:
        calls.append(1)
        if len(calls) <= times:
            raise ConcurrentUpdate("clash", message_zh="冲突")

    @app.post("/clash/{times}")
    def clash(times: int, ctx: CtxDep, _: None = Depends(lambda: None)) -> dict[str, int]:
        failing(ctx, times)
        return {"calls": len(calls)}

    from onewindow.kit.errors import OneWindowError

    @app.exception_handler(OneWindowError)
    async def _problem(_r: Any, exc: OneWindowError) -> Any:
        from onewindow.api.problems import problem_response

        return problem_response(exc)

    with TestClient(app) as c:
        yield c, calls


@pytest.mark.parametrize("key", [None, "clash-key"])
def test_a_clash_is_retried_whole_before_answering(
    clashing: tuple[TestClient, list[int]], platform: Platform, key: str | None
) -> None:
    c, calls = clashing
    headers = {"content-type": "application/json", **({"Idempotency-Key": key} if key else {})}
    r = c.post("/clash/3", content=b"{}", headers=headers)
    assert r.status_code == 200
    assert r.json() == {"calls": 4}
    if key:  # the answer of the attempt that succeeded is the one kept
        again = c.post("/clash/3", content=b"{}", headers=headers)
        assert again.json() == {"calls": 4}
        assert len(calls) == 4
        assert len(_records(platform)) == 1


def test_a_clash_that_persists_is_answered_409(
    clashing: tuple[TestClient, list[int]], platform: Platform
) -> None:
    c, calls = clashing
    r = c.post("/clash/1000")
    assert_problem(r, 409, "concurrency.conflict")
    assert len(calls) == platform.settings.conflict_retries


@pytest.mark.skipif(not PG_URL, reason="SQLite serialises writers; clashes need PostgreSQL")
@pytest.mark.parametrize("keyed", [False, True])
def test_parallel_completions_over_http_never_answer_409(client: TestClient, keyed: bool) -> None:
    clerk = staff(client, "center_qian")
    users = {
        "Task_tax_register": staff(client, "tax_xu"),
        "Task_hrss_register": staff(client, "hrss_hu"),
        "Task_psb_seal": staff(client, "psb_luo"),
    }
    reviewer = staff(client, "samr_wang")
    statuses: list[int] = []
    for _ in range(5):
        number = take_application(clerk)["number"]
        accept = task_id(clerk, number, "Task_window_accept")
        assert clerk.post(f"/tasks/{accept}/complete", json={"data": ACCEPT}).status_code == 200
        review = task_id(reviewer, number, "Task_samr_review")
        assert reviewer.post(f"/tasks/{review}/complete", json={"data": APPROVE}).status_code == 200
        tasks = {e: task_id(u, number, e) for e, u in users.items()}
        barrier = threading.Barrier(3)

        def complete(element: str, task: int, barrier: threading.Barrier) -> None:
            barrier.wait()
            key = f"{element}-{task}" if keyed else None
            r = _post(users[element], f"/tasks/{task}/complete", key, json={"data": {}})
            statuses.append(r.status_code)

        threads = [
            threading.Thread(target=complete, args=(e, t, barrier)) for e, t in tasks.items()
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert task_id(clerk, number, "Task_window_issue")
    assert statuses == [200] * 15, statuses
