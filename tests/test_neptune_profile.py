"""The Neptune profile refuses what Amazon Neptune refuses, so code that passes here passes there."""

from __future__ import annotations

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import Cardinality, CardinalityValue, Direction, Merge, T

import gremlin
from gremlin import NeptuneProfileError, UnsupportedStepError


@pytest.fixture
def neptune():
    return traversal().with_remote(gremlin.connect("memory://?profile=neptune"))


def test_string_ids_only(neptune):
    with pytest.raises(NeptuneProfileError, match="string ids"):
        neptune.add_v("person").property(T.id, 1).iterate()
    neptune.add_v("person").property(T.id, "p1").iterate()
    assert neptune.V("p1").count().next() == 1


def test_generated_ids_are_uuid_strings(neptune):
    vertex = neptune.add_v("person").next()
    assert isinstance(vertex.id, str) and len(vertex.id) == 36


def test_default_cardinality_is_set(neptune):
    neptune.add_v("person").property(T.id, "p").property("email", "a").property("email", "b").iterate()
    assert sorted(neptune.V("p").values("email").to_list()) == ["a", "b"]
    neptune.V("p").property(Cardinality.single, "email", "c").iterate()
    assert neptune.V("p").values("email").to_list() == ["c"]


def test_list_cardinality_rejected(neptune):
    with pytest.raises(NeptuneProfileError, match="list cardinality"):
        neptune.add_v("person").property(Cardinality.list_, "tag", "x").iterate()


def test_meta_properties_rejected(neptune):
    with pytest.raises(NeptuneProfileError, match="meta-properties"):
        neptune.add_v("person").property(Cardinality.single, "name", "x", "since", 2020).iterate()


def test_vertex_property_ids_rejected(neptune):
    with pytest.raises(NeptuneProfileError, match="vertex property ids"):
        neptune.add_v("person").property(Cardinality.single, "name", "x", T.id, "p1").iterate()


@pytest.mark.parametrize("value", [{"a": 1}, [1, 2], {1, 2}])
def test_collection_values_rejected(neptune, value):
    with pytest.raises(NeptuneProfileError):
        neptune.add_v("person").property(Cardinality.single, "data", value).iterate()


def test_elements_are_references(neptune):
    neptune.add_v("person").property(T.id, "p").property("name", "x").iterate()
    vertex = neptune.V("p").next()
    assert vertex.properties == [] or vertex.properties is None


def test_lambdas_rejected_on_every_profile(neptune):
    t = neptune.V()
    t.bytecode.add_step("map", lambda: "it.get()")
    with pytest.raises(UnsupportedStepError, match="Lambdas"):
        t.to_list()


def test_tinkergraph_profile_allows_what_neptune_refuses():
    g = traversal().with_remote(gremlin.connect("memory://"))
    g.add_v("person").property(T.id, 1).property(Cardinality.list_, "tag", "x") \
        .property(Cardinality.list_, "tag", "x", "since", 2020).iterate()
    assert g.V(1).values("tag").to_list() == ["x", "x"]
    assert g.V(1).properties("tag").values("since").to_list() == [2020]
    assert g.V(1).out().add_e("self").to(__.V(1)).to_list() == []


def test_a_merge_creating_an_element_is_checked_as_property_would_be(neptune):
    # a merge's onCreate map is written as one table (steps_mutate._write_created_map): each value
    # still goes through the profile's check
    with pytest.raises(NeptuneProfileError, match="list cardinality"):
        neptune.merge_v({T.id: "p"}).option(Merge.on_create, {"tag": CardinalityValue.list_("x")}).iterate()
    with pytest.raises(NeptuneProfileError, match="list property values"):
        neptune.merge_v({T.id: "p"}).option(Merge.on_create, {"data": CardinalityValue.single([1, 2])}).iterate()
    with pytest.raises(NeptuneProfileError, match="dict property values"):
        neptune.add_v("person").property(T.id, "q").iterate()
        neptune.merge_e({T.label: "knows", Direction.OUT: "q", Direction.IN: "q", "data": {"a": 1}}).iterate()
    assert neptune.V("p").to_list() == [] and neptune.E().to_list() == []
    neptune.merge_v({T.id: "p"}).option(Merge.on_create, {"tag": CardinalityValue.set_("x"), "n": 1}).iterate()
    assert neptune.V("p").value_map().next() == {"tag": ["x"], "n": [1]}
