"""The district of an application: golden record, then a form address, then the ID's area code."""

from __future__ import annotations

import random
from datetime import date

from onewindow.datahub.rules import districts
from onewindow.demo import values
from onewindow.demo.generator import AREA_CODES
from onewindow.intake.identifiers import make_citizen_id, make_credit_code

PERSON = "11010519491231002X"  # GB 11643 worked example: 110105 北京市朝阳区
COMPANY = "91350100M000100Y43"  # GB 32100 worked example: 350100 is a city, not a district


def _resolve(**kw: object) -> districts.District:
    args: dict[str, object] = {
        "record_code": None,
        "addresses": (),
        "kind": "person",
        "id_number": PERSON,
    }
    args.update(kw)
    return districts.resolve_district(**args)  # type: ignore[arg-type]


def test_labels_name_the_city_or_the_province() -> None:
    assert districts.district_label("350102") == "福州市鼓楼区"
    assert districts.district_label("110105") == "北京市朝阳区"  # a municipality's district
    assert districts.district_label("350181") == "福州市福清市"


def test_area_codes_of_identifiers() -> None:
    assert districts.area_code_of_identifier("person", PERSON) == "110105"
    assert districts.area_code_of_identifier("person", "110105491231002") == "110105"
    assert districts.area_code_of_identifier("business", COMPANY) == "350100"
    assert districts.area_code_of_identifier("person", "abc") is None
    assert districts.area_code_of_identifier("business", "short") is None


def test_only_county_level_codes_are_districts() -> None:
    assert districts.is_district_code("350102")
    assert districts.is_district_code("110103")  # 崇文区, withdrawn 2010: still valid in an ID
    assert not districts.is_district_code("350100")  # a city
    assert not districts.is_district_code("350000")  # a province
    assert not districts.is_district_code("999999")
    assert not districts.is_district_code("35010")


def test_the_record_wins_then_the_address_then_the_id() -> None:
    assert _resolve(record_code="350103", addresses=["福州市鼓楼区五四路1号"]) == (
        districts.District("350103", "福州市台江区", "record")
    )
    assert _resolve(addresses=["福州市鼓楼区五四路1号"]) == districts.District(
        "350102", "福州市鼓楼区", "address"
    )
    # an address that names no district, and one naming only a city, fall through to the ID
    assert _resolve(addresses=["x", "福州市五四路1号"]) == districts.District(
        "110105", "北京市朝阳区", "id"
    )
    # a business whose credit code carries a city code only, with no address: unknown
    assert _resolve(kind="business", id_number=COMPANY) == districts.UNKNOWN_DISTRICT


def test_a_bare_district_is_read_under_the_home_city() -> None:
    assert _resolve(addresses=["台江区宁化街道"], default_city_code="350100").code == "350103"
    assert _resolve(addresses=["台江区宁化街道"]).source == "id"  # no home city: not guessed


def test_form_addresses_own_fields_first() -> None:
    form = {
        "project_address": "福州市仓山区金山街道",
        "residence_address": "福州市晋安区王庄街道",
        "warehouse_address": "福州市马尾区罗星街道",
        "name": "福州市鼓楼区",
        "hukou_address": "",
        "count": 3,
    }
    assert districts.form_addresses(form) == [
        "福州市晋安区王庄街道",
        "福州市仓山区金山街道",
        "福州市马尾区罗星街道",
    ]


def test_every_demo_address_and_id_names_a_district() -> None:
    """What the demo city writes resolves: its addresses and its applicants' identifiers."""
    rng = random.Random(3)
    for _ in range(200):
        assert districts.district_of_address(values.address(rng)) is not None
    for code in AREA_CODES:
        person = make_citizen_id(code, date(1980, 1, 1), 7)
        business = make_credit_code(
            authority="9", org_type="1", area_code=code, org_code="12345678"
        )
        assert _resolve(id_number=person).code == code
        assert _resolve(kind="business", id_number=business).code == code
