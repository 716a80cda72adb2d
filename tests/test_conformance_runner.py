"""The TinkerPop conformance runner: Gherkin parsing, notation, comparison, end-to-end runs.

End-to-end runs use the fixtures in tests/conformance_fixtures (a tiny graph of our own and
scenarios that must pass, skip or fail); the full upstream suite is run by `make conformance`.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.process.traversal import Direction, Merge, T
from gremlin_python.statics import long
from gremlin_python.structure.graph import Edge, Path as GPath, Vertex

from gremlin.conformance import run
from gremlin.conformance.__main__ import main
from gremlin.conformance.compare import (
    check_count, check_empty, check_error, check_of, check_ordered, check_unordered, equivalent,
)
from gremlin.conformance.coresteps import uses_only_core_steps
from gremlin.conformance.execution import RAISED, UNEXPECTED, UNSUPPORTED, classify_error, writes_to_graph
from gremlin.conformance.gherkin import GherkinError, Scenario, parse_feature
from gremlin.conformance.graphs import Lookups, read_graphson
from gremlin.conformance.notation import Float32, LambdaNotation, NotationError, SetValue, parse_value, split_items
from gremlin.engine.bytecode import step_names
from gremlin.errors import EngineFault, GremlinError, InvalidArgumentError, UnsupportedStepError
from gremlin.language import parse

FIXTURES = Path(__file__).parent / "conformance_fixtures"
DATA = FIXTURES / "data"
SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "tinkerpop" / "data"


# --- Gherkin -------------------------------------------------------------------------------

FEATURE = '''\
# a comment
@StepClassMap @StepCount
Feature: Step - count()
  Some free text describing the feature.

  Background:
    Given the modern graph

  @MultiProperties
  Scenario: g_V_count
    And using the parameter xx1 defined as "d[1].i"
    And the traversal of
      """
      g.V().
        count()
      """
    When iterated to list
    Then the result should be ordered
      | result |
      | d[6].l |
      | a \\| b |

  Scenario Outline: outline_<n>
    And the traversal of
      """
      g.V().limit(<n>)
      """
    When iterated to list
    Then the result should have a count of <n>

    Examples:
      | n |
      | 1 |
      | 2 |
'''


def test_gherkin_feature_tags_and_scenarios() -> None:
    feature = parse_feature(FEATURE, "count.feature")
    assert feature.name == "Step - count()"
    assert feature.tags == ["StepClassMap", "StepCount"]
    assert [s.name for s in feature.scenarios] == ["g_V_count", "outline_1", "outline_2"]
    first = feature.scenarios[0]
    assert first.tags == ["StepClassMap", "StepCount", "MultiProperties"]


def test_gherkin_steps_doc_strings_and_tables() -> None:
    steps = parse_feature(FEATURE).scenarios[0].steps
    assert [(s.keyword, s.text) for s in steps] == [
        ("Given", "the modern graph"),  # from the Background
        ("And", 'using the parameter xx1 defined as "d[1].i"'),
        ("And", "the traversal of"),
        ("When", "iterated to list"),
        ("Then", "the result should be ordered"),
    ]
    assert steps[2].doc_string == "g.V().\n  count()"
    assert steps[4].table == [["result"], ["d[6].l"], ["a | b"]]
    assert steps[4].table_column() == ["d[6].l", "a | b"]


def test_gherkin_outline_is_expanded_per_example() -> None:
    outline = parse_feature(FEATURE).scenarios[2]
    assert outline.steps[1].doc_string == "g.V().limit(2)"
    assert outline.steps[-1].text == "the result should have a count of 2"


@pytest.mark.parametrize("text", [
    "Scenario: no feature\n  Given the modern graph\n",
    "Feature: x\n  Scenario: y\n    And the traversal of\n      \"\"\"\n      g.V()\n",
    "Feature: x\n  Scenario: y\n    Given the modern graph\n    this is not a step\n",
])
def test_gherkin_rejects_malformed_files(text: str) -> None:
    with pytest.raises(GherkinError):
        parse_feature(text, "bad.feature")


# --- notation ------------------------------------------------------------------------------

MARKO = Vertex(1, "person")
KNOWS = Edge(7, MARKO, "knows", Vertex(2, "person"))


class FakeResolver:
    def vertex(self, name: str) -> Vertex:
        return MARKO if name == "marko" else Vertex(name, "vertex")

    def edge(self, name: str) -> Edge:
        if name != "marko-knows->vadas":
            raise NotationError(name)
        return KNOWS

    def vertex_property(self, name: str) -> object:
        raise NotationError(name)


def value(text: str, *, expected: bool = False) -> object:
    return parse_value(text, FakeResolver(), expected=expected)


def test_notation_numbers_keep_their_java_type_for_parameters() -> None:
    assert type(value("d[1].l")) is long and value("d[1].l") == 1
    assert type(value("d[1].i")) is int
    assert value("d[1.5].d") == 1.5 and type(value("d[1.5].d")) is float
    assert isinstance(value("d[0.1].f", expected=True), Float32)
    assert value("d[1.25].m") == Decimal("1.25")
    assert math.isnan(value("d[NaN]")) and value("d[-Infinity]") == -math.inf


def test_notation_elements_and_ids() -> None:
    assert value("v[marko]") is MARKO
    assert value("v[marko].id") == 1
    assert value("v[marko].sid") == "1"
    assert value("v[nobody]") == Vertex("nobody")  # a reference vertex, as TinkerPop's runners do
    assert value("e[marko-knows->vadas].id") == 7
    with pytest.raises(NotationError):
        value("e[marko-hates->vadas]")


def test_notation_collections_maps_and_tokens() -> None:
    assert value("l[a,d[1].i,l[b,c]]") == ["a", 1, ["b", "c"]]
    assert value("l[]") == []
    assert value("s[a,b]") == {"a", "b"}
    assert value("s[a,m[{\"x\":1}]]", expected=True) == SetValue(["a", {"x": 1}])
    path = value("p[v[marko],e[marko-knows->vadas],lop]")
    assert isinstance(path, GPath) and path.objects == [MARKO, KNOWS, "lop"]
    assert value('m[{"t[id]": "v[marko].id", "v[marko]": ["d[2].l", null], "n": {"k": 3}}]') == {
        T.id: 1, MARKO: [2, None], "n": {"k": 3}}
    assert value("t[label]") is T.label
    assert value("D[OUT]") is Direction.OUT and value("D[from]") is Direction.OUT
    assert value("M[onCreate]") is Merge.on_create
    assert value("str[d[1].i]") == "d[1].i"
    assert value("dt[2023-08-02T00:00:00Z]") == datetime(2023, 8, 2, tzinfo=timezone.utc)
    assert (value("null"), value("true"), value("false"), value("marko")) == (None, True, False, "marko")


def test_notation_lambda_is_reported() -> None:
    with pytest.raises(LambdaNotation):
        value("c[it.get()]")


def test_split_items_respects_brackets_and_json() -> None:
    assert split_items('a,l[b,c],m[{"x":"1,2","y":2}]') == ["a", "l[b,c]", 'm[{"x":"1,2","y":2}]']


# --- comparison ----------------------------------------------------------------------------

def test_numbers_compare_by_value_not_type() -> None:
    assert equivalent(value("d[6].l", expected=True), 6)
    assert equivalent(value("d[6].l", expected=True), 6.0)
    assert not equivalent(value("d[6].l", expected=True), 7)
    assert not equivalent(1, True) and not equivalent(True, 1)  # a boolean is never a number
    assert not equivalent(value("d[1].i", expected=True), "1")
    assert equivalent(value("d[0.1].f", expected=True), 0.10000000149011612)  # a Java float
    assert not equivalent(value("d[0.1].d", expected=True), 0.10000000149011612)
    assert equivalent(value("d[1.5].m", expected=True), 1.5)
    assert equivalent(math.nan, math.nan) and not equivalent(math.nan, 1.0)


def test_elements_compare_by_id_and_paths_by_objects() -> None:
    assert equivalent(MARKO, Vertex(1, "person"))
    assert not equivalent(MARKO, Vertex(2, "person"))
    assert not equivalent(MARKO, Edge(1, MARKO, "x", MARKO))
    labelled = GPath([{"a"}, {"b"}], [Vertex(1), "x"])
    assert equivalent(value("p[v[marko],x]"), labelled)
    assert not equivalent(value("p[v[marko],y]"), labelled)


def test_maps_compare_entry_by_entry() -> None:
    expected = value('m[{"t[id]": "v[marko].id", "name": ["marko"], "l[a,b]": "d[1].l"}]', expected=True)
    assert equivalent(expected, {"name": ["marko"], T.id: 1, ("a", "b"): 1})
    assert not equivalent(expected, {"name": ["marko"], T.id: 2, ("a", "b"): 1})
    assert not equivalent(expected, {"name": ["marko"], T.id: 1})
    assert equivalent({MARKO: 3}, {Vertex(1): 3})


def test_sets_and_lists_are_not_interchangeable() -> None:
    assert equivalent(value("s[a,b]", expected=True), {"b", "a"})
    assert not equivalent(value("s[a,b]", expected=True), ["a", "b"])
    assert equivalent(value("l[a,b]", expected=True), ("a", "b"))
    assert not equivalent(value("l[a,b]", expected=True), ["b", "a"])


def test_unordered_is_multiset_equality() -> None:
    assert check_unordered(["a", "b", "a"], ["a", "a", "b"]) is None
    problem = check_unordered(["a", "b", "a"], ["a", "b", "b"])
    assert problem is not None and "missing 'a'" in problem and "unexpected 'b'" in problem
    assert check_unordered([1, 2], [1, 2, 3]) is not None


def test_ordered_checks_positions() -> None:
    assert check_ordered([1, 2], [1, 2]) is None
    assert check_ordered([1, 2], [2, 1]) == "result 1: expected 1, got 2"
    assert check_ordered([1], [1, 1]) is not None


def test_of_allows_repeats_but_not_strangers() -> None:
    assert check_of(["a", "b", "c"], ["a", "a"]) is None
    assert check_of(["a", "b"], ["a", "z"]) is not None


def test_counts_and_empty() -> None:
    assert check_count(2, ["x", "y"]) is None
    assert check_count(3, ["x", "y"]) is not None
    assert check_empty([]) is None and check_empty([1]) is not None


def test_error_expectations() -> None:
    message = "Vertex with id already exists: 1"
    assert check_error(message, None, None) is None
    assert check_error(message, "containing", "already exists") is None
    assert check_error(message, "starting", "Vertex with") is None
    assert check_error(message, "ending", "exists: 1") is None
    assert check_error(message, "ending", "exists") is not None
    assert check_error(message, "containing", "nope") is not None


def test_errors_are_classified() -> None:
    assert classify_error(UnsupportedStepError("The foo() step is not supported")) == UNSUPPORTED
    assert classify_error(InvalidArgumentError("bad")) == RAISED
    assert classify_error(GremlinError("boom")) == RAISED
    server = {"code": 597, "attributes": {"exceptions": []}}
    assert classify_error(GremlinServerError({**server, "message": "The foo() step is not supported"})) == UNSUPPORTED
    assert classify_error(GremlinServerError({**server, "message": "Vertex with id already exists"})) == RAISED
    assert classify_error(KeyError("x")) == UNEXPECTED
    # a Python error the engine caught on its way out is still a bug, not the error a scenario expects
    assert classify_error(EngineFault("TypeError: 'int' object is not iterable")) == UNEXPECTED


def test_writes_are_detected_in_nested_traversals() -> None:
    assert writes_to_graph(parse('g.V().has("name","x").drop()'))
    assert writes_to_graph(parse('g.V().sideEffect(__.property("a", 1))'))
    assert not writes_to_graph(parse('g.V().out().values("name")'))


# --- graphs --------------------------------------------------------------------------------

def test_read_graphson_fixture_graph() -> None:
    graph = read_graphson(DATA / "tinkerpop-modern.json")
    assert [(v.id, v.label) for v in graph.vertices] == [(1, "person"), (2, "person"), (3, "software")]
    assert sorted((e.out_v, e.label, e.in_v) for e in graph.edges) == [
        (1, "created", 3), (1, "knows", 2), (2, "created", 3)]  # each edge once, from its out-vertex
    crew = read_graphson(DATA / "tinkerpop-crew.json")
    locations = [p for p in crew.vertices[0].properties if p.key == "location"]
    assert [(p.value, p.meta) for p in locations] == [
        ("oslo", {"startTime": 2001, "endTime": 2005}), ("lima", {"startTime": 2005})]


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/tinkerpop/data is not present")
def test_standard_graphs_load_with_their_sizes() -> None:
    from gremlin_python.process.anonymous_traversal import traversal

    import gremlin
    from gremlin.conformance.graphs import build_lookups, load_graph

    g = traversal().with_remote(gremlin.connect("memory://"))
    load_graph(g, read_graphson(SHARED_DATA / "tinkerpop-crew.json"), batch_size=4)
    assert (g.V().count().next(), g.E().count().next()) == (6, 14)
    assert g.V().properties("location").count().next() == 14
    assert g.V().properties("location").properties("startTime").count().next() == 14
    lookups: Lookups = build_lookups(g)
    assert lookups.vertex("marko").id == 1
    assert lookups.edge("marko-develops->gremlin").id == 13


def test_backend_gives_ids_as_strings_when_integers_are_refused() -> None:
    from gremlin.conformance.backends import open_backend

    backend = open_backend("memory://?profile=neptune", DATA)  # Neptune takes string ids only
    try:
        handle = backend.graph("modern")
        assert handle.vertex("alice").id == "1"
        assert handle.edge("alice-knows->bob").id == "10"
    finally:
        backend.close()


# --- end to end ----------------------------------------------------------------------------

def _outcomes(report) -> dict[str, str]:
    return {r.name: r.outcome for r in report.results}


def test_passing_fixture_runs_end_to_end() -> None:
    report = run(FIXTURES / "passing", "memory://", data_dir=DATA)
    outcomes = _outcomes(report)
    skipped = {"lambda_is_skipped", "graph_computer_is_skipped", "declared_unsupported_is_skipped",
               "unsupported_step_is_skipped", "lambda_in_the_text_is_skipped"}
    assert {n for n, o in outcomes.items() if o == "skipped"} == skipped
    failures = [(r.name, r.reason) for r in report.results if r.outcome == "failed"]
    assert failures == []
    assert report.passed == len(outcomes) - len(skipped) and report.passed >= 15


def test_wrong_answers_fail() -> None:
    report = run(FIXTURES / "failing", "memory://", data_dir=DATA)
    reasons = {r.name: r.reason for r in report.results}
    assert report.failed == 5 and report.passed == 0
    assert reasons["wrong_count"] == "result 1: expected 3, got 2"
    assert "missing 'zoe'" in reasons["wrong_members"]
    assert "expected the traversal to raise an error" in reasons["error_expected_but_none_raised"]
    assert reasons["does_not_parse"].startswith("does not parse")
    assert "expected 5 for the count of g.V(), got 1" in reasons["graph_count_is_wrong"]


def test_filter_selects_scenarios() -> None:
    report = run(FIXTURES / "passing", "memory://", data_dir=DATA, filter="crew_")
    assert _outcomes(report) == {"crew_multi_and_meta_properties": "passed"}


def test_cli_exit_codes_totals_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    passing = [str(FIXTURES / "passing"), "--data", str(DATA)]
    assert main(passing) == 0
    out = capsys.readouterr().out
    assert "runner.feature: 16 passed, 0 failed, 5 skipped" in out
    assert out.rstrip().splitlines()[-1] == "16 passed, 0 failed, 5 skipped"
    assert main([*passing, "--floor", "17"]) == 1
    assert main([*passing, "--floor", "16"]) == 0
    report_file = tmp_path / "results.json"
    assert main([str(FIXTURES / "failing"), "--data", str(DATA), "--verbose", "--json", str(report_file)]) == 1
    out = capsys.readouterr().out
    assert "FAILED wrong_count: result 1: expected 3, got 2" in out
    assert out.rstrip().splitlines()[-1] == "0 passed, 5 failed, 0 skipped"
    written = json.loads(report_file.read_text())
    assert written["failed"] == 5
    assert {"name", "file", "outcome", "reason"} <= set(written["scenarios"][0])


@pytest.mark.integration
def test_passing_fixture_through_the_websocket_endpoint() -> None:
    """The remote path: one shared graph, loaded and reloaded through the stock driver."""
    report = run(FIXTURES / "passing", "endpoint", data_dir=DATA)
    failures = [(r.name, r.reason) for r in report.results if r.outcome == "failed"]
    assert failures == []
    assert report.passed >= 15


@pytest.mark.integration
@pytest.mark.slow
def test_the_reference_server_runs_for_the_run_and_stops_after_it() -> None:
    """--url reference: a real Gremlin Server with TinkerPop's test configuration (numeric ids,
    so the scenarios' id parameters find the files' elements) is started and stopped by the run."""
    import os
    import shutil
    import socket

    from gremlin.conformance.reference import SHARED_SERVER
    from gremlin.conformance.runner import DEFAULT_FEATURES_DIR
    if shutil.which("java") is None or not (SHARED_SERVER / "start").exists():
        pytest.skip(f"needs java and a Gremlin Server at {SHARED_SERVER}")
    port = os.environ.get("CONFORMANCE_REFERENCE_PORT")
    url = f"reference?port={port}" if port else "reference"
    report = run(DEFAULT_FEATURES_DIR, url, filter="map/Count.feature")
    assert report.passed >= 10 and report.failed == 0
    if port:
        with socket.socket() as probe:
            assert probe.connect_ex(("127.0.0.1", int(port))) != 0  # nothing listens there any more


def _scenario_of(traversal: str, *parameters: str) -> Scenario:
    lines = [f'    And using the parameter {name} defined as "v[marko].id"' for name in parameters]
    feature = parse_feature("Feature: f\n  Scenario: s\n    Given the modern graph\n" + "\n".join(lines) +
                            '\n    And the traversal of\n      """\n      ' + traversal + '\n      """\n')
    return feature.scenarios[0]


def test_core_steps_are_found_in_child_traversals_and_strategies() -> None:
    assert uses_only_core_steps(_scenario_of('g.V(vid1).repeat(__.out()).times(2).values("name")', "vid1"))
    assert uses_only_core_steps(_scenario_of('g.withStrategies(ReadOnlyStrategy).V().has("age", P.gt(30))'))
    assert not uses_only_core_steps(_scenario_of('g.V().where(__.out().map(__.identity()))'))
    assert not uses_only_core_steps(_scenario_of('g.withStrategies(SeedStrategy(seed: 1)).V().count()'))
    assert step_names(parse('g.V().union(__.out("a"), __.match(__.as("x")))')) == {"V", "union", "out", "match", "as"}


def test_cli_reports_core_step_pass_rate_and_fixed_known_failures(tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    known = tmp_path / "known"
    known.write_text("wrong_count  # recorded\n")
    passing = [str(FIXTURES / "passing"), "--data", str(DATA), "--core-steps", "--known-failures", str(known)]
    assert main(passing) == 0
    out = capsys.readouterr().out
    core = [line for line in out.splitlines() if line.startswith("core-step scenarios: ")]
    assert len(core) == 1 and " passed of " in core[0]
    known.write_text("count_people_ordered  # recorded\n")
    assert main(passing) == 0
    assert "count_people_ordered" in capsys.readouterr().err


def test_scenarios_with_lambdas_are_not_core() -> None:
    feature = parse_feature('Feature: f\n  Scenario: s\n    Given the modern graph\n'
                            '    And using the parameter l1 defined as "c[it.get()]"\n'
                            '    And the traversal of\n      """\n      g.V().order().by(l1)\n      """\n')
    assert not uses_only_core_steps(feature.scenarios[0])
    assert uses_only_core_steps(_scenario_of("g.V(vid1).out()", "vid1"))
