"""The differential check (gremlin/conformance/differential.py) and its probe files.

tests/differential/*.gremlin hold traversals over the risky areas (predicates over mixed types,
NaN and null, math(), where()/by(), side effects, string and list steps, errors): against a real
Gremlin Server (TinkerGraph, from tests/gremlin_servers.py) every probe must give this engine's answer, except those
marked ``## known:``, which must still differ (docs/gremlin.md says why).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gremlin.conformance.backends import open_backend
from gremlin.conformance.differential import Answer, Probe, compare_answers, read_probes, run_probes
from gremlin.conformance.runner import DEFAULT_DATA_DIR
from tests.gremlin_servers import PLAIN, GremlinServers

PROBES = sorted((Path(__file__).parent / "differential").glob("*.gremlin"))


def test_probe_files_name_their_graph_and_known_differences(tmp_path: Path) -> None:
    path = tmp_path / "probes.gremlin"
    path.write_text("# a comment\ng.V().count()\n@graph empty\ng.addV('a')  ## known: ids differ\n", encoding="utf-8")
    assert read_probes(path) == [Probe("g.V().count()", "modern", "probes.gremlin:2"),
                                 Probe("g.addV('a')", "empty", "probes.gremlin:4", "ids differ")]


def test_answers_agree_by_value_and_in_order_only_when_ordered() -> None:
    assert compare_answers("g.V()", Answer(results=[1, 2]), Answer(results=[2.0, 1])) is None
    assert compare_answers("g.V().order()", Answer(results=[1, 2]), Answer(results=[2, 1])) is not None
    # a server bulks equal results together: the order they arrive in then is not the traversal's
    assert compare_answers("g.V().order()", Answer(results=["a", "b", "a"]), Answer(results=["a", "a", "b"])) is None
    assert compare_answers("g.V()", Answer(error="x"), Answer(error="y")) is None
    assert compare_answers("g.V()", Answer(results=[]), Answer(error="y")) is not None


def test_the_engine_agrees_with_itself_on_every_probe() -> None:
    """Run through the harness with this engine on both sides: nothing differs (so a difference
    against a server is the server's), and the marked ones are reported as agreeing now."""
    ours, theirs = open_backend("memory://", DEFAULT_DATA_DIR), open_backend("memory://", DEFAULT_DATA_DIR)
    probes = [p for path in PROBES for p in read_probes(path) if p.graph == "modern"][:60]
    try:
        comparisons = run_probes(probes, ours, theirs)
    finally:
        ours.close()
        theirs.close()
    assert len(comparisons) == len(probes) and not [c for c in comparisons if c.differs]


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("path", PROBES, ids=[p.stem for p in PROBES])
def test_the_engine_answers_as_the_reference_server(path: Path, gremlin_servers: GremlinServers) -> None:
    server = gremlin_servers.url(PLAIN)
    if gremlin_servers.transactional(server):
        pytest.skip("the probes' reference is TinkerGraph; the server given as GREMLIN_SERVER_URL is transactional")
    ours, reference = open_backend("memory://", DEFAULT_DATA_DIR), open_backend(server, DEFAULT_DATA_DIR)
    try:
        comparisons = run_probes(read_probes(path), ours, reference)
    finally:
        ours.close()
        reference.close()
    new = [f"{c.probe.source}: {c.probe.query}: {c.difference}\n  ours: {c.ours.describe()[:300]}\n"
           f"  reference: {c.reference.describe()[:300]}" for c in comparisons if c.differs and not c.probe.known]
    settled = [f"{c.probe.source}: {c.probe.query}" for c in comparisons if not c.differs and c.probe.known]
    assert not new, "answers differ from the reference:\n" + "\n".join(new)
    assert not settled, "marked known but agreeing now (remove the mark and the docs' entry):\n" + "\n".join(settled)


def test_a_python_error_escaping_the_engine_always_differs() -> None:
    """A TypeError inside a step is a bug even where the server raises too: TinkerPop's error says
    what is wrong with the input, Python's only where the step broke."""
    assert compare_answers("g.V()", Answer(error="EngineFault: TypeError: x", fault=True), Answer(error="y")) is not None
    assert compare_answers("g.V()", Answer(error="EngineFault: TypeError: x", fault=True), Answer(results=[])) is not None


def test_no_probe_makes_the_engine_leak_a_python_error() -> None:
    """Every probe, on this engine alone: wrong types, nulls and odd bounds get an error of the
    engine's own that says what is wrong (as Gremlin Server's do), never a TypeError from a step."""
    ours = open_backend("memory://", DEFAULT_DATA_DIR)
    try:
        comparisons = run_probes([p for path in PROBES for p in read_probes(path)], ours, ours)
    finally:
        ours.close()
    leaked = [f"{c.probe.source}: {c.probe.query}: {c.ours.error}" for c in comparisons if c.ours.fault]
    assert not leaked, "Python errors escaped the engine:\n" + "\n".join(leaked)
