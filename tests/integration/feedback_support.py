"""What the feedback tests share: a closed case of the demo city, actors, task lookups.

No tests here.
"""

from __future__ import annotations

from typing import Any

from onewindow.catalog import service as catalog
from onewindow.feedback import service as feedback
from onewindow.intake.schemas import ApplicantIn, Upload
from onewindow.kit.platform import Ctx, Platform
from onewindow.workflow import flows
from onewindow.workflow import service as workflow

from .helpers import PERSON, pdf

PHONE = "13800138000"
OTHER_PHONE = "13900139000"
SSC_FORM = {
    "applicant_name": "张伟",
    "id_number": PERSON,
    "mobile": PHONE,
    "bank_name": "中国银行",
}


def closed_case(city: Platform, phone: str = PHONE) -> str:
    """A social security card case taken at the window and worked to its end."""

    def submit(ctx: Ctx) -> Any:
        service = catalog.get_service(ctx, "HRSS-001")
        uploads = [Upload(m.code, f"{m.code}.pdf", pdf(m.code)) for m in service.materials]
        return flows.submit_application(
            ctx,
            "HRSS-001",
            ApplicantIn("person", PERSON, "张伟", phone),
            channel="window",
            form=SSC_FORM,
            uploads=uploads,
            actor="center_qian",
        ).application.id

    app_id = city.run(submit)
    for element, user, data in (
        ("Task_window_accept", "center_qian", {"decision": "approve"}),
        ("Task_hrss_review", "hrss_hu", {"decision": "approve"}),
        ("Task_window_issue", "center_qian", {}),
    ):
        with city.unit_of_work() as ctx:
            case = workflow.application_case(ctx, app_id)
            task = next(t for t in workflow.open_tasks(ctx, case.id) if t.element_id == element)
            workflow.complete_task(ctx, task.id, data, actor=catalog.get_staff(ctx, user))
    with city.unit_of_work() as ctx:
        from onewindow.intake import service as intake

        application = intake.get_application(ctx, app_id)
        assert application.closed_at is not None
        return application.number


def staff(ctx: Ctx, username: str) -> feedback.Actor:
    return feedback.Actor.of_staff(catalog.get_staff(ctx, username))


def open_task(city: Platform, case_number: str, element: str) -> int:
    with city.unit_of_work() as ctx:
        case = workflow.case_by_number(ctx, case_number)
        tasks = {t.element_id: t.id for t in workflow.open_tasks(ctx, case.id)}
        assert element in tasks, f"{element} not open; open: {sorted(tasks)}"
        return tasks[element]


def open_elements(city: Platform, case_number: str) -> set[str]:
    with city.unit_of_work() as ctx:
        case = workflow.case_by_number(ctx, case_number)
        return {t.element_id for t in workflow.open_tasks(ctx, case.id)}


def work(city: Platform, case_number: str, element: str, user: str, data: dict[str, Any]) -> None:
    task_id = open_task(city, case_number, element)
    city.run(lambda ctx: feedback.complete_task(ctx, task_id, data, actor=staff(ctx, user)))
