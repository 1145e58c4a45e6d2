"""Validation rules (数据校验): named pure functions returning the problem found, or ``None``.

Citizen ID numbers per GB 11643-1999 (check character, a real birth date not in the future,
a known GB/T 2260 area code), unified social credit codes per GB 32100-2015 (both check
characters), mobile and landline numbers, e-mail addresses and required fields. The check
arithmetic itself lives in ``onewindow.intake.identifiers`` and is reused, not repeated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Literal

from onewindow.datahub.rules import standardise as std
from onewindow.datahub.rules.gbt2260 import is_known_area_code, is_known_province
from onewindow.intake.identifiers import (
    InvalidIdentifier,
    validate_citizen_id,
    validate_credit_code,
)


@dataclass(frozen=True, slots=True)
class Finding:
    """One failed rule on one value; messages never repeat the value (it may be personal)."""

    rule: str
    reason: str
    message: str


AreaCheck = Literal["known", "province", "off"]


def check_citizen_id(value: str, today: date, *, area: AreaCheck = "known") -> Finding | None:
    """GB 11643: 18 characters, MOD 11-2 check character, real past birth date, and an area
    code that GB/T 2260 knows (``known``: any county-level code in force since 2002;
    ``province``: only the first two digits; ``off``)."""
    try:
        parsed = validate_citizen_id(std.citizen_id(value), today)
    except InvalidIdentifier as exc:
        return Finding("citizen_id", str(exc.details.get("reason", "invalid")), exc.message)
    if area == "province" and not is_known_province(parsed.area_code):
        return Finding("citizen_id", "area_code", "unknown province in the area code (1–2)")
    if area == "known" and not is_known_area_code(parsed.area_code):
        if not is_known_province(parsed.area_code):
            return Finding("citizen_id", "area_code", "unknown province in the area code (1–2)")
        return Finding("citizen_id", "area_code", "area code (characters 1–6) not in GB/T 2260")
    return None


def check_credit_code(value: str) -> Finding | None:
    """GB 32100: 18 characters of its alphabet, position 18 and position 17 check characters."""
    try:
        validate_credit_code(value)
    except InvalidIdentifier as exc:
        return Finding("credit_code", str(exc.details.get("reason", "invalid")), exc.message)
    return None


def check_mobile(value: str) -> Finding | None:
    try:
        std.mobile_number(value)
    except std.RuleFailed as exc:
        return Finding("mobile", exc.reason, exc.message)
    return None


def check_phone(value: str) -> Finding | None:
    try:
        std.phone_e164(value)
    except std.RuleFailed as exc:
        return Finding("phone", exc.reason, exc.message)
    return None


# Pragmatic, not RFC 5322 in full: one @, a dotted domain of letters/digits/hyphens, no spaces.
_EMAIL = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)


def check_email(value: str) -> Finding | None:
    if not _EMAIL.match(std.email(value)):
        return Finding("email", "format", "not an e-mail address (name@domain.tld)")
    return None


def check_date(value: str) -> Finding | None:
    try:
        std.iso_date(value)
    except std.RuleFailed as exc:
        return Finding("date", exc.reason, exc.message)
    return None


def check_required(value: object) -> Finding | None:
    if value is None or (isinstance(value, str) and not std.fold_width(value).strip()):
        return Finding("required", "missing", "a value is required")
    return None


def make_validators(
    today: date, *, area: AreaCheck = "known"
) -> dict[str, Callable[[str], Finding | None]]:
    """The validators by the names a dataset schema uses."""
    return {
        "citizen_id": lambda v: check_citizen_id(v, today, area=area),
        "credit_code": check_credit_code,
        "mobile": check_mobile,
        "phone": check_phone,
        "email": check_email,
        "date": check_date,
    }
