"""``identity check``: does a tenant's graph keep the invariants every writer relies on?

    report = check_graph(g, "acme", protector=protector, acknowledged=event_ids)
    report.ok, report.findings            # what is wrong, one Finding per element
    check_graph(g, "acme", protector=protector, repair=True)   # and mend what can be mended

Several service instances write one graph (docs/operations.md, "Several instances"), each
planning on what it read and writing under the optimistic guard (identity.domain.ingest); nothing but the
graph's own transactions coordinates them. This module is how an operator (and the tests and
benchmarks/scale_out.py) verifies afterwards that nothing was lost, duplicated or split:

- ``identifier_id``: an identifier vertex's id is ``<tenant>:<type>:<32 hex>`` of its own type;
- ``duplicate_identifier``: its id is its value's blind index (with a protector: the value is
  opened and indexed again), so no identifier has a second vertex;
- ``degree``: its ``degree`` counter is its number of links;
- ``link_id`` / ``duplicate_link``: a link's id is derived from its ends, stored from the lesser
  id to the greater, one per pair of identifiers;
- ``cross_tenant``: no edge joins this tenant's elements to another tenant's (or hangs on a
  vertex that is not an identifier or event of it);
- ``do_not_link``: no link joins two identifiers an unlink separated;
- ``event_id`` / ``duplicate_observation`` / ``orphan_event``: an event's vertex id is derived
  from its event id (so a redelivered event is one vertex), it observes each identifier once and
  at least one;
- ``suppressed``: no identifier forgotten on request is stored;
- ``missing_event``: every event the caller says was acknowledged is stored;
- customer ids (identity.domain.customers, docs/data-model.md "Customer ids"): ``customer_id``: each
  identifier carries exactly one customer id, so it is in exactly one customer;
  ``split_customer_id``: no id is carried by identifiers of two customers (a customer: the
  non-generic identifiers joined by links among them, as ``config``'s ``generic_threshold`` makes
  them; a generic identifier answers for itself alone), so no id names two customers;
  ``retired_id`` / ``retired_carried`` / ``retired_heir``: a retired id's record is
  ``<tenant>:retired:<id>`` with one heir, its id is carried by no identifier any more (resolve
  would never read the record), and its heir is a live id, one some identifier carries.

The check reads the tenant's elements in a handful of whole-partition scans (compact rows, no
per-element round trip) and works on the client, so its cost grows with the tenant's size only
(benchmarks/scale_out.py measures it; docs/operations.md). It reads without PartitionStrategy, so
that it sees an edge's far end in another tenant.

``repair`` mends what the graph itself can tell right: it gives the customers sharing an id the
ids the split rule gives them (customers.reassign, written under customers.unchanged's guard, as
an unlink writes a split: the largest keeps the id, the others go by another id they carry or a
new one), points a retired id's record that leads to another retired id at the live id at the
end of that chain, drops a record of an id that is carried again, sets each wrong ``degree`` to
the links the graph counts as it writes, drops repeated observations, edges that cross tenants and links an
unlink forbade, forgets again an identifier stored after it was forgotten, and drops an event that
observes no identifier (what a forget does with the events it leaves without any: an orphan is
what a forget racing an ingest of the same identifier leaves on a read-committed graph,
docs/data-model.md "Concurrent writers"; ingest writes an event and its observations in one
traversal, and never adds observations to a stored event). The other findings
(an id that is not its element's, a missing event, an identifier without one customer id, a
retired id leading nowhere) need a person: they are reported, never
"repaired" by deleting data. A repair racing live ingest is safe (each fix is one traversal that
recomputes from the graph) but the check that follows it may find what ingest is doing meanwhile.
"""

from __future__ import annotations

import itertools
import re
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from gremlin_python.process.graph_traversal import GraphTraversalSource, __
from gremlin_python.process.traversal import Cardinality

from ..graph.connection import ids_to_send, submit
from ..security.protect import Protector, SealedValueError
from . import customers, model, privacy
from .guards import TenantConfig
from .tenant_graph import TenantGraph

__all__ = ["Finding", "CheckReport", "check_graph", "FINDING_KINDS", "REPAIRABLE"]

#: Every kind of finding, in the order reports list them.
FINDING_KINDS = ("identifier_id", "duplicate_identifier", "degree", "link_id", "duplicate_link", "cross_tenant",
                 "do_not_link", "event_id", "duplicate_observation", "orphan_event", "suppressed", "missing_event",
                 "customer_id", "split_customer_id", "retired_id", "retired_carried", "retired_heir")
#: The kinds ``repair`` mends (``retired_heir``: when the heir is retired too and its chain ends
#: at a live id; ``split_customer_id``: unless a writer changed those customers meanwhile).
REPAIRABLE = frozenset({"degree", "duplicate_observation", "cross_tenant", "do_not_link", "suppressed", "orphan_event",
                        "split_customer_id", "retired_carried", "retired_heir"})
#: The most element ids one repair traversal names.
_REPAIR_BATCH = 500
_HEX_ID = re.compile(r"[0-9a-f]{32}")
_CUSTOMER_ID = re.compile(r"c-[0-9a-f]{24}")


#: what the identifier scan reads besides the id, in this order
_IDENTIFIER_KEYS = ("type", "degree", "value", model.CID, model.SINCE, "created", "founder", model.SHARED)


@dataclass(frozen=True)
class Finding:
    kind: str
    element: str  # the element's id (ids carry no plaintext: docs/data-model.md)
    detail: str

    def __str__(self) -> str:
        return f"{self.kind}\t{self.element}\t{self.detail}"


@dataclass
class CheckReport:
    tenant: str
    identifiers: int = 0
    links: int = 0
    events: int = 0
    observations: int = 0
    findings: list[Finding] = field(default_factory=list)
    #: findings mended by ``repair`` (what the check found before it repaired)
    repaired: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def counts(self) -> Counter:
        return Counter(f.kind for f in self.findings)

    def summary(self) -> str:
        sizes = (f"{self.identifiers} identifiers, {self.links} links, {self.events} events, "
                 f"{self.observations} observations")
        repaired = f"; {len(self.repaired)} repaired" if self.repaired else ""
        if self.ok:
            return f"tenant {self.tenant}: {sizes}: ok{repaired}"
        wrong = ", ".join(f"{n} {kind}" for kind, n in sorted(self.counts().items(),
                                                              key=lambda item: FINDING_KINDS.index(item[0])))
        return f"tenant {self.tenant}: {sizes}: {len(self.findings)} wrong ({wrong}){repaired}"


def check_graph(g: GraphTraversalSource, tenant: str, *, config: TenantConfig | None = None,
                protector: Protector | None = None, acknowledged: Iterable[str] = (), repair: bool = False,
                progress: Callable[[str], None] | None = None) -> CheckReport:
    """Check ``tenant``'s elements in ``g`` (a source without PartitionStrategy: the writer).
    ``protector``, when given, opens each identifier's value to prove its id is its own;
    ``acknowledged`` are event ids (the client's) that must be stored; ``config`` (the tenant's guard
    settings) is what a repair's forget runs under. With ``repair``, what
    REPAIRABLE names is mended and the graph checked again: the report is that second check's,
    with what was mended in ``repaired``."""
    config = config or TenantConfig()
    scan = _Scan(g, tenant, config, protector, progress)
    report = scan.run(set(acknowledged))
    if not repair or not any(f.kind in REPAIRABLE for f in report.findings):
        return report
    mended = _repair(g, tenant, config, protector, report.findings, scan)
    again = _Scan(g, tenant, config, protector, progress).run(set(acknowledged))
    again.repaired = mended
    return again


class _Scan:
    def __init__(self, g: GraphTraversalSource, tenant: str, config: TenantConfig, protector: Protector | None,
                 progress: Callable[[str], None] | None):
        self.g, self.tenant, self.config, self.protector = g, tenant, config, protector
        self.progress = progress or (lambda _: None)
        self.findings: list[Finding] = []
        #: what the customer id checks read, kept for repair: identifier -> its properties as
        #: customers.rank and customers.unchanged read them; the customers; retired id -> heirs
        self.props: dict[str, dict[str, Any]] = {}
        self.customers: list[set[str]] = []
        self.retired: dict[str, list[str]] = {}

    def find(self, kind: str, element: Any, detail: str) -> None:
        self.findings.append(Finding(kind, str(element), detail))

    def rows(self, what: str, traversal: Any) -> list:
        self.progress(f"reading {what}")
        return submit(traversal)

    def run(self, acknowledged: set[str]) -> CheckReport:
        g, tenant = self.g, self.tenant
        # one scan per kind of element, rows as short lists (a map per row costs the graph more)
        identifiers = self.rows("identifiers", g.V().has_label(model.IDENTIFIER).has(model.TENANT, tenant).local(
            __.union(__.id_(), *(__.values(key).fold() for key in _IDENTIFIER_KEYS)).fold()))
        retired = self.rows("retired customer ids", g.V().has_label(model.RETIRED).has(model.TENANT, tenant)
                            .local(__.union(__.id_(), __.values(model.HEIR).fold()).fold()))
        suppressed = set(self.rows("suppression entries", g.V().has_label(model.SUPPRESSED)
                                   .has(model.TENANT, tenant).id_()))
        events = self.rows("events", g.V().has_label(model.EVENT).has(model.TENANT, tenant)
                           .local(__.union(__.id_(), __.values("event_id").fold()).fold()))
        edges = {label: self.rows(f"{label} edges", g.E().has_label(label).has(model.TENANT, tenant).local(
                     __.union(__.id_(), __.out_v().id_(), __.in_v().id_()).fold()))
                 for label in (model.LINK, model.NOLINK, model.OBSERVED)}
        # links that join nothing (model.SCOPED): they count in degrees, not in customers
        scoped = set(self.rows("scoped links", g.E().has_label(model.LINK).has(model.TENANT, tenant)
                               .has(model.SCOPED).id_()))
        # an edge of another tenant (or of none) on one of this tenant's vertices
        foreign = self.rows("foreign edges", g.V().has(model.TENANT, tenant).both_e()
                            .not_(__.has(model.TENANT, tenant)).dedup().id_())

        report = CheckReport(tenant, len(identifiers), len(edges[model.LINK]), len(events),
                             len(edges[model.OBSERVED]))
        self.progress("checking")
        degrees = self._identifiers(identifiers, suppressed)
        event_ids = self._events(events, acknowledged)
        self._links(edges[model.LINK], edges[model.NOLINK], degrees)
        self._observations(edges[model.OBSERVED], event_ids, degrees)
        self._customer_ids(identifiers, [row for row in edges[model.LINK] if row[0] not in scoped], retired)
        for edge in foreign:
            self.find("cross_tenant", edge, "an edge of another tenant (or of none) on this tenant's vertex")
        report.findings = sorted(self.findings, key=lambda f: (FINDING_KINDS.index(f.kind), f.element))
        return report

    def _identifiers(self, rows: list, suppressed: set[str]) -> dict[str, list[int]]:
        """Checks each identifier's id; returns id -> [stored degree, links counted so far]."""
        degrees: dict[str, list[int]] = {}
        prefix = f"{self.tenant}:"
        for vertex, types, stored_degree, sealed, *_ in rows:
            id_type = types[0] if types else None
            tail = vertex[len(prefix) + len(id_type or "") + 1:] if isinstance(vertex, str) else ""
            if (not isinstance(vertex, str) or id_type is None
                    or vertex != f"{prefix}{id_type}:{tail}" or not _HEX_ID.fullmatch(tail)):
                self.find("identifier_id", vertex, f"not {self.tenant}:<its type>:<32 hex> (type {id_type!r})")
            elif self.protector is not None and sealed:
                self._same_identifier(vertex, id_type, tail, sealed[0])
            if model.suppression_id(str(vertex)) in suppressed:
                self.find("suppressed", vertex, "stored though it was forgotten on request")
            degrees[vertex] = [stored_degree[0] if stored_degree else None, 0]
        return degrees

    def _same_identifier(self, vertex: str, id_type: str, tail: str, sealed: str) -> None:
        try:
            # the value is stored as it was normalised then (by the tenant's settings of the day),
            # which is what its id was indexed from: not normalised again
            value = self.protector.open(vertex, "value", sealed)
            index = self.protector.blind_index(id_type, value)
        except (SealedValueError, ValueError) as error:
            self.find("duplicate_identifier", vertex, f"its value cannot be opened under its id ({type(error).__name__})")
            return
        if index[:len(tail)] != tail:
            self.find("duplicate_identifier", vertex, "its value's blind index names another vertex: a second "
                      "vertex for one identifier")

    def _events(self, rows: list, acknowledged: set[str]) -> dict[str, int]:
        """Checks each event's id; returns vertex id -> observations counted so far."""
        events: dict[str, int] = {}
        stored = set()
        for vertex, event_ids in rows:
            event_id = event_ids[0] if event_ids else None
            if event_id is None or vertex != model.event_vertex_id(self.tenant, event_id):
                self.find("event_id", vertex, "its id is not derived from its event id: a second vertex for "
                          "one event")
            stored.add(event_id)
            events[vertex] = 0
        for event_id in sorted(acknowledged - stored):
            self.find("missing_event", model.event_vertex_id(self.tenant, event_id),
                      "acknowledged to a client but not stored")
        return events

    def _links(self, links: list, nolinks: list, degrees: dict[str, list[int]]) -> None:
        forbidden = set()
        for edge, out, in_ in nolinks:
            if out not in degrees or in_ not in degrees:
                self.find("cross_tenant", edge, "a do-not-link rule with an end that is not this tenant's identifier")
            forbidden.add(frozenset((out, in_)))
        pairs: dict[frozenset, list] = defaultdict(list)
        for edge, out, in_ in links:
            if out not in degrees or in_ not in degrees:
                self.find("cross_tenant", edge, "a link with an end that is not this tenant's identifier")
                continue
            degrees[out][1] += 1
            degrees[in_][1] += 1
            if (out, in_) != model.link_ends(out, in_) or edge != model.link_id(self.tenant, out, in_):
                self.find("link_id", edge, "its id is not derived from its ends, lesser to greater")
            pair = frozenset((out, in_))
            pairs[pair].append(edge)
            if pair in forbidden:
                self.find("do_not_link", edge, "links two identifiers an unlink separated")
        for edges in pairs.values():
            for edge in sorted(map(str, edges))[1:]:
                self.find("duplicate_link", edge, "a second link between the same two identifiers")
        for vertex, (stored, counted) in degrees.items():
            if stored != counted:
                self.find("degree", vertex, f"degree {stored}, links {counted}")

    def _observations(self, observed: list, events: dict[str, int], identifiers: dict) -> None:
        seen: set[tuple] = set()
        for edge, event, identifier in observed:
            if event not in events or identifier not in identifiers:
                self.find("cross_tenant", edge, "an observation with an end that is not this tenant's event "
                          "or identifier")
                continue
            if (event, identifier) in seen:
                self.find("duplicate_observation", edge, f"event {event} observes {identifier} again")
                continue
            seen.add((event, identifier))
            events[event] += 1
        for event, count in events.items():
            if not count:
                self.find("orphan_event", event, "observes no identifier")


    def _customer_ids(self, rows: list, links: list, retired: list) -> None:
        """Each identifier in exactly one customer, each id naming one customer, each retired id's
        record leading to a live id (module docstring)."""
        threshold = self.config.generic_threshold
        carrying: dict[str, str] = {}  # identifier -> the one id it carries
        for vertex, *values in rows:
            props = {key: found[0] for key, found in zip(_IDENTIFIER_KEYS, values) if found and key != "value"}
            cids = values[_IDENTIFIER_KEYS.index(model.CID)]
            if len(cids) != 1 or not isinstance(cids[0], str) or not _CUSTOMER_ID.fullmatch(cids[0]):
                self.find("customer_id", vertex, f"carries {len(cids)} customer ids, not one c-<24 hex>")
            elif "degree" in props and "created" in props:
                carrying[vertex] = cids[0]
                self.props[vertex] = props
        members = {v for v, props in self.props.items() if not customers.is_generic(props, threshold)}
        joined: dict[str, set[str]] = defaultdict(set)
        for _, out, in_ in links:
            if out in members and in_ in members:
                joined[out].add(in_)
                joined[in_].add(out)
        self.customers = customers.components(members, joined)
        self.customers += [{v} for v in sorted(set(self.props) - members)]  # a generic one: itself alone
        held: dict[str, set[int]] = defaultdict(set)
        for n, part in enumerate(self.customers):
            for vertex in part:
                held[carrying[vertex]].add(n)
        for cid, parts in sorted(held.items()):
            if len(parts) > 1:
                self.find("split_customer_id", cid, f"carried by identifiers of {len(parts)} customers")
        prefix = model.retired_id(self.tenant, "")
        for vertex, heirs in retired:
            cid = vertex[len(prefix):] if isinstance(vertex, str) and vertex.startswith(prefix) else ""
            if not _CUSTOMER_ID.fullmatch(cid) or len(heirs) != 1:
                self.find("retired_id", vertex, f"not {prefix}<customer id> with one heir ({len(heirs)} heirs)")
                continue
            self.retired[cid] = heirs[0]
            if cid in held:
                self.find("retired_carried", vertex, "a retired id an identifier carries (resolve never reads "
                          "this record)")
            elif heirs[0] not in held:
                self.find("retired_heir", vertex, f"leads to {heirs[0]}, an id no identifier carries")


def _batches(ids: list, size: int = _REPAIR_BATCH) -> Iterable[list]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def _repair(g: GraphTraversalSource, tenant: str, config: TenantConfig, protector: Protector | None,
            findings: list[Finding], scan: _Scan) -> list[Finding]:
    """Mend the REPAIRABLE findings; returns those mended."""
    by_kind: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        by_kind[finding.kind].append(finding)
    # customer ids first, guarded by the degrees and ids the scan read (the rest changes them)
    mended = _repair_customer_ids(g, tenant, config, scan, by_kind)
    # edges first: dropping one changes its ends' degrees, which are recomputed after
    drop = [f for kind in ("cross_tenant", "do_not_link", "duplicate_observation") for f in by_kind[kind]]
    recount: set[str] = set()
    edge_ids = {f.element for f in drop}
    for batch in _batches(sorted(edge_ids)):
        # the ends of what is dropped, for their degrees (only this tenant's identifiers)
        ends = submit(g.E(*_typed(batch)).both_v().has_label(model.IDENTIFIER).has(model.TENANT, tenant)
                      .id_().dedup().fold())[0]
        recount.update(ends)
        submit(g.E(*_typed(batch)).drop())
    mended += [f for f in drop if f.kind != "cross_tenant" or f.element in edge_ids]
    suppressed = [f for f in by_kind["suppressed"]]
    if suppressed and protector is not None:
        identity = TenantGraph(g, tenant, config=config, protector=protector)
        for finding in suppressed:
            id_type = finding.element.split(":", 2)[1]
            sealed = submit(g.V(finding.element).values("value"))
            if sealed:
                # forget it again: its links, degrees and lone events go as a forget takes them
                privacy.forget(identity, id_type, protector.open(finding.element, "value", sealed[0]))
                mended.append(finding)
    orphans = [f.element for f in by_kind["orphan_event"]]
    for batch in _batches(orphans):
        # it still observes nothing: ingest never adds observations to a stored event (not asked
        # of the graph: TinkerTransactionGraph 3.7.3 can still list an edge a concurrent drop removed)
        submit(g.V(*batch).has_label(model.EVENT).has(model.TENANT, tenant).drop())
    mended += by_kind["orphan_event"]
    recount.update(f.element for f in by_kind["degree"])
    for batch in _batches(sorted(recount)):
        # computed by the graph as it writes: a concurrent ingest's own increment is not undone
        submit(g.V(*batch).has_label(model.IDENTIFIER).has(model.TENANT, tenant)
               .property(Cardinality.single, "degree", __.both_e(model.LINK).count()))
    mended += by_kind["degree"]
    return mended


def _repair_customer_ids(g: GraphTraversalSource, tenant: str, config: TenantConfig, scan: _Scan,
                         by_kind: dict[str, list[Finding]]) -> list[Finding]:
    mended: list[Finding] = []
    split = {f.element: f for f in by_kind["split_customer_id"]}
    if split:
        # the customers sharing ids, grouped when an id joins them: each group was one customer
        # before it fell apart (as far as ids tell), and is split again by the rule an unlink uses
        part_of = {v: n for n, part in enumerate(scan.customers) for v in part}
        sharing: dict[str, set[int]] = defaultdict(set)
        for vertex, props in scan.props.items():
            if props[model.CID] in split:
                sharing[props[model.CID]].add(part_of[vertex])
        groups = customers.components(set(sharing), _shared_parts(sharing))
        now_ms = int(time.time() * 1000)
        stamps = itertools.count(now_ms * 1000)  # since, as identity.domain.ingest.CreationClock stamps it
        threshold = config.generic_threshold
        for group in groups:
            parts = [scan.customers[n] for n in sorted(set().union(*(sharing[cid] for cid in group)))]
            region = set().union(*parts)
            props = {v: scan.props[v] for v in region}
            generic = {v for v in region if customers.is_generic(props[v], threshold)}
            mint = customers.Mint(f"check-repair:{now_ms}:{min(group)}", lambda: next(stamps))
            change = customers.reassign(tenant, props, [region], [p for p in parts if not p & generic], generic, mint)
            # written only while those customers are as read: a writer meanwhile leaves it to the
            # check that follows (and the next repair)
            t = g.inject(0).and_(*customers.unchanged(customers.Neighbourhood(props, {}), threshold))
            if submit(customers.write(t, change, tenant, now_ms)):
                mended += [split[cid] for cid in sorted(group)]
    for finding in by_kind["retired_carried"]:
        # resolve finds the id's carrier first and never reads this record: dropping it changes no answer
        cid = finding.element[len(model.retired_id(tenant, "")):]
        carried = __.V().has(model.CID, cid).has_label(model.IDENTIFIER).has(model.TENANT, tenant)
        if submit(g.inject(0).and_(carried).V(finding.element).has_label(model.RETIRED).has(model.TENANT, tenant)
                  .side_effect(__.drop()).count())[0]:
            mended.append(finding)
    live = {props[model.CID] for props in scan.props.values()}
    for finding in by_kind["retired_heir"]:
        read = heir = scan.retired[finding.element[len(model.retired_id(tenant, "")):]]
        seen = set()
        while heir in scan.retired and heir not in seen:  # a chain of records: its end, if live
            seen.add(heir)
            heir = scan.retired[heir]
        if heir in live and submit(g.V(finding.element).has_label(model.RETIRED).has(model.TENANT, tenant)
                                   .has(model.HEIR, read).property(Cardinality.single, model.HEIR, heir).count())[0]:
            mended.append(finding)
    return mended


def _shared_parts(sharing: dict[str, set[int]]) -> dict[str, set[str]]:
    """Ids as linked when they share a customer (to group the customers sharing ids)."""
    by_part: dict[int, set[str]] = defaultdict(set)
    for cid, parts in sharing.items():
        for n in parts:
            by_part[n].add(cid)
    return {cid: set().union(*(by_part[n] for n in parts)) for cid, parts in sharing.items()}


def _typed(ids: list[str]) -> list:
    """Edge ids as the graph gave them (a generated TinkerGraph id is a Long, reported as text)."""
    return ids_to_send([int(i) if i.isdigit() else i for i in ids])
