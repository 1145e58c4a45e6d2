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
# XES attribute keys (concept:name, org:resource=…) are names in a file format, not words.
XES_KEY = re.compile(r"^[a-z]+(:[a-z]+)+(=…)?$")
# Documents made to be downloaded and opened from disk, outside the pages' CSP.
STANDALONE = {"receipt_doc.html"}


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
        if WORDS.search(value) and value not in SAME_IN_BOTH and not XES_KEY.match(value):
            found.append(value)
    return found


def test_the_scan_finds_literal_words() -> None:
    assert untranslated('<p title="Open">{{ t("x") }}</p><b>办理</b>') == ["办理", "Open"]
    assert untranslated("<p>{{ t('x') }} · {{ n }}</p><td>CSV</td>{# 注释 #}") == []


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_no_template_shows_a_word_outside_the_catalogue(template: Path) -> None:
    assert untranslated(template.read_text(encoding="utf-8")) == []


@pytest.mark.parametrize(
    "template",
    [p for p in TEMPLATES if p.name not in STANDALONE],
    ids=lambda p: f"{p.parent.parent.name}/{p.name}",
)
def test_no_template_carries_inline_style_or_script(template: Path) -> None:
    """The pages' CSP is style-src 'self' and script-src 'self': an inline style attribute, a
    style element, an inline script or an on* handler would be blocked in the browser."""
    source = template.read_text(encoding="utf-8")
    assert not re.search(r"\sstyle=", source)
    assert not re.search(r"<style\b", source)
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", source)
    assert not re.search(r"\son[a-z]+=", source)
