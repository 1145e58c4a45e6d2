"""Intake rules and state changes: applicants, applications, materials (stored once, reused)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Collection, Iterable, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm.attributes import flag_modified

from onewindow.catalog.models import ServiceItem
from onewindow.intake import repository as repo
from onewindow.intake import rules
from onewindow.intake.blobs import BlobStore, check_material
from onewindow.intake.identifiers import validate_citizen_id, validate_credit_code
from onewindow.intake.models import (
    Applicant,
    ApplicantMaterial,
    Application,
    ApplicationMaterial,
    Blob,
    MaterialPromise,
)
from onewindow.intake.rules import MaterialCheck, completeness, missing
from onewindow.intake.schemas import CHANNELS, ApplicantIn, Upload
from onewindow.kit.errors import NotFound, ValidationFailed
from onewindow.kit.platform import Ctx

SUBMITTED_ACTIVITY = "提交申请"
# Where a case ends: decided, or not accepted at all (不予受理).
CLOSED_STATUSES = ("approved", "rejected", "not_accepted")
_NAME_MAX = 200


class MaterialsMissing(ValidationFailed):
    """一次性告知: every missing material at once."""

    code = "application.materials_missing"


def blob_store(ctx: Ctx) -> BlobStore:
    return BlobStore(ctx.settings.blob_dir)


def local_today(ctx: Ctx) -> date:
    return ctx.clock.now().astimezone(ctx.calendar.zone).date()


# --- applicants ----------------------------------------------------------------------------


def normalise_applicant(ctx: Ctx, data: ApplicantIn) -> ApplicantIn:
    """Check the applicant's identifier and name; returns the normalised form.

    Raises:
        ValidationFailed: unknown kind, invalid citizen ID (GB 11643) or credit code (GB 32100),
            empty or over-long name.
    """
    if data.kind == "person":
        number = validate_citizen_id(data.id_number, local_today(ctx)).number
    elif data.kind == "business":
        number = validate_credit_code(data.id_number).number
    else:
        raise ValidationFailed(
            f"Unknown applicant kind {data.kind!r}: use person or business",
            message_zh="申请人类型只能是 person（个人）或 business（法人）",
            code="applicant.invalid_kind",
        )
    name = re.sub(r"\s+", " ", data.name).strip()
    if not name or len(name) > _NAME_MAX:
        raise ValidationFailed(
            "Applicant name is empty or too long",
            message_zh="申请人名称为空或过长",
            code="applicant.invalid_name",
        )
    phone = data.phone.strip() if data.phone else None
    return ApplicantIn(data.kind, number, name, phone or None)


def get_or_register_applicant(ctx: Ctx, data: ApplicantIn) -> Applicant:
    clean = normalise_applicant(ctx, data)
    applicant = repo.applicant_by_number(ctx.session, clean.kind, clean.id_number)
    if applicant is None:
        applicant = Applicant(
            kind=clean.kind,
            id_number=clean.id_number,
            name=clean.name,
            phone=clean.phone,
            created_at=ctx.clock.now(),
        )
        ctx.session.add(applicant)
        ctx.session.flush()
    elif clean.phone and applicant.phone != clean.phone:
        applicant.phone = clean.phone
    return applicant


def find_applicant(ctx: Ctx, kind: str, id_number: str) -> Applicant | None:
    clean = normalise_applicant(ctx, ApplicantIn(kind, id_number, "-"))
    return repo.applicant_by_number(ctx.session, clean.kind, clean.id_number)


# --- materials -----------------------------------------------------------------------------


def on_file_codes(ctx: Ctx, applicant: Applicant | None) -> dict[str, date | None]:
    if applicant is None or applicant.id is None:
        return {}
    out: dict[str, date | None] = {}
    for m in repo.materials_on_file(ctx.session, applicant.id, local_today(ctx)):
        out.setdefault(m.material_code, m.valid_until)
    return out


def check_completeness(
    ctx: Ctx, service: ServiceItem, applicant: Applicant | None, provided: Iterable[str]
) -> list[MaterialCheck]:
    """Every material of the service with its state; see ``rules.completeness``."""
    return completeness(
        service.materials, provided, on_file_codes(ctx, applicant), local_today(ctx)
    )


def _check_uploads(ctx: Ctx, service: ServiceItem, uploads: Sequence[Upload]) -> list[str]:
    """Validate all uploads before anything is stored; returns their content types."""
    known = {m.code for m in service.materials}
    types: list[str] = []
    for up in uploads:
        if up.material_code not in known:
            raise ValidationFailed(
                f"{service.code} asks for no material {up.material_code!r}",
                message_zh=f"事项 {service.code} 不需要材料 {up.material_code}",
                code="material.unknown_code",
                details={"allowed": sorted(known)},
            )
        types.append(
            check_material(
                up.content,
                up.filename,
                max_bytes=ctx.settings.max_upload_bytes,
                allowed=ctx.settings.allowed_content_types,
            )
        )
    return types


def _store(ctx: Ctx, data: bytes, content_type: str) -> Blob:
    digest = blob_store(ctx).put(data)
    blob = repo.blob(ctx.session, digest)
    if blob is None:
        blob = Blob(
            sha256=digest, size=len(data), content_type=content_type, created_at=ctx.clock.now()
        )
        ctx.session.add(blob)
        ctx.session.flush()  # rows that reference it may be flushed in any order after this
    return blob


def store_file(ctx: Ctx, data: bytes, content_type: str) -> str:
    """Store bytes the platform produced (e.g. a document's PDF) once; returns the SHA-256."""
    return _store(ctx, data, content_type).sha256


def safe_filename(name: str) -> str:
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"[\x00-\x1f]", "", base).strip() or "material"
    return base[:255]


def _attach(
    ctx: Ctx, application: Application, service: ServiceItem, uploads: Sequence[Upload]
) -> None:
    types = _check_uploads(ctx, service, uploads)
    by_code = {m.code: m for m in service.materials}
    today = local_today(ctx)
    now = ctx.clock.now()
    for up, ctype in zip(uploads, types, strict=True):
        blob = _store(ctx, up.content, ctype)
        filename = safe_filename(up.filename)
        ctx.session.add(
            ApplicationMaterial(
                application_id=application.id,
                material_code=up.material_code,
                blob_sha256=blob.sha256,
                filename=filename,
                reused=False,
                added_at=now,
            )
        )
        spec = by_code[up.material_code]
        if (
            spec.certificate
            and repo.on_file_entry(
                ctx.session, application.applicant_id, up.material_code, blob.sha256
            )
            is None
        ):
            ctx.session.add(
                ApplicantMaterial(
                    applicant_id=application.applicant_id,
                    material_code=up.material_code,
                    blob_sha256=blob.sha256,
                    filename=filename,
                    valid_until=today + timedelta(days=spec.valid_days)
                    if spec.valid_days
                    else None,
                    source_application_id=application.id,
                    added_at=now,
                )
            )


def material_content(ctx: Ctx, sha256: str) -> bytes:
    return blob_store(ctx).get(sha256)


# --- applications --------------------------------------------------------------------------


def validate_form(service: ServiceItem, form: dict[str, Any]) -> dict[str, Any]:
    """Check the form against the service's declared fields; all problems reported at once."""
    problems: list[str] = []
    clean: dict[str, Any] = {}
    declared = {f["name"]: f for f in service.form_fields}
    for name in form:
        if name not in declared:
            problems.append(f"{name}: not a field of this service")
    for name, f in declared.items():
        value = form.get(name)
        if value is None or value == "":
            if f.get("required"):
                problems.append(f"{name}: required")
            continue
        try:
            clean[name] = _coerce(f, value)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
    if problems:
        raise ValidationFailed(
            "The application form has problems: " + "; ".join(problems),
            message_zh="申请表填写有误：" + "；".join(problems),
            code="application.form_invalid",
            details={"problems": problems},
        )
    return clean


def _coerce(field: dict[str, Any], value: Any) -> Any:
    kind = field.get("type", "string")
    if kind == "number":
        if isinstance(value, bool):
            raise ValueError("expected a number")
        return float(value)
    if kind == "integer":
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError("expected a whole number")
        return int(value)
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "1", "yes", "是"):
            return True
        if str(value).lower() in ("false", "0", "no", "否"):
            return False
        raise ValueError("expected true or false")
    if kind == "date":
        return date.fromisoformat(str(value)).isoformat()
    if kind == "multi":
        return _coerce_multi(field, value)
    text = str(value).strip()
    if len(text) > 2000:
        raise ValueError("too long (2000 characters at most)")
    if kind == "enum" and text not in field.get("options", []):
        raise ValueError(f"must be one of {', '.join(field.get('options', []))}")
    return text


MULTI_SEPARATOR = "；"


def _coerce_multi(field: dict[str, Any], value: Any) -> str:
    """Several options of the field's list, kept as one text joined by ``；`` in the field's
    order (a process reads it as text: ``"餐饮" in business_scope``)."""
    items = value if isinstance(value, list | tuple) else str(value).split(MULTI_SEPARATOR)
    chosen = {str(v).strip() for v in items if str(v).strip()}
    options = [str(o) for o in field.get("options", [])]
    outside = sorted(chosen - set(options))
    if outside:
        raise ValueError(f"not among the options: {', '.join(outside)}")
    if not chosen:
        raise ValueError("choose at least one option")
    return MULTI_SEPARATOR.join(o for o in options if o in chosen)


def create_application(
    ctx: Ctx,
    service: ServiceItem,
    applicant_in: ApplicantIn,
    *,
    channel: str,
    form: dict[str, Any],
    uploads: Sequence[Upload],
    actor: str,
    promised: Collection[str] = (),
) -> tuple[Application, list[MaterialCheck]]:
    """Take one application (一窗受理); every check runs before anything is written.

    ``promised`` names materials the applicant promises to hand in later (容缺受理): each must
    be one the service marks deferrable; a promised material that is in fact provided or on
    file needs no promise and gets none.

    Raises:
        ValidationFailed: bad channel, applicant, form, upload or promise (the code says which).
        MaterialsMissing: with every missing material listed in ``details["missing"]``.
    """
    if channel not in CHANNELS:
        raise ValidationFailed(
            f"Unknown channel {channel!r}: use {', '.join(CHANNELS)}",
            message_zh="受理渠道只能是 online、window 或 hotline",
            code="application.invalid_channel",
        )
    clean_applicant = normalise_applicant(ctx, applicant_in)
    if service.applicant_kind not in ("any", clean_applicant.kind):
        raise ValidationFailed(
            f"{service.code} is for {service.applicant_kind} applicants",
            message_zh=f"事项 {service.code} 的申请人须为"
            + ("个人" if service.applicant_kind == "person" else "法人"),
            code="application.applicant_kind_mismatch",
        )
    clean_form = validate_form(service, form)
    _check_uploads(ctx, service, uploads)
    existing = repo.applicant_by_number(
        ctx.session, clean_applicant.kind, clean_applicant.id_number
    )
    checks = check_completeness(ctx, service, existing, {u.material_code for u in uploads})
    check_promises(service, promised)
    owed = [c.code for c in missing(checks) if c.code in promised]
    lacking = [m for m in missing(checks) if m.code not in owed]
    if lacking:
        raise MaterialsMissing(
            f"{len(lacking)} required material(s) missing: "
            + ", ".join(m.name_en for m in lacking),
            message_zh=f"缺少 {len(lacking)} 项必要材料：" + "、".join(m.name_zh for m in lacking),
            details={
                "missing": [
                    {"code": m.code, "name_zh": m.name_zh, "name_en": m.name_en} for m in lacking
                ]
            },
        )

    applicant = get_or_register_applicant(ctx, clean_applicant)
    now = ctx.clock.now()
    application = Application(
        number=uuid.uuid4().hex[:32],  # replaced below once the id is known
        service_item_id=service.id,
        process_definition_id=service.process_definition_id,
        applicant_id=applicant.id,
        channel=channel,
        form_data=clean_form,
        status="in_progress",
        submitted_at=now,
        deadline=ctx.calendar.add_workdays(now, service.time_limit_days),
        returns=0,
        submitted_by=actor,
    )
    ctx.session.add(application)
    ctx.session.flush()
    application.number = f"OW{now.astimezone(ctx.calendar.zone):%Y%m%d}{application.id:08d}"
    _attach(ctx, application, service, uploads)
    _reuse_on_file(ctx, application, checks)
    if owed:
        due = promise_due_on(ctx, service)
        for code in owed:
            ctx.session.add(
                MaterialPromise(
                    application_id=application.id,
                    material_code=code,
                    due_on=due,
                    promised_at=now,
                    promised_to=actor,
                    state="open",
                )
            )
    ctx.session.flush()
    return application, checks


# --- 容缺受理: materials promised by a date ---------------------------------------------------


def deferrable_codes(service: ServiceItem) -> set[str]:
    """Materials the service accepts on a promise (none unless it sets ``deferral_days``)."""
    if not service.deferral_days:
        return set()
    return {m.code for m in service.materials if m.deferrable}


def promise_due_on(ctx: Ctx, service: ServiceItem) -> date:
    """The last day a material promised today may come (working days, as time limits)."""
    return ctx.calendar.add_workdays(ctx.clock.now(), service.deferral_days or 0)


def check_promises(service: ServiceItem, promised: Collection[str]) -> None:
    """Raises: ValidationFailed when a promised material is not one the service defers."""
    refused = sorted(set(promised) - deferrable_codes(service))
    if refused:
        raise ValidationFailed(
            f"{service.code} does not accept a promise for: {', '.join(refused)}",
            message_zh=f"事项 {service.code} 的以下材料不适用容缺受理：" + "、".join(refused),
            code="application.not_deferrable",
            details={"refused": refused, "allowed": sorted(deferrable_codes(service))},
        )


def promises_of(ctx: Ctx, application: Application) -> Sequence[MaterialPromise]:
    return repo.promises_of(ctx.session, application.id)


def unsettled_promises(ctx: Ctx, application_id: int) -> list[MaterialPromise]:
    """Promises not fulfilled (open or lapsed): the case may not be approved meanwhile."""
    return [p for p in repo.promises_of(ctx.session, application_id) if p.state != "fulfilled"]


def fulfil_promise(
    ctx: Ctx, application: Application, service: ServiceItem, upload: Upload, *, actor: str
) -> MaterialPromise:
    """The promised material is handed in: attach it and settle the promise.

    A lapsed promise may still be fulfilled (late): the case was waiting on it all along.

    Raises:
        ValidationFailed: no unsettled promise of this material on the application.
        MaterialRejected: the file itself is refused.
    """
    promise = next(
        (
            p
            for p in repo.promises_of(ctx.session, application.id)
            if p.material_code == upload.material_code and p.state != "fulfilled"
        ),
        None,
    )
    if promise is None:
        raise ValidationFailed(
            "Nothing of this material was promised on this application",
            message_zh="本办件没有该材料的容缺承诺",
            code="promise.unknown",
        )
    _attach(ctx, application, service, [upload])
    promise.state = "fulfilled"
    promise.settled_at = ctx.clock.now()
    ctx.session.flush()
    return promise


def lapse_due_promises(ctx: Ctx, *, limit: int = 200) -> list[MaterialPromise]:
    """Open promises whose last day has passed become lapsed; returns them (worker job)."""
    rows = list(repo.open_promises_due_before(ctx.session, local_today(ctx), limit=limit))
    now = ctx.clock.now()
    for p in rows:
        p.state = "lapsed"
        p.settled_at = now
    ctx.session.flush()
    return rows


def applications_taken_on(
    ctx: Ctx,
    day: date,
    *,
    channel: str | None,
    submitted_by: str | None = None,
    limit: int,
    offset: int,
) -> tuple[Sequence[Application], int]:
    """One local day's applications (the desk's 今日受理), newest first, and their total."""
    zone = ctx.calendar.zone
    start = datetime.combine(day, time.min, tzinfo=zone)
    return repo.applications_taken_between(
        ctx.session,
        start,
        start + timedelta(days=1),
        channel=channel,
        submitted_by=submitted_by,
        limit=min(max(limit, 1), 200),
        offset=max(offset, 0),
    )


def _reuse_on_file(
    ctx: Ctx, application: Application, checks: Sequence[MaterialCheck]
) -> list[str]:
    """Attach the on-file copy of every material reported ``on_file`` (免提交)."""
    wanted = {c.code for c in checks if c.state == "on_file"}
    if not wanted:
        return []
    done: list[str] = []
    now = ctx.clock.now()
    for m in repo.materials_on_file(ctx.session, application.applicant_id, local_today(ctx)):
        if m.material_code in wanted and m.material_code not in done:
            ctx.session.add(
                ApplicationMaterial(
                    application_id=application.id,
                    material_code=m.material_code,
                    blob_sha256=m.blob_sha256,
                    filename=m.filename,
                    reused=True,
                    added_at=now,
                )
            )
            done.append(m.material_code)
    return done


def add_materials(
    ctx: Ctx,
    application: Application,
    service: ServiceItem,
    uploads: Sequence[Upload],
    *,
    actor: str,
) -> None:
    """补正: the applicant hands in what was missing."""
    _attach(ctx, application, service, uploads)
    ctx.session.flush()


def get_application(ctx: Ctx, application_id: int) -> Application:
    key = ("intake.application", application_id)
    app: Application | None = ctx.memo.get(key)
    if app is None:
        app = repo.application_by_id(ctx.session, application_id)
        if app is None:
            raise NotFound(
                "No such application", message_zh="办件不存在", code="application.unknown"
            )
        # Held for the transaction: the session's identity map keeps rows only weakly, so a
        # step that looks its application up three times would otherwise read it three times.
        ctx.memo[key] = app
    return app


def get_application_by_number(ctx: Ctx, number: str) -> Application:
    app = repo.application_by_number(ctx.session, number)
    if app is None:
        raise NotFound(
            f"No application {number}",
            message_zh=f"办件 {number} 不存在",
            code="application.unknown",
        )
    return app


def list_applications(
    ctx: Ctx,
    *,
    applicant_id: int | None = None,
    status: str | None = None,
    overdue: bool = False,
    limit: int = 50,
    offset: int = 0,
) -> Sequence[Application]:
    return repo.applications(
        ctx.session,
        applicant_id=applicant_id,
        status=status,
        overdue_on=local_today(ctx) if overdue else None,
        limit=min(max(limit, 1), 500),
        offset=max(offset, 0),
    )


def find_applications(
    ctx: Ctx,
    *,
    status: str | None = None,
    service_item_id: int | None = None,
    overdue: bool = False,
    returned: bool = False,
    ids: Collection[int] | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[int, Sequence[Application]]:
    """(the number of applications matching every filter given, one page newest first).

    ``overdue`` is ``is_overdue``; ``returned``: sent back for 补正 at least once; ``ids``
    restricts to those applications."""
    return repo.find_applications(
        ctx.session,
        status=status,
        service_item_id=service_item_id,
        overdue_on=local_today(ctx) if overdue else None,
        returned=returned,
        ids=ids,
        limit=min(max(limit, 1), 500),
        offset=max(offset, 0),
    )


def applications_by_ids(ctx: Ctx, ids: Collection[int]) -> dict[int, Application]:
    return repo.applications_by_ids(ctx.session, ids)


def count_returned(ctx: Ctx) -> int:
    """Applications sent back for 补正 at least once (``total_returns`` counts the times)."""
    return repo.count_returned(ctx.session)


def set_status(ctx: Ctx, application: Application, status: str) -> None:
    application.status = status
    if status in CLOSED_STATUSES:
        application.closed_at = ctx.clock.now()


def is_overdue(ctx: Ctx, application: Application) -> bool:
    """The one definition of an overdue case, for every page, API and report."""
    return rules.is_overdue(
        closed=application.closed_at is not None,
        waiting_for_applicant=application.status == "returned",
        deadline=application.deadline,
        today=local_today(ctx),
    )


def count_return(ctx: Ctx, application: Application) -> None:
    application.returns += 1
    application.status = "returned"


def status_counts(ctx: Ctx) -> dict[str, int]:
    return repo.status_counts(ctx.session)


def count_applications(ctx: Ctx) -> int:
    return repo.count_applications(ctx.session)


def total_returns(ctx: Ctx) -> int:
    return repo.total_returns(ctx.session)


def get_blob(ctx: Ctx, sha256: str) -> Blob | None:
    """The stored file's metadata (size, sniffed content type), or ``None``."""
    return repo.blob(ctx.session, sha256)


def applications_of_phone(ctx: Ctx, phone: str, *, limit: int = 100) -> Sequence[Application]:
    """What an applicant signed in with a verified mobile number may list as their own."""
    return repo.applications_by_phone(ctx.session, phone, limit=min(max(limit, 1), 500))


def status_counts_by_service(ctx: Ctx) -> dict[int, dict[str, int]]:
    """Applications per service item id and status."""
    return repo.status_counts_by_service(ctx.session)


def overdue_counts_by_service(ctx: Ctx) -> dict[int, int]:
    """Open applications past their deadline, per service item id."""
    return repo.overdue_counts_by_service(ctx.session, local_today(ctx))


def check_upload(ctx: Ctx, service: ServiceItem, upload: Upload) -> str:
    """Check one upload exactly as ``create_application`` would; returns its content type.

    Raises:
        ValidationFailed: a material code the service does not ask for.
        MaterialRejected: empty, too large, or a file type not allowed.
    """
    return _check_uploads(ctx, service, [upload])[0]


# --- personal data: rights of the applicant and encryption upkeep (GB/T 35273-2020 §8, §6.3) --


def applicants_of_phone(ctx: Ctx, phone: str) -> Sequence[Applicant]:
    return repo.applicants_by_phone(ctx.session, phone)


def applications_of_applicant(ctx: Ctx, applicant_id: int) -> Sequence[Application]:
    return repo.applications(ctx.session, applicant_id=applicant_id, limit=10_000)


def materials_on_file_of(ctx: Ctx, applicant_id: int) -> Sequence[ApplicantMaterial]:
    return repo.materials_of_applicant(ctx.session, applicant_id)


def correct_applicant(
    ctx: Ctx, applicant: Applicant, *, name: str | None = None, phone: str | None = None
) -> None:
    """Apply a correction the applicant asked for and staff accepted."""
    if name is not None:
        clean = re.sub(r"\s+", " ", name).strip()
        if not clean or len(clean) > _NAME_MAX:
            raise ValidationFailed(
                "Applicant name is empty or too long",
                message_zh="申请人名称为空或过长",
                code="applicant.invalid_name",
            )
        applicant.name = clean
    if phone is not None:
        applicant.phone = phone.strip() or None
    ctx.session.flush()


def delete_applicant(ctx: Ctx, applicant: Applicant) -> None:
    """Erase an applicant with no applications (the caller checked retention first)."""
    if repo.count_applications_of(ctx.session, applicant.id):
        raise ValidationFailed(
            "An applicant with applications is kept with the case files",
            message_zh="已有办件的申请人信息随办件档案保存，不能删除",
            code="applicant.retained",
        )
    for m in repo.materials_of_applicant(ctx.session, applicant.id):
        ctx.session.delete(m)
    ctx.session.delete(applicant)
    ctx.session.flush()


def reencrypt_applicants(ctx: Ctx, active_key_id: str, *, limit: int = 500) -> int:
    """Re-encrypt up to ``limit`` applicants still under an older data key; returns how many.

    Rows under the old key stay readable meanwhile, so rotation needs no downtime.
    """
    rows = repo.applicants_not_under_key(ctx.session, active_key_id, limit=limit)
    for a in rows:
        a.id_number = a.id_number  # the setter re-encrypts under the active key
        a.phone = a.phone
        flag_modified(a, "id_number_enc")
        flag_modified(a, "phone_enc")
    ctx.session.flush()
    return len(rows)


def reencrypt_forms(ctx: Ctx, active_key_id: str, *, limit: int = 500) -> int:
    """Re-seal up to ``limit`` application forms holding values sealed under an older key."""
    rows = repo.forms_not_under_key(ctx.session, active_key_id, limit=limit)
    for application in rows:
        flag_modified(application, "form_data")  # written back, every value sealed anew
    ctx.session.flush()
    return len(rows)


def applicants_by_case(ctx: Ctx) -> dict[str, Applicant]:
    """Case number → applicant, for every application (de-identified exports)."""
    return dict(repo.application_applicants(ctx.session))
