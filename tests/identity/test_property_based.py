"""Random event streams: the graph-backed core and the plain-Python reference must agree, on every
backend (the ``url`` fixture); the slower backends get fewer examples."""

from __future__ import annotations

from typing import Any

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import gremlin
from identity import IdentityGraph, NotFound, TenantConfig
from identity.domain.reference import ReferenceIdentity
from identity_helpers import sends_a_forgotten_event_again
from tests.backends import clear
from tests.gremlin_servers import is_real_server

POOL = ([("email", f"user{n}@example.com") for n in range(4)] + [("email", "test@test.com")]
        + [("phone", f"+1555010{n:04d}") for n in range(3)] + [("device_id", f"dev-{n}") for n in range(3)]
        + [("cookie", f"ck-{n}") for n in range(2)] + [("ip", f"203.0.113.{n}") for n in range(2)]
        + [("partner_id", f"crm-{n}") for n in range(3)])
TIMESTAMPS = [1_714_550_400_000 + n * 3_600_000 for n in range(6)]
AS_OF = [None, TIMESTAMPS[1] / 1000, TIMESTAMPS[3] / 1000]


def _config() -> TenantConfig:
    # device_scope_past_links: a device turning multi-user scopes its cookies' links (walks pass them by);
    # device_profiles_at_once: two cookies alive at once on a device count it multi-user too;
    # reused_types: a phone joins two identified customers only beside a device of its own customer
    return TenantConfig(generic_threshold=3, type_limits={"email": 2, "partner_id": 1}, max_hops=3,
                        device_scope_past_links=True, device_profiles_at_once=True,
                        reused_types=frozenset({"phone"}))


identifier = st.sampled_from(POOL)
ingest_op = st.tuples(st.just("ingest"), st.one_of(st.none(), st.sampled_from([f"e{n}" for n in range(6)])),
                      st.lists(identifier, min_size=1, max_size=4), st.sampled_from(TIMESTAMPS),
                      st.booleans())  # with attributes: forget must erase them where the event stays
unlink_op = st.tuples(st.just("unlink"), identifier, identifier)
forget_op = st.tuples(st.just("forget"), identifier)
# a cookie seen on a device, then three people's accounts there (the type limit refuses two): the
# device turns multi-user and the cookie's earlier links stop joining (device_scope_past_links),
# which every walk must pass by
tablet_op = st.tuples(st.just("tablet"), st.sampled_from([i for i in POOL if i[0] == "device_id"]),
                      st.sampled_from([i for i in POOL if i[0] == "cookie"]),
                      st.permutations([i for i in POOL if i[0] == "partner_id"]),
                      st.sampled_from(TIMESTAMPS))
streams = st.lists(st.one_of(ingest_op, ingest_op, ingest_op, unlink_op, forget_op, tablet_op), min_size=1,
                   max_size=25)

# found by hypothesis: the email and the phone both turned generic (more than 3 links), so the walk
# expands neither and reads no link between them; unlink took them for unlinked and tried again
# until it gave up (GraphUnavailable)
_EMAIL, _PHONE = ("email", "user0@example.com"), ("phone", "+15550100002")
UNLINK_OF_TWO_GENERIC_IDENTIFIERS = [
    ("ingest", None, [_EMAIL], TIMESTAMPS[0], False),
    ("ingest", None, [_PHONE, _EMAIL, ("ip", "203.0.113.0")], TIMESTAMPS[0], False),
    ("ingest", None, [("partner_id", "crm-0"), _EMAIL], TIMESTAMPS[0], False),
    ("ingest", None, [_EMAIL, _PHONE, ("phone", "+15550100000"), ("ip", "203.0.113.1")], TIMESTAMPS[0], False),
    ("unlink", _EMAIL, _PHONE),
]

# found by hypothesis: the device turned multi-user and its link to the cookie was scoped; the walk
# does not cross it, so unlink read the two unlinked and its guard (no link there) never held
_TABLET = ("device_id", "dev-1"), ("cookie", "ck-0"), [("partner_id", f"crm-{n}") for n in range(3)]
UNLINK_OF_A_SCOPED_LINK = [("tablet", *_TABLET, TIMESTAMPS[0]), ("unlink", _TABLET[0], _TABLET[1])]
# found by hypothesis: the cookie, linked past the generic threshold, is not expanded by ingest's
# walk, so its other links are not read (nor scoped); the reference scoped them all
SCOPED_LINKS_OF_A_GENERIC_COOKIE = [
    ("tablet", *_TABLET, TIMESTAMPS[0]),
    ("ingest", None, [_TABLET[1], ("ip", "203.0.113.1"), ("phone", "+15550100000")], TIMESTAMPS[2], False),
    ("tablet", ("device_id", "dev-0"), _TABLET[1], _TABLET[2], TIMESTAMPS[0]),
]


class Clock:
    now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def _event(event_id: Any, identifiers: list, ts: int, with_attributes: bool = False) -> dict:
    body = {"type": "t", "timestamp": ts, "identifiers": [{"type": t, "value": v} for t, v in identifiers]}
    if with_attributes:
        body["attributes"] = {"basket": 3}
    if event_id is not None:
        body["event_id"] = event_id
    return body


def _service_view(resolution: Any) -> Any:
    if resolution is None:
        return None
    return resolution.customer_id, {t: sorted((i["value"], i["hops"], i["generic"]) for i in items)
                                    for t, items in resolution.identifiers.items()}


def _examples(url: str) -> int:
    if url.startswith("memory://"):
        return 60
    return 20 if url.startswith("file://") else 10


def _expanded(stream: list) -> list:
    """The stream with each "tablet" operation as its four events."""
    ops = []
    for op in stream:
        if op[0] == "tablet":
            _, device, cookie, accounts, ts = op
            ops += [("ingest", None, [device, cookie, ("ip", "203.0.113.0")], ts, False),
                    *(("ingest", None, [device, account], ts, False) for account in accounts)]
        else:
            ops.append(op)
    return ops


def _replay(url: str, stream: list, batch: int = 1) -> tuple[IdentityGraph, ReferenceIdentity, Any]:
    """Ingest operations go to the service in batches of up to ``batch`` consecutive events (an
    unlink or a forget ends a batch); the reference always takes one event at a time."""
    if not url.startswith("memory://"):  # memory:// is a new graph per connection already
        clear(url)
    clock = Clock()
    connection = gremlin.connect(url)
    service = IdentityGraph(traversal().with_remote(connection), "acme", config=_config(), clock=clock)
    reference = ReferenceIdentity("acme", config=_config(), clock=clock)
    pending: list[dict] = []

    def flush() -> None:
        if pending:
            expected = [r.to_dict() for event in pending for r in reference.ingest([event])]
            assert [r.to_dict() for r in service.ingest(list(pending))] == expected
            pending.clear()

    for op in _expanded(stream):
        if op[0] == "ingest":
            if not pending:  # one clock reading per batch (per event when batch == 1)
                clock.now += 1
            pending.append(_event(*op[1:]))
            if len(pending) == batch:
                flush()
            continue
        flush()
        clock.now += 1
        if op[0] == "forget":
            assert service.forget(*op[1]) == reference.forget(*op[1])
        elif op[1] != op[2]:
            try:
                reference.unlink(op[1], op[2])
            except KeyError:
                with pytest.raises(NotFound):
                    service.unlink(op[1], op[2])
            else:
                service.unlink(op[1], op[2])
    flush()
    return service, reference, connection


def _assert_agree(service: IdentityGraph, reference: ReferenceIdentity) -> None:
    sealed = service.g.V().has_label("event").has("attributes").id_().to_list()
    assert sorted(sealed) == sorted(reference.sealed_events)
    for id_type, value in POOL:
        for hops in (1, 3):
            for as_of in AS_OF:
                expected = reference.resolve(id_type, value, max_hops=hops, as_of=as_of)
                assert _service_view(service.resolve(id_type, value, max_hops=hops, as_of=as_of)) == expected


def test_service_and_reference_agree(url: str, gremlin_servers) -> None:
    # TinkerTransactionGraph 3.7.3 never creates again an element that was read by id and then
    # dropped: every later create of that id fails with "Conflict: element modified in another
    # transaction" (tests/gremlin_servers.py, reset; fixed in TinkerPop 3.7.4). Ingest reads
    # event vertices by id and forget drops the ones it leaves without identifiers, so streams
    # that send such an event again are left out there (the other backends run them).
    zombies = is_real_server(url) and gremlin_servers.transactional(url)

    @settings(max_examples=_examples(url), deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                     HealthCheck.filter_too_much])
    @given(stream=streams, batch=st.sampled_from([1, 3, 25]))
    @example(stream=UNLINK_OF_TWO_GENERIC_IDENTIFIERS, batch=1)
    @example(stream=UNLINK_OF_A_SCOPED_LINK, batch=1)
    @example(stream=SCOPED_LINKS_OF_A_GENERIC_COOKIE, batch=1)
    def agree(stream: list, batch: int) -> None:
        assume(not (zombies and sends_a_forgotten_event_again(stream)))
        service, reference, connection = _replay(url, stream, batch)
        try:
            _assert_agree(service, reference)
        finally:
            connection.close()
    agree()


def test_the_comparison_can_fail() -> None:
    """A reference that forgets a link must be caught by the same comparison."""
    stream = [("ingest", "e1", [POOL[0], POOL[5]], TIMESTAMPS[0])]
    service, reference, _ = _replay("memory://", stream)
    reference.links.clear()
    assert _service_view(service.resolve(*POOL[0])) != reference.resolve(*POOL[0])
