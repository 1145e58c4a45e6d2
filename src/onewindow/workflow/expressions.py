"""The restricted expression language of gateway conditions, scripts, timers and DMN tables.

Process files come from catalogue authors, not from the platform's developers, so their
expressions must not reach Python's ``eval``/``exec``. Source text is parsed with ``ast``,
checked against a whitelist, and turned into a tree of closures once (cached by text): an
evaluation then only runs those closures against a mapping of process variables.

Names are looked up only in that mapping; calls go only to a fixed set of builtins (never
to anything found in the data) and to a few harmless ``str``/``dict`` methods. Nothing whose
name starts with ``_`` can be reached. Arithmetic that could exhaust memory or CPU (big
powers, repetition of sequences, ``%`` formatting with huge widths) is bounded.
"""

from __future__ import annotations

import ast
import operator
import textwrap
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from functools import lru_cache
from typing import Any

from onewindow.kit.errors import OneWindowError

__all__ = [
    "ALLOWED_FUNCTIONS",
    "ExpressionError",
    "check_expression",
    "check_script",
    "evaluate",
    "execute",
]

MAX_SOURCE_LENGTH = 10_000
MAX_EXPONENT = 100
# Large enough for any amount of money or count, small enough to stay fast.
MAX_INT_BITS = 4_096
MAX_SEQUENCE_LENGTH = 1_000_000


class ExpressionError(OneWindowError):
    """An expression or script is not allowed, or failed while it was evaluated."""

    code = "process.expression_invalid"
    status = 422


Evaluator = Callable[[Mapping[str, Any]], Any]
Statement = Callable[[MutableMapping[str, Any]], None]


def _fail(message: str) -> ExpressionError:
    return ExpressionError(message, message_zh=f"表达式错误：{message}")


# --- bounded arithmetic -------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int)


def _bounded(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        if value.bit_length() > MAX_INT_BITS:
            raise _fail("integer result too large")
    elif isinstance(value, str | bytes | list | tuple) and len(value) > MAX_SEQUENCE_LENGTH:
        raise _fail("result too long")
    return value


def _add(left: Any, right: Any) -> Any:
    # Both operands are already bounded, so the result is at most twice the limit.
    return _bounded(left + right)


def _mul(left: Any, right: Any) -> Any:
    if _is_int(left) and _is_int(right):
        if left.bit_length() + right.bit_length() > MAX_INT_BITS + 1:
            raise _fail("integer result too large")
    elif isinstance(left, str | bytes | list | tuple) and _is_int(right):
        if len(left) * max(right, 0) > MAX_SEQUENCE_LENGTH:
            raise _fail("repetition too long")
    elif isinstance(right, str | bytes | list | tuple) and _is_int(left):
        if len(right) * max(left, 0) > MAX_SEQUENCE_LENGTH:
            raise _fail("repetition too long")
    return left * right


def _mod(left: Any, right: Any) -> Any:
    # "%999999999d" % 1 would allocate a gigabyte: no printf-style formatting.
    if isinstance(left, str | bytes):
        raise _fail("string formatting with % is not allowed")
    return left % right


def _pow(left: Any, right: Any) -> Any:
    if _is_int(right):
        if abs(right) > MAX_EXPONENT:
            raise _fail(f"exponent larger than {MAX_EXPONENT}")
        if _is_int(left) and left.bit_length() * abs(right) > MAX_INT_BITS:
            raise _fail("integer result too large")
    elif isinstance(right, float) and abs(right) > MAX_EXPONENT:
        raise _fail(f"exponent larger than {MAX_EXPONENT}")
    return _bounded(left**right)


_BINARY_OPS: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: _add,
    ast.Sub: operator.sub,
    ast.Mult: _mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: _mod,
    ast.Pow: _pow,
}

_UNARY_OPS: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.Not: operator.not_,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


def _in(left: Any, right: Any) -> bool:
    return left in right


def _not_in(left: Any, right: Any) -> bool:
    return left not in right


_COMPARE_OPS: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
    ast.In: _in,
    ast.NotIn: _not_in,
}


def _safe_sum(values: Any, start: Any = 0) -> Any:
    total = start
    for value in values:
        total = _add(total, value)
    return total


def _safe_round(value: Any, digits: Any = None) -> Any:
    if digits is not None and (not _is_int(digits) or abs(digits) > MAX_EXPONENT):
        raise _fail("round() digits out of range")
    return round(value, digits)


ALLOWED_FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "len": len,
    "min": min,
    "max": max,
    "abs": abs,
    "round": _safe_round,
    "int": int,
    "float": float,
    "str": str,
    "bool": bool,
    "sum": _safe_sum,
    "any": any,
    "all": all,
    "sorted": sorted,
}

# Methods are checked against the receiver's type at run time: "x.get" must not reach a
# method of some other object that happens to be called "get".
_ALLOWED_METHODS: Mapping[type, frozenset[str]] = {
    str: frozenset(
        {"lower", "upper", "strip", "lstrip", "rstrip", "startswith", "endswith", "isdigit"}
    ),
    dict: frozenset({"get", "keys", "values", "items"}),
}
_ALL_METHOD_NAMES = frozenset().union(*_ALLOWED_METHODS.values())

_ALLOWED_CONSTANT_TYPES = (str, int, float, bool, type(None))


# --- checking -----------------------------------------------------------------------------


class _Checker:
    """Collects every problem in a tree instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def problem(self, node: ast.AST, message: str) -> None:
        line = getattr(node, "lineno", None)
        where = f" (line {line})" if line is not None else ""
        self.problems.append(f"{message}{where}")

    def name(self, node: ast.AST, name: str) -> None:
        if name.startswith("_"):
            self.problem(node, f"name {name!r} starts with an underscore")

    def expr(self, node: ast.expr) -> None:
        if isinstance(node, ast.Constant):
            if not isinstance(node.value, _ALLOWED_CONSTANT_TYPES):
                self.problem(node, f"constant of type {type(node.value).__name__} not allowed")
        elif isinstance(node, ast.Name):
            self.name(node, node.id)
            if not isinstance(node.ctx, ast.Load):
                self.problem(node, "assignment inside an expression is not allowed")
        elif isinstance(node, ast.List | ast.Tuple | ast.Set):
            for element in node.elts:
                if isinstance(element, ast.Starred):
                    self.problem(element, "unpacking with * is not allowed")
                else:
                    self.expr(element)
        elif isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if key is None:
                    self.problem(value, "unpacking with ** is not allowed")
                else:
                    self.expr(key)
                self.expr(value)
        elif isinstance(node, ast.BinOp):
            if type(node.op) not in _BINARY_OPS:
                self.problem(node, f"operator {type(node.op).__name__} not allowed")
            self.expr(node.left)
            self.expr(node.right)
        elif isinstance(node, ast.UnaryOp):
            if type(node.op) not in _UNARY_OPS:
                self.problem(node, f"operator {type(node.op).__name__} not allowed")
            self.expr(node.operand)
        elif isinstance(node, ast.BoolOp):
            for value in node.values:
                self.expr(value)
        elif isinstance(node, ast.Compare):
            self.expr(node.left)
            for comparator in node.comparators:
                self.expr(comparator)
        elif isinstance(node, ast.IfExp):
            self.expr(node.test)
            self.expr(node.body)
            self.expr(node.orelse)
        elif isinstance(node, ast.Subscript):
            self.expr(node.value)
            if isinstance(node.slice, ast.Slice):
                for part in (node.slice.lower, node.slice.upper, node.slice.step):
                    if part is not None:
                        self.expr(part)
            else:
                self.expr(node.slice)
        elif isinstance(node, ast.Call):
            self.call(node)
        elif isinstance(node, ast.Attribute):
            if node.attr.startswith("_"):
                self.problem(node, f"attribute {node.attr!r} starts with an underscore")
            else:
                self.problem(node, f"attribute .{node.attr} is only allowed as a method call")
            self.expr(node.value)
        else:
            self.problem(node, f"{type(node).__name__} is not allowed")

    def call(self, node: ast.Call) -> None:
        if node.keywords:
            self.problem(node, "keyword arguments are not allowed")
        func = node.func
        if isinstance(func, ast.Name):
            if func.id not in ALLOWED_FUNCTIONS:
                self.problem(node, f"call to {func.id!r} is not allowed")
        elif isinstance(func, ast.Attribute):
            if func.attr.startswith("_") or func.attr not in _ALL_METHOD_NAMES:
                self.problem(node, f"method .{func.attr}() is not allowed")
            self.expr(func.value)
        else:
            self.problem(node, "only named functions may be called")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.problem(arg, "unpacking with * is not allowed")
            else:
                self.expr(arg)

    def statements(self, body: Sequence[ast.stmt]) -> None:
        for stmt in body:
            self.statement(stmt)

    def statement(self, node: ast.stmt) -> None:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.name(target, target.id)
                else:
                    self.problem(target, "only simple names can be assigned")
            self.expr(node.value)
        elif isinstance(node, ast.AugAssign):
            if isinstance(node.target, ast.Name):
                self.name(node.target, node.target.id)
            else:
                self.problem(node.target, "only simple names can be assigned")
            if type(node.op) not in _BINARY_OPS:
                self.problem(node, f"operator {type(node.op).__name__} not allowed")
            self.expr(node.value)
        elif isinstance(node, ast.Expr):
            self.expr(node.value)
        elif isinstance(node, ast.If):
            self.expr(node.test)
            self.statements(node.body)
            self.statements(node.orelse)
        elif isinstance(node, ast.Pass):
            pass
        else:
            self.problem(node, f"statement {type(node).__name__} is not allowed")


def _parse(src: str, mode: str) -> tuple[ast.AST | None, list[str]]:
    if not isinstance(src, str):
        return None, ["expression must be text"]
    if len(src) > MAX_SOURCE_LENGTH:
        return None, [f"longer than {MAX_SOURCE_LENGTH} characters"]
    text = src.strip() if mode == "eval" else textwrap.dedent(src).strip("\n")
    if not text.strip():
        return None, ["empty"]
    try:
        return ast.parse(text, mode=mode), []
    except SyntaxError as exc:
        return None, [f"syntax error: {exc.msg} (line {exc.lineno})"]
    except (RecursionError, MemoryError, ValueError):
        return None, ["too deeply nested or not parseable"]


def check_expression(src: str) -> list[str]:
    """Every problem that stops ``src`` being used as an expression; empty when it is fine."""
    tree, problems = _parse(src, "eval")
    if tree is None:
        return problems
    assert isinstance(tree, ast.Expression)
    checker = _Checker()
    try:
        checker.expr(tree.body)
    except RecursionError:
        return ["too deeply nested"]
    return checker.problems


def check_script(src: str) -> list[str]:
    """Every problem that stops ``src`` being used as a script; empty when it is fine."""
    tree, problems = _parse(src, "exec")
    if tree is None:
        return problems
    assert isinstance(tree, ast.Module)
    checker = _Checker()
    try:
        checker.statements(tree.body)
    except RecursionError:
        return ["too deeply nested"]
    return checker.problems


# --- compiling checked trees to closures --------------------------------------------------


def _compile(node: ast.expr) -> Evaluator:
    # Dispatch happens once per node at compile time; evaluation is only closure calls.
    if isinstance(node, ast.Constant):
        value = node.value
        return lambda ctx: value
    if isinstance(node, ast.Name):
        return _compile_name(node.id)
    if isinstance(node, ast.List):
        items = [_compile(e) for e in node.elts]
        return lambda ctx: [item(ctx) for item in items]
    if isinstance(node, ast.Tuple):
        items = [_compile(e) for e in node.elts]
        return lambda ctx: tuple(item(ctx) for item in items)
    if isinstance(node, ast.Set):
        items = [_compile(e) for e in node.elts]
        return lambda ctx: {item(ctx) for item in items}
    if isinstance(node, ast.Dict):
        pairs = [
            (_compile(k), _compile(v)) for k, v in zip(node.keys, node.values, strict=True) if k
        ]
        return lambda ctx: {k(ctx): v(ctx) for k, v in pairs}
    if isinstance(node, ast.BinOp):
        return _compile_binop(_BINARY_OPS[type(node.op)], _compile(node.left), _compile(node.right))
    if isinstance(node, ast.UnaryOp):
        unary = _UNARY_OPS[type(node.op)]
        operand = _compile(node.operand)
        return lambda ctx: unary(operand(ctx))
    if isinstance(node, ast.BoolOp):
        return _compile_boolop(isinstance(node.op, ast.And), [_compile(v) for v in node.values])
    if isinstance(node, ast.Compare):
        return _compile_compare(node)
    if isinstance(node, ast.IfExp):
        test, body, orelse = _compile(node.test), _compile(node.body), _compile(node.orelse)
        return lambda ctx: body(ctx) if test(ctx) else orelse(ctx)
    if isinstance(node, ast.Subscript):
        return _compile_subscript(node)
    if isinstance(node, ast.Call):
        return _compile_call(node)
    raise _fail(f"{type(node).__name__} is not allowed")  # pragma: no cover - checked before


def _compile_name(name: str) -> Evaluator:
    def load(ctx: Mapping[str, Any]) -> Any:
        try:
            return ctx[name]
        except KeyError:
            raise _fail(f"unknown variable {name!r}") from None

    return load


def _compile_binop(op: Callable[[Any, Any], Any], left: Evaluator, right: Evaluator) -> Evaluator:
    return lambda ctx: op(left(ctx), right(ctx))


def _compile_boolop(is_and: bool, values: list[Evaluator]) -> Evaluator:
    def run_and(ctx: Mapping[str, Any]) -> Any:
        result: Any = True
        for value in values:
            result = value(ctx)
            if not result:
                return result
        return result

    def run_or(ctx: Mapping[str, Any]) -> Any:
        result: Any = False
        for value in values:
            result = value(ctx)
            if result:
                return result
        return result

    return run_and if is_and else run_or


def _compile_compare(node: ast.Compare) -> Evaluator:
    first = _compile(node.left)
    steps = [
        (_COMPARE_OPS[type(op)], _compile(comparator))
        for op, comparator in zip(node.ops, node.comparators, strict=True)
    ]
    if len(steps) == 1:
        op, right = steps[0]
        return lambda ctx: op(first(ctx), right(ctx))

    def chain(ctx: Mapping[str, Any]) -> Any:
        left = first(ctx)
        for op, right_eval in steps:
            right = right_eval(ctx)
            if not op(left, right):
                return False
            left = right
        return True

    return chain


def _compile_subscript(node: ast.Subscript) -> Evaluator:
    value = _compile(node.value)
    if isinstance(node.slice, ast.Slice):
        parts = [
            _compile(part) if part is not None else None
            for part in (node.slice.lower, node.slice.upper, node.slice.step)
        ]

        def run_slice(ctx: Mapping[str, Any]) -> Any:
            lower, upper, step = (part(ctx) if part is not None else None for part in parts)
            return value(ctx)[lower:upper:step]

        return run_slice
    index = _compile(node.slice)
    return lambda ctx: value(ctx)[index(ctx)]


def _compile_call(node: ast.Call) -> Evaluator:
    args = [_compile(arg) for arg in node.args]
    func = node.func
    if isinstance(func, ast.Name):
        target = ALLOWED_FUNCTIONS[func.id]
        return lambda ctx: target(*[arg(ctx) for arg in args])
    assert isinstance(func, ast.Attribute)
    receiver = _compile(func.value)
    method = func.attr

    def call_method(ctx: Mapping[str, Any]) -> Any:
        obj = receiver(ctx)
        allowed = _ALLOWED_METHODS.get(type(obj))
        if allowed is None or method not in allowed:
            raise _fail(f"method .{method}() is not allowed on {type(obj).__name__}")
        return getattr(obj, method)(*[arg(ctx) for arg in args])

    return call_method


def _compile_statements(body: Sequence[ast.stmt]) -> list[Statement]:
    return [_compile_statement(stmt) for stmt in body]


def _compile_statement(node: ast.stmt) -> Statement:
    if isinstance(node, ast.Assign):
        names = [t.id for t in node.targets if isinstance(t, ast.Name)]
        value = _compile(node.value)

        def assign(ctx: MutableMapping[str, Any]) -> None:
            result = value(ctx)
            for name in names:
                ctx[name] = result

        return assign
    if isinstance(node, ast.AugAssign):
        assert isinstance(node.target, ast.Name)
        target = node.target.id
        load = _compile_name(target)
        op = _BINARY_OPS[type(node.op)]
        operand = _compile(node.value)

        def aug_assign(ctx: MutableMapping[str, Any]) -> None:
            ctx[target] = op(load(ctx), operand(ctx))

        return aug_assign
    if isinstance(node, ast.Expr):
        expr = _compile(node.value)

        def discard(ctx: MutableMapping[str, Any]) -> None:
            expr(ctx)

        return discard
    if isinstance(node, ast.If):
        test = _compile(node.test)
        body = _compile_statements(node.body)
        orelse = _compile_statements(node.orelse)

        def branch(ctx: MutableMapping[str, Any]) -> None:
            for stmt in body if test(ctx) else orelse:
                stmt(ctx)

        return branch
    return lambda ctx: None  # Pass: anything else was rejected by the checker


@lru_cache(maxsize=4096)
def _compiled_expression(src: str) -> Evaluator:
    problems = check_expression(src)
    if problems:
        raise _fail(f"invalid expression {_excerpt(src)}: " + "; ".join(problems))
    tree = ast.parse(src.strip(), mode="eval")
    return _compile(tree.body)


@lru_cache(maxsize=1024)
def _compiled_script(src: str) -> tuple[Statement, ...]:
    problems = check_script(src)
    if problems:
        raise _fail(f"invalid script {_excerpt(src)}: " + "; ".join(problems))
    tree = ast.parse(textwrap.dedent(src).strip("\n"), mode="exec")
    return tuple(_compile_statements(tree.body))


def _excerpt(src: str) -> str:
    text = " ".join(str(src).split())
    return repr(text if len(text) <= 80 else text[:77] + "...")


def evaluate(src: str, context: Mapping[str, Any]) -> Any:
    """Value of expression ``src`` with process variables ``context``.

    Raises ExpressionError when the expression is not allowed or fails (unknown variable,
    wrong types, division by zero, a bound exceeded).
    """
    run = _compiled_expression(src)
    try:
        return run(context)
    except ExpressionError:
        raise
    except (RecursionError, MemoryError):
        raise _fail(f"expression {_excerpt(src)} is too complex") from None
    except Exception as exc:
        raise _fail(f"error in {_excerpt(src)}: {type(exc).__name__}: {exc}") from exc


def execute(src: str, context: MutableMapping[str, Any]) -> None:
    """Run script ``src``; its assignments are written into ``context``.

    A failing statement leaves the assignments of earlier statements in place.
    """
    statements = _compiled_script(src)
    try:
        for stmt in statements:
            stmt(context)
    except ExpressionError:
        raise
    except (RecursionError, MemoryError):
        raise _fail(f"script {_excerpt(src)} is too complex") from None
    except Exception as exc:
        raise _fail(f"error in {_excerpt(src)}: {type(exc).__name__}: {exc}") from exc
