"""Official documents: every kind renders, says what the law needs, and is byte-stable.

Text is read back with pypdf (always) and poppler's ``pdftotext`` (when installed); pages are
rasterised with ``pdftoppm`` into tests/artifacts/documents/ to be looked at, and the QR code
is decoded with ``zbarimg``. The poppler and zbar checks skip, saying why, where the tools are
missing (``make pdftools`` installs them when it may).
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import os
import re
import shutil
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from onewindow.documents import (
    REFUSALS,
    DocumentData,
    DocumentKind,
    ReviewRights,
    compose,
    render,
    verification_code,
)
from onewindow.kit.errors import ValidationFailed

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "documents"
CODE = verification_code(b"unit-test seed, 16+ bytes")
REVIEW = ReviewRights(review_body="海州市人民政府", court="海州市东城区人民法院")
REASONS = (
    "现场核查发现，经营场所与有毒、有害场所以及其他污染源的距离不足 25 米，"
    "不符合食品经营场所的设置要求。",
    "申请人未配备与经营项目相适应的冷藏设施。",
)
LEGAL_BASIS = (
    "《中华人民共和国食品安全法》第三十三条第一款第（一）项",
    "《食品经营许可和备案管理办法》第十二条",
)
ITEMS = (
    "营业执照复印件：未加盖公章",
    "食品安全管理制度：缺少从业人员健康管理制度",
    "经营场所平面图：未标明设备布局和工艺流程",
)
KIND_FIELDS: dict[DocumentKind, dict[str, Any]] = {
    DocumentKind.ACCEPTANCE_NOTICE: {"items": ITEMS, "deadline": date(2026, 3, 30)},
    DocumentKind.SUPPLEMENT_NOTICE: {
        "items": ITEMS,
        "deadline": date(2026, 3, 16),
        "note": "补正材料可通过网上办事大厅上传，或到窗口提交纸质材料。",
    },
    DocumentKind.NON_ACCEPTANCE_DECISION: {
        "reasons": ("申请事项依法不属于本机关职权范围，应向海州市卫生健康委员会申请。",),
        "legal_basis": ("《中华人民共和国行政许可法》第三十二条第一款第（二）项",),
        "review": REVIEW,
    },
    DocumentKind.PERMIT_GRANTED_DECISION: {
        "items": ("经营项目：预包装食品销售、热食类食品制售", "许可证编号：JY13301000012345"),
        "reasons": ("申请材料齐全，现场核查符合要求。",),
        "legal_basis": LEGAL_BASIS,
        "review": REVIEW,
    },
    DocumentKind.PERMIT_REFUSED_DECISION: {
        "reasons": REASONS,
        "legal_basis": LEGAL_BASIS,
        "review": REVIEW,
    },
    DocumentKind.REFUSAL_DECISION: {
        "reasons": ("申请人在本市居住未满半年。",),
        "legal_basis": ("《居住证暂行条例》第九条",),
        "review": REVIEW,
    },
    DocumentKind.COMPLETION_NOTICE: {
        "items": ("准予行政许可，食品经营许可证编号 JY13301000012345",),
        "note": "证照已寄出，EMS 单号 1234567890123。",
    },
}


def sample(kind: DocumentKind, **overrides: Any) -> DocumentData:
    fields: dict[str, Any] = {
        "kind": kind,
        "case_number": "OW-2026-000123",
        "service_name": "食品经营许可（新办）",
        "applicant_name": "海州市好味道餐饮管理有限公司",
        "applicant_id_masked": "913301********123X",
        "department_name": "海州市市场监督管理局",
        "issued_on": date(2026, 3, 9),
        "received_on": date(2026, 3, 2),
        "verification_code": CODE,
        "base_url": "https://onewindow.haizhou.gov.cn/",
        "contact": "海州市民中心二楼 A12 窗口，电话 0571-12345678",
        **KIND_FIELDS[kind],
    }
    fields.update(overrides)
    return DocumentData(**fields)


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


FOOTER = re.compile(r"核验码：.*?第\d+页，共\d+页")


def _body_then_footers(pages: list[str]) -> str:
    # A paragraph split across pages has the next page's footer in the middle of its text;
    # move the footers to the end so that each paragraph reads whole.
    squashed = [_squash(page) for page in pages]
    footers = [m.group(0) for page in squashed for m in FOOTER.finditer(page)]
    return "".join(FOOTER.sub("", page) for page in squashed) + "".join(footers)


def extracted(pdf: bytes) -> list[str]:
    """The document's text as each available reader sees it, whitespace removed."""
    reader = PdfReader(io.BytesIO(pdf))
    texts = [_body_then_footers([page.extract_text() for page in reader.pages])]
    if shutil.which("pdftotext"):
        out = subprocess.run(
            ["pdftotext", "-enc", "UTF-8", "-", "-"], input=pdf, capture_output=True, check=True
        )
        texts.append(_body_then_footers(out.stdout.decode().split("\f")))
    return texts


def assert_says(pdf: bytes, *needles: str) -> None:
    for text in extracted(pdf):
        for needle in needles:
            assert _squash(needle) in text, needle


# --- every kind ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(DocumentKind))
def test_every_kind_prints_its_particulars_and_verification(kind: DocumentKind) -> None:
    doc = sample(kind)
    pdf = render(doc)
    assert pdf.startswith(b"%PDF-")
    assert_says(
        pdf,
        kind.title_zh,
        "OW-2026-000123",
        "食品经营许可（新办）",
        "海州市好味道餐饮管理有限公司",
        "913301********123X",
        "海州市市场监督管理局",
        "2026年3月9日",
        f"核验码：{CODE}",
        f"https://onewindow.haizhou.gov.cn/verify/{CODE}",
        "第1页，共1页",
        "0571-12345678",
    )
    reader = PdfReader(io.BytesIO(pdf))
    assert reader.metadata is not None
    assert reader.metadata.title == f"{kind.title_zh} OW-2026-000123"
    assert len(reader.pages) == 1
    assert [round(float(v)) for v in reader.pages[0].mediabox] == [0, 0, 595, 842]


@pytest.mark.parametrize("kind", sorted(REFUSALS))
def test_refusals_print_reasons_legal_basis_and_rights_of_review(kind: DocumentKind) -> None:
    doc = sample(kind)
    pdf = render(doc)
    assert_says(pdf, *doc.reasons, *doc.legal_basis)
    assert_says(
        pdf,
        "理由如下",
        "六十日内",
        "《中华人民共和国行政复议法》向海州市人民政府申请行政复议",
        "六个月内",
        "《中华人民共和国行政诉讼法》第四十六条向海州市东城区人民法院提起行政诉讼",
    )


def test_a_grant_prints_what_is_permitted_its_basis_and_rights() -> None:
    doc = sample(DocumentKind.PERMIT_GRANTED_DECISION, document_number="海市监许准〔2026〕123号")
    pdf = render(doc)
    assert_says(pdf, "海市监许准〔2026〕123号", "决定准予行政许可", *doc.items, *doc.reasons)
    assert_says(pdf, *doc.legal_basis)
    assert_says(pdf, "申请行政复议", "提起行政诉讼")


def test_a_supplement_notice_lists_every_item_at_once_with_the_deadline() -> None:
    pdf = render(sample(DocumentKind.SUPPLEMENT_NOTICE))
    assert_says(pdf, "一次性告知", "共3项", *ITEMS, "2026年3月16日前", "网上办事大厅上传")
    numbered = [f"{i}.{item}" for i, item in enumerate(ITEMS, start=1)]
    assert_says(pdf, *numbered)


def test_an_acceptance_notice_gives_the_decision_date_and_the_materials_received() -> None:
    pdf = render(sample(DocumentKind.ACCEPTANCE_NOTICE))
    assert_says(pdf, "决定予以受理", "2026年3月30日前办结", "2026年3月2日提交", *ITEMS)
    # Notices are not decisions: no rights-of-review paragraph.
    assert all("行政复议" not in text for text in extracted(pdf))


def test_compose_numbers_sections_in_order_and_ends_with_the_contact() -> None:
    comp = compose(sample(DocumentKind.PERMIT_REFUSED_DECISION))
    assert comp.title == "不予行政许可决定书"
    assert comp.sections[0].items == REASONS
    assert comp.sections[1].items == LEGAL_BASIS
    assert "第四十六条" in comp.sections[2].text
    assert comp.sections[-1].text.startswith("联系方式")
    assert comp.signature == ("海州市市场监督管理局", "2026年3月9日")


# --- determinism ---------------------------------------------------------------------------


def _digest_in_fresh_interpreter(kind: DocumentKind) -> str:
    code = (
        "import hashlib, tests.unit.test_documents_render as t; "
        "from onewindow.documents import DocumentKind, render; "
        f"print(hashlib.sha256(render(t.sample(DocumentKind({kind.value!r})))).hexdigest())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, check=True
    )
    return out.stdout.decode().strip()


def test_the_same_data_gives_byte_identical_pdfs_across_processes() -> None:
    kind = DocumentKind.PERMIT_REFUSED_DECISION
    first, second = render(sample(kind)), render(sample(kind))
    assert first == second
    assert b"CreationDate" not in first or b"D:20000101000000" in first  # reportlab invariant
    assert _digest_in_fresh_interpreter(kind) == hashlib.sha256(first).hexdigest()


def test_different_data_gives_different_pdfs() -> None:
    base = render(sample(DocumentKind.PERMIT_REFUSED_DECISION))
    other_reason = render(
        sample(DocumentKind.PERMIT_REFUSED_DECISION, reasons=(REASONS[0], "申请人未配备冷藏设施"))
    )
    other_code = render(
        sample(DocumentKind.PERMIT_REFUSED_DECISION, verification_code=verification_code("y" * 16))
    )
    assert len({base, other_reason, other_code}) == 3


def test_equivalent_spellings_print_the_same_document() -> None:
    kind = DocumentKind.ACCEPTANCE_NOTICE
    canonical = sample(kind, applicant_name="阿依古丽・买买提")
    typed = sample(
        kind,
        applicant_name="  阿依古丽·买买提 ",
        verification_code=CODE.lower().replace("-", " "),
        base_url="https://onewindow.haizhou.gov.cn",
    )
    assert typed == canonical
    assert render(typed) == render(canonical)


# --- long content flows --------------------------------------------------------------------


def long_refusal() -> DocumentData:
    reasons = tuple(
        f"第{i}项：现场核查发现，经营场所的布局、设备设施和卫生条件与申报材料不一致，"
        + "不符合《食品经营许可审查通则》的相应要求，" * (1 + i % 4)
        + f"核查记录编号 HZ-{i:04d}。"
        for i in range(1, 41)
    )
    return sample(
        DocumentKind.PERMIT_REFUSED_DECISION,
        reasons=(*reasons, "X" * 300),
        service_name="食品经营许可（新办）" * 8,
        department_name="海州市市场监督管理局东城分局行政审批科" * 2,
        base_url="https://onewindow." + "long-subdomain-" * 5 + "haizhou.gov.cn/portal",
    )


def test_a_long_reason_list_flows_onto_further_pages_with_a_footer_on_each() -> None:
    doc = long_refusal()
    pdf = render(doc)
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) >= 3
    assert_says(pdf, *doc.reasons, *doc.legal_basis, "提起行政诉讼", doc.department_name)
    for n, page in enumerate(pages, start=1):
        text = _squash(page.extract_text())
        assert f"核验码：{CODE}" in text
        assert f"第{n}页，共{len(pages)}页" in text
    # The decision's date and department close the last page, after the rights of review.
    last = _squash(pages[-1].extract_text())
    assert last.index("提起行政诉讼") < last.index("2026年3月9日")


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) missing")
def test_nothing_is_drawn_outside_the_page(tmp_path: Path) -> None:
    path = tmp_path / "long.pdf"
    path.write_bytes(render(long_refusal()))
    out = subprocess.run(
        ["pdftotext", "-bbox", str(path), "-"], capture_output=True, check=True, text=True
    ).stdout
    boxes = [
        tuple(float(v) for v in m)
        for m in re.findall(r'xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)"', out)
    ]
    assert len(boxes) > 100
    left, right, top, bottom = 28 * 72 / 25.4 - 5, 595 - 20 * 72 / 25.4, 20, 842 - 8
    # Text keeps to the 28 mm left margin and ends at least 20 mm from the right edge (the
    # frame's 26 mm less one hanging punctuation mark).
    outside = [b for b in boxes if b[0] < left or b[2] > right or b[1] < top or b[3] > bottom]
    assert outside == []


# --- bad input -----------------------------------------------------------------------------


def _fails(code: str, **overrides: Any) -> ValidationFailed:
    kind = overrides.pop("kind", DocumentKind.PERMIT_REFUSED_DECISION)
    with pytest.raises(ValidationFailed) as caught:
        sample(kind, **overrides)
    assert caught.value.code == code
    assert caught.value.status == 422
    assert caught.value.message_zh != caught.value.message
    return caught.value


def test_a_refusal_without_reasons_is_refused() -> None:
    err = _fails("document.reasons_required", reasons=())
    assert err.details == {"field": "reasons", "kind": "permit_refused_decision"}
    _fails("document.reasons_required", kind=DocumentKind.NON_ACCEPTANCE_DECISION, reasons=())
    _fails("document.field_required", reasons=("   ",))


def test_a_decision_without_legal_basis_or_review_bodies_is_refused() -> None:
    _fails("document.legal_basis_required", legal_basis=())
    _fails("document.review_required", review=None)
    _fails("document.review_required", kind=DocumentKind.PERMIT_GRANTED_DECISION, review=None)
    with pytest.raises(ValidationFailed) as caught:
        ReviewRights(review_body="", court="海州市东城区人民法院")
    assert caught.value.code == "document.field_required"


def test_a_supplement_notice_needs_items_and_a_deadline() -> None:
    _fails("document.items_required", kind=DocumentKind.SUPPLEMENT_NOTICE, items=())
    _fails("document.deadline_required", kind=DocumentKind.SUPPLEMENT_NOTICE, deadline=None)
    err = _fails(
        "document.duplicate_entry", kind=DocumentKind.SUPPLEMENT_NOTICE, items=(*ITEMS, ITEMS[0])
    )
    assert err.details["entry"] == ITEMS[0]


def test_over_long_fields_are_refused_with_the_limit() -> None:
    err = _fails("document.field_too_long", applicant_name="张" * 101)
    assert err.details == {"field": "applicant_name", "max": 100, "length": 101}
    err = _fails("document.field_too_long", reasons=("理" * 2001,))
    assert err.details["field"] == "reasons[0]"
    err = _fails("document.field_too_long", reasons=tuple(f"理由{i}" for i in range(51)))
    assert err.details == {"field": "reasons", "max": 50, "length": 51}
    _fails("document.field_too_long", base_url="https://example.gov.cn/" + "a" * 120)


def test_fields_the_kind_does_not_print_are_refused_not_dropped() -> None:
    err = _fails("document.field_not_printed", kind=DocumentKind.ACCEPTANCE_NOTICE, reasons=REASONS)
    assert err.details["field"] == "reasons"
    _fails("document.field_not_printed", kind=DocumentKind.COMPLETION_NOTICE, review=REVIEW)
    _fails("document.field_not_printed", items=ITEMS)


def test_unprintable_characters_are_named() -> None:
    err = _fails("document.unprintable_character", applicant_name="吉\U00020bb7")  # 𠮷, plane 2
    assert err.details == {"field": "applicant_name", "characters": ["U+20BB7"]}
    _fails("document.unprintable_character", service_name="食品\t经营")
    _fails("document.unprintable_character", applicant_name="张\n三")
    # Line breaks are kept in free text, where they are printed as line breaks.
    assert sample(DocumentKind.PERMIT_REFUSED_DECISION, note="一\n二").note == "一\n二"


def test_dates_ids_urls_and_codes_are_checked() -> None:
    _fails("document.id_not_masked", applicant_id_masked="110105199001010027")
    _fails("document.invalid", issued_on=datetime(2026, 3, 9, 9, 0))  # noqa: DTZ001
    _fails("document.invalid", received_on=date(2026, 3, 10))
    _fails(
        "document.invalid",
        kind=DocumentKind.SUPPLEMENT_NOTICE,
        deadline=date(2026, 3, 8),
    )
    _fails("document.invalid", base_url="ftp://onewindow.haizhou.gov.cn")
    _fails("document.invalid", base_url="https://onewindow.haizhou.gov.cn/?a=1")
    fields = dataclasses.asdict(sample(DocumentKind.ACCEPTANCE_NOTICE))
    with pytest.raises(ValidationFailed) as caught:
        DocumentData(**fields | {"kind": "acceptance"})
    assert caught.value.code == "document.invalid"
    assert (
        DocumentData(**fields | {"kind": "acceptance_notice"}).kind
        is DocumentKind.ACCEPTANCE_NOTICE
    )
    _fails("document.verification_code_invalid", verification_code=CODE[:-1] + "Z")
    _fails("document.invalid", reasons="一条理由")  # a string is not a tuple of reasons


def test_a_document_data_is_immutable() -> None:
    doc = sample(DocumentKind.ACCEPTANCE_NOTICE)
    with pytest.raises(dataclasses.FrozenInstanceError):
        doc.case_number = "OW-X"  # type: ignore[misc]


# --- the printed page ----------------------------------------------------------------------


def _has_cjk_font() -> bool:
    if not shutil.which("fc-list"):
        return False
    out = subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True).stdout
    return bool(out.strip())


@pytest.mark.skipif(
    not (shutil.which("pdftoppm") and Path("/usr/share/poppler/cMap/Adobe-GB1").is_dir()),
    reason="pdftoppm or poppler-data missing (make pdftools)",
)
@pytest.mark.skipif(not _has_cjk_font(), reason="no Chinese font for poppler to substitute")
def test_every_kind_rasterises_without_font_errors() -> None:
    """Writes tests/artifacts/documents/*.png to be looked at."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    docs = {kind.value: sample(kind) for kind in DocumentKind} | {"long_refusal": long_refusal()}
    for name, doc in docs.items():
        pdf_path = ARTIFACTS / f"{name}.pdf"
        pdf_path.write_bytes(render(doc))
        for old in ARTIFACTS.glob(f"{name}-*.png"):
            old.unlink()
        run = subprocess.run(
            ["pdftoppm", "-r", "80", "-png", str(pdf_path), str(ARTIFACTS / name)],
            capture_output=True,
            text=True,
            check=True,
        )
        assert run.stderr == "", run.stderr  # e.g. "Couldn't find a font for 'STSong-Light'"
        pages = len(PdfReader(io.BytesIO(pdf_path.read_bytes())).pages)
        assert len(list(ARTIFACTS.glob(f"{name}-*.png"))) == pages


@pytest.mark.skipif(
    not (shutil.which("pdftoppm") and shutil.which("zbarimg")),
    reason="pdftoppm or zbarimg missing (make pdftools)",
)
def test_the_qr_code_opens_the_verify_page(tmp_path: Path) -> None:
    doc = sample(DocumentKind.PERMIT_REFUSED_DECISION)
    (tmp_path / "doc.pdf").write_bytes(render(doc))
    subprocess.run(
        ["pdftoppm", "-r", "150", "-png", str(tmp_path / "doc.pdf"), str(tmp_path / "page")],
        check=True,
    )
    out = subprocess.run(
        ["zbarimg", "--raw", "-q", str(tmp_path / "page-1.png")],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip() == f"https://onewindow.haizhou.gov.cn/verify/{CODE}" == doc.verify_url


CMAP = Path("/usr/share/poppler/cMap/Adobe-GB1/UniGB-UCS2-H")


@pytest.mark.skipif(not CMAP.is_file(), reason="poppler-data's Adobe-GB1 CMap missing")
def test_the_printable_set_is_exactly_what_the_fonts_cmap_maps() -> None:
    """The shipped ranges against the reference: Adobe's CMap as Debian ships it."""
    from onewindow.documents._gb1_coverage import RANGES

    text = CMAP.read_text(encoding="latin-1")
    mapped: set[int] = set()
    for block in re.findall(r"begincidrange\n(.*?)endcidrange", text, re.S):
        for low, high, _cid in (line.split() for line in block.strip().splitlines()):
            mapped.update(range(int(low[1:-1], 16), int(high[1:-1], 16) + 1))
    for block in re.findall(r"begincidchar\n(.*?)endcidchar", text, re.S):
        mapped.update(int(line.split()[0][1:-1], 16) for line in block.strip().splitlines())
    shipped = {cp for low, high in RANGES for cp in range(low, high + 1)}
    assert shipped == mapped


def test_importing_the_package_does_not_load_reportlab() -> None:
    """Pages and services import ``onewindow.documents``; reportlab costs ~1 s cold."""
    code = "import sys, onewindow.documents; print('reportlab' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("kind", list(DocumentKind))
def test_stored_data_renders_the_same_bytes_again(kind: DocumentKind) -> None:
    import json

    doc = sample(kind)
    stored = json.dumps(doc.to_dict(), ensure_ascii=False)
    again = DocumentData.from_dict(json.loads(stored))
    assert again == doc
    assert render(again) == render(doc)


def test_stored_data_that_does_not_fit_is_refused() -> None:
    stored = sample(DocumentKind.PERMIT_REFUSED_DECISION).to_dict()
    for broken, code in [
        (stored | {"colour": "red"}, "document.invalid"),
        (stored | {"issued_on": "2026-02-30"}, "document.invalid"),
        ({k: v for k, v in stored.items() if k != "case_number"}, "document.invalid"),
        (stored | {"reasons": []}, "document.reasons_required"),
        (stored | {"review": {"court": "海州市东城区人民法院"}}, "document.invalid"),
    ]:
        with pytest.raises(ValidationFailed) as caught:
            DocumentData.from_dict(broken)
        assert caught.value.code == code
