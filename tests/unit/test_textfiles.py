"""Encodings and separators of spreadsheet exports (shared by the data hub and mining)."""

from __future__ import annotations

import pytest

from onewindow.kit.textfiles import UnreadableText, decode, detect_encoding, sniff_separator


def test_separator_survives_quotes_and_a_ragged_row() -> None:
    text = 'a;b;c\n1;"x;y";3\n4;5\n' + "".join(f"{n};{n};{n}\n" for n in range(6, 12))
    assert sniff_separator(text) == ";"
    assert sniff_separator("only one column\nvalue\n") == ","
    assert sniff_separator("a|b\n1,5|2\n") == "|"


def test_encodings_and_what_cannot_be_decoded() -> None:
    assert decode("张三".encode("gbk")) == ("张三", "gb18030")
    assert detect_encoding("张三".encode()[:4], partial=True) == "utf-8"  # cut mid-character
    with pytest.raises(UnreadableText, match="byte 0"):
        decode("张三".encode("gbk"), "utf-8")
    with pytest.raises(UnreadableText, match="unknown encoding"):
        decode(b"abc", "klingon")
    with pytest.raises(UnreadableText, match="not UTF-8, UTF-16 or GBK"):
        detect_encoding(b"\x81\x20\xff\xfe\x80")
