"""Every word a page shows comes from the message catalogue, in both languages.

The catalogue (``onewindow.web.i18n.MESSAGES`` and the per-area modules it merges) holds each
string as a (zh, en) pair, so a string cannot exist in one language only; this test makes sure
no template bypasses it: once Jinja's tags, expressions and comments are taken out, no text node
and no human-readable attribute (title, placeholder, alt, aria-label) may hold words. The few
technical names that read the same in both languages are listed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import onewindow

PACKAGE = Path(onewindow.__file__).parent
TEMPLATES = sorted(PACKAGE.glob("*/templates/*.html"))
# Names of formats and standards, the same in Chinese and English text.
SAME_IN_BOTH = {"ID", "SHA-256", "XES", "CSV", "JSON", "GB/T 2260", "SVG", "PNG", "PDF", "BPMN"}
WORDS = re.compile(r"[A-Za-z\u4e00-\u9fff]{2,}")


def untranslated(source: str) -> list[str]:
    text = re.sub(r"\{#.*?#\}", " ", source, flags=re.S)
    text = re.sub(r"\{%.*?%\}", " ", text, flags=re.S)
    text = re.sub(r"\{\{.*?\}\}", " ", text, flags=re.S)
    text = re.sub(r"<(script|style)\b.*?</\1>", " ", text, flags=re.S)
    found = []
    for node in re.findall(r">([^<]+)<", text):
        words = node.replace("&nbsp;", " ").strip()
        if WORDS.search(words) and words not in SAME_IN_BOTH:
            found.append(words)
    for _, value in re.findall(r"\b(title|placeholder|alt|aria-label)=\"([^\"]*)\"", text):
        if WORDS.search(value) and value not in SAME_IN_BOTH:
            found.append(value)
    return found


def test_the_scan_finds_literal_words() -> None:
    assert untranslated('<p title="Open">{{ t("x") }}</p><b>办理</b>') == ["办理", "Open"]
    assert untranslated("<p>{{ t('x') }} · {{ n }}</p><td>CSV</td>{# 注释 #}") == []


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_no_template_shows_a_word_outside_the_catalogue(template: Path) -> None:
    assert untranslated(template.read_text(encoding="utf-8")) == []
