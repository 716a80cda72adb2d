"""The shape of one Gremlin query: ``g``, source methods, steps, an optional terminal method.

    query   := 'g' ('.' source)* ('.' step)* ('.' terminal)? ';'? EOF
             | 'g' '.' 'tx' '(' ')' '.' ('begin' | 'commit' | 'rollback') '(' ')'
    source  := with | withStrategies | withoutStrategies | withSack | ...   (before any step)
    step    := name '(' arguments ')'                     (any name: new steps need no change)

The bytecode is built the way gremlinpython's GraphTraversalSource builds it, including its
quirks: ``with(k, v)`` becomes ``withStrategies(OptionsStrategy({k: v}))`` (merged into an
earlier OptionsStrategy) and ``iterate()`` appends a ``none()`` step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gremlin_python.process.strategies import OptionsStrategy, VertexProgramStrategy
from gremlin_python.process.traversal import Bytecode, TraversalStrategy

from .arguments import ArgumentParser
from .lexer import Kind, Token, tokenize
from .strategies import build_strategy, strategy_class
from .tokens import SOURCE_METHODS, TERMINAL_METHODS

__all__ = ["Query", "parse_query", "parse"]

_TRANSACTION_OPERATIONS = ("begin", "commit", "rollback")


@dataclass
class Query:
    """A parsed query: its bytecode and the terminal method that ended it, if any."""

    bytecode: Bytecode
    terminal: str | None = None
    #: ``next(3)`` -> 3; None for every other terminal method.
    terminal_argument: int | None = None


class _QueryParser(ArgumentParser):
    def query(self) -> Query:
        root = self.peek()
        if not self.accept(Kind.IDENT, "g"):
            raise self.error(f"expected 'g' to start a traversal but found {root.describe()}")
        bytecode = Bytecode()
        result = Query(bytecode)
        started = False
        while self.accept(Kind.DOT):
            name = self.expect(Kind.IDENT, "a step name after '.'")
            if name.text == "tx" and not started and not bytecode.source_instructions:
                self.transaction(bytecode)
                break
            self.open_arguments(name)
            if not started and name.text in SOURCE_METHODS:
                self.source_method(bytecode, name)
            elif name.text in TERMINAL_METHODS:
                self.terminal(result, name, started)
                break
            else:
                self.step(bytecode, name)
                started = True
        self.accept(Kind.SEMI)
        if not self.at(Kind.EOF):
            raise self.error(f"expected '.' and a step, or the end of the query, but found "
                             f"{self.peek().describe()}")
        return result

    def transaction(self, bytecode: Bytecode) -> None:
        self.expect(Kind.LPAREN, "'(' after tx")
        self.expect(Kind.RPAREN, "')' after tx(")
        self.expect(Kind.DOT, "'.' after tx()")
        operation = self.expect(Kind.IDENT, "begin, commit or rollback")
        if operation.text not in _TRANSACTION_OPERATIONS:
            raise self.error(f"expected begin, commit or rollback after tx() but found "
                             f"{operation.describe()}", operation)
        self.expect(Kind.LPAREN, f"'(' after {operation.text}")
        self.expect(Kind.RPAREN, f"')' after {operation.text}(")
        bytecode.add_source("tx", operation.text)

    def terminal(self, result: Query, name: Token, started: bool) -> None:
        if not started:
            raise self.error(f"{name.text}() needs a traversal: expected a step such as V() first", name)
        args = self.arguments()
        if name.text == "next" and len(args) == 1 and type(args[0]) is int:
            result.terminal_argument = args[0]
        elif args:
            raise self.error(f"{name.text}() takes no arguments"
                             + (" other than an integer count" if name.text == "next" else ""), name)
        if not (self.at(Kind.EOF) or self.at(Kind.SEMI)):
            raise self.error(f"{name.text}() must be the last method of the query but found "
                             f"{self.peek().describe()} after it")
        result.terminal = name.text
        if name.text == "iterate":
            result.bytecode.add_step("none")  # as gremlinpython's Traversal.iterate() does

    # --- source methods ---------------------------------------------------------------

    def source_method(self, bytecode: Bytecode, name: Token) -> None:
        if name.text == "withStrategies":
            bytecode.add_source("withStrategies", *self.strategy_list(name))
        elif name.text == "withoutStrategies":
            bytecode.add_source("withoutStrategies", *self.strategy_classes(name))
        elif name.text == "with":
            self.with_option(bytecode, name, self.arguments())
        elif name.text == "withComputer":
            if self.arguments():
                raise self.error("withComputer() with arguments is not supported", name)
            bytecode.add_source("withStrategies", VertexProgramStrategy())
        else:
            bytecode.add_source(name.text, *self.arguments())

    def with_option(self, bytecode: Bytecode, name: Token, args: list[Any]) -> None:
        if not 1 <= len(args) <= 2 or not isinstance(args[0], str):
            raise self.error("with() takes a string key and an optional value", name)
        value = True if len(args) == 1 or args[1] is None else args[1]
        for instruction in bytecode.source_instructions:
            if instruction[0] == "withStrategies" and type(instruction[1]) is OptionsStrategy:
                instruction[1].configuration[args[0]] = value
                return
        bytecode.add_source("withStrategies", OptionsStrategy({args[0]: value}))

    def strategy_list(self, method: Token) -> list[Any]:
        strategies: list[Any] = []
        if self.at(Kind.RPAREN):
            raise self.error(f"{method.text}() needs at least one strategy")
        while True:
            strategies.append(self.strategy())
            if self.accept(Kind.RPAREN):
                return strategies
            self.expect(Kind.COMMA, "',' or ')'")

    def strategy(self) -> Any:
        self.accept(Kind.IDENT, "new")
        name = self.expect(Kind.IDENT, "a strategy name")
        is_strategy = strategy_class(name.text) is not None or name.text.endswith("Strategy")
        if not is_strategy and not self.at(Kind.LPAREN):
            value = self.variable(name)
            if not isinstance(value, TraversalStrategy):
                raise self.error(f"'{name.text}' is not a strategy", name)
            return value
        configuration: dict[str, Any] = {}
        if self.accept(Kind.LPAREN) and not self.accept(Kind.RPAREN):
            while True:
                key = self.peek()
                if key.kind not in (Kind.IDENT, Kind.STRING):
                    raise self.error(f"expected a configuration key of {name.text} but found "
                                     f"{key.describe()}")
                self.advance()
                self.expect(Kind.COLON, f"':' after {key.text}")
                configuration[key.text if key.kind is Kind.IDENT else key.value] = self.value()
                if self.accept(Kind.RPAREN):
                    break
                self.expect(Kind.COMMA, "',' or ')'")
        return build_strategy(name.text, configuration)

    def strategy_classes(self, method: Token) -> list[type]:
        classes: list[type] = []
        while True:
            name = self.expect(Kind.IDENT, "a strategy class name")
            cls = strategy_class(name.text)
            if cls is None:
                raise self.error(f"unknown strategy '{name.text}' in {method.text}(): expected a "
                                 "strategy class such as CountStrategy", name)
            classes.append(cls)
            if self.accept(Kind.RPAREN):
                return classes
            self.expect(Kind.COMMA, "',' or ')'")


def parse_query(text: str, bindings: dict[str, Any] | None = None) -> Query:
    """Parse one Gremlin traversal starting at ``g``; see :class:`Query`.

    Bare names that are neither Gremlin tokens nor steps are variables looked up in
    ``bindings``. Raises :class:`gremlin.errors.GremlinSyntaxError` naming line and column.
    """
    return _QueryParser(tokenize(text), dict(bindings or {})).query()


def parse(text: str, bindings: dict[str, Any] | None = None) -> Bytecode:
    """The gremlinpython Bytecode of one Gremlin traversal (``parse_query(...).bytecode``)."""
    return parse_query(text, bindings).bytecode
