"""The ``/gremlin`` WebSocket: one handler per connection, requests run off the event loop.

A binary frame names its serializer by mime type and is answered in binary frames; a text
frame is read as GraphSON v3 and answered in text frames. Requests on one connection run
concurrently, each answered under its own request id, as Gremlin Server does.

With an authenticator, a connection's first request is answered with a SASL challenge (407) and
waits for the client's ``authentication`` request; the Grant it earns is the connection's until
it closes, asked before each request whether it still holds, and its strategies are imposed on
every traversal the connection sends. When the connection closes, its requests still queued or
running are cancelled (a forked traversal is killed, one on a worker thread stops at its next
check).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import tornado.websocket

from ..errors import AuthenticationError, GremlinError
from .auth import Grant, parse_sasl_plain
from .endpoint import Endpoint
from .ops import prepare, timeout_frame
from .protocol import Codec, RequestDecodeError, RequestMessage, ResponseMessage, Status, error_response, split_mime

__all__ = ["GremlinWebSocket"]

log = logging.getLogger("gremlin.server")

#: How long past evaluationTimeout the watchdog waits for the engine to report the timeout
#: itself (and roll back) before answering 598 on its own.
_WATCHDOG_SLACK_S = 0.25
#: Requests a connection may send before it has authenticated (each waits, decoded, in memory).
_MAX_PENDING = 16


class GremlinWebSocket(tornado.websocket.WebSocketHandler):
    endpoint: Endpoint

    def initialize(self, endpoint: Endpoint) -> None:
        self.endpoint = endpoint
        self.grant: Grant | None = None
        self._pending: list[tuple[RequestMessage, Codec, bool]] = []
        #: set when the connection closes: every request of it still running stops
        self._gone = threading.Event()

    @property
    def user(self) -> str | None:
        return self.grant.user if self.grant is not None else None

    def get_compression_options(self) -> dict[str, Any]:
        return {}  # accept permessage-deflate when the client offers it

    def open(self, *args: Any, **kwargs: Any) -> None:
        # A response is several frames written back to back; with Nagle's algorithm each one
        # after the first waits for the client's delayed ACK.
        self.set_nodelay(True)
        self.endpoint.connections.add(self)

    def on_close(self) -> None:
        self._gone.set()
        self.endpoint.connections.discard(self)
        if self.close_code == 1009:
            log.warning("closed a connection that sent a frame over %d bytes", self.endpoint.max_frame_bytes)

    async def on_message(self, message: str | bytes) -> None:
        binary = isinstance(message, bytes)
        codec: Codec = self.endpoint.codecs["text"]
        try:
            if binary:
                mime, payload = split_mime(message)  # type: ignore[arg-type]
                found = self.endpoint.codecs.get(mime)
                if found is None:
                    raise RequestDecodeError(f"No serializer for the requested mime type {mime!r}; this server "
                                             f"speaks {', '.join(m for m in self.endpoint.codecs if m != 'text')}",
                                             status=Status.SERIALIZATION_ERROR)
                codec = found
            else:
                payload = message.encode("utf-8")  # type: ignore[union-attr]
            request = codec.decode_request(payload)
        except RequestDecodeError as error:
            await self._send(codec, error_response(error.request_id, error), binary)
            return
        await self._route(request, codec, binary)

    async def _route(self, request: RequestMessage, codec: Codec, binary: bool) -> None:
        if request.op == "authentication":
            await self._authenticate(request, codec, binary)
        elif self.endpoint.authenticator is not None and self.grant is None:
            if len(self._pending) >= _MAX_PENDING:  # an unauthenticated client holds no more memory
                await self._send(codec, error_response(request.request_id, AuthenticationError(
                    "Authenticate first: too many requests are waiting for this connection's credentials")), binary)
                return
            # SASL challenge: the request waits until the client has authenticated.
            self._pending.append((request, codec, binary))
            await self._send(codec, ResponseMessage(request.request_id, Status.AUTHENTICATE), binary)
        elif self.grant is not None and not self.grant.still_valid():
            log.info("refused a request from %s: its credentials were revoked", self.request.remote_ip)
            self.grant = None
            await self._send(codec, error_response(request.request_id, AuthenticationError(
                "The credentials of this connection are no longer valid")), binary)
        else:
            self._dispatch(request, codec, binary)

    async def _authenticate(self, request: RequestMessage, codec: Codec, binary: bool) -> None:
        authenticator = self.endpoint.authenticator
        if authenticator is None:
            await self._send(codec, ResponseMessage(request.request_id, Status.NO_CONTENT), binary)
            return
        pending, self._pending = self._pending, []
        try:
            user, password = parse_sasl_plain(request.args.get("sasl"))
            loop = asyncio.get_running_loop()
            try:
                self.grant = await loop.run_in_executor(self.endpoint.executor, authenticator.authenticate,
                                                        user, password)
            except RuntimeError:  # the executor is shutting down
                raise GremlinError("The server is shutting down and accepts no new requests") from None
        except GremlinError as error:
            log.info("authentication failed from %s", self.request.remote_ip)
            await self._send(codec, error_response(request.request_id, error), binary)
            for waiting, waiting_codec, waiting_binary in pending:
                if waiting.request_id != request.request_id:
                    await self._send(waiting_codec, error_response(waiting.request_id, error), waiting_binary)
            return
        for waiting in pending:
            self._dispatch(*waiting)
        if not pending:
            await self._send(codec, ResponseMessage(request.request_id, Status.NO_CONTENT), binary)

    def _dispatch(self, request: RequestMessage, codec: Codec, binary: bool) -> None:
        task = asyncio.ensure_future(self._serve(request, codec, binary))
        self.endpoint.track(task)

    async def _serve(self, request: RequestMessage, codec: Codec, binary: bool) -> None:
        try:
            await self._serve_checked(request, codec, binary)
        except Exception as error:  # never leave a client waiting for an answer
            _log_unexpected(error)
            await self._send(codec, error_response(request.request_id, error), binary)

    async def _serve_checked(self, request: RequestMessage, codec: Codec, binary: bool) -> None:
        if self.endpoint.draining:
            await self._send(codec, error_response(request.request_id, GremlinError(
                "The server is shutting down and accepts no new requests")), binary)
            return
        try:
            plan = prepare(request, self.endpoint.settings)
        except GremlinError as error:
            await self._send(codec, error_response(request.request_id, error), binary)
            return
        answered = threading.Event()  # by the watchdog: nobody waits for the worker's answer
        gone = self._gone
        plan.cancelled = lambda: gone.is_set() or answered.is_set()
        if self.grant is not None:
            plan.strategies = self.grant.strategies
        try:
            future = self.endpoint.executor.submit(self.endpoint.runner.run, self.endpoint.graph, plan,
                                                   self.endpoint.settings, codec, _log_unexpected)
        except RuntimeError:  # the executor is shutting down
            await self._send(codec, error_response(request.request_id, GremlinError(
                "The server is shutting down and accepts no new requests")), binary)
            return
        waiting = asyncio.wrap_future(future)
        try:
            if plan.timeout_ms:
                frames = await asyncio.wait_for(waiting, plan.timeout_ms / 1000.0 + _WATCHDOG_SLACK_S)
            else:
                frames = await waiting
        except asyncio.TimeoutError:
            # The engine did not stop at its deadline: the client is answered now, and the
            # traversal is cancelled (a request still queued behind busy workers never starts).
            answered.set()
            frames = [timeout_frame(plan, codec)]
        for frame in frames:
            if not await self._write(frame, binary):
                return

    async def _send(self, codec: Codec, response: ResponseMessage, binary: bool) -> None:
        await self._write(codec.encode_response(response), binary)

    async def _write(self, frame: bytes, binary: bool) -> bool:
        try:
            await self.write_message(frame if binary else frame.decode("utf-8"), binary=binary)
            return True
        except tornado.websocket.WebSocketClosedError:
            return False


def _log_unexpected(error: BaseException) -> None:
    log.error("unexpected error while serving a request", exc_info=error)
