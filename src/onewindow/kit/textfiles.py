"""Delimited text as departments export it: which encoding, which separator.

One reader of the question for every domain that takes spreadsheets' CSV exports (the data
hub's sources, the mining importers): UTF-8 with or without a byte-order mark, UTF-16 (what
Excel writes as "Unicode text"), else GB18030 — a superset of GBK and GB2312, what Chinese
Excel saves as "CSV". Separators: comma, semicolon (Excel and Disco in locales with a decimal
comma), tab, vertical bar.
"""

from __future__ import annotations

import codecs
import csv
import io
from typing import Final

__all__ = [
    "SEPARATORS",
    "UnreadableText",
    "decode",
    "detect_encoding",
    "separator_name",
    "sniff_separator",
]

SEPARATORS: Final = (",", ";", "\t", "|")
_NAMES: Final = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
_SNIFF_LINES: Final = 50
_SNIFF_AGREEMENT: Final = 0.8
# Share of the even or odd bytes that are NUL in UTF-16 text of mostly ASCII characters.
_UTF16_NULS: Final = 0.3


class UnreadableText(ValueError):
    """The bytes are not text in the given or any recognised encoding (the message says
    where decoding failed)."""


def _utf16_without_bom(head: bytes) -> str | None:
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    if odd.count(0) >= _UTF16_NULS * len(odd) and even.count(0) < 0.05 * len(even):
        return "utf-16-le"
    if even.count(0) >= _UTF16_NULS * len(even) and odd.count(0) < 0.05 * len(odd):
        return "utf-16-be"
    return None


def detect_encoding(data: bytes, *, partial: bool = False) -> str:
    """``utf-8-sig``, ``utf-16`` (with a byte-order mark), ``utf-16-le``/``-be`` (without),
    ``utf-8``, else ``gb18030``.

    ``partial``: ``data`` is the head of a longer file (it may end inside a character);
    the answer then holds for the head only.

    Raises:
        UnreadableText: the bytes are none of these.
    """
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    guessed = _utf16_without_bom(data[:2048])
    if guessed is not None:
        return guessed
    position = 0
    for candidate in ("utf-8", "gb18030"):
        try:
            codecs.getincrementaldecoder(candidate)().decode(data, final=not partial)
        except UnicodeDecodeError as exc:
            position = exc.start
            continue
        return candidate
    raise UnreadableText(
        f"not UTF-8, UTF-16 or GBK/GB18030 text (byte {position}); save the file as UTF-8 "
        "or name its encoding"
    )


def decode(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """The text and the encoding it was read in: ``encoding`` when given, else detected.

    Raises:
        UnreadableText: the bytes are not text in that (or any recognised) encoding, or the
            encoding's name is unknown.
    """
    chosen = encoding or detect_encoding(data)
    try:
        return data.decode(chosen), chosen
    except LookupError:
        raise UnreadableText(f"unknown encoding {chosen!r}") from None
    except UnicodeDecodeError as exc:
        raise UnreadableText(
            f"not {chosen} text: byte {exc.start} ({data[exc.start : exc.start + 4]!r}) "
            "cannot be decoded"
        ) from None


def sniff_separator(text: str) -> str:
    """The separator of delimited text, judged on its first lines.

    A candidate qualifies when it splits the header into more than one field and at least
    ``_SNIFF_AGREEMENT`` of the lines after it into as many (a few ragged rows do not
    hide a file's separator); of those, the one giving the most fields wins. Quoted fields
    are respected. Text that no candidate splits is comma-separated.
    """
    lines = text.splitlines()[:_SNIFF_LINES]
    sample = "\n".join(lines)
    best, best_fields = ",", 1
    for candidate in SEPARATORS:
        try:
            rows = [r for r in csv.reader(io.StringIO(sample), delimiter=candidate) if r]
        except csv.Error:
            continue
        if not rows:
            continue
        width = len(rows[0])
        body = rows[1:-1] if len(rows) > 2 else rows[1:]  # the sample may cut the last line
        agreeing = sum(1 for r in body if len(r) == width)
        if width > best_fields and (not body or agreeing >= _SNIFF_AGREEMENT * len(body)):
            best, best_fields = candidate, width
    return best


def separator_name(separator: str) -> str:
    return _NAMES.get(separator, repr(separator))
