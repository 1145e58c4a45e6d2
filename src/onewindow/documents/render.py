"""Official documents (文书) as PDF: what each kind says, then the bytes.

``compose(doc)`` turns a checked ``DocumentData`` into its wording — title, particulars,
numbered paragraphs with their numbered lists — with no PDF involved, so a page or the API
can show the same sentences the applicant holds on paper. ``render(doc)`` lays that wording
out on A4 and returns the PDF bytes.

Why reportlab with its built-in ``STSong-Light`` CID font (measured on this machine, a
one-page notice with a QR code; figures in the package README of the branch's report):

* nothing to find at run time — no font file, so ``make demo`` on a fresh machine without
  root (where ``fonts-noto-cjk`` cannot be installed) renders the same documents;
* the bytes depend on the data and the reportlab version only, not on which Noto release a
  machine has; with ``invariant=1`` there is no timestamp or random id, so the same data gives
  byte-identical PDFs, which the content-addressed store and the ledger rely on;
* about 4–6 KB and ~20 ms a document, against ~13 KB and 1.3 s (3.4 s for the first, parsing
  the 19 MB Noto collection) for fpdf2 embedding a Noto Sans CJK subset;
* pypdf and poppler extract the text exactly (the font's encoding is a standard CMap).

The price: the font is not embedded, so the reader supplies a Song/Ming face (every
Chinese-locale system, Adobe Reader, browsers' viewers on Windows/macOS/Android/iOS do;
poppler needs ``poppler-data`` plus any CJK font), and the PDF is not PDF/A. The font covers
Adobe-GB1-4 (GB 18030's BMP part, 28,840 code points): characters outside it — supplementary
plane 生僻字 such as ``𠮷`` — are refused with ``document.unprintable_character`` rather than
printed as a blank; a name that needs them needs an embedded-font renderer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final

from onewindow.documents.data import DocumentData, DocumentKind, ReviewRights


@dataclass(frozen=True, slots=True)
class Section:
    """One numbered paragraph (一、二、…) and the numbered list (1. 2. …) under it."""

    text: str
    items: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Composition:
    """The wording of one document, in reading order."""

    issuer: str
    title: str
    subtitle: str | None
    document_number: str | None
    particulars: tuple[tuple[str, str], ...]
    salutation: str
    sections: tuple[Section, ...]
    signature: tuple[str, str]
    footer_lines: tuple[str, ...]


_SUBTITLES: Final = {DocumentKind.SUPPLEMENT_NOTICE: "（一次性告知）"}
_NUMERALS: Final = "〇一二三四五六七八九"


def chinese_date(day: date) -> str:
    """2025-03-04 → 2025年3月4日 (GB/T 9704-2012 dates documents in Arabic numerals)."""
    return f"{day.year}年{day.month}月{day.day}日"


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 21 → 二十一 (section numbers 一、二、…; 1–99)."""
    if not 0 < n < 100:
        raise ValueError(f"section numbers run from 1 to 99, got {n}")
    tens, units = divmod(n, 10)
    head = "" if tens == 0 else ("十" if tens == 1 else _NUMERALS[tens] + "十")
    return head + (_NUMERALS[units] if units else "")


def rights_of_review(review: ReviewRights) -> str:
    """The sentence telling the applicant how and by when to challenge the decision."""
    return (
        "如不服本决定，你（单位）可以自收到本决定书之日起六十日内，依照《中华人民共和国"
        f"行政复议法》向{review.review_body}申请行政复议；也可以自收到本决定书之日起六个月内，"
        f"依照《中华人民共和国行政诉讼法》第四十六条向{review.court}提起行政诉讼。"
    )


def _application(doc: DocumentData) -> str:
    when = f"于{chinese_date(doc.received_on)}" if doc.received_on else ""
    return f"你（单位）{when}提交的“{doc.service_name}”申请"


def _body(doc: DocumentData) -> list[Section]:
    kind, application = doc.kind, _application(doc)
    sections: list[Section] = []
    if kind is DocumentKind.ACCEPTANCE_NOTICE:
        sections.append(
            Section(f"{application}，经审查，申请材料齐全、符合法定形式，本机关决定予以受理。")
        )
        if doc.deadline:
            sections.append(
                Section(f"本机关将于{chinese_date(doc.deadline)}前办结，并将结果告知你（单位）。")
            )
        if doc.items:
            sections.append(Section("本机关已收取下列申请材料：", doc.items))
        sections.append(Section(f"你（单位）可凭办件编号 {doc.case_number} 查询办理进度。"))
    elif kind is DocumentKind.SUPPLEMENT_NOTICE:
        assert doc.deadline is not None  # required for this kind by DocumentData
        sections.append(
            Section(
                f"{application}，经审查，申请材料不齐全或者不符合法定形式。现将需要补正的"
                f"全部内容（共 {len(doc.items)} 项）一次性告知如下：",
                doc.items,
            )
        )
        sections.append(
            Section(
                f"请于{chinese_date(doc.deadline)}前一并提交上述补正材料。补正材料齐全、"
                "符合法定形式的，本机关将予以受理。"
            )
        )
    elif kind is DocumentKind.COMPLETION_NOTICE:
        sections.append(
            Section(
                f"你（单位）申请的“{doc.service_name}”（办件编号：{doc.case_number}）"
                f"已于{chinese_date(doc.issued_on)}办结。"
            )
        )
        if doc.items:
            sections.append(Section("办理结果：", doc.items))
    else:
        assert doc.review is not None  # required for decisions by DocumentData
        if kind is DocumentKind.PERMIT_GRANTED_DECISION:
            sections.append(
                Section(f"{application}，经审查，符合法定条件、标准，本机关决定准予行政许可。")
            )
            if doc.reasons:
                sections.append(Section("审查意见：", doc.reasons))
            if doc.items:
                sections.append(Section("准予许可的内容：", doc.items))
        else:
            verdict = {
                DocumentKind.NON_ACCEPTANCE_DECISION: "本机关决定不予受理",
                DocumentKind.REFUSAL_DECISION: "不符合办理条件，本机关决定不予办理",
            }.get(kind, "不符合法定条件、标准，本机关决定不予行政许可")
            sections.append(Section(f"{application}，经审查，{verdict}。理由如下：", doc.reasons))
        sections.append(Section("本决定的法律依据：", doc.legal_basis))
        sections.append(Section(rights_of_review(doc.review)))
    if doc.note:
        sections.append(Section(f"其他事项：{doc.note}"))
    if doc.contact:
        sections.append(Section(f"联系方式：{doc.contact}"))
    return sections


def compose(doc: DocumentData) -> Composition:
    """The wording of ``doc``: every sentence the PDF prints, in order."""
    particulars = [("申请人", doc.applicant_name)]
    if doc.applicant_id_masked:
        particulars.append(("证件号码", doc.applicant_id_masked))
    particulars += [("申请事项", doc.service_name), ("办件编号", doc.case_number)]
    return Composition(
        issuer=doc.department_name,
        title=doc.kind.title_zh,
        subtitle=_SUBTITLES.get(doc.kind),
        document_number=doc.document_number,
        particulars=tuple(particulars),
        salutation=f"{doc.applicant_name}：",
        sections=tuple(_body(doc)),
        signature=(doc.department_name, chinese_date(doc.issued_on)),
        footer_lines=(
            f"核验码：{doc.verification_code}",
            "扫描二维码或访问下列网址，可核验本文书是否由本机关出具、内容是否被改动：",
            doc.verify_url,
        ),
    )


def render(doc: DocumentData) -> bytes:
    """The PDF of ``doc``: A4, deterministic (same data, same bytes).

    ``doc`` was checked when it was made (``DocumentData`` raises ``ValidationFailed``), so
    rendering a ``DocumentData`` does not fail on its content.
    """
    # reportlab takes ~1 s to import cold: pay for it only where a document is drawn.
    from onewindow.documents import _pdf

    return _pdf.layout(compose(doc), qr_content=doc.verify_url, case_number=doc.case_number)
