"""resolve: the customer an identifier belongs to, with its identifiers and, on request, the
evidence paths, answered from the neighbourhood walk (identity.domain.walk) as one tenant's graph
reads it (identity.domain.tenant_graph). resolve_many answers many at once, walking them together.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..base.errors import ValidationError, check_int
from . import customers, model
from .customers import is_generic
from .identifiers import parse_timestamp
from .tenant_graph import CUSTOMER_LOOKUP_TYPE, TenantGraph
from .walk import Hood

__all__ = ["Resolution", "resolve", "resolve_many", "resolve_each", "open_value", "iso", "MAX_HOPS_LIMIT",
           "MAX_RESOLVE_MANY", "STARTS_PER_WALK"]

#: The most links a walk may cross from its start (resolve's, resolve_many's and explain's max_hops).
MAX_HOPS_LIMIT = 10
#: The most identifiers one resolve_many call takes.
MAX_RESOLVE_MANY = 1000
#: The most distinct start identifiers one resolve_many graph round trip walks from: a call of
#: MAX_RESOLVE_MANY identifiers is at most 4 round trips (plus one per customer-id lookup), and
#: one walk's reply stays far below Gremlin Server's and Neptune's frame limits.
STARTS_PER_WALK = 250


@dataclass
class Resolution:
    customer_id: str
    identifiers: dict[str, list[dict]]
    evidence: list | None
    truncated: bool
    #: the other ids its identifiers carry (customers merged into it; identity.domain.customers)
    aliases: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"customer_id": self.customer_id, "identifiers": self.identifiers, "evidence": self.evidence,
                "truncated": self.truncated, "aliases": list(self.aliases)}


def open_value(protector: Any, props: dict) -> str:
    """An identifier vertex's plaintext value (``props`` as parsed: with its id and sealed value)."""
    return protector.open(props["id"], "value", props["value"])


def iso(ms: int | None) -> str | None:
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat().replace("+00:00", "Z")


def resolve(graph: TenantGraph, id_type: str, value: str, *, max_hops: int | None = None, max_identifiers: int = 100,
            max_fanout: int = 50, evidence: bool = False,
            as_of: float | str | None = None) -> Resolution | None:
    """The customer ``(id_type, value)`` belongs to and its identifiers within ``max_hops``
    links, in one graph round trip; None when the identifier is unknown (as of ``as_of``)."""
    max_hops = graph.config.max_hops if max_hops is None else max_hops
    check_int("max_hops", max_hops, 0, MAX_HOPS_LIMIT)
    check_int("max_identifiers", max_identifiers, 1, 1_000_000)
    check_int("max_fanout", max_fanout, 1, 1_000_000)
    as_of_ms = None if as_of is None else parse_timestamp(as_of, field="as_of", epoch_unit_ms=False)
    hood = graph.hood(id_type, value, max_hops=max_hops, max_fanout=max_fanout, as_of_ms=as_of_ms,
                      edge_properties=evidence)
    if hood is None:
        return None
    return _resolution(graph, hood, max_hops, max_identifiers, max_fanout, evidence,
                       asked=value if id_type == CUSTOMER_LOOKUP_TYPE else None)


def resolve_many(graph: TenantGraph, identifiers: list, *, max_hops: int | None = None, max_identifiers: int = 100,
                 max_fanout: int = 50, evidence: bool = False,
                 as_of: float | str | None = None) -> list[Resolution | None | ValidationError]:
    """resolve() for each ``{"type": ..., "value": ...}`` of ``identifiers`` (at most
    MAX_RESOLVE_MANY), in order: each identifier's Resolution, None when it is unknown, or
    the ValidationError of an invalid one (the others still resolve). The options are
    resolve()'s, checked once (ValidationError for the whole call).

    Each answer is the one resolve() gives: the identifiers are walked together, up to
    STARTS_PER_WALK per round trip (walk.neighbourhood_walk with several starts holds all
    of each start's own neighbourhood), and each start's neighbourhood is walked again in
    what came back by resolve's rules (walk.shortest_paths). A start whose own walk
    would have been cut at ``path_cap`` (which of its identifiers the cut keeps is the
    graph's choice), one linked to what the walk together's cap cut (walk.cut_starts), and
    a customer id are resolved on their own, one round trip each."""
    if not isinstance(identifiers, list) or not 1 <= len(identifiers) <= MAX_RESOLVE_MANY:
        raise ValidationError("identifiers", f"must be a list of 1..{MAX_RESOLVE_MANY} identifiers")
    asked: list[tuple[Any, Any, str] | ValidationError] = []
    for position, item in enumerate(identifiers):
        where = f"identifiers[{position}]"
        if not isinstance(item, dict) or set(item) != {"type", "value"}:
            asked.append(ValidationError(where, "must be an object with exactly 'type' and 'value'"))
        else:
            asked.append((item["type"], item["value"], where))
    return _together(graph, asked, max_hops=max_hops, max_identifiers=max_identifiers, max_fanout=max_fanout,
                     evidence=evidence, as_of=as_of)


def resolve_each(graph: TenantGraph, asked: list[tuple[str, str]], *, max_hops: int | None = None,
                 max_identifiers: int = 100, max_fanout: int = 50, evidence: bool = False,
                 as_of: float | str | None = None) -> list[Resolution | None | ValidationError]:
    """What resolve() answers for each ``(id_type, value)`` of ``asked`` with these options, in
    order, walked together as resolve_many walks its identifiers: its Resolution, None, or the
    ValidationError resolve() raises for it, named as resolve() names it (an invalid option
    raises, as it would for each). The service walks a tenant's queued resolves with it
    (identity.service.rpc.admission)."""
    return _together(graph, [(id_type, value, "") for id_type, value in asked], max_hops=max_hops,
                     max_identifiers=max_identifiers, max_fanout=max_fanout, evidence=evidence, as_of=as_of)


def _together(graph: TenantGraph, asked: list[tuple[Any, Any, str] | ValidationError], *, max_hops: int | None,
              max_identifiers: int, max_fanout: int, evidence: bool,
              as_of: float | str | None) -> list[Resolution | None | ValidationError]:
    """resolve_many's walk of ``asked``, each an ``(id_type, value, field)`` (``field`` names
    its invalid inputs, as TenantGraph.hood's) or the error it already is."""
    max_hops = graph.config.max_hops if max_hops is None else max_hops
    check_int("max_hops", max_hops, 0, MAX_HOPS_LIMIT)
    check_int("max_identifiers", max_identifiers, 1, 1_000_000)
    check_int("max_fanout", max_fanout, 1, 1_000_000)
    as_of_ms = None if as_of is None else parse_timestamp(as_of, field="as_of", epoch_unit_ms=False)
    answers: list[Resolution | None | ValidationError] = [None] * len(asked)
    starts: dict[str, list[int]] = {}  # vertex id -> the positions asking for it
    for position, item in enumerate(asked):
        if isinstance(item, ValidationError):
            answers[position] = item
            continue
        id_type, value, where = item
        try:
            if id_type == CUSTOMER_LOOKUP_TYPE:
                hood = graph.hood(id_type, value, max_hops=max_hops, max_fanout=max_fanout,
                                  as_of_ms=as_of_ms, field=where, edge_properties=evidence)
                answers[position] = hood and _resolution(graph, hood, max_hops, max_identifiers, max_fanout,
                                                         evidence, asked=value)
                continue
            starts.setdefault(graph.vertex_id(id_type, value, field=where), []).append(position)
        except ValidationError as invalid:
            answers[position] = invalid
    ids = list(starts)
    for first in range(0, len(ids), STARTS_PER_WALK):
        for vertex, hood in graph.hoods(ids[first:first + STARTS_PER_WALK], max_hops=max_hops,
                                        max_fanout=max_fanout, as_of_ms=as_of_ms,
                                        edge_properties=evidence).items():
            resolution = _resolution(graph, hood, max_hops, max_identifiers, max_fanout, evidence)
            for position in starts[vertex]:
                answers[position] = resolution
    return answers


def _resolution(graph: TenantGraph, hood: Hood, max_hops: int, max_identifiers: int, max_fanout: int,
                evidence: bool, asked: str | None = None) -> Resolution:
    """The answer for ``hood``; ``asked``: the customer id the lookup started from."""
    threshold = graph.config.generic_threshold
    start = hood.vertices[hood.start]
    members = [] if is_generic(start, threshold) else [
        hood.vertices[v] for v in hood.paths if not is_generic(hood.vertices[v], threshold)]
    # customers.anchor, with the members aliases needs too: a generic start answers for itself
    customer = (customers.primary(members) if members else start)[model.CID]
    ordered = sorted(hood.paths, key=lambda v: (hood.hops(v), v))
    listed = ordered[:max_identifiers]
    truncated = hood.capped or len(ordered) > max_identifiers or any(
        not is_generic(hood.vertices[v], threshold) and hood.vertices[v]["degree"] > max_fanout
        and hood.hops(v) < max_hops for v in ordered)
    values = {v: open_value(graph.protector, hood.vertices[v]) for v in listed}
    identifiers: dict[str, list[dict]] = {}
    for v in sorted(listed, key=lambda v: (hood.hops(v), values[v])):
        props = hood.vertices[v]
        identifiers.setdefault(props["type"], []).append(
            {"value": values[v], "hops": hood.hops(v), "generic": is_generic(props, threshold)})
    proof = [_evidence(graph, hood, v, values) for v in listed] if evidence else None
    aliases = customers.aliases(members, customer)
    if asked is not None and asked != customer and asked not in aliases:
        aliases = sorted([*aliases, asked])  # a retired id: it leads here now
    return Resolution(customer, identifiers, proof, truncated, aliases)


def _evidence(graph: TenantGraph, hood: Hood, vertex_id: str, values: dict[str, str]) -> dict:
    path = hood.paths[vertex_id]
    steps = []
    for k in range(1, len(path), 2):
        before, edge, after = path[k - 1], hood.edges[path[k]], path[k + 1]
        steps.append({"from": _describe(graph, hood, before, values), "to": _describe(graph, hood, after, values),
                      "first_seen": iso(edge["first_seen"]), "last_seen": iso(edge["last_seen"]),
                      "count": edge["count"], "events": sorted({edge["first_event"], edge["last_event"]})})
    props = hood.vertices[vertex_id]
    return {"type": props["type"], "value": values[vertex_id], "hops": hood.hops(vertex_id), "path": steps}


def _describe(graph: TenantGraph, hood: Hood, vertex_id: str, values: dict[str, str]) -> dict:
    props = hood.vertices[vertex_id]
    value = values.get(vertex_id)
    if value is None:
        value = values[vertex_id] = open_value(graph.protector, props)
    return {"type": props["type"], "value": value}
