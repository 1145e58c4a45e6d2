"""Small helpers the integration tests share: valid identifiers, tiny real files, task lookups."""

from __future__ import annotations

from typing import Any

from onewindow.catalog import service as catalog
from onewindow.kit.platform import Platform
from onewindow.workflow import service as workflow

COMPANY = "91350100M000100Y43"  # GB 32100 worked example
PERSON = "11010519491231002X"  # GB 11643 worked example
APPROVE = {"decision": "approve", "materials_complete": True}


def pdf(label: str) -> bytes:
    return b"%PDF-1.4\n" + label.encode() + b"\n%%EOF\n"


def open_tasks(platform: Platform, application_id: int) -> dict[str, int]:
    """Open tasks of a case by BPMN element id -> task id."""
    with platform.unit_of_work() as ctx:
        return {t.element_id: t.id for t in workflow.open_tasks(ctx, application_id)}


def complete(
    platform: Platform, task_id: int, username: str, data: dict[str, Any] | None = None
) -> workflow.StepOutcome:
    def do(ctx: Any) -> workflow.StepOutcome:
        return workflow.complete_task(
            ctx, task_id, data or APPROVE, actor=catalog.get_staff(ctx, username)
        )

    return platform.run(do)
