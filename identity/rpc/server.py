"""Running the service: the HTTP endpoint, the optional Gremlin console endpoint on the same
in-process graph, and graceful shutdown.

    await serve(config, on_ready=print_banner)    # until SIGTERM/SIGINT or ``stop`` is set

Shutdown order: stop accepting connections, refuse new requests with 503 while in-flight ones
finish (at most ``config.grace_period`` seconds), close the Gremlin endpoint, close graph
connections, and finally close the in-process graph so a durable store is flushed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

import tornado.httpserver
import tornado.netutil
import tornado.web

from .. import auth
from ..config import Config
from ..tenants import TenantRegistry
from .app import build_service, make_app
from .service import Service

__all__ = ["ServerInfo", "serve", "ensure_dev_tenant", "shared_graph_url", "DEV_TENANT"]

log = logging.getLogger("identity.server")

DEV_TENANT = "dev"
_IN_PROCESS = ("memory", "file")


@dataclass(frozen=True)
class ServerInfo:
    url: str
    graph_url: str
    gremlin_url: str | None
    #: The dev tenant's admin key when it was created by this start (shown once), else None.
    dev_key: str | None


def shared_graph_url(url: str) -> str:
    """``memory://`` names a fresh graph on every connect; give it a name so the JSON-RPC
    service and the Gremlin endpoint see the same one."""
    parts = urlsplit(url)
    if parts.scheme == "memory" and not (parts.netloc + parts.path).strip("/"):
        return parts._replace(netloc=f"identity-{uuid.uuid4().hex[:12]}").geturl()
    return url


def ensure_dev_tenant(registry: TenantRegistry) -> str | None:
    """Create tenant ``dev`` with an admin key if it does not exist; the key, or None."""
    if registry.tenant(DEV_TENANT) is not None:
        return None
    registry.create_tenant(DEV_TENANT, "local")
    return auth.issue_key(registry, DEV_TENANT, admin=True).key


def _gremlin_app(graph_url: str) -> tornado.web.Application | None:
    from ..graph import console_endpoint_app
    if urlsplit(graph_url).scheme not in _IN_PROCESS:
        log.info("no Gremlin console endpoint: the graph is remote (%s); use its own endpoint",
                 urlsplit(graph_url).scheme)
        return None
    return console_endpoint_app(graph_url)


def _listen(app: tornado.web.Application, port: int, host: str) -> tuple[tornado.httpserver.HTTPServer, int]:
    sockets = tornado.netutil.bind_sockets(port, host)
    server = tornado.httpserver.HTTPServer(app, **getattr(app, "server_options", {}))
    server.add_sockets(sockets)
    return server, sockets[0].getsockname()[1]


async def serve(config: Config, *, stop: asyncio.Event | None = None,
                on_ready: Callable[[ServerInfo], None] | None = None, handle_signals: bool = True,
                service: Service | None = None) -> None:
    graph_url = shared_graph_url(config.resolved_graph_url)
    config = config.replace(graph_url=graph_url)
    service = service if service is not None else build_service(config)
    dev_key = ensure_dev_tenant(service.registry) if config.dev_tenant else None
    http_server, port = _listen(make_app(service), config.port, config.host)
    gremlin_server = gremlin_url = gremlin_app = None
    if config.gremlin_enabled:
        gremlin_app = _gremlin_app(graph_url)
        if gremlin_app is not None:
            gremlin_server, gremlin_port = _listen(gremlin_app, config.gremlin_port, config.gremlin_host)
            gremlin_url = f"ws://{config.gremlin_host}:{gremlin_port}/gremlin"
    stop = stop if stop is not None else asyncio.Event()
    signals = _install_signals(stop) if handle_signals else []
    try:
        if on_ready is not None:
            on_ready(ServerInfo(f"http://{config.host}:{port}", graph_url, gremlin_url, dev_key))
        await stop.wait()
        log.info("shutting down: draining in-flight requests (up to %.1fs)", config.grace_period)
    finally:
        await _shutdown(config, service, http_server, gremlin_server, gremlin_app)
        _remove_signals(signals)


async def _shutdown(config: Config, service: Service, http_server: tornado.httpserver.HTTPServer,
                    gremlin_server: tornado.httpserver.HTTPServer | None, gremlin_app: Any) -> None:
    http_server.stop()
    if gremlin_server is not None:
        gremlin_server.stop()
    if not await service.drain(config.grace_period):
        log.warning("%d request(s) still running after the grace period", service.inflight)
    if gremlin_app is not None:
        await gremlin_app.endpoint.shutdown(min(config.grace_period, 5.0))
    for server in (http_server, gremlin_server):
        if server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(server.close_all_connections(), timeout=1.0)
    service.close()
    from ..graph import release
    for url in {config.resolved_graph_url, *(region.writer for region in config.regions)}:
        release(url)  # flushes and closes a durable store


def _install_signals(stop: asyncio.Event) -> list[signal.Signals]:
    if threading.current_thread() is not threading.main_thread():
        return []
    loop = asyncio.get_running_loop()
    installed = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
            installed.append(sig)
    return installed


def _remove_signals(signals: list[signal.Signals]) -> None:
    loop = asyncio.get_running_loop()
    for sig in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.remove_signal_handler(sig)
