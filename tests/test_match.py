"""match(): TinkerPop's MatchStep semantics, the same assertions on every backend, the real
Gremlin Server included."""

from __future__ import annotations

from collections import Counter

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import Order, P
from gremlin_python.structure.graph import Vertex

import gremlin
from gremlin import GremlinError
from tests.test_engine import FAILURES, load_modern


@pytest.fixture
def modern(g):
    load_modern(g)
    return g


def ids(value):
    """Vertices as their ids, inside maps and lists too, for comparing results."""
    if isinstance(value, Vertex):
        return value.id
    if isinstance(value, dict):
        return {k: ids(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [ids(v) for v in value]
    return value


def bag(results) -> Counter:
    return Counter(tuple(sorted(ids(r).items())) for r in results)


def test_one_pattern_binds_start_and_end(modern):
    results = modern.V().match(__.as_("a").out("knows").as_("b")).to_list()
    assert bag(results) == bag([{"a": "1", "b": "2"}, {"a": "1", "b": "4"}])


def test_patterns_join_on_shared_variables_whatever_their_order(modern):
    expected = bag([{"a": "1", "b": "4", "c": "5"}, {"a": "1", "b": "4", "c": "3"}])
    assert bag(modern.V().match(__.as_("a").out("knows").as_("b"),
                                __.as_("b").out("created").as_("c")).to_list()) == expected
    # the start variable is the one no pattern ends in, even when it is not the first pattern's
    assert bag(modern.V().match(__.as_("b").out("created").as_("c"),
                                __.as_("a").out("knows").as_("b")).to_list()) == expected


def test_an_end_variable_already_bound_must_be_met_again(modern):
    # a created b, and someone who knows a also created b: only marko's co-creator josh
    results = modern.V().match(__.as_("a").out("created").as_("b"),
                               __.as_("a").in_("knows").out("created").as_("b")).to_list()
    assert bag(results) == bag([{"a": "4", "b": "3"}])


def test_a_join_compares_numbers_as_java_equals_does(modern):
    assert ids(modern.V().match(__.as_("a").values("age").as_("b"),
                                __.as_("a").constant(29).as_("b")).to_list()) == [{"a": "1", "b": 29}]
    # 29 and 29.0 are equal values in Gremlin but not equal() in Java, which the join uses
    assert modern.V().match(__.as_("a").values("age").as_("b"),
                            __.as_("a").constant(29.0).as_("b")).to_list() == []


def test_labels_already_on_the_path_are_bound_variables(modern):
    results = modern.V().as_("a").out().as_("b").match(__.as_("a").out().count().as_("c"),
                                                        __.as_("b").in_().count().as_("c")).to_list()
    assert ids(results) == [{"a": "1", "b": "3", "c": 3}]


def test_the_path_holds_each_pattern_start_and_the_bindings(modern):
    paths = modern.V("4").match(__.as_("a").out("created").has("name", "ripple").as_("b")).path().to_list()
    assert len(paths) == 1
    objects = paths[0].objects
    assert ids(objects[:3]) == ["4", "4", "5"] and ids(objects[3]) == {"a": "4", "b": "5"}
    assert [set(labels) for labels in paths[0].labels] == [{"a"}, set(), {"b"}, set()]


def test_select_reads_the_bindings_and_inner_labels(modern):
    assert sorted(modern.V().match(__.as_("a").out("knows").as_("b")).select("b").by("name").to_list()) \
        == ["josh", "vadas"]
    # a label inside a pattern is on the path, not in the bindings
    assert sorted(modern.V().match(__.as_("a").out("knows").as_("x").out("created").as_("b"))
                  .select("x").values("name").to_list()) == ["josh", "josh"]


def test_cyclic_patterns_start_from_a_fixed_variable(modern):
    # every variable is some pattern's end: the input binds the first in TinkerPop's order (a)
    results = modern.V("3").match(__.as_("a").in_().as_("b"), __.as_("b").out().as_("a")).to_list()
    assert bag(results) == bag([{"a": "3", "b": "1"}, {"a": "3", "b": "4"}, {"a": "3", "b": "6"}])


def test_where_after_match_is_one_more_pattern(modern):
    results = modern.V().match(__.as_("a").out("created").as_("b"), __.as_("b").in_("created").as_("c")) \
        .where("a", P.neq("c")).select("a", "c").by("name").to_list()
    assert Counter((r["a"], r["c"]) for r in results) == Counter(
        [("marko", "josh"), ("marko", "peter"), ("josh", "marko"), ("josh", "peter"),
         ("peter", "marko"), ("peter", "josh")])
    assert modern.V().match(__.as_("a").out("created").as_("b"),
                            __.where(__.as_("b").in_("created").count().is_(P.gt(1)))).count().next() == 3


def test_dedup_of_variables_keeps_one_solution_each(modern):
    results = modern.V().match(__.as_("a").out("created").as_("b"), __.as_("b").in_("created").as_("c")) \
        .dedup("a", "b").to_list()
    assert sorted((r["a"].id, r["b"].id) for r in results) == [("1", "3"), ("4", "3"), ("4", "5"), ("6", "3")]


def test_a_pattern_with_a_barrier_runs_per_traverser(modern):
    # limit() and order() are local to each a: TinkerPop wraps such a pattern in a flatMap
    results = modern.V().match(__.as_("a").out_e("created").order().by("weight", Order.desc).limit(1)
                               .in_v().as_("b")).select("a", "b").by("name").to_list()
    assert Counter((r["a"], r["b"]) for r in results) == Counter(
        [("marko", "lop"), ("josh", "ripple"), ("peter", "lop")])
    assert Counter(modern.V().match(__.as_("a").out().count().as_("n")).select("n").to_list()) \
        == Counter([3, 0, 0, 2, 0, 1])


def test_or_and_not_patterns(modern):
    knows_vadas_or_created_ripple = modern.V().match(
        __.as_("a").out("created").as_("b"),
        __.or_(__.as_("a").out("knows").has("name", "vadas"), __.as_("b").has("name", "ripple"))).to_list()
    assert bag(knows_vadas_or_created_ripple) == bag([{"a": "1", "b": "3"}, {"a": "4", "b": "5"}])
    # each or() branch that holds gives a solution of its own, as in TinkerPop
    both_branches = modern.V().match(__.as_("a").out("created").as_("b"),
                                     __.or_(__.as_("a").has("age", 29), __.as_("a").has("age", P.gt(0))))
    assert both_branches.count().next() == 5
    assert bag(modern.V().match(__.as_("a").out("created").as_("b"),
                                __.not_(__.as_("a").in_("knows"))).to_list()) \
        == bag([{"a": "1", "b": "3"}, {"a": "6", "b": "3"}])
    nested_and = modern.V().match(__.as_("a").out("created").as_("b"),
                                  __.and_(__.as_("a").has("age", P.gt(30)), __.as_("b").in_().as_("c")))
    assert nested_and.count().next() == 7  # josh: ripple (1), lop (3); peter: lop (3)


def test_a_has_pattern_on_the_start_variable_filters_before_the_match(modern):
    # TinkerPop's InlineFilterStrategy moves it out; with nothing left, match() goes too
    assert ids(modern.V().match(__.as_("a").has("name", "marko")).to_list()) == ["1"]
    assert sorted(ids(modern.V().match(__.as_("a").has("name", "marko"), __.as_("a").out("knows").as_("b"))
                      .select("b").to_list())) == ["2", "4"]


def test_a_match_inside_not_keeps_what_it_did_not_give(modern):
    # TinkerPop resets a child traversal per traverser, but not match()'s patterns: not() takes
    # marko's first solution, and vadas gets the one left over, so vadas is dropped as well
    assert sorted(modern.V().not_(__.match(__.as_("a").out("knows").as_("b"))).values("name").to_list()) \
        == ["josh", "lop", "peter", "ripple"]


def test_bulked_traversers_keep_their_bulk(modern):
    assert modern.V().out().barrier().match(__.as_("a").in_("created").as_("b")).count().next() == 10


REFUSED = [
    (lambda: [__.as_("a").out().as_("b"), __.as_("c").out().as_("d")], "pattern is unsolvable"),
    (lambda: [__.out().as_("b")], "must have a single start label"),
    (lambda: [__.as_("a").as_("b").out()], "must have a single start label"),
    (lambda: [__.as_("a").out().as_("b").as_("c")], "can have at most one label"),
]


@pytest.mark.parametrize("patterns", [patterns for patterns, _ in REFUSED])
def test_patterns_that_cannot_be_matched_are_refused(modern, patterns):
    with pytest.raises(FAILURES):
        modern.V().match(*patterns()).to_list()


@pytest.mark.parametrize("patterns, message", REFUSED)
def test_refusals_say_why(patterns, message):
    # (a Gremlin Server reports the last three from its bytecode translator, without the reason)
    local = traversal().with_remote(gremlin.connect("memory://"))
    local.add_v("x").as_("x").add_v("y").add_e("e").from_("x").iterate()
    with pytest.raises(GremlinError, match=message):
        local.V().match(*patterns()).to_list()


def test_the_neptune_profile_runs_match():
    # Neptune runs match() (outside its native engine), so the profile does not refuse it
    g = traversal().with_remote(gremlin.connect("memory://?profile=neptune"))
    load_modern(g)
    assert sorted(r["b"].id for r in g.V().match(__.as_("a").out("knows").as_("b")).to_list()) == ["2", "4"]
