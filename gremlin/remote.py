"""gremlinpython RemoteConnections of our own: the in-process backends, and a lean client for a
Gremlin server.

- LocalRemoteConnection executes bytecode in this process (memory://, file://).
- ServerRemoteConnection sends it to Gremlin Server or Neptune over WebSocket in the calling
  thread (gremlin.websocket_client says why), with gremlinpython's serializers: the same
  requests and answers as the stock driver, without its thread pool and event loop.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from concurrent.futures import Future
from typing import Any, Callable, Mapping

from gremlin_python.driver import serializer as serializers
from gremlin_python.driver import useragent
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.driver.remote_connection import RemoteConnection, RemoteTraversal
from gremlin_python.driver.request import RequestMessage
from gremlin_python.process.traversal import Bytecode

from .engine import Graph
from .errors import UnsupportedStepError
from .websocket_client import WebSocket

__all__ = ["LocalRemoteConnection", "ServerRemoteConnection"]

_SESSIONS_UNSUPPORTED = "Sessions (g.tx()) are not supported: every traversal is its own transaction, as on Neptune"


def _future(submit: Any, bytecode: Bytecode) -> Future:
    """``submit(bytecode)`` run now, delivered through a future (what ``promise()`` waits on)."""
    future: Future = Future()
    try:
        future.set_result(submit(bytecode))
    except BaseException as error:  # delivered through the future, as the driver does
        future.set_exception(error)
    return future


class LocalRemoteConnection(RemoteConnection):
    """Executes bytecode in this process: no socket, no serialization.

    Results are detached gremlinpython values, the same types the stock driver returns."""

    def __init__(self, graph: Graph, *, url: str = "memory://", traversal_source: str = "g"):
        super().__init__(url, traversal_source)
        self.graph = graph
        self._closed = False

    def submit(self, bytecode: Bytecode) -> RemoteTraversal:
        if self._closed:
            raise RuntimeError("This connection is closed")
        return RemoteTraversal(iter(self.graph.execute(bytecode)))

    def submit_async(self, bytecode: Bytecode) -> Future:
        return _future(self.submit, bytecode)

    def is_closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True

    def create_session(self) -> Any:
        raise UnsupportedStepError(_SESSIONS_UNSUPPORTED)


#: Gremlin Server's response statuses: the last message of a request, one of more to come,
#: no content, and its challenge for credentials
_SUCCESS, _PARTIAL, _NO_CONTENT, _AUTHENTICATE = 200, 206, 204, 407
#: what a client may wait beyond the evaluationTimeout it sent for the server's answer (the
#: server's own timeout answer, 598, and the network)
_GRACE_SECONDS = 5.0


class ServerRemoteConnection(RemoteConnection):
    """Gremlin Server's WebSocket sub-protocol for bytecode requests, sent and read in the calling
    thread: each request takes an idle WebSocket (or opens one, up to ``pool_size``, waiting
    beyond; an idle one the server hung up on is closed, not used), writes one frame and reads
    its answer's frames itself.

    ``message_serializer`` is a gremlinpython serializer (GraphBinary by default); ``username``
    and ``password`` answer the server's SASL PLAIN challenge; ``headers``, or a callable giving
    them for each new connection, go with each opening handshake (Neptune's IAM signature,
    which expires: gremlin.connect passes a callable). A request waits for its answer the evaluationTimeout it
    sends plus a grace (``read_timeout`` without one; None: for ever); a connection that failed
    or timed out is closed, never reused, and the error (a ConnectionError or socket timeout) is
    raised for the caller to retry. Sessions are not supported (every request is its own
    transaction): gremlinpython's DriverRemoteConnection has them."""

    def __init__(self, url: str, traversal_source: str = "g", *, message_serializer: Any = None,
                 username: str = "", password: str = "",
                 headers: Mapping[str, str] | Callable[[], Mapping[str, str]] | None = None,
                 pool_size: int = 8, connect_timeout: float | None = 10.0, read_timeout: float | None = None,
                 ssl_context: Any = None, max_content_length: int = 10 << 20):
        super().__init__(url, traversal_source)
        self._serializer = message_serializer or serializers.GraphBinarySerializersV1()
        self._credentials = (username, password) if username or password else None
        self._headers = headers
        self._pool_size = max(1, pool_size)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._ssl_context = ssl_context
        self._max_bytes = max_content_length
        self._idle: list[WebSocket] = []
        self._opened = 0  # idle and busy
        self._available = threading.Condition()
        self._closed = False

    # -- the RemoteConnection interface ----------------------------------------------------------
    def submit(self, bytecode: Bytecode) -> RemoteTraversal:
        options = DriverRemoteConnection._extract_request_options(bytecode) or {}
        request_id = str(options.pop("requestId", None) or uuid.uuid4())
        args = {"gremlin": bytecode, "aliases": {"g": self.traversal_source}, **options}
        payload = self._serializer.serialize_message(request_id, RequestMessage("traversal", "bytecode", args))
        timeout = self._read_timeout
        if options.get("evaluationTimeout"):
            timeout = int(options["evaluationTimeout"]) / 1000 + _GRACE_SECONDS
        socket = self._take(timeout)
        reusable = False
        try:
            socket.settimeout(timeout)
            socket.send_binary(payload)
            results = self._answer(socket, request_id)
            reusable = True
        except GremlinServerError:
            reusable = True  # the server's answer ended the request: the connection is fine
            raise
        finally:
            self._give_back(socket, reusable)
        return RemoteTraversal(iter(results))

    def submit_async(self, bytecode: Bytecode) -> Future:
        return _future(self.submit, bytecode)

    def is_closed(self) -> bool:
        return self._closed

    def create_session(self) -> Any:
        raise UnsupportedStepError(_SESSIONS_UNSUPPORTED + " (gremlinpython's DriverRemoteConnection has them: "
                                   "driver=gremlinpython in the URL)")

    def close(self) -> None:
        with self._available:
            self._closed = True
            idle, self._idle = self._idle, []
            self._opened -= len(idle)
            self._available.notify_all()
        for socket in idle:
            socket.close(goodbye=True)

    # -- one request's answer --------------------------------------------------------------------
    def _answer(self, socket: WebSocket, request_id: str) -> list:
        results: list = []
        while True:
            message = self._serializer.deserialize_message(socket.receive())
            if str(message["requestId"]) != request_id:
                continue  # not this request's (none other is in flight on this connection)
            status = message["status"]
            code = status["code"]
            if code == _AUTHENTICATE:
                socket.send_binary(self._authentication(request_id))
                continue
            if code == _NO_CONTENT:
                return results
            if code not in (_SUCCESS, _PARTIAL):
                raise GremlinServerError(status)
            data = message["result"]["data"]
            if data:
                results.extend(data)
            if code == _SUCCESS:
                return results

    def _authentication(self, request_id: str) -> bytes:
        if self._credentials is None:
            raise GremlinServerError({"code": _AUTHENTICATE, "attributes": {},
                                      "message": "the server asks for credentials: give a username and password"})
        user, password = self._credentials
        sasl = base64.b64encode(b"\0" + user.encode("utf-8") + b"\0" + password.encode("utf-8")).decode()
        return self._serializer.serialize_message(
            request_id, RequestMessage("traversal", "authentication", {"sasl": sasl}))

    # -- the pool --------------------------------------------------------------------------------
    def _take(self, timeout: float | None) -> WebSocket:
        """An idle WebSocket, or a new one while fewer than ``pool_size`` are open; otherwise waits
        for one to come back, at most ``timeout`` seconds (the request's own: a caller never waits
        longer for a connection than it would for an answer)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._available:
            while True:
                if self._closed:
                    raise ConnectionError("This connection is closed")
                while self._idle:
                    socket = self._idle.pop()
                    if not socket.stale():
                        return socket
                    socket.close()  # the server hung up on it while it was idle
                    self._opened -= 1
                if self._opened < self._pool_size:
                    self._opened += 1
                    break
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"none of the {self._pool_size} connections to {self.url} came free "
                                       f"within {timeout:g} s")
                self._available.wait(remaining)
        try:
            return WebSocket.open(self.url, headers=self._handshake_headers(), timeout=self._connect_timeout,
                                  ssl_context=self._ssl_context, max_message_bytes=self._max_bytes)
        except BaseException:
            self._forget_one()
            raise

    def _handshake_headers(self) -> dict[str, str]:
        # a callable signs each handshake afresh: a SigV4 signature (Neptune IAM) expires
        # minutes after it is made, and the pool opens connections whenever it needs them
        extra = self._headers() if callable(self._headers) else self._headers
        return {useragent.userAgentHeader: useragent.userAgent, **(extra or {})}

    def _give_back(self, socket: WebSocket, reusable: bool) -> None:
        if not reusable or socket.closed:
            socket.close()
            self._forget_one()
            return
        with self._available:
            if not self._closed:
                self._idle.append(socket)
                self._available.notify()
                return
            self._opened -= 1
        socket.close(goodbye=True)

    def _forget_one(self) -> None:
        with self._available:
            self._opened -= 1
            self._available.notify()
