"""The generated differential: random well-typed traversals on this engine and a real Gremlin Server.

    python -m gremlin.conformance.fuzz --url reference --seed 1 --count 2000
    python -m gremlin.conformance.fuzz --url ws://127.0.0.1:8182/gremlin --seed 7 --count 500 --probes found.gremlin

Each case (generate.py: a traversal over the modern, crew, grateful-dead or sink graph, or from
``inject()``; a write on the modern graph is followed by a read of the whole graph) runs on both
backends. Answers agree as in the probe files (differential.py: both raise, or equivalent results),
with lists compared as multisets at every level unless the traversal's stream ends ordered (the
generator knows: Gremlin leaves the order of ``V()`` and of a vertex's edges unspecified). A case
that differs is run on the reference again: a server that answers the same traversal two ways (it
fails hashing some null arguments at random) is not reported, nor is a case that timed out on
either side. What differs is shrunk (steps dropped anywhere in the traversal while it still differs
the same way) and printed, once per shrunk traversal; ``--probes FILE`` writes them as probe lines
for tests/differential/ (to be checked, fixed at the root and given their place there).
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import time
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, Iterator, Sequence

from gremlin_python.structure.graph import Path, VertexProperty
from gremlin_python.structure.io.util import HashableDict

from .backends import Backend, open_backend
from .compare import render
from .differential import Answer, ask, compare_results
from .generate import STATE_QUERY, Case, Chain, Generator, Step
from .runner import DEFAULT_DATA_DIR

__all__ = ["Finding", "fuzz", "shrink", "compare_case", "main"]

_STARTS = frozenset({"V", "E", "inject", "mergeV", "mergeE", "addV", "addE", "call"})
_TIMEOUT = ("timeout", "timed out", "evaluationtimeout", "took longer than")


@dataclass
class Outcome:
    """A case's answers on one backend: the traversal's, then (for a write) the graph's after it."""

    answers: list[Answer]

    @property
    def timed_out(self) -> bool:
        return any(a.error is not None and any(t in a.error.lower() for t in _TIMEOUT) for a in self.answers)

    def describe(self) -> str:
        return " | ".join(a.describe()[:500] for a in self.answers)


@dataclass
class Finding:
    case: Case
    shrunk: Case
    ours: Outcome
    reference: Outcome
    difference: str


def _number_key(value: Any) -> str:
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    try:
        return repr(float(value))
    except (OverflowError, ValueError):
        return repr(value)


def _key(value: Any) -> str:
    """A sort key that equivalent values share (1 and 1.0 alike, elements by id)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, (int, float, Decimal)):
        return "#" + _number_key(value)
    if isinstance(value, dict):
        return "{" + ",".join(sorted(f"{_key(k)}:{_key(v)}" for k, v in value.items())) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(sorted(_key(v) for v in value)) + "]"
    if isinstance(value, (set, frozenset)):
        return "{" + ",".join(sorted(_key(v) for v in value)) + "}"
    if isinstance(value, VertexProperty):  # rendered without its id, which tells equal ones apart
        return f"{render(value)}#{_key(value.id)}"
    return render(value)


def canonical(value: Any) -> Any:
    """``value`` with every list in a fixed order (its members' keys), maps and paths walked into."""
    if isinstance(value, Path):
        return Path(value.labels, [canonical(o) for o in value.objects])
    if isinstance(value, dict):
        return {_canonical_key(k): canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return sorted((canonical(v) for v in value), key=_key)
    return value


def _canonical_key(key: Any) -> Any:
    """A map key in its fixed order too (a list key arrives as a tuple, a map key as a HashableDict,
    whose lists are in an unspecified order as well)."""
    if isinstance(key, tuple):
        return tuple(sorted((_canonical_key(k) for k in key), key=_key))
    if isinstance(key, dict):
        return HashableDict({_canonical_key(k): _canonical_key(tuple(v) if isinstance(v, list) else v)
                             for k, v in key.items()})
    return key


def _compare(ordered: bool, ours: Answer, reference: Answer) -> str | None:
    return compare_results(ours, reference, ordered=ordered, normalise=canonical)


def compare_case(case: Case, ours: Outcome, reference: Outcome) -> str | None:
    """None when the outcomes agree, else what differs."""
    difference = _compare(case.ordered, ours.answers[0], reference.answers[0])
    if difference is not None or not case.writes:
        return difference
    if ours.answers[0].error is not None:
        return None  # both failed: TinkerGraph keeps a failed traversal's writes (a known difference)
    difference = _compare(False, ours.answers[1], reference.answers[1])
    return None if difference is None else "the graph after it: " + difference


def run_case(backend: Backend, case: Case, timeout_ms: int) -> Outcome:
    handle = backend.graph(case.graph)
    answers = [ask(handle, case.query, timeout_ms)]
    if case.writes:
        if answers[0].error is None:
            answers.append(ask(handle, STATE_QUERY, timeout_ms))
        backend.mark_dirty(case.graph)
    return Outcome(answers)


def _signature(ours: Outcome, reference: Outcome) -> tuple:
    return tuple((a.error is None, b.error is None) for a, b in zip(ours.answers, reference.answers))


# -- shrinking -----------------------------------------------------------------------------------

def _chains(chain: Chain, where: tuple = ()) -> Iterator[tuple[tuple, Chain]]:
    """Every chain in the tree with its address: (step index, argument index) pairs from the root."""
    yield where, chain
    for i, step in enumerate(chain.steps):
        for j, arg in enumerate(step.args):
            if isinstance(arg, Chain):
                yield from _chains(arg, (*where, (i, j)))


def _replaced(chain: Chain, where: tuple, new: Chain) -> Chain:
    if not where:
        return new
    (i, j), rest = where[0], where[1:]
    step = chain.steps[i]
    args = list(step.args)
    args[j] = _replaced(args[j], rest, new)
    steps = list(chain.steps)
    steps[i] = Step(step.name, tuple(args))
    return Chain(tuple(steps), chain.root)


def _smaller(traversal: Chain, keep: tuple[str, ...] = ()) -> Iterator[Chain]:
    """Traversals one step (or one child argument) smaller, the outermost first; steps named in
    ``keep`` stay."""
    for where, chain in list(_chains(traversal)):
        # a root keeps its source steps and the step that starts it
        first = next((i + 1 for i, s in enumerate(chain.steps) if s.name in _STARTS), 1) if chain.root else 0
        # drop a step and the by()/option()/times() modulators that follow it
        for i in range(len(chain.steps) - 1, first - 1, -1):
            if chain.steps[i].name in keep:
                continue
            end = i + 1
            while end < len(chain.steps) and chain.steps[end].name in ("by", "option", "times", "until", "emit", "with"):
                end += 1
            for stop in sorted({end, i + 1}, reverse=True):
                steps = chain.steps[:i] + chain.steps[stop:]
                if steps or chain.root:
                    yield _replaced(traversal, where, Chain(steps, chain.root))
        for i, step in enumerate(chain.steps):
            children = [j for j, a in enumerate(step.args) if isinstance(a, Chain)]
            if len(children) > 1:
                for j in children:
                    args = step.args[:j] + step.args[j + 1:]
                    steps = list(chain.steps)
                    steps[i] = Step(step.name, args)
                    yield _replaced(traversal, where, Chain(tuple(steps), chain.root))


def shrink(case: Case, ours: Backend, reference: Backend, signature: tuple, timeout_ms: int,
           budget: int = 80) -> tuple[Case, Outcome, Outcome, str]:
    """The smallest case found (greedily) that still differs with the same ``signature``.

    A case that differs only in the order of its results keeps every order() and by() step (an
    order made partial is no difference); any other is compared as multisets while it shrinks
    (a step dropped may have been what ordered it)."""
    order_only = compare_case(replace(case, ordered=False), run_case(ours, case, timeout_ms),
                              run_case(reference, case, timeout_ms)) is None
    best = case if order_only else replace(case, ordered=False)
    keep = ("order", "by") if order_only else ()
    best_ours, best_reference = run_case(ours, best, timeout_ms), run_case(reference, best, timeout_ms)
    difference = compare_case(best, best_ours, best_reference) or ""
    tried: set[str] = set()
    improved = True
    while improved and budget > 0:
        improved = False
        for candidate in _smaller(best.traversal, keep):
            text = candidate.render()
            if text in tried:
                continue
            tried.add(text)
            budget -= 1
            trial = replace(best, traversal=candidate)
            mine, theirs = run_case(ours, trial, timeout_ms), run_case(reference, trial, timeout_ms)
            found = compare_case(trial, mine, theirs)
            if found is not None and not mine.timed_out and not theirs.timed_out \
                    and _signature(mine, theirs) == signature and not any(a.fault for a in theirs.answers):
                best, best_ours, best_reference, difference = trial, mine, theirs, found
                improved = True
                break
            if budget <= 0:
                break
    return best, best_ours, best_reference, difference


# -- the run -------------------------------------------------------------------------------------

@dataclass
class Tally:
    ran: int = 0
    agreed: int = 0
    both_raised: int = 0
    timed_out: int = 0
    server_unsteady: int = 0
    differed: int = 0


def fuzz(ours: Backend, reference: Backend, *, seed: int, count: int, timeout_ms: int = 10_000,
         shrink_budget: int = 80, log=print) -> tuple[Tally, list[Finding]]:
    generator = Generator(seed)
    tally = Tally()
    findings: dict[str, Finding] = {}
    for number in range(count):
        case = generator.case()
        tally.ran += 1
        mine, theirs = run_case(ours, case, timeout_ms), run_case(reference, case, timeout_ms)
        if mine.timed_out or theirs.timed_out:
            tally.timed_out += 1
            continue
        difference = compare_case(case, mine, theirs)
        if difference is None:
            tally.agreed += 1
            tally.both_raised += mine.answers[0].error is not None
            continue
        again = run_case(reference, case, timeout_ms)
        if compare_case(case, theirs, again) is not None or again.timed_out:
            tally.server_unsteady += 1  # the server answers this one two ways: not ours to match
            continue
        tally.differed += 1
        signature = _signature(mine, theirs)
        shrunk, small_ours, small_reference, small_difference = shrink(
            case, ours, reference, signature, timeout_ms, shrink_budget)
        key = f"{shrunk.graph}:{shrunk.query}"
        if key not in findings:
            findings[key] = Finding(case, shrunk, small_ours, small_reference, small_difference)
            log(f"DIFF #{number} [{shrunk.graph}] {shrunk.query}\n    {small_difference}\n"
                f"    ours:      {small_ours.describe()}\n    reference: {small_reference.describe()}\n"
                f"    from: {case.query}")
    return tally, list(findings.values())


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gremlin.conformance.fuzz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True, help="the reference: 'reference' (started for the run), or "
                        "ws://host:port/gremlin (its graph's data is REPLACED)")
    parser.add_argument("--ours", default="memory://", help="the backend checked against it (default memory://)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=1000, help="traversals to generate (default 1000)")
    parser.add_argument("--timeout", type=float, default=10.0, help="evaluationTimeout in seconds (default 10)")
    parser.add_argument("--shrink-budget", type=int, default=80, help="traversals tried while shrinking one")
    parser.add_argument("--probes", help="write each shrunk difference to this file as a probe line")
    parser.add_argument("--show", type=int, default=0, help="print the first N generated traversals and stop")
    parser.add_argument("--data", default=str(DEFAULT_DATA_DIR), help="directory of the standard graphs")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.show:
        generator = Generator(args.seed)
        for _ in range(args.show):
            case = generator.case()
            print(f"[{case.graph}{' ordered' if case.ordered else ''}] {case.query}")
        return 0
    logging.getLogger("gremlinpython").setLevel(logging.CRITICAL)
    started = time.monotonic()
    ours, reference = open_backend(args.ours, args.data), open_backend(args.url, args.data)
    try:
        tally, findings = fuzz(ours, reference, seed=args.seed, count=args.count,
                               timeout_ms=int(args.timeout * 1000), shrink_budget=args.shrink_budget)
    finally:
        ours.close()
        reference.close()
    if args.probes:
        with open(args.probes, "w", encoding="utf-8") as out:
            for finding in findings:
                out.write(f"@graph {finding.shrunk.graph}\n{finding.shrunk.query}\n")
    print(f"seed {args.seed}: {tally.ran} traversals in {time.monotonic() - started:.0f} s: {tally.agreed} agree "
          f"({tally.both_raised} of them both raised), {tally.timed_out} timed out, {tally.server_unsteady} "
          f"answered two ways by the server, {tally.differed} differ ({len(findings)} after shrinking)")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
