from __future__ import annotations

import random
from datetime import date, timedelta

import pytest

from onewindow.intake.identifiers import (
    CREDIT_CODE_ALPHABET,
    CitizenId,
    CreditCode,
    InvalidIdentifier,
    citizen_id_check_char,
    credit_code_check_char,
    make_citizen_id,
    make_credit_code,
    org_code_check_char,
    validate_citizen_id,
    validate_credit_code,
)
from onewindow.kit.errors import ValidationFailed

TODAY = date(2026, 3, 2)
WORKED_ID = "11010519491231002X"
WORKED_CODE = "91350100M000100Y43"


def _id_error(raw: str, today: date = TODAY) -> InvalidIdentifier:
    with pytest.raises(InvalidIdentifier) as caught:
        validate_citizen_id(raw, today)
    assert caught.value.code == "applicant.invalid_citizen_id"
    assert isinstance(caught.value, ValidationFailed)
    assert caught.value.status == 422
    return caught.value


def _code_error(raw: str) -> InvalidIdentifier:
    with pytest.raises(InvalidIdentifier) as caught:
        validate_credit_code(raw)
    assert caught.value.code == "applicant.invalid_credit_code"
    return caught.value


def _with_valid_check(first17: str) -> str:
    return first17 + citizen_id_check_char(first17)


# --- citizen ID -------------------------------------------------------------------


def test_worked_citizen_id_example() -> None:
    assert validate_citizen_id(WORKED_ID, TODAY) == CitizenId(
        number=WORKED_ID, area_code="110105", birth_date=date(1949, 12, 31), sex="F"
    )


def test_citizen_id_sex_follows_sequence_parity() -> None:
    male = make_citizen_id("440305", date(1990, 6, 15), 123)
    female = make_citizen_id("440305", date(1990, 6, 15), 124)
    assert validate_citizen_id(male, TODAY).sex == "M"
    assert validate_citizen_id(female, TODAY).sex == "F"


@pytest.mark.parametrize(
    "raw",
    [
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits and X
        "１１０１０５１９４９１２３１００２ｘ",  # full-width lower-case x
        "11010519491231002x",
        "  11010519491231002X\n",
        "\u300011010519491231002X\u3000",  # ideographic spaces
    ],
)
def test_citizen_id_is_normalised(raw: str) -> None:
    assert validate_citizen_id(raw, TODAY).number == WORKED_ID


@pytest.mark.parametrize("raw", ["11010519491231002", "11010519491231002X1", "", "  "])
def test_citizen_id_wrong_length(raw: str) -> None:
    error = _id_error(raw)
    assert error.details["reason"] == "length"
    assert "18" in error.message
    assert "18 位" in error.message_zh


@pytest.mark.parametrize(
    ("raw", "position"),
    [
        ("1101051949123100AX", 17),
        ("A1010519491231002X", 1),
        ("11010519491231002Y", 18),
        ("110105-9491231002X", 7),
        ("11010519491231002\u0663", 18),  # Arabic-Indic digit: not an ASCII digit
    ],
)
def test_citizen_id_bad_character(raw: str, position: int) -> None:
    error = _id_error(raw)
    assert error.details["reason"] == "character"
    assert error.details["position"] == position
    assert f"character {position}" in error.message
    assert f"第 {position} 位" in error.message_zh


def test_citizen_id_wrong_check_digit_says_expected_and_got() -> None:
    error = _id_error("110105194912310021")
    assert error.details == {"reason": "check_digit", "expected": "X", "got": "1"}
    assert "expected X, got 1" in error.message
    assert "应为 X，实际为 1" in error.message_zh
    assert "110105194912310021" not in str(error)  # personal data stays out of logs


def test_every_single_digit_typo_is_caught() -> None:
    for position in range(17):
        for digit in "0123456789":
            if WORKED_ID[position] == digit:
                continue
            typo = WORKED_ID[:position] + digit + WORKED_ID[position + 1 :]
            with pytest.raises(InvalidIdentifier):
                validate_citizen_id(typo, TODAY)


def test_citizen_id_february_30_is_not_a_date() -> None:
    error = _id_error(_with_valid_check("11010519490230002"))
    assert error.details["reason"] == "birth_date"
    assert "19490230" in error.message
    assert "出生日期" in error.message_zh


@pytest.mark.parametrize("birth", ["19491301", "19490000", "00001231", "20250229"])
def test_citizen_id_other_impossible_birth_dates(birth: str) -> None:
    assert _id_error(_with_valid_check(f"110105{birth}002")).details["reason"] == "birth_date"


def test_citizen_id_birth_on_leap_day_is_fine() -> None:
    number = _with_valid_check("11010520000229002")
    assert validate_citizen_id(number, TODAY).birth_date == date(2000, 2, 29)


def test_citizen_id_future_birth_date() -> None:
    tomorrow = TODAY + timedelta(days=1)
    error = _id_error(make_citizen_id("110105", tomorrow, 1))
    assert error.details["reason"] == "birth_date"
    assert "future" in error.message
    assert "晚于今天" in error.message_zh
    born_today = make_citizen_id("110105", TODAY, 1)
    assert validate_citizen_id(born_today, TODAY).birth_date == TODAY


def test_make_citizen_id_round_trips() -> None:
    rng = random.Random(11643)
    for _ in range(300):
        birth = date(1930, 1, 1) + timedelta(days=rng.randrange(0, 35000))
        area = f"{rng.randrange(110000, 820000):06d}"
        seq = rng.randrange(0, 1000)
        parsed = validate_citizen_id(make_citizen_id(area, birth, seq), TODAY)
        assert (parsed.area_code, parsed.birth_date) == (area, birth)
        assert parsed.sex == ("M" if seq % 2 else "F")


@pytest.mark.parametrize(
    ("area", "seq"),
    [("11010", 1), ("11010A", 1), ("110105", -1), ("110105", 1000)],
)
def test_make_citizen_id_rejects_bad_parts(area: str, seq: int) -> None:
    with pytest.raises(ValueError, match="area|sequence"):
        make_citizen_id(area, date(1990, 1, 1), seq)


def test_citizen_id_is_frozen() -> None:
    parsed = validate_citizen_id(WORKED_ID, TODAY)
    with pytest.raises(AttributeError):
        parsed.number = "x"  # type: ignore[misc]


# --- unified social credit code ---------------------------------------------------


def test_worked_credit_code_example() -> None:
    parsed = validate_credit_code(WORKED_CODE)
    assert parsed == CreditCode(
        number=WORKED_CODE,
        registering_authority="9",
        org_type="1",
        area_code="350100",
        org_code="M000100Y4",
    )
    assert parsed.registering_authority_name == "工商"
    assert parsed.org_type_name == "企业"


def test_check_characters_of_worked_example() -> None:
    assert org_code_check_char("M000100Y") == "4"
    assert credit_code_check_char(WORKED_CODE[:17]) == "3"


@pytest.mark.parametrize(
    "raw", ["91350100m000100y43", " ９１３５０１００Ｍ０００１００Ｙ４３ ", "\t91350100M000100Y43"]
)
def test_credit_code_is_normalised(raw: str) -> None:
    assert validate_credit_code(raw).number == WORKED_CODE


@pytest.mark.parametrize("raw", ["91350100M000100Y4", "91350100M000100Y433", ""])
def test_credit_code_wrong_length(raw: str) -> None:
    error = _code_error(raw)
    assert error.details["reason"] == "length"
    assert "统一社会信用代码" in error.message_zh


@pytest.mark.parametrize(("letter", "position"), [("I", 9), ("O", 1), ("S", 3), ("V", 18)])
def test_credit_code_letters_outside_alphabet(letter: str, position: int) -> None:
    raw = WORKED_CODE[: position - 1] + letter + WORKED_CODE[position:]
    error = _code_error(raw)
    assert error.details == {"reason": "character", "position": position, "got": letter}
    assert "I, O, S, V, Z" in error.message


def test_credit_code_wrong_check_character() -> None:
    error = _code_error("91350100M000100Y44")
    assert error.details["reason"] == "check_digit"
    assert (error.details["expected"], error.details["got"]) == ("3", "4")
    assert "expected 3, got 4" in error.message
    assert "第 18 位" in error.message_zh


def test_credit_code_wrong_organisation_check_character() -> None:
    # Position 17 wrong but position 18 recomputed, so only the GB 11714 check can catch it.
    first17 = "91350100M000100Y5"
    error = _code_error(first17 + credit_code_check_char(first17))
    assert error.details["reason"] == "org_check_digit"
    assert (error.details["expected"], error.details["got"]) == ("4", "5")
    assert "position 17" in error.message
    assert "第 17 位" in error.message_zh


def test_every_single_character_typo_in_credit_code_is_caught() -> None:
    for position in range(17):
        for char in CREDIT_CODE_ALPHABET:
            if WORKED_CODE[position] == char:
                continue
            typo = WORKED_CODE[:position] + char + WORKED_CODE[position + 1 :]
            with pytest.raises(InvalidIdentifier):
                validate_credit_code(typo)


def test_org_code_check_maps_10_to_x_and_11_to_0() -> None:
    bodies = [f"{n:08d}" for n in range(2000)]
    checks = {org_code_check_char(b) for b in bodies}
    assert "X" in checks
    assert "0" in checks
    for body in bodies:
        validate_credit_code(make_credit_code("110105", body))


def test_make_credit_code_round_trips() -> None:
    rng = random.Random(32100)
    body_chars = CREDIT_CODE_ALPHABET
    for _ in range(300):
        body = "".join(rng.choice(body_chars) for _ in range(8))
        authority, org_type = rng.choice([("9", "1"), ("9", "2"), ("5", "1"), ("1", "1")])
        code = make_credit_code("330106", body, authority=authority, org_type=org_type)
        parsed = validate_credit_code(code)
        assert parsed.org_code[:8] == body
        assert (parsed.registering_authority, parsed.org_type) == (authority, org_type)
        assert parsed.area_code == "330106"
    assert make_credit_code("350100", "M000100Y") == WORKED_CODE
    assert make_credit_code(area_code="350100", org_code="M000100Y4") == WORKED_CODE
    assert make_credit_code("110105", 42) == make_credit_code("110105", "00000042")
    with pytest.raises(ValueError, match="expected 4"):
        make_credit_code("350100", "M000100Y5")


def test_unknown_authority_is_accepted_but_unnamed() -> None:
    code = make_credit_code("110105", 7, authority="3", org_type="1")
    parsed = validate_credit_code(code)
    assert parsed.registering_authority_name is None
    assert parsed.org_type_name is None


@pytest.mark.parametrize(
    ("area", "body", "authority"),
    [("35010", "M000100Y", "9"), ("350100", "M000100", "9"), ("350100", "M000100Z", "9")],
)
def test_make_credit_code_rejects_bad_parts(area: str, body: str, authority: str) -> None:
    with pytest.raises(ValueError, match="characters"):
        make_credit_code(area, body, authority=authority)


def test_make_credit_code_rejects_out_of_range_number() -> None:
    with pytest.raises(ValueError, match="0–99999999"):
        make_credit_code("350100", 100_000_000)
