"""Bounded neighbourhoods in one graph round trip, and the Resolution built from them.

One traversal walks ``link`` edges from the start identifier(s)::

    g.V(start).emit()
     .repeat(has('degree', lte(L)).both_e('link')[.has('first_seen', lte(T))].otherV().simplePath())
     .times(max_hops).limit(path_cap).path().fold()
     .project('paths', 'elements').by(<ids of each path>).by(<element maps of distinct elements>)

``L`` is the fan-out bound: an identifier with more links than L is reported but not expanded
(that is how generic values stop spreading). Every simple path up to ``max_hops`` is returned
once, as ids; each element's properties come once in ``elements``. The shortest path to each
identifier gives its hop distance and its evidence. No client-side walking, whatever the engine's
repeat() order (breadth- or depth-first): the minimum is taken here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping

from gremlin_python.process.graph_traversal import GraphTraversal, __
from gremlin_python.process.traversal import Direction, P, T
from gremlin_python.statics import long

from . import model

__all__ = ["Hood", "Resolution", "hood_traversal", "parse_hoods", "anchor_of", "members_of", "open_value", "plain",
           "identifier_row", "identifier_props"]


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


def hood_traversal(start: GraphTraversal, *, max_hops: int, expand_limit: int, path_cap: int,
                   as_of_ms: int | None = None, extra: dict[str, GraphTraversal] | None = None) -> GraphTraversal:
    """Append the neighbourhood walk to ``start`` (a traversal positioned on identifier vertices,
    from the traversal source: paths must begin at the start). ``extra`` adds keys to the single
    result map, each computed by an anonymous traversal (same round trip)."""
    step = __.has("degree", P.lte(expand_limit)).both_e(model.LINK)
    if as_of_ms is not None:
        step = step.has("first_seen", P.lte(long(as_of_ms)))
    step = step.other_v().simple_path()
    walk = start.emit().repeat(step).times(max_hops) if max_hops > 0 else start
    extra = extra or {}
    result = (walk.limit(path_cap).path().fold()
              .project("paths", "elements", *extra)
              .by(__.unfold().local(__.unfold().id_().fold()).fold())
              .by(__.unfold().unfold().dedup()
                  .choose(__.has_label(model.IDENTIFIER), identifier_row(), __.project("m").by(__.element_map()))
                  .fold()))
    for traversal in extra.values():
        result = result.by(traversal)
    return result


def identifier_row(*keys: str) -> GraphTraversal:
    """An identifier vertex's properties (``keys`` only, when given) and its do-not-link
    partners, as identifier_props reads them."""
    return __.project("m", "nl").by(__.element_map(*keys)).by(__.both(model.NOLINK).id_().fold())


def identifier_props(row: dict) -> dict[str, Any]:
    """identifier_row()'s result as plain properties: 'id', 'label', ..., 'nolinks'."""
    props = plain(row["m"])
    props["nolinks"] = frozenset(row.get("nl", ()))
    return props


def plain(element_map: dict) -> dict[str, Any]:
    """Element map with string keys: T.id/T.label as 'id'/'label', an edge's ends as 'out'/'in'
    (their ids)."""
    out: dict[str, Any] = {}
    for key, value in element_map.items():
        if key == T.id:
            out["id"] = value
        elif key == T.label:
            out["label"] = value
        elif key == Direction.OUT:
            out["out"] = value[T.id]
        elif key == Direction.IN:
            out["in"] = value[T.id]
        elif isinstance(key, str):
            out[key] = value
    return out


def parse_hoods(result: dict, path_cap: int) -> dict[str, Hood]:
    """The traversal's single result -> one Hood per start identifier."""
    vertices: dict[str, dict] = {}
    edges: dict[str, dict] = {}
    for entry in result.get("elements", []):
        if "nl" in entry:
            props = identifier_props(entry)
            vertices[props["id"]] = props
        else:
            props = plain(entry["m"])
            edges[props["id"]] = props
    raw_paths = result.get("paths", [])
    hoods: dict[str, Hood] = {}
    for path in raw_paths:
        hood = hoods.get(path[0])
        if hood is None:
            hood = hoods[path[0]] = Hood(path[0], {}, vertices, edges)
        end = path[-1]
        known = hood.paths.get(end)
        if known is None or (len(path), path) < (len(known), known):
            hood.paths[end] = path
    if len(raw_paths) >= path_cap:
        for hood in hoods.values():
            hood.capped = True
    return hoods


def anchor_of(hood: Hood, generic_threshold: int) -> dict:
    """The vertex whose customer id the neighbourhood carries: among non-generic identifiers the
    oldest founder (one that minted a customer id), else the oldest; ties by id. A generic start
    anchors only itself."""
    start = hood.vertices[hood.start]
    if start["degree"] > generic_threshold:
        return start
    members = [hood.vertices[v] for v in members_of(hood.paths, hood.vertices, generic_threshold)]
    return min(members, key=lambda v: (not v.get("founder"), v["created"], v["id"]))


def members_of(reached: Iterable[str], vertices: Mapping[str, dict], generic_threshold: int) -> list[str]:
    """The identifiers that make up the customer: those reached that are not generic."""
    return [v for v in reached if vertices[v]["degree"] <= generic_threshold]


def open_value(protector: Any, props: dict) -> str:
    """An identifier vertex's plaintext value (``props`` as parsed: with its id and sealed value)."""
    return protector.open(props["id"], "value", props["value"])


@dataclass
class Resolution:
    customer_id: str
    identifiers: dict[str, list[dict]]
    evidence: list | None
    truncated: bool
    #: other customer ids (merged into this one) that identifiers here first minted
    aliases: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "identifiers": self.identifiers, "evidence": self.evidence,
                "truncated": self.truncated, "aliases": list(self.aliases)}


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat().replace("+00:00", "Z")
