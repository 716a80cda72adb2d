"""call() and the service registry: TinkerGraph's services on every backend (a real Gremlin
Server too, when it is configured with them: the stock server the tests start is not, so they
skip there), and the registry's execution types with services registered here."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Iterable

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import Direction

from gremlin import GremlinError, Graph, NeptuneProfileError
from gremlin.engine import Service, ServiceRegistry
from gremlin.engine.services import BARRIER, START, STREAMING, DegreeCentrality
from gremlin.engine.traverser import Traverser
from gremlin.remote import LocalRemoteConnection
from tests.test_engine import FAILURES, load_modern

TINKER_SERVICES = ["tinker.search", "tinker.degree.centrality"]


@pytest.fixture
def modern(g):
    """The modern graph on a backend that has TinkerGraph's services (a Gremlin Server needs
    TinkerPop's test configuration: gremlin.tinkergraph.service=... in its graph properties)."""
    if sorted(g.call().to_list()) != sorted(TINKER_SERVICES):
        pytest.skip("this Gremlin Server does not register TinkerGraph's tinker.* services")
    load_modern(g)
    return g


def names(vertices) -> list[str]:
    return sorted(v.id for v in vertices)


def test_call_without_a_name_lists_the_services(modern):
    assert sorted(modern.call().to_list()) == sorted(TINKER_SERVICES)
    assert modern.call("--list").with_("service", "tinker.search").to_list() == ["tinker.search"]
    assert modern.call("--list", {"service": "tinker.search"}).to_list() == ["tinker.search"]
    assert modern.call("--list", __.project("service").by(__.constant("tinker.degree.centrality"))) \
        .to_list() == ["tinker.degree.centrality"]
    assert modern.call("--list").with_("service", "nothing.here").to_list() == []


def test_a_verbose_listing_describes_each_service(modern):
    described = {d["name"]: d for d in map(json.loads, modern.call("--list").with_("verbose", True).to_list())}
    assert described["tinker.search"]["type:[requirements]:"] == {"Start": []}
    assert set(described["tinker.search"]["params"]) == {"search", "regex", "type"}
    assert described["tinker.degree.centrality"]["type:[requirements]:"] == {"Streaming": []}
    assert set(described["tinker.degree.centrality"]["params"]) == {"direction"}


def test_text_search_finds_properties_by_their_text(modern):
    found = modern.call("tinker.search").with_("search", "o").to_list()
    assert sorted(p.value for p in found) == ["josh", "lop", "marko"]
    assert names(modern.call("tinker.search", {"search": "vada"}).element().to_list()) == ["2"]
    # a regex matches the whole text (of any value: 0.4 and 0.2 are edge weights)
    assert sorted(modern.call("tinker.search").with_("regex", "0\\.[24]").element().id_().to_list()) \
        == ["11", "12", "9"]
    assert modern.call("tinker.search", {"search": "mar"}).with_("type", "Edge").to_list() == []
    assert modern.call("tinker.search", {"search": "mar"}).with_("type", "VertexProperty").to_list() == []
    assert names(modern.call("tinker.search", {"search": "mar"}).with_("type", "Vertex").element().to_list()) \
        == ["1"]


def test_parameters_later_sources_win(modern):
    # the map, then the traversal's map, then with(): the last value for a key counts
    assert modern.call("tinker.search", {"search": "mar", "type": "Vertex"}).with_("type", "Edge").to_list() == []
    assert names(modern.call("tinker.search", {"search": "zzz"}, __.project("search").by(__.constant("vada")))
                 .element().to_list()) == ["2"]
    assert names(modern.call("tinker.search").with_("search", "mar").with_("search", "vad").element()
                 .to_list()) == ["2"]


def test_degree_centrality_counts_each_vertex_edges(modern):
    def degrees(t) -> dict:
        return {r["v"].id: r["d"] for r in t.project("v", "d").by(__.select("v")).by().to_list()}

    assert degrees(modern.V().as_("v").call("tinker.degree.centrality")) == \
        {"1": 0, "2": 1, "3": 3, "4": 1, "5": 1, "6": 0}
    out = {"1": 3, "2": 0, "3": 0, "4": 2, "5": 0, "6": 1}
    assert degrees(modern.V().as_("v").call("tinker.degree.centrality").with_("direction", Direction.OUT)) == out
    assert degrees(modern.V().as_("v").call("tinker.degree.centrality", {"direction": Direction.OUT})) == out
    assert degrees(modern.V().as_("v").call("tinker.degree.centrality",
                                            __.project("direction").by(__.constant(Direction.OUT)))) == out
    assert modern.V().call("tinker.degree.centrality").with_("direction", Direction.BOTH).sum_().next() == 12


@pytest.mark.parametrize("make", [
    lambda g: g.call("no.such.service"),
    lambda g: g.V().call("tinker.search").with_("search", "x"),     # Start only
    lambda g: g.call("tinker.degree.centrality"),                   # Streaming only
    lambda g: g.V().call("--list"),                                 # the directory only starts
    lambda g: g.call("tinker.search"),                              # nothing to search for
    lambda g: g.call("tinker.search").with_("search", "x").with_("type", "Node"),
    lambda g: g.V().values("name").call("tinker.degree.centrality"),
    lambda g: g.V().call("tinker.degree.centrality", __.constant(1)),
])
def test_calls_that_cannot_run_are_refused(modern, make):
    with pytest.raises(FAILURES):
        make(modern).to_list()


def test_an_unknown_service_is_refused_even_without_input(modern):
    with pytest.raises(FAILURES):
        modern.V().limit(0).call("no.such.service").to_list()


# --- the registry, with services registered here (in-process) --------------------------------

class _Echo(Service):
    """Start: its 'values'; Streaming: each traverser's object with a suffix; Barrier: how many
    traversers each call got."""

    name = "test.echo"
    types = (START, STREAMING, BARRIER)
    params = {"values": "what a start gives", "suffix": "what streaming adds"}

    def __init__(self, mode: str = STREAMING, chunk: int = 1_000_000):
        self.mode = mode
        self.max_barrier_size = chunk
        self.calls: list[dict] = []

    def execution_type(self, starts: bool, params: dict) -> str:
        return START if starts else self.mode

    def start(self, ctx: Any, params: dict) -> Iterable[Any]:
        return list(params.get("values", []))

    def stream(self, ctx: Any, traverser: Traverser, params: dict) -> Iterable[Any]:
        if params.get("pass"):
            return [traverser]
        return [f"{traverser.obj}{params.get('suffix', '')}"]

    def barrier(self, ctx: Any, traversers: list, params: dict) -> Iterable[Any]:
        self.calls.append(params)
        return [sum(t.bulk for t in traversers)]


def _source(service: Service, profile: str | None = None):
    graph = Graph(profile=profile)
    graph.services.register(service)
    g = traversal().with_remote(LocalRemoteConnection(graph))
    return g


def test_a_registered_service_is_listed_and_described():
    g = _source(_Echo())
    assert g.call().to_list() == TINKER_SERVICES + ["test.echo"]
    assert json.loads(g.call("--list").with_("verbose").with_("service", "test.echo").next()) == {
        "name": "test.echo", "type:[requirements]:": {"Start": [], "Streaming": [], "Barrier": []},
        "params": {"values": "what a start gives", "suffix": "what streaming adds"}}


def test_start_streaming_and_barrier_services():
    g = _source(_Echo())
    assert g.call("test.echo", {"values": [1, 2, 3]}).to_list() == [1, 2, 3]
    # streaming results continue each traverser's path; a returned traverser passes on as it is
    paths = g.inject("a", "b").call("test.echo").with_("suffix", __.constant("!")).path().to_list()
    assert [list(p.objects) for p in paths] == [["a", "a!"], ["b", "b!"]]
    assert g.inject("a").call("test.echo").with_("pass", True).path().to_list()[0].objects == ["a"]
    barrier = _Echo(BARRIER, chunk=2)
    g = _source(barrier)
    # a barrier call takes the traversers in chunks; its values start new paths
    assert g.inject(1, 2, 3, 4, 5).call("test.echo").to_list() == [2, 2, 1]
    assert [list(p.objects) for p in g.inject(1).call("test.echo").path().to_list()] == [[1]]


def test_a_barrier_call_needs_one_set_of_parameters():
    g = _source(_Echo(BARRIER))
    assert g.inject(1, 2).call("test.echo").with_("k", __.constant("same")).to_list() == [2]
    with pytest.raises(GremlinError, match="multiple dynamic parameter sets"):
        g.inject(1, 2).call("test.echo").with_("k", __.identity()).to_list()


def test_degree_centrality_gives_a_bulked_traverser_its_bulk_times_over():
    # TinkerGraph's service: n results for a traverser of bulk n, each of bulk n
    graph = Graph()
    traversal().with_remote(LocalRemoteConnection(graph)).add_v("v").as_("x").add_e("e").to("x").iterate()
    vertex = next(iter(graph.store.vertices.values()))
    results = list(DegreeCentrality().stream(None, Traverser.start(vertex, bulk=3), {}))
    assert results == [1, 1, 1]


def test_the_neptune_profile_has_no_services():
    g = traversal().with_remote(LocalRemoteConnection(Graph(profile="neptune")))
    assert g.call().to_list() == []
    with pytest.raises(NeptuneProfileError, match="Unrecognized service: tinker.search"):
        g.call("tinker.search").with_("search", "x").to_list()
    assert ServiceRegistry().names() == []
    assert Counter(Graph().services.names()) == Counter(TINKER_SERVICES)
