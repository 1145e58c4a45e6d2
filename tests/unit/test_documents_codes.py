"""Verification codes: short, typable, and every single typo or swap is caught."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from onewindow.documents import normalise_code, verification_code
from onewindow.documents.codes import ALPHABET
from onewindow.kit.errors import ValidationFailed

SHAPE = re.compile(r"[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}")
CODES = [verification_code(f"seed number {i:08d}") for i in range(60)]


def _symbols(code: str) -> str:
    return code.replace("-", "")


def test_codes_are_four_groups_of_four_crockford_symbols() -> None:
    assert ALPHABET == "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    for code in CODES:
        assert SHAPE.fullmatch(code), code
        assert normalise_code(code) == code


def test_a_seed_gives_one_code_and_different_seeds_different_codes() -> None:
    assert verification_code(b"x" * 16) == verification_code("x" * 16)
    assert verification_code(b"x" * 16) != verification_code(b"x" * 15 + b"y")
    many = {verification_code(i.to_bytes(16, "big")) for i in range(5000)}
    assert len(many) == 5000


def test_a_short_seed_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        verification_code("OW-2026-000123")  # a case number is guessable
    assert caught.value.code == "document.seed_too_short"
    assert caught.value.details == {"min_bytes": 16, "bytes": 14}


def test_what_people_type_is_read() -> None:
    code = next(c for c in CODES if "0" in c and "1" in c)
    assert normalise_code(code.lower()) == code
    assert normalise_code(_symbols(code)) == code
    assert normalise_code(" ".join(code.split("-"))) == code
    assert normalise_code(f"  {code.lower().replace('-', ' — ')}\t") == code
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in code)  # ＡＢ１２－…
    assert normalise_code(full_width) == code
    assert normalise_code(code.replace("0", "O").replace("1", "l")) == code
    assert normalise_code(code.replace("0", "o").replace("1", "I")) == code


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "got 0"),
        ("ABCD-EFGH-JKMN-PQR", "got 15"),
        ("ABCD-EFGH-JKMN-PQRST", "got 17"),
        ("ABCD-EFGH-JKMN-PQRU", "'U'"),
        ("ABCD-EFGH-JKMN-PQR?", "'?'"),
        ("核验码", "'核'"),
        ("A" * 65, "too long"),
    ],
)
def test_malformed_codes_are_refused_with_the_reason(text: str, why: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        normalise_code(text)
    assert caught.value.code == "document.verification_code_invalid"
    assert why in caught.value.message


def test_every_single_wrong_symbol_is_caught() -> None:
    for code in CODES:
        symbols = _symbols(code)
        for position, replacement in itertools.product(range(len(symbols)), ALPHABET):
            if replacement == symbols[position]:
                continue
            typo = symbols[:position] + replacement + symbols[position + 1 :]
            with pytest.raises(ValidationFailed, match="mistyped"):
                normalise_code(typo)


def test_every_swap_of_two_different_symbols_is_caught() -> None:
    for code in CODES:
        symbols = list(_symbols(code))
        for i, j in itertools.combinations(range(len(symbols)), 2):
            if symbols[i] == symbols[j]:
                continue
            swapped = symbols.copy()
            swapped[i], swapped[j] = swapped[j], swapped[i]
            with pytest.raises(ValidationFailed, match="mistyped"):
                normalise_code("".join(swapped))


@given(
    seed=st.binary(min_size=16, max_size=64),
    cuts=st.lists(st.sampled_from([" ", "-", "", "  "]), min_size=15, max_size=15),
    lower=st.booleans(),
)
def test_any_code_survives_being_retyped(seed: bytes, cuts: list[str], lower: bool) -> None:
    code = verification_code(seed)
    symbols = _symbols(code)
    typed = symbols[0] + "".join(sep + ch for sep, ch in zip(cuts, symbols[1:], strict=True))
    assert normalise_code(typed.lower() if lower else typed) == code
