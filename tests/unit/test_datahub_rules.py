"""Standardisation and validation rules: the standards' worked examples and invalid cases."""

from __future__ import annotations

from datetime import date

import pytest

from onewindow.datahub.rules import standardise as std
from onewindow.datahub.rules import validate as val
from onewindow.datahub.rules.gbt2260 import division, is_known_area_code, split_address

TODAY = date(2026, 3, 2)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("张三", "张三"),
        ("张 三", "张三"),
        ("张\u3000三", "张三"),
        ("  张  三 ", "张三"),
        ("ＺＨＡＮＧ", "ZHANG"),
        ("zhang   san", "ZHANG SAN"),
        ("阿依古丽 • 买买提", "阿依古丽·买买提"),
        ("阿依古丽・买买提", "阿依古丽·买买提"),
    ],
)
def test_fold_name(raw: str, expected: str) -> None:
    assert std.fold_name(raw) == expected


def test_fold_name_refuses_empty() -> None:
    with pytest.raises(std.RuleFailed) as exc:
        std.fold_name("\u3000 ")
    assert exc.value.reason == "empty"


def test_traditional_to_simplified() -> None:
    assert std.to_simplified("張三") == "张三"
    assert std.to_simplified("鄭國強") == "郑国强"
    assert std.to_simplified("张三") == "张三"


def test_pinyin_meets_homophones() -> None:
    assert std.name_pinyin("张 三") == "zhangsan"
    assert std.name_pinyin("章三") == std.name_pinyin("张三")
    assert std.name_pinyin("ZHANG SAN") == "zhangsan"


@pytest.mark.parametrize(
    ("raw", "mobile"),
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138 0013 8000", "13800138000"),
        ("0086-13800138000", "13800138000"),
        ("8613800138000", "13800138000"),
        ("１３８００１３８０００", "13800138000"),
    ],
)
def test_mobile_number(raw: str, mobile: str) -> None:
    assert std.mobile_number(raw) == mobile
    assert std.phone_e164(raw) == f"+86{mobile}"


@pytest.mark.parametrize("raw", ["12800138000", "1380013800", "138001380001", "+1 415 555 0100"])
def test_mobile_number_invalid(raw: str) -> None:
    with pytest.raises(std.RuleFailed):
        std.mobile_number(raw)
    assert val.check_mobile(raw) is not None


def test_landline_to_e164() -> None:
    assert std.phone_e164("0591-87654321") == "+8659187654321"
    assert std.phone_e164("(010) 1234 5678") == "+861012345678"
    assert std.phone_e164("0591-87654321转 808") == "+8659187654321"
    assert val.check_phone("0591-876") is not None


@pytest.mark.parametrize(
    "raw",
    [
        "2024-03-05",
        "2024/3/5",
        "2024.03.05",
        "20240305",
        "2024年3月5日",
        "2024年03月05号",
        "２０２４年３月５日",
        "二〇二四年三月五日",
        "2024-03-05T10:00:00+08:00",
        "2024-03-05 10:00",
    ],
)
def test_iso_date(raw: str) -> None:
    assert std.iso_date(raw) == "2024-03-05"


def test_iso_date_chinese_tens() -> None:
    assert std.iso_date("二〇二四年十二月二十五日") == "2024-12-25"
    assert std.iso_date("一九四九年十月一日") == "1949-10-01"


@pytest.mark.parametrize(("raw", "reason"), [("2023-02-29", "calendar"), ("05/03/2024", "format")])
def test_iso_date_invalid(raw: str, reason: str) -> None:
    with pytest.raises(std.RuleFailed) as exc:
        std.iso_date(raw)
    assert exc.value.reason == reason


def test_citizen_id_worked_example_and_derivation() -> None:
    # GB 11643 worked example (docs/domain.md)
    assert val.check_citizen_id("11010519491231002X", TODAY) is None
    assert val.check_citizen_id("11010519491231002x", TODAY) is None
    derived = std.derive_from_citizen_id("11010519491231002X", TODAY)
    assert (derived.sex, derived.birth_date, derived.area_code) == ("F", "1949-12-31", "110105")


def test_citizen_id_15_digits_upgraded() -> None:
    assert std.citizen_id("110105491231002") == "11010519491231002X"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("11010519491231002Y", "character"),
        ("110105194912310021", "check_digit"),
        ("1101051949123100", "length"),
        ("110105194902300028", "birth_date"),  # 30 February
        ("110105209912310023", "birth_date"),  # in the future
        ("990105194912310026", "area_code"),  # no province 99
        ("110199194912310024", "area_code"),  # 110199 is not a district of Beijing
    ],
)
def test_citizen_id_invalid(raw: str, reason: str) -> None:
    from onewindow.intake.identifiers import citizen_id_check_char

    number = raw if reason in {"character", "check_digit", "length"} else raw[:17]
    if len(number) == 17:
        number += citizen_id_check_char(number)  # right check digit, so the other rule fires
    finding = val.check_citizen_id(number, TODAY)
    assert finding is not None
    assert finding.reason == reason
    assert number not in finding.message


def test_citizen_id_area_modes() -> None:
    from onewindow.intake.identifiers import make_citizen_id

    withdrawn = make_citizen_id("110103", date(1980, 1, 1), 11)  # 崇文区, merged in 2010
    assert val.check_citizen_id(withdrawn, TODAY) is None
    unknown = make_citizen_id("110199", date(1980, 1, 1), 11)
    assert val.check_citizen_id(unknown, TODAY, area="province") is None
    assert val.check_citizen_id(unknown, TODAY, area="off") is None


def test_credit_code_worked_example() -> None:
    assert val.check_credit_code("91350100M000100Y43") is None
    assert val.check_credit_code("９１３５０１００Ｍ０００１００Ｙ４３") is None
    assert std.credit_code(" 91350100m000100y43 ") == "91350100M000100Y43"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("91350100M000100Y44", "check_digit"),
        ("91350100M000100X4", "length"),
        ("91350100M0001O0Y43", "character"),
    ],
)
def test_credit_code_invalid(raw: str, reason: str) -> None:
    finding = val.check_credit_code(raw)
    assert finding is not None
    assert finding.reason == reason


def test_credit_code_org_check() -> None:
    from onewindow.intake.identifiers import credit_code_check_char

    first17 = "91350100M000100Y5"  # position 17 wrong, position 18 recomputed to match
    finding = val.check_credit_code(first17 + credit_code_check_char(first17))
    assert finding is not None
    assert finding.reason == "org_check_digit"


@pytest.mark.parametrize("raw", ["z@example.cn", "zhang.san+tag@Mail.Example.CN", "ｚ＠example.cn"])
def test_email_valid(raw: str) -> None:
    assert val.check_email(raw) is None


@pytest.mark.parametrize("raw", ["zhang", "z@", "z@example", "z @example.cn", "z@@example.cn"])
def test_email_invalid(raw: str) -> None:
    assert val.check_email(raw) is not None


def test_email_standardised() -> None:
    assert std.email(" Zhang@Example.CN ") == "Zhang@example.cn"


@pytest.mark.parametrize("raw", [None, "", "  ", "\u3000"])
def test_required(raw: str | None) -> None:
    finding = val.check_required(raw)
    assert finding is not None
    assert finding.reason == "missing"


def test_required_present() -> None:
    assert val.check_required("张三") is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("男", "M"), ("女", "F"), ("女性", "F"), ("M", "M"), ("female", "F"), ("1", "M"), ("2", "F")],
)
def test_gender(raw: str, expected: str) -> None:
    assert std.gender(raw) == expected


def test_gender_unknown() -> None:
    with pytest.raises(std.RuleFailed):
        std.gender("未知")


def test_gbt2260_lookup() -> None:
    assert division("110105") is not None
    assert division("110105").name == "朝阳区"  # type: ignore[union-attr]
    assert is_known_area_code("350102")
    assert is_known_area_code("110103")  # withdrawn, still valid inside old IDs
    assert not is_known_area_code("110103", current_only=True)
    assert not is_known_area_code("999999")


@pytest.mark.parametrize(
    ("raw", "codes", "street"),
    [
        ("福建省福州市鼓楼区五四路123号", ("350000", "350100", "350102"), "五四路123号"),
        ("福州市鼓楼区五四路", ("350000", "350100", "350102"), "五四路"),
        ("福建福州鼓楼区五四路", ("350000", "350100", "350102"), "五四路"),
        ("北京市朝阳区建国路88号", ("110000", None, "110105"), "建国路88号"),
        ("上海市浦东新区世纪大道100号", ("310000", None, "310115"), "世纪大道100号"),
        ("广西南宁市青秀区民族大道", ("450000", "450100", "450103"), "民族大道"),
        ("河南省济源市沁园路", ("410000", None, "419001"), "沁园路"),
        ("朝阳区建国路", (None, None, None), "朝阳区建国路"),  # ambiguous without a city
    ],
)
def test_split_address(raw: str, codes: tuple[str | None, ...], street: str) -> None:
    parts = split_address(raw)
    assert (parts.province_code, parts.city_code, parts.district_code) == codes
    assert parts.street == street


def test_split_address_default_city() -> None:
    parts = split_address("鼓楼区五四路1号", default_city_code="350100")
    assert parts.district_code == "350102"
    assert parts.city == "福州市"


def test_address_rule_folds_first() -> None:
    out = std.address("福建省 福州市鼓樓區五四路１２３號")
    assert out["address"] == "福建省福州市鼓楼区五四路123号"
    assert out["area_code"] == "350102"
    assert out["street"] == "五四路123号"
