"""Bytecode in, a runnable Traversal out.

Modulators (by, times, until, emit, option, from, to, with) are not steps: they configure
the step before them (until/emit/times may also come before repeat()). property() calls
that follow addV()/addE() are folded into them so T.id can name the new element's id.
"""

from __future__ import annotations

from typing import Any

from decimal import Decimal
from enum import Enum
from itertools import islice

from gremlin_python.process.traversal import Bytecode, Direction
from gremlin_python.statics import BigDecimal, long
from gremlin_python.process.traversal import Traversal as GTraversal

from ..errors import InvalidArgumentError, UnsupportedStepError
from . import steps_branch, steps_filter, steps_graph, steps_map, steps_mutate, steps_reduce  # noqa: F401
from . import steps_date, steps_extra, steps_math, steps_where  # noqa: F401
from . import labelled_paths, path_retraction, steps_call, steps_match
from .base import STEPS, Step, Traversal
from .bytecode import is_cardinality_value
from .filter_strategies import DISABLED, finish_traversal

__all__ = ["compile_bytecode", "compile_steps", "convert_argument"]

_MODULATORS = {"by", "times", "until", "emit", "option", "from", "to", "with", "read", "write"}
_LOOP_MODULATORS = {"times", "until", "emit"}
_CONNECTIVES = {"and", "or"}
#: argument types that need no conversion (exact types: other bool/int subclasses still take the
#: full path, which returns them unchanged too); gremlinpython's long is every time a write sends
_PLAIN = frozenset({str, int, float, bool, long, type(None)})


def convert_argument(value: Any) -> Any:
    """Child bytecode becomes a compiled Traversal; lambdas are refused."""
    if type(value) in _PLAIN or isinstance(value, Enum):  # keys, ids, values, tokens (T.id)
        return value
    if isinstance(value, GTraversal):
        value = value.bytecode
    if isinstance(value, Bytecode):
        if is_cardinality_value(value):
            return value
        if value.source_instructions:
            raise InvalidArgumentError("A child traversal cannot carry source instructions")
        return compile_steps(value.step_instructions)
    if isinstance(value, BigDecimal):  # as gremlinpython reads a GraphBinary BigDecimal
        return Decimal(value.unscaled_value).scaleb(-value.scale)
    if callable(value) or type(value).__name__ == "Lambda":
        raise UnsupportedStepError("Lambdas are not supported (Neptune rejects them too)")
    if isinstance(value, dict):
        return _converted_map(value)
    if isinstance(value, list):
        return _converted_list(value)
    return value


# A write's arguments are lists of maps (rows) that hold nothing to convert: they are used as
# they came, not copied (the engine never changes an argument, so the caller's bytecode runs the
# same again); a copy is made only from the first item that converts to something else.

def _converted_map(value: dict) -> dict:
    converted = None
    for position, (k, v) in enumerate(value.items()):
        new_k = k if type(k) in _PLAIN else convert_argument(k)
        new_v = v if type(v) in _PLAIN else convert_argument(v)
        if converted is None:
            if new_k is k and new_v is v:
                continue
            converted = dict(islice(value.items(), position))
        converted[new_k] = new_v
    return value if converted is None else converted


def _converted_list(value: list) -> list:
    converted = None
    for position, v in enumerate(value):
        new_v = v if type(v) in _PLAIN else convert_argument(v)
        if converted is None:
            if new_v is v:
                continue
            converted = value[:position]
        converted.append(new_v)
    return value if converted is None else converted


def compile_bytecode(bytecode: Bytecode, disabled: frozenset = frozenset()) -> Traversal:
    """The traversal, with TinkerGraph's default filter strategies applied to it and its children
    but those named in ``disabled`` (withoutStrategies)."""
    token = DISABLED.set(frozenset(disabled))
    try:
        traversal = compile_steps(bytecode.step_instructions)
    finally:
        DISABLED.reset(token)
    if "InlineFilterStrategy" not in disabled:
        traversal.steps = steps_match.inline_filter_patterns(traversal.steps)  # root only, as TinkerPop
    steps_call.mark_start(traversal.steps)
    if path_retraction.NAME not in disabled:
        path_retraction.retract_paths(traversal)
    if labelled_paths.WITH_PATH not in disabled:
        labelled_paths.mark_in_place_labels(traversal)
    return traversal


def compile_steps(instructions: list) -> Traversal:
    steps: list[Step] = []
    pending: list[tuple[str, tuple]] = []
    connectives = False  # whether an and()/or() may be infix: most traversals have none to look for
    for instruction in instructions:
        name = instruction[0]
        connectives = connectives or name in _CONNECTIVES
        # the plain-argument test inlined: a long write has tens of thousands of arguments
        args = tuple([a if type(a) in _PLAIN else convert_argument(a) for a in instruction[1:]])
        if name == "to" and args and isinstance(args[0], Direction):
            # to(Direction, labels...) is a vertex step (out/in/both), not addE's modulator
            steps.append(STEPS[args[0].name.lower()](*args[1:]))
            continue
        if name in _MODULATORS:
            _modulate(steps, pending, name, args)
            continue
        factory = STEPS.get(name)
        if factory is None:
            raise UnsupportedStepError(f"The {name}() step is not supported by this engine")
        try:
            step = factory(*args)
        except TypeError as error:
            raise InvalidArgumentError(f"{name}() was given arguments it does not accept: {error}") from None
        if steps and isinstance(step, steps_graph.InjectStep):
            step.after_a_step = True
        if isinstance(step, steps_mutate.PropertyStep) and steps and \
                isinstance(steps[-1], (steps_mutate.AddVertexStep, steps_mutate.AddEdgeStep)):
            steps[-1].fold(step)
            continue
        if isinstance(step, steps_branch.RepeatStep):
            for mod_name, mod_args in pending:
                step.modulate(mod_name, mod_args, before=True)
            pending.clear()
        steps.append(step)
    if connectives:
        steps = _infix_connectives(steps)
    steps = steps_match.fold_into_match(steps)
    if pending:
        raise InvalidArgumentError(
            f"The repeat()-traversal was not defined: {pending[0][0]}() must modulate a repeat() step")
    for index, step in enumerate(steps):
        if isinstance(step, steps_branch.RepeatStep):
            step.verify()
            step.merges_last_pass = _merges_last_pass(steps[index + 1:])
    return finish_traversal(Traversal(steps))


def _merges_last_pass(after: list[Step]) -> bool:
    """Whether an unrolled repeat()'s last pass merges its equal traversers: RepeatUnrollStrategy adds
    no barrier after it when a Barrier follows (past identity(), which IdentityRemovalStrategy drops),
    and of those a reducing one takes each traverser as it comes, a collecting one (order(),
    aggregate(), barrier()) merges them in its TraverserSet anyway."""
    following = next((s for s in after if type(s) is not steps_map._Identity), None)
    return following is None or not steps_reduce.is_reducing_barrier(following)


def _infix_connectives(steps: list[Step]) -> list[Step]:
    """a.or().b is or(a, b) and a.and().b is and(a, b), and() binding tighter (TinkerPop's
    ConnectiveStrategy). The left side is every step back to the traversal's start step."""
    if not any(isinstance(s, steps_filter.InfixMarker) for s in steps):
        return steps
    head: list[Step] = []
    body = steps
    if body and isinstance(body[0], steps_graph.GraphStep):
        head, body = [body[0]], body[1:]
    or_parts: list[list[Step]] = [[]]
    for step in body:
        if isinstance(step, steps_filter.InfixMarker) and step.kind == "or":
            or_parts.append([])
        else:
            or_parts[-1].append(step)

    def and_group(part: list[Step]) -> list[Step]:
        if not any(isinstance(s, steps_filter.InfixMarker) for s in part):
            return part
        and_parts: list[list[Step]] = [[]]
        for step in part:
            if isinstance(step, steps_filter.InfixMarker):
                and_parts.append([])
            else:
                and_parts[-1].append(step)
        return [steps_filter._and(*(finish_traversal(Traversal(p)) for p in and_parts))]

    grouped = [and_group(part) for part in or_parts]
    if len(grouped) == 1:
        return head + grouped[0]
    return head + [steps_filter._or(*(finish_traversal(Traversal(p)) for p in grouped))]


def _modulate(steps: list[Step], pending: list, name: str, args: tuple) -> None:
    if name in _LOOP_MODULATORS and (not steps or not isinstance(steps[-1], steps_branch.RepeatStep)
                                     or not steps[-1].takes_modulator(name)):
        # before a repeat(), or after one whose until()/times() or emit() is already declared: as
        # TinkerPop's, it begins the next repeat() (a while-do modulator of it)
        pending.append((name, args))
        return
    if not steps:
        raise InvalidArgumentError(f"{name}() must follow the step it modulates")
    if name in ("read", "write"):
        raise UnsupportedStepError(f"The io() step's {name}() is not supported by this engine")
    if name == "by" and args == (None,):  # by() is the identity; by(null) names nothing
        raise InvalidArgumentError("by() takes a key, a token, a traversal or a comparator, not null")
    steps[-1].modulate(name, args)
