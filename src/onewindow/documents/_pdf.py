"""The A4 layout of a ``Composition`` with reportlab (imported only by ``render``).

Layout: issuer and title centred at the top, particulars as a two-column table, then the
numbered paragraphs in the frame, which flows onto further pages; the department and the
date right-aligned below the body with room for the seal; on every page, under a rule, the
QR code, the verification code, the address to check it and "第 x 页 共 y 页".

Deterministic by construction: ``invariant=1`` (fixed dates and file id), the QR drawn as
one vector path, and page totals from a first pass rather than from a clock or a counter.
"""

from __future__ import annotations

import functools
import io
from functools import cache
from typing import Any, Final
from xml.sax.saxutils import escape

import segno
from reportlab.lib import textsplit
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
    paragraph,
)

from onewindow.documents.render import Composition

FONT: Final = "STSong-Light"
# One of PDF's standard 14 fonts (never embedded, always present): a code read off paper and
# typed in must not leave 0/O or 1/l to a proportional face's taste.
MONO: Final = "Courier"
MONO_BOLD: Final = "Courier-Bold"
PAGE_WIDTH, PAGE_HEIGHT = A4
LEFT: Final = 28 * mm
RIGHT: Final = 26 * mm
TOP: Final = 25 * mm
BOTTOM: Final = 50 * mm  # the footer lives below this
FOOTER_RULE: Final = 44 * mm
QR_SIZE: Final = 26 * mm
QR_BOTTOM: Final = 12 * mm
BODY_SIZE: Final = 12
INDENT: Final = 2 * BODY_SIZE  # 首行缩进二字


# Punctuation that must not start a line (GB/T 15834 marks; reportlab's own list is the
# Japanese one and lacks the full-width comma, colon, semicolon and closing quotes). Such a
# mark hangs in the right margin instead, as Chinese typesetting allows (标点悬挂).
_CANNOT_START_LINE: Final = "，：；！？”’》〉」』】〕）…—・％"


@cache
def _font() -> str:
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    # Both modules wrap (one paragraph fragment: textsplit; several: paragraph), each reading
    # its own copy of the list.
    for module in (textsplit, paragraph):
        names = vars(module)
        names["ALL_CANNOT_START"] += "".join(
            ch for ch in _CANNOT_START_LINE if ch not in names["ALL_CANNOT_START"]
        )
    return FONT


@cache
def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle(
        "body",
        fontName=_font(),
        fontSize=BODY_SIZE,
        leading=BODY_SIZE * 1.75,
        wordWrap="CJK",
        alignment=TA_LEFT,
    )

    def like(name: str, **kw: Any) -> ParagraphStyle:
        return ParagraphStyle(name, parent=base, **kw)

    return {
        "issuer": like("issuer", fontSize=16, leading=24, alignment=TA_CENTER),
        "subtitle": like("subtitle", fontSize=13, leading=20, alignment=TA_CENTER),
        "number": like("number", alignment=TA_CENTER, spaceBefore=4),
        "label": like("label", leading=BODY_SIZE * 1.5),
        "value": like("value", leading=BODY_SIZE * 1.5),
        "salutation": like("salutation", spaceBefore=10, spaceAfter=2),
        "section": like("section", firstLineIndent=INDENT, spaceBefore=4),
        "item": like(
            "item",
            leftIndent=INDENT + 20,
            bulletIndent=INDENT,
            bulletFontName=_font(),
            bulletFontSize=BODY_SIZE,
        ),
        "signature": like("signature", alignment=TA_RIGHT, rightIndent=INDENT),
        "footer": like("footer", fontSize=8.5, leading=12),
        "footer_code": like("footer_code", fontSize=11, leading=16),
    }


def _markup(text: str) -> str:
    return escape(text).replace("\n", "<br/>")


class _BoldTitle(Flowable):
    """The kind's title, centred; STSong-Light has no bold face, so fill and stroke it."""

    def __init__(self, text: str, size: float = 22) -> None:
        super().__init__()
        self.text, self.size = text, size

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        self.width = available_width
        return available_width, self.size * 1.6

    def draw(self) -> None:
        c = self.canv
        c.saveState()
        c.setFont(_font(), self.size)
        c.setLineWidth(self.size / 40)
        text = c.beginText()
        text.setTextRenderMode(2)
        width = pdfmetrics.stringWidth(self.text, _font(), self.size)
        text.setTextOrigin((self.width - width) / 2, self.size * 0.4)
        text.textOut(self.text)
        c.drawText(text)
        c.restoreState()


def _story(comp: Composition) -> list[Flowable]:
    s = _styles()
    story: list[Flowable] = [Paragraph(_markup(comp.issuer), s["issuer"]), _BoldTitle(comp.title)]
    if comp.subtitle:
        story.append(Paragraph(_markup(comp.subtitle), s["subtitle"]))
    if comp.document_number:
        story.append(Paragraph(_markup(comp.document_number), s["number"]))
    story.append(Spacer(1, 8))
    label_width = 5.5 * BODY_SIZE
    table = Table(
        [
            [Paragraph(_markup(f"{label}："), s["label"]), Paragraph(_markup(value), s["value"])]
            for label, value in comp.particulars
        ],
        colWidths=[label_width, PAGE_WIDTH - LEFT - RIGHT - label_width],
        hAlign="LEFT",
    )
    table.setStyle(
        TableStyle(
            [
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("RIGHTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                ("LINEBELOW", (0, -1), (-1, -1), 0.5, "#999999"),
            ]
        )
    )
    story += [table, Paragraph(_markup(comp.salutation), s["salutation"])]
    from onewindow.documents.render import chinese_number

    for n, section in enumerate(comp.sections, start=1):
        story.append(Paragraph(_markup(f"{chinese_number(n)}、{section.text}"), s["section"]))
        story += [
            Paragraph(_markup(item), s["item"], bulletText=f"{i}.")
            for i, item in enumerate(section.items, start=1)
        ]
    department, day = comp.signature
    # The seal goes over the department's name and the date; the last paragraph comes along
    # to their page, so a signature never stands alone on a page of its own.
    closing = [
        story.pop(),
        Spacer(1, 20 * mm),
        Paragraph(_markup(department), s["signature"]),
        Paragraph(_markup(day), s["signature"]),
    ]
    story.append(KeepTogether(closing))
    return story


@functools.lru_cache(maxsize=64)
def _qr_matrix(content: str) -> tuple[tuple[int, ...], ...]:
    """The QR modules of ``content``: every page of both layout passes draws the same code."""
    qr = segno.make(content, error="m", micro=False, boost_error=False)
    return tuple(tuple(row) for row in qr.matrix)


def _qr_path(canvas: Canvas, content: str, x: float, y: float, size: float) -> None:
    matrix = _qr_matrix(content)
    module = size / (len(matrix) + 8)  # four modules of quiet zone each side
    path = canvas.beginPath()
    for r, row in enumerate(matrix):
        top = y + size - (r + 4) * module
        c = 0
        while c < len(row):
            if row[c]:
                start = c
                while c < len(row) and row[c]:
                    c += 1
                path.rect(x + (start + 4) * module, top - module, (c - start) * module, module)
            else:
                c += 1
    canvas.drawPath(path, stroke=0, fill=1)


class _Footer:
    def __init__(self, comp: Composition, qr_content: str, case_number: str, total: int) -> None:
        self.comp, self.qr_content, self.case_number, self.total = (
            comp,
            qr_content,
            case_number,
            total,
        )

    def __call__(self, canvas: Canvas, doc: SimpleDocTemplate) -> None:
        s = _styles()
        canvas.saveState()
        canvas.setStrokeColor("#999999")
        canvas.setLineWidth(0.5)
        canvas.line(LEFT, FOOTER_RULE, PAGE_WIDTH - RIGHT, FOOTER_RULE)
        canvas.setFillColor("#000000")
        qr_x = LEFT - 4 * mm  # the quiet zone may sit in the margin
        _qr_path(canvas, self.qr_content, qr_x, QR_BOTTOM, QR_SIZE)
        text_x = qr_x + QR_SIZE + 2 * mm
        width = PAGE_WIDTH - RIGHT - text_x
        code_line, hint, url = self.comp.footer_lines
        label, _, code = code_line.partition("：")
        page = f"办件编号 {self.case_number}　第 {doc.page} 页，共 {self.total} 页"
        lines = [
            (f'{_markup(label)}：<font face="{MONO_BOLD}">{_markup(code)}</font>', "footer_code"),
            (_markup(hint), "footer"),
            (f'<font face="{MONO}">{_markup(url)}</font>', "footer"),
            (_markup(page), "footer"),
        ]
        y = FOOTER_RULE - 3 * mm
        for markup, style in lines:
            para = Paragraph(markup, s[style])
            _, height = para.wrapOn(canvas, width, PAGE_HEIGHT)
            y -= height
            para.drawOn(canvas, text_x, y)
        canvas.restoreState()


def _build(comp: Composition, qr_content: str, case_number: str, total: int) -> tuple[bytes, int]:
    buffer = io.BytesIO()
    template = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=LEFT,
        rightMargin=RIGHT,
        topMargin=TOP,
        bottomMargin=BOTTOM,
        title=f"{comp.title} {case_number}",
        author=comp.issuer,
        subject=comp.title,
        creator="onewindow",
        invariant=1,
        lang="zh-CN",
    )
    footer = _Footer(comp, qr_content, case_number, total)
    template.build(_story(comp), onFirstPage=footer, onLaterPages=footer)
    return buffer.getvalue(), template.page


def layout(comp: Composition, *, qr_content: str, case_number: str) -> bytes:
    """The PDF bytes; two passes so that every page can say how many there are."""
    _, pages = _build(comp, qr_content, case_number, total=0)
    pdf, pages_again = _build(comp, qr_content, case_number, total=pages)
    assert pages_again == pages  # the footer is outside the frame, so it cannot add pages
    return pdf
