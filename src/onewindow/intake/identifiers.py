"""Validators for the two identifiers applicants give: 居民身份证号码 and 统一社会信用代码.

Pure functions, implemented from the standards' rules (see docs/domain.md):
GB 11643-1999 with ISO 7064 MOD 11-2 for citizen ID numbers, GB 32100-2015 with the
GB 11714 organisation-code check for unified social credit codes.

Error messages never repeat the whole number: they end up in logs, and an ID number
is personal information (GB/T 35273-2020).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from onewindow.kit.errors import ValidationFailed

__all__ = [
    "CREDIT_CODE_ALPHABET",
    "CitizenId",
    "CreditCode",
    "InvalidIdentifier",
    "citizen_id_check_char",
    "credit_code_check_char",
    "make_citizen_id",
    "make_credit_code",
    "normalise_identifier",
    "org_code_check_char",
    "validate_citizen_id",
    "validate_credit_code",
]

CITIZEN_ID_CODE = "applicant.invalid_citizen_id"
CREDIT_CODE_CODE = "applicant.invalid_credit_code"

_DIGITS = "0123456789"
_ID_LENGTH = 18
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "0123456789X"

CREDIT_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_CREDIT_VALUES = {c: i for i, c in enumerate(CREDIT_CODE_ALPHABET)}
_CREDIT_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)

# Only the authorities and types docs/domain.md names. Other values are not rejected:
# the code table is extended by the issuing body (e.g. A and N were added after 2015),
# and the two check characters already catch mistyped codes.
_AUTHORITY_NAMES = {"1": "机构编制", "5": "民政", "9": "工商", "Y": "其他"}
_BUSINESS_TYPE_NAMES = {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}


class InvalidIdentifier(ValidationFailed):
    """An identifier failed a format or check-character rule; ``details["reason"]`` says which."""

    code = "applicant.invalid_identifier"


@dataclass(frozen=True, slots=True)
class CitizenId:
    """居民身份证号码: a validated 18-character citizen ID number."""

    number: str
    area_code: str
    birth_date: date
    sex: Literal["M", "F"]


@dataclass(frozen=True, slots=True)
class CreditCode:
    """统一社会信用代码: a validated unified social credit code."""

    number: str
    registering_authority: str
    org_type: str
    area_code: str
    org_code: str

    @property
    def registering_authority_name(self) -> str | None:
        return _AUTHORITY_NAMES.get(self.registering_authority)

    @property
    def org_type_name(self) -> str | None:
        if self.registering_authority != "9":
            return None
        return _BUSINESS_TYPE_NAMES.get(self.org_type)


def normalise_identifier(raw: str) -> str:
    """What applicants type on phones: full-width characters, stray spaces, lower case."""
    return unicodedata.normalize("NFKC", raw).strip().upper()


def citizen_id_check_char(first17: str) -> str:
    """ISO 7064 MOD 11-2 check character over the first 17 digits."""
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[(12 - total % 11) % 11]


def credit_code_check_char(first17: str) -> str:
    """GB 32100 position-18 check character over positions 1–17."""
    total = sum(_CREDIT_VALUES[c] * w for c, w in zip(first17, _CREDIT_WEIGHTS, strict=True))
    return CREDIT_CODE_ALPHABET[(31 - total % 31) % 31]


def _org_char_value(c: str) -> int:
    # GB 11714 values digits as themselves and letters A=10 … Z=35 over the full A–Z.
    return int(c) if c in _DIGITS else ord(c) - ord("A") + 10


def org_code_check_char(body: str) -> str:
    """GB 11714 organisation-code check character over its 8-character body."""
    total = sum(_org_char_value(c) * w for c, w in zip(body, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    if check == 10:
        return "X"
    if check == 11:
        return "0"
    return str(check)


def _fail(code: str, reason: str, message: str, message_zh: str, **extra: Any) -> InvalidIdentifier:
    return InvalidIdentifier(
        message, message_zh=message_zh, code=code, details={"reason": reason, **extra}
    )


def _check_length(number: str, code: str, label_en: str, label_zh: str) -> None:
    if len(number) != _ID_LENGTH:
        raise _fail(
            code,
            "length",
            f"{label_en} must have {_ID_LENGTH} characters, got {len(number)}",
            f"{label_zh}应为 {_ID_LENGTH} 位，实际为 {len(number)} 位",
            expected=_ID_LENGTH,
            got=len(number),
        )


def _bad_character(
    code: str,
    label_en: str,
    label_zh: str,
    position: int,
    char: str,
    allowed_en: str,
    allowed_zh: str,
) -> InvalidIdentifier:
    shown = char if char.isprintable() else f"U+{ord(char):04X}"
    return _fail(
        code,
        "character",
        f"{label_en}: character {position} is {shown!r}, expected {allowed_en}",
        f"{label_zh}第 {position} 位为 {shown!r}，应为{allowed_zh}",
        position=position,
        got=shown,
    )


def validate_citizen_id(s: str, today: date) -> CitizenId:
    """Check a citizen ID number (GB 11643-1999) and return its parts.

    Accepts full-width digits, surrounding spaces and a lower-case ``x``. ``today`` is
    passed in (not read from the clock) so the birth-date rule is testable; use the
    applicant's local date.

    Raises:
        InvalidIdentifier: code ``applicant.invalid_citizen_id``; ``details["reason"]``
            is ``length``, ``character``, ``check_digit`` or ``birth_date``.
    """
    code, label_en, label_zh = CITIZEN_ID_CODE, "citizen ID number", "身份证号码"
    number = normalise_identifier(s)
    _check_length(number, code, label_en, label_zh)
    for position, char in enumerate(number[:17], start=1):
        if char not in _DIGITS:
            raise _bad_character(code, label_en, label_zh, position, char, "a digit", "数字")
    if number[17] not in _ID_CHECK_CHARS:
        raise _bad_character(code, label_en, label_zh, 18, number[17], "a digit or X", "数字或 X")
    expected = citizen_id_check_char(number[:17])
    if number[17] != expected:
        raise _fail(
            code,
            "check_digit",
            f"{label_en}: check character expected {expected}, got {number[17]} "
            f"(a digit is probably mistyped)",
            f"{label_zh}校验位应为 {expected}，实际为 {number[17]}（可能有数字输错）",
            expected=expected,
            got=number[17],
        )
    birth_text = number[6:14]
    try:
        birth = date(int(birth_text[:4]), int(birth_text[4:6]), int(birth_text[6:]))
    except ValueError:
        raise _fail(
            code,
            "birth_date",
            f"{label_en}: birth date {birth_text} (characters 7–14) is not a real date",
            f"{label_zh}中的出生日期 {birth_text}（第 7–14 位）不是有效日期",
            got=birth_text,
        ) from None
    if birth > today:
        raise _fail(
            code,
            "birth_date",
            f"{label_en}: birth date {birth.isoformat()} is in the future",
            f"{label_zh}中的出生日期 {birth.isoformat()} 晚于今天",
            got=birth_text,
        )
    return CitizenId(
        number=number,
        area_code=number[:6],
        birth_date=birth,
        sex="M" if int(number[16]) % 2 == 1 else "F",
    )


def validate_credit_code(s: str) -> CreditCode:
    """Check a unified social credit code (GB 32100-2015) and return its parts.

    Both check characters are verified: position 18 (GB 32100) and position 17, the
    GB 11714 organisation-code check over positions 9–16.

    Raises:
        InvalidIdentifier: code ``applicant.invalid_credit_code``; ``details["reason"]``
            is ``length``, ``character``, ``check_digit`` or ``org_check_digit``.
    """
    code, label_en, label_zh = CREDIT_CODE_CODE, "unified social credit code", "统一社会信用代码"
    number = normalise_identifier(s)
    _check_length(number, code, label_en, label_zh)
    for position, char in enumerate(number, start=1):
        if char not in _CREDIT_VALUES:
            raise _bad_character(
                code,
                label_en,
                label_zh,
                position,
                char,
                "a digit or a capital letter other than I, O, S, V, Z",
                "数字或除 I、O、S、V、Z 以外的大写字母",
            )
    expected = credit_code_check_char(number[:17])
    if number[17] != expected:
        raise _fail(
            code,
            "check_digit",
            f"{label_en}: check character (position 18) expected {expected}, got {number[17]}",
            f"{label_zh}第 18 位校验码应为 {expected}，实际为 {number[17]}",
            position=18,
            expected=expected,
            got=number[17],
        )
    expected_org = org_code_check_char(number[8:16])
    if number[16] != expected_org:
        raise _fail(
            code,
            "org_check_digit",
            f"{label_en}: organisation-code check character (position 17) expected "
            f"{expected_org}, got {number[16]}",
            f"{label_zh}第 17 位（组织机构代码校验码）应为 {expected_org}，实际为 {number[16]}",
            position=17,
            expected=expected_org,
            got=number[16],
        )
    return CreditCode(
        number=number,
        registering_authority=number[0],
        org_type=number[1],
        area_code=number[2:8],
        org_code=number[8:17],
    )


def make_citizen_id(area: str, birth: date, seq: int) -> str:
    """Fabricate a valid citizen ID number (demo and tests only: it names nobody real).

    ``seq`` is the 3-digit sequence 0–999; odd means male, even female.

    Raises:
        ValueError: ``area`` is not 6 digits or ``seq`` is out of range.
    """
    if len(area) != 6 or any(c not in _DIGITS for c in area):
        raise ValueError(f"area code must be 6 digits, got {area!r}")
    if not 0 <= seq <= 999:
        raise ValueError(f"sequence must be 0–999, got {seq}")
    if not 0 < birth.year <= 9999:
        raise ValueError(f"birth year must have 4 digits, got {birth.year}")
    first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
    return first17 + citizen_id_check_char(first17)


def make_credit_code(
    area_code: str,
    org_code: str | int,
    *,
    authority: str = "9",
    org_type: str = "1",
) -> str:
    """Fabricate a valid unified social credit code (demo and tests only).

    ``org_code`` is the GB 11714 organisation code: its 8-character body (the check
    character is computed), the full 9 characters (the check character is verified),
    or an integer rendered as an 8-digit body. The position-18 check is computed. The
    defaults make an enterprise (企业) registered by market regulation (工商).

    Raises:
        ValueError: a part has the wrong length, a character outside the GB 32100
            alphabet, or a 9-character ``org_code`` has the wrong check character.
    """
    if isinstance(org_code, int):
        if not 0 <= org_code <= 99_999_999:
            raise ValueError(f"numeric organisation code must be 0–99999999, got {org_code}")
        org_code = f"{org_code:08d}"
    org_code = org_code.upper()
    body = org_code[:8]
    parts = {
        "authority": (authority, 1),
        "org_type": (org_type, 1),
        "area_code": (area_code, 6),
        "org_code": (body, 8),
    }
    if len(org_code) not in (8, 9):
        raise ValueError(f"org_code must have 8 or 9 characters, got {org_code!r}")
    for name, (value, length) in parts.items():
        if len(value) != length:
            raise ValueError(f"{name} must have {length} characters, got {value!r}")
        if any(c not in _CREDIT_VALUES for c in value):
            raise ValueError(f"{name} {value!r} has characters outside the GB 32100 alphabet")
    check = org_code_check_char(body)
    if len(org_code) == 9 and org_code[8] != check:
        raise ValueError(
            f"org_code {org_code!r} has check character {org_code[8]}, expected {check}"
        )
    first17 = f"{authority}{org_type}{area_code}{body}{check}"
    return first17 + credit_code_check_char(first17)
