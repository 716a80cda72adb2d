"""The Gremlin-Server-compatible endpoint (gremlin.server), driven by the stock gremlinpython driver.

Codec and request-validation tests need no socket; everything else runs a real endpoint on a
free loopback port (``integration``), against a scripted fake graph or the real engine.
"""

from __future__ import annotations

import asyncio
import gc
import io
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import Future
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest
import tornado.websocket
from gremlin_python.driver import serializer
from gremlin_python.driver.client import Client
from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.driver.protocol import ConfigurationError, GremlinServerError
from gremlin_python.driver.request import RequestMessage as DriverRequest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.strategies import OptionsStrategy, SubgraphStrategy
from gremlin_python.process.traversal import (
    Binding, Bytecode, Cardinality, Column, Direction, Merge, Operator, Order, P, Pick, Pop, Scope, T, TextP,
    Traverser,
)
from gremlin_python.structure.graph import Edge, Graph, Path as GPath, Property, Vertex, VertexProperty

import gremlin
from gremlin.errors import TraversalError
from gremlin.server import Credentials, ServerThread, hash_password, running_server
from gremlin.server.__main__ import main as cli_main
from gremlin.server.auth import parse_sasl_plain, verify_password
from gremlin.server.graphbinary import GraphBinaryCodec
from gremlin.server.graphson import GraphSONCodec
from gremlin.server.ops import InvalidRequestArguments, Settings, apply_terminal, prepare
from gremlin.server.protocol import RequestDecodeError, RequestMessage, ResponseMessage, split_mime

REPO = Path(__file__).resolve().parent.parent
SERIALIZERS = {
    "graphbinary": serializer.GraphBinarySerializersV1,
    "graphson3": serializer.GraphSONSerializersV3d0,
    "graphson2": serializer.GraphSONSerializersV2d0,
}
CODECS = {"graphbinary": GraphBinaryCodec, "graphson3": lambda: GraphSONCodec(3),
          "graphson2": lambda: GraphSONCodec(2)}


# ---- a scripted graph ------------------------------------------------------------------------

class FakeGraph:
    """``execute`` as the engine's, scripted by step names: inject(values), bulk(n) sets the
    bulk of what came before, fail(msg) raises TraversalError, block waits for ``release``,
    sleep(s) ignores the deadline."""

    def __init__(self) -> None:
        self.calls: list[tuple[Bytecode, dict]] = []
        self.started = threading.Event()
        self.release = threading.Event()

    def execute(self, bytecode: Bytecode, options: dict | None = None, *, imposed: Any = (),
                limits: Any = None) -> list[Traverser]:
        self.calls.append((bytecode, dict(options or {})))
        self.imposed, self.limits = tuple(imposed), limits
        out: list[Traverser] = []
        for name, *args in bytecode.step_instructions:
            if name == "inject":
                out.extend(Traverser(a, 1) for a in args)
            elif name == "bulk":
                out = [Traverser(t.object, args[0]) for t in out]
            elif name == "fail":
                raise TraversalError(f"boom: {args[0]}")
            elif name == "block":
                self.started.set()
                self.release.wait(30)
            elif name == "sleep":
                time.sleep(args[0])
        return out


def scripted(g: Any, *steps: tuple) -> Any:
    """A traversal with steps gremlinpython has no method for."""
    t = g.inject(*steps[0][1:]) if steps and steps[0][0] == "inject" else g.inject()
    for name, *args in steps[1:] if steps and steps[0][0] == "inject" else steps:
        t.bytecode.add_step(name, *args)
    return t


class FakeParsed:
    def __init__(self, bytecode: Bytecode, terminal: Any) -> None:
        self.bytecode, self.terminal = bytecode, terminal


def fake_parse_query(text: str, bindings: dict) -> FakeParsed:
    """Understands ``g.inject(a, b, ...)`` with literal ints or binding names, plus an
    optional ``.next()``/``.hasNext()``/``.bulk2()`` suffix."""
    terminal = None
    for suffix in (".next()", ".hasNext()", ".iterate()"):
        if text.endswith(suffix):
            terminal, text = suffix[1:-2], text[: -len(suffix)]
    bulk = text.endswith(".bulk2()")
    text = text[: -len(".bulk2()")] if bulk else text
    assert text.startswith("g.inject(") and text.endswith(")"), text
    raw = [a.strip() for a in text[len("g.inject("):-1].split(",") if a.strip()]
    bytecode = Bytecode()
    bytecode.add_step("inject", *[bindings[a] if a in bindings else int(a) for a in raw])
    if bulk:
        bytecode.add_step("bulk", 2)
    return FakeParsed(bytecode, terminal)


@contextmanager
def remote(url: str, kind: str = "graphbinary", source: str = "g", **options: Any) -> Iterator[Any]:
    conn = DriverRemoteConnection(url, source, message_serializer=SERIALIZERS[kind](), **options)
    try:
        yield traversal().with_remote(conn)
    finally:
        conn.close()
        # A transport the driver dropped without closing closes itself when collected; do
        # that here, not later on a thread whose event loop is running (where it fails).
        gc.collect()


@contextmanager
def client(url: str, kind: str = "graphbinary", **options: Any) -> Iterator[Client]:
    c = Client(url, "g", message_serializer=SERIALIZERS[kind](), pool_size=1, **options)
    try:
        yield c
    finally:
        c.close()
        gc.collect()


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[FakeGraph, str]]:
    graph = FakeGraph()
    with running_server(graph, parse_query=fake_parse_query, workers=4) as url:
        yield graph, url


# ---- raw frames ------------------------------------------------------------------------------

def request_frame(kind: str, op: str, processor: str, args: dict, request_id: str | None = None) -> bytes:
    request_id = request_id or str(uuid.uuid4())
    return SERIALIZERS[kind]().serialize_message(request_id, DriverRequest(processor, op, args))


def read_response(kind: str, frame: bytes | str) -> dict:
    data = frame.encode("utf-8") if isinstance(frame, str) else frame
    return SERIALIZERS[kind]().deserialize_message(data)


def exchange(url: str, frames: list[bytes | str], *, responses: int | None = None,
             max_size: int | None = None) -> tuple[list[bytes | str], int | None]:
    """Send ``frames`` on one raw WebSocket; collect replies until a terminal status per
    frame (or ``responses`` messages); returns them and the close code if the server closed."""
    async def talk() -> tuple[list[bytes | str], int | None]:
        conn = await tornado.websocket.websocket_connect(url, max_message_size=max_size or 64 * 1024 * 1024)
        received: list[bytes | str] = []
        try:
            for frame in frames:
                conn.write_message(frame, binary=isinstance(frame, bytes))
            wanted = responses if responses is not None else None
            terminal = 0
            while True:
                message = await asyncio.wait_for(conn.read_message(), 30)
                if message is None:
                    return received, conn.close_code
                received.append(message)
                if wanted is not None:
                    if len(received) >= wanted:
                        return received, None
                    continue
                if _status_code(message) not in (206, 407):
                    terminal += 1
                    if terminal == len(frames):
                        return received, None
        finally:
            conn.close()
    return asyncio.run(talk())


def _status_code(message: bytes | str) -> int:
    if isinstance(message, str) or message[:1] == b"{":
        import json
        return json.loads(message)["status"]["code"]
    return int.from_bytes(message[18:22], "big", signed=True)


def _inject_bytecode(*values: Any, options: dict | None = None) -> Bytecode:
    bytecode = Bytecode()
    if options:
        bytecode.add_source("withStrategies", OptionsStrategy(options))
    bytecode.add_step("inject", *values)
    return bytecode


# ---- codecs (no socket) ----------------------------------------------------------------------

def _rich_bytecode(kind: str) -> Bytecode:
    g = traversal().with_graph(Graph()).with_("evaluationTimeout", 500)
    t = (g.with_strategies(SubgraphStrategy(vertices=__.has("tenant", "a")))
         .V().has("name", P.within("a", "b")).has("age", P.between(1, 5))
         .has("age", P.gt(3).and_(P.lt(9))).has("name", TextP.starting_with("x"))
         .order().by("name", Order.desc).by(T.id, Order.asc).select(Column.keys).limit(Scope.local, 2)
         .option(Pick.any_, __.identity()).select(Pop.all_, "a")
         .property(Cardinality.list_, "k", Binding("x", 1)).to_e(Direction.OUT).sack(Operator.sum_))
    if kind != "graphson2":  # GraphSON 2 maps have string keys only
        t = t.merge_v({T.label: "p"}).option(Merge.on_create, {"a": 1})
    if kind == "graphson3":  # the other formats flatten a list argument into P's arguments
        t = t.has("n", P.eq([1, 2]))
    return t.bytecode


@pytest.mark.parametrize("kind", ["graphbinary", "graphson3", "graphson2"])
def test_decoding_the_drivers_bytecode_gives_back_the_same_objects(kind: str) -> None:
    original = _rich_bytecode(kind)
    request_id = str(uuid.uuid4())
    frame = request_frame(kind, "bytecode", "traversal", {"gremlin": original, "aliases": {"g": "g"},
                                                          "batchSize": 7}, request_id)
    mime, payload = split_mime(frame)
    codec = CODECS[kind]()
    assert mime == codec.mime_type
    request = codec.decode_request(payload)
    assert (request.request_id, request.op, request.processor) == (uuid.UUID(request_id), "bytecode", "traversal")
    assert request.args["aliases"] == {"g": "g"} and request.args["batchSize"] == 7
    decoded = request.args["gremlin"]
    assert decoded.step_instructions == _rich_bytecode(kind).step_instructions
    (options,), (subgraph,) = [i[1:] for i in decoded.source_instructions]
    assert (options.strategy_name, options.configuration) == ("OptionsStrategy", {"evaluationTimeout": 500})
    assert subgraph.strategy_name == "SubgraphStrategy"
    assert subgraph.configuration["vertices"] == __.has("tenant", "a").bytecode


@pytest.mark.parametrize("kind", ["graphbinary", "graphson3"])
def test_a_lambda_is_refused_with_the_request_id(kind: str) -> None:
    bytecode = Bytecode()
    bytecode.add_step("map", lambda: "it.get()")
    request_id = str(uuid.uuid4())
    _, payload = split_mime(request_frame(kind, "bytecode", "traversal", {"gremlin": bytecode}, request_id))
    with pytest.raises(RequestDecodeError, match="Lambdas are not supported") as caught:
        CODECS[kind]().decode_request(payload)
    assert caught.value.status == 597 and caught.value.request_id == uuid.UUID(request_id)


@pytest.mark.parametrize("kind", ["graphbinary", "graphson3", "graphson2"])
def test_responses_read_back_through_the_driver(kind: str) -> None:
    owner = Vertex(1, "person")
    vertex = Vertex(1, "person", [VertexProperty(10, "name", "marko", owner, [Property("since", 2001, None)])])
    edge = Edge(7, owner, "knows", Vertex(2, "person"), [Property("weight", 0.5, None)])
    path = GPath([{"a"}, set()], [owner, "x"])
    data = [Traverser(vertex, 1), Traverser(edge, 3), Traverser(path, 1), Traverser({"k": [1, 2**40, 2**70]}, 1)]
    request_id = uuid.uuid4()
    frame = CODECS[kind]().encode_response(ResponseMessage(request_id, 206, data=data))
    message = read_response(kind, frame)
    assert message["requestId"] == str(request_id) and message["status"]["code"] == 206
    v, e, p, m = message["result"]["data"]
    assert (v.object.id, v.object.label) == (1, "person")
    (name,) = v.object.properties
    assert (name.label, name.value) == ("name", "marko")
    assert e.bulk == 3 and (e.object.outV.id, e.object.inV.id, e.object.label) == (1, 2, "knows")
    assert [(pr.key, pr.value) for pr in e.object.properties] == [("weight", 0.5)]
    assert p.object.objects[1] == "x" and list(p.object.labels[0]) == ["a"]
    assert m.object == {"k": [1, 2**40, 2**70]}


def test_an_unwritable_result_is_a_serialization_error() -> None:
    from gremlin.errors import ServerSerializationError
    with pytest.raises(ServerSerializationError):
        GraphBinaryCodec().encode_response(ResponseMessage(uuid.uuid4(), 200, data=[object()]))


def test_garbage_is_a_malformed_request_and_a_truncated_one_keeps_its_id() -> None:
    with pytest.raises(RequestDecodeError) as caught:
        GraphSONCodec(3).decode_request(b"{not json")
    assert caught.value.status == 498 and caught.value.request_id is None
    request_id = str(uuid.uuid4())
    _, payload = split_mime(request_frame("graphbinary", "bytecode", "traversal",
                                          {"gremlin": _inject_bytecode(1, 2)}, request_id))
    with pytest.raises(RequestDecodeError) as caught:
        GraphBinaryCodec().decode_request(payload[:-3])
    assert caught.value.status == 599 and caught.value.request_id == uuid.UUID(request_id)


# ---- request validation (no socket) ----------------------------------------------------------

def _request(op: str = "bytecode", processor: str = "traversal", **args: Any) -> RequestMessage:
    return RequestMessage(uuid.uuid4(), op, processor, args)


def test_options_come_from_arguments_over_the_options_strategy_over_defaults() -> None:
    settings = Settings(evaluation_timeout_ms=30_000, batch_size=64)
    plan = prepare(_request(gremlin=_inject_bytecode(1), aliases={"g": "g"}), settings)
    assert (plan.timeout_ms, plan.batch_size) == (30_000, 64)
    bytecode = _inject_bytecode(1, options={"evaluationTimeout": 50, "batchSize": 5, "materializeProperties": "tokens"})
    plan = prepare(_request(gremlin=bytecode, aliases={"g": "g"}), settings)
    assert (plan.timeout_ms, plan.batch_size, plan.options["materializeProperties"]) == (50, 5, "tokens")
    plan = prepare(_request(gremlin=bytecode, aliases={"g": "g"}, batchSize=9, evaluationTimeout=0), settings)
    assert (plan.timeout_ms, plan.batch_size) == (0, 9) and "evaluationTimeout" not in plan.options


@pytest.mark.parametrize("request_message, message", [
    (_request(gremlin=_inject_bytecode(1), aliases={"g": "h"}), "traversal source \\[h\\]"),
    (_request(gremlin=_inject_bytecode(1)), "requires the \\[aliases\\]"),
    (_request(gremlin="g.V()", aliases={"g": "g"}), "to be Bytecode"),
    (_request(gremlin=_inject_bytecode(1), aliases={"g": "g"}, batchSize=0), "batchSize"),
    (_request(gremlin=_inject_bytecode(1), aliases={"g": "g"}, materializeProperties="some"), "materialize"),
    (_request("bytecode", "session", gremlin=_inject_bytecode(1), aliases={"g": "g"}), "Sessions"),
    (_request("eval", "", gremlin=""), "\\[gremlin\\]"),
    (_request("eval", "", gremlin="g.V()", bindings=[1]), "bindings"),
    (_request("gather", ""), "not recognized"),
])
def test_bad_request_arguments_are_499(request_message: RequestMessage, message: str) -> None:
    with pytest.raises(InvalidRequestArguments, match=message) as caught:
        prepare(request_message, Settings())
    assert caught.value.status == 499


def test_script_terminals_shape_the_results() -> None:
    assert apply_terminal([1, 2, 2], None) == [1, 2, 2]
    assert apply_terminal([1, 2], "next") == [1]
    assert apply_terminal([1, 2, 3], ("next", 2)) == [1, 2]
    assert apply_terminal([], "hasNext") == [False]
    assert apply_terminal([1, 2, 2], "toSet") == [1, 2]
    assert apply_terminal([1], "iterate") == []
    with pytest.raises(TraversalError):
        apply_terminal([], "next")


# ---- credentials -----------------------------------------------------------------------------

def test_passwords_are_stored_hashed_and_checked(tmp_path: Path) -> None:
    stored = hash_password("s3cret")
    assert "s3cret" not in stored and verify_password("s3cret", stored) and not verify_password("nope", stored)
    path = tmp_path / "users"
    path.write_text(f"# users\nalice:{stored}\n")
    credentials = Credentials.from_file(path)
    assert credentials.authenticate("alice", "s3cret").user == "alice"
    for user, password in (("alice", "wrong"), ("bob", "s3cret")):
        with pytest.raises(gremlin.AuthenticationError):
            credentials.authenticate(user, password)
    path.write_text("alice:plaintext\n")
    with pytest.raises(gremlin.InvalidArgumentError):
        Credentials.from_file(path)


def test_sasl_plain_parsing() -> None:
    import base64
    assert parse_sasl_plain(base64.b64encode(b"\0al\0pw").decode()) == ("al", "pw")
    for bad in (None, "", "!!!", base64.b64encode(b"no-separators").decode()):
        with pytest.raises(gremlin.AuthenticationError):
            parse_sasl_plain(bad)


def test_cli_hash_password_prints_a_credentials_line(monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("pw\n"))
    assert cli_main(["--hash-password", "carol"]) == 0
    user, _, stored = capsys.readouterr().out.strip().partition(":")
    assert user == "carol" and verify_password("pw", stored)


# ---- the endpoint with a scripted graph ------------------------------------------------------

@pytest.mark.integration
@pytest.mark.parametrize("kind", ["graphbinary", "graphson3", "graphson2"])
def test_bytecode_results_come_back_as_traversers_with_bulk(fake: tuple[FakeGraph, str], kind: str) -> None:
    _, url = fake
    with remote(url, kind) as g:
        assert g.inject(1, 2, 3).to_list() == [1, 2, 3]
        assert scripted(g, ("inject", "a", "b"), ("bulk", 2)).to_list() == ["a", "a", "b", "b"]
        assert g.inject().to_list() == []


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["graphbinary", "graphson3"])
def test_results_are_batched_in_206_frames_closed_by_200(fake: tuple[FakeGraph, str], kind: str) -> None:
    _, url = fake
    frame = request_frame(kind, "bytecode", "traversal", {"gremlin": _inject_bytecode(*range(300)),
                                                          "aliases": {"g": "g"}})
    messages, _ = exchange(url, [frame])
    decoded = [read_response(kind, m) for m in messages]
    assert [m["status"]["code"] for m in decoded] == [206, 206, 206, 206, 200]
    assert [len(m["result"]["data"]) for m in decoded] == [64, 64, 64, 64, 44]
    assert [t.object for m in decoded for t in m["result"]["data"]] == list(range(300))
    with_batch = _inject_bytecode(*range(25), options={"batchSize": 10})
    messages, _ = exchange(url, [request_frame(kind, "bytecode", "traversal",
                                               {"gremlin": with_batch, "aliases": {"g": "g"}})])
    assert [len(read_response(kind, m)["result"]["data"]) for m in messages] == [10, 10, 5]
    messages, _ = exchange(url, [request_frame(kind, "bytecode", "traversal",
                                               {"gremlin": _inject_bytecode(), "aliases": {"g": "g"}})])
    assert [read_response(kind, m)["status"]["code"] for m in messages] == [204]


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["graphbinary", "graphson3"])
def test_a_failing_traversal_is_597_with_gremlin_server_attributes(fake: tuple[FakeGraph, str], kind: str) -> None:
    _, url = fake
    with remote(url, kind) as g:
        with pytest.raises(GremlinServerError) as caught:
            scripted(g, ("inject", 1), ("fail", "no such thing")).to_list()
        assert g.inject(4).to_list() == [4]  # the connection is still usable
    error = caught.value
    assert error.status_code == 597 and "boom: no such thing" in error.status_message
    assert error.status_attributes["exceptions"] == ["java.lang.IllegalStateException"]
    assert "boom: no such thing" in error.status_attributes["stackTrace"]


@pytest.mark.integration
def test_an_unknown_traversal_source_is_refused(fake: tuple[FakeGraph, str]) -> None:
    _, url = fake
    with remote(url, source="graph") as g:
        with pytest.raises(GremlinServerError, match="499: The traversal source \\[graph\\]"):
            g.inject(1).to_list()


@pytest.mark.integration
def test_evaluation_timeout_is_passed_down_and_enforced_by_a_watchdog(fake: tuple[FakeGraph, str]) -> None:
    graph, url = fake
    with remote(url) as g:
        assert g.with_("evaluationTimeout", 4000).with_("materializeProperties", "tokens").inject(1).to_list() == [1]
        assert graph.calls[-1][1] == {"evaluationTimeout": 4000, "materializeProperties": "tokens"}
        with pytest.raises(GremlinServerError) as caught:
            scripted(g.with_("evaluationTimeout", 50), ("inject", 1), ("sleep", 1.0)).to_list()
    assert caught.value.status_code == 598
    assert caught.value.status_attributes["exceptions"] == ["java.util.concurrent.TimeoutException"]


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["graphbinary", "graphson3"])
def test_eval_returns_plain_values_unrolled_by_bulk(fake: tuple[FakeGraph, str], kind: str) -> None:
    _, url = fake
    with client(url, kind) as c:
        assert c.submit("g.inject(1, 2)").all().result() == [1, 2]
        assert c.submit("g.inject(x, 5).bulk2()", {"x": "a"}).all().result() == ["a", "a", 5, 5]
        assert c.submit("g.inject(7, 8).next()").all().result() == [7]
        assert c.submit("g.inject().hasNext()").all().result() == [False]
        assert c.submit("g.inject(1).iterate()").all().result() == []


@pytest.mark.integration
def test_undecodable_frames_get_error_responses_not_a_dropped_connection(fake: tuple[FakeGraph, str]) -> None:
    _, url = fake
    good = request_frame("graphbinary", "bytecode", "traversal", {"gremlin": _inject_bytecode(5), "aliases": {"g": "g"}})
    unknown_mime = bytes([10]) + b"text/plain" + b"hello"
    lambda_bytecode = Bytecode()
    lambda_bytecode.add_step("map", lambda: "it.get()")
    with_lambda = request_frame("graphbinary", "bytecode", "traversal", {"gremlin": lambda_bytecode,
                                                                         "aliases": {"g": "g"}})
    messages, close_code = exchange(url, [b"\x00garbage", unknown_mime, "{oops", with_lambda, good], responses=5)
    assert close_code is None
    codes = [_status_code(m) for m in messages]
    assert codes[:3] == [498, 599, 498] and sorted(codes[3:]) == [200, 597]
    last = read_response("graphbinary", next(m for m in messages[3:] if _status_code(m) == 200))
    assert [t.object for t in last["result"]["data"]] == [5]


@pytest.mark.integration
def test_a_text_frame_is_read_as_graphson_and_answered_in_text(fake: tuple[FakeGraph, str]) -> None:
    _, url = fake
    frame = request_frame("graphson3", "bytecode", "traversal", {"gremlin": _inject_bytecode(1, "a"),
                                                                 "aliases": {"g": "g"}})
    _, payload = split_mime(frame)
    (message,), _ = exchange(url, [payload.decode("utf-8")])
    assert isinstance(message, str)
    response = read_response("graphson3", message)
    assert response["status"]["code"] == 200 and [t.object for t in response["result"]["data"]] == [1, "a"]


@pytest.mark.integration
def test_a_frame_over_the_limit_closes_the_connection_with_1009() -> None:
    with running_server(FakeGraph(), max_frame_bytes=4096) as url:
        small = request_frame("graphbinary", "bytecode", "traversal", {"gremlin": _inject_bytecode("x"),
                                                                       "aliases": {"g": "g"}})
        big = request_frame("graphbinary", "bytecode", "traversal", {"gremlin": _inject_bytecode("x" * 10_000),
                                                                     "aliases": {"g": "g"}})
        messages, _ = exchange(url, [small])
        assert [_status_code(m) for m in messages] == [200]
        messages, close_code = exchange(url, [big])
        assert messages == [] and close_code == 1009


@pytest.mark.integration
def test_a_slow_traversal_does_not_block_other_connections() -> None:
    graph = FakeGraph()
    with running_server(graph, workers=2) as url:
        with remote(url) as slow_g, remote(url) as fast_g:
            slow = in_background(scripted(slow_g, ("inject", "slow"), ("block",)).to_list)
            assert graph.started.wait(10)
            assert fast_g.inject("fast").to_list() == ["fast"]
            assert not slow.done()
            graph.release.set()
            assert slow.result(10) == ["slow"]


@pytest.mark.integration
def test_shutdown_finishes_running_requests_and_refuses_new_ones() -> None:
    graph = FakeGraph()
    server = ServerThread(graph, grace_period=10).start()
    try:
        with remote(server.url) as g:
            running = in_background(scripted(g, ("inject", "done"), ("block",)).to_list)
            assert graph.started.wait(10)
            stopper = threading.Thread(target=server.stop)
            stopper.start()
            assert _wait_for(lambda: server.endpoint.draining)
            graph.release.set()
            assert running.result(10) == ["done"]
            stopper.join(30)
        assert not server._thread.is_alive()  # type: ignore[union-attr]
        with pytest.raises(Exception):
            with remote(server.url) as g2:
                g2.inject(1).to_list()
    finally:
        graph.release.set()
        server.stop()


def in_background(call: Any) -> Future:
    """``call()`` on its own thread. (Traversal.promise() can block the caller: the driver
    runs its completion callback inline when the request was written quickly.)"""
    future: Future = Future()

    def target() -> None:
        try:
            future.set_result(call())
        except BaseException as error:
            future.set_exception(error)
    threading.Thread(target=target, daemon=True).start()
    return future


def _wait_for(condition: Any, attempts: int = 200) -> bool:
    for _ in range(attempts):
        if condition():
            return True
        time.sleep(0.05)
    return False


# ---- authentication --------------------------------------------------------------------------

@pytest.mark.integration
@pytest.mark.parametrize("kind", ["graphbinary", "graphson3"])
def test_sasl_plain_authentication_through_the_stock_driver(kind: str) -> None:
    with running_server(FakeGraph(), credentials={"stephen": "password"}) as url:
        with remote(url, kind, username="stephen", password="password") as g:
            assert g.inject(1, 2).to_list() == [1, 2]
            assert g.inject(3).to_list() == [3]  # the connection stays authenticated
        with remote(url, kind, username="stephen", password="wrong") as g:
            with pytest.raises(GremlinServerError) as caught:
                g.inject(1).to_list()
        assert caught.value.status_code == 401
        assert "incorrect" in caught.value.status_message and "wrong" not in caught.value.status_message
        with remote(url, kind) as g:
            with pytest.raises(ConfigurationError):
                g.inject(1).to_list()


# ---- end to end with the engine --------------------------------------------------------------

@pytest.fixture(scope="module")
def engine_url() -> Iterator[str]:
    with running_server(gremlin.Graph()) as url:
        yield url


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["graphbinary", "graphson3"])
def test_the_engine_end_to_end(engine_url: str, kind: str) -> None:
    with remote(engine_url, kind) as g:
        g.V().drop().iterate()
        assert g.inject(1, 2, 3).to_list() == [1, 2, 3]
        marko = g.add_v("person").property("name", "marko").property("age", 29).next()
        assert marko.label == "person" and {p.label: p.value for p in marko.properties} == {"name": "marko", "age": 29}
        josh = g.add_v("person").property("name", "josh").next()
        edge = g.V(marko.id).add_e("knows").to(__.V(josh.id)).property("weight", 1.0).next()
        assert (edge.outV.id, edge.inV.id, [(p.key, p.value) for p in edge.properties]) == \
            (marko.id, josh.id, [("weight", 1.0)])
        path = g.V(marko.id).out_e().in_v().path().by("name").by(T.label).next()
        assert path.objects == ["marko", "knows", "josh"]
        assert g.V().group().by("name").by(__.count()).next() == {"marko": 1, "josh": 1}
        assert g.V().has("name", P.within("marko", "nobody")).values("age").to_list() == [29]
        assert g.with_("materializeProperties", "tokens").V(marko.id).next().properties in (None, [])
        assert len(g.inject(*range(300)).to_list()) == 300
        with pytest.raises(GremlinServerError) as caught:
            g.V().has("name", "marko").add_v("x").property(T.id, josh.id).iterate()
        assert caught.value.status_code == 597 and caught.value.status_message
        assert g.V().count().next() == 2  # the failed traversal wrote nothing


@pytest.mark.integration
@pytest.mark.parametrize("kind", ["graphbinary", "graphson3"])
def test_scripts_through_the_gremlin_language_parser(engine_url: str, kind: str) -> None:
    pytest.importorskip("gremlin.language")
    with client(engine_url, kind) as c:
        c.submit("g.V().drop()").all().result()
        c.submit("g.addV('person').property('name', n).iterate()", {"n": "ann"}).all().result()
        c.submit("g.addV('person').property('name', 'bob')").all().result()
        assert sorted(c.submit("g.V().values('name')").all().result()) == ["ann", "bob"]
        assert c.submit("g.V().count().next()").all().result() == [2]
        assert c.submit("g.V().hasLabel('person').values('name').order().next(1)").all().result() == ["ann"]
        assert c.submit("g.V().has('name', 'zed').hasNext()").all().result() == [False]
        (vertex,) = c.submit("g.V().has('name', 'ann')").all().result()
        assert vertex.label == "person"
        with pytest.raises(GremlinServerError) as caught:
            c.submit("g.V(.out()").all().result()
        assert caught.value.status_code == 599


@pytest.mark.integration
def test_the_engine_honours_evaluation_timeout(engine_url: str) -> None:
    with remote(engine_url) as g:
        g.V().drop().iterate()
        for i in range(8):
            g.add_v("n").property("i", i).iterate()
        g.V().as_("a").V().where(P.neq("a")).add_e("x").from_("a").iterate()
        with pytest.raises(GremlinServerError) as caught:
            g.with_("evaluationTimeout", 100).V().repeat(__.both()).times(12).path().count().next()
    assert caught.value.status_code == 598
    assert "evaluationTimeout" in caught.value.status_message


@pytest.mark.integration
def test_the_cli_serves_until_sigterm(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "gremlin.server", "--port", "0"], cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "PYTHONPATH": str(REPO)})
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        assert line.startswith("gremlin server listening on ws://127.0.0.1:") and line.rstrip().endswith("(memory)")
        url = line.split()[4]
        with remote(url) as g:
            assert g.inject(1).to_list() == [1]
        process.send_signal(signal.SIGTERM)
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
