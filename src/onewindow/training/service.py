"""Training (培训): needs from the event log, courses and assignments, exams, competitions,
sharing sessions, and the measured effect of a course. Services flush, never commit."""

from __future__ import annotations

import random
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import polars as pl

from onewindow.catalog import service as catalog
from onewindow.catalog.models import Staff
from onewindow.eventlog import service as eventlog
from onewindow.kit.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from onewindow.kit.platform import Ctx
from onewindow.training import bpmn_diff
from onewindow.training import repository as repo
from onewindow.training.effect import Effect, did_from_completions
from onewindow.training.exams import QuestionSpec, check_question, draw_paper, grade
from onewindow.training.models import (
    Assignment,
    Attempt,
    Attendance,
    Certificate,
    Course,
    Exam,
    Plan,
    Question,
    SharingSession,
)
from onewindow.training.needs import Need, find_needs
from onewindow.training.profile import DEFAULT_MIN_CASES, Completion, Profile, completions, profile

# Columns of our own log the profile reads; attributes of other shapes are left out.
_LOG_TEXT = (
    "case:concept:name",
    "concept:name",
    "lifecycle:transition",
    "org:resource",
    "org:group",
    "event_type",
    "decision",
    "task",
    "rating",
)
LATE_SUBMISSION_GRACE = timedelta(seconds=30)  # network latency, not extra time


# --------------------------------------------------------------------------- the log


def platform_log(ctx: Ctx, *, since: datetime | None = None) -> pl.DataFrame:
    """The platform's own event log as an XES-named frame (only the columns we read)."""
    columns: dict[str, list[Any]] = {name: [] for name in (*_LOG_TEXT, "time:timestamp")}
    for row in eventlog.iter_rows(ctx, since=since):
        for name in _LOG_TEXT:
            value = row.get(name)
            columns[name].append(None if value is None else str(value))
        columns["time:timestamp"].append(row["time:timestamp"])
    schema: dict[str, Any] = {name: pl.String for name in _LOG_TEXT}
    schema["time:timestamp"] = pl.Datetime("us", "UTC")
    return pl.DataFrame(columns, schema=schema)


def platform_profile(ctx: Ctx, *, min_cases: int = DEFAULT_MIN_CASES) -> Profile:
    key = ("training.profile", min_cases)
    if key not in ctx.memo:
        ctx.memo[key] = profile(platform_log(ctx), min_cases=min_cases)
    result: Profile = ctx.memo[key]
    return result


def _course_map(ctx: Ctx) -> dict[tuple[str, str], str]:
    out: dict[tuple[str, str], str] = {}
    for course in repo.courses(ctx.session):
        if not course.active or course.kind != "standard":
            continue
        for activity in course.activities:
            for metric in course.metrics or ["*"]:
                out.setdefault((activity, metric), course.title)
    return out


def _course_for(ctx: Ctx, activity: str, metric: str) -> Course | None:
    fallback = None
    for course in repo.courses(ctx.session):
        if course.active and course.kind == "standard" and activity in course.activities:
            if metric in course.metrics:
                return course
            if not course.metrics:
                fallback = fallback or course
    return fallback


def needs(
    ctx: Ctx,
    *,
    department_code: str | None = None,
    username: str | None = None,
    min_cases: int = DEFAULT_MIN_CASES,
) -> list[Need]:
    """Training needs in the platform's own log, for a department's staff or one person."""
    found = find_needs(platform_profile(ctx, min_cases=min_cases), courses=_course_map(ctx))
    if username is not None:
        return [n for n in found if n.resource == username]
    if department_code is not None:
        team = {s.username for s in catalog.list_staff(ctx, department_code)}
        return [n for n in found if n.resource in team]
    return found


# --------------------------------------------------------------------------- courses


def known_activities(ctx: Ctx) -> set[str]:
    """Names of the user tasks of every current process version."""
    names: set[str] = set()
    for service in catalog.list_services(ctx):
        for task in catalog.service_user_tasks(ctx, service):
            if task.get("name"):
                names.add(str(task["name"]))
    return names


def stale_activities(ctx: Ctx, course: Course) -> list[str]:
    known = known_activities(ctx)
    return [a for a in course.activities if a not in known]


def get_course(ctx: Ctx, key: str) -> Course:
    course = repo.course_by_key(ctx.session, key)
    if course is None:
        raise NotFound(f"No course {key!r}", message_zh=f"课程 {key} 不存在", code="course.unknown")
    return course


def list_courses(ctx: Ctx) -> Sequence[Course]:
    return repo.courses(ctx.session)


def create_course(
    ctx: Ctx,
    *,
    key: str,
    title: str,
    content_md: str,
    activities: Sequence[str] = (),
    skills: Sequence[str] = (),
    metrics: Sequence[str] = (),
    attachments: Sequence[dict[str, Any]] = (),
    kind: str = "standard",
    source: dict[str, Any] | None = None,
    check_activities: bool = True,
    actor: str,
) -> Course:
    """Raises ValidationFailed (``training.activity_unknown``) for an activity no current
    process has, Conflict for a key in use."""
    if repo.course_by_key(ctx.session, key) is not None:
        raise Conflict(
            f"Course {key!r} exists", message_zh=f"课程 {key} 已存在", code="course.exists"
        )
    if check_activities and activities:
        unknown = sorted(set(activities) - known_activities(ctx))
        if unknown:
            raise ValidationFailed(
                f"No current process has the activity {', '.join(unknown)}",
                message_zh=f"现行流程中没有环节「{'、'.join(unknown)}」",
                code="training.activity_unknown",
                details={"unknown": unknown},
            )
    course = Course(
        key=key,
        title=title,
        content_md=content_md,
        activities=list(activities),
        skills=list(skills),
        metrics=list(metrics),
        attachments=list(attachments),
        kind=kind,
        source=source or {},
        created_by=actor,
        created_at=ctx.clock.now(),
    )
    ctx.session.add(course)
    ctx.session.flush()
    return course


def assign_course(
    ctx: Ctx, course_key: str, username: str, *, due_on: date, reason: str = "", actor: str
) -> Assignment:
    """Assign once; assigning again returns the existing assignment unchanged."""
    course = get_course(ctx, course_key)
    staff = catalog.get_staff(ctx, username)
    existing = repo.assignment(ctx.session, course.id, staff.id)
    if existing is not None:
        return existing
    item = Assignment(
        course_id=course.id,
        staff_id=staff.id,
        reason=reason[:500],
        due_on=due_on,
        assigned_by=actor,
        assigned_at=ctx.clock.now(),
    )
    ctx.session.add(item)
    ctx.session.flush()
    return item


def complete_assignment(ctx: Ctx, assignment_id: int, *, actor: Staff) -> Assignment:
    """The learner marks their course done; someone else's assignment is 404."""
    item = ctx.session.get(Assignment, assignment_id)
    if item is None or item.staff_id != actor.id:
        raise NotFound("No such assignment", message_zh="培训任务不存在", code="assignment.unknown")
    if item.completed_at is None:
        item.completed_at = ctx.clock.now()
        ctx.session.flush()
    return item


@dataclass
class AssignmentView:
    id: int
    course_key: str
    title: str
    due_on: date
    reason: str
    completed_at: datetime | None
    overdue: bool
    stale: list[str] = field(default_factory=list)
    username: str = ""
    staff_name: str = ""


def assignments_for(ctx: Ctx, staff: Sequence[Staff]) -> list[AssignmentView]:
    today = ctx.clock.now().astimezone(ctx.calendar.zone).date()
    courses = {c.id: c for c in repo.courses(ctx.session)}
    people = {s.id: s for s in staff}
    out = []
    for a in repo.assignments_of_staff(ctx.session, [s.id for s in staff]):
        course = courses[a.course_id]
        out.append(
            AssignmentView(
                a.id,
                course.key,
                course.title,
                a.due_on,
                a.reason,
                a.completed_at,
                a.completed_at is None and a.due_on < today,
                username=people[a.staff_id].username,
                staff_name=people[a.staff_id].name,
            )
        )
    return out


def assign_to_team(
    ctx: Ctx, course_key: str, username: str, *, due_on: date, reason: str = "", actor: Staff
) -> Assignment:
    """A head assigns a course to someone of their own department (an admin: anyone).

    Raises:
        NotFound: no such course (or it is withdrawn) or member of staff.
        PermissionDenied: the member of staff works in another department.
        ValidationFailed: the due date has passed.
    """
    course = get_course(ctx, course_key)
    if not course.active:
        raise NotFound(
            f"No course {course_key!r}",
            message_zh=f"课程 {course_key} 不存在",
            code="course.unknown",
        )
    staff = catalog.get_staff(ctx, username)
    if staff.department_id != actor.department_id and "admin" not in actor.roles:
        raise PermissionDenied(
            "You can assign courses only to your own department's staff",
            message_zh="只能给本部门人员分配课程",
            code="training.not_your_team",
        )
    today = ctx.clock.now().astimezone(ctx.calendar.zone).date()
    if due_on < today:
        raise ValidationFailed(
            f"The due date {due_on.isoformat()} has passed",
            message_zh=f"截止日期 {due_on.isoformat()} 已过",
            code="training.due_passed",
        )
    return assign_course(
        ctx, course.key, staff.username, due_on=due_on, reason=reason, actor=actor.username
    )


def plan_basis(ctx: Ctx, staff: Staff) -> dict[str, dict[str, Any]]:
    """Per course key, the approved plan item that assigned it to ``staff`` (newest plan
    first): the need behind the assignment, for the page to phrase in the reader's words."""
    out: dict[str, dict[str, Any]] = {}
    for plan in repo.plans_of_department(ctx.session, staff.department_id):
        if plan.status != "approved":
            continue
        for item in plan.items:
            key = item.get("course_key")
            if key and item.get("username") == staff.username:
                out.setdefault(key, item)
    return out


# --------------------------------------------------------------------------- what changed


def _called_bpmn(ctx: Ctx, *files: str) -> dict[str, bytes]:
    """The latest catalogue version of each process the files' call activities call, so
    their steps show in the diff (the same version on both sides: the called process's own
    changes are its own course)."""
    keys = {key for xml in files for key in catalog.bpmn_keys(xml.encode("utf-8"))[1]}
    out: dict[str, bytes] = {}
    for key in sorted(keys):
        versions = catalog.process_versions(ctx, key)
        if versions:
            out[key] = versions[-1].bpmn_xml.encode("utf-8")
    return out


def what_changed_course(
    ctx: Ctx, process_key: str, from_version: int, to_version: int, *, due_on: date, actor: str
) -> tuple[Course, list[Assignment]]:
    """Generate the "what changed" course between two versions of a process and assign it to
    the staff of every department whose lane the change touches.

    Raises:
        NotFound: a version does not exist.
    """
    versions = {p.version: p for p in catalog.process_versions(ctx, process_key)}
    missing = [v for v in (from_version, to_version) if v not in versions]
    if missing:
        raise NotFound(
            f"Process {process_key} has no version {missing[0]}",
            message_zh=f"流程 {process_key} 没有第 {missing[0]} 版",
            code="process.unknown",
        )
    old, new = versions[from_version], versions[to_version]
    diff = bpmn_diff.diff_processes(
        old.bpmn_xml, new.bpmn_xml, _called_bpmn(ctx, old.bpmn_xml, new.bpmn_xml)
    )
    title = f"{new.name}：v{from_version}→v{to_version} 变更要点"
    key = f"wc-{process_key}-{from_version}-{to_version}"[:64]
    course = repo.course_by_key(ctx.session, key) or create_course(
        ctx,
        key=key,
        title=title,
        content_md=bpmn_diff.render_markdown(title, diff),
        activities=sorted(diff.activities()),
        skills=["process_change"],
        kind="what_changed",
        source={"process_key": process_key, "from": from_version, "to": to_version},
        check_activities=False,
        actor=actor,
    )
    lanes = diff.affected_lanes()
    departments: set[str] = set()
    for service in catalog.list_services(ctx):
        if service.process_definition.process_key != process_key:
            continue
        for lane in lanes:
            code = catalog.department_for_lane(service, lane)
            if code:
                departments.add(code)
    assigned = [
        assign_course(
            ctx, key, s.username, due_on=due_on, reason="流程变更 / process changed", actor=actor
        )
        for code in sorted(departments)
        for s in catalog.list_staff(ctx, code)
        if s.active
    ]
    return course, assigned


# --------------------------------------------------------------------------- plans


def propose_plan(
    ctx: Ctx, department_code: str, *, due_in_days: int = 14, min_cases: int = DEFAULT_MIN_CASES
) -> Plan:
    """A plan from the department's current needs: one item per need with a course."""
    dept = catalog.get_department(ctx, department_code)
    today = ctx.clock.now().astimezone(ctx.calendar.zone).date()
    items = []
    for need in needs(ctx, department_code=department_code, min_cases=min_cases):
        course = _course_for(ctx, need.activity, need.metric)
        items.append(
            {
                "username": need.resource,
                "activity": need.activity,
                "metric": need.metric,
                "score": round(need.score, 2),
                "value": need.value,
                "peer_median": need.peer_median,
                "cases": need.cases,
                "reason": need.message_zh,
                "course_key": course.key if course else None,
                "due_on": (today + timedelta(days=due_in_days)).isoformat(),
            }
        )
    plan = Plan(department_id=dept.id, items=items, created_at=ctx.clock.now())
    ctx.session.add(plan)
    ctx.session.flush()
    return plan


def latest_plan(ctx: Ctx, department_code: str) -> Plan | None:
    plans = repo.plans_of_department(ctx.session, catalog.get_department(ctx, department_code).id)
    return plans[0] if plans else None


def approve_plan(ctx: Ctx, plan_id: int, *, actor: Staff) -> list[Assignment]:
    """The department's head approves: every item with a course becomes an assignment.

    Raises:
        NotFound: no such plan, or it belongs to another department (unless admin).
        Conflict: already approved.
    """
    plan = ctx.session.get(Plan, plan_id)
    if plan is None or (plan.department_id != actor.department_id and "admin" not in actor.roles):
        raise NotFound("No such plan", message_zh="培训计划不存在", code="plan.unknown")
    if plan.status == "approved":
        raise Conflict(
            "The plan is already approved", message_zh="该计划已批准", code="plan.approved"
        )
    plan.status, plan.approved_by, plan.approved_at = "approved", actor.username, ctx.clock.now()
    out = [
        assign_course(
            ctx,
            item["course_key"],
            item["username"],
            due_on=date.fromisoformat(item["due_on"]),
            reason=item["reason"],
            actor=actor.username,
        )
        for item in plan.items
        if item.get("course_key")
    ]
    ctx.session.flush()
    return out


# --------------------------------------------------------------------------- exams


def add_question(
    ctx: Ctx,
    *,
    kind: str,
    text: str,
    options: Sequence[str],
    answer: Sequence[int],
    tags: Sequence[str] = (),
    points: int = 1,
) -> Question:
    check_question(kind, options, answer)
    q = Question(
        kind=kind,
        text=text,
        options=list(options),
        answer=list(answer),
        tags=list(tags),
        points=max(points, 1),
    )
    ctx.session.add(q)
    ctx.session.flush()
    return q


def create_exam(
    ctx: Ctx,
    *,
    key: str,
    title: str,
    question_count: int,
    tags: Sequence[str] = (),
    pass_mark: int = 60,
    minutes: int = 30,
    max_attempts: int = 3,
    kind: str = "exam",
    course_key: str | None = None,
    department_code: str | None = None,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
) -> Exam:
    if repo.exam_by_key(ctx.session, key) is not None:
        raise Conflict(f"Exam {key!r} exists", message_zh=f"考试 {key} 已存在", code="exam.exists")
    if kind not in ("exam", "competition") or question_count < 1 or not 0 <= pass_mark <= 100:
        raise ValidationFailed(
            "kind must be exam or competition, at least one question, pass mark 0-100",
            message_zh="类型须为考试或竞赛，至少一道题，及格线 0–100",
            code="exam.invalid",
        )
    exam = Exam(
        key=key,
        title=title,
        kind=kind,
        tags=list(tags),
        question_count=question_count,
        pass_mark=pass_mark,
        minutes=max(minutes, 1),
        max_attempts=max(max_attempts, 1),
        course_id=get_course(ctx, course_key).id if course_key else None,
        department_id=catalog.get_department(ctx, department_code).id if department_code else None,
        opens_at=opens_at,
        closes_at=closes_at,
        created_at=ctx.clock.now(),
    )
    ctx.session.add(exam)
    ctx.session.flush()
    return exam


def get_exam(ctx: Ctx, key: str) -> Exam:
    exam = repo.exam_by_key(ctx.session, key)
    if exam is None:
        raise NotFound(f"No exam {key!r}", message_zh=f"考试 {key} 不存在", code="exam.unknown")
    return exam


def list_exams(ctx: Ctx) -> Sequence[Exam]:
    return repo.exams(ctx.session)


def _spec(q: Question) -> QuestionSpec:
    return QuestionSpec(q.id, q.kind, tuple(q.options), tuple(q.answer), tuple(q.tags), q.points)


def start_attempt(ctx: Ctx, exam_key: str, *, actor: Staff, seed: int | None = None) -> Attempt:
    """Draw a random paper and start the clock.

    Raises:
        Conflict: already certified, no attempts left, or a competition not open now.
        ValidationFailed: the bank is too small for the paper.
    """
    exam = get_exam(ctx, exam_key)
    now = ctx.clock.now()
    if exam.kind == "competition" and (
        (exam.opens_at and now < exam.opens_at) or (exam.closes_at and now > exam.closes_at)
    ):
        raise Conflict(
            "The competition is not open now", message_zh="竞赛不在开放时间内", code="exam.closed"
        )
    if exam.department_id is not None and exam.department_id != actor.department_id:
        raise NotFound(
            f"No exam {exam_key!r}", message_zh=f"考试 {exam_key} 不存在", code="exam.unknown"
        )
    if exam.kind == "exam" and repo.certificate(ctx.session, exam.id, actor.id) is not None:
        raise Conflict("You have passed this exam", message_zh="您已通过该考试", code="exam.passed")
    earlier = repo.attempts(ctx.session, exam.id, actor.id)
    if len(earlier) >= exam.max_attempts:
        raise Conflict(
            f"No attempts left ({exam.max_attempts} allowed)",
            message_zh=f"考试次数已用完（共 {exam.max_attempts} 次）",
            code="exam.no_attempts_left",
        )
    rng = random.Random(seed) if seed is not None else random.Random(secrets.randbits(64))  # noqa: S311
    paper = draw_paper(
        [_spec(q) for q in repo.questions(ctx.session)], exam.question_count, exam.tags, rng
    )
    attempt = Attempt(
        exam_id=exam.id,
        staff_id=actor.id,
        number=len(earlier) + 1,
        question_ids=paper,
        started_at=now,
        due_at=now + timedelta(minutes=exam.minutes),
    )
    ctx.session.add(attempt)
    ctx.session.flush()
    return attempt


def get_attempt(ctx: Ctx, attempt_id: int, *, actor: Staff) -> Attempt:
    """One of the actor's own papers; anyone else's is 404."""
    attempt = ctx.session.get(Attempt, attempt_id)
    if attempt is None or attempt.staff_id != actor.id:
        raise NotFound("No such exam paper", message_zh="答卷不存在", code="attempt.unknown")
    return attempt


def exam_of(ctx: Ctx, attempt: Attempt) -> Exam:
    exam = ctx.session.get(Exam, attempt.exam_id)
    assert exam is not None  # noqa: S101 - foreign key
    return exam


@dataclass(frozen=True)
class PaperQuestion:
    """What the examinee's page gets of a question: never its answer."""

    id: int
    kind: str
    text: str
    options: tuple[str, ...]


def paper_view(ctx: Ctx, attempt: Attempt) -> list[PaperQuestion]:
    return [PaperQuestion(q.id, q.kind, q.text, tuple(q.options)) for q in paper_of(ctx, attempt)]


@dataclass(frozen=True)
class ExamStanding:
    exam: Exam
    attempts: list[Attempt]
    certificate: Certificate | None
    open_attempt: Attempt | None  # started, not submitted, still within its time

    @property
    def attempts_left(self) -> int:
        return max(self.exam.max_attempts - len(self.attempts), 0)


def exam_standing(ctx: Ctx, exam_key: str, staff: Staff) -> ExamStanding:
    """The examinee's papers of one exam so far (a department's exam is 404 to others)."""
    exam = get_exam(ctx, exam_key)
    if exam.department_id is not None and exam.department_id != staff.department_id:
        raise NotFound(
            f"No exam {exam_key!r}", message_zh=f"考试 {exam_key} 不存在", code="exam.unknown"
        )
    attempts = list(repo.attempts(ctx.session, exam.id, staff.id))
    now = ctx.clock.now()
    running = [a for a in attempts if a.submitted_at is None and now <= a.due_at]
    return ExamStanding(
        exam,
        attempts,
        repo.certificate(ctx.session, exam.id, staff.id),
        running[-1] if running else None,
    )


def paper_of(ctx: Ctx, attempt: Attempt) -> list[Question]:
    by_id = repo.questions_by_id(ctx.session, attempt.question_ids)
    return [by_id[i] for i in attempt.question_ids if i in by_id]


def submit_attempt(
    ctx: Ctx, attempt_id: int, answers: dict[str, Any], *, actor: Staff
) -> tuple[Attempt, Certificate | None]:
    """Grade the paper; a pass issues the certificate (once per exam and person).

    Raises:
        NotFound: no such attempt of the actor's.
        Conflict: already submitted (``exam.submitted``) or past its time (``exam.time_over``).
    """
    attempt = repo.attempt_for_update(ctx.session, attempt_id)
    if attempt is None or attempt.staff_id != actor.id:
        raise NotFound("No such exam paper", message_zh="答卷不存在", code="attempt.unknown")
    if attempt.submitted_at is not None:
        raise Conflict(
            "This paper was already submitted", message_zh="该答卷已提交", code="exam.submitted"
        )
    now = ctx.clock.now()
    if now > attempt.due_at + LATE_SUBMISSION_GRACE:
        raise Conflict(
            f"Time was up at {attempt.due_at.isoformat()}; the paper was not accepted",
            message_zh="考试时间已到，答卷未被接受",
            code="exam.time_over",
            details={"due_at": attempt.due_at.isoformat()},
        )
    exam = ctx.session.get(Exam, attempt.exam_id)
    assert exam is not None  # noqa: S101 - foreign key
    score = grade([_spec(q) for q in paper_of(ctx, attempt)], answers)
    attempt.answers = {
        k: v for k, v in answers.items() if k in {str(i) for i in attempt.question_ids}
    }
    attempt.submitted_at, attempt.score, attempt.passed = now, score, score >= exam.pass_mark
    cert = None
    if attempt.passed and repo.certificate(ctx.session, exam.id, actor.id) is None:
        cert = Certificate(
            number=f"TC{now:%Y%m%d}{repo.certificate_count(ctx.session) + 1:06d}",
            exam_id=exam.id,
            staff_id=actor.id,
            attempt_id=attempt.id,
            score=score,
            issued_at=now,
        )
        ctx.session.add(cert)
    ctx.session.flush()
    return attempt, cert


def my_exams(ctx: Ctx, staff: Staff) -> dict[str, Any]:
    exams = {e.id: e for e in repo.exams(ctx.session)}
    return {
        "exams": [e for e in exams.values() if e.department_id in (None, staff.department_id)],
        "attempts": [(exams[a.exam_id], a) for a in repo.attempts_of_staff(ctx.session, staff.id)],
        "certificates": [
            (exams[c.exam_id], c) for c in repo.certificates_of_staff(ctx.session, staff.id)
        ],
    }


@dataclass(frozen=True)
class LeaderRow:
    rank: int
    username: str
    name: str
    department: str
    score: int
    seconds: float


def leaderboard(ctx: Ctx, exam_key: str, *, department_code: str | None = None) -> list[LeaderRow]:
    """Best submitted score per person, ties broken by the faster paper; per department or
    city-wide."""
    exam = get_exam(ctx, exam_key)
    staff_by_id = {s.id: s for s in catalog.list_staff(ctx, department_code)}
    best: dict[int, tuple[int, float]] = {}
    for a in repo.attempts(ctx.session, exam.id):
        if a.submitted_at is None or a.score is None or a.staff_id not in staff_by_id:
            continue
        entry = (a.score, (a.submitted_at - a.started_at).total_seconds())
        if a.staff_id not in best or (entry[0], -entry[1]) > (
            best[a.staff_id][0],
            -best[a.staff_id][1],
        ):
            best[a.staff_id] = entry
    ordered = sorted(best.items(), key=lambda kv: (-kv[1][0], kv[1][1]))
    return [
        LeaderRow(
            i + 1,
            staff_by_id[sid].username,
            staff_by_id[sid].name,
            staff_by_id[sid].department.code,
            score,
            seconds,
        )
        for i, (sid, (score, seconds)) in enumerate(ordered)
    ]


# --------------------------------------------------------------------------- sessions


def schedule_session(
    ctx: Ctx,
    *,
    title: str,
    topic: str,
    scheduled_at: datetime,
    department_code: str | None = None,
    actor: str,
) -> SharingSession:
    item = SharingSession(
        title=title,
        topic=topic,
        host=actor,
        scheduled_at=scheduled_at,
        created_at=ctx.clock.now(),
        department_id=catalog.get_department(ctx, department_code).id if department_code else None,
    )
    ctx.session.add(item)
    ctx.session.flush()
    return item


def list_sessions(ctx: Ctx) -> Sequence[SharingSession]:
    return repo.sessions(ctx.session)


def record_attendance(
    ctx: Ctx, session_id: int, usernames: Sequence[str], *, actor: str
) -> list[Attendance]:
    """Mark who attended; marking someone twice keeps the first record."""
    item = ctx.session.get(SharingSession, session_id)
    if item is None:
        raise NotFound("No such session", message_zh="分享会不存在", code="session.unknown")
    out = []
    for name in usernames:
        staff = catalog.get_staff(ctx, name)
        row = repo.attended(ctx.session, item.id, staff.id)
        if row is None:
            row = Attendance(
                session_id=item.id,
                staff_id=staff.id,
                recorded_by=actor,
                recorded_at=ctx.clock.now(),
            )
            ctx.session.add(row)
        out.append(row)
    ctx.session.flush()
    return out


def attendance_of(ctx: Ctx, session_id: int) -> list[str]:
    staff = {s.id: s.username for s in catalog.list_staff(ctx)}
    return [staff.get(a.staff_id, "?") for a in repo.attendance(ctx.session, session_id)]


# --------------------------------------------------------------------------- effect


def course_effect(
    ctx: Ctx, course_key: str, *, metric: str = "handling_minutes", draws: int = 500
) -> dict[str, Effect]:
    """Per activity the course teaches: the difference-in-differences of ``metric``."""
    course = get_course(ctx, course_key)
    staff = {s.id: s.username for s in catalog.list_staff(ctx)}
    trained = {
        staff[a.staff_id]: a.completed_at
        for a in repo.assignments_of_course(ctx.session, course.id)
        if a.completed_at is not None and a.staff_id in staff
    }
    rows: list[Completion] = (
        ctx.memo.get("training.completions") or completions(platform_log(ctx))[0]
    )
    ctx.memo["training.completions"] = rows
    return {
        activity: did_from_completions(rows, activity, trained, metric=metric, draws=draws)
        for activity in course.activities
    }


def team_of(ctx: Ctx, department_code: str) -> list[Staff]:
    return [s for s in catalog.list_staff(ctx, department_code) if s.active]


def require_head_of(staff: Staff, department_code: str) -> None:
    """A head sees their own department's team; an admin any."""
    if "admin" in staff.roles:
        return
    if staff.department.code != department_code:
        raise PermissionDenied(
            "You lead another department", message_zh="您不是该部门负责人", code="permission.denied"
        )
