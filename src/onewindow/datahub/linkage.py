"""Identity resolution (身份识别): Chinese-aware preparation and comparisons, run on Splink.

onewindow does not implement a linkage engine. Its part is what Splink cannot know:

* **preparation** — names folded (width, spaces, traditional → simplified) with their
  pinyin, ID numbers upgraded and checked, birth date and sex read from a valid ID when the
  source has none, phones reduced to their digits, addresses to GB/T 2260 codes;
* **comparisons** for those columns (pinyin meets homophone typos; Damerau-Levenshtein 1
  meets swapped digits) and **blocking rules** that only pair records sharing a strong key,
  so the number of comparisons grows with the population, not with its square;
* **thresholds** and **clusters**: pairs above ``match_threshold`` link, pairs between
  ``review_threshold`` and it go to a data administrator, whose decisions override the model
  (an accepted pair links, a rejected one does not).

The module is free of the database: the service feeds it source records, the CLI and the
benchmark feed it files.
"""

from __future__ import annotations

import logging
import math
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from onewindow.datahub.rules import standardise as std
from onewindow.datahub.rules.gbt2260 import split_address
from onewindow.intake.identifiers import InvalidIdentifier, validate_credit_code

log = logging.getLogger(__name__)

# Column names recognised in plain files, by the canonical field they feed.
ALIASES: dict[str, str] = {
    "name": "name",
    "full_name": "name",
    "姓名": "name",
    "名称": "name",
    "given_name": "given_name",
    "first_name": "given_name",
    "surname": "surname",
    "last_name": "surname",
    "family_name": "surname",
    "citizen_id": "citizen_id",
    "id_number": "citizen_id",
    "id_card": "citizen_id",
    "身份证号": "citizen_id",
    "身份证号码": "citizen_id",
    "credit_code": "credit_code",
    "统一社会信用代码": "credit_code",
    "birth_date": "birth_date",
    "date_of_birth": "birth_date",
    "dob": "birth_date",
    "出生日期": "birth_date",
    "sex": "sex",
    "gender": "sex",
    "性别": "sex",
    "phone": "phone",
    "mobile": "phone",
    "telephone": "phone",
    "手机": "phone",
    "手机号": "phone",
    "电话": "phone",
    "address": "address",
    "住址": "address",
    "地址": "address",
    "street_number": "street_number",
    "address_1": "address_1",
    "address_2": "address_2",
    "suburb": "suburb",
    "postcode": "postcode",
    "state": "state",
    "soc_sec_id": "soc_sec_id",
    "email": "email",
}
FIELDS = frozenset(ALIASES.values())
_PLAIN_TEXT = ("street_number", "address_1", "address_2", "suburb", "postcode", "state")


@dataclass(frozen=True)
class LinkageConfig:
    match_threshold: float = 0.9
    review_threshold: float = 0.5
    threads: int = 1
    max_pairs_for_u: float = 1e6
    seed: int = 42


@dataclass
class LinkResult:
    """Scored pairs above the review threshold and a cluster id for every record."""

    pairs: list[tuple[str, str, float]]
    clusters: dict[str, str]
    review: list[tuple[str, str, float]] = field(default_factory=list)
    # Links refused because they would join a pair a data administrator rejected.
    blocked: list[tuple[str, str, float]] = field(default_factory=list)
    seconds: float = 0.0
    training_notes: list[str] = field(default_factory=list)


# --- preparation -----------------------------------------------------------------------------


def _clean(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    text = std.fold_spaces(std.fold_width(str(value)))
    return text or None


def canonical(record: Mapping[str, Any]) -> dict[str, Any]:
    """The record's fields under their canonical names (``date_of_birth`` → ``birth_date``);
    unknown names are dropped."""
    out: dict[str, Any] = {}
    for key, value in record.items():
        name = ALIASES.get(str(key).strip().lower(), ALIASES.get(str(key).strip()))
        if name is not None and (out.get(name) is None):
            out[name] = value
    return out


def prepare(record: Mapping[str, Any], today: date) -> dict[str, Any]:
    """One record's linkage columns from its fields (missing or bad values → None)."""
    record = canonical(record)
    out: dict[str, Any] = {}
    name = _clean(record.get("name"))
    if name is not None:
        try:
            folded = std.to_simplified(std.fold_name(name))
        except std.RuleFailed:
            folded = None
        out["name_norm"] = folded
        out["name_py"] = std.name_pinyin(folded) if folded else None
        out["surname_py"] = std.name_pinyin(folded[0]) if folded else None
    for part in ("given_name", "surname"):
        value = _clean(record.get(part))
        if value is not None or part in record:
            out[part] = value.lower() if value else None

    birth = _clean(record.get("birth_date"))
    if birth is not None:
        try:
            birth = std.iso_date(birth)
        except std.RuleFailed:
            pass  # kept as given: a near-miss still scores on edit distance
    sex = _clean(record.get("sex"))
    if sex is not None:
        try:
            sex = std.gender(sex)
        except std.RuleFailed:
            sex = None

    if "citizen_id" in record:
        raw_id = _clean(record.get("citizen_id"))
        number = std.citizen_id(raw_id) if raw_id else None
        out["citizen_id"] = number
        if number:
            try:
                derived = std.derive_from_citizen_id(number, today)
                birth = birth or derived.birth_date
                sex = sex or derived.sex
            except std.RuleFailed:
                pass
    if "credit_code" in record:
        raw_code = _clean(record.get("credit_code"))
        code = std.credit_code(raw_code) if raw_code else None
        if code:
            try:
                validate_credit_code(code)
            except InvalidIdentifier:
                pass  # a mistyped code still scores on edit distance
        out["credit_code"] = code
    if "birth_date" in record or "citizen_id" in record:
        out["birth_date"] = birth
    if "sex" in record or "citizen_id" in record:
        out["sex"] = sex

    if "phone" in record:
        raw_phone = _clean(record.get("phone"))
        phone: str | None = None
        if raw_phone:
            try:
                phone = std.phone_e164(raw_phone).removeprefix("+86")
            except std.RuleFailed:
                phone = "".join(c for c in raw_phone if c.isdigit()) or None
        out["phone"] = phone
    if "address" in record:
        raw_address = _clean(record.get("address"))
        if raw_address:
            text = std.to_simplified(raw_address).replace(" ", "")
            parts = split_address(text)
            out["address_norm"] = text
            out["area_code"] = parts.area_code
            out["street_norm"] = parts.street or None
        else:
            out["address_norm"] = out["area_code"] = out["street_norm"] = None
    for name_ in (*_PLAIN_TEXT, "soc_sec_id", "email"):
        if name_ in record:
            value = _clean(record.get(name_))
            out[name_] = value.lower() if value else None
    return out


# --- the Splink model ------------------------------------------------------------------------


def _present(rows: Sequence[Mapping[str, Any]], column: str) -> bool:
    return any(r.get(column) is not None for r in rows)


def _comparisons(rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl

    comps: list[Any] = []

    def dl(column: str, label: str) -> Any:
        return cl.CustomComparison(
            output_column_name=column,
            comparison_description=label,
            comparison_levels=[
                cll.NullLevel(column),
                cll.ExactMatchLevel(column),
                cll.DamerauLevenshteinLevel(column, 1),
                cll.ElseLevel(),
            ],
        )

    if _present(rows, "name_norm"):
        comps.append(
            cl.CustomComparison(
                output_column_name="name",
                comparison_description="name (folded, simplified) and its pinyin",
                comparison_levels=[
                    cll.NullLevel("name_norm"),
                    cll.ExactMatchLevel("name_norm"),
                    cll.ExactMatchLevel("name_py"),  # homophone typo, 張/张 already folded
                    cll.JaroWinklerLevel("name_py", 0.92),
                    cll.And(
                        cll.ExactMatchLevel("surname_py"), cll.LevenshteinLevel("name_norm", 1)
                    ),
                    cll.ElseLevel(),
                ],
            )
        )
    if _present(rows, "given_name") and _present(rows, "surname"):
        comps.append(_person_name(cl, cll))
    else:
        for part in ("given_name", "surname"):
            if _present(rows, part):
                comps.append(cl.JaroWinklerAtThresholds(part, [0.92, 0.8]))
    for column in ("citizen_id", "credit_code", "soc_sec_id", "phone"):
        if _present(rows, column):
            comps.append(dl(column, column))
    if _present(rows, "birth_date"):
        comps.append(dl("birth_date", "birth date (from the ID when the source has none)"))
    if _present(rows, "sex"):
        comps.append(cl.ExactMatch("sex"))
    if _present(rows, "area_code"):
        comps.append(
            cl.CustomComparison(
                output_column_name="address",
                comparison_description="address: GB/T 2260 code, then the street part",
                comparison_levels=[
                    cll.NullLevel("address_norm"),
                    cll.ExactMatchLevel("address_norm"),
                    cll.And(
                        cll.ExactMatchLevel("area_code"), cll.JaroWinklerLevel("street_norm", 0.9)
                    ),
                    cll.ExactMatchLevel("area_code"),
                    cll.ElseLevel(),
                ],
            )
        )
    for column in ("address_1", "address_2", "suburb"):
        if _present(rows, column):
            comps.append(cl.JaroWinklerAtThresholds(column, [0.92, 0.8]))
    if _present(rows, "postcode"):
        comps.append(dl("postcode", "postcode (a swapped digit is a typo)"))
    for column in ("street_number", "state", "email"):
        if _present(rows, column):
            comps.append(cl.ExactMatch(column))
    return comps


def _person_name(cl: Any, cll: Any) -> Any:
    """Given name and surname as one comparison, so a swap is evidence, not two misses.

    Clerks type a Western-order name into the wrong boxes (FEBRL's "ryan campbell" vs
    "campbell ryan") or put the surname in both; scored as two independent columns such a
    pair loses twice. Levels, strongest first: both equal; swapped (given = surname and
    surname = given); both close (Jaro-Winkler ≥ 0.92); surname equal; given name equal;
    one of the names in the other box; both loosely close (≥ 0.8); anything else.
    """
    given, surname = "given_name", "surname"
    return cl.CustomComparison(
        output_column_name="person_name",
        comparison_description="given name and surname, swaps recognised",
        comparison_levels=[
            cll.And(cll.NullLevel(given), cll.NullLevel(surname)),
            cll.And(cll.ExactMatchLevel(given), cll.ExactMatchLevel(surname)),
            cll.ColumnsReversedLevel(given, surname, symmetrical=True),
            cll.And(cll.JaroWinklerLevel(given, 0.92), cll.JaroWinklerLevel(surname, 0.92)),
            cll.ExactMatchLevel(surname),
            cll.ExactMatchLevel(given),
            cll.Or(
                cll.ColumnsReversedLevel(given, surname),
                cll.ColumnsReversedLevel(surname, given),
            ),
            cll.And(cll.JaroWinklerLevel(given, 0.8), cll.JaroWinklerLevel(surname, 0.8)),
            cll.ElseLevel(),
        ],
    )


def _pairs_on(rows: Sequence[Mapping[str, Any]], cols: Sequence[str]) -> bool:
    """Whether two records agree on every one of ``cols`` (none of them null)."""
    seen: set[tuple[Any, ...]] = set()
    for r in rows:
        key = tuple(r.get(c) for c in cols)
        if any(v is None for v in key):
            continue
        if key in seen:
            return True
        seen.add(key)
    return False


def _blocking_columns(rows: Sequence[Mapping[str, Any]]) -> list[tuple[str, ...]]:
    return [cols for cols in _BLOCKING if all(_present(rows, c) for c in cols)]


def _blocking_rules(rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    from splink import block_on

    rules: list[Any] = [block_on(*cols) for cols in _blocking_columns(rows)]
    if _swapped_names(rows):
        rules.append(_SWAPPED_NAMES)
    return rules


# Given name and surname typed into each other's box.
_SWAPPED_NAMES = "l.given_name = r.surname and l.surname = r.given_name"


def _swapped_names(rows: Sequence[Mapping[str, Any]]) -> bool:
    """Whether some record's (surname, given name) is another's (given name, surname)."""
    straight: set[tuple[Any, Any]] = set()
    for r in rows:
        given, surname = r.get("given_name"), r.get("surname")
        if given is not None and surname is not None and given != surname:
            straight.add((given, surname))
    return any((s, g) in straight for g, s in straight)


_BLOCKING: tuple[tuple[str, ...], ...] = (
    ("citizen_id",),
    ("credit_code",),
    ("soc_sec_id",),
    ("phone",),
    ("name_py", "birth_date"),
    ("name_norm", "area_code"),
    ("given_name", "surname"),
    ("surname", "birth_date"),
    ("given_name", "birth_date"),
    ("postcode", "surname"),
    ("postcode", "given_name"),
    ("postcode", "birth_date"),
    ("street_number", "birth_date"),
    ("street_number", "address_1"),
    ("address_1", "suburb"),
    ("surname", "street_number"),
    ("surname_py", "birth_date"),
    ("area_code", "birth_date"),
)


_DETERMINISTIC_CANDIDATES: tuple[tuple[str, ...], ...] = (
    ("citizen_id",),
    ("credit_code",),
    ("soc_sec_id",),
    ("name_py", "birth_date"),
)


def _deterministic_columns(rows: Sequence[Mapping[str, Any]]) -> tuple[str, ...] | None:
    for cols in _DETERMINISTIC_CANDIDATES:
        if all(_present(rows, c) for c in cols):
            return cols
    return None


def _deterministic_rules(rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    from splink import block_on

    cols = _deterministic_columns(rows)
    return [block_on(*cols)] if cols else []


def _em_rules(rows: Sequence[Mapping[str, Any]]) -> list[Any]:
    from splink import block_on

    candidates = [
        ("birth_date",),
        ("name_py",),
        ("given_name", "surname"),
        ("phone",),
        ("postcode",),
    ]
    return [block_on(*cols) for cols in candidates if all(_present(rows, c) for c in cols)][:3]


def link(
    records: Iterable[Mapping[str, Any]],
    *,
    today: date,
    config: LinkageConfig | None = None,
    accepted: Iterable[tuple[str, str]] = (),
    rejected: Iterable[tuple[str, str]] = (),
) -> LinkResult:
    """Link records that are the same person or business.

    Each record has ``unique_id`` (unique across all sources), ``source_dataset`` and any of
    the canonical ``FIELDS``. ``accepted`` and ``rejected`` are pairs of unique ids a data
    administrator has decided: they override the model's score.
    """
    config = config or LinkageConfig()
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for record in records:
        prepared = prepare(record, today)
        prepared["unique_id"] = str(record["unique_id"])
        prepared["source_dataset"] = str(record.get("source_dataset", ""))
        rows.append(prepared)
    columns = sorted({k for r in rows for k in r})
    for r in rows:
        for c in columns:
            r.setdefault(c, None)

    notes: list[str] = []
    scored: list[tuple[str, str, float]] = []
    if len(rows) >= 2:
        scored = _score(rows, config, notes)
    result = _cluster(
        [r["unique_id"] for r in rows], scored, config, set(map(_pair, accepted)), rejected
    )
    if result.blocked:
        notes.append(
            f"{len(result.blocked)} link(s) refused: they would put records a data"
            " administrator kept apart into one cluster"
        )
    result.training_notes = notes
    result.seconds = time.perf_counter() - started
    return result


def _pair(p: tuple[str, str]) -> tuple[str, str]:
    a, b = p
    return (a, b) if a <= b else (b, a)


def _score(
    rows: list[dict[str, Any]], config: LinkageConfig, notes: list[str]
) -> list[tuple[str, str, float]]:
    import duckdb
    import pyarrow as pa  # type: ignore[import-untyped,unused-ignore]
    from splink import DuckDBAPI, Linker, SettingsCreator

    comparisons = _comparisons(rows)
    blocking = _blocking_rules(rows)
    if not comparisons or not blocking:
        notes.append("no comparable columns: every record is its own entity")
        return []
    shared = any(_pairs_on(rows, cols) for cols in _blocking_columns(rows))
    if not shared and not _swapped_names(rows):
        notes.append("no two records share a blocking key: every record is its own entity")
        return []
    con = duckdb.connect(config={"threads": max(1, config.threads)})
    try:
        db_api = DuckDBAPI(connection=con)
        table = db_api.register(pa.Table.from_pylist(rows))
        settings = SettingsCreator(
            link_type="dedupe_only",
            comparisons=comparisons,
            blocking_rules_to_generate_predictions=blocking,
            retain_intermediate_calculation_columns=False,
            retain_matching_columns=False,
        )
        linker = Linker(table, settings, log_level=logging.WARNING)
        deterministic = _deterministic_rules(rows)
        key = _deterministic_columns(rows)
        if key is not None and not _pairs_on(rows, key):
            # No two records agree on the deterministic key: estimating the prior would
            # give 0, which Splink cannot score with; its default prior stands.
            notes.append("prior not estimated: no records share the deterministic key")
            deterministic = []
        if deterministic:
            try:
                linker.training.estimate_probability_two_random_records_match(
                    deterministic, recall=0.8
                )
            except Exception as exc:  # Splink raises plain exceptions on degenerate data
                notes.append(f"prior not estimated: {exc}")
        linker.training.estimate_u_using_random_sampling(
            max_pairs=config.max_pairs_for_u, seed=config.seed
        )
        for rule in _em_rules(rows):
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    rule, record_sample_proportion=1.0
                )
            except Exception as exc:
                # Splink 5 validates m probabilities (e.g. "below 1e-300") in EM at scale, and
                # refuses a rule that pairs no records (a dataset without duplicates); the
                # other EM rounds still estimate the comparison this one would have.
                notes.append(f"EM round skipped: {str(exc).splitlines()[0]}")
        predictions = linker.inference.predict(
            threshold_match_probability=config.review_threshold, warning_mode="never"
        )
        arrow = (
            predictions.as_duckdbpyrelation()
            .select("unique_id_l, unique_id_r, match_probability")
            .to_arrow_table()
        )
        return [
            (str(a), str(b), float(p))
            for a, b, p in zip(
                arrow.column("unique_id_l").to_pylist(),
                arrow.column("unique_id_r").to_pylist(),
                arrow.column("match_probability").to_pylist(),
                strict=True,
            )
        ]
    finally:
        con.close()


def _cluster(
    ids: list[str],
    scored: list[tuple[str, str, float]],
    config: LinkageConfig,
    accepted: set[tuple[str, str]],
    rejected: Iterable[tuple[str, str]],
) -> LinkResult:
    """Connected components over the linking pairs, never joining a rejected pair.

    Accepted pairs are joined first, then the linking pairs from the strongest down. A link
    that would put two records a data administrator kept apart into one cluster, directly or
    through third records, is refused (and reported in ``blocked``): the clusters are split
    along the rejected edge, the weaker side's link giving way.
    """
    refused = set(map(_pair, rejected))
    parent = {i: i for i in ids}
    members: dict[str, set[str]] = {i: {i} for i in ids}
    apart: dict[str, set[str]] = defaultdict(set)  # root -> records its cluster may not join
    for a, b in refused:
        if a in parent and b in parent:
            apart[a].add(b)
            apart[b].add(a)

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> bool:
        ra, rb = find(a), find(b)
        if ra == rb:
            return True
        if len(members[ra]) < len(members[rb]):
            ra, rb = rb, ra
        if apart[ra] & members[rb]:
            return False
        parent[rb] = ra
        members[ra] |= members.pop(rb)
        apart[ra] |= apart.pop(rb, set())
        return True

    pairs: list[tuple[str, str, float]] = []
    review: list[tuple[str, str, float]] = []
    blocked: list[tuple[str, str, float]] = []
    linking: list[tuple[str, str, float]] = []
    for a, b in sorted(accepted):
        if a in parent and b in parent and (a, b) not in refused:
            if not union(a, b):
                blocked.append((a, b, 1.0))
    for a, b, p in scored:
        key = _pair((a, b))
        if key in refused:
            continue
        if p >= config.match_threshold or key in accepted:
            linking.append((key[0], key[1], p))
        elif p >= config.review_threshold:
            review.append((key[0], key[1], p))
    for a, b, p in sorted(linking, key=lambda t: (-t[2], t[0], t[1])):
        if union(a, b):
            pairs.append((a, b, p))
        else:
            blocked.append((a, b, p))
    # A cluster's id is its smallest member, whatever order the links came in.
    smallest = {root: min(group) for root, group in members.items()}
    clusters = {i: smallest[find(i)] for i in ids}
    return LinkResult(pairs=pairs, clusters=clusters, review=review, blocked=blocked)
