"""How staff pages tell a case: names instead of usernames, the history in words, a closed
task as what happened to it, and a case's materials with their versions.

Shared by the task page (``routes``) and the workbench's case page (``workbench``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from onewindow.catalog import service as catalog
from onewindow.catalog.models import ServiceItem
from onewindow.intake import service as intake
from onewindow.intake.models import Application, ApplicationMaterial
from onewindow.kit.platform import Ctx
from onewindow.web.i18n import MESSAGES, Lang, translate
from onewindow.workflow import service as workflow
from onewindow.workflow.models import Case, Decision, Task

# Shown inline on the case page; anything else is only downloaded.
PREVIEWABLE = frozenset({"application/pdf", "image/png", "image/jpeg", "image/gif", "image/webp"})
# What an online submission records as its actor (the portal, on the applicant's behalf).
ONLINE_RESOURCE = "portal"
TONES = {
    "application_submitted": "done",
    "task_claimed": "start",
    "task_completed": "done",
    "case_returned": "warn",
    "task_escalated": "bad",
    "case_approved": "good",
    "case_rejected": "bad",
    "case_not_accepted": "bad",
    "timer_fired": "start",
    "task_cancelled": "start",
    "task_reassigned": "warn",
    "task_transferred": "warn",
    "task_unclaimed": "warn",
}


def staff_names(ctx: Ctx) -> dict[str, str]:
    """username -> the person's name, for every member of staff (once per transaction)."""
    names: dict[str, str] | None = ctx.memo.get("staff_names")
    if names is None:
        names = ctx.memo["staff_names"] = {s.username: s.name for s in catalog.list_staff(ctx)}
    return names


def person_name(ctx: Ctx, lang: Lang, username: str | None) -> str:
    """Who did something, in words: a name, "系统" / "申请人", or the username as a last resort."""
    if not username:
        return ""
    if username == workflow.SYSTEM_RESOURCE:
        return translate(lang, "wb_who_system")
    if username in (workflow.APPLICANT_RESOURCE, ONLINE_RESOURCE):
        return translate(lang, "wb_who_applicant")
    if username.startswith("system:"):  # a department's own system, by its token's name
        return translate(lang, "wb_who_department_system", name=username[7:])
    return staff_names(ctx).get(username, username)


def department_names(ctx: Ctx, lang: Lang) -> dict[str, str]:
    return {
        d.code: (d.name_en if lang == "en" else d.name_zh) for d in catalog.list_departments(ctx)
    }


def english_names(ctx: Ctx, case: Case) -> dict[str, str]:
    """BPMN id -> English name (the elements' ``name_en`` property) of a case's process and of
    the processes it calls; once per case and transaction."""
    key = f"english_names:{case.id}"
    names: dict[str, str] | None = ctx.memo.get(key)
    if names is None:
        names = {}
        for called in (case.called_versions or {}).values():
            names.update(catalog.element_names_en(ctx, called))
        names.update(catalog.element_names_en(ctx, case.process_definition_id))
        ctx.memo[key] = names
    return names


def element_name(ctx: Ctx, lang: Lang, case: Case, element_id: str | None, name: str) -> str:
    """What a page calls a BPMN element: in English its ``name_en`` when the process gives
    one, otherwise (and in Chinese) ``name``, the BPMN name."""
    if lang != "en" or not element_id:
        return name
    return english_names(ctx, case).get(element_id, name)


def task_name(ctx: Ctx, lang: Lang, task: Task, case: Case | None = None) -> str:
    """A task's name in the page's language (``element_name`` of its BPMN element)."""
    if lang != "en":
        return task.name
    return element_name(
        ctx, lang, case or workflow.get_case(ctx, task.case_id), task.element_id, task.name
    )


@dataclass(frozen=True)
class HistoryRow:
    """One line of a case's history as staff read it."""

    at: datetime
    label: str
    who: str
    department: str
    tone: str
    decision: Decision | None
    note: str


def _label(lang: Lang, event_type: str, activity: str) -> str:
    for key in (f"ev_{event_type}", f"wb_ev_{event_type}"):
        if key in MESSAGES:
            return translate(lang, key, activity=activity)
    return activity


def history_rows(ctx: Ctx, lang: Lang, case: Case) -> list[HistoryRow]:
    """Every event of the case in words, with the opinions of the decisions taken."""
    names = workflow.case_element_names(ctx, case)
    departments = department_names(ctx, lang)
    out = []
    for entry in workflow.case_history(ctx, case):
        e = entry.event
        activity = names.get(e.activity_id or "", "") if e.event_type == "timer_fired" else ""
        activity = activity or names.get(e.activity, e.activity)
        activity = element_name(ctx, lang, case, e.activity_id, activity)
        attributes: Mapping[str, Any] = e.attributes or {}
        note = ""
        if e.event_type == "task_completed" and e.resource == workflow.APPLICANT_RESOURCE:
            label = translate(lang, "ev_applicant_completed")
        elif e.event_type == "task_escalated":
            label = translate(lang, "ev_task_escalated")
            note = element_name(ctx, lang, case, e.activity_id, str(attributes.get("task") or ""))
        else:
            label = _label(lang, e.event_type, activity)
        if e.event_type == "task_reassigned":
            note = " → ".join(
                person_name(ctx, lang, str(attributes.get(k) or "")) or "—" for k in ("from", "to")
            )
        elif e.event_type == "task_transferred":
            note = " → ".join(
                departments.get(str(attributes.get(k) or ""), str(attributes.get(k) or ""))
                for k in ("from", "to")
            )
        if attributes.get("comment") and e.event_type.startswith("task_"):
            note = f"{note}{translate(lang, 'colon') if note else ''}{attributes['comment']}"
        out.append(
            HistoryRow(
                at=e.timestamp,
                label=label,
                who=person_name(ctx, lang, e.resource),
                department=departments.get(e.department or "", e.department or ""),
                tone=TONES.get(e.event_type, "done"),
                decision=entry.decision,
                note=note,
            )
        )
    return out


def closed_text(ctx: Ctx, lang: Lang, task: Task) -> str:
    """A task no longer open, said as what happened to it (a 补正 is not "办结")."""
    if task.status == "cancelled":
        return translate(lang, "wb_closed_cancelled")
    decision = workflow.decision_of_task(ctx, task.id)
    if decision is not None and decision.decision == "send_back":
        return translate(lang, "wb_closed_send_back")
    if decision is not None and decision.decision in ("reject", "not_accept"):
        return translate(lang, "wb_closed_reject")
    return translate(lang, "wb_closed_done", who=person_name(ctx, lang, task.completed_by))


@dataclass(frozen=True)
class MaterialVersion:
    """One file handed in for a material; ``current`` is the latest, the rest are superseded."""

    material: ApplicationMaterial
    version: int
    current: bool
    content_type: str

    @property
    def previewable(self) -> bool:
        return self.content_type in PREVIEWABLE

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


@dataclass(frozen=True)
class MaterialGroup:
    code: str
    name: str
    versions: list[MaterialVersion]  # the latest first


def material_groups(
    ctx: Ctx, lang: Lang, application: Application, service: ServiceItem
) -> list[MaterialGroup]:
    """The application's materials, each with its versions (a 补正 adds a new one)."""
    named = {m.code: (m.name_en if lang == "en" else m.name_zh) for m in service.materials}
    order = [m.code for m in service.materials]
    by_code: dict[str, list[ApplicationMaterial]] = {}
    for m in sorted(application.materials, key=lambda m: (m.added_at, m.id)):
        by_code.setdefault(m.material_code, []).append(m)
    groups = []
    for code in sorted(by_code, key=lambda c: (order.index(c) if c in order else len(order), c)):
        files = by_code[code]
        versions = []
        for number, m in enumerate(files, start=1):
            blob = intake.get_blob(ctx, m.blob_sha256)
            versions.append(
                MaterialVersion(
                    material=m,
                    version=number,
                    current=number == len(files),
                    content_type=blob.content_type if blob else "application/octet-stream",
                )
            )
        groups.append(MaterialGroup(code, named.get(code, code), versions[::-1]))
    return groups


def open_tasks_named(ctx: Ctx, lang: Lang, tasks: Sequence[Task]) -> list[dict[str, Any]]:
    departments = {d.id: d for d in catalog.list_departments(ctx)}
    out = []
    for t in tasks:
        dept = departments.get(t.department_id or 0)
        out.append(
            {
                "task": t,
                "name": task_name(ctx, lang, t),
                "claimed_by": person_name(ctx, lang, t.claimed_by),
                "department": (dept.name_en if lang == "en" else dept.name_zh) if dept else "",
                "department_id": t.department_id,
            }
        )
    return out
