from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Sensitivity = Literal["public", "internal", "personal", "sensitive"]
FieldType = Literal[
    "text",
    "name",
    "citizen_id",
    "credit_code",
    "mobile",
    "phone",
    "date",
    "email",
    "address",
    "gender",
    "bank_card",
]
SENSITIVITY_ZH = {
    "public": "公开",
    "internal": "内部",
    "personal": "个人信息",
    "sensitive": "敏感个人信息",
}


class FieldSpec(BaseModel):
    """One field of a dataset: what it means, how sensitive it is, how it is standardised."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    label: str = Field(default="", max_length=200, description="display name, e.g. 姓名")
    meaning: str = Field(default="", max_length=1000)
    sensitivity: Sensitivity = "internal"
    type: FieldType = "text"
    required: bool = False
    simplify: bool = Field(default=False, description="convert traditional to simplified Chinese")
    aliases: list[str] = Field(default_factory=list, description="source column names")
    derive_from: str | None = Field(
        default=None,
        description="for a gender or date field: the citizen_id field to read it from when blank",
    )


class DatasetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    owner_department: str = Field(description="department code")
    entity_kind: Literal["person", "business"] = "person"
    key_field: str
    fields: list[FieldSpec] = Field(min_length=1)
    on_error: Literal["reject_all", "keep_good"] = "keep_good"
    default_city_code: str | None = Field(default=None, pattern=r"^\d{6}$")

    @model_validator(mode="after")
    def _key_is_a_field(self) -> DatasetSpec:
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError("field names must be unique")
        if self.key_field not in names:
            raise ValueError(f"key_field {self.key_field!r} is not one of the fields")
        for f in self.fields:
            if f.derive_from is not None and f.derive_from not in names:
                raise ValueError(f"{f.name}: derive_from {f.derive_from!r} is not a field")
        return self


class LoadOut(BaseModel):
    id: int
    dataset: str
    source: str
    format: str
    status: str
    encoding: str | None
    rows_read: int
    rows_inserted: int
    rows_updated: int
    rows_unchanged: int
    rows_rejected: int
    full: bool = False
    rows_deleted: int = 0
    problems: list[dict[str, Any]]
    loaded_at: datetime
    loaded_by: str


class FieldQuality(BaseModel):
    field: str
    label: str
    sensitivity: Sensitivity
    records: int
    filled: int
    valid: int
    distinct: int
    completeness: float
    validity: float
    uniqueness: float
    inconsistent: int = Field(description="records whose value disagrees with another dataset")


class QualityReport(BaseModel):
    dataset: str
    records: int
    fields: list[FieldQuality]
    failing_rows: int


class CatalogueField(BaseModel):
    name: str
    label: str
    meaning: str
    type: str
    sensitivity: Sensitivity
    sensitivity_zh: str


class CatalogueEntry(BaseModel):
    code: str
    name: str
    description: str
    owner_department: str
    entity_kind: str
    records: int
    fields: list[CatalogueField]


class GrantIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dataset: str
    consumer_department: str
    fields: list[str] = Field(min_length=1)
    purpose: str = Field(min_length=2, max_length=200)
    expires_at: datetime


class GrantOut(BaseModel):
    id: int
    dataset: str
    owner_department: str
    consumer_department: str
    fields: list[str]
    purpose: str
    expires_at: datetime
    status: str
    requested_by: str
    approved_by: str | None
    approved_at: datetime | None
    requested_at: datetime | None = None
    ended_by: str | None = None  # who refused or revoked it
    ended_at: datetime | None = None


class SharedRecords(BaseModel):
    dataset: str
    purpose: str
    case_ref: str | None
    fields: list[str]
    items: list[dict[str, Any]]


class AccessLogOut(BaseModel):
    id: int
    at: datetime
    actor: str
    actor_role: str
    consumer_department: str | None
    dataset: str | None
    purpose: str
    case_ref: str | None
    fields: list[str]
    record_keys: list[str]
    outcome: str
    reason: str | None


class ReviewOut(BaseModel):
    id: int
    match_probability: float
    status: str
    left: dict[str, Any]
    right: dict[str, Any]
    decided_by: str | None
    decided_at: datetime | None = None


class LinkRunOut(BaseModel):
    records: int
    entities: int
    linked_pairs: int
    review_pending: int
    seconds: float
    notes: list[str]


class PrefillOut(BaseModel):
    """Known values for an intake form, each with where it came from."""

    found: bool
    values: dict[str, Any]
    provenance: dict[str, dict[str, Any]]
    missing_grants: list[str]


class PrefillSource(BaseModel):
    """Where a pre-filled value came from: the golden-record attribute and its source row."""

    attribute: str
    dataset: str
    dataset_name: str
    field: str
    record_key: str


class ApplicationPrefillOut(BaseModel):
    """An application pre-filled from the golden record (免提交): ``values`` has the
    applicant's ``applicant_name`` and ``applicant_phone``, ``form`` the service's form
    fields; ``provenance`` is keyed by ``applicant_name``, ``applicant_phone`` and
    ``form.<field>``. ``missing_grants`` names what could have been filled under a grant the
    consumer department does not hold."""

    service: str
    applicant_kind: str
    found: bool
    consumer_department: str
    purpose: str
    values: dict[str, Any]
    form: dict[str, Any]
    provenance: dict[str, PrefillSource]
    missing_grants: list[str]


class AggregateCell(BaseModel):
    """Applications submitted in one week, from one district, for one service."""

    week: date
    district_code: str
    district: str
    service: str
    applications: int
    overdue: int
    closed_late: int = 0


class AggregateTotal(BaseModel):
    """One line of a roll-up: ``key`` is a week (ISO date), a district code or a service code."""

    key: str
    label: str
    applications: int
    overdue: int
    overdue_rate: float
    closed_late: int = 0
    population: int | None = None
    per_10k: float | None = None


class AggregatesOut(BaseModel):
    """Data for decisions (决策分析): applications and overdue cases by week, district and
    service. Weeks start on Monday (Asia/Shanghai). ``overdue`` uses the platform's one
    definition (open past its deadline, not waiting for the applicant's 补正: see
    ``intake.rules.is_overdue``); ``closed_late`` counts cases decided after their deadline.
    The district is a GB/T 2260 county-level code read from the applicant's golden-record
    address, else an address on the form, else the area code in the applicant's ID
    (``rules.districts``); ``district_sources`` counts applications per source, ``unknown``
    when none names a district. ``population`` counts golden records of people per district."""

    start: date
    end: date
    service: str | None
    weeks: list[date]
    applications: int
    overdue: int
    closed_late: int = 0
    linked: int
    district_sources: dict[str, int] = Field(default_factory=dict)
    cells: list[AggregateCell]
    by_week: list[AggregateTotal]
    by_district: list[AggregateTotal]
    by_service: list[AggregateTotal]
