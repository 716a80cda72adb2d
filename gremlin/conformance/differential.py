"""The same traversals on two backends, answers compared: this engine against a real Gremlin Server.

    python -m gremlin.conformance.differential --reference ws://127.0.0.1:8182/gremlin FILE...

A probe file holds one Gremlin query per line, run on the standard graph the last ``@graph NAME``
line named (modern by default; ``@graph empty`` for an empty graph, written to by the queries that
follow). ``#`` starts a comment line. A query ending in ``## known: REASON`` is a difference that is
recorded (docs/gremlin.md says why): it is reported as known and does not fail the run, and
a known difference that no longer differs is reported so its mark can go.

Answers are the same when both backends raise, or when both return equivalent results
(conformance/compare.py: numbers by value, elements by id, maps by entries); a Python exception
escaping this engine (EngineFault: a TypeError where TinkerPop says what is wrong) always differs.
Results are compared in order only when the query orders them (``order()``); Gremlin Server sends a
traversal's results through a bulking set, so equal results arrive together whatever order the
traversal produced them in. Both error messages are kept, so a reader can compare their gist.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from ..errors import EngineFault
from ..language import parse_query
from .backends import EMPTY, Backend, open_backend
from .compare import check_ordered, check_unordered, render
from .execution import error_message, submit, with_source_options, writes_to_graph
from .runner import DEFAULT_DATA_DIR

__all__ = ["Probe", "Answer", "Comparison", "read_probes", "compare_answers", "compare_results", "run_probes", "ask", "bulked", "main"]

_KNOWN = "## known:"


@dataclass(frozen=True)
class Probe:
    """One query of a probe file, with the graph it runs on."""

    query: str
    graph: str
    source: str
    known: str | None = None


@dataclass
class Answer:
    results: list[Any] | None = None
    error: str | None = None
    #: the error was Python's own failure escaping the engine (EngineFault), not a Gremlin error
    fault: bool = False

    def describe(self) -> str:
        if self.error is not None:
            return f"error: {self.error}"
        return "[" + ", ".join(render(r) for r in self.results or []) + "]"


@dataclass
class Comparison:
    probe: Probe
    ours: Answer
    reference: Answer
    difference: str | None

    @property
    def differs(self) -> bool:
        return self.difference is not None


def read_probes(path: str | Path) -> list[Probe]:
    graph = "modern"
    probes = []
    for number, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        if text.startswith("@graph "):
            graph = text.split(None, 1)[1].strip()
            continue
        known = None
        if _KNOWN in text:
            text, known = (part.strip() for part in text.split(_KNOWN, 1))
        probes.append(Probe(text, graph, f"{Path(path).name}:{number}", known))
    return probes


def bulked(results: Sequence[Any]) -> list[Any]:
    """``results`` grouped as Gremlin Server's result bulking groups them: each value where it first
    appeared, repeated by how often it appeared (per batch of 1,000)."""
    from .compare import equivalent, fingerprint
    grouped: list[Any] = []
    for start in range(0, len(results), 1000):
        firsts: list[list[Any]] = []
        where: dict[Any, list[list[Any]]] = {}
        for value in results[start:start + 1000]:
            for group in where.get(fingerprint(value), []):
                if equivalent(group[0], value):
                    group.append(value)
                    break
            else:
                group = [value]
                firsts.append(group)
                where.setdefault(fingerprint(value), []).append(group)
        grouped.extend(value for group in firsts for value in group)
    return grouped


def compare_answers(query: str, ours: Answer, reference: Answer) -> str | None:
    """None when the answers agree, else what differs."""
    return compare_results(ours, reference, ordered="order(" in query)


def compare_results(ours: Answer, reference: Answer, *, ordered: bool,
                    normalise: Callable[[Any], Any] | None = None) -> str | None:
    """None when both raised or both gave equivalent results (in order only when ``ordered``;
    each result through ``normalise`` first, when given), else what differs."""
    if ours.fault or reference.fault:
        return "a Python error escaped the engine where TinkerPop raises an error of its own or answers"
    if ours.error is not None or reference.error is not None:
        if ours.error is not None and reference.error is not None:
            return None
        return "only this engine raised an error" if ours.error is not None else "only the reference raised an error"
    mine, theirs = ours.results or [], reference.results or []
    if normalise is not None:
        mine, theirs = [normalise(r) for r in mine], [normalise(r) for r in theirs]
    if ordered:
        return check_ordered(bulked(theirs), bulked(mine))
    return check_unordered(theirs, mine)


def ask(handle: Any, query: str, timeout_ms: int) -> Answer:
    """The answer of one Gremlin text on a graph handle: its results, or its error."""
    try:
        bytecode = parse_query(query).bytecode
        return Answer(results=submit(handle.connection, with_source_options(
            bytecode, timeout_ms=timeout_ms, side_effects={})))
    except Exception as error:  # an error is an answer to compare, whatever raised it
        return Answer(error=f"{type(error).__name__}: {error_message(error)}", fault=isinstance(error, EngineFault))


def run_probes(probes: Iterable[Probe], ours: Backend, reference: Backend, *,
               timeout_ms: int = 30_000) -> list[Comparison]:
    """Each probe on both backends. A standard graph is reloaded after a probe that wrote to it;
    the empty graph is emptied when a run of probes on it begins, then written to by the probes
    that follow."""
    comparisons = []
    empty: dict[int, Any] = {}
    previous = None
    for probe in probes:
        answers = []
        for backend in (ours, reference):
            if probe.graph == EMPTY:
                if previous != EMPTY:
                    empty[id(backend)] = backend.graph(EMPTY)
                handle = empty[id(backend)]
            else:
                handle = backend.graph(probe.graph)
            answers.append(ask(handle, probe.query, timeout_ms))
            if probe.graph != EMPTY:
                try:
                    wrote = writes_to_graph(parse_query(probe.query).bytecode)
                except Exception:
                    wrote = False
                if wrote:
                    backend.mark_dirty(probe.graph)
        comparisons.append(Comparison(probe, answers[0], answers[1], compare_answers(probe.query, *answers)))
        previous = probe.graph
    return comparisons


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gremlin.conformance.differential", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("files", nargs="+", help="probe files (one Gremlin query per line)")
    parser.add_argument("--reference", required=True, help="the reference server, ws://host:port/gremlin "
                        "(its graph's data is REPLACED)")
    parser.add_argument("--url", default="memory://", help="the backend checked against it (default memory://)")
    parser.add_argument("--data", default=str(DEFAULT_DATA_DIR), help="directory of the standard graphs")
    parser.add_argument("--verbose", "-v", action="store_true", help="print every probe, agreeing ones too")
    parser.add_argument("--timeout", type=float, default=30.0, help="evaluationTimeout in seconds (default 30)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.getLogger("gremlinpython").setLevel(logging.CRITICAL)
    probes = [probe for path in args.files for probe in read_probes(path)]
    ours, reference = open_backend(args.url, args.data), open_backend(args.reference, args.data)
    try:
        comparisons = run_probes(probes, ours, reference, timeout_ms=int(args.timeout * 1000))
    finally:
        ours.close()
        reference.close()
    new = [c for c in comparisons if c.differs and c.probe.known is None]
    known = [c for c in comparisons if c.differs and c.probe.known is not None]
    settled = [c for c in comparisons if not c.differs and c.probe.known is not None]
    for comparison in comparisons:
        if comparison.differs or args.verbose or comparison in settled:
            mark = ("KNOWN" if comparison.probe.known else "DIFF") if comparison.differs else (
                "SETTLED" if comparison in settled else "SAME")
            print(f"{mark} {comparison.probe.source}: {comparison.probe.query}")
            if comparison.differs:
                print(f"    {comparison.difference}")
            if comparison.differs or args.verbose:
                print(f"    ours:      {comparison.ours.describe()[:400]}")
                print(f"    reference: {comparison.reference.describe()[:400]}")
            if comparison.probe.known:
                print(f"    known: {comparison.probe.known}")
    print(f"{len(comparisons)} probes: {len(comparisons) - len(new) - len(known)} agree, "
          f"{len(known)} known differences, {len(new)} new differences"
          + (f"; {len(settled)} marked known agree now" if settled else ""))
    return 1 if new else 0


if __name__ == "__main__":
    sys.exit(main())
