"""The director's dashboards in a real headless Chromium at 1366 x 768, in both languages: the
director clicks a number, lands on the list of its cases (as many as the number said), opens
one case; on the decisions page a district and a week of the chart lead to their cases too.
Zero console errors, zero CSP violations; screenshots under tests/artifacts/ (looked at)."""

from __future__ import annotations

from typing import Any

import pytest

from .test_walkthrough import CHROMIUM, live, sign_in, sync_playwright
from .test_workbench_browser import wide

__all__ = ["live", "wide"]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or sync_playwright is None,
    reason="browser tests need Debian's chromium (apt-get install chromium) and playwright",
)


def shot(page: Any, name: str) -> None:
    from .test_walkthrough import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dash_{name}.png"), full_page=True)


def _listed_total(page: Any) -> int:
    return int(page.get_attribute("#dd-total b[data-total]", "data-total") or "-1")


def _fits(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")


def test_director_clicks_a_number_then_a_case(
    live: tuple[str, Any], wide: tuple[Any, list[str]]
) -> None:
    base, _codes = live
    page, errors = wide
    sign_in(page, base, "center_zhao")  # head of the service centre
    page.goto(f"{base}/dashboard")
    _fits(page)
    shot(page, "01_dashboard_zh")
    kpi = page.locator("a.kpi[href*='metric=overdue_task']")
    shown = int(kpi.get_attribute("data-count") or "0")
    if shown == 0:  # a quiet week: follow all cases instead
        kpi = page.locator("a.kpi[href$='metric=cases']")
        shown = int(kpi.get_attribute("data-count") or "0")
    assert shown > 0
    kpi.click()
    page.wait_for_load_state("networkidle")
    assert "/dashboard/cases?" in page.url
    assert _listed_total(page) == shown
    assert page.locator("tr.dd-row").count() == min(shown, 50)
    _fits(page)
    shot(page, "02_cases_zh")
    first = page.locator("tr.dd-row a[href^='/workbench/cases/']").first
    number = first.inner_text().strip()
    first.click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith(f"/workbench/cases/{number}")
    page.wait_for_selector(".wb-diagram .djs-container svg", timeout=15000)
    shot(page, "03_case_zh")

    page.goto(f"{base}/dashboard/decisions")
    _fits(page)
    shot(page, "04_decisions_zh")
    assert page.locator("#chart-weeks text.zero").count() > 0  # the empty weeks read 0
    district = page.locator("#chart-districts a.district-bar").first
    shown = int(district.get_attribute("data-count") or "0")
    district.locator("rect.bar").first.click()
    page.wait_for_load_state("networkidle")
    assert "district=" in page.url
    assert _listed_total(page) == shown
    shot(page, "05_district_cases_zh")

    page.click("a.lang")  # English
    page.wait_for_load_state("networkidle")
    assert "cases" in page.inner_text("#dd-total")
    shot(page, "06_district_cases_en")
    page.goto(f"{base}/dashboard")
    assert "Every number counts cases" in page.inner_text("main")
    shot(page, "07_dashboard_en")
    page.goto(f"{base}/dashboard/decisions")
    assert "District assigned" in page.inner_text("main")
    week = page.locator("#chart-weeks a.week-bar:not([data-count='0'])").first
    shown = int(week.get_attribute("data-count") or "0")
    week.locator("rect.bar").first.click()
    page.wait_for_load_state("networkidle")
    assert "week=" in page.url
    assert _listed_total(page) == shown
    shot(page, "08_week_cases_en")
    page.goto(f"{base}/dashboard/decisions")
    shot(page, "09_decisions_en")
    page.click("a.lang")  # back to Chinese
    assert errors == []

    # a bad link: a clear page, in the reader's language (its 400 is expected here)
    page.goto(f"{base}/dashboard/cases?metric=cases&page=99")
    assert "第 99 页超出范围" in page.inner_text("main")
    shot(page, "10_bad_page_zh")
    assert [e for e in errors if "/dashboard/cases?" not in e] == []
