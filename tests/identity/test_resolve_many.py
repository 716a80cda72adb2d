"""resolve_many: each identifier gets the answer resolve gives it, in a bounded number of round
trips, and an invalid identifier gets its own error without failing the others."""

from __future__ import annotations

import random

import pytest

from identity import TenantConfig, ValidationError
from identity.domain.resolve import MAX_RESOLVE_MANY, STARTS_PER_WALK
from identity_helpers import event

DAY = 86_400_000
T0 = 1_714_550_400_000


def _population(identity, clock, seed: int = 7) -> list[dict]:
    """Households sharing devices and a home IP, one busy (generic) IP, an unlinked pair: every
    kind of boundary the walk stops at."""
    rng = random.Random(seed)
    identifiers: list[tuple[str, str]] = []
    events = []
    busy_ip = ("ip", "198.51.100.1")
    for house in range(6):
        tablet = ("device_id", f"tablet-{house}")
        home_ip = ("ip", f"203.0.113.{house + 1}")
        for person in range(rng.randint(1, 3)):
            email = ("email", f"p{house}-{person}@example.com")
            phone = ("phone", f"+1555010{house}{person}00")
            cookie = ("cookie", f"ck-{house}-{person}")
            identifiers += [email, phone, cookie]
            ts = T0 + (house * 3 + person) * DAY
            events += [event(None, email, phone, ts=ts), event(None, email, tablet, cookie, ts=ts + 1),
                       event(None, cookie, home_ip, ts=ts + 2), event(None, phone, busy_ip, ts=ts + 3)]
        identifiers += [tablet, home_ip]
    identifiers.append(busy_ip)
    for n in range(0, len(events), 10):
        identity.ingest(events[n:n + 10])
        clock.tick()
    identity.unlink(("email", "p0-0@example.com"), ("phone", "+15550100000"))
    return [{"type": t, "value": v} for t, v in identifiers]


OPTIONS = [{}, {"max_hops": 1}, {"max_hops": 5, "evidence": True}, {"max_identifiers": 3, "max_fanout": 2},
           {"as_of": (T0 + 4 * DAY) / 1000, "evidence": True}]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "defaults")
def test_each_answer_is_the_one_resolve_gives(make_identity, clock, connection, options) -> None:
    identity = make_identity(config=TenantConfig(generic_threshold=8))
    wanted = _population(identity, clock)
    customer = identity.resolve("email", "p1-0@example.com").customer_id
    wanted += [{"type": "email", "value": "nobody@example.com"}, {"type": "customer", "value": customer},
               {"type": "email", "value": " P2-0@Example.com "}]  # the same identifier as another item
    expected = [identity.resolve(item["type"], item["value"], **options) for item in wanted]
    before = connection.submits
    assert identity.resolve_many(wanted, **options) == expected
    assert connection.submits - before == 2  # one walk, one customer-id lookup
    assert expected[-3] is None and any(r is not None and r.truncated for r in expected) == ("max_fanout" in options)


def test_an_invalid_identifier_gets_its_own_error(identity, clock) -> None:
    _population(identity, clock)
    answers = identity.resolve_many([{"type": "email", "value": "p0-0@example.com"},
                                     {"type": "shoe_size", "value": "9"},
                                     {"type": "phone", "value": "not a phone"},
                                     {"type": "email"}, "email",
                                     {"type": "customer", "value": "x-1"}])
    assert answers[0].customer_id == identity.resolve("email", "p0-0@example.com").customer_id
    assert [(a.field, type(a)) for a in answers[1:]] == [
        ("identifiers[1].type", ValidationError), ("identifiers[2].value", ValidationError),
        ("identifiers[3]", ValidationError), ("identifiers[4]", ValidationError),
        ("identifiers[5].value", ValidationError)]


def test_the_call_and_its_options_are_checked_once(identity) -> None:
    for bad in ([], [{"type": "email", "value": "a@example.com"}] * (MAX_RESOLVE_MANY + 1), "email"):
        with pytest.raises(ValidationError, match="identifiers"):
            identity.resolve_many(bad)
    with pytest.raises(ValidationError, match="max_hops"):
        identity.resolve_many([{"type": "email", "value": "a@example.com"}], max_hops=11)


def test_long_lists_take_a_bounded_number_of_round_trips(identity, clock, connection) -> None:
    ingested = [event(f"e{n}", ("email", f"u{n}@example.com"), ("phone", f"+1555{n:07d}")) for n in range(600)]
    identity.ingest(ingested)
    wanted = [{"type": "email", "value": f"u{n}@example.com"} for n in range(600)]
    before = connection.submits
    answers = identity.resolve_many(wanted)
    assert connection.submits - before == -(-600 // STARTS_PER_WALK)
    assert [a.identifiers["phone"][0]["value"] for a in answers] == [f"+1555{n:07d}" for n in range(600)]


def test_a_start_whose_own_walk_is_cut_is_walked_alone(make_identity, clock, connection) -> None:
    """With path_cap 2, ann's first hop (3 devices) is cut when she is resolved on her own;
    bob's is not: walked together they would both fit under the batch's cap."""
    identity = make_identity(config=TenantConfig(path_cap=2))
    identity.ingest([event("a", ("email", "ann@example.com"), ("device_id", "dev-a"), ("device_id", "dev-b"),
                           ("device_id", "dev-c")),
                     event("b", ("email", "bob@example.com"), ("phone", "+15550100003"))])
    wanted = [{"type": "email", "value": "ann@example.com"}, {"type": "email", "value": "bob@example.com"}]
    before = connection.submits
    ann, bob = identity.resolve_many(wanted)
    assert connection.submits - before == 2  # the walk together, then ann's own
    assert ann.truncated and not bob.truncated
    alone = identity.resolve("email", "ann@example.com")
    assert alone.truncated and ann.customer_id == alone.customer_id
    assert bob == identity.resolve("email", "bob@example.com")


def test_only_the_starts_the_walk_togethers_cap_may_have_cut_are_walked_again(make_identity, clock,
                                                                             connection) -> None:
    """With path_cap 2 the walk from three starts keeps 6 identifiers a hop: ann's second hop
    (7 devices) is cut, bob's and carol's walks are linked to nothing cut. Only ann is walked
    again, and each answer is resolve's. (A device is linked to ann's phone only: one the cap cut
    is not reached again by a later hop, which would leave which starts it touched unknown.)"""
    identity = make_identity(config=TenantConfig(path_cap=2))
    devices = [("device_id", f"dev-{n}") for n in range(7)]
    identity.ingest([event("a1", ("email", "ann@example.com"), ("phone", "+15550100001")),
                     *(event(f"a-{device[1]}", ("phone", "+15550100001"), device) for device in devices),
                     event("b", ("email", "bob@example.com"), ("phone", "+15550100002")),
                     event("c", ("email", "carol@example.com"), ("phone", "+15550100003"))])
    wanted = [{"type": "email", "value": f"{name}@example.com"} for name in ("ann", "bob", "carol")]
    before = connection.submits
    answers = identity.resolve_many(wanted)
    assert connection.submits - before == 2  # the walk together, then ann's own
    assert answers == [identity.resolve(item["type"], item["value"]) for item in wanted]
    assert answers[0].truncated and not answers[1].truncated and not answers[2].truncated


def _steps(bytecode) -> list[tuple[str, tuple]]:
    """Every step of ``bytecode``, its child traversals' steps after each step that holds them."""
    from gremlin_python.process.traversal import Bytecode, Traversal
    found = []
    for name, *args in bytecode.step_instructions:
        found.append((name, tuple(args)))
        for arg in args:
            child = arg.bytecode if isinstance(arg, Traversal) else arg
            if isinstance(child, Bytecode):
                found.extend(_steps(child))
    return found


def test_the_walk_together_costs_the_same_per_start_whatever_the_starts(identity, clock, monkeypatch) -> None:
    """What made a walk of 250 starts cost Gremlin Server 3.7.3 several times what 250 walks cost
    (docs/benchmarks.md, "Batch resolve"): a child traversal run on each identifier and link
    reached (local(project(...))), and 'seen' holding its placeholder while each identifier a hop
    reaches and each one the cap cut is looked up in it (then compared with every member, not
    looked up by hash). The walk together sends neither; unknown starts still resolve to None."""
    import identity.domain.tenant_graph as tenant_graph
    wanted = [*_population(identity, clock)[:6], {"type": "email", "value": "nobody@example.com"}]
    sent = []
    submit = tenant_graph.submit
    monkeypatch.setattr(tenant_graph, "submit", lambda traversal: sent.append(traversal.bytecode) or submit(traversal))
    answers = identity.resolve_many(wanted)
    assert len(sent) == 1
    assert answers == [identity.resolve(item["type"], item["value"]) for item in wanted]
    steps = _steps(sent[0])
    names = [name for name, _ in steps]
    assert "local" not in names and names.count("project") == 1
    seen = [n for n, (name, args) in enumerate(steps) if name == "aggregate" and args == ("seen",)]
    lookups = [n for n, (name, args) in enumerate(steps) if name == "where"]
    placeholder = next(n for n in seen if steps[n - 1] == ("constant", (0,)))
    assert seen[0] > names.index("V") and lookups and max(lookups) < placeholder
    assert identity.resolve_many([{"type": "email", "value": "nobody@example.com"}] * 2) == [None, None]


def _answer_or_error(resolve, *args, **options):
    """What a resolve answers, or the (type, field, reason) of the ValidationError it raises."""
    try:
        return resolve(*args, **options)
    except ValidationError as error:
        return ValidationError, error.field, error.reason


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(o) or "defaults")
def test_resolve_each_answers_or_refuses_each_as_resolve_does(make_identity, clock, connection, options) -> None:
    """The service's walk of a tenant's queued resolves (identity.service.rpc.service): each
    answer resolve's, each invalid identifier its own error as resolve names it, in one walk."""
    identity = make_identity(config=TenantConfig(generic_threshold=8))
    asked = [(item["type"], item["value"]) for item in _population(identity, clock)]
    customer = identity.resolve("email", "p1-0@example.com").customer_id
    asked += [("email", "nobody@example.com"), ("shoe_size", "9"), ("customer", customer),
              ("phone", "not a phone"), ("email", " P2-0@Example.com "), ("customer", "x-1")]
    expected = [_answer_or_error(identity.resolve, *item, **options) for item in asked]
    before = connection.submits
    answers = identity.resolve_each(asked, **options)
    assert connection.submits - before == 2  # one walk, one customer-id lookup
    assert [(type(a), a.field, a.reason) if isinstance(a, ValidationError) else a for a in answers] == expected
    assert [e[1] for e in expected if isinstance(e, tuple)] == ["type", "value", "value"]
    with pytest.raises(ValidationError, match="max_hops"):  # an option: as resolve raises it for each
        identity.resolve_each(asked[:2], max_hops=11)
