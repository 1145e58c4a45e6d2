"""Exam rules (考试): paper drawing and grading, pure functions."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from onewindow.kit.errors import ValidationFailed

__all__ = ["KINDS", "QuestionSpec", "check_question", "draw_paper", "grade", "is_correct"]

KINDS: Final = ("single", "multiple", "true_false")


@dataclass(frozen=True)
class QuestionSpec:
    id: int
    kind: str
    options: tuple[str, ...]
    answer: tuple[int, ...]
    tags: tuple[str, ...] = ()
    points: int = 1


def check_question(kind: str, options: Sequence[str], answer: Sequence[int]) -> None:
    """Raises ValidationFailed when the question cannot be graded as written."""

    def bad(en: str, zh: str) -> ValidationFailed:
        return ValidationFailed(en, message_zh=zh, code="training.question_invalid")

    if kind not in KINDS:
        raise bad(f"question kind must be one of {', '.join(KINDS)}", "题型须为单选、多选或判断")
    if kind == "true_false" and len(options) != 2:
        raise bad("a true/false question has exactly two options", "判断题须有两个选项")
    if len(options) < 2:
        raise bad("a question needs at least two options", "试题至少需要两个选项")
    if (
        not answer
        or any(not 0 <= a < len(options) for a in answer)
        or len(set(answer)) != len(answer)
    ):
        raise bad("the answer must name existing options", "答案须为已有选项")
    if kind in ("single", "true_false") and len(answer) != 1:
        raise bad(
            "single choice and true/false have one right answer", "单选题与判断题只有一个答案"
        )


def draw_paper(
    bank: Sequence[QuestionSpec], count: int, tags: Sequence[str], rng: random.Random
) -> list[int]:
    """``count`` distinct questions with any of ``tags`` (all questions when no tags).

    Raises:
        ValidationFailed: the bank holds fewer matching questions than the paper needs.
    """
    wanted = set(tags)
    pool = [q.id for q in bank if not wanted or wanted & set(q.tags)]
    if len(pool) < count:
        raise ValidationFailed(
            f"the question bank has {len(pool)} matching questions, the paper needs {count}",
            message_zh=f"题库中符合条件的试题只有 {len(pool)} 道，试卷需要 {count} 道",
            code="training.bank_too_small",
            details={"available": len(pool), "needed": count},
        )
    return rng.sample(pool, count)


def is_correct(question: QuestionSpec, given: Any) -> bool:
    """All or nothing: a multiple-choice answer must name exactly the right options."""
    if isinstance(given, int) and not isinstance(given, bool):
        chosen = {given}
    elif isinstance(given, list | tuple):
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in given):
            return False
        chosen = set(given)
    else:
        return False
    return chosen == set(question.answer)


def grade(paper: Sequence[QuestionSpec], answers: Mapping[str, Any]) -> int:
    """Score in percent (rounded down) of the points available on the paper."""
    total = sum(q.points for q in paper)
    if not total:
        return 0
    got = sum(q.points for q in paper if is_correct(q, answers.get(str(q.id))))
    return got * 100 // total
