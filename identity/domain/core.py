"""IdentityGraph: the identity service's API over one tenant's slice of a graph.

    ids = IdentityGraph(identity.open_traversal("memory://"), "acme")
    ids.ingest([{"type": "signup", "identifiers": [{"type": "email", "value": "ann@example.com"}]}])
    ids.resolve("email", "Ann@Example.com")

The facade: each method checks its options and calls the operation that does the work
(identity.domain.ingest, resolve, explain, privacy), which takes this object as the TenantGraph
it reads (identity.domain.tenant_graph), pinned to the tenant's settings as the call found them
(TenantGraph.pinned): a call reads them once and sees no operator's change half-way. The
operations never import this module.
"""

from __future__ import annotations

import itertools
import time
from typing import Callable

from gremlin_python.process.graph_traversal import GraphTraversalSource, __
from gremlin_python.process.traversal import Cardinality, Merge, T
from gremlin_python.statics import long

from ..base import telemetry
from ..base.errors import GraphUnavailable, NotFound, ValidationError, check_int
from ..graph.connection import submit
from ..graph.group_commit import GroupCommit
from ..security.protect import Protector
from . import customers, model, privacy, resolve
from .events import IngestResult, PreparedEvent, RejectedEvent, prepare_batch
from .explain import explain as explain_pair
from .guards import TenantConfig
from .ingest import ingest_batch
from .resolve import Resolution
from .tenant_graph import MAX_CONFLICTS, TenantGraph
from .writes import edges, increment

__all__ = ["IdentityGraph"]


class IdentityGraph(TenantGraph):
    def __init__(self, g: GraphTraversalSource, tenant: str, *,
                 config: TenantConfig | Callable[[], TenantConfig] | None = None,
                 protector: Protector | None = None, clock: Callable[[], float] = time.time,
                 reader: GraphTraversalSource | None = None):
        super().__init__(g, tenant, config=config, protector=protector, clock=clock, reader=reader)
        #: this tenant's ingests in this process, queued behind one writer (identity.graph.group_commit)
        #: each event with the settings its call found, which prepared it and plan its links
        self._ingest_writer: GroupCommit[tuple[TenantConfig, PreparedEvent], IngestResult] = \
            GroupCommit(self._ingest_prepared)

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
        (outcome,) = self.ingest_each([(events, atomic)])
        if isinstance(outcome, ValidationError):
            raise outcome
        return outcome

    def ingest_each(self, calls: list[tuple[list[dict], bool]]
                    ) -> list[list[IngestResult | RejectedEvent] | ValidationError]:
        """What ingest(events, atomic=atomic) answers for each of ``calls``, or the ValidationError
        it raises for it (nothing of that call written), the others' valid events written as one
        batch, in order: one caller of the tenant's writer for them all (the service's ingests
        waiting for their turn together: identity.service.rpc.service)."""
        now_ms = int(self.clock() * 1000)
        config = self.config
        outcomes: list[list[IngestResult | RejectedEvent] | ValidationError] = []
        for events, atomic in calls:
            try:
                outcomes.append(prepare_batch(events, self.tenant, config, self.protector, now_ms, atomic=atomic))
            except ValidationError as invalid:
                outcomes.append(invalid)
        valid = [(config, event) for prepared in outcomes if isinstance(prepared, list)
                 for event in prepared if isinstance(event, PreparedEvent)]
        written = iter(self._ingest_writer.submit(valid) if valid else ())
        return [outcome if isinstance(outcome, ValidationError) else
                [next(written) if isinstance(event, PreparedEvent) else event for event in outcome]
                for outcome in outcomes]

    def _ingest_prepared(self, queued: list[tuple[TenantConfig, PreparedEvent]]) -> list[IngestResult]:
        """A group's events, each run of callers that found the same settings ingested under them
        (one run unless an operator changed them while the callers queued), in queue order."""
        telemetry.current().ingest_group(len(queued))
        results: list[IngestResult] = []
        for config, run in itertools.groupby(queued, key=lambda item: item[0]):
            results.extend(ingest_batch(self.g, self.tenant, [event for _, event in run], config, self.protector,
                                        self._creation))
        return results

    # -- resolve -----------------------------------------------------------------------------
    def resolve(self, id_type: str, value: str, *, max_hops: int | None = None, max_identifiers: int = 100,
                max_fanout: int = 50, evidence: bool = False,
                as_of: float | str | None = None) -> Resolution | None:
        """The customer ``(id_type, value)`` belongs to and its identifiers within ``max_hops``
        links, in one graph round trip; None when the identifier is unknown (as of ``as_of``)."""
        return resolve.resolve(self.pinned(), id_type, value, max_hops=max_hops, max_identifiers=max_identifiers,
                               max_fanout=max_fanout, evidence=evidence, as_of=as_of)

    def resolve_many(self, identifiers: list, *, max_hops: int | None = None, max_identifiers: int = 100,
                     max_fanout: int = 50, evidence: bool = False,
                     as_of: float | str | None = None) -> list[Resolution | None | ValidationError]:
        """resolve() for each ``{"type": ..., "value": ...}`` of ``identifiers``, in order, walking
        them together (identity.domain.resolve.resolve_many)."""
        return resolve.resolve_many(self.pinned(), identifiers, max_hops=max_hops, max_identifiers=max_identifiers,
                                    max_fanout=max_fanout, evidence=evidence, as_of=as_of)

    def resolve_each(self, asked: list[tuple[str, str]], *, max_hops: int | None = None, max_identifiers: int = 100,
                     max_fanout: int = 50, evidence: bool = False,
                     as_of: float | str | None = None) -> list[Resolution | None | ValidationError]:
        """What resolve() answers for each ``(id_type, value)`` of ``asked``, or the ValidationError
        it raises for it, walking them together (identity.domain.resolve.resolve_each)."""
        return resolve.resolve_each(self.pinned(), asked, max_hops=max_hops, max_identifiers=max_identifiers,
                                    max_fanout=max_fanout, evidence=evidence, as_of=as_of)

    def explain(self, a: tuple[str, str], b: tuple[str, str], *, max_hops: int | None = None,
                max_fanout: int = 50) -> dict:
        """Whether identifiers ``a`` and ``b`` are one customer now (as resolve answers it, with
        the same options) and the shortest evidence paths joining them, each link with the events
        that observed it; or what keeps them apart: do-not-link rules, identifiers the walk does
        not cross, the guard rules that refuse the events carrying both, no path within
        ``max_hops``, an identifier unknown, blocked or forgotten. Reads only, in at most two
        round trips (identity.domain.explain)."""
        graph = self.pinned()
        max_hops = graph.config.max_hops if max_hops is None else max_hops
        check_int("max_hops", max_hops, 0, resolve.MAX_HOPS_LIMIT)
        check_int("max_fanout", max_fanout, 1, 1_000_000)
        return explain_pair(graph, a, b, max_hops=max_hops, max_fanout=max_fanout)

    # -- unlink ------------------------------------------------------------------------------
    def unlink(self, a: tuple[str, str], b: tuple[str, str]) -> None:
        """Remove the link between two identifiers and record a do-not-link rule, so that
        replaying old events cannot link them (or merge their customers) again. When that splits
        a customer, the larger part keeps its id (identity.domain.customers): one read, one write."""
        graph = self.pinned()  # the settings once: an operator may change them meanwhile
        config = graph.config
        va, vb = graph.vertex_id(*a, field="a"), graph.vertex_id(*b, field="b")
        if va == vb:
            raise ValidationError("b", "is the same identifier as a")
        lid = model.link_id(self.tenant, va, vb)
        low, high = model.link_ends(va, vb)
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
            elif all(customers.is_generic(around.vertices[v], threshold) for v in (va, vb)):
                # the walk expands neither (generic or marked shared), so a link between them is
                # not read, and it holds no customer together: dropped if there, nothing to split,
                # written only while both are as read
                t = t.and_(*customers.unchanged(around, threshold))
            else:
                # read unlinked, so nothing to split: written only while they still are (a scoped
                # link joins nothing: model.SCOPED). An ingest linking them meanwhile, as the other
                # path between them turned generic, left that link all that holds their customer:
                # dropped unsplit, both parts kept one id
                t = t.and_(edges([lid]).has_not(model.SCOPED).count().is_(0))
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

    # -- GDPR ------------------------------------------------------------------------------
    def forget(self, id_type: str, value: str) -> dict:
        """Erase an identifier, or (type "customer") every identifier of a customer, with their
        links and the events left without identifiers; suppress them so they are never stored
        again. See identity.domain.privacy."""
        return privacy.forget(self.pinned(), id_type, value)

    def export(self, id_type: str, value: str) -> dict:
        """Everything stored about an identifier or a customer, decrypted (identity.domain.privacy)."""
        return privacy.export(self.pinned(), id_type, value)

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
