"""What an official document says, checked before anything is drawn.

A ``DocumentData`` that exists is printable: construction normalises the text (Unicode NFC,
surrounding blanks stripped, the middle dot of minority names ``·`` printed as ``・``, which
the Chinese font has) and raises ``ValidationFailed`` for anything a document cannot carry —
a refusal without reasons, a 补正 notice without items, an over-long field, a character the
font cannot print, an unmasked ID number, a field the kind does not print (it would be lost
silently).
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from dataclasses import dataclass, fields
from datetime import date, datetime
from enum import StrEnum, unique
from typing import Any, Final
from urllib.parse import urlsplit

from onewindow.documents._gb1_coverage import RANGES
from onewindow.documents.codes import normalise_code
from onewindow.kit.errors import ValidationFailed


@unique
class DocumentKind(StrEnum):
    """文书种类: the official documents a case produces."""

    ACCEPTANCE_NOTICE = "acceptance_notice"
    SUPPLEMENT_NOTICE = "supplement_notice"
    NON_ACCEPTANCE_DECISION = "non_acceptance_decision"
    PERMIT_GRANTED_DECISION = "permit_granted_decision"
    PERMIT_REFUSED_DECISION = "permit_refused_decision"
    REFUSAL_DECISION = "refusal_decision"  # a service that is not a permit (公共服务事项)
    COMPLETION_NOTICE = "completion_notice"

    @property
    def title_zh(self) -> str:
        return _TITLES[self][0]

    @property
    def title_en(self) -> str:
        return _TITLES[self][1]


_TITLES: Final = {
    DocumentKind.ACCEPTANCE_NOTICE: ("受理通知书", "Acceptance notice"),
    DocumentKind.SUPPLEMENT_NOTICE: (
        "补正材料通知书",
        "Notice to supplement materials (all items at once)",
    ),
    DocumentKind.NON_ACCEPTANCE_DECISION: ("不予受理决定书", "Decision not to accept"),
    DocumentKind.PERMIT_GRANTED_DECISION: ("准予行政许可决定书", "Decision to grant the permit"),
    DocumentKind.PERMIT_REFUSED_DECISION: ("不予行政许可决定书", "Decision to refuse the permit"),
    DocumentKind.REFUSAL_DECISION: ("不予办理决定书", "Decision to refuse the service"),
    DocumentKind.COMPLETION_NOTICE: ("办结通知书", "Notice of completion"),
}

REFUSALS: Final = frozenset(
    {
        DocumentKind.NON_ACCEPTANCE_DECISION,
        DocumentKind.PERMIT_REFUSED_DECISION,
        DocumentKind.REFUSAL_DECISION,
    }
)
DECISIONS: Final = REFUSALS | {DocumentKind.PERMIT_GRANTED_DECISION}


@dataclass(frozen=True, slots=True, kw_only=True)
class ReviewRights:
    """复议与诉讼: where the applicant may challenge a decision.

    The time limits are the law's (行政复议法: 60 days; 行政诉讼法 §46: six months), so only the
    bodies are data: ``review_body`` is the 行政复议机关 (usually the people's government at the
    department's level), ``court`` the 人民法院 with jurisdiction.
    """

    review_body: str
    court: str

    def __post_init__(self) -> None:
        for f in fields(self):
            _set(self, f.name, _text(f"review.{f.name}", getattr(self, f.name), _SHORT))


@dataclass(frozen=True, slots=True, kw_only=True)
class DocumentData:
    """文书内容: everything printed on one official document.

    Fields by kind (``-`` not printed, so refused when given):

    (不予办理, the refusal of a service that is not a permit, takes what 不予许可 takes.)

    ====================  =====  =======  ======  ============  ======  =====
    field                 受理   补正     不予受理  准予许可      不予许可  办结
    ====================  =====  =======  ======  ============  ======  =====
    items                 opt    req      -       opt           -       opt
    reasons               -      -        req     opt           req     -
    legal_basis           -      -        req     req           req     -
    review                -      -        req     req           req     -
    deadline              opt    req      -       -             -       -
    ====================  =====  =======  ======  ============  ======  =====

    ``items`` are the materials received (受理), the missing or faulty materials (补正), what
    is permitted (准予许可) or the result (办结); ``deadline`` is the promised decision date
    (受理) or the date by which to supplement (补正). ``received_on``, ``note``, ``contact``,
    ``document_number`` and ``applicant_id_masked`` may be given for any kind.
    """

    kind: DocumentKind
    case_number: str
    service_name: str
    applicant_name: str
    department_name: str
    issued_on: date
    verification_code: str
    base_url: str
    applicant_id_masked: str | None = None
    document_number: str | None = None
    received_on: date | None = None
    items: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    legal_basis: tuple[str, ...] = ()
    deadline: date | None = None
    review: ReviewRights | None = None
    note: str | None = None
    contact: str | None = None

    def __post_init__(self) -> None:
        _validate(self)

    @property
    def verify_url(self) -> str:
        """What the QR code holds: ``{base_url}/verify/{code}``."""
        return f"{self.base_url}/verify/{self.verification_code}"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: store it with the document to re-render the same bytes later."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            elif isinstance(value, ReviewRights):
                value = {"review_body": value.review_body, "court": value.court}
            out[f.name] = value.value if isinstance(value, DocumentKind) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> DocumentData:
        """The inverse of ``to_dict``; checked like any construction.

        Raises:
            ValidationFailed: ``document.invalid`` for unknown keys or malformed dates, and
                whatever the content itself fails.
        """
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise _fail(
                "invalid", f"unknown fields {unknown}", f"未知字段 {unknown}", fields=unknown
            )
        values = dict(data)
        for name in ("issued_on", "received_on", "deadline"):
            if isinstance(values.get(name), str):
                try:
                    values[name] = date.fromisoformat(values[name])
                except ValueError:
                    raise _fail(
                        "invalid", f"{name} is not a date", f"{name} 不是日期", field=name
                    ) from None
        for name in ("items", "reasons", "legal_basis"):
            if isinstance(values.get(name), list):
                values[name] = tuple(values[name])
        try:
            if isinstance(values.get("review"), dict):
                values["review"] = ReviewRights(**values["review"])
            return cls(**values)
        except TypeError as exc:  # a required field missing, or an unknown one in review
            raise _fail("invalid", str(exc), f"文书数据不完整：{exc}") from None


# --- limits -------------------------------------------------------------------------------

_SHORT: Final = 100
LIMITS: Final = {
    "case_number": 64,
    "service_name": _SHORT,
    "applicant_name": _SHORT,
    "department_name": 60,
    "applicant_id_masked": 40,
    "document_number": 60,
    "base_url": 120,
    "note": 2000,
    "contact": 200,
    "items": 500,
    "reasons": 2000,
    "legal_basis": 300,
}
MAX_ENTRIES: Final = {"items": 100, "reasons": 50, "legal_basis": 20}
_MULTILINE: Final = frozenset({"note", "reasons", "items"})
_PRINTED_AS: Final = {"·": "・", "•": "・", "‧": "・", "\u00a0": " ", "\u3000": " "}
_MIN_MASK_STARS: Final = 4

_REQUIRED: Final[dict[DocumentKind, frozenset[str]]] = {
    DocumentKind.ACCEPTANCE_NOTICE: frozenset(),
    DocumentKind.SUPPLEMENT_NOTICE: frozenset({"items", "deadline"}),
    DocumentKind.NON_ACCEPTANCE_DECISION: frozenset({"reasons", "legal_basis", "review"}),
    DocumentKind.PERMIT_GRANTED_DECISION: frozenset({"legal_basis", "review"}),
    DocumentKind.PERMIT_REFUSED_DECISION: frozenset({"reasons", "legal_basis", "review"}),
    DocumentKind.REFUSAL_DECISION: frozenset({"reasons", "legal_basis", "review"}),
    DocumentKind.COMPLETION_NOTICE: frozenset(),
}
_OPTIONAL: Final[dict[DocumentKind, frozenset[str]]] = {
    DocumentKind.ACCEPTANCE_NOTICE: frozenset({"items", "deadline"}),
    DocumentKind.SUPPLEMENT_NOTICE: frozenset(),
    DocumentKind.NON_ACCEPTANCE_DECISION: frozenset(),
    DocumentKind.PERMIT_GRANTED_DECISION: frozenset({"items", "reasons"}),
    DocumentKind.PERMIT_REFUSED_DECISION: frozenset(),
    DocumentKind.REFUSAL_DECISION: frozenset(),
    DocumentKind.COMPLETION_NOTICE: frozenset({"items"}),
}
_KIND_FIELDS: Final = ("items", "reasons", "legal_basis", "review", "deadline")
_REQUIRED_ZH: Final = {
    "items": "材料或事项清单",
    "reasons": "理由",
    "legal_basis": "法律依据",
    "review": "复议机关和管辖法院",
    "deadline": "期限",
}


# --- checks -------------------------------------------------------------------------------


def _fail(code: str, message: str, message_zh: str, **details: object) -> ValidationFailed:
    return ValidationFailed(
        message, message_zh=message_zh, code=f"document.{code}", details=details
    )


def _set(obj: object, name: str, value: object) -> None:
    # Frozen dataclasses normalise their own fields once, at construction.
    object.__setattr__(obj, name, value)


def _printable(code_point: int) -> bool:
    i = bisect.bisect_right(RANGES, (code_point, 0x10FFFF)) - 1
    return i >= 0 and RANGES[i][0] <= code_point <= RANGES[i][1]


def _text(name: str, value: object, limit: int, *, multiline: bool = False) -> str:
    if not isinstance(value, str):
        raise _fail(
            "invalid",
            f"{name} must be text, got {type(value).__name__}",
            f"{name} 必须是文本",
            field=name,
        )
    text = unicodedata.normalize("NFC", value)
    text = "".join(_PRINTED_AS.get(ch, ch) for ch in text).replace("\r\n", "\n").strip()
    if not text:
        raise _fail("field_required", f"{name} is empty", f"{name} 不能为空", field=name)
    if len(text) > limit:
        raise _fail(
            "field_too_long",
            f"{name} has {len(text)} characters; at most {limit} fit on the document",
            f"{name} 共 {len(text)} 字，超过文书允许的 {limit} 字",
            field=name,
            max=limit,
            length=len(text),
        )
    allowed_controls = "\n" if multiline else ""
    bad = sorted(
        {ch for ch in text if ch not in allowed_controls and not _printable(ord(ch))},
    )
    if bad:
        shown = "".join(bad)
        raise _fail(
            "unprintable_character",
            f"{name} has characters the document font cannot print: {shown!r}",
            f"{name} 含有文书字体无法打印的字符：{shown}",
            field=name,
            characters=[f"U+{ord(ch):04X}" for ch in bad],
        )
    return text


def _texts(name: str, values: object) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, tuple | list):
        raise _fail(
            "invalid", f"{name} must be a tuple of texts", f"{name} 必须是文本列表", field=name
        )
    if len(values) > MAX_ENTRIES[name]:
        raise _fail(
            "field_too_long",
            f"{name} has {len(values)} entries; at most {MAX_ENTRIES[name]}",
            f"{name} 共 {len(values)} 条，超过上限 {MAX_ENTRIES[name]} 条",
            field=name,
            max=MAX_ENTRIES[name],
            length=len(values),
        )
    texts = tuple(
        _text(f"{name}[{i}]", v, LIMITS[name], multiline=name in _MULTILINE)
        for i, v in enumerate(values)
    )
    seen: set[str] = set()
    for t in texts:
        if t in seen:
            raise _fail(
                "duplicate_entry",
                f"{name} lists {t!r} twice",
                f"{name} 中“{t}”重复出现",
                field=name,
                entry=t,
            )
        seen.add(t)
    return texts


def _day(name: str, value: object) -> date:
    # datetime is a date too; a document is dated by day, and a naive/aware datetime here
    # usually means a timezone was forgotten upstream.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise _fail(
            "invalid", f"{name} must be a date (not a datetime)", f"{name} 必须是日期", field=name
        )
    return value


def _base_url(value: object) -> str:
    url = _text("base_url", value, LIMITS["base_url"]).rstrip("/")
    parts = urlsplit(url)
    if (
        parts.scheme not in ("https", "http")
        or not parts.netloc
        or parts.query
        or parts.fragment
        or re.search(r"\s", url)
    ):
        raise _fail(
            "invalid",
            f"base_url must be an http(s) address without query or fragment, got {url!r}",
            "base_url 必须是不带查询参数的 http(s) 地址",
            field="base_url",
        )
    return url


def _masked_id(value: str) -> str:
    if value.count("*") < _MIN_MASK_STARS:
        raise _fail(
            "id_not_masked",
            "applicant_id_masked must be masked (e.g. 110105********002X), never the full number",
            "证件号码必须脱敏后打印（如 110105********002X），不得打印完整号码",
            field="applicant_id_masked",
        )
    return value


def _validate(doc: DocumentData) -> None:
    if not isinstance(doc.kind, DocumentKind):
        try:
            _set(doc, "kind", DocumentKind(doc.kind))
        except ValueError:
            raise _fail(
                "invalid",
                f"unknown document kind {doc.kind!r}",
                f"未知的文书种类 {doc.kind!r}",
                field="kind",
            ) from None
    kind = DocumentKind(doc.kind)
    for name in ("case_number", "service_name", "applicant_name", "department_name"):
        _set(doc, name, _text(name, getattr(doc, name), LIMITS[name]))
    issued_on = _day("issued_on", doc.issued_on)
    _set(
        doc,
        "verification_code",
        normalise_code(_text("verification_code", doc.verification_code, 64)),
    )
    _set(doc, "base_url", _base_url(doc.base_url))
    for name in ("applicant_id_masked", "document_number", "note", "contact"):
        value = getattr(doc, name)
        if value is not None:
            _set(doc, name, _text(name, value, LIMITS[name], multiline=name in _MULTILINE))
    if doc.applicant_id_masked is not None:
        _masked_id(doc.applicant_id_masked)
    for name in ("items", "reasons", "legal_basis"):
        _set(doc, name, _texts(name, getattr(doc, name)))
    if doc.received_on is not None and _day("received_on", doc.received_on) > issued_on:
        raise _fail(
            "invalid",
            "received_on is after the issue date",
            "收件日期晚于文书日期",
            field="received_on",
        )
    if doc.deadline is not None and _day("deadline", doc.deadline) < issued_on:
        raise _fail(
            "invalid", "deadline is before the issue date", "期限早于文书日期", field="deadline"
        )
    if doc.review is not None and not isinstance(doc.review, ReviewRights):
        raise _fail(
            "invalid", "review must be a ReviewRights", "review 必须是 ReviewRights", field="review"
        )
    required, optional = _REQUIRED[kind], _OPTIONAL[kind]
    for name in _KIND_FIELDS:
        given = bool(getattr(doc, name))
        if name in required and not given:
            raise _fail(
                f"{name}_required",
                f"a {kind.title_en.lower()} needs {name.replace('_', ' ')}",
                f"{kind.title_zh}必须载明{_REQUIRED_ZH[name]}",
                field=name,
                kind=kind.value,
            )
        if given and name not in required | optional:
            raise _fail(
                "field_not_printed",
                f"a {kind.title_en.lower()} does not print {name}; it would be lost",
                f"{kind.title_zh}不载明{_REQUIRED_ZH[name]}，该内容将被遗漏",
                field=name,
                kind=kind.value,
            )
