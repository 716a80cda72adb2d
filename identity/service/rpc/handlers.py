"""HTTP handlers: ``POST /rpc``, ``GET /openrpc.json``, ``GET /healthz``, ``GET /readyz``,
``GET /metrics``.

Dependencies arrive through ``initialize()``; ``prepare()`` decides everything that does
not need the body (header size, draining, authentication, rate limit, declared size);
``write_error()`` shapes every HTTP-level failure as a JSON-RPC error document. JSON-RPC-level
errors (parse, invalid request, unknown method, invalid params, identity errors) are answered
with 200, as they must be inside a batch; HTTP statuses are reserved for 401, 403, 404, 405,
413, 429, 431 and 503.

Every route streams its body (tornado reads a non-streaming handler's whole body, up to its
100 MB default, before any of our code runs): only ``POST /rpc`` takes one, after the key is
checked; the other routes, and paths we do not serve, refuse a declared body at once (413, or
405/404 first), so nothing is read before it is answered and the connection closed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import replace
from typing import Any

import tornado.web

from ...base import telemetry
from ...security import auth
from . import dispatch, errors, redaction
from .errors import RpcError
from .methods import Context, Method
from .service import Service

__all__ = ["Handler", "RpcHandler", "OpenRpcHandler", "HealthHandler", "ReadyHandler", "MetricsHandler",
           "NotFoundHandler", "HttpFailure", "DRAIN_FACTOR"]

log = logging.getLogger("identity.rpc")

READINESS_TIMEOUT_S = 2.0
#: An oversized body is read and discarded up to this multiple of the limit, so the client can
#: read the 413; beyond it the connection is closed.
DRAIN_FACTOR = 4


class HttpFailure(tornado.web.HTTPError):
    """An HTTP error whose body is the JSON-RPC error ``rpc``, with extra response headers."""

    def __init__(self, status: int, rpc: RpcError, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.rpc = rpc
        self.headers = headers or {}


def _dumps(document: Any) -> bytes:
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:  # an unpaired surrogate (an id echoed back): escaped, as JSON allows
        return json.dumps(document, separators=(",", ":")).encode("ascii")


def header_bytes(request: Any) -> int:
    """The size of a request's head as sent: request line and header lines."""
    line = len(request.method or "") + len(request.uri or "") + len(request.version or "") + 4
    return line + sum(len(name) + len(value) + 4 for name, value in request.headers.get_all())


def declares_body(request: Any) -> bool:
    length = request.headers.get("Content-Length")
    return "Transfer-Encoding" in request.headers or (length is not None and length.strip() not in ("", "0"))


@tornado.web.stream_request_body
class Handler(tornado.web.RequestHandler):
    """What every route shares: the head's size is checked (431), a route that takes no body
    refuses one before reading it (413), and failures are logged by route, method and exception
    type only (tornado's own log_exception prints the URI with its query string and the
    request's headers, API key included: identity.service.rpc.redaction)."""

    #: Only RpcHandler takes a body.
    takes_body = False

    def prepare(self) -> Any:
        self.check_head()
        if not self.takes_body and declares_body(self.request):
            raise HttpFailure(413, RpcError(errors.TOO_LARGE, "Request too large: this route takes no body",
                                            {"max_body_bytes": 0}), {"Connection": "close"})
        return None

    def check_head(self) -> None:
        limit = self.settings.get("max_header_bytes")
        if limit and header_bytes(self.request) > limit:
            raise HttpFailure(431, RpcError(errors.TOO_LARGE, f"Request header fields too large: at most {limit} bytes",
                                            {"max_header_bytes": limit}), {"Connection": "close"})

    def data_received(self, chunk: bytes) -> None:
        """A route that takes no body refused one in prepare(): nothing arrives here."""

    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        if isinstance(value, tornado.web.HTTPError):
            return  # an answer we chose (401, 413, ...): the access log line has it
        request = self.request
        log.error("uncaught exception in %s %s: %s", redaction.safe_method(request.method),
                  redaction.safe_route(request.path),
                  redaction.described(value) if value is not None else getattr(typ, "__name__", "?"))


class JsonHandler(Handler):
    def set_default_headers(self) -> None:
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.set_header("Cache-Control", "no-store")

    def write_json(self, document: Any, status: int = 200) -> None:
        self.set_status(status)
        self.finish(_dumps(document))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        error = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(error, HttpFailure):
            rpc = error.rpc
            for name, value in error.headers.items():
                self.set_header(name, value)
        else:
            code, message = errors.HTTP_ERRORS.get(status_code, (errors.INTERNAL_ERROR, "Internal error"))
            rpc = RpcError(code, message)
        if status_code == 405:
            self.set_header("Allow", ", ".join(self.SUPPORTED_METHODS))
        self.finish(_dumps(dispatch.error_response(None, rpc)))


class NotFoundHandler(JsonHandler):
    """Paths we do not serve: 404 before any body is read (tornado's default reads it all)."""

    SUPPORTED_METHODS = tornado.web.RequestHandler.SUPPORTED_METHODS

    def prepare(self) -> Any:
        self.check_head()
        raise tornado.web.HTTPError(404)


class RpcHandler(JsonHandler):
    SUPPORTED_METHODS = ("POST",)
    takes_body = True

    def initialize(self, service: Service, table: dict[str, Method]) -> None:
        self.service = service
        self.table = table
        self.principal: auth.Principal | None = None
        self._chunks: list[bytes] = []
        self._received = 0
        self._too_large = False
        self._tracked = False
        self._admitted: str | None = None  # the tenant whose open requests count this one
        self._running = False

    def prepare(self) -> None:
        super().prepare()
        if self.service.draining:
            raise HttpFailure(503, RpcError(errors.SHUTTING_DOWN, "Shutting down"), {"Connection": "close"})
        self.service.request_started()
        self._tracked = True
        try:
            self.principal = auth.authenticate(self.service.registry, self.request.headers.get("Authorization"))
        except auth.AuthenticationFailed as failure:
            raise HttpFailure(401, RpcError(errors.UNAUTHORIZED, str(failure)),
                              {"WWW-Authenticate": 'Bearer realm="identity"'}) from None
        tenant = self.principal.tenant
        # a tenant that cannot spend a unit now (its bucket is in debt) is refused before its body
        # is read; each call is charged its price when it runs (dispatch.run)
        self._refuse_when_rate_limited(self.service.limiter.wait(tenant))
        if not self.service.admission.enter(tenant):
            queue = self.service.admission.queue
            raise HttpFailure(429, RpcError(errors.RATE_LIMITED, f"Rate limited: at most {queue} requests of a "
                                            "tenant at once", {"retry_after": 1, "max_open_requests": queue}),
                              {"Retry-After": "1"})
        self._admitted = tenant
        self._refuse_while_circuit_open(self.service.circuit_wait(tenant))
        limit = self.service.limits.max_body_bytes
        declared = self.request.headers.get("Content-Length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            if int(declared) > limit * DRAIN_FACTOR:
                raise self._too_large_failure()
            self._too_large = True
        self.request.connection.set_max_body_size(limit * DRAIN_FACTOR)

    @staticmethod
    def _refuse_when_rate_limited(wait: int) -> None:
        if wait:
            raise HttpFailure(429, errors.rate_limited(wait), {"Retry-After": str(wait)})

    @staticmethod
    def _refuse_while_circuit_open(wait: float) -> None:
        """The graph is known to be down: 503 + Retry-After, without touching it."""
        if wait > 0:
            rpc = errors.graph_unavailable(wait)
            raise HttpFailure(503, rpc, {"Retry-After": str(rpc.data["retry_after"])})

    def data_received(self, chunk: bytes) -> None:
        self._received += len(chunk)
        if self._received > self.service.limits.max_body_bytes:
            self._too_large = True
            self._chunks.clear()
        elif not self._too_large:
            self._chunks.append(chunk)

    def _too_large_failure(self) -> HttpFailure:
        limit = self.service.limits.max_body_bytes
        return HttpFailure(413, RpcError(errors.TOO_LARGE, f"Request too large: at most {limit} bytes",
                                         {"max_body_bytes": limit}))

    async def post(self) -> None:
        self._running = True
        try:
            await self._answer()
        finally:
            self._untrack()

    async def _answer(self) -> None:
        if self._too_large:
            raise self._too_large_failure()
        try:
            payload = dispatch.parse(b"".join(self._chunks))
            plan = dispatch.make_plan(payload, self.table, self.service.limits.max_batch)
        except RpcError as error:
            self.write_json(dispatch.error_response(None, error))
            return
        assert self.principal is not None
        context = Context(self.service, self.principal)
        forbidden = dispatch.refusal(plan, context)
        if forbidden is not None:
            raise HttpFailure(403, forbidden)
        cost, ceiling = dispatch.cost(plan), self.service.limits.max_request_cost
        if cost > ceiling:  # refused whole, before any call runs: it would not fit its deadline
            error = RpcError(errors.INVALID_REQUEST, f"Invalid request: it costs {cost} units, more than the "
                             f"{ceiling} one request may", {"cost": cost, "max_request_cost": ceiling})
            self.write_json(dispatch.error_response(None, error))
            return
        context = replace(context, deadline=time.monotonic() + self.service.request_timeout)
        document = await dispatch.run(plan, context)
        if not plan.batch and isinstance(document, dict):  # a lone call refused before it ran: an HTTP status
            code = document.get("error", {}).get("code")
            retry_after = (document.get("error", {}).get("data") or {}).get("retry_after")
            if code == errors.GRAPH_UNAVAILABLE and retry_after:
                self._refuse_while_circuit_open(retry_after)
            if code == errors.RATE_LIMITED and retry_after:
                self._refuse_when_rate_limited(retry_after)
        if document is None:
            self.set_status(204)
            self.clear_header("Content-Type")
            self.finish()
        else:
            self.write_json(document)

    def on_finish(self) -> None:
        self._untrack()

    def on_connection_close(self) -> None:
        if not self._running:  # the client left while sending its body: post() will never run
            self._untrack()

    def _untrack(self) -> None:
        if self._admitted is not None:
            self.service.admission.leave(self._admitted)
            self._admitted = None
        if self._tracked:
            self._tracked = False
            self.service.request_finished()


class OpenRpcHandler(JsonHandler):
    SUPPORTED_METHODS = ("GET",)

    def initialize(self, document: dict[str, Any]) -> None:
        self.document = document

    def get(self) -> None:
        self.write_json(self.document)


class HealthHandler(JsonHandler):
    """Liveness: the process answers HTTP."""

    SUPPORTED_METHODS = ("GET",)

    def get(self) -> None:
        self.write_json({"status": "ok"})


class MetricsHandler(JsonHandler):
    """Prometheus scrape endpoint: the service's OpenTelemetry metrics in the text format."""

    SUPPORTED_METHODS = ("GET",)

    def get(self) -> None:
        reader = telemetry.current().prometheus
        if reader is None:
            raise tornado.web.HTTPError(404)
        self.set_header("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
        self.finish(telemetry.render_prometheus(reader))


class ReadyHandler(JsonHandler):
    """Readiness: tenants loaded, a graph reachable, not draining. One region's graph down
    leaves the instance ready ("degraded", the region listed): every instance shares that
    graph, so taking them all out of the load balancer would stop the other regions too,
    while the circuit breaker already answers that region's requests at once with 503."""

    SUPPORTED_METHODS = ("GET",)

    def initialize(self, service: Service) -> None:
        self.service = service

    async def get(self) -> None:
        regions = list(self.service.served_regions())
        reachable = dict(zip(regions, await asyncio.gather(*(self._reachable(region) for region in regions))))
        checks = {"tenants": self.service.registry.loaded, "graph": any(reachable.values()),
                  "accepting": not self.service.draining}
        ready = all(checks.values())
        status = "unavailable" if not ready else "ready" if all(reachable.values()) else "degraded"
        self.write_json({"status": status, "checks": checks, "regions": reachable}, 200 if ready else 503)

    async def _reachable(self, region: str) -> bool:
        try:
            await asyncio.wait_for(self.service.run(self.service.ping, region), READINESS_TIMEOUT_S)
            return True
        except Exception as error:  # any failure means "not reachable"; the reason goes to the log only
            log.warning("readiness: graph of region %s unreachable (%s)", region, type(error).__name__)
            return False
