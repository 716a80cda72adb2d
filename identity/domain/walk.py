"""The neighbourhood walk: bounded neighbourhoods in one graph round trip, walked again by the
client. Ingest plans on it, resolve answers from it, explain and forget read through it.

The walk (``walk_source`` + ``neighbourhood_walk``) goes out from the start identifier(s) one hop
at a time, unrolled (``max_hops`` is small), never building paths::

    g.inject(0).aggregate('starts').aggregate('seen').aggregate('crossed').aggregate('reached').
      V(start).aggregate('starts').aggregate('seen').                            // hop 0
      has('degree', lte(L)).hasNot('shared').bothE('link').hasNot('scoped')[.has('first_seen', lte(T))].
        aggregate('crossed').
        otherV().where(without('seen')).dedup().aggregate('reached').limit(cap).aggregate('seen').
      ...                                                                        // up to max_hops

``aggregate`` is a barrier: every traverser of hop k is in ``seen`` before the first one goes on
to hop k+1, so ``where(without('seen'))`` lets through only identifiers no earlier hop reached,
whatever order the engine runs traversers in within a hop. Each identifier is expanded once and
each link crossed once from each expanded end: the work is proportional to what is reached.
``L`` is the fan-out bound: an identifier with more links than L is reported but not expanded
(that is how generic values stop spreading), and so is one marked ``shared`` (several people use
it: identity.domain.guards); a link marked ``scoped`` (a cookie's, from before its device was known
to be used by several people: model.SCOPED) is never crossed; ``cap`` bounds the identifiers one
hop adds.

The client gets the identifiers and the links crossed, and walks them again level by level
(``nearest``, ``shortest_paths``): hop distances, and for each identifier the smallest (length, ids) path as
its evidence. When a hop found more than ``cap`` new identifiers (``reached`` counts them before
the cut), the neighbourhood is marked truncated: what came back is still walked by the rules, but
hop distances beyond the cut may be too long and identifiers missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from gremlin_python.process.graph_traversal import GraphTraversal, GraphTraversalSource, __
from gremlin_python.process.traversal import Direction, P, T
from gremlin_python.statics import long
from gremlin_python.structure.graph import Edge

from . import model
from .customers import anchor, components, is_generic

__all__ = ["Hood", "by_reference", "walk_source", "neighbourhood_walk", "members", "hood_source", "hood_traversal", "parse_hoods",
           "hoods_of", "cut_starts", "several_source", "several_traversal", "result_vertices",
           "edge_props", "link_map", "nearest", "shortest_paths", "anchor_of", "members_of", "plain"]


@dataclass
class Hood:
    """What one start identifier reaches: vertex id -> shortest path (ids: v, e, v, ...)."""

    start: str
    paths: dict[str, list[str]]
    vertices: dict[str, dict]
    edges: dict[str, dict]
    capped: bool = False

    def hops(self, vertex_id: str) -> int:
        return len(self.paths[vertex_id]) // 2


def by_reference(g: GraphTraversalSource) -> GraphTraversalSource:
    """``g`` whose elements come back as references: ids, labels and an edge's ends
    (``materializeProperties=tokens``, as Neptune always sends them). Gremlin Server 3.7 sends an
    element with all its properties by default: an edge twice the bytes of its element map, to
    write and to read, where a walk only needs its id and ends."""
    return g.with_("materializeProperties", "tokens")


def walk_source(g: GraphTraversalSource, *, seen: bool = True) -> GraphTraversal:
    """A traversal to start a neighbourhood walk from (then ``.V(...)``): its collections start with
    a placeholder (0) so that they exist even when the start is not found. Without ``seen``, the
    caller gives ``seen`` its placeholder after the walk (the batch read: Gremlin Server 3.7.3
    answers ``where(without('seen'))`` by a hash look-up only while every member is a vertex)."""
    source = g.inject(0).aggregate("starts")
    if seen:
        source = source.aggregate("seen")
    return source.aggregate("crossed").aggregate("reached")


def neighbourhood_walk(start: GraphTraversal, *, max_hops: int, expand_limit: int, cap: int,
                       as_of_ms: int | None = None, expanded: str | None = None) -> GraphTraversal:
    """Append the walk (module docstring) to ``start``, a ``walk_source`` traversal positioned on
    the start identifiers. It leaves ``starts``, ``seen`` (identifiers reached), ``crossed``
    (links crossed) and ``reached`` (what each hop found new, before ``cap``), and, when
    ``expanded`` names a collection ``start`` opened, the identifiers whose links it crossed. With
    several starts, an identifier is expanded once, at its smallest distance from any of them: a
    superset of what each start's own walk reaches."""
    walk = start.aggregate("starts").aggregate("seen")
    for _ in range(max_hops):
        walk = walk.has("degree", P.lte(expand_limit)).has_not(model.SHARED)
        if expanded is not None:
            walk = walk.aggregate(expanded)
        walk = walk.both_e(model.LINK).has_not(model.SCOPED)
        if as_of_ms is not None:
            walk = walk.has("first_seen", P.lte(long(as_of_ms)))
        walk = (walk.aggregate("crossed").other_v().where(P.without("seen"))
                .dedup().aggregate("reached").limit(cap).aggregate("seen"))
    return walk


def members(key: str) -> GraphTraversal:
    """A walk collection's elements without its placeholder, once each (a new traversal each
    call: gremlinpython's steps append in place)."""
    return __.select(key).unfold().is_(P.neq(0)).dedup()


def hood_source(g: GraphTraversalSource) -> GraphTraversal:
    """walk_source for hood_traversal, by reference: a link crossed comes back as its id and ends
    unless its properties are asked for."""
    return walk_source(by_reference(g))


def hood_traversal(start: GraphTraversal, *, max_hops: int, expand_limit: int, path_cap: int,
                   as_of_ms: int | None = None, extra: dict[str, GraphTraversal] | None = None,
                   edge_properties: bool = True, nolink_created: bool = False) -> GraphTraversal:
    """The neighbourhood of the start identifier(s) as a single result map (parse_hoods and
    result_vertices read it): ``start`` is a ``hood_source`` traversal positioned on them.
    ``extra`` adds keys to the map, each computed by an anonymous traversal (same round trip).
    Without ``edge_properties`` each link comes back as a reference, its id and ends (what the
    walk needs; evidence needs the rest); with ``nolink_created`` each do-not-link edge comes
    with when it was made (explain)."""
    walk = neighbourhood_walk(start, max_hops=max_hops, expand_limit=expand_limit, cap=path_cap,
                              as_of_ms=as_of_ms)
    result = _collections(walk.fold(), edge_properties, *extra or {}, nolink_created=nolink_created)
    for traversal in (extra or {}).values():
        result = result.by(traversal)
    return result


def _collections(folded: GraphTraversal, edge_properties: bool, *more: str,
                 nolink_created: bool = False) -> GraphTraversal:
    """What a walk reached (``folded``: the walk, folded) as one map, each collection by one
    step per element and never a child traversal per element: Gremlin Server 3.7.3 runs a child
    (``local(project(...))`` per identifier and per link) for each element, which cost it 4-20%
    of a resolve's CPU (docs/benchmarks.md, "Where the server's CPU per resolve goes"), and up to
    15 times as much per element at 250 starts as at 10 (several_traversal).
    Identifiers come back as element maps, their do-not-link partners as the do-not-link edges,
    links as references (the source's ``materializeProperties=tokens``) or element maps. The
    caller adds a ``by()`` for each of ``more``."""
    nolinks = members("seen").both_e(model.NOLINK).dedup()
    return (folded.project("starts", "reached", "vertices", "nolinks", "edges", *more)
            .by(members("starts").id_().fold())
            .by(__.select("reached").unfold().is_(P.neq(0)).count())
            .by(members("seen").element_map().fold())
            .by((nolinks.element_map("created") if nolink_created else nolinks).fold())
            .by((members("crossed").element_map() if edge_properties else members("crossed")).fold()))


def plain(element_map: dict) -> dict[str, Any]:
    """Element map with string keys: T.id/T.label as 'id'/'label', an edge's ends as 'out'/'in'
    (their ids)."""
    out: dict[str, Any] = {}
    for key, value in element_map.items():
        if isinstance(key, str):  # first: comparing a string with an enum member is slow (aenum)
            out[key] = value
        # tokens are their enums' singletons, whichever reader made the map: ``is``, not aenum's
        # __eq__, a Python call per comparison
        elif key is T.id:
            out["id"] = value
        elif key is T.label:
            out["label"] = value
        elif key is Direction.OUT:
            out["out"] = value[T.id]
        elif key is Direction.IN:
            out["in"] = value[T.id]
    return out


def edge_props(row: Edge | dict) -> dict[str, Any]:
    """An edge a walk returned, a reference or an element map, as plain properties ('id', 'out',
    'in', and whatever else the map holds)."""
    if isinstance(row, Edge):
        return {"id": row.id, "out": row.outV.id, "in": row.inV.id}
    return plain(row)


def link_map(vertices: Mapping[str, dict],
             element_maps: Iterable[dict]) -> tuple[dict[str, dict], dict[str, dict[str, str]]]:
    """The links a walk crossed (edges, or element maps with edge_properties: hood_traversal,
    several_traversal) -> (link id -> properties, identifier -> neighbour -> link id), the
    second holding only links whose ends both came back."""
    edges: dict[str, dict] = {}
    links: dict[str, dict[str, str]] = {}
    for row in element_maps:
        props = edge_props(row)
        edges[props["id"]] = props
        if props["out"] in vertices and props["in"] in vertices:  # else the far end was cut at ``cap``
            links.setdefault(props["out"], {})[props["in"]] = props["id"]
            links.setdefault(props["in"], {})[props["out"]] = props["id"]
    return edges, links


def several_source(g: GraphTraversalSource) -> GraphTraversal:
    """walk_source for several_traversal: ``seen`` gets its placeholder only after the walk, and
    ``cut`` (what the cap cut) has one; elements come back by reference."""
    return walk_source(by_reference(g), seen=False).aggregate("cut")


def several_traversal(start: GraphTraversal, *, max_hops: int, expand_limit: int, cap: int,
                      as_of_ms: int | None = None, edge_properties: bool = False) -> GraphTraversal:
    """The neighbourhoods of several start identifiers as one result map (parse_hoods reads it):
    ``start`` is a ``several_source`` traversal positioned on them, ``cap`` the walk together's.

    Its cost per start does not grow with the starts (docs/benchmarks.md, "Batch resolve"):
    each collection comes back by one step per element (_collections). ``seen`` holds only
    vertices while the walk and the cut read it (TinkerPop looks a vertex up in it by hash only
    then, else compares it with every member): the cut is collected before ``seen`` gets its
    placeholder."""
    walk = neighbourhood_walk(start, max_hops=max_hops, expand_limit=expand_limit, cap=cap, as_of_ms=as_of_ms)

    return (_collections(walk.fold()
            .side_effect(__.select("reached").unfold().is_(P.neq(0)).where(P.without("seen")).aggregate("cut"))
            .side_effect(__.constant(0).aggregate("seen")), edge_properties, "cut")
            .by(__.select("cut").unfold().is_(P.neq(0)).id_().fold()))


def result_vertices(result: dict) -> dict[str, dict[str, Any]]:
    """A walk's identifiers (hood_traversal's or several_traversal's result) by vertex id, each
    as plain properties: 'id', 'label', ..., and 'nolinks', its do-not-link partners."""
    partners: dict[str, set[str]] = {}
    for edge in map(edge_props, result.get("nolinks", ())):
        partners.setdefault(edge["out"], set()).add(edge["in"])
        partners.setdefault(edge["in"], set()).add(edge["out"])
    vertices = {}
    for element_map in result.get("vertices", ()):
        props = plain(element_map)
        props["nolinks"] = frozenset(partners.get(props["id"], ()))
        vertices[props["id"]] = props
    return vertices


def parse_hoods(result: dict, *, max_hops: int, expand_limit: int) -> dict[str, Hood]:
    """The traversal's single result (hood_traversal's or several_traversal's) -> one Hood per
    start identifier (none if it was not found)."""
    vertices = result_vertices(result)
    return hoods_of(result, vertices, *link_map(vertices, result.get("edges", [])), max_hops=max_hops,
                    expand_limit=expand_limit)


def hoods_of(result: dict, vertices: dict[str, dict], edges: dict[str, dict], links: dict[str, dict[str, str]], *,
             max_hops: int, expand_limit: int) -> dict[str, Hood]:
    """parse_hoods for a result already decoded (``vertices``; ``edges`` and ``links``: link_map):
    a caller walking one result under several bounds decodes it once."""
    starts = result.get("starts", [])
    # every identifier a hop found new either went on or was cut at ``cap``
    capped = result.get("reached", 0) > len(vertices) - len(starts)
    return {start: Hood(start, shortest_paths(start, vertices, links, max_hops, expand_limit), vertices, edges, capped)
            for start in starts if start in vertices}


def cut_starts(result: dict, hoods: Mapping[str, Hood]) -> set[str]:
    """The starts of a walk from several starts (``result``: several_traversal's, whose "cut"
    lists each time a hop's cap cut an identifier that no later hop reached, its id once per cut;
    its ``hoods``) that its cap may have cut: those linked, through the links it crossed, to an
    identifier it cut. A start linked to none walked as it would have walked alone: the cap
    only drops identifiers, and what its walk reached is linked to nothing dropped. All of
    them when a hop cut an identifier that a later hop reached (it came back, on a path that may
    be longer than its own): which starts that touched is not told."""
    if not hoods:
        return set()
    some = next(iter(hoods.values()))
    cuts = result.get("reached", 0) - (len(some.vertices) - len(result.get("starts", [])))
    if cuts <= 0:
        return set()
    cut = result.get("cut", [])
    if len(cut) != cuts:
        return set(hoods)
    links: dict[str, set[str]] = {}
    for edge in some.edges.values():  # every link crossed, to a cut far end too
        links.setdefault(edge["out"], set()).add(edge["in"])
        links.setdefault(edge["in"], set()).add(edge["out"])
    cut_set = set(cut)
    groups = components(links.keys() | cut_set | hoods.keys(), links)
    return {start for group in groups if group & cut_set for start in group & hoods.keys()}


def nearest(start: str, vertices: Mapping[str, dict], links: Mapping[str, Mapping[str, str]],
            max_hops: int, expand_limit: int) -> dict[str, tuple[int, str, str]]:
    """Identifier -> (hops, parent, link to the parent) on its smallest (length, ids) path from
    ``start``, walking ``links`` (identifier -> neighbour -> link id) hop by hop and expanding only
    identifiers with at most ``expand_limit`` links and not marked shared, as the graph walk does. The start maps to
    (0, "", "")."""
    found = {start: (0, "", "")}
    frontier = [start]  # one hop's identifiers, in the order of their smallest paths
    for hop in range(1, max_hops + 1):
        # all paths to one hop have one length: a path is smaller by its parent's path, then its
        # last link (the parent's rank in ``frontier`` stands for its path)
        best: dict[str, tuple[int, str, str]] = {}
        for rank, vertex in enumerate(frontier):
            if is_generic(vertices[vertex], expand_limit):
                continue
            for other, link in links.get(vertex, {}).items():
                if other not in found and (other not in best or (rank, link) < best[other][:2]):
                    best[other] = (rank, link, vertex)
        for other, (_, link, parent) in best.items():
            found[other] = (hop, parent, link)
        frontier = sorted(best, key=lambda v: best[v][:2])
    return found


def shortest_paths(start: str, vertices: Mapping[str, dict], links: Mapping[str, Mapping[str, str]],
                   max_hops: int, expand_limit: int) -> dict[str, list[str]]:
    """Identifier -> its smallest (length, ids) path from ``start`` (ids: v, e, v, ...), by ``nearest``."""
    paths = {start: [start]}
    # nearest() finds identifiers hop by hop, so each one's parent comes before it (no recursive
    # closure: one would be a reference cycle holding every resolve's paths for the collector)
    for vertex, (_, parent, link) in nearest(start, vertices, links, max_hops, expand_limit).items():
        if vertex != start:
            paths[vertex] = paths[parent] + [link, vertex]
    return paths


def anchor_of(hood: Hood, generic_threshold: int) -> Mapping[str, Any]:
    """The vertex whose customer id the neighbourhood carries (identity.domain.customers.anchor)."""
    return anchor(hood.vertices[hood.start], (hood.vertices[v] for v in hood.paths), generic_threshold)


def members_of(reached: Iterable[str], vertices: Mapping[str, dict], generic_threshold: int) -> list[str]:
    """The identifiers that make up the customer: those reached that are not generic."""
    return [v for v in reached if not is_generic(vertices[v], generic_threshold)]
