"""A blocking WebSocket client (RFC 6455) for one request at a time: what a Gremlin request needs
and nothing more, in the calling thread.

gremlinpython's driver hands every request from the caller to a thread pool that writes it
through an asyncio loop, then to another pool thread that reads the answer through the loop
again, and back to the caller through two futures: four thread hand-offs a request, each with
its CPU and, when the process's other threads are busy, its wait for the GIL. Here the caller
writes its frame and blocks in ``recv`` itself (the GIL released while it waits): half the
client's CPU a request (docs/benchmarks.md, "What the service sends a graph server").

    socket = WebSocket.open("ws://127.0.0.1:8182/gremlin", headers={...}, timeout=10)
    socket.send_binary(payload)
    message = socket.receive()          # one whole message (fragments joined), bytes
    socket.close()
"""

from __future__ import annotations

import base64
import hashlib
import os
import select
import socket
import ssl
import struct
from typing import Mapping
from urllib.parse import urlsplit

__all__ = ["WebSocket", "WebSocketError"]

_ACCEPT_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_CONTINUATION, _TEXT, _BINARY, _CLOSE, _PING, _PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_FIN = 0x80
_MASKED = 0x80
_SHORT = struct.Struct(">H")
_LONG = struct.Struct(">Q")


class WebSocketError(ConnectionError):
    """The connection cannot be used any more: a failed handshake, a malformed frame, a message
    over the size limit, or the server closed it. A ConnectionError, so callers treat it as the
    transport failing (and open a new connection)."""


class WebSocket:
    """One client WebSocket over a blocking socket. Not thread-safe: one request at a time."""

    def __init__(self, sock: socket.socket, *, max_message_bytes: int):
        self._socket = sock
        self._reader = sock.makefile("rb", buffering=1 << 16)
        self.max_message_bytes = max_message_bytes
        self.closed = False

    @classmethod
    def open(cls, url: str, *, headers: Mapping[str, str] | None = None, timeout: float | None = None,
             ssl_context: ssl.SSLContext | None = None, max_message_bytes: int = 10 << 20) -> WebSocket:
        """Connect to ``url`` (ws:// or wss://) and complete the opening handshake."""
        parts = urlsplit(url)
        secure = parts.scheme == "wss"
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"not a WebSocket URL: {url!r}")
        port = parts.port or (443 if secure else 80)
        sock = socket.create_connection((parts.hostname, port), timeout=timeout)
        try:
            # a request is one write: without this, Nagle holds a small frame back until the
            # server acknowledges the last one (tens of ms with delayed ACKs)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if secure:
                sock = (ssl_context or ssl.create_default_context()).wrap_socket(sock, server_hostname=parts.hostname)
            connection = cls(sock, max_message_bytes=max_message_bytes)
            connection._handshake(parts, port, secure, headers or {})
        except BaseException:
            sock.close()
            raise
        return connection

    def _handshake(self, parts, port: int, secure: bool, headers: Mapping[str, str]) -> None:
        key = base64.b64encode(os.urandom(16))
        host = parts.hostname if port == (443 if secure else 80) else f"{parts.hostname}:{port}"
        if ":" in (parts.hostname or "") and not host.startswith("["):  # an IPv6 literal
            host = f"[{parts.hostname}]" + ("" if port == (443 if secure else 80) else f":{port}")
        lines = [f"GET {parts.path or '/'}{'?' + parts.query if parts.query else ''} HTTP/1.1", f"Host: {host}",
                 "Upgrade: websocket", "Connection: Upgrade", f"Sec-WebSocket-Key: {key.decode()}",
                 "Sec-WebSocket-Version: 13"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        self._socket.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        status = self._reader.readline(65536)
        if not status.startswith(b"HTTP/1.1 101"):
            raise WebSocketError(f"the server refused the WebSocket upgrade: {status.decode('latin-1').strip()!r}")
        answered = {}
        while True:
            line = self._reader.readline(65536)
            if line in (b"\r\n", b"\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            answered[name.strip().lower()] = value.strip()
        expected = base64.b64encode(hashlib.sha1(key + _ACCEPT_GUID).digest()).decode()
        if answered.get("sec-websocket-accept") != expected:
            raise WebSocketError("the server answered the WebSocket upgrade with a wrong Sec-WebSocket-Accept")

    def stale(self) -> bool:
        """Whether the server said something, or hung up, while no request was waiting: between
        requests nothing should arrive, so readable means closed (idle connections are dropped by
        servers and proxies) or a frame not worth the risk. Asked before reusing an idle connection."""
        if self.closed:
            return True
        try:
            readable, _, _ = select.select([self._socket], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)

    def settimeout(self, seconds: float | None) -> None:
        """How long a send or a receive may block (None: for ever); past it, socket.timeout."""
        self._socket.settimeout(seconds)

    def send_binary(self, payload: bytes) -> None:
        self._send(_BINARY, payload)

    def _send(self, opcode: int, payload: bytes) -> None:
        size = len(payload)
        if size < 126:
            header = bytes([_FIN | opcode, _MASKED | size])
        elif size < 1 << 16:
            header = bytes([_FIN | opcode, _MASKED | 126]) + _SHORT.pack(size)
        else:
            header = bytes([_FIN | opcode, _MASKED | 127]) + _LONG.pack(size)
        mask = os.urandom(4)
        self._socket.sendall(header + mask + _masked(payload, mask))

    def receive(self) -> bytes:
        """The next data message (text or binary, as bytes), its fragments joined; answers pings
        on the way. WebSocketError when the server closes the connection."""
        parts: list[bytes] = []
        size = 0
        while True:
            first, second = self._exactly(2)
            opcode, final = first & 0x0F, bool(first & _FIN)
            length = second & 0x7F
            if length == 126:
                length = _SHORT.unpack(self._exactly(2))[0]
            elif length == 127:
                length = _LONG.unpack(self._exactly(8))[0]
            mask = self._exactly(4) if second & _MASKED else b""
            if opcode >= _CLOSE:  # control frames: at most 125 bytes, never fragmented
                if length > 125:
                    raise self._fail("a control frame longer than 125 bytes")
                payload = _masked(self._exactly(length), mask) if mask else self._exactly(length)
                if opcode == _PING:
                    self._send(_PONG, payload)
                elif opcode == _CLOSE:
                    raise self._fail("the server closed the connection"
                                     + (f" ({_SHORT.unpack(payload[:2])[0]})" if len(payload) >= 2 else ""))
                continue
            if opcode not in (_CONTINUATION, _TEXT, _BINARY) or (opcode == _CONTINUATION) != bool(parts):
                raise self._fail(f"an unexpected frame (opcode {opcode})")
            size += length
            if size > self.max_message_bytes:
                raise self._fail(f"a message over {self.max_message_bytes} bytes")
            payload = self._exactly(length)
            parts.append(_masked(payload, mask) if mask else payload)
            if final:
                return parts[0] if len(parts) == 1 else b"".join(parts)

    def _exactly(self, count: int) -> bytes:
        data = self._reader.read(count)
        if len(data) != count:
            raise self._fail("the connection ended in the middle of a frame" if data else "the connection was closed")
        return data

    def _fail(self, why: str) -> WebSocketError:
        self.close()
        return WebSocketError(f"WebSocket: {why}")

    def close(self, *, goodbye: bool = False) -> None:
        """Close the connection; with ``goodbye``, say so first (a close frame, best effort: the
        server forgets the connection either way once the socket ends)."""
        if self.closed:
            return
        self.closed = True
        if goodbye:
            try:
                self._socket.settimeout(1.0)
                self._send(_CLOSE, _SHORT.pack(1000))
            except OSError:
                pass
        for closing in (self._reader.close, self._socket.close):
            try:
                closing()
            except OSError:
                pass


def _masked(payload: bytes, mask: bytes) -> bytes:
    """``payload`` XOR the repeated 4-byte ``mask`` (RFC 6455 5.3), as one big-integer XOR: a byte
    at a time in Python would cost ~50 ms for a 1 MB write."""
    size = len(payload)
    if not size:
        return b""
    repeated = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(size, "big")
