"""De-identified analytics exports (GB/T 37964-2019; PIPL art. 73).

The process of GB/T 37964: decide what each column is (direct identifier, quasi-identifier,
other), treat it (direct identifiers → keyed pseudonyms; quasi-identifiers → generalised),
then *verify* — a k-anonymity report over the chosen quasi-identifiers — and refuse the export
when the smallest group is below k.

Pseudonyms are HMAC-SHA256 under a key chosen per export: the same person or case has the
same pseudonym throughout one export (so analysts can follow a case), and exports made with
different keys cannot be joined on it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Final

from onewindow.eventlog import service as eventlog
from onewindow.eventlog.export import write_events
from onewindow.intake import service as intake
from onewindow.kit.errors import ValidationFailed
from onewindow.kit.platform import Ctx

AGE_BANDS: Final = ((0, 18), (18, 30), (30, 45), (45, 60), (60, 200))
DEFAULT_QUASI: Final = ("case:age_band", "case:sex", "case:district")


class KAnonymityRefused(ValidationFailed):
    """The export would single people out: a group of quasi-identifiers is smaller than k."""

    code = "export.k_anonymity"


@dataclass
class KAnonymityReport:
    k: int
    quasi_identifiers: list[str]
    records: int
    groups: int
    smallest_group: int
    groups_below_k: int
    records_below_k: int
    passed: bool
    group_sizes: dict[str, int] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "quasi_identifiers": self.quasi_identifiers,
            "records": self.records,
            "groups": self.groups,
            "smallest_group": self.smallest_group,
            "groups_below_k": self.groups_below_k,
            "records_below_k": self.records_below_k,
            "passed": self.passed,
        }


# --- treatments -----------------------------------------------------------------------------


def pseudonymiser(key: bytes, prefix: str = "p") -> Callable[[Any], str | None]:
    """value → stable keyed pseudonym (``p_`` + 16 hex); ``None`` stays ``None``."""

    def pseudonym(value: Any) -> str | None:
        if value is None or value == "":
            return None
        digest = hmac.new(key, str(value).encode(), hashlib.sha256).hexdigest()[:16]
        return f"{prefix}_{digest}"

    return pseudonym


def birth_date_of(id_number: str) -> date | None:
    if len(id_number) != 18 or not id_number[6:14].isdigit():
        return None
    try:
        return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None


def age_band(birth: date | None, today: date) -> str | None:
    if birth is None:
        return None
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    for lo, hi in AGE_BANDS:
        if lo <= age < hi:
            return f"{lo}-{hi - 1}" if hi < 200 else f"{lo}+"
    return None


def birth_year(birth: date | None) -> str | None:
    return str(birth.year) if birth else None


def sex_of(id_number: str) -> str | None:
    if len(id_number) != 18 or not id_number[16].isdigit():
        return None
    return "M" if int(id_number[16]) % 2 else "F"


def district_code(id_number: str) -> str | None:
    """The county-level (区/县) address code of a citizen ID (GB/T 2260)."""
    return id_number[:6] if len(id_number) == 18 and id_number[:6].isdigit() else None


_DISTRICT = re.compile(r"^(.*?(?:省|自治区))?(.*?(?:市|自治州|盟|地区))?(.*?(?:区|县|旗|市))")


def address_district(address: str | None) -> str | None:
    """北京市海淀区马连洼街道… → 北京市海淀区: keep province, city and district only."""
    if not address:
        return None
    m = _DISTRICT.match(address.strip())
    return "".join(g for g in m.groups() if g) if m else None


# --- verification ---------------------------------------------------------------------------


def k_anonymity(
    records: Iterable[Mapping[str, Any]], quasi: Sequence[str], k: int
) -> KAnonymityReport:
    groups = Counter(tuple(str(r.get(q)) for q in quasi) for r in records)
    sizes = sorted(groups.values())
    below = [s for s in sizes if s < k]
    return KAnonymityReport(
        k=k,
        quasi_identifiers=list(quasi),
        records=sum(sizes),
        groups=len(sizes),
        smallest_group=sizes[0] if sizes else 0,
        groups_below_k=len(below),
        records_below_k=sum(below),
        passed=not below,
        group_sizes={"|".join(key): n for key, n in groups.items()},
    )


def require_k(report: KAnonymityReport) -> None:
    if not report.passed:
        raise KAnonymityRefused(
            f"Refused: {report.groups_below_k} group(s) of "
            f"{', '.join(report.quasi_identifiers)} have fewer than k={report.k} records "
            f"(smallest {report.smallest_group}); generalise more or choose other "
            "quasi-identifiers",
            message_zh=(
                f"拒绝导出：准标识符 {'、'.join(report.quasi_identifiers)} 有 "
                f"{report.groups_below_k} 个分组少于 k={report.k} 条"
                f"（最小 {report.smallest_group}）"
            ),
            details={"report": report.as_json()},
        )


# --- the event-log export -------------------------------------------------------------------


@dataclass
class Deidentified:
    rows: list[dict[str, Any]]
    report: KAnonymityReport


def deidentified_events(
    ctx: Ctx,
    *,
    key: bytes | None = None,
    quasi: Sequence[str] = DEFAULT_QUASI,
    k: int | None = None,
    today: date | None = None,
) -> Deidentified:
    """The event log with cases, staff and applicants pseudonymised and the applicant's
    birth date, sex and address generalised.

    Raises:
        KAnonymityRefused: a quasi-identifier group of cases is smaller than k.
    """
    key = key or secrets.token_bytes(32)
    k = k or ctx.settings.k_anonymity
    today = today or ctx.clock.now().astimezone(ctx.calendar.zone).date()
    case_p = pseudonymiser(key + b"case", "c")
    person_p = pseudonymiser(key + b"person", "a")
    staff_p = pseudonymiser(key + b"staff", "s")
    applicants = intake.applicants_by_case(ctx)
    case_attrs: dict[str, dict[str, Any]] = {}
    rows: list[dict[str, Any]] = []
    for row in eventlog.iter_rows(ctx):
        number = str(row["case:concept:name"])
        attrs = case_attrs.get(number)
        if attrs is None:
            a = applicants.get(number)
            person = a is not None and a.kind == "person"
            number_id = a.id_number if a is not None and person else ""
            birth = birth_date_of(number_id) if person else None
            attrs = case_attrs[number] = {
                "case:applicant": person_p(a.id_number) if a else None,
                "case:applicant_kind": a.kind if a else None,
                "case:birth_year": birth_year(birth),
                "case:age_band": age_band(birth, today),
                "case:sex": sex_of(number_id) if person else None,
                "case:district": district_code(number_id) if person else None,
            }
        out = {k_: v for k_, v in row.items() if not k_.startswith("applicant") and k_ != "comment"}
        out["case:concept:name"] = case_p(number)
        resource = row.get("org:resource")
        if resource and resource not in ("system", "applicant"):
            out["org:resource"] = staff_p(resource)
        out.update(attrs)
        rows.append(out)
    report = k_anonymity(case_attrs.values(), [q for q in quasi], k)
    require_k(report)
    return Deidentified(rows, report)


def export_events(
    ctx: Ctx,
    out: Path,
    fmt: str = "csv",
    *,
    key: bytes | None = None,
    quasi: Sequence[str] = DEFAULT_QUASI,
    k: int | None = None,
) -> KAnonymityReport:
    result = deidentified_events(ctx, key=key, quasi=quasi, k=k)
    write_events(result.rows, out, fmt)
    return result.report
