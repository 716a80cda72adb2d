"""JSON-RPC error codes and the shaping of every failure into a JSON-RPC error object.

Standard codes (JSON-RPC 2.0): -32700 parse error, -32600 invalid request, -32601 method not
found, -32602 invalid params, -32603 internal error. Server-defined codes (-32000..-32099):

    -32000  identity error        the identity core refused the request
    -32001  not found             an unknown tenant, key or identifier
    -32002  graph unavailable     the graph backend is down or timed out: retry later (HTTP 503
                                  + Retry-After while the graph's circuit breaker is open)
    -32003  conflict              the tenant or key already exists, or settings changed meanwhile
    -32004  unauthorized          HTTP 401: no API key, or an unknown/revoked one
    -32005  forbidden             HTTP 403: an admin method without the admin scope
    -32006  rate limited          the tenant's budget cannot pay for the call (HTTP 429 and Retry-After
                                  when no call of the request ran; in a batch, the calls not run)
    -32007  request too large     HTTP 413: the body exceeds the configured maximum (HTTP 431: the
                                  headers do)
    -32008  shutting down         HTTP 503: the server is draining
    -32009  region not served     the tenant's home region is not served by this deployment
    -32010  deadline exceeded     the request ran past request_timeout: this call did not finish
                                  (what it wrote stays; ingest: send it again to complete it)

Messages never contain request values: they name fields and rules only, because identifier
values are PII and error messages end up in client and server logs.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from ...graph.regions import RegionNotServed
from ...security.tenants import RegistryError, StaleVersion, TenantExists, UnknownKey, UnknownTenant
from .redaction import described

__all__ = [
    "RpcError", "PARSE_ERROR", "INVALID_REQUEST", "METHOD_NOT_FOUND", "INVALID_PARAMS", "INTERNAL_ERROR",
    "IDENTITY_ERROR", "NOT_FOUND", "GRAPH_UNAVAILABLE", "CONFLICT", "UNAUTHORIZED", "FORBIDDEN",
    "RATE_LIMITED", "TOO_LARGE", "SHUTTING_DOWN", "REGION_NOT_SERVED", "DEADLINE_EXCEEDED", "SERVER_ERRORS",
    "HTTP_ERRORS", "from_exception", "graph_unavailable", "deadline_exceeded", "rate_limited",
]

log = logging.getLogger("identity.rpc")

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

IDENTITY_ERROR = -32000
NOT_FOUND = -32001
GRAPH_UNAVAILABLE = -32002
CONFLICT = -32003
UNAUTHORIZED = -32004
FORBIDDEN = -32005
RATE_LIMITED = -32006
TOO_LARGE = -32007
SHUTTING_DOWN = -32008
REGION_NOT_SERVED = -32009
DEADLINE_EXCEEDED = -32010

#: The server-defined codes, published in the OpenRPC document and docs/api.md.
SERVER_ERRORS: dict[int, str] = {
    IDENTITY_ERROR: "Identity error: the identity core refused the request",
    NOT_FOUND: "Not found: an unknown tenant, key or identifier",
    GRAPH_UNAVAILABLE: "Graph unavailable: the graph backend is down or timed out; retry later (HTTP 503 "
                       "with Retry-After while its circuit breaker is open)",
    CONFLICT: "Conflict: the tenant or key already exists, or the settings changed since the version given",
    UNAUTHORIZED: "Unauthorized (HTTP 401): missing, unknown or revoked API key",
    FORBIDDEN: "Forbidden (HTTP 403): the method needs the admin scope of the tenant it acts on, or the "
               "operator scope",
    RATE_LIMITED: "Rate limited: the tenant's rate limit cannot pay for the call now (HTTP 429 with Retry-After for a "
                  "lone call or a whole request; inside a batch, this call and the ones after it did not run); retry "
                  "after data.retry_after seconds",
    TOO_LARGE: "Request too large (HTTP 413): the body exceeds the configured maximum (HTTP 431: the headers do)",
    SHUTTING_DOWN: "Shutting down (HTTP 503): the server is draining; retry on another instance",
    REGION_NOT_SERVED: "Region not served: the tenant's home region is served by another deployment",
    DEADLINE_EXCEEDED: "Deadline exceeded: the request ran past request_timeout and this call did not finish; "
                       "what it wrote stays, and ingest is idempotent by event id, so sending it again completes it",
}

#: HTTP status -> (code, message) for failures decided before any JSON-RPC call runs.
HTTP_ERRORS: dict[int, tuple[int, str]] = {
    400: (INVALID_REQUEST, "Invalid request"),
    401: (UNAUTHORIZED, "Unauthorized"),
    403: (FORBIDDEN, "Forbidden"),
    404: (INVALID_REQUEST, "Not found"),
    405: (INVALID_REQUEST, "Method not allowed: see the Allow header"),
    413: (TOO_LARGE, "Request too large"),
    431: (TOO_LARGE, "Request header fields too large"),
    429: (RATE_LIMITED, "Rate limited"),
    503: (SHUTTING_DOWN, "Shutting down"),
}


class RpcError(Exception):
    """A failure that becomes a JSON-RPC error object."""

    def __init__(self, code: int, message: str, data: Any = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_dict(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error

    @classmethod
    def invalid_params(cls, errors: list[dict[str, str]]) -> "RpcError":
        return cls(INVALID_PARAMS, "Invalid params", {"errors": errors})


def from_exception(error: BaseException) -> RpcError:
    """The JSON-RPC error for anything a method raised. Unexpected exceptions are logged
    (type and traceback, server side only) and reported as a bare internal error."""
    if isinstance(error, RpcError):
        return error
    mapped = _from_identity_error(error) or _from_registry_error(error) or _from_graph_error(error)
    if mapped is not None:
        return mapped
    # the type and the stack, never the message: a library's message may quote its input (PII)
    log.error("internal error in a JSON-RPC method: %s", described(error))
    return RpcError(INTERNAL_ERROR, "Internal error")


def _from_identity_error(error: BaseException) -> RpcError | None:
    try:
        from ...base import errors as core
    except ImportError:  # the core is not installed alongside (never in a release)
        return None
    if isinstance(error, core.ValidationError):
        field = str(getattr(error, "field", "") or "params")
        reason = str(getattr(error, "reason", "") or "is invalid")
        return RpcError.invalid_params([{"field": field, "reason": reason}])
    if isinstance(error, core.NotFound):
        return RpcError(NOT_FOUND, "Not found", {"reason": _safe_message(error)})
    if isinstance(error, core.GraphUnavailable):
        return graph_unavailable(getattr(error, "retry_after", None))
    if isinstance(error, core.DeadlineExceeded):
        return deadline_exceeded()
    if isinstance(error, RegionNotServed):
        return RpcError(REGION_NOT_SERVED, "Region not served", {"reason": _safe_message(error)})
    if isinstance(error, core.IdentityError):
        return RpcError(IDENTITY_ERROR, "Identity error", {"reason": _safe_message(error)})
    return None


def _from_registry_error(error: BaseException) -> RpcError | None:
    if isinstance(error, (TenantExists, StaleVersion)):
        return RpcError(CONFLICT, "Conflict", {"reason": str(error)})
    if isinstance(error, (UnknownTenant, UnknownKey)):
        return RpcError(NOT_FOUND, "Not found", {"reason": str(error)})
    if isinstance(error, RegistryError):
        return RpcError.invalid_params([{"field": error.field, "reason": error.reason}])
    return None


def _from_graph_error(error: BaseException) -> RpcError | None:
    from ...graph.connection import temporary
    if temporary(error):
        log.warning("graph unavailable: %s", type(error).__name__)
        return graph_unavailable()
    return None


def graph_unavailable(retry_after: float | None = None) -> RpcError:
    """The retryable "graph unavailable" error; ``retry_after`` (seconds, rounded up) when the
    circuit breaker is open."""
    data: dict[str, Any] = {"retryable": True}
    if retry_after:
        data["retry_after"] = math.ceil(retry_after)
    return RpcError(GRAPH_UNAVAILABLE, "Graph unavailable", data)


def rate_limited(retry_after: int) -> RpcError:
    """The tenant's rate limit cannot pay for the call now: retry after ``retry_after`` seconds."""
    return RpcError(RATE_LIMITED, "Rate limited", {"retry_after": retry_after})


def deadline_exceeded(timeout: float | None = None) -> RpcError:
    """The call did not finish within the request's deadline (``timeout`` seconds, when known)."""
    return RpcError(DEADLINE_EXCEEDED, "Deadline exceeded", {"request_timeout": timeout} if timeout else None)


def _safe_message(error: BaseException) -> str:
    """The core's own message: the contract guarantees it names fields, not values."""
    return str(error)[:200]
