"""Where the wrong pairs come from: one guard setting on one population, its over-merged customers
taken apart with the truth.

    python benchmarks/wrong_pairs.py --generator alt --people 1000 --guards default
    python benchmarks/wrong_pairs.py --people 1000 --household-size 3 --guards 'no device scope'

For every customer holding scored identifiers of several people, the person owning most of them
is its "owner"; every scored identifier of another person in it makes wrong pairs with the
owner's identifiers. Those pairs are counted by the misplaced identifier's type, by whether its
person shares the owner's household, and by whether it was ever seen on a device of a household
(a family tablet, laptop, TV), and by whether an event ever carried it with a personal identifier
(email, phone, account id) of its own person ("identified") or never ("anonymous only"): what a
guard could use. ``--missed`` does the same for the pairs it missed: each person's identifiers
outside the customer holding most of theirs.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter, defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.accuracy import (_TENANT, add_population_arguments, guard_variants, ingest_all,  # noqa: E402
                                 pairwise_scores, population_of, resolve_all, truth_of)
from identity import IdentityGraph  # noqa: E402
from identity.domain.tenant_graph import identifier_vertex_id  # noqa: E402
from identity.graph.connection import close_all, open_traversal  # noqa: E402

#: The identifier types that name one person (identity.domain.guards.TenantConfig.personal_types).
_PERSONAL = frozenset({"partner_id", "email", "hashed_email", "phone"})


def household_of(events, owners) -> dict[str, str]:
    """person -> the household whose identifiers their events carried (the home IP, a shared device)."""
    found: dict[str, str] = {}
    for person, event_owners in zip(events, owners):
        for owner in event_owners:
            if owner.startswith("h-"):
                found.setdefault(person, owner)
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_population_arguments(parser)
    parser.add_argument("--guards", default="default", choices=list(guard_variants()))
    parser.add_argument("--hops", type=int, default=3)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--top", type=int, default=15, help="kinds of misplaced identifiers listed")
    parser.add_argument("--paths", action="store_true",
                        help="also the path that joins each misplaced identifier to the customer's owner: the types "
                             "on it, whose each identifier is, and each device's conflict count (which guard did "
                             "not fire)")
    parser.add_argument("--reuse", action="store_true",
                        help="also what the events carry about cards and phones several people use (identity "
                             "reuse) against those one person uses: the emails and accounts seen with them, and "
                             "whose device the events came from")
    parser.add_argument("--missed", action="store_true",
                        help="also where the missed pairs come from: a person's identifiers outside the customer "
                             "holding most of them")
    args = parser.parse_args(argv)
    _, labelled = population_of(args)
    labelled = list(labelled)
    truth = truth_of(labelled)
    homes = household_of([item.person for item in labelled], [item.owners for item in labelled])
    on_household_device, identified = set(), set()
    for keys, item in zip(truth.keys, labelled):
        if any(o.startswith("h-") for i, o in zip(item.event["identifiers"], item.owners) if i["type"] == "device_id"):
            on_household_device.update(keys)
        if any(o == item.person and i["type"] in _PERSONAL for i, o in zip(item.event["identifiers"], item.owners)):
            identified.update(keys)
    if args.reuse:
        reuse_evidence(labelled)
    identity = IdentityGraph(open_traversal("memory://"), _TENANT, config=guard_variants()[args.guards])
    ingest_all(identity, truth.events, args.batch, args.guards, quiet=True)
    customers = resolve_all(identity, truth.owner, args.hops, args.guards, quiet=True)
    owned = truth.person_owned
    scores = pairwise_scores(owned, customers)
    members: dict[object, list] = defaultdict(list)
    for key, person in owned.items():
        members[customers.get(key, ("alone", key))].append((key, person))
    causes: Counter = Counter()
    paths: Counter = Counter()
    bridges: Counter = Counter()
    direct: Counter = Counter()
    examples: dict[str, str] = {}
    keys_of = ({identifier_vertex_id(_TENANT, key[0], key[1], protector=identity.protector): key for key in truth.owner}
               if args.paths else {})
    for held in members.values():
        people = Counter(person for _, person in held)
        if len(people) < 2:
            continue
        owner, _ = people.most_common(1)[0]
        for key, person in held:
            if person == owner:
                continue
            household = "same household" if homes.get(person) and homes.get(person) == homes.get(owner) else "other"
            device = "on a household device" if key in on_household_device else "personal devices only"
            seen = "identified" if key in identified else "anonymous only"
            causes[(key[0], household, device, seen)] += people[owner]
            if args.paths:
                kind, example, linked = joining_path(identity, key, owner, keys_of, truth.owner, identified, args.hops)
                paths[kind] += people[owner]
                bridges[bridge_of(kind)] += people[owner]
                direct[linked] += people[owner]
                examples.setdefault(kind, example)
    close_all()
    print(f"{args.guards}: precision {scores.precision:.4f} recall {scores.recall:.4f} F1 {scores.f1:.4f}; "
          f"wrong pairs {scores.predicted_pairs - scores.correct_pairs} of {scores.predicted_pairs}")
    _table("misplaced", causes, args.top)
    if args.paths:
        total = sum(paths.values()) or 1
        for title, counts in (("the first identifier on the path not its person's", bridges),
                              ("what it is linked to that is not its person's", direct)):
            print(f"what joins them (the misplaced identifier, then {title}):")
            for kind, n in counts.most_common(args.top):
                print(f"{n:6d} ({n / total:4.0%})  {kind}")
        print("the paths that join them (misplaced identifier ... the owner's nearest identifier):")
        for kind, n in paths.most_common(args.top):
            print(f"{n:6d} ({n / total:4.0%})  {kind}    e.g. {examples[kind]}")
    if args.missed:
        # a person's identifiers outside the customer holding most of them miss pairs with those
        missed: Counter = Counter()
        held_by: dict[str, list] = defaultdict(list)
        for key, person in owned.items():
            held_by[person].append((customers.get(key, ("alone", key)), key))
        for person, held in held_by.items():
            home, _ = Counter(customer for customer, _ in held).most_common(1)[0]
            at_home = sum(1 for customer, _ in held if customer == home)
            for customer, key in held:
                if customer != home:
                    device = "on a household device" if key in on_household_device else "personal devices only"
                    seen = "identified" if key in identified else "anonymous only"
                    missed[(key[0], "apart", device, seen)] += at_home
        print(f"missed pairs {scores.true_pairs - scores.correct_pairs} of {scores.true_pairs}")
        _table("apart", missed, args.top)
    return 0


def reuse_evidence(labelled: list, types: tuple[str, ...] = ("payment_fingerprint", "phone")) -> None:
    """For each of ``types`` (strong identifiers a household may share: a card, the landline), its
    values used by one person against those several people's events carried (the truth), and what
    the events show of each kind: how many were seen with two or more emails or account ids, and
    how many of their events came from a device of the identifier's owner, a household's device or
    another person's."""
    users: dict = defaultdict(set)
    seen_with: dict = defaultdict(lambda: defaultdict(set))
    devices: dict = defaultdict(Counter)
    for item in labelled:
        identifiers = item.event["identifiers"]
        device_owners = [o for i, o in zip(identifiers, item.owners) if i["type"] == "device_id"]
        for identifier, owner in zip(identifiers, item.owners):
            if identifier["type"] not in types or owner == "shared":
                continue
            key = (identifier["type"], identifier["value"])
            users[key].add(item.person)
            for other in identifiers:
                if other["type"] in ("email", "partner_id"):
                    seen_with[key][other["type"]].add(other["value"].lower())
            for device_owner in device_owners:
                devices[key][
                    "its owner's" if device_owner == owner else "a household's" if device_owner.startswith("h-")
                    else "another person's"] += 1
    print("identity reuse (the truth): values used by one person / by several people")
    for id_type in types:
        keys = [key for key in users if key[0] == id_type]
        for label, several in (("one person", False), ("several people", True)):
            chosen = [key for key in keys if (len(users[key]) > 1) == several]
            two = {kind: sum(1 for key in chosen if len(seen_with[key][kind]) > 1) for kind in ("email", "partner_id")}
            by_device = Counter()
            for key in chosen:
                by_device.update(devices[key])
            events = sum(by_device.values()) or 1
            print(f"  {id_type:20s} {label:15s} {len(chosen):5d} values; with 2+ emails {two['email']}, 2+ accounts "
                  f"{two['partner_id']}; events on " + ", ".join(f"{where} device {n / events:.0%}"
                                                               for where, n in sorted(by_device.items())))


def joining_path(identity: IdentityGraph, key, owner: str, keys_of: dict, owners: dict, identified: set,
                 hops: int) -> tuple[str, str, str]:
    """The resolve walk's shortest path from the misplaced identifier ``key`` to the nearest
    identifier of ``owner`` (the person owning most of its customer), as a kind: each identifier on
    it by type and whose it is (``mine``: the misplaced identifier's person; ``owner``; ``household``;
    ``shared``; ``other``), a device with its conflict count (``c0``: the multi-user guard never
    fired on it), the misplaced identifier ``anon`` when no event identified its person with it.
    Also an example with the identifiers' (truncated) values, and what the misplaced identifier
    is linked to directly that is not its person's: the walk's shortest path is one of several
    equally short ones (a cookie's link to the family tablet and to the home IP), picked by ids."""
    person = owners[key]
    hood = identity.pinned().hood(key[0], key[1], max_hops=hops, max_fanout=50)
    found = [v for v in hood.paths if owners.get(keys_of.get(v)) == owner] if hood else []
    if not found:
        alone = "no path within the hops (joined by a customer id only)"
        return alone, "-", alone
    nearest = min(found, key=lambda v: (hood.hops(v), v))

    def label(vertex: str, first: bool = False) -> str:
        props, held = hood.vertices[vertex], keys_of.get(vertex)
        who = owners.get(held, "?")
        whose = ("mine" if who == person else "owner" if who == owner else "household" if who.startswith("h-")
                 else "shared" if who == "shared" else "other")
        text = f"{props['type']}[{whose}"
        if props["type"] == "device_id":
            text += f",c{min(props.get('conflicts', 0), 2)}"
        if first and held not in identified:
            text += ",anon"
        return text + "]"

    path = hood.paths[nearest][::2]
    kinds = [label(vertex, position == 0) for position, vertex in enumerate(path)]
    shown = [f"{hood.vertices[v]['type']}:{keys_of[v][1][:12] if v in keys_of else '?'}" for v in path]
    # what it is linked to directly that is not its person's (a shortest path picks one of several)
    linked = sorted({label(v) for v in hood.paths if hood.hops(v) == 1} - {kinds[0]})
    linked = [text for text in linked if "[mine" not in text]
    return " - ".join(kinds), " - ".join(shown), kinds[0] + " -> " + (" + ".join(linked) or "its person's only")


def bridge_of(kind: str) -> str:
    """A path kind (joining_path) cut to the misplaced identifier and the first identifier on it
    that is not its person's: what joined it to someone else, on that path."""
    steps = kind.split(" - ")
    further = next((step for step in steps[1:] if "[mine" not in step), None)
    return f"{steps[0]} -> {further}" if further else kind


def _table(what: str, counts: Counter, top: int) -> None:
    total = sum(counts.values()) or 1
    for (id_type, household, device, seen), n in counts.most_common(top):
        print(f"{n:6d} ({n / total:4.0%})  {what} {id_type:20s} {household:15s} {device:22s} {seen}")


if __name__ == "__main__":
    raise SystemExit(main())
