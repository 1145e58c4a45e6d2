"""The complaint and 好差评 loop walked end to end in one live server, every step on a page.

A citizen on a 390 x 844 phone signs in with a one-time code and files a complaint; the centre
(1366 x 768) finds that very ticket on /fbdesk, accepts it and dispatches it to the tax bureau
with a reason; the tax bureau replies on /fbdesk; the centre reviews the closure; the citizen
reads the reply in the portal and confirms it with a satisfaction level. Then the citizen rates
a refused case badly with a reason, the department that refused it (HRSS) verifies, rectifies
and answers on /fbdesk; the citizen reads the answer and the measures on the phone and answers
the return visit there; the centre reads it in the case history and publishes. In every
context: zero console errors, zero CSP violations; on the phone no horizontal overflow.
Screenshots: tests/artifacts/loop_*.png, Chinese throughout, English at the end.
"""

from __future__ import annotations

from typing import Any

import pytest

from onewindow.catalog import service as catalog
from onewindow.kit.platform import Platform
from onewindow.security import service as security
from onewindow.security.passwords import hash_password
from onewindow.workflow import service as workflow

from ..integration.feedback_support import open_task
from ..integration.portal_support import running_case
from .test_portal_phone import (
    PHONE_VIEW,
    WIDE_VIEW,
    Browser,
    _open,
    _sign_in,
    browser,
    portal_live,
)
from .test_walkthrough import CHROMIUM, Codes, sign_in, sync_playwright

__all__ = ["browser", "portal_live"]  # fixtures shared with the portal walk

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or sync_playwright is None,
    reason="browser tests need Debian's chromium (apt-get install chromium) and playwright",
)

# Vague on purpose: the classifier is not sure, so a dispatcher routes it by hand.
COMPLAINT = "我有个情况想反映一下，上个月在大厅开的发票到现在一直没有寄到我家里"
DISPATCH_REASON = "市民反映发票邮寄问题，属税务部门职责"
REPLY = "已核实，发票已于今日重新邮寄，请注意查收"
BAD_REASON = "窗口没说清楚缺什么材料，审核直接不予办理，让我白跑一趟。"
FINDING = "属实：审核前未一次性告知所缺材料"
MEASURES = "开展一次性告知培训，更新办事指南的材料清单"
REFUSAL = {
    "decision": "reject",
    "reason": "参保信息与登记不符",
    "legal_basis": "conditions_not_met",
}
ANSWER = "您反映的问题属实，已整改并更新材料清单，感谢监督"
CONFIRMATION = "材料清单已经更新，这次一次就办成了"


@pytest.fixture
def loop_live(
    portal_live: tuple[str, Codes, dict[str, str]], city: Platform
) -> tuple[str, Codes, str]:
    """The portal's live server, staff able to sign in (password "demo"), and a case of the
    citizen's that HRSS refused (so HRSS is the department a bad rating of it points at)."""
    base, codes, _cases = portal_live
    digest = hash_password("demo")
    with city.unit_of_work() as ctx:
        for member in catalog.list_staff(ctx):
            security.set_password_hash(ctx, member, digest, actor="test")
    number = running_case(city)
    for element, user, data in (
        ("Task_window_accept", "center_qian", {"decision": "approve"}),
        ("Task_hrss_review", "hrss_hu", REFUSAL),
    ):
        task_id = open_task(city, number, element)
        city.run(
            lambda ctx, t=task_id, u=user, d=data: workflow.complete_task(
                ctx, t, d, actor=catalog.get_staff(ctx, u)
            )
        )
    return base, codes, number


def _staff(chromium: Any, base: str, username: str) -> Browser:
    b = _open(chromium, WIDE_VIEW)
    b.prefix = "loop_"
    sign_in(b.page, base, username)
    return b


def _go(b: Browser, url: str) -> str:
    b.page.goto(url)
    b.page.wait_for_load_state("networkidle")
    return str(b.page.inner_text("main"))


def _submit(b: Browser, selector: str) -> None:
    b.page.locator(f"{selector} button[type=submit]").first.click()
    b.page.wait_for_load_state("networkidle")


def _status(b: Browser) -> str:
    return str(b.page.inner_text("[role=status]"))


def test_complaint_and_bad_rating_loop_across_portal_and_desk(
    loop_live: tuple[str, Codes, str], browser: Any
) -> None:
    base, codes, refused = loop_live
    citizen = _open(browser, PHONE_VIEW)
    citizen.prefix = "loop_"
    phone = citizen.page

    # (1) The citizen signs in on the phone and files a complaint.
    _sign_in(citizen, base, codes)
    citizen.check("02_portal")
    _go(citizen, f"{base}/portal/complaints/new")
    phone.fill("#text", COMPLAINT)
    phone.select_option("#district", "晋安区")
    phone.fill("#street", "象园街道")
    citizen.check("03_complaint_form")
    phone.click("main form button[type=submit]")
    phone.wait_for_load_state("networkidle")
    assert "/portal/complaints/T" in phone.url, phone.url
    number = phone.url.split("/portal/complaints/")[1].split("?")[0]
    main = phone.inner_text("main")
    assert number in main
    assert "待受理" in main
    citizen.check("04_complaint_sent")

    main = _go(citizen, f"{base}/portal/complaints")  # the citizen's own list carries it
    assert number in main
    citizen.check("04b_complaint_list")

    # (2) The centre finds that very ticket in its queue, accepts it, dispatches it with a reason.
    centre = _staff(browser, base, "center_zhao")
    desk = centre.page
    _go(centre, f"{base}/fbdesk?queue=complaints")
    desk.fill("#fbd-q", number)
    desk.click(".fbd-search button[type=submit]")
    desk.wait_for_load_state("networkidle")
    results = desk.inner_text("#fbd-results")
    assert "共 1 条" in results
    assert number in results
    centre.check("10_centre_queue", phone=False)
    desk.click(f"#fbd-results a[href='/fbdesk/tickets/{number}']")
    desk.wait_for_load_state("networkidle")
    assert number in desk.inner_text(".pagehead")
    assert COMPLAINT in desk.inner_text("#fbd-message")
    desk.select_option("#acc-decision", "accept")
    _submit(centre, "#fbd-accept")
    assert "已受理" in _status(centre)
    assert desk.locator("#fbd-dispatch").count() == 1, "auto-dispatched: no dispatcher step"
    desk.select_option("#dsp-category", "tax")
    desk.select_option("#dsp-department", "TAX")
    desk.fill("#dsp-reason", DISPATCH_REASON)
    centre.check("11_centre_dispatch", phone=False)
    _submit(centre, "#fbd-dispatch")
    assert "已派单" in _status(centre)
    assert "派单员人工分类" in desk.inner_text("#fbd-class")
    centre.check("12_centre_dispatched", phone=False)

    # The citizen sees it accepted and with the tax bureau, not yet answered.
    main = _go(citizen, f"{base}/portal/complaints/{number}")
    assert "税务" in main
    assert "暂无答复" in main or REPLY not in main
    citizen.check("05_complaint_dispatched")

    # (3) The tax bureau replies on its own desk (the ticket is in its queue).
    tax = _staff(browser, base, "tax_xu")
    assert number in _go(tax, f"{base}/fbdesk?queue=complaints&q={number}")
    tax.page.click(f"#fbd-results a[href='/fbdesk/tickets/{number}']")
    tax.page.wait_for_load_state("networkidle")
    tax.page.select_option("#rp-decision", "resolve")
    tax.page.fill("#rp-text", REPLY)
    tax.check("20_tax_reply", phone=False)
    _submit(tax, "#fbd-reply")
    assert "已答复" in _status(tax)
    tax.check("21_tax_replied", phone=False)

    # (4) The centre reviews the closure; the confirmation is then the citizen's to give (the
    # centre's call-back form stands in for it only when the citizen does not answer).
    _go(centre, f"{base}/fbdesk/tickets/{number}")
    assert REPLY in desk.inner_text("main")
    desk.select_option("#cl-decision", "close")
    _submit(centre, "#fbd-close")
    assert "已完成办结审核" in _status(centre)
    centre.check("13_centre_closed", phone=False)

    # (5) The citizen reads the reply and confirms it with a satisfaction level.
    _go(citizen, f"{base}/portal/complaints/{number}")
    assert REPLY in phone.inner_text("#reply")
    citizen.check("06_complaint_answered")
    phone.check("#answer input[name=satisfaction][value='4']", force=True)
    phone.fill("#answer #comment", "收到发票了，谢谢")
    phone.click("#answer button[value=confirm]")
    phone.wait_for_load_state("networkidle")
    main = phone.inner_text("main")
    assert "已办结" in main
    assert number in main
    citizen.check("07_complaint_closed")
    ticket = _go(centre, f"{base}/fbdesk/tickets/{number}")
    assert "已办结" in ticket
    assert "4 / 5" in ticket  # the citizen's own satisfaction reached the desk
    centre.check("14_centre_ticket_done", phone=False)

    # (6) The citizen rates the refused case badly, with a reason.
    _go(citizen, f"{base}/portal/cases/{refused}")
    assert citizen.page.locator("#rating form").count() == 1
    phone.check("input[name=level][value='1']", force=True)
    phone.fill("#comment", BAD_REASON)
    citizen.check("08_rate_form")
    phone.click("#rating button[type=submit]")
    phone.wait_for_load_state("networkidle")
    rated = phone.inner_text("#rating")
    assert "非常不满意" in rated
    assert "差评已转相关部门核实整改" in rated  # the state the citizen follows
    rating = "PJ" + rated.split("PJ", 1)[1].split()[0]
    citizen.check("09_rated")

    # (7) HRSS, the department that refused the case, works the rectification on its desk.
    hrss = _staff(browser, base, "hrss_hu")
    queue = _go(hrss, f"{base}/fbdesk?queue=rectifications&q={rating}")
    assert rating in queue, queue[:400]
    hrss.check("30_hrss_queue", phone=False)
    hrss.page.click(f"#fbd-results a:has-text('{rating}')")
    hrss.page.wait_for_load_state("networkidle")
    assert BAD_REASON in hrss.page.inner_text("#fbd-rating")
    step = "#fbd-step-Task_verify"
    hrss.page.select_option(f"{step} select[name=f_verdict]", "genuine")
    hrss.page.fill(f"{step} textarea[name=f_finding]", FINDING)
    hrss.check("31_hrss_verify", phone=False)
    _submit(hrss, step)
    step = "#fbd-step-Task_rectify"
    hrss.page.fill(f"{step} textarea[name=f_measures]", MEASURES)
    _submit(hrss, step)
    step = "#fbd-step-Task_answer"
    hrss.page.fill(f"{step} textarea[name=f_answer]", ANSWER)
    hrss.check("32_hrss_answer", phone=False)
    _submit(hrss, step)
    history = hrss.page.inner_text("#fbd-history")
    assert FINDING in history or "核实差评" in history
    hrss.check("33_hrss_done", phone=False)
    case_url = hrss.page.url.split("?")[0]

    # Answered: the citizen reads the department's answer and measures on the phone, and
    # answers the return visit there themself (no staff name anywhere on their page).
    _go(citizen, f"{base}/portal/cases/{refused}")
    assert "差评已整改并答复" in phone.inner_text("#rating")
    answer = phone.inner_text("#answer")
    for shown in (ANSWER, MEASURES, FINDING, "人力资源和社会保障局"):
        assert shown in answer, shown
    assert "hrss_hu" not in phone.inner_text("main")
    citizen.check("10_rating_answered")
    phone.check("#confirm input[name=satisfied][value=yes]", force=True)
    phone.fill("#confirm_comment", CONFIRMATION)
    citizen.check("10b_rating_confirm_form")
    _submit(citizen, "#confirm")
    answer = phone.inner_text("#answer")
    assert "回访结果：对整改满意" in answer
    assert CONFIRMATION in answer
    assert citizen.page.locator("#confirm").count() == 0
    citizen.check("10c_rating_confirmed")

    # The centre (the 好差评 office) reads the citizen's answer in the history and publishes.
    _go(centre, case_url)
    history = desk.inner_text("#fbd-history")
    for shown in (FINDING, MEASURES, ANSWER, CONFIRMATION, "市民"):
        assert shown in history, shown
    assert desk.locator("#fbd-step-Task_callback").count() == 0  # nobody phones them now
    for element, field, value in (("Task_publish", "f_summary", "窗口一次性告知整改完毕"),):
        step = f"#fbd-step-{element}"
        assert desk.locator(step).count() == 1, (element, desk.inner_text("main")[:400])
        control = desk.locator(f"{step} [name={field}]")
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
        centre.check(f"15_centre_{element}", phone=False)
        _submit(centre, step)
    assert desk.locator(".fbd-step").count() == 0
    centre.check("16_centre_rectified", phone=False)

    _go(citizen, f"{base}/portal/cases/{refused}")
    assert "差评已整改并答复" in phone.inner_text("#rating")
    citizen.check("11_rating_rectified")

    # The last pages again in English.
    _go(citizen, f"{base}/lang/en?next=/portal/cases/{refused}")
    assert "put right" in phone.inner_text("#rating")
    answer = phone.inner_text("#answer")
    assert "What was changed" in answer
    assert MEASURES in answer
    assert ANSWER in answer
    assert "Return visit: satisfied" in answer
    citizen.check("12_en_rating_rectified")
    _go(citizen, f"{base}/portal/complaints/{number}")
    assert "Closed" in phone.inner_text("main")
    citizen.check("13_en_complaint_closed")
    _go(centre, f"{base}/lang/en?next=/fbdesk/tickets/{number}")
    assert "Closed" in desk.inner_text(".pagehead")
    centre.check("17_en_centre_ticket", phone=False)
    _go(hrss, f"{base}/lang/en?next={case_url.split(base, 1)[1]}")
    assert rating in hrss.page.inner_text(".pagehead")
    assert "Measures taken" in hrss.page.inner_text("#fbd-history")
    hrss.check("34_en_hrss_case", phone=False)
