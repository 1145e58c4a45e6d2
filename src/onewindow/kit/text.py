"""Text hygiene at the boundary: control characters and hostile JSON are refused on the way in.

A NUL stored in a JSON column breaks every JSON query on PostgreSQL for the whole table
("unsupported Unicode escape sequence"); a lone surrogate cannot be encoded at all; a
5,000-digit number or 100,000-deep nesting makes the parser itself fail. Each is answered
with a 422 that names the field, before anything is stored.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

from onewindow.kit.errors import ValidationFailed

# C0 controls except tab, line feed and carriage return; DEL and the C1 controls; lone
# surrogates (never valid text); the two non-characters at the end of the BMP.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff\ufffe\uffff]")
# A JSON string literal (unrolled loop, linear time), and JSON's structural brackets.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKET = re.compile(rb"[\[\]{}]")
_DIGITS = re.compile(rb"[0-9]+")


class ControlCharacter(ValidationFailed):
    code = "request.control_character"


class JsonTooComplex(ValidationFailed):
    code = "request.json_too_complex"


class NumberOutOfRange(ValidationFailed):
    """NaN or an infinity (``1e999``): JSON cannot carry it, PostgreSQL refuses it."""

    code = "request.number_out_of_range"


def forbidden_character(text: str) -> str | None:
    """The first character ``text`` must not hold, or None."""
    found = _FORBIDDEN.search(text)
    return found.group() if found else None


def _refuse(field: str, char: str) -> ControlCharacter:
    point = f"U+{ord(char):04X}"
    return ControlCharacter(
        f"Field {field} contains a control character ({point}); remove it and send again",
        message_zh=f"字段 {field} 含有控制字符（{point}），请删除后重新提交",
        details={"field": field, "character": point},
    )


def check_value(value: Any, field: str) -> None:
    """Raise ``ControlCharacter`` naming the first string (or object key) under ``value``
    that holds a forbidden character, or ``NumberOutOfRange`` for the first number that is
    not finite; ``field`` names ``value`` itself (``body.data``)."""
    if isinstance(value, float) and not math.isfinite(value):
        raise NumberOutOfRange(
            f"Field {field} is not a finite number",
            message_zh=f"字段 {field} 不是有限数值",
            details={"field": field},
        )
    if isinstance(value, str):
        char = forbidden_character(value)
        if char is not None:
            raise _refuse(field, char)
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{field}.{key}" if field else str(key)
            if isinstance(key, str) and (char := forbidden_character(key)) is not None:
                raise _refuse(name, char)
            check_value(item, name)
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            check_value(item, f"{field}[{i}]")


def check_fields(fields: Iterable[tuple[str, Any]]) -> None:
    """``check_value`` over named fields, e.g. a form's or a query string's items."""
    for name, value in fields:
        check_value(value, name)


def json_shape_problem(raw: bytes, *, max_depth: int, max_digits: int) -> str | None:
    """Why the JSON text ``raw`` is too complex to parse safely, or None.

    Looks only at structure outside string literals, in linear time, without parsing: the
    nesting of ``[`` and ``{`` and the length of runs of digits (a number's integer part,
    fraction or exponent). Text that is not JSON at all is left to the parser to refuse.
    """
    bare = _JSON_STRING.sub(b'""', raw)
    for run in _DIGITS.finditer(bare):
        if len(run.group()) > max_digits:
            return f"a number has more than {max_digits} digits"
    depth = 0
    for bracket in _BRACKET.finditer(bare):
        if bracket.group() in (b"[", b"{"):
            depth += 1
            if depth > max_depth:
                return f"objects and arrays nest deeper than {max_depth} levels"
        else:
            depth -= 1
    return None


def too_complex(field: str, problem: str) -> JsonTooComplex:
    return JsonTooComplex(
        f"{field} is too complex: {problem}",
        message_zh=f"{field} 结构过于复杂（嵌套过深或数字过长）",
        details={"field": field, "problem": problem},
    )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_json_object(
    raw: str, *, field: str, max_depth: int = 32, max_digits: int = 32
) -> dict[str, Any]:
    """A JSON object sent as text in one field (a multipart form's ``form``), checked for
    shape before it is parsed and for control characters after.

    Raises:
        ValidationFailed: not JSON, or not an object (code ``application.form_not_json``).
        JsonTooComplex: nested deeper than ``max_depth`` or a number longer than
            ``max_digits`` digits.
        ControlCharacter: a string or key holds a control character.
        NumberOutOfRange: a number overflows to infinity.
    """
    problem = json_shape_problem(
        raw.encode("utf-8", "surrogatepass"), max_depth=max_depth, max_digits=max_digits
    )
    if problem is not None:
        raise too_complex(field, problem)
    try:
        value = json.loads(raw, parse_constant=_no_constant)
    except ValueError as exc:  # JSONDecodeError, and int() beyond its digit limit
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise ValidationFailed(
            f"{field} is not valid JSON: {reason}",
            message_zh=f"{field} 不是有效的 JSON",
            code="application.form_not_json",
            details={"field": field},
        ) from exc
    if not isinstance(value, dict):
        raise ValidationFailed(
            f"{field} must be a JSON object",
            message_zh=f"{field} 必须是 JSON 对象",
            code="application.form_not_json",
            details={"field": field},
        )
    check_value(value, field)
    return value
