"""Catalogue rules and state changes: departments, staff, service items, process versions."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from lxml import etree
from pydantic import ValidationError

from onewindow.catalog import repository as repo
from onewindow.catalog.models import (
    Department,
    ProcessDefinition,
    ServiceItem,
    ServiceMaterial,
    Staff,
)
from onewindow.catalog.schemas import (
    APPLICANT_LANE,
    DepartmentsFile,
    MaterialIn,
    ServiceEdit,
    ServiceFile,
    StaffEdit,
    StaffIn,
)
from onewindow.kit.errors import NotFound, ValidationFailed
from onewindow.kit.platform import Ctx
from onewindow.workflow.engine import (
    CompiledProcess,
    ProcessInvalid,
    ProcessProblem,
    compile_bpmn,
    trial_start,
)

SHARED_PROCESSES = "processes"  # a catalogue folder's processes that services call


class CatalogInvalid(ValidationFailed):
    code = "catalog.invalid"


@dataclass
class LoadReport:
    departments: int = 0
    staff: int = 0
    services: int = 0
    new_process_versions: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _ParsedService:
    path: Path
    spec: ServiceFile
    bpmn: bytes
    dmn: tuple[bytes, ...]
    compiled: CompiledProcess


# --- queries -------------------------------------------------------------------------------


def get_service(ctx: Ctx, code: str) -> ServiceItem:
    item = repo.service_by_code(ctx.session, code)
    if item is None or not item.active:
        raise NotFound(
            f"Unknown service item {code!r}",
            message_zh=f"事项 {code} 不存在",
            code="service.unknown",
        )
    return item


def get_service_by_id(ctx: Ctx, service_item_id: int) -> ServiceItem:
    item = ctx.session.get(ServiceItem, service_item_id)
    if item is None:
        raise NotFound("Unknown service item", message_zh="事项不存在", code="service.unknown")
    return item


def list_services(ctx: Ctx) -> Sequence[ServiceItem]:
    return repo.services(ctx.session)


def get_department(ctx: Ctx, code: str) -> Department:
    dept = repo.department_by_code(ctx.session, code)
    if dept is None:
        raise NotFound(
            f"Unknown department {code!r}",
            message_zh=f"部门 {code} 不存在",
            code="department.unknown",
        )
    return dept


def list_departments(ctx: Ctx) -> Sequence[Department]:
    return repo.departments(ctx.session)


def get_staff(ctx: Ctx, username: str) -> Staff:
    staff = repo.staff_by_username(ctx.session, username)
    if staff is None or not staff.active:
        raise NotFound(
            f"Unknown staff member {username!r}",
            message_zh=f"工作人员 {username} 不存在",
            code="staff.unknown",
        )
    return staff


def list_staff(ctx: Ctx, department_code: str | None = None) -> Sequence[Staff]:
    dept_id = get_department(ctx, department_code).id if department_code else None
    return repo.staff_list(ctx.session, dept_id)


def get_process(ctx: Ctx, process_definition_id: int) -> ProcessDefinition:
    proc = repo.process_by_id(ctx.session, process_definition_id)
    if proc is None:
        raise NotFound(
            f"Unknown process definition {process_definition_id}",
            message_zh="流程定义不存在",
            code="process.unknown",
        )
    return proc


def compiled_process(ctx: Ctx, process_definition_id: int) -> CompiledProcess:
    """The engine-ready form of a stored process version.

    A stored version never changes, so the platform keeps it by id after the first read.
    """
    key = ("compiled_process", process_definition_id)
    compiled: CompiledProcess | None = ctx.shared.get(key)
    if compiled is None:
        proc = get_process(ctx, process_definition_id)
        compiled = ctx.shared[key] = CompiledProcess.from_json(proc.compiled)
    return compiled


# An element's English name (pages in English): a Camunda extension property on the element,
# ``<camunda:property name="name_en" value="Window acceptance"/>`` (docs/process-authoring.md).
NAME_EN_PROPERTY = "name_en"
_BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
_CAMUNDA = "{http://camunda.org/schema/1.0/bpmn}"


def english_names(bpmn_xml: str) -> dict[str, str]:
    """BPMN id -> the English name its ``name_en`` extension property gives (elements without
    one are left out: pages show their BPMN name)."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    root = etree.fromstring(bpmn_xml.encode(), parser=parser)
    out: dict[str, str] = {}
    for prop in root.iter(f"{_CAMUNDA}property"):
        if prop.get("name") != NAME_EN_PROPERTY or not (prop.get("value") or "").strip():
            continue
        holder = prop.getparent()  # camunda:properties < bpmn:extensionElements < element
        element = holder.getparent() if holder is not None else None
        element = element.getparent() if element is not None else None
        if element is not None and str(element.tag).startswith(_BPMN) and element.get("id"):
            out[str(element.get("id"))] = " ".join(str(prop.get("value")).split())
    return out


def element_names_en(ctx: Ctx, process_definition_id: int) -> dict[str, str]:
    """``english_names`` of one stored process version, kept by id after the first read (a
    stored version never changes)."""
    key = ("element_names_en", process_definition_id)
    names: dict[str, str] | None = ctx.shared.get(key)
    if names is None:
        names = ctx.shared[key] = english_names(get_process(ctx, process_definition_id).bpmn_xml)
    return names


def process_versions(ctx: Ctx, process_key: str) -> Sequence[ProcessDefinition]:
    return repo.process_versions(ctx.session, process_key)


def bpmn_keys(bpmn: bytes) -> tuple[str | None, list[str]]:
    """The id of a file's executable process and the processes its call activities call,
    read without compiling (``None, []`` for a file compiling would refuse anyway)."""
    if b"<!DOCTYPE" in bpmn or b"<!ENTITY" in bpmn:
        return None, []
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(bpmn, parser=parser)
    except etree.XMLSyntaxError:
        return None, []
    ns = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
    processes = root.findall(f"{ns}process")
    executable = [p for p in processes if p.get("isExecutable") == "true"]
    own = {str(p.get("id")) for p in processes}
    key = str(executable[0].get("id")) if len(executable) == 1 else None
    called = {
        str(el.get("calledElement"))
        for p in executable
        for el in p.iter(f"{ns}callActivity")
        if el.get("calledElement") and el.get("calledElement") not in own
    }
    return key, sorted(called)


def _called_sources(
    ctx: Ctx, bpmn: bytes, shared: Mapping[str, bytes] | None = None
) -> dict[str, bytes]:
    """The BPMN of each process ``bpmn`` calls: the folder's own shared file being loaded, or
    the catalogue's latest version (a call to anything else is refused by compiling)."""
    out: dict[str, bytes] = {}
    for key in bpmn_keys(bpmn)[1]:
        if shared is not None and key in shared:
            out[key] = shared[key]
            continue
        latest = repo.latest_process(ctx.session, key)
        if latest is not None:
            out[key] = latest.bpmn_xml.encode("utf-8")
    return out


def _one_level(compiled: CompiledProcess, called: Mapping[str, bytes]) -> list[ProcessProblem]:
    """A called process may not call further processes (one level of call activities)."""
    problems = []
    for key in compiled.called:
        deeper = bpmn_keys(called[key])[1] if key in called else []
        if deeper:
            problems.append(
                ProcessProblem(
                    None,
                    f"the called process {key!r} itself calls {', '.join(deeper)}: "
                    "one level of call activities is supported",
                )
            )
    return problems


def _compile(
    ctx: Ctx, bpmn: bytes, dmn: Sequence[bytes], shared: Mapping[str, bytes] | None = None
) -> CompiledProcess:
    called = _called_sources(ctx, bpmn, shared)
    compiled = compile_bpmn(bpmn, dmn, called)
    problems = _one_level(compiled, called)
    if problems:
        raise ProcessInvalid(
            problems[0].message,
            message_zh="被调用的流程不能再调用其他流程",
            details={
                "problems": [{"element_id": p.element_id, "message": p.message} for p in problems]
            },
        )
    # The trial start `process validate` runs: a file loads only if its cases can start.
    others = {key: compile_bpmn(called[key]) for key in compiled.called if key in called}
    problems = trial_start(compiled, others)
    if problems:
        raise ProcessInvalid(
            f"{problems[0].element_id or '-'}: {problems[0].message}",
            message_zh="流程试运行失败",
            details={
                "problems": [{"element_id": p.element_id, "message": p.message} for p in problems]
            },
        )
    return compiled


def bound_versions(ctx: Ctx, compiled: CompiledProcess) -> dict[str, int]:
    """The latest version of each process ``compiled`` calls, for a case starting now.

    Raises:
        NotFound: a called process that is no longer in the catalogue.
    """
    versions: dict[str, int] = {}
    for key in compiled.called:
        latest = repo.latest_process(ctx.session, key)
        if latest is None:
            raise NotFound(
                f"The called process {key!r} is not in the catalogue",
                message_zh=f"被调用的流程 {key} 不在目录中",
                code="process.called_unknown",
            )
        versions[key] = latest.id
    return versions


def called_processes(ctx: Ctx, versions: Mapping[str, int]) -> dict[str, CompiledProcess]:
    """The engine-ready form of the called process versions a case is bound to."""
    return {key: compiled_process(ctx, proc_id) for key, proc_id in versions.items()}


def service_user_tasks(ctx: Ctx, service: ServiceItem) -> list[dict[str, Any]]:
    """The user tasks a new case of the service meets: its process's and those of the
    latest versions of the processes it calls (e.g. the shared 现场核查)."""
    tasks = list(service.process_definition.user_tasks or [])
    for key in compiled_process(ctx, service.process_definition_id).called:
        latest = repo.latest_process(ctx.session, key)
        if latest is not None:
            tasks += list(latest.user_tasks or [])
    return tasks


def all_lanes(compiled: CompiledProcess, called: Mapping[str, CompiledProcess]) -> list[str]:
    """The lanes of a process and of the processes it calls (each lane once, in order)."""
    lanes = list(compiled.lanes)
    for other in called.values():
        lanes += [lane for lane in other.lanes if lane not in lanes]
    return lanes


def department_for_lane(service: ServiceItem, lane: str | None) -> str | None:
    """Department code behind a BPMN lane; ``None`` for the applicant's own lane."""
    if lane is None:
        return None
    code = service.lanes.get(lane, lane)
    return None if code == APPLICANT_LANE else code


# --- staff and service items, as an administrator edits them ---------------------------------


CHOICE_TYPES = ("enum", "multi")  # form fields whose values come from their options


class StaffInvalid(ValidationFailed):
    code = "staff.invalid"


class ServiceInvalid(ValidationFailed):
    code = "service.invalid"


# pydantic error type -> (English, 中文); {placeholders} come from the error's context
_FIELD_MESSAGES: dict[str, tuple[str, str]] = {
    "missing": ("required", "必填"),
    "string_too_short": ("required", "必填"),
    "string_too_long": ("at most {max_length} characters", "最多 {max_length} 个字符"),
    "string_pattern_mismatch": (
        "lower-case letters, digits and _ only, starting with a letter",
        "只能用小写字母、数字和下划线，并以字母开头",
    ),
    "greater_than": ("must be more than {gt}", "应大于 {gt}"),
    "less_than_equal": ("must be at most {le}", "不能超过 {le}"),
    "int_parsing": ("a whole number", "应为整数"),
    "int_type": ("a whole number", "应为整数"),
    "literal_error": ("not one of the allowed values", "不是允许的取值"),
    "too_short": ("choose at least one", "至少选择一项"),
}


def _field(en: str, zh: str) -> dict[str, str]:
    return {"en": en, "zh": zh}


def field_problems(exc: ValidationError) -> dict[str, dict[str, str]]:
    """Pydantic's errors keyed by the field's dotted path (``materials.2.code``), each in both
    languages; the first problem of a field wins."""
    out: dict[str, dict[str, str]] = {}
    for err in exc.errors():
        loc = [str(p) for p in err["loc"]]
        if loc and loc[-1].startswith(("literal[", "function-")):
            loc = loc[:-1]
        if len(loc) == 2 and loc[0] == "form" and loc[1].isdigit():
            loc.append("options")  # a form field's own checks are about its options
        key = ".".join(loc)
        values = {k: v for k, v in (err.get("ctx") or {}).items() if isinstance(v, int | str)}
        en, zh = _FIELD_MESSAGES.get(err["type"], (err["msg"], err["msg"]))
        if err["type"] == "string_too_short" and values.get("min_length", 1) != 1:
            en, zh = "at least {min_length} characters", "至少 {min_length} 个字符"
        try:
            en, zh = en.format(**values), zh.format(**values)
        except (KeyError, IndexError):
            pass
        out.setdefault(key, _field(en, zh))
    return out


def _invalid(cls: type[ValidationFailed], fields: Mapping[str, dict[str, str]]) -> Exception:
    first = next(iter(fields.items()))
    return cls(
        f"{len(fields)} field(s) to correct; first {first[0]}: {first[1]['en']}",
        message_zh=f"有 {len(fields)} 处需要更正",
        details={"fields": dict(fields)},
    )


def staff_page(
    ctx: Ctx,
    *,
    query: str = "",
    department_code: str | None = None,
    active: bool | None = None,
    page: int = 1,
    size: int = 25,
) -> tuple[Sequence[Staff], int]:
    """One page of staff (username or name containing ``query``) and the true total."""
    dept_id = get_department(ctx, department_code).id if department_code else None
    return repo.staff_page(
        ctx.session,
        query=query.strip()[:100],
        department_id=dept_id,
        active=active,
        offset=(max(page, 1) - 1) * size,
        limit=size,
    )


def get_staff_any(ctx: Ctx, username: str) -> Staff:
    """A member of staff, active or not."""
    staff = repo.staff_by_username(ctx.session, username)
    if staff is None:
        raise NotFound(
            f"Unknown staff member {username!r}",
            message_zh=f"工作人员 {username} 不存在",
            code="staff.unknown",
        )
    return staff


def _known_department(ctx: Ctx, code: str, fields: dict[str, dict[str, str]]) -> int | None:
    dept = repo.department_by_code(ctx.session, code)
    if dept is None and "department" not in fields:
        fields["department"] = _field("unknown department", "部门不存在")
    return dept.id if dept else None


def _some_role(data: Mapping[str, Any], fields: dict[str, dict[str, str]]) -> None:
    if not data.get("roles") and "roles" not in fields:
        fields["roles"] = _field("choose at least one role", "请至少选择一个角色")


def create_staff(ctx: Ctx, data: Mapping[str, Any], *, actor: str) -> Staff:
    """Add a member of staff (no password yet: the administrator gives them a reset link).

    Raises:
        StaffInvalid: ``details["fields"]`` maps each bad field to its problem, e.g. a
            username already taken.
    """
    fields: dict[str, dict[str, str]] = {}
    try:
        spec = StaffIn.model_validate(data)
    except ValidationError as exc:
        fields = field_problems(exc)
        spec = None
    username = str(data.get("username", "")).strip()
    if username and repo.staff_by_username(ctx.session, username) is not None:
        fields["username"] = _field("this username is already taken", "该用户名已被使用")
    dept_id = _known_department(ctx, str(data.get("department", "")), fields)
    _some_role(data, fields)
    if fields or spec is None or dept_id is None:
        raise _invalid(StaffInvalid, fields)
    staff = Staff(
        username=spec.username, name=spec.name.strip(), department_id=dept_id, active=True
    )
    staff.roles = sorted(set(spec.roles))
    ctx.session.add(staff)
    ctx.session.flush()
    return staff


def update_staff(ctx: Ctx, username: str, data: Mapping[str, Any], *, actor: str) -> Staff:
    """Change a member of staff's name, department and roles.

    Raises:
        NotFound: no such member of staff.
        StaffInvalid: with the bad fields.
    """
    staff = get_staff_any(ctx, username)
    fields: dict[str, dict[str, str]] = {}
    try:
        spec = StaffEdit.model_validate(data)
    except ValidationError as exc:
        fields = field_problems(exc)
        spec = None
    dept_id = _known_department(ctx, str(data.get("department", "")), fields)
    _some_role(data, fields)
    if fields or spec is None or dept_id is None:
        raise _invalid(StaffInvalid, fields)
    staff.name, staff.department_id = spec.name.strip(), dept_id
    roles: list[str] = sorted(set(spec.roles))
    if roles != sorted(staff.roles or []):
        staff.roles = roles
    ctx.session.flush()
    ctx.session.refresh(staff, ["department"])
    return staff


def set_staff_active(ctx: Ctx, username: str, active: bool, *, actor: str) -> Staff:
    staff = get_staff_any(ctx, username)
    if staff.active != active:
        staff.active = active
        ctx.session.flush()
    return staff


def service_for_edit(ctx: Ctx, code: str) -> ServiceItem:
    """A service item by code, whether or not it is open for applications."""
    item = repo.service_by_code(ctx.session, code)
    if item is None:
        raise NotFound(
            f"Unknown service item {code!r}",
            message_zh=f"事项 {code} 不存在",
            code="service.unknown",
        )
    return item


def service_edit_of(item: ServiceItem) -> dict[str, Any]:
    """The editable parts of a service item, in ``ServiceEdit``'s shape."""
    return {
        "time_limit_days": item.time_limit_days,
        # every field the catalogue file gives a material, so a new one is edited and compared
        "materials": [
            {name: getattr(m, name) for name in MaterialIn.model_fields} for m in item.materials
        ],
        "form": [dict(f) for f in item.form_fields],
        "legal_bases": [dict(b) for b in item.legal_bases],
    }


def _duplicates(
    rows: Sequence[Mapping[str, Any]], attribute: str, prefix: str
) -> dict[str, dict[str, str]]:
    seen: set[str] = set()
    out = {}
    for i, row in enumerate(rows):
        value = str(row.get(attribute) or "")
        if value and value in seen:
            out[f"{prefix}.{i}.{attribute}"] = _field(
                f"{value!r} is already used above", f"「{value}」与上面重复"
            )
        seen.add(value)
    return out


def _list_problems(data: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """What the schema cannot see row by row: codes used twice, options on the wrong fields."""
    fields = {
        **_duplicates(data.get("materials") or [], "code", "materials"),
        **_duplicates(data.get("form") or [], "name", "form"),
        **_duplicates(data.get("legal_bases") or [], "code", "legal_bases"),
    }
    for i, f in enumerate(data.get("form") or []):
        key, options = f"form.{i}.options", list(f.get("options") or [])
        if f.get("type") in CHOICE_TYPES and not options:
            fields[key] = _field("a select field needs its options", "下拉选择字段需要填写选项")
        elif f.get("type") not in CHOICE_TYPES and options:
            fields[key] = _field("options are only for select fields", "只有下拉选择字段才有选项")
        elif len(set(options)) != len(options):
            fields[key] = _field("an option is listed twice", "选项有重复")
    return fields


def update_service_item(ctx: Ctx, code: str, data: Mapping[str, Any], *, actor: str) -> ServiceItem:
    """Replace a service item's materials, time limit, form and legal bases.

    New applications use the new lists; cases already running keep their deadline.

    Raises:
        NotFound: no such service item.
        ServiceInvalid: ``details["fields"]`` keyed by dotted path (``form.1.options``), every
            problem of the form at once.
    """
    item = service_for_edit(ctx, code)
    # A field the editor does not show (a material's, a form field's) keeps its stored value.
    current = service_edit_of(item)
    materials = {m["code"]: m for m in current["materials"]}
    form = {f.get("name"): f for f in current["form"]}
    data = {
        **data,
        "materials": [
            {**materials.get(str(row.get("code")), {}), **row}
            for row in data.get("materials") or []
        ],
        "form": [{**form.get(str(row.get("name")), {}), **row} for row in data.get("form") or []],
    }
    fields = _list_problems(data)
    try:
        spec = ServiceEdit.model_validate(data)
    except ValidationError as exc:
        fields = {**field_problems(exc), **fields}  # ours are worded for the page
        spec = None
    if fields or spec is None:
        raise _invalid(ServiceInvalid, fields)
    item.time_limit_days = spec.time_limit_days
    _set_materials(item, spec.materials)
    item.form_fields = [f.model_dump() for f in spec.form]
    item.legal_bases = [b.model_dump() for b in spec.legal_bases]
    ctx.session.flush()
    return item


# --- state changes -------------------------------------------------------------------------


def register_process(
    ctx: Ctx, bpmn: bytes, dmn: Sequence[bytes] = (), *, actor: str
) -> ProcessDefinition:
    """Store a process once per distinct content; a changed file becomes the next version.

    Raises:
        ProcessInvalid: with every problem found in the file.
    """
    compiled = _compile(ctx, bpmn, dmn)
    _check_callers(ctx, compiled)
    return _store_process(ctx, compiled, bpmn, tuple(dmn))


def _check_callers(ctx: Ctx, compiled: CompiledProcess) -> None:
    """A new version of a called process must not strand the services that call it: each of
    its lanes needs a department in every calling service's file."""
    problems = []
    for service in repo.services(ctx.session):
        caller = compiled_process(ctx, service.process_definition_id)
        if compiled.process_id not in caller.called:
            continue
        for lane in compiled.lanes:
            code = service.lanes.get(lane, lane)
            if code != APPLICANT_LANE and repo.department_by_code(ctx.session, code) is None:
                problems.append(
                    ProcessProblem(
                        None,
                        f"lane {lane!r} maps to no department in service {service.code}, "
                        "which calls this process (add it under its 'lanes:')",
                    )
                )
    if problems:
        raise ProcessInvalid(
            problems[0].message,
            message_zh="新版本的泳道在调用它的事项中没有对应部门",
            details={
                "problems": [{"element_id": p.element_id, "message": p.message} for p in problems]
            },
        )


def switch_process(
    ctx: Ctx,
    service_code: str,
    process: ProcessDefinition,
    *,
    in_person_activities: Sequence[str] | None = None,
    actor: str,
) -> ServiceItem:
    """New applications of the service run on ``process``; running cases keep their version.

    Raises:
        ValidationFailed: an in-person activity that is not a user task of the process.
    """
    item = get_service(ctx, service_code)
    if in_person_activities is not None:
        tasks = {t["task_id"] for t in process.user_tasks}
        unknown = sorted(set(in_person_activities) - tasks)
        if unknown:
            raise ValidationFailed(
                f"Not user tasks of {process.process_key} v{process.version}: {', '.join(unknown)}",
                message_zh=f"以下不是流程的人工任务：{'、'.join(unknown)}",
                code="catalog.unknown_task",
            )
        item.in_person_activities = list(in_person_activities)
    item.process_definition_id = process.id
    ctx.session.flush()
    return item


def _store_process(
    ctx: Ctx, compiled: CompiledProcess, bpmn: bytes, dmn: tuple[bytes, ...]
) -> ProcessDefinition:
    digest = hashlib.sha256(bpmn + b"".join(dmn)).hexdigest()
    existing = repo.process_by_hash(ctx.session, compiled.process_id, digest)
    if existing is not None:
        return existing
    proc = ProcessDefinition(
        process_key=compiled.process_id,
        version=repo.latest_process_version(ctx.session, compiled.process_id) + 1,
        name=compiled.name,
        sha256=digest,
        bpmn_xml=bpmn.decode("utf-8"),
        dmn_xml=[d.decode("utf-8") for d in dmn],
        compiled=compiled.to_json(),
        user_tasks=[
            {
                "task_id": t.task_id,
                "name": t.name,
                "lane": t.lane,
                "can_send_back": t.can_send_back,
                "form_fields": [
                    {
                        "id": f.id,
                        "label": f.label,
                        "type": f.type,
                        "required": f.required,
                        "options": list(f.options),
                    }
                    for f in t.form_fields
                ],
            }
            for t in compiled.user_tasks
        ],
        created_at=ctx.clock.now(),
    )
    ctx.session.add(proc)
    ctx.session.flush()
    return proc


def load_catalog(ctx: Ctx, folder: Path, *, actor: str) -> LoadReport:
    """Load ``departments.yaml`` and ``services/*.yaml`` from a folder, all or nothing.

    Everything is read and checked before anything is written, so a folder with one bad file
    changes nothing and the error lists every problem found.

    Raises:
        CatalogInvalid: ``details["problems"]`` lists ``{"file", "element_id", "message"}``.
    """
    problems: list[dict[str, Any]] = []
    folder = folder.resolve()
    depts = _read_departments(folder / "departments.yaml", problems)
    shared = _read_shared(ctx, folder, problems)
    services = _read_services(ctx, folder, problems, {p.key: p.bpmn for p in shared})
    shared_compiled = {p.key: p.compiled for p in shared}

    def called_of(compiled: CompiledProcess) -> dict[str, CompiledProcess]:
        out = {}
        for key in compiled.called:
            if key in shared_compiled:
                out[key] = shared_compiled[key]
            elif (latest := repo.latest_process(ctx.session, key)) is not None:
                out[key] = compiled_process(ctx, latest.id)
        return out

    known_depts = {d.code for d in (depts.departments if depts else [])}
    known_depts |= {d.code for d in repo.departments(ctx.session)}
    if depts:
        for s in depts.staff:
            if s.department not in known_depts:
                problems.append(
                    _problem(
                        folder / "departments.yaml",
                        f"staff {s.username}: unknown department {s.department}",
                    )
                )
    for parsed in services:
        called = called_of(parsed.compiled)
        tasks = [t for c in (parsed.compiled, *called.values()) for t in c.user_tasks]
        outside = [t.task_id for t in tasks if not t.lane]
        if outside and "" not in parsed.spec.lanes:
            problems.append(
                _problem(
                    parsed.path,
                    f"tasks outside any lane ({', '.join(outside)}) need a department: "
                    "add '\"\": CODE' under 'lanes:' in the service file",
                )
            )
        for lane in all_lanes(parsed.compiled, called):
            code = parsed.spec.lanes.get(lane, lane)
            if code != APPLICANT_LANE and code not in known_depts:
                problems.append(
                    _problem(
                        parsed.path,
                        f"lane {lane!r} maps to no known department "
                        f"(add it under 'lanes:' in the service file)",
                    )
                )
        task_ids = {t.task_id for t in tasks}
        acceptance = [parsed.spec.acceptance_task] if parsed.spec.acceptance_task else []
        for task_id in [*parsed.spec.in_person_activities, *parsed.spec.task_sla_days, *acceptance]:
            if task_id not in task_ids:
                problems.append(_problem(parsed.path, f"no user task with id {task_id!r}"))
        codes = [b.code for b in parsed.spec.legal_bases]
        for code in sorted({c for c in codes if codes.count(c) > 1}):
            problems.append(_problem(parsed.path, f"legal basis {code!r} is listed twice"))
    if problems:
        raise CatalogInvalid(
            f"The catalogue in {folder} has {len(problems)} problem(s); nothing was loaded",
            message_zh=f"目录 {folder} 有 {len(problems)} 个问题，未导入任何内容",
            details={"problems": problems},
        )

    report = LoadReport()
    if depts:
        for d in depts.departments:
            dept = repo.department_by_code(ctx.session, d.code)
            if dept is None:
                dept = Department(code=d.code, name_zh=d.name_zh, name_en=d.name_en)
                ctx.session.add(dept)
            else:
                dept.name_zh, dept.name_en = d.name_zh, d.name_en
            report.departments += 1
        ctx.session.flush()
        for s in depts.staff:
            dept_id = get_department(ctx, s.department).id
            staff = repo.staff_by_username(ctx.session, s.username)
            if staff is None:
                staff = Staff(username=s.username, name=s.name, department_id=dept_id)
                ctx.session.add(staff)
            staff.name, staff.department_id, staff.roles = s.name, dept_id, list(s.roles)
            report.staff += 1
    for parsed_process in shared:
        before = repo.latest_process_version(ctx.session, parsed_process.key)
        proc = _store_process(ctx, parsed_process.compiled, parsed_process.bpmn, ())
        if proc.version > before:
            report.new_process_versions.append(f"{proc.process_key} v{proc.version}")
    for parsed in services:
        before = repo.latest_process_version(ctx.session, parsed.compiled.process_id)
        proc = _store_process(ctx, parsed.compiled, parsed.bpmn, parsed.dmn)
        if proc.version > before:
            report.new_process_versions.append(f"{proc.process_key} v{proc.version}")
        _upsert_service(ctx, parsed.spec, proc)
        report.services += 1
    ctx.session.flush()
    return report


def _upsert_service(ctx: Ctx, spec: ServiceFile, proc: ProcessDefinition) -> ServiceItem:
    item = repo.service_by_code(ctx.session, spec.code)
    if item is None:
        item = ServiceItem(code=spec.code, process_definition_id=proc.id, time_limit_days=1)
        ctx.session.add(item)
    item.name_zh, item.name_en = spec.name_zh, spec.name_en
    item.applicant_kind = spec.applicant_kind
    item.time_limit_days = spec.time_limit_days
    item.fee = spec.fee
    item.process_definition_id = proc.id
    item.lanes = dict(spec.lanes)
    item.task_sla_days = dict(spec.task_sla_days)
    item.in_person_activities = list(spec.in_person_activities)
    item.form_fields = [f.model_dump() for f in spec.form]
    item.active = True
    item.is_permit = spec.permit
    item.acceptance_task = spec.acceptance_task
    item.legal_bases = [b.model_dump() for b in spec.legal_bases]
    item.review = spec.review.model_dump()
    item.deferral_days = spec.deferral_days
    _set_materials(item, spec.materials)
    ctx.session.flush()
    return item


def _set_materials(item: ServiceItem, materials: Sequence[MaterialIn]) -> None:
    """The item's materials become ``materials``, in order; a kept code keeps its row (every
    field of ``MaterialIn`` is copied, ``deferrable`` among them)."""
    wanted = {m.code: (i, m) for i, m in enumerate(materials)}
    item.materials = [m for m in item.materials if m.code in wanted]
    have = {m.code: m for m in item.materials}
    for code, (position, m) in wanted.items():
        mat = have.get(code)
        if mat is None:
            mat = ServiceMaterial(code=code, name_zh=m.name_zh, name_en=m.name_en)
            item.materials.append(mat)
        mat.position = position
        for attribute, value in m.model_dump(exclude={"code"}).items():
            setattr(mat, attribute, value)


def _problem(path: Path, message: str, element_id: str | None = None) -> dict[str, Any]:
    return {"file": str(path), "element_id": element_id, "message": message}


def _read_yaml(path: Path, problems: list[dict[str, Any]]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        problems.append(_problem(path, "file not found"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        problems.append(_problem(path, f"not valid UTF-8 YAML: {exc}"))
    return None


def _pydantic_problems(path: Path, exc: ValidationError) -> list[dict[str, Any]]:
    return [
        _problem(path, f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}")
        for err in exc.errors()
    ]


def _read_departments(path: Path, problems: list[dict[str, Any]]) -> DepartmentsFile | None:
    if not path.exists():
        return None
    raw = _read_yaml(path, problems)
    if raw is None:
        return None
    try:
        return DepartmentsFile.model_validate(raw)
    except ValidationError as exc:
        problems.extend(_pydantic_problems(path, exc))
        return None


def _inside(folder: Path, relative: str) -> Path | None:
    target = (folder / relative).resolve()
    return target if target.is_relative_to(folder) else None


@dataclass(frozen=True)
class _ParsedProcess:
    path: Path
    key: str
    bpmn: bytes
    compiled: CompiledProcess


def _read_shared(ctx: Ctx, folder: Path, problems: list[dict[str, Any]]) -> list[_ParsedProcess]:
    """``processes/*.bpmn``: processes the services' call activities call (e.g. 现场核查)."""
    paths = sorted((folder / SHARED_PROCESSES).glob("*.bpmn"))
    sources: dict[str, tuple[Path, bytes]] = {}
    for path in paths:
        try:
            bpmn = path.read_bytes()
        except OSError as exc:
            problems.append(_problem(path, f"cannot read the file: {exc.strerror}"))
            continue
        key = bpmn_keys(bpmn)[0] or path.stem
        if key in sources:
            problems.append(_problem(path, f"process {key} is also defined in {sources[key][0]}"))
            continue
        sources[key] = (path, bpmn)
    xml = {key: bpmn for key, (_, bpmn) in sources.items()}
    out = []
    for path, bpmn in sources.values():
        try:
            compiled = _compile(ctx, bpmn, (), xml)
        except ProcessInvalid as exc:
            for p in exc.details.get("problems", []):
                problems.append(_problem(path, p["message"], p.get("element_id")))
            continue
        out.append(_ParsedProcess(path, compiled.process_id, bpmn, compiled))
    return out


def _read_services(
    ctx: Ctx, folder: Path, problems: list[dict[str, Any]], shared: Mapping[str, bytes]
) -> list[_ParsedService]:
    out: list[_ParsedService] = []
    seen: dict[str, Path] = {}
    for path in sorted((folder / "services").glob("*.yaml")):
        raw = _read_yaml(path, problems)
        if raw is None:
            continue
        try:
            spec = ServiceFile.model_validate(raw)
        except ValidationError as exc:
            problems.extend(_pydantic_problems(path, exc))
            continue
        if spec.code in seen:
            problems.append(
                _problem(path, f"service code {spec.code} also used in {seen[spec.code]}")
            )
            continue
        seen[spec.code] = path
        files: list[bytes] = []
        for rel in [spec.process, *spec.dmn]:
            target = _inside(path.parent, rel)
            if target is None:
                problems.append(_problem(path, f"{rel!r} points outside the catalogue folder"))
                break
            try:
                files.append(target.read_bytes())
            except OSError as exc:
                problems.append(_problem(path, f"cannot read {rel!r}: {exc.strerror}"))
                break
        else:
            try:
                compiled = _compile(ctx, files[0], files[1:], shared)
            except ProcessInvalid as exc:
                for p in exc.details.get("problems", []):
                    problems.append(
                        _problem(path.parent / spec.process, p["message"], p.get("element_id"))
                    )
                continue
            out.append(_ParsedService(path, spec, files[0], tuple(files[1:]), compiled))
    return out
