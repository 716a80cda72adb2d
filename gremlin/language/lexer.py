"""Tokenizer for Gremlin text (the gremlin-language grammar's lexical rules).

Keywords are not separate token kinds: ``T``, ``id``, ``true`` and step names all arrive as
identifiers and the parser decides what they mean from where they stand. Numbers, strings
and the signed ``Infinity`` literal are converted to Python values here, so a malformed
literal is reported at its own position.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..errors import GremlinSyntaxError
from .literals import number_value, unescape_string

__all__ = ["Kind", "Token", "tokenize"]


class Kind(Enum):
    IDENT = "identifier"
    STRING = "string"
    NUMBER = "number"
    DOT = "'.'"
    RANGE = "'..'"
    COMMA = "','"
    COLON = "':'"
    SEMI = "';'"
    LPAREN = "'('"
    RPAREN = "')'"
    LBRACK = "'['"
    RBRACK = "']'"
    LBRACE = "'{'"
    RBRACE = "'}'"
    EOF = "end of input"


@dataclass(frozen=True)
class Token:
    kind: Kind
    text: str
    line: int
    column: int
    value: Any = None

    def describe(self) -> str:
        if self.kind is Kind.EOF:
            return "end of input"
        return repr(self.text)


_PUNCTUATION = {
    ",": Kind.COMMA, ":": Kind.COLON, ";": Kind.SEMI, "(": Kind.LPAREN, ")": Kind.RPAREN,
    "[": Kind.LBRACK, "]": Kind.RBRACK, "{": Kind.LBRACE, "}": Kind.RBRACE,
}

# Order matters: hex before decimal (so "0x1f" is not "0" + identifier), floats before
# integers (so "1.5" is not "1" + "." + "5"); "1..3" stays an integer because a float needs
# a digit after its point.
_DIGITS = r"[0-9](?:[0-9_]*[0-9])?"
_NUMBER = re.compile(
    rf"""[+-]?(?:
        0[xX][0-9a-fA-F](?:[0-9a-fA-F_]*[0-9a-fA-F])?[bBsSnNiIlL]?
      | (?:{_DIGITS})?\.{_DIGITS}(?:[eE][+-]?{_DIGITS})?[fFdDmM]?
      | {_DIGITS}[eE][+-]?{_DIGITS}[fFdDmM]?
      | {_DIGITS}[fFdDmM]
      | {_DIGITS}[bBsSnNiIlL]?
    )""",
    re.VERBOSE,
)
_SIGNED_INFINITY = re.compile(r"[+-]Infinity")
# A literal is followed by a point only when it is "1..3"; ".5" after a value would be chaining.
_VALUE_START_AFTER = {Kind.COMMA, Kind.LPAREN, Kind.LBRACK, Kind.COLON, Kind.LBRACE, Kind.RANGE}


def _is_identifier_start(ch: str) -> bool:
    return ch.isalpha() or ch in "_$"


def _is_identifier_part(ch: str) -> bool:
    return ch.isalnum() or ch in "_$"


class _Lexer:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0
        self.tokens: list[Token] = []
        self.line_starts = [0] + [i + 1 for i, ch in enumerate(text) if ch == "\n"]

    def where(self, pos: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset."""
        line = bisect_right(self.line_starts, pos)
        return line, pos - self.line_starts[line - 1] + 1

    def error(self, message: str, pos: int | None = None) -> GremlinSyntaxError:
        return GremlinSyntaxError(message, *self.where(self.pos if pos is None else pos))

    def emit(self, kind: Kind, start: int, value: Any = None) -> None:
        line, column = self.where(start)
        self.tokens.append(Token(kind, self.text[start:self.pos], line, column, value))

    def previous_kind(self) -> Kind | None:
        return self.tokens[-1].kind if self.tokens else None

    def run(self) -> list[Token]:
        text = self.text
        while self.pos < len(text):
            ch = text[self.pos]
            if ch in " \t\r\n\f":
                self.pos += 1
            elif text.startswith("//", self.pos):
                end = text.find("\n", self.pos)
                self.pos = len(text) if end < 0 else end
            elif text.startswith("/*", self.pos):
                raise self.error("block comments are not part of Gremlin; use // comments")
            elif ch in "\"'":
                self.string(ch)
            elif self.number_here():
                self.number()
            elif text.startswith("..", self.pos):
                start, self.pos = self.pos, self.pos + 2
                self.emit(Kind.RANGE, start)
            elif ch == ".":
                start, self.pos = self.pos, self.pos + 1
                self.emit(Kind.DOT, start)
            elif ch in _PUNCTUATION:
                start, self.pos = self.pos, self.pos + 1
                self.emit(_PUNCTUATION[ch], start)
            elif _is_identifier_start(ch):
                start = self.pos
                while self.pos < len(text) and _is_identifier_part(text[self.pos]):
                    self.pos += 1
                self.emit(Kind.IDENT, start)
            elif ch == "-" and text.startswith(">", self.pos + 1):
                raise self.error("lambdas are not supported (found '->')")
            else:
                raise self.error(f"unexpected character {ch!r}")
        self.emit(Kind.EOF, self.pos)
        return self.tokens

    def number_here(self) -> bool:
        text, pos = self.text, self.pos
        ch = text[pos]
        if ch.isdigit():
            return True
        if ch in "+-":
            rest = text[pos + 1:pos + 3]
            return bool(rest) and (rest[0].isdigit() or (rest[0] == "." and rest[1:].isdigit())
                                   or text.startswith("Infinity", pos + 1))
        if ch == "." and text[pos + 1:pos + 2].isdigit():
            return self.previous_kind() in _VALUE_START_AFTER or self.previous_kind() is None
        return False

    def number(self) -> None:
        start = self.pos
        infinity = _SIGNED_INFINITY.match(self.text, start)
        if infinity:
            self.pos = infinity.end()
            self.emit(Kind.NUMBER, start, float("-inf") if self.text[start] == "-" else float("inf"))
            return
        match = _NUMBER.match(self.text, start)
        if match is None:  # pragma: no cover - number_here() only admits what the pattern takes
            raise self.error("malformed number")
        self.pos = match.end()
        if self.pos < len(self.text) and _is_identifier_part(self.text[self.pos]):
            end = self.pos
            while end < len(self.text) and _is_identifier_part(self.text[end]):
                end += 1
            raise self.error(f"malformed number {self.text[start:end]!r}", start)
        try:
            value = number_value(match.group(0))
        except ValueError as exc:
            raise self.error(str(exc), start) from None
        self.emit(Kind.NUMBER, start, value)

    def string(self, quote: str) -> None:
        start, text = self.pos, self.text
        pos = start + 1
        while pos < len(text) and text[pos] != quote:
            pos += 2 if text[pos] == "\\" else 1
        if pos >= len(text):
            raise self.error(f"unterminated string: expected a closing {quote}", start)
        self.pos = pos + 1
        try:
            value = unescape_string(text[start + 1:pos])
        except ValueError as exc:
            raise self.error(str(exc), start) from None
        self.emit(Kind.STRING, start, value)


def tokenize(text: str) -> list[Token]:
    """Split Gremlin text into tokens, ending with one ``EOF`` token."""
    return _Lexer(text).run()
