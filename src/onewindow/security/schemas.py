from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ROLES = (
    "applicant",
    "clerk",
    "reviewer",
    "head",
    "analyst",
    "data_admin",
    "auditor",
    "admin",
    "system",
)


@dataclass(frozen=True)
class Principal:
    """Who is calling: staff, an applicant (by verified phone) or a department system."""

    kind: Literal["staff", "applicant", "system"]
    name: str  # staff username, "applicant", or the token's name
    roles: frozenset[str]
    via: Literal["session", "token"]
    staff_id: int | None = None
    department_id: int | None = None
    department_code: str | None = None
    phone: str | None = None
    scopes: frozenset[str] = field(default_factory=frozenset)
    csrf_token: str | None = None
    # What pages show for a member of staff: their name and their department's, never codes.
    display_name: str | None = None
    department_names: tuple[str, str] | None = None  # (中文, English)

    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"
