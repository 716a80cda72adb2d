"""Step arguments: literals, collections, tokens, predicates and child traversals.

The grammar's argument forms overlap (``values`` is ``Column.values``, ``values("x")`` is a
child traversal; ``not(within(1))`` is a predicate, ``not(out())`` a traversal), so a bare
name is read by what follows it: a bare word is a constant or a variable, a word with
arguments is a predicate, a cardinality value or else the first step of an anonymous
traversal, exactly as if ``__.`` were written before it.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

from gremlin_python.process.traversal import Bytecode, CardinalityValue, P, TextP
from gremlin_python.structure.graph import Vertex

from ..errors import GremlinSyntaxError
from .cursor import TokenCursor
from .lexer import Kind, Token
from .literals import datetime_value
from .tokens import (
    BARE_CONSTANTS, CARDINALITY_FUNCTIONS, LAMBDA_CLASSES, P_PREDICATES, QUALIFIED_CONSTANTS,
    TERMINAL_METHODS, TEXT_PREDICATES,
)

__all__ = ["ArgumentParser"]

_KEYWORD_VALUES: dict[str, Any] = {
    "true": True, "false": False, "null": None, "NaN": float("nan"), "Infinity": float("inf"),
}
_CARDINALITY_VALUE = {"single": CardinalityValue.single, "list": CardinalityValue.list_,
                      "set": CardinalityValue.set_}
_RANGE_LIMIT = 1_000_000  # gremlin-language refuses integer ranges wider than this too
_LAMBDAS = "lambdas are not supported"


class ArgumentParser(TokenCursor):
    def __init__(self, tokens: list[Token], bindings: dict[str, Any]):
        super().__init__(tokens)
        self.bindings = bindings

    # --- argument lists and values ----------------------------------------------------

    def arguments(self) -> list[Any]:
        """``( value, ... )`` with the opening parenthesis already consumed."""
        values: list[Any] = []
        if self.accept(Kind.RPAREN):
            return values
        while True:
            values.append(self.value())
            if self.accept(Kind.RPAREN):
                return values
            self.expect(Kind.COMMA, "',' or ')'")

    def value(self) -> Any:
        token = self.peek()
        if token.kind is Kind.STRING or token.kind is Kind.NUMBER:
            self.advance()
            if self.at(Kind.RANGE):
                return self.range_from(token)
            return token.value
        if token.kind is Kind.LBRACK:
            return self.list_or_map()
        if token.kind is Kind.LBRACE:
            return self.set_literal()
        if token.kind is Kind.IDENT:
            return self.word()
        raise self.error(f"expected a value (literal, token, predicate or traversal) but found "
                         f"{token.describe()}")

    def word(self) -> Any:
        token = self.advance()
        name = token.text
        if name == "__":
            self.expect(Kind.DOT, "'.' after '__'")
            return self.step_chain(Bytecode(), first=True)
        if name == "g":
            raise self.error("a child traversal must be anonymous: start it with '__.', not 'g.'", token)
        if name == "new":
            return self.new_object()
        if self.at(Kind.DOT) and self.at(Kind.IDENT, ahead=1) and (
                name in QUALIFIED_CONSTANTS or name in ("P", "TextP") or name in LAMBDA_CLASSES):
            return self.qualified(token)
        if self.accept(Kind.LPAREN):
            return self.call(token)
        if self.at(Kind.LBRACE):
            raise self.error(f"{_LAMBDAS} (a closure after {name})")
        if name in _KEYWORD_VALUES:
            return _KEYWORD_VALUES[name]
        if name in BARE_CONSTANTS:
            return BARE_CONSTANTS[name]
        return self.variable(token)

    def variable(self, token: Token) -> Any:
        if token.text in self.bindings:
            return self.bindings[token.text]
        raise self.error(f"unbound variable '{token.text}': expected a value, a Gremlin token, or a "
                         f"name given in bindings", token)

    def qualified(self, owner: Token) -> Any:
        self.advance()  # the dot
        member = self.advance()
        if owner.text in LAMBDA_CLASSES:
            raise self.error(f"{_LAMBDAS} ({owner.text}.{member.text})", owner)
        if owner.text in ("P", "TextP"):
            self.expect(Kind.LPAREN, f"'(' after {owner.text}.{member.text}")
            return self.predicate(owner.text, member)
        if owner.text == "Cardinality" and member.text in CARDINALITY_FUNCTIONS and self.accept(Kind.LPAREN):
            return self.cardinality_value(member)
        members = QUALIFIED_CONSTANTS[owner.text]
        if member.text not in members:
            raise self.error(f"unknown constant {owner.text}.{member.text}: expected one of "
                             + ", ".join(f"{owner.text}.{m}" for m in members), member)
        return members[member.text]

    def call(self, name: Token) -> Any:
        """``name(...)`` in argument position, the opening parenthesis consumed."""
        text = name.text
        if text in P_PREDICATES or text in TEXT_PREDICATES:
            if text == "not":
                return self.not_call(name)
            return self.predicate("TextP" if text in TEXT_PREDICATES else "P", name)
        if text in CARDINALITY_FUNCTIONS:
            return self.cardinality_value(name)
        if text == "datetime":
            args = self.arguments()
            return self.checked(name, lambda: datetime_value(_one_optional_string(args, "datetime")))
        if text == "UUID":
            args = self.arguments()
            return self.checked(name, lambda: _uuid(_one_optional_string(args, "UUID")))
        if text in LAMBDA_CLASSES:
            raise self.error(_LAMBDAS, name)
        bytecode = Bytecode()
        self.step(bytecode, name)
        return self.step_chain(bytecode, first=False)

    def checked(self, token: Token, build: Any) -> Any:
        try:
            return build()
        except (ValueError, TypeError) as exc:
            raise self.error(str(exc), token) from None

    # --- predicates -------------------------------------------------------------------

    def predicate(self, owner: str, name: Token) -> P:
        text = name.text
        if owner == "TextP" and text not in TEXT_PREDICATES or owner == "P" and text not in P_PREDICATES:
            known = sorted(TEXT_PREDICATES if owner == "TextP" else P_PREDICATES)
            raise self.error(f"unknown predicate {owner}.{text}: expected one of {', '.join(known)}", name)
        args = self.arguments()
        return self.predicate_chain(self.make_predicate(owner, name, args))

    def make_predicate(self, owner: str, name: Token, args: list[Any]) -> P:
        text = name.text
        if owner == "TextP":
            if len(args) != 1:
                raise self.error(f"TextP.{text}() takes one string argument", name)
            return TextP(text, args[0])
        if text in ("within", "without"):
            return getattr(P, text)(*args)
        arity = P_PREDICATES[text]
        if arity is not None and len(args) not in arity:
            raise self.error(f"P.{text}() takes {arity[0]} argument(s), got {len(args)}", name)
        if text == "not" and not isinstance(args[0], P):
            raise self.error("P.not() takes a predicate", name)
        return P(text, *args)

    def not_call(self, name: Token) -> Any:
        # not(P) is a predicate; not(traversal) is the not() step of an anonymous traversal.
        args = self.arguments()
        if len(args) == 1 and isinstance(args[0], P):
            return self.predicate_chain(P("not", args[0]))
        bytecode = Bytecode()
        bytecode.add_step("not", *args)
        return self.step_chain(bytecode, first=False)

    def predicate_chain(self, predicate: P) -> P:
        while self.at(Kind.DOT) and self.peek(1).text in ("and", "or", "negate") and self.at(Kind.LPAREN, ahead=2):
            self.advance()
            method = self.advance()
            self.advance()
            args = self.arguments()
            if method.text == "negate":
                if args:
                    raise self.error("negate() takes no arguments", method)
                predicate = P("not", predicate)
                continue
            if len(args) != 1 or not isinstance(args[0], P):
                raise self.error(f"{method.text}() on a predicate takes one predicate", method)
            predicate = P(method.text, predicate, args[0])
        return predicate

    def cardinality_value(self, name: Token) -> CardinalityValue:
        args = self.arguments()
        if len(args) != 1:
            raise self.error(f"{name.text}() takes exactly one value", name)
        return _CARDINALITY_VALUE[name.text](args[0])

    # --- child traversals -------------------------------------------------------------

    def open_arguments(self, name: Token) -> None:
        if self.at(Kind.LBRACE):
            raise self.error(f"{_LAMBDAS} (a closure after {name.text})")
        self.expect(Kind.LPAREN, f"'(' after {name.text}")

    def step(self, bytecode: Bytecode, name: Token) -> None:
        if name.text in TERMINAL_METHODS:
            raise self.error(f"{name.text}() ends a traversal and cannot be used in a child traversal", name)
        bytecode.add_step(name.text, *self.arguments())

    def step_chain(self, bytecode: Bytecode, first: bool) -> Bytecode:
        """Steps ``name(args)`` joined by dots; ``first``: one is required at the cursor."""
        if first:
            name = self.expect(Kind.IDENT, "a step name")
            self.open_arguments(name)
            self.step(bytecode, name)
        while self.at(Kind.DOT) and self.at(Kind.IDENT, ahead=1):
            self.advance()
            name = self.advance()
            self.open_arguments(name)
            self.step(bytecode, name)
        return bytecode

    # --- collections ------------------------------------------------------------------

    def list_or_map(self) -> list | dict:
        self.expect(Kind.LBRACK)
        if self.accept(Kind.RBRACK):
            return []
        if self.at(Kind.COLON) and self.at(Kind.RBRACK, ahead=1):
            self.advance()
            self.advance()
            return {}
        if self.map_key_ahead():
            return self.map_entries()
        first_token = self.peek()
        first = self.value()
        if self.at(Kind.COLON):
            return self.map_entries(first, first_token)
        items = [first]
        while self.accept(Kind.COMMA):
            items.append(self.value())
        self.expect(Kind.RBRACK, "',' or ']'")
        return items

    def map_key_ahead(self) -> bool:
        return self.at(Kind.LPAREN) or (self.at(Kind.IDENT) and self.at(Kind.COLON, ahead=1))

    def map_key(self) -> Any:
        token = self.peek()
        if self.at(Kind.IDENT) and self.at(Kind.COLON, ahead=1):
            self.advance()
            return token.text  # a naked key is a string, as in Groovy: [name: "x"]
        if self.accept(Kind.LPAREN):
            key = self.value()
            self.expect(Kind.RPAREN)
            return key
        return self.value()

    def map_entries(self, first_key: Any = ..., first_token: Token | None = None) -> dict:
        result: dict = {}
        key_token = first_token or self.peek()
        key = self.map_key() if first_key is ... else first_key
        while True:
            self.expect(Kind.COLON, "':' after a map key")
            try:
                result[key] = self.value()
            except TypeError:
                raise self.error(f"a {type(key).__name__} cannot be a map key", key_token) from None
            if not self.accept(Kind.COMMA):
                break
            key_token = self.peek()
            key = self.map_key()
        self.expect(Kind.RBRACK, "',' or ']'")
        return result

    def set_literal(self) -> set:
        brace = self.expect(Kind.LBRACE)
        try:
            items: set = set()
            if not self.accept(Kind.RBRACE):
                while True:
                    items.add(self.value())
                    if self.accept(Kind.RBRACE):
                        break
                    self.expect(Kind.COMMA, "',' or '}'")
            return items
        except TypeError:
            raise self.error("a list, map or predicate cannot be a set element", brace) from None
        except GremlinSyntaxError as exc:
            raise self.error(f"{_LAMBDAS}: '{{...}}' must be a set literal of values ({exc})", brace) from None

    def range_from(self, start: Token) -> list:
        self.advance()  # '..'
        end = self.peek()
        if end.kind is not start.kind:
            raise self.error(f"expected a {start.kind.value} to end the range but found {end.describe()}")
        self.advance()
        return self.checked(start, lambda: _expand_range(start.value, end.value))

    def new_object(self) -> Any:
        name = self.expect(Kind.IDENT, "a class name after 'new'")
        if name.text not in ("Vertex", "ReferenceVertex"):
            raise self.error(f"cannot create '{name.text}' here: expected Vertex or ReferenceVertex", name)
        self.expect(Kind.LPAREN, f"'(' after {name.text}")
        args = self.arguments()
        if len(args) != 2 or not isinstance(args[1], str):
            raise self.error(f"new {name.text}(id, label) takes an id and a string label", name)
        return Vertex(args[0], args[1])


def _one_optional_string(args: list[Any], function: str) -> str | None:
    if not args:
        return None
    if len(args) == 1 and isinstance(args[0], str):
        return args[0]
    raise ValueError(f"{function}() takes at most one string argument")


def _uuid(text: str | None) -> UUID:
    return uuid4() if text is None else UUID(text)


def _expand_range(start: Any, end: Any) -> list:
    if isinstance(start, str):
        if len(start) != len(end) or start[:-1] != end[:-1]:
            raise ValueError("a string range needs two strings that differ only in their last character")
        if not start:
            return []
        step = 1 if start[-1] <= end[-1] else -1
        return [start[:-1] + chr(c) for c in range(ord(start[-1]), ord(end[-1]) + step, step)]
    if not (type(start) is int and type(end) is int):
        raise ValueError("a numeric range needs two plain integers, e.g. 1..5")
    if abs(end - start) > _RANGE_LIMIT:
        raise ValueError(f"range {start}..{end} is too wide (limit {_RANGE_LIMIT} items)")
    step = 1 if start <= end else -1
    return list(range(start, end + step, step))
