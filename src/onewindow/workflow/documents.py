"""Official documents of an application's case (文书): issued when a decision calls for one.

受理 at the acceptance step gives a 受理通知书; any 补正 a 补正材料通知书 (一次性告知) listing
every item; 不予受理 a 不予受理决定书; the end of the case a 准予/不予行政许可决定书 (permit
services), a 不予办理决定书 (other services) and, when granted, a 办结通知书. Each PDF is
rendered from data kept with its row (so it can be produced again byte for byte), stored once
by its SHA-256, and recorded in the ledger with that hash; the verification code printed on it
leads anyone to ``/verify/{code}``, which checks a copy against the ledger.

A document is issued in the decision's transaction (its data and code); it is drawn later, by
the worker (``render_pending``) or on the spot when first asked for (``pdf_of``), and only then
stored and put in the ledger: drawing a PDF takes tens of milliseconds, which a decision — and
the person waiting for it — should not.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from onewindow.catalog import service as catalog
from onewindow.catalog.models import ServiceItem
from onewindow.documents import (
    DocumentData,
    DocumentKind,
    ReviewRights,
    normalise_code,
    render,
    verification_code,
)
from onewindow.intake import service as intake
from onewindow.intake.models import Application
from onewindow.kit.errors import NotFound
from onewindow.kit.platform import Ctx
from onewindow.security import ledger, masking
from onewindow.workflow import repository as repo
from onewindow.workflow.models import Case, Decision, Document, Task

# 行政许可法 §38 (1): an application meeting the statutory conditions is granted in writing.
GRANT_BASIS = "《中华人民共和国行政许可法》第三十八条第一款"
SUPPLEMENT_WORKDAYS = 10  # the time given for a 补正, when the process sets none


def _department_name(ctx: Ctx, code: str | None) -> str:
    if code:
        try:
            return catalog.get_department(ctx, code).name_zh
        except NotFound:
            return code
    return "政务服务中心"


def _local_day(ctx: Ctx) -> date:
    return ctx.clock.now().astimezone(ctx.calendar.zone).date()


def _masked_id(application: Application) -> str:
    number = application.applicant.id_number
    if application.applicant.kind == "business":
        return masking.mask_credit_code(number)
    return masking.mask_citizen_id(number)


def _review(service: ServiceItem) -> ReviewRights:
    review = service.review or {}
    return ReviewRights(
        review_body=str(review.get("reconsideration_zh") or "本机关的本级人民政府"),
        court=str(review.get("court_zh") or "有管辖权的人民法院"),
    )


def _material_names(service: ServiceItem, codes: Sequence[str]) -> tuple[str, ...]:
    names = {m.code: m.name_zh for m in service.materials}
    return tuple(dict.fromkeys(names.get(c, c) for c in codes))


def _issue(
    ctx: Ctx,
    case: Case,
    application: Application,
    service: ServiceItem,
    kind: DocumentKind,
    *,
    department: str | None,
    task_id: int | None,
    actor: str,
    **fields: object,
) -> Document:
    code = verification_code(secrets.token_bytes(16))
    data = DocumentData(
        kind=kind,
        case_number=case.number,
        service_name=service.name_zh,
        applicant_name=application.applicant.name,
        applicant_id_masked=_masked_id(application),
        department_name=_department_name(ctx, department),
        issued_on=_local_day(ctx),
        received_on=application.submitted_at.astimezone(ctx.calendar.zone).date(),
        verification_code=code,
        base_url=ctx.settings.public_url,
        **fields,  # type: ignore[arg-type]
    )
    document = Document(
        case_id=case.id,
        task_id=task_id,
        kind=kind.value,
        code=code,
        data=data.to_dict(),
        issued_at=ctx.clock.now(),
        issued_by=actor,
    )
    repo.add(ctx.session, document)
    return document


def after_decision(
    ctx: Ctx, case: Case, task: Task, decision: Decision, created: Sequence[Task]
) -> list[Document]:
    """The documents a decision on an application calls for (none for other steps)."""
    if case.application_id is None or decision.decision not in (
        "accept",
        "not_accept",
        "send_back",
    ):
        return []
    application = intake.get_application(ctx, case.application_id)
    service = catalog.get_service_by_id(ctx, application.service_item_id)
    common = {"department": decision.department, "task_id": task.id, "actor": decision.decided_by}
    if decision.decision == "accept":
        received = [m.material_code for m in application.materials]
        return [
            _issue(
                ctx,
                case,
                application,
                service,
                DocumentKind.ACCEPTANCE_NOTICE,
                items=_material_names(service, received),
                deadline=application.deadline,
                **common,  # type: ignore[arg-type]
            )
        ]
    if decision.decision == "send_back":
        party = [t for t in created if t.for_applicant]
        due = (
            party[0].sla_due.astimezone(ctx.calendar.zone).date()
            if party
            else ctx.calendar.add_workdays(ctx.clock.now(), SUPPLEMENT_WORKDAYS)
        )
        return [
            _issue(
                ctx,
                case,
                application,
                service,
                DocumentKind.SUPPLEMENT_NOTICE,
                items=_material_names(service, decision.missing_items),
                deadline=due,
                note=decision.opinion or None,
                **common,  # type: ignore[arg-type]
            )
        ]
    return []  # 不予受理 ends the case: its decision is issued by ``after_case``


def after_case(ctx: Ctx, case: Case, decisions: Sequence[Decision]) -> list[Document]:
    """The documents that end an application's case: the decision and, when granted, the
    notice of completion."""
    if case.application_id is None or case.outcome is None:
        return []
    application = intake.get_application(ctx, case.application_id)
    service = catalog.get_service_by_id(ctx, application.service_item_id)
    refusal = next((d for d in decisions if d.decision in ("not_accept", "reject")), None)
    if refusal is None and case.outcome == "rejected":  # a 会签 that refused, by its votes
        refusal = next((d for d in decisions if d.decision == "vote_reject"), None)
    last = decisions[-1] if decisions else None
    if refusal is not None:
        kind = (
            DocumentKind.NON_ACCEPTANCE_DECISION
            if refusal.decision == "not_accept"
            else DocumentKind.PERMIT_REFUSED_DECISION
            if service.is_permit
            else DocumentKind.REFUSAL_DECISION
        )
        return [
            _issue(
                ctx,
                case,
                application,
                service,
                kind,
                department=refusal.department,
                task_id=refusal.task_id,
                actor=refusal.decided_by,
                reasons=(refusal.reason or "经审查，申请不符合法定条件。",),
                legal_basis=(refusal.legal_basis or "",),
                review=_review(service),
            )
        ]
    out: list[Document] = []
    approvals = [d for d in decisions if d.decision == "approve"]
    decider = approvals[-1] if approvals else last
    department = decider.department if decider else None
    actor = decider.decided_by if decider else "system"
    if service.is_permit:
        opinions = tuple(dict.fromkeys(d.opinion for d in approvals if d.opinion))
        out.append(
            _issue(
                ctx,
                case,
                application,
                service,
                DocumentKind.PERMIT_GRANTED_DECISION,
                department=department,
                task_id=decider.task_id if decider else None,
                actor=actor,
                items=(f"准予{service.name_zh}",),
                reasons=opinions[:5],
                legal_basis=(GRANT_BASIS,),
                review=_review(service),
            )
        )
    out.append(
        _issue(
            ctx,
            case,
            application,
            service,
            DocumentKind.COMPLETION_NOTICE,
            department=last.department if last else department,
            task_id=None,
            actor=actor,
            items=(f"{service.name_zh}：准予办理",),
        )
    )
    return out


# --- reading and verifying -----------------------------------------------------------------


def _finalize(ctx: Ctx, document: Document) -> bytes:
    """Draw the PDF, store it once and put its SHA-256 in the ledger."""
    pdf = regenerate(document)
    document.sha256 = intake.store_file(ctx, pdf, "application/pdf")
    document.rendered_at = ctx.clock.now()
    case = ctx.session.get(Case, document.case_id)
    document.ledger_index = ledger.append(
        ctx,
        ledger.EntryKind.DOCUMENT_ISSUED,
        {
            "case": case.number if case else None,
            "kind": document.kind,
            "code": document.code,
            "sha256": document.sha256,
            "task_id": document.task_id,
        },
        actor=document.issued_by,
    )
    ctx.session.flush()
    return pdf


def pdf_of(ctx: Ctx, document: Document) -> bytes:
    """The document's PDF: the stored one, or drawn (and recorded) now if not drawn yet."""
    if document.sha256 is None:
        return _finalize(ctx, document)
    return intake.material_content(ctx, document.sha256)


def download(ctx: Ctx, application: Application, document_id: int) -> tuple[bytes, str]:
    """(PDF, file name) of one document of an application the caller may see.

    Raises:
        NotFound: no such document on this application's case.
    """
    case = repo.case_of_application(ctx.session, application.id)
    if case is None:
        raise NotFound("No such document", message_zh="文书不存在", code="document.unknown")
    document = get_document(ctx, case.id, document_id)
    name = f"{DocumentKind(document.kind).title_zh}-{application.number}.pdf"
    return pdf_of(ctx, document), name


def render_pending(ctx: Ctx, *, limit: int = 20) -> int:
    """The worker's job: draw, store and record documents issued but not drawn yet."""
    pending = repo.documents_not_rendered(ctx.session, limit)
    for document in pending:
        _finalize(ctx, document)
    return len(pending)


def documents_of_case(ctx: Ctx, case_id: int) -> Sequence[Document]:
    return repo.documents_of_case(ctx.session, case_id)


def get_document(ctx: Ctx, case_id: int, document_id: int) -> Document:
    document = repo.document(ctx.session, document_id)
    if document is None or document.case_id != case_id:
        raise NotFound("No such document", message_zh="文书不存在", code="document.unknown")
    return document


def regenerate(document: Document) -> bytes:
    """The PDF produced again from its stored data (byte for byte the one issued)."""
    return render(DocumentData.from_dict(document.data))


@dataclass(frozen=True)
class Verification:
    """What ``/verify/{code}`` says of a code, and of a copy when one is handed in."""

    document: Document
    case_number: str
    department: str
    issued_on: str
    title_zh: str
    title_en: str
    in_ledger: bool
    copy_matches: bool | None  # None when no copy was handed in


def verify(ctx: Ctx, code_text: str, copy: bytes | None = None) -> Verification:
    """Check a verification code, and a copy of the document against the issued one.

    Raises:
        ValidationFailed: the code is mistyped (its check symbol does not match).
        NotFound: no document was issued with this code.
    """
    code = normalise_code(code_text)
    document = repo.document_by_code(ctx.session, code)
    if document is None:
        raise NotFound(
            "No document was issued with this verification code",
            message_zh="未查到以该核验码出具的文书",
            code="document.unknown_code",
        )
    if document.sha256 is None:
        _finalize(ctx, document)
    case = ctx.session.get(Case, document.case_id)
    entry = (
        ledger.included_entry(ctx, document.ledger_index)
        if document.ledger_index is not None
        else None
    )
    in_ledger = bool(
        entry
        and entry.get("kind") == ledger.EntryKind.DOCUMENT_ISSUED
        and entry.get("sha256") == document.sha256
        and entry.get("code") == code
    )
    kind = DocumentKind(document.kind)
    return Verification(
        document=document,
        case_number=case.number if case else "",
        department=str(document.data.get("department_name", "")),
        issued_on=str(document.data.get("issued_on", "")),
        title_zh=kind.title_zh,
        title_en=kind.title_en,
        in_ledger=in_ledger,
        copy_matches=None if copy is None else hashlib.sha256(copy).hexdigest() == document.sha256,
    )
