"""English pages name a case's steps by the BPMN element's ``name_en`` property; Chinese pages
by the BPMN name — the workbench queue, a case's history and open tasks, the task page, and
the citizen's progress on the portal."""

from __future__ import annotations

from typing import Any

from onewindow.kit.platform import Platform

from .helpers import complete
from .test_portal_pages import _citizen
from .test_web_pages import Codes, codes, open_task, sign_in, submit_hrss

__all__ = ["codes"]


def test_pages_name_the_steps_in_the_pages_language(
    client: Any, city: Platform, codes: Codes
) -> None:
    number = submit_hrss(city)
    complete(city, open_task(city, number, "Task_window_accept"), "center_qian")  # 受理
    review = open_task(city, number, "Task_hrss_review")

    sign_in(client, "hrss_hu")
    queue = client.get("/workbench").text
    assert "<b>参保信息审核</b>" in queue
    case = client.get(f"/workbench/cases/{number}").text
    assert "窗口受理 · 办理完成" in case  # the history
    assert "<b>参保信息审核</b>" in case  # the open task
    assert "<h1>参保信息审核</h1>" in client.get(f"/workbench/tasks/{review}").text

    client.get("/lang/en")
    queue = client.get("/workbench").text
    assert "<b>Insurance record review</b>" in queue
    assert "参保信息审核" not in queue
    case = client.get(f"/workbench/cases/{number}").text
    assert "Window acceptance · completed" in case
    assert "<b>Insurance record review</b>" in case
    assert "窗口受理" not in case
    assert "参保信息审核" not in case
    task = client.get(f"/workbench/tasks/{review}").text
    assert "<h1>Insurance record review</h1>" in task
    assert "Window acceptance · completed" in task  # the history beside the task

    _citizen(client, codes)  # the applicant follows the case on the portal
    client.get("/lang/zh")
    assert "窗口受理" in client.get(f"/portal/cases/{number}").text
    client.get("/lang/en")
    progress = client.get(f"/portal/cases/{number}").text
    assert "Window acceptance" in progress
    assert "窗口受理" not in progress


def test_an_element_without_an_english_name_keeps_its_bpmn_name(city: Platform) -> None:
    from onewindow.catalog import service as catalog
    from onewindow.intake import service as intake
    from onewindow.web import case_views
    from onewindow.workflow import service as workflow

    number = submit_hrss(city)
    with city.unit_of_work() as ctx:
        app = intake.get_application_by_number(ctx, number)
        case = workflow.application_case(ctx, app.id)
        (task,) = workflow.open_tasks(ctx, case.id)
        assert case_views.task_name(ctx, "en", task) == "Window acceptance"
        assert case_views.task_name(ctx, "zh", task) == "窗口受理"
        assert case_views.element_name(ctx, "en", case, "Gateway_x", "某网关") == "某网关"
        assert catalog.element_names_en(ctx, case.process_definition_id)["EndEvent_done"] == (
            "Completed"
        )
