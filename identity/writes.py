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
  looked up by its id, inside a traversal positioned on that element.

Everything is legal on Neptune: string ids, explicit cardinality (``CardinalityValue``), no lambdas.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from gremlin_python.process.graph_traversal import GraphTraversal, __

__all__ = ["ELEMENT", "NO_ID", "rows", "vertices", "edges", "own", "own_value", "plus", "plus_own", "least_own", "greatest_own"]

#: The label of the element ``vertices``/``edges`` start on.
ELEMENT = "element"
#: An id no element has (element ids are ``tenant:kind:digest``): keeps an id list from being empty.
NO_ID = "-"


def rows(items: Iterable[Mapping[str, Any]]) -> GraphTraversal:
    """One traverser per row (none for no rows)."""
    return __.constant(list(items)).unfold()


def vertices(ids: Iterable[str]) -> GraphTraversal:
    """The vertices of ``ids`` (those that exist), labelled ELEMENT."""
    return __.V(*sorted(ids), NO_ID).as_(ELEMENT)


def edges(ids: Iterable[str]) -> GraphTraversal:
    """The edges of ``ids`` (those that exist), labelled ELEMENT."""
    return __.E(*sorted(ids), NO_ID).as_(ELEMENT)


def own(values: Mapping[str, Any]) -> GraphTraversal:
    """The value ``values`` holds for the ELEMENT the traverser stands on (nothing when none)."""
    return __.constant(dict(values)).select(__.select(ELEMENT).id_())


def own_value(elements: GraphTraversal, values: Mapping[str, Any]) -> GraphTraversal:
    """``elements`` (a ``vertices``/``edges`` traversal) followed by each element's own value in
    ``values`` (the steps of ``own`` appended, not nested: one child traversal less per element)."""
    return elements.constant(dict(values)).select(__.select(ELEMENT).id_())


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


def plus_own(key: str, amounts: Mapping[str, int]) -> GraphTraversal:
    """``key`` + the element's own amount in ``amounts`` (``plus``)."""
    return plus(key, own(amounts))
