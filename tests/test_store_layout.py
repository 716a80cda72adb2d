"""The store's compact record layout: PropertyTable, one record per single-valued key, labels
holding one edge without a dict, value indexes built on first lookup, and what a load shares."""

from __future__ import annotations

from pathlib import Path

import pytest

from gremlin.durable import open_store
from gremlin.errors import InvalidArgumentError
from gremlin.property_table import EMPTY, PropertyTable
from gremlin.storage import Store


def test_property_table_reads_like_a_dict() -> None:
    table = EMPTY.with_("name", "marko").with_("age", 29).with_("name", "josh")
    assert table == {"name": "josh", "age": 29} and table != {"name": "josh"}
    assert list(table) == ["name", "age"] and table.items() == [("name", "josh"), ("age", 29)]
    assert table["age"] == 29 and table.get("weight", 0.5) == 0.5 and len(table) == 2
    with pytest.raises(KeyError):
        table["weight"]
    assert table.without("name") == {"age": 29} and table.without("age").without("name") is EMPTY
    assert EMPTY.with_("a", 1) == PropertyTable.of({"a": 1}) and not EMPTY


def test_property_table_finds_a_key_that_is_also_a_value() -> None:
    table = EMPTY.with_("a", "b").with_("b", "a")
    assert table["b"] == "a" and table["a"] == "b"
    assert "b" in table and "c" not in table and table.with_("c", "b").get("c") == "b"
    assert table.without("b") == {"a": "b"}


def test_store_undoes_table_changes_exactly() -> None:
    store = Store()
    with store.transaction():
        a, b = store.add_vertex("v", "a"), store.add_vertex("v", "b")
        edge = store.add_edge("e", a, b, "ab")
        store.set_edge_property(edge, "w", 1)
        store.add_vertex_property(a, "name", "x")
        vp = store.vertex_properties(a, ("name",))[0]
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.set_edge_property(edge, "w", 2)
            store.set_edge_property(edge, "z", 3)
            store.remove_edge_property(edge, "w")
            store.set_meta_property(vp, "m", 1)
            store.add_vertex_property(a, "name", "y", "list")
            store.add_edge("e", a, b, "ab2")
            raise RuntimeError
    assert edge.props == {"w": 1} and vp.meta == {} and a.values_of("name") == ("x",)
    assert a.edges("out") == [edge] and b.edges("in", ("e",)) == [edge]


@pytest.mark.parametrize("count", [3, 20])  # held in a tuple, and in a dict
def test_a_label_s_edges_stay_in_order_as_they_come_and_go(count: int) -> None:
    store = Store()
    with store.transaction():
        a, b = store.add_vertex("v", "a"), store.add_vertex("v", "b")
        edges = [store.add_edge("e", a, b, str(n)) for n in range(count)]
        store.add_edge("f", b, a, "other")
        for edge in edges[1:]:
            store.remove_edge(edge)
        assert a.edges("out", ("e",)) == edges[:1] and b.edges("in") == edges[:1]
        later = store.add_edge("e", a, b, "later")
        assert a.edges("out", ("e",)) == [edges[0], later] and b.edges("in", ("e",)) == [edges[0], later]
        for edge in edges[:1] + [later]:
            store.remove_edge(edge)
    assert a.edges("out") == [] and a.out_edges == {} and b.in_edges == {}
    assert [edge.id for edge in a.edges("both")] == ["other"]


def test_a_value_index_is_built_by_its_first_lookup_and_kept_current() -> None:
    store = Store()
    with store.transaction():
        a = store.add_vertex("v", "a")
        store.add_vertex_property(a, "name", "x")
    assert store._index == {}  # nothing looked up yet: nothing indexed
    assert store.lookup("name", "x") == [a]
    with store.transaction():
        b = store.add_vertex("v", "b")
        store.add_vertex_property(b, "name", "x")
        store.add_vertex_property(a, "name", "y")  # single cardinality: replaces "x"
    assert store.lookup("name", "x") == [b] and store.lookup("name", "y") == [a]
    assert list(store._index) == ["name"]


@pytest.mark.parametrize("indexed", [False, True])
def test_replacing_single_values_is_undone_with_the_index(indexed: bool) -> None:
    store = Store()
    with store.transaction():
        a = store.add_vertex("v", "a")
        store.add_vertex_property(a, "name", "x", "list")
        store.add_vertex_property(a, "name", "y", "list")
    if indexed:
        assert store.lookup("name", "x") == [a]
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.add_vertex_property(a, "name", "x")  # single: replaces both, keeps "x"
            assert a.values_of("name") == ("x",)
            if indexed:
                assert store.lookup("name", "x") == [a] and store.lookup("name", "y") == []
            store.add_vertex_property(a, "name", "z")
            if indexed:
                assert store.lookup("name", "x") == [] and store.lookup("name", "z") == [a]
            raise RuntimeError
    assert a.values_of("name") == ("x", "y")
    assert store.lookup("name", "x") == [a] and store.lookup("name", "y") == [a]
    assert store.lookup("name", "z") == []


def test_first_properties_are_written_as_one_and_undone_with_the_index() -> None:
    store = Store()
    with store.transaction():
        store.add_vertex_property(store.add_vertex("v", "other"), "name", "x")
    assert store.lookup("name", "x") == [store.vertices["other"]]
    with pytest.raises(RuntimeError):
        with store.transaction():
            a, b = store.add_vertex("v", "a"), store.add_vertex("v", "b")
            store.add_first_vertex_properties(a, {"name": "x", "n": 1})
            edge = store.add_edge("e", a, b, "ab")
            store.add_first_edge_properties(edge, {"w": 1, "k": "v"})
            assert a.props.keys() == ["name", "n"] and edge.props == {"w": 1, "k": "v"}
            assert len(store.lookup("name", "x")) == 2
            raise RuntimeError
    assert store.lookup("name", "x") == [store.vertices["other"]] and "a" not in store.vertices
    with store.transaction():
        with pytest.raises(InvalidArgumentError):  # only a vertex without properties
            store.add_first_vertex_properties(store.vertices["other"], {"n": 1})
        with pytest.raises(InvalidArgumentError):
            store.add_first_vertex_properties(store.add_vertex("v", "c"), {"": 1})


def test_a_load_shares_repeated_strings(tmp_path: Path) -> None:
    store = open_store(tmp_path / "graph")
    with store.transaction():
        for name in ("a", "b"):
            vertex = store.add_vertex("v", name)
            store.add_vertex_property(vertex, "tenant", "acme-" + "corp")
    store.journal.close()
    store = open_store(tmp_path / "graph")
    a, b = (store.vertices[name].values_of("tenant")[0] for name in ("a", "b"))
    assert a == "acme-corp" and a is b
    store.journal.close()
