"""Every query of the training domain."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

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


def course_by_key(session: Session, key: str) -> Course | None:
    return session.scalars(select(Course).where(Course.key == key)).one_or_none()


def courses(session: Session) -> Sequence[Course]:
    return session.scalars(select(Course).order_by(Course.id)).all()


def assignment(session: Session, course_id: int, staff_id: int) -> Assignment | None:
    return session.scalars(
        select(Assignment).where(Assignment.course_id == course_id, Assignment.staff_id == staff_id)
    ).one_or_none()


def assignments_of_staff(session: Session, staff_ids: Sequence[int]) -> Sequence[Assignment]:
    return session.scalars(
        select(Assignment).where(Assignment.staff_id.in_(staff_ids)).order_by(Assignment.due_on)
    ).all()


def assignments_of_course(session: Session, course_id: int) -> Sequence[Assignment]:
    return session.scalars(select(Assignment).where(Assignment.course_id == course_id)).all()


def plans_of_department(session: Session, department_id: int) -> Sequence[Plan]:
    return session.scalars(
        select(Plan).where(Plan.department_id == department_id).order_by(Plan.id.desc())
    ).all()


def questions(session: Session) -> Sequence[Question]:
    return session.scalars(select(Question).order_by(Question.id)).all()


def questions_by_id(session: Session, ids: Sequence[int]) -> dict[int, Question]:
    rows = session.scalars(select(Question).where(Question.id.in_(ids))).all()
    return {q.id: q for q in rows}


def exam_by_key(session: Session, key: str) -> Exam | None:
    return session.scalars(select(Exam).where(Exam.key == key)).one_or_none()


def exams(session: Session) -> Sequence[Exam]:
    return session.scalars(select(Exam).order_by(Exam.id)).all()


def attempts(session: Session, exam_id: int, staff_id: int | None = None) -> Sequence[Attempt]:
    query = select(Attempt).where(Attempt.exam_id == exam_id)
    if staff_id is not None:
        query = query.where(Attempt.staff_id == staff_id)
    return session.scalars(query.order_by(Attempt.id)).all()


def attempts_of_staff(session: Session, staff_id: int) -> Sequence[Attempt]:
    return session.scalars(
        select(Attempt).where(Attempt.staff_id == staff_id).order_by(Attempt.id.desc())
    ).all()


def attempt_for_update(session: Session, attempt_id: int) -> Attempt | None:
    return session.scalars(
        select(Attempt).where(Attempt.id == attempt_id).with_for_update()
    ).one_or_none()


def certificate(session: Session, exam_id: int, staff_id: int) -> Certificate | None:
    return session.scalars(
        select(Certificate).where(Certificate.exam_id == exam_id, Certificate.staff_id == staff_id)
    ).one_or_none()


def certificates_of_staff(session: Session, staff_id: int) -> Sequence[Certificate]:
    return session.scalars(select(Certificate).where(Certificate.staff_id == staff_id)).all()


def certificate_count(session: Session) -> int:
    return int(session.scalar(select(func.count(Certificate.id))) or 0)


def sessions(session: Session) -> Sequence[SharingSession]:
    return session.scalars(select(SharingSession).order_by(SharingSession.scheduled_at)).all()


def attendance(session: Session, session_id: int) -> Sequence[Attendance]:
    return session.scalars(select(Attendance).where(Attendance.session_id == session_id)).all()


def attended(session: Session, session_id: int, staff_id: int) -> Attendance | None:
    return session.scalars(
        select(Attendance).where(
            Attendance.session_id == session_id, Attendance.staff_id == staff_id
        )
    ).one_or_none()
