"""In Debian's Chromium at 1366 × 768: the analyst fits the business-licence bundle (SAMR-001)
from its own log, runs the redesign proposals, compares them and opens one in the BPMN
viewer; the head of the market regulator publishes it after confirming. Chinese and English
pages, no console error and no CSP violation, screenshots under tests/artifacts/."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

import pytest

from onewindow.catalog import service as catalog
from onewindow.simulation import publish
from tests.browser.test_datahub_audit_walk import Watched, wide
from tests.browser.test_walkthrough import (
    CHROMIUM,
    LIVE_PLATFORM,
    live,
    shot,
    sign_in,
    sync_playwright,
)
from tests.integration.redesign_support import seed_business_licence_log

__all__ = ["live", "wide"]  # fixtures shared with the other walks

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or sync_playwright is None,
    reason="browser tests need Debian's chromium (apt-get install chromium) and playwright",
)


def _fits_width(page: Any) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    inner = page.evaluate("window.innerWidth")
    assert width <= inner, (width, inner)


def _monday_weeks_ago(platform: Any, weeks: int) -> datetime:
    zone = platform.calendar.zone
    day = datetime.now(zone).date() - timedelta(weeks=weeks)
    day -= timedelta(days=day.weekday())
    return datetime.combine(day, time(9, 0), tzinfo=zone)


def _goto(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")


def test_analyst_runs_the_proposals_and_a_head_publishes_one(
    live: tuple[str, Any], wide: Watched
) -> None:
    base, _codes = live
    platform = LIVE_PLATFORM["platform"]
    # The week of demo cases plus a fortnight of business-licence cases a month ago.
    seed_business_licence_log(platform, start=_monday_weeks_ago(platform, 5))
    with platform.unit_of_work() as ctx:
        before = catalog.get_service(ctx, "SAMR-001").process_definition_id
    page = wide.page

    # The analyst fits the model and sees the baseline's validation.
    sign_in(page, base, "center_li")
    _goto(page, f"{base}/lang/zh?next=/analysis/redesign")
    assert page.url.endswith("/analysis/redesign")
    shot(page, "rd_zh_1_studio")
    _fits_width(page)
    page.select_option("#rd-service", "SAMR-001")
    page.fill("#rd-cases", "500")
    page.fill("#rd-reps", "3")
    page.click("#rd-fit")
    page.wait_for_selector(".rd-verdict")
    study_url = page.url
    assert "/analysis/redesign/" in study_url
    shot(page, "rd_zh_2_validation")
    _fits_width(page)

    # ... runs the proposals (progress polled) and compares them with their intervals.
    page.click("#rd-run-btn")
    page.wait_for_selector("#rd-run[data-status=done]", timeout=120_000)
    assert page.locator("#rd-compare tbody tr").count() >= 3
    assert page.locator("#rd-ci").count() == 1
    shot(page, "rd_zh_3_compare")
    _fits_width(page)
    wide.check("studio (zh)")

    # ... and opens the first proposal's BPMN in the viewer.
    first = page.locator("#rd-compare a[href*='/proposals/']").first
    proposal_url = base + str(first.get_attribute("href"))
    first.click()
    page.wait_for_selector("#rd-diagram[data-drawn=yes]", timeout=30_000)
    page.wait_for_selector("#rd-diagram .djs-element")
    shot(page, "rd_zh_4_proposal")
    _fits_width(page)
    assert page.locator("#rd-publish-link").count() == 0  # an analyst does not publish
    wide.check("proposal (zh)")

    # The same pages in English.
    for path, name in (
        ("/analysis/redesign", "rd_en_1_studio"),
        (study_url.removeprefix(base), "rd_en_2_study"),
        (proposal_url.removeprefix(base), "rd_en_3_proposal"),
    ):
        _goto(page, f"{base}/lang/en?next={path}")
        if "proposal" in name:
            page.wait_for_selector("#rd-diagram[data-drawn=yes]", timeout=30_000)
        shot(page, name)
        _fits_width(page)
    assert "Redesign studio" in page.content()
    wide.check("studio (en)")

    # The head of the market regulator publishes it, after confirming.
    page.context.clear_cookies()
    sign_in(page, base, "samr_chen")
    _goto(page, f"{base}/lang/zh?next={proposal_url.removeprefix(base)}")
    page.click("#rd-publish-link")
    page.wait_for_selector("#rd-publish-form")
    shot(page, "rd_zh_5_confirm")
    _fits_width(page)
    page.click("#rd-publish-btn")  # without ticking the box: the form is not sent
    assert page.evaluate("document.getElementById('rd-confirm').validity.valueMissing")
    assert page.url.endswith("/publish")
    with platform.unit_of_work() as ctx:
        assert catalog.get_service(ctx, "SAMR-001").process_definition_id == before
    page.check("#rd-confirm")
    page.click("#rd-publish-btn")
    page.wait_for_selector("#rd-published")
    shot(page, "rd_zh_6_published")
    _fits_width(page)
    with platform.unit_of_work() as ctx:
        after = catalog.get_service(ctx, "SAMR-001").process_definition_id
        assert after != before
        (prediction,) = publish.list_predictions(ctx, "SAMR-001")
        assert prediction.to_process_id == after
        assert prediction.published_by == "samr_chen"
    assert page.locator(f"#rd-prediction-{prediction.id}").count() == 1
    _goto(page, f"{base}/lang/en?next={study_url.removeprefix(base)}")
    shot(page, "rd_en_4_published")
    _fits_width(page)
    assert "Published as process version" in page.content()
    wide.check("publish")
