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

from ...graph.regions import RegionNotServed
from ...security.tenants import TenantRegistry, UnknownTenant
from ..config import Config
from ..settings import GuardSettings
from .handlers import (DRAIN_FACTOR, HealthHandler, MetricsHandler, NotFoundHandler, OpenRpcHandler, ReadyHandler,
                       RpcHandler)
from .methods import method_table
from .openrpc import openrpc_document
from .ratelimit import RateLimiter
from .redaction import CHECKED, install as redact_tornado_logs, safe_method, safe_route
from .service import Limits, Service

__all__ = ["make_app", "build_service"]

log = logging.getLogger("identity.rpc")


#: Headers up to this multiple of ``max_header_bytes`` are read so that the client gets its 431;
#: beyond it tornado closes the connection (the memory one connection's head may take).
HEADER_READ_FACTOR = 16


def make_app(service: Service, **settings: Any) -> tornado.web.Application:
    """The service's routes; ``settings`` go to tornado.web.Application. The Service is
    ``app.service``, the method table ``app.methods``, and the HTTPServer keyword arguments
    that enforce the limits (head size and time, body size and time) ``app.server_options``."""
    redact_tornado_logs()
    table = method_table(service.limits.max_batch)
    app = tornado.web.Application([
        (r"/rpc", RpcHandler, {"service": service, "table": table}),
        (r"/openrpc.json", OpenRpcHandler, {"document": openrpc_document(
            table, limits=service.limits, request_timeout=service.request_timeout)}),
        (r"/healthz", HealthHandler),
        (r"/readyz", ReadyHandler, {"service": service}),
        (r"/metrics", MetricsHandler),
    ], **{"log_function": _access_log, "default_handler_class": NotFoundHandler,
          "max_header_bytes": service.limits.max_header_bytes, **settings})
    app.service = service  # type: ignore[attr-defined]
    app.methods = table  # type: ignore[attr-defined]
    app.server_options = server_options(service.limits)  # type: ignore[attr-defined]
    return app


def server_options(limits: Limits) -> dict[str, Any]:
    """tornado.httpserver.HTTPServer's keyword arguments for ``limits``: a slow sender is cut off
    after ``header_timeout`` (its head, or idle between requests) or ``body_timeout`` (its body),
    and no connection buffers more than the largest body or head we still answer."""
    return {"max_header_size": limits.max_header_bytes * HEADER_READ_FACTOR,
            "idle_connection_timeout": limits.header_timeout, "body_timeout": limits.body_timeout,
            "max_body_size": limits.max_body_bytes * DRAIN_FACTOR}


def _access_log(handler: tornado.web.RequestHandler) -> None:
    """tornado's access log line without the query string, and without paths or methods we do
    not serve: a client may put anything there, PII included."""
    status, request = handler.get_status(), handler.request
    write = access_log.info if status < 400 else access_log.warning if status < 500 else access_log.error
    write("%d %s %s (%s) %.2fms", status, safe_method(request.method), safe_route(request.path), request.remote_ip,
          1000.0 * request.request_time(), extra=CHECKED)


def build_service(config: Config, *, registry: TenantRegistry | None = None, keyring: Any = None) -> Service:
    """A Service on the identity core: each tenant's data in its home region's graph
    (``config.region_router()``), protected by its key ring (``keyring``, by default the data
    dir's), under its guard settings (the config file's, then the registry's: identity.service.settings)."""
    from ...domain.core import IdentityGraph
    from ...graph.connection import close_all
    from ..config import keyring_for

    router = config.region_router()
    registry = registry if registry is not None else TenantRegistry(config.data_dir).load()
    guards = GuardSettings(registry, config.tenant_guards())
    if keyring is None:
        keyring = keyring_for(config)  # creates the local KEK file in the data dir on first start

    def endpoints(tenant_id: str) -> Any:
        tenant = registry.tenant(tenant_id)
        if tenant is None:
            raise UnknownTenant(tenant_id)
        return router.endpoints(tenant.region)

    def identity_factory(tenant: str) -> IdentityGraph:
        region = endpoints(tenant)
        return IdentityGraph(region.writer, tenant, reader=region.reader, protector=keyring.protector(tenant),
                             config=guards.source(tenant))

    def ping(region: str) -> None:
        router.endpoints(region).writer.V().limit(1).count().next()

    def circuit_wait(tenant: str) -> float:
        try:
            return endpoints(tenant).writer_connection.breaker.retry_after()
        except (UnknownTenant, RegionNotServed):  # answered by the call itself
            return 0.0

    return Service(registry=registry, identity_factory=identity_factory, ping=ping,
                   limits=Limits.of(config),
                   limiter=RateLimiter(config.rate_per_second, config.rate_burst),
                   workers=config.workers, request_timeout=config.request_timeout, circuit_wait=circuit_wait,
                   on_close=close_all, keyring=keyring, router=router, served_regions=router.served, guards=guards)
