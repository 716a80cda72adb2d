"""Assembling the endpoint: the Tornado application, the server loop, a background thread.

    app = make_app(graph)                               # a tornado.web.Application
    await serve(graph, "127.0.0.1", 8182)               # until SIGTERM/SIGINT (or `stop` is set)
    with running_server(graph) as url: ...              # a free port, in a background thread

Frame size: a request frame over ``max_frame_bytes`` closes the connection with WebSocket
status 1009 (message too big), as Gremlin Server does past its maxContentLength. The default
is 10 MiB, the same limit the gremlinpython driver applies to responses, rather than Gremlin
Server's historical 64 KiB, which rejects ordinary batched upserts.

Beside another service on the same graph, give the endpoint ``isolation=ProcessIsolation()``
(traversals that only read run in a forked process: isolation.py), an authenticator that
confines each user (auth.py) and caps on what one request may use
(``max_evaluation_timeout_ms``, ``max_results``, ``max_collection``: ops.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import threading
from typing import Any, Callable, Iterator, Mapping

import tornado.httpserver
import tornado.netutil
import tornado.web

from .auth import Authenticator, Credentials
from .endpoint import Endpoint
from .handler import GremlinWebSocket
from .isolation import IN_THREAD, Runner
from .ops import DEFAULT_BATCH_SIZE, DEFAULT_EVALUATION_TIMEOUT_MS, Settings

__all__ = ["make_app", "serve", "serve_app", "run_server", "ServerThread", "running_server",
           "DEFAULT_MAX_FRAME_BYTES", "DEFAULT_WORKERS", "DEFAULT_PORT"]

log = logging.getLogger("gremlin.server")

DEFAULT_PORT = 8182
DEFAULT_MAX_FRAME_BYTES = 10 * 1024 * 1024
DEFAULT_WORKERS = min(32, (os.cpu_count() or 1) + 4)
DEFAULT_GRACE_PERIOD_S = 10.0


def _authenticator(value: Authenticator | Mapping[str, str] | str | os.PathLike | None) -> Authenticator | None:
    if value is None or hasattr(value, "authenticate"):
        return value  # type: ignore[return-value]
    if isinstance(value, Mapping):
        return Credentials(value)
    return Credentials.from_file(value)


def make_app(graph: Any, *, credentials: Authenticator | Mapping[str, str] | str | os.PathLike | None = None,
             max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES, workers: int = DEFAULT_WORKERS,
             evaluation_timeout_ms: int = DEFAULT_EVALUATION_TIMEOUT_MS, batch_size: int = DEFAULT_BATCH_SIZE,
             traversal_source: str = "g", parse_query: Callable[[str, dict], Any] | None = None,
             path: str = "/gremlin", isolation: Runner = IN_THREAD, max_evaluation_timeout_ms: int | None = None,
             max_results: int | None = None, max_collection: int | None = None) -> tornado.web.Application:
    """The Gremlin Server WebSocket endpoint for ``graph`` (anything with
    ``execute(bytecode, options, imposed=, limits=) -> list[Traverser]``) at ``path``.

    ``credentials``: an Authenticator (auth.py), a {user: password} mapping, or a credentials
    file path; None serves without authentication. ``evaluation_timeout_ms`` (0: none) and
    ``batch_size`` are the defaults a request's arguments may override, within
    ``max_evaluation_timeout_ms``. ``isolation``: where traversals run (isolation.py).
    ``workers`` traversals run at once. The Endpoint is ``app.endpoint``."""
    settings = Settings(traversal_source=traversal_source, evaluation_timeout_ms=evaluation_timeout_ms,
                        batch_size=batch_size, parse_query=parse_query,
                        max_evaluation_timeout_ms=max_evaluation_timeout_ms, max_results=max_results,
                        max_collection=max_collection)
    endpoint = Endpoint(graph, authenticator=_authenticator(credentials), max_frame_bytes=max_frame_bytes,
                        workers=workers, settings=settings, runner=isolation)
    app = tornado.web.Application([(path, GremlinWebSocket, {"endpoint": endpoint})],
                                  websocket_max_message_size=max_frame_bytes)
    app.endpoint = endpoint  # type: ignore[attr-defined]
    return app


async def serve(graph: Any, host: str = "127.0.0.1", port: int = DEFAULT_PORT, *,
                grace_period: float = DEFAULT_GRACE_PERIOD_S, stop: asyncio.Event | None = None,
                on_ready: Callable[[int], None] | None = None, handle_signals: bool = True,
                **app_options: Any) -> None:
    """Serve until SIGTERM/SIGINT (when ``handle_signals`` and on the main thread) or until
    ``stop`` is set, then shut down gracefully. ``on_ready`` receives the bound port
    (useful with ``port=0``); ``app_options`` go to make_app."""
    await serve_app(make_app(graph, **app_options), host, port, grace_period=grace_period, stop=stop,
                    on_ready=on_ready, handle_signals=handle_signals)


async def serve_app(app: tornado.web.Application, host: str, port: int, *,
                    grace_period: float = DEFAULT_GRACE_PERIOD_S, stop: asyncio.Event | None = None,
                    on_ready: Callable[[int], None] | None = None, handle_signals: bool = True) -> None:
    """``serve`` for an application made by make_app."""
    sockets = tornado.netutil.bind_sockets(port, host)
    server = tornado.httpserver.HTTPServer(app)
    server.add_sockets(sockets)
    stop = stop if stop is not None else asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT) if handle_signals and \
        threading.current_thread() is threading.main_thread() else ()
    for sig in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(sig, stop.set)
    try:
        if on_ready is not None:
            on_ready(sockets[0].getsockname()[1])
        await stop.wait()
    finally:
        server.stop()  # no new connections
        await app.endpoint.shutdown(grace_period)  # type: ignore[attr-defined]
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(server.close_all_connections(), timeout=1.0)
        for sig in signals:
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(sig)


def run_server(graph: Any, host: str = "127.0.0.1", port: int = DEFAULT_PORT, **options: Any) -> None:
    """Blocking ``serve``."""
    asyncio.run(serve(graph, host, port, **options))


class ServerThread:
    """The endpoint on its own event loop in a daemon thread (tests, benchmarks, notebooks).

        with ServerThread(graph) as server:
            DriverRemoteConnection(server.url, "g")
    """

    def __init__(self, graph: Any, host: str = "127.0.0.1", port: int = 0, *, grace_period: float = 5.0,
                 **app_options: Any):
        self.graph, self.host, self.port = graph, host, port
        self._grace_period = grace_period
        self.app = make_app(graph, **app_options)
        self.endpoint: Endpoint = self.app.endpoint  # type: ignore[attr-defined]
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"ws://{self.host}:{self.port}/gremlin"

    def start(self, timeout: float = 30.0) -> "ServerThread":
        self._thread = threading.Thread(target=self._main, name="gremlin-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise RuntimeError("The Gremlin endpoint did not start in time")
        if self._error is not None:
            raise self._error
        return self

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as error:  # reported to start() or logged after it returned
            if not self._ready.is_set():
                self._error = error
                self._ready.set()
            else:
                log.exception("the Gremlin endpoint thread failed")

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()

        def ready(port: int) -> None:
            self.port = port
            self._ready.set()

        await serve_app(self.app, self.host, self.port, grace_period=self._grace_period, stop=self._stop,
                        on_ready=ready, handle_signals=False)

    def stop(self, timeout: float = 30.0) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout)

    def __enter__(self) -> "ServerThread":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


@contextlib.contextmanager
def running_server(graph: Any, **options: Any) -> Iterator[str]:
    """``with running_server(graph) as url:`` the endpoint on a free loopback port."""
    with ServerThread(graph, **options) as server:
        yield server.url
