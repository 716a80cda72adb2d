"""A position in the token stream, and the syntax errors reported from it."""

from __future__ import annotations

from ..errors import GremlinSyntaxError
from .lexer import Kind, Token

__all__ = ["TokenCursor"]


class TokenCursor:
    def __init__(self, tokens: list[Token]):
        self.tokens = tokens
        self.pos = 0

    def peek(self, ahead: int = 0) -> Token:
        index = min(self.pos + ahead, len(self.tokens) - 1)
        return self.tokens[index]

    def at(self, kind: Kind, text: str | None = None, ahead: int = 0) -> bool:
        token = self.peek(ahead)
        return token.kind is kind and (text is None or token.text == text)

    def advance(self) -> Token:
        token = self.peek()
        if token.kind is not Kind.EOF:
            self.pos += 1
        return token

    def accept(self, kind: Kind, text: str | None = None) -> Token | None:
        if self.at(kind, text):
            return self.advance()
        return None

    def expect(self, kind: Kind, expected: str | None = None) -> Token:
        if self.at(kind):
            return self.advance()
        raise self.error(f"expected {expected or kind.value} but found {self.peek().describe()}")

    def error(self, message: str, token: Token | None = None) -> GremlinSyntaxError:
        token = token or self.peek()
        return GremlinSyntaxError(message, token.line, token.column)
