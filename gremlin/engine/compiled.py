"""Compiled traversals kept by their shape: the same bytecode with other start ids compiles once.

A service sends the same traversal again and again with only the ids it starts from changed (the
identity service's walk is ``inject(0)...V(id)...`` with a new id each call). Compiling and
optimizing it is a sizeable part of running it (the walk: about 0.45 ms of CPU, a fifth of a first
walk), so a Graph keeps its recent compiled traversals keyed on their shape: every instruction,
argument, child traversal and predicate, except the scalar ids of the ``V()``/``E()`` steps of the
traversal itself (not of a child), which are bound into a copy of their step each time it runs.

What makes this safe for any traversal: a compiled step keeps no state of one execution (that lives
in the Context: side effects, step_state, loop_state), only what it works out once from its own
structure (Traversal.first's one-value shortcut, a union's barrier test), the same for every run;
and a key tells apart every argument a compile could read, by type as well as value (``1``, ``1.0``
and ``True`` are equal in Python, not in Gremlin). Bytecode the key cannot describe cheaply (a
write's rows past a budget, an argument of a type it does not know) is compiled each time, as before.
"""

from __future__ import annotations

from collections import OrderedDict
from enum import Enum
from threading import Lock
from typing import Any, Callable

from gremlin_python.process.traversal import Bytecode, P
from gremlin_python.statics import long

from .base import Traversal
from .steps_graph import GraphStep

__all__ = ["CompiledTraversals"]

#: how many shapes a Graph keeps (a service sends a handful; a console, anything)
DEFAULT_SIZE = 256
#: arguments a key may hold: beyond it the bytecode is a write's rows, compiled each time
_KEY_BUDGET = 400
_SCALARS = frozenset({str, int, float, bool, long, type(None)})
#: the id types bound at run time rather than kept in the key
_ID_TYPES = frozenset({str, int, long})
_GRAPH_STEPS = frozenset({"V", "E"})


class _Unkeyable(Exception):
    """The bytecode holds something a key cannot describe cheaply: compile it as it comes."""


class _Keyer:
    """Turns bytecode into a hashable key, within a budget of arguments."""

    __slots__ = ("left",)

    def __init__(self) -> None:
        self.left = _KEY_BUDGET

    def bytecode(self, bytecode: Bytecode) -> tuple:
        return (type(bytecode), tuple([self.instruction(i) for i in bytecode.source_instructions]),
                tuple([self.instruction(i) for i in bytecode.step_instructions]))

    def instruction(self, instruction: list) -> tuple:
        self.left -= len(instruction)
        if self.left < 0:
            raise _Unkeyable
        scalars, value = _SCALARS, self.value  # most arguments are keys and numbers: no call for them
        return (instruction[0], *[(type(a), a) if type(a) in scalars else value(a) for a in instruction[1:]])

    def value(self, value: Any) -> Any:
        kind = type(value)
        if kind in _SCALARS:
            return kind, value
        if isinstance(value, Enum):
            return value
        if isinstance(value, Bytecode):
            return self.bytecode(value)
        bytecode = getattr(value, "bytecode", None)  # a gremlinpython traversal as an argument
        if isinstance(bytecode, Bytecode):
            return self.bytecode(bytecode)
        if isinstance(value, P):  # TextP too: its type is in the key
            return kind, value.operator, self.value(value.value), self.value(value.other)
        self.left -= 1
        if self.left < 0:
            raise _Unkeyable
        if kind is dict:
            return dict, tuple([(self.value(k), self.value(v)) for k, v in value.items()])
        if kind in (list, tuple, set, frozenset):  # a set in its own order: equal sets may differ in it
            return kind, tuple([self.value(v) for v in value])
        raise _Unkeyable


def shape(bytecode: Bytecode) -> tuple[tuple, list[tuple]] | None:
    """(key, the ids of each of the traversal's own V()/E() steps of scalar ids, in order), or None
    when the bytecode cannot be keyed. The source instructions (withStrategies, withSack...) are no
    part of it: they configure each execution's Context, not the compiled steps; the strategies
    they remove, which the compile reads, are in the key the caller makes."""
    keyer = _Keyer()
    ids: list[tuple] = []
    steps = []
    try:
        for instruction in bytecode.step_instructions:
            args = instruction[1:]
            if instruction[0] in _GRAPH_STEPS and args and all(type(a) in _ID_TYPES for a in args):
                ids.append(tuple(args))
                steps.append((instruction[0], "ids", tuple(type(a) for a in args)))  # V(1) is not V('1')
            else:
                steps.append(keyer.instruction(instruction))
        return tuple(steps), ids
    except _Unkeyable:
        return None


class CompiledTraversals:
    """A Graph's recently compiled traversals, at most ``size`` shapes (least recently used out).
    Thread-safe: the compiled steps are shared, each run gets its own copy of the id steps."""

    def __init__(self, size: int = DEFAULT_SIZE):
        self.size = size
        self._kept: OrderedDict[tuple, tuple[Traversal, list[int]]] = OrderedDict()  # and its id steps' places
        self._lock = Lock()
        self.hits = 0
        self.misses = 0

    def traversal(self, bytecode: Bytecode, disabled: frozenset, compile: Callable[[], Traversal]) -> Traversal:
        """The traversal ``compile()`` makes of ``bytecode`` (compiled and optimized with the
        strategies in ``disabled`` removed), from a kept one of the same shape when there is one."""
        described = shape(bytecode) if self.size else None
        if described is None:
            return compile()
        key, ids = described
        key = (key, frozenset(disabled))
        with self._lock:
            found = self._kept.get(key)
            if found is not None:
                self._kept.move_to_end(key)
                self.hits += 1
        if found is None:
            kept = compile()
            positions = _id_steps(kept, len(ids))
            if positions is None:
                return kept  # the id steps did not stay where the bytecode put them: not kept
            found = kept, positions
            self.misses += 1
            with self._lock:
                self._kept[key] = found
                if len(self._kept) > self.size:
                    self._kept.popitem(last=False)
        kept, positions = found
        return _bound(kept, positions, ids) if ids else kept


def _id_steps(traversal: Traversal, count: int) -> list[int] | None:
    """Where the traversal's own V()/E() steps of ids are, if there are exactly ``count``."""
    positions = [i for i, step in enumerate(traversal.steps) if type(step) is GraphStep and step.ids is not None]
    return positions if len(positions) == count else None


def _bound(kept: Traversal, positions: list[int], ids: list[tuple]) -> Traversal:
    """A copy of ``kept`` whose id steps (at ``positions``) start from ``ids`` (the other steps shared)."""
    steps = list(kept.steps)
    for position, args in zip(positions, ids):
        steps[position] = steps[position].rebound(args)
    bound = Traversal(steps)
    bound.rank = kept.rank
    return bound
