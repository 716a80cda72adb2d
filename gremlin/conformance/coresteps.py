"""Which scenarios use only the core steps: those the identity service's backends must support
(issue #2's list), over which issue #3 sets its pass-rate target."""

from __future__ import annotations

import re
from typing import Any, Iterator

from gremlin_python.process.traversal import Bytecode, TraversalStrategy

from ..errors import GremlinSyntaxError
from ..language import parse
from .gherkin import Scenario

__all__ = ["CORE_STEPS", "CORE_STRATEGIES", "steps_used", "uses_only_core_steps"]

#: Step (and modulator) names as they appear in bytecode; CardinalityValueTraversal is a property
#: value with its cardinality (``Cardinality.single(x)``) in a mergeV() map.
CORE_STEPS = frozenset("""
    V E addV addE from to property drop has hasLabel hasId hasNot hasKey is out in both outE inE bothE
    inV outV bothV otherV repeat times until emit loops simplePath cyclicPath dedup limit range skip tail
    count values valueMap elementMap properties id label key value project by as select fold unfold group
    groupCount coalesce optional union choose constant identity local where not and or order path
    sideEffect aggregate store cap inject sum min max mean mergeV mergeE option withStrategies with
    CardinalityValueTraversal
""".split())

#: The strategies withStrategies() may name; with() is OptionsStrategy by another name.
CORE_STRATEGIES = frozenset({"PartitionStrategy", "SubgraphStrategy", "ReadOnlyStrategy", "OptionsStrategy"})

_PARAMETER = re.compile(r'^using the parameter (\w+) ')


def _instructions(bytecode: Bytecode) -> Iterator[list]:
    yield from bytecode.source_instructions
    yield from bytecode.step_instructions


def steps_used(bytecode: Bytecode) -> set[str]:
    """Every step and strategy name in ``bytecode``, child traversals included."""
    names: set[str] = set()
    pending: list[Any] = [bytecode]
    while pending:
        value = pending.pop()
        if isinstance(value, Bytecode):
            for operator, *args in _instructions(value):
                names.add(operator)
                pending.extend(args)
        elif hasattr(value, "bytecode") and isinstance(value.bytecode, Bytecode):
            pending.append(value.bytecode)
        elif isinstance(value, TraversalStrategy):
            names.add(value.strategy_name)
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, (list, tuple, set)):
            pending.extend(value)
    return names


def uses_only_core_steps(scenario: Scenario) -> bool:
    """True when the scenario's traversal parses and names nothing outside the core steps."""
    text = next((step.doc_string for step in scenario.steps
                 if step.text == "the traversal of" and step.doc_string), None)
    if text is None:
        return False
    # the parameters' values do not matter here, only their names
    bindings = {match.group(1): None for step in scenario.steps
                if (match := _PARAMETER.match(step.text)) is not None}
    try:
        names = steps_used(parse(text, bindings))
    except GremlinSyntaxError:
        return False
    strategies = {name for name in names if name.endswith("Strategy")}
    return names - strategies <= CORE_STEPS and strategies <= CORE_STRATEGIES
