"""Training on a real database: the "what changed" course, assignments, plans, exams,
competitions, sessions, and the API with its permissions."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from onewindow.catalog import service as catalog
from onewindow.kit.clock import ManualClock
from onewindow.kit.errors import Conflict, NotFound, ValidationFailed
from onewindow.kit.platform import Platform
from onewindow.training import service as training

from ..conftest import DEMO_CITY, login

DUE = date(2026, 3, 20)


def _new_fire_version(city: Platform) -> None:
    xml = (DEMO_CITY / "services" / "fire_inspection.bpmn").read_text(encoding="utf-8")
    marker = '<bpmn:userTask id="Task_fire_material_review"'
    head, tail = xml.split(marker, 1)
    form = "<camunda:formData>"
    tail = tail.replace(
        form,
        form + '<camunda:formField id="risk_level" label="风险等级" type="string"/>',
        1,
    )
    with city.unit_of_work() as ctx:
        proc = catalog.register_process(ctx, (head + marker + tail).encode(), actor="test")
        assert proc.version == 2
        catalog.switch_process(ctx, "FIRE-001", proc, actor="test")


def test_what_changed_course_goes_to_the_affected_lane(city: Platform) -> None:
    _new_fire_version(city)
    with city.unit_of_work() as ctx:
        course, assigned = training.what_changed_course(
            ctx, "fire_inspection", 1, 2, due_on=DUE, actor="fire_feng"
        )
        assert course.kind == "what_changed"
        assert "风险等级" in course.content_md
        assert course.activities == ["申报材料审查"]
        staff = {catalog.get_staff(ctx, "fire_deng").id, catalog.get_staff(ctx, "fire_cao").id}
        assert staff <= {a.staff_id for a in assigned}
        center = catalog.get_staff(ctx, "center_qian").id
        assert center not in {a.staff_id for a in assigned}
        # generating it again assigns nobody twice
        _, again = training.what_changed_course(
            ctx, "fire_inspection", 1, 2, due_on=DUE, actor="fire_feng"
        )
        assert {a.id for a in again} == {a.id for a in assigned}
        with pytest.raises(NotFound):
            training.what_changed_course(ctx, "fire_inspection", 1, 9, due_on=DUE, actor="x")


def test_course_about_an_activity_that_does_not_exist(city: Platform) -> None:
    with city.unit_of_work() as ctx:
        with pytest.raises(ValidationFailed) as err:
            training.create_course(
                ctx, key="ghost", title="x", content_md="", activities=["不存在的环节"], actor="t"
            )
        assert err.value.code == "training.activity_unknown"


def test_assignment_completion_is_the_learners(city: Platform) -> None:
    with city.unit_of_work() as ctx:
        training.create_course(
            ctx,
            key="etiquette",
            title="窗口服务礼仪",
            content_md="# 礼仪",
            skills=["service"],
            actor="center_zhao",
        )
        item = training.assign_course(
            ctx, "etiquette", "center_qian", due_on=DUE, actor="center_zhao"
        )
        with pytest.raises(NotFound):
            training.complete_assignment(ctx, item.id, actor=catalog.get_staff(ctx, "center_sun"))
        done = training.complete_assignment(
            ctx, item.id, actor=catalog.get_staff(ctx, "center_qian")
        )
        assert done.completed_at is not None
        (view,) = training.assignments_for(ctx, [catalog.get_staff(ctx, "center_qian")])
        assert view.course_key == "etiquette"
        assert not view.overdue


def _bank(ctx: Any) -> None:
    training.add_question(
        ctx, kind="single", text="消防审查时限？", options=["2日", "5日"], answer=[0], tags=["fire"]
    )
    training.add_question(
        ctx,
        kind="multiple",
        text="须核验哪些材料？",
        options=["执照", "平面图", "菜单"],
        answer=[0, 1],
        tags=["fire"],
    )
    training.add_question(
        ctx, kind="true_false", text="可以容缺受理", options=["对", "错"], answer=[1], tags=["fire"]
    )


def _right(ctx: Any, attempt: Any) -> dict[str, Any]:
    return {str(q.id): q.answer for q in training.paper_of(ctx, attempt)}


def test_exam_grading_retake_certificate_and_late_paper(city: Platform, clock: ManualClock) -> None:
    with city.unit_of_work() as ctx:
        _bank(ctx)
        training.create_exam(
            ctx,
            key="fire1",
            title="消防审查考试",
            question_count=3,
            tags=["fire"],
            pass_mark=80,
            minutes=20,
            max_attempts=2,
        )
        deng = catalog.get_staff(ctx, "fire_deng")
        first = training.start_attempt(ctx, "fire1", actor=deng, seed=1)
        assert len(first.question_ids) == 3
        attempt, cert = training.submit_attempt(ctx, first.id, {}, actor=deng)
        assert attempt.score == 0
        assert attempt.passed is False
        assert cert is None
        with pytest.raises(Conflict):
            training.submit_attempt(ctx, first.id, {}, actor=deng)
        second = training.start_attempt(ctx, "fire1", actor=deng, seed=2)
        attempt, cert = training.submit_attempt(ctx, second.id, _right(ctx, second), actor=deng)
        assert attempt.score == 100
        assert cert is not None
        with pytest.raises(Conflict) as passed:
            training.start_attempt(ctx, "fire1", actor=deng)
        assert passed.value.code == "exam.passed"
        cao = catalog.get_staff(ctx, "fire_cao")
        late = training.start_attempt(ctx, "fire1", actor=cao, seed=3)
        answers = _right(ctx, late)
    clock.advance(timedelta(minutes=21))
    with city.unit_of_work() as ctx:
        with pytest.raises(Conflict) as over:
            training.submit_attempt(ctx, late.id, answers, actor=catalog.get_staff(ctx, "fire_cao"))
        assert over.value.code == "exam.time_over"
    with city.unit_of_work() as ctx:
        cao = catalog.get_staff(ctx, "fire_cao")
        training.start_attempt(ctx, "fire1", actor=cao)
        with pytest.raises(Conflict) as spent:
            training.start_attempt(ctx, "fire1", actor=cao)
        assert spent.value.code == "exam.no_attempts_left"


def test_competition_leaderboard_and_sessions(city: Platform, clock: ManualClock) -> None:
    now = clock.now()
    with city.unit_of_work() as ctx:
        _bank(ctx)
        training.create_exam(
            ctx,
            key="contest",
            title="技能竞赛",
            kind="competition",
            question_count=3,
            max_attempts=1,
            opens_at=now,
            closes_at=now + timedelta(hours=2),
        )
        for who, good in (("fire_deng", True), ("fire_cao", False), ("samr_wang", True)):
            staff = catalog.get_staff(ctx, who)
            a = training.start_attempt(ctx, "contest", actor=staff, seed=4)
            training.submit_attempt(ctx, a.id, _right(ctx, a) if good else {}, actor=staff)
        board = training.leaderboard(ctx, "contest")
        assert [r.score for r in board] == [100, 100, 0]
        assert board[-1].username == "fire_cao"
        fire = training.leaderboard(ctx, "contest", department_code="FIRE")
        assert [r.username for r in fire] == ["fire_deng", "fire_cao"]
        session = training.schedule_session(
            ctx,
            title="消防审查经验分享",
            topic="常见退件原因",
            scheduled_at=now + timedelta(days=2),
            department_code="FIRE",
            actor="fire_feng",
        )
        training.record_attendance(
            ctx, session.id, ["fire_deng", "fire_cao", "fire_deng"], actor="fire_feng"
        )
        assert sorted(training.attendance_of(ctx, session.id)) == ["fire_cao", "fire_deng"]
    clock.advance(timedelta(hours=3))
    with city.unit_of_work() as ctx, pytest.raises(Conflict):
        training.start_attempt(ctx, "contest", actor=catalog.get_staff(ctx, "fire_feng"))


# --- the API --------------------------------------------------------------------------------


@pytest.fixture
def api(client: TestClient) -> TestClient:
    from onewindow.training import endpoints, pages

    app: Any = client.app
    if not any(getattr(r, "path", "").startswith("/api/v1/training") for r in app.routes):
        app.include_router(endpoints.router, prefix="/api/v1")
    if not any(getattr(r, "path", "") == "/training" for r in app.routes):
        app.include_router(pages.router)
    return client


def test_api_exam_round_trip_and_permissions(api: TestClient) -> None:
    head = login(api, "fire_feng")
    r = api.post(
        "/api/v1/training/questions",
        json={"kind": "single", "text": "q", "options": ["a", "b"], "answer": [1]},
        headers=head,
    )
    assert r.status_code == 201, r.text
    r = api.post(
        "/api/v1/training/exams",
        json={"key": "e1", "title": "t", "question_count": 1},
        headers=head,
    )
    assert r.status_code == 201, r.text
    clerk = login(api, "fire_deng")
    r = api.post(
        "/api/v1/training/exams",
        json={"key": "e2", "title": "t", "question_count": 1},
        headers=clerk,
    )
    assert r.status_code == 403
    r = api.post("/api/v1/training/exams/e1/start", headers=clerk)
    assert r.status_code == 201, r.text
    paper = r.json()
    assert "answer" not in paper["questions"][0]
    qid = str(paper["questions"][0]["id"])
    r = api.post(
        "/api/v1/training/attempts/submit",
        json={"attempt_id": paper["id"], "answers": {qid: 1}},
        headers=clerk,
    )
    assert r.status_code == 200, r.text
    assert r.json()["passed"] is True
    assert r.json()["certificate"]
    r = api.get("/api/v1/training/exams/e1/leaderboard", headers=clerk)
    assert r.json()[0]["username"] == "fire_deng"
    assert api.get("/api/v1/training/me/needs", headers=clerk).json() == []
    assert api.get("/api/v1/training/courses/nope", headers=clerk).status_code == 404


def test_pages_render_for_staff_and_heads(api: TestClient, city: Platform) -> None:
    with city.unit_of_work() as ctx:
        training.create_course(
            ctx, key="c1", title="审查要点", content_md="# 要点", activities=["现场核查"], actor="t"
        )
        training.assign_course(ctx, "c1", "fire_deng", due_on=DUE, actor="fire_feng")
        _bank(ctx)
        training.create_exam(ctx, key="k1", title="竞赛", kind="competition", question_count=2)
    login(api, "fire_deng")
    page = api.get("/training")
    assert page.status_code == 200, page.text
    assert "审查要点" in page.text
    assert api.get("/training/courses/c1").status_code == 200
    assert api.get("/training/leaderboard/k1").status_code == 200
    assert api.get("/training/team").status_code == 403
    login(api, "fire_feng")
    team = api.get("/training/team")
    assert team.status_code == 200, team.text
    assert "审查要点" in team.text


def test_staff_complete_an_assigned_course_on_the_page(api: TestClient, city: Platform) -> None:
    with city.unit_of_work() as ctx:
        training.create_course(
            ctx, key="c2", title="窗口礼仪", content_md="# 礼仪", skills=["service"], actor="t"
        )
        mine = training.assign_course(ctx, "c2", "fire_deng", due_on=DUE, actor="fire_feng")
        theirs = training.assign_course(ctx, "c2", "fire_cao", due_on=DUE, actor="fire_feng")
        mine_id, theirs_id = mine.id, theirs.id
    token = login(api, "fire_deng")["X-CSRF-Token"]
    page = api.get("/training")
    assert f'action="/training/assignments/{mine_id}/complete"' in page.text
    assert token in page.text
    url = f"/training/assignments/{mine_id}/complete"
    assert api.post(url, data={"csrf_token": "wrong"}).status_code == 403
    other = api.post(f"/training/assignments/{theirs_id}/complete", data={"csrf_token": token})
    assert other.status_code == 404
    done = api.post(url, data={"csrf_token": token}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"].startswith("/training")
    with city.unit_of_work() as ctx:
        deng, cao = (catalog.get_staff(ctx, u) for u in ("fire_deng", "fire_cao"))
        (view,) = training.assignments_for(ctx, [deng])
        assert view.completed_at is not None
        (untouched,) = training.assignments_for(ctx, [cao])
        assert untouched.completed_at is None
    after = api.get("/training")
    assert f'action="/training/assignments/{mine_id}/complete"' not in after.text
