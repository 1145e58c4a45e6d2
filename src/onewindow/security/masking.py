"""The one masking policy (GB/T 35273-2020 §7.2; formats in docs/domain.md).

Two tables decide what a caller sees, both here so there is one place to read and change:

* ``POLICY``: for each *field class* of the platform's own records (name, citizen ID, mobile,
  landline, bank card, address, email, free text) and each role, ``plain``, ``masked`` or
  ``none``. Used by API responses, pages, exports and the unmasking service.
* ``SENSITIVITY_POLICY``: the same three visibilities per role for the data hub's catalogue
  labels (``public``/``internal``/``personal``/``sensitive``); the mask applied is the
  field's class.

A caller with several roles gets the most open visibility of any of them. An applicant sees
their own records plainly; row scoping (``authz``) keeps them from anyone else's.
Logs go through ``redact_text`` (see ``install_log_redaction``): IDs, phones, cards and
e-mails found in free text are masked whatever the role.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum
from functools import lru_cache
from typing import Any, Final


class Visibility(StrEnum):
    PLAIN = "plain"
    MASKED = "masked"
    NONE = "none"


P, M, N = Visibility.PLAIN, Visibility.MASKED, Visibility.NONE

FIELD_CLASSES: Final = (
    "name",
    "citizen_id",
    "mobile",
    "landline",
    "bank_card",
    "address",
    "email",
    "free_text",
)
ROLE_ORDER: Final = (
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


def _row(*values: Visibility) -> dict[str, Visibility]:
    return dict(zip(ROLE_ORDER, values, strict=True))


# Front-desk clerks check the person in front of them against their papers, so they see
# identifiers plainly; reviewers decide on the case and see names and free text plainly but
# identifiers masked; analysts work on aggregates and see no direct identifier at all;
# auditors and administrators see masked values and may unmask one with a stated purpose.
#                          applicant clerk reviewer head analyst data_admin auditor admin system
POLICY: Final[dict[str, dict[str, Visibility]]] = {
    "name": _row(P, P, P, P, M, M, M, M, P),
    "citizen_id": _row(P, P, M, M, N, M, M, M, P),
    "mobile": _row(P, P, M, M, N, M, M, M, P),
    "landline": _row(P, P, M, M, N, M, M, M, P),
    "bank_card": _row(P, M, M, M, N, N, M, N, M),
    "address": _row(P, P, M, M, N, M, M, M, P),
    "email": _row(P, P, M, M, N, M, M, M, P),
    "free_text": _row(P, P, P, P, M, M, M, M, P),
}

# The data hub's catalogue labels. Case handlers see personal data plainly (they decide on
# it); sensitive personal data is masked for everyone but is withheld from analysts.
_HANDLERS = ("clerk", "reviewer", "head")
SENSITIVITY_POLICY: Final[dict[str, dict[str, Visibility]]] = {
    "public": {},
    "internal": {"applicant": N},
    "personal": {
        **dict.fromkeys(_HANDLERS, P),
        "system": P,
        "data_admin": M,
        "analyst": M,
        "auditor": M,
        "admin": M,
        "applicant": N,
    },
    "sensitive": {
        **dict.fromkeys(_HANDLERS, M),
        "system": M,
        "data_admin": M,
        "analyst": N,
        "auditor": M,
        "admin": M,
        "applicant": N,
    },
}
_SENSITIVITY_DEFAULT: Final[dict[str, Visibility]] = {
    "public": P,
    "internal": P,
    "personal": M,
    "sensitive": N,
}
_RANK: Final[dict[Visibility, int]] = {N: 0, M: 1, P: 2}


def _most_open(found: Iterable[Visibility]) -> Visibility:
    return max(found, key=lambda v: _RANK[v], default=N)


def visibility_of(field_class: str, roles: Iterable[str]) -> Visibility:
    """The most open visibility any of the caller's roles has for a field class.

    An unknown field class or role sees nothing (deny by default).
    """
    return _visibility(field_class, roles if isinstance(roles, frozenset) else frozenset(roles))


@lru_cache(maxsize=4096)
def _visibility(field_class: str, roles: frozenset[str]) -> Visibility:
    table = POLICY.get(field_class)
    if table is None:
        return N
    return _most_open(table.get(role, N) for role in roles)


def sensitivity_visibility(sensitivity: str, roles: Iterable[str]) -> Visibility:
    """Visibility for a data-hub field labelled ``sensitivity``."""
    table = SENSITIVITY_POLICY.get(sensitivity, {})
    default = _SENSITIVITY_DEFAULT.get(sensitivity, N)
    found = [table.get(role, default) for role in roles]
    return _most_open(found or [default])


def may_unmask(field_class: str, roles: Iterable[str]) -> bool:
    """Only a caller who sees a field MASKED may ask for one record's plain value."""
    return visibility_of(field_class, roles) is M


# --- the masks ------------------------------------------------------------------------------


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


def mask_landline(value: str) -> str:
    """Keep the first 4 and last 2: 0915*****79."""
    return _keep(value, 4, 2)


def mask_mobile(value: str) -> str:
    """Keep the first 3 and last 4: 138****5678 (an E.164 ``+86`` prefix is kept as well)."""
    if value.startswith("+86"):
        return "+86" + mask_mobile(value[3:])
    if len(value) == 11 and value.startswith("1"):
        return _keep(value, 3, 4)
    return mask_landline(value)


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


def mask_credit_code(value: str) -> str:
    return _keep(value, 8, 2)


# Free text: identifiers found inside it, each confirmed by its check digits where it has one,
# so an order number that merely looks long is left alone. No \b: it fails between Chinese
# characters and digits.
_ID_RE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
_CARD_RE = re.compile(r"(?<![0-9A-Za-z])\d{16,19}(?![0-9A-Za-z])")
_MOBILE_RE = re.compile(r"(?<![0-9A-Za-z])(?:\+?86[- ]?)?1[3-9]\d{9}(?![0-9A-Za-z])")
_LANDLINE_RE = re.compile(r"(?<![0-9A-Za-z])0\d{2,3}-?\d{7,8}(?![0-9A-Za-z])")
_EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_SECRET_RE = re.compile(
    r"(?i)((?:password|passwd|pwd|secret|token|密码)\s*[=:：]\s*)(\"[^\"]*\"|'[^']*'|\S+)"
)
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def _id_check_ok(number: str) -> bool:
    total = sum(int(c) * w for c, w in zip(number[:17], _ID_WEIGHTS, strict=True))
    check = (12 - total % 11) % 11
    return number[17].upper() == ("X" if check == 10 else str(check))


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, c in enumerate(reversed(digits)):
        d = int(c)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _mask_mobile_match(m: re.Match[str]) -> str:
    text = m.group(0)
    digits = text[-11:]
    return text[:-11] + mask_mobile(digits)


def contains_identifier(text: str) -> bool:
    """Whether ``text`` holds a citizen ID (check digit confirmed) or a mobile number."""
    if any(_id_check_ok(m.group(0)) for m in _ID_RE.finditer(text)):
        return True
    return _MOBILE_RE.search(text) is not None


def redact_text(text: str) -> str:
    """Mask every citizen ID, bank card, mobile, landline, e-mail and secret in free text."""
    if not text:
        return text
    text = _SECRET_RE.sub(lambda m: m.group(1) + "******", text)
    text = _ID_RE.sub(
        lambda m: mask_citizen_id(m.group(0)) if _id_check_ok(m.group(0)) else m.group(0), text
    )
    text = _CARD_RE.sub(
        lambda m: mask_bank_card(m.group(0)) if _luhn_ok(m.group(0)) else m.group(0), text
    )
    text = _MOBILE_RE.sub(_mask_mobile_match, text)
    text = _LANDLINE_RE.sub(lambda m: mask_landline(m.group(0)), text)
    return _EMAIL_RE.sub(lambda m: mask_email(m.group(0)), text)


MASKS: Final[dict[str, Callable[[str], str]]] = {
    "name": mask_name,
    "citizen_id": mask_citizen_id,
    "mobile": mask_mobile,
    "phone": mask_mobile,
    "landline": mask_landline,
    "bank_card": mask_bank_card,
    "address": mask_address,
    "email": mask_email,
    "free_text": redact_text,
    "credit_code": mask_credit_code,
    "date": lambda v: v[:4] + "-**-**" if len(v) >= 4 else "*",
    "gender": lambda v: "*",
}


def mask(value: str, field_class: str) -> str:
    """The masked form of ``value`` for its class (a short keep-the-ends mask otherwise)."""
    fn = MASKS.get(field_class)
    if fn is not None:
        return fn(value)
    return _keep(value, 1, 1) if len(value) > 2 else mask_name(value)


def show(value: Any, field_class: str, roles: Iterable[str]) -> Any:
    """``value`` as a caller with ``roles`` may see it: unchanged, masked, or ``None``."""
    if value is None:
        return None
    seen = visibility_of(field_class, roles)
    if seen is P:
        return value
    if seen is N:
        return None
    return mask(str(value), field_class)


def show_labelled(value: Any, field_type: str, sensitivity: str, roles: Iterable[str]) -> Any:
    """A data-hub field's value for this caller: visibility by label, mask by field type."""
    seen = sensitivity_visibility(sensitivity, roles)
    if seen is P or value is None:
        return value
    if seen is N:
        return None
    return mask(str(value), field_type)


def show_record(
    record: Mapping[str, Any], classes: Mapping[str, str], roles: Iterable[str]
) -> dict[str, Any]:
    """A record with each classified field shown per the policy; other fields unchanged."""
    roles = frozenset(roles)
    return {k: (show(v, classes[k], roles) if k in classes else v) for k, v in record.items()}


# --- logs -----------------------------------------------------------------------------------


class RedactingFilter(logging.Filter):
    """Masks identifiers, phones and secrets in every record it passes (message and args)."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def _redact_arg(value: Any) -> Any:
    """A log argument with anything sensitive masked; its type kept where nothing was."""
    text = value if isinstance(value, str) else str(value)
    masked = redact_text(text)
    return value if masked == text else masked


def redact_record(record: logging.LogRecord) -> None:
    """Mask identifiers, phones, cards, e-mails and secrets in a record, keeping its shape.

    A record with nothing to mask is left as it is. Otherwise each argument is masked in
    place, so formatters that read ``record.args`` themselves (uvicorn's access log unpacks
    client, method, path, version and status) keep working and show masked values. When a
    secret spans the format string and an argument (``"password=%s"``), the format string
    becomes the masked message, followed by one ``%.0s`` per argument so the arguments keep
    their number and still format to nothing.
    """
    if getattr(record, "_ow_redacted", False):
        return
    record._ow_redacted = True
    if record.exc_info and not record.exc_text:
        record.exc_text = redact_text(logging.Formatter().formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact_text(record.stack_info)
    try:
        message = record.getMessage()
    except (TypeError, ValueError):  # a broken format string: log it as it stands
        record.msg, record.args = redact_text(str(record.msg)), ()
        return
    masked = redact_text(message)
    if masked == message:
        return
    args = record.args
    if isinstance(args, Mapping):
        args = {k: _redact_arg(v) for k, v in args.items()}
    elif args:
        args = tuple(_redact_arg(a) for a in args)
    record.args = args
    if isinstance(record.msg, str):
        record.msg = redact_text(record.msg)
    try:
        again = record.getMessage()
    except (TypeError, ValueError):
        again = None
    if again is None or redact_text(again) != again:
        if not args:
            record.msg = masked  # not %-formatted when there are no arguments
        elif isinstance(args, Mapping):
            record.msg = masked.replace("%", "%%")
        else:
            record.msg = masked.replace("%", "%%") + "%.0s" * len(args)
    if isinstance(record.__dict__.get("color_message"), str):
        record.color_message = record.msg  # uvicorn's coloured copy of the format string


_installed = False


def install_log_redaction() -> None:
    """Redact every log record of the process as it is created, whichever handler takes it.

    Idempotent. Called by the app factory and the CLI before anything logs.
    """
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        redact_record(record)
        return record

    logging.setLogRecordFactory(factory)
    _installed = True
