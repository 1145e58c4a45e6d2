"""In Debian's Chromium at 1366 × 768, in Chinese and in English: the data administrator
approves a sharing grant and decides a linkage review pair; the auditor verifies the ledger
and downloads an inclusion proof, which the CLI then checks offline. No console error and no
CSP violation on any page; a screenshot of each step under tests/artifacts/."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from onewindow.datahub.models import MatchReview, SharingGrant, SourceRecord
from onewindow.security import ledger
from tests.browser.test_walkthrough import (
    CHROMIUM,
    LIVE_PLATFORM,
    live,
    shot,
    sign_in,
    sync_playwright,
)
from tests.integration.test_datahub_audit_pages import seed_hub

__all__ = ["live"]  # the live-server fixture, shared with the front-desk walkthrough

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or sync_playwright is None,
    reason="browser tests need Debian's chromium (apt-get install chromium) and playwright",
)

# Collects what the page's CSP refused; added before any page script runs.
CSP_LISTENER = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
  window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


class Watched:
    """A page and every console error, page error and CSP violation it met."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.problems: list[str] = []
        page.on(
            "console",
            lambda m: (
                self.problems.append(f"console {m.type}: {m.text} {m.location.get('url')}")
                if m.type == "error"
                else None
            ),
        )
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))

    def check(self, where: str) -> None:
        csp = self.page.evaluate("window.__csp || []")
        self.problems.extend(f"CSP at {where}: {v}" for v in csp)
        assert not self.problems, self.problems


@pytest.fixture
def wide() -> Iterator[Watched]:
    assert sync_playwright is not None
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-sync"],
        )
        context = browser.new_context(
            viewport={"width": 1366, "height": 768}, locale="zh-CN", accept_downloads=True
        )
        context.add_init_script(CSP_LISTENER)
        yield Watched(context.new_page())
        context.close()
        browser.close()


def _second_pair(platform: Any) -> int:
    with platform.unit_of_work() as ctx:
        records = {r.record_key: r.id for r in ctx.session.query(SourceRecord)}
        review = MatchReview(
            left_record_id=records["P1"],
            right_record_id=records["11010519491231002X"],
            match_probability=0.61,
            status="pending",
            created_at=ctx.clock.now(),
        )
        ctx.session.add(review)
        ctx.session.flush()
        ledger.sign_tree_head(ctx)
        return review.id


def _fits_width(page: Any) -> None:
    """Usable at 1366 px: the page does not scroll sideways."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366, width


def test_data_admin_and_auditor_in_both_languages(
    live: tuple[str, Any], wide: Watched, tmp_path: Path
) -> None:
    from typer.testing import CliRunner

    from onewindow.cli.ledger import ledger_app

    base, _codes = live
    platform = LIVE_PLATFORM["platform"]
    hub = seed_hub(platform)
    pairs = [hub["review"], _second_pair(platform)]
    page = wide.page
    for n, (lang, grant_id, pair_id) in enumerate(
        [("zh", hub["center_a"], pairs[0]), ("en", hub["center_b"], pairs[1])]
    ):
        page.context.clear_cookies()
        sign_in(page, base, "center_wu")
        page.goto(f"{base}/lang/{lang}?next=/datahub")
        page.wait_for_load_state("networkidle")
        assert page.url.endswith("/datahub")
        shot(page, f"dh{n}_{lang}_1_datasets")
        _fits_width(page)
        page.click("a[href='/datahub/datasets/center_people']")
        page.wait_for_load_state("networkidle")
        shot(page, f"dh{n}_{lang}_2_dataset")
        _fits_width(page)

        # The data administrator approves a grant, with an expiry of her own.
        page.click("a[href='/datahub/grants']")
        page.wait_for_load_state("networkidle")
        shot(page, f"dh{n}_{lang}_3_grants")
        _fits_width(page)
        row = page.locator(f"#grant-{grant_id}")
        row.locator("input[type=date]").fill("2099-12-31")
        row.locator("button.btn-ok").click()
        page.wait_for_load_state("networkidle")
        assert page.locator(".alert-ok").count() == 1
        shot(page, f"dh{n}_{lang}_4_approved")
        with platform.unit_of_work() as ctx:
            grant = ctx.session.get(SharingGrant, grant_id)
            assert grant is not None
            assert grant.status == "approved"
            assert grant.expires_at.year == 2099

        # ... and decides a review pair, shown side by side and masked.
        page.click("a[href='/datahub/reviews']")
        page.wait_for_load_state("networkidle")
        card = page.locator(f"#pair-{pair_id}")
        assert card.count() == 1
        shot(page, f"dh{n}_{lang}_5_review")
        _fits_width(page)
        card.locator("button[value=reject]").click()
        page.wait_for_load_state("networkidle")
        assert page.locator(f"#pair-{pair_id}").count() == 0
        with platform.unit_of_work() as ctx:
            review = ctx.session.get(MatchReview, pair_id)
            assert review is not None
            assert review.status == "rejected"
        page.goto(f"{base}/datahub/access")
        page.wait_for_load_state("networkidle")
        shot(page, f"dh{n}_{lang}_6_access")
        wide.check(f"data hub ({lang})")

        # The auditor verifies the ledger with one click, then downloads a proof.
        page.context.clear_cookies()
        sign_in(page, base, "center_zheng")
        page.goto(f"{base}/lang/{lang}?next=/audit")
        page.wait_for_load_state("networkidle")
        assert page.url.endswith("/audit")
        page.click("#au-verify-btn")
        page.wait_for_selector("#au-verify[data-verdict]", timeout=30_000)
        assert page.get_attribute("#au-verify", "data-verdict") == "ok"
        shot(page, f"au{n}_{lang}_1_verified")
        _fits_width(page)
        with page.expect_download() as download:
            page.locator("a[href$='/proof.json']").first.click()
        proof = tmp_path / f"proof-{lang}.json"
        download.value.save_as(str(proof))
        bundle = json.loads(proof.read_text(encoding="utf-8"))
        assert bundle["format"] == "onewindow-ledger-inclusion/1"
        result = CliRunner().invoke(ledger_app, ["verify-proof", str(proof)])
        assert result.exit_code == 0, result.output
        page.click("a[href='/audit/heads']")
        page.wait_for_load_state("networkidle")
        shot(page, f"au{n}_{lang}_2_heads")
        page.click("a[href='/audit/privacy']")
        page.wait_for_load_state("networkidle")
        shot(page, f"au{n}_{lang}_3_privacy")
        _fits_width(page)
        page.goto(f"{base}/audit?kind=grant_approved")
        page.wait_for_load_state("networkidle")
        assert page.locator("tr[id^=entry-]").count() == n + 1
        shot(page, f"au{n}_{lang}_4_filtered")
        wide.check(f"audit ({lang})")


def test_a_head_with_every_menu_fits_the_top_bar(live: tuple[str, Any], wide: Watched) -> None:
    """A department head now also sees the data hub and the audit: every menu item stays whole."""
    base, _codes = live
    seed_hub(LIVE_PLATFORM["platform"])
    page = wide.page
    for lang in ("zh", "en"):
        sign_in(page, base, "psb_lin")
        page.goto(f"{base}/lang/{lang}?next=/datahub/grants")
        page.wait_for_load_state("networkidle")
        assert page.locator(".topnav a").count() >= 6
        # Menu items wrap whole, never a word broken across lines.
        for link in page.locator(".topnav a").all():
            box = link.bounding_box()
            assert box is not None
            assert box["height"] < 60, (link.inner_text(), box)
        _fits_width(page)
        shot(page, f"dh_head_{lang}_grants")
        page.context.clear_cookies()
    wide.check("a head's grants page")
