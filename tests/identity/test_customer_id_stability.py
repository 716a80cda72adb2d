"""Customer ids stay put (issue #20): random sequences of ingest (re-ingest included), unlink,
forget of an identifier or of a customer, events that mark an email shared and events that turn a
device multi-user (its cookie's links scoped), on every backend,
compared step by step with the plain-Python reference model (identity/domain/reference.py), and checked
against what the ids promise (identity/domain/customers.py, docs/data-model.md "Customer ids"):

- every id ever returned resolves (``resolve("customer", id)``) to a customer holding some of the
  identifiers it named the step before, as its id or an alias, unless every one of those was
  forgotten: then it resolves to nothing, and it is never seen again;
- no id names two customers;
- a customer that loses identifiers without falling apart keeps its id; when unlink or forget
  splits one, the largest part keeps it (equal sizes: the part holding the oldest identifier),
  unless that part takes back an id that was merged into it.

The pool is small enough, and ``max_hops`` large enough, for every walk to see whole customers:
what a customer is then does not depend on where a walk starts (test_property_based.py compares
the bounded walks)."""

from __future__ import annotations

from typing import Any

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.traversal import Cardinality
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import gremlin
from identity import IdentityGraph, NotFound, TenantConfig
from identity.domain import model
from identity.domain.reference import ReferenceIdentity
from identity_helpers import sends_a_forgotten_event_again
from tests.backends import clear
from tests.gremlin_servers import is_real_server

EMAILS = [("email", f"user{n}@example.com") for n in range(3)]
PHONES = [("phone", f"+1555010{n:04d}") for n in range(2)]
POOL = (EMAILS + PHONES + [("device_id", f"dev-{n}") for n in range(2)] + [("partner_id", "crm-0"),
        ("cookie", "ck-0"), ("ip", "203.0.113.1")])
TIMESTAMPS = [1_714_550_400_000 + n * 3_600_000 for n in range(4)]


def _config() -> TenantConfig:
    # generic_threshold 3: identifiers turn generic (and customers fall apart) often; max_hops 10
    # exceeds any path among 10 identifiers; a device's first refusal scopes its cookies' links
    # (device_scope_past_links): customers fall apart that way too, and two cookies alive at once on
    # a device count as a refusal there (device_profiles_at_once)
    return TenantConfig(generic_threshold=3, type_limits={"email": 2, "partner_id": 1}, max_hops=10,
                        device_scope_past_links=True, device_scope_after_conflicts=1, device_profiles_at_once=True)


identifier = st.sampled_from(POOL)
event_id = st.one_of(st.none(), st.sampled_from([f"e{n}" for n in range(5)]))  # repeats: re-ingest
ingest_op = st.tuples(st.just("ingest"), event_id, st.lists(identifier, min_size=1, max_size=4),
                      st.sampled_from(TIMESTAMPS))
unlink_op = st.tuples(st.just("unlink"), identifier, identifier)
forget_op = st.tuples(st.just("forget"), identifier)
forget_customer_op = st.tuples(st.just("forget customer"), st.integers(0, 50))  # one of the ids seen
# an email someone else's known customer types with its own phone: marked shared (identity.domain.guards)
share_op = st.tuples(st.just("share"), st.sampled_from(EMAILS), st.sampled_from(EMAILS), st.permutations(PHONES))
# a cookie seen on a device, someone signing in there, then someone else: the device turns
# multi-user and the cookie's links stop joining (device_scope_past_links)
DEVICES = [("device_id", f"dev-{n}") for n in range(2)]
tablet_op = st.tuples(st.just("tablet"), st.sampled_from(DEVICES), st.permutations(EMAILS))
streams = st.lists(st.one_of(ingest_op, ingest_op, ingest_op, unlink_op, forget_op, forget_customer_op, share_op,
                             tablet_op), min_size=1, max_size=16)


# found by hypothesis: the last event merges a customer into an older one while the identifier
# carrying its id turns generic, so the id is kept as a retired record (resolvable), not carried
ABSORBED_WHILE_ITS_CARRIER_TURNS_GENERIC = [
    ("ingest", None, [PHONES[1], ("ip", "203.0.113.1"), PHONES[1]], TIMESTAMPS[0]),
    ("share", EMAILS[2], EMAILS[0], PHONES),
    ("forget", PHONES[1]),
    ("forget", PHONES[1]),
    ("share", EMAILS[0], EMAILS[0], PHONES),
    ("ingest", None, [("ip", "203.0.113.1"), EMAILS[0], ("device_id", "dev-1"), PHONES[0]], TIMESTAMPS[0]),
]

# found by hypothesis: both emails marked shared, so the walk expands neither and reads no link
# between them; the unlink read them unlinked and its guard (no link there) never held: it tried
# again until it gave up (GraphUnavailable)
UNLINK_OF_TWO_SHARED_IDENTIFIERS = [
    ("ingest", None, [EMAILS[0]], TIMESTAMPS[0]),
    ("share", EMAILS[0], EMAILS[1], PHONES),
    ("share", EMAILS[1], EMAILS[0], PHONES[::-1]),
    ("ingest", None, [EMAILS[0], EMAILS[1], PHONES[1]], TIMESTAMPS[1]),
    ("unlink", EMAILS[0], EMAILS[1]),
]


class Clock:
    now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def _examples(url: str) -> int:
    if url.startswith("memory://"):
        return 40
    return 8 if url.startswith("file://") else 5


def _answer(resolution: Any) -> Any:
    if resolution is None:
        return None
    return (resolution.customer_id, {t: sorted((i["value"], i["hops"], i["generic"]) for i in items)
                                     for t, items in resolution.identifiers.items()}, resolution.aliases)


def _members(answer: Any) -> frozenset:
    """The identifiers an answer names as its customer's; a generic start alone."""
    found = {(t, value) for t, items in answer[1].items() for value, _, generic in items if not generic}
    return frozenset(found or {(t, value) for t, items in answer[1].items() for value, hops, _ in items if hops == 0})


class Checker:
    """Runs the stream on the service and the reference, comparing them and checking the promises."""

    def __init__(self, service: IdentityGraph, reference: ReferenceIdentity, clock: Clock):
        self.service, self.reference, self.clock = service, reference, clock
        self.named: dict[str, frozenset] = {}  # id -> the identifiers it named at the last check
        self.dead: set[str] = set()
        self.before: dict[tuple, Any] = {}  # identifier -> its answer at the last check
        self.by_id: dict[str, Any] = {}  # id -> resolve("customer", id) at the last check

    def run(self, op: tuple) -> None:
        self.clock.now += 1
        kind = op[0]
        if kind == "ingest":
            self.ingest(op[1], op[2], op[3])
        elif kind == "tablet":
            _, device, (first, second, _) = op
            for body in ((None, [device, ("cookie", "ck-0"), ("ip", "203.0.113.1")], TIMESTAMPS[0]),
                         (None, [device, first], TIMESTAMPS[1]), (None, [device, second], TIMESTAMPS[2])):
                self.ingest(*body)
                self.check(kind)
            return
        elif kind == "share":
            _, email, other, (phone, other_phone) = op
            for body in ((None, [email, phone], TIMESTAMPS[0]), (None, [other, other_phone], TIMESTAMPS[1]),
                         (None, [other_phone, email], TIMESTAMPS[2])):
                self.ingest(*body)
                self.check(kind)
            return
        elif kind == "unlink":
            if op[1] == op[2]:
                return
            try:
                self.reference.unlink(op[1], op[2])
            except KeyError:
                with pytest.raises(NotFound):
                    self.service.unlink(op[1], op[2])
            else:
                self.service.unlink(op[1], op[2])
        elif kind == "forget":
            assert self.service.forget(*op[1]) == self.reference.forget(*op[1])
        else:
            seen = sorted(self.named)
            if not seen:
                return
            subject = ("customer", seen[op[1] % len(seen)])
            try:
                expected = self.reference.forget(*subject)
            except KeyError:
                with pytest.raises(NotFound):
                    self.service.forget(*subject)
            else:
                assert self.service.forget(*subject) == expected
        self.check(kind)

    def ingest(self, event_id: Any, identifiers: list, ts: int) -> None:
        body = {"type": "t", "timestamp": ts, "identifiers": [{"type": t, "value": v} for t, v in identifiers]}
        if event_id is not None:
            body["event_id"] = event_id
        results = [r.to_dict() for r in self.service.ingest([body])]
        assert results == [r.to_dict() for r in self.reference.ingest([body])]
        for result in results:
            for cid in [result["customer_id"], *result["merged"]]:
                if cid is not None:
                    assert cid not in self.dead, f"{cid} was issued again"
                    self.named.setdefault(cid, frozenset())

    def check(self, kind: str) -> None:
        answers = {}
        for id_type, value in POOL:
            answer = _answer(self.service.resolve(id_type, value))
            assert answer == self.reference.resolve(id_type, value, aliases=True)
            answers[(id_type, value)] = answer
        present = {key for key, answer in answers.items() if answer is not None}
        # no id names two customers
        customers: dict[str, frozenset] = {}
        for answer in filter(None, answers.values()):
            assert customers.setdefault(answer[0], _members(answer)) == _members(answer), f"{answer[0]} names two"
        for cid, members in customers.items():
            self.named.setdefault(cid, members)
        self.by_id = {}
        for cid in list(self.named):
            answer = _answer(self.service.resolve("customer", cid))
            assert answer == self.reference.resolve("customer", cid, aliases=True)
            self.by_id[cid] = answer
            if answer is None:
                # only a customer forgotten whole takes its ids with it
                assert not self.named[cid] & present, f"{cid} no longer resolves, but {self.named[cid] & present} remain"
                self.dead.add(cid)
                del self.named[cid]
                continue
            assert cid not in self.dead, f"{cid} resolves again"
            assert answer[0] == cid or cid in answer[2]
            members = _members(answer)
            assert not self.named[cid] or members & self.named[cid], f"{cid} moved to other identifiers"
            self.named[cid] = members
        self.stable(kind, answers)
        self.before = answers

    def stable(self, kind: str, answers: dict) -> None:
        """A customer keeps its id unless it fell apart. When unlink or forget splits one, the
        largest part keeps it (equal sizes: the one holding the oldest identifier), unless that
        part takes back an id merged into the customer before."""
        before = {a[0]: (_members(a), a[2]) for a in self.before.values() if a is not None}
        for cid, (members, aliases) in before.items():
            left = {m for m in members if answers.get(m) is not None and not _is_generic_answer(answers[m])}
            if not left:
                continue
            parts: dict[frozenset, Any] = {_members(answers[m]): answers[m] for m in left}
            # an id absorbed by an older customer's while its own carriers left (turned generic,
            # forgotten) is a retired record, not carried: it names the customer it resolves to
            heir = (self.by_id.get(cid) or (None,))[0]
            holders = [part for part, answer in parts.items() if answer[0] in (cid, heir) or cid in answer[2]]
            if len(parts) == 1:
                assert holders, f"{cid} lost, though its customer did not fall apart"
                continue
            assert len(holders) <= 1, f"{cid} names two customers"
            if kind not in ("unlink", "forget") or any(part - members for part in parts):
                continue  # merged with others as well: the id follows what carries it
            assert holders, f"{cid} went with no part"
            holder = holders[0]

            def order(part: frozenset) -> tuple:
                return -len(part & left), min(self._created(m) for m in part & left)
            for part in parts:
                if order(part) < order(holder):
                    assert parts[part][0] in aliases, f"{cid} did not stay with the largest part"

    def _created(self, identifier: tuple) -> int:
        return self.reference.identifiers[self.reference._vertex_id(*identifier)]["created"]


def _is_generic_answer(answer: Any) -> bool:
    return any(generic for items in answer[1].values() for _, hops, generic in items if hops == 0)


def _replay(url: str, stream: list) -> tuple[Checker, Any]:
    if not url.startswith("memory://"):  # memory:// is a new graph per connection already
        clear(url)
    clock = Clock()
    connection = gremlin.connect(url)
    service = IdentityGraph(traversal().with_remote(connection), "acme", config=_config(), clock=clock)
    checker = Checker(service, ReferenceIdentity("acme", config=_config(), clock=clock), clock)
    for op in stream:
        checker.run(op)
    return checker, connection


def test_customer_ids_stay_with_their_customers(url: str, gremlin_servers) -> None:
    # TinkerTransactionGraph 3.7.3 refuses for good to create again an event vertex a forget
    # dropped after ingest had read it by id (test_property_based.py says more): streams that
    # send such an event again are left out there, the other backends run them
    zombies = is_real_server(url) and gremlin_servers.transactional(url)

    @settings(max_examples=_examples(url), deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                     HealthCheck.filter_too_much])
    @given(stream=streams)
    @example(stream=ABSORBED_WHILE_ITS_CARRIER_TURNS_GENERIC)
    @example(stream=UNLINK_OF_TWO_SHARED_IDENTIFIERS)
    def stays(stream: list) -> None:
        assume(not (zombies and sends_a_forgotten_event_again(stream)))
        checker, connection = _replay(url, stream)
        connection.close()
    stays()


def test_the_checks_can_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ids as before issue #20: each identifier minted its own, and no split passed any on. A
    founder forgotten takes the customer's id with it, and the checks say so."""
    from identity.domain import customers
    stream = [("ingest", "e1", [EMAILS[0], PHONES[0], ("device_id", "dev-0")], TIMESTAMPS[0])]
    checker, _ = _replay("memory://", stream)
    for id_type, value in stream[0][2][1:]:
        vertex = checker.reference._vertex_id(id_type, value)
        own = model.customer_id("acme", vertex)
        checker.service.g.V(vertex).property(Cardinality.single, "cid", own).iterate()
        checker.reference.identifiers[vertex]["cid"] = own
    monkeypatch.setattr(customers, "split", lambda *args, **kwargs: customers.Reassignment())
    with pytest.raises(AssertionError, match="no longer resolves"):
        checker.run(("forget", EMAILS[0]))
