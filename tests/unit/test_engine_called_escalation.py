"""A 督办 task in a called process ends with the task it oversees, although the calling
process itself has no boundary event (the demo's fire inspection calling 现场核查)."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

from onewindow.workflow.engine import EngineCase, compile_bpmn

FIXTURES = Path(__file__).parent / "fixtures" / "constructs"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_oversight_in_a_called_process_ends_with_the_overseen_task() -> None:
    site_xml = (FIXTURES / "site_check_overseen.bpmn").read_bytes()
    site = compile_bpmn(site_xml)
    process = compile_bpmn(
        (FIXTURES / "calls_site_check.bpmn").read_bytes(), called={"site_check": site_xml}
    )
    called = {"site_check": site}
    case = EngineCase.start(process, {}, T0, called)
    (accept,) = case.ready_user_tasks()
    case.complete(accept.task_uuid, {"area": 120}, T0)
    case = EngineCase.restore(process, case.dump(), called)
    late = T0 + timedelta(days=6)
    assert case.next_timer_due() is not None
    case.fire_due_timers(late)
    case = EngineCase.restore(process, case.dump(), called)
    ready = {t.task_id: t for t in case.ready_user_tasks()}
    assert set(ready) == {"Task_site", "Task_oversee"}
    case.complete(ready["Task_site"].task_uuid, {"site_ok": True}, late)
    # the oversight ended with the inspection (the service cancels its work item) ...
    assert case.ended_escalations == {ready["Task_oversee"].task_uuid}
    # ... and the case moved on to its next step
    case = EngineCase.restore(process, case.dump(), called)
    assert [t.task_id for t in case.ready_user_tasks()] == ["Task_issue"]
