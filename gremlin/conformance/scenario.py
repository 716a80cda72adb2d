"""Running one scenario's steps against a backend and judging the outcome.

The steps are those of TinkerPop's Gherkin suite (see ``STEPS`` below). A scenario ends in one
of three outcomes: PASSED, FAILED (a wrong answer, a wrongly raised error, an unparsable
traversal, an unexpected exception) or SKIPPED (lambdas, GraphComputer, a graph feature the
backend lacks, or a step the backend honestly reports as unsupported).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable

from gremlin_python.process.traversal import P

from ..errors import GremlinError, GremlinSyntaxError
from ..language import parse
from .backends import EMPTY, Backend, GraphHandle
from .compare import check_count, check_empty, check_error, check_of, check_ordered, check_unordered
from .execution import (
    RAISED, UNEXPECTED, UNSUPPORTED, classify_error, error_message, submit, with_source_options,
    writes_to_graph,
)
from .gherkin import Scenario, Step
from .notation import LambdaNotation, NotationError, parse_value

__all__ = ["PASSED", "FAILED", "SKIPPED", "Outcome", "ScenarioRunner", "SKIP_TAGS"]

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"

#: Tags whose scenarios cannot run here, with the reason reported.
SKIP_TAGS = {
    "GraphComputerOnly": "needs a GraphComputer (OLAP)",
    "AllowNullPropertyValues": "needs a graph configured to keep null property values",
}
_LAMBDA_TEXT = re.compile(r"\bLambda\.\w+\s*\(")
_GRAPH_FEATURE_TAGS = ("MultiProperties", "MetaProperties", "MultiMetaProperties")


@dataclass
class Outcome:
    outcome: str
    reason: str = ""


class _Stop(Exception):
    def __init__(self, outcome: str, reason: str):
        super().__init__(reason)
        self.outcome = Outcome(outcome, reason)


def _skip(reason: str) -> _Stop:
    return _Stop(SKIPPED, reason)


def _fail(reason: str) -> _Stop:
    return _Stop(FAILED, reason)


def _unescape(text: str) -> str:
    return text.replace('\\"', '"')


@dataclass
class _State:
    handle: GraphHandle | None = None
    parameters: dict[str, Callable[[], Any]] = field(default_factory=dict)
    side_effects: dict[str, str] = field(default_factory=dict)
    traversal: str | None = None
    results: list[Any] | None = None
    error: BaseException | None = None
    wrote: bool = False
    skip_reason: str | None = None


class ScenarioRunner:
    """Runs scenarios on one backend (``timeout_ms``: evaluationTimeout of each traversal)."""

    def __init__(self, backend: Backend, *, timeout_ms: int | None = 30_000):
        self.backend = backend
        self.timeout_ms = timeout_ms
        self._multi_meta: bool | None = None
        self.steps: list[tuple[re.Pattern[str], Callable[..., None]]] = [
            (re.compile(p), handler) for p, handler in (
                (r"^the (\w+) graph$", self.given_graph),
                (r"^the graph initializer of$", self.given_initializer),
                (r"^an unsupported test$", self.given_unsupported),
                (r'^using the parameter (\w+) defined as "(.*)"$', self.given_parameter),
                (r'^using the parameter (\w+) of P\.(\w+)\("(.*)"\)$', self.given_predicate),
                (r'^using the side effect (\w+) defined as "(.*)"$', self.given_side_effect),
                (r"^the traversal of$", self.given_traversal),
                (r"^iterated to list$", self.when_list),
                (r"^iterated next$", self.when_next),
                (r"^the result should be (\w+)$", self.then_result),
                (r"^the result should have a count of (\d+)$", self.then_count),
                (r"^the traversal will raise an error$", self.then_error),
                (r'^the traversal will raise an error with message (\w+) text of "(.*)"$', self.then_error),
                (r'^the graph should return (\d+) for count of "(.*)"$', self.then_graph_count),
                (r"^nothing should happen because$", self.then_nothing),
            )
        ]

    # --- running ---------------------------------------------------------------------

    def run(self, scenario: Scenario) -> Outcome:
        for tag, reason in SKIP_TAGS.items():
            if tag in scenario.tags:
                return Outcome(SKIPPED, f"@{tag}: {reason}")
        state = _State()
        try:
            if any(tag in scenario.tags for tag in _GRAPH_FEATURE_TAGS) and not self.supports_multi_meta():
                raise _skip("the backend lacks multi-properties or meta-properties")
            for index, step in enumerate(scenario.steps):
                self.dispatch(state, step, scenario.steps[index + 1:])
            if state.skip_reason is not None:
                return Outcome(SKIPPED, state.skip_reason)
            if state.error is not None:  # nothing checked the error: it was not expected
                self.unexpected_error(state.error)
            return Outcome(PASSED)
        except _Stop as stop:
            return stop.outcome
        except Exception as error:  # a bug in the backend's plumbing is a failure, not a crash
            return Outcome(FAILED, f"unexpected {type(error).__name__}: {error_message(error)}")
        finally:
            if state.handle is not None and state.wrote:
                self.backend.mark_dirty(state.handle.name)

    def dispatch(self, state: _State, step: Step, rest: list[Step]) -> None:
        if state.skip_reason is not None:
            return
        for pattern, handler in self.steps:
            match = pattern.match(step.text)
            if match:
                handler(state, step, rest, *match.groups())
                return
        raise _fail(f"line {step.line}: unknown step {step.keyword} {step.text!r}")

    def supports_multi_meta(self) -> bool:
        """Probe once whether the backend keeps list properties and meta-properties."""
        if self._multi_meta is None:
            from gremlin_python.process.traversal import Cardinality
            handle = self.backend.scratch()
            g = handle.g
            try:
                g.add_v("probe").property(Cardinality.list_, "p", 1).property(Cardinality.list_, "p", 2) \
                    .iterate()
                g.V().has_label("probe").properties("p").property("meta", 1).iterate()
                values = g.V().has_label("probe").properties("p").to_list()
                metas = g.V().has_label("probe").properties("p").properties("meta").to_list()
                self._multi_meta = len(values) == 2 and len(metas) == 2
            except Exception as error:
                if classify_error(error) == UNEXPECTED:
                    raise
                self._multi_meta = False
            finally:
                self.backend.mark_dirty(EMPTY)
        return self._multi_meta

    # --- executing text ------------------------------------------------------------------

    def bindings(self, state: _State) -> dict[str, Any]:
        try:
            return {name: make() for name, make in state.parameters.items()}
        except LambdaNotation as error:
            raise _skip(f"uses a lambda ({error})") from None
        except NotationError as error:
            raise _fail(f"bad parameter: {error}") from None

    def execute(self, state: _State, text: str, *, first_only: bool = False) -> list[Any]:
        handle = self.require_graph(state)
        if _LAMBDA_TEXT.search(text):
            raise _skip("uses a lambda (Lambda.* in the traversal)")
        try:
            bytecode = parse(text, self.bindings(state))
        except GremlinSyntaxError as error:
            raise _fail(f"does not parse: {error}") from None
        if writes_to_graph(bytecode):
            state.wrote = True
        side_effects = {}
        for key, raw in state.side_effects.items():
            try:
                side_effects[key] = parse_value(raw, handle)
            except LambdaNotation as error:
                raise _skip(f"uses a lambda ({error})") from None
        bytecode = with_source_options(bytecode, timeout_ms=self.timeout_ms, side_effects=side_effects)
        try:
            return submit(handle.connection, bytecode, first_only=first_only)
        finally:
            handle.invalidate()

    def require_graph(self, state: _State) -> GraphHandle:
        if state.handle is None:
            raise _fail("no 'Given the ... graph' step before the traversal")
        return state.handle

    @staticmethod
    def unexpected_error(error: BaseException) -> None:
        kind = classify_error(error)
        message = error_message(error)
        if kind == UNSUPPORTED:
            raise _skip(f"unsupported by the backend: {message}")
        if kind == RAISED:
            raise _fail(f"the traversal raised an error: {message}")
        raise _fail(f"unexpected {type(error).__name__}: {message}")

    # --- Given ---------------------------------------------------------------------------

    def given_graph(self, state: _State, step: Step, rest: list[Step], name: str) -> None:
        try:
            state.handle = self.backend.graph(name)
        except KeyError as error:
            raise _fail(str(error.args[0])) from None
        except Exception as error:
            # a backend that refuses part of a standard graph (list cardinality, meta-properties)
            # cannot run its scenarios; the pass-count floor catches a loader that breaks
            if classify_error(error) != UNEXPECTED:
                raise _skip(f"the backend cannot hold the {name} graph: {error_message(error)}") from None
            raise _fail(f"could not load the {name} graph: {type(error).__name__}: {error_message(error)}") from None

    def given_initializer(self, state: _State, step: Step, rest: list[Step]) -> None:
        if state.handle is not None:
            state.wrote = True
        try:
            self.execute(state, step.doc_string or "")
        except _Stop:
            raise
        except Exception as error:
            kind = classify_error(error)
            if kind == UNSUPPORTED:
                raise _skip(f"graph initializer unsupported: {error_message(error)}") from None
            raise _fail(f"graph initializer failed: {error_message(error)}") from None

    def given_unsupported(self, state: _State, step: Step, rest: list[Step]) -> None:
        because = next((s.doc_string for s in rest if s.doc_string), "")
        state.skip_reason = "unsupported test" + (f": {' '.join(because.split())}" if because else "")

    def given_parameter(self, state: _State, step: Step, rest: list[Step], name: str, text: str) -> None:
        value_text = _unescape(text)
        state.parameters[name] = lambda: parse_value(value_text, state.handle)

    def given_predicate(self, state: _State, step: Step, rest: list[Step], name: str, op: str, text: str) -> None:
        predicate = getattr(P, op, None)
        if predicate is None:
            raise _fail(f"unknown predicate P.{op}")
        value_text = _unescape(text)
        state.parameters[name] = lambda: predicate(parse_value(value_text, state.handle))

    def given_side_effect(self, state: _State, step: Step, rest: list[Step], name: str, text: str) -> None:
        state.side_effects[name] = _unescape(text)

    def given_traversal(self, state: _State, step: Step, rest: list[Step]) -> None:
        if not step.doc_string:
            raise _fail(f"line {step.line}: 'the traversal of' without a doc string")
        state.traversal = step.doc_string

    # --- When ----------------------------------------------------------------------------

    def when_list(self, state: _State, step: Step, rest: list[Step]) -> None:
        self.iterate(state, first_only=False)

    def when_next(self, state: _State, step: Step, rest: list[Step]) -> None:
        self.iterate(state, first_only=True)

    def iterate(self, state: _State, *, first_only: bool) -> None:
        if state.traversal is None:
            raise _fail("no 'the traversal of' step before iterating")
        try:
            results = self.execute(state, state.traversal, first_only=first_only)
        except _Stop:
            raise
        except Exception as error:
            state.error = error
            return
        if first_only:
            if not results:
                state.error = _NoResult("next() found no result: the traversal is empty")
                return
            results = _expand(results[0])
        state.results = results

    # --- Then ----------------------------------------------------------------------------

    def results(self, state: _State) -> list[Any]:
        if state.error is not None:
            error, state.error = state.error, None
            self.unexpected_error(error)
        if state.results is None:
            raise _fail("the traversal was never iterated")
        return state.results

    def expected(self, state: _State, step: Step) -> list[Any]:
        try:
            return [parse_value(cell, state.handle, expected=True) for cell in step.table_column()]
        except LambdaNotation as error:
            raise _skip(f"uses a lambda ({error})") from None
        except NotationError as error:
            raise _fail(f"bad expected value: {error}") from None

    def then_result(self, state: _State, step: Step, rest: list[Step], kind: str) -> None:
        results = self.results(state)
        checks = {"unordered": check_unordered, "ordered": check_ordered, "of": check_of}
        if kind == "empty":
            problem = check_empty(results)
        elif kind in checks:
            problem = checks[kind](self.expected(state, step), results)
        else:
            raise _fail(f"unknown result characterization {kind!r}")
        if problem:
            raise _fail(problem)

    def then_count(self, state: _State, step: Step, rest: list[Step], count: str) -> None:
        problem = check_count(int(count), self.results(state))
        if problem:
            raise _fail(problem)

    def then_error(self, state: _State, step: Step, rest: list[Step],
                   comparison: str | None = None, text: str | None = None) -> None:
        error, state.error = state.error, None
        if error is None:
            shown = "" if state.results is None else f" but returned {len(state.results)} results"
            raise _fail(f"expected the traversal to raise an error{shown}")
        kind = classify_error(error)
        problem = check_error(error_message(error), comparison, _unescape(text) if text else None)
        if kind != UNEXPECTED and problem is None:
            return
        if kind == UNSUPPORTED:
            raise _skip(f"unsupported by the backend: {error_message(error)}")
        if kind == UNEXPECTED:
            raise _fail(f"unexpected {type(error).__name__}: {error_message(error)}")
        raise _fail(problem or "")

    def then_graph_count(self, state: _State, step: Step, rest: list[Step], count: str, text: str) -> None:
        if state.error is not None:  # the traversal itself must have succeeded (or been expected to fail)
            self.results(state)
        try:
            found = len(self.execute(state, _unescape(text)))
        except _Stop:
            raise
        except Exception as error:
            self.unexpected_error(error)
            return
        if found != int(count):
            raise _fail(f"expected {count} for the count of {_unescape(text)}, got {found}")

    def then_nothing(self, state: _State, step: Step, rest: list[Step]) -> None:
        return


class _NoResult(GremlinError):
    """``next()`` on an empty traversal: Java's NoSuchElementException, an expected error."""


def _expand(value: Any) -> list[Any]:
    """What ``iterated next`` compares: the items of the one result (as TinkerPop's runners do)."""
    from gremlin_python.structure.graph import Path

    if isinstance(value, Path):
        return list(value.objects)
    if isinstance(value, dict):
        return list(value.keys())
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    return [value]
