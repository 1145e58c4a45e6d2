"""Two people completing parallel tasks of one case at the same moment lose no update."""

from __future__ import annotations

import threading
from typing import Any

from onewindow.catalog import service as catalog
from onewindow.eventlog import service as eventlog
from onewindow.intake.schemas import ApplicantIn, Upload
from onewindow.kit.platform import Ctx, Platform
from onewindow.workflow import flows
from onewindow.workflow import service as workflow
from tests.conftest import PG_URL

from .helpers import COMPANY, complete, open_tasks, pdf, valid_form

PARALLEL = {
    "Task_tax_register": "tax_xu",
    "Task_hrss_register": "hrss_hu",
    "Task_psb_seal": "psb_luo",
}


def _licence_at_parallel_step(city: Platform) -> int:
    with city.unit_of_work() as ctx:
        service = catalog.get_service(ctx, "SAMR-001")
        uploads = [Upload(m.code, "f.pdf", pdf(m.code)) for m in service.materials if m.required]
        form = valid_form(service)
        form["registered_capital"] = 100
    app_id = city.run(
        lambda ctx: flows.submit_application(
            ctx,
            "SAMR-001",
            ApplicantIn("business", COMPANY, "某公司"),
            channel="online",
            form=form,
            uploads=uploads,
            actor="portal",
        )
    ).application.id
    complete(city, open_tasks(city, app_id)["Task_window_accept"], "center_sun")
    complete(city, open_tasks(city, app_id)["Task_samr_review"], "samr_wang")
    assert set(open_tasks(city, app_id)) == set(PARALLEL)
    return app_id


def _assert_joined(city: Platform, app_id: int) -> None:
    # Only when all three parallel completions were kept does the join release the issue task.
    assert set(open_tasks(city, app_id)) == {"Task_window_issue"}
    with city.unit_of_work() as ctx:
        case_id = workflow.application_case(ctx, app_id).id
        done = [
            t.element_id for t in workflow.tasks_of_case(ctx, case_id) if t.status == "completed"
        ]
        assert sorted(e for e in done if e in PARALLEL) == sorted(PARALLEL)
        completes = [
            e.activity_id
            for e in eventlog.case_history(ctx, case_id)
            if e.lifecycle == "complete" and e.activity_id in PARALLEL
        ]
        assert sorted(completes) == sorted(PARALLEL)


def _race(city: Platform, tasks: dict[str, int]) -> list[BaseException]:
    """Complete every parallel task at once, one thread each, released by a barrier."""
    barrier = threading.Barrier(len(PARALLEL))
    errors: list[BaseException] = []

    def worker(element: str, username: str) -> None:
        try:
            barrier.wait()
            complete(city, tasks[element], username)
        except BaseException as exc:  # surfaced by the caller
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=item) for item in PARALLEL.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def test_simultaneous_completions_of_parallel_tasks(city: Platform) -> None:
    for _ in range(3):
        app_id = _licence_at_parallel_step(city)
        assert _race(city, open_tasks(city, app_id)) == []
        _assert_joined(city, app_id)


def test_version_clash_is_a_clean_retry(city: Platform) -> None:
    """Force the interleaving: B reads the case while A's completion is uncommitted.

    On PostgreSQL B's write waits for A's, then finds the version changed, and the unit of
    work is retried from the start. SQLite serialises whole write transactions, so there B
    simply goes second. Either way nothing is lost.
    """
    app_id = _licence_at_parallel_step(city)
    tasks = open_tasks(city, app_id)
    a_flushed, b_read = threading.Event(), threading.Event()
    attempts = {"b": 0}
    errors: list[BaseException] = []

    def run_a() -> None:
        def fn(ctx: Ctx) -> Any:
            out = workflow.complete_task(
                ctx,
                tasks["Task_tax_register"],
                {"decision": "approve"},
                actor=catalog.get_staff(ctx, "tax_xu"),
            )
            a_flushed.set()
            b_read.wait(2)  # hold the transaction open while B works
            return out

        try:
            city.run(fn)
        except BaseException as exc:
            errors.append(exc)

    def run_b() -> None:
        a_flushed.wait(10)

        def fn(ctx: Ctx) -> Any:
            attempts["b"] += 1
            # B reads the case's engine state while A's completion is still uncommitted.
            # (Held in a variable: the session's identity map keeps only weak references.)
            seen = workflow.application_case(ctx, app_id)
            b_read.set()
            out = workflow.complete_task(
                ctx,
                tasks["Task_hrss_register"],
                {"decision": "approve"},
                actor=catalog.get_staff(ctx, "hrss_hu"),
            )
            assert seen is not None
            return out

        try:
            city.run(fn)
        except BaseException as exc:
            errors.append(exc)

    ta, tb = threading.Thread(target=run_a), threading.Thread(target=run_b)
    ta.start()
    tb.start()
    ta.join(60)
    tb.join(60)
    assert errors == []
    if PG_URL:
        assert attempts["b"] >= 2, "B should have met A's new version and retried"
    complete(city, open_tasks(city, app_id)["Task_psb_seal"], "psb_luo")
    _assert_joined(city, app_id)


def test_complaint_and_application_tasks_completed_at_once(city: Platform) -> None:
    """The one engine under contention: a complaint's 办理 and an application's parallel
    registrations, each by its own department, all at the same instant."""
    from onewindow.feedback import service as feedback
    from onewindow.feedback.schemas import TicketIn

    app_id = _licence_at_parallel_step(city)
    tasks = open_tasks(city, app_id)
    body = TicketIn(
        text="鼓楼区五四路路口的红绿灯坏了好几天，早晚高峰堵车非常严重，请尽快处理",
        channel="hotline",
        contact_phone="13800138000",
        district="鼓楼区",
    )
    number = city.run(
        lambda ctx: (
            feedback.submit_ticket(
                ctx, body, actor=feedback.Actor.of_staff(catalog.get_staff(ctx, "center_qian"))
            ).number
        )
    )
    with city.unit_of_work() as ctx:
        case_id = feedback.get_ticket(ctx, number).case_id
        assert case_id is not None
        (handle,) = workflow.open_tasks(ctx, case_id)
        assert (handle.element_id, handle.department_id) == (
            "Task_handle",
            catalog.get_department(ctx, "PSB").id,
        )
    work = [(tasks[e], user, {"decision": "approve"}) for e, user in PARALLEL.items()]
    work.append((handle.id, "psb_lin", {"decision": "resolve", "reply": "已修复信号灯"}))
    barrier = threading.Barrier(len(work))
    errors: list[BaseException] = []

    def worker(task_id: int, username: str, data: dict[str, Any]) -> None:
        try:
            barrier.wait()
            complete(city, task_id, username, data)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=item) for item in work]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    _assert_joined(city, app_id)
    with city.unit_of_work() as ctx:
        ticket = feedback.get_ticket(ctx, number)
        assert (ticket.status, ticket.reply) == ("pending_closure", "已修复信号灯")
        assert {t.element_id for t in workflow.open_tasks(ctx, case_id)} == {"Task_close"}
