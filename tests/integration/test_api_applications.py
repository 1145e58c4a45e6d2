"""A case's whole life through HTTP: taken at the window, worked by departments, seen (only) by
its applicant."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from onewindow.kit.clock import ManualClock

from .helpers import PERSON, pdf
from .test_api_support import (
    ACCEPT,
    APPROVE,
    REQUIRED_MATERIALS,
    SERVICE,
    applicant,
    assert_problem,
    material_files,
    staff,
    system,
    take_application,
    task_id,
)

PHONE = "13800000001"
OTHER_PHONE = "13900000002"


def test_case_through_the_api_from_window_to_licence(client: TestClient) -> None:
    clerk = staff(client, "center_qian")
    taken = take_application(clerk, PHONE)
    number = taken["number"]
    assert taken["status"] == "in_progress"
    assert taken["service"] == SERVICE
    states = {m["code"]: m["state"] for m in taken["materials"]}
    assert {states[c] for c in REQUIRED_MATERIALS} == {"provided"}
    assert states["property_certificate"] == "optional"
    (first,) = taken["tasks"]
    assert (first["element_id"], first["department"]) == ("Task_window_accept", "CENTER")

    r = clerk.post(f"/tasks/{first['id']}/complete", json={"data": ACCEPT})
    assert r.status_code == 200, r.text
    assert [t["element_id"] for t in r.json()["created"]] == ["Task_samr_review"]

    reviewer = staff(client, "samr_wang")
    review = task_id(reviewer, number, "Task_samr_review")
    detail = reviewer.get(f"/tasks/{review}").json()
    assert detail["case"]["number"] == number
    assert {f["id"] for f in detail["form_fields"]} >= {"decision"}
    assert {m["code"] for m in detail["materials"]} == set(REQUIRED_MATERIALS)
    scan = next(m for m in detail["materials"] if m["code"] == "id_card")
    r = reviewer.get(f"/applications/{number}/materials/{scan['sha256']}")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/pdf"
    assert r.content == pdf("id_card")

    assert reviewer.post(f"/tasks/{review}/claim").json()["claimed_by"] == "samr_wang"
    step = reviewer.post(f"/tasks/{review}/complete", json={"data": APPROVE}).json()
    parallel = {t["element_id"]: t for t in step["created"]}
    assert set(parallel) == {"Task_tax_register", "Task_hrss_register", "Task_psb_seal"}

    tax = staff(client, "tax_xu")
    # Another department's task is not there at all (404, not 403).
    psb_task = parallel["Task_psb_seal"]["id"]
    assert_problem(tax.get(f"/tasks/{psb_task}"), 404, "task.unknown")
    assert_problem(tax.post(f"/tasks/{psb_task}/complete", json={"data": {}}), 404, "task.unknown")
    assert tax.post(f"/tasks/{parallel['Task_tax_register']['id']}/complete").status_code == 200
    hrss = staff(client, "hrss_hu")
    assert hrss.post(f"/tasks/{parallel['Task_hrss_register']['id']}/complete").status_code == 200
    psb = staff(client, "psb_luo")
    step = psb.post(f"/tasks/{psb_task}/complete", json={"data": {}}).json()
    (issue,) = step["created"]
    assert issue["element_id"] == "Task_window_issue"

    done = clerk.post(f"/tasks/{issue['id']}/complete", json={"data": {}})
    assert done.json()["finished"] is True
    assert (done.json()["outcome"], done.json()["case_status"]) == ("approved", "approved")

    owner = applicant(client, PHONE)
    mine = owner.get("/applications").json()
    assert (mine["total"], mine["items"][0]["number"]) == (1, number)
    case = owner.get(f"/applications/{number}").json()
    assert case["status"] == "approved"
    assert case["open_tasks"] == []
    activities = [(e["activity"], e["lifecycle"]) for e in case["timeline"]]
    assert activities[0] == ("提交申请", "complete")
    assert activities[-1] == ("办结", "complete")
    history = owner.get(f"/applications/{number}/history").json()
    assert history["total"] == len(case["timeline"])
    assert owner.get(f"/applications/{number}/materials/{scan['sha256']}").status_code == 200

    stranger = applicant(client, OTHER_PHONE)
    assert stranger.get("/applications").json()["total"] == 0
    assert_problem(stranger.get(f"/applications/{number}"), 404, "application.unknown")
    assert_problem(stranger.get(f"/applications/{number}/history"), 404, "application.unknown")
    assert_problem(
        stranger.get(f"/applications/{number}/materials/{scan['sha256']}"),
        404,
        "application.unknown",
    )


def test_reviewers_see_only_their_departments_cases(client: TestClient) -> None:
    clerk = staff(client, "center_qian")
    number = take_application(clerk, PHONE)["number"]
    accept = task_id(clerk, number, "Task_window_accept")
    assert clerk.post(f"/tasks/{accept}/complete", json={"data": ACCEPT}).status_code == 200

    samr, fire = staff(client, "samr_wang"), staff(client, "fire_deng")
    assert samr.get("/applications/" + number).status_code == 200
    assert samr.get("/cases", params={"number": number}).json()["total"] == 1
    assert fire.get("/cases").json()["total"] == 0
    assert fire.get("/applications").json()["total"] == 0
    assert_problem(fire.get(f"/applications/{number}"), 404, "application.unknown")
    review = task_id(samr, number, "Task_samr_review")
    assert_problem(fire.get(f"/tasks/{review}"), 404, "task.unknown")
    assert_problem(fire.post(f"/tasks/{review}/claim"), 404, "task.unknown")

    # Clerks, analysts and auditors see every case; filters narrow it down.
    analyst = staff(client, "center_li")
    assert analyst.get("/cases", params={"status": "in_progress"}).json()["total"] == 1
    assert analyst.get("/cases", params={"status": "approved"}).json()["total"] == 0
    assert clerk.get("/applications", params={"service": "HRSS-001"}).json()["total"] == 0
    assert clerk.get("/applications", params={"service": SERVICE}).json()["total"] == 1
    by_company = analyst.get("/cases", params={"applicant_id_number": "91350100m000100y43"})
    assert by_company.json()["total"] == 1


def test_queue_flags_overdue_and_nearing_sla(client: TestClient, clock: ManualClock) -> None:
    number = take_application(staff(client, "center_qian"), PHONE)["number"]
    window = system(client, "CENTER")  # a token outlives the clerk's 12-hour session

    def flags() -> tuple[bool, bool]:
        (task,) = [
            t for t in window.get("/tasks/queue").json()["items"] if t["case_number"] == number
        ]
        return task["overdue"], task["nearing_sla"]

    assert flags() == (False, False)  # due at the end of Tuesday
    clock.advance(timedelta(hours=20))  # Tuesday 05:00
    assert flags() == (False, True)
    clock.advance(timedelta(days=1))
    assert flags() == (True, False)
    assert window.get("/applications", params={"overdue": True}).json()["total"] == 0
    clock.advance(timedelta(days=7))
    assert window.get("/cases", params={"overdue": True}).json()["total"] == 1
    assert window.get("/applications", params={"overdue": True}).json()["items"][0]["overdue"]


def test_department_system_works_its_own_tasks(client: TestClient) -> None:
    clerk = staff(client, "center_qian")
    number = take_application(clerk, PHONE)["number"]
    accept = task_id(clerk, number, "Task_window_accept")
    clerk.post(f"/tasks/{accept}/complete", json={"data": ACCEPT})

    admin = staff(client, "center_zhou")
    samr_system, tax_system = (
        system(client, "SAMR", admin=admin),
        system(client, "TAX", admin=admin),
    )
    review = task_id(samr_system, number, "Task_samr_review")
    assert_problem(tax_system.get(f"/tasks/{review}"), 404, "task.unknown")
    assert_problem(tax_system.get(f"/applications/{number}"), 404, "application.unknown")
    detail = samr_system.get(f"/tasks/{review}").json()
    sha = detail["materials"][0]["sha256"]
    assert samr_system.get(f"/applications/{number}/materials/{sha}").status_code == 200
    assert_problem(
        tax_system.get(f"/applications/{number}/materials/{sha}"), 404, "application.unknown"
    )
    step = samr_system.post(f"/tasks/{review}/complete", json={"data": APPROVE}).json()
    assert step["task"]["completed_by"] == "system:samr-system"
    # Now TAX has a task of the case, so its system sees the case and its shared materials.
    assert tax_system.get(f"/applications/{number}/materials/{sha}").status_code == 200


def test_send_back_and_supplement_over_http(client: TestClient) -> None:
    clerk = staff(client, "center_qian")
    number = take_application(clerk, PHONE)["number"]
    clerk.post(
        f"/tasks/{task_id(clerk, number, 'Task_window_accept')}/complete", json={"data": ACCEPT}
    )
    reviewer = staff(client, "samr_wang")
    review = task_id(reviewer, number, "Task_samr_review")
    assert_problem(
        reviewer.post(f"/tasks/{review}/send-back", json={"missing": [" "]}),
        422,
        "task.send_back_empty",
    )
    r = reviewer.post(
        f"/tasks/{review}/send-back",
        json={"missing": ["articles_of_association"], "comment": "公司章程缺少股东签字，请补签"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["case_status"] == "returned"

    owner = applicant(client, PHONE)
    case = owner.get(f"/applications/{number}").json()
    assert (case["status"], case["returns"]) == ("returned", 1)
    assert [t["for_applicant"] for t in case["open_tasks"]] == [True]
    assert_problem(
        owner.post(f"/applications/{number}/materials", data={"x": "1"}),
        422,
        "application.no_materials",
    )
    r = owner.post(
        f"/applications/{number}/materials",
        files=material_files(("articles_of_association",), label="signed"),
    )
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "in_progress"
    assert [t["element_id"] for t in r.json()["open_tasks"]] == ["Task_samr_review"]
    assert sum(m["code"] == "articles_of_association" for m in r.json()["materials"]) == 2
    assert_problem(
        owner.post(f"/applications/{number}/materials", files=material_files(("id_card",))),
        409,
        "case.nothing_to_supplement",
    )


def test_applicant_applies_online_with_own_phone_only(client: TestClient) -> None:
    owner = applicant(client, PHONE)
    fields: dict[str, Any] = {
        "service": SERVICE,
        "applicant_kind": "business",
        "applicant_id_number": "91350100M000100Y43",
        "applicant_name": "闽江贸易有限公司",
        "form": '{"company_name": "x", "company_type": "个人独资企业", "registered_capital": 1, '
        '"legal_representative": "x", "business_scope": "软件开发", "registered_address": "x"}',
    }
    r = owner.post("/applications", data=fields, files=material_files())
    assert r.status_code == 201, r.text
    number = r.json()["number"]
    case = owner.get(f"/applications/{number}").json()
    assert case["channel"] == "online"

    assert_problem(
        owner.post("/applications", data={**fields, "channel": "window"}, files=material_files()),
        403,
        "application.channel_not_allowed",
    )
    assert_problem(
        owner.post(
            "/applications", data={**fields, "applicant_phone": OTHER_PHONE}, files=material_files()
        ),
        403,
        "application.phone_not_verified",
    )
    # Someone else may not apply as this company and so take its cases onto their phone.
    other = applicant(client, OTHER_PHONE)
    assert_problem(
        other.post("/applications", data=fields, files=material_files()),
        403,
        "application.applicant_not_yours",
    )
    assert other.get("/applications").json()["total"] == 0


def test_completeness_pre_check_ticks_what_is_on_file(client: TestClient) -> None:
    clerk = staff(client, "center_qian")
    params = {"service": "HRSS-001", "applicant_kind": "person", "applicant_id_number": PERSON}
    before = clerk.get("/applications/completeness", params=params).json()
    assert before["applicant_known"] is False
    assert {m["state"] for m in before["materials"]} == {"missing"}
    r = clerk.post(
        "/applications",
        data={
            "service": "HRSS-001",
            "applicant_kind": "person",
            "applicant_id_number": PERSON,
            "applicant_name": "张三",
            "applicant_phone": PHONE,
            "form": '{"applicant_name": "张三", "id_number": "x", "mobile": "x", "bank_name": "x"}',
        },
        files=material_files(("id_card", "card_application", "photo")),
    )
    assert r.status_code == 201, r.text
    after = clerk.get("/applications/completeness", params=params).json()
    states = {m["code"]: m["state"] for m in after["materials"]}
    assert states == {"id_card": "on_file", "card_application": "missing", "photo": "missing"}
    assert after["complete"] is False
    # An applicant does not learn what someone else has on file.
    nosy = applicant(client, OTHER_PHONE)
    seen = nosy.get("/applications/completeness", params=params).json()
    assert seen["applicant_known"] is False
    assert_problem(
        clerk.get("/applications/completeness", params={"service": "NOPE-1"}),
        404,
        "service.unknown",
    )


def test_openapi_describes_the_multipart_and_paged_routes(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    take = spec["paths"]["/api/v1/applications"]["post"]["requestBody"]["content"]
    assert "multipart/form-data" in take
    listed = spec["paths"]["/api/v1/applications"]["get"]
    limit = next(p for p in listed["parameters"] if p["name"] == "limit")
    assert (limit["schema"]["default"], limit["schema"]["maximum"]) == (50, 200)
