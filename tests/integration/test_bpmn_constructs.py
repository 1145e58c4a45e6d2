"""The constructs of issue 13 through the whole platform, on the demo city's own services:
the construction permit's 会签 of three drawing reviewers, the 现场核查 both the fire
inspection and the construction permit call, and the residence permit waiting for the PSB
system's background check (a message through the API, or the timer when it is late).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from onewindow.catalog import service as catalog
from onewindow.eventlog.models import Event
from onewindow.intake.schemas import ApplicantIn, Upload
from onewindow.kit.clock import ManualClock
from onewindow.kit.platform import Platform
from onewindow.workflow import flows
from onewindow.workflow import service as workflow
from onewindow.workflow.engine import ProcessInvalid
from onewindow.workflow.models import CaseMessage
from onewindow.workflow.tasks import run_worker_pass

from .helpers import COMPANY, PERSON, complete, open_tasks, pdf, valid_form
from .test_api_support import assert_problem, staff, system

DEMO = Path(__file__).parents[2] / "src" / "onewindow" / "demo" / "city"
PERMIT_FORM = {
    "project_name": "滨江科创中心一期",
    "developer_name": "滨江建设有限公司",
    "project_address": "滨江区江南大道 100 号",
    "floor_area": 12000,
    "building_height": 48,
    "contract_price": 9000,
    "planning_permit_no": "建字第330108202600123号",
    "civil_defense_required": False,
}
REJECT_VOTE = {
    "decision": "reject",
    "reason": "消防车道宽度不足 4 米，不符合强制性条文",
    "legal_basis": "conditions_not_met",
}
CHECK = "background_check_done"


def _submit(city: Platform, code: str, kind: str, id_number: str, name: str, **form: Any) -> int:
    with city.unit_of_work() as ctx:
        service = catalog.get_service(ctx, code)
        uploads = [Upload(m.code, f"{m.code}.pdf", pdf(m.code)) for m in service.materials]
        filled = {**valid_form(service), **form}
    submitted = city.run(
        lambda ctx: flows.submit_application(
            ctx,
            code,
            ApplicantIn(kind, id_number, name),
            channel="window",
            form=filled,
            uploads=uploads,
            actor="center_qian",
        )
    )
    return submitted.application.id


def _permit_at_joint_review(city: Platform) -> int:
    app_id = _submit(city, "HOUSING-001", "business", COMPANY, "滨江建设有限公司", **PERMIT_FORM)
    complete(city, open_tasks(city, app_id)["Task_window_accept"], "center_qian")
    complete(city, open_tasks(city, app_id)["Task_housing_material_review"], "housing_song")
    complete(city, open_tasks(city, app_id)["Task_site_inspection"], "housing_liang")
    return app_id


def _instances(city: Platform, app_id: int) -> list[Any]:
    with city.unit_of_work() as ctx:
        case = workflow.application_case(ctx, app_id)
        tasks = workflow.tasks_of_case(ctx, case.id)
        return [t for t in tasks if t.element_id == "Task_housing_drawing_review"]


def _number(city: Platform, app_id: int) -> str:
    with city.unit_of_work() as ctx:
        return workflow.application_case(ctx, app_id).number


# --- 会签 ----------------------------------------------------------------------------------


def test_joint_review_two_of_three_and_the_third_voice_is_withdrawn(
    client: TestClient, city: Platform
) -> None:
    app_id = _permit_at_joint_review(city)
    number = _number(city, app_id)
    tang, han = staff(client, "housing_tang"), staff(client, "housing_han")
    queue = [
        t
        for t in tang.get("/tasks/queue", params={"limit": 200}).json()["items"]
        if t["case_number"] == number and t["element_id"] == "Task_housing_drawing_review"
    ]
    assert sorted(t["instance_no"] for t in queue) == [1, 2, 3]
    first, second, third = sorted(queue, key=lambda t: t["instance_no"])

    r = tang.post(f"/tasks/{first['id']}/complete", json={"data": {"decision": "approve"}})
    assert r.status_code == 200, r.text
    # one person, one voice: tang may not take a second instance of the same round
    assert_problem(tang.post(f"/tasks/{second['id']}/claim"), 409, "task.one_voice")
    r = han.post(f"/tasks/{second['id']}/complete", json={"data": {"decision": "approve"}})
    assert r.status_code == 200, r.text

    withdrawn = {t.id: t for t in _instances(city, app_id)}[third["id"]]
    assert (withdrawn.status, withdrawn.cancel_reason) == ("cancelled", "flow_moved_on")
    with city.unit_of_work() as ctx:
        case = workflow.application_case(ctx, app_id)
        votes = [d.decision for d in workflow.decisions_of_case(ctx, case.id)]
    assert votes.count("vote_approve") == 2
    assert "Task_fire_design_review" in open_tasks(city, app_id)  # the other reviews go on


def test_one_voice_against_does_not_refuse_the_permit(city: Platform) -> None:
    app_id = _permit_at_joint_review(city)
    first, second, third = sorted(_instances(city, app_id), key=lambda t: t.instance_no or 0)
    with pytest.raises(Exception, match="reason"):
        complete(city, first.id, "housing_tang", {"decision": "reject"})
    complete(city, first.id, "housing_tang", REJECT_VOTE)
    complete(city, second.id, "housing_han", {"decision": "approve"})
    complete(city, third.id, "housing_song", {"decision": "approve"})
    for element, who in (
        ("Task_fire_design_review", "fire_deng"),
        ("Task_quality_safety_register", "housing_song"),
        ("Task_housing_decision", "housing_liang"),
        ("Task_window_issue", "center_sun"),
    ):
        complete(city, open_tasks(city, app_id)[element], who)
    with city.unit_of_work() as ctx:
        case = workflow.application_case(ctx, app_id)
        assert case.outcome == "approved"
        kinds = [d.decision for d in workflow.decisions_of_case(ctx, case.id)]
    assert kinds.count("vote_reject") == 1
    assert kinds.count("vote_approve") == 2


# --- call activities ----------------------------------------------------------------------


def test_shared_site_inspection_new_version_changes_only_new_cases(city: Platform) -> None:
    fire_before = _submit(city, "FIRE-001", "business", COMPANY, "闽江餐饮有限公司")
    v2 = (
        (DEMO / "processes" / "site_inspection.bpmn")
        .read_bytes()
        .replace(
            b'id="Task_site_inspection" name="' + "现场核查".encode(),
            b'id="Task_site_inspection" name="' + "现场核查（新版）".encode(),
        )
    )
    stranding = v2.replace(
        '<bpmn:lane id="Lane_site" name="现场核查">'.encode(),
        '<bpmn:lane id="Lane_site" name="外勤组">'.encode(),
    )
    assert stranding != v2
    with city.unit_of_work() as ctx, pytest.raises(ProcessInvalid, match="FIRE-001"):
        catalog.register_process(ctx, stranding, actor="test")  # its callers map no such lane
    with city.unit_of_work() as ctx:
        first = catalog.process_versions(ctx, "site_inspection")[-1]
        second = catalog.register_process(ctx, v2, actor="test")
        assert (first.version, second.version) == (1, 2)
        first_id, second_id = first.id, second.id
    permit_after = _permit_at_joint_review(city)  # its site inspection already ran on v2
    complete(city, open_tasks(city, fire_before)["Task_window_accept"], "center_qian")
    complete(city, open_tasks(city, fire_before)["Task_fire_material_review"], "fire_deng")

    with city.unit_of_work() as ctx:
        old = workflow.application_case(ctx, fire_before)
        new = workflow.application_case(ctx, permit_after)
        assert old.called_versions == {"site_inspection": first_id}
        assert new.called_versions == {"site_inspection": second_id}
        old_site = next(t for t in workflow.open_tasks(ctx, old.id))
        new_site = next(
            t for t in workflow.tasks_of_case(ctx, new.id) if t.element_id == "Task_site_inspection"
        )
        assert (old_site.element_id, old_site.name) == ("Task_site_inspection", "现场核查")
        assert new_site.name == "现场核查（新版）"
        assert old_site.department_id == catalog.get_department(ctx, "FIRE").id
        assert new_site.department_id == catalog.get_department(ctx, "HOUSING").id
    complete(city, old_site.id, "fire_cao")
    assert list(open_tasks(city, fire_before)) == ["Task_window_issue"]


def test_a_call_to_a_process_not_in_the_catalogue_is_refused_and_nothing_stored(
    city: Platform,
) -> None:
    xml = (DEMO / "services" / "fire_inspection.bpmn").read_bytes()
    xml = xml.replace(b'id="fire_inspection"', b'id="fire_inspection_v9"')
    xml = xml.replace(b'calledElement="site_inspection"', b'calledElement="no_such_check"')
    with city.unit_of_work() as ctx, pytest.raises(ProcessInvalid) as info:
        catalog.register_process(ctx, xml, actor="test")
    problems = info.value.details["problems"]
    assert [p["element_id"] for p in problems] == ["Call_site_inspection"]
    assert "no_such_check" in problems[0]["message"]
    with city.unit_of_work() as ctx:
        assert list(catalog.process_versions(ctx, "fire_inspection_v9")) == []


# --- messages and the event-based gateway ------------------------------------------------------


def _residence_at_check(city: Platform, id_number: str = PERSON) -> int:
    app_id = _submit(city, "PSB-001", "person", id_number, "林小雨", residence_basis="study")
    complete(city, open_tasks(city, app_id)["Task_window_accept"], "center_qian")
    return app_id


def _events(city: Platform, kind: str) -> int:
    with city.unit_of_work() as ctx:
        return int(
            ctx.session.scalar(
                select(func.count()).select_from(Event).where(Event.event_type == kind)
            )
            or 0
        )


def test_messages_through_the_api_correlated_duplicate_and_kept(
    client: TestClient, city: Platform
) -> None:
    waiting = _residence_at_check(city)
    assert open_tasks(city, waiting) == {}  # nothing for staff: it waits for the PSB system
    later = _submit(city, "PSB-001", "person", PERSON, "林小雨", residence_basis="study")
    psb = system(client, "PSB", ["messages.send", "messages.read"])
    number, later_number = _number(city, waiting), _number(city, later)

    body = {
        "message_id": "bg-1",
        "name": CHECK,
        "correlation_key": number,
        "payload": {"check_result": "clear"},
    }
    r = psb.post("/messages", json=body)
    assert r.status_code == 201, r.text
    assert (r.json()["status"], r.json()["duplicate"]) == ("delivered", False)
    assert list(open_tasks(city, waiting)) == ["Task_psb_review"]
    with city.unit_of_work() as ctx:
        engine_data = workflow._restore(ctx, workflow.application_case(ctx, waiting)).data
    assert engine_data["check_result"] == "clear"
    received = _events(city, "message_received")

    # the same message again: answered, nothing changes
    again = psb.post("/messages", json={**body, "payload": {"check_result": "flagged"}})
    assert again.status_code == 200, again.text
    assert again.json()["duplicate"] is True
    assert again.json()["payload"] == {"check_result": "clear"}
    assert _events(city, "message_received") == received

    # a case not waiting yet: kept, listed, and taken when the case comes to wait for it
    early = psb.post(
        "/messages", json={**body, "message_id": "bg-2", "correlation_key": later_number}
    )
    assert early.status_code == 201, early.text
    assert early.json()["status"] == "waiting"
    listed = psb.get("/messages", params={"status": "unmatched"}).json()
    assert [m["message_id"] for m in listed["items"]] == ["bg-2"]
    complete(city, open_tasks(city, later)["Task_window_accept"], "center_qian")
    assert list(open_tasks(city, later)) == ["Task_psb_review"]
    assert psb.get("/messages", params={"status": "unmatched"}).json()["total"] == 0

    # bad input: a case that does not exist, a payload name that is no variable
    with city.unit_of_work() as ctx:
        before = ctx.session.scalar(select(func.count()).select_from(CaseMessage))
    missing = psb.post(
        "/messages", json={**body, "message_id": "bg-3", "correlation_key": "NOPE-1"}
    )
    assert_problem(missing, 404, "message.case_unknown")
    bad = psb.post("/messages", json={**body, "message_id": "bg-4", "payload": {"check result": 1}})
    assert bad.status_code == 422, bad.text
    with city.unit_of_work() as ctx:
        assert ctx.session.scalar(select(func.count()).select_from(CaseMessage)) == before
    # a clerk's session may not post messages for a department system
    clerk = staff(client, "center_qian")
    assert clerk.post("/messages", json={**body, "message_id": "bg-5"}).status_code in (403, 404)


def test_the_timer_wins_when_the_check_is_late(
    client: TestClient, city: Platform, clock: ManualClock
) -> None:
    app_id = _residence_at_check(city)
    clock.advance(timedelta(days=2))
    run_worker_pass(city)
    assert open_tasks(city, app_id) == {}
    clock.advance(timedelta(days=1, hours=1))
    run_worker_pass(city)
    assert list(open_tasks(city, app_id)) == ["Task_psb_manual_check"]
    complete(
        city,
        open_tasks(city, app_id)["Task_psb_manual_check"],
        "psb_luo",
        {"check_result": "clear"},
    )
    assert list(open_tasks(city, app_id)) == ["Task_psb_review"]
    # the PSB system's answer comes too late: kept and reported, the case goes on as it was
    psb = system(client, "PSB", ["messages.send", "messages.read"])
    r = psb.post(
        "/messages",
        json={
            "message_id": "late-1",
            "name": CHECK,
            "correlation_key": _number(city, app_id),
            "payload": {"check_result": "clear"},
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "waiting"
    assert list(open_tasks(city, app_id)) == ["Task_psb_review"]
