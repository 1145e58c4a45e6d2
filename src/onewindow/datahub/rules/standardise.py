"""Standardisation rules (数据标准化): named pure functions, applied per field by a schema.

Each rule takes the raw text and returns the standard form, or raises ``RuleFailed`` with a
reason a data administrator can act on. ``RULES`` maps the names a schema uses to the
functions, so a schema is data (``{"name": "full_name", "standardise": ["name"]}``).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from onewindow.datahub.rules.gbt2260 import split_address
from onewindow.intake.identifiers import (
    InvalidIdentifier,
    citizen_id_check_char,
    normalise_identifier,
    validate_citizen_id,
)


class RuleFailed(ValueError):
    """A value could not be standardised; ``reason`` is a stable machine-readable word."""

    def __init__(self, rule: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.reason = reason
        self.message = message


# --- text ------------------------------------------------------------------------------------

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0002ebef\uf900-\ufaff"
_SPACE_BETWEEN_CJK = re.compile(rf"(?<=[{_CJK}·])\s+(?=[{_CJK}·])")
_SPACES = re.compile(r"\s+")
# Interpuncts people type in minority and foreign names: ・ (katakana), • (bullet), ‧, ．, .
_DOTS = re.compile(r"\s*[\u00b7\u2022\u2027\u30fb\uff65\u2219\u22c5\uff0e.]\s*")


def fold_width(text: str) -> str:
    """Full-width letters, digits and punctuation to their ASCII forms (Unicode NFKC);
    the ideographic space U+3000 becomes a plain space."""
    return unicodedata.normalize("NFKC", text)


def fold_spaces(text: str) -> str:
    """Trim, collapse runs of whitespace, and drop whitespace between Chinese characters."""
    text = _SPACES.sub(" ", text.strip())
    return _SPACE_BETWEEN_CJK.sub("", text)


@functools.cache
def _t2s() -> Any:
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional → simplified Chinese (OpenCC ``t2s``): 張三 → 张三."""
    return str(_t2s().convert(text))


def fold_name(text: str) -> str:
    """A person's or business's name in one comparable form.

    ``张 三``, ``张　三`` and ``张三`` all give ``张三``; ``ＺＨＡＮＧ  san`` gives ``ZHANG SAN``;
    the dots in transliterated names (阿依古丽•买买提) become the standard middle dot ``·``.
    Simplification is a separate rule (``to_simplified``), applied where configured.
    """
    folded = fold_spaces(fold_width(text))
    folded = _DOTS.sub("·", folded) if re.search(f"[{_CJK}]", folded) else folded
    if not re.search(f"[{_CJK}]", folded):
        folded = folded.upper()
    if not folded:
        raise RuleFailed("name", "empty", "the name is empty after removing spaces")
    return folded


def name_pinyin(text: str) -> str:
    """Toneless pinyin of a name, syllables joined without spaces: 张三 → zhangsan.

    Homophone typos (章三 for 张三) meet here, which is why linkage compares it.
    """
    from pypinyin import Style, lazy_pinyin

    syllables = lazy_pinyin(fold_name(text), style=Style.NORMAL, errors="default")
    return re.sub(r"[^a-z]", "", "".join(syllables).lower())


# --- phone numbers ---------------------------------------------------------------------------

_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# Area codes: 010, 02X (two-digit after 0) or 0XXX (three-digit after 0); subscriber 7–8 digits.
_LANDLINE = re.compile(r"^0(10|2\d|[3-9]\d{2})(\d{7,8})$")


def _phone_digits(raw: str) -> str:
    text = fold_width(raw).strip()
    text = re.sub(r"(转|ext\.?|x)\s*\d+$", "", text, flags=re.IGNORECASE)  # extensions dropped
    digits = re.sub(r"[\s\-().]", "", text)
    if digits.startswith("+"):
        digits = digits[1:]
        if not digits.startswith("86"):
            raise RuleFailed("phone", "foreign", "only mainland China numbers (+86) are handled")
        digits = digits[2:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    elif digits.startswith("86") and len(digits) == 13:
        digits = digits[2:]
    if not digits.isdigit():
        raise RuleFailed("phone", "characters", "a phone number has digits only")
    return digits


def mobile_number(raw: str) -> str:
    """A mainland mobile number as its 11 digits: ``+86 138-0013-8000`` → ``13800138000``."""
    digits = _phone_digits(raw)
    if not _MOBILE.match(digits):
        raise RuleFailed(
            "mobile", "format", "a mobile number has 11 digits starting 13–19 (after +86)"
        )
    return digits


def phone_e164(raw: str) -> str:
    """A mainland mobile or landline number in E.164: ``0591-8765 4321`` → ``+8659187654321``."""
    digits = _phone_digits(raw)
    if _MOBILE.match(digits):
        return f"+86{digits}"
    if _LANDLINE.match(digits):
        return f"+86{digits[1:]}"
    raise RuleFailed(
        "phone",
        "format",
        "not a mainland mobile (11 digits, 1[3-9]…) or landline (0 + area code + 7–8 digits)",
    )


# --- dates -----------------------------------------------------------------------------------

_CN_DIGITS = {
    "〇": 0,
    "零": 0,
    "○": 0,
    "Ｏ": 0,
    "O": 0,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


def _cn_number(text: str, *, positional: bool) -> int:
    """二〇二四 (positional, for years) or 二十三 (with 十, for months and days)."""
    if text.isdigit():
        return int(text)
    if positional:
        return int("".join(str(_CN_DIGITS[c]) for c in text))
    if "十" in text:
        tens, _, ones = text.partition("十")
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
    return _CN_DIGITS[text]


_CN_CHARS = "".join(_CN_DIGITS) + "十"
_DATE_CN = re.compile(
    rf"^([\d{_CN_CHARS}]{{4}})\s*年\s*([\d{_CN_CHARS}]{{1,3}})\s*月\s*([\d{_CN_CHARS}]{{1,3}})\s*[日号]?$"
)
_DATE_SEP = re.compile(r"^(\d{4})\s*[-/.]\s*(\d{1,2})\s*[-/.]\s*(\d{1,2})$")
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_TIME_TAIL = re.compile(r"[T\s]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def iso_date(raw: str | date | datetime) -> str:
    """A date in any common Chinese or ISO form as ``YYYY-MM-DD``.

    Accepts 2024-03-05, 2024/3/5, 2024.3.5, 20240305, 2024年3月5日 (or 号),
    二〇二四年三月五日, and any of them followed by a time; day-first and month-first
    forms such as 05/03/2024 are ambiguous and refused.
    """
    if isinstance(raw, datetime):
        return raw.date().isoformat()
    if isinstance(raw, date):
        return raw.isoformat()
    text = fold_width(raw).strip()
    text = _TIME_TAIL.sub("", text).strip()
    for pattern, _positional_year in ((_DATE_SEP, False), (_DATE_COMPACT, False)):
        m = pattern.match(text)
        if m:
            parts = (int(m.group(1)), int(m.group(2)), int(m.group(3)))
            break
    else:
        m = _DATE_CN.match(text)
        if not m:
            raise RuleFailed("date", "format", "not a recognised date form (e.g. 2024-03-05)")
        try:
            parts = (
                _cn_number(m.group(1), positional=True),
                _cn_number(m.group(2), positional=False),
                _cn_number(m.group(3), positional=False),
            )
        except (KeyError, ValueError):
            raise RuleFailed("date", "format", "not a recognised Chinese date") from None
    try:
        return date(*parts).isoformat()
    except ValueError:
        raise RuleFailed("date", "calendar", "not a real calendar date") from None


# --- identifiers -----------------------------------------------------------------------------


def citizen_id(raw: str) -> str:
    """A citizen ID number in its standard form: full-width folded, upper-case ``X``, and a
    15-digit first-generation number upgraded to 18 (century 19 inserted, check computed)."""
    number = normalise_identifier(raw).replace(" ", "")
    if len(number) == 15 and number.isdigit():
        first17 = f"{number[:6]}19{number[6:]}"
        return first17 + citizen_id_check_char(first17)
    return number


def credit_code(raw: str) -> str:
    """A unified social credit code in its standard form (full-width folded, upper case)."""
    return normalise_identifier(raw).replace(" ", "")


@dataclass(frozen=True, slots=True)
class DerivedFromId:
    sex: str  # "M" | "F"
    birth_date: str  # ISO
    area_code: str


def derive_from_citizen_id(raw: str, today: date) -> DerivedFromId:
    """Sex and birth date read from a citizen ID number (sequence digit odd = male).

    Raises:
        RuleFailed: the number is not a valid GB 11643 number.
    """
    try:
        parsed = validate_citizen_id(citizen_id(raw), today)
    except InvalidIdentifier as exc:
        raise RuleFailed("citizen_id", str(exc.details.get("reason")), exc.message) from None
    return DerivedFromId(parsed.sex, parsed.birth_date.isoformat(), parsed.area_code)


# --- gender, email, address ------------------------------------------------------------------

_SEX = {
    "男": "M",
    "m": "M",
    "male": "M",
    "1": "M",
    "女": "F",
    "f": "F",
    "female": "F",
    "2": "F",
}


def gender(raw: str) -> str:
    """男/女, M/F, male/female, or the GB/T 2261.1 codes 1/2, as ``M`` or ``F``."""
    found = _SEX.get(fold_width(raw).strip().lower().removesuffix("性"))
    if found is None:
        raise RuleFailed("gender", "unknown", "not a recognised gender (男/女, M/F, 1/2)")
    return found


def email(raw: str) -> str:
    """Trimmed, full-width folded, domain lower-cased (the local part is case-sensitive)."""
    text = fold_width(raw).strip().replace("＠", "@")
    local, at, domain = text.rpartition("@")
    if not at:
        return text
    return f"{local}@{domain.lower()}"


def address(raw: str, *, default_city_code: str | None = None) -> dict[str, str | None]:
    """An address folded (width, spaces, simplified) and split into its GB/T 2260 parts."""
    text = to_simplified(fold_spaces(fold_width(raw))).replace(" ", "")
    parts = split_address(text, default_city_code=default_city_code)
    return {
        "address": text,
        "province": parts.province,
        "city": parts.city,
        "district": parts.district,
        "street": parts.street,
        "area_code": parts.area_code,
    }


def text(raw: str) -> str:
    """Generic free text: width folded and whitespace collapsed."""
    return fold_spaces(fold_width(raw))


RULES: dict[str, Callable[[str], str]] = {
    "text": text,
    "name": fold_name,
    "simplified": to_simplified,
    "mobile": mobile_number,
    "phone": phone_e164,
    "date": iso_date,
    "citizen_id": citizen_id,
    "credit_code": credit_code,
    "gender": gender,
    "email": email,
}
