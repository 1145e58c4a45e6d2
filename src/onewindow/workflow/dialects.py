"""JUEL (Camunda 7, ``${…}``) and FEEL (Camunda 8 / Zeebe, leading ``=``) expressions, translated
to the restricted expression language (``expressions``) when a process is loaded.

Models drawn in Camunda Modeler write gateway conditions as ``${amount > 1000}`` or
``= amount > 1000``. Only the simple subset both tools share with our language is translated:
literals (numbers, strings, true/false, null), variable names and property paths (``a.b`` is
read as ``a["b"]``), comparisons, and/or/not, arithmetic, the conditional (JUEL ``?:``, FEEL
``if … then … else``), FEEL ``in`` over a list or a range and ``between``, JUEL ``empty``.
Everything else — method calls, functions, FEEL filters and contexts — is refused with a
message saying which construct, so the modeller knows what to rewrite.

The translation is text to text: its output is checked and run like any hand-written
expression, so nothing here widens what an expression can do.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["DialectError", "dialect_of", "translate"]


class DialectError(ValueError):
    """An expression in JUEL or FEEL that the subset cannot express; ``str`` is one line."""


def dialect_of(src: str) -> str | None:
    """``"JUEL"``, ``"FEEL"`` or None (our own language) for an expression's text."""
    text = src.strip()
    if text.startswith("="):
        return "FEEL"
    if "${" in text or "#{" in text:
        return "JUEL"
    return None


def translate(src: str) -> str:
    """The text in our expression language for a JUEL or FEEL expression (unchanged when it
    is already ours).

    Raises:
        DialectError: a construct outside the translated subset, or a syntax error.
    """
    dialect = dialect_of(src)
    if dialect == "FEEL":
        return _Feel(src.strip()[1:]).parse()
    if dialect == "JUEL":
        match = re.fullmatch(r"\s*[$#]\{(.*)\}\s*", src, re.DOTALL)
        if match is None or "${" in match.group(1) or "#{" in match.group(1):
            raise DialectError("text mixed with ${…} is not supported: write one ${…} expression")
        return _Juel(match.group(1)).parse()
    return src


# --- tokens -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Token:
    kind: str  # "num", "str", "name", "op", "end"
    text: str
    value: object = None


_NUMBER = re.compile(r"(?:\d+(?:\.\d+)?|\.\d+)(?:[eE][+-]?\d+)?")
_NAME = re.compile(r"[A-Za-z_\u0080-\uffff][A-Za-z0-9_\u0080-\uffff]*")


def _tokens(text: str, operators: tuple[str, ...], quotes: str, dialect: str) -> list[_Token]:
    out: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
            continue
        if char.isdigit() or (char == "." and text[i + 1 : i + 2].isdigit()):
            match = _NUMBER.match(text, i)
            assert match is not None
            number = match.group(0)
            value: object = float(number) if any(c in number for c in ".eE") else int(number)
            out.append(_Token("num", number, value))
            i = match.end()
            continue
        if char in quotes:
            j, chars = i + 1, []
            while j < len(text) and text[j] != char:
                if text[j] == "\\" and j + 1 < len(text):
                    escaped = text[j + 1]
                    chars.append({"n": "\n", "t": "\t"}.get(escaped, escaped))
                    j += 2
                    continue
                chars.append(text[j])
                j += 1
            if j >= len(text):
                raise DialectError(f"{dialect}: string not closed")
            out.append(_Token("str", text[i : j + 1], "".join(chars)))
            i = j + 1
            continue
        match = _NAME.match(text, i)
        if match is not None:
            out.append(_Token("name", match.group(0)))
            i = match.end()
            continue
        for op in operators:
            if text.startswith(op, i):
                out.append(_Token("op", op))
                i += len(op)
                break
        else:
            raise DialectError(f"{dialect}: unexpected character {char!r}")
    out.append(_Token("end", ""))
    return out


_CONSTANTS = {"true": "True", "false": "False", "null": "None"}


class _Parser:
    dialect = ""
    keywords: frozenset[str] = frozenset()

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.pos]

    def peek(self, offset: int = 1) -> _Token:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def at(self, *texts: str) -> bool:
        return self.token.kind in ("op", "name") and self.token.text in texts

    def take(self) -> _Token:
        token = self.token
        self.pos += 1
        return token

    def expect(self, text: str) -> None:
        if not self.at(text):
            raise self.error(f"expected {text!r}")
        self.take()

    def error(self, what: str) -> DialectError:
        token = self.token
        found = "the end" if token.kind == "end" else repr(token.text)
        return DialectError(f"{self.dialect}: {what}, found {found}")

    def finish(self, result: str) -> str:
        if self.token.kind != "end":
            raise self.error("unexpected text after the expression")
        return result

    def name(self, token: _Token) -> str:
        text = token.text
        if text.startswith("_"):
            raise DialectError(f"{self.dialect}: name {text!r} starts with an underscore")
        return text

    def left_assoc(self, operand: Callable[[], str], ops: dict[str, str]) -> str:
        left = operand()
        while self.at(*ops):
            op = ops[self.take().text]
            left = f"({left} {op} {operand()})"
        return left

    def literal(self) -> str | None:
        """A number, string, true/false/null or parenthesised expression at the cursor."""
        token = self.token
        if token.kind in ("num", "str"):
            self.take()
            return repr(token.value)
        if token.kind == "name" and token.text in _CONSTANTS:
            self.take()
            return _CONSTANTS[token.text]
        if self.at("("):
            self.take()
            inner = self.inner()
            self.expect(")")
            return f"({inner})"
        return None

    def inner(self) -> str:
        raise NotImplementedError

    def path(self, base: str) -> str:
        """Property access ``a.b``, read as ``a["b"]``; a call after it is a method call."""
        while self.at("."):
            self.take()
            if self.token.kind != "name":
                raise self.error("expected a property name after '.'")
            prop = self.take().text
            if self.at("("):
                raise DialectError(f"{self.dialect}: method call {prop}() is not supported")
            base = f"{base}[{prop!r}]"
        return base


# --- JUEL ---------------------------------------------------------------------------------

_JUEL_OPS = (
    "==",
    "!=",
    "<=",
    ">=",
    "&&",
    "||",
    "<",
    ">",
    "!",
    "+",
    "-",
    "*",
    "/",
    "%",
    "(",
    ")",
    "[",
    "]",
    ".",
    "?",
    ":",
    ",",
)
_JUEL_COMPARE = {
    "==": "==",
    "eq": "==",
    "!=": "!=",
    "ne": "!=",
    "<": "<",
    "lt": "<",
    ">": ">",
    "gt": ">",
    "<=": "<=",
    "le": "<=",
    ">=": ">=",
    "ge": ">=",
}


class _Juel(_Parser):
    dialect = "JUEL"
    keywords = frozenset(
        {"and", "or", "not", "eq", "ne", "lt", "gt", "le", "ge", "div", "mod", "empty"}
        | {"instanceof", "true", "false", "null"}
    )

    def __init__(self, text: str) -> None:
        super().__init__(_tokens(text, _JUEL_OPS, "'\"", "JUEL"))

    def parse(self) -> str:
        if self.token.kind == "end":
            raise DialectError("JUEL: empty ${}")
        return self.finish(self.choice())

    def choice(self) -> str:
        test = self.disjunction()
        if not self.at("?"):
            return test
        self.take()
        then = self.choice()
        self.expect(":")
        otherwise = self.choice()
        return f"({then} if {test} else {otherwise})"

    def disjunction(self) -> str:
        return self.left_assoc(self.conjunction, {"||": "or", "or": "or"})

    def conjunction(self) -> str:
        return self.left_assoc(self.equality, {"&&": "and", "and": "and"})

    def equality(self) -> str:
        ops = {k: v for k, v in _JUEL_COMPARE.items() if v in ("==", "!=")}
        return self.left_assoc(self.relation, ops)

    def relation(self) -> str:
        ops = {k: v for k, v in _JUEL_COMPARE.items() if v not in ("==", "!=")}
        left = self.left_assoc(self.additive, ops)
        if self.at("instanceof"):
            raise DialectError("JUEL: instanceof is not supported")
        return left

    def additive(self) -> str:
        return self.left_assoc(self.multiplicative, {"+": "+", "-": "-"})

    def multiplicative(self) -> str:
        ops = {"*": "*", "/": "/", "div": "/", "%": "%", "mod": "%"}
        return self.left_assoc(self.unary, ops)

    def unary(self) -> str:
        if self.at("-"):
            self.take()
            return f"(-{self.unary()})"
        if self.at("!", "not"):
            self.take()
            return f"(not {self.unary()})"
        if self.at("empty"):
            self.take()
            return f"({self.unary()} in (None, '', [], {{}}))"
        return self.value()

    def value(self) -> str:
        base = self.primary()
        while True:
            if self.at("."):
                base = self.path(base)
            elif self.at("["):
                self.take()
                index = self.choice()
                self.expect("]")
                base = f"{base}[{index}]"
            else:
                return base

    def inner(self) -> str:
        return self.choice()

    def primary(self) -> str:
        found = self.literal()
        if found is not None:
            return found
        token = self.token
        if token.kind == "name":
            if token.text in self.keywords:
                raise self.error("expected a value")
            if self.peek().kind == "op" and self.peek().text == ":" and self.peek(2).kind == "name":
                raise DialectError(
                    f"JUEL: function {token.text}:{self.peek(2).text}() is not supported"
                )
            if self.peek().kind == "op" and self.peek().text == "(":
                raise DialectError(f"JUEL: function call {token.text}() is not supported")
            self.take()
            return self.name(token)
        raise self.error("expected a value")


# --- FEEL ---------------------------------------------------------------------------------

_FEEL_OPS = (
    "..",
    "**",
    "!=",
    "<=",
    ">=",
    "=",
    "<",
    ">",
    "+",
    "-",
    "*",
    "/",
    "(",
    ")",
    "[",
    "]",
    ".",
    ",",
    "{",
    "}",
    ":",
)
_FEEL_COMPARE = {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
# FEEL built-in functions with the same meaning in our language.
_FEEL_FUNCTIONS = {"count": "len", "sum": "sum", "min": "min", "max": "max", "abs": "abs"}


class _Feel(_Parser):
    dialect = "FEEL"
    keywords = frozenset(
        {"and", "or", "in", "between", "if", "then", "else", "true", "false", "null"}
        | {"instance", "for", "some", "every", "satisfies", "return", "function"}
    )

    def __init__(self, text: str) -> None:
        super().__init__(_tokens(text, _FEEL_OPS, '"', "FEEL"))

    def parse(self) -> str:
        if self.token.kind == "end":
            raise DialectError("FEEL: nothing after '='")
        return self.finish(self.expression())

    def expression(self) -> str:
        if self.at("if"):
            self.take()
            test = self.expression()
            self.expect("then")
            then = self.expression()
            self.expect("else")
            otherwise = self.expression()
            return f"({then} if {test} else {otherwise})"
        for word in ("for", "some", "every", "function"):
            if self.at(word):
                raise DialectError(f"FEEL: '{word}' expressions are not supported")
        return self.disjunction()

    def disjunction(self) -> str:
        return self.left_assoc(self.conjunction, {"or": "or"})

    def conjunction(self) -> str:
        return self.left_assoc(self.comparison, {"and": "and"})

    def comparison(self) -> str:
        left = self.additive()
        if self.at(*_FEEL_COMPARE):
            op = _FEEL_COMPARE[self.take().text]
            return f"({left} {op} {self.additive()})"
        if self.at("between"):
            self.take()
            low = self.additive()
            self.expect("and")
            high = self.additive()
            return f"({low} <= {left} <= {high})"
        if self.at("in"):
            self.take()
            return self.membership(left)
        if self.at("instance"):
            raise DialectError("FEEL: 'instance of' is not supported")
        return left

    def membership(self, left: str) -> str:
        """``x in [1, 2]``, ``x in (1, 2)``, ``x in [1..5]``, ``x in ]1..5[``, ``x in list``."""
        if self.at("[", "(", "]"):
            opener = self.take().text
            first = self.additive()
            if self.at(".."):
                self.take()
                last = self.additive()
                if not self.at("]", ")", "["):
                    raise self.error("expected the end of the range")
                closer = self.take().text
                low = "<=" if opener == "[" else "<"
                high = "<=" if closer == "]" else "<"
                return f"({first} {low} {left} {high} {last})"
            if opener == "]":
                raise self.error("expected '..' in the range")
            items = [first]
            while self.at(","):
                self.take()
                items.append(self.additive())
            self.expect("]" if opener == "[" else ")")
            return f"({left} in [{', '.join(items)}])"
        return f"({left} in {self.additive()})"

    def additive(self) -> str:
        return self.left_assoc(self.multiplicative, {"+": "+", "-": "-"})

    def multiplicative(self) -> str:
        return self.left_assoc(self.power, {"*": "*", "/": "/"})

    def power(self) -> str:
        return self.left_assoc(self.unary, {"**": "**"})

    def unary(self) -> str:
        if self.at("-"):
            self.take()
            return f"(-{self.unary()})"
        return self.postfix()

    def postfix(self) -> str:
        base = self.primary()
        while True:
            if self.at("."):
                base = self.path(base)
            elif self.at("["):
                raise DialectError(
                    "FEEL: filters and indexes ([…] after a value) are not supported"
                )
            else:
                return base

    def inner(self) -> str:
        return self.expression()

    def primary(self) -> str:
        found = self.literal()
        if found is not None:
            return found
        token = self.token
        if self.at("["):
            self.take()
            items: list[str] = []
            while not self.at("]"):
                if items:
                    self.expect(",")
                items.append(self.expression())
            self.take()
            return f"[{', '.join(items)}]"
        if self.at("{"):
            raise DialectError("FEEL: contexts ({…}) are not supported")
        if token.kind == "name":
            if token.text in self.keywords:
                raise self.error("expected a value")
            if self.peek().kind == "op" and self.peek().text == "(":
                return self.call()
            self.take()
            return self.name(token)
        raise self.error("expected a value")

    def call(self) -> str:
        function = self.take().text
        if function != "not" and function not in _FEEL_FUNCTIONS:
            raise DialectError(
                f"FEEL: function {function}() is not supported "
                f"(supported: not, {', '.join(_FEEL_FUNCTIONS)})"
            )
        self.expect("(")
        args: list[str] = []
        while not self.at(")"):
            if args:
                self.expect(",")
            args.append(self.expression())
        self.take()
        if function == "not":
            if len(args) != 1:
                raise DialectError("FEEL: not() takes one argument")
            return f"(not {args[0]})"
        if function in ("min", "max", "sum") and len(args) > 1:
            return f"{_FEEL_FUNCTIONS[function]}([{', '.join(args)}])"
        return f"{_FEEL_FUNCTIONS[function]}({', '.join(args)})"
