"""De-identification rules (GB/T 37964): pseudonyms, generalisation, k-anonymity refusal."""

from __future__ import annotations

from datetime import date

import pytest

from onewindow.security import deidentify as de


def test_pseudonyms_are_stable_within_a_key_and_unlinkable_across() -> None:
    one, two = de.pseudonymiser(b"k" * 32), de.pseudonymiser(b"j" * 32)
    assert one("11010519491231002X") == one("11010519491231002X")
    assert one("11010519491231002X") != two("11010519491231002X")
    assert one("11010519491231002X") != one("11010519491231003X")
    assert one(None) is None


def test_generalisation() -> None:
    birth = de.birth_date_of("11010519491231002X")
    assert birth == date(1949, 12, 31)
    assert de.birth_year(birth) == "1949"
    assert de.age_band(birth, date(2026, 3, 2)) == "60+"
    assert de.age_band(date(2000, 6, 1), date(2026, 3, 2)) == "18-29"
    assert de.sex_of("11010519491231002X") == "F"
    assert de.district_code("11010519491231002X") == "110105"
    assert de.address_district("北京市海淀区马连洼街道梅园小区") == "北京市海淀区"
    assert de.address_district("浙江省杭州市西湖区文三路") == "浙江省杭州市西湖区"


def test_k_anonymity_refuses_small_groups() -> None:
    rows = [{"age": "30-44", "sex": "F"}] * 5 + [{"age": "60+", "sex": "M"}] * 2
    report = de.k_anonymity(rows, ["age", "sex"], 3)
    assert not report.passed
    assert report.smallest_group == 2
    assert report.groups_below_k == 1
    with pytest.raises(de.KAnonymityRefused) as exc:
        de.require_k(report)
    assert exc.value.details["report"]["records_below_k"] == 2
    assert de.k_anonymity(rows, ["age", "sex"], 2).passed
