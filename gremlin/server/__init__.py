"""A Gremlin-Server-compatible WebSocket endpoint for the in-process graph.

The stock gremlinpython driver works against it unchanged::

    python -m gremlin.server --port 8182            # or: gremlin-server
    DriverRemoteConnection("ws://127.0.0.1:8182/gremlin", "g")

It speaks GraphBinary v1 and GraphSON v3 (and v2), the ``bytecode`` op (processor
"traversal") and the ``eval`` op (Gremlin scripts, parsed by gremlin.language), with Gremlin
Server's status codes, batching, evaluationTimeout and optional SASL PLAIN authentication
(an Authenticator decides what each user's traversals may see and do). Sessions are refused:
every request is its own transaction. Beside another service on the same graph, traversals
run in forked processes (ProcessIsolation) under server-side caps.
"""

from __future__ import annotations

from .app import (
    DEFAULT_MAX_FRAME_BYTES, DEFAULT_PORT, DEFAULT_WORKERS, ServerThread, make_app, run_server, running_server, serve,
)
from .auth import Authenticator, Credentials, Grant, hash_password
from .endpoint import Endpoint
from .isolation import IN_THREAD, ProcessIsolation
from .ops import DEFAULT_BATCH_SIZE, DEFAULT_EVALUATION_TIMEOUT_MS
from .protocol import Status

__all__ = [
    "make_app", "serve", "run_server", "ServerThread", "running_server", "Endpoint", "Credentials",
    "Authenticator", "Grant", "ProcessIsolation", "IN_THREAD", "hash_password", "Status", "DEFAULT_PORT", "DEFAULT_MAX_FRAME_BYTES", "DEFAULT_WORKERS",
    "DEFAULT_BATCH_SIZE", "DEFAULT_EVALUATION_TIMEOUT_MS",
]
