"""Intake rules as pure functions: completeness (一次性告知), reuse of what is on file (免提交)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Literal, Protocol

MaterialState = Literal["provided", "on_file", "missing", "optional"]


class RequiredMaterial(Protocol):
    @property
    def code(self) -> str: ...
    @property
    def name_zh(self) -> str: ...
    @property
    def name_en(self) -> str: ...
    @property
    def required(self) -> bool: ...
    @property
    def certificate(self) -> bool: ...


@dataclass(frozen=True)
class MaterialCheck:
    code: str
    name_zh: str
    name_en: str
    required: bool
    state: MaterialState


def completeness(
    materials: Iterable[RequiredMaterial],
    provided: Iterable[str],
    on_file: Mapping[str, date | None],
    today: date,
) -> list[MaterialCheck]:
    """Every material of a service with its state, in catalogue order.

    A certificate the applicant already has on file, still valid today, counts as supplied;
    anything else required and not provided is ``missing``, and *all* of them are reported at
    once so the applicant is told everything in one notice.
    """
    given = set(provided)
    out: list[MaterialCheck] = []
    for m in materials:
        expires = on_file.get(m.code, date.min)
        reusable = m.certificate and m.code in on_file and (expires is None or expires >= today)
        if m.code in given:
            state: MaterialState = "provided"
        elif reusable:
            state = "on_file"
        elif m.required:
            state = "missing"
        else:
            state = "optional"
        out.append(MaterialCheck(m.code, m.name_zh, m.name_en, m.required, state))
    return out


def missing(checks: Iterable[MaterialCheck]) -> list[MaterialCheck]:
    return [c for c in checks if c.state == "missing"]


def is_overdue(*, closed: bool, waiting_for_applicant: bool, deadline: date, today: date) -> bool:
    """超期: the one definition of an overdue case, used by every page, API and report.

    A case is overdue while it is open past its legal deadline (in working days, counted from
    the day the window accepts it: 行政许可法 §42; until then from submission). While it
    waits for the applicant's 补正 the clock stands still (行政许可法 §32: the time limit runs
    from complete materials), so a case waiting for the applicant is not overdue; its deadline
    moves by the working days it waited when the applicant answers.
    """
    return not closed and not waiting_for_applicant and deadline < today
