"""The OMG BPMN MIWG reference models (tests/data/bpmn-miwg), drawn by others: each pool,
marked executable, either runs a case to its end on the engine — driven here: user tasks
completed, messages delivered, timers fired, the case stored and restored after every step —
or is refused by validate, every problem one plain line naming its element.

``benchmarks/miwg_coverage.py`` prints the same outcomes as a table.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from onewindow.workflow.engine import EngineCase, ProcessProblem, compile_bpmn, validate_bpmn

MIWG = Path(__file__).parents[1] / "data" / "bpmn-miwg"
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# What the people (and systems) in the models answer: the invoice of C.1.0 is approved, the
# applicant of C.9.2 is asked for one document.
ANSWERS: dict[str, object] = {"approved": True, "clarified": "yes", "documents": ["passport"]}
# The processes a model's call activities call, from the other reference files (the catalogue's).
CALLS = {"C.9.2": {"requestDocument_en": "C.9.1"}}
MAX_STEPS = 200


@dataclass(frozen=True)
class Outcome:
    process_id: str
    ran: bool
    steps: int = 0
    problems: tuple[ProcessProblem, ...] = ()

    @property
    def summary(self) -> str:
        if self.ran:
            return f"runs to its end ({self.steps} steps)"
        first = self.problems[0]
        more = f" (+{len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"refused: {first.element_id}: {first.message}{more}"


def pools(xml: bytes) -> list[tuple[str, bytes]]:
    """The file once per process, that process alone marked executable."""
    root = etree.fromstring(xml)
    processes = root.findall(f"{{{BPMN_NS}}}process")
    out = []
    for chosen in processes:
        for process in processes:
            process.set("isExecutable", "true" if process is chosen else "false")
        out.append((str(chosen.get("id")), etree.tostring(root)))
    return out


def all_executable(xml: bytes) -> bytes:
    root = etree.fromstring(xml)
    for process in root.findall(f"{{{BPMN_NS}}}process"):
        process.set("isExecutable", "true")
    return etree.tostring(root)


def drive(xml: bytes, called: Mapping[str, bytes] | None = None) -> int:
    """Run a case of a validated file to its end; the number of steps it took.

    Raises AssertionError when the case cannot move on (nothing ready, awaited or due).
    """
    process = compile_bpmn(xml, called=called)
    others = {key: compile_bpmn(other) for key, other in (called or {}).items()}
    case = EngineCase.start(process, {}, T0, others)
    now = T0
    for step in range(MAX_STEPS):
        case = EngineCase.restore(process, case.dump(), others)
        if case.is_completed():
            return step
        if ready := case.ready_user_tasks():
            case.complete(ready[0].task_uuid, ANSWERS, now)
        elif waiting := case.waiting_messages():
            assert case.deliver(waiting[0], {}, now)
        elif (due := case.next_timer_due()) is not None:
            now = max(now, due) + timedelta(seconds=1)
            assert case.fired_timers(now)
        else:
            raise AssertionError(f"the case is stuck after {step} steps")
    raise AssertionError(f"the case did not end in {MAX_STEPS} steps")


def outcomes(path: Path) -> list[Outcome]:
    out = []
    called = {
        key: all_executable((MIWG / f"{name}.bpmn").read_bytes())
        for key, name in CALLS.get(path.stem, {}).items()
    }
    for process_id, xml in pools(path.read_bytes()):
        problems = validate_bpmn(xml, called=called)
        if problems:
            out.append(Outcome(process_id, False, problems=tuple(problems)))
        else:
            out.append(Outcome(process_id, True, steps=drive(xml, called)))
    return out


# Per file, per pool: None when it runs to its end, else (element id, words of the refusal).
EXPECTED: dict[str, list[tuple[str, str] | None]] = {
    "A.1.0": [None],
    "A.2.0": [
        ("_35fe57a7-1302-44e2-bf58-032f11af7ecb", "have no condition and are not the default")
    ],
    "A.2.1": [("_To9Z8zOCEeSknpIVFCxNIQ", "condition: empty")],
    "A.3.0": [("_1ae31d1b-2559-4f78-a3ec-47986a49db48", "sub-process is empty")],
    "A.4.0": [None, None],
    "A.4.1": [None, None],
    "B.1.0": [
        None,
        ("_e314751e-5c3a-41f2-a1ae-4cb99efa0916", "timer timeDate: empty"),
        ("_fa3a8e53-5be0-4f0b-8680-d2498e255209", "'global-task', which is not in the catalogue"),
        None,
    ],
    "B.2.0": [
        ("_cba8fbed-2bb6-40a9-8ac5-83e827ce9d9f", "event condition: empty"),
        ("_732c0641-b12f-448b-b9f8-a68b355782e3", "event condition: empty"),
        ("_6936f794-7bbb-4aa1-ae48-3a35bab4e2f4", "needs a loopCardinality"),
        None,
    ],
    "C.1.0": [("sid-0E349B8B-14A7-4565-988A-38F3A9B624D2", "timer has no timeDate"), None],
    "C.1.1": [("invoiceApproved", "condition \"bpmn:getDataObject('approved')\": syntax")],
    "C.2.0": [
        None,
        None,
        ("_29a5e7c6-e54e-4c61-ba35-59ae446a3462", "have no condition and are not the default"),
        None,
    ],
    "C.3.0": [
        ("_604be023-654c-44df-a64c-365254a100cd", "have no condition and are not the default")
    ],
    "C.4.0": [
        ("_f9e3cd76-809a-48b5-be1c-e84fc4324268", "have no condition and are not the default"),
        ("_e9306b3f-3a77-42e1-b53e-2ed8ee45486d", "nothing in the process throws this signal"),
        ("_3d4130c6-48c9-47fe-8e95-2eeb56060e2b", "nothing in the process throws this signal"),
        ("_94a62738-dc7a-49f6-81d8-f5642f7ae850", "nothing in the process throws this signal"),
    ],
    "C.5.0": [
        ("_138f9ebc-0211-4051-b7c0-1c55695d5246", "have no condition and are not the default"),
        ("_080399c9-3c91-44c6-b510-80367e23a5af", "have no condition and are not the default"),
    ],
    "C.6.0": [("_87baeef0-f32e-4a93-b802-fdd588aaf729", "timer timeDate: empty")],
    "C.7.0": [
        ("_26c40c03-5d1f-46c5-81f1-ddd485868125", "have no condition and are not the default")
    ],
    "C.8.0": [("_1a818a94-ba6f-413b-a7e8-6f8fd2a11e32", "business rule task has no decisionRef")],
    "C.8.1": [("_1a818a94-ba6f-413b-a7e8-6f8fd2a11e32", "business rule task has no decisionRef")],
    "C.9.0": [("SequenceFlow_Red", "FEEL: 'some' expressions are not supported")],
    "C.9.1": [None],
    "C.9.2": [None],  # calling C.9.1 (requestDocument_en), one instance per document
}

_LEAKS = re.compile(r"<Element|0x[0-9a-f]{6,}|Traceback|KeyError|TypeError|\{http")


def test_every_reference_model_is_listed() -> None:
    assert sorted(p.stem for p in MIWG.glob("*.bpmn")) == sorted(EXPECTED)
    assert (MIWG / "LICENSE.md").exists()


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_pool_runs_to_its_end_or_is_refused_in_plain_lines(name: str) -> None:
    results = outcomes(MIWG / f"{name}.bpmn")
    assert len(results) == len(EXPECTED[name])
    for result, expected in zip(results, EXPECTED[name], strict=True):
        if expected is None:
            assert result.ran, result.summary
            continue
        assert not result.ran, f"{result.process_id} ran, expected {expected}"
        element_id, words = expected
        assert result.problems[0].element_id == element_id, result.summary
        assert words in result.problems[0].message, result.summary
        for problem in result.problems:
            assert problem.element_id, problem
            assert "\n" not in problem.message
            assert not _LEAKS.search(problem.message), problem.message


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_pool_marked_executable_at_once_is_refused_in_plain_lines(name: str) -> None:
    problems = validate_bpmn(all_executable((MIWG / f"{name}.bpmn").read_bytes()))
    for problem in problems:
        assert problem.element_id, problem
        assert "\n" not in problem.message
        assert not _LEAKS.search(problem.message), problem.message
    several = [p for p in problems if "more than one executable process" in p.message]
    assert len(several) == (len(EXPECTED[name]) > 1)
    if name in ("A.4.0", "A.4.1"):  # both pools run alone: this is the one problem
        assert problems == several


def test_cli_validate_prints_one_line_for_a_refused_model(tmp_path: Path) -> None:
    from onewindow.cli.main import app

    model = tmp_path / "A.3.0.bpmn"
    model.write_bytes(all_executable((MIWG / "A.3.0.bpmn").read_bytes()))
    result = CliRunner().invoke(app, ["process", "validate", str(model)], terminal_width=400)
    assert result.exit_code == 1
    problem_lines = [line for line in result.output.splitlines() if str(model) in line]
    assert problem_lines == [
        f"{model}:_1ae31d1b-2559-4f78-a3ec-47986a49db48: sub-process is empty (drawn collapsed, "
        "with no steps inside): draw its steps, or make it a call activity to a process of the "
        "catalogue"
    ]
    assert "1 problem(s)" in result.output
