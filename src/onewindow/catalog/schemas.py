"""The catalogue's file formats (YAML), validated before anything is written."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ROLES = ("clerk", "reviewer", "head", "analyst", "data_admin", "auditor", "admin")
APPLICANT_LANE = "APPLICANT"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DepartmentIn(_Strict):
    code: str = Field(pattern=r"^[A-Z][A-Z0-9_]{1,31}$")
    name_zh: str = Field(min_length=1, max_length=200)
    name_en: str = Field(min_length=1, max_length=200)


class StaffIn(_Strict):
    username: str = Field(pattern=r"^[a-z][a-z0-9_.-]{1,63}$")
    name: str = Field(min_length=1, max_length=100)
    department: str
    roles: list[Literal["clerk", "reviewer", "head", "analyst", "data_admin", "auditor", "admin"]]


class DepartmentsFile(_Strict):
    departments: list[DepartmentIn]
    staff: list[StaffIn] = []


class MaterialIn(_Strict):
    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    name_zh: str
    name_en: str
    required: bool = True
    certificate: bool = False
    valid_days: int | None = Field(default=None, gt=0)
    deferrable: bool = False  # 容缺: may be promised instead of handed in (never a key one)


class FormFieldIn(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    label_zh: str
    label_en: str
    type: Literal["string", "number", "integer", "boolean", "date", "enum", "multi"] = "string"
    required: bool = False
    options: list[str] = []
    # The options' English labels, in the same order (the stored value is the option itself).
    options_en: list[str] = []

    @model_validator(mode="after")
    def _options_for_choices(self) -> FormFieldIn:
        if self.type in ("enum", "multi") and not self.options:
            raise ValueError(f"{self.name}: a field of type {self.type} needs its options")
        if self.options_en and len(self.options_en) != len(self.options):
            raise ValueError(f"{self.name}: options_en must label every option, in order")
        return self


REFUSALS = ("not_accept", "reject")
Refusal = Literal["not_accept", "reject"]


def _both_refusals() -> list[Refusal]:
    return ["not_accept", "reject"]


class LegalBasisIn(_Strict):
    """A legal basis a refusal of this service may cite (行政许可法 §38: a refusal gives its
    reasons and its legal basis). ``applies_to`` names the refusals it may justify:
    ``not_accept`` (不予受理, at the acceptance step) and ``reject`` (不予许可 / 不予办理)."""

    code: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    zh: str = Field(min_length=4, max_length=500)
    en: str = Field(min_length=4, max_length=500)
    applies_to: list[Refusal] = Field(default_factory=_both_refusals, min_length=1)


class ReviewIn(_Strict):
    """Where the applicant may seek review of a decision (the rights printed on a refusal)."""

    reconsideration_zh: str = Field(default="本机关的本级人民政府", min_length=2, max_length=200)
    reconsideration_en: str = Field(
        default="the people's government at the level of the deciding authority",
        min_length=2,
        max_length=200,
    )
    court_zh: str = Field(default="有管辖权的人民法院", min_length=2, max_length=200)
    court_en: str = Field(
        default="the people's court with jurisdiction", min_length=2, max_length=200
    )


class ServiceFile(_Strict):
    code: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    name_zh: str
    name_en: str
    applicant_kind: Literal["person", "business", "any"] = "any"
    time_limit_days: int = Field(gt=0, le=365)
    fee: Decimal = Decimal(0)
    process: str
    dmn: list[str] = []
    lanes: dict[str, str] = {}
    task_sla_days: dict[str, int] = {}
    in_person_activities: list[str] = []
    materials: list[MaterialIn] = []
    form: list[FormFieldIn] = []
    # 行政许可事项: decisions are 准予/不予行政许可决定书; otherwise 办结通知/不予办理决定书.
    permit: bool = False
    # The BPMN task where the window accepts the case (受理): its approval issues the
    # 受理通知书, its refusal is 不予受理.
    acceptance_task: str | None = Field(default=None, max_length=200)
    legal_bases: list[LegalBasisIn] = []
    review: ReviewIn = ReviewIn()
    # 容缺受理: working days a promised material may take; materials marked deferrable
    deferral_days: int | None = Field(default=None, gt=0, le=60)
