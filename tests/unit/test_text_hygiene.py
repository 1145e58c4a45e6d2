"""Text hygiene and JSON shape limits (kit.text), against reference computations."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from onewindow.kit.errors import ValidationFailed
from onewindow.kit.text import (
    ControlCharacter,
    JsonTooComplex,
    check_value,
    forbidden_character,
    json_shape_problem,
    parse_json_object,
)


def _depth(value: Any) -> int:
    """Reference: nesting depth of a parsed JSON value (a scalar is 0)."""
    if isinstance(value, dict):
        return 1 + max((_depth(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_depth(v) for v in value), default=0)
    return 0


def _longest_digits(value: Any) -> int:
    """Reference: the longest run of digits in the numbers of a parsed JSON value."""
    if isinstance(value, dict):
        return max((_longest_digits(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return max((_longest_digits(v) for v in value), default=0)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    runs = "".join(c if c.isdigit() else " " for c in json.dumps(value)).split()
    return max((len(r) for r in runs), default=0)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**40), 10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.sampled_from('ab"\\[]{}0123456789 中'), max_size=12),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(value=json_values)
def test_shape_matches_a_parse_of_the_same_text(value: Any) -> None:
    raw = json.dumps(value, ensure_ascii=False).encode()
    depth, digits = _depth(value), _longest_digits(value)
    assert json_shape_problem(raw, max_depth=depth, max_digits=max(digits, 1)) is None
    if depth:
        assert "nest" in str(json_shape_problem(raw, max_depth=depth - 1, max_digits=10**6))
    if digits > 1:
        assert "digits" in str(json_shape_problem(raw, max_depth=10**6, max_digits=digits - 1))


def test_hostile_shapes_are_found_without_parsing() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    assert "nest deeper than 32" in str(json_shape_problem(deep, max_depth=32, max_digits=32))
    unclosed = b'{"a":' * 100_000
    assert json_shape_problem(unclosed, max_depth=32, max_digits=32) is not None
    big = b'{"n": ' + b"9" * 5000 + b"}"
    assert "more than 32 digits" in str(json_shape_problem(big, max_depth=32, max_digits=32))
    # brackets and digits inside strings are text, escaped quotes included
    text = json.dumps({"s": "[[[[" * 50 + '\\"' + "1" * 100}).encode()
    assert json_shape_problem(text, max_depth=2, max_digits=3) is None


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("[1, 2]", "application.form_not_json"),
        ("{not json", "application.form_not_json"),
        ('{"n": ' + "1" * 5000 + "}", "request.json_too_complex"),
        ("[" * 100_000 + "]" * 100_000, "request.json_too_complex"),
        ('{"a": {"b": "x\\u0000y"}}', "request.control_character"),
        ('{"a\\u0007": 1}', "request.control_character"),
        ('{"s": "\\ud800"}', "request.control_character"),
        ('{"n": 1e400}', "request.number_out_of_range"),
        ('{"n": -Infinity}', "application.form_not_json"),
    ],
)
def test_a_form_field_is_refused_with_its_reason(raw: str, code: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_json_object(raw, field="form")
    assert caught.value.code == code
    assert caught.value.status == 422
    assert str(caught.value.details["field"]).startswith("form")


def test_the_field_is_named_down_to_the_leaf() -> None:
    with pytest.raises(ControlCharacter) as caught:
        parse_json_object('{"owners": [{"name": "张\\u0000三"}]}', field="form")
    assert caught.value.details == {"field": "form.owners[0].name", "character": "U+0000"}
    assert "U+0000" in caught.value.message_zh
    with pytest.raises(JsonTooComplex):
        parse_json_object("[" * 40 + "]" * 40, field="form")


def test_ordinary_text_passes() -> None:
    for text in ("张三\t李四\r\n", 'O\'Brien "quoted"', "emoji 😀", "١٢٣", ""):
        assert forbidden_character(text) is None
        check_value({"k": [text]}, "body")
    assert parse_json_object('{"a": "line\\nbreak", "n": 1.5e10}', field="form") == {
        "a": "line\nbreak",
        "n": 1.5e10,
    }


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\x85", "\ufffe", "\udfff"])
def test_every_control_character_is_refused(char: str) -> None:
    assert forbidden_character(f"a{char}b") == char
    with pytest.raises(ControlCharacter):
        check_value({"x": f"a{char}"}, "body")
