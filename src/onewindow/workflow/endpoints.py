"""Case and task routes only; the rules live in the services and flows.

Taking an application, reading one, and 补正 live here rather than in intake because their
answers include the case's tasks, which intake may not reach (see the import contracts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from onewindow.catalog import service as catalog
from onewindow.catalog.models import ServiceItem
from onewindow.datahub import service as datahub
from onewindow.datahub.schemas import ApplicationPrefillOut
from onewindow.documents import DocumentKind
from onewindow.feedback import service as feedback
from onewindow.intake import service as intake
from onewindow.intake.models import Application
from onewindow.intake.schemas import (
    ApplicantIn,
    ApplicantOut,
    MaterialCheckOut,
    MaterialOut,
    Page,
    Upload,
)
from onewindow.kit.errors import NotFound, PermissionDenied, ValidationFailed
from onewindow.kit.http import CtxDep
from onewindow.kit.platform import Ctx
from onewindow.kit.text import parse_json_object
from onewindow.security import rights
from onewindow.security import service as security
from onewindow.security.authz import public, require, staff_of, visible_application
from onewindow.security.schemas import Principal
from onewindow.workflow import documents, flows
from onewindow.workflow import service as workflow
from onewindow.workflow.models import Case, CaseMessage, Task
from onewindow.workflow.schemas import (
    ApplicationOut,
    ApplicationSummaryOut,
    CompleteIn,
    DecisionOut,
    DocumentOut,
    FormFieldOut,
    MessageIn,
    MessageOut,
    SendBackIn,
    StepOut,
    SubmittedOut,
    TaskDetailOut,
    TaskOut,
    TimelineEntryOut,
    VerificationOut,
)

router = APIRouter()

MATERIAL_FIELD = "material:"
NEARING_SLA = timedelta(hours=24)
# Roles that see every case; everyone else on staff sees the cases their department works on.
SEE_ALL = frozenset({"clerk", "analyst", "auditor", "admin"})
_PAGE_LIMIT = Query(ge=1, le=200)
_PAGE_OFFSET = Query(ge=0)

Limit = Annotated[int, _PAGE_LIMIT]
Offset = Annotated[int, _PAGE_OFFSET]


# --- uploads --------------------------------------------------------------------------------


async def read_uploads(request: Request) -> list[Upload]:
    """Every ``material:<code>`` file of a multipart request.

    At most one byte over the limit is read, so an oversized file is refused (413) without
    being held in memory whole.
    """
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return []
    limit: int = request.app.state.platform.settings.max_upload_bytes
    form = await request.form()
    uploads: list[Upload] = []
    for key, value in form.multi_items():
        if not isinstance(value, UploadFile):
            if key.startswith(MATERIAL_FIELD):
                raise ValidationFailed(
                    f"{key} must be a file",
                    message_zh=f"{key} 必须是文件",
                    code="material.not_a_file",
                )
            continue
        code = key[len(MATERIAL_FIELD) :] if key.startswith(MATERIAL_FIELD) else ""
        if not code:
            raise ValidationFailed(
                f"Files must be sent as material:<code>, not {key!r}",
                message_zh=f"文件字段须命名为 material:<材料编码>（收到 {key}）",
                code="material.bad_field",
            )
        uploads.append(Upload(code, value.filename or code, await value.read(limit + 1)))
    return uploads


UploadsDep = Annotated[list[Upload], Depends(read_uploads)]


# --- row scoping ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RowScope:
    """Which applications a caller may list; mirrors ``authz.can_see_application``."""

    applicant_phone: str | None = None
    department_id: int | None = None
    nothing: bool = False


def row_scope(principal: Principal) -> RowScope:
    if principal.kind == "applicant":
        return RowScope(applicant_phone=principal.phone or "", nothing=not principal.phone)
    if principal.roles & SEE_ALL:
        return RowScope()
    if principal.department_id is None:
        return RowScope(nothing=True)
    return RowScope(department_id=principal.department_id)


def _page(
    ctx: Ctx,
    scope: RowScope,
    *,
    limit: int,
    offset: int,
    number: str | None = None,
    applicant_id_number: str | None = None,
    status: str | None = None,
    service: str | None = None,
    overdue: bool = False,
    roles: frozenset[str],
) -> Page[ApplicationSummaryOut]:
    if scope.nothing:
        return Page(items=[], total=0, limit=limit, offset=offset)
    rows, total = workflow.find_cases(
        ctx,
        applicant_phone=scope.applicant_phone,
        department_id=scope.department_id,
        number=number,
        applicant_id_number=applicant_id_number,
        status=status,
        service_code=service,
        overdue=overdue,
        limit=limit,
        offset=offset,
    )
    services = {s.id: s for s in catalog.list_services(ctx)}
    items = [_summary(ctx, a, _service_of(ctx, services, a), roles) for a in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


# --- shaping answers ------------------------------------------------------------------------


def _service_of(
    ctx: Ctx, services: dict[int, ServiceItem], application: Application
) -> ServiceItem:
    return services.get(application.service_item_id) or catalog.get_service_by_id(
        ctx, application.service_item_id
    )


def _summary(
    ctx: Ctx, application: Application, service: ServiceItem, roles: frozenset[str]
) -> ApplicationSummaryOut:
    applicant = application.applicant
    return ApplicationSummaryOut(
        number=application.number,
        service=service.code,
        service_name_zh=service.name_zh,
        service_name_en=service.name_en,
        status=application.status,
        channel=application.channel,
        # The one masking policy decides what each role sees of the applicant.
        applicant=ApplicantOut(**_applicant_fields(rights.applicant_view(applicant, roles))),
        submitted_at=application.submitted_at,
        deadline=application.deadline,
        closed_at=application.closed_at,
        returns=application.returns,
        overdue=intake.is_overdue(ctx, application),
    )


def _department_codes(ctx: Ctx) -> dict[int, str]:
    return {d.id: d.code for d in catalog.list_departments(ctx)}


def _task_out(
    task: Task, case_number: str, service_code: str, codes: dict[int, str], now: datetime
) -> TaskOut:
    is_open = task.status in ("ready", "claimed")
    overdue = is_open and task.sla_due < now
    return TaskOut(
        id=task.id,
        case_number=case_number,
        service=service_code,
        name=task.name,
        element_id=task.element_id,
        department=codes.get(task.department_id) if task.department_id else None,
        for_applicant=task.for_applicant,
        status=task.status,
        claimed_by=task.claimed_by,
        completed_by=task.completed_by,
        created_at=task.created_at,
        claimed_at=task.claimed_at,
        completed_at=task.completed_at,
        sla_due=task.sla_due,
        escalated=task.escalated,
        instance_no=task.instance_no,
        assignee=task.assignee,
        overdue=overdue,
        nearing_sla=is_open and not overdue and task.sla_due <= now + NEARING_SLA,
        can_send_back=task.can_send_back,
    )


def _materials(ctx: Ctx, application: Application, service: ServiceItem) -> list[MaterialOut]:
    specs = {m.code: m for m in service.materials}
    out: list[MaterialOut] = []
    for row in sorted(application.materials, key=lambda m: m.id):
        spec = specs.get(row.material_code)
        blob = intake.get_blob(ctx, row.blob_sha256)
        out.append(
            MaterialOut(
                code=row.material_code,
                name_zh=spec.name_zh if spec else None,
                name_en=spec.name_en if spec else None,
                filename=row.filename,
                sha256=row.blob_sha256,
                size=blob.size if blob else None,
                content_type=blob.content_type if blob else None,
                reused=row.reused,
                added_at=row.added_at,
            )
        )
    return out


def _applicant_fields(view: dict[str, Any]) -> dict[str, Any]:
    return {k: view[k] for k in ("kind", "id_number", "name")}


def _timeline(ctx: Ctx, case: Case, *, for_applicant: bool) -> list[TimelineEntryOut]:
    out = []
    for h in workflow.case_history(ctx, case):
        e, d = h.event, h.decision
        shown = d is not None and (not for_applicant or d.decision in workflow.PUBLIC_DECISIONS)
        out.append(
            TimelineEntryOut(
                at=e.timestamp,
                activity=e.activity,
                lifecycle=e.lifecycle,
                event_type=e.event_type,
                resource=e.resource,
                department=e.department,
                decision=d.decision if d is not None and shown else None,
                opinion=d.opinion if d is not None and shown else None,
            )
        )
    return out


def _detail(ctx: Ctx, application: Application, who: Principal) -> ApplicationOut:
    service = catalog.get_service_by_id(ctx, application.service_item_id)
    case = workflow.application_case(ctx, application.id)
    codes = _department_codes(ctx)
    now = ctx.clock.now()
    applicant = who.kind == "applicant"
    return ApplicationOut(
        **_summary(ctx, application, service, who.roles).model_dump(),
        form=dict(application.form_data or {}),
        materials=_materials(ctx, application, service),
        open_tasks=[
            _task_out(t, application.number, service.code, codes, now)
            for t in workflow.open_tasks(ctx, case.id)
        ],
        timeline=_timeline(ctx, case, for_applicant=applicant),
        decisions=[
            DecisionOut.model_validate(d)
            for d in workflow.decision_views(ctx, case, for_applicant=applicant)
        ],
        documents=_documents(ctx, case, application.number),
    )


def _documents(ctx: Ctx, case: Case, number: str) -> list[DocumentOut]:
    out = []
    for d in documents.documents_of_case(ctx, case.id):
        kind = DocumentKind(d.kind)
        out.append(
            DocumentOut(
                id=d.id,
                kind=d.kind,
                title_zh=kind.title_zh,
                title_en=kind.title_en,
                code=d.code,
                issued_at=d.issued_at,
                url=f"/api/v1/applications/{quote(number)}/documents/{d.id}",
            )
        )
    return out


# --- applications ---------------------------------------------------------------------------


def _acting_name(principal: Principal) -> str:
    if principal.kind == "applicant":
        return workflow.APPLICANT_RESOURCE
    if principal.kind == "system":
        return f"system:{principal.name}"[:64]
    return principal.name


def _required(**fields: str | None) -> dict[str, str]:
    lacking = [name for name, value in fields.items() if value is None or not value.strip()]
    if lacking:
        raise ValidationFailed(
            "Missing field(s): " + ", ".join(lacking),
            message_zh="缺少必填项：" + "、".join(lacking),
            code="application.field_missing",
            details={"missing": lacking},
        )
    return {name: (value or "").strip() for name, value in fields.items()}


def _parse_form(raw: str | None) -> dict[str, Any]:
    if raw is None or not raw.strip():
        return {}
    return parse_json_object(raw, field="form")


def _check_applicant_self(ctx: Ctx, who: Principal, kind: str, id_number: str, phone: str) -> None:
    """An applicant signed in by phone applies only as themself, online."""
    if phone != who.phone:
        raise PermissionDenied(
            "Applicants apply with their own verified phone number",
            message_zh="申请人只能使用本人已验证的手机号申请",
            code="application.phone_not_verified",
        )
    existing = intake.find_applicant(ctx, kind, id_number)
    if existing is not None and existing.phone != who.phone:
        # Otherwise applying once would move someone else's cases onto this phone.
        raise PermissionDenied(
            "This applicant is registered with another phone number; apply at a service window",
            message_zh="该申请人登记的手机号与您不符，请到窗口办理",
            code="application.applicant_not_yours",
        )


_APPLICATION_FIELDS = (
    "service",
    "applicant_kind",
    "applicant_id_number",
    "applicant_name",
    "applicant_phone",
    "channel",
    "form",
)
_MULTIPART_APPLICATION: dict[str, Any] = {
    "description": "The fields below, plus one file per material named material:<code>.",
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": list(_APPLICATION_FIELDS[:4]),
                "properties": {name: {"type": "string"} for name in _APPLICATION_FIELDS},
                "additionalProperties": {"type": "string", "format": "binary"},
            }
        }
    },
}

_MULTIPART_MATERIALS: dict[str, Any] = {
    "description": "One file per material handed in, named material:<code>.",
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "additionalProperties": {"type": "string", "format": "binary"},
            }
        }
    },
}


@router.post(
    "/applications",
    response_model=SubmittedOut,
    status_code=201,
    tags=["applications"],
    openapi_extra={"requestBody": _MULTIPART_APPLICATION},
)
def submit_application(
    ctx: CtxDep,
    who: Annotated[Principal, require("applications.create")],
    uploads: UploadsDep,
    service: Annotated[str | None, Form()] = None,
    applicant_kind: Annotated[str | None, Form()] = None,
    applicant_id_number: Annotated[str | None, Form()] = None,
    applicant_name: Annotated[str | None, Form()] = None,
    applicant_phone: Annotated[str | None, Form()] = None,
    channel: Annotated[str | None, Form()] = None,
    form: Annotated[str | None, Form(description="the service's form as a JSON object")] = None,
) -> SubmittedOut:
    """一窗受理: take an application with its materials (multipart) and start its case."""
    f = _required(
        service=service,
        applicant_kind=applicant_kind,
        applicant_id_number=applicant_id_number,
        applicant_name=applicant_name,
    )
    form_data = _parse_form(form)
    phone = security.normalise_phone(applicant_phone) if applicant_phone else None
    if who.kind == "applicant":
        phone = phone or who.phone
        if channel not in (None, "", "online"):
            raise PermissionDenied(
                "Applicants apply online",
                message_zh="申请人只能通过网上渠道申请",
                code="application.channel_not_allowed",
            )
        _check_applicant_self(ctx, who, f["applicant_kind"], f["applicant_id_number"], phone or "")
        channel = "online"
    elif not channel:
        channel = "online" if who.kind == "system" else "window"
    submitted = flows.submit_application(
        ctx,
        f["service"],
        ApplicantIn(f["applicant_kind"], f["applicant_id_number"], f["applicant_name"], phone),
        channel=channel,
        form=form_data,
        uploads=uploads,
        actor=_acting_name(who),
    )
    application = submitted.application
    codes = _department_codes(ctx)
    now = ctx.clock.now()
    return SubmittedOut(
        number=application.number,
        service=f["service"],
        status=application.status,
        deadline=application.deadline,
        materials=[
            MaterialCheckOut(
                code=c.code,
                name_zh=c.name_zh,
                name_en=c.name_en,
                required=c.required,
                state=c.state,
            )
            for c in submitted.materials
        ],
        tasks=[
            _task_out(t, application.number, f["service"], codes, now)
            for t in submitted.outcome.created
        ],
    )


@router.get("/applications/prefill", response_model=ApplicationPrefillOut, tags=["applications"])
def prefill_application(
    ctx: CtxDep,
    who: Annotated[Principal, require("applications.create")],
    service: Annotated[str, Query(min_length=1, max_length=64)],
    applicant_kind: Annotated[str, Query(min_length=1, max_length=16)],
    applicant_id_number: Annotated[str, Query(min_length=1, max_length=40)],
) -> ApplicationPrefillOut:
    """免提交: the application form filled from the city's golden record, through the
    one-window center's data-sharing grants; each value names the dataset it came from, and
    ``missing_grants`` what a grant would add. Every read and refusal is in the data hub's
    access log. An applicant is pre-filled only as the applicant on file with their phone."""
    clean = intake.normalise_applicant(ctx, ApplicantIn(applicant_kind, applicant_id_number, "-"))
    if who.kind == "applicant":
        on_file = intake.find_applicant(ctx, clean.kind, clean.id_number)
        if on_file is None or on_file.phone != who.phone:
            catalog.get_service(ctx, service)
            return ApplicationPrefillOut(
                service=service,
                applicant_kind=clean.kind,
                found=False,
                consumer_department=datahub.PREFILL_CONSUMER,
                purpose=datahub.PREFILL_PURPOSE,
                values={},
                form={},
                provenance={},
                missing_grants=[],
            )
    return datahub.prefill_application(
        ctx, service, clean.kind, clean.id_number, actor=_acting_name(who), roles=who.roles
    )


@router.get("/applications", response_model=Page[ApplicationSummaryOut], tags=["applications"])
def list_applications(
    ctx: CtxDep,
    who: Annotated[Principal, require("applications.read")],
    status: str | None = None,
    service: str | None = None,
    overdue: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ApplicationSummaryOut]:
    """An applicant's own applications; for staff, the applications they may see."""
    return _page(
        ctx,
        row_scope(who),
        limit=limit,
        offset=offset,
        status=status,
        service=service,
        overdue=overdue,
        roles=who.roles,
    )


@router.get("/applications/{number}", response_model=ApplicationOut, tags=["applications"])
def get_application(
    number: str, ctx: CtxDep, who: Annotated[Principal, require("applications.read")]
) -> ApplicationOut:
    """Status, deadline, materials (without content), open tasks and the case's timeline."""
    return _detail(ctx, visible_application(ctx, who, number), who)


@router.post(
    "/applications/{number}/materials",
    response_model=ApplicationOut,
    tags=["applications"],
    openapi_extra={"requestBody": _MULTIPART_MATERIALS},
)
def supplement(
    number: str,
    ctx: CtxDep,
    who: Annotated[Principal, require("applications.supplement")],
    uploads: UploadsDep,
) -> ApplicationOut:
    """补正: hand in what was asked for (files ``material:<code>``); the case resumes."""
    application = visible_application(ctx, who, number)
    if not uploads:
        raise ValidationFailed(
            "Send at least one file named material:<code>",
            message_zh="请至少上传一份补正材料（字段名 material:<材料编码>）",
            code="application.no_materials",
        )
    flows.supplement(ctx, application.number, uploads, actor=_acting_name(who))
    return _detail(ctx, application, who)


@router.get(
    "/applications/{number}/documents",
    response_model=list[DocumentOut],
    tags=["applications"],
)
def list_documents(
    number: str, ctx: CtxDep, who: Annotated[Principal, require("applications.read")]
) -> list[DocumentOut]:
    """文书: the case's official documents (受理通知书, 补正材料通知书, 决定书 …)."""
    application = visible_application(ctx, who, number)
    return _documents(ctx, workflow.application_case(ctx, application.id), application.number)


@router.get(
    "/applications/{number}/documents/{document_id}",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
    tags=["applications"],
)
def download_document(
    number: str,
    document_id: int,
    ctx: CtxDep,
    who: Annotated[Principal, require("applications.read")],
) -> Response:
    """One document as PDF (drawn and recorded in the ledger the first time it is asked for)."""
    pdf, name = documents.download(ctx, visible_application(ctx, who, number), document_id)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={
            "Content-Disposition": "attachment; filename*=UTF-8''" + quote(name, safe=""),
            "Cache-Control": "no-store",
        },
    )


def _verification(v: documents.Verification) -> VerificationOut:
    return VerificationOut(
        genuine=v.in_ledger and v.copy_matches is not False,
        code=v.document.code,
        kind=v.document.kind,
        title_zh=v.title_zh,
        title_en=v.title_en,
        case_number=v.case_number,
        department=v.department,
        issued_on=v.issued_on,
        sha256=v.document.sha256 or "",
        ledger_index=v.document.ledger_index,
        in_ledger=v.in_ledger,
        copy_matches=v.copy_matches,
    )


@router.get("/verify/{code}", response_model=VerificationOut, tags=["documents"])
def verify_document(
    code: str, ctx: CtxDep, _: Annotated[Principal | None, public()]
) -> VerificationOut:
    """Anyone may check a document's verification code: which document it was issued with and
    whether the ledger holds that document's SHA-256."""
    return _verification(documents.verify(ctx, code))


@router.post(
    "/verify/{code}",
    response_model=VerificationOut,
    tags=["documents"],
    openapi_extra={
        "requestBody": {
            "description": "the copy's bytes (a PDF)",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
            },
        }
    },
)
async def verify_copy(
    code: str, request: Request, ctx: CtxDep, _: Annotated[Principal | None, public()]
) -> VerificationOut:
    """Check a copy (the PDF as the request body) against the document issued with the code:
    ``copy_matches`` is false when a single byte differs."""
    limit: int = request.app.state.platform.settings.max_upload_bytes
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > limit:
            raise ValidationFailed(
                "The copy is larger than any document",
                message_zh="上传的文件过大",
                code="document.copy_too_large",
                status=413,
            )
    return _verification(await run_in_threadpool(documents.verify, ctx, code, bytes(body)))


# --- messages from department systems ------------------------------------------------------


def _message_out(message: CaseMessage, number: str, *, duplicate: bool = False) -> MessageOut:
    return MessageOut(
        id=message.id,
        message_id=message.message_id,
        name=message.name,
        case_number=number,
        sender=message.sender,
        status=message.status,
        payload=message.payload,
        received_at=message.received_at,
        delivered_at=message.delivered_at,
        duplicate=duplicate,
    )


@router.post(
    "/messages",
    response_model=MessageOut,
    status_code=201,
    tags=["messages"],
    responses={200: {"model": MessageOut, "description": "a duplicate: changed nothing"}},
)
def send_message(
    body: MessageIn,
    response: Response,
    ctx: CtxDep,
    who: Annotated[Principal, require("messages.send")],
) -> MessageOut:
    """Deliver a message to the case ``correlation_key`` (its number): taken at once when the
    case waits for ``name``, else kept and taken when it does (status ``waiting``). A case that
    does not exist is refused (404) and nothing is kept; the same ``message_id`` again from the
    same sender answers 200 with ``duplicate: true`` and changes nothing."""
    received = workflow.receive_message(
        ctx,
        sender=_acting_name(who),
        message_id=body.message_id,
        name=body.name,
        case_number=body.correlation_key,
        payload=body.payload,
    )
    if received.duplicate:
        response.status_code = 200
    number = workflow.get_case(ctx, received.message.case_id).number
    return _message_out(received.message, number, duplicate=received.duplicate)


@router.get("/messages", response_model=Page[MessageOut], tags=["messages"])
def list_messages(
    ctx: CtxDep,
    _: Annotated[Principal, require("messages.read")],
    status: Annotated[
        str | None,
        Query(pattern="^(waiting|delivered|unmatched)$", description="unmatched = waiting"),
    ] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[MessageOut]:
    """Messages department systems sent, newest first; ``status=unmatched`` (or ``waiting``)
    lists those no case has taken yet."""
    wanted = "waiting" if status == "unmatched" else status
    rows, total = workflow.messages_page(ctx, status=wanted, limit=limit, offset=offset)
    return Page[MessageOut](
        items=[_message_out(m, number) for m, number in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


# --- cases ----------------------------------------------------------------------------------


@router.get("/cases", response_model=Page[ApplicationSummaryOut], tags=["cases"])
def search_cases(
    ctx: CtxDep,
    who: Annotated[Principal, require("cases.search")],
    number: str | None = None,
    applicant_id_number: str | None = None,
    status: str | None = None,
    service: str | None = None,
    overdue: bool = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[ApplicationSummaryOut]:
    """Find cases by number, applicant, status or lateness; reviewers see their department's."""
    return _page(
        ctx,
        row_scope(who),
        limit=limit,
        offset=offset,
        number=number.strip() if number else None,
        applicant_id_number=applicant_id_number.strip().upper() if applicant_id_number else None,
        status=status,
        service=service,
        overdue=overdue,
        roles=who.roles,
    )


# --- tasks ----------------------------------------------------------------------------------


def _actor(ctx: Ctx, who: Principal) -> workflow.Actor:
    if who.kind == "system":
        if who.department_id is None or who.department_code is None:
            raise PermissionDenied(
                "This token is not bound to a department, so it has no tasks",
                message_zh="该令牌未绑定部门，不能办理任务",
                code="token.no_department",
            )
        return workflow.Actor(
            username=_acting_name(who),
            department_id=who.department_id,
            department_code=who.department_code,
            roles=frozenset({"system"}),
        )
    return workflow.Actor.of(staff_of(ctx, who))


def _own_task(ctx: Ctx, actor: workflow.Actor, task_id: int) -> Task:
    """The task, or 404 when it does not exist *or* belongs to another department."""
    try:
        task = workflow.get_task(ctx, task_id)
    except NotFound:
        task = None
    if task is None or task.for_applicant or task.department_id != actor.department_id:
        raise NotFound(f"No task {task_id}", message_zh="任务不存在", code="task.unknown")
    return task


def _task_of_case(ctx: Ctx, task: Task) -> TaskOut:
    case = workflow.get_case(ctx, task.case_id)
    return _task_out(task, case.number, case.service_code, _department_codes(ctx), ctx.clock.now())


def _case_status(ctx: Ctx, case: Case) -> str:
    if case.application_id is not None:
        return intake.get_application(ctx, case.application_id).status
    return case.outcome or ("completed" if case.completed else "in_progress")


def _step(ctx: Ctx, task: Task, outcome: workflow.StepOutcome) -> StepOut:
    case = workflow.get_case(ctx, task.case_id)
    codes = _department_codes(ctx)
    now = ctx.clock.now()
    return StepOut(
        task=_task_out(task, case.number, case.service_code, codes, now),
        created=[_task_out(t, case.number, case.service_code, codes, now) for t in outcome.created],
        finished=outcome.finished,
        outcome=outcome.outcome,
        case_status=_case_status(ctx, case),
    )


@router.get("/tasks/queue", response_model=Page[TaskOut], tags=["tasks"])
def task_queue(
    ctx: CtxDep,
    who: Annotated[Principal, require("tasks.work")],
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[TaskOut]:
    """My department's open tasks, most urgent SLA first, flagged overdue / nearing the SLA."""
    actor = _actor(ctx, who)
    if actor.department_id is None:
        return Page(items=[], total=0, limit=limit, offset=offset)
    rows, total = workflow.queue_page(ctx, actor.department_id, limit=limit, offset=offset)
    codes = _department_codes(ctx)
    now = ctx.clock.now()
    items = [_task_out(t, c.number, c.service_code, codes, now) for t, c in rows]
    return Page(items=items, total=total, limit=limit, offset=offset)


@router.get("/tasks/{task_id}", response_model=TaskDetailOut, tags=["tasks"])
def get_task(
    task_id: int, ctx: CtxDep, who: Annotated[Principal, require("tasks.work")]
) -> TaskDetailOut:
    """The task, its form, and the case's materials to review."""
    task = _own_task(ctx, _actor(ctx, who), task_id)
    case = workflow.get_case(ctx, task.case_id)
    base = _task_out(task, case.number, case.service_code, _department_codes(ctx), ctx.clock.now())
    fields = [FormFieldOut.model_validate(f) for f in task.form_fields]
    history = _timeline(ctx, case, for_applicant=False)
    if case.application_id is None:
        return TaskDetailOut(
            **base.model_dump(),
            kind=case.kind,
            form_fields=fields,
            data=dict(task.data or {}),
            case=None,
            subject=feedback.subject_view(ctx, case),
            form={},
            materials=[],
            history=history,
        )
    application = intake.get_application(ctx, case.application_id)
    service = catalog.get_service_by_id(ctx, application.service_item_id)
    return TaskDetailOut(
        **base.model_dump(),
        kind=case.kind,
        form_fields=fields,
        data=dict(task.data or {}),
        case=_summary(ctx, application, service, who.roles),
        form=dict(application.form_data or {}),
        materials=_materials(ctx, application, service),
        history=history,
    )


@router.post("/tasks/{task_id}/claim", response_model=TaskOut, tags=["tasks"])
def claim_task(
    task_id: int, ctx: CtxDep, who: Annotated[Principal, require("tasks.work")]
) -> TaskOut:
    actor = _actor(ctx, who)
    _own_task(ctx, actor, task_id)
    return _task_of_case(ctx, workflow.claim_task(ctx, task_id, actor=actor))


@router.post("/tasks/{task_id}/complete", response_model=StepOut, tags=["tasks"])
def complete_task(
    task_id: int,
    ctx: CtxDep,
    who: Annotated[Principal, require("tasks.work")],
    body: CompleteIn | None = None,
) -> StepOut:
    """Complete a task with its form data (claims it first if nobody has)."""
    actor = _actor(ctx, who)
    task = _own_task(ctx, actor, task_id)
    data = body.data if body else {}
    return _step(ctx, task, workflow.complete_task(ctx, task_id, data, actor=actor))


@router.post("/tasks/{task_id}/send-back", response_model=StepOut, tags=["tasks"])
def send_back(
    task_id: int,
    body: SendBackIn,
    ctx: CtxDep,
    who: Annotated[Principal, require("tasks.work")],
) -> StepOut:
    """补正: return the case to the applicant, listing everything missing at once."""
    actor = _actor(ctx, who)
    task = _own_task(ctx, actor, task_id)
    outcome = workflow.send_back(ctx, task_id, body.missing, body.comment, actor=actor)
    return _step(ctx, task, outcome)
