"""IdentityGraph: the identity service's API over one tenant's slice of a graph.

    g = identity.graph.connection.open_traversal("memory://")
    ids = IdentityGraph(g, "acme")
    ids.ingest([{"type": "signup", "identifiers": [{"type": "email", "value": "ann@example.com"}]}])
    ids.resolve("email", "Ann@Example.com")
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Callable

from gremlin_python.process.graph_traversal import GraphTraversal, GraphTraversalSource, __
from gremlin_python.process.strategies import PartitionStrategy
from gremlin_python.process.traversal import Cardinality, Merge, P, T
from gremlin_python.statics import long

from ..base.errors import GraphUnavailable, NotFound, ValidationError, check_int
from ..graph.connection import submit
from ..graph.group_commit import GroupCommit
from ..security.protect import DevelopmentProtector, Protector
from . import customers, model, privacy
from .explain import explain as explain_pair
from .guards import TenantConfig
from .identifiers import normalize, parse_timestamp
from .ingest import CreationClock, IngestResult, PreparedEvent, RejectedEvent, increment, ingest_batch, prepare_batch
from .walk import (Hood, Resolution, anchor_of, hood_traversal, identifier_vertices, is_generic, iso, link_map,
                   open_value, parse_hoods, walk_source)

__all__ = ["IdentityGraph", "identifier_vertex_id", "tenant_scoped", "tenant_partition", "CUSTOMER_LOOKUP_TYPE",
           "MAX_RESOLVE_MANY", "STARTS_PER_WALK"]

#: resolve("customer", "c-…") starts from a customer id: current, merged (an alias) or retired.
CUSTOMER_LOOKUP_TYPE = "customer"
_MAX_HOPS_LIMIT = 10
#: The most identifiers one resolve_many call takes.
MAX_RESOLVE_MANY = 1000
#: The most distinct start identifiers one resolve_many graph round trip walks from: a call of
#: MAX_RESOLVE_MANY identifiers is at most 4 round trips (plus one per customer-id lookup), and
#: one walk's reply stays far below Gremlin Server's and Neptune's frame limits.
STARTS_PER_WALK = 250
#: How often in a row unlink and forget read again after a concurrent write changed what they
#: read (each time, they planned a customer split on it), before giving up.
MAX_CONFLICTS = 25


def identifier_vertex_id(tenant: str, id_type: str, value: str, *, protector: Protector | None = None,
                         config: TenantConfig | None = None) -> str:
    """The vertex id an identifier has in ``tenant``'s graph (for a Gremlin console session)."""
    config = config or TenantConfig()
    normalized = normalize(id_type, value, config)
    return model.identifier_id(tenant, id_type, (protector or DevelopmentProtector()).blind_index(id_type, normalized))


def tenant_partition(tenant: str) -> PartitionStrategy:
    """The strategy that keeps a traversal in ``tenant``'s partition (the Gremlin console endpoint
    imposes it on a tenant's traversals too)."""
    return PartitionStrategy(partition_key=model.TENANT, write_partition=tenant, read_partitions=[tenant])


def tenant_scoped(g: GraphTraversalSource, tenant: str) -> GraphTraversalSource:
    """``g`` restricted to ``tenant``'s partition: every element read must carry ``tenant=<tenant>``
    and every element written gets it. The first of two walls; tenant-prefixed ids are the second."""
    return g.with_strategies(tenant_partition(tenant))


class IdentityGraph:
    def __init__(self, g: GraphTraversalSource, tenant: str, *,
                 config: TenantConfig | Callable[[], TenantConfig] | None = None,
                 protector: Protector | None = None, clock: Callable[[], float] = time.time,
                 reader: GraphTraversalSource | None = None):
        if not isinstance(tenant, str) or not tenant or ":" in tenant:
            raise ValidationError("tenant", "must be a non-empty string without ':'")
        self.g = tenant_scoped(g, tenant)
        #: resolve and stats read here (a read replica may lag the writer ``g`` slightly);
        #: ingest and unlink read their own writes on ``g``.
        self.reader = tenant_scoped(reader, tenant) if reader is not None else self.g
        self.tenant = tenant
        #: the tenant's settings, or where to read them on each call (identity.service.settings: an
        #: operator's change applies without a restart)
        self._config: Callable[[], TenantConfig] = config if callable(config) else \
            (lambda fixed=config or TenantConfig(): fixed)
        self.protector = protector or DevelopmentProtector()
        self.clock = clock
        self._creation = CreationClock(clock)
        #: this tenant's ingests in this process, queued behind one writer (identity.graph.group_commit)
        self._ingest_writer: GroupCommit[PreparedEvent, IngestResult] = GroupCommit(self._ingest_prepared)

    @property
    def config(self) -> TenantConfig:
        """The tenant's guard and normalisation settings now."""
        return self._config()

    @config.setter
    def config(self, config: TenantConfig) -> None:
        self._config = lambda: config

    # -- ingest ------------------------------------------------------------------------------
    def ingest(self, events: list[dict], *, atomic: bool = True) -> list[IngestResult | RejectedEvent]:
        """Link each event's identifiers; one result per event, in order, as if the events were
        ingested one at a time. The whole batch is validated first: with ``atomic`` an invalid
        event raises ValidationError and nothing is written; without, each invalid event's
        result is a RejectedEvent (with the error) and the valid events are ingested. One read
        and one write traversal per batch (per chunk of identity.domain.ingest.MAX_WRITES_PER_TRAVERSAL
        element writes for large batches). Concurrent calls on this object are written
        together, by one of them, as one batch: the results are those of the calls made one
        after another, in the order they were queued."""
        now_ms = int(self.clock() * 1000)
        prepared = prepare_batch(events, self.tenant, self.config, self.protector, now_ms, atomic=atomic)
        valid = [event for event in prepared if isinstance(event, PreparedEvent)]
        written = iter(self._ingest_writer.submit(valid) if valid else ())
        return [next(written) if isinstance(event, PreparedEvent) else event for event in prepared]

    def _ingest_prepared(self, prepared: list[PreparedEvent]) -> list[IngestResult]:
        return ingest_batch(self.g, self.tenant, prepared, self.config, self.protector, self._creation)

    # -- resolve -----------------------------------------------------------------------------
    def resolve(self, id_type: str, value: str, *, max_hops: int | None = None, max_identifiers: int = 100,
                max_fanout: int = 50, evidence: bool = False,
                as_of: float | str | None = None) -> Resolution | None:
        """The customer ``(id_type, value)`` belongs to and its identifiers within ``max_hops``
        links, in one graph round trip; None when the identifier is unknown (as of ``as_of``)."""
        max_hops = self.config.max_hops if max_hops is None else max_hops
        check_int("max_hops", max_hops, 0, _MAX_HOPS_LIMIT)
        check_int("max_identifiers", max_identifiers, 1, 1_000_000)
        check_int("max_fanout", max_fanout, 1, 1_000_000)
        as_of_ms = None if as_of is None else parse_timestamp(as_of, field="as_of", epoch_unit_ms=False)
        hood = self.hood(id_type, value, max_hops=max_hops, max_fanout=max_fanout, as_of_ms=as_of_ms,
                         edge_properties=evidence)
        if hood is None:
            return None
        return self._resolution(hood, max_hops, max_identifiers, max_fanout, evidence,
                                asked=value if id_type == CUSTOMER_LOOKUP_TYPE else None)

    def resolve_many(self, identifiers: list, *, max_hops: int | None = None, max_identifiers: int = 100,
                     max_fanout: int = 50, evidence: bool = False,
                     as_of: float | str | None = None) -> list[Resolution | None | ValidationError]:
        """resolve() for each ``{"type": ..., "value": ...}`` of ``identifiers`` (at most
        MAX_RESOLVE_MANY), in order: each identifier's Resolution, None when it is unknown, or
        the ValidationError of an invalid one (the others still resolve). The options are
        resolve()'s, checked once (ValidationError for the whole call).

        Each answer is the one resolve() gives: the identifiers are walked together, up to
        STARTS_PER_WALK per round trip (resolve.neighbourhood_walk with several starts holds all
        of each start's own neighbourhood), and each start's neighbourhood is walked again in
        what came back by resolve's rules (resolve.shortest_paths). A start whose own walk
        would have been cut at ``path_cap`` (which of its identifiers the cut keeps is the
        graph's choice) and a customer id are resolved on their own, one round trip each."""
        if not isinstance(identifiers, list) or not 1 <= len(identifiers) <= MAX_RESOLVE_MANY:
            raise ValidationError("identifiers", f"must be a list of 1..{MAX_RESOLVE_MANY} identifiers")
        max_hops = self.config.max_hops if max_hops is None else max_hops
        check_int("max_hops", max_hops, 0, _MAX_HOPS_LIMIT)
        check_int("max_identifiers", max_identifiers, 1, 1_000_000)
        check_int("max_fanout", max_fanout, 1, 1_000_000)
        as_of_ms = None if as_of is None else parse_timestamp(as_of, field="as_of", epoch_unit_ms=False)
        answers: list[Resolution | None | ValidationError] = [None] * len(identifiers)
        starts: dict[str, list[int]] = {}  # vertex id -> the positions asking for it
        for position, item in enumerate(identifiers):
            where = f"identifiers[{position}]"
            try:
                if not isinstance(item, dict) or set(item) != {"type", "value"}:
                    raise ValidationError(where, "must be an object with exactly 'type' and 'value'")
                if item["type"] == CUSTOMER_LOOKUP_TYPE:
                    hood = self.hood(item["type"], item["value"], max_hops=max_hops, max_fanout=max_fanout,
                                     as_of_ms=as_of_ms, field=where, edge_properties=evidence)
                    answers[position] = hood and self._resolution(hood, max_hops, max_identifiers, max_fanout,
                                                                  evidence, asked=item["value"])
                    continue
                starts.setdefault(self.vertex_id(item["type"], item["value"], field=where), []).append(position)
            except ValidationError as invalid:
                answers[position] = invalid
        ids = list(starts)
        for first in range(0, len(ids), STARTS_PER_WALK):
            for vertex, hood in self._hoods(ids[first:first + STARTS_PER_WALK], max_hops=max_hops,
                                            max_fanout=max_fanout, as_of_ms=as_of_ms,
                                            edge_properties=evidence).items():
                resolution = self._resolution(hood, max_hops, max_identifiers, max_fanout, evidence)
                for position in starts[vertex]:
                    answers[position] = resolution
        return answers

    def explain(self, a: tuple[str, str], b: tuple[str, str], *, max_hops: int | None = None,
                max_fanout: int = 50) -> dict:
        """Whether identifiers ``a`` and ``b`` are one customer now (as resolve answers it, with
        the same options) and the shortest evidence paths joining them, each link with the events
        that observed it; or what keeps them apart: do-not-link rules, identifiers the walk does
        not cross, the guard rules that refuse the events carrying both, no path within
        ``max_hops``, an identifier unknown, blocked or forgotten. Reads only, in at most two
        round trips (identity.domain.explain)."""
        max_hops = self.config.max_hops if max_hops is None else max_hops
        check_int("max_hops", max_hops, 0, _MAX_HOPS_LIMIT)
        check_int("max_fanout", max_fanout, 1, 1_000_000)
        return explain_pair(self, a, b, max_hops=max_hops, max_fanout=max_fanout)

    def _hoods(self, ids: list[str], *, max_hops: int, max_fanout: int, as_of_ms: int | None,
               edge_properties: bool = False) -> dict[str, Hood]:
        """The neighbourhood of each of ``ids`` (identifier vertex ids) that exists, as hood()
        reads it, in one round trip (plus one per start whose own walk a hop's cap would cut)."""
        start = walk_source(self.reader).V(*ids).has_label(model.IDENTIFIER)
        if as_of_ms is not None:
            start = start.has("first_seen", P.lte(long(as_of_ms)))
        expand = min(self.config.generic_threshold, max_fanout)
        cap = self.config.path_cap
        query = hood_traversal(start, max_hops=max_hops, expand_limit=expand, path_cap=cap * len(ids),
                               as_of_ms=as_of_ms, edge_properties=edge_properties)
        hoods = parse_hoods(submit(query)[0], max_hops=max_hops, expand_limit=expand)
        walked_together = not any(hood.capped for hood in hoods.values())
        for vertex, hood in hoods.items():
            per_hop = Counter(len(path) // 2 for path in hood.paths.values())
            if walked_together and max(per_hop.values()) <= cap:
                continue
            alone, _ = self._walk(walk_source(self.reader).V(vertex).has_label(model.IDENTIFIER), max_hops=max_hops,
                                  max_fanout=max_fanout, as_of_ms=as_of_ms, edge_properties=edge_properties)
            if alone is not None:
                hoods[vertex] = alone
        return hoods

    def hood(self, id_type: str, value: str, *, max_hops: int, max_fanout: int,
             as_of_ms: int | None = None, field: str = "", retired: bool = True,
             edge_properties: bool = False) -> Hood | None:
        """The neighbourhood resolve() reads (one round trip; two for a retired customer id);
        None for an unknown start. ``field`` prefixes the names of invalid inputs
        (``identifiers[2]``). Links carry their properties only with ``edge_properties`` (for
        evidence)."""
        prefix = f"{field}." if field else ""
        extra = {}
        if id_type == CUSTOMER_LOOKUP_TYPE:
            if not isinstance(value, str) or not value.startswith("c-"):
                raise ValidationError(prefix + "value", "is not a customer id")
            start = self._carrier(value)
            if retired:
                extra["heir"] = __.V(model.retired_id(self.tenant, value)).values(model.HEIR).fold()
        else:
            start = walk_source(self.reader).V(self.vertex_id(id_type, value, field=field)).has_label(model.IDENTIFIER)
        hood, result = self._walk(start, max_hops=max_hops, max_fanout=max_fanout, as_of_ms=as_of_ms, extra=extra,
                                  edge_properties=edge_properties)
        if hood is None and result.get("heir"):  # retired: it resolves through its heir, a live id
            return self.hood(CUSTOMER_LOOKUP_TYPE, result["heir"][0], max_hops=max_hops, max_fanout=max_fanout,
                             as_of_ms=as_of_ms, retired=False, edge_properties=edge_properties)
        return hood

    def _walk(self, start: GraphTraversal, *, max_hops: int, max_fanout: int, as_of_ms: int | None,
              extra: dict[str, GraphTraversal] | None = None, edge_properties: bool = False) -> tuple[Hood | None, dict]:
        """The neighbourhood of ``start``'s one identifier (a walk_source traversal on it), and
        the walk's whole result (with what ``extra`` asked: resolve.hood_traversal)."""
        if as_of_ms is not None:
            start = start.has("first_seen", P.lte(long(as_of_ms)))
        expand = min(self.config.generic_threshold, max_fanout)
        query = hood_traversal(start, max_hops=max_hops, expand_limit=expand, path_cap=self.config.path_cap,
                               as_of_ms=as_of_ms, extra=extra, edge_properties=edge_properties)
        result = submit(query)[0]
        hoods = parse_hoods(result, max_hops=max_hops, expand_limit=expand)
        return next(iter(hoods.values()), None), result

    def _carrier(self, cid: str) -> GraphTraversal:
        """A walk source on the identifier a customer id's lookup starts from: one carrying it (not
        a generic one if there is another), the least by vertex id, so that it is always the same."""
        def carriers() -> GraphTraversal:
            # the customer id is not tenant-prefixed: the explicit tenant filter backs the partition;
            # has('cid') right after V(), where the embedded graph answers it from a value index
            return __.V().has(model.CID, cid).has_label(model.IDENTIFIER).has(model.TENANT, self.tenant)
        members = carriers().has("degree", P.lte(self.config.generic_threshold)).has_not(model.SHARED)
        return walk_source(self.reader).coalesce(members.order().by(T.id).limit(1),
                                                 carriers().order().by(T.id).limit(1))

    def _resolution(self, hood: Hood, max_hops: int, max_identifiers: int, max_fanout: int,
                    evidence: bool, asked: str | None = None) -> Resolution:
        """The answer for ``hood``; ``asked``: the customer id the lookup started from."""
        threshold = self.config.generic_threshold
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
        values = {v: self._open(hood.vertices[v]) for v in listed}
        identifiers: dict[str, list[dict]] = {}
        for v in sorted(listed, key=lambda v: (hood.hops(v), values[v])):
            props = hood.vertices[v]
            identifiers.setdefault(props["type"], []).append(
                {"value": values[v], "hops": hood.hops(v), "generic": is_generic(props, threshold)})
        proof = [self._evidence(hood, v, values) for v in listed] if evidence else None
        aliases = customers.aliases(members, customer)
        if asked is not None and asked != customer and asked not in aliases:
            aliases = sorted([*aliases, asked])  # a retired id: it leads here now
        return Resolution(customer, identifiers, proof, truncated, aliases)

    def _evidence(self, hood: Hood, vertex_id: str, values: dict[str, str]) -> dict:
        path = hood.paths[vertex_id]
        steps = []
        for k in range(1, len(path), 2):
            before, edge, after = path[k - 1], hood.edges[path[k]], path[k + 1]
            steps.append({"from": self._describe(hood, before, values), "to": self._describe(hood, after, values),
                          "first_seen": iso(edge["first_seen"]), "last_seen": iso(edge["last_seen"]),
                          "count": edge["count"], "events": sorted({edge["first_event"], edge["last_event"]})})
        props = hood.vertices[vertex_id]
        return {"type": props["type"], "value": values[vertex_id], "hops": hood.hops(vertex_id), "path": steps}

    def _describe(self, hood: Hood, vertex_id: str, values: dict[str, str]) -> dict:
        props = hood.vertices[vertex_id]
        value = values.get(vertex_id)
        if value is None:
            value = values[vertex_id] = self._open(props)
        return {"type": props["type"], "value": value}

    def _open(self, props: dict) -> str:
        return open_value(self.protector, props)

    # -- unlink ------------------------------------------------------------------------------
    def unlink(self, a: tuple[str, str], b: tuple[str, str]) -> None:
        """Remove the link between two identifiers and record a do-not-link rule, so that
        replaying old events cannot link them (or merge their customers) again. When that splits
        a customer, the larger part keeps its id (identity.domain.customers): one read, one write."""
        va, vb = self.vertex_id(*a, field="a"), self.vertex_id(*b, field="b")
        if va == vb:
            raise ValidationError("b", "is the same identifier as a")
        lid = model.link_id(self.tenant, va, vb)
        low, high = model.link_ends(va, vb)
        config = self.config  # once: an operator may change it meanwhile (identity.service.settings)
        threshold = config.generic_threshold
        for _ in range(MAX_CONFLICTS + 1):
            around = self.around([va, vb], config)
            if not {va, vb} <= set(around.vertices):
                raise NotFound("identifier not found in this tenant's graph")
            t = self.g.inject(0)
            change = customers.Reassignment()
            if vb in around.links.get(va, ()):  # within a customer: dropping it may split it
                change = customers.split(self.tenant, around, threshold, self.mint(model.nolink_id(self.tenant, va, vb)),
                                         cut=[(va, vb)])
                # written only while the customer is as read (a concurrent unlink elsewhere in it
                # may be what makes this one split it)
                t = t.and_(*customers.unchanged(around, threshold))
            # the link is dropped and the degrees lowered in the same traversal, only if it is
            # there then: a concurrent ingest cannot make the degrees disagree with the links
            t = t.V(low).side_effect(
                __.out_e(model.LINK).has_id(lid).side_effect(__.drop())
                .V(low, high).property(Cardinality.single, "degree", increment("degree", -1)))
            t = customers.write(t, change, self.tenant, int(self.clock() * 1000))
            t = (t.merge_e(model.edge_key(self.tenant, model.nolink_id(self.tenant, va, vb), model.NOLINK, low, high))
                 .option(Merge.on_create, {"created": long(int(self.clock() * 1000))}))
            if submit(t):
                return
        raise GraphUnavailable("concurrent writes kept changing the customer this unlink splits; it can be retried")

    def around(self, vertex_ids: list[str], config: TenantConfig) -> customers.Neighbourhood:
        """The customers around identifiers as ingest sees them (``config``'s bounds: the tenant's),
        read from the writer in one round trip, for unlink and forget to split them."""
        start = walk_source(self.g).V(*vertex_ids).has_label(model.IDENTIFIER)
        result = submit(hood_traversal(start, max_hops=config.max_hops, expand_limit=config.expand_limit,
                                       path_cap=config.path_cap * len(vertex_ids), edge_properties=False))[0]
        vertices = identifier_vertices(result["vertices"])
        links: dict[str, set[str]] = {}
        crossed, _ = link_map(vertices, result["edges"])  # every link, a cut far end's too
        for edge in crossed.values():
            links.setdefault(edge["out"], set()).add(edge["in"])
            links.setdefault(edge["in"], set()).add(edge["out"])
        return customers.walk(vertex_ids, vertices.get, lambda v: links.get(v, ()), max_hops=config.max_hops,
                              expand_limit=config.expand_limit)

    def mint(self, cause: str) -> customers.Mint:
        """How a split caused by ``cause`` (an element id) mints customer ids (identity.domain.customers)."""
        now_ms = self._creation.now_ms()
        return customers.Mint(cause, lambda: self._creation.stamps(now_ms, 1))

    def customer_id(self, hood: Hood) -> str:
        """The id of the customer of the identifier ``hood`` starts from (identity.domain.customers)."""
        return anchor_of(hood, self.config.generic_threshold)[model.CID]

    # -- GDPR ------------------------------------------------------------------------------
    def forget(self, id_type: str, value: str) -> dict:
        """Erase an identifier, or (type "customer") every identifier of a customer, with their
        links and the events left without identifiers; suppress them so they are never stored
        again. See identity.domain.privacy."""
        return privacy.forget(self, id_type, value)

    def export(self, id_type: str, value: str) -> dict:
        """Everything stored about an identifier or a customer, decrypted (identity.domain.privacy)."""
        return privacy.export(self, id_type, value)

    # -- stats -------------------------------------------------------------------------------
    def stats(self) -> dict:
        """Element counts for this tenant (a full scan: for operators, not hot paths)."""
        row = submit(self.reader.inject(0).project("vertices", "edges", "types")
                     .by(__.V().has(model.TENANT, self.tenant).group_count().by(T.label))
                     .by(__.E().has(model.TENANT, self.tenant).group_count().by(T.label))
                     .by(__.V().has_label(model.IDENTIFIER).has(model.TENANT, self.tenant)
                         .group_count().by("type")))[0]
        vertices, edges = row["vertices"], row["edges"]
        return {"identifiers": vertices.get(model.IDENTIFIER, 0), "events": vertices.get(model.EVENT, 0),
                "links": edges.get(model.LINK, 0), "observations": edges.get(model.OBSERVED, 0),
                "do_not_link_rules": edges.get(model.NOLINK, 0), "suppressed": vertices.get(model.SUPPRESSED, 0),
                "retired_customer_ids": vertices.get(model.RETIRED, 0), "identifiers_by_type": dict(row["types"])}

    def vertex_id(self, id_type: str, value: str, field: str = "") -> str:
        """The vertex id of an identifier in this tenant's graph (ValidationError if invalid)."""
        normalized = normalize(id_type, value, self.config, field=field)
        return model.identifier_id(self.tenant, id_type, self.protector.blind_index(id_type, normalized))
