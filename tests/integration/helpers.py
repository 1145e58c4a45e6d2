"""Small helpers the integration tests share: valid identifiers, tiny real files, task lookups."""

from __future__ import annotations

from typing import Any

from onewindow.catalog import service as catalog
from onewindow.kit.platform import Platform
from onewindow.workflow import service as workflow

COMPANY = "91350100M000100Y43"  # GB 32100 worked example
PERSON = "11010519491231002X"  # GB 11643 worked example
APPROVE = {"decision": "approve"}


def valid_form(service: Any) -> dict[str, Any]:
    """A form that passes the service's checks: every required field with a value of its type
    (the first option of a list)."""
    form: dict[str, Any] = {}
    for f in service.form_fields:
        if not f.get("required"):
            continue
        kind = f.get("type", "string")
        if f.get("options"):
            form[f["name"]] = f["options"][0]
        elif kind == "integer":
            form[f["name"]] = 3
        elif kind == "number":
            form[f["name"]] = 100
        elif kind == "boolean":
            form[f["name"]] = False
        elif kind == "date":
            form[f["name"]] = "2026-04-01"
        else:
            form[f["name"]] = "x"
    return form


def pdf(label: str) -> bytes:
    return b"%PDF-1.4\n" + label.encode() + b"\n%%EOF\n"


def open_tasks(platform: Platform, application_id: int) -> dict[str, int]:
    """Open tasks of an application's case by BPMN element id -> task id."""
    with platform.unit_of_work() as ctx:
        case = workflow.application_case(ctx, application_id)
        return {t.element_id: t.id for t in workflow.open_tasks(ctx, case.id)}


def complete(
    platform: Platform, task_id: int, username: str, data: dict[str, Any] | None = None
) -> workflow.StepOutcome:
    def do(ctx: Any) -> workflow.StepOutcome:
        return workflow.complete_task(
            ctx, task_id, data or APPROVE, actor=catalog.get_staff(ctx, username)
        )

    return platform.run(do)
