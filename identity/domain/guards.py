"""Over-merge guards and the per-tenant settings that tune them.

Users of identity products complain most about over-merging: one shared value (a test email, a
household IP, an all-zero device id) fusing thousands of people into one "customer". The
guards, applied at ingest by ``plan_links`` (a pure function, so the graph-backed core and the
plain-Python reference share exactly the same decisions):

- blocked values (exact, case-insensitive, or regex) are dropped from an event;
- weak types (ip, cookie) attach to a customer but never bridge two customers that each hold
  a strong identifier;
- shareable types (device_id: a family tablet; email: a store's placeholder or a family address)
  bridge two customers only when those do not each hold a different identifier of one personal
  type (two emails, two phones, two partner ids): two people behind one tablet or one typed-in
  address are likelier than one person adding a second email or phone through it;
- reused types (``reused_types``, default the payment card: a family card a child pays with; the
  household landline if a tenant adds the phone) are judged as shareable ones, except that such an
  identifier still joins a customer holding a different email or phone when the event also
  carries a device of its own customer that nobody else is known to use (its holder paying on
  their own phone with a new email);
- generic identifiers (linked to more than ``generic_threshold`` others) still get links but
  never merge anything, and resolution does not expand them;
- a shareable identifier that names no person (a device) never joins a customer holding an
  account id to one holding personal identifiers but no account id when the side it does not
  belong to is established already: a known guest checking out on an account holder's device,
  or a known account signing in on a guest's device, is a household member; the account holder
  would be signed in, and an event carrying both the account id and the guest's identifier
  still joins them;
- an identifier of a ``shared_on_conflict`` type (email) that the shareable-type rule refused
  as the bridge to an established customer whose own competing identifier the event carries is
  marked *shared* (a store placeholder, a family address): from then on it is treated as a
  generic one, however few links it has; so is one refused ``shared_after_conflicts`` times as
  the bridge to a new competing identifier the event carries (once is a person's new phone);
- an identifier of a ``multi_user_on_conflict`` type (a device) refused as the bridge to a
  customer whose personal identifier the event carries (someone else signing in or checking out
  on it) is known to be used by several people: from then on it never joins two customers that
  both hold personal identifiers, a new one included (a household member's first sign-in on the
  family tablet); unlike a shared email it stays expanded, so nothing it joined before splits;
- an identifier of a ``device_scoped`` type (a cookie: it lives in one browser profile) seen on
  such a device, once refused as a bridge ``device_scope_after_conflicts`` times (the first
  refusal may be its own user's second email), belongs to whoever the event identifies, not to
  the device's customer: it joins a customer neither through the device nor through the event's
  other weak identifiers (the household IP); it joins the person whose email, phone, account id
  or card the event carries, else nobody until such an event;
- with ``device_scope_past_links``, the links such a cookie got on the device before it was
  known to be multi-user (to the device, and to weak identifiers) stop joining when it gets
  there: ``scoped_links`` names them, ingest marks them and every walk passes them by, so the
  customers they held split (identity.domain.customers);
- with ``device_profiles_at_once``, a device is counted as used by several people also when two
  cookies linked to it are alive at once (their sightings overlap: two browser profiles used in
  turn), not only when a bridge through it is refused (``mark_profiles_at_once``); with
  ``device_profiles_conclusive`` one such event takes its count to ``device_scope_after_conflicts``
  at once (two browser profiles alive at once are two people's more often than one person's two
  browsers, and a refusal may be the device's own user's second email: the threshold is for those);
- with ``device_past_personal_links``, the device's own links to personal identifiers (the
  emails, phones and account ids typed or signed in on it before it was known to be multi-user)
  stop joining at that point too: the first of a household to sign in on the family tablet joined
  the tablet's customer, and the next one's joined through it before the guards could know; those
  links are marked as the cookies' are (``scoped_links``), so each member's customer falls back to
  what their own devices and events hold;
- with ``device_scope_sign_in`` (off by default), on a device past that threshold such a cookie
  joins an account holder (a customer holding an ``account_types`` id) only through the account
  id, their signing in, not through their email, phone or card typed there: a child buying with a
  parent's email or card in their own browser profile does not sign in as the parent;
- with ``shared_browser_profiles`` (off by default), on a device past that threshold, an identifier of a
  ``device_scoped_types`` type (a cookie) refused as the weak bridge between its identified
  customer and an established one, with a device of its own, whose email, phone or account id the
  event carries (someone else signing in in that browser profile) is marked *shared*: a browser
  profile two people use; from then on it is treated as a generic one, and the customers it held
  split;
- with ``second_device_bridge``, a device no refusal has counted yet, whose
  customer is a guest (an email or phone, no account id) holding a device of its own besides,
  does not join that customer to an account id signing in on it (a household member's account on
  the family tablet); the refusal counts the device;
- per-customer type limits (at most K emails ...) refuse a merge that would exceed them; links
  are decided in ``type_priority`` order so that the most trusted types win;
- do-not-link rules left by unlink() refuse any merge joining the two sides again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Iterable, Mapping

from .customers import is_generic
from .identifiers import IDENTIFIER_TYPES, compact_phone

__all__ = ["TenantConfig", "is_blocked", "Member", "Candidate", "LinkPlan", "plan_links", "scoped_links",
           "mark_profiles_at_once"]

_DEFAULT_BLOCKED: dict[str, tuple[str, ...]] = {
    "email": ("test@test.com", "test@example.com", "email@email.com", "a@a.com", "none@none.com",
              "null@null.com", "noemail@noemail.com", "user@example.com"),
    "phone": ("0000000000", "1234567890", "+10000000000", "+11234567890", "+19999999999"),
    "device_id": ("00000000-0000-0000-0000-000000000000", "unknown", "null", "undefined", "none"),
    "ip": ("127.0.0.1", "0.0.0.0", "::1", "::", "255.255.255.255"),
    "cookie": ("undefined", "null", "none", "0", "-", "(null)", "unknown"),
    "partner_id": ("0", "-1", "null", "undefined", "none", "unknown", "anonymous", "guest", "test", "n/a"),
    "hashed_email": ("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",),  # sha256("")
}
_DEFAULT_PATTERNS: dict[str, tuple[str, ...]] = {
    "email": (r"(no-?reply|do-?not-?reply|test|null|none)@.*",),
    "phone": (r"\+\d{1,3}(\d)\1{6,}", r"\+?0+"),  # one digit repeated after the country code
    "device_id": (r"[0-]+",),  # zeroed advertising ids (limit-ad-tracking)
    "ip": (r"127\..*",),
}
_DEFAULT_LIMITS = {"partner_id": 1, "email": 5, "hashed_email": 5, "phone": 5, "payment_fingerprint": 10,
                   "device_id": 20}
_DEFAULT_PRIORITY = ("partner_id", "email", "hashed_email", "phone", "payment_fingerprint", "device_id",
                     "cookie", "ip")


@dataclass
class TenantConfig:
    """Per-tenant normalisation and guard settings; every default is meant for production."""

    #: Country calling code given to national phone numbers (no + or 00 prefix).
    default_country_code: str = "1"
    #: Gmail ignores dots and +tags in the local part, and googlemail.com is gmail.com.
    gmail_normalization: bool = True
    #: Strip +tags from every email domain (many providers, not all, ignore them).
    strip_plus_tags: bool = False
    #: Accept only IDFA/GAID/UUID device ids (otherwise other vendor ids are kept, lower-cased).
    strict_device_ids: bool = False
    #: type -> values never linked (compared case-insensitively with the normalised value).
    blocked_values: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(_DEFAULT_BLOCKED))
    #: type -> regular expressions (full match against the normalised value) never linked.
    blocked_patterns: dict[str, tuple[str, ...]] = field(default_factory=lambda: dict(_DEFAULT_PATTERNS))
    #: Types that attach to a customer but never bridge two customers holding strong identifiers.
    weak_types: frozenset[str] = frozenset({"ip", "cookie"})
    #: Types several people may use (a family tablet, a store's placeholder email): such an
    #: identifier never bridges two customers that each hold a different identifier of one
    #: personal type (the bridge itself does not count).
    shareable_types: frozenset[str] = frozenset({"device_id", "email"})
    #: Strong types the members of a household use in turn (a family card: a child pays with a
    #: parent's; the household landline): such an identifier bridges two customers that each hold a
    #: different identifier of one personal type only when the event also carries a device of the
    #: bridge's own customer that is not known to be used by several people (its holder paying on
    #: their own phone: their new email, not someone else's). Not in ``shareable_types`` too.
    reused_types: frozenset[str] = frozenset({"payment_fingerprint"})
    #: Types that name one person: two sides each holding one (a different one) are two people.
    personal_types: frozenset[str] = frozenset({"partner_id", "email", "hashed_email", "phone"})
    #: Types that name a signed-in account: a shareable identifier of no personal type (a
    #: device) never joins a customer holding one to a customer holding personal identifiers
    #: but none of these (a guest) when the other side than its own is established already.
    account_types: frozenset[str] = frozenset({"partner_id"})
    #: Shareable types whose identifier is marked shared (then treated as generic) once it is
    #: refused as the bridge between its customer and an established customer that the event
    #: identifies by a different identifier of one personal type: several people use it.
    shared_on_conflict: frozenset[str] = frozenset({"email"})
    #: ... and once it has been refused this many times as the bridge to a *new* competing
    #: identifier that the event carries (a person changing phone does that once; a store
    #: placeholder typed by one new customer after another, again and again). 0: never.
    shared_after_conflicts: int = 2
    #: Shareable types of no personal type (devices) known to be used by several people once
    #: refused as the bridge to a customer the event identifies (another person's email, phone
    #: or account id is in the event): from then on such an identifier never joins two customers
    #: that both hold personal identifiers, whether or not they are established already. It is
    #: still expanded (what it joined before stays joined), unlike a shared email.
    multi_user_on_conflict: frozenset[str] = frozenset({"device_id"})
    #: Types scoped to one device (a cookie lives in one browser profile): in an event carrying
    #: a device several people use (``multi_user_on_conflict``, with ``device_scope_after_conflicts``
    #: refusals counted), such an identifier joins a customer only through an identifier that
    #: names someone (not weak, not that device), never the device's customer through the device
    #: or the event's other weak identifiers.
    device_scoped_types: frozenset[str] = frozenset({"cookie"})
    #: ... once the device's ``conflicts`` count (this event's included) reaches this: the first
    #: refusal may be its own user's (a second email refused on their own device counts), and
    #: after it a multi-user device counts again only when a type limit refuses another person's
    #: identifiers on it (a second account holder signing in).
    device_scope_after_conflicts: int = 2
    #: When a device's ``conflicts`` count reaches ``device_scope_after_conflicts``, the links
    #: its device-scoped identifiers got before (each cookie linked to it: its link to the device
    #: and its links to weak identifiers or other multi-user devices, the links the rule above
    #: refuses from then on) stop joining: they are marked ``scoped`` and no walk crosses them,
    #: and the customers they held split, as when an identifier turns generic. A cookie keeps
    #: its links to identifiers that name someone (its user's email, account id, card).
    device_scope_past_links: bool = True
    #: A device on which two identifiers of a device-scoped type are alive at once (two browser
    #: profiles' cookies: one seen again after the other first appeared) counts as used by
    #: several people: each event carrying one of them, the device and the other linked to the
    #: device with overlapping first/last sightings raises the device's ``conflicts`` by one (or at
    #: once, below), up to ``device_scope_after_conflicts``. A cookie expiring and its successor
    #: follow each other; two people's profiles on a family laptop interleave (and so do one
    #: person's two browsers).
    device_profiles_at_once: bool = True
    #: ... and one such event takes the device's count straight to ``device_scope_after_conflicts``
    #: (the cookie scope and its past links apply from it), not one up: the threshold is there
    #: because a refusal may be the device's own user's (their second email on their own device);
    #: two profiles alive at once are seen, not inferred. Off: one up per event, as a refusal.
    device_profiles_conclusive: bool = True
    #: On a device past ``device_scope_after_conflicts``, an identifier of a device-scoped type
    #: (a cookie) joins a customer holding an id of an ``account_types`` type (an account holder)
    #: only through that account id (their signing in), not through the email, phone or card of
    #: theirs the event carries (typed at checkout by whoever uses the profile: a child with a
    #: parent's email, a teenager with a parent's card). A customer without an account is joined
    #: as before, by whatever of theirs the event carries. Off by default: where nobody buys with a
    #: parent's email or card (benchmarks/population.py) it costs recall and buys no precision.
    device_scope_sign_in: bool = False
    #: When a device's ``conflicts`` count reaches ``device_scope_after_conflicts``, its own links
    #: to identifiers of a ``personal_types`` type (the emails, phones and account ids signed in or
    #: typed on it before it was known to be used by several people) stop joining too, as its
    #: cookies' past links do (``device_scope_past_links``): before the count, each member's first
    #: sign-in on a family tablet joined the tablet's customer, the household's members through it.
    #: Its links to cards and cookies stay (a card names its holder; a cookie's are the rule above's).
    device_past_personal_links: bool = True
    #: On a device past ``device_scope_after_conflicts``, an identifier of a ``device_scoped_types``
    #: type (a cookie: one browser profile) refused as the weak bridge between its customer, which
    #: holds personal identifiers, and an established customer holding a device of its own whose
    #: personal identifier the event carries (someone known elsewhere signing in or typing their
    #: email in that profile) is marked *shared*: a browser profile two people use. From then on it
    #: is treated as a generic identifier: its links join nothing (the members it joined before
    #: split), and its anonymous history (page views) is attributed to neither. Off by default: it
    #: raises precision on two benchmarks/population.py seeds of three and one population_alt.py
    #: seed of two, and lowers it on one (docs/benchmarks.md, "Shared browser profiles").
    shared_browser_profiles: bool = False
    #: A device of a ``multi_user_on_conflict`` type not yet counted, whose customer is a guest
    #: (personal identifiers, no ``account_types`` id) holding another such device the event does
    #: not carry (its own phone: this one is a second device, a family tablet, say), never joins
    #: that customer to an account id signing in there: a household member's account on the
    #: family tablet of a guest known by email and phone. The refusal (``second_device_bridge``)
    #: counts the device as an ``account_bridge`` refusal does. On by default: it raises precision
    #: or holds it on both generators' populations at F1 -0.0003 to +0.0030 (docs/benchmarks.md,
    #: "A guest's second device").
    second_device_bridge: bool = True
    #: An identifier linked to more than this many others is generic: it never merges and
    #: resolution does not expand it.
    generic_threshold: int = 50
    #: type -> the most identifiers of that type one customer may hold.
    type_limits: dict[str, int] = field(default_factory=lambda: dict(_DEFAULT_LIMITS))
    #: Links between earlier types are decided first (they win when a limit binds).
    type_priority: tuple[str, ...] = _DEFAULT_PRIORITY
    #: The neighbourhood ingest examines around each identifier (and resolve's default).
    max_hops: int = 3
    #: Ingest does not expand identifiers with more links than this.
    max_fanout: int = 50
    #: The most new identifiers one hop of a neighbourhood walk may add (beyond it results are
    #: truncated; ingest allows this many per identifier of the batch).
    path_cap: int = 10_000

    def __post_init__(self) -> None:
        if not (self.default_country_code.isdigit() and 1 <= len(self.default_country_code) <= 3
                and not self.default_country_code.startswith("0")):
            raise ValueError("default_country_code must be 1..3 digits, not starting with 0")
        unknown = (set(self.weak_types) | set(self.shareable_types) | set(self.personal_types)
                   | set(self.shared_on_conflict) | set(self.account_types) | set(self.multi_user_on_conflict)
                   | set(self.device_scoped_types) | set(self.reused_types)
                   | set(self.type_limits) | set(self.blocked_values)
                   | set(self.blocked_patterns)) - set(IDENTIFIER_TYPES)
        if unknown:
            raise ValueError(f"unknown identifier types in TenantConfig: {sorted(unknown)}")
        if self.device_scoped_types & (self.shareable_types | self.personal_types | self.multi_user_on_conflict):
            raise ValueError("device_scoped_types must name neither shareable, personal nor multi-user types: "
                             "an identifier scoped to a device names neither a person nor the device")
        if self.reused_types & (self.shareable_types | self.weak_types | self.device_scoped_types):
            raise ValueError("reused_types must name neither shareable, weak nor device-scoped types: a shareable "
                             "identifier never bridges two identified customers, a weak one never bridges, "
                             "whatever the event's device")
        if (self.generic_threshold < 1 or self.max_hops < 0 or self.max_fanout < 1 or self.path_cap < 1
                or self.shared_after_conflicts < 0 or self.device_scope_after_conflicts < 1):
            raise ValueError("generic_threshold, max_fanout, path_cap and device_scope_after_conflicts must be "
                             "positive, max_hops and shared_after_conflicts >= 0")
        self._exact = {t: frozenset(v.lower() for v in values) for t, values in self.blocked_values.items()}
        self._patterns = {t: tuple(re.compile(p, re.IGNORECASE) for p in patterns)
                          for t, patterns in self.blocked_patterns.items()}

    def rank(self, id_type: str) -> int:
        return self.type_priority.index(id_type) if id_type in self.type_priority else len(self.type_priority)

    def priority(self, id_type: str) -> tuple[int, str]:
        """Sort key of types, most trusted first: types outside ``type_priority`` tie on rank and
        go by name, so that picking one from a set of types never depends on the string hash seed."""
        return self.rank(id_type), id_type

    @property
    def expand_limit(self) -> int:
        """The most links an identifier may have for ingest to walk through it: a generic one is
        never expanded, nor one past the fan-out bound."""
        return min(self.generic_threshold, self.max_fanout)


def is_blocked(config: TenantConfig, id_type: str, normalized: str, raw: str = "") -> bool:
    """True when the identifier matches one of the tenant's blocked values or patterns."""
    exact = config._exact.get(id_type, frozenset())
    forms = {normalized.lower()}
    if raw:
        forms.add(raw.strip().lower())
        if id_type == "phone":
            forms.add(compact_phone(raw).lower())
    if forms & exact:
        return True
    return any(p.fullmatch(form) for p in config._patterns.get(id_type, ()) for form in forms)


# -- planning an event's links ------------------------------------------------------------------

@dataclass(frozen=True)
class Member:
    """An identifier vertex as planning sees it."""

    id: str
    type: str
    created: int
    #: the customer id it carries, and that id's rank (identity.domain.customers.rank: the oldest names
    #: a customer)
    cid: str
    rank: tuple[int, int, str]
    nolinks: frozenset[str] = frozenset()
    #: how often it was refused as a shareable bridge to a competing identifier the event carried
    #: (for a ``shared_on_conflict`` type: a new one; for a ``multi_user_on_conflict`` type: any)
    conflicts: int = 0
    #: the identifiers its stored link to stopped joining (model.SCOPED: ``device_scope_past_links``)
    scoped_with: frozenset[str] = frozenset()

    def anchor_key(self) -> tuple:
        return (self.rank, self.id)


@dataclass
class Candidate:
    """One (non-blocked, de-duplicated) identifier of the event being ingested."""

    index: int  # its position in the event's identifiers
    member: Member
    weak: bool
    generic: bool = False
    #: the identifiers already forming its customer (itself included); just itself when new
    group: dict[str, Member] = field(default_factory=dict)
    exists: bool = False
    #: a stored device holding two device-scoped identifiers alive at once, one of them this
    #: event's (``mark_profiles_at_once``)
    profiles_at_once: bool = False


@dataclass
class LinkPlan:
    links: list[tuple[int, int]]  # accepted pairs, as positions in the candidate list
    refused: list[dict]
    merged: list[str]  # customer ids absorbed into older ones
    customer_id: str | None  # the customer of the event's first identifier
    #: candidate id -> the identifier whose id its customer goes by (what a new identifier carries)
    anchors: dict[str, Member] = field(default_factory=dict)
    #: identifiers this event revealed as used by several people (to mark shared)
    shared: list[str] = field(default_factory=list)
    #: identifiers whose conflict count this event raises, by one for each time it is listed (a
    #: device whose profiles are alive at once, ``device_profiles_conclusive``, up to the threshold)
    conflicts: list[str] = field(default_factory=list)
    #: devices whose conflict count this event raises to ``device_scope_after_conflicts``, when
    #: ``device_scope_past_links``: the links ``scoped_links`` names stop joining
    scoped_devices: list[str] = field(default_factory=list)


class _Group:
    def __init__(self, members: dict[str, Member], weak_types: Iterable[str], existing: bool):
        self.members = dict(members)
        self.strong = any(m.type not in weak_types for m in members.values())
        self.existing = existing

    def anchor(self) -> Member:
        return min(self.members.values(), key=Member.anchor_key)

    def count(self, id_type: str) -> int:
        return sum(1 for m in self.members.values() if m.type == id_type)


def plan_links(candidates: list[Candidate], config: TenantConfig) -> LinkPlan:
    """Which pairs of the event's identifiers to link, which to refuse and which customers merge.
    Deterministic: depends only on the candidates (in event order) and the config."""
    groups: list[_Group] = []
    owner: dict[str, _Group] = {}
    for candidate in candidates:
        if candidate.generic:
            continue
        mine = [owner[i] for i in candidate.group if i in owner]
        if mine:  # two candidates already in the same customer share one group
            owner[candidate.member.id] = mine[0]
            mine[0].members.update(candidate.group)
            continue
        group = _Group(candidate.group or {candidate.member.id: candidate.member}, config.weak_types,
                       candidate.exists)
        groups.append(group)
        for member_id in group.members:
            owner.setdefault(member_id, group)
        owner[candidate.member.id] = group

    links: list[tuple[int, int]] = []
    refused: list[dict] = []
    merged: list[str] = []
    shared: list[str] = []
    conflicts: list[str] = []
    in_event = {c.member.id for c in candidates}
    # the event's devices of a multi-user type: their conflicts count, with this event's (a
    # refusal below counting; stronger pairs are decided first, so before a cookie's), says
    # whether its cookies are scoped to whoever the event identifies
    devices = {c.member.id for c in candidates if _is_multi_user_type(c.member.type, config)}

    for candidate in candidates:  # counted first: a cookie of this event is scoped by it already
        device = candidate.member
        if (candidate.profiles_at_once and device.id in devices
                and device.conflicts < config.device_scope_after_conflicts):
            rise = config.device_scope_after_conflicts - device.conflicts if config.device_profiles_conclusive else 1
            conflicts.extend([device.id] * rise)

    def refuse(x: int, y: int, reason: str, detail: str) -> None:
        a, b = candidates[x], candidates[y]
        refused.append({"a": {"index": a.index, "type": a.member.type},
                        "b": {"index": b.index, "type": b.member.type}, "reason": reason, "detail": detail})

    def count_multi_user(a: Member, ga: _Group, b: Member, gb: _Group) -> None:
        """A refused bridge of a multi_user_on_conflict type that met someone else the event identifies."""
        for bridge, own, other in ((a, ga, gb), (b, gb, ga)):
            if _identifies_other(bridge, own, other, in_event, config) and bridge.id not in conflicts:
                conflicts.append(bridge.id)

    def scoping_device() -> bool:
        """The event carries a device whose count (this event's included) is past the threshold."""
        return any(c.member.conflicts + conflicts.count(c.member.id) >= config.device_scope_after_conflicts
                   for c in candidates if c.member.id in devices)

    for x, y in _pairs_in_priority_order(candidates, config):
        a, b = candidates[x], candidates[y]
        if b.member.id in a.member.nolinks:
            refuse(x, y, "do_not_link", "these identifiers were unlinked")
            continue
        if b.member.id in a.member.scoped_with:  # seen together again is the evidence judged already
            refuse(x, y, "scoped", "their link stopped joining when a device it went through turned out "
                                   "to be used by several people")
            continue
        if a.generic or b.generic or a.member.id in shared or b.member.id in shared:
            # attach only: a generic identifier merges nothing, nor one this event marked shared
            # (the rest of the event is planned as the next event will see it)
            links.append((x, y))
            continue
        ga, gb = owner[a.member.id], owner[b.member.id]
        if ga is not gb:
            if any(other in gb.members for m in ga.members.values() for other in m.nolinks):
                refuse(x, y, "do_not_link", "would join identifiers that were unlinked")
                continue
            if (a.weak or b.weak) and ga.strong and gb.strong:
                refuse(x, y, "weak_bridge", "a weak identifier never bridges two customers")
                for profile, own, other, by in ((a.member, ga, gb, b.member), (b.member, gb, ga, a.member)):
                    if (_signed_in_by_another(profile, own, other, by, in_event, config)
                            and profile.id not in shared and scoping_device()):
                        shared.append(profile.id)
                continue
        # whether or not the two are one customer already: a cookie in the device's customer
        # (through the home IP, say) is no more the device's than a new one, and past-links
        # marking never reaches a link made after the device turned multi-user
        scoped = _device_scoped(a, b, config) or _device_scoped(b, a, config)
        holder = _typed_for_holder(a, b, config) or _typed_for_holder(b, a, config)
        if (scoped or holder) and scoping_device():
            if scoped:
                refuse(x, y, "device_scope", f"a {scoped} on a device several people use joins only whoever the "
                                             "event identifies")
            else:
                refuse(x, y, "device_scope", f"a {holder} on a device several people use joins an account holder "
                                             "only when they sign in")
            continue
        if ga is gb:
            links.append((x, y))
            continue
        exceeded = _exceeded_limit(ga, gb, config)
        if exceeded:
            refuse(x, y, "type_limit", f"{exceeded}: at most {config.type_limits[exceeded]} per customer")
            count_multi_user(a.member, ga, b.member, gb)
            continue
        multi_user = _multi_user_bridge(a.member, ga, gb, config) or _multi_user_bridge(b.member, gb, ga, config)
        if multi_user:
            refuse(x, y, "multi_user_bridge", f"a {multi_user} several people use never joins two identified customers")
            continue
        conflict = (_shared_bridge(a.member, ga, gb, config, candidates)
                    or _shared_bridge(b.member, gb, ga, config, candidates))
        if conflict:
            refuse(x, y, "shared_bridge", f"a shared {conflict[0]} never joins two holders of different {conflict[1]}s")
            for bridge, own, other in ((a.member, ga, gb), (b.member, gb, ga)):
                competitor = _competitor_in_event(bridge, own, other, in_event, config)
                if competitor == "new" and bridge.id not in conflicts:
                    conflicts.append(bridge.id)
                counted_out = competitor == "new" and 0 < config.shared_after_conflicts <= bridge.conflicts + 1
                if (competitor == "known" or counted_out) and bridge.id not in shared:
                    shared.append(bridge.id)
            count_multi_user(a.member, ga, b.member, gb)
            continue
        guest = _guest_bridge(a.member, ga, gb, config) or _guest_bridge(b.member, gb, ga, config)
        if guest:
            refuse(x, y, "account_bridge", f"a shared {guest} never joins an account holder and a known guest")
            count_multi_user(a.member, ga, b.member, gb)
            continue
        second = (_second_device_bridge(a.member, ga, gb, config, in_event)
                  or _second_device_bridge(b.member, gb, ga, config, in_event))
        if second:
            refuse(x, y, "second_device_bridge", f"a {second} beside a guest's own device never joins them to "
                                                 "an account signing in on it")
            count_multi_user(a.member, ga, b.member, gb)
            continue
        survivor, absorbed = sorted((ga, gb), key=lambda g: g.anchor().anchor_key())
        if survivor.existing and absorbed.existing and absorbed.anchor().cid != survivor.anchor().cid:
            merged.append(absorbed.anchor().cid)
        survivor.members.update(absorbed.members)
        survivor.strong = survivor.strong or absorbed.strong
        survivor.existing = survivor.existing or absorbed.existing
        for member_id, group in list(owner.items()):
            if group is absorbed:
                owner[member_id] = survivor
        links.append((x, y))

    anchors = {c.member.id: c.member if c.generic or c.member.id in shared else owner[c.member.id].anchor()
               for c in candidates}
    customer = anchors[candidates[0].member.id].cid if candidates else None
    scoped_devices = [c.member.id for c in candidates
                      if (config.device_scope_past_links or config.device_past_personal_links)
                      and c.member.id in devices and c.member.id in conflicts  # reached by this event
                      and c.member.conflicts < config.device_scope_after_conflicts
                      <= c.member.conflicts + conflicts.count(c.member.id)]
    return LinkPlan(links, refused, merged, customer, anchors, shared, conflicts, scoped_devices)


def mark_profiles_at_once(candidates: list[Candidate], ts: int, reach: Mapping[str, Mapping[str, int]],
                          vertices: Mapping[str, dict], config: TenantConfig) -> None:
    """Set ``profiles_at_once`` (``device_profiles_at_once``) on each stored device of a multi-user
    type in the event, its count still below ``device_scope_after_conflicts``, linked to an
    identifier of a device-scoped type, not in the event, alive at once with one the event carries:
    their first..last sightings (the event's ``ts`` included for the event's own) overlap. ``reach`` maps each stored identifier of the event to
    its neighbourhood (identifier -> hops: a device's links are its identifiers at one hop, scoped
    links not crossed); ``vertices`` holds their properties (``first_seen``, ``last_seen``).
    A cookie's successor after it expired never overlaps it; two profiles used in turn do."""
    if not config.device_profiles_at_once:
        return
    in_event = {c.member.id for c in candidates}
    alive = []
    for candidate in candidates:
        if candidate.member.type in config.device_scoped_types:
            props = vertices.get(candidate.member.id) if candidate.exists else None
            alive.append((min(props["first_seen"], ts), max(props["last_seen"], ts)) if props else (ts, ts))
    if not alive:
        return
    for candidate in candidates:
        device = candidate.member
        if (not candidate.exists or not _is_multi_user_type(device.type, config)
                or device.conflicts >= config.device_scope_after_conflicts):  # plan_links would not count it
            continue
        for other, hops in reach.get(device.id, {}).items():
            props = vertices[other]
            if (hops != 1 or other in in_event or props["type"] not in config.device_scoped_types
                    or is_generic(props, config.generic_threshold)):
                continue
            if any(props["first_seen"] < last and first < props["last_seen"] for first, last in alive):
                candidate.profiles_at_once = True
                break


def scoped_links(device: str, neighbours_of: Callable[[str], Iterable[str]], type_of: Callable[[str], str],
                 expands: Callable[[str], bool], config: TenantConfig) -> list[tuple[str, str]]:
    """The links that stop joining when ``device`` turns multi-user. With ``device_scope_past_links``,
    for each identifier of a device-scoped type linked to it (a cookie), its link to the device
    and its links to weak identifiers or multi-user devices: the links through which the cookie
    joined the device's customer, or the household's through the home IP, before the device was
    known to be shared, and which ``device_scope`` refuses from then on. With
    ``device_past_personal_links``, the device's links to identifiers of a personal type: the
    people who signed in or typed their email or phone on it before it was known to be shared,
    joined to one another through it. Sorted, each pair (cookie or personal identifier, other), so
    that every caller marks the same ones in the same order. What ingest's
    walk reads of them (``expands``: not generic by the fan-out bound; ``max_hops``): the device's
    links when it ``expands``, a cookie's when it ``expands`` too and ``max_hops`` reaches past it
    (a generic cookie joins nothing already)."""
    pairs: set[tuple[str, str]] = set()
    if config.max_hops < 1 or not expands(device):
        return []
    for scoped in neighbours_of(device):
        if type_of(scoped) in config.personal_types and config.device_past_personal_links:
            pairs.add((scoped, device))
        if type_of(scoped) not in config.device_scoped_types or not config.device_scope_past_links:
            continue
        if config.max_hops < 2 or not expands(scoped):
            pairs.add((scoped, device))
            continue
        for other in neighbours_of(scoped):
            kind = type_of(other)
            if other == device or kind in config.weak_types or _is_multi_user_type(kind, config):
                pairs.add((scoped, other))
    return sorted(pairs)


def _pairs_in_priority_order(candidates: list[Candidate], config: TenantConfig) -> list[tuple[int, int]]:
    def key(pair: tuple[int, int]) -> tuple:
        a, b = candidates[pair[0]], candidates[pair[1]]
        ranks = sorted((config.rank(a.member.type), config.rank(b.member.type)))
        return (a.weak + b.weak, ranks[1], ranks[0], pair)
    pairs = [(x, y) for x in range(len(candidates)) for y in range(x + 1, len(candidates))]
    return sorted(pairs, key=key)


def _shared_bridge(bridge: Member, own: _Group, other: _Group, config: TenantConfig,
                   candidates: list[Candidate]) -> tuple[str, str] | None:
    """(bridge type, personal type) when ``bridge``, of a shareable type, would join its customer
    ``own`` to ``other`` although both already hold an identifier of one personal type. The
    bridge itself does not count on its own side, the other side's identifiers all do: a new
    email arriving on a tablet whose customer has an email is a second person, not a merge.
    A bridge of a ``reused_types`` type (a family card) is judged so too, unless the event's
    ``candidates`` carry a device of ``own`` that no one else is known to use (``_own_device``)."""
    if bridge.type not in config.shareable_types and (bridge.type not in config.reused_types
                                                      or _own_device(bridge, own, candidates, config)):
        return None
    mine = {m.type for m in own.members.values() if m.id != bridge.id}
    theirs = {m.type for m in other.members.values()}
    conflicts = mine & theirs & config.personal_types
    return (bridge.type, min(conflicts, key=config.priority)) if conflicts else None


def _own_device(bridge: Member, own: _Group, candidates: list[Candidate], config: TenantConfig) -> bool:
    """True when the event carries, besides ``bridge``, a stored device (of a ``multi_user_on_conflict``
    type) already in ``own``, the bridge's customer, that no refusal or profiles alive at once has
    shown to be used by several people: the card holder paying on their own phone or laptop. A
    device new in this event is no evidence of whose it is; a family tablet is no evidence either."""
    return any(c.exists and not c.generic and not c.profiles_at_once and c.member.id != bridge.id
               and c.member.id in own.members and c.member.conflicts == 0 and _is_multi_user_type(c.member.type, config)
               for c in candidates)


def _guest_bridge(bridge: Member, own: _Group, other: _Group, config: TenantConfig) -> str | None:
    """The bridge's type when ``bridge``, shareable and of no personal type (a device), would join
    its customer ``own`` to ``other``, an established customer, when one of the two holds an
    account id and the other personal identifiers but no account id. What still joins: a new
    email or phone on an account holder's device (theirs until an event says otherwise), a new
    account signing in on a guest's device (a guest signing up), and any event that carries
    the account id and the guest's identifier together (they are then not bridged by the device)."""
    if (bridge.type not in config.shareable_types or bridge.type in config.personal_types
            or not other.existing):
        return None
    mine = {m.type for m in own.members.values() if m.id != bridge.id}
    theirs = {m.type for m in other.members.values()}
    for account, guest in ((mine, theirs), (theirs, mine)):
        if account & config.account_types and not guest & config.account_types and guest & config.personal_types:
            return bridge.type
    return None


def _second_device_bridge(bridge: Member, own: _Group, other: _Group, config: TenantConfig,
                          in_event: set[str]) -> str | None:
    """The bridge's type when ``bridge``, a device (``_is_multi_user_type``) no refusal has counted
    yet (``_multi_user_bridge`` judges the others), would join its established customer ``own``, a
    guest (personal identifiers, no ``account_types`` id) holding another device that the event
    does not carry, to ``other``, which holds an account id (``second_device_bridge``): an account
    signing in there for the first time. ``_guest_bridge`` lets a new account join a guest's device
    (a guest signing up); on a device beside the guest's own phone or laptop (a family tablet) it
    is as likely a household member's account. What still joins through it: an anonymous side, a
    guest with no other device, a customer holding an account id already (its other account ids
    meet the type limit), and any event carrying both sides' identifiers."""
    if not config.second_device_bridge or not _is_multi_user_type(bridge.type, config) or bridge.conflicts:
        return None
    if not (own.existing and _holds_personal(own, config, besides=bridge.id)
            and any(m.type in config.account_types for m in other.members.values())
            and not any(m.type in config.account_types for m in own.members.values())):
        return None
    if not _device_of_its_own(own, in_event, config, besides=bridge.id):
        return None
    return bridge.type


def _competitor_in_event(bridge: Member, own: _Group, other: _Group, in_event: set[str],
                         config: TenantConfig) -> str | None:
    """Who typed ``bridge`` (of a ``shared_on_conflict`` type, just refused as a shared bridge
    from ``own`` to ``other``) when the event itself carries ``other``'s competing personal
    identifier: "known" when ``other`` is an established customer (a known person typing an
    email that belongs to a customer holding a different email or phone: what a store's
    placeholder or a family address looks like; it is marked shared), "new" when ``other`` is
    only the event's new identifiers (a person's new phone, or the next walk-in customer:
    counted, see ``shared_after_conflicts``); else None. A person's own email typed on a family
    tablet is neither (the tablet side's competing identifiers are not in the event)."""
    if bridge.type not in config.shared_on_conflict & config.shareable_types:
        return None
    mine = {m.type for m in own.members.values() if m.id != bridge.id} & config.personal_types
    if not any(m.id in in_event and m.type in mine for m in other.members.values()):
        return None
    return "known" if other.existing else "new"


def _signed_in_by_another(profile: Member, own: _Group, other: _Group, by: Member, in_event: set[str],
                          config: TenantConfig) -> bool:
    """True when ``profile``, of a device-scoped type (a cookie), just refused as the weak bridge from
    ``own``, a customer holding personal identifiers, to ``other``, was used by someone known
    elsewhere: the event's other identifier ``by`` is one of ``other``'s personal identifiers (an
    account signed in, an email typed) and ``other`` holds a device the event does not carry (its
    own phone or laptop). Two identified people in one browser profile (``shared_browser_profiles``).
    A person's second email refused so before is a customer of no device: not someone else."""
    return (config.shared_browser_profiles and profile.type in config.device_scoped_types
            and by.type in config.personal_types and other.existing
            and _device_of_its_own(other, in_event, config)
            and _holds_personal(own, config, besides=profile.id))


def _device_of_its_own(group: _Group, in_event: set[str], config: TenantConfig, besides: str = "") -> bool:
    """``group`` holds a device (a multi-user type) the event does not carry: its own phone or laptop."""
    return any(m.id != besides and m.id not in in_event and _is_multi_user_type(m.type, config)
               for m in group.members.values())


def _is_multi_user_type(id_type: str, config: TenantConfig) -> bool:
    return (id_type in config.multi_user_on_conflict and id_type in config.shareable_types
            and id_type not in config.personal_types)


def _holds_personal(group: _Group, config: TenantConfig, besides: str = "") -> bool:
    return any(m.type in config.personal_types for m in group.members.values() if m.id != besides)


def _identifies_other(bridge: Member, own: _Group, other: _Group, in_event: set[str], config: TenantConfig) -> bool:
    """True when ``bridge`` (of a ``multi_user_on_conflict`` type), just refused as the bridge
    from ``own``, a customer holding personal identifiers, to ``other``, was used by whoever the
    event identifies as ``other``: the event carries one of ``other``'s personal identifiers (a
    household member's email, phone or account id typed or signed in on the family tablet).
    Then two people have used it. New or established, the other side counts: it is someone the
    device's own customer is not (the refusal said so)."""
    return (_is_multi_user_type(bridge.type, config) and _holds_personal(own, config, besides=bridge.id)
            and any(m.id in in_event and m.type in config.personal_types for m in other.members.values()))


def _device_scoped(scoped: Candidate, other: Candidate, config: TenantConfig) -> str | None:
    """``scoped``'s type when it is of a device-scoped type (a cookie) and ``other`` is a device
    or a weak identifier: the links through which, on a device several people use, it would join
    the device's customer, or the household's through the home IP, instead of its own person's."""
    if scoped.member.type not in config.device_scoped_types:
        return None
    if other.weak or _is_multi_user_type(other.member.type, config):
        return scoped.member.type
    return None


def _typed_for_holder(scoped: Candidate, other: Candidate, config: TenantConfig) -> str | None:
    """``scoped``'s type when it is of a device-scoped type (a cookie) and ``other`` names someone
    (an email, phone or card) whose stored customer holds an account id that ``other`` is not
    (``device_scope_sign_in``): on a device several people use, an account holder's email or
    card typed in a browser profile without signing in is more often another member buying with
    it (a child with a parent's email, a teenager with a parent's card) than the holder, who
    signs in; the cookie joins them through the account id, in this event or a later one."""
    if (not config.device_scope_sign_in or scoped.member.type not in config.device_scoped_types
            or other.weak or other.member.type in config.account_types):
        return None
    if any(m.type in config.account_types for m in other.group.values()):
        return scoped.member.type
    return None


def _multi_user_bridge(bridge: Member, own: _Group, other: _Group, config: TenantConfig) -> str | None:
    """The bridge's type when ``bridge`` is known to be used by several people (it was refused
    before as the bridge to someone the event identified) and would join its customer ``own`` to
    ``other`` although both hold personal identifiers: on a multi-user device a first sign-in or
    checkout is no evidence of who it is. What still joins through it: an anonymous side (page
    views, cookies), and any event carrying both sides' identifiers (not bridged by the device)."""
    if not _is_multi_user_type(bridge.type, config) or bridge.conflicts < 1:
        return None
    if _holds_personal(own, config, besides=bridge.id) and _holds_personal(other, config):
        return bridge.type
    return None


def _exceeded_limit(ga: _Group, gb: _Group, config: TenantConfig) -> str | None:
    types = {m.type for m in ga.members.values()} | {m.type for m in gb.members.values()}
    for id_type in sorted(types, key=config.priority):
        limit = config.type_limits.get(id_type)
        if limit is None:
            continue
        before = max(ga.count(id_type), gb.count(id_type))
        after = sum(1 for m in {**ga.members, **gb.members}.values() if m.type == id_type)
        if after > limit and after > before:
            return id_type
    return None
