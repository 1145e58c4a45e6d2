"""Data hub rules and state changes: datasets, loads, quality, linkage, grants, shared reads.

Services flush, never commit. Reads of shared data and their refusals are written to the
append-only access log in the caller's transaction; an entrypoint that turns a refusal into
an error response commits first, so the refusal stays logged (see ``endpoints``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from onewindow.catalog import service as catalog
from onewindow.catalog.models import ServiceItem
from onewindow.datahub import linkage, masking
from onewindow.datahub import repository as repo
from onewindow.datahub.models import (
    AccessLogEntry,
    Dataset,
    Entity,
    Load,
    MatchReview,
    RecordVersion,
    SharingGrant,
    SourceRecord,
)
from onewindow.datahub.rules import districts
from onewindow.datahub.rules import standardise as std
from onewindow.datahub.rules import validate as val
from onewindow.datahub.schemas import (
    SENSITIVITY_ZH,
    AccessLogOut,
    AggregateCell,
    AggregatesOut,
    AggregateTotal,
    ApplicationPrefillOut,
    CatalogueEntry,
    CatalogueField,
    DatasetSpec,
    FieldQuality,
    FieldSpec,
    GrantIn,
    GrantOut,
    LinkRunOut,
    LoadOut,
    PrefillOut,
    PrefillSource,
    QualityReport,
    ReviewOut,
    SharedRecords,
)
from onewindow.datahub.sources import SourceRows, SourceUnreadable, read_csv, read_sql, read_xlsx
from onewindow.intake import service as intake
from onewindow.kit.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from onewindow.kit.platform import Ctx

LOCAL_TZ = ZoneInfo("Asia/Shanghai")
MAX_PROBLEMS_KEPT = 1000
APPROVER_ROLES = frozenset({"head", "data_admin", "admin"})


class GrantMissing(PermissionDenied):
    """A read was refused: no approved, unexpired grant covers it. The refusal is logged."""

    code = "datahub.grant_missing"


class SourceRejected(ValidationFailed):
    code = "datahub.source_rejected"


@dataclass(frozen=True)
class Caller:
    """Who reads shared data: the acting user, their roles and their department."""

    actor: str
    roles: frozenset[str]
    department_code: str | None


def _today(ctx: Ctx) -> date:
    return ctx.clock.now().astimezone(LOCAL_TZ).date()


# --- datasets --------------------------------------------------------------------------------


def register_dataset(ctx: Ctx, spec: DatasetSpec, *, actor: str) -> Dataset:
    """Register a department's dataset with its schema (登记数据资源).

    Raises:
        Conflict: a dataset with this code exists.
        NotFound: the owner department is unknown.
    """
    if repo.dataset_by_code(ctx.session, spec.code) is not None:
        raise Conflict(
            f"Dataset {spec.code} is already registered",
            message_zh=f"数据资源 {spec.code} 已登记",
            code="datahub.dataset_exists",
        )
    owner = catalog.get_department(ctx, spec.owner_department)
    dataset = Dataset(
        code=spec.code,
        name=spec.name,
        description=spec.description,
        owner_department_id=owner.id,
        entity_kind=spec.entity_kind,
        key_field=spec.key_field,
        fields=[f.model_dump() for f in spec.fields],
        on_error=spec.on_error,
        default_city_code=spec.default_city_code,
        created_at=ctx.clock.now(),
        created_by=actor,
    )
    ctx.session.add(dataset)
    ctx.session.flush()
    return dataset


def get_dataset(ctx: Ctx, code: str) -> Dataset:
    dataset = repo.dataset_by_code(ctx.session, code)
    if dataset is None:
        raise NotFound(
            f"No dataset {code}",
            message_zh=f"数据资源 {code} 不存在",
            code="datahub.dataset_unknown",
        )
    return dataset


def field_specs(dataset: Dataset) -> list[FieldSpec]:
    return [FieldSpec.model_validate(f) for f in dataset.fields]


def _department_code(ctx: Ctx, department_id: int) -> str:
    key = ("datahub.department", department_id)
    if key not in ctx.memo:
        ctx.memo[key] = {d.id: d.code for d in catalog.list_departments(ctx)}.get(
            department_id, "?"
        )
    return str(ctx.memo[key])


# --- standardising one row -------------------------------------------------------------------


def _column_map(columns: Sequence[str], fields: Sequence[FieldSpec]) -> dict[str, str]:
    """Source column → field name, by the field's name, label or aliases (case-insensitive)."""
    names: dict[str, str] = {}
    for f in fields:
        for alias in (f.name, f.label, *f.aliases):
            if alias:
                names[alias.strip().lower()] = f.name
    return {c: names[c.strip().lower()] for c in columns if c.strip().lower() in names}


def _problem(
    line: int | None, key: str | None, field: str | None, finding: val.Finding
) -> dict[str, Any]:
    return {
        "line": line,
        "record_key": key,
        "field": field,
        "rule": finding.rule,
        "reason": finding.reason,
        "message": finding.message,
    }


def standardise_row(
    fields: Sequence[FieldSpec],
    raw: dict[str, str | None],
    today: date,
    *,
    default_city_code: str | None = None,
) -> tuple[dict[str, Any], list[tuple[str, val.Finding]], list[tuple[str, val.Finding]]]:
    """One row through its schema's rules: (standard values, warnings, errors).

    An error rejects the row: a required field missing or invalid. A warning keeps the row
    with the value as given (width- and space-folded) and the finding recorded against it.
    """
    validators = val.make_validators(today)
    data: dict[str, Any] = {}
    warnings: list[tuple[str, val.Finding]] = []
    errors: list[tuple[str, val.Finding]] = []

    def fail(f: FieldSpec, finding: val.Finding) -> None:
        (errors if f.required else warnings).append((f.name, finding))

    for f in fields:
        value = raw.get(f.name)
        missing = val.check_required(value)
        if missing is not None:
            data[f.name] = None
            if f.required and f.derive_from is None:
                errors.append((f.name, missing))
            continue
        text = std.fold_spaces(std.fold_width(str(value)))
        if f.simplify:
            text = std.to_simplified(text)
        finding = validators[f.type](text) if f.type in validators else None
        if finding is not None:
            data[f.name] = text
            fail(f, finding)
            continue
        try:
            if f.type == "address":
                data.update(
                    {
                        f"{f.name}{'' if k == 'address' else '_' + k}": v
                        for k, v in std.address(text, default_city_code=default_city_code).items()
                    }
                )
            elif f.type in std.RULES:
                data[f.name] = std.RULES[f.type](text)
            else:
                data[f.name] = text
        except std.RuleFailed as exc:
            data[f.name] = text
            fail(f, val.Finding(exc.rule, exc.reason, exc.message))

    # Gender and birth date read from a valid ID when blank, checked against it when given.
    for f in fields:
        if f.derive_from is None or f.type not in ("gender", "date"):
            continue
        source = next((g for g in fields if g.name == f.derive_from), None)
        id_value = data.get(f.derive_from)
        if source is None or not id_value:
            if data.get(f.name) is None and f.required:
                errors.append((f.name, val.Finding("required", "missing", "a value is required")))
            continue
        try:
            derived = std.derive_from_citizen_id(str(id_value), today)
        except std.RuleFailed:
            continue
        expected = derived.sex if f.type == "gender" else derived.birth_date
        if data.get(f.name) is None:
            data[f.name] = expected
        elif data[f.name] != expected:
            warnings.append(
                (
                    f.name,
                    val.Finding(
                        "consistency",
                        "disagrees_with_id",
                        f"{f.name} disagrees with the one in {f.derive_from}",
                    ),
                )
            )
    return data, warnings, errors


def _hash(data: dict[str, Any]) -> str:
    blob = json.dumps(data, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


# --- loading ---------------------------------------------------------------------------------


def load_file(
    ctx: Ctx,
    code: str,
    data: bytes,
    *,
    filename: str,
    actor: str,
    on_error: str | None = None,
    full: bool = False,
) -> Load:
    """Load a CSV or XLSX file into a dataset (by its extension; xlsx also by its magic bytes).

    A ``full`` load is the whole dataset: records whose keys it lacks are marked deleted."""
    is_xlsx = filename.lower().endswith((".xlsx", ".xlsm")) or data[:2] == b"PK"
    fmt = "xlsx" if is_xlsx else "csv"
    try:
        rows = read_xlsx(data) if is_xlsx else read_csv(data)
    except SourceUnreadable as exc:
        return _rejected_load(ctx, code, filename, fmt, str(exc), actor=actor)
    return apply_rows(
        ctx, code, rows, source=filename, fmt=fmt, actor=actor, on_error=on_error, full=full
    )


def load_query(
    ctx: Ctx,
    code: str,
    url: str,
    query: str,
    *,
    actor: str,
    on_error: str | None = None,
    full: bool = False,
) -> Load:
    """Load the rows of a SQL query against a department database."""
    source = f"sql:{url.split('@')[-1]}"  # never store credentials in the load record
    try:
        rows = read_sql(url, query)
    except SourceUnreadable as exc:
        return _rejected_load(ctx, code, source, "sql", str(exc), actor=actor)
    return apply_rows(
        ctx, code, rows, source=source, fmt="sql", actor=actor, on_error=on_error, full=full
    )


def _rejected_load(ctx: Ctx, code: str, source: str, fmt: str, message: str, *, actor: str) -> Load:
    dataset = get_dataset(ctx, code)
    load = Load(
        dataset_id=dataset.id,
        source=source[:500],
        format=fmt,
        status="rejected",
        problems=[
            {
                "line": None,
                "field": None,
                "rule": "source",
                "reason": "unreadable",
                "message": message,
            }
        ],
        loaded_at=ctx.clock.now(),
        loaded_by=actor,
    )
    ctx.session.add(load)
    ctx.session.flush()
    return load


def apply_rows(
    ctx: Ctx,
    code: str,
    rows: SourceRows,
    *,
    source: str,
    fmt: str,
    actor: str,
    on_error: str | None = None,
    full: bool = False,
) -> Load:
    """Standardise, validate and apply rows: new keys insert, changed rows update with their
    old version kept, unchanged rows are counted. With ``reject_all`` any row-level error
    rejects the whole load; with ``keep_good`` the bad rows are skipped and reported.

    A ``full`` load is the dataset's whole content (not an increment): a current record whose
    key is not in it is marked deleted, a new version recording the deletion. Deletions are
    not applied when a rejected row's key cannot be read (it might be one of the records) or
    when the source has no rows at all; the load says so in its problems."""
    dataset = get_dataset(ctx, code)
    fields = field_specs(dataset)
    mode = on_error or dataset.on_error
    today = _today(ctx)
    now = ctx.clock.now()
    problems: list[dict[str, Any]] = list(rows.problems)
    mapping = _column_map(rows.columns, fields)
    for column in rows.columns:
        if column not in mapping:
            problems.append(
                {
                    "line": 1,
                    "field": column,
                    "rule": "structure",
                    "reason": "unknown_column",
                    "message": f"column {column!r} is not in the dataset's schema and was ignored",
                }
            )
    key_field = dataset.key_field
    mapped_fields = set(mapping.values())
    missing_columns = [f.name for f in fields if f.required and f.name not in mapped_fields]
    if key_field not in mapped_fields and key_field not in missing_columns:
        missing_columns.append(key_field)
    load = Load(
        dataset_id=dataset.id,
        source=source[:500],
        format=fmt,
        status="applied",
        encoding=rows.encoding,
        rows_read=len(rows.rows) + sum(1 for p in rows.problems if p.get("line")),
        full=full,
        loaded_at=now,
        loaded_by=actor,
    )
    if missing_columns:
        load.status = "rejected"
        problems.insert(
            0,
            {
                "line": 1,
                "field": ", ".join(missing_columns),
                "rule": "structure",
                "reason": "missing_column",
                "message": "required columns are missing: " + ", ".join(missing_columns),
            },
        )
        load.rows_rejected = load.rows_read
        load.problems = problems[:MAX_PROBLEMS_KEPT]
        ctx.session.add(load)
        ctx.session.flush()
        return load

    good: dict[str, tuple[dict[str, Any], list[dict[str, Any]]]] = {}
    rejected_lines = {p["line"] for p in rows.problems if p.get("line")}
    seen_keys: set[str] = set()  # keys in the source, rejected rows' too (full loads)
    unkeyed_lines = set(rejected_lines)  # rejected rows whose key cannot be read
    for line, raw_row in rows.rows:
        raw = {mapping[c]: v for c, v in raw_row.items() if c in mapping}
        data, warnings, errors = standardise_row(
            fields, raw, today, default_city_code=dataset.default_city_code
        )
        key = data.get(key_field)
        key = str(key) if key is not None else None
        if key is not None and not any(fname == key_field for fname, _ in errors):
            seen_keys.add(key)
        else:
            unkeyed_lines.add(line)
        for fname, finding in errors:
            problems.append(_problem(line, key, fname, finding))
        findings = []
        for fname, finding in warnings:
            findings.append(_problem(line, key, fname, finding) | {"severity": "warning"})
        if errors:
            rejected_lines.add(line)
            continue
        if key is None:
            rejected_lines.add(line)
            continue
        if key in good:
            problems.append(
                {
                    "line": line,
                    "record_key": key,
                    "field": key_field,
                    "rule": "uniqueness",
                    "reason": "duplicate_key",
                    "message": "the same key appears twice in this source; the later row is kept",
                }
            )
        good[key] = (data, findings)
        problems.extend(findings)
    load.rows_rejected = len(rejected_lines)
    if mode == "reject_all" and rejected_lines:
        load.status = "rejected"
        load.problems = problems[:MAX_PROBLEMS_KEPT]
        ctx.session.add(load)
        ctx.session.flush()
        return load

    ctx.session.add(load)
    ctx.session.flush()
    # A savepoint: a database error part-way leaves no record of this load applied.
    with ctx.session.begin_nested():
        existing = repo.records_by_key(ctx.session, dataset.id, list(good))
        for key, (data, findings) in good.items():
            digest = _hash(data)
            record = existing.get(key)
            if record is not None and record.deleted_at is not None:
                record.deleted_at = None  # back in the source: a new version revives it
                record.content_hash = ""
            if record is None:
                record = SourceRecord(
                    dataset_id=dataset.id,
                    record_key=key,
                    data=data,
                    findings=[_strip(f) for f in findings],
                    content_hash=digest,
                    version=1,
                    load_id=load.id,
                    updated_at=now,
                )
                ctx.session.add(record)
                ctx.session.flush()
                load.rows_inserted += 1
            elif record.content_hash == digest:
                load.rows_unchanged += 1
                continue
            else:
                record.data = data
                record.findings = [_strip(f) for f in findings]
                record.content_hash = digest
                record.version += 1
                record.load_id = load.id
                record.updated_at = now
                load.rows_updated += 1
            ctx.session.add(
                RecordVersion(
                    record_id=record.id,
                    version=record.version,
                    data=data,
                    load_id=load.id,
                    recorded_at=now,
                )
            )
        ctx.session.flush()
        if full:
            _mark_missing_deleted(ctx, dataset, load, seen_keys, unkeyed_lines, problems)
    load.problems = problems[:MAX_PROBLEMS_KEPT]
    ctx.session.flush()
    return load


def _mark_missing_deleted(
    ctx: Ctx,
    dataset: Dataset,
    load: Load,
    seen_keys: set[str],
    unkeyed_lines: set[int],
    problems: list[dict[str, Any]],
) -> None:
    """A full load's deletions: each current record it lacks gets a deletion version."""
    if load.rows_read == 0 or unkeyed_lines:
        why = (
            "the source has no rows"
            if load.rows_read == 0
            else f"{len(unkeyed_lines)} rejected row(s) have no readable key"
        )
        problems.append(
            {
                "line": None,
                "field": dataset.key_field,
                "rule": "full_load",
                "reason": "deletions_skipped",
                "message": f"full load: no records were marked deleted because {why}",
            }
        )
        return
    now = ctx.clock.now()
    for record in repo.records_of(ctx.session, dataset.id):
        if record.record_key in seen_keys:
            continue
        record.deleted_at = now
        record.version += 1
        record.load_id = load.id
        record.updated_at = now
        record.entity_id = None  # the next linkage run leaves it out of golden records
        ctx.session.add(
            RecordVersion(
                record_id=record.id,
                version=record.version,
                data=record.data,
                deleted=True,
                load_id=load.id,
                recorded_at=now,
            )
        )
        load.rows_deleted += 1
    ctx.session.flush()


def _strip(problem: dict[str, Any]) -> dict[str, Any]:
    return {k: problem[k] for k in ("field", "rule", "reason", "message")}


def load_out(ctx: Ctx, load: Load) -> LoadOut:
    dataset = ctx.session.get(Dataset, load.dataset_id)
    return LoadOut(
        id=load.id,
        dataset=dataset.code if dataset else "?",
        source=load.source,
        format=load.format,
        status=load.status,
        encoding=load.encoding,
        rows_read=load.rows_read,
        rows_inserted=load.rows_inserted,
        rows_updated=load.rows_updated,
        rows_unchanged=load.rows_unchanged,
        rows_rejected=load.rows_rejected,
        full=load.full,
        rows_deleted=load.rows_deleted,
        problems=list(load.problems),
        loaded_at=load.loaded_at,
        loaded_by=load.loaded_by,
    )


def load_history(ctx: Ctx, code: str) -> list[LoadOut]:
    """Every load of a dataset, newest first, with the row problems it kept."""
    dataset = get_dataset(ctx, code)
    return [load_out(ctx, load) for load in repo.loads_of(ctx.session, dataset.id)]


def record_history(ctx: Ctx, code: str, key: str) -> list[dict[str, Any]]:
    dataset = get_dataset(ctx, code)
    record = repo.records_by_key(ctx.session, dataset.id, [key]).get(key)
    if record is None:
        raise NotFound(f"No record {key}", message_zh="记录不存在", code="datahub.record_unknown")
    return [
        {
            "version": v.version,
            "data": v.data,
            "deleted": v.deleted,
            "load_id": v.load_id,
            "recorded_at": v.recorded_at,
        }
        for v in repo.versions_of(ctx.session, record.id)
    ]


# --- data quality ----------------------------------------------------------------------------

_CROSS_CHECKED = ("name", "date", "gender")


def quality_report(ctx: Ctx, code: str) -> QualityReport:
    """Completeness, validity, uniqueness and cross-department consistency per field."""
    dataset = get_dataset(ctx, code)
    fields = field_specs(dataset)
    records = repo.records_of(ctx.session, dataset.id)
    conflicts = _cross_conflicts(ctx, dataset, records)
    out: list[FieldQuality] = []
    failing = {r.id for r in records if r.findings}
    for f in fields:
        values = [r.data.get(f.name) for r in records]
        filled = [v for v in values if v not in (None, "")]
        invalid = sum(
            1
            for r in records
            for p in r.findings
            if p.get("field") == f.name and p["rule"] != "consistency"
        )
        n = len(records)
        out.append(
            FieldQuality(
                field=f.name,
                label=f.label or f.name,
                sensitivity=f.sensitivity,
                records=n,
                filled=len(filled),
                valid=len(filled) - invalid,
                distinct=len({json.dumps(v, default=str) for v in filled}),
                completeness=round(len(filled) / n, 4) if n else 1.0,
                validity=round((len(filled) - invalid) / len(filled), 4) if filled else 1.0,
                uniqueness=round(len({json.dumps(v, default=str) for v in filled}) / len(filled), 4)
                if filled
                else 1.0,
                inconsistent=len(conflicts.get(f.name, set())),
            )
        )
        failing |= conflicts.get(f.name, set())
    return QualityReport(dataset=code, records=len(records), fields=out, failing_rows=len(failing))


def _cross_conflicts(
    ctx: Ctx, dataset: Dataset, records: Sequence[SourceRecord]
) -> dict[str, set[int]]:
    """Records whose name, birth date or gender disagrees with another dataset's record for
    the same citizen ID (or credit code): e.g. one ID with two birth dates."""
    fields = field_specs(dataset)
    id_field = next((f.name for f in fields if f.type in ("citizen_id", "credit_code")), None)
    if id_field is None:
        return {}
    mine = {str(r.data[id_field]): r for r in records if r.data.get(id_field)}
    conflicts: dict[str, set[int]] = defaultdict(set)
    for other in repo.datasets(ctx.session):
        if other.id == dataset.id or other.entity_kind != dataset.entity_kind:
            continue
        other_fields = field_specs(other)
        other_id = next(
            (f.name for f in other_fields if f.type in ("citizen_id", "credit_code")), None
        )
        if other_id is None:
            continue
        pairs = [
            (f, g)
            for f in fields
            for g in other_fields
            if f.type in _CROSS_CHECKED and f.type == g.type and _same_meaning(f, g)
        ]
        for theirs in repo.records_of(ctx.session, other.id):
            ours = mine.get(str(theirs.data.get(other_id)))
            if ours is None:
                continue
            for f, g in pairs:
                a, b = ours.data.get(f.name), theirs.data.get(g.name)
                if a is not None and b is not None and a != b:
                    conflicts[f.name].add(ours.id)
    return conflicts


def _same_meaning(f: FieldSpec, g: FieldSpec) -> bool:
    if f.type != "date":
        return True
    return golden_key(f) == golden_key(g)


def failing_rows(ctx: Ctx, code: str) -> list[dict[str, Any]]:
    """Every finding on the dataset's current records, plus cross-department conflicts."""
    dataset = get_dataset(ctx, code)
    records = repo.records_of(ctx.session, dataset.id)
    rows: list[dict[str, Any]] = []
    for r in records:
        for p in r.findings:
            rows.append({"record_key": r.record_key, **p})
    by_id = {r.id: r for r in records}
    for fname, ids in sorted(_cross_conflicts(ctx, dataset, records).items()):
        for rid in sorted(ids):
            rows.append(
                {
                    "record_key": by_id[rid].record_key,
                    "field": fname,
                    "rule": "consistency",
                    "reason": "differs_across_departments",
                    "message": f"{fname} differs from another department's record of the same ID",
                }
            )
    return rows


def failing_rows_csv(ctx: Ctx, code: str) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(
        buf, fieldnames=["record_key", "field", "rule", "reason", "message"], extrasaction="ignore"
    )
    writer.writeheader()
    writer.writerows(failing_rows(ctx, code))
    return buf.getvalue()


# --- identity resolution ---------------------------------------------------------------------

_GOLDEN_BY_TYPE = {
    "name": "name",
    "citizen_id": "citizen_id",
    "credit_code": "credit_code",
    "mobile": "phone",
    "phone": "phone",
    "address": "address",
    "email": "email",
    "gender": "sex",
}
_BIRTH_NAMES = frozenset({"birth_date", "date_of_birth", "dob", "birthday"})


def golden_key(f: FieldSpec) -> str:
    """The golden-record attribute a dataset field feeds (``mobile`` → ``phone`` …)."""
    if f.type == "date" and (
        f.name in _BIRTH_NAMES or f.derive_from is not None and "birth" in f.name
    ):
        return "birth_date"
    return _GOLDEN_BY_TYPE.get(f.type, f.name)


def _canonical(dataset: Dataset, record: SourceRecord) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in field_specs(dataset):
        value = record.data.get(f.name)
        if value is not None:
            out.setdefault(golden_key(f), value)
    return out


def run_linkage(
    ctx: Ctx, *, kind: str = "person", actor: str, config: linkage.LinkageConfig | None = None
) -> LinkRunOut:
    """Link every source record of one kind into golden records; queue uncertain pairs.

    Decisions already taken in the review queue override the model. Entity ids are kept
    where a cluster still holds the records it had.
    """
    rows = repo.all_records(ctx.session, kind)
    by_uid = {str(r.id): (r, d) for r, d in rows}
    decided = repo.all_reviews(ctx.session)
    accepted = [(str(a), str(b)) for (a, b), r in decided.items() if r.status == "accepted"]
    rejected = [(str(a), str(b)) for (a, b), r in decided.items() if r.status == "rejected"]
    records = [
        {"unique_id": uid, "source_dataset": d.code, **_canonical(d, r)}
        for uid, (r, d) in by_uid.items()
    ]
    result = linkage.link(
        records, today=_today(ctx), config=config, accepted=accepted, rejected=rejected
    )
    now = ctx.clock.now()
    for a, b, p in result.review:
        key = (int(a), int(b))
        if key not in decided:
            ctx.session.add(
                MatchReview(
                    left_record_id=key[0],
                    right_record_id=key[1],
                    match_probability=p,
                    status="pending",
                    created_at=now,
                )
            )
    members: dict[str, list[str]] = defaultdict(list)
    for uid, cluster in result.clusters.items():
        members[cluster].append(uid)
    old = {e.id: e for e in repo.entities(ctx.session, kind)}
    used: set[int] = set()
    for uids in members.values():
        recs = [by_uid[u] for u in uids]
        votes = Counter(
            r.entity_id for r, _ in recs if r.entity_id in old and r.entity_id not in used
        )
        entity = old[votes.most_common(1)[0][0]] if votes else None
        attributes = _survivors(recs)
        identifier = attributes.get("citizen_id", attributes.get("credit_code", {})).get("value")
        if entity is None:
            entity = Entity(
                kind=kind,
                attributes=attributes,
                identifier=identifier,
                created_at=now,
                updated_at=now,
            )
            ctx.session.add(entity)
            ctx.session.flush()
        elif entity.attributes != attributes or entity.identifier != identifier:
            entity.attributes = attributes
            entity.identifier = identifier
            entity.updated_at = now
        used.add(entity.id)
        for r, _ in recs:
            if r.entity_id != entity.id:
                r.entity_id = entity.id
    ctx.session.flush()
    for entity_id, entity in old.items():
        if entity_id not in used:
            ctx.session.delete(entity)
    ctx.session.flush()
    pending = sum(1 for r in repo.reviews(ctx.session, "pending"))
    return LinkRunOut(
        records=len(records),
        entities=len(members),
        linked_pairs=len(result.pairs),
        review_pending=pending,
        seconds=round(result.seconds, 3),
        notes=result.training_notes,
    )


def _survivors(recs: Sequence[tuple[SourceRecord, Dataset]]) -> dict[str, dict[str, Any]]:
    """Per attribute, the value that survives: valid before flagged, newest first, then the
    dataset code; with the provenance of the value chosen."""
    candidates: dict[str, list[tuple[tuple[Any, ...], dict[str, Any]]]] = defaultdict(list)
    for r, d in recs:
        flagged = {p.get("field") for p in r.findings}
        for f in field_specs(d):
            value = r.data.get(f.name)
            if value is None:
                continue
            rank = (f.name not in flagged, r.updated_at, d.code)
            candidates[golden_key(f)].append(
                (
                    rank,
                    {
                        "value": value,
                        "dataset": d.code,
                        "field": f.name,
                        "record_key": r.record_key,
                        "updated_at": r.updated_at.isoformat(),
                    },
                )
            )
    return {
        key: max(options, key=lambda o: (o[0][0], o[0][1], o[0][2]))[1]
        for key, options in candidates.items()
    }


def get_entity(ctx: Ctx, entity_id: int) -> Entity:
    entity = ctx.session.get(Entity, entity_id)
    if entity is None:
        raise NotFound("No such entity", message_zh="主数据不存在", code="datahub.entity_unknown")
    return entity


def list_reviews(
    ctx: Ctx, status: str | None = "pending", *, roles: frozenset[str] | None = None
) -> list[ReviewOut]:
    """The review queue. With ``roles``, each side's values are shown as those roles may see
    them (masked by the fields' sensitivity labels) and lined up by golden-record attribute
    under ``side["compare"]``, so a page can put the two records side by side."""
    out = []
    for review in repo.reviews(ctx.session, status):
        left = ctx.session.get(SourceRecord, review.left_record_id)
        right = ctx.session.get(SourceRecord, review.right_record_id)
        sides = _review_side(ctx, left, roles), _review_side(ctx, right, roles)
        if roles is not None:
            _mark_agreement(ctx, left, right, sides)
        out.append(
            ReviewOut(
                id=review.id,
                match_probability=review.match_probability,
                status=review.status,
                left=sides[0],
                right=sides[1],
                decided_by=review.decided_by,
                decided_at=review.decided_at,
            )
        )
    return out


def _golden_values(ctx: Ctx, record: SourceRecord | None) -> dict[str, Any]:
    dataset = ctx.session.get(Dataset, record.dataset_id) if record else None
    if record is None or dataset is None:
        return {}
    return {golden_key(f): record.data.get(f.name) for f in field_specs(dataset)}


def _mark_agreement(
    ctx: Ctx,
    left: SourceRecord | None,
    right: SourceRecord | None,
    sides: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    """Whether the two records agree on each attribute, decided on the stored values: two
    masked values can look alike (张*) and still differ."""
    a, b = _golden_values(ctx, left), _golden_values(ctx, right)
    for key in set(a) & set(b):
        if a[key] in (None, "") or b[key] in (None, ""):
            continue
        same = a[key] == b[key]
        for side in sides:
            if key in side.get("compare", {}):
                side["compare"][key]["same"] = same


def _review_side(
    ctx: Ctx, record: SourceRecord | None, roles: frozenset[str] | None = None
) -> dict[str, Any]:
    if record is None:
        return {}
    dataset = ctx.session.get(Dataset, record.dataset_id)
    side: dict[str, Any] = {
        "dataset": dataset.code if dataset else "?",
        "record_key": record.record_key,
        "data": record.data,
    }
    if roles is not None and dataset is not None:
        shown = {
            f.name: masking.apply(record.data.get(f.name), f.type, f.sensitivity, roles)
            for f in field_specs(dataset)
        }
        side["data"] = shown
        side["record_key"] = shown.get(dataset.key_field, record.record_key)
        side["compare"] = {
            golden_key(f): {"label": f.label or f.name, "value": shown[f.name]}
            for f in field_specs(dataset)
        }
    return side


def decide_review(ctx: Ctx, review_id: int, *, accept: bool, actor: str) -> MatchReview:
    """A data administrator's decision on an uncertain pair; the next linkage run obeys it."""
    review = ctx.session.get(MatchReview, review_id)
    if review is None:
        raise NotFound("No such review", message_zh="复核任务不存在", code="datahub.review_unknown")
    if review.status != "pending":
        raise Conflict(
            "This pair was already decided",
            message_zh="该匹配已复核",
            code="datahub.review_decided",
        )
    review.status = "accepted" if accept else "rejected"
    review.decided_by = actor
    review.decided_at = ctx.clock.now()
    ctx.session.flush()
    return review


# --- catalogue and grants --------------------------------------------------------------------


def catalogue(ctx: Ctx, query: str | None = None) -> list[CatalogueEntry]:
    """Datasets and their fields with sensitivity labels; never any values."""
    counts = repo.record_counts(ctx.session)
    out = []
    for d in repo.datasets(ctx.session):
        fields = field_specs(d)
        if query and not (
            query.lower() in f"{d.code} {d.name} {d.description}".lower()
            or any(query.lower() in f"{f.name} {f.label} {f.meaning}".lower() for f in fields)
        ):
            continue
        out.append(
            CatalogueEntry(
                code=d.code,
                name=d.name,
                description=d.description,
                owner_department=_department_code(ctx, d.owner_department_id),
                entity_kind=d.entity_kind,
                records=counts.get(d.id, 0),
                fields=[
                    CatalogueField(
                        name=f.name,
                        label=f.label,
                        meaning=f.meaning,
                        type=f.type,
                        sensitivity=f.sensitivity,
                        sensitivity_zh=SENSITIVITY_ZH[f.sensitivity],
                    )
                    for f in fields
                ],
            )
        )
    return out


def request_grant(ctx: Ctx, spec: GrantIn, *, actor: str) -> SharingGrant:
    """A consumer department asks to read named fields of a dataset for a purpose."""
    dataset = get_dataset(ctx, spec.dataset)
    consumer = catalog.get_department(ctx, spec.consumer_department)
    names = {f.name for f in field_specs(dataset)}
    unknown = [f for f in spec.fields if f not in names]
    if unknown:
        raise ValidationFailed(
            f"Dataset {dataset.code} has no field(s) {', '.join(unknown)}",
            message_zh=f"数据资源 {dataset.code} 没有字段 {'、'.join(unknown)}",
            code="datahub.field_unknown",
        )
    if spec.expires_at <= ctx.clock.now():
        raise ValidationFailed(
            "The expiry date is in the past", message_zh="有效期已过", code="datahub.grant_expired"
        )
    grant = SharingGrant(
        dataset_id=dataset.id,
        consumer_department_id=consumer.id,
        fields=sorted(set(spec.fields)),
        purpose=spec.purpose.strip(),
        expires_at=spec.expires_at,
        status="requested",
        requested_by=actor,
        requested_at=ctx.clock.now(),
    )
    ctx.session.add(grant)
    ctx.session.flush()
    return grant


def _grant(ctx: Ctx, grant_id: int) -> SharingGrant:
    grant = ctx.session.get(SharingGrant, grant_id)
    if grant is None:
        raise NotFound("No such grant", message_zh="授权不存在", code="datahub.grant_unknown")
    return grant


def _owner_check(ctx: Ctx, grant: SharingGrant, caller: Caller) -> None:
    dataset = ctx.session.get(Dataset, grant.dataset_id)
    owner = _department_code(ctx, dataset.owner_department_id) if dataset else None
    if "admin" in caller.roles:
        return
    if caller.department_code != owner or not (caller.roles & APPROVER_ROLES):
        raise PermissionDenied(
            "Only the owning department's head or data administrator decides on this grant",
            message_zh="仅数据所属部门的负责人或数据管理员可审批此授权",
            code="datahub.not_owner",
        )


def approve_grant(
    ctx: Ctx, grant_id: int, *, caller: Caller, expires_at: datetime | None = None
) -> SharingGrant:
    """The owner lets the consumer read; ``expires_at`` (optional) replaces the asked expiry.

    Raises:
        NotFound: no such grant.
        PermissionDenied: the caller is not the owning department's head or data admin.
        Conflict: the grant is not waiting for a decision.
        ValidationFailed: the new expiry is not in the future.
    """
    grant = _grant(ctx, grant_id)
    _owner_check(ctx, grant, caller)
    _expect_status(grant, "requested")
    if expires_at is not None:
        if expires_at <= ctx.clock.now():
            raise ValidationFailed(
                "The expiry date is in the past",
                message_zh="有效期已过",
                code="datahub.grant_expired",
            )
        grant.expires_at = expires_at
    grant.status = "approved"
    grant.approved_by = caller.actor
    grant.approved_at = ctx.clock.now()
    ctx.session.flush()
    return grant


def refuse_grant(ctx: Ctx, grant_id: int, *, caller: Caller) -> SharingGrant:
    """The owner says no to a request. Who refused and when are kept in the revoked_* columns
    (the columns of whoever ended the grant); the status tells the two apart."""
    return _end_grant(ctx, grant_id, caller, was="requested", becomes="refused")


def revoke_grant(ctx: Ctx, grant_id: int, *, caller: Caller) -> SharingGrant:
    return _end_grant(ctx, grant_id, caller, was="approved", becomes="revoked")


def _end_grant(ctx: Ctx, grant_id: int, caller: Caller, *, was: str, becomes: str) -> SharingGrant:
    grant = _grant(ctx, grant_id)
    _owner_check(ctx, grant, caller)
    _expect_status(grant, was)
    grant.status = becomes
    grant.revoked_by = caller.actor
    grant.revoked_at = ctx.clock.now()
    ctx.session.flush()
    return grant


_STATUS_ZH = {"requested": "待审批", "approved": "已批准", "revoked": "已撤销", "refused": "已拒绝"}


def _expect_status(grant: SharingGrant, wanted: str) -> None:
    if grant.status != wanted:
        raise Conflict(
            f"The grant is {grant.status}",
            message_zh=f"该授权{_STATUS_ZH.get(grant.status, grant.status)}，不能再作此决定",
            code="datahub.grant_state",
        )


def grant_out(ctx: Ctx, grant: SharingGrant) -> GrantOut:
    dataset = ctx.session.get(Dataset, grant.dataset_id)
    assert dataset is not None
    return GrantOut(
        id=grant.id,
        dataset=dataset.code,
        owner_department=_department_code(ctx, dataset.owner_department_id),
        consumer_department=_department_code(ctx, grant.consumer_department_id),
        fields=list(grant.fields),
        purpose=grant.purpose,
        expires_at=grant.expires_at,
        status=grant.status,
        requested_by=grant.requested_by,
        approved_by=grant.approved_by,
        approved_at=grant.approved_at,
        requested_at=grant.requested_at,
        ended_by=grant.revoked_by,
        ended_at=grant.revoked_at,
    )


def list_grants(ctx: Ctx, department_code: str | None) -> list[GrantOut]:
    dept_id = catalog.get_department(ctx, department_code).id if department_code else None
    return [grant_out(ctx, g) for g in repo.grants(ctx.session, dept_id)]


def _log(
    ctx: Ctx,
    caller: Caller,
    *,
    dataset: Dataset | None,
    grant: SharingGrant | None,
    purpose: str,
    case_ref: str | None,
    fields: Iterable[str],
    record_keys: Iterable[str],
    outcome: str,
    reason: str | None = None,
) -> None:
    consumer_id = None
    if caller.department_code:
        consumer_id = catalog.get_department(ctx, caller.department_code).id
    ctx.session.add(
        AccessLogEntry(
            at=ctx.clock.now(),
            actor=caller.actor,
            actor_role=",".join(sorted(caller.roles))[:32],
            consumer_department_id=consumer_id,
            owner_department_id=dataset.owner_department_id if dataset else None,
            dataset_id=dataset.id if dataset else None,
            grant_id=grant.id if grant else None,
            purpose=purpose[:200],
            case_ref=case_ref,
            fields=sorted(fields),
            record_keys=list(record_keys)[:1000],
            outcome=outcome,
            reason=reason,
        )
    )
    ctx.session.flush()


def _covering_grant(
    ctx: Ctx, dataset: Dataset, consumer_id: int | None, fields: set[str], purpose: str
) -> tuple[SharingGrant | None, str]:
    """The approved, unexpired grant for this purpose covering ``fields``, or why there is none."""
    if consumer_id is None:
        return None, "the caller belongs to no department"
    now = ctx.clock.now()
    grants = repo.grants_for(ctx.session, dataset.id, consumer_id)
    live = [g for g in grants if g.status == "approved"]
    if not live:
        return None, "no approved grant"
    current = [g for g in live if g.expires_at > now]
    if not current:
        return None, "the grant has expired"
    for_purpose = [g for g in current if g.purpose == purpose]
    if not for_purpose:
        return None, f"no grant for the purpose {purpose!r}"
    for g in for_purpose:
        if fields <= set(g.fields):
            return g, ""
    covered = set().union(*(set(g.fields) for g in for_purpose))
    return None, "fields not granted: " + ", ".join(sorted(fields - covered))


def read_shared(
    ctx: Ctx,
    code: str,
    *,
    caller: Caller,
    purpose: str,
    case_ref: str | None,
    fields: Sequence[str] | None,
    keys: Sequence[str] | None = None,
    limit: int = 100,
) -> SharedRecords:
    """Read another department's records under a grant (X-Road pattern): deny by default,
    only granted fields, masked per sensitivity and role, every read and refusal logged.

    Raises:
        GrantMissing: no approved, unexpired grant for the caller's department, this purpose
            and these fields; the message names the grant that is missing.
    """
    dataset = get_dataset(ctx, code)
    specs = {f.name: f for f in field_specs(dataset)}
    if not purpose.strip():
        raise ValidationFailed(
            "State the purpose or case reference of this read",
            message_zh="请说明本次查询的目的或办件编号",
            code="datahub.purpose_required",
        )
    consumer_id = (
        catalog.get_department(ctx, caller.department_code).id if caller.department_code else None
    )
    owner_code = _department_code(ctx, dataset.owner_department_id)
    own_data = caller.department_code == owner_code
    wanted = set(fields) if fields else set()
    unknown = wanted - set(specs)
    if unknown:
        raise ValidationFailed(
            f"Dataset {code} has no field(s) {', '.join(sorted(unknown))}",
            message_zh=f"数据资源 {code} 没有字段 {'、'.join(sorted(unknown))}",
            code="datahub.field_unknown",
        )
    grant: SharingGrant | None = None
    if not own_data:
        if not wanted:
            live = [
                g
                for g in repo.grants_for(ctx.session, dataset.id, consumer_id or -1)
                if g.status == "approved"
                and g.expires_at > ctx.clock.now()
                and g.purpose == purpose
            ]
            wanted = set(live[0].fields) if live else set(specs)
        grant, why = _covering_grant(ctx, dataset, consumer_id, wanted, purpose)
        if grant is None:
            missing = (
                f"{caller.department_code or '?'} → {code}"
                f" [{', '.join(sorted(wanted))}] for purpose {purpose!r}"
            )
            _log(
                ctx,
                caller,
                dataset=dataset,
                grant=None,
                purpose=purpose,
                case_ref=case_ref,
                fields=wanted,
                record_keys=keys or [],
                outcome="refused",
                reason=f"{why}; missing grant: {missing}",
            )
            raise GrantMissing(
                f"Refused ({why}): a grant from {owner_code} is needed for {missing}",
                message_zh=f"拒绝访问（{why}）：需要 {owner_code} 批准的共享授权：{missing}",
                details={
                    "missing_grant": {
                        "dataset": code,
                        "owner_department": owner_code,
                        "consumer_department": caller.department_code,
                        "fields": sorted(wanted),
                        "purpose": purpose,
                    },
                    "reason": why,
                },
            )
    elif not wanted:
        wanted = set(specs)
    records = repo.records_of(ctx.session, dataset.id)
    if keys:
        wanted_keys = set(keys)
        records = [r for r in records if r.record_key in wanted_keys]
    records = list(records)[:limit]
    items = []
    for r in records:
        item: dict[str, Any] = {"record_key": r.record_key}
        for name in sorted(wanted):
            spec = specs[name]
            item[name] = masking.apply(r.data.get(name), spec.type, spec.sensitivity, caller.roles)
        items.append(item)
    _log(
        ctx,
        caller,
        dataset=dataset,
        grant=grant,
        purpose=purpose,
        case_ref=case_ref,
        fields=wanted,
        record_keys=[r.record_key for r in records],
        outcome="allowed",
    )
    return SharedRecords(
        dataset=code, purpose=purpose, case_ref=case_ref, fields=sorted(wanted), items=items
    )


def access_log_for(
    ctx: Ctx,
    department_code: str | None,
    *,
    since: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
    query: str | None = None,
    outcome: str | None = None,
) -> tuple[list[AccessLogOut], int]:
    """Who read a department's data (and what it read of others'); all when no department.

    ``query`` finds entries whose actor, purpose, case number or dataset code contains it.
    """
    dept_id = catalog.get_department(ctx, department_code).id if department_code else None
    rows, total = repo.access_log(
        ctx.session,
        owner_department_id=dept_id,
        since=since,
        limit=limit,
        offset=offset,
        query=query or None,
        outcome=outcome or None,
    )
    codes: dict[int, str] = {}
    out = []
    for e in rows:
        dataset = ctx.session.get(Dataset, e.dataset_id) if e.dataset_id else None
        if e.consumer_department_id and e.consumer_department_id not in codes:
            codes[e.consumer_department_id] = _department_code(ctx, e.consumer_department_id)
        out.append(
            AccessLogOut(
                id=e.id,
                at=e.at,
                actor=e.actor,
                actor_role=e.actor_role,
                consumer_department=codes.get(e.consumer_department_id or -1),
                dataset=dataset.code if dataset else None,
                purpose=e.purpose,
                case_ref=e.case_ref,
                fields=list(e.fields),
                record_keys=list(e.record_keys),
                outcome=e.outcome,
                reason=e.reason,
            )
        )
    return out, total


# --- submit once: pre-fill -------------------------------------------------------------------


def prefill_for_applicant(
    ctx: Ctx,
    id_number: str,
    fields: Sequence[str],
    *,
    consumer_department: str,
    purpose: str,
    actor: str = "system:intake",
    case_ref: str | None = None,
    roles: frozenset[str] = frozenset({"system"}),
) -> PrefillOut:
    """Values the city already holds about an applicant, for the intake form (免提交).

    ``fields`` are golden-record attributes (``name``, ``phone``, ``address``, ``birth_date``,
    ``sex`` …). Each value comes from a source dataset the consumer department holds an
    approved, unexpired grant on for ``purpose``; a field no grant covers is left out and
    named in ``missing_grants``. Every dataset read and every refusal is logged. Values are
    plain: they are shown to the applicant they describe.
    """
    caller = Caller(actor=actor, roles=roles, department_code=consumer_department)
    consumer_id = catalog.get_department(ctx, consumer_department).id
    number = std.citizen_id(id_number)
    entity = repo.entity_by_identifier(ctx.session, number)
    if entity is None:
        return PrefillOut(found=False, values={}, provenance={}, missing_grants=[])
    recs = [
        (r, ctx.session.get(Dataset, r.dataset_id))
        for r in repo.records_of_entity(ctx.session, entity.id)
    ]
    wanted = set(fields)
    candidates: dict[str, list[tuple[tuple[Any, ...], dict[str, Any], Dataset, SharingGrant]]] = (
        defaultdict(list)
    )
    refused: dict[int, tuple[Dataset, set[str], str]] = {}
    for r, d in recs:
        if d is None:
            continue
        specs = field_specs(d)
        by_golden = {
            golden_key(f): f
            for f in specs
            if golden_key(f) in wanted and r.data.get(f.name) is not None
        }
        if not by_golden:
            continue
        flagged = {p.get("field") for p in r.findings}
        for gkey, f in by_golden.items():
            grant, why = _covering_grant(ctx, d, consumer_id, {f.name}, purpose)
            if grant is None:
                entry = refused.setdefault(d.id, (d, set(), why))
                entry[1].add(f.name)
                continue
            candidates[gkey].append(
                (
                    (f.name not in flagged, r.updated_at, d.code),
                    {
                        "value": r.data[f.name],
                        "dataset": d.code,
                        "field": f.name,
                        "record_key": r.record_key,
                    },
                    d,
                    grant,
                )
            )
    values: dict[str, Any] = {}
    provenance: dict[str, dict[str, Any]] = {}
    reads: dict[int, tuple[Dataset, SharingGrant, set[str], set[str]]] = {}
    for gkey, options in candidates.items():
        rank, chosen, d, grant = max(options, key=lambda o: o[0])
        values[gkey] = chosen["value"]
        provenance[gkey] = {k: v for k, v in chosen.items() if k != "value"}
        read = reads.setdefault(d.id, (d, grant, set(), set()))
        read[2].add(chosen["field"])
        read[3].add(chosen["record_key"])
    for d, grant, names, keys in reads.values():
        _log(
            ctx,
            caller,
            dataset=d,
            grant=grant,
            purpose=purpose,
            case_ref=case_ref,
            fields=names,
            record_keys=sorted(keys),
            outcome="allowed",
        )
    missing: list[str] = []
    for d, names, why in refused.values():
        unresolved = {
            n
            for n in names
            if not any(golden_key(f) in values for f in field_specs(d) if f.name == n)
        }
        if not unresolved:
            continue
        missing.append(f"{d.code} [{', '.join(sorted(unresolved))}] for purpose {purpose!r}: {why}")
        _log(
            ctx,
            caller,
            dataset=d,
            grant=None,
            purpose=purpose,
            case_ref=case_ref,
            fields=unresolved,
            record_keys=[],
            outcome="refused",
            reason=why,
        )
    return PrefillOut(found=True, values=values, provenance=provenance, missing_grants=missing)


# The department whose grants pre-fill applications taken at the one window, and the purpose
# those grants are approved for.
PREFILL_CONSUMER = "CENTER"
PREFILL_PURPOSE = "一窗受理预填"
# Intake form field names → the golden-record attribute they ask for. A form field whose name
# is itself an attribute (``email``, ``birth_date``, a dataset's field name …) needs no entry.
FORM_ATTRIBUTES: dict[str, str] = {
    "applicant_name": "name",
    "full_name": "name",
    "mobile": "phone",
    "phone_number": "phone",
    "contact_phone": "phone",
    "gender": "sex",
    "date_of_birth": "birth_date",
    "hukou_address": "address",
    "residence_address": "address",
    "mailing_address": "address",
    "postal_address": "address",
    "home_address": "address",
    "employer_or_school": "employer",
    "work_unit": "employer",
}
_APPLICANT_TARGETS = {"applicant_name": "name", "applicant_phone": "phone"}


def _fits(spec: Mapping[str, Any], value: Any) -> str | None:
    """The value as the form field's input would hold it, or None when it does not fit."""
    if value is None or isinstance(value, dict | list):
        return None
    kind = spec.get("type", "string")
    if kind == "boolean":
        return ("true" if value else "false") if isinstance(value, bool) else None
    text = str(value).strip()
    if not text:
        return None
    if kind == "enum":
        return text if text in (spec.get("options") or []) else None
    if kind in ("number", "integer"):
        try:
            number = float(text)
        except ValueError:
            return None
        return text if kind == "number" or number.is_integer() else None
    if kind == "date":
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            return None
    return text[:2000]


def prefill_application(
    ctx: Ctx,
    service_code: str,
    applicant_kind: str,
    id_number: str,
    *,
    actor: str,
    roles: frozenset[str] = frozenset({"system"}),
    skip: Collection[str] = (),
    consumer_department: str = PREFILL_CONSUMER,
    purpose: str = PREFILL_PURPOSE,
    case_ref: str | None = None,
) -> ApplicationPrefillOut:
    """An application form filled from the golden record through the consumer department's
    grants (一次提交 / 免提交), each value with the dataset it came from.

    ``skip`` names targets (``applicant_name``, ``applicant_phone``, ``form.<field>``) that
    already hold what someone typed: they are neither read nor overwritten. Every dataset
    read and every refusal is logged (``prefill_for_applicant``). A city without the consumer
    department gets nothing pre-filled.
    """
    service = catalog.get_service(ctx, service_code)
    skipped = set(skip)
    targets: dict[str, str] = {
        t: attribute for t, attribute in _APPLICANT_TARGETS.items() if t not in skipped
    }
    specs: dict[str, Mapping[str, Any]] = {}
    for spec in service.form_fields:
        name = str(spec.get("name", ""))
        target = f"form.{name}"
        if not name or target in skipped or name in ("id_number", "citizen_id", "credit_code"):
            continue  # the applicant's ID is what was typed to look them up
        targets[target] = FORM_ATTRIBUTES.get(name, name)
        specs[target] = spec
    out = ApplicationPrefillOut(
        service=service.code,
        applicant_kind=applicant_kind,
        found=False,
        consumer_department=consumer_department,
        purpose=purpose,
        values={},
        form={},
        provenance={},
        missing_grants=[],
    )
    if not targets:
        return out
    try:
        catalog.get_department(ctx, consumer_department)
    except NotFound:
        return out
    known = prefill_for_applicant(
        ctx,
        id_number,
        sorted(set(targets.values())),
        consumer_department=consumer_department,
        purpose=purpose,
        actor=actor,
        case_ref=case_ref,
        roles=roles,
    )
    out.found = known.found
    out.missing_grants = known.missing_grants
    names: dict[str, str] = {}
    for target, attribute in targets.items():
        if attribute not in known.values:
            continue
        value = known.values[attribute]
        if target.startswith("form."):
            text = _fits(specs[target], value)
        else:
            text = _fits({"type": "string"}, value)
        if text is None:
            continue
        source = known.provenance[attribute]
        code = str(source["dataset"])
        if code not in names:
            names[code] = get_dataset(ctx, code).name
        if target.startswith("form."):
            out.form[target.removeprefix("form.")] = text
        else:
            out.values[target] = text
        out.provenance[target] = PrefillSource(
            attribute=attribute,
            dataset=code,
            dataset_name=names[code],
            field=str(source["field"]),
            record_key=str(source["record_key"]),
        )
    return out


# --- data for decisions ----------------------------------------------------------------------

UNKNOWN_DISTRICT = districts.UNKNOWN
UNKNOWN_DISTRICT_LABEL = districts.UNKNOWN_DISTRICT.label
MAX_AGGREGATE_DAYS = 5 * 366
DECISION_MEASURES = ("applications", "overdue", "closed_late", "linked")


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _entity_district(ctx: Ctx, entity: Entity, cities: dict[str, str | None]) -> str | None:
    """The GB/T 2260 district code of a golden record's address, if it names one."""
    attribute = entity.attributes.get("address")
    if not isinstance(attribute, dict) or not attribute.get("value"):
        return None
    code = str(attribute.get("dataset", ""))
    if code not in cities:
        dataset = repo.dataset_by_code(ctx.session, code)
        cities[code] = dataset.default_city_code if dataset else None
    return districts.district_of_address(str(attribute["value"]), default_city_code=cities[code])


def _total(key: str, label: str, counts: list[int]) -> AggregateTotal:
    applications, overdue, closed_late = counts
    return AggregateTotal(
        key=key,
        label=label,
        applications=applications,
        overdue=overdue,
        overdue_rate=round(overdue / applications, 4) if applications else 0.0,
        closed_late=closed_late,
    )


@dataclass(frozen=True, slots=True)
class DecisionCase:
    """One application as data for decisions counts it: its week, district and measures."""

    application_id: int
    number: str
    status: str
    submitted_at: datetime
    deadline: date
    week: date
    service: str
    district: districts.District
    overdue: bool
    closed_late: bool
    linked: bool

    def counts(self, measure: str) -> bool:
        return measure == "applications" or bool(getattr(self, measure))


@dataclass(frozen=True)
class _Classified:
    start: date
    end: date
    service: ServiceItem | None
    cases: list[DecisionCase]
    population: Counter[str]
    labels: dict[str, str]
    service_names: dict[str, str]


def _period(ctx: Ctx, start: date | None, end: date | None) -> tuple[date, date]:
    today = ctx.clock.now().astimezone(ctx.calendar.zone).date()
    end = end or today
    start = start or _monday(end) - timedelta(weeks=11)
    if start > end:
        raise ValidationFailed(
            "from is after to", message_zh="起始日期晚于截止日期", code="datahub.bad_period"
        )
    if (end - start).days > MAX_AGGREGATE_DAYS:
        raise ValidationFailed(
            "The period is longer than five years",
            message_zh="统计期间不能超过五年",
            code="datahub.bad_period",
        )
    return start, end


def _classify(ctx: Ctx, start: date | None, end: date | None, service: str | None) -> _Classified:
    """Every application submitted in the period, with its week, district and measures.

    The district comes from the applicant's golden record, else an address on the form, else
    the area code in the applicant's ID (``rules.districts``). Identifiers and addresses are
    read decrypted in memory only, to find the code; nothing of them is kept or logged.
    """
    zone = ctx.calendar.zone
    start, end = _period(ctx, start, end)
    item = catalog.get_service(ctx, service) if service else None
    rows = repo.applications_between(
        ctx.session,
        datetime.combine(start, time(), tzinfo=zone),
        datetime.combine(end + timedelta(days=1), time(), tzinfo=zone),
        item.id if item else None,
    )
    cities: dict[str, str | None] = {}
    population: Counter[str] = Counter()
    by_identifier: dict[tuple[str, str], str | None] = {}
    for kind in ("person", "business"):
        for entity in repo.entities(ctx.session, kind):
            code = _entity_district(ctx, entity, cities)
            if kind == "person":
                population[code or UNKNOWN_DISTRICT] += 1
            if entity.identifier:
                by_identifier.setdefault((kind, entity.identifier), code)
    # An address that names only a district is read under the data hub's city, when its
    # datasets agree on one.
    city_codes = {d.default_city_code for d in repo.datasets(ctx.session) if d.default_city_code}
    home_city = next(iter(city_codes)) if len(city_codes) == 1 else None
    services: dict[int, tuple[str, str]] = {}
    cases: list[DecisionCase] = []
    for application, applicant in rows:
        if application.service_item_id not in services:
            s = catalog.get_service_by_id(ctx, application.service_item_id)
            services[application.service_item_id] = (s.code, s.name_zh)
        number = (
            std.citizen_id(applicant.id_number)
            if applicant.kind == "person"
            else std.credit_code(applicant.id_number)
        )
        key = (applicant.kind, number)
        district = districts.resolve_district(
            record_code=by_identifier.get(key),
            addresses=districts.form_addresses(application.form_data or {}),
            kind=applicant.kind,
            id_number=number,
            default_city_code=home_city,
        )
        closed = application.closed_at.astimezone(zone).date() if application.closed_at else None
        cases.append(
            DecisionCase(
                application_id=application.id,
                number=application.number,
                status=application.status,
                submitted_at=application.submitted_at,
                deadline=application.deadline,
                week=_monday(application.submitted_at.astimezone(zone).date()),
                service=services[application.service_item_id][0],
                district=district,
                overdue=intake.is_overdue(ctx, application),
                closed_late=closed is not None and closed > application.deadline,
                linked=key in by_identifier,
            )
        )
    labels = {UNKNOWN_DISTRICT: UNKNOWN_DISTRICT_LABEL}
    labels.update({c: districts.district_label(c) for c in population if c != UNKNOWN_DISTRICT})
    labels.update({c.district.code: c.district.label for c in cases})
    return _Classified(
        start=start,
        end=end,
        service=item,
        cases=cases,
        population=population,
        labels=labels,
        service_names=dict(services.values()),
    )


def decision_cases(
    ctx: Ctx,
    *,
    measure: str,
    start: date | None = None,
    end: date | None = None,
    service: str | None = None,
    week: date | None = None,
    district: str | None = None,
    source: str | None = None,
) -> list[DecisionCase]:
    """The applications behind one number of ``aggregates``: those of the period (and week,
    district, service, district source when given) that ``measure`` counts, newest first.

    Raises:
        ValidationFailed: an unknown measure or source, a bad period, a week that does not
            start on a Monday inside the period.
        NotFound: an unknown service code.
    """
    if measure not in DECISION_MEASURES:
        raise ValidationFailed(
            f"Unknown measure {measure!r}",
            message_zh=f"未知的统计口径 {measure!r}",
            code="datahub.bad_measure",
        )
    if source is not None and source not in districts.SOURCES:
        raise ValidationFailed(
            f"Unknown district source {source!r}",
            message_zh=f"未知的区县来源 {source!r}",
            code="datahub.bad_source",
        )
    found = _classify(ctx, start, end, service)
    if week is not None and (week.weekday() != 0 or not _monday(found.start) <= week <= found.end):
        raise ValidationFailed(
            f"week {week.isoformat()} is not a Monday inside the period",
            message_zh=f"周 {week.isoformat()} 不是统计期间内的周一",
            code="datahub.bad_week",
        )
    picked = [
        c
        for c in found.cases
        if c.counts(measure)
        and (week is None or c.week == week)
        and (district is None or c.district.code == district)
        and (source is None or c.district.source == source)
    ]
    picked.sort(key=lambda c: (c.submitted_at, c.application_id), reverse=True)
    return picked


def aggregates(
    ctx: Ctx,
    *,
    start: date | None = None,
    end: date | None = None,
    service: str | None = None,
) -> AggregatesOut:
    """Applications and overdue cases by week, district and service, with the linked
    population per district (数据决策). ``start`` and ``end`` are local dates, both included;
    by default the twelve weeks up to today. Only counts leave: no record, no name.
    ``decision_cases`` lists the applications behind each count.

    Raises:
        ValidationFailed: ``start`` after ``end``, or a span over five years.
        NotFound: an unknown service code.
    """
    found = _classify(ctx, start, end, service)
    start, end, item = found.start, found.end, found.service
    labels, population = found.labels, found.population
    cells: dict[tuple[date, str, str], list[int]] = defaultdict(lambda: [0, 0, 0])
    sources: Counter[str] = Counter()
    for case in found.cases:
        cell = cells[(case.week, case.district.code, case.service)]
        cell[0] += 1
        cell[1] += int(case.overdue)
        cell[2] += int(case.closed_late)
        sources[case.district.source] += 1
    linked = sum(1 for c in found.cases if c.linked)
    weeks = []
    week = _monday(start)
    while week <= end:
        weeks.append(week)
        week += timedelta(weeks=1)
    per_week: dict[str, list[int]] = {w.isoformat(): [0, 0, 0] for w in weeks}
    per_district: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    per_service: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for (week, district_code, code), counts in cells.items():
        for bucket in (per_week[week.isoformat()], per_district[district_code], per_service[code]):
            for i, n in enumerate(counts):
                bucket[i] += n
    by_district = []
    for district_code in sorted(
        set(per_district) | set(population),
        key=lambda c: (c == UNKNOWN_DISTRICT, -per_district.get(c, [0, 0])[0], c),
    ):
        total = _total(
            district_code, labels[district_code], per_district.get(district_code, [0, 0, 0])
        )
        total.population = population.get(district_code, 0)
        if total.population:
            total.per_10k = round(total.applications * 10000 / total.population, 1)
        by_district.append(total)
    names = found.service_names
    return AggregatesOut(
        start=start,
        end=end,
        service=item.code if item else None,
        weeks=weeks,
        applications=sum(c[0] for c in cells.values()),
        overdue=sum(c[1] for c in cells.values()),
        closed_late=sum(c[2] for c in cells.values()),
        linked=linked,
        district_sources={k: sources.get(k, 0) for k in districts.SOURCES},
        cells=[
            AggregateCell(
                week=week,
                district_code=district_code,
                district=labels[district_code],
                service=code,
                applications=n,
                overdue=n_overdue,
                closed_late=n_late,
            )
            for (week, district_code, code), (n, n_overdue, n_late) in sorted(cells.items())
        ],
        by_week=[_total(key, key, counts) for key, counts in per_week.items()],
        by_district=by_district,
        by_service=[_total(code, names[code], per_service[code]) for code in sorted(per_service)],
    )
