"""gremlin.fast_writer writes exactly the bytes gremlin.server.graphbinary's client_writer() (what the
service sent before) writes, for values of every kind a request holds and for the very requests
an ingest and a resolve send; and its connection's bytecode makes no text unless it is logged."""

from __future__ import annotations

import datetime
import decimal
import logging
import uuid

from hypothesis import given, settings, strategies as st
from gremlin_python.driver.request import RequestMessage
from gremlin_python.driver.serializer import GraphBinarySerializersV1
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.strategies import PartitionStrategy, SubgraphStrategy
from gremlin_python.process.traversal import (Barrier, Bytecode, Cardinality, CardinalityValue, Column, Direction,
                                              Merge, Operator, Order, P, Pick, Pop, Scope, T, TextP)
from gremlin_python.statics import long

import gremlin
from gremlin.fast_writer import FastWriter, QuietBytecode
from gremlin.server.graphbinary import client_writer

_TOKENS = [T.id, T.label, T.key, Direction.OUT, Direction.BOTH, Cardinality.single, Cardinality.list_, Merge.on_create,
           Merge.out_v, Column.keys, Order.desc, Pop.last, Scope.local, Pick.any_, Barrier.norm_sack, Barrier.normSack, Operator.sum_]
_scalars = st.one_of(
    st.none(), st.booleans(), st.text(), st.floats(), st.sampled_from(_TOKENS),
    st.integers(-2 ** 70, 2 ** 70),  # Int, Long and BigInteger by magnitude
    st.sampled_from([2 ** 31 - 1, 2 ** 31, -2 ** 31, -2 ** 31 - 1, 2 ** 63 - 1, 2 ** 63, -2 ** 63, -2 ** 63 - 1]),
    st.integers(-2 ** 63, 2 ** 63 - 1).map(long), st.decimals(allow_nan=False, allow_infinity=False, places=3))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.sets(st.one_of(st.text(), st.integers()), max_size=4),
    st.dictionaries(st.one_of(st.text(), st.sampled_from([T.id, T.label, Direction.OUT])), inner, max_size=4),
    inner.map(CardinalityValue.single), inner.map(CardinalityValue.set_), inner.map(CardinalityValue.list_),
    st.lists(inner, max_size=3).map(lambda v: __.inject(*v).fold()),
    inner.map(P.eq), st.lists(inner, max_size=3).map(P.within)), max_leaves=25)


def _written(writer, value) -> bytes:
    out = bytearray()
    writer.to_dict(value, out)
    return bytes(out)


@settings(max_examples=400, deadline=None)
@given(_values)
def test_every_value_is_written_as_client_writer_writes_it(value) -> None:
    assert _written(FastWriter(), value) == _written(client_writer(), value)


def test_values_it_hands_over_are_written_as_client_writer_writes_them() -> None:
    for value in ([uuid.UUID(int=7), datetime.datetime(2026, 12, 7, 10, 0), datetime.timedelta(seconds=3)],
                  {"within": TextP.containing("ab"), "nan": float("nan"), "big": decimal.Decimal("1.50")},
                  [P.between(1, long(5)), P.gt(3).and_(P.lt(9)), {1, "2"}]):
        assert _written(FastWriter(), value) == _written(client_writer(), value)


def test_one_writer_writes_recurring_names_and_predicates_as_client_writer_each_time() -> None:
    """A writer keeps the encodings of names it met (labels, keys, instruction and predicate
    names): the second and later writes of values that repeat them are still exact."""
    writer = FastWriter()
    values = [__.V("a").has_label("identifier").has("first_seen", P.lte(long(5))).out_e("link").as_("e"),
              {"identifier": ["first_seen", "identifier", "a-b", "x@y.z"], "e": P.within(["e", "identifier"])},
              __.has("first_seen", P.gt(3).and_(P.lt(long(9)))).where(P.neq("e")).has("k", TextP.containing("e")),
              "identifier", "first_seen", "a" * 40, "9lives"]
    for _ in range(3):
        for value in values:
            assert _written(writer, value) == _written(client_writer(), value)


def _request(writer, bytecode) -> bytes:
    message = RequestMessage(processor="traversal", op="bytecode",
                             args={"gremlin": bytecode, "aliases": {"g": "g"}})
    return GraphBinarySerializersV1(writer=writer).serialize_message(uuid.UUID(int=42), message)


def test_source_instructions_and_strategies_are_written_as_client_writer_writes_them() -> None:
    source = __.V()  # an anonymous traversal's source instructions are empty: build them by hand
    bytecode = Bytecode(source.bytecode)
    bytecode.add_source("withStrategies", PartitionStrategy(partition_key="tenant", write_partition="acme",
                                                             read_partitions=["acme"]))
    bytecode.add_source("withStrategies", SubgraphStrategy(vertices=__.has("type", "email")))
    bytecode.add_source("withoutStrategies", PartitionStrategy)
    bytecode.add_source("with", "evaluationTimeout", long(3000))
    assert _request(FastWriter(), bytecode) == _request(client_writer(), bytecode)
    assert _request(FastWriter(), QuietBytecode.of(bytecode)) == _request(client_writer(), bytecode)


def test_the_requests_an_ingest_and_a_resolve_send_are_written_as_before() -> None:
    """The service's own traversals, captured from an ingest of a small population (reads and
    writes with every kind of write in them) and resolves, whole request frames compared."""
    from benchmarks.population import Mix, generate
    from identity import IdentityGraph

    sent: list[Bytecode] = []
    url = "memory://fast-writer-requests"
    connection = gremlin.connect(url)
    submit = connection.submit

    def capture(bytecode):
        sent.append(bytecode)
        return submit(bytecode)

    connection.submit = capture  # type: ignore[method-assign]
    try:
        ids = IdentityGraph(traversal().with_remote(connection), "acme")
        events = [labelled.event for labelled in generate(Mix(people=40, seed=3))]
        for start in range(0, len(events), 25):
            ids.ingest(events[start:start + 25])
        for identifier in events[0]["identifiers"]:
            ids.resolve(identifier["type"], identifier["value"])
    finally:
        gremlin.forget_graph(url)
    assert len(sent) > 10 and any("mergeE" in repr(bytecode) for bytecode in sent)
    for bytecode in sent:
        assert _request(FastWriter(), QuietBytecode.of(bytecode)) == _request(client_writer(), bytecode)


def test_quiet_bytecode_makes_its_text_only_when_the_driver_logs_it(caplog) -> None:
    bytecode = __.V("a").has("type", "email").out("link").bytecode
    quiet = QuietBytecode.of(bytecode)
    assert str(quiet) == "<bytecode of 3 steps>"
    with caplog.at_level(logging.DEBUG, logger="gremlinpython"):
        assert str(quiet) == str(bytecode)
    assert quiet.step_instructions is bytecode.step_instructions


def test_the_service_connects_to_a_server_with_the_fast_writer(monkeypatch) -> None:
    """gremlin.connect writes GraphBinary requests with FastWriter, through the lean connection
    (the default) and gremlinpython's driver (driver=gremlinpython, a QuietDriverConnection)."""
    from gremlin.fast_writer import QuietDriverConnection
    from gremlin.remote import ServerRemoteConnection
    made = []

    def fake(self, url, source, **options):
        made.append(options)

    for kind in (ServerRemoteConnection, QuietDriverConnection):
        monkeypatch.setattr(kind, "__init__", fake)
    assert type(gremlin.connect("ws://127.0.0.1:1/gremlin")) is ServerRemoteConnection
    assert type(gremlin.connect("ws://127.0.0.1:1/gremlin?driver=gremlinpython")) is QuietDriverConnection
    assert all(isinstance(options["message_serializer"]._graphbinary_writer, FastWriter) for options in made)
