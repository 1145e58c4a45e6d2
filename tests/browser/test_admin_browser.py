"""The administration pages in a real headless Chromium at 1366 x 768, in both languages: the
administrator creates a member of staff (a taken username first refused beside its field),
makes a one-time set-password link, the new member of staff sets a password through it and
signs in; the link then refuses a second use. The service item editor and the holiday
calendar are opened and a bad calendar refused. Zero console errors, zero CSP violations;
screenshots under tests/artifacts/ (looked at by hand)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .test_walkthrough import ARTIFACTS, CHROMIUM, live, sign_in, sync_playwright

__all__ = ["live"]  # the live-server fixture, shared with the walkthrough

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or sync_playwright is None,
    reason="browser tests need Debian's chromium (apt-get install chromium) and playwright",
)

# Reported by the page itself as well as by Chromium's console, so neither can be missed.
NOTICE = (
    "二、春节：2月6日（农历除夕、周六）至13日（农历正月初七、周六）放假调休，共8天。"
    "2月14日（周日）上班。"
)
CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', e => {
  window.__csp = (window.__csp || []).concat([e.violatedDirective + ' ' + e.blockedURI]);
});
"""


@pytest.fixture
def wide() -> Iterator[tuple[Any, list[str], list[str]]]:
    """A 1366 x 768 page and the console errors (CSP violations included) it logs."""
    assert sync_playwright is not None
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        context.add_init_script(CSP_LISTENER)
        page = context.new_page()
        errors: list[str] = []
        refused: list[str] = []
        # Chromium logs a page answered 4xx as "Failed to load resource"; refused forms answer
        # 422 / 409 pages on purpose, so those are listed apart (and checked by the test), and
        # any other failed load (a style sheet, a script, an image) is an error.
        page.on(
            "console",
            lambda m: (
                errors.append(m.text)
                if m.type == "error" and not m.text.startswith("Failed to load resource")
                else None
            ),
        )
        page.on("pageerror", lambda e: errors.append(str(e)))

        def on_response(r: Any) -> None:
            if r.status >= 400:
                path = r.url.split("/", 3)[3].split("?")[0]
                target = refused if r.request.resource_type == "document" else errors
                target.append(f"{r.status} /{path}")

        page.on("response", on_response)
        yield page, errors, refused
        context.close()
        browser.close()


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"admin_{name}.png"), full_page=True)


def _csp(page: Any) -> list[str]:
    return list(page.evaluate("window.__csp || []"))


def _no_overflow(page: Any) -> None:
    assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")


def _lang(page: Any) -> None:
    page.click("a.lang")
    page.wait_for_load_state("networkidle")


def test_admin_creates_staff_resets_password_and_the_staff_member_signs_in(
    live: tuple[str, Any], wide: tuple[Any, list[str], list[str]]
) -> None:
    base, _codes = live
    page, errors, refused = wide
    csp: list[str] = []
    sign_in(page, base, "center_zhou")
    page.goto(f"{base}/admin/staff")
    assert "共 " in page.inner_text("#am-total")
    # a taken username: refused beside the field, everything typed still there
    page.fill("#username", "center_qian")
    page.fill("#sname", "新同事")
    page.select_option("#department", "CENTER")
    page.check("input[name=roles][value=clerk]")
    page.click("form[method=post][action='/admin/staff'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.inner_text("#err-username") == "该用户名已被使用"
    assert page.input_value("#sname") == "新同事"
    assert page.is_checked("input[name=roles][value=clerk]")
    shot(page, "01_taken_username_zh")
    csp += _csp(page)

    page.fill("#username", "center_newbie")
    page.click("form[method=post][action='/admin/staff'] button[type=submit]")
    page.wait_for_url(f"{base}/admin/staff/center_newbie?created=1")
    assert "账号已创建" in page.inner_text("[role=status]")
    page.click("form[action$='/reset'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    link = page.input_value("#reset-link")
    assert "/password/reset/" in link
    assert "只显示这一次" in page.inner_text("#am-reset-issued")
    _no_overflow(page)
    shot(page, "02_reset_link_zh")
    csp += _csp(page)
    _lang(page)  # English: the link is not shown again after a reload
    assert page.locator("#reset-link").count() == 0
    assert "Create a set-password link" in page.inner_text("main")
    shot(page, "03_staff_en")
    page.goto(f"{base}/admin/staff?q=center_")
    shot(page, "04_staff_list_en")
    page.goto(f"{base}/admin/services")
    page.locator("a[href^='/admin/services/']").first.click()
    page.wait_for_load_state("networkidle")
    assert "Legal bases for refusal" in page.inner_text("main")
    _no_overflow(page)
    shot(page, "05_service_en")
    csp += _csp(page)
    page.goto(f"{base}/admin/calendar")
    page.fill("#year", "2027")
    page.fill("#holidays", "2027-02-06..2027-02-13\n2027-02-30")
    page.fill("#makeup_workdays", "2027-02-10")
    page.click("button[value=save]")
    page.wait_for_load_state("networkidle")
    assert "2027-02-30" in page.inner_text("#err-holidays")
    assert "weekday" in page.inner_text("#err-makeup_workdays")
    assert "2027-02-30" in page.input_value("#holidays")
    shot(page, "06_calendar_refused_en")
    csp += _csp(page)
    _lang(page)
    page.goto(f"{base}/admin/calendar")
    page.fill("#year", "2027")
    page.fill("#notice", "国务院办公厅关于2027年部分节假日安排的通知")
    page.fill("#notice_text", NOTICE)
    page.click("button[value=extract]")
    page.wait_for_load_state("networkidle")
    assert page.input_value("#holidays") == "2027-02-06..2027-02-13  # 春节"
    assert page.input_value("#makeup_workdays") == "2027-02-14  # 春节"
    shot(page, "07_calendar_extracted_zh")
    page.click("button[value=save]")
    page.wait_for_load_state("networkidle")
    assert "2027 年节假日安排已保存" in page.inner_text("[role=status]")
    shot(page, "07b_calendar_saved_zh")
    page.goto(f"{base}/admin/services")
    page.locator("a[href^='/admin/services/']").first.click()
    page.wait_for_load_state("networkidle")
    shot(page, "08_service_zh")
    csp += _csp(page)

    # the new member of staff, on their own: sets a password through the link, signs in
    page.context.clear_cookies()
    page.goto(link)
    assert "新同事" in page.inner_text("main")
    page.fill("#password", "newbie-pass-2026")
    page.fill("#confirm", "newbie-pass-2025")
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "两次输入的密码不一致" in page.inner_text("#err-password")
    shot(page, "09_password_refused_zh")
    page.fill("#password", "newbie-pass-2026")
    page.fill("#confirm", "newbie-pass-2026")
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "密码已设置" in page.inner_text("#am-pw-done")
    shot(page, "10_password_set_zh")
    csp += _csp(page)
    page.click("main a.btn")
    page.wait_for_load_state("networkidle")
    page.fill("#username", "center_newbie")
    page.fill("#password", "newbie-pass-2026")
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/desk")
    assert "新同事" in page.inner_text("header")
    shot(page, "11_signed_in_zh")

    # the link a second time: a clear refusal, in English too
    page.context.clear_cookies()
    page.goto(link)
    assert "已使用过" in page.inner_text("#am-pw-refused")
    _lang(page)  # the language switch comes back to the same link
    assert "already used" in page.inner_text("#am-pw-refused")
    shot(page, "12_link_used_en")
    csp += _csp(page)
    assert csp == []
    assert errors == [], errors
    token = link.rsplit("/", 1)[1]
    assert refused == [
        "422 /admin/staff",
        "422 /admin/calendar",
        f"422 /password/reset/{token}",
        f"409 /password/reset/{token}",
        f"409 /password/reset/{token}",
    ]
