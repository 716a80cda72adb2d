"""The durable store served from disk (gremlin.disk_store): nothing loaded at open, a bounded
cache that keeps one record per element, reads that never write, a traversal that reads its own
unwritten changes, and format-1 directories converted on first open."""

from __future__ import annotations

import gc
import logging
import sqlite3
import weakref
from pathlib import Path

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import Cardinality, T
from gremlin_python.statics import long

import gremlin
from gremlin import codec
from gremlin.disk_rows import decode_edge_labels
from gremlin.disk_store import DiskStore
from gremlin.durable import DATABASE_NAME, WAL_CHECKPOINT_PAGES, DurableStoreError, open_store
from gremlin.storage import VertexPropertyRecord


def chain(store: DiskStore, count: int) -> None:
    """``count`` vertices v0..v(count-1), each with a property, and an edge from each to the next."""
    with store.transaction():
        previous = None
        for n in range(count):
            vertex = store.add_vertex("item", f"v{n}")
            store.add_vertex_property(vertex, "n", n)
            store.add_vertex_property(vertex, "blob", "x" * 200)
            if previous is not None:
                store.add_edge("next", previous, vertex, f"e{n}")
            previous = vertex


def reopened_chain(directory: Path, count: int) -> DiskStore:
    """A chain of ``count`` written, closed and opened again: nothing of it cached yet."""
    store = open_store(directory)
    chain(store, count)
    store.close()
    return open_store(directory)


def file_changes(directory: Path) -> tuple:
    """What a write would change: the database and WAL files' sizes and modification times."""
    return tuple((path.name, path.stat().st_size, path.stat().st_mtime_ns)
                 for path in sorted(directory.glob(DATABASE_NAME + "*")))


def test_opening_reads_no_element(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    chain(store, 300)
    store.close()
    store = open_store(tmp_path)
    assert store.cache_stats()["vertices_alive"] == 0 and store.cache_stats()["edges_alive"] == 0
    assert store.vertices["v7"].values_of("n") == (7,)
    assert store.cache_stats()["vertices_alive"] == 1
    store.close()


def test_the_cache_stays_within_its_budget_and_lets_records_go(tmp_path: Path) -> None:
    store = open_store(tmp_path, cache_mb=0.05)  # about 50 KB: a few dozen records
    chain(store, 400)
    store.close()
    store = open_store(tmp_path, cache_mb=0.05)
    with store.transaction():
        vertex = store.vertices["v0"]
        for _ in range(399):
            vertex = vertex.edges("out", ("next",))[0].in_v
    assert vertex.id == "v399"
    stats = store.cache_stats()
    budget = 0.05 * 2 ** 20
    assert stats["vertex_bytes"] + stats["edge_bytes"] <= budget and stats["evicted"] > 300
    del vertex
    gc.collect()
    assert store.cache_stats()["vertices_alive"] < 100  # what is not hot nor held is freed
    store.close()


def test_a_cached_record_costs_no_callback_object_of_its_own(tmp_path: Path) -> None:
    # every object a cached record brings is allocated when it is made and walked by the
    # collector until a freeze: the weak references share their cache's one callback
    store = reopened_chain(tmp_path, 50)
    with store.transaction():
        vertex = store.vertices["v0"]
        for _ in range(49):
            vertex = vertex.edges("out", ("next",))[0].in_v
    for cache in (store._vertices, store._edges):
        assert len(cache.refs) >= 49
        assert len({id(ref.__callback__) for ref in cache.refs.values()}) == 1
    store.close()


def test_a_hot_record_is_held_without_an_object_of_its_own(tmp_path: Path) -> None:
    # a (record, bytes) pair per hot record was one more object per cached record for the
    # collector to track and walk until a freeze; the bytes are kept apart, in plain ints
    store = reopened_chain(tmp_path, 5)
    vertex = store.vertices["v3"]
    gc.collect()
    assert [type(holder) for holder in gc.get_referrers(vertex) if type(holder) is tuple] == []
    assert store._vertices.estimate(store._vertices.rid_of("v3")) > 0
    store.close()


def test_equal_longs_read_from_rows_are_one_object(tmp_path: Path) -> None:
    # each gremlinpython long is an object the collector tracks while its record is cached: a
    # walk meets one event's time on an identifier and on its links, read as one object
    store = open_store(tmp_path)
    with store.transaction():
        a = store.add_vertex("item", "a")
        b = store.add_vertex("item", "b")
        store.add_vertex_property(a, "seen", long(1704069370443))
        store.add_vertex_property(b, "seen", long(1704069370443))
        edge = store.add_edge("link", a, b, "ab")
        store.set_edge_property(edge, "seen", long(1704069370443))
    store.close()
    store = open_store(tmp_path)
    first, second = store.vertices["a"].values_of("seen")[0], store.vertices["b"].values_of("seen")[0]
    assert type(first) is long and first == 1704069370443 and first is second
    assert store.edges["ab"].props["seen"] is first
    store.close()


def test_a_vertex_rows_labels_are_decoded_once_per_text_until_the_names_reload(tmp_path: Path) -> None:
    # most vertices share a few label sets: one decoded tuple each, dropped when the names are
    # read again (a failed transaction's numbers may then name another label)
    store = reopened_chain(tmp_path, 4)
    names = store._names
    text = store._connection().execute("SELECT edges FROM vertices WHERE key = 'v1'").fetchone()[0]
    first = decode_edge_labels(text, names)
    assert first == (("next",), ("next",)) and decode_edge_labels(text, names) is first
    names.load(store._connection())
    again = decode_edge_labels(text, names)
    assert again == first and again is not first
    store.close()


def test_one_record_per_element_while_anything_holds_it(tmp_path: Path) -> None:
    store = open_store(tmp_path, cache_mb=0.05)
    chain(store, 400)
    held = store.vertices["v0"]
    with store.transaction():
        for n in range(1, 400):  # pushes v0 out of the hot records
            store.vertices[f"v{n}"]
    assert store.vertices["v0"] is held
    ref = weakref.ref(held)
    del held
    for n in range(1, 400):
        store.vertices[f"v{n}"]
    assert ref() is None  # let go of: freed, not kept by the store
    again = store.vertices["v0"]
    assert again.values_of("n") == (0,) and again.edges("out")[0].out_v is again
    store.close()


def test_reading_never_writes(tmp_path: Path) -> None:
    url = tmp_path.as_uri()
    g = traversal().with_remote(gremlin.connect(url))
    g.add_v("person").property(T.id, "a").property("name", "x").property("age", 1) \
        .add_e("knows").to(__.add_v("person").property(T.id, "b")).iterate()
    before = file_changes(tmp_path)
    store = gremlin.open_graph(url).store
    changes = store._connection().total_changes
    ids = g.V("a").properties().id_().to_list()  # elements with ids: derived, not stored
    assert g.V().next().properties and g.V("a").out_e().in_v().id_().to_list() == ["b"]
    assert g.V().properties().id_().to_list()[:2] == ids and g.V().count().next() == 2
    assert store._connection().total_changes == changes and file_changes(tmp_path) == before
    gremlin.forget_graph(url)


def test_vertex_property_ids_are_stable_and_new_for_a_new_value(tmp_path: Path) -> None:
    url = tmp_path.as_uri()
    g = traversal().with_remote(gremlin.connect(url))
    g.add_v("person").property(T.id, "a").property("name", "x").property("age", 1).iterate()
    g.add_v("person").property(T.id, "b").property("name", "x").iterate()
    named, age = g.V("a").properties("name", "age").id_().to_list()
    assert len({named, age, g.V("b").properties("name").id_().next()}) == 3  # per vertex, key and value
    gremlin.forget_graph(url)
    g = traversal().with_remote(gremlin.connect(url))
    assert g.V("a").properties().id_().to_list() == [named, age]
    g.V("a").property(Cardinality.single, "name", "y").iterate()
    assert g.V("a").properties("name").id_().next() not in (named, age)
    g.V("a").properties("age").property("since", 2020).iterate()  # meta-properties: kept as a record
    assert g.V("a").properties("age").id_().next() == age
    gremlin.forget_graph(url)
    g = traversal().with_remote(gremlin.connect(url))
    assert g.V("a").properties("age").id_().next() == age
    assert g.V("a").properties("age").values("since").to_list() == [2020]
    gremlin.forget_graph(url)


def test_a_traversal_reads_its_own_unwritten_changes_and_a_failure_undoes_them(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    chain(store, 3)
    store.close()
    store = open_store(tmp_path)
    with pytest.raises(RuntimeError):
        with store.transaction():
            v0, v2 = store.vertices["v0"], store.vertices["v2"]
            added = store.add_edge("next", v2, v0, "back")
            store.remove_edge(store.edges["e1"])
            # v0's edges were never read: read now from the file, with the new edge written first
            assert [e.id for e in v0.edges("in")] == ["back"] and store.vertices["v1"].edges("in") == []
            assert [e.id for e in store.scan_edges()] == ["e2", "back"]
            assert added.out_v is v2
            raise RuntimeError
    assert [e.id for e in store.vertices["v0"].edges("both")] == ["e1"]
    assert [e.id for e in store.vertices["v1"].edges("in")] == ["e1"] and "back" not in store.edges
    store.close()
    store = open_store(tmp_path)
    assert [e.id for e in store.scan_edges()] == ["e1", "e2"]
    store.close()


def test_edges_of_a_label_a_vertex_has_none_of_are_not_read_from_the_file(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    chain(store, 3)
    store.close()
    store = open_store(tmp_path)
    v0, v1 = store.vertices["v0"], store.vertices["v1"]
    statements: list[str] = []
    store._connection().set_trace_callback(statements.append)
    assert v1.edges("both", ("nolink",)) == [] and v0.edges("in") == [] and statements == []
    assert [e.id for e in v1.edges("out", ("next",))] == ["e2"] and len(statements) == 2  # the edge, its far end
    assert [e.id for e in v1.edges("out", ("next",))] == ["e2"] and len(statements) == 2  # kept
    with store.transaction():  # a first edge of a label on a side: the vertex's row says so
        store.add_edge("nolink", v0, v1, "n01")
    store.close()
    store = open_store(tmp_path)
    assert store.vertices["v0"].out_edges.labels == (("next", "nolink"), ())
    assert [e.id for e in store.vertices["v1"].edges("in", ("nolink",))] == ["n01"]
    store.close()


def test_a_vertex_row_names_its_edge_labels_after_a_failed_transaction_numbered_one(tmp_path: Path) -> None:
    # a vertex row's edges column is kept as text while its labels stay the same: a label
    # numbered by a transaction that failed after writing it must not stay in that text (its
    # number goes to the next new name)
    store = open_store(tmp_path)
    chain(store, 2)
    with pytest.raises(RuntimeError):
        with store.transaction():
            v0, v1 = store.vertices["v0"], store.vertices["v1"]
            store.add_edge("alpha", v0, v1, "a01")
            store.add_vertex_property(v0, "n", 10)
            assert [e.id for e in store.scan_edges()] == ["e1", "a01"]  # written, in the transaction
            raise RuntimeError
    with store.transaction():
        v0, v1 = store.vertices["v0"], store.vertices["v1"]
        store.add_vertex("beta", "b")  # takes alpha's number
        store.add_vertex_property(v0, "n", 11)
    with store.transaction():
        store.add_edge("gamma", v1, v0, "g10")
        store.add_vertex_property(v0, "n", 12)
    store.close()
    store = open_store(tmp_path)
    assert store.vertices["v0"].out_edges.labels == (("next",), ("gamma",))
    assert store.vertices["v0"].values_of("n") == (12,) and store.vertices["v0"].edges("out", ("alpha",)) == []
    assert [e.id for e in store.vertices["v0"].edges("both")] == ["e1", "g10"]
    store.close()


def test_the_wal_is_folded_into_the_file_every_wal_checkpoint_pages(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    assert store._connection().execute("PRAGMA wal_autocheckpoint").fetchone()[0] == WAL_CHECKPOINT_PAGES
    store.close()


def test_a_scan_meets_what_was_there_when_it_started(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    chain(store, 600)  # more than one chunk
    with store.transaction():
        met = []
        for vertex in store.scan_vertices():
            met.append(vertex.id)
            if vertex.id == "v1":
                store.remove_vertex(store.vertices["v2"])
                store.add_vertex("item", "late")
    assert met == ["v0", "v1"] + [f"v{n}" for n in range(3, 600)]
    assert "late" in store.vertices and len(store.vertices) == 600
    store.close()


def test_vertices_holding_records_are_freed_once_let_go(tmp_path: Path) -> None:
    store = open_store(tmp_path, cache_mb=0.05)
    chain(store, 400)
    with store.transaction():
        first = store.vertices["v0"]
        assert all(type(vp) is VertexPropertyRecord for vp in store.vertex_properties(first))
        ref = weakref.ref(first)
        del first
        for n in range(1, 400):
            store.vertices[f"v{n}"]  # pushes v0 out while this transaction runs
    assert ref() is None  # its vertex property records no longer hold it in a cycle
    store.close()


# -- format 1 --------------------------------------------------------------------------------------

FORMAT_1_VERTICES = [
    ("alice", ["alice", "person", [["name", None, "Alice"], ["email", 17, "a@x", ["verified", True]],
                                   ["email", 18, "b@x"], ["seen", None, {"long": 5}]]]),
    ("42", [{"long": 42}, "values", [["n", None, 1]]]),
    ("7", [7, "device", []]),
]
FORMAT_1_EDGES = [
    ("\"e1\"", ["e1", "knows", "alice", {"long": 42}, ["w", 0.5]]),
    ("3", [3, "uses", "alice", 7, []]),
]


def write_format_1(directory: Path, edges: list = FORMAT_1_EDGES) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(directory / DATABASE_NAME) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript("CREATE TABLE vertices (key TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL);"
                           "CREATE TABLE edges (key TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL);"
                           "PRAGMA user_version = 1;")
        for table, rows in (("vertices", FORMAT_1_VERTICES), ("edges", edges)):
            conn.executemany(f"INSERT INTO {table} (key, body) VALUES (?, ?)",
                             [(key, codec.dumps_encoded(body)) for key, body in rows])
    conn.close()


def test_a_format_1_directory_is_converted_on_first_open_with_nothing_lost(tmp_path: Path, caplog) -> None:
    write_format_1(tmp_path)
    with caplog.at_level(logging.WARNING, logger="gremlin.durable"):
        store = open_store(tmp_path)
    assert "from format 1 to format 2 (once): 3 vertices, 2 edges" in caplog.text and "converted" in caplog.text
    assert [v.id for v in store.scan_vertices()] == ["alice", 42, 7]
    assert type(store.vertices[42].id) is long and type(store.vertices[7].id) is int
    alice = store.vertices["alice"]
    assert alice.label == "person" and alice.values_of("email") == ("a@x", "b@x")
    assert type(alice.values_of("seen")[0]) is long
    emails = store.vertex_properties(alice, ("email",))
    assert [vp.id for vp in emails] == [17, 18] and emails[0].meta == {"verified": True}
    assert [(e.id, e.label, e.out_v.id, e.in_v.id, dict(e.props)) for e in store.scan_edges()] == [
        ("e1", "knows", "alice", 42, {"w": 0.5}), (3, "uses", "alice", 7, {})]
    assert [e.id for e in alice.edges("out", ("uses",))] == [3]
    assert alice.out_edges.labels == (("knows", "uses"), ()) and store.vertices[7].out_edges.labels == ((), ("uses",))
    with store.transaction():
        assert store.add_vertex("v").id == 43  # generated ids go on past every id stored
    store.close()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="gremlin.durable"):
        store = open_store(tmp_path)
    assert caplog.text == "" and len(store.vertices) == 4
    store.close()


def test_a_conversion_that_fails_leaves_the_format_1_file_as_it_was(tmp_path: Path) -> None:
    write_format_1(tmp_path, FORMAT_1_EDGES + [("9", [9, "uses", "alice", "nobody", []])])
    for _ in range(2):  # the lock is released: the second attempt fails the same way
        with pytest.raises(DurableStoreError, match="edge row 9 cannot be converted"):
            open_store(tmp_path)
    with sqlite3.connect(tmp_path / DATABASE_NAME) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM vertices").fetchone()[0] == 3
        assert conn.execute("SELECT count(*) FROM edges").fetchone()[0] == 3
    conn.close()


def test_the_cache_size_comes_from_the_url_and_is_checked(tmp_path: Path) -> None:
    url = (tmp_path / "a").as_uri() + "?cache_mb=8&synchronous=full"
    store = gremlin.open_graph(url).store
    assert store.cache_mb == 8 and store._connection().execute("PRAGMA cache_size").fetchone()[0] == -2048
    gremlin.forget_graph(url)
    for bad in ("0", "-3", "lots"):
        with pytest.raises(DurableStoreError, match="cache_mb"):
            gremlin.open_graph((tmp_path / "b").as_uri() + f"?cache_mb={bad}")
    open_store(tmp_path / "b").close()  # the failures released the directory


# -- value indexes -----------------------------------------------------------------------------------

def named(store: DiskStore, count: int) -> list:
    with store.transaction():
        return [store.add_vertex("v", f"v{n}") for n in range(count)]


def test_a_value_index_is_built_by_its_first_lookup_kept_in_the_file_and_current(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    vertices = named(store, 3)
    with store.transaction():
        for vertex, value in zip(vertices, ("x", 29, True)):
            store.add_vertex_property(vertex, "name", value)
    assert [v.id for v in store.lookup("name", "x")] == ["v0"]
    assert [v.id for v in store.lookup("name", 29.0)] == ["v1"] and store.lookup("name", long(29))[0].id == "v1"
    assert [v.id for v in store.lookup("name", True)] == ["v2"] and store.lookup("name", 1) == []
    with store.transaction():
        store.add_vertex_property(store.vertices["v0"], "name", "y")  # replaces "x"
        store.add_first_vertex_properties(store.add_vertex("v", "v3"), {"name": "x"})
        store.remove_vertex(store.vertices["v1"])
    assert [v.id for v in store.lookup("name", "x")] == ["v3"] and store.lookup("name", 29) == []
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.add_vertex_property(store.vertices["v3"], "name", "z")
            assert store.lookup("name", "z")[0].id == "v3" and store.lookup("name", "x") == []
            raise RuntimeError
    assert [v.id for v in store.lookup("name", "x")] == ["v3"] and store.lookup("name", "z") == []
    store.close()
    store = open_store(tmp_path)
    statements: list[str] = []
    store._connection().set_trace_callback(statements.append)
    assert [v.id for v in store.lookup("name", "y")] == ["v0"]  # from the file: no scan again
    assert not any("FROM vertices WHERE rid >" in statement for statement in statements)
    store.close()


def test_an_index_that_narrows_nothing_is_not_kept_and_a_failed_first_lookup_keeps_none(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    vertices = named(store, 1000)
    with store.transaction():
        for n, vertex in enumerate(vertices):
            store.add_first_vertex_properties(vertex, {"tenant": "acme" if n else "globex", "n": n})
    assert store.lookup("tenant", "globex") is None and store.lookup("tenant", "acme") is None  # callers scan
    with pytest.raises(RuntimeError):
        with store.transaction():
            assert [v.id for v in store.lookup("n", 7)] == ["v7"]  # built inside a traversal that fails
            raise RuntimeError
    assert store._indexed == {}  # and with it the index
    store.close()
    store = open_store(tmp_path)
    assert "tenant" in store._unselective and store.lookup("tenant", "acme") is None
    g = traversal().with_remote(gremlin.remote.LocalRemoteConnection(gremlin.Graph(store)))
    assert g.V().has("n", 7).id_().to_list() == ["v7"] and g.V().has("n", 7.0).count().next() == 1
    assert list(store._indexed) == ["n"]  # V().has() looked it up
    store.close()


def test_a_customer_id_resolve_reads_the_cid_index_not_the_whole_graph(tmp_path: Path) -> None:
    from identity import IdentityGraph
    url = tmp_path.as_uri()
    identity = IdentityGraph(traversal().with_remote(gremlin.connect(url)), "acme")
    results = identity.ingest([{"event_id": f"e{n}", "type": "login", "identifiers": [
        {"type": "email", "value": f"p{n}@example.com"}, {"type": "phone", "value": f"+1 415 555 {n:04d}"}]}
        for n in range(20)])
    customer = results[7].customer_id
    assert identity.resolve("customer", customer).customer_id == customer  # builds the index: a scan
    store = gremlin.open_graph(url).store
    statements: list[str] = []
    store._connection().set_trace_callback(statements.append)
    resolved = identity.resolve("customer", customer)
    assert resolved.customer_id == customer and sorted(resolved.identifiers) == ["email", "phone"]
    assert any("FROM value_index" in statement for statement in statements)
    assert not any("FROM vertices WHERE rid >" in statement for statement in statements)  # no scan
    gremlin.forget_graph(url)


def test_loaded_edges_holding_one_same_property_share_its_table_as_written_ones_do(tmp_path: Path) -> None:
    store = open_store(tmp_path)
    with store.transaction():
        a, b = store.add_vertex("v", "a"), store.add_vertex("v", "b")
        for name in ("1", "2"):
            store.add_first_edge_properties(store.add_edge("e", a, b, name), {"tenant": "acme"})
    store.close()
    store = open_store(tmp_path)
    first, second = store.edges["1"], store.edges["2"]  # made from their rows
    assert first.props == {"tenant": "acme"} and first.props is second.props
    with store.transaction():
        store.set_edge_property(store.add_edge("e", first.out_v, first.in_v, "3"), "tenant", "acme")
    assert store.edges["3"].props is first.props
    store.close()


def counted_reads(store: DiskStore) -> list:
    """The store's reads of its file from now on, counted where benchmarks/walk_cost.py counts
    them (DiskStore._read: every query goes through it)."""
    reads: list = []
    read = store._read

    def counting(sql: str, params: object = ()) -> list:
        reads.append(sql)
        return read(sql, params)
    store._read = counting  # type: ignore[method-assign]
    return reads


def test_a_warm_resolve_reads_nothing_from_the_file(tmp_path: Path) -> None:
    # a neighbourhood walked once is walked again from the cache: each vertex keeps its edges
    # per direction and label (an empty list too), and its row's labels answer for the others
    from identity import IdentityGraph
    url = tmp_path.as_uri()
    identity = IdentityGraph(traversal().with_remote(gremlin.connect(url)), "acme")
    identity.ingest([{"event_id": f"e{n}", "type": "login", "identifiers": [
        {"type": "email", "value": f"p{n // 3}@example.com"}, {"type": "phone", "value": f"+1 415 555 {n:04d}"}]}
        for n in range(30)])
    gremlin.forget_graph(url)
    identity = IdentityGraph(traversal().with_remote(gremlin.connect(url)), "acme")
    store = gremlin.open_graph(url).store
    reads = counted_reads(store)
    first = [identity.resolve("email", f"p{n}@example.com", max_hops=3) for n in range(10)]
    assert reads  # cold: the rows are read
    reads.clear()
    again = [identity.resolve("email", f"p{n}@example.com", max_hops=3) for n in range(10)]
    assert again == first and reads == []
    gremlin.forget_graph(url)


def test_walks_whose_records_fit_the_cache_are_walked_again_without_a_read(tmp_path: Path) -> None:
    # a walk makes more edge records than vertex records (identity's graph: 2.4 edges a vertex,
    # 54% of a neighbourhood's bytes): the budget is split so, or edges would be let go, and read
    # again, while most of the vertices' share lay unused
    store = open_store(tmp_path)
    with store.transaction():
        hubs = [store.add_vertex("person", f"v{n}") for n in range(60)]
        for n, vertex in enumerate(hubs):
            for k in range(1, 5):
                edge = store.add_edge("link", vertex, hubs[(n + k) % len(hubs)], f"e{n}-{k}")
                store.set_edge_property(edge, "evidence", "x" * 100)
    store.close()
    store = open_store(tmp_path, cache_mb=0.5)

    def walk() -> None:
        for n in range(60):
            for edge in store.vertices[f"v{n}"].edges("out", ("link",)):
                assert edge.in_v.id
    walk()
    stats = store.cache_stats()
    assert stats["vertex_bytes"] + stats["edge_bytes"] < 0.5 * 2 ** 20 * 3 // 4  # it all fits the records' share
    reads = counted_reads(store)
    walk()
    assert reads == [] and store.cache_stats()["evicted"] == 0
    store.close()


def test_several_ids_not_cached_are_read_in_one_query_and_the_absent_remembered(tmp_path: Path) -> None:
    # ingest's write asks for every element it creates (it must fail on one that exists): one
    # query for all of a V(ids)/E(ids), where each id was a read
    store = open_store(tmp_path)
    chain(store, 20)
    store.close()
    url = tmp_path.as_uri()
    g = traversal().with_remote(gremlin.connect(url))
    reads = counted_reads(gremlin.open_graph(url).store)
    assert g.V("v3", "new1", "v7", "v3", "new2").id_().to_list() == ["v3", "v7", "v3"]
    assert g.E("e5", "new1", "e9").id_().to_list() == ["e5", "e9"]
    assert len(reads) == 3  # the vertices, the edges, the edges' ends
    reads.clear()
    assert g.V("new1", "new2", "v7").to_list()[0].id == "v7" and g.E("new1", "e5").count().next() == 1
    assert reads == []  # found before, or known absent
    # an id that exists in the file, read among others, fails a create as one read alone does
    with pytest.raises(Exception, match="already exists"):
        g.V("v11", "new3").fold().add_v("item").property(T.id, "new3").add_v("item").property(T.id, "v11").iterate()
    assert g.V("new3").to_list() == [] and g.V("v11").values("n").to_list() == [11]
    # an id no element can have (unhashable) among them: each is looked up alone, as before
    store = gremlin.open_graph(url).store
    reads.clear()
    store.read_ids("V", [["v12"], "v13", "v14"])
    assert len(reads) == 0 and store.vertices.get(["v12"]) is None and store.vertices["v13"].id == "v13"
    gremlin.forget_graph(url)
    store = open_store(tmp_path)
    assert [v.id for v in store.scan_vertices()] == [f"v{n}" for n in range(20)]
    store.close()
