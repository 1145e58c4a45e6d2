"""GB/T 2260 administrative divisions: look a code up, find the divisions named in an address.

Codes are six digits: province ``PP0000``, prefecture-level city ``PPCC00``, county-level
division ``PPCCDD``. Municipalities (北京, 上海, 天津, 重庆) have placeholder city-level
entries (``市辖区``, ``县``) that never appear in addresses.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from onewindow.datahub.rules.gbt2260_data import DATA

# Longest first, so "维吾尔自治区" is stripped before "自治区".
_PROVINCE_SUFFIXES = (
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "特别行政区",
    "自治区",
    "省",
    "市",
)
_CITY_SUFFIXES = ("自治州", "地区", "盟", "市")
_PLACEHOLDER_NAMES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})


@dataclass(frozen=True, slots=True)
class Division:
    """行政区划: one GB/T 2260 code with its name; ``current`` is False once withdrawn."""

    code: str
    name: str
    current: bool

    @property
    def level(self) -> str:
        if self.code.endswith("0000"):
            return "province"
        if self.code.endswith("00"):
            return "city"
        return "district"


@dataclass(frozen=True, slots=True)
class AddressParts:
    """An address split into its divisions; codes are GB/T 2260 where they were recognised."""

    province: str | None
    province_code: str | None
    city: str | None
    city_code: str | None
    district: str | None
    district_code: str | None
    street: str

    @property
    def area_code(self) -> str | None:
        """The most precise code found."""
        return self.district_code or self.city_code or self.province_code


@functools.cache
def divisions() -> dict[str, Division]:
    table: dict[str, Division] = {}
    for line in DATA.splitlines():
        parts = line.split(" ")
        if len(parts) < 2:
            continue
        table[parts[0]] = Division(parts[0], parts[1], current=len(parts) == 2)
    return table


def division(code: str) -> Division | None:
    return divisions().get(code)


def is_known_area_code(code: str, *, current_only: bool = False) -> bool:
    """Whether ``code`` is a county-level-or-above GB/T 2260 code (withdrawn codes count
    unless ``current_only``: a citizen ID keeps the code of the place and time it was issued)."""
    found = divisions().get(code)
    return found is not None and (found.current or not current_only)


def is_known_province(code: str) -> bool:
    return f"{code[:2]}0000" in divisions()


def _short(name: str, suffixes: tuple[str, ...]) -> str | None:
    for suffix in suffixes:
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return None


@dataclass(frozen=True)
class _Index:
    provinces: dict[str, str]  # name or short name -> code
    cities: dict[str, dict[str, str]]  # province prefix -> name -> code
    districts: dict[str, dict[str, str]]  # province prefix -> name -> code
    city_anywhere: dict[str, list[str]]  # name -> codes, for addresses without a province


@functools.cache
def _index() -> _Index:
    provinces: dict[str, str] = {}
    cities: dict[str, dict[str, str]] = {}
    districts: dict[str, dict[str, str]] = {}
    city_anywhere: dict[str, list[str]] = {}
    for d in divisions().values():
        if not d.current or d.name in _PLACEHOLDER_NAMES:
            continue
        prefix = d.code[:2]
        if d.level == "province":
            provinces[d.name] = d.code
            short = _short(d.name, _PROVINCE_SUFFIXES)
            if short:
                provinces.setdefault(short, d.code)
                # 内蒙古自治区 -> 内蒙古, 新疆维吾尔自治区 -> 新疆, 广西壮族自治区 -> 广西
        elif d.level == "city":
            names = [d.name]
            short = _short(d.name, _CITY_SUFFIXES)
            if short:
                names.append(short)
            for name in names:
                cities.setdefault(prefix, {}).setdefault(name, d.code)
                city_anywhere.setdefault(name, []).append(d.code)
        else:
            districts.setdefault(prefix, {})[d.name] = d.code
            # County-level cities directly under a province (济源市, 石河子市) read like cities.
            if d.code[2:4] == "90":
                city_anywhere.setdefault(d.name, []).append(d.code)
    return _Index(provinces, cities, districts, city_anywhere)


# A short name followed by one of these is the start of another name (朝阳区, 福州路).
_NOT_AFTER_SHORT = frozenset("区县市路街镇乡村道巷里州盟旗")
_FULL_SUFFIXES = ("省", "市", "区", "县", "州", "盟", "旗", "地区")


def _match(text: str, names: dict[str, str]) -> tuple[str, str] | None:
    """The longest name in ``names`` that ``text`` starts with."""
    for length in range(min(len(text), 12), 1, -1):
        candidate = text[:length]
        code = names.get(candidate)
        if code is None:
            continue
        is_short = not candidate.endswith(_FULL_SUFFIXES) and not candidate.endswith("行政区")
        if is_short and text[length : length + 1] in _NOT_AFTER_SHORT:
            continue
        return candidate, code
    return None


def split_address(text: str, *, default_city_code: str | None = None) -> AddressParts:
    """Split a Chinese address into province / city / district / street with GB/T 2260 codes.

    Matches the divisions' full names (and the usual short names of provinces and cities,
    such as 福建 for 福建省) from the start of the address. A missing province is inferred
    from an unambiguous city; a district named without its city is only recognised under
    ``default_city_code`` (the dataset's own city). Whatever follows is the street part.
    """
    index = _index()
    rest = text
    province_code: str | None = None
    city_code: str | None = None
    district_code: str | None = None

    hit = _match(rest, index.provinces)
    if hit:
        province_code = hit[1]
        rest = rest[len(hit[0]) :]
    prefix = province_code[:2] if province_code else None

    if prefix is not None:
        hit = _match(rest, index.cities.get(prefix, {}))
    else:
        names = {n: codes[0] for n, codes in index.city_anywhere.items() if len(codes) == 1}
        hit = _match(rest, names)
    if hit:
        city_code = hit[1]
        rest = rest[len(hit[0]) :]
        if division(city_code) is not None and city_code[2:4] == "90":
            # a county-level city directly under its province
            district_code, city_code = city_code, None
        prefix = city_code[:2] if city_code else (district_code or "")[:2]
        province_code = province_code or f"{prefix}0000"

    if district_code is None:
        scope = prefix or (default_city_code[:2] if default_city_code else None)
        if scope is not None:
            candidates = index.districts.get(scope, {})
            wanted = city_code or (
                None if province_code else default_city_code
            )  # district must sit under the city when one is known
            if wanted is not None:
                candidates = {n: c for n, c in candidates.items() if c[:4] == wanted[:4]}
            hit = _match(rest, candidates)
            if hit:
                district_code = hit[1]
                rest = rest[len(hit[0]) :]
                province_code = province_code or f"{district_code[:2]}0000"
                if city_code is None and f"{district_code[:4]}00" in divisions():
                    parent = divisions()[f"{district_code[:4]}00"]
                    if parent.name not in _PLACEHOLDER_NAMES:
                        city_code = parent.code

    def name(code: str | None) -> str | None:
        found = division(code) if code else None
        return found.name if found else None

    return AddressParts(
        province=name(province_code),
        province_code=province_code,
        city=name(city_code),
        city_code=city_code,
        district=name(district_code),
        district_code=district_code,
        street=rest.strip(),
    )
