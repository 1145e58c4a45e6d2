"""Personal data: unmasking one value for a stated purpose, and the applicant's rights
(GB/T 35273-2020 §8: access, correction, deletion).

Every unmasking and every rights request is written to the ledger in the caller's
transaction: who, when, which record and field, and why — never the value itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from sqlalchemy import select

from onewindow.eventlog import service as eventlog
from onewindow.intake import service as intake
from onewindow.intake.models import Applicant, Application
from onewindow.kit.errors import NotFound, PermissionDenied, ValidationFailed
from onewindow.kit.platform import Ctx
from onewindow.security import ledger
from onewindow.security.masking import may_unmask, show, visibility_of
from onewindow.security.models import PrivacyRequest
from onewindow.security.schemas import Principal

# Applicant fields a caller may ask about, and their class in the masking policy.
APPLICANT_FIELDS: Final[dict[str, str]] = {
    "name": "name",
    "id_number": "citizen_id",
    "phone": "mobile",
}
PURPOSE_MIN = 4
CORRECTABLE: Final = ("name", "phone")

# Why a deletion may be refused: the rule, in both languages (GB/T 35273-2020 §8 lets a
# controller keep what a law or regulation requires it to keep).
RETENTION_RULES: Final[dict[str, dict[str, str]]] = {
    "case_files": {
        "rule": "case_files",
        "en": "Applications, their materials and decisions are government case files: they are "
        "archived and kept for the retention period of the archives law (档案法) and the "
        "government-service electronic-file rules, so the applicant's identity stays with them.",
        "zh": "办件及其材料、审批结果属于政务服务档案，须按《中华人民共和国档案法》及政务服务"
        "电子文件归档要求在保管期限内保存，申请人身份信息随档案保存。",
    },
}


def applicant_view(applicant: Applicant, roles: frozenset[str]) -> dict[str, Any]:
    """An applicant as a caller with ``roles`` may see them (the one policy)."""
    is_business = applicant.kind == "business"
    return {
        "kind": applicant.kind,
        # A business's name and credit code are public register data (not personal).
        "name": applicant.name if is_business else show(applicant.name, "name", roles),
        "id_number": applicant.id_number
        if is_business
        else show(applicant.id_number, "citizen_id", roles),
        "phone": show(applicant.phone, "mobile", roles),
    }


def unmask(
    ctx: Ctx, principal: Principal, application: Application, field: str, purpose: str
) -> str | None:
    """One applicant field of one case in plain, for a stated purpose; written to the ledger.

    Raises:
        ValidationFailed: no purpose (or too short), or not an unmaskable field.
        PermissionDenied: the caller's roles see the field plainly already or not at all.
    """
    purpose = " ".join(purpose.split())
    if len(purpose) < PURPOSE_MIN:
        raise ValidationFailed(
            "State the purpose of unmasking (a case reference or a reason)",
            message_zh="查看明文须说明用途（办件编号或理由）",
            code="privacy.purpose_required",
        )
    field_class = APPLICANT_FIELDS.get(field)
    if field_class is None:
        raise ValidationFailed(
            f"Cannot unmask {field!r}; one of {', '.join(APPLICANT_FIELDS)}",
            message_zh=f"字段 {field} 不可申请查看明文",
            code="privacy.field_unknown",
        )
    if not may_unmask(field_class, principal.roles):
        seen = visibility_of(field_class, principal.roles)
        raise PermissionDenied(
            f"Your role sees this field {seen}; unmasking is for roles that see it masked",
            message_zh="您的角色不能申请查看此字段明文",
            code="privacy.unmask_refused",
        )
    applicant = application.applicant
    ledger.append(
        ctx,
        ledger.EntryKind.FIELD_UNMASKED,
        {
            "case": application.number,
            "record": f"applicant:{applicant.id}",
            "field": field,
            "purpose": purpose[:200],
            "roles": sorted(principal.roles),
        },
        actor=principal.name,
    )
    value: str | None = getattr(applicant, field)
    return value


# --- the applicant's rights -----------------------------------------------------------------


def _record(
    ctx: Ctx,
    applicant: Applicant | None,
    kind: str,
    status: str,
    detail: dict[str, Any],
    answer: str | None = None,
    *,
    actor: str,
) -> PrivacyRequest:
    row = PrivacyRequest(
        applicant_id=applicant.id if applicant else None,
        kind=kind,
        status=status,
        detail=detail,
        answer=answer,
        created_at=ctx.clock.now(),
        decided_at=ctx.clock.now() if status != "open" else None,
        decided_by=actor if status != "open" else None,
    )
    ctx.session.add(row)
    ctx.session.flush()
    ledger.append(
        ctx,
        ledger.EntryKind.PERSONAL_DATA_REQUESTED,
        {
            "request_id": row.id,
            "request": kind,
            "status": status,
            "record": f"applicant:{applicant.id}" if applicant else None,
            "fields": sorted(detail.get("fields", [])),
        },
        actor=actor,
    )
    return row


def _mine(ctx: Ctx, phone: str) -> Sequence[Applicant]:
    return intake.applicants_of_phone(ctx, phone)


def personal_data(ctx: Ctx, phone: str) -> dict[str, Any]:
    """Everything held about the applicant(s) registered with this verified phone (§8.1)."""
    out: list[dict[str, Any]] = []
    for a in _mine(ctx, phone):
        apps = []
        for app in intake.applications_of_applicant(ctx, a.id):
            apps.append(
                {
                    "number": app.number,
                    "channel": app.channel,
                    "status": app.status,
                    "form": app.form_data,
                    "submitted_at": app.submitted_at.isoformat(),
                    "deadline": app.deadline.isoformat(),
                    "closed_at": app.closed_at.isoformat() if app.closed_at else None,
                    "materials": [
                        {
                            "code": m.material_code,
                            "filename": m.filename,
                            "sha256": m.blob_sha256,
                            "reused": m.reused,
                        }
                        for m in app.materials
                    ],
                    "history": [
                        {
                            "activity": e.activity,
                            "at": e.timestamp.isoformat(),
                            "department": e.department,
                        }
                        for e in eventlog.history_of_number(ctx, app.number)
                    ],
                }
            )
        out.append(
            {
                "applicant": {
                    "kind": a.kind,
                    "id_number": a.id_number,
                    "name": a.name,
                    "phone": a.phone,
                    "registered_at": a.created_at.isoformat(),
                },
                "applications": apps,
                "materials_on_file": [
                    {
                        "code": m.material_code,
                        "filename": m.filename,
                        "valid_until": m.valid_until.isoformat() if m.valid_until else None,
                    }
                    for m in intake.materials_on_file_of(ctx, a.id)
                ],
            }
        )
    for a in _mine(ctx, phone):
        _record(ctx, a, "access", "done", {"fields": ["all"]}, actor="applicant")
    return {"subjects": out}


def request_correction(ctx: Ctx, phone: str, field: str, value: str, reason: str) -> PrivacyRequest:
    """The applicant asks to correct their name or phone; staff decide (§8.2)."""
    if field not in CORRECTABLE:
        raise ValidationFailed(
            f"Only {', '.join(CORRECTABLE)} can be corrected here; an ID number is corrected "
            "at the desk with the identity document",
            message_zh="此处仅可更正姓名或手机号；证件号码须持证件到窗口更正",
            code="privacy.field_not_correctable",
        )
    mine = _mine(ctx, phone)
    if not mine:
        raise NotFound(
            "Nothing is held about you", message_zh="没有您的个人信息", code="privacy.none"
        )
    detail = {"fields": [field], "field": field, "value": value.strip()[:200], "reason": reason}
    return _record(ctx, mine[0], "correction", "open", detail, actor="applicant")


def decide_correction(ctx: Ctx, request_id: int, *, accept: bool, actor: str) -> PrivacyRequest:
    row = ctx.session.get(PrivacyRequest, request_id)
    if row is None or row.kind != "correction" or row.status != "open":
        raise NotFound(
            "No open correction request with that id",
            message_zh="没有该待处理的更正请求",
            code="privacy.request_unknown",
        )
    applicant = ctx.session.get(Applicant, row.applicant_id) if row.applicant_id else None
    if accept and applicant is not None:
        field, value = row.detail["field"], row.detail["value"]
        intake.correct_applicant(ctx, applicant, **{field: value})
    row.status = "done" if accept else "refused"
    row.decided_at, row.decided_by = ctx.clock.now(), actor
    ctx.session.flush()
    ledger.append(
        ctx,
        ledger.EntryKind.PERSONAL_DATA_REQUESTED,
        {"request_id": row.id, "request": "correction", "status": row.status},
        actor=actor,
    )
    return row


def open_requests(ctx: Ctx) -> Sequence[PrivacyRequest]:
    return ctx.session.scalars(
        select(PrivacyRequest).where(PrivacyRequest.status == "open").order_by(PrivacyRequest.id)
    ).all()


def request_deletion(ctx: Ctx, phone: str) -> list[dict[str, Any]]:
    """Delete what may be deleted; answer every refusal with the rule that applies (§8.3)."""
    answers: list[dict[str, Any]] = []
    mine = list(_mine(ctx, phone))
    if not mine:
        raise NotFound(
            "Nothing is held about you", message_zh="没有您的个人信息", code="privacy.none"
        )
    for a in mine:
        cases = intake.applications_of_applicant(ctx, a.id)
        if cases:
            rule = RETENTION_RULES["case_files"]
            _record(
                ctx,
                a,
                "deletion",
                "refused",
                {"fields": ["all"], "rule": rule["rule"], "cases": len(cases)},
                rule["en"],
                actor="applicant",
            )
            answers.append({"deleted": False, "rule": rule, "cases": [c.number for c in cases]})
        else:
            _record(ctx, a, "deletion", "done", {"fields": ["all"]}, actor="applicant")
            intake.delete_applicant(ctx, a)
            answers.append({"deleted": True, "rule": None, "cases": []})
    return answers
