"""Orchestration across intake and the engine: taking an application, and its 补正."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from onewindow.catalog import service as catalog
from onewindow.intake import service as intake
from onewindow.intake.models import Application, MaterialPromise
from onewindow.intake.rules import MaterialCheck
from onewindow.intake.schemas import ApplicantIn, Upload
from onewindow.kit.errors import Conflict
from onewindow.kit.platform import Ctx
from onewindow.workflow import service as workflow


@dataclass
class Submitted:
    application: Application
    materials: list[MaterialCheck]
    outcome: workflow.StepOutcome


def submit_application(
    ctx: Ctx,
    service_code: str,
    applicant: ApplicantIn,
    *,
    channel: str,
    form: dict[str, Any],
    uploads: Sequence[Upload] = (),
    actor: str,
    promised: Collection[str] = (),
) -> Submitted:
    """一窗受理: take the application once and fan the case out through its process.

    ``promised``: materials accepted on the applicant's promise (容缺受理); the case is taken
    and runs, and its approval waits until they are in.
    """
    service = catalog.get_service(ctx, service_code)
    application, checks = intake.create_application(
        ctx,
        service,
        applicant,
        channel=channel,
        form=form,
        uploads=uploads,
        actor=actor,
        promised=promised,
    )
    outcome = workflow.start_case(
        ctx,
        application,
        service,
        actor=actor,
        attributes={
            "reused_materials": sum(c.state == "on_file" for c in checks),
            "uploaded_materials": len(uploads),
        },
    )
    workflow.record_promises(ctx, application, actor=actor)
    return Submitted(application, checks, outcome)


def fulfil_promise(ctx: Ctx, case_number: str, upload: Upload, *, actor: str) -> MaterialPromise:
    """The applicant hands in a material promised at 容缺受理; the promise is settled."""
    application = intake.get_application_by_number(ctx, case_number)
    service = catalog.get_service_by_id(ctx, application.service_item_id)
    promise = intake.fulfil_promise(ctx, application, service, upload, actor=actor)
    workflow.promise_fulfilled(ctx, application, promise, actor=actor)
    return promise


def supplement(
    ctx: Ctx, case_number: str, uploads: Sequence[Upload], *, actor: str
) -> workflow.StepOutcome:
    """补正: the applicant hands in what was asked for and the case goes back to its reviewer."""
    application = intake.get_application_by_number(ctx, case_number)
    service = catalog.get_service_by_id(ctx, application.service_item_id)
    case = workflow.application_case(ctx, application.id)
    if not any(t.for_applicant for t in workflow.open_tasks(ctx, case.id)):
        raise Conflict(
            "Nothing is waiting for the applicant on this case",
            message_zh="该办件当前不需要补正",
            code="case.nothing_to_supplement",
        )
    intake.add_materials(ctx, application, service, uploads, actor=actor)
    names = {m.code: m.name_zh for m in service.materials}
    note = "已补正：" + "、".join(
        dict.fromkeys(names.get(u.material_code, u.material_code) for u in uploads)
    )
    return workflow.complete_applicant_task(
        ctx, application, {"supplemented": len(uploads), "supplement_note": note}
    )
