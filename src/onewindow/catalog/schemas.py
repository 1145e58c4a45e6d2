"""The catalogue's file formats (YAML), validated before anything is written."""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

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


class FormFieldIn(_Strict):
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    label_zh: str
    label_en: str
    type: Literal["string", "number", "integer", "boolean", "date", "enum"] = "string"
    required: bool = False
    options: list[str] = []


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
