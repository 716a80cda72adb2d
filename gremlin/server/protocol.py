"""Gremlin Server's WebSocket envelopes, independent of the serializer.

A request frame is ``<mime length byte><mime type><serialized RequestMessage>``; a response
frame is one serialized ResponseMessage. A request is answered by zero or more 206
(PARTIAL_CONTENT) frames followed by one 200 (SUCCESS), by a single 204 (NO_CONTENT), or by
one error frame. Every error frame carries the ``exceptions`` and ``stackTrace`` status
attributes Gremlin Server sends, so clients that branch on them keep working.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import GremlinError

__all__ = [
    "Status", "RequestMessage", "ResponseMessage", "RequestDecodeError", "Codec",
    "error_response", "split_mime",
]


class Status:
    """Gremlin Server's ResponseStatusCode values."""

    SUCCESS = 200
    NO_CONTENT = 204
    PARTIAL_CONTENT = 206
    UNAUTHORIZED = 401
    FORBIDDEN = 403
    AUTHENTICATE = 407
    MALFORMED_REQUEST = 498
    INVALID_REQUEST_ARGUMENTS = 499
    SERVER_ERROR = 500
    SCRIPT_EVALUATION_ERROR = 597
    SERVER_TIMEOUT = 598
    SERIALIZATION_ERROR = 599


@dataclass
class RequestMessage:
    request_id: uuid.UUID | None
    op: str
    processor: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass
class ResponseMessage:
    request_id: uuid.UUID | None
    code: int
    message: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)
    data: Any = None
    meta: dict[str, Any] = field(default_factory=dict)


class RequestDecodeError(GremlinError):
    """A frame that cannot be read as a request; ``request_id`` is set when the header was
    readable, so the error can still be routed to the caller that sent it."""

    def __init__(self, message: str, *, status: int = Status.MALFORMED_REQUEST,
                 request_id: uuid.UUID | None = None,
                 exception_class: str = "org.apache.tinkerpop.gremlin.util.ser.SerializationException"):
        super().__init__(message)
        self.status = status
        self.request_id = request_id
        self.exception_class = exception_class


class Codec(Protocol):
    """One wire format (GraphBinary, GraphSON): requests in, responses out."""

    mime_type: str

    def decode_request(self, payload: bytes) -> RequestMessage:
        """``payload`` is the frame after the mime type; raises RequestDecodeError."""

    def encode_response(self, response: ResponseMessage) -> bytes:
        """Raises ServerSerializationError when ``response.data`` cannot be written."""


def split_mime(frame: bytes) -> tuple[str, bytes]:
    """The mime type a binary request frame names, and the rest of the frame."""
    if not frame:
        raise RequestDecodeError("Empty request frame")
    length = frame[0]
    if length == 0 or len(frame) < 1 + length:
        raise RequestDecodeError("The request frame does not start with a mime type")
    try:
        mime = frame[1:1 + length].decode("ascii")
    except UnicodeDecodeError:
        raise RequestDecodeError("The request frame does not start with a mime type") from None
    return mime, frame[1 + length:]


def error_response(request_id: uuid.UUID | None, error: BaseException) -> ResponseMessage:
    """The error frame Gremlin Server would send for ``error``."""
    if isinstance(error, GremlinError):
        code, java_class = error.status, error.exception_class
    else:
        code, java_class = Status.SERVER_ERROR, "java.lang.RuntimeException"
    message = str(error) or type(error).__name__
    return ResponseMessage(request_id, code, message, {
        "exceptions": [java_class],
        "stackTrace": f"{java_class}: {message}",
    })
