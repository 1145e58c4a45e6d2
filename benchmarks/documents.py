"""Official documents: size and rendering time per kind, and the library choice's evidence.

    .venv/bin/python benchmarks/documents.py [--repeat 20]

Renders every kind (the unit tests' sample data, plus a 41-reason refusal) with reportlab's
built-in STSong-Light CID font and prints bytes, pages and milliseconds per document (first
render in the process, which pays for imports and font set-up, then the median of the rest).
When fpdf2 is importable and a Noto Sans CJK collection is installed, it also renders the same
one-page text with fpdf2 embedding a Noto subset, the alternative the issue names, and prints
the same figures for it; otherwise it says it skipped that.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
NOTO = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


def _timed(fn: Callable[[], bytes], repeat: int) -> tuple[bytes, float, float]:
    start = time.perf_counter()
    out = fn()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        again = fn()
        times.append(time.perf_counter() - start)
        assert again == out, "not deterministic"
    return out, first * 1000, statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()

    from pypdf import PdfReader
    from tests.unit.test_documents_render import long_refusal, sample

    from onewindow.documents import DocumentKind, compose, render

    docs = {kind.value: sample(kind) for kind in DocumentKind} | {"long_refusal": long_refusal()}
    print(f"{'document':28} {'bytes':>7} {'pages':>5} {'first ms':>9} {'median ms':>10}")
    for name, doc in docs.items():
        pdf, first, median = _timed(lambda doc=doc: render(doc), args.repeat)
        pages = len(PdfReader(io.BytesIO(pdf)).pages)
        print(f"{name:28} {len(pdf):7d} {pages:5d} {first:9.1f} {median:10.1f}")

    try:
        from fpdf import FPDF
    except ImportError:
        print("fpdf2 not installed: comparison skipped (pip install fpdf2 to run it)")
        return
    if not NOTO.is_file():
        print(f"{NOTO} missing: fpdf2 comparison skipped (apt-get install fonts-noto-cjk)")
        return
    comp = compose(sample(DocumentKind.PERMIT_REFUSED_DECISION))
    text = "\n".join(
        [comp.issuer, comp.title, comp.salutation]
        + [s.text + "".join(s.items) for s in comp.sections]
    )

    def fpdf_render() -> bytes:
        pdf = FPDF(format="A4")
        pdf.set_creation_date(datetime(2000, 1, 1, tzinfo=UTC))
        pdf.add_font("noto", fname=str(NOTO), collection_font_number=2)  # SC
        pdf.add_page()
        pdf.set_font("noto", size=12)
        pdf.multi_cell(0, 8, text)
        return bytes(pdf.output())

    pdf, first, median = _timed(fpdf_render, min(args.repeat, 3))
    print(f"{'fpdf2 + Noto Sans CJK SC':28} {len(pdf):7d} {1:5d} {first:9.1f} {median:10.1f}")


if __name__ == "__main__":
    main()
