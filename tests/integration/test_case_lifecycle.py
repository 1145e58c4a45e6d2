"""A case's whole life through the service layer, on a real database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from onewindow.catalog import service as catalog
from onewindow.eventlog import service as eventlog
from onewindow.intake import service as intake
from onewindow.intake.models import ApplicationMaterial
from onewindow.intake.schemas import ApplicantIn, Upload
from onewindow.kit.clock import ManualClock
from onewindow.kit.platform import Platform
from onewindow.workflow import flows
from onewindow.workflow import service as workflow

from .helpers import COMPANY, PERSON, complete, open_tasks, pdf, valid_form

PERMIT_FORM = {
    "project_name": "滨江科创中心一期",
    "developer_name": "滨江建设有限公司",
    "project_address": "滨江区江南大道 100 号",
    "floor_area": 12000,
    "building_height": 48,
    "contract_price": 9000,
    "planning_permit_no": "建字第330108202600123号",
    "civil_defense_required": True,
}


def permit_uploads(platform: Platform) -> list[Upload]:
    with platform.unit_of_work() as ctx:
        service = catalog.get_service(ctx, "HOUSING-001")
        return [Upload(m.code, f"{m.code}.pdf", pdf(m.code)) for m in service.materials]


def test_construction_permit_end_to_end_matches_exported_xes(
    city: Platform, clock: ManualClock, tmp_path: Path
) -> None:
    import pm4py

    submitted = city.run(
        lambda ctx: flows.submit_application(
            ctx,
            "HOUSING-001",
            ApplicantIn("business", COMPANY, "滨江建设有限公司"),
            channel="window",
            form=PERMIT_FORM,
            uploads=permit_uploads(city),
            actor="center_qian",
        )
    )
    app_id = submitted.application.id
    expected: list[tuple[str, str, str]] = [("提交申请", "complete", "center_qian")]

    def work(element: str, username: str) -> None:
        clock.advance(timedelta(hours=1))
        task_id = open_tasks(city, app_id)[element]
        with city.unit_of_work() as ctx:
            name = workflow.get_task(ctx, task_id).name
            workflow.claim_task(ctx, task_id, actor=catalog.get_staff(ctx, username))
        clock.advance(timedelta(minutes=30))
        complete(city, task_id, username)
        expected.extend([(name, "start", username), (name, "complete", username)])

    work("Task_window_accept", "center_qian")
    work("Task_housing_material_review", "housing_song")
    # the shared 现场核查 (a call activity), worked by the service's own department
    with city.unit_of_work() as ctx:
        site = workflow.get_task(ctx, open_tasks(city, app_id)["Task_site_inspection"])
        assert site.department_id == catalog.get_department(ctx, "HOUSING").id
    work("Task_site_inspection", "housing_liang")
    parallel = open_tasks(city, app_id)
    assert {
        "Task_housing_drawing_review",
        "Task_fire_design_review",
        "Task_civil_defense_review",
        "Task_quality_safety_register",
    } <= set(parallel)
    with city.unit_of_work() as ctx:
        depts = {
            t.element_id: t.department_id
            for t in workflow.open_tasks(ctx, workflow.application_case(ctx, app_id).id)
        }
        assert depts["Task_fire_design_review"] == catalog.get_department(ctx, "FIRE").id
        assert depts["Task_housing_drawing_review"] == catalog.get_department(ctx, "HOUSING").id
    work("Task_fire_design_review", "fire_deng")
    # the drawings' 会签: two of three reviewers agree, the third voice is withdrawn
    work("Task_housing_drawing_review", "housing_tang")
    work("Task_housing_drawing_review", "housing_han")
    expected.append(("施工图联合审查（会签）", "ate_abort", "system"))
    for element in ("Task_civil_defense_review", "Task_quality_safety_register"):
        if element in open_tasks(city, app_id):
            work(element, "housing_song")
    work("Task_housing_decision", "housing_liang")
    work("Task_window_issue", "center_sun")
    expected.append(("办结", "complete", "system"))

    with city.unit_of_work() as ctx:
        application = intake.get_application(ctx, app_id)
        assert application.status == "approved"
        assert application.closed_at is not None
        assert workflow.open_tasks(ctx, workflow.application_case(ctx, app_id).id) == []
        eventlog.export(ctx, tmp_path / "log.xes", "xes")

    df = pm4py.read_xes(str(tmp_path / "log.xes"))
    got = list(zip(df["concept:name"], df["lifecycle:transition"], df["org:resource"], strict=True))
    assert got == expected
    assert set(df["case:concept:name"]) == {submitted.application.number}
    assert df["time:timestamp"].is_monotonic_increasing


def test_send_back_counts_a_return_and_supplement_resumes(city: Platform) -> None:
    with city.unit_of_work() as ctx:
        service = catalog.get_service(ctx, "SAMR-001")
        uploads = [
            Upload(m.code, f"{m.code}.pdf", pdf(m.code)) for m in service.materials if m.required
        ]
        form = valid_form(service)
        form["registered_capital"] = 100
    sub = city.run(
        lambda ctx: flows.submit_application(
            ctx,
            "SAMR-001",
            ApplicantIn("business", COMPANY, "闽江贸易有限公司"),
            channel="online",
            form=form,
            uploads=uploads,
            actor="portal",
        )
    )
    app_id = sub.application.id
    complete(city, open_tasks(city, app_id)["Task_window_accept"], "center_sun")
    review = open_tasks(city, app_id)["Task_samr_review"]
    city.run(
        lambda ctx: workflow.send_back(
            ctx,
            review,
            ["articles_of_association", "registration_application"],
            "公司章程缺少股东签字；住所证明不清晰",
            actor=catalog.get_staff(ctx, "samr_wang"),
        )
    )
    with city.unit_of_work() as ctx:
        application = intake.get_application(ctx, app_id)
        assert application.status == "returned"
        assert application.returns == 1
        case_id = workflow.application_case(ctx, app_id).id
        (applicant_task,) = workflow.open_tasks(ctx, case_id)
        assert applicant_task.for_applicant

    city.run(
        lambda ctx: flows.supplement(
            ctx,
            sub.application.number,
            [Upload("articles_of_association", "章程.pdf", pdf("signed articles"))],
            actor="applicant",
        )
    )
    assert set(open_tasks(city, app_id)) == {"Task_samr_review"}
    complete(city, open_tasks(city, app_id)["Task_samr_review"], "samr_liu")
    tasks = open_tasks(city, app_id)
    assert set(tasks) == {"Task_tax_register", "Task_hrss_register", "Task_psb_seal"}
    complete(city, tasks["Task_tax_register"], "tax_xu")
    complete(city, tasks["Task_hrss_register"], "hrss_hu")
    complete(city, tasks["Task_psb_seal"], "psb_luo")
    complete(city, open_tasks(city, app_id)["Task_window_issue"], "center_sun")
    with city.unit_of_work() as ctx:
        application = intake.get_application(ctx, app_id)
        assert (application.status, application.returns) == ("approved", 1)
        activities = [e.activity for e in eventlog.history_of_number(ctx, application.number)]
        assert activities.count("营业执照核准") == 4  # start+complete, twice
        assert "补正通知" in activities


def test_reject_closes_case_as_rejected(city: Platform) -> None:
    with city.unit_of_work() as ctx:
        service = catalog.get_service(ctx, "SAMR-001")
        uploads = [Upload(m.code, "f.pdf", pdf(m.code)) for m in service.materials if m.required]
        form = valid_form(service)
        form["registered_capital"] = 10
    sub = city.run(
        lambda ctx: flows.submit_application(
            ctx,
            "SAMR-001",
            ApplicantIn("business", COMPANY, "某公司"),
            channel="window",
            form=form,
            uploads=uploads,
            actor="center_sun",
        )
    )
    complete(city, open_tasks(city, sub.application.id)["Task_window_accept"], "center_sun")
    complete(
        city,
        open_tasks(city, sub.application.id)["Task_samr_review"],
        "samr_wang",
        {
            "decision": "reject",
            "comment": "经营范围涉及前置许可",
            "reason": "经营范围含有须经前置许可的项目，申请人未取得相关许可。",
            "legal_basis": "conditions_not_met",
        },
    )
    with city.unit_of_work() as ctx:
        assert intake.get_application(ctx, sub.application.id).status == "rejected"
        assert workflow.open_tasks(ctx, workflow.application_case(ctx, sub.application.id).id) == []


def _social_card(city: Platform, uploads: list[Upload]) -> int:
    with city.unit_of_work() as ctx:
        service = catalog.get_service(ctx, "HRSS-001")
        form = valid_form(service)
    return city.run(
        lambda ctx: flows.submit_application(
            ctx,
            "HRSS-001",
            ApplicantIn("person", PERSON, "张三"),
            channel="window",
            form=form,
            uploads=uploads,
            actor="center_qian",
        )
    ).application.id


def test_certificate_on_file_is_reused_not_asked_again(city: Platform) -> None:
    with city.unit_of_work() as ctx:
        materials = catalog.get_service(ctx, "HRSS-001").materials
    certificates = [m.code for m in materials if m.certificate and m.required]
    others = [m.code for m in materials if not m.certificate and m.required]
    assert certificates, "the social security card asks for a certificate"
    first = _social_card(city, [Upload(c, f"{c}.pdf", pdf(c)) for c in certificates + others])
    with city.unit_of_work() as ctx:
        applicant = intake.get_application(ctx, first).applicant
        checks = intake.check_completeness(ctx, catalog.get_service(ctx, "HRSS-001"), applicant, ())
        assert {c.code for c in checks if c.state == "on_file"} == set(certificates)
    second = _social_card(city, [Upload(c, f"{c}.pdf", pdf(c + "2")) for c in others])
    with city.unit_of_work() as ctx:
        rows = ctx.session.scalars(
            select(ApplicationMaterial).where(ApplicationMaterial.application_id == second)
        ).all()
        assert {r.material_code for r in rows if r.reused} == set(certificates)
        assert {r.material_code for r in rows if not r.reused} == set(others)
        firsts = ctx.session.scalars(
            select(ApplicationMaterial).where(ApplicationMaterial.application_id == first)
        ).all()
        by_code = {r.material_code: r.blob_sha256 for r in firsts}
        assert all(r.blob_sha256 == by_code[r.material_code] for r in rows if r.reused)


def test_same_bytes_are_stored_once(city: Platform) -> None:
    with city.unit_of_work() as ctx:
        materials = catalog.get_service(ctx, "HRSS-001").materials
    same = pdf("identical scan")
    uploads = [Upload(m.code, f"{m.code}.pdf", same) for m in materials if m.required]
    _social_card(city, uploads)
    files = [p for p in (city.settings.blob_dir).rglob("*") if p.is_file()]
    assert len(files) == 1
    from onewindow.intake.models import Blob

    with city.unit_of_work() as ctx:
        assert ctx.session.scalar(select(func.count()).select_from(Blob)) == 1


def test_deadline_counts_working_days_over_a_holiday(city: Platform, clock: ManualClock) -> None:
    from datetime import date, datetime
    from zoneinfo import ZoneInfo

    # Thursday 30 April 2026; 1-5 May is the Labour Day holiday, Saturday 9 May a make-up day.
    clock.set(datetime(2026, 4, 30, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    with city.unit_of_work() as ctx:
        materials = catalog.get_service(ctx, "HRSS-001").materials
    app_id = _social_card(
        city, [Upload(m.code, "a.pdf", pdf(m.code)) for m in materials if m.required]
    )
    with city.unit_of_work() as ctx:
        application = intake.get_application(ctx, app_id)
        limit = catalog.get_service(ctx, "HRSS-001").time_limit_days
        assert application.deadline == ctx.calendar.add_workdays(clock.now(), limit)
        # Working days after 30 April: 6, 7, 8 May, Sat 9 May (make-up), 11 May ...
        expected = [
            date(2026, 5, 6),
            date(2026, 5, 7),
            date(2026, 5, 8),
            date(2026, 5, 9),
            date(2026, 5, 11),
            date(2026, 5, 12),
            date(2026, 5, 13),
            date(2026, 5, 14),
            date(2026, 5, 15),
            date(2026, 5, 18),
        ]
        assert application.deadline == expected[limit - 1]


def test_running_case_keeps_its_process_version(city: Platform, tmp_path: Path) -> None:
    import shutil

    from .test_case_lifecycle import _social_card as start

    with city.unit_of_work() as ctx:
        materials = catalog.get_service(ctx, "HRSS-001").materials
    uploads = [Upload(m.code, "a.pdf", pdf(m.code)) for m in materials if m.required]
    old_case = start(city, uploads)
    folder = tmp_path / "city"
    from tests.conftest import DEMO_CITY

    shutil.copytree(DEMO_CITY, folder)
    bpmn = next(p for p in (folder / "services").glob("social_security_card.bpmn"))
    bpmn.write_text(
        bpmn.read_text(encoding="utf-8").replace(
            "</bpmn:definitions>", "<!-- v2 -->\n</bpmn:definitions>"
        ),
        encoding="utf-8",
    )
    with city.unit_of_work() as ctx:
        report = catalog.load_catalog(ctx, folder, actor="test")
    assert any(v.endswith("v2") for v in report.new_process_versions)
    new_case = start(city, uploads)
    with city.unit_of_work() as ctx:
        old = intake.get_application(ctx, old_case)
        new = intake.get_application(ctx, new_case)
        assert catalog.get_process(ctx, old.process_definition_id).version == 1
        assert catalog.get_process(ctx, new.process_definition_id).version == 2
    # The old case still runs to its end on version 1.
    for _ in range(10):
        tasks = open_tasks(city, old_case)
        if not tasks:
            break
        with city.unit_of_work() as ctx:
            task = workflow.get_task(ctx, next(iter(tasks.values())))
            dept = next(d.code for d in catalog.list_departments(ctx) if d.id == task.department_id)
            user = next(
                s.username
                for s in catalog.list_staff(ctx, dept)
                if {"clerk", "reviewer"} & set(s.roles)
            )
        complete(city, task.id, user)
    with city.unit_of_work() as ctx:
        assert intake.get_application(ctx, old_case).status == "approved"


def test_boundary_timer_fires_by_the_injected_clock(city: Platform, clock: ManualClock) -> None:
    from onewindow.workflow.tasks import run_worker_pass

    submitted = city.run(
        lambda ctx: flows.submit_application(
            ctx,
            "HOUSING-001",
            ApplicantIn("business", COMPANY, "滨江建设有限公司"),
            channel="window",
            form=PERMIT_FORM,
            uploads=permit_uploads(city),
            actor="center_qian",
        )
    )
    app_id = submitted.application.id
    complete(city, open_tasks(city, app_id)["Task_window_accept"], "center_qian")
    complete(city, open_tasks(city, app_id)["Task_housing_material_review"], "housing_song")
    complete(city, open_tasks(city, app_id)["Task_site_inspection"], "housing_liang")
    assert "Task_fire_escalate" not in open_tasks(city, app_id)
    clock.advance(timedelta(days=4))
    early_fired, early_escalated = run_worker_pass(city)
    assert early_fired == 0
    assert "Task_fire_escalate" not in open_tasks(city, app_id)
    clock.advance(timedelta(days=2))
    fired, escalated = run_worker_pass(city)
    assert fired == 1
    # By now the working-day SLAs of the open reviews have passed too (督办), once each.
    assert early_escalated + escalated >= 1
    tasks = open_tasks(city, app_id)
    assert "Task_fire_escalate" in tasks
    assert "Task_fire_design_review" in tasks  # non-interrupting: the review stays open
    assert run_worker_pass(city) == (0, 0)  # each fires once


def test_sla_queries(city: Platform, clock: ManualClock) -> None:
    with city.unit_of_work() as ctx:
        materials = catalog.get_service(ctx, "HRSS-001").materials
    app_id = _social_card(
        city, [Upload(m.code, "a.pdf", pdf(m.code)) for m in materials if m.required]
    )
    with city.unit_of_work() as ctx:
        (task,) = workflow.open_tasks(ctx, workflow.application_case(ctx, app_id).id)
        assert workflow.overdue_tasks(ctx) == []
        assert [t.id for t in workflow.tasks_nearing_sla(ctx, timedelta(days=3))] == [task.id]
        assert workflow.tasks_nearing_sla(ctx, timedelta(minutes=1)) == []
        limit = catalog.get_service(ctx, "HRSS-001").time_limit_days
    clock.advance(timedelta(days=3 + limit * 2 + 14))
    with city.unit_of_work() as ctx:
        assert [t.id for t in workflow.overdue_tasks(ctx)] == [task.id]
        assert [a.id for a in intake.list_applications(ctx, overdue=True)] == [app_id]


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xes"])
def test_eventlog_export_formats_open_in_polars_or_pm4py(
    city: Platform, tmp_path: Path, fmt: str
) -> None:
    import polars as pl

    with city.unit_of_work() as ctx:
        materials = catalog.get_service(ctx, "HRSS-001").materials
    _social_card(city, [Upload(m.code, "a.pdf", pdf(m.code)) for m in materials if m.required])
    out = tmp_path / f"log.{fmt}"
    with city.unit_of_work() as ctx:
        eventlog.export(ctx, out, fmt)
    if fmt == "csv":
        df = pl.read_csv(out)
    elif fmt == "parquet":
        df = pl.read_parquet(out)
    else:
        import pm4py

        df = pl.from_pandas(pm4py.read_xes(str(out)))
    for key in (
        "case:concept:name",
        "concept:name",
        "time:timestamp",
        "lifecycle:transition",
        "org:resource",
    ):
        assert key in df.columns
    assert df["concept:name"].to_list() == ["提交申请"]
