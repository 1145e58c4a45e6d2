from typing import Any

import pytest

from onewindow.workflow.expressions import (
    ExpressionError,
    check_expression,
    check_script,
    evaluate,
    execute,
)

CONTEXT: dict[str, Any] = {
    "area": 120,
    "fee": 2.5,
    "kind": "Business",
    "tags": ["a", "b", "c"],
    "form": {"name": "Shop", "extra": None},
    "ok": True,
}


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("area // 7, area % 7", (17, 1)),
        ("2 ** 10", 1024),
        ("-area", -120),
        ("not ok", False),
        ("area > 100 and fee < 3", True),
        ("area < 100 or kind", "Business"),
        ("0 < area <= 120 < 121", True),
        ("'b' in tags and 'z' not in tags", True),
        ("form['extra'] is None", True),
        ("form['name'] is not None", True),
        ("'big' if area > 100 else 'small'", "big"),
        ("tags[0] + tags[-1]", "ac"),
        ("tags[1:]", ["b", "c"]),
        ("tags[::-1]", ["c", "b", "a"]),
        ("[1, 2][0] + (3, 4)[1]", 5),
        ("{'a': area}['a']", 120),
        ("len({1, 2, 2})", 2),
        ("len(tags) + max(1, 5) + min([3, 4]) + abs(-1)", 12),
        ("[round(3.7), round(1.234, 1)]", [4, 1.2]),
        ("int('7') + float('0.5') + bool(0)", 7.5),
        ("str(area) + '!'", "120!"),
        ("sum([1, 2, 3]) + any([0, 1]) + all([])", 8),
        ("sorted(['b', 'a'])", ["a", "b"]),
        ("kind.lower() == 'business' and kind.upper().startswith('BUS')", True),
        ("form.get('missing', 'dflt')", "dflt"),
        ("'  x '.strip()", "x"),
        ('"P3D"', "P3D"),
        ("\n   area == 120\n  ", True),
        ("None", None),
    ],
)
def test_evaluate_allowed(src: str, expected: Any) -> None:
    assert check_expression(src) == []
    assert evaluate(src, CONTEXT) == expected


@pytest.mark.parametrize(
    "src",
    [
        "__import__('os')",
        "__import__('os').system('ls')",
        "().__class__",
        "().__class__.__bases__[0].__subclasses__()",
        "open('x')",
        "eval('1')",
        "getattr(area, 'real')",
        "lambda: 1",
        "[x for x in tags]",
        "{x: 1 for x in tags}",
        "(x for x in tags)",
        "kind.format(1)",
        "kind.__len__()",
        "area.real",
        "_secret",
        "f'{area:>999999999}'",
        "(y := 1)",
        "sorted(tags, key=len)",
        "max(*tags)",
        "{**form}",
        "b'bytes'",
        "1j",
        "...",
        "area << 2",
        "area @ area",
        "tags[1:2, 3]",
        "yield 1",
        "await x",
        "",
        "1 +",
        "x = 1",
    ],
)
def test_rejected_expressions(src: str) -> None:
    problems = check_expression(src)
    assert problems, src
    with pytest.raises(ExpressionError) as info:
        evaluate(src, CONTEXT)
    assert info.value.code == "process.expression_invalid"


def test_all_problems_reported() -> None:
    problems = check_expression("open('x') + _y + (lambda: 1)")
    assert len(problems) == 3


def test_unknown_variable_is_a_clear_error() -> None:
    with pytest.raises(ExpressionError, match="unknown variable 'missing'"):
        evaluate("missing > 1", CONTEXT)


def test_builtin_names_are_not_values() -> None:
    # Function names only resolve in call position; as values they are process variables.
    assert evaluate("len", {"len": 3}) == 3
    with pytest.raises(ExpressionError, match="unknown variable"):
        evaluate("len", {})


@pytest.mark.parametrize(
    "src",
    [
        "2 ** 1000",
        "10 ** 99 ** 99",
        "2 ** -101",
        "2.0 ** 101.5",
        "(10 ** 100) ** 50",
        "'x' * 10 ** 7",
        "[0] * 10 ** 7",
        "10 ** 7 * 'ab'",
        "'%999999999d' % 1",
        "round(1.5, 10 ** 9)",
    ],
)
def test_resource_bombs_are_refused(src: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(src, CONTEXT)


def test_repeated_squaring_in_a_script_is_bounded() -> None:
    script = "x = 10 ** 100\n" + "x = x * x\n" * 20
    with pytest.raises(ExpressionError, match="too large"):
        execute(script, {})


def test_runtime_errors_are_expression_errors() -> None:
    for src in ("1 / 0", "tags[10]", "form['nope']", "'a' + 1", "int('x')"):
        with pytest.raises(ExpressionError, match="error in"):
            evaluate(src, CONTEXT)


def test_method_checked_against_receiver_type() -> None:
    # "get" is allowed on dicts, not on whatever object a variable happens to hold.
    class Sneaky:
        def get(self) -> str:
            return "called"

    with pytest.raises(ExpressionError, match="not allowed on Sneaky"):
        evaluate("thing.get()", {"thing": Sneaky()})


def test_long_source_is_refused() -> None:
    assert check_expression("1 + " * 5000 + "1")


def test_deep_nesting_is_refused_not_crashing() -> None:
    src = "(" * 500 + "1" + ")" * 500
    assert check_expression(src)


def test_execute_script() -> None:
    data: dict[str, Any] = {"area": 300, "kind": "business"}
    execute(
        """
        fee = area * 2 if area > 100 else 50
        total = fee
        total += 10
        if kind == "business":
            note = "company"
        else:
            note = "person"
            pass
        a = b = len(note)
        fee
        """,
        data,
    )
    assert data == {
        "area": 300,
        "kind": "business",
        "fee": 600,
        "total": 610,
        "note": "company",
        "a": 7,
        "b": 7,
    }


@pytest.mark.parametrize(
    "src",
    [
        "import os",
        "from os import path",
        "def f(): pass",
        "class A: pass",
        "for x in tags: pass",
        "while True: pass",
        "with open('x') as f: pass",
        "del area",
        "x.y = 1",
        "tags[0] = 1",
        "_hidden = 1",
        "x, y = 1, 2",
        "try:\n    pass\nexcept Exception:\n    pass",
        "global area",
        "raise ValueError()",
        "assert False",
        "return 1",
        "x = __import__('os')",
        "if True:\n    import os",
    ],
)
def test_rejected_scripts(src: str) -> None:
    assert check_script(src), src
    with pytest.raises(ExpressionError):
        execute(src, dict(CONTEXT))


def test_check_script_ok() -> None:
    assert check_script("fee = area * 2\nfee_paid = False") == []


def test_augassign_on_unknown_variable() -> None:
    with pytest.raises(ExpressionError, match="unknown variable 'count'"):
        execute("count += 1", {})
