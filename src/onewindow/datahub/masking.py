"""Masking per field sensitivity and caller role (GB/T 35273-2020 §7.2; formats in docs/domain.md).

Each (sensitivity, role) pair gives a visibility — ``plain``, ``masked`` or ``none`` — as in
eGov DIGIT; the mask itself depends on the field's type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

Visibility = Literal["plain", "masked", "none"]

# Case handlers see personal data plainly (they decide on it); analysts and auditors see it
# masked; sensitive personal data is masked for everyone but the system pre-filling a form
# for the person it belongs to (which goes through ``prefill``, not this table).
_HANDLERS = frozenset({"clerk", "reviewer", "head"})
VISIBILITY: dict[str, dict[str, Visibility]] = {
    "public": {},
    "internal": {"applicant": "none"},
    "personal": {
        **dict.fromkeys(_HANDLERS, "plain"),
        "system": "plain",
        "data_admin": "masked",
        "analyst": "masked",
        "auditor": "masked",
        "admin": "masked",
        "applicant": "none",
    },
    "sensitive": {
        **dict.fromkeys(_HANDLERS, "masked"),
        "system": "masked",
        "data_admin": "masked",
        "analyst": "none",
        "auditor": "masked",
        "admin": "masked",
        "applicant": "none",
    },
}
_DEFAULT: dict[str, Visibility] = {
    "public": "plain",
    "internal": "plain",
    "personal": "masked",
    "sensitive": "none",
}
_RANK: dict[Visibility, int] = {"none": 0, "masked": 1, "plain": 2}


def visibility(sensitivity: str, roles: frozenset[str]) -> Visibility:
    """The most open visibility any of the caller's roles has for this sensitivity."""
    table = VISIBILITY.get(sensitivity, {})
    default = _DEFAULT.get(sensitivity, "none")
    found = [table.get(role, default) for role in roles] or [default]
    return max(found, key=lambda v: _RANK[v])


def _keep(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return value[:1] + "*" * (len(value) - 1) if value else value
    return value[:head] + "*" * (len(value) - head - tail) + (value[-tail:] if tail else "")


def mask_name(value: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***: keep the first character."""
    return value[:1] + "*" * (len(value) - 1)


def mask_citizen_id(value: str) -> str:
    """Keep the first 6 and last 4: 110105********002X."""
    return _keep(value, 6, 4)


def mask_mobile(value: str) -> str:
    """Keep the first 3 and last 4: 138****5678 (an E.164 ``+86`` prefix is kept as well)."""
    if value.startswith("+86"):
        return "+86" + mask_mobile(value[3:])
    if len(value) == 11 and value.startswith("1"):
        return _keep(value, 3, 4)
    return mask_landline(value)


def mask_landline(value: str) -> str:
    """Keep the first 4 and last 2: 0915*****79."""
    return _keep(value, 4, 2)


def mask_bank_card(value: str) -> str:
    """Keep the first 6 and last 4: 622202*********3256."""
    return _keep(value, 6, 4)


def mask_address(value: str) -> str:
    """Hide the last 8 characters: 北京市海淀区马******** ."""
    if len(value) <= 8:
        return "*" * len(value)
    return value[:-8] + "*" * 8


def mask_email(value: str) -> str:
    """Keep the first letter of the local part: z****@example.cn."""
    local, at, domain = value.partition("@")
    if not at:
        return mask_name(value)
    return local[:1] + "****" + at + domain


def mask_text(value: str) -> str:
    return _keep(value, 1, 1) if len(value) > 2 else mask_name(value)


MASKS: dict[str, Callable[[str], str]] = {
    "name": mask_name,
    "citizen_id": mask_citizen_id,
    "credit_code": lambda v: _keep(v, 8, 2),
    "mobile": mask_mobile,
    "phone": mask_mobile,
    "bank_card": mask_bank_card,
    "address": mask_address,
    "email": mask_email,
    "date": lambda v: v[:4] + "-**-**" if len(v) >= 4 else "*",
    "gender": lambda v: "*",
}


def apply(value: Any, field_type: str, sensitivity: str, roles: frozenset[str]) -> Any:
    """The value as this caller may see it: unchanged, masked, or withheld (``None``)."""
    seen = visibility(sensitivity, roles)
    if seen == "plain" or value is None:
        return value
    if seen == "none":
        return None
    return MASKS.get(field_type, mask_text)(str(value))
