"""Assembling the HTTP application.

    service = build_service(config)       # the real core on config.resolved_graph_url
    app = make_app(service)               # a tornado.web.Application

Tests build a ``Service`` from fakes and pass it to ``make_app`` directly.
"""

from __future__ import annotations

import logging
from typing import Any

import tornado.web
from tornado.log import access_log

from ..config import Config
from ..tenants import TenantRegistry
from .handlers import HealthHandler, OpenRpcHandler, ReadyHandler, RpcHandler
from .methods import method_table
from .openrpc import openrpc_document
from .ratelimit import RateLimiter
from .service import Limits, Service

__all__ = ["make_app", "build_service"]

log = logging.getLogger("identity.rpc")


def make_app(service: Service, **settings: Any) -> tornado.web.Application:
    """The service's routes; ``settings`` go to tornado.web.Application. The Service is
    ``app.service`` and the method table ``app.methods``."""
    table = method_table(service.limits.max_batch)
    app = tornado.web.Application([
        (r"/rpc", RpcHandler, {"service": service, "table": table}),
        (r"/openrpc.json", OpenRpcHandler, {"document": openrpc_document(table)}),
        (r"/healthz", HealthHandler),
        (r"/readyz", ReadyHandler, {"service": service}),
    ], **{"log_function": _access_log, **settings})
    app.service = service  # type: ignore[attr-defined]
    app.methods = table  # type: ignore[attr-defined]
    return app


_ROUTES = frozenset({"/rpc", "/openrpc.json", "/healthz", "/readyz"})


def _access_log(handler: tornado.web.RequestHandler) -> None:
    """tornado's access log line without the query string, and without paths we do not serve:
    a client may put anything there, PII included."""
    status, request = handler.get_status(), handler.request
    path = request.path if request.path in _ROUTES else "(other path)"
    write = access_log.info if status < 400 else access_log.warning if status < 500 else access_log.error
    write("%d %s %s (%s) %.2fms", status, request.method, path, request.remote_ip, 1000.0 * request.request_time())


def build_service(config: Config, *, registry: TenantRegistry | None = None, keyring: Any = None) -> Service:
    """A Service on the identity core, reaching the graph at ``config.resolved_graph_url``, with
    each tenant's data protected by its key ring (``keyring``, by default the data dir's)."""
    from ..core import IdentityGraph
    from ..graph import close_all, open_traversal
    from ..keys import keyring_for

    g = open_traversal(config.resolved_graph_url)
    registry = registry if registry is not None else TenantRegistry(config.data_dir).load()
    if keyring is None:
        keyring = keyring_for(config)  # creates the local KEK file in the data dir on first start

    def identity_factory(tenant: str) -> IdentityGraph:
        return IdentityGraph(g, tenant, protector=keyring.protector(tenant))

    def ping() -> None:
        g.V().limit(1).count().next()

    return Service(registry=registry, identity_factory=identity_factory, ping=ping,
                   limits=Limits(config.max_body_bytes, config.max_batch),
                   limiter=RateLimiter(config.rate_per_second, config.rate_burst),
                   workers=config.workers, on_close=close_all, keyring=keyring)
