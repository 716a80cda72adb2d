"""A seeded synthetic population with ground truth, streamed as JSON Lines events.

    python benchmarks/population.py --people 1000 > pop.jsonl        # events with their truth
    python benchmarks/population.py --people 1000 --events-only | identity load - --tenant dev

Each line is ``{"person": "p-17", "owners": [...], "event": {...}}``: ``event`` is what the
service receives; ``person`` (who acted) and ``owners`` (who owns each of the event's identifiers:
a person ``p-N``, a household ``h-N``, or ``shared`` for public Wi-Fi, placeholders and junk) are
the ground truth the service never sees. ``--events-only`` prints just the events.

The world: people with one or two emails, a phone (some change it part-way), one or two personal
devices each with its own cookies (renewed now and then: churn), a partner customer id (account
holders) and payment fingerprints (buyers). People live in households; a household shares a home
IP and, often, a tablet (with its own cookies) that every member uses: one browser for the
household, or (``--tablet-profiles``) a browser profile per member, whose cookies are that member's. A few public Wi-Fi IPs are
shared by thousands; a few store placeholder emails are typed in for many walk-in customers; some
events carry junk (test addresses, zeroed device ids, "undefined" cookies). Events are logins,
purchases and page views, each carrying the identifiers that kind of event realistically has.

People are generated in blocks (households never span a block); within a block events are in
time order. Memory is bounded by the block, so 10M people stream in constant space.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Iterable, Iterator

__all__ = ["Mix", "Person", "Household", "LabelledEvent", "generate", "person_owned_keys", "events_and_keys", "add_mix_arguments",
           "add_field_arguments", "check_shares", "mix_from_args", "write_lines", "SHARED"]

#: The owner of identifiers no single person or household owns.
SHARED = "shared"
_START_MS = int(datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp() * 1000)
_DAY_MS = 86_400_000
_BLOCK = 5_000
_FIRST_NAMES = ("ann", "bob", "carla", "dev", "eva", "farid", "gita", "hugo", "ines", "jon", "kim", "li", "maya",
                "nils", "olga", "pablo", "qing", "rosa", "sam", "tara", "uma", "vik", "wen", "xena", "yuri", "zoe")
_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "example.org", "mail.example.net", "icloud.com")
_PLACEHOLDERS = ("walkin@store.example.com", "noaccount@shop.example.com", "customer@store.example.com",
                 "pos@store.example.com", "guest.checkout@shop.example.com")
#: Values real feeds carry that belong to nobody; the default guards block every one of them.
_JUNK = (("email", "test@test.com"), ("email", "noreply@example.com"), ("phone", "+1 000 000 0000"),
         ("phone", "+1 999 999 9999"), ("device_id", "00000000-0000-0000-0000-000000000000"),
         ("cookie", "undefined"), ("cookie", "null"), ("partner_id", "guest"), ("ip", "127.0.0.1"))


@dataclass(frozen=True)
class Mix:
    """Every knob of the population (each is a command-line flag of the same name)."""

    people: int = 5_000
    seed: int = 7
    #: mean events per person (each person has at least one)
    events_per_person: float = 8.0
    days: int = 90
    #: share of people with a second email
    second_email: float = 0.2
    #: share of people with a second personal device
    second_device: float = 0.3
    #: share of people with a partner customer id (an account); the rest shop as guests
    partner_share: float = 0.7
    #: share of people who pay at least once with a card (1 or 2 fingerprints)
    payer_share: float = 0.6
    #: share of people whose phone number changes part-way through
    phone_change: float = 0.05
    #: chance, per event on a device, that its cookie is renewed
    cookie_churn: float = 0.1
    #: mean household size (1 = everyone alone); households share a home IP
    household_size: float = 2.0
    #: share of multi-person households that share a tablet
    tablet_share: float = 0.5
    #: share of a tablet-owning household member's events made on the tablet
    tablet_use: float = 0.3
    #: share of household tablets with a browser profile per member (each member's own cookies,
    #: which are that member's); the others have one cookie for the household
    tablet_profiles: float = 0.0
    #: public Wi-Fi IPs (0: one per 2,000 people, at least 3)
    wifi_ips: int = 0
    #: chance an event comes from public Wi-Fi rather than home
    wifi_use: float = 0.1
    #: chance a purchase by a guest uses a store placeholder email instead of their own
    placeholder_use: float = 0.05
    #: chance an event carries one junk value too
    junk_rate: float = 0.02
    #: chance an identifier in an event is written in another form (case, spacing, Gmail dots)
    variant_rate: float = 0.2

    def __post_init__(self) -> None:
        shares = ("second_email", "second_device", "partner_share", "payer_share", "phone_change", "cookie_churn",
                  "tablet_share", "tablet_use", "tablet_profiles", "wifi_use", "placeholder_use", "junk_rate", "variant_rate")
        check_shares(self, shares)
        if self.people < 1 or self.days < 1 or self.wifi_ips < 0:
            raise ValueError("people and days must be positive, wifi_ips >= 0")
        if self.events_per_person < 1 or self.household_size < 1:
            raise ValueError("events_per_person and household_size must be at least 1")

    @property
    def wifi_count(self) -> int:
        return self.wifi_ips or max(3, self.people // 2_000)


@dataclass
class Household:
    number: int
    home_ip: str
    tablet: str | None = None
    tablet_cookie: str | None = None
    #: a browser profile per member on the tablet (Person.tablet_cookie) instead of tablet_cookie
    profiles: bool = False

    @property
    def owner(self) -> str:
        return f"h-{self.number}"


@dataclass
class Person:
    number: int
    household: Household
    emails: list[str]
    phone: str
    devices: list[str]
    cookies: list[str]  # the current cookie of each device
    partner_id: str | None
    cards: list[str]
    #: (time from which the phone is new, the new phone) when the phone changes
    new_phone: tuple[int, str] | None = None
    #: the current cookie of their profile on the household tablet (Household.profiles)
    tablet_cookie: str | None = None

    @property
    def owner(self) -> str:
        return f"p-{self.number}"


@dataclass
class LabelledEvent:
    person: str
    event: dict
    owners: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({"person": self.person, "owners": self.owners, "event": self.event})


def _scramble(number: int, modulus: int, salt: int) -> int:
    """A bijection of 0..modulus-1 (so values stay unique) that does not look sequential."""
    return (number * 2_654_435_761 + salt) % modulus


class _Block:
    """One block of people: their households, identifiers and events."""

    def __init__(self, mix: Mix, first: int, count: int, rng: random.Random):
        self.mix, self.rng = mix, rng
        self.people: list[Person] = []
        number = first
        while number < first + count:
            size = min(first + count - number, self._household_size())
            household = self._household(number)
            for n in range(number, number + size):
                self.people.append(self._person(n, household))
            number += size

    def _household_size(self) -> int:
        extra = self.mix.household_size - 1
        return 1 + (int(self.rng.expovariate(1 / extra) + 0.5) if extra > 0 else 0)

    def _household(self, number: int) -> Household:
        ip = _scramble(number, 2 ** 24, 99)
        household = Household(number, f"81.{ip >> 16}.{(ip >> 8) & 255}.{ip & 255}")
        if self.rng.random() < self.mix.tablet_share:
            household.tablet = self._uuid()
            household.tablet_cookie = self._cookie()
            # drawn only when asked for, so that the default population stays what it was
            household.profiles = self.mix.tablet_profiles > 0 and self.rng.random() < self.mix.tablet_profiles
        return household

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _cookie(self) -> str:
        return "ck_" + "%024x" % self.rng.getrandbits(96)

    def _person(self, n: int, household: Household) -> Person:
        rng, mix = self.rng, self.mix
        name = f"{rng.choice(_FIRST_NAMES)}.{rng.choice(_FIRST_NAMES)}{_scramble(n, 10 ** 9, 1)}"
        emails = [f"{name}@{rng.choice(_DOMAINS)}"]
        if rng.random() < mix.second_email:
            emails.append(f"{name}.work@{rng.choice(_DOMAINS[3:])}")
        devices = [self._uuid() for _ in range(2 if rng.random() < mix.second_device else 1)]
        cards = ["fp_" + "%020x" % rng.getrandbits(80) for _ in range(rng.choice((1, 1, 2)))] \
            if rng.random() < mix.payer_share else []
        person = Person(n, household, emails, f"+447{_scramble(n, 10 ** 9, 7):09d}", devices,
                        [self._cookie() for _ in devices],
                        f"cust-{_scramble(n, 10 ** 10, 3):010d}" if rng.random() < mix.partner_share else None, cards)
        if rng.random() < mix.phone_change:
            person.new_phone = (_START_MS + int(rng.random() * mix.days * _DAY_MS),
                                f"+336{_scramble(n, 10 ** 8, 5):08d}")
        return person

    # -- events --------------------------------------------------------------------------------
    def events(self, first_event: int) -> list[LabelledEvent]:
        planned = []
        for person in self.people:
            count = 1 + int(self.rng.expovariate(1 / (self.mix.events_per_person - 1))) \
                if self.mix.events_per_person > 1 else 1
            for _ in range(count):
                planned.append((_START_MS + int(self.rng.random() * self.mix.days * _DAY_MS), person))
        planned.sort(key=lambda item: (item[0], item[1].number))
        out = []
        for k, (ts, person) in enumerate(planned):
            labelled = self._event(person, ts)
            labelled.event["event_id"] = f"ev-{first_event + k}"
            out.append(labelled)
        return out

    def _event(self, person: Person, ts: int) -> LabelledEvent:
        rng, mix, household = self.rng, self.mix, person.household
        kind = rng.choices(("page_view", "login", "purchase"), weights=(5, 3, 2))[0]
        ids: list[tuple[str, str, str]] = []  # (type, value, owner)
        on_tablet = household.tablet is not None and rng.random() < mix.tablet_use
        if on_tablet and household.profiles:
            ids.append(("device_id", household.tablet, household.owner))
            if person.tablet_cookie is None or rng.random() < mix.cookie_churn:
                person.tablet_cookie = self._cookie()
            ids.append(("cookie", person.tablet_cookie, person.owner))
        elif on_tablet:
            ids.append(("device_id", household.tablet, household.owner))
            if rng.random() < mix.cookie_churn:
                household.tablet_cookie = self._cookie()
            ids.append(("cookie", household.tablet_cookie, household.owner))
        else:
            slot = rng.randrange(len(person.devices))
            if rng.random() < mix.cookie_churn:
                person.cookies[slot] = self._cookie()
            ids.append(("device_id", person.devices[slot], person.owner))
            ids.append(("cookie", person.cookies[slot], person.owner))
        if rng.random() < mix.wifi_use:
            wifi = _scramble(rng.randrange(mix.wifi_count), 2 ** 16, 11)
            ids.append(("ip", f"100.64.{wifi >> 8}.{wifi & 255}", SHARED))
        else:
            ids.append(("ip", household.home_ip, household.owner))
        if kind == "login":
            if person.partner_id is not None:
                ids.append(("partner_id", person.partner_id, person.owner))
            else:
                ids.append(("email", rng.choice(person.emails), person.owner))
        elif kind == "purchase":
            if person.partner_id is None and rng.random() < mix.placeholder_use:
                ids.append(("email", rng.choice(_PLACEHOLDERS), SHARED))
            else:
                ids.append(("email", rng.choice(person.emails), person.owner))
                if person.partner_id is not None and rng.random() < 0.5:
                    ids.append(("partner_id", person.partner_id, person.owner))
            if rng.random() < 0.5:
                ids.append(("phone", self._phone_at(person, ts), person.owner))
            if person.cards:
                ids.append(("payment_fingerprint", rng.choice(person.cards), person.owner))
        if rng.random() < mix.junk_rate:
            junk_type, junk_value = rng.choice(_JUNK)
            ids.append((junk_type, junk_value, SHARED))
        event = {"type": kind, "timestamp": _iso(ts),
                 "identifiers": [{"type": t, "value": self._variant(t, v)} for t, v, _ in ids]}
        return LabelledEvent(person.owner, event, [owner for _, _, owner in ids])

    def _phone_at(self, person: Person, ts: int) -> str:
        if person.new_phone is not None and ts >= person.new_phone[0]:
            return person.new_phone[1]
        return person.phone

    def _variant(self, id_type: str, value: str) -> str:
        """The same identifier as another system might write it (normalisation must undo this)."""
        if self.rng.random() >= self.mix.variant_rate:
            return value
        if id_type == "email":
            local, domain = value.split("@")
            if domain == "gmail.com" and "." in local:
                return f"{local.replace('.', '', 1)}@googlemail.com"
            return value.upper()
        if id_type == "phone" and value.startswith("+44"):
            return f"+44 {value[3:7]} {value[7:]}"
        if id_type == "device_id" and len(value) == 36:
            return value.upper()
        return value


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def generate(mix: Mix) -> Iterator[LabelledEvent]:
    """The population's events with their truth, block by block (deterministic for a seed)."""
    next_event = 0
    for first in range(0, mix.people, _BLOCK):
        rng = random.Random(f"{mix.seed}:{first}")
        block = _Block(mix, first, min(_BLOCK, mix.people - first), rng)
        events = block.events(next_event)
        next_event += len(events)
        yield from events


def person_owned_keys(labelled: Iterable[LabelledEvent]) -> list[tuple[str, str]]:
    """Each (type, value) that one person owns, as the events wrote it, sorted: what a
    benchmark's clients look up."""
    return sorted({(i["type"], i["value"]) for item in labelled
                   for i, owner in zip(item.event["identifiers"], item.owners) if owner.startswith("p-")})


def events_and_keys(mix: Mix) -> tuple[list[dict], list[tuple[str, str]]]:
    """The population's events, and the identifiers one person owns (person_owned_keys)."""
    labelled = list(generate(mix))
    return [item.event for item in labelled], person_owned_keys(labelled)


def check_shares(mix: object, names: Iterable[str]) -> None:
    """ValueError unless each of ``mix``'s fields ``names`` is a share, between 0 and 1."""
    for name in names:
        if not 0.0 <= getattr(mix, name) <= 1.0:
            raise ValueError(f"{name} must be between 0 and 1")


def add_field_arguments(group: argparse._ArgumentGroup, mix: type, prefix: str = "", skip: Iterable[str] = (),
                        **defaults: object) -> None:
    """One flag per field of the dataclass ``mix`` (``--{prefix}events-per-person`` ...) but ``skip``;
    ``defaults`` override the dataclass's."""
    for item in fields(mix):
        if item.name in skip:
            continue
        default = defaults.get(item.name, item.default)
        kind = int if isinstance(item.default, int) else float
        group.add_argument(f"--{prefix}{item.name.replace('_', '-')}", type=kind, default=default,
                           metavar=kind.__name__.upper(), help=f"(default {default})")


def add_mix_arguments(parser: argparse.ArgumentParser, **defaults: object) -> None:
    """One flag per Mix field (``--events-per-person`` ...); ``defaults`` override Mix's."""
    add_field_arguments(parser.add_argument_group("population"), Mix, **defaults)


def mix_from_args(args: argparse.Namespace) -> Mix:
    return Mix(**{item.name: getattr(args, item.name) for item in fields(Mix)})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_mix_arguments(parser)
    parser.add_argument("--events-only", action="store_true", help="print only the events (for identity load)")
    args = parser.parse_args(argv)
    try:
        mix = mix_from_args(args)
    except ValueError as error:
        parser.error(str(error))
    write_lines(generate(mix), events_only=args.events_only)
    return 0


def write_lines(items: Iterable[LabelledEvent], events_only: bool) -> None:
    """The labelled events as JSON Lines on stdout, or (``events_only``) just the events."""
    for labelled in items:
        sys.stdout.write((json.dumps(labelled.event) if events_only else labelled.to_json()) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
