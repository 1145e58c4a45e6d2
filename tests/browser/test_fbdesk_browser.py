"""The complaint desk in a real headless Chromium at 1366 x 768: a citizen's complaint (filed
through the service, as the portal would) is accepted and dispatched by the centre with a
reason, answered by the tax bureau, closed and called back; the survey and board pages and
the analysis page load. Zero console errors and CSP violations; screenshots in both languages
under tests/artifacts/ (looked at by hand)."""

from __future__ import annotations

from typing import Any

import pytest

from onewindow.feedback import service as feedback
from onewindow.feedback.schemas import TicketIn

from .test_walkthrough import ARTIFACTS, CHROMIUM, LIVE_PLATFORM, live, sign_in, sync_playwright
from .test_workbench_browser import wide

__all__ = ["live", "wide"]  # fixtures shared with the other walks

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or sync_playwright is None,
    reason="browser tests need Debian's chromium (apt-get install chromium) and playwright",
)

TEXT = "我有个情况想反映一下，上个月开的发票一直没有寄到"
QUESTIONS = "single: 您通过什么渠道办理？ | 窗口; 网上; 手机\nscale: 总体满意度\ntext: 您的建议"
ANSWERS = (
    ("窗口", 5, "排队时间太长了"),
    ("窗口", 4, "工作人员态度很好"),
    ("网上", 2, "网上办事系统经常卡顿"),
)


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"fbd_{name}.png"), full_page=True)


def _as(page: Any, base: str, username: str) -> None:
    page.context.clear_cookies()
    sign_in(page, base, username)


def _submit(page: Any, card: str) -> None:
    page.locator(f"{card} button[type=submit]").first.click()
    page.wait_for_load_state("networkidle")


def test_a_complaint_is_dispatched_handled_answered_and_called_back(
    live: tuple[str, Any], wide: tuple[Any, list[str]]
) -> None:
    base, _codes = live
    page, errors = wide
    platform = LIVE_PLATFORM["platform"]
    number = platform.run(
        lambda ctx: (
            feedback.submit_ticket(
                ctx,
                TicketIn(text=TEXT, district="晋安区"),
                actor=feedback.Actor.citizen("13912345678"),
            ).number
        )
    )

    _as(page, base, "center_zhao")
    page.goto(f"{base}/fbdesk?queue=complaints")
    assert "共" in page.inner_text("#fbd-results")
    page.fill("#fbd-q", number)
    page.click(".fbd-search button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "共 1 条" in page.inner_text("#fbd-results")
    shot(page, "01_queue_zh")
    page.click(f"a[href='/fbdesk/tickets/{number}']")
    page.wait_for_load_state("networkidle")
    assert TEXT in page.inner_text("#fbd-message")
    assert "置信度" in page.inner_text("#fbd-class")
    page.select_option("#acc-decision", "accept")
    _submit(page, "#fbd-accept")
    assert "已受理" in page.inner_text("[role=status]")
    page.select_option("#dsp-category", "tax")
    page.select_option("#dsp-department", "TAX")
    page.fill("#dsp-reason", "市民补充说明为发票邮寄问题，属税务部门职责")
    shot(page, "02_dispatch_zh")
    _submit(page, "#fbd-dispatch")
    assert "已派单" in page.inner_text("[role=status]")
    assert "派单员人工分类" in page.inner_text("#fbd-class")
    page.click("a.lang")
    page.wait_for_load_state("networkidle")
    assert "Classifier" in page.inner_text("#fbd-class")
    shot(page, "03_ticket_en")
    page.click("a.lang")
    page.wait_for_load_state("networkidle")

    _as(page, base, "tax_xu")
    page.goto(f"{base}/fbdesk/tickets/{number}")
    page.select_option("#rp-decision", "resolve")
    page.fill("#rp-text", "已核实，发票已于今日重新邮寄，请注意查收")
    _submit(page, "#fbd-reply")
    assert "已答复" in page.inner_text("[role=status]")
    shot(page, "04_replied_zh")

    _as(page, base, "center_zhao")
    page.goto(f"{base}/fbdesk/tickets/{number}")
    page.select_option("#cl-decision", "close")
    _submit(page, "#fbd-close")
    page.select_option("#cb-action", "confirm")
    page.select_option("#cb-sat", "5")
    page.fill("#cb-note", "电话回访，市民表示满意")
    shot(page, "05_callback_zh")
    _submit(page, "#fbd-callback")
    assert "回访结果已记录" in page.inner_text("[role=status]")
    assert "已办结" in page.inner_text(".pagehead")
    shot(page, "06_closed_zh")
    page.click("a.lang")
    page.wait_for_load_state("networkidle")
    assert "Closed" in page.inner_text(".pagehead")
    shot(page, "07_closed_en")

    page.click("a.lang")  # back to Chinese
    page.wait_for_load_state("networkidle")

    # a survey made on the page, answered, charted and closed
    page.goto(f"{base}/fbdesk/surveys")
    page.fill("#sv-code", "hall-walk")
    page.fill("#sv-title", "办事大厅满意度调查")
    page.fill("#sv-closes", "2099-12-31")
    page.fill("#sv-questions", QUESTIONS)
    _submit(page, "#fbd-survey-new")
    assert "已创建" in page.inner_text("[role=status]")
    for channel, level, text in ANSWERS:
        platform.run(
            lambda ctx, c=channel, v=level, x=text: feedback.submit_response(
                ctx, "hall-walk", {"q1": c, "q2": v, "q3": x}, phone=None
            )
        )
    page.goto(f"{base}/fbdesk/surveys/hall-walk")
    assert page.locator("rect.fbd-chart-bar").count() >= 8
    shot(page, "08_survey_zh")
    page.click("a.lang")
    page.wait_for_load_state("networkidle")
    shot(page, "08_survey_en")
    page.click("a.lang")
    page.wait_for_load_state("networkidle")
    page.click("form[action$='/close'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "问卷已截止" in page.inner_text("[role=status]")

    # a board item drafted, edited and published
    page.goto(f"{base}/fbdesk/board")
    page.fill("#bd-code", "queue-sms")
    page.fill("#bd-title", "排队叫号短信提醒")
    page.fill("#bd-desc", "群众反映窗口排队时间长，叫号前 10 分钟短信提醒")
    page.select_option("#bd-owner", "CENTER")
    _submit(page, "#fbd-board-new")
    assert "草稿" in page.inner_text(".pagehead")
    page.select_option("#it-status", "in_progress")
    page.fill("#it-progress", "60")
    _submit(page, "#fbd-item-edit")
    assert "已保存" in page.inner_text("[role=status]")
    page.click("form[action$='/publish'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "已公开" in page.inner_text("[role=status]")
    shot(page, "09_item_zh")
    page.goto(f"{base}/board")
    assert "排队叫号短信提醒" in page.inner_text("main")
    page.click("a.lang")
    page.wait_for_load_state("networkidle")

    for path, name in (
        ("/fbdesk/surveys", "11_surveys"),
        ("/fbdesk/board", "12_board"),
        ("/feedback", "10_analysis"),
    ):
        page.goto(f"{base}{path}")
        page.wait_for_load_state("networkidle")
        shot(page, f"{name}_en")
    page.click("a.lang")
    page.wait_for_load_state("networkidle")
    shot(page, "10_analysis_zh")
    with platform.unit_of_work() as ctx:
        done = feedback.get_ticket(ctx, number)
        assert done.status == "closed"
        assert done.satisfaction == 5
    assert errors == []
