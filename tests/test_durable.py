"""The durable graph directory (gremlin.durable, gremlin.disk_store) and its value codec (gremlin.codec)."""

from __future__ import annotations

import ast
import datetime as dt
import decimal
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from gremlin_python.statics import long

from gremlin import codec
from gremlin.durable import DATABASE_NAME, DurableStoreError, GraphInUseError, open_store
from gremlin.errors import InvalidArgumentError
from gremlin.storage import Store

try:
    from zoneinfo import ZoneInfo
    PARIS: dt.tzinfo = ZoneInfo("Europe/Paris")
except Exception:  # no tz database on this machine: a fixed offset still exercises aware datetimes
    PARIS = dt.timezone(dt.timedelta(hours=1))

CHILD = Path(__file__).resolve().parent / "durable_child.py"

EVERY_VALUE_TYPE: list[Any] = [
    "text", "", "ünïcödé ✓", 0, -7, 2 ** 70, long(5), long(-2 ** 40), 1.5, -0.0, 1e300,
    float("inf"), float("-inf"), True, False, None,
    dt.datetime(2024, 2, 29, 23, 59, 58, 123456),
    dt.datetime(2024, 2, 29, 23, 59, 58, tzinfo=dt.timezone.utc),
    dt.datetime(2024, 7, 1, 12, 0, tzinfo=PARIS),
    dt.datetime(2024, 7, 1, 12, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5, minutes=-30))),
    uuid.UUID("12345678-1234-5678-1234-567812345678"),
    decimal.Decimal("1.10"), decimal.Decimal("-0E-7"), decimal.Decimal("12345678901234567890.000000001"),
    b"", b"\x00\xffbinary",
    [], [1, "a", long(2), [True, None]],
    set(), {1, "a", long(3), (1, 2)},
    {}, {"nested": {"deeper": [1, {2, 3}]}, 7: "int key", long(8): "long key", (1, "t"): b"tuple key",
         uuid.UUID(int=1): dt.datetime(2000, 1, 1)},
]


def typed(value: Any) -> Any:
    """A comparable description of ``value`` that includes every type, nested."""
    kind = type(value).__qualname__
    if isinstance(value, (list, tuple)):
        return (kind, [typed(item) for item in value])
    if isinstance(value, (set, frozenset)):
        return (kind, sorted(repr(typed(item)) for item in value))
    if isinstance(value, dict):
        return (kind, [(typed(k), typed(v)) for k, v in value.items()])
    return (kind, repr(value))  # repr shows tzinfo, Decimal digits, -0.0, nan


def snapshot(store: Store) -> dict:
    """Every element of ``store``, typed, vertex properties as elements (with their ids).
    Property order within a vertex is kept; element order is not (see test_creation_order...).
    Property tables are compared as dicts: an element without properties may share the
    store's read-only empty table."""
    vertices = {
        repr(typed(v.id)): (v.label, [(key, typed(vp.id), typed(vp.value), typed(dict(vp.meta)))
                                      for vp in store.vertex_properties(v) for key in (vp.key,)])
        for v in store.vertices.values()
    }
    edges = {
        repr(typed(e.id)): (e.label, typed(e.out_v.id), typed(e.in_v.id), typed(dict(e.props)))
        for e in store.edges.values()
    }
    adjacency = {
        repr(typed(v.id)): ({label: sorted(repr(e.id) for e in v.edges("out", (label,)))
                             for label in {e.label for e in v.edges("out")}},
                            {label: sorted(repr(e.id) for e in v.edges("in", (label,)))
                             for label in {e.label for e in v.edges("in")}})
        for v in store.vertices.values()
    }
    return {"vertices": vertices, "edges": edges, "adjacency": adjacency}


def reopen(path: Path, store: Store, **kwargs: Any) -> Store:
    store.close()
    return open_store(path, **kwargs)


def assert_consistent(store: Store) -> None:
    for edge in store.edges.values():
        assert store.vertices.get(edge.out_v.id) is edge.out_v
        assert store.vertices.get(edge.in_v.id) is edge.in_v
        assert [e for e in edge.out_v.edges("out", (edge.label,)) if e.id == edge.id] == [edge]
        assert [e for e in edge.in_v.edges("in", (edge.label,)) if e.id == edge.id] == [edge]


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "graph"


# -- codec ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", EVERY_VALUE_TYPE, ids=lambda v: type(v).__name__)
def test_codec_round_trips_value_and_type(value: Any) -> None:
    text = codec.dumps(value)
    assert typed(codec.loads(text)) == typed(value)


def test_codec_keeps_bool_long_and_int_apart() -> None:
    assert [type(x) for x in codec.loads(codec.dumps([True, 1, long(1), 1.0]))] == [bool, int, long, float]


def test_codec_refuses_types_it_cannot_restore() -> None:
    with pytest.raises(InvalidArgumentError, match="cannot be stored"):
        codec.dumps({"x": object()})


def test_codec_reads_only_its_own_tags() -> None:
    with pytest.raises(ValueError):
        codec.loads('{"__reduce__": "os.system"}')


# -- round trip ------------------------------------------------------------------------------------

def build_every_shape(store: Store) -> None:
    with store.transaction():
        alice = store.add_vertex("person", "alice")
        store.add_vertex_property(alice, "name", "Alice")
        store.add_vertex_property(alice, "email", "a@x.com", "list", {"verified": True, "since": dt.date(2020, 1, 2)})
        store.add_vertex_property(alice, "email", "a@x.com", "list")  # list keeps duplicates
        store.add_vertex_property(alice, "phone", "+1", "set")
        store.add_vertex_property(alice, "phone", "+1", "set", {"source": "crm"})  # set merges meta
        store.add_vertex_property(alice, "phone", "+2", "set")
        typed_vertex = store.add_vertex("values", long(42))
        for position, value in enumerate(EVERY_VALUE_TYPE):
            store.add_vertex_property(typed_vertex, f"p{position}", value, meta={"m": value})
        generated = store.add_vertex("device")
        uuid_id = store.add_vertex("device", uuid.UUID(int=99))
        knows = store.add_edge("knows", alice, typed_vertex, "e1")
        for position, value in enumerate(EVERY_VALUE_TYPE):
            store.set_edge_property(knows, f"p{position}", value)
        store.add_edge("uses", alice, generated)
        store.add_edge("uses", alice, uuid_id, long(1000))
        store.add_edge("self", generated, generated)


def test_round_trip_keeps_every_element_value_and_type(directory: Path) -> None:
    store = open_store(directory)
    build_every_shape(store)
    before = snapshot(store)
    assert len(before["vertices"]) == 4 and len(before["edges"]) == 4

    store = reopen(directory, store)
    assert snapshot(store) == before
    assert_consistent(store)
    store.close()


def test_reopen_twice_is_stable(directory: Path) -> None:
    store = open_store(directory)
    build_every_shape(store)
    store = reopen(directory, store)
    first = snapshot(store)
    store = reopen(directory, store)
    assert snapshot(store) == first
    store.close()


def test_creation_order_across_transactions_survives_reopen(directory: Path) -> None:
    store = open_store(directory, id_kind="uuid")
    for _ in range(20):
        with store.transaction():
            vertex = store.add_vertex("v")
            store.add_edge("self", vertex, vertex)
    with store.transaction():  # an update must not move the element to the end
        first = next(iter(store.vertices.values()))
        store.add_vertex_property(first, "touched", True)
        store.set_edge_property(next(iter(store.edges.values())), "touched", True)
    vertex_order, edge_order = list(store.vertices), list(store.edges)
    store = reopen(directory, store, id_kind="uuid")
    assert list(store.vertices) == vertex_order and list(store.edges) == edge_order
    store.close()


def test_uuid_id_kind_round_trips(directory: Path) -> None:
    store = open_store(directory, id_kind="uuid")
    with store.transaction():
        a = store.add_vertex("person")
        b = store.add_vertex("person")
        store.add_edge("knows", a, b)
    before = snapshot(store)
    store = reopen(directory, store, id_kind="uuid")
    assert snapshot(store) == before
    assert all(isinstance(id, str) for id in store.vertices)
    store.close()


# -- what reaches the disk -----------------------------------------------------------------------

def test_deletes_and_property_removals_persist(directory: Path) -> None:
    store = open_store(directory)
    build_every_shape(store)
    with store.transaction():
        alice = store.vertices["alice"]
        store.remove_vertex_property(store.vertex_properties(alice, ("name",))[0])
        store.remove_vertex_property(store.vertex_properties(alice, ("email",))[1])
        store.remove_meta_property(store.vertex_properties(alice, ("phone",))[0], "source")
        store.set_meta_property(store.vertex_properties(alice, ("email",))[0], "verified", False)
        knows = store.edges["e1"]
        store.remove_edge_property(knows, "p0")
        store.set_edge_property(knows, "p1", "changed")
        store.remove_edge(store.edges[long(1000)])
        store.remove_vertex(store.vertices[long(42)])  # takes edge e1 with it
    before = snapshot(store)
    store = reopen(directory, store)
    assert snapshot(store) == before
    assert "name" not in store.vertices["alice"].props
    assert len(store.vertices["alice"].values_of("email")) == 1
    assert store.vertex_properties(store.vertices["alice"], ("phone",))[0].meta == {}
    assert "e1" not in store.edges and 42 not in store.vertices
    assert_consistent(store)
    store.close()


def test_equal_ids_of_different_int_types_address_one_row(directory: Path) -> None:
    store = open_store(directory)
    with store.transaction():
        store.add_vertex("v", long(7))
    with store.transaction():
        store.remove_vertex(store.vertices[7])  # the change set names it as int 7
    store = reopen(directory, store)
    assert len(store.vertices) == 0 and list(store.vertices) == []
    store.close()


def test_a_failed_transaction_leaves_nothing_on_disk(directory: Path) -> None:
    store = open_store(directory)
    build_every_shape(store)
    before = snapshot(store)
    with pytest.raises(RuntimeError, match="boom"):
        with store.transaction():
            store.remove_vertex(store.vertices["alice"])
            store.add_vertex("ghost", "ghost")
            raise RuntimeError("boom")
    assert "ghost" not in store.vertices  # memory undone (property key order may differ)
    store = reopen(directory, store)
    assert snapshot(store) == before
    store.close()


def test_a_value_the_codec_refuses_rolls_back_memory_and_disk(directory: Path) -> None:
    store = open_store(directory)
    with store.transaction():
        store.add_vertex("person", "p")
    with pytest.raises(InvalidArgumentError):
        with store.transaction():
            store.add_vertex_property(store.vertices["p"], "name", "ok")
            store.add_vertex_property(store.vertices["p"], "bad", object())
    assert store.vertices["p"].props == {}
    store = reopen(directory, store)
    assert store.vertices["p"].props == {}
    store.close()


def test_generated_ids_continue_past_the_largest_loaded_id(directory: Path) -> None:
    store = open_store(directory)
    with store.transaction():
        a = store.add_vertex("v")
        b = store.add_vertex("v", 500)
        store.add_vertex_property(a, "k", 1)
        store.add_edge("e", a, b, long(900))
    store = reopen(directory, store)
    with store.transaction():
        fresh = store.add_vertex("v")
    assert fresh.id > 900
    store.close()


def test_commits_after_close_fail_and_roll_back(directory: Path) -> None:
    store = open_store(directory)
    store.close()
    with pytest.raises(DurableStoreError, match="closed"):
        with store.transaction():
            store.add_vertex("v", "late")
    store = open_store(directory)
    assert "late" not in store.vertices
    store.close()


def test_close_checkpoints_the_wal(directory: Path) -> None:
    store = open_store(directory)
    build_every_shape(store)
    wal = directory / f"{DATABASE_NAME}-wal"
    assert wal.exists() and wal.stat().st_size > 0
    store.close()
    store.close()  # idempotent
    assert not wal.exists() or wal.stat().st_size == 0
    with sqlite3.connect(directory / DATABASE_NAME) as conn:  # the main file alone holds the graph
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("SELECT count(*) FROM vertices").fetchone()[0] == 4


@pytest.mark.parametrize("mode, level", [("NORMAL", 1), ("full", 2), ("EXTRA", 3)])
def test_synchronous_modes(directory: Path, mode: str, level: int) -> None:
    store = open_store(directory, synchronous=mode)
    assert store._connection().execute("PRAGMA synchronous").fetchone()[0] == level
    store.close()


def test_synchronous_rejects_unsafe_or_unknown_modes(directory: Path) -> None:
    with pytest.raises(DurableStoreError, match="synchronous"):
        open_store(directory, synchronous="OFF")


def test_an_unreadable_row_is_reported_when_read(directory: Path) -> None:
    store = open_store(directory)
    with store.transaction():
        store.add_vertex("v", "fine")
    store.close()
    with sqlite3.connect(directory / DATABASE_NAME) as conn:
        conn.execute("INSERT INTO vertices (rid, key, label, props) VALUES (7, 'x', 0, '[\"x\"')")
    store = open_store(directory)  # opening reads no element
    assert store.vertices["fine"].label == "v"
    for _ in range(2):  # the failure leaves nothing behind: the same error again
        with pytest.raises(DurableStoreError, match="the vertex row 7 .* cannot be read"):
            store.vertices.get("x")
    store.close()


# -- the directory lock --------------------------------------------------------------------------

def test_a_directory_opens_once_per_process(directory: Path) -> None:
    store = open_store(directory)
    with pytest.raises(GraphInUseError, match=f"graph directory {directory} is in use by another process"):
        open_store(directory)
    store.close()
    open_store(directory).close()  # free again once closed


@pytest.mark.integration
def test_a_second_process_cannot_open_a_directory_in_use(directory: Path) -> None:
    store = open_store(directory)
    probe = ("import sys; sys.path.insert(0, sys.argv[2]); from gremlin.durable import open_store\n"
             "try:\n    open_store(sys.argv[1])\nexcept Exception as e:\n    print(type(e).__name__, e)")
    result = subprocess.run([sys.executable, "-c", probe, str(directory), str(CHILD.parent.parent)],
                            capture_output=True, text=True, timeout=60)
    assert result.stdout.startswith(f"GraphInUseError graph directory {directory} is in use by another process")
    assert f"pid {os.getpid()}" in result.stdout
    store.close()


# -- crash safety ----------------------------------------------------------------------------------

@pytest.mark.integration
def test_every_acknowledged_commit_survives_kill_9(directory: Path) -> None:
    child = subprocess.Popen([sys.executable, str(CHILD), str(directory)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    acked: list[Any] = []
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "ready", child.stderr.read() if child.stderr else ""
        while len(acked) < 200:
            line = child.stdout.readline()
            assert line, f"child stopped early: {child.stderr.read() if child.stderr else ''}"
            acked.append(ast.literal_eval(line.split(" ", 1)[1]))
        os.kill(child.pid, signal.SIGKILL)  # mid-loop: it is committing the next transaction
        child.wait(timeout=60)
        # Lines already in the pipe were printed after their commits returned: acked too.
        acked.extend(ast.literal_eval(line.split(" ", 1)[1]) for line in child.stdout.read().splitlines())
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL

    store = open_store(directory)
    missing = [id for id in acked if id not in store.vertices]
    assert missing == []
    assert len(store.vertices) in (len(acked), len(acked) + 1)  # plus one committed but unacked
    assert_consistent(store)
    assert len(store.edges) == len(store.vertices) - 1
    for vertex in store.vertices.values():
        assert vertex.values_of("tags") == ("a",)
        assert store.vertex_properties(vertex, ("tags",))[0].meta == {"seen": vertex.values_of("n")[0]}
    store.close()


# -- through the engine ----------------------------------------------------------------------------

def test_a_file_url_graph_survives_forget_and_reconnect(directory: Path) -> None:
    import gremlin
    from gremlin_python.process.anonymous_traversal import traversal
    from gremlin_python.process.graph_traversal import __
    from gremlin_python.process.traversal import Cardinality, T

    url = f"file://{directory}"
    conn = gremlin.connect(url)
    g = traversal().with_remote(conn)
    when = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
    g.add_v("person").property(T.id, "p1").property("since", when).property("n", long(9)) \
        .property(Cardinality.list_, "email", "a@x").property(Cardinality.list_, "email", "b@x").iterate()
    g.add_v("person").property(T.id, "p2").iterate()
    g.V("p1").add_e("knows").to(__.V("p2")).property("w", 0.5).iterate()
    conn.close()
    gremlin.forget_graph(url)

    conn = gremlin.connect(url)
    g = traversal().with_remote(conn)
    values = g.V("p1").value_map().next()
    assert values["since"] == [when] and values["email"] == ["a@x", "b@x"]
    assert type(values["n"][0]) is long
    assert g.V("p1").out("knows").id_().to_list() == ["p2"]
    assert g.E().values("w").to_list() == [0.5]
    conn.close()
    gremlin.forget_graph(url)



@pytest.mark.parametrize("value", ["x", "é\u2028\"\\\n", 5, -2 ** 70, 1.5, 1e300, True, None, [], [1, [2.0, "a"]],
                                   {"long": 5}, {"map": [[1, {"set": [2]}]]}])
def test_the_codec_writes_what_its_json_encoder_writes(value):
    # codec's text comes from the C encoder made once (JSONEncoder.encode made it at every call)
    assert codec.dumps_encoded(value) == codec._ENCODER.encode(value)


@pytest.mark.parametrize("value", [float("nan"), [float("inf")], {1j: 2}, object()])
def test_the_codec_refuses_what_its_json_encoder_refuses(value):
    with pytest.raises((ValueError, TypeError)) as made_once:
        codec.dumps_encoded(value)
    with pytest.raises((ValueError, TypeError)) as made_each_time:
        codec._ENCODER.encode(value)
    assert str(made_once.value) == str(made_each_time.value)
