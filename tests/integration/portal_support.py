"""What the portal tests share: a citizen's cases in each state, driven through the services.

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

from .feedback_support import PHONE, SSC_FORM, open_task, staff
from .helpers import PERSON, pdf

ASKED = ["photo", "card_application"]
NOTE = "照片不清晰；登记表缺少签名"


OTHER_PHONE = "13900139000"
OTHER_PERSON = "110105198506151236"  # another valid citizen ID (GB 11643)


def running_case(
    city: Platform, phone: str = PHONE, person: str = PERSON, name: str = "张伟"
) -> str:
    """A social security card case taken at the window, not yet accepted."""

    def submit(ctx: Ctx) -> str:
        service = catalog.get_service(ctx, "HRSS-001")
        uploads = [Upload(m.code, f"{m.code}.pdf", pdf(m.code)) for m in service.materials]
        return flows.submit_application(
            ctx,
            "HRSS-001",
            ApplicantIn("person", person, name, phone),
            channel="window",
            form={**SSC_FORM, "applicant_name": name, "id_number": person, "mobile": phone},
            uploads=uploads,
            actor="center_qian",
        ).application.number

    return city.run(submit)


def _work(city: Platform, number: str, steps: list[tuple[str, str, dict[str, Any]]]) -> None:
    for element, user, data in steps:
        task_id = open_task(city, number, element)
        city.run(
            lambda ctx, t=task_id, d=data, u=user: workflow.complete_task(
                ctx, t, d, actor=catalog.get_staff(ctx, u)
            )
        )


def returned_case(city: Platform, phone: str = PHONE, person: str = PERSON) -> str:
    """A case the reviewer sent back asking for two of its materials."""
    number = running_case(city, phone, person)
    send_back = {"decision": "send_back", "missing_materials": ASKED, "comment": NOTE}
    _work(
        city,
        number,
        [
            ("Task_window_accept", "center_qian", {"decision": "approve"}),
            ("Task_hrss_review", "hrss_hu", send_back),
        ],
    )
    return number


def closed_case(
    city: Platform, phone: str = PHONE, person: str = PERSON, name: str = "张伟"
) -> str:
    """A case worked to its end: accepted, approved, the card issued."""
    number = running_case(city, phone, person, name)
    _work(
        city,
        number,
        [
            ("Task_window_accept", "center_qian", {"decision": "approve"}),
            ("Task_hrss_review", "hrss_hu", {"decision": "approve"}),
            ("Task_window_issue", "center_qian", {}),
        ],
    )
    return number


def work_ticket(city: Platform, number: str, steps: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Staff steps of a ticket's case (accept, dispatch, handle, close), by element id."""
    with city.unit_of_work() as ctx:
        case_number = str(feedback.ticket_view(ctx, feedback.get_ticket(ctx, number))["case"])
    for element, user, data in steps:
        task_id = open_task(city, case_number, element)
        city.run(
            lambda ctx, t=task_id, u=user, d=data: feedback.complete_task(
                ctx, t, d, actor=staff(ctx, u)
            )
        )
