"""Ingest: idempotence, validation before any write, merges, PII-free ids, tenant isolation."""

from __future__ import annotations

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import T

from identity import RejectedEvent, ValidationError

from identity_helpers import event

ANN = ("email", "ann@example.com")
PHONE = ("phone", "+15550100200")
DEVICE = ("device_id", "6d92078a-8246-4ba4-ae5b-76104861e7dc")
BOB = ("email", "bob@example.com")


def _counts(g) -> tuple[int, int]:
    return g.V().count().next(), g.E().count().next()


def test_the_same_event_twice_changes_nothing(identity, g) -> None:
    first = identity.ingest([event("e1", ANN, PHONE)])[0]
    before = _counts(g)
    again = identity.ingest([event("e1", ANN, PHONE)])[0]
    assert again.duplicate and not first.duplicate
    assert again.customer_id == first.customer_id
    assert _counts(g) == before == (3, 3)  # event + 2 identifiers; 2 observed + 1 link


def test_events_without_ids_get_deterministic_ones(identity, g) -> None:
    a = identity.ingest([event(None, ANN, PHONE)])[0]
    b = identity.ingest([event(None, ANN, PHONE)])[0]
    c = identity.ingest([event(None, ANN, PHONE, ts=1)])[0]
    assert a.event_id == b.event_id and b.duplicate and a.event_id != c.event_id
    assert "ann" not in a.event_id


def test_an_invalid_event_writes_nothing_from_the_batch(identity, g) -> None:
    with pytest.raises(ValidationError) as caught:
        identity.ingest([event("ok", ANN, PHONE), event("bad", BOB, ("phone", "12"))])
    assert caught.value.field == "events[1].identifiers[1].value"
    assert _counts(g) == (0, 0)


def test_a_partial_batch_writes_the_valid_events_and_reports_each_invalid_one(identity, g) -> None:
    results = identity.ingest([event("ok", ANN, PHONE), event("bad", BOB, ("phone", "12")), "not an event",
                               event("also-ok", PHONE, DEVICE)], atomic=False)
    ok, bad, junk, also = results
    assert isinstance(bad, RejectedEvent) and isinstance(junk, RejectedEvent)
    assert (bad.index, bad.event_id, bad.error.field) == (1, "bad", "events[1].identifiers[1].value")
    assert (junk.index, junk.event_id, junk.error.field) == (2, None, "events[2]")
    assert ok.customer_id == also.customer_id and not ok.duplicate
    assert identity.resolve(*BOB) is None
    assert _counts(g) == (5, 6)  # 2 events + 3 identifiers; 4 observed + 2 links
    again = identity.ingest([event("ok", ANN, PHONE), event("bad", BOB, ("phone", "+15550100300"))], atomic=False)
    assert again[0].duplicate and not again[1].duplicate  # the fixed event is written when sent again


def test_a_partial_batch_of_invalid_events_writes_nothing(identity, g) -> None:
    results = identity.ingest([event("bad", BOB, ("phone", "12"))], atomic=False)
    assert [type(result) for result in results] == [RejectedEvent]
    assert _counts(g) == (0, 0)


@pytest.mark.parametrize("bad, field", [
    ({"type": "x", "identifiers": []}, "events[0].identifiers"),
    ({"type": "x", "identifiers": [{"type": "email"}]}, "events[0].identifiers[0]"),
    ({"identifiers": [{"type": "email", "value": "a@b.com"}]}, "events[0].type"),
    ({"type": "x", "timestamp": "soon", "identifiers": [{"type": "email", "value": "a@b.com"}]},
     "events[0].timestamp"),
    ({"type": "x", "colour": 1, "identifiers": [{"type": "email", "value": "a@b.com"}]}, "events[0].colour"),
    ({"type": "x", "attributes": {"k": [1]}, "identifiers": [{"type": "email", "value": "a@b.com"}]},
     "events[0].attributes.k"),
])
def test_validation_names_the_field(identity, bad: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        identity.ingest([bad])
    assert caught.value.field == field


def test_events_sharing_an_identifier_form_one_customer(identity) -> None:
    a, b = identity.ingest([event("e1", ANN, PHONE), event("e2", PHONE, DEVICE)])
    assert a.customer_id == b.customer_id and b.merged == []


def test_a_merge_keeps_the_older_customer_id(identity, clock) -> None:
    ann = identity.ingest([event("e1", ANN)])[0].customer_id
    clock.tick()
    bob = identity.ingest([event("e2", BOB)])[0].customer_id
    clock.tick()
    merged = identity.ingest([event("e3", BOB, PHONE, ANN)])[0]
    assert merged.customer_id == ann and merged.merged == [bob]
    assert identity.resolve(*BOB).customer_id == ann
    # new links never change it
    clock.tick()
    identity.ingest([event("e4", PHONE, DEVICE)])
    assert identity.resolve(*DEVICE).customer_id == ann
    # the absorbed id keeps resolving, as an alias of the survivor
    alias = identity.resolve("customer", bob)
    assert alias.customer_id == ann and bob in alias.aliases


@pytest.mark.parametrize("batched", [False, True], ids=["a call each", "one batch"])
@pytest.mark.parametrize("first, second", [(ANN, BOB), (BOB, ANN)], ids=["ann first", "bob first"])
def test_the_customer_seen_first_survives_a_merge_within_one_clock_reading(identity, batched: bool, first: tuple,
                                                                          second: tuple) -> None:
    # the clock does not move: which customer is older follows the order of the events, not how
    # many were planned within one millisecond (nor how the identifiers' ids compare)
    events = [event("e1", first), event("e2", second), event("e3", second, PHONE, first)]
    results = identity.ingest(events) if batched else [identity.ingest([e])[0] for e in events]
    assert results[2].customer_id == results[0].customer_id
    assert results[2].merged == [results[1].customer_id]
    assert identity.resolve(*second).customer_id == results[0].customer_id


def test_ids_and_properties_hold_no_plaintext_pii(identity, g) -> None:
    identity.ingest([event("e1", ANN, PHONE, attributes={"plan": "gold", "name": "Ann Smith"})])
    ids = g.V().id_().to_list() + g.E().id_().to_list()
    values = [str(v) for v in g.V().properties().value().to_list() + g.E().properties().value().to_list()]
    # each secret holds a character base64 never produces ('@', ' ', '"'), or is long enough,
    # so random ciphertext cannot contain it by chance
    for secret in ("ann@", "5550100200", "Ann Smith", '"gold"'):
        assert not any(secret in str(i) for i in ids)
        assert not any(secret in v for v in values)


def test_every_element_carries_its_tenant(make_identity, g) -> None:
    make_identity("acme").ingest([event("e1", ANN, PHONE)])
    make_identity("globex").ingest([event("e1", ANN, DEVICE)])
    assert set(g.V().values("tenant").to_list()) == {"acme", "globex"}
    assert g.V().not_(__.has("tenant")).count().next() == 0
    assert g.E().not_(__.has("tenant")).count().next() == 0
    assert all(i.startswith(("acme:", "globex:")) for i in g.V().id_().to_list())


def test_tenants_are_isolated(make_identity) -> None:
    acme, globex = make_identity("acme"), make_identity("globex")
    acme.ingest([event("e1", ANN, PHONE)])
    globex.ingest([event("e1", ANN, DEVICE)])
    assert set(acme.resolve(*ANN).identifiers) == {"email", "phone"}
    assert set(globex.resolve(*ANN).identifiers) == {"email", "device_id"}
    assert globex.resolve(*PHONE) is None


def test_link_edges_keep_first_seen_last_seen_count_and_last_event(identity, g) -> None:
    identity.ingest([event("e1", ANN, PHONE, ts=2_000)])
    identity.ingest([event("e2", ANN, PHONE, ts=3_000), event("e0", PHONE, ANN, ts=1_000)])
    link = g.E().has_label("link").element_map().next()
    assert (link["first_seen"], link["last_seen"], link["count"]) == (1_000, 3_000, 3)
    assert (link["first_event"], link["last_event"]) == ("e0", "e2")
    degrees = g.V().has_label("identifier").values("degree").to_list()
    assert degrees == [1, 1]


def test_each_event_is_written_by_one_traversal(identity, connection) -> None:
    identity.ingest([event("e0", BOB)])
    before = connection.submits
    identity.ingest([event("e1", ANN, PHONE, DEVICE)])
    assert connection.submits - before == 2  # one read, one write
    identity.ingest([event("e1", ANN, PHONE, DEVICE)])
    assert connection.submits - before == 3  # a duplicate is only read


def test_a_batch_is_read_once_and_written_once(identity, connection) -> None:
    results = identity.ingest([event(f"e{n}", ("email", f"u{n % 7}@example.com"), ("phone", f"+1555010{n:04d}"))
                               for n in range(25)])
    assert connection.submits == 2
    # each email meets a second phone at n + 7 (refused: its customer holds one), and is marked
    # shared at the third (shared_after_conflicts): from then on it answers for itself alone
    assert len({r.customer_id for r in results[:14]}) == 7
    assert all(r.customer_id not in {e.customer_id for e in results[:14]} for r in results[14:])


def test_large_batches_are_written_in_chunks_with_the_same_results(identity, connection, clock,
                                                                    monkeypatch) -> None:
    from identity.domain import ingest
    from identity.domain.reference import ReferenceIdentity
    bodies = [event(f"e{n}", ("email", f"u{n % 5}@example.com"), ("phone", f"+1555010{n % 9:04d}"),
                    ("device_id", f"dev-{n % 4}"), ts=1_714_550_400_000 + n) for n in range(30)]
    bodies.append(bodies[3])  # a duplicate, planned after the chunk that writes the original
    monkeypatch.setattr(ingest, "MAX_WRITES_PER_TRAVERSAL", 20)
    results = identity.ingest(bodies)
    chunks = connection.submits - 1
    # an event writes 7 to 10 elements here: two or three events per chunk, never one or all
    assert 30 // 3 <= chunks <= 30 // 2
    reference = ReferenceIdentity("acme", clock=clock)
    assert [r.to_dict() for r in results] == [r.to_dict() for r in reference.ingest(bodies)]
    assert results[-1].duplicate
    for n in range(5):
        expected = reference.resolve("email", f"u{n}@example.com")
        found = identity.resolve("email", f"u{n}@example.com")
        assert (found.customer_id, sorted(found.identifiers)) == (expected[0], sorted(expected[1]))


def test_an_ingest_cut_by_its_deadline_completes_exactly_when_sent_again(identity, g, clock, monkeypatch) -> None:
    """Past its deadline a batch stops between chunks with whole events written (DeadlineExceeded);
    the same batch sent again writes the rest, and the graph ends as one uninterrupted ingest
    leaves it, on every backend (the RPC side: tests/service/test_deadlines.py)."""
    import gremlin
    from benchmarks.ingest_fingerprint import stored_elements
    from identity import IdentityGraph
    from identity.base.errors import DeadlineExceeded
    from identity.domain import ingest
    from identity.graph import resilience
    # identifiers meet across events (an email every 3, a device every 4), so later events merge
    # what earlier ones wrote: where the batch is cut matters
    bodies = [event(f"e{n}", ("email", f"u{n // 3}@example.com"), ("phone", f"+1555010{n:04d}"),
                    ("device_id", f"dev-{n % 4}"), ts=1_714_550_400_000 + n) for n in range(24)]
    monkeypatch.setattr(ingest, "MAX_WRITES_PER_TRAVERSAL", 20)
    commit, commits = ingest._commit, []

    def commit_then_run_out_of_time(*args):
        written = commit(*args)
        commits.append(written)
        if len(commits) == 3:  # the graph was slow: the request's time is up after this chunk
            monkeypatch.setattr(resilience, "remaining", lambda: 0.0)
        return written

    monkeypatch.setattr(ingest, "_commit", commit_then_run_out_of_time)
    with resilience.deadline(60.0), pytest.raises(DeadlineExceeded):
        identity.ingest(bodies)
    monkeypatch.undo()
    written = g.V().has_label("event").count().next()
    assert commits == [True] * 3 and 3 <= written < len(bodies)  # three chunks of whole events

    results = identity.ingest(bodies)
    assert [r.duplicate for r in results] == [True] * written + [False] * (len(bodies) - written)
    connection = gremlin.connect("memory://")
    try:
        whole = traversal().with_remote(connection)
        alone = IdentityGraph(whole, "acme", clock=clock)
        expected = alone.ingest(bodies)[written:]
        # an event written before the cut is a duplicate now: it answers its customer's id as it is
        # now (a later event may have split the customer: identity.domain.customers), as sent again after
        # one uninterrupted ingest
        expected = alone.ingest(bodies[:written]) + expected
        assert [r.customer_id for r in results] == [r.customer_id for r in expected]
        stamps = {"created", "since"}
        assert stored_elements(g, "V", without=stamps) == stored_elements(whole, "V", without=stamps)
        assert stored_elements(g, "E") == stored_elements(whole, "E")
        # creation stamps (``created``, and ``since``: when a customer id was issued) count on from
        # where their run left them, so their values differ; what they decide, which identifier
        # and which customer id is older, must not
        for stamp in stamps:
            oldest_first = g.V().has(stamp).order().by(stamp).by(T.id).id_().to_list()
            assert oldest_first == whole.V().has(stamp).order().by(stamp).by(T.id).id_().to_list()
    finally:
        connection.close()


def _steps(bytecode) -> list:
    """The steps of a traversal and of its child traversals, without their other arguments."""
    from gremlin_python.process.traversal import Bytecode
    return [[step[0], *(_steps(arg) for arg in step[1:] if isinstance(arg, Bytecode))]
            for step in bytecode.step_instructions]


def test_a_write_has_the_same_steps_whatever_its_chunk_holds(identity, connection) -> None:
    """A graph server compiles every step of every request: the write's steps are fixed and its
    elements and values are arguments (identity.domain.writes), so its cost to compile does not grow
    with the batch (an event's writes were child traversals of their own)."""
    identity.ingest([event("e1", ANN, PHONE)])
    first = _steps(connection.sent[-1])
    # 40 events: new identifiers and links, links seen again, degrees raised, times moved, shared
    # identifiers seen by many events
    identity.ingest([event(f"e{n}", ("email", f"u{n % 7}@example.com"), ("phone", f"+1555010{n % 5:04d}"),
                           DEVICE, PHONE, ts=1_714_550_400_000 + (n % 3) * 1000 - n) for n in range(2, 42)])
    assert connection.sent[-1] is not connection.sent[-2]
    assert _steps(connection.sent[-1]) == first


def test_the_batch_read_sets_up_no_branch_per_row(identity, connection) -> None:
    """A graph server sets up a branch step's children again for every traverser that enters it:
    inside the batch read's per-identifier rows a ``union()`` cost Gremlin Server about a third of
    the read's CPU (docs/benchmarks.md, "Where an ingested event's CPU goes")."""
    identity.ingest([event("e1", ANN, PHONE), event("e2", PHONE, DEVICE)])
    identity.ingest([event("e3", ANN, DEVICE)])
    read = connection.sent[-2]
    assert not any(step[0] == "mergeV" for step in read.step_instructions)  # the read, not the write

    def names(steps: list) -> list[str]:
        return [name for step in steps for name in (step[0], *(n for child in step[1:] for n in names(child)))]
    assert "project" in names(_steps(read)) and not {"union", "choose", "coalesce", "optional"} & set(names(_steps(read)))


def test_an_observed_edge_is_added_not_merged(identity, connection) -> None:
    """An observed edge is an ``addE()`` from its new event to its identifier, found in one map of
    the chunk's identifiers by id: a ``mergeE()`` row makes Gremlin Server build, strategy-apply
    and run a search traversal of its own (and ``option(outV)``/``option(inV)`` ran two child
    traversals per edge on the event's row, each hashing the traverser and its path)."""
    from gremlin_python.process.traversal import Bytecode, Merge
    identity.ingest([event("e1", ANN, PHONE), event("e2", PHONE, DEVICE)])

    def steps(bytecode: Bytecode):
        for step in bytecode.step_instructions:
            yield step
            for arg in step[1:]:
                if isinstance(arg, Bytecode):
                    yield from steps(arg)
    written = list(steps(connection.sent[-1]))
    assert ["addE", "observed"] in written
    assert ["mergeE"] not in written  # no merge of an observed edge's own map
    assert not [step for step in written if step[0] == "option" and step[1] in (Merge.out_v, Merge.in_v)]
    assert identity.stats()["events"] == 2 and identity.stats()["observations"] == 4
    assert identity.g.E().has_label("observed").has("tenant", identity.tenant).count().next() == 4


def test_the_batch_read_and_the_write_merge_no_traversers(identity, connection) -> None:
    """Their traversers carry a sack no operator merges (writes.unbulked): Gremlin Server then
    hashes each by its identity, not its object and path, whenever it runs a child traversal on it."""
    identity.ingest([event("e1", ANN, PHONE), event("e2", PHONE, DEVICE)])
    read, write = connection.sent[-2:]
    assert [step[0] for step in write.step_instructions[:2]] == ["inject", "and"]  # the write: its guard first
    for sent in (read, write):
        assert ["withSack", 0] in [list(source) for source in sent.source_instructions]


def test_the_batch_read_walks_with_only_vertices_seen(identity, connection) -> None:
    """TinkerPop answers the walk's where(without('seen')) by a hash lookup only when every member
    of 'seen' is a vertex: its placeholder (0, so that it exists when no start is found) goes in
    after the walk, not before it."""
    identity.ingest([event("e1", ANN, PHONE)])
    identity.ingest([event("e2", ANN, DEVICE)])
    read = connection.sent[-2]
    names = [step[0] for step in read.step_instructions]
    start = names.index("V")
    assert ["aggregate", "seen"] not in [list(step) for step in read.step_instructions[:start]]
    assert ["aggregate", "seen"] in [list(step) for step in read.step_instructions[start:]]
    assert identity.resolve(*ANN).customer_id == identity.resolve(*DEVICE).customer_id


def test_the_batch_read_runs_no_child_traversal_per_identifier_or_link(identity, connection) -> None:
    """Gremlin Server 3.7.3 paid more for each child traversal run per element the larger the
    collection (docs/benchmarks.md, "Batch resolve"): the read's identifiers, links and
    do-not-link edges come back by one step per element, the links as references; the view
    planned on it is the same (a do-not-link rule and a link seen again included)."""
    identity.ingest([event("e1", ANN, PHONE), event("e2", PHONE, DEVICE)])
    identity.unlink(ANN, PHONE)
    results = identity.ingest([event("e3", ANN, DEVICE), event("e4", PHONE, DEVICE)])
    read = connection.sent[-2]
    assert not any(step[0] == "mergeV" for step in read.step_instructions)  # the read, not the write

    def names(steps: list) -> list[str]:
        return [name for step in steps for name in (step[0], *(n for child in step[1:] for n in names(child)))]
    sent = names(_steps(read))
    assert "local" not in sent and sent.count("project") == 1
    options = [source[1].configuration for source in read.source_instructions
               if source[0] == "withStrategies" and type(source[1]).__name__ == "OptionsStrategy"]
    assert {"materializeProperties": "tokens"} in options
    assert [r["reason"] for r in results[0].refused] == ["do_not_link"]  # read through the rule's edge
    assert identity.resolve(*ANN).customer_id != identity.resolve(*PHONE).customer_id
    assert identity.stats()["links"] == 1  # PHONE-DEVICE, seen again


def test_stats(identity) -> None:
    identity.ingest([event("e1", ANN, PHONE), event("e2", PHONE, DEVICE)])
    stats = identity.stats()
    assert stats["identifiers"] == 3 and stats["events"] == 2 and stats["links"] == 2
    assert stats["identifiers_by_type"] == {"email": 1, "phone": 1, "device_id": 1}


def test_results_are_json_ready(identity) -> None:
    import json
    result = identity.ingest([event("e1", ANN, ("email", "test@test.com"))])[0].to_dict()
    assert json.loads(json.dumps(result))["refused"][0]["reason"] == "blocked"
    assert set(result) == {"event_id", "customer_id", "merged", "refused", "duplicate"}


def test_vertex_ids_are_built_from_the_blind_index(identity, g) -> None:
    from identity import identifier_vertex_id
    identity.ingest([event("e1", ANN)])
    assert g.V(identifier_vertex_id("acme", "email", " ANN@example.com")).count().next() == 1
    assert g.V().has_label("identifier").id_().next().startswith("acme:email:")
    assert g.V().has(T.label, "identifier").count().next() == 1


def test_the_write_idioms_take_their_values_as_gremlinpython_steps_would() -> None:
    """writes.with_data puts a write's values into its bytecode without gremlinpython's copy: the
    bytecode is what the same steps give through gremlinpython's API."""
    from gremlin_python.process.traversal import CardinalityValue

    from identity.domain import writes
    rows = [{"search": {T.id: "acme:email:1", T.label: "identifier"}, "create": {"degree": CardinalityValue.single(2)}}]
    values = {"acme:email:1": 3, "acme:email:2": 4}
    assert writes.rows(rows).bytecode == __.constant(rows).unfold().bytecode
    assert writes.vertices(["b", "a"]).bytecode == __.V("a", "b", writes.NO_ID).as_(writes.ELEMENT).bytecode
    assert writes.edges([]).bytecode == __.E(writes.NO_ID).as_(writes.ELEMENT).bytecode
    assert writes.own(values).bytecode == __.constant(values).select(__.select(writes.ELEMENT).id_()).bytecode
    assert writes.own_value(writes.vertices(values), values).bytecode == \
        __.V(*values, writes.NO_ID).as_(writes.ELEMENT).constant(values).select(__.select(writes.ELEMENT).id_()).bytecode
    assert writes.plus_own("degree", values).bytecode == \
        __.union(__.values("degree"), __.constant(values).select(__.select(writes.ELEMENT).id_())).sum_().bytecode
