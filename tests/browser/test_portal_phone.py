"""The citizen's day on a phone (390 x 844) in a real headless Chromium, then once at 1366 x 768.

The citizen signs in with a one-time code, finds the case that was sent back (only the two items
asked for, with the deadline), rates a finished case badly (refused without a reason, taken with
one), files a complaint and follows it to the reply and their confirmation, and applies online.
On every page: no console error, no CSP violation, and no horizontal overflow
(``document.documentElement.scrollWidth <= innerWidth``). Screenshots in both languages go to
tests/artifacts/portal_*.png.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from onewindow.intake import service as intake
from onewindow.kit.platform import Platform
from onewindow.security import service as security

from ..integration.portal_support import (
    PHONE,
    closed_case,
    returned_case,
    running_case,
    work_ticket,
)
from .test_walkthrough import ARTIFACTS, CHROMIUM, Codes, _free_port, sync_playwright

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or sync_playwright is None,
    reason="browser tests need Debian's chromium (apt-get install chromium) and playwright",
)

PHONE_VIEW = {"width": 390, "height": 844}
WIDE_VIEW = {"width": 1366, "height": 768}
COMPLAINT = "鼓楼区五四路路口的红绿灯坏了好几天，早晚高峰堵车非常严重，请尽快处理"
# Chromium reports a CSP refusal as a console error; this catches it at the source as well.
CSP_PROBE = """
window.__csp = [];
document.addEventListener('securitypolicyviolation',
  e => window.__csp.push(e.violatedDirective + ' ' + (e.blockedURI || 'inline')));
"""


@pytest.fixture
def portal_live(city: Platform) -> Iterator[tuple[str, Codes, dict[str, str]]]:
    """A live server over the demo catalogue with one citizen's cases in every state."""
    import uvicorn

    from onewindow.api.app import create_app

    cases = {
        "closed": closed_case(city),
        "returned": returned_case(city),
        "running": running_case(city),
    }
    codes = Codes()
    security.set_sender(codes)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(city), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}", codes, cases
    server.should_exit = True
    thread.join(10)
    security.set_sender(security.LogSender())


class Browser:
    """One Chromium page that records console errors, failed responses and CSP violations."""

    prefix = "portal_"  # screenshots go to tests/artifacts/<prefix><name>.png

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.expected_status: set[int] = set()
        page.add_init_script(CSP_PROBE)
        page.on(
            "console",
            lambda m: (
                self.errors.append(m.text)
                if m.type == "error" and not self._expected_load_failure(m.text)
                else None
            ),
        )
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on(
            "response",
            lambda r: (
                self.errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and r.status not in self.expected_status
                else None
            ),
        )

    def _expected_load_failure(self, text: str) -> bool:
        # A 422 answer to a bad form is the page telling the user; Chromium logs it too.
        return text.startswith("Failed to load resource") and any(
            f"status of {s}" in text for s in self.expected_status
        )

    def check(self, name: str, *, phone: bool = True) -> None:
        """Screenshot, then assert: nothing wider than the screen, no errors, no CSP refusals."""
        page = self.page
        page.wait_for_load_state("networkidle")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"{self.prefix}{name}.png"), full_page=True)
        if phone:
            widths = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
            # With mobile emulation a too-wide page widens the layout viewport itself, so
            # innerWidth must also still be the phone's 390 px.
            assert widths[0] <= widths[1] == PHONE_VIEW["width"], (name, page.url, widths)
        assert page.evaluate("window.__csp") == [], (name, page.url)
        assert self.errors == [], (name, page.url, self.errors)


@pytest.fixture
def browser() -> Iterator[Any]:
    assert sync_playwright is not None
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield chromium
        chromium.close()


def _open(chromium: Any, viewport: dict[str, int]) -> Browser:
    context = chromium.new_context(
        viewport=viewport, locale="zh-CN", is_mobile=viewport["width"] < 500
    )
    return Browser(context.new_page())


def _sign_in(b: Browser, base: str, codes: Codes, shot: str = "01_login") -> None:
    page = b.page
    page.goto(f"{base}/portal/login")
    b.check(shot, phone=shot.startswith("01"))
    page.fill("#phone", PHONE)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.fill("#code", codes.sent[PHONE])
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/portal"), page.url


def test_citizen_day_on_a_phone_in_both_languages(
    portal_live: tuple[str, Codes, dict[str, str]],
    browser: Any,
    city: Platform,
    tmp_path: Path,
) -> None:
    base, codes, cases = portal_live
    b = _open(browser, PHONE_VIEW)
    page = b.page

    page.goto(base + "/")
    b.check("00_landing")
    _sign_in(b, base, codes)
    body = page.inner_text("main")
    assert "张伟" in body  # their own name, unmasked to themself
    assert "请于" in body
    assert cases["returned"] in body
    b.check("02_cases")

    # The send-back says what it is: two items asked for, a deadline, never 办理完成.
    page.goto(f"{base}/portal/cases/{cases['returned']}")
    main = page.inner_text("main")
    assert "退回补正" in main
    assert "补正截止" in main
    assert "社会保障卡审核 · 办理完成" not in main
    assert page.locator("#supplement input[type=file]").count() == 2
    b.check("03_sent_back")

    # 一事一评 on the finished case: a bad rating without a reason is refused, kept as chosen.
    page.goto(f"{base}/portal/cases/{cases['closed']}")
    assert page.locator("#rating form").count() == 1
    b.check("04_rate_form")
    page.check("input[name=level][value='2']", force=True)
    page.select_option("#i_efficiency", "1")
    b.expected_status = {422}
    page.click("#rating button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "差评请说明原因" in page.inner_text("#rating")
    assert page.is_checked("input[name=level][value='2']")
    b.check("05_rate_refused")
    page.fill("#comment", "窗口让我跑了两趟，材料清单没有一次说清楚。")
    page.click("#rating button[type=submit]")
    page.wait_for_load_state("networkidle")
    rated = page.inner_text("#rating")
    assert "不满意" in rated
    assert "整改" in rated
    assert page.locator("#rating form").count() == 0  # one rating per case
    b.check("06_rated")

    # A complaint, 12345-style: refused when empty, then filed and followed to the reply.
    page.goto(f"{base}/portal/complaints")
    b.check("07_complaints_empty")
    page.click("a[href='/portal/complaints/new']")
    page.wait_for_load_state("networkidle")
    page.click("main form button[type=submit]")  # the browser's own check stops an empty text
    assert "/portal/complaints/new" in page.url
    page.fill("#text", COMPLAINT)
    page.select_option("#district", "鼓楼区")
    page.fill("#street", "五四路")
    b.check("08_complaint_form")
    page.click("main form button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/portal/complaints/T" in page.url, page.url
    number = page.url.split("/portal/complaints/")[1].split("?")[0]
    assert "待受理" in page.inner_text("main")
    b.check("09_complaint_sent")
    work_ticket(
        city,
        number,
        [
            ("Task_accept", "center_qian", {"accept": "accept"}),
            ("Task_handle", "psb_luo", {"decision": "resolve", "reply": "信号灯已于今日修复。"}),
            ("Task_close", "center_zhao", {"close": "close"}),
        ],
    )
    page.reload()
    assert "信号灯已于今日修复" in page.inner_text("#reply")
    b.check("10_complaint_answered")
    page.check("#answer input[name=satisfaction][value='4']", force=True)
    page.click("#answer button[value=confirm]")
    page.wait_for_load_state("networkidle")
    assert "已办结" in page.inner_text("main")
    b.check("11_complaint_closed")

    # Applying online: the desk's completeness rules, every missing item told at once.
    page.goto(f"{base}/portal/apply")
    b.check("12_apply_pick")
    page.click("a[href='/portal/apply/HRSS-001']")
    page.wait_for_load_state("networkidle")
    b.check("13_apply_form")
    page.click("form button.btn-primary[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "项必要材料" in page.inner_text("main")
    b.check("14_apply_missing")
    # Every file chosen but one entry left empty: the files are kept, not chosen again.
    chosen = []
    for el in page.query_selector_all("input[type=file]"):
        name = el.get_attribute("name") or "file"
        pdf = tmp_path / f"{name}.pdf"
        pdf.write_bytes(b"%PDF-1.4\n" + name.encode() + b"\n%%EOF\n")
        el.set_input_files(str(pdf))
        chosen.append(pdf.name)
    for el in page.query_selector_all("select[name^='f_']"):
        values = [o for o in el.eval_on_selector_all("option", "os => os.map(o => o.value)") if o]
        el.select_option(values[0])
    page.fill("input[name='f_bank_name']", "")
    page.click("form button.btn-primary[type=submit]")
    page.wait_for_load_state("networkidle")
    main = page.inner_text("main")
    assert f"已选择的 {len(chosen)} 份文件已为您保留" in main, main[:600]
    assert page.locator(".staged").count() == len(chosen)
    for filename in chosen:
        assert filename in main
    assert "金融功能合作银行：必填" in main
    b.check("14b_apply_files_kept")
    page.fill("input[name='f_bank_name']", "中国银行")  # only the fix; no file chosen again
    page.click("form button.btn-primary[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "/portal/cases/OW" in page.url, page.inner_text("main")[:600]
    b.check("15_applied")
    applied = page.url.split("/portal/cases/")[1].split("?")[0]
    with city.unit_of_work() as ctx:
        taken = intake.get_application_by_number(ctx, applied).materials
        assert sorted(m.filename for m in taken if not m.reused) == sorted(chosen)

    # The same pages in English.
    page.goto(f"{base}/lang/en?next=/portal")
    assert "Hello, 张伟" in page.inner_text("main")
    b.check("20_en_cases")
    page.goto(f"{base}/portal/cases/{cases['returned']}")
    assert "Hand in by" in page.inner_text("main")
    b.check("21_en_sent_back")
    page.goto(f"{base}/portal/cases/{cases['closed']}")
    assert "Dissatisfied" in page.inner_text("#rating")
    b.check("22_en_rated")
    page.goto(f"{base}/portal/complaints/{number}")
    assert "Closed" in page.inner_text("main")
    b.check("23_en_complaint")
    page.goto(f"{base}/portal/complaints/new")
    b.check("24_en_complaint_form")
    page.goto(f"{base}/portal/apply/HRSS-001")
    b.check("25_en_apply")
    page.context.clear_cookies()  # signed out, the landing page in English
    page.goto(f"{base}/lang/en?next=/")
    assert "Apply" in page.inner_text("main")
    b.check("26_en_landing")


def test_the_portal_at_1366(portal_live: tuple[str, Codes, dict[str, str]], browser: Any) -> None:
    base, codes, cases = portal_live
    b = _open(browser, WIDE_VIEW)
    page = b.page
    page.goto(base + "/")
    b.check("30_wide_landing", phone=False)
    _sign_in(b, base, codes, "30_wide_login")
    b.check("31_wide_cases", phone=False)
    page.goto(f"{base}/portal/cases/{cases['returned']}")
    assert page.locator("#supplement input[type=file]").count() == 2
    b.check("32_wide_sent_back", phone=False)
    page.goto(f"{base}/portal/cases/{cases['closed']}")
    b.check("33_wide_rate", phone=False)
    page.goto(f"{base}/portal/complaints/new")
    b.check("34_wide_complaint_form", phone=False)
    page.goto(f"{base}/portal/apply/HRSS-001")
    b.check("35_wide_apply", phone=False)
