"""Property-based fuzzing of every parser that takes outside input: ID and credit-code
validators, BPMN validation, the data hub's CSV reader and the event-log XES reader. Each
either answers or refuses with the platform's own error — never crashes."""

from __future__ import annotations

import tempfile
from datetime import date
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from onewindow.datahub.sources import SourceUnreadable, read_csv
from onewindow.intake.identifiers import validate_citizen_id, validate_credit_code
from onewindow.kit.errors import OneWindowError
from onewindow.security.masking import redact_text
from onewindow.workflow.engine import validate_bpmn

TODAY = date(2026, 3, 2)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ID_CHARS = st.sampled_from("0123456789XxABCDEFGHJKLMNPQRTUWXY -\u3000０１２")


@FAST
@given(st.one_of(st.text(max_size=40), st.text(ID_CHARS, min_size=15, max_size=20)))
def test_citizen_id_validator(s: str) -> None:
    try:
        result = validate_citizen_id(s, TODAY)
    except OneWindowError:
        return
    assert len(result.number) == 18


@FAST
@given(st.one_of(st.text(max_size=40), st.text(ID_CHARS, min_size=16, max_size=20)))
def test_credit_code_validator(s: str) -> None:
    try:
        result = validate_credit_code(s)
    except OneWindowError:
        return
    assert len(result.number) == 18


BPMN_HEAD = (
    b'<?xml version="1.0"?><definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" '
    b'id="d" targetNamespace="x"><process id="p" isExecutable="true">'
)
ELEMENTS = st.sampled_from(
    [
        b'<startEvent id="s"/>',
        b'<endEvent id="e"/>',
        b'<userTask id="t" name="&lt;script&gt;"/>',
        b'<sequenceFlow id="f" sourceRef="s" targetRef="t"/>',
        b'<sequenceFlow id="g" sourceRef="t" targetRef="e"/>',
        b'<exclusiveGateway id="x" default="nope"/>',
        b'<sequenceFlow id="c" sourceRef="x" targetRef="e"><conditionExpression>'
        b"__import__('os').system('x')</conditionExpression></sequenceFlow>",
        b"<!DOCTYPE x [<!ENTITY a SYSTEM 'file:///etc/passwd'>]>",
        b"&a;",
        b"<unclosed>",
    ]
)


@FAST
@given(st.lists(ELEMENTS, max_size=8), st.binary(max_size=40))
def test_bpmn_validation(parts: list[bytes], junk: bytes) -> None:
    xml = BPMN_HEAD + b"".join(parts) + b"</process></definitions>" + junk
    problems = validate_bpmn(xml)
    assert all(p.message for p in problems)


@FAST
@given(st.binary(max_size=300))
def test_bpmn_validation_on_bytes(data: bytes) -> None:
    assert isinstance(validate_bpmn(data), list)


CSV_CELLS = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12)


@FAST
@given(st.one_of(st.binary(max_size=300), st.lists(st.lists(CSV_CELLS, max_size=4), max_size=6)))
def test_datahub_csv_reader(data: bytes | list[list[str]]) -> None:
    if isinstance(data, list):
        data = "\n".join(",".join(row) for row in data).encode("utf-8")
    try:
        rows = read_csv(data)
    except (SourceUnreadable, OneWindowError):
        return
    for _, values in rows.rows:
        assert isinstance(values, dict)


@FAST
@given(st.text(max_size=200))
def test_redaction_never_grows_secrets(text: str) -> None:
    out = redact_text(text)
    assert redact_text(out) == out


XES_PIECES = st.sampled_from(
    [
        '<trace><string key="concept:name" value="c1"/>',
        '<event><string key="concept:name" value="a"/>',
        '<date key="time:timestamp" value="2026-03-02T09:00:00+08:00"/>',
        '<date key="time:timestamp" value="not a date"/>',
        '<int key="n" value="x"/>',
        "</event>",
        "</trace>",
        "<!-- c -->",
        "&unknown;",
    ]
)


@FAST
@given(st.lists(XES_PIECES, max_size=10))
def test_xes_reader(pieces: list[str]) -> None:
    importers = pytest.importorskip("onewindow.mining.importers")
    body = '<?xml version="1.0"?><log xes.version="1.0">' + "".join(pieces) + "</log>"
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "log.xes"
        path.write_text(body, encoding="utf-8")
        try:
            importers.read_xes(path)
        except OneWindowError:
            return
