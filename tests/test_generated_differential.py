"""The generated differential (gremlin/conformance/generate.py and fuzz.py).

The tool is run by hand against a real Gremlin Server (docs/gremlin.md); what it found is kept in
tests/differential/generated.gremlin. Here: that it generates the same traversals from a seed, that
they parse and terminate, that this engine agrees with itself on them, and that shrinking keeps a
difference while dropping what does not matter to it.
"""

from __future__ import annotations

from gremlin.conformance.backends import open_backend
from gremlin.conformance.differential import Answer
from gremlin.conformance.fuzz import Outcome, canonical, compare_case, fuzz, shrink
from gremlin.conformance.generate import Case, Chain, Generator, Step
from gremlin.conformance.runner import DEFAULT_DATA_DIR
from gremlin.language import parse_query


def test_a_seed_gives_the_same_traversals_and_they_parse() -> None:
    generator, again = Generator(5), Generator(5)
    queries = [generator.case().query for _ in range(300)]
    assert queries == [again.case().query for _ in range(300)]
    assert len(set(queries)) > 250
    for query in queries:
        parse_query(query)


def test_the_engine_agrees_with_itself_on_generated_traversals() -> None:
    ours, theirs = open_backend("memory://", DEFAULT_DATA_DIR), open_backend("memory://", DEFAULT_DATA_DIR)
    try:
        tally, findings = fuzz(ours, theirs, seed=11, count=150, log=lambda *_: None)
    finally:
        ours.close()
        theirs.close()
    assert tally.ran == 150 and tally.timed_out == 0
    assert not findings, [f.shrunk.query for f in findings]
    # and no Python error escapes the engine on any of them (both sides count it as a difference)
    assert tally.agreed == 150


def test_lists_compare_as_multisets_unless_the_stream_ends_ordered() -> None:
    unordered = Case("modern", Chain((Step("inject", ("1",)),), root=True), ordered=False)
    ordered = Case("modern", unordered.traversal, ordered=True)
    a, b = Outcome([Answer(results=[[1, 2], "x"])]), Outcome([Answer(results=["x", [2.0, 1]])])
    assert compare_case(unordered, a, b) is None
    assert compare_case(ordered, a, b) is not None
    assert canonical({"k": [3, 1, 2]}) == {"k": [1, 2, 3]}
    raised, answered = Outcome([Answer(error="x")]), Outcome([Answer(results=[])])
    assert compare_case(unordered, raised, Outcome([Answer(error="y")])) is None
    assert compare_case(unordered, raised, answered) is not None


class _Differs:
    """A fake reference: answers as the engine does, except that it counts one more result
    whenever the traversal holds a sum() step, so shrinking must keep sum() and may drop what
    does not change how the answers differ."""

    def __init__(self, real) -> None:
        self.real = real

    def graph(self, name):
        handle = self.real.graph(name)
        return _Handle(handle)

    def mark_dirty(self, name) -> None:
        self.real.mark_dirty(name)


class _Handle:
    def __init__(self, handle) -> None:
        self.handle = handle


def test_shrinking_keeps_the_difference_and_drops_the_rest(monkeypatch) -> None:
    import gremlin.conformance.fuzz as fuzz_module

    real_ask = fuzz_module.ask

    def ask(handle, query, timeout_ms):
        if isinstance(handle, _Handle):
            answer = real_ask(handle.handle, query, timeout_ms)
            if "sum()" in query and answer.results is not None:
                answer.results.append("extra")
            return answer
        return real_ask(handle, query, timeout_ms)

    monkeypatch.setattr(fuzz_module, "ask", ask)
    ours = open_backend("memory://", DEFAULT_DATA_DIR)
    try:
        big = Case("modern", Chain((Step("V", ()), Step("hasLabel", ('"person"',)), Step("out", ()),
                                    Step("values", ('"age"',)), Step("is", ("gt(1)",)), Step("sum", ()),
                                    Step("as", ('"a"',))), root=True), ordered=False)
        reference = _Differs(ours)
        mine, theirs = fuzz_module.run_case(ours, big, 5000), fuzz_module.run_case(reference, big, 5000)
        assert compare_case(big, mine, theirs) is not None
        small, *_ = shrink(big, ours, reference, fuzz_module._signature(mine, theirs), 5000)
    finally:
        ours.close()
    # V().sum() would fail on both sides: a difference of another kind, so values() stays
    assert small.query == 'g.V().values("age").sum()'
