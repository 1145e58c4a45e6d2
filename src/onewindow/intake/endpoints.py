"""Intake routes only; the rules live in the service.

Taking an application and reading it whole are in ``workflow.endpoints``: their answers carry
the case's tasks, which intake does not reach.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Query, Response

from onewindow.catalog import service as catalog
from onewindow.eventlog import service as eventlog
from onewindow.intake import service as intake
from onewindow.intake.rules import missing
from onewindow.intake.schemas import CompletenessOut, EventOut, MaterialCheckOut, Page
from onewindow.kit.errors import NotFound
from onewindow.kit.http import CtxDep
from onewindow.security.authz import require, visible_application
from onewindow.security.schemas import Principal

router = APIRouter(tags=["applications"])


@router.get("/applications/completeness", response_model=CompletenessOut)
def completeness(
    ctx: CtxDep,
    who: Annotated[Principal, require("applications.create")],
    service: Annotated[str, Query(min_length=1, max_length=64)],
    applicant_kind: str | None = None,
    applicant_id_number: str | None = None,
) -> CompletenessOut:
    """一次性告知 before taking an application: every material with its state, ``on_file``
    ticked for what the applicant already has (免提交)."""
    item = catalog.get_service(ctx, service)
    applicant = None
    if applicant_kind and applicant_id_number:
        applicant = intake.find_applicant(ctx, applicant_kind, applicant_id_number)
        if applicant is not None and who.kind == "applicant" and applicant.phone != who.phone:
            applicant = None  # what someone else has on file is not an applicant's business
    checks = intake.check_completeness(ctx, item, applicant, ())
    return CompletenessOut(
        service=item.code,
        applicant_known=applicant is not None,
        complete=not missing(checks),
        materials=[
            MaterialCheckOut(
                code=c.code,
                name_zh=c.name_zh,
                name_en=c.name_en,
                required=c.required,
                state=c.state,
            )
            for c in checks
        ],
    )


@router.get("/applications/{number}/history", response_model=Page[EventOut])
def history(
    number: str,
    ctx: CtxDep,
    who: Annotated[Principal, require("applications.read")],
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[EventOut]:
    """The case's events in the order they happened (the event log's rows for it)."""
    application = visible_application(ctx, who, number)
    events = eventlog.history_of_number(ctx, application.number)
    return Page(
        items=[
            EventOut(
                id=e.id,
                event_type=e.event_type,
                activity=e.activity,
                activity_id=e.activity_id,
                lifecycle=e.lifecycle,
                timestamp=e.timestamp,
                resource=e.resource,
                department=e.department,
                attributes=dict(e.attributes or {}),
            )
            for e in events[offset : offset + limit]
        ],
        total=len(events),
        limit=limit,
        offset=offset,
    )


@router.get(
    "/applications/{number}/materials/{sha256}",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}, "image/jpeg": {}, "image/png": {}}}},
)
def download_material(
    number: str,
    sha256: str,
    ctx: CtxDep,
    who: Annotated[Principal, require("materials.read")],
) -> Response:
    """One material's content, if the caller may see its application (a department's system
    may for the cases its department works on)."""
    application = visible_application(ctx, who, number)
    row = next((m for m in application.materials if m.blob_sha256 == sha256), None)
    blob = intake.get_blob(ctx, sha256) if row is not None else None
    if row is None or blob is None:
        raise NotFound("No such material", message_zh="材料不存在", code="material.unknown")
    return Response(
        intake.material_content(ctx, sha256),
        media_type=blob.content_type,
        headers={
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(row.filename)}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "private, no-store",
        },
    )
