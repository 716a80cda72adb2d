"""Which scenarios use only the core steps: those the identity service's backends must support
(issue #2's list), over which issue #3 sets its pass-rate target."""

from __future__ import annotations

import re

from ..engine.bytecode import step_names
from ..errors import GremlinSyntaxError
from ..language import parse
from .gherkin import Scenario

__all__ = ["CORE_STEPS", "CORE_STRATEGIES", "uses_only_core_steps"]

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

_PARAMETER = re.compile(r'^using the parameter (\w+) defined as "(.*)"$')


def uses_only_core_steps(scenario: Scenario) -> bool:
    """True when the scenario's traversal parses and names nothing outside the core steps."""
    text = next((step.doc_string for step in scenario.steps
                 if step.text == "the traversal of" and step.doc_string), None)
    if text is None:
        return False
    parameters = [match for step in scenario.steps if (match := _PARAMETER.match(step.text)) is not None]
    if any(match.group(2).startswith("c[") for match in parameters):
        return False  # a lambda: no backend of the service may take one
    # the parameters' values do not matter here, only their names
    bindings = {match.group(1): None for match in parameters}
    try:
        names = step_names(parse(text, bindings))
    except GremlinSyntaxError:
        return False
    strategies = {name for name in names if name.endswith("Strategy")}
    return names - strategies <= CORE_STEPS and strategies <= CORE_STRATEGIES
