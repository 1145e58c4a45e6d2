"""Which district (区县, GB/T 2260 county-level code) an application comes from.

Pure rules, no database. Three sources, most trusted first:

1. ``record``: the address on the applicant's golden record (the data hub's linked identity);
2. ``address``: an address the applicant wrote on the form — their own address fields first
   (residence, registered seat, premises, household registration, mailing), then the site the
   application is about (venue, project);
3. ``id``: the area code inside the applicant's identifier — positions 1–6 of a citizen ID
   (GB 11643: the place the number was issued) or positions 3–8 of a unified social credit
   code (GB 32100: the registering authority's area).

An address counts only when it names a county-level division (a city alone is not a
district); an identifier only when its area code is a county-level GB/T 2260 code, withdrawn
codes included (an ID keeps the code in force when it was issued).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from onewindow.datahub.rules.gbt2260 import division, is_known_area_code, split_address

Source = Literal["record", "address", "id", "unknown"]
SOURCES: tuple[Source, ...] = ("record", "address", "id", "unknown")
UNKNOWN = "unknown"

# Form fields holding the applicant's own address, in the order they are trusted.
OWN_ADDRESS_FIELDS = (
    "residence_address",
    "registered_address",
    "operating_address",
    "hukou_address",
    "address",
    "mailing_address",
    "postal_address",
)
# Fields naming the place the application is about; used when no own address is given.
SITE_ADDRESS_FIELDS = ("venue_address", "project_address")


@dataclass(frozen=True, slots=True)
class District:
    """区县: a county-level GB/T 2260 code (or ``unknown``), its name and where it was read."""

    code: str
    label: str
    source: Source


UNKNOWN_DISTRICT = District(UNKNOWN, "未知", "unknown")


def is_district_code(code: str) -> bool:
    """A six-digit GB/T 2260 code of a county-level division (not a province or city)."""
    return (
        len(code) == 6
        and code.isdigit()
        and not code.endswith("00")
        and is_known_area_code(code, current_only=False)
    )


def district_label(code: str) -> str:
    """``福州市鼓楼区``: the district's name after its city's (the province's for the
    districts of a municipality and for county-level divisions directly under a province)."""
    found = division(code)
    if found is None:
        return code
    city = division(f"{code[:4]}00")
    if city is None or city.name in ("市辖区", "县") or code[2:4] == "90":
        city = division(f"{code[:2]}0000")
    return f"{city.name if city else ''}{found.name}"


def area_code_of_identifier(kind: str, number: str) -> str | None:
    """The area code inside a citizen ID (``kind == "person"``) or a credit code, if any."""
    text = number.strip().upper()
    if kind == "person":
        if len(text) in (15, 18) and text[:6].isdigit():
            return text[:6]
        return None
    if len(text) == 18 and text[2:8].isdigit():
        return text[2:8]
    return None


def district_of_address(text: str, *, default_city_code: str | None = None) -> str | None:
    """The county-level code an address names, or ``None`` (no district, or not found)."""
    if not text.strip():
        return None
    code = split_address(text.strip(), default_city_code=default_city_code).district_code
    return code if code is not None and is_district_code(code) else None


def form_addresses(form: Mapping[str, Any]) -> list[str]:
    """The form's address values in the order they are trusted: the applicant's own address
    fields, then the site fields, then any other field whose name ends in ``address``."""
    known = (*OWN_ADDRESS_FIELDS, *SITE_ADDRESS_FIELDS)
    names = [n for n in known if n in form]
    names += sorted(n for n in form if n.endswith("address") and n not in known)
    return [str(form[n]) for n in names if isinstance(form[n], str) and form[n].strip()]


def resolve_district(
    *,
    record_code: str | None,
    addresses: Sequence[str],
    kind: str,
    id_number: str,
    default_city_code: str | None = None,
) -> District:
    """The district of one application, from the first source that names one (see module)."""
    if record_code is not None and is_district_code(record_code):
        return District(record_code, district_label(record_code), "record")
    for text in addresses:
        code = district_of_address(text, default_city_code=default_city_code)
        if code is not None:
            return District(code, district_label(code), "address")
    area = area_code_of_identifier(kind, id_number)
    if area is not None and is_district_code(area):
        return District(area, district_label(area), "id")
    return UNKNOWN_DISTRICT
