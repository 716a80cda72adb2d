"""Reading gremlinpython Bytecode before it is compiled: the names a traversal uses, and the
CardinalityValue that travels as Bytecode.

Below the steps and the compiler: a Context asks which steps its traversal holds (whether some
step reads whole paths), and a server which ones write, without compiling anything.
"""

from __future__ import annotations

from typing import Any

from gremlin_python.process.traversal import Bytecode, TraversalStrategy
from gremlin_python.process.traversal import Traversal as GTraversal

__all__ = ["step_names", "is_cardinality_value"]


def step_names(bytecode: Bytecode) -> set[str]:
    """Every instruction and strategy name in ``bytecode``, child traversals (those a strategy is
    configured with too) included."""
    names: set[str] = set()
    pending: list[Any] = [bytecode]
    while pending:
        value = pending.pop()
        if isinstance(value, Bytecode):
            for operator, *args in value.source_instructions + value.step_instructions:
                names.add(operator)
                pending.extend(args)
        elif isinstance(value, GTraversal):
            pending.append(value.bytecode)
        elif isinstance(value, TraversalStrategy):  # and the traversals it is configured with
            names.add(value.strategy_name)
            pending.extend((value.configuration or {}).values())
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, (list, tuple, set, frozenset)):
            pending.extend(value)
    return names


def is_cardinality_value(value: Any) -> bool:
    """gremlinpython's CardinalityValue (mergeV's Cardinality.set(x)) is Bytecode in disguise."""
    return isinstance(value, Bytecode) and bool(value.source_instructions) and \
        value.source_instructions[0][0] == "CardinalityValueTraversal"
