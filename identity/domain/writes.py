"""Traversals of constant shape whose values travel as data, for writes (and checks) on many
elements at once.

A graph server deserialises, compiles and applies its strategies to every traversal it receives,
step by step, child traversals included, before it executes anything: Gremlin Server does, and
Neptune charges the same way (docs/benchmarks.md, "What the service sends a graph server"). A
write built as one child traversal per element (or per distinct value) grows with the batch, and
compiling it cost more than executing it. The idioms here keep one fixed sequence of steps per
kind of write, whatever the number of elements, and send the elements and their values as
arguments (lists and maps), the way Neptune's documentation batches upserts:

- ``rows(items)`` - ``constant([...]).unfold()``: one traverser per row (a map), for
  ``mergeV(select('search')).option(onCreate, select('create'))``;
- ``vertices(ids)`` / ``edges(ids)`` - ``V(ids)``/``E(ids)`` labelled ``ELEMENT``, never empty (an
  empty ``V()`` would be every vertex): a sentinel id no element has stands in for none;
- ``own(values)`` - ``constant({id: value}).select(select(ELEMENT).id())``: the element's own value,
  looked up by its id, inside a traversal positioned on that element;
- ``created_vertices(rows)`` / ``created_edges(rows)`` - ``mergeV``/``mergeE`` of each row's
  ``search`` map with its ``create`` map, whose ``onMatch`` is ``fail()``: a create, not an upsert.
  It fails the traversal when its element exists (``existed`` recognises that failure), as
  ``addV``/``addE`` with an id do, but takes its properties as data (an ``addV`` takes them as
  steps, one per key).
- ``created_vertices_with_edges(rows, key, label)`` - ``created_vertices``, then an ``addE()`` from
  each new vertex to each vertex reference (``ends(ids, label)``) its row lists under ``key``: the
  graph resolves a reference by its id, so no edge runs a search of its own.

Everything is legal on Neptune: string ids, explicit cardinality (``CardinalityValue``), no lambdas.

The values go into the bytecode as they are (``with_data``): gremlinpython's ``add_step`` copies
every list and map of its arguments, value by value, looking for child traversals in them, and
the values of a chunk's write hold none (maps, lists, strings, numbers, tokens, vertex references
and ``CardinalityValue``s): a third of the CPU building a write took went to that copy.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from gremlin_python.process.graph_traversal import GraphTraversal, GraphTraversalSource, __
from gremlin_python.process.traversal import Cardinality, CardinalityValue, Merge
from gremlin_python.statics import long
from gremlin_python.structure.graph import Vertex

__all__ = ["unbulked", "single", "ELEMENT", "NO_ID", "ROW", "EXISTS", "with_data", "rows", "vertices", "edges", "own", "own_value", "plus", "increment",
           "plus_own", "least_own", "greatest_own", "created_vertices", "created_vertices_with_edges", "ends",
           "created_edges", "existed"]

#: The label of the element ``vertices``/``edges`` start on.
ELEMENT = "element"
#: An id no element has (element ids are ``tenant:kind:digest``): keeps an id list from being empty.
NO_ID = "-"
#: The label of the row a created element came from (``created_vertices``).
ROW = "row"
#: The label of the new vertex in created_vertices_with_edges.
_NEW = "new"
#: The message of the failure a create raises when its element exists (``created_vertices``).
EXISTS = "identity.domain.writes: an element to create exists"


def unbulked(g: GraphTraversalSource) -> GraphTraversalSource:
    """``g`` whose traversers each carry a sack no operator merges (``withSack(0)``), so that none is
    ever merged with another into one bulk. Gremlin Server (3.7.3) hashes a traverser, its object
    and its path, each time it runs a child traversal on it and at every barrier, to find equal
    ones to merge: in a write that is a row map per merge option, and the whole map ``own`` looks
    each element's value up in, for every element (a third of the server's CPU per write,
    docs/benchmarks.md "Where an ingested event's CPU goes"); a traverser carrying such a sack is
    hashed by its identity. What a write or a batch read answers does not change: merging equal
    traversers only ever saves work, and theirs are seldom equal. ``sack()`` is never read."""
    return g.with_sack(0)


def with_data(traversal: GraphTraversal, step: str, *values: Any) -> GraphTraversal:
    """``traversal`` followed by ``step(*values)``, the values taken as they are: plain data
    (strings, numbers, tokens, CardinalityValues, and lists and maps of them), never a child
    traversal, which gremlinpython's copy would turn into its bytecode. They are not copied:
    the caller hands them over."""
    traversal.bytecode.step_instructions.append([step, *values])
    return traversal


#: The plain values ``single`` wraps without gremlinpython's argument copy.
_SCALARS = frozenset((str, int, float, bool, long))


def single(value: Any) -> CardinalityValue:
    """``CardinalityValue.single(value)``, built as it is: gremlinpython's constructor adds the
    value as a source instruction through ``Bytecode.add_source``, which copies every argument
    looking for child traversals (2.7 µs a value; a chunk's creates hold about 11 a new event,
    every one a plain string or number). The object is the same: one source instruction
    ``CardinalityValueTraversal(single, value)``, no steps, no bindings. Anything but a plain
    value goes through gremlinpython's constructor."""
    if type(value) not in _SCALARS:
        return CardinalityValue.single(value)
    wrapped = object.__new__(CardinalityValue)
    wrapped.source_instructions = [["CardinalityValueTraversal", Cardinality.single, value]]
    wrapped.step_instructions = []
    wrapped.bindings = {}
    return wrapped


def rows(items: Iterable[Mapping[str, Any]]) -> GraphTraversal:
    """One traverser per row (none for no rows)."""
    return with_data(__.start(), "constant", list(items)).unfold()


def vertices(ids: Iterable[str]) -> GraphTraversal:
    """The vertices of ``ids`` (those that exist), labelled ELEMENT."""
    return with_data(__.start(), "V", *sorted(ids), NO_ID).as_(ELEMENT)


def edges(ids: Iterable[str]) -> GraphTraversal:
    """The edges of ``ids`` (those that exist), labelled ELEMENT."""
    return with_data(__.start(), "E", *sorted(ids), NO_ID).as_(ELEMENT)


def own(values: Mapping[str, Any]) -> GraphTraversal:
    """The value ``values`` holds for the ELEMENT the traverser stands on (nothing when none)."""
    return own_value(__.start(), values)


def own_value(elements: GraphTraversal, values: Mapping[str, Any]) -> GraphTraversal:
    """``elements`` (a ``vertices``/``edges`` traversal) followed by each element's own value in
    ``values`` (the steps of ``own`` appended, not nested: one child traversal less per element)."""
    return with_data(elements, "constant", dict(values)).select(__.select(ELEMENT).id_())


def plus(key: str, amount: GraphTraversal) -> GraphTraversal:
    """``key`` + what ``amount`` gives, computed by the graph when it writes (concurrent writers
    never lose an update); sum() keeps integers integral, math() would not."""
    return __.union(__.values(key), amount).sum_()


def least_own(key: str, values: Mapping[str, Any]) -> GraphTraversal:
    """The lesser of ``key`` and the element's own value in ``values``, computed by the graph when
    it writes (a concurrent writer's earlier value is kept)."""
    return __.union(__.values(key), own(values)).min_()


def greatest_own(key: str, values: Mapping[str, Any]) -> GraphTraversal:
    """The greater of ``key`` and the element's own value in ``values`` (``least_own``'s twin)."""
    return __.union(__.values(key), own(values)).max_()


def increment(key: str, amount: int) -> GraphTraversal:
    """``key`` + ``amount``, computed by the graph when it writes (``plus``)."""
    return plus(key, __.constant(amount))


def plus_own(key: str, amounts: Mapping[str, int]) -> GraphTraversal:
    """``key`` + the element's own amount in ``amounts`` (``plus``)."""
    return plus(key, own(amounts))


def created_vertices(items: Iterable[Mapping[str, Any]]) -> GraphTraversal:
    """A new vertex per row (``search``: its id, label and tenant; ``create``: its other
    properties), failing the whole traversal where one exists already. The vertex is the
    traverser after it, its row labelled ROW."""
    return _failing_on_match(rows(items).as_(ROW).merge_v(__.select("search")))


def created_vertices_with_edges(items: Iterable[Mapping[str, Any]], key: str, label: str) -> GraphTraversal:
    """``created_vertices``, then an edge labelled ``label`` from each new vertex to every vertex
    its row lists under ``key`` (as references: ``ends``), all of which must exist.

    Each edge is an ``addE()`` from the new vertex to the reference, which the graph resolves by
    its id (Gremlin Server attaches it: ``graph.vertices(id)``): the vertex is new, so no such
    edge can exist, and an ``addE()`` searches for nothing where a ``mergeE()`` row makes the
    server build, strategy-apply and run a search traversal of its own (Gremlin Server 3.7.3:
    ``graph.traversal().V(out).outE(label).where(inV().hasId(in))`` per row). An end that is
    not there fails the traversal, as a ``mergeE()`` to a missing vertex does."""
    new = created_vertices(items).as_(_NEW)
    return new.select(ROW).select(key).unfold().add_e(label).from_(_NEW)


def ends(ids: Iterable[str], label: str) -> list[Vertex]:
    """References to the vertices of ``ids`` (labelled ``label``), for ``created_vertices_with_edges``."""
    return [Vertex(vertex_id, label) for vertex_id in ids]


def created_edges(items: Iterable[Mapping[str, Any]]) -> GraphTraversal:
    """``created_vertices`` for edges (``search`` also names the two ends)."""
    return _failing_on_match(rows(items).merge_e(__.select("search")))


def _failing_on_match(merge: GraphTraversal) -> GraphTraversal:
    # onMatch runs only when the search found the element: fail() then ends the traversal with
    # an error, which rolls back everything it wrote on a transactional graph (Neptune,
    # TinkerTransactionGraph, our engine)
    return merge.option(Merge.on_create, __.select("create")).option(Merge.on_match, __.fail(EXISTS))


def existed(error: BaseException | None) -> bool:
    """Whether ``error``, or an error it was raised from, is a create of ``created_vertices`` or
    ``created_edges`` that found its element."""
    while error is not None:
        if EXISTS in str(error):
            return True
        error = error.__cause__
    return False
