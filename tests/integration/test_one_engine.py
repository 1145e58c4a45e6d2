"""One case engine for every kind of case, and decisions that hold up in law (issue 12).

A complaint runs its whole 12345 loop through the departments' ordinary queues and the one
event log; an escalation (督办) ends with the task it escalates; a refusal needs its reasons
and a legal basis the service lists, and gives the applicant a decision document they can
verify; every page, API and report counts overdue cases the same way.
"""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader

from onewindow.demo.generator import DemoOptions, seed_demo
from onewindow.kit.clock import ManualClock
from onewindow.kit.platform import Platform
from onewindow.worker import run_once
from onewindow.workflow import service as workflow

from .test_api_support import (
    applicant,
    assert_problem,
    staff,
    take_application,
    task_id,
)

PHONE = "13800138001"
UNSURE = "我想问一下这个事情到底归谁管，楼下那家店一直这样"


def _queue(user: Any, number: str) -> list[dict[str, Any]]:
    r = user.get("/tasks/queue", params={"limit": 200})
    assert r.status_code == 200, r.text
    items = r.json()["items"]
    return [t for t in items if t["case_number"] == number]


def test_complaint_runs_its_whole_loop_in_the_departments_queues(
    client: TestClient, city: Platform, clock: ManualClock
) -> None:
    citizen = applicant(client, PHONE)
    r = citizen.post(
        "/feedback/tickets", json={"text": UNSURE, "kind": "complaint", "district": "鼓楼区"}
    )
    assert r.status_code == 201, r.text
    ticket, case = r.json()["number"], r.json()["case"]
    center, samr = staff(client, "center_zhao"), staff(client, "samr_wang")

    # 受理 and 派单 are ordinary tasks in the centre's queue
    accept = task_id(center, case, "Task_accept")
    assert (
        center.post(f"/tasks/{accept}/complete", json={"data": {"accept": "accept"}}).json()[
            "created"
        ][0]["element_id"]
        == "Task_dispatch"
    )
    dispatch = task_id(center, case, "Task_dispatch")
    r = center.post(
        f"/tasks/{dispatch}/complete",
        json={"data": {"category": "consumer", "department": "SAMR", "comment": "转市场监管"}},
    )
    assert r.status_code == 200, r.text

    # 办理 sits in SAMR's ordinary queue with its working-day SLA
    (handle,) = _queue(samr, case)
    assert handle["element_id"] == "Task_handle"
    assert handle["service"] == "complaint"
    assert handle["sla_due"].startswith("2026-03-09")  # 5 working days from Monday 2 March

    # the deadline passes: the worker fires the boundary timer, 督办 opens, the task escalates
    clock.advance(timedelta(days=8))
    run_once(city)
    center, samr = staff(client, "center_zhao"), staff(client, "samr_wang")  # sessions expired
    citizen = applicant(client, PHONE)
    (handle,) = _queue(samr, case)
    assert handle["escalated"]
    assert handle["overdue"]
    supervise = task_id(center, case, "Task_supervise")
    assert citizen.get(f"/feedback/tickets/{ticket}").json()["escalations"] == 1

    r = samr.post(
        f"/tasks/{handle['id']}/complete",
        json={"data": {"decision": "resolve", "reply": "已责令商户整改并退还差价"}},
    )
    assert r.status_code == 200, r.text
    # the 督办 task ended with the task it escalated, saying why
    detail = center.get(f"/tasks/{supervise}")
    assert detail.status_code == 404 or detail.json()["status"] == "cancelled"
    with city.unit_of_work() as ctx:
        task = workflow.get_task(ctx, supervise)
        assert (task.status, task.cancel_reason) == ("cancelled", "escalated_task_ended")
        assert workflow.open_escalations_of_ended(ctx) == []

    close = task_id(center, case, "Task_close")
    assert (
        center.post(f"/tasks/{close}/complete", json={"data": {"close": "close"}}).status_code
        == 200
    )
    r = citizen.post(
        f"/feedback/tickets/{ticket}/answer", json={"action": "confirm", "satisfaction": 4}
    )
    assert r.status_code == 200, r.text
    done = citizen.get(f"/feedback/tickets/{ticket}").json()
    assert (done["status"], done["outcome"], done["satisfaction"]) == ("closed", "resolved", 4)

    # the whole loop is in the one event log, with the case kind
    export = staff(client, "center_zhou").get("/eventlog/export", params={"format": "csv"})
    assert export.status_code == 200, export.text
    rows = [r for r in csv.DictReader(io.StringIO(export.text)) if r["case:concept:name"] == case]
    assert {r["case:kind"] for r in rows} == {"complaint"}
    completed = [r["concept:name"] for r in rows if r["lifecycle:transition"] == "complete"]
    for step in ("受理", "派单", "办理答复", "办结审核", "回访评价", "超时督办"):
        assert step in completed, (step, completed)
    aborted = [r for r in rows if r["lifecycle:transition"] == "ate_abort"]
    assert [(r["concept:name"], r["reason"]) for r in aborted] == [
        ("超时督办", "escalated_task_ended")
    ]


def _to_review(client: TestClient, phone: str) -> tuple[Any, Any, str]:
    clerk = staff(client, "center_qian")
    number = take_application(clerk, phone)["number"]
    accept = task_id(clerk, number, "Task_window_accept")
    r = clerk.post(
        f"/tasks/{accept}/complete",
        json={"data": {"decision": "approve", "comment": "材料齐全，予以受理"}},
    )
    assert r.status_code == 200, r.text
    return clerk, staff(client, "samr_wang"), number


def _pdf_text(pdf: bytes) -> str:
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    return text.replace("\n", "")  # lines wrap anywhere in Chinese text


def test_a_refusal_needs_reasons_and_gives_a_verifiable_decision(client: TestClient) -> None:
    clerk, samr, number = _to_review(client, PHONE)
    review = task_id(samr, number, "Task_samr_review")

    # bad decisions change nothing
    for data, status, code in (
        ({"decision": "reject"}, 422, "decision.reason_required"),
        ({"decision": "reject", "reason": "名称重复"}, 422, "decision.legal_basis_required"),
        (
            {"decision": "reject", "reason": "名称重复", "legal_basis": "fire_safety_failed"},
            422,
            "decision.legal_basis_unknown",
        ),
        (
            {"decision": "reject", "reason": "名称重复", "legal_basis": "not_competent"},
            422,
            "decision.legal_basis_unknown",  # 不予受理's basis, not a refusal of the permit
        ),
        ({"decision": "maybe"}, 422, "task.invalid_decision"),
        (
            {"decision": "send_back", "missing_materials": ["照片"]},
            422,
            "decision.missing_item_unknown",
        ),
    ):
        assert_problem(samr.post(f"/tasks/{review}/complete", json={"data": data}), status, code)
    assert _queue(samr, number)[0]["id"] == review

    reason = "申请的企业名称与本机关已登记的同行业企业名称相同，请更换字号后重新申请。"
    r = samr.post(
        f"/tasks/{review}/complete",
        json={"data": {"decision": "reject", "reason": reason, "legal_basis": "name_conflict"}},
    )
    assert r.status_code == 200, r.text
    assert (r.json()["finished"], r.json()["case_status"]) == (True, "rejected")

    # the applicant reads the reasons, the legal basis and their rights of review
    owner = applicant(client, PHONE)
    case = owner.get(f"/applications/{number}").json()
    (refusal,) = [d for d in case["decisions"] if d["decision"] == "reject"]
    assert refusal["reason"] == reason
    assert "企业名称" in refusal["legal_basis"]
    assert refusal["review"]["reconsideration_days"] == 60
    assert refusal["decided_by"] is None  # who decided is not the applicant's to know
    kinds = [d["kind"] for d in case["documents"]]
    assert kinds == ["acceptance_notice", "permit_refused_decision"]

    # the decision as PDF: reasons, basis, rights of review and the verification code
    document = case["documents"][1]
    r = owner.client.get(document["url"], headers=owner.headers)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    pdf = r.content
    text = _pdf_text(pdf)
    for expected in (number, "不予行政许可决定书", "行政复议", "行政诉讼", document["code"]):
        assert expected in text, expected
    assert "字号" in text
    assert "企业名称登记管理规定" in text
    # issued identically again from the same data
    assert owner.client.get(document["url"], headers=owner.headers).content == pdf

    # anyone can verify it; a copy with one byte changed is refused
    anyone = TestClient(client.app)
    verdict = anyone.get(f"/api/v1/verify/{document['code'].lower()}").json()
    assert verdict["genuine"]
    assert verdict["in_ledger"]
    assert verdict["case_number"] == number
    same = anyone.post(f"/api/v1/verify/{document['code']}", content=pdf).json()
    assert same["genuine"]
    assert same["copy_matches"]
    forged = bytearray(pdf)
    forged[len(forged) // 2] ^= 0x01
    changed = anyone.post(f"/api/v1/verify/{document['code']}", content=bytes(forged)).json()
    assert changed["copy_matches"] is False
    assert changed["genuine"] is False
    page = anyone.get(f"/verify/{document['code']}", headers={"accept": "text/html"})
    assert page.status_code == 200
    assert "核验通过" in page.text

    # a forged code: mistyped ones are caught by the check symbol, unknown ones are not found
    code = document["code"]
    wrong_check = code[:-1] + ("0" if code[-1] != "0" else "1")
    assert_problem(
        anyone.get(f"/api/v1/verify/{wrong_check}"), 422, "document.verification_code_invalid"
    )
    from onewindow.documents import verification_code

    assert_problem(
        anyone.get(f"/api/v1/verify/{verification_code(b'never issued by us....')}"),
        404,
        "document.unknown_code",
    )
    # another applicant cannot even see the document exists
    stranger = applicant(client, "13900139000")
    assert_problem(
        stranger.client.get(document["url"], headers=stranger.headers), 404, "application.unknown"
    )


def test_a_refusal_on_the_page_asks_for_confirmation_and_reasons(client: TestClient) -> None:
    _, _, number = _to_review(client, None)  # type: ignore[arg-type]
    samr = staff(client, "samr_wang")
    review = task_id(samr, number, "Task_samr_review")
    page = samr.client.get(f"/workbench/tasks/{review}")
    assert "confirm_refusal" in page.text
    assert "name_conflict" in page.text
    csrf = samr.headers["X-CSRF-Token"]
    r = samr.client.post(
        f"/workbench/tasks/{review}",
        data={"csrf_token": csrf, "action": "reject", "reason": "名称重复"},
    )
    assert r.status_code == 422
    assert "请勾选确认" in r.text
    r = samr.client.post(
        f"/workbench/tasks/{review}",
        data={"csrf_token": csrf, "action": "reject", "confirm_refusal": "yes"},
    )
    assert r.status_code == 422
    assert "须写明理由" in r.text
    assert _queue(samr, number)[0]["id"] == review  # nothing was decided
    r = samr.client.post(
        f"/workbench/tasks/{review}",
        data={
            "csrf_token": csrf,
            "action": "reject",
            "confirm_refusal": "yes",
            "reason": "申请登记的名称与已登记企业名称相同。",
            "legal_basis": "name_conflict",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert _queue(samr, number) == []


def test_not_accepted_at_the_window_gives_its_own_decision(client: TestClient) -> None:
    clerk = staff(client, "center_qian")
    number = take_application(clerk, PHONE)["number"]
    accept = task_id(clerk, number, "Task_window_accept")
    r = clerk.post(
        f"/tasks/{accept}/complete",
        json={
            "data": {
                "decision": "reject",
                "reason": "申请人住所不在本市，请向住所地登记机关申请。",
                "legal_basis": "not_competent",
            }
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["case_status"] == "not_accepted"
    case = applicant(client, PHONE).get(f"/applications/{number}").json()
    assert [d["kind"] for d in case["documents"]] == ["non_acceptance_decision"]
    assert case["status"] == "not_accepted"


def test_send_back_lists_every_item_once_and_the_applicant_sees_them(
    city: Platform, client: TestClient
) -> None:
    clerk = staff(client, "center_qian")
    number = take_application(clerk, PHONE)["number"]
    accept = task_id(clerk, number, "Task_window_accept")
    r = clerk.post(
        f"/tasks/{accept}/send-back",
        json={
            "missing": ["articles_of_association", "id_card"],
            "comment": "章程须全体股东签字；身份证复印件不清晰",
        },
    )
    assert r.status_code == 200, r.text
    case = applicant(client, PHONE).get(f"/applications/{number}").json()
    (asked,) = case["decisions"]
    assert asked["decision"] == "send_back"
    assert [i["name_zh"] for i in asked["missing_items"]] == ["公司章程", "法定代表人身份证"]
    assert asked["opinion"].startswith("章程须全体股东签字")
    assert [d["kind"] for d in case["documents"]] == ["supplement_notice"]
    assert case["status"] == "returned"
    assert case["overdue"] is False  # the clock stands still while the applicant holds the case

    # the applicant is given ten working days (the service file names no SLA for 补正), and
    # the notice states that date
    with city.unit_of_work() as ctx:
        (waiting,) = workflow.open_tasks(ctx, workflow.case_by_number(ctx, number).id)
        assert waiting.for_applicant
        due = ctx.calendar.deadline(ctx.clock.now(), workflow.PARTY_SLA_DAYS)
        assert waiting.sla_due == due
        assert due - ctx.clock.now() >= timedelta(days=12)  # not the next working day
        zone = ctx.calendar.zone
    owner = applicant(client, PHONE)
    notice = owner.client.get(case["documents"][0]["url"], headers=owner.headers).content
    day = due.astimezone(zone).date()
    assert f"请于{day.year}年{day.month}月{day.day}日前一并提交" in _pdf_text(notice)


@pytest.mark.timeout(900)
def test_demo_leaves_no_orphan_escalations_and_counts_overdue_one_way(
    city: Platform, client: TestClient, clock: ManualClock
) -> None:
    start = date(2026, 3, 2)
    seed_demo(city, DemoOptions(weeks=4, seed=42, cases_per_day=14, start=start))
    clock.advance(timedelta(weeks=4, hours=8))  # the platform's "now": the end of the history
    with city.unit_of_work() as ctx:
        left = workflow.open_escalations_of_ended(ctx)
        assert left == [], [
            (a.element_id, a.status, b.element_id, b.status, c.number) for a, b, c in left
        ]
        escalated = [t for t in workflow.overdue_tasks(ctx) if t.escalates_task_id is not None]
        assert all(t.status in ("ready", "claimed") for t in escalated)
    analyst = staff(client, "center_zhou")
    api_total = analyst.get("/cases", params={"overdue": "true", "limit": 1}).json()["total"]
    dashboard = analyst.client.get("/dashboard").text
    decisions = analyst.get(
        "/datahub/aggregates", params={"from": str(start), "to": "2026-12-31"}
    ).json()
    assert decisions["overdue"] == api_total
    assert f"<b>{api_total}</b>" in dashboard
    assert api_total > 0  # the demo city does leave work overdue
