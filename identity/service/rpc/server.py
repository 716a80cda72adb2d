"""Running the service: the HTTP endpoint, the optional Gremlin console endpoint on the same
in-process graph, and graceful shutdown.

    await serve(config, on_ready=print_banner)    # until SIGTERM/SIGINT or ``stop`` is set

Both ports are bound before anything else starts: a port in use is a ConfigError naming it and
the setting that chooses another, and nothing has been opened that would need closing.

Shutdown order: stop accepting connections, refuse new requests with 503 while in-flight ones
finish (at most ``config.grace_period`` seconds), close the Gremlin endpoint, close graph
connections, and finally close the in-process graph so a durable store is flushed.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import signal
import socket
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Callable
from urllib.parse import urlsplit

import tornado.httpserver
import tornado.netutil
import tornado.web

from ...base.errors import ConfigError
from ...security import auth
from ...security.tenants import TenantRegistry
from ..config import Config
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


def _serves_console(config: Config, graph_url: str) -> bool:
    if not config.gremlin_enabled:
        return False
    if urlsplit(graph_url).scheme not in _IN_PROCESS:
        log.info("no Gremlin console endpoint: the graph is remote (%s); use its own endpoint",
                 urlsplit(graph_url).scheme)
        return False
    return True


def _gremlin_app(graph_url: str, config: Config, registry: TenantRegistry) -> tornado.web.Application:
    from ...graph.connection import ConsoleLimits, console_endpoint_app
    from ..console_access import ConsoleAccess
    limits = ConsoleLimits(timeout_ms=config.gremlin_timeout_ms, memory_bytes=config.gremlin_memory_mb << 20,
                           write_timeout_ms=config.gremlin_write_timeout_ms)
    return console_endpoint_app(graph_url, ConsoleAccess(registry), limits)


def _bind(port: int, host: str, what: str, how: str) -> list[socket.socket]:
    """The listening sockets for ``host:port``; a port in use is a ConfigError saying ``how`` to
    choose another."""
    try:
        return tornado.netutil.bind_sockets(port, host)
    except OSError as error:
        if error.errno in (errno.EADDRINUSE, errno.EACCES):
            reason = "already in use" if error.errno == errno.EADDRINUSE else "not available to this user"
            raise ConfigError(f"the {what} port {host}:{port} is {reason}: {how}") from None
        raise


def _listen(app: tornado.web.Application, sockets: list[socket.socket]) -> tuple[tornado.httpserver.HTTPServer, int]:
    server = tornado.httpserver.HTTPServer(app, **getattr(app, "server_options", {}))
    server.add_sockets(sockets)
    return server, sockets[0].getsockname()[1]


def _close(sockets: list[socket.socket]) -> None:
    for sock in sockets:
        sock.close()


async def serve(config: Config, *, stop: asyncio.Event | None = None,
                on_ready: Callable[[ServerInfo], None] | None = None, handle_signals: bool = True,
                service: Service | None = None) -> None:
    graph_url = shared_graph_url(config.resolved_graph_url)
    config = config.replace(graph_url=graph_url)
    from ...graph.connection import open_local
    for url in {graph_url, *(region.writer for region in config.regions)}:
        open_local(url)  # before listening: a data directory another process serves stops us here
    api_sockets = _bind(config.port, config.host, "API", "choose another with --port PORT (0 picks a free one)")
    gremlin_sockets: list[socket.socket] = []
    try:
        if _serves_console(config, graph_url):
            gremlin_sockets = _bind(config.gremlin_port, config.gremlin_host, "Gremlin console",
                                    "choose another with --gremlin-port PORT (0 picks a free one), or serve "
                                    "without the console with --no-gremlin")
        service = service if service is not None else build_service(config)
    except BaseException:
        _close(api_sockets + gremlin_sockets)
        raise
    dev_key = ensure_dev_tenant(service.registry) if config.dev_tenant else None
    http_server, port = _listen(make_app(service), api_sockets)
    gremlin_server = gremlin_url = gremlin_app = None
    if gremlin_sockets:
        gremlin_app = _gremlin_app(graph_url, config, service.registry)
        gremlin_server, gremlin_port = _listen(gremlin_app, gremlin_sockets)
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
    from ...graph.connection import release
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
