"""HTTP-level limits (issue #14, item 5 and the 431 of item 7): no route reads a body it will
not use, a body or head sent too slowly is cut off, an oversized head gets 431.

Each test speaks raw HTTP (service_support.raw_exchange): the server must answer and close
the connection by itself; a server that waits for the rest of the body never does, and the
exchange times out."""

from __future__ import annotations

import json
import time

from service_support import ServiceTestCase, raw_exchange

from identity.service.rpc import Limits

BIG = 90 * 1024 * 1024  # the 90 MB body of the issue: declared, never sent whole


def _status(answer: bytes) -> int:
    assert answer.startswith(b"HTTP/1.1 "), answer[:80]
    return int(answer.split(b" ", 2)[1])


def _body(answer: bytes) -> dict:
    return json.loads(answer.split(b"\r\n\r\n", 1)[1])


class BodiesOnEveryRoute(ServiceTestCase):
    def head(self, method: str, path: str, *extra: bytes, length: int = BIG) -> bytes:
        lines = [f"{method} {path} HTTP/1.1".encode(), b"Host: x", f"Content-Length: {length}".encode(), *extra]
        return b"\r\n".join(lines) + b"\r\n\r\n" + b"x" * 1024  # the first KB of the body

    def test_get_routes_refuse_a_body_before_reading_it(self) -> None:
        for path in ("/healthz", "/readyz", "/openrpc.json", "/metrics"):
            answer = raw_exchange(self, self.head("GET", path))
            assert _status(answer) == 413, path
            assert _body(answer)["error"]["data"] == {"max_body_bytes": 0}

    def test_other_methods_and_paths_are_answered_before_any_body(self) -> None:
        answer = raw_exchange(self, self.head("POST", "/healthz"))
        assert _status(answer) == 405 and b"Allow: GET" in answer
        assert _status(raw_exchange(self, self.head("GET", "/rpc"))) == 405
        assert _status(raw_exchange(self, self.head("PUT", "/no/such/path"))) == 404

    def test_rpc_checks_the_key_before_reading_the_body(self) -> None:
        assert _status(raw_exchange(self, self.head("POST", "/rpc"))) == 401
        bearer = f"Authorization: Bearer {self.fx.user_key}".encode()
        assert _status(raw_exchange(self, self.head("POST", "/rpc", bearer))) == 413

    def test_a_get_without_a_body_still_works(self) -> None:
        assert self.fetch("/healthz").code == 200
        answer = raw_exchange(self, b"GET /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        assert _status(answer) == 200


class SlowSenders(ServiceTestCase):
    limits = Limits(header_timeout=0.5, body_timeout=0.5)

    def test_a_half_sent_body_is_cut_off(self) -> None:
        request = (b"POST /rpc HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + self.fx.user_key.encode() +
                   b"\r\nContent-Length: 100\r\n\r\n" + b'{"jsonrpc": "2.0"')
        started = time.monotonic()
        assert raw_exchange(self, request) == b""  # closed without an answer: the request never arrived
        assert time.monotonic() - started < 4
        assert self.fx.service.inflight == 0

    def test_a_half_sent_head_is_cut_off(self) -> None:
        started = time.monotonic()
        assert raw_exchange(self, b"GET /healthz HTTP/1.1\r\nHost: x\r\n") == b""
        assert time.monotonic() - started < 4


class OversizedHeads(ServiceTestCase):
    def test_a_100_kb_header_gets_431(self) -> None:
        answer = raw_exchange(self, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100_000 +
                              b"\r\nConnection: close\r\n\r\n")
        assert _status(answer) == 431
        assert _body(answer)["error"] == {"code": -32007, "message": "Request header fields too large: at most "
                                          "16384 bytes", "data": {"max_header_bytes": 16384}}

    def test_many_headers_that_add_up_get_431_and_normal_ones_pass(self) -> None:
        many = b"".join(b"X-H%d: %s\r\n" % (n, b"b" * 100) for n in range(200))
        answer = raw_exchange(self, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"Connection: close\r\n\r\n")
        assert _status(answer) == 431
        response = self.fetch("/healthz", headers={"X-Fine": "c" * 8000})
        assert response.code == 200

    def test_an_rpc_call_with_a_huge_header_is_refused_before_its_key_is_checked(self) -> None:
        response = self.fetch("/rpc", method="POST", body="{}", raise_error=False,
                              headers={"Authorization": "Bearer not-a-key", "X-Big": "d" * 20_000})
        assert response.code == 431
