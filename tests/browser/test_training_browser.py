"""Training in a real headless Chromium at 1366 x 768, in both languages: a reviewer reads a
course rendered from Markdown, reads their own needs addressed to them, takes an exam against
the clock (and a one-minute paper is handed in by the timer itself); a head drafts and
approves the department's plan and assigns a course. Zero console errors, zero CSP
violations; screenshots under tests/artifacts/ (looked at by hand)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from onewindow.kit.platform import Platform
from onewindow.training import service as training
from onewindow.training.models import Attempt

from ..conftest import SHANGHAI
from ..integration.training_support import ACTIVITY, SLOW, slow_colleague_log
from .test_walkthrough import ARTIFACTS, CHROMIUM, LIVE_PLATFORM, live, sign_in, sync_playwright
from .test_workbench_browser import wide

__all__ = ["live", "wide"]  # fixtures shared with the other walks

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or sync_playwright is None,
    reason="browser tests need Debian's chromium (apt-get install chromium) and playwright",
)

COURSE = """# 名称自主申报审查要点

本课程讲解**名称自主申报**的审查重点，帮助窗口与审查人员一次办好。

## 审查重点

1. 名称是否含有禁用字词；
2. 行业表述是否与经营范围一致；
3. 组织形式是否与企业类型相符。

## 常见退件原因

| 原因 | 占比 | 处理建议 |
| --- | --- | --- |
| 字号与他人近似 | 42% | 提示申请人更换字号 |
| 行业表述不规范 | 31% | 参照《国民经济行业分类》 |

> 一次性告知：缺什么、改什么，一次说清。

参考：[国家企业信用信息公示系统](https://www.gsxt.gov.cn/)
"""

QUESTIONS = (
    ("single", "名称中的行业表述应参照？", ["国民经济行业分类", "申请人习惯", "网络用语"], [0]),
    ("true_false", "一次性告知应列明全部所缺材料。", ["对", "错"], [0]),
    ("multiple", "名称审查须核对：", ["禁用字词", "行业表述", "申请人籍贯"], [0, 1]),
    ("single", "字号与他人近似时应当？", ["直接核准", "提示更换字号", "口头告知后受理"], [1]),
)


def shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"tr_{name}.png"), full_page=True)


def _last_monday_morning(weeks_ago: int) -> datetime:
    now = datetime.now(SHANGHAI)
    day = now - timedelta(days=now.weekday() + 7 * weeks_ago)
    return day.replace(hour=9, minute=0, second=0, microsecond=0)


def _training_data(platform: Platform) -> None:
    slow_colleague_log(platform, _last_monday_morning(4))
    with platform.unit_of_work() as ctx:
        # the course that answers the need the log shows (its activity is the hand-made
        # log's, so the course page would warn that no current process has it)
        training.create_course(
            ctx,
            key="naming",
            title=f"{ACTIVITY}要点",
            content_md="# 要点",
            activities=[ACTIVITY],
            check_activities=False,
            actor="samr_chen",
        )
        training.create_course(
            ctx,
            key="naming-rules",
            title="名称审查规则与常见退件",
            content_md=COURSE,
            skills=["quality"],
            actor="samr_chen",
        )
        training.create_course(
            ctx,
            key="etiquette",
            title="窗口服务礼仪与沟通",
            content_md="# 窗口服务礼仪与沟通\n\n- 首问负责\n- 一次性告知\n- 文明用语",
            actor="center_zhao",
        )
        for kind, text, options, answer in QUESTIONS:
            training.add_question(ctx, kind=kind, text=text, options=options, answer=answer)
        course = training.get_course(ctx, "naming-rules")
        training.create_exam(
            ctx, key="naming-exam", title="名称审查考试", question_count=4, pass_mark=75
        )
        exam = training.get_exam(ctx, "naming-exam")
        exam.course_id = course.id
        training.create_exam(
            ctx, key="quick", title="一分钟小测", question_count=2, pass_mark=50, minutes=1
        )


def _answer_key(platform: Platform, attempt_id: int) -> list[tuple[int, list[int]]]:
    """What a well-prepared examinee would click (read from the database, not the page)."""
    with platform.unit_of_work() as ctx:
        attempt = ctx.session.get(Attempt, attempt_id)
        assert attempt is not None
        return [(q.id, list(q.answer)) for q in training.paper_of(ctx, attempt)]


def _main_text(page: Any) -> str:
    return str(page.inner_text("main"))


def test_staff_read_and_sit_an_exam_and_a_head_plans(
    live: tuple[str, Any], wide: tuple[Any, list[str]]
) -> None:
    base, _codes = live
    page, errors = wide
    platform = LIVE_PLATFORM["platform"]
    _training_data(platform)

    # --- the reviewer the log shows slow: their needs, addressed to them
    sign_in(page, base, SLOW)
    page.goto(f"{base}/training")
    mine = _main_text(page)
    assert f"您办理「{ACTIVITY}」比同事慢" in mine
    assert SLOW not in mine
    assert "刘洋" not in mine
    with platform.unit_of_work() as ctx:
        training.assign_course(
            ctx, "naming-rules", SLOW, due_on=datetime.now(SHANGHAI).date(), actor="samr_chen"
        )
    page.reload()
    shot(page, "01_my_zh")

    # --- the course, rendered from Markdown
    page.click("a[href='/training/courses/naming-rules']")
    page.wait_for_load_state("networkidle")
    assert page.locator(".trp-course h2").count() == 2
    assert page.locator(".trp-course table td").count() == 6
    assert page.locator(".trp-course ol li").count() == 3
    assert page.locator(".alert-warn").count() == 0  # no stale activity
    shot(page, "02_course_zh")

    # --- the exam: the clock runs, the paper is answered and handed in
    page.click("a[href='/training/exams/naming-exam']")
    page.wait_for_load_state("networkidle")
    assert "共 4 道题，限时 30 分钟，及格线 75%" in _main_text(page)
    shot(page, "02b_exam_zh")
    page.click("form.trp-start button[type=submit]")
    page.wait_for_load_state("networkidle")
    match = re.search(r"/training/attempts/(\d+)$", page.url)
    assert match, page.url
    first = page.inner_text("#trp-clock")
    page.wait_for_timeout(2100)
    assert page.inner_text("#trp-clock") != first  # the static script counts down
    assert re.fullmatch(r"\d+:\d\d", page.inner_text("#trp-clock"))
    for qid, answer in _answer_key(platform, int(match.group(1))):
        for index in answer:
            page.check(f"input[name='q_{qid}'][value='{index}']")
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")
    box = page.locator("#trp-timer").bounding_box()
    assert box is not None
    assert 0 <= box["y"] < 768  # the clock stays in view at the bottom of the paper
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "03_paper_zh")
    page.click("#trp-submit")
    page.wait_for_load_state("networkidle")
    assert "得分 100（及格线 75）" in _main_text(page)
    assert "恭喜，您通过了考试。" in _main_text(page)
    shot(page, "04_result_zh")
    page.click("a.lang")
    page.wait_for_load_state("networkidle")
    assert "Score 100 (pass mark 75)" in _main_text(page)
    shot(page, "05_result_en")
    page.goto(f"{base}/training")
    mine_en = _main_text(page)
    assert f"You handle {ACTIVITY}" in mine_en
    assert "slower than colleagues" in mine_en
    assert SLOW not in mine_en
    shot(page, "06_my_en")
    page.goto(f"{base}/training/courses/naming-rules")
    shot(page, "07_course_en")

    # --- a one-minute paper left alone is handed in by the timer
    page.goto(f"{base}/training/exams/quick")
    page.click("form.trp-start button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.locator("#trp-timer").count() == 1
    shot(page, "08_quick_paper_en")
    page.wait_for_url(re.compile(r"/training/attempts/\d+$"), timeout=5000)
    page.wait_for_selector(".trp-result", timeout=75000)
    assert "Score 0 (pass mark 50)" in _main_text(page)
    shot(page, "09_quick_handed_in_en")
    page.click("a.lang")  # back to Chinese for the head
    page.wait_for_load_state("networkidle")
    page.context.clear_cookies()

    # --- the head: draft the plan, approve it, assign a course
    sign_in(page, base, "samr_chen")
    page.goto(f"{base}/training/team")
    assert "刘洋" in _main_text(page)
    page.click("form[action='/training/team/plans'] button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "已生成培训计划" in page.inner_text("[role=status]")
    assert f"刘洋 办理「{ACTIVITY}」比同事慢" in page.inner_text(".trp-plan")
    shot(page, "10_team_plan_zh")
    page.click("#trp-approve")
    page.wait_for_load_state("networkidle")
    assert "计划已批准" in page.inner_text("[role=status]")
    page.select_option("#trp-course", "etiquette")
    page.select_option("#trp-person", "samr_wang")
    page.fill("#trp-due", (datetime.now(SHANGHAI).date() + timedelta(days=14)).isoformat())
    page.fill("#trp-reason", "新人上岗培训")
    page.click("#trp-assign button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert "课程已分配。" in page.inner_text("[role=status]")
    assert "王芳" in page.inner_text("main")
    assert SLOW not in _main_text(page)
    shot(page, "11_team_assigned_zh")
    page.click("a.lang")
    page.wait_for_load_state("networkidle")
    assert "Training plan" in _main_text(page)
    shot(page, "12_team_en")
    assert errors == []
