"""What a write does stays as TinkerGraph does it while its path is cut: ``V(ids)``/``E(ids)`` of
several ids (on a file, read in one query: gremlin/disk_store.py ``read_ids``), explicit ids that
exist failing the traversal, and a write's arguments used as they came (gremlin/engine/compiler.py).
The durable store's counts of reads are in tests/test_disk_store.py."""

from __future__ import annotations

import copy
from decimal import Decimal

import pytest
from gremlin_python.process.graph_traversal import GraphTraversal, __
from gremlin_python.process.strategies import PartitionStrategy
from gremlin_python.process.traversal import Cardinality, CardinalityValue, Direction, Merge, T
from gremlin_python.statics import BigDecimal

from gremlin.engine.base import Traversal
from gremlin.engine.compiler import convert_argument


def _items(g, *ids: str) -> None:
    for id in ids:
        g.add_v("item").property(T.id, id).property("n", id).iterate()


def test_several_ids_find_what_exists_in_the_order_asked_repeats_included(g):
    _items(g, "a", "b", "c")
    g.V("a").add_e("next").to(__.V("b")).property(T.id, "ab").iterate()
    g.V("b").add_e("next").to(__.V("c")).property(T.id, "bc").iterate()
    assert g.V("c", "none", "a", "a", "b").id_().to_list() == ["c", "a", "a", "b"]
    assert g.E("bc", "none", "ab").id_().to_list() == ["bc", "ab"]
    assert g.V("none", "nothing").to_list() == [] and g.E("none", "nothing").to_list() == []
    assert g.V("a", "none").values("n").to_list() == ["a"]  # asked again: the same answer


def test_ids_asked_for_and_absent_are_found_once_created_in_the_same_traversal(g):
    _items(g, "a")
    created = g.V("x", "y", "a").fold().add_v("item").property(T.id, "x").V("x", "y", "a").id_().to_list()
    assert created == ["x", "a"]
    assert g.V("x", "y").id_().to_list() == ["x"]


def test_add_e_from_a_label_to_a_vertex_sent_as_data_resolves_it_by_id(g):
    """Ingest's observed edges: addE() with no to() goes to the traverser's vertex, which may be a
    reference sent in the bytecode (a vertex of id and label only): TinkerPop attaches it to the
    graph's vertex of that id, and fails the traversal when there is none."""
    from gremlin_python.structure.graph import Vertex
    _items(g, "a", "b")
    g.inject(0).add_v("item").property(T.id, "n").as_("new").constant([Vertex("a", "item"), Vertex("b", "item")]) \
        .unfold().add_e("saw").from_("new").iterate()
    assert sorted(g.V("n").out("saw").values("n").to_list()) == ["a", "b"]
    with pytest.raises(Exception):
        g.inject(0).add_v("item").property(T.id, "m").as_("new").constant([Vertex("none", "item")]) \
            .unfold().add_e("saw").from_("new").iterate()
    assert g.V("none").to_list() == [] and g.V("m").out("saw").to_list() == []


def test_an_element_dropped_earlier_in_the_traversal_is_not_found_by_several_ids(g):
    _items(g, "a", "b", "c")
    assert g.inject(0).side_effect(__.V("b").drop()).V("a", "b", "c").id_().to_list() == ["a", "c"]
    assert g.V("a", "b", "c").id_().to_list() == ["a", "c"]


@pytest.mark.transactions
def test_an_explicit_id_that_exists_fails_the_traversal_across_traversals_and_within_one(g):
    _items(g, "a", "b")
    g.V("a").add_e("next").to(__.V("b")).property(T.id, "ab").iterate()
    # across traversals: the id asked for among others first (one read on a file), then created
    with pytest.raises(Exception, match="already exists"):
        g.V("q", "a", "r").fold().add_v("item").property(T.id, "new").add_v("item").property(T.id, "a").iterate()
    with pytest.raises(Exception, match="already exists"):
        g.E("q", "ab").fold().V("b").add_e("next").to(__.V("a")).property(T.id, "ab").iterate()
    # within one: the second create of an id the first made
    with pytest.raises(Exception, match="already exists"):
        g.V("z", "w").fold().add_v("item").property(T.id, "z").add_v("item").property(T.id, "z").iterate()
    # each failed traversal wrote nothing: not its first vertex, nor a change to what existed
    assert g.V("new", "z", "w").to_list() == []
    assert sorted(g.V().id_().to_list()) == ["a", "b"] and g.E().id_().to_list() == ["ab"]
    assert g.V("a").values("n").to_list() == ["a"] and g.E("ab").out_v().id_().to_list() == ["a"]
    # what the failures asked for and did not keep can be created afterwards
    g.add_v("item").property(T.id, "z").iterate()
    assert g.V("new", "z", "w").id_().to_list() == ["z"]


@pytest.mark.transactions
def test_a_create_row_whose_element_exists_fails_the_whole_write(g):
    # the identity service's create idiom (identity.domain.writes.created_vertices): mergeV of
    # each row, onMatch fail(); one existing row fails every row's write
    _items(g, "b")
    rows = [{"search": {T.id: id, T.label: "item"}, "create": {"n": CardinalityValue.single(id)}}
            for id in ("a", "b", "c")]
    with pytest.raises(Exception, match="exists"):
        (g.inject(0).constant(rows).unfold().merge_v(__.select("search"))
         .option(Merge.on_create, __.select("create")).option(Merge.on_match, __.fail("exists")).iterate())
    assert g.V().id_().to_list() == ["b"] and g.V("b").values("n").to_list() == ["b"]
    del rows[1]
    (g.inject(0).constant(rows).unfold().merge_v(__.select("search"))
     .option(Merge.on_create, __.select("create")).option(Merge.on_match, __.fail("exists")).iterate())
    assert sorted(g.V("a", "b", "c").values("n").to_list()) == ["a", "b", "c"]


def test_arguments_with_nothing_to_convert_are_used_as_they_came():
    rows = [{"search": {T.id: "a", T.label: "item"}, "create": {"n": CardinalityValue.single(1), "m": 2.5}},
            {"search": {T.id: "b", T.label: "item"}, "create": {"n": None}}]
    assert convert_argument(rows) is rows and convert_argument(rows[0]) is rows[0]


def test_arguments_that_convert_are_copied_from_the_first_changed_item_in_order():
    child = __.constant(2)
    row = {"a": 1, "b": child, "c": [3, BigDecimal(1, 5)]}
    before = copy.deepcopy(row["c"])
    converted = convert_argument(row)
    assert converted is not row and list(converted) == ["a", "b", "c"] and converted["a"] == 1
    assert isinstance(converted["b"], Traversal) and converted["c"] == [3, Decimal("0.5")]
    assert row["b"] is child and [type(v) for v in row["c"]] == [type(v) for v in before]  # the caller's untouched
    listed = convert_argument([1, "x", child, 4])
    assert listed[:2] == [1, "x"] and isinstance(listed[2], Traversal) and listed[3] == 4


def test_a_write_sent_twice_writes_the_same_and_its_arguments_are_unchanged(g):
    rows = [{"search": {T.id: f"v{n}", T.label: "item"},
             "create": {"n": CardinalityValue.single(n), "tag": "x"}} for n in range(3)]
    kept = copy.deepcopy(rows)
    write = (g.inject(0).constant(rows).unfold().merge_v(__.select("search"))
             .option(Merge.on_create, __.select("create")).option(Merge.on_match, {"seen": True}, Cardinality.single))
    write.iterate()
    assert repr(rows) == repr(kept)  # (a CardinalityValue has no ==: its text shows its value)
    GraphTraversal(g.graph, g.traversal_strategies, write.bytecode).iterate()  # sent again, as a retry does
    assert repr(rows) == repr(kept)  # (a CardinalityValue has no ==: its text shows its value)
    assert sorted(g.V().has("seen", True).id_().to_list()) == ["v0", "v1", "v2"]
    assert g.V("v1").values("n").to_list() == [1]


def test_a_merge_creates_its_element_with_its_maps_properties_as_property_would(g):
    # the plain rows a merge creates are written as one table (steps_mutate._write_created_map);
    # a partition to write, a null or a cardinality an edge refuses take property()'s path
    (g.merge_v({T.id: "a", T.label: "item", "n": 1})
     .option(Merge.on_create, {"s": CardinalityValue.single("x"), "l": CardinalityValue.list_("y"), "f": 2.5})
     .iterate())
    g.add_v("item").property(T.id, "b").iterate()
    (g.merge_e({T.id: "ab", T.label: "next", Direction.OUT: "a", Direction.IN: "b"})
     .option(Merge.on_create, {"w": 3, "t": "u"}).iterate())
    assert g.V("a").value_map().next() == {"n": [1], "s": ["x"], "l": ["y"], "f": [2.5]}
    assert g.E("ab").value_map().next() == {"w": 3, "t": "u"}
    with pytest.raises(Exception):
        (g.merge_e({T.label: "next", Direction.OUT: "b", Direction.IN: "a"})
         .option(Merge.on_create, {"w": CardinalityValue.list_(3)}).iterate())


def test_a_merge_in_a_partition_creates_its_element_in_it(g):
    parted = g.with_strategies(PartitionStrategy(partition_key="_p", write_partition="one", read_partitions=["one"]))
    parted.merge_v({T.id: "a", T.label: "item"}).option(Merge.on_create, {"n": 1}).iterate()
    parted.merge_v({T.id: "b", T.label: "item"}).iterate()
    parted.merge_e({T.label: "next", Direction.OUT: "a", Direction.IN: "b"}).option(Merge.on_create, {"w": 2}).iterate()
    assert g.V("a").value_map().next() == {"n": [1], "_p": ["one"]}
    assert g.E().value_map().next() == {"w": 2, "_p": "one"}


def test_a_single_value_built_as_it_is_is_gremlinpythons_and_is_written_as_it():
    """writes.single skips gremlinpython's argument copy for plain values; what it builds is
    CardinalityValue.single's object, encoded to the same bytes by both GraphBinary writers."""
    from gremlin_python.statics import long
    from gremlin_python.structure.io.graphbinaryV1 import GraphBinaryWriter

    from gremlin.fast_writer import FastWriter
    from identity.domain import writes
    for value in ("x", 3, long(1 << 40), 2.5, True, [1, "y"], {"k": 1}):
        built, stock = writes.single(value), CardinalityValue.single(value)
        assert type(built) is CardinalityValue and built == stock and built.bindings == stock.bindings
        row = {"search": {T.id: "a"}, "create": {"p": built}}
        stock_row = {"search": {T.id: "a"}, "create": {"p": stock}}
        assert FastWriter().write_object(row) == GraphBinaryWriter().write_object(stock_row)


def test_a_merge_writes_single_values_built_as_they_are(g):
    from identity.domain import writes
    rows = [{"search": {T.id: f"v{n}", T.label: "item"},
             "create": {"n": writes.single(n), "s": writes.single("x"), "b": writes.single(False)}} for n in range(2)]
    g.inject(0).constant(rows).unfold().merge_v(__.select("search")).option(Merge.on_create, __.select("create")).iterate()
    assert g.V("v1").value_map().next() == {"n": [1], "s": ["x"], "b": [False]}
