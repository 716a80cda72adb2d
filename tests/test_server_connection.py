"""gremlin.remote.ServerRemoteConnection (the lean client gremlin.connect gives a ws:// URL) answers
what gremlinpython's DriverRemoteConnection answers, on our endpoint and the real Gremlin Server,
and fails as a transport should: a connection that broke or timed out is dropped and the error
is one the resilience layer retries (identity.graph.connection.unavailable)."""

from __future__ import annotations

import base64
import hashlib
import os
import socket
import threading
import time
import contextlib
from contextlib import contextmanager
from typing import Any, Callable, Iterator

import pytest
from hypothesis import given, settings, strategies as st
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import T

import gremlin
from gremlin.remote import ServerRemoteConnection
from gremlin.server import running_server
from gremlin.websocket_client import WebSocketError, _masked
from identity.graph.connection import unavailable


@pytest.fixture(params=["endpoint", "gremlin-server"])
def server_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """An empty graph behind our endpoint, and behind the real Gremlin Server."""
    if request.param == "endpoint":
        with running_server(gremlin.Graph()) as url:
            yield url
        return
    request.node.add_marker(pytest.mark.integration)
    from tests.backends import clear
    url = request.getfixturevalue("gremlin_servers").url("gremlin-server")
    clear(url)
    yield url


def _both(url: str, serializer: str) -> tuple:
    lean = gremlin.connect(f"{url}?serializer={serializer}")
    stock = gremlin.connect(f"{url}?serializer={serializer}&driver=gremlinpython")
    assert type(lean) is ServerRemoteConnection and type(stock) is not ServerRemoteConnection
    return lean, stock


@pytest.mark.parametrize("serializer", ["graphbinary", "graphson"])
def test_it_answers_what_the_stock_driver_answers(server_url: str, serializer: str) -> None:
    lean, stock = _both(server_url, serializer)
    try:
        g, h = traversal().with_remote(lean), traversal().with_remote(stock)
        g.add_v("person").property(T.id, "a").property("name", "ann").as_("a").add_v("person").property(
            T.id, "b").property("name", "bo").add_e("knows").from_("a").property(T.id, "ab").iterate()
        queries: list[Callable] = [
            lambda s: s.V().order().by(T.id).element_map().to_list(),
            lambda s: s.V("a").out_e().project("id", "ends").by(T.id).by(__.both_v().id_().fold()).to_list(),
            lambda s: s.V().values("name").fold().to_list(),
            lambda s: s.V("nobody").to_list(),
            lambda s: s.inject("x" * 70_000).to_list(),  # an answer over 64 KiB: a 64-bit frame length
            lambda s: s.inject(list(range(300))).unfold().sum_().to_list(),
        ]
        for query in queries:
            assert query(g) == query(h)
        # an answer in several messages (206 then 200): all of them, in order
        assert g.with_("batchSize", 3).inject(list(range(20))).unfold().to_list() == list(range(20))
    finally:
        lean.close()
        stock.close()


def test_a_server_error_is_raised_and_the_connection_is_kept(server_url: str) -> None:
    lean = ServerRemoteConnection(server_url, pool_size=1)
    try:
        g = traversal().with_remote(lean)
        with pytest.raises(GremlinServerError) as raised:
            g.inject(1).fail("planned").iterate()
        assert "planned" in str(raised.value)
        assert not unavailable(raised.value)  # a bad request, not an outage
        assert g.inject(7).to_list() == [7]  # the same connection (pool of one) still serves
        assert lean._opened == 1
    finally:
        lean.close()


def test_the_pool_bounds_the_connections_and_every_caller_gets_its_answer(server_url: str) -> None:
    lean = ServerRemoteConnection(server_url, pool_size=2)
    answers: dict[int, list] = {}
    try:
        def call(n: int) -> None:
            answers[n] = traversal().with_remote(lean).inject(n).to_list()
        threads = [threading.Thread(target=call, args=(n,)) for n in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert answers == {n: [n] for n in range(12)}
        assert lean._opened <= 2
    finally:
        lean.close()
    with pytest.raises(ConnectionError):
        traversal().with_remote(lean).inject(1).to_list()


def test_a_caller_waits_for_a_free_connection_no_longer_than_for_an_answer(server_url: str) -> None:
    lean = ServerRemoteConnection(server_url, pool_size=1, read_timeout=0.3)
    try:
        busy = lean._take(None)  # the pool's one connection, held by another request
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="came free"):
            traversal().with_remote(lean).inject(1).to_list()
        assert time.monotonic() - started < 5
        assert unavailable(TimeoutError())  # retried by the resilience layer, as a slow answer is
        lean._give_back(busy, True)
        assert traversal().with_remote(lean).inject(1).to_list() == [1]
    finally:
        lean.close()


def test_each_new_connection_sends_the_headers_a_callable_gives_it_then(monkeypatch) -> None:
    # Neptune's IAM signature expires minutes after it is made: a connection the pool opens
    # later must carry a signature made then, not the one made when the client was built
    signatures = iter(["first", "second"])
    sent: list[dict] = []

    def refuse(url: str, *, headers: dict, **options: Any) -> None:
        sent.append(headers)
        raise ConnectionRefusedError("no server here")
    monkeypatch.setattr("gremlin.remote.WebSocket.open", refuse)
    lean = ServerRemoteConnection("ws://127.0.0.1:9/gremlin", headers=lambda: {"Authorization": next(signatures)})
    for _ in range(2):
        with pytest.raises(ConnectionRefusedError):
            lean._take(None)
    assert [h["Authorization"] for h in sent] == ["first", "second"]
    assert all("User-Agent" in h for h in sent)


def test_credentials_answer_the_servers_challenge() -> None:
    with running_server(gremlin.Graph(), credentials={"ann": "secret"}) as url:
        good = ServerRemoteConnection(url, username="ann", password="secret")
        assert traversal().with_remote(good).inject(1).to_list() == [1]
        good.close()
        for bad in (ServerRemoteConnection(url, username="ann", password="wrong"), ServerRemoteConnection(url)):
            with pytest.raises(GremlinServerError):
                traversal().with_remote(bad).inject(1).to_list()
            bad.close()


def test_sessions_are_refused_with_the_way_to_them(server_url: str) -> None:
    lean = gremlin.connect(server_url)
    with pytest.raises(Exception, match="driver=gremlinpython"):
        traversal().with_remote(lean).tx().begin()
    lean.close()


def test_an_unknown_driver_is_refused() -> None:
    with pytest.raises(gremlin.InvalidArgumentError, match="Unknown driver"):
        gremlin.connect("ws://127.0.0.1:1/gremlin?driver=nodejs")


# -- misbehaving servers: a fake one speaking just enough WebSocket ------------------------------

def _frame(opcode: int, payload: bytes, final: bool = True) -> bytes:
    size = len(payload)
    head = bytes([(0x80 if final else 0) | opcode])
    if size < 126:
        head += bytes([size])
    elif size < 1 << 16:
        head += bytes([126]) + size.to_bytes(2, "big")
    else:
        head += bytes([127]) + size.to_bytes(8, "big")
    return head + payload


def _read_frame(conn: socket.socket) -> tuple[int, bytes]:
    def exactly(n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError("client gone")
            data += chunk
        return data
    first, second = exactly(2)
    size = second & 0x7F
    if size == 126:
        size = int.from_bytes(exactly(2), "big")
    elif size == 127:
        size = int.from_bytes(exactly(8), "big")
    assert second & 0x80, "a client frame must be masked"
    mask = exactly(4)
    return first & 0x0F, _masked(exactly(size), mask)


@contextmanager
def fake_server(behave: Callable[[socket.socket, bytes], None], tls: Any = None) -> Iterator[str]:
    """A WebSocket server on a free port (wss:// with ``tls``, a server SSLContext): each
    connection completes the handshake, reads one request frame and then ``behave(conn, request)``."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                if tls is not None and not stop.is_set():
                    conn = tls.wrap_socket(conn, server_side=True)
            except OSError:
                return
            with conn:
                if stop.is_set():
                    return
                head = b""
                while b"\r\n\r\n" not in head:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    head += chunk
                else:
                    respond(conn, head)

    def respond(conn: socket.socket, head: bytes) -> None:
        key = [line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")
               if line.lower().startswith(b"sec-websocket-key")][0]
        accept = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
        conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n")
        try:
            _, request = _read_frame(conn)
            behave(conn, request)
        except (ConnectionError, OSError):
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"{'wss' if tls else 'ws'}://localhost:{listener.getsockname()[1]}/gremlin"
    finally:
        stop.set()
        with contextlib.suppress(OSError):  # wakes the accept() waiting for a connection
            socket.create_connection(listener.getsockname(), timeout=1).close()
        thread.join(10)
        listener.close()


def _answer(request: bytes, value: int, status: int = 200) -> bytes:
    """A GraphBinary response to ``request`` (its id read from the header) carrying [value]."""
    from gremlin_python.process.traversal import Traverser

    from gremlin.server.graphbinary import GraphBinaryCodec
    from gremlin.server.protocol import ResponseMessage
    codec = GraphBinaryCodec()
    header = request[0] + 1  # the mime type's length byte, then the mime type
    message = codec.decode_request(request[header:])
    return codec.encode_response(ResponseMessage(message.request_id, status, data=[Traverser(value)]))


def test_pings_are_answered_and_fragments_joined() -> None:
    pongs = []

    def behave(conn: socket.socket, request: bytes) -> None:
        conn.sendall(_frame(0x9, b"are you there"))
        pongs.append(_read_frame(conn))
        answer = _answer(request, 42)
        conn.sendall(_frame(0x2, answer[:5], final=False) + _frame(0x0, answer[5:9], final=False)
                     + _frame(0x9, b"") + _frame(0x0, answer[9:]))
        pongs.append(_read_frame(conn))
        time.sleep(0.5)

    with fake_server(behave) as url:
        lean = ServerRemoteConnection(url)
        assert traversal().with_remote(lean).inject(1).to_list() == [42]
        lean.close()
    assert pongs == [(0xA, b"are you there"), (0xA, b"")]


@pytest.mark.parametrize("ending", ["close frame", "socket closed", "half a frame", "too large"])
def test_a_broken_answer_is_an_outage_and_the_connection_is_dropped(ending: str) -> None:
    def behave(conn: socket.socket, request: bytes) -> None:
        if ending == "close frame":
            conn.sendall(_frame(0x8, (1011).to_bytes(2, "big")))
        elif ending == "half a frame":
            conn.sendall(_frame(0x2, _answer(request, 1))[:7])
        elif ending == "too large":
            conn.sendall(_frame(0x2, b"\0" * 2048))
        time.sleep(0.2)

    with fake_server(behave) as url:
        lean = ServerRemoteConnection(url, max_content_length=1024, read_timeout=10)
        with pytest.raises(WebSocketError) as raised:
            traversal().with_remote(lean).inject(1).to_list()
        assert unavailable(raised.value)
        assert lean._opened == 0 and not lean._idle
        lean.close()


def test_a_server_that_does_not_answer_times_out_after_the_evaluation_timeout_and_a_grace(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import gremlin.remote
    monkeypatch.setattr(gremlin.remote, "_GRACE_SECONDS", 0.2)
    released = threading.Event()
    with fake_server(lambda conn, request: released.wait(10)) as url:
        lean = ServerRemoteConnection(url)
        began = time.monotonic()
        with pytest.raises(OSError) as raised:  # socket.timeout: a TimeoutError
            traversal().with_remote(lean).with_("evaluationTimeout", 300).inject(1).to_list()
        assert 0.4 < time.monotonic() - began < 3
        released.set()
        assert unavailable(raised.value)
        assert lean._opened == 0
        lean.close()


def test_a_refused_upgrade_is_a_connection_error() -> None:
    listener = socket.create_server(("127.0.0.1", 0))

    def refuse() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=refuse, daemon=True)
    thread.start()
    lean = ServerRemoteConnection(f"ws://127.0.0.1:{listener.getsockname()[1]}/gremlin")
    with pytest.raises(WebSocketError, match="403"):
        traversal().with_remote(lean).inject(1).to_list()
    thread.join(10)
    listener.close()
    assert lean._opened == 0


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.binary(min_size=4, max_size=4))
def test_masking_is_the_bytewise_xor(payload: bytes, mask: bytes) -> None:
    assert _masked(payload, mask) == bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    assert _masked(_masked(payload, mask), mask) == payload


def test_a_request_over_the_frame_sizes_is_sent_whole(server_url: str) -> None:
    lean = gremlin.connect(server_url)
    try:
        g = traversal().with_remote(lean)
        for size in (0, 125, 126, 65_535, 65_536, 300_000):
            text = os.urandom(size // 2).hex()
            assert g.inject(text).to_list() == [text]
    finally:
        lean.close()


def _self_signed(tmp_path) -> tuple[Any, Any]:
    """A server SSLContext with a certificate for localhost, and a client context trusting it."""
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client


def test_wss_speaks_tls_and_checks_the_certificate(tmp_path) -> None:
    import ssl
    server, client = _self_signed(tmp_path)
    with fake_server(lambda conn, request: conn.sendall(_frame(0x2, _answer(request, 5))), tls=server) as url:
        lean = ServerRemoteConnection(url, ssl_context=client)
        assert traversal().with_remote(lean).inject(1).to_list() == [5]
        lean.close()
        untrusted = ServerRemoteConnection(url)  # the system's authorities do not know this certificate
        with pytest.raises(ssl.SSLCertVerificationError):
            traversal().with_remote(untrusted).inject(1).to_list()


def test_an_idle_connection_the_server_hung_up_on_is_not_used() -> None:
    # the fake server answers one request per connection, then closes it (as a server or proxy
    # drops an idle connection)
    with fake_server(lambda conn, request: conn.sendall(_frame(0x2, _answer(request, 9)))) as url:
        lean = ServerRemoteConnection(url, pool_size=1)
        g = traversal().with_remote(lean)
        assert g.inject(1).to_list() == [9]
        deadline = time.monotonic() + 5
        while not lean._idle[0].stale() and time.monotonic() < deadline:
            time.sleep(0.01)  # until the server's close has arrived
        assert g.inject(1).to_list() == [9]  # a new connection, not an error
        assert lean._opened == 1
        lean.close()
