"""Course Markdown is rendered to safe HTML; needs are phrased for their reader."""

from __future__ import annotations

import lxml.html
import pytest

from onewindow.training.markdown import ALLOWED_TAGS, render_course
from onewindow.training.needs import phrase

ATTACKS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//x.example/x.js></SCRIPT>",
    "[a](javascript:alert(1))",
    "[a](JaVaScRiPt:alert(1))",
    "[a](&#106;avascript:alert(1))",
    "[a](vbscript:msgbox(1))",
    "[a](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<a href="javascript:alert(1)">a</a>',
    "<img src=x onerror=alert(1)>",
    '<svg onload="alert(1)"></svg>',
    '<p style="background:url(javascript:alert(1))" onclick="x()">p</p>',
    '<iframe src="https://x.example"></iframe>',
    "![x](javascript:alert(1))",
    '[a](https://ok.example "t" onmouseover=alert(1))',
    "<details open ontoggle=alert(1)>",
    "`<script>` in code and\n\n```\n<script>alert(1)</script>\n```",
]


@pytest.mark.parametrize("source", ATTACKS)
def test_nothing_active_survives(source: str) -> None:
    html = render_course(source)
    tree = lxml.html.fragment_fromstring(html, create_parent="div")
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        assert element.tag == "div" or element.tag in ALLOWED_TAGS, element.tag
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (name, value)
            assert name.lower() != "style"
            if name == "href":
                assert value.split(":", 1)[0].lower() in ("http", "https", "mailto"), value


def test_markdown_is_rendered() -> None:
    html = render_course("# 标题\n\n1. 一\n2. **二**\n\n> 引用\n\n| a | b |\n|---|---|\n| 1 | 2 |")
    assert "<h1>标题</h1>" in html
    assert "<li><strong>二</strong></li>" in html
    assert "<blockquote>" in html
    assert "<td>1</td>" in html
    assert render_course("") == ""


def test_needs_address_the_reader_or_name_the_colleague() -> None:
    numbers = {"activity": "审查", "value": 70.0, "peer_median": 30.0, "cases": 12}
    you = phrase("zh", metric="handling_minutes", **numbers)
    assert you == "您办理「审查」比同事慢 2.3 倍（12 件）"
    assert phrase("en", metric="handling_minutes", **numbers) == (
        "You handle 审查 2.3× slower than colleagues (12 cases)"
    )
    assert phrase("zh", metric="handling_minutes", subject="刘洋", **numbers).startswith(
        "刘洋 办理「审查」"
    )
    share = {"activity": "审查", "value": 0.25, "peer_median": 0.05, "cases": 20}
    assert phrase("zh", metric="rework_share", course="要点", **share) == (
        "您在「审查」的退回/返工比例为 25%，同事中位 5%（20 件） → 课程「要点」"
    )
    assert phrase("en", metric="breach_share", **share) == (
        "Your share of cases past their time limit on 审查 is 25%, colleagues' median 5% (20 cases)"
    )
