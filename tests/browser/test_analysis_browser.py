"""In Debian's Chromium at 1366 × 768, in Chinese and in English: the analyst filters the
demo map to one service and a period, drags the path slider to all paths, switches to the
performance view, clicks the slowest edge and lands on one of its cases; then uploads the
WABO log from tests/data and gets its map, downloads it as PNG, and uploads an OCEL 2.0 log
(refused without its object type, then read with it). No console error and no CSP violation; a
screenshot of each step under tests/artifacts/."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from onewindow.mining import dotmap
from tests.browser.test_datahub_audit_walk import Watched, wide
from tests.browser.test_walkthrough import CHROMIUM, live, shot, sign_in, sync_playwright
from tests.conftest import TEST_DATA

__all__ = ["live", "wide"]  # fixtures shared with the other walks

pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None or sync_playwright is None,
        reason="browser tests need Debian's chromium (apt-get install chromium) and playwright",
    ),
    pytest.mark.skipif(
        dotmap.dot_path() is None, reason="Graphviz dot is not installed (make graphviz)"
    ),
]
SUMMARY = re.compile(r"(\d+)\D+(\d+)\D+(\d+)\D+(\d+)\D*$")


def _summary(page: Any) -> tuple[int, int, int, int]:
    text = page.inner_text("#an-summary")
    # "… showing 5 of 8 activities and 6 of 9 paths" / "…显示活动 5/8，路径 6/9"
    found = re.findall(r"\d[\d,]*", text)
    a, b, c, d = (int(x.replace(",", "")) for x in found[-4:])
    return a, b, c, d


def _fits_width(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, width


def _drag_slider(page: Any, selector: str, to_right: bool) -> None:
    box = page.locator(selector).bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + box["width"] / 2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + (box["width"] + 20 if to_right else -20), y, steps=8)
    with page.expect_navigation():
        page.mouse.up()
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_analyst_filters_drills_down_and_uploads(
    live: tuple[str, Any], wide: Watched, lang: str
) -> None:
    base, _codes = live
    page = wide.page
    sign_in(page, base, "center_li")
    page.goto(f"{base}/lang/{lang}?next=/analysis")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/analysis")
    page.wait_for_selector("svg.an-map")
    shot(page, f"an_{lang}_1_map")
    _fits_width(page)
    # one service and a period (the live demo runs over the last week)
    page.select_option("select[name=service]", "SAMR-001")
    start = date.today() - timedelta(days=6)
    page.fill("input[name=from]", start.isoformat())
    page.fill("input[name=to]", date.today().isoformat())
    with page.expect_navigation():
        page.click("#an-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "service=SAMR-001" in page.url
    assert f"from={start.isoformat()}" in page.url
    # fewest paths, then drag the slider all the way to the right: every path
    _drag_slider(page, "#an-paths", to_right=False)
    assert "paths=0" in page.url
    shown, total_a, paths, total_p = _summary(page)
    # a small service may have no path beyond each activity's strongest way in and out
    assert paths <= total_p
    shot(page, f"an_{lang}_2_few_paths")
    _drag_slider(page, "#an-paths", to_right=True)
    assert "paths=100" in page.url
    assert "service=SAMR-001" in page.url
    shown, total_a, paths, total_p = _summary(page)
    assert paths == total_p
    assert shown == total_a
    # performance: p90 of the waits
    with page.expect_navigation():
        page.check("input[name=measure][value=p90]")
    page.wait_for_load_state("networkidle")
    assert "measure=p90" in page.url
    shot(page, f"an_{lang}_3_performance")
    _fits_width(page)
    slowest = page.get_attribute("#an-slowest", "href")
    assert slowest
    edge = page.locator(f'a.an-edge[href="{slowest}"] text.an-elabel')
    assert edge.count() == 1
    with page.expect_navigation():
        edge.click()
    page.wait_for_load_state("networkidle")
    assert "/analysis/cases" in page.url
    shot(page, f"an_{lang}_4_edge_cases")
    first = page.locator("table.an-cases a").first
    number = first.inner_text()
    with page.expect_navigation():
        first.click()
    page.wait_for_load_state("networkidle")
    assert f"/workbench/cases/{number}" in page.url
    assert page.locator("h1").count() >= 1
    shot(page, f"an_{lang}_5_case")
    # conformance of that service's cases: the deployed BPMN with its heat overlay
    page.goto(f"{base}/analysis/conformance?service=SAMR-001")
    page.wait_for_selector("#an-bpmn[data-drawn='1']")
    assert page.locator("#an-bpmn .djs-element").count() > 5
    shot(page, f"an_{lang}_5b_conformance")
    _fits_width(page)
    # pan and zoom do not break the page: buttons and a drag
    page.goto(f"{base}/analysis")
    page.wait_for_selector("svg.an-map")
    page.click("[data-zoom=in]")
    page.click("[data-zoom=fit]")
    # upload the WABO log and get its map
    page.set_input_files("#an-file", str(TEST_DATA / "eventlogs" / "wabo_receipt.xes.gz"))
    with page.expect_navigation():
        page.click("#an-upload-submit")
    page.wait_for_load_state("networkidle")
    assert "log=" in page.url
    page.wait_for_selector("svg.an-map")
    assert "wabo_receipt.xes.gz" in page.inner_text("main")
    assert page.locator("svg.an-map a.an-node").count() > 10
    shot(page, f"an_{lang}_6_wabo")
    _fits_width(page)
    # the map as PNG: the download is a picture
    with page.expect_download() as download:
        page.click("#an-export-png")
    png = Path(download.value.path()).read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    # an OCEL 2.0 log without its object type is refused with the types it has; with one,
    # its map
    ocel = str(TEST_DATA / "eventlogs" / "ocel20_example.xmlocel")
    page.set_input_files("#an-file", ocel)
    with page.expect_navigation():
        page.click("#an-upload-submit")
    assert "Purchase Order" in page.inner_text("#an-error")
    # Chromium logs the refused form's 400 answer as a console error: that one is expected
    refused = [p for p in wide.problems if "status of 400" in p and p.endswith("/analysis/upload")]
    assert len(refused) == 1, wide.problems
    wide.problems.remove(refused[0])
    shot(page, f"an_{lang}_7_ocel_refused")
    page.set_input_files("#an-file", ocel)
    page.fill("#an-object-type", "Purchase Order")
    with page.expect_navigation():
        page.click("#an-upload-submit")
    page.wait_for_selector("svg.an-map")
    assert "ocel20_example.xmlocel" in page.inner_text("main")
    assert "Purchase Order" in page.inner_text(".an-source")
    page.locator(".an-upload").scroll_into_view_if_needed()
    shot(page, f"an_{lang}_8_ocel")
    _fits_width(page)
    wide.check(f"analysis walk ({lang})")
