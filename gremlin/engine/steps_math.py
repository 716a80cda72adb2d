"""math(): arithmetic over the current value ('_'), path labels, side effects and map entries.

The expression language is exp4j's, as TinkerPop's: numbers, + - * / % ^, unary minus, parentheses
and the usual one-argument functions (``sin _`` needs no parentheses). Each variable, in the order it
first appears, takes the next by() modulator; a traverser with a variable missing is filtered out.
Results are doubles, with Java's Infinity and NaN where Python would raise.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Iterator

from gremlin_python.process.traversal import Pop

from ..errors import InvalidArgumentError
from .base import Context, Step, register
from .common import NOTHING, ByModulatedStep, Projection
from .steps_map import select_value
from .traverser import Traverser
from .values import is_number

_FUNCTIONS: dict[str, Callable[[float], float]] = {
    "abs": abs, "acos": math.acos, "asin": math.asin, "atan": math.atan,
    "cbrt": lambda x: math.copysign(abs(x) ** (1 / 3), x),
    "ceil": math.ceil, "cos": math.cos, "cosh": math.cosh, "exp": math.exp, "floor": math.floor,
    "log": lambda x: _log(math.log, x), "log10": lambda x: _log(math.log10, x),
    "log2": lambda x: _log(math.log2, x), "log1p": lambda x: _log(math.log, 1 + x), "sin": math.sin,
    "sinh": math.sinh, "sqrt": math.sqrt, "tan": math.tan, "tanh": math.tanh,
    "signum": lambda x: float((x > 0) - (x < 0)),
}
def _log(function: Callable[[float], float], x: float) -> float:
    return -math.inf if x == 0 else function(x)  # Java's log(0); a negative one is NaN via _apply


_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(.))")

# An expression compiles to a function of the variables' values.
_Compiled = Callable[[dict], float]


def _divide(a: float, b: float) -> float:
    if b == 0:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * math.copysign(1, b)
    return a / b


def _remainder(a: float, b: float) -> float:
    return math.nan if b == 0 else math.fmod(a, b)


_BINARY = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": _divide,
           "%": _remainder, "^": lambda a, b: math.pow(a, b)}


class _Parser:
    """Recursive descent over the tokens; records the variables in the order they appear."""

    def __init__(self, text: str):
        self.text = text
        self.tokens: list[tuple[str, str]] = []
        for number, name, other in _TOKEN.findall(text):
            if number:
                self.tokens.append(("number", number))
            elif name:
                self.tokens.append(("name", name))
            elif other.strip():
                self.tokens.append(("op", other))
        self.position = 0
        self.variables: list[str] = []

    def parse(self) -> _Compiled:
        compiled = self._sum()
        if self.position != len(self.tokens):
            raise self._error()
        return compiled

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def _error(self) -> InvalidArgumentError:
        return InvalidArgumentError(f"math() cannot parse the expression {self.text!r}")

    def _binary(self, operators: str, operand: Callable[[], _Compiled]) -> _Compiled:
        left = operand()
        while (token := self._peek()) is not None and token[0] == "op" and token[1] in operators:
            self.position += 1
            right, op = operand(), _BINARY[token[1]]
            left = (lambda lf, rf, fn: lambda env: fn(lf(env), rf(env)))(left, right, op)
        return left

    def _sum(self) -> _Compiled:
        return self._binary("+-", self._product)

    def _product(self) -> _Compiled:
        return self._binary("*/%", self._unary)

    def _unary(self) -> _Compiled:
        token = self._peek()
        if token is not None and token[0] == "op" and token[1] in "+-":
            self.position += 1
            operand = self._unary()
            return operand if token[1] == "+" else (lambda env: -operand(env))
        return self._power()

    def _power(self) -> _Compiled:
        base = self._primary()
        token = self._peek()
        if token is not None and token == ("op", "^"):
            self.position += 1
            exponent = self._unary()  # right-associative
            return lambda env: math.pow(base(env), exponent(env))
        return base

    def _primary(self) -> _Compiled:
        token = self._peek()
        if token is None:
            raise self._error()
        self.position += 1
        kind, text = token
        if kind == "number":
            value = float(text)
            return lambda env: value
        if kind == "op" and text == "(":
            inner = self._sum()
            if self._peek() != ("op", ")"):
                raise self._error()
            self.position += 1
            return inner
        if kind == "name" and text in _FUNCTIONS:
            function, argument = _FUNCTIONS[text], self._unary()
            return lambda env: _apply(function, argument(env))
        if kind == "name":
            if text not in self.variables:
                self.variables.append(text)
            return lambda env: env[text]
        raise self._error()


def _apply(function: Callable[[float], float], value: float) -> float:
    try:
        return float(function(value))
    except (ValueError, OverflowError):
        return math.nan


class MathStep(ByModulatedStep):
    name = "math"

    def __init__(self, expression: Any):
        if not isinstance(expression, str):
            raise InvalidArgumentError("math() takes an expression as a string")
        parser = _Parser(expression)
        self.expression = parser.parse()
        self.variables = parser.variables
        self.bys: list[Projection] = []

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        for traverser in traversers:
            env = self._values(ctx, traverser)
            if env is not None:
                yield traverser.split(self.expression(env))

    def _values(self, ctx: Context, traverser: Traverser) -> dict | None:
        env = {}
        for index, name in enumerate(self.variables):
            value = traverser.obj if name == "_" else select_value(ctx, traverser, name, Pop.last)
            if value is NOTHING:
                return None
            if self.bys:
                source = traverser if name == "_" else traverser.split(value)
                value = self.bys[index % len(self.bys)](ctx, source)
                if value is NOTHING:
                    return None
            if not is_number(value):
                raise InvalidArgumentError(f"math() needs numbers, but {name} is {value!r}")
            env[name] = float(value)
        return env


@register("math")
def _math(expression: Any) -> Step:
    return MathStep(expression)
