"""Training pages on a real database (SQLite, and PostgreSQL when configured): course text
rendered safely, an exam taken through the pages (answers never on the page, a late paper
refused), a head's plan approval and course assignment with their permission checks, and a
member of staff's own needs phrased for them."""

from __future__ import annotations

import re
from datetime import date, timedelta
from typing import Any

import lxml.html
import pytest
from fastapi.testclient import TestClient

from onewindow.catalog import service as catalog
from onewindow.kit.clock import ManualClock
from onewindow.kit.platform import Platform
from onewindow.training import repository as repo
from onewindow.training import service as training
from onewindow.training.models import Assignment, Attempt, Certificate, Plan, Question

from ..conftest import START, login
from .test_training_flows import _bank
from .training_support import ACTIVITY, SLOW, slow_colleague_log

HOSTILE = """# 受理要点

<script>alert('x')</script>

[点我](javascript:alert(1)) [也点我](JAVASCRIPT:alert(2)) [官网](https://www.gov.cn/)

<img src=x onerror="alert(3)"> <a href="https://e.example" onclick="steal()">链接</a>

<div style="position:fixed" onmouseover="alert(4)">覆盖</div>

- 一次性告知
- **容缺受理**

| 材料 | 份数 |
| --- | --- |
| 营业执照 | 1 |
"""


def _main(html: str) -> str:
    return html.split('<main id="main"', 1)[1].split("</main>", 1)[0]


def _visible(html: str) -> str:
    """The text a reader sees in the page's main part (not attribute values)."""
    (main,) = lxml.html.fromstring(html).xpath("//main")
    return str(main.text_content())


def _bank_and_exam(city: Platform, *, minutes: int = 20) -> None:
    with city.unit_of_work() as ctx:
        _bank(ctx)  # 消防审查时限？ / 须核验哪些材料？ (multiple) / 可以容缺受理 (true or false)
        training.create_exam(
            ctx, key="fire1", title="消防审查考试", question_count=3, pass_mark=80, minutes=minutes
        )


def _start(client: TestClient, token: str) -> int:
    r = client.post(
        "/training/exams/fire1/start", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303, r.text
    match = re.fullmatch(r"/training/attempts/(\d+)", r.headers["location"])
    assert match, r.headers["location"]
    return int(match.group(1))


def _right_form(city: Platform, attempt_id: int, token: str) -> dict[str, Any]:
    with city.unit_of_work() as ctx:
        attempt = ctx.session.get(Attempt, attempt_id)
        assert attempt is not None
        form: dict[str, Any] = {"csrf_token": token}
        for q in training.paper_of(ctx, attempt):
            form[f"q_{q.id}"] = [str(i) for i in q.answer]
    return form


# --- course text ----------------------------------------------------------------------------


def test_hostile_course_body_is_rendered_without_anything_active(
    client: TestClient, city: Platform
) -> None:
    with city.unit_of_work() as ctx:
        training.create_course(ctx, key="evil", title="受理要点", content_md=HOSTILE, actor="t")
    login(client, "fire_deng")
    r = client.get("/training/courses/evil")
    assert r.status_code == 200, r.text
    body = _main(r.text)
    tree = lxml.html.fromstring(body)
    assert tree.xpath("//script") == []
    assert tree.xpath("//img | //iframe | //object | //embed | //div[@style]") == []
    for element in tree.iter():
        if not isinstance(element.tag, str):  # comments
            continue
        names = {name.lower() for name in element.attrib}
        assert not {n for n in names if n.startswith("on")}, element.attrib
        assert "style" not in names, element.attrib
    hrefs = [str(h) for h in tree.xpath("//article//a/@href")]
    assert hrefs == ["https://www.gov.cn/", "https://e.example"] or hrefs == ["https://www.gov.cn/"]
    # the hostile parts are shown as inert text at most: never a link
    assert not [h for h in tree.xpath("//@href | //@src") if "javascript" in str(h).lower()]
    # the Markdown itself is rendered, not shown raw on one line
    assert "<h1>受理要点</h1>" in body
    assert "<li><strong>容缺受理</strong></li>" in body
    assert "<td>营业执照</td>" in body
    assert '<a href="https://www.gov.cn/" rel="noopener noreferrer nofollow">官网</a>' in body
    # the script's text is shown as text, escaped
    assert "&lt;script&gt;" in body


# --- exams ----------------------------------------------------------------------------------


def test_exam_taken_on_the_pages_never_shows_the_answers(
    client: TestClient, city: Platform
) -> None:
    _bank_and_exam(city)
    token = login(client, "fire_deng")["X-CSRF-Token"]
    intro = client.get("/training/exams/fire1")
    assert intro.status_code == 200
    assert "共 3 道题，限时 20 分钟" in intro.text
    attempt_id = _start(client, token)
    # a second click on "start" continues the same paper instead of spending an attempt
    assert _start(client, token) == attempt_id

    paper = client.get(f"/training/attempts/{attempt_id}")
    assert paper.status_code == 200
    assert 'data-seconds-left="1200"' in paper.text
    assert '<script src="/static/training.js" defer></script>' in paper.text
    assert "须核验哪些材料？" in paper.text
    assert 'type="checkbox"' in paper.text
    assert "checked" not in _main(paper.text)
    # The page is a function of the questions and options only: change every answer key and
    # the paper comes out the same, byte for byte.
    with city.unit_of_work() as ctx:
        for q in ctx.session.query(Question).all():
            q.answer = [len(q.options) - 1]
    again = client.get(f"/training/attempts/{attempt_id}")
    assert _main(again.text) == _main(paper.text)
    with city.unit_of_work() as ctx:  # put the key back
        for q in ctx.session.query(Question).all():
            q.answer = {"消防审查时限？": [0], "须核验哪些材料？": [0, 1]}.get(q.text, [1])

    form = _right_form(city, attempt_id, token)
    done = client.post(f"/training/attempts/{attempt_id}/submit", data=form, follow_redirects=False)
    assert done.status_code == 303
    result = client.get(done.headers["location"])
    assert "得分 100（及格线 80）" in result.text
    assert "恭喜，您通过了考试。" in result.text
    with city.unit_of_work() as ctx:
        (cert,) = ctx.session.query(Certificate).all()
        assert cert.number in result.text
    # a second click on "hand in" shows the same result and changes nothing
    twice = client.post(f"/training/attempts/{attempt_id}/submit", data=form)
    assert twice.status_code == 200
    assert "得分 100" in twice.text
    client.cookies.set("lang", "en")
    english = client.get(f"/training/attempts/{attempt_id}")
    assert "Score 100 (pass mark 80)" in english.text
    assert "Congratulations: you passed." in english.text


def test_wrong_answers_score_nothing_and_junk_is_no_answer(
    client: TestClient, city: Platform
) -> None:
    _bank_and_exam(city)
    token = login(client, "fire_deng")["X-CSRF-Token"]
    attempt_id = _start(client, token)
    form = _right_form(city, attempt_id, token)
    for name in [k for k in form if k.startswith("q_")]:
        form[name] = ["x'; DROP TABLE training_attempts;--", "-1", "99999"]
    r = client.post(f"/training/attempts/{attempt_id}/submit", data=form)
    assert r.status_code == 200, r.text
    assert "得分 0（及格线 80）" in r.text
    assert "未达到及格线。" in r.text


def test_a_paper_after_its_time_is_refused_and_nothing_is_recorded(
    client: TestClient, city: Platform, clock: ManualClock
) -> None:
    _bank_and_exam(city, minutes=10)
    token = login(client, "fire_deng")["X-CSRF-Token"]
    attempt_id = _start(client, token)
    form = _right_form(city, attempt_id, token)
    clock.advance(timedelta(minutes=10, seconds=31))  # past the 30 s grace for latency
    late = client.post(f"/training/attempts/{attempt_id}/submit", data=form)
    assert late.status_code == 409
    assert "答卷未被接受" in late.text
    assert "考试时间已到，答卷未被接受" in late.text
    assert 'id="trp-paper"' not in late.text  # no paper to go on answering
    with city.unit_of_work() as ctx:
        attempt = ctx.session.get(Attempt, attempt_id)
        assert attempt is not None
        assert attempt.submitted_at is None
        assert attempt.score is None
        assert attempt.passed is None
        assert attempt.answers == {}
        assert ctx.session.query(Certificate).count() == 0
    later = client.get(f"/training/attempts/{attempt_id}")
    assert "该答卷未在限定时间内提交，不计成绩。" in later.text
    exam = client.get("/training/exams/fire1")
    assert "超时未交" in exam.text
    client.cookies.set("lang", "en")
    english = client.post(f"/training/attempts/{attempt_id}/submit", data=form)
    assert english.status_code == 409
    assert "Time was up at" in english.text
    assert "the paper was not accepted" in english.text


def test_papers_are_the_examinees_own(client: TestClient, city: Platform) -> None:
    _bank_and_exam(city)
    token = login(client, "fire_deng")["X-CSRF-Token"]
    attempt_id = _start(client, token)
    bad_csrf = client.post(f"/training/attempts/{attempt_id}/submit", data={"csrf_token": "no"})
    assert bad_csrf.status_code == 403
    other = login(client, "fire_cao")["X-CSRF-Token"]
    assert client.get(f"/training/attempts/{attempt_id}").status_code == 404
    stolen = client.post(f"/training/attempts/{attempt_id}/submit", data={"csrf_token": other})
    assert stolen.status_code == 404
    with city.unit_of_work() as ctx:
        attempt = ctx.session.get(Attempt, attempt_id)
        assert attempt is not None
        assert attempt.submitted_at is None


# --- a head's plan and assignments; needs in the reader's words -----------------------------


@pytest.fixture
def slow_log(city: Platform) -> None:
    slow_colleague_log(city, START - timedelta(days=21))
    with city.unit_of_work() as ctx:
        training.create_course(
            ctx,
            key="naming",
            title="名称申报审查要点",
            content_md="# 要点",
            activities=[ACTIVITY],
            check_activities=False,
            actor="t",
        )


def test_head_drafts_and_approves_a_plan_another_head_cannot(
    client: TestClient, city: Platform, slow_log: None
) -> None:
    token = login(client, "samr_chen")["X-CSRF-Token"]
    team = client.get("/training/team")
    assert team.status_code == 200
    assert '<td class="nowrap">刘洋</td><td>名称自主申报审查</td>' in team.text
    assert SLOW not in _visible(team.text)  # names, never usernames
    r = client.post("/training/team/plans", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    with city.unit_of_work() as ctx:
        plan = training.latest_plan(ctx, "SAMR")
        assert plan is not None
        assert plan.status == "proposed"
        assert [i["course_key"] for i in plan.items] == ["naming"]
        plan_id = plan.id
    drafted = client.get(r.headers["location"])
    assert "已生成培训计划" in drafted.text
    assert "刘洋 办理「名称自主申报审查」比同事慢 2.6 倍（12 件）" in drafted.text
    assert SLOW not in _visible(drafted.text)
    assert f'action="/training/plans/{plan_id}/approve"' in drafted.text

    # a clerk may not, and the head of another department does not even see the plan
    clerk = login(client, "samr_wang")["X-CSRF-Token"]
    url = f"/training/plans/{plan_id}/approve"
    assert client.post(url, data={"csrf_token": clerk}).status_code == 403
    fire = login(client, "fire_feng")["X-CSRF-Token"]
    assert client.post(url, data={"csrf_token": fire}).status_code == 404
    with city.unit_of_work() as ctx:
        plan = ctx.session.get(Plan, plan_id)
        assert plan is not None
        assert plan.status == "proposed"
        assert ctx.session.query(Assignment).count() == 0

    token = login(client, "samr_chen")["X-CSRF-Token"]
    ok = client.post(url, data={"csrf_token": token}, follow_redirects=False)
    assert ok.status_code == 303
    approved = client.get(ok.headers["location"])
    assert "计划已批准，课程已分配。" in approved.text
    assert "陈建国 于" in approved.text
    with city.unit_of_work() as ctx:
        (item,) = ctx.session.query(Assignment).all()
        assert item.staff_id == catalog.get_staff(ctx, SLOW).id
    again = client.post(url, data={"csrf_token": token})
    assert again.status_code == 409
    assert "该计划已批准" in again.text


def test_own_needs_are_addressed_to_the_reader(
    client: TestClient, city: Platform, slow_log: None
) -> None:
    with city.unit_of_work() as ctx:
        plan = training.propose_plan(ctx, "SAMR")
        training.approve_plan(ctx, plan.id, actor=catalog.get_staff(ctx, "samr_chen"))
    login(client, SLOW)
    mine = _visible(client.get("/training").text)
    assert "您办理「名称自主申报审查」比同事慢 2.6 倍（12 件） → 课程「名称申报审查要点」" in mine
    assert SLOW not in mine
    assert "刘洋" not in mine
    # the assignment's reason is theirs too, not the head's sentence about them
    assert mine.count("您办理「名称自主申报审查」比同事慢 2.6 倍") == 2
    client.cookies.set("lang", "en")
    english = _visible(client.get("/training").text)
    assert "You handle 名称自主申报审查 2.6× slower than colleagues (12 cases)" in english
    assert SLOW not in english
    assert "同事" not in english
    assert "您" not in english
    # the API says it the same way to the caller
    (row,) = client.get("/api/v1/training/me/needs").json()
    assert row["message_zh"].startswith("您办理「名称自主申报审查」比同事慢 2.6 倍")
    assert row["message_en"].startswith("You handle 名称自主申报审查 2.6×")
    # a colleague with no need reads that there is none
    client.cookies.set("lang", "zh")
    login(client, "samr_wang")
    assert "暂未发现培训需求。" in client.get("/training").text


def test_head_assigns_a_course_only_within_the_department(
    client: TestClient, city: Platform, slow_log: None
) -> None:
    token = login(client, "samr_chen")["X-CSRF-Token"]
    due = (START.date() + timedelta(days=10)).isoformat()
    page = client.get("/training/team")
    assert '<option value="samr_wang">王芳</option>' in page.text
    assert "fire_deng" not in page.text

    def assign(**fields: str) -> Any:
        data = {"csrf_token": token, "course": "naming", "username": "samr_wang", "due_on": due}
        return client.post("/training/team/assignments", data={**data, **fields})

    outsider = assign(username="fire_deng")
    assert outsider.status_code == 403
    assert "只能给本部门人员分配课程" in outsider.text
    bad_date = assign(due_on="31/12/2026")
    assert bad_date.status_code == 422
    assert "请填写截止日期（年-月-日）" in bad_date.text
    past = assign(due_on="2026-01-05")
    assert past.status_code == 422
    assert "截止日期 2026-01-05 已过" in past.text
    ghost = assign(course="<b>nope</b>")
    assert ghost.status_code == 404
    assert "<b>nope</b>" not in ghost.text
    with city.unit_of_work() as ctx:
        assert ctx.session.query(Assignment).count() == 0
    ok = assign(reason="新人上岗")
    assert ok.status_code == 200  # followed the redirect back to the team page
    assert "课程已分配。" in ok.text
    with city.unit_of_work() as ctx:
        (item,) = ctx.session.query(Assignment).all()
        assert item.staff_id == catalog.get_staff(ctx, "samr_wang").id
        assert item.due_on == date.fromisoformat(due)
        assert item.reason == "新人上岗"
        assert item.assigned_by == "samr_chen"
    login(client, "samr_wang")
    assert "新人上岗" in client.get("/training").text
    # the API applies the same rule
    head = login(client, "samr_chen")
    api = client.post(
        "/api/v1/training/assignments",
        json={"course_key": "naming", "username": "fire_deng", "due_on": due},
        headers=head,
    )
    assert api.status_code == 403
    with city.unit_of_work() as ctx:
        assert repo.assignment(ctx.session, 1, catalog.get_staff(ctx, "fire_deng").id) is None
