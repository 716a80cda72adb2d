"""Errors raised by the graph engine and its backends.

Every error carries the Gremlin Server status code a remote client would see, so the
in-process backends and the WebSocket endpoint report failures the same way::

    GremlinError                      base class, status 500 (server error)
     +-- GremlinSyntaxError           Gremlin text that does not parse, 599 (script evaluation)
     +-- TraversalError               a traversal that cannot run, 597 (evaluation)
     |    +-- UnsupportedStepError    a step or token this engine does not implement
     |    +-- InvalidArgumentError    a step given arguments it does not accept
     |    +-- NeptuneProfileError     legal on TinkerGraph, rejected by Amazon Neptune
     |    +-- ReadOnlyViolation       a write under ReadOnlyStrategy
     |    +-- ElementNotFound         a mutation naming an element that is gone
     |    +-- ConflictError           an id that is already taken
     |    +-- LimitExceeded           more results, collected values or memory than allowed
     |    +-- EngineFault             Python's own failure inside a step: a bug in the engine
     +-- TraversalTimeout             evaluationTimeout exceeded, 598
     +-- TraversalCancelled           stopped because its caller went away
     +-- AuthenticationError          bad credentials, 401 (Gremlin Server's status)
     +-- ServerSerializationError     a request or result that cannot be (de)serialised, 599
"""

from __future__ import annotations

__all__ = [
    "GremlinError",
    "GremlinSyntaxError",
    "TraversalError",
    "UnsupportedStepError",
    "InvalidArgumentError",
    "NeptuneProfileError",
    "ReadOnlyViolation",
    "ElementNotFound",
    "ConflictError",
    "LimitExceeded",
    "EngineFault",
    "TraversalTimeout",
    "TraversalCancelled",
    "AuthenticationError",
    "ServerSerializationError",
]


class GremlinError(Exception):
    """Base class of every error raised by the gremlin package."""

    status = 500
    #: The Java exception class Gremlin Server would name, carried in the response's
    #: ``exceptions`` attribute so clients that branch on it keep working.
    exception_class = "org.apache.tinkerpop.gremlin.server.GremlinServerException"


class GremlinSyntaxError(GremlinError):
    """Gremlin text that does not parse; the message names line and column."""

    status = 599
    exception_class = "org.apache.tinkerpop.gremlin.language.grammar.GremlinParserException"

    def __init__(self, message: str, line: int | None = None, column: int | None = None):
        where = f" at line {line}, column {column}" if line is not None else ""
        super().__init__(f"{message}{where}")
        self.line = line
        self.column = column


class TraversalError(GremlinError):
    """A traversal that cannot be evaluated."""

    status = 597
    exception_class = "java.lang.IllegalStateException"


class UnsupportedStepError(TraversalError):
    """A step, token or strategy this engine does not implement (never a wrong answer)."""

    exception_class = "java.lang.UnsupportedOperationException"


class InvalidArgumentError(TraversalError):
    exception_class = "java.lang.IllegalArgumentException"


class NeptuneProfileError(InvalidArgumentError):
    """Legal on TinkerGraph but rejected by Amazon Neptune's documented rules."""


class ReadOnlyViolation(TraversalError):
    exception_class = "org.apache.tinkerpop.gremlin.process.traversal.verification.VerificationException"


class ElementNotFound(TraversalError):
    pass


class ConflictError(TraversalError):
    """An element id that is already in use (TinkerGraph: 'Vertex with id already exists')."""


class LimitExceeded(TraversalError):
    """A traversal that would return more results, hold more values in one collection (fold,
    aggregate, group, ...) or use more memory than whoever runs it allows (gremlin.engine.Limits)."""


class EngineFault(TraversalError):
    """A Python exception (TypeError, KeyError, ...) that escaped a step: never TinkerPop's answer to
    bad input, which is always an error of its own that says what is wrong. Still reported to the
    client as a failed traversal, but the conformance and differential checks count it as a bug."""


class TraversalTimeout(GremlinError):
    status = 598
    exception_class = "java.util.concurrent.TimeoutException"


class TraversalCancelled(GremlinError):
    """A traversal stopped because whoever asked for it no longer waits (a client that went away)."""

    exception_class = "java.lang.InterruptedException"


class AuthenticationError(GremlinError):
    status = 401
    exception_class = "org.apache.tinkerpop.gremlin.server.auth.AuthenticationException"


class ServerSerializationError(GremlinError):
    status = 599
    exception_class = "org.apache.tinkerpop.gremlin.util.ser.SerializationException"
