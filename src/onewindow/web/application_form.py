"""The checks an application form gets wherever it is filled in (front desk, portal).

Every check runs, so the applicant is told every problem at once (一次性告知): the applicant's
kind and ID number, the name, the service's form, each file chosen, and the materials still
missing after what is on file (免提交) and what was uploaded. Each problem is keyed by the input
it belongs to and worded in the user's language.

Files survive a failed submission (``intake.staging``): a form carries a staging key, the
files that passed their checks are staged under it for the user who chose them, shown back
as kept, and count as handed in when the form comes again. The front desk and the portal
share ``keep_files`` (after a failure), ``staging_key`` and ``remove_staged`` (one kept file
dropped).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from starlette.datastructures import FormData, UploadFile

from onewindow.catalog import service as catalog
from onewindow.catalog.models import ServiceItem, ServiceMaterial
from onewindow.intake import service as intake
from onewindow.intake import staging
from onewindow.intake.models import Applicant, StagedUpload
from onewindow.intake.schemas import ApplicantIn, Upload
from onewindow.kit.errors import OneWindowError, ValidationFailed
from onewindow.kit.platform import Ctx
from onewindow.web.i18n import Lang, error_text, translate


@dataclass
class ApplicationForm:
    """What was typed and chosen, and every problem with it, so the form comes back filled in."""

    kind: str = "person"
    id_number: str = ""
    applicant_name: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)  # input name -> its problem
    problems: list[str] = field(default_factory=list)  # problems of the whole application
    missing: set[str] = field(default_factory=set)  # material codes still missing
    files_chosen: bool = False
    uploads: list[Upload] = field(default_factory=list)  # files chosen this time, all good
    # the form's staging key, the files kept under it and those of them still counted
    batch: str = ""
    staged: list[StagedUpload] = field(default_factory=list)
    kept: list[Upload] = field(default_factory=list)

    @property
    def values(self) -> dict[str, str]:
        """The service's form as submitted: the fields that were filled in."""
        return {k: v for k, v in self.fields.items() if v != ""}

    @property
    def all_uploads(self) -> list[Upload]:
        """What the application is taken with: the files chosen now and those kept before."""
        return [*self.uploads, *self.kept]


def _text(form: FormData, name: str, limit: int = 2000) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def staging_key(form: FormData) -> str:
    """The form's staging key; a new one for a form from before staging, or a forged key."""
    try:
        return staging.check_batch(_text(form, "staging", 64))
    except ValidationFailed:
        return staging.new_batch()


def read(form: FormData, service: ServiceItem) -> ApplicationForm:
    return ApplicationForm(
        kind=_text(form, "kind", 16),
        id_number=_text(form, "id_number", 40),
        applicant_name=_text(form, "applicant_name", 200),
        fields={f["name"]: _text(form, f"f_{f['name']}") for f in service.form_fields},
        batch=staging_key(form),
    )


def keep_files(
    ctx: Ctx,
    service: ServiceItem,
    batch: str,
    uploads: Sequence[Upload],
    *,
    actor: str,
    keep_forms: int | None = None,
) -> tuple[str, list[StagedUpload]]:
    """After a failed submission: nothing of the application is written, but the files that
    passed their checks are staged for ``actor``, so the form comes back with them kept
    (files of at most ``keep_forms`` forms at once, see ``staging.stage``).

    Returns the staging key the form carries from now on (a new one when another user
    staged under the key posted) and ``actor``'s files kept under it.
    """
    ctx.session.rollback()
    batch = staging.own_batch(ctx, batch, actor=actor)
    staged = staging.stage(ctx, service, batch, uploads, actor=actor, keep_forms=keep_forms)
    ctx.session.commit()  # the page shown next lists them; the user's next post finds them
    return batch, staged


def remove_staged(ctx: Ctx, form: FormData, *, actor: str) -> ServiceMaterial:
    """One kept file of ``actor``'s form is dropped (htmx); returns the material, whose upload
    cell comes back empty. Another user's key finds nothing to drop.

    Raises:
        NotFound: no such service. ValidationFailed: a bad key, or no such material.
    """
    service = catalog.get_service(ctx, _text(form, "service", 64))
    batch = staging.check_batch(_text(form, "staging", 64))
    code = _text(form, "material", 64)
    material = next((m for m in service.materials if m.code == code), None)
    if material is None:
        raise ValidationFailed(
            "The service asks for no such material",
            message_zh="本事项没有该材料",
            code="material.unknown_code",
        )
    staging.unstage(ctx, batch, code, actor=actor)
    ctx.session.commit()
    return material


def field_problem(lang: Lang, service: ServiceItem, problem: str) -> tuple[str, str]:
    """(field name, what is wrong in words) of one of ``intake.validate_form``'s problems."""
    name, _, what = problem.partition(": ")
    spec = next((f for f in service.form_fields if f.get("name") == name), {})
    label = str(spec.get(f"label_{lang}") or spec.get("label_zh") or name)
    if what == "required":
        return name, translate(lang, "field_required", label=label)
    return name, translate(lang, "field_invalid", label=label, problem=what)


def check(
    ctx: Ctx,
    lang: Lang,
    service: ServiceItem,
    form: FormData,
    data: ApplicationForm,
    *,
    name_label: str,
    staged_by: str,
    may_apply: Callable[[ApplicationForm], None] | None = None,
) -> Applicant | None:
    """Fill ``data``'s errors, problems, missing materials and good uploads; return the
    applicant on file (whose certificates count as handed in), if any.

    Files ``staged_by`` kept under the form's key from an earlier failed submission count as
    handed in (``data.kept``), unless a new file for the same material passed its checks.

    ``may_apply`` raises a OneWindowError when this user may not apply for that applicant
    (a citizen for someone registered under another phone); it is shown beside the ID number.
    """
    try:
        intake.normalise_applicant(ctx, ApplicantIn(data.kind, data.id_number, "-"))
    except ValidationFailed as exc:
        key = "kind" if exc.code == "applicant.invalid_kind" else "id_number"
        data.errors[key] = error_text(lang, exc)
    if service.applicant_kind not in ("any", data.kind) and "kind" not in data.errors:
        data.errors["kind"] = translate(
            lang, "kind_mismatch", kind=translate(lang, f"kind_{service.applicant_kind}")
        )
    if not data.applicant_name:
        data.errors["applicant_name"] = translate(lang, "field_required", label=name_label)
    try:
        intake.validate_form(service, data.values)
    except ValidationFailed as exc:
        for problem in exc.details.get("problems", []):
            name, text = field_problem(lang, service, str(problem))
            data.errors[f"f_{name}"] = text
    tried: set[str] = set()
    for m in service.materials:
        file = form.get(f"file_{m.code}")
        if not isinstance(file, UploadFile) or not file.filename:
            continue
        data.files_chosen = True
        tried.add(m.code)
        upload = Upload(m.code, file.filename, file.file.read())
        try:
            intake.check_upload(ctx, service, upload)
        except ValidationFailed as exc:
            data.errors[f"file_{m.code}"] = error_text(lang, exc)
            continue
        data.uploads.append(upload)
    data.kept = staging.as_uploads(
        ctx, service, data.batch, actor=staged_by, skip={u.material_code for u in data.uploads}
    )
    applicant = None
    if "id_number" not in data.errors and "kind" not in data.errors:
        try:
            if may_apply is not None:
                may_apply(data)
            applicant = intake.find_applicant(ctx, data.kind, data.id_number)
        except OneWindowError as exc:
            data.errors["id_number"] = error_text(lang, exc)
    handed_in = {u.material_code for u in data.all_uploads}
    checks = intake.check_completeness(ctx, service, applicant, handed_in)
    lacking = [c for c in checks if c.state == "missing" and c.code not in tried]
    if lacking:
        data.missing = {c.code for c in lacking}
        names = ("、" if lang == "zh" else ", ").join(
            c.name_en if lang == "en" else c.name_zh for c in lacking
        )
        data.problems.insert(0, translate(lang, "missing_all", n=len(lacking), names=names))
    return applicant
