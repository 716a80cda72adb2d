"""Resolution accuracy against the population's ground truth: pairwise precision, recall, F1 and
the largest resolved customer, for the default guards at hop limits 1..4, for each guard switched
off alone, and for no guards at all (plain connected components); beside them the evidence
ceiling, the best recall any resolver can reach that links only identifiers seen together.

    python benchmarks/accuracy.py                         # the default population, results JSON
    python benchmarks/accuracy.py --people 500 --no-save  # a quick look
    python benchmarks/accuracy.py --generator alt --people 1000 --guards default --hops 3  # the other generator

Scoring (see docs/benchmarks.md): every distinct identifier the events carry is resolved once
(``resolve(type, value, max_hops=h)``; its customer is the answer's ``customer_id``; an identifier
the graph does not hold is a customer of its own). Over the identifiers one person owns, a pair is
"predicted" when both got the same customer and "true" when both belong to the same person;
precision = true predicted pairs / predicted pairs, recall = true predicted pairs / true pairs.
Counted from the person x customer contingency table, never pair by pair. Identifiers a household
or nobody owns (a shared tablet, a home or public IP, placeholders, junk) are not scored, but they
count in the size of the customer they resolve into.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Hashable, Iterable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import Progress, add_output_arguments, finish, save_results  # noqa: E402
from benchmarks.population import SHARED, LabelledEvent, add_mix_arguments, generate, mix_from_args  # noqa: E402
from benchmarks.population_alt import add_alt_arguments, alt_mix_from_args, generate_alt  # noqa: E402
from identity import IdentityGraph  # noqa: E402
from identity.base.errors import ValidationError  # noqa: E402
from identity.domain.guards import TenantConfig  # noqa: E402
from identity.domain.identifiers import normalize  # noqa: E402
from identity.graph.connection import close_all, open_traversal  # noqa: E402

__all__ = ["Scores", "pairwise_scores", "guard_variants", "guards_off", "connected_components",
           "evidence_ceiling", "add_population_arguments", "population_of", "truth_of", "ingest_all",
           "resolve_all", "main"]

Key = tuple[str, str]  # (identifier type, normalised value)
_TENANT = "bench"


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    true_pairs: int
    predicted_pairs: int
    correct_pairs: int


def _pairs(n: int) -> int:
    return n * (n - 1) // 2


def pairwise_scores(truth: dict[Hashable, Hashable], predicted: dict[Hashable, Hashable]) -> Scores:
    """Pairwise precision/recall of the clustering ``predicted`` (item -> cluster) against
    ``truth`` (item -> true entity), over the items of ``truth``; an item missing from
    ``predicted`` is a cluster of its own. With no pair at all a score is 1.0 (nothing wrong)."""
    cells = Counter((entity, predicted.get(item, ("alone", item))) for item, entity in truth.items())
    entities = Counter(truth.values())
    clusters: Counter = Counter()
    for (_, cluster), n in cells.items():
        clusters[cluster] += n
    correct = sum(_pairs(n) for n in cells.values())
    true_pairs = sum(_pairs(n) for n in entities.values())
    predicted_pairs = sum(_pairs(n) for n in clusters.values())
    precision = correct / predicted_pairs if predicted_pairs else 1.0
    recall = correct / true_pairs if true_pairs else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Scores(precision, recall, f1, true_pairs, predicted_pairs, correct)


def guards_off() -> TenantConfig:
    """No blocked values, no weak or shareable types (so no account bridge, shared marking or
    multi-user devices either), no generic identifiers, no type limits."""
    return TenantConfig(blocked_values={}, blocked_patterns={}, weak_types=frozenset(), shareable_types=frozenset(),
                        generic_threshold=10 ** 9, max_fanout=10 ** 9, type_limits={}, max_hops=10)


def guard_variants() -> dict[str, TenantConfig]:
    """The default guards, each guard switched off alone, and a setting measured against them."""
    return {"default": TenantConfig(),
            "no blocked values": TenantConfig(blocked_values={}, blocked_patterns={}),
            "no weak types": TenantConfig(weak_types=frozenset()),
            "no shareable types": TenantConfig(shareable_types=frozenset()),
            "no account bridge": TenantConfig(account_types=frozenset()),
            "no shared marking": TenantConfig(shared_on_conflict=frozenset()),
            "no multi-user devices": TenantConfig(multi_user_on_conflict=frozenset()),
            "no device scope": TenantConfig(device_scoped_types=frozenset()),
            "no conflict count": TenantConfig(shared_after_conflicts=0),
            "no generic threshold": TenantConfig(generic_threshold=10 ** 9, max_fanout=10 ** 9),
            "no type limits": TenantConfig(type_limits={}),
            "no past links": TenantConfig(device_scope_past_links=False),
            "no past personal links": TenantConfig(device_past_personal_links=False),
            "shared browser profiles": TenantConfig(shared_browser_profiles=True),
            "no second device bridge": TenantConfig(second_device_bridge=False),
            "past links from 1": TenantConfig(device_scope_after_conflicts=1),
            "profiles at once": TenantConfig(device_profiles_at_once=True),
            "no profiles at once": TenantConfig(device_profiles_at_once=False),
            "profiles not conclusive": TenantConfig(device_profiles_conclusive=False),
            "sign-in scope": TenantConfig(device_scope_sign_in=True),
            "no reused cards": TenantConfig(reused_types=frozenset()),
            "reused cards and phones": TenantConfig(reused_types=frozenset({"payment_fingerprint", "phone"}))}


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[Hashable, Hashable] = {}

    def find(self, item: Hashable) -> Hashable:
        root = self.parent.setdefault(item, item)
        while root != self.parent[root]:
            root = self.parent[root]
        while item != root:  # path compression
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, a: Hashable, b: Hashable) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra


def connected_components(events: Iterable[list[Key]]) -> dict[Key, Hashable]:
    """What resolution with every guard off and unlimited hops gives: identifier -> component."""
    components = _UnionFind()
    for keys in events:
        for key in keys:
            components.find(key)
        for other in keys[1:]:
            components.union(keys[0], other)
    return {key: components.find(key) for key in components.parent}


def evidence_ceiling(truth: "Truth") -> dict[Key, Hashable]:
    """An oracle, not a resolver: the components of the person-owned identifiers that events
    carry together, told by the truth which identifiers no single person owns so that it never
    walks through one. Any resolver that links only identifiers seen together, and never bridges
    two people through a shared one, predicts a subset of its pairs: its recall is the ceiling."""
    owned = truth.person_owned
    return connected_components([key for key in keys if key in owned] for keys in truth.keys)


@dataclass
class Truth:
    events: list[dict]
    keys: list[list[Key]]  # each event's normalisable identifiers
    owner: dict[Key, str]

    @property
    def person_owned(self) -> dict[Key, str]:
        return {key: owner for key, owner in self.owner.items() if owner.startswith("p-")}


def truth_of(labelled: Iterable[LabelledEvent], config: TenantConfig | None = None) -> Truth:
    config = config or TenantConfig()
    events, keys, owner = [], [], {}
    for item in labelled:
        events.append(item.event)
        mine = []
        for identifier, who in zip(item.event["identifiers"], item.owners):
            try:
                key = (identifier["type"], normalize(identifier["type"], identifier["value"], config))
            except ValidationError:
                continue  # junk that is not even a valid identifier
            mine.append(key)
            if owner.setdefault(key, who) != who:
                owner[key] = SHARED  # the population never does this; be safe if a mix does
        keys.append(mine)
    return Truth(events, keys, owner)


def ingest_all(identity: IdentityGraph, events: list[dict], batch: int, label: str, quiet: bool) -> float:
    bar = Progress(f"ingest {label}", len(events), quiet)
    started = time.perf_counter()
    for i in range(0, len(events), batch):
        chunk = events[i:i + batch]
        identity.ingest(chunk)
        bar.advance(len(chunk))
    bar.close()
    return time.perf_counter() - started


def resolve_all(identity: IdentityGraph, keys: Iterable[Key], hops: int, label: str, quiet: bool) -> dict:
    keys = list(keys)
    customers = {}
    bar = Progress(f"resolve {label} h={hops}", len(keys), quiet)
    for key in keys:
        answer = identity.resolve(key[0], key[1], max_hops=hops, max_identifiers=1)
        if answer is not None:
            customers[key] = answer.customer_id
        bar.advance()
    bar.close()
    return customers


def evaluate(truth: Truth, customers: dict[Key, Hashable], guards: str, hops: int | None) -> dict:
    scores = pairwise_scores(truth.person_owned, customers)
    sizes = Counter(customers.get(key, ("alone", key)) for key in truth.owner)
    return {"guards": guards, "hops": hops, **asdict(scores), "largest_customer": max(sizes.values()),
            "customers": len(sizes)}


def add_population_arguments(parser: argparse.ArgumentParser) -> None:
    """--generator and the flags of both generators (population_of reads them)."""
    parser.add_argument("--generator", choices=("population", "alt"), default="population",
                        help="benchmarks/population.py, or the independently modelled population_alt.py")
    add_mix_arguments(parser)
    add_alt_arguments(parser)


def population_of(args: argparse.Namespace) -> tuple[object, Iterable[LabelledEvent]]:
    """The mix the flags describe and its labelled events, from the generator ``--generator`` names."""
    if getattr(args, "generator", "population") == "alt":
        mix = alt_mix_from_args(args)
        return mix, generate_alt(mix)
    mix = mix_from_args(args)
    return mix, generate(mix)


def run(args: argparse.Namespace, checkpoint: Callable[[dict], None] = lambda results: None) -> dict:
    """Score every requested guard setting; ``checkpoint`` gets the results so far after each."""
    mix, labelled = population_of(args)
    truth = truth_of(labelled)
    people = sum(1 for owner in set(truth.owner.values()) if owner.startswith("p-"))
    print(f"population: {mix.people} people, {len(truth.events)} events, {len(truth.owner)} distinct identifiers "
          f"({len(truth.person_owned)} owned by one person)", file=sys.stderr)
    results = {"generator": getattr(args, "generator", "population"), "population": asdict(mix), "events": len(truth.events), "identifiers": len(truth.owner),
               "person_owned_identifiers": len(truth.person_owned), "people_seen": people,
               "ingest_seconds": {}, "runs": []}
    variants = guard_variants()
    for name in args.guards:
        if name in _ANALYTIC:
            results["runs"].append(evaluate(truth, _ANALYTIC[name](truth), name, None))
            continue
        identity = IdentityGraph(open_traversal("memory://"), _TENANT, config=variants[name])
        results["ingest_seconds"][name] = round(ingest_all(identity, truth.events, args.batch, name, args.quiet), 2)
        for hops in (args.hops if name == "default" else [variants[name].max_hops]):
            customers = resolve_all(identity, truth.owner, hops, name, args.quiet)
            results["runs"].append(evaluate(truth, customers, name, hops))
            checkpoint(results)
        close_all()
    return results


#: Rows computed from the events alone, without the service.
_ANALYTIC: dict[str, Callable[[Truth], dict[Key, Hashable]]] = {
    "off": lambda truth: connected_components(truth.keys), "evidence ceiling": evidence_ceiling}


def print_table(results: dict) -> None:
    print(f"{'guards':22s} {'hops':>4s} {'precision':>9s} {'recall':>7s} {'F1':>6s} {'largest':>8s} "
          f"{'customers':>9s}")
    for row in results["runs"]:
        hops = "all" if row["hops"] is None else str(row["hops"])
        print(f"{row['guards']:22s} {hops:>4s} {row['precision']:9.4f} {row['recall']:7.4f} {row['f1']:6.4f} "
              f"{row['largest_customer']:8d} {row['customers']:9d}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_population_arguments(parser)
    parser.add_argument("--hops", type=int, nargs="+", default=[1, 2, 3, 4], help="hop limits for the default guards")
    choices = [*_ANALYTIC, *guard_variants()]
    parser.add_argument("--guards", nargs="+", default=choices, choices=choices, metavar="GUARDS",
                        help=f"guard settings to score, of: {', '.join(repr(c) for c in choices)} (default all)")
    parser.add_argument("--batch", type=int, default=200, help="events per ingest call")
    add_output_arguments(parser, "accuracy")
    args = parser.parse_args(argv)
    results = run(args, lambda partial: args.save and save_results(args.name, partial, args.out))
    print_table(results)
    default = next((r for r in results["runs"] if r["guards"] == "default" and r["hops"] == TenantConfig().max_hops),
                   None)
    if default is not None:
        met = default["precision"] >= 0.99 and default["recall"] >= 0.95
        print(f"target (default guards, hops {TenantConfig().max_hops}: precision >= 0.99, recall >= 0.95): "
              f"{'met' if met else 'MISSED'}")
    return finish(args, results)


if __name__ == "__main__":
    raise SystemExit(main())
