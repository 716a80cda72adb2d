"""gremlin.fast_reader returns what gremlinpython's GraphBinary reader returns, value for value,
type for type, for what responses hold (the types it reads itself and those it hands over)."""

from __future__ import annotations

import io
import math

import pytest

from hypothesis import given, settings, strategies as st
from gremlin_python.process.traversal import Direction, T, Traverser
from gremlin_python.structure.graph import Edge, Path, Vertex
from gremlin_python.structure.io import graphbinaryV1 as gb

from gremlin.fast_reader import FastReader
from gremlin.server.graphbinary import GraphBinaryCodec

_WRITER = GraphBinaryCodec()._writer


def _both(value):
    data = bytes(_WRITER.to_dict(value))
    expected = gb.GraphBinaryReader().to_object(io.BytesIO(data))
    buff = io.BytesIO(data + b"\x99")  # a value ends where it ends: the next byte is not read
    found = FastReader().to_object(buff)
    assert buff.read() == b"\x99"
    return expected, found


def _same(expected, found) -> None:
    assert type(found) is type(expected)
    if isinstance(expected, float) and math.isnan(expected):
        assert math.isnan(found)
    else:
        assert repr(found) == repr(expected)


_scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**63, 2**63 - 1), st.text(),
                     st.floats(allow_nan=False), st.sampled_from([T.id, T.label, Direction.OUT, Direction.IN]))
_values = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=5),
    st.dictionaries(st.one_of(st.text(), st.sampled_from([T.id, T.label, Direction.OUT])), inner, max_size=5),
    st.builds(Traverser, inner, st.integers(1, 10))), max_leaves=30)


@settings(max_examples=300, deadline=None)
@given(_values)
def test_every_value_reads_as_gremlinpython_reads_it(value) -> None:
    _same(*_both(value))


def test_types_it_hands_over_read_as_gremlinpython_reads_them() -> None:
    a, b = Vertex("a", "identifier"), Vertex("b", "identifier")
    for value in ([Edge("e", a, "link", b), {"v": a}], Path([{"x"}], [a, "b"]), {1, 2, "3"}, float("nan"),
                  {"m": [None, Traverser(a, 2)]}):
        _same(*_both(value))


def test_edges_read_here_as_gremlinpython_reads_them(monkeypatch) -> None:
    """A walk's links come back as edges (resolve_many): read here, not handed over, with the same
    ids, labels and ends."""
    edges = [Edge("e1", Vertex("a", "identifier"), "link", Vertex("b", "person")),
             Edge(7, Vertex(1, "x"), "nolink", Vertex(2, "y")), None]
    monkeypatch.setattr(FastReader, "_generic", lambda *args: pytest.fail("an edge was handed over"))
    expected, found = _both(edges)
    assert [_fields(edge) for edge in found] == [_fields(edge) for edge in expected]
    assert _fields(found[0]) == ("e1", "link", "a", "identifier", "b", "person", [])


def _fields(edge):
    return edge and (edge.id, edge.label, edge.outV.id, edge.outV.label, edge.inV.id, edge.inV.label,
                     edge.properties)
