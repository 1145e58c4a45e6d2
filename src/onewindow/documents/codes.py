"""Verification codes (核验码) printed on official documents.

A code looks like ``7KQ2-M9XD-4RTA-0HV5``: 16 symbols of Crockford's base32 alphabet
(digits and capitals without I, L, O, U), in four groups of four. The first 15 symbols carry
75 bits; the 16th is a check symbol, so a mistyped code is answered "mistyped" before any
lookup.

Where the bits come from. A code is printed *on* the document, so it cannot be derived from
the PDF's own SHA-256 (the hash depends on the code). Instead the caller passes a seed of at
least 16 bytes and the code is the first 75 bits of
``SHA-256("onewindow.verification-code.v1" || 0x00 || seed)``. The seed should be
unpredictable, because ``/verify/{code}`` answers for anyone who knows a code:

* ``secrets.token_bytes(16)`` — store the code with the document row; or
* ``hmac.new(key, f"{case_number}/{kind}/{n}".encode(), "sha256").digest()`` with a server
  key — the same code comes back when the same document is re-issued.

The caller then renders the PDF with the code on it, hashes the bytes and stores
``code -> sha256(pdf)`` (the ledger keeps the hash). 75 bits leave a random guess one chance
in 3.8e22 per stored document of hitting a real code.

The check symbol. Symbols are read as elements of GF(32) (polynomial ``x^5 + x^2 + 1``,
``α = x`` primitive) and the check is ``c = Σ α^(i+1) · s_i`` over the 15 data symbols, so
the 16 positions carry the weights ``α^0 … α^15``, all non-zero and all different. Any single
wrong symbol, and any swap of two different symbols (the check symbol included), therefore
changes the sum: both are caught every time, not just with high probability. ``O``, ``I``
and ``L`` typed for ``0`` and ``1`` are read as the digits, as Crockford intends.
"""

from __future__ import annotations

import hashlib
import unicodedata
from typing import Final

from onewindow.kit.errors import ValidationFailed

ALPHABET: Final = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_SYMBOLS: Final = 16
DATA_SYMBOLS: Final = CODE_SYMBOLS - 1
GROUP: Final = 4
MIN_SEED_BYTES: Final = 16
_DOMAIN: Final = b"onewindow.verification-code.v1\x00"
_VALUE: Final = {ch: i for i, ch in enumerate(ALPHABET)}
# What people type for what they mean (Crockford): O for zero, I and L for one.
_LOOKALIKE: Final = {"O": "0", "I": "1", "L": "1"}
# Separators people put between groups; NFKC has already folded the full-width ones.
_SEPARATORS: Final = frozenset(" \t-_.‐‑‒–—−")
_MAX_INPUT: Final = 64
_GF32_POLY: Final = 0b100101  # x^5 + x^2 + 1


def _gf32_mul(a: int, b: int) -> int:
    product = 0
    while b:
        if b & 1:
            product ^= a
        b >>= 1
        a <<= 1
        if a & 0b100000:
            a ^= _GF32_POLY
    return product


def _alpha_powers(count: int) -> tuple[int, ...]:
    powers, p = [], 1
    for _ in range(count):
        p = _gf32_mul(p, 2)
        powers.append(p)
    return tuple(powers)


_WEIGHTS: Final = _alpha_powers(DATA_SYMBOLS)  # α^1 … α^15


def _check_symbol(data: str) -> str:
    check = 0
    for weight, ch in zip(_WEIGHTS, data, strict=True):
        check ^= _gf32_mul(weight, _VALUE[ch])
    return ALPHABET[check]


def _grouped(symbols: str) -> str:
    return "-".join(symbols[i : i + GROUP] for i in range(0, len(symbols), GROUP))


def verification_code(seed: bytes | str) -> str:
    """The grouped code (``XXXX-XXXX-XXXX-XXXX``) for a seed of at least 16 bytes.

    Raises:
        ValidationFailed: ``document.seed_too_short`` when the seed is shorter than 16 bytes
            (a case number alone is guessable; pass random or keyed bytes).
    """
    raw = seed.encode() if isinstance(seed, str) else bytes(seed)
    if len(raw) < MIN_SEED_BYTES:
        raise ValidationFailed(
            f"a verification code needs a seed of at least {MIN_SEED_BYTES} bytes "
            f"(random or keyed), got {len(raw)}",
            message_zh=(
                f"核验码的种子至少需要 {MIN_SEED_BYTES} 字节（随机或带密钥），当前 {len(raw)}"
            ),
            code="document.seed_too_short",
            details={"min_bytes": MIN_SEED_BYTES, "bytes": len(raw)},
        )
    bits = int.from_bytes(hashlib.sha256(_DOMAIN + raw).digest()[:10], "big") >> 5
    data = "".join(
        ALPHABET[(bits >> (5 * (DATA_SYMBOLS - 1 - i))) & 31] for i in range(DATA_SYMBOLS)
    )
    return _grouped(data + _check_symbol(data))


def _invalid(message: str, message_zh: str, **details: object) -> ValidationFailed:
    return ValidationFailed(
        message, message_zh=message_zh, code="document.verification_code_invalid", details=details
    )


def normalise_code(text: str) -> str:
    """Read a code as a person typed it and return it in canonical grouped form.

    Accepts lower case, spaces, dashes (ASCII or full-width), full-width letters, and ``O``,
    ``I``, ``L`` for ``0``, ``1``, ``1``.

    Raises:
        ValidationFailed: ``document.verification_code_invalid`` for a symbol outside the
            alphabet, a wrong length, or a check symbol that does not match (a typo).
    """
    if len(text) > _MAX_INPUT:
        raise _invalid(
            f"a verification code has {CODE_SYMBOLS} characters; this text is too long",
            f"核验码为 {CODE_SYMBOLS} 位，输入过长",
            length=len(text),
        )
    folded = unicodedata.normalize("NFKC", text).upper()
    symbols: list[str] = []
    for ch in folded:
        if ch in _SEPARATORS:
            continue
        ch = _LOOKALIKE.get(ch, ch)
        if ch not in _VALUE:
            raise _invalid(
                f"{ch!r} is not a character of a verification code (digits and letters "
                "except I, L, O, U)",
                f"“{ch}”不是核验码中的字符（核验码由数字和除 I、L、O、U 外的字母组成）",
                character=ch,
            )
        symbols.append(ch)
    if len(symbols) != CODE_SYMBOLS:
        raise _invalid(
            f"a verification code has {CODE_SYMBOLS} characters, got {len(symbols)}",
            f"核验码为 {CODE_SYMBOLS} 位，当前 {len(symbols)} 位",
            length=len(symbols),
        )
    code = "".join(symbols)
    if _check_symbol(code[:DATA_SYMBOLS]) != code[DATA_SYMBOLS]:
        raise _invalid(
            "this verification code does not add up: a character is probably mistyped",
            "核验码校验不符，可能有字符输入错误",
        )
    return _grouped(code)
