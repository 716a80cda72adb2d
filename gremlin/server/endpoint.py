"""What every connection of one endpoint shares: the graph, the worker pool, where traversals run
(isolation.py), the codecs, and the requests in flight, which a shutdown lets finish.

The connections (handler.py) read it; the application (app.py) makes one and hands it to each.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import tornado.websocket

from .auth import Authenticator
from .graphbinary import GraphBinaryCodec
from .graphson import GraphSONCodec
from .isolation import IN_THREAD, Runner
from .ops import Settings
from .protocol import Codec

__all__ = ["Endpoint"]

log = logging.getLogger("gremlin.server")


class Endpoint:
    """Everything the connections share: the graph, the worker pool, where traversals run,
    codecs, live requests."""

    def __init__(self, graph: Any, *, authenticator: Authenticator | None, max_frame_bytes: int,
                 workers: int, settings: Settings, runner: Runner = IN_THREAD):
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.graph = graph
        self.authenticator = authenticator
        self.runner = runner
        self.max_frame_bytes = max_frame_bytes
        self.settings = settings
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="gremlin-worker")
        graphson3 = GraphSONCodec(3)
        codecs: list[Codec] = [GraphBinaryCodec(), graphson3, GraphSONCodec(2)]
        self.codecs: dict[str, Codec] = {c.mime_type: c for c in codecs}
        self.codecs["text"] = graphson3
        self.connections: set[tornado.websocket.WebSocketHandler] = set()
        self.inflight: set[asyncio.Future] = set()
        self.draining = False

    def track(self, task: asyncio.Future) -> None:
        self.inflight.add(task)
        task.add_done_callback(self.inflight.discard)

    async def shutdown(self, grace_period: float) -> None:
        """Refuse new requests, let running ones finish for up to ``grace_period`` seconds,
        then close every connection."""
        self.draining = True
        if self.inflight:
            _, late = await asyncio.wait(set(self.inflight), timeout=grace_period)
            if late:
                log.warning("%d request(s) still running after the %.1fs grace period", len(late), grace_period)
        for connection in list(self.connections):
            connection.close(1001, "server shutting down")
        self.executor.shutdown(wait=False, cancel_futures=True)
