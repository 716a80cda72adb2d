"""A second, independently modelled population with ground truth (same output as population.py).

    python benchmarks/population_alt.py --people 2000 > alt.jsonl
    python benchmarks/accuracy.py --generator alt --people 2000 --guards default --hops 3

benchmarks/population.py models one household tablet with one shared cookie, one or two
personal devices per person and a steady event rate. This one was written from different
assumptions, so that a guard tuned to one is caught out by the other:

* Household kinds: singles, couples, families (two adults, one to three children, teens with
  their own phone), flatshares (unrelated adults) and three generations (grandparents who use
  a family phone). Household sizes come from the kind, not from a mean.
* Shared devices, each with its own rules: a family laptop where every user has their own
  browser profile (a cookie that belongs to that person), a smart TV and a games console
  (one app cookie for the household), tablets used by a subset of the members (cookies per
  member profile half of the time, else one shared app cookie), a grandparents' family phone.
* Cookies expire by time (7 days on phones: Safari's tracking prevention; 30 to 400 days
  elsewhere), not per event.
* Emails: one or two per adult; children under 13 have none and buy with a parent's email
  (owned by the parent); typos at checkout (``gmial.com``, a dropped letter) are identifiers of
  the person who typed them. A household landline is typed by every member at checkout.
* Accounts: ``U`` + 8 digits or a vendor UUID; some people open a second account.
  Guests check out with email, phone and card; some events carry a hashed email from a partner.
* IPs: a home IP per household, but a share of households sit behind a carrier-grade NAT pool
  (a few addresses shared by hundreds), office IPs shared by colleagues, mobile data IPs that
  rotate per session, and public Wi-Fi (cafés, stations, libraries: a few addresses per thousand
  people, used by anyone away from home on a phone, laptop or tablet).
* Events: app opens, page views, logins, sign-ups, newsletter sign-ups and checkouts, at a rate
  that differs per person (a few heavy users, many occasional ones).

Owners are written as population.py writes them: ``p-N`` for a person, ``h-N`` for a household,
``shared`` for what nobody owns.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import uuid
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.population import (SHARED, LabelledEvent, add_field_arguments, check_shares,  # noqa: E402
                                   write_lines)

__all__ = ["AltMix", "generate_alt", "add_alt_arguments", "alt_mix_from_args"]

_START_MS = int(datetime(2024, 3, 1, tzinfo=timezone.utc).timestamp() * 1000)
_DAY_MS = 86_400_000
_NAMES = ("amir", "bea", "chen", "dana", "eli", "fatou", "gus", "hana", "ivan", "jade", "kofi", "lena", "milo",
          "nora", "omar", "pia", "raj", "sofia", "theo", "ula", "vera", "will", "yara", "zack")
_DOMAINS = ("gmail.com", "hotmail.com", "yahoo.co.uk", "proton.me", "web.de", "orange.fr", "btinternet.com")
_TYPO_DOMAINS = {"gmail.com": "gmial.com", "hotmail.com": "hotmial.com", "yahoo.co.uk": "yaho.co.uk"}
_JUNK = (("email", "none@none.com"), ("email", "noreply@shop.example"), ("phone", "0000000000"),
         ("device_id", "00000000-0000-0000-0000-000000000000"), ("cookie", "null"), ("partner_id", "n/a"),
         ("ip", "0.0.0.0"))
#: household kind -> (weight, adults, range of further members: children, or more flatmates)
_KINDS = {"single": (30, 1, (0, 0)), "couple": (25, 2, (0, 0)), "family": (25, 2, (1, 3)),
          "flatshare": (10, 3, (0, 2)), "three_generations": (10, 4, (1, 2))}


@dataclass(frozen=True)
class AltMix:
    """The knobs of the alternative population (each a flag of population_alt.py)."""

    people: int = 3_000
    seed: int = 1
    days: int = 120
    #: household kind weights scaled: >1 favours families and three generations over singles
    family_bias: float = 1.0
    #: share of multi-person households with a family laptop (a browser profile per user)
    laptop_share: float = 0.5
    #: share of multi-person households with a tablet used by several members
    tablet_share: float = 0.6
    #: share of households with a smart TV / console (one app cookie)
    tv_share: float = 0.4
    #: share of households behind carrier-grade NAT
    cgnat_share: float = 0.15
    #: share of adults whose weekday events come from an office IP
    office_share: float = 0.3
    #: share of checkouts with a typo'd email
    typo_rate: float = 0.03
    #: share of account holders who open a second account
    second_account: float = 0.03
    #: chance an event on a phone, laptop or tablet comes from a public Wi-Fi IP
    wifi_use: float = 0.08
    #: chance an event carries junk
    junk_rate: float = 0.02
    #: chance a person who has a device of their own uses it (else any device they use)
    own_device_use: float = 0.65

    def __post_init__(self) -> None:
        if self.people < 1 or self.days < 1 or self.family_bias <= 0:
            raise ValueError("people, days and family_bias must be positive")
        shares = ("laptop_share", "tablet_share", "tv_share", "cgnat_share", "office_share", "typo_rate",
                  "second_account", "wifi_use", "junk_rate", "own_device_use")
        check_shares(self, shares)

    @property
    def kinds(self) -> dict[str, float]:
        bias = {"single": 1 / self.family_bias, "family": self.family_bias, "three_generations": self.family_bias}
        return {kind: weight * bias.get(kind, 1.0) for kind, (weight, _, _) in _KINDS.items()}


@dataclass
class _Device:
    value: str
    owner: str
    kind: str  # phone, laptop, tablet, tv, family_phone
    users: list["_Person"] = field(default_factory=list)
    #: per user (or None: the household's app cookie): [value, expiry ms]
    cookies: dict[object, list] = field(default_factory=dict)
    profiles: bool = False  # a browser profile (own cookie) per user


@dataclass
class _Person:
    number: int
    household: "_Household"
    adult: bool
    emails: list[str]
    phone: str | None
    accounts: list[str]
    cards: list[str]
    devices: list[_Device] = field(default_factory=list)
    office_ip: str | None = None
    rate: float = 1.0

    @property
    def owner(self) -> str:
        return f"p-{self.number}"


@dataclass
class _Household:
    number: int
    ip: str
    landline: str | None
    members: list[_Person] = field(default_factory=list)
    shared: list[_Device] = field(default_factory=list)

    @property
    def owner(self) -> str:
        return f"h-{self.number}"


class _World:
    def __init__(self, mix: AltMix):
        self.mix = mix
        self.rng = random.Random(f"alt:{mix.seed}")
        self.people: list[_Person] = []
        self.households: list[_Household] = []
        self.cgnat = [f"100.72.{i // 256}.{i % 256}" for i in range(max(2, mix.people // 1500))]
        self.offices = [f"198.18.{i // 256}.{i % 256}" for i in range(max(3, mix.people // 60))]
        self.wifi = [f"192.0.{i // 256}.{i % 256}" for i in range(max(3, mix.people // 1000))]
        kinds, weights = zip(*mix.kinds.items())
        while len(self.people) < mix.people:
            self._household(self.rng.choices(kinds, weights)[0])

    def _uuid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def _household(self, kind: str) -> None:
        rng, mix = self.rng, self.mix
        _, adults, (low, high) = _KINDS[kind]
        number = len(self.households)
        ip = rng.choice(self.cgnat) if rng.random() < mix.cgnat_share else \
            f"{rng.randrange(2, 223)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
        house = _Household(number, ip, f"+4420{rng.randrange(10 ** 8):08d}" if rng.random() < 0.3 and adults > 1
                           else None)
        self.households.append(house)
        for i in range(adults + rng.randint(low, high)):
            house.members.append(self._person(house, adult=i < adults, grandparent=kind == "three_generations" and i < 2))
        multi = len(house.members) > 1
        if multi and rng.random() < mix.laptop_share:
            self._shared(house, "laptop", house.members, profiles=True)
        if multi and rng.random() < mix.tablet_share:
            users = rng.sample(house.members, rng.randint(2, len(house.members)))
            self._shared(house, "tablet", users, profiles=rng.random() < 0.5)
        if rng.random() < mix.tv_share:
            self._shared(house, "tv", house.members, profiles=False)
        if kind == "three_generations":
            self._shared(house, "family_phone", house.members[:2], profiles=False)

    def _shared(self, house: _Household, kind: str, users: list[_Person], profiles: bool) -> None:
        device = _Device(self._uuid() if kind != "tv" else f"tv-{self.rng.getrandbits(48):012x}", house.owner, kind,
                         list(users), profiles=profiles)
        house.shared.append(device)
        for user in users:
            user.devices.append(device)

    def _person(self, house: _Household, adult: bool, grandparent: bool) -> _Person:
        rng, mix = self.rng, self.mix
        number = len(self.people)
        name = f"{rng.choice(_NAMES)}{rng.choice(('', '.', '_'))}{rng.choice(_NAMES)}{number * 7919 % 100000}"
        teen = not adult and rng.random() < 0.5
        emails = [f"{name}@{rng.choice(_DOMAINS)}"] if adult or teen else []
        if adult and rng.random() < 0.25:
            emails.append(f"{name}.{rng.choice(('work', 'shop', 'news'))}@{rng.choice(_DOMAINS)}")
        phone = f"+447{rng.randrange(10 ** 9):09d}" if adult or teen else None
        accounts = []
        if (adult or teen) and rng.random() < 0.6:
            accounts.append(self._account())
            if rng.random() < mix.second_account:
                accounts.append(self._account())
        cards = [f"card_{rng.getrandbits(64):016x}" for _ in range(rng.choice((1, 1, 2)))] if adult else []
        person = _Person(number, house, adult, emails, phone, accounts, cards, rate=rng.paretovariate(2.0))
        if adult and not grandparent and rng.random() < mix.office_share:
            person.office_ip = rng.choice(self.offices)
        if not grandparent and (adult or teen):
            person.devices.append(_Device(self._uuid(), person.owner, "phone", [person]))
        if adult and rng.random() < 0.4:
            person.devices.append(_Device(self._uuid(), person.owner, "laptop", [person], profiles=True))
        self.people.append(person)
        return person

    def _account(self) -> str:
        return f"U{self.rng.randrange(10 ** 8):08d}" if self.rng.random() < 0.7 else f"acct-{self._uuid()}"

    # -- events ----------------------------------------------------------------------------
    def events(self) -> Iterator[LabelledEvent]:
        rng, mix = self.rng, self.mix
        planned = []
        for person in self.people:
            if not person.devices:
                continue
            for _ in range(max(1, int(person.rate * 5))):
                planned.append((_START_MS + int(rng.random() * mix.days * _DAY_MS), person.number))
        planned.sort()
        signed_up: set[int] = set()
        for k, (ts, number) in enumerate(planned):
            labelled = self._event(self.people[number], ts, signed_up)
            labelled.event["event_id"] = f"alt-{k}"
            yield labelled

    def _cookie(self, device: _Device, person: _Person, ts: int) -> tuple[str, str]:
        key = person.number if device.profiles else None
        current = device.cookies.get(key)
        if current is None or ts > current[1]:
            lifetime = 7 if device.kind in ("phone", "family_phone") else self.rng.choice((30, 90, 400))
            current = device.cookies[key] = [f"_ga.{self.rng.getrandbits(80):020x}", ts + lifetime * _DAY_MS]
        owner = person.owner if key is not None or device.owner.startswith("p-") else device.owner
        return current[0], owner

    def _event(self, person: _Person, ts: int, signed_up: set[int]) -> LabelledEvent:
        rng, mix, house = self.rng, self.mix, person.household
        own = [d for d in person.devices if d.owner == person.owner]
        device = rng.choice(own if own and rng.random() < mix.own_device_use else person.devices)
        ids: list[tuple[str, str, str]] = [("device_id", device.value, device.owner)]
        kind = rng.choices(("app_open", "page_view", "login", "newsletter", "checkout"),
                           weights=(3, 5, 3, 0.5, 2))[0]
        if device.kind != "tv" or kind != "app_open":
            cookie, owner = self._cookie(device, person, ts)
            ids.append(("cookie", cookie, owner))
        weekday = (ts // _DAY_MS) % 7 < 5
        if device.kind in ("phone", "laptop", "tablet") and rng.random() < mix.wifi_use:
            ids.append(("ip", rng.choice(self.wifi), SHARED))
        elif device.kind == "phone" and rng.random() < 0.4:
            ids.append(("ip", f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}", SHARED))
        elif person.office_ip and weekday and device.kind == "laptop" and rng.random() < 0.6:
            ids.append(("ip", person.office_ip, SHARED))
        else:
            ids.append(("ip", house.ip, SHARED if house.ip in self.cgnat else house.owner))
        email_owner = person
        if not person.emails:  # a young child buys with a parent's email
            email_owner = next((m for m in house.members if m.adult and m.emails), person)
        if kind == "login" and person.accounts:
            ids.append(("partner_id", rng.choice(person.accounts), person.owner))
        elif kind == "login" and email_owner.emails:  # no account: a magic link to the email
            ids.append(("email", email_owner.emails[0], email_owner.owner))
        elif kind == "newsletter" and email_owner.emails:
            ids.append(("email", rng.choice(email_owner.emails), email_owner.owner))
        elif kind == "checkout":
            if person.accounts and (person.number not in signed_up or rng.random() < 0.7):
                signed_up.add(person.number)
                ids.append(("partner_id", person.accounts[0], person.owner))
            if email_owner.emails:
                email = rng.choice(email_owner.emails)
                if rng.random() < mix.typo_rate:
                    local, domain = email.split("@")
                    email = f"{local}@{_TYPO_DOMAINS.get(domain, domain)}" if domain in _TYPO_DOMAINS \
                        else f"{local[:-1]}@{domain}"
                    ids.append(("email", email, email_owner.owner))
                elif rng.random() < 0.15:
                    ids.append(("hashed_email", hashlib.sha256(email.encode()).hexdigest(), email_owner.owner))
                else:
                    ids.append(("email", email, email_owner.owner))
            if house.landline and rng.random() < 0.3:
                ids.append(("phone", house.landline, house.owner))
            elif person.phone and rng.random() < 0.6:
                ids.append(("phone", person.phone, person.owner))
            payer = person if person.cards else next((m for m in house.members if m.cards), None)
            if payer is not None:
                ids.append(("payment_fingerprint", rng.choice(payer.cards), payer.owner))
        if rng.random() < mix.junk_rate:
            t, v = rng.choice(_JUNK)
            ids.append((t, v, SHARED))
        event = {"type": kind, "timestamp": datetime.fromtimestamp(ts / 1000, tz=timezone.utc).isoformat(),
                 "identifiers": [{"type": t, "value": v} for t, v, _ in ids]}
        return LabelledEvent(person.owner, event, [o for _, _, o in ids])


def generate_alt(mix: AltMix) -> Iterator[LabelledEvent]:
    """The alternative population's events with their truth, in time order (deterministic per seed)."""
    return _World(mix).events()


def add_alt_arguments(parser: argparse.ArgumentParser) -> None:
    # population.py's --people and --seed serve both generators
    add_field_arguments(parser.add_argument_group("alternative population (--generator alt)"), AltMix,
                        prefix="alt-", skip=("people", "seed"))


def alt_mix_from_args(args: argparse.Namespace) -> AltMix:
    values = {item.name: getattr(args, "alt_" + item.name) for item in fields(AltMix)
              if item.name not in ("people", "seed")}
    return AltMix(people=args.people, seed=args.seed, **values)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=AltMix.people)
    parser.add_argument("--seed", type=int, default=AltMix.seed)
    add_alt_arguments(parser)
    parser.add_argument("--events-only", action="store_true", help="print only the events (for identity load)")
    args = parser.parse_args(argv)
    try:
        mix = alt_mix_from_args(args)
    except ValueError as error:
        parser.error(str(error))
    write_lines(generate_alt(mix), events_only=args.events_only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
