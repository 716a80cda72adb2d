"""math(): arithmetic over the current value ('_'), path labels, side effects and map entries.

The expression language is exp4j's, as TinkerPop's: numbers, + - * / % ^, unary minus, parentheses
and the usual one-argument functions (``sin _`` needs no parentheses). Each variable, in the order it
first appears, takes the next by() modulator; a by() that yields nothing drops the traverser, a
variable that names nothing is an error. Results are doubles, with Java's Infinity and NaN where
Python would raise; dividing by zero is exp4j's error ("Division by zero!").
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Iterator

from gremlin_python.process.traversal import Pop

from ..errors import InvalidArgumentError, TraversalError
from .base import Context, Step, register
from .java_cbrt import cbrt
from .common import NOTHING, ByModulatedStep, Projection, refuse_replaced_by
from .steps_map import select_value
from .traverser import Traverser
from .values import is_number

_FUNCTIONS: dict[str, Callable[[float], float]] = {
    "abs": abs, "acos": math.acos, "asin": math.asin, "atan": math.atan,
    "cbrt": cbrt,
    "ceil": lambda x: _rounded(math.ceil, x), "cos": math.cos, "cosh": math.cosh, "exp": math.exp,
    "floor": lambda x: _rounded(math.floor, x),
    "log": lambda x: _log(math.log, x), "log10": lambda x: _log(math.log10, x),
    # exp4j's log2 divides natural logarithms (math.log2 rounds differently: log2(3) is ...563 in Java)
    "log2": lambda x: _log(math.log, x) / math.log(2.0), "sin": math.sin,
    "sinh": math.sinh, "sqrt": math.sqrt, "tan": math.tan, "tanh": math.tanh,
    "signum": lambda x: float((x > 0) - (x < 0)),
}
# exp4j's other functions (log1p, expm1, pow...) are no functions to TinkerPop's math(): it takes their
# names for variables, which exp4j refuses; so do the unknown names here (a variable naming nothing).
#: past the largest double, Java's functions give an infinity where Python's raise OverflowError
_OVERFLOW_SIGNED = {math.sinh}
#: exp4j's constants that TinkerPop does not take for variables (its names are ASCII only)
_CONSTANTS = {"π": math.pi, "φ": 1.61803398874}


def _rounded(function: Callable[[float], int], x: float) -> float:
    """Java's ceil/floor: a double with the argument's sign (ceil(-0.5) is -0.0), infinities kept."""
    if math.isinf(x) or x != x:
        return x
    return math.copysign(float(function(x)), x)


def _log(function: Callable[[float], float], x: float) -> float:
    return -math.inf if x == 0 else function(x)  # Java's log(0); a negative one is NaN via _apply


_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|([A-Za-z_][A-Za-z0-9_]*)|(.))")

# An expression compiles to a function of the variables' values.
_Compiled = Callable[[dict], float]


def _divide(a: float, b: float) -> float:
    if b == 0:
        raise TraversalError("Division by zero!")  # exp4j's division refuses a zero divisor
    return a / b


def _remainder(a: float, b: float) -> float:
    if b == 0:
        raise TraversalError("Division by zero!")
    return math.fmod(a, b)


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
            return lambda env: _power(base(env), exponent(env))
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
        if kind == "op" and text in _CONSTANTS:
            constant = _CONSTANTS[text]
            return lambda env: constant
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
    except ValueError:
        return math.nan
    except OverflowError:
        return math.copysign(math.inf, value) if function in _OVERFLOW_SIGNED else math.inf


def _power(base: float, exponent: float) -> float:
    """Java's Math.pow: an infinity past the largest double and for a zero to a negative power
    (negative for an odd integer power of a negative base), NaN for a fraction of a negative base,
    where Python's raises."""
    try:
        return math.pow(base, exponent)
    except (OverflowError, ValueError):
        if base < 0 and exponent != int(exponent):
            return math.nan
        odd = exponent == int(exponent) and int(exponent) % 2 == 1
        return math.copysign(math.inf, base) if odd else math.inf


class MathStep(ByModulatedStep):
    name = "math"

    def __init__(self, expression: Any):
        if not isinstance(expression, str):
            raise InvalidArgumentError("math() takes an expression as a string")
        parser = _Parser(expression)
        self.expression = parser.parse()
        self.variables = parser.variables
        self.bys: list[Projection] = []

    def scope_keys(self) -> set[str]:
        """The labels the expression reads (TinkerPop's Scoping keys: its variables but ``_``)."""
        return {v for v in self.variables if v != "_"}

    def modulate(self, name: str, args: tuple) -> None:
        if name == "by" and args:
            refuse_replaced_by("MathStep", args[0])
        super().modulate(name, args)

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        keep = self.keep_labels
        for traverser in traversers:
            env = self._values(ctx, traverser)
            if env is not None:
                made = traverser.split(self.expression(env))
                yield made if keep is None else made.keeping(keep)

    def _values(self, ctx: Context, traverser: Traverser) -> dict | None:
        """The variables' values, or None when a by() yields nothing (the traverser is dropped).
        A name that is no path label, side effect or map key is null, and null or anything else
        that is no number is an error, as TinkerPop's (so are exp4j's constants pi and e: a
        variable takes their name first)."""
        env = {}
        for index, name in enumerate(self.variables):
            value = traverser.obj if name == "_" else select_value(ctx, traverser, name, Pop.last)
            if value is NOTHING:
                value = None
            if self.bys:
                source = traverser if name == "_" else traverser.split(value)
                value = self.bys[index % len(self.bys)](ctx, source)
                if value is NOTHING:
                    return None
            if not is_number(value):
                kind = "null" if value is None else type(value).__name__
                raise TraversalError(f"The variable {name} for math() step must resolve to a Number - it is "
                                     f"instead of type {kind} with value {value!r}")
            env[name] = float(value)
        return env


@register("math")
def _math(expression: Any) -> Step:
    return MathStep(expression)
