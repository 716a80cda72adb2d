"""Strategy objects for ``withStrategies(...)`` / ``withoutStrategies(...)``.

Gremlin text names a strategy and its configuration with the Java configuration keys
(``new PartitionStrategy(partitionKey: "_p", readPartitions: ["a"])``). The result is the
gremlinpython class from ``gremlin_python.process.strategies`` built with its defaults, with
the configuration keys from the text laid over them verbatim. Using the text's keys rather
than gremlinpython's keyword arguments matters for ``SubgraphStrategy(checkAdjacentVertices:)``,
which gremlinpython 3.7 files under the wrong key (``checkAdjacentProperties``).
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any

from gremlin_python.process import strategies as gp_strategies
from gremlin_python.process.traversal import TraversalStrategy

__all__ = ["strategy_class", "build_strategy"]

# Keys whose value the grammar reads as a list of strings even when one bare string is given.
_STRING_LIST_KEYS = frozenset({"readPartitions", "productiveKeys", "keys"})


def strategy_class(name: str) -> type[TraversalStrategy] | None:
    """The gremlinpython strategy class called ``name``, if gremlinpython has one."""
    found = getattr(gp_strategies, name, None)
    if isinstance(found, type) and issubclass(found, TraversalStrategy) and found is not TraversalStrategy:
        return found
    return None


def _with_defaults(cls: type[TraversalStrategy]) -> TraversalStrategy:
    # Some constructors insist on an argument (SeedStrategy(seed)); hand them None and drop it,
    # the text's configuration supplies the real value.
    required = [
        p for p in list(inspect.signature(cls.__init__).parameters.values())[1:]
        if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    with warnings.catch_warnings():
        # ProductiveByStrategy warns it is deprecated; the text asked for it by name anyway.
        warnings.simplefilter("ignore", DeprecationWarning)
        strategy = cls(*([None] * len(required)))
    strategy.configuration = {k: v for k, v in (strategy.configuration or {}).items() if v is not None}
    return strategy


def build_strategy(name: str, configuration: dict[str, Any]) -> TraversalStrategy:
    """A strategy instance named ``name`` configured with ``configuration`` (Java keys)."""
    config = {
        key: [value] if key in _STRING_LIST_KEYS and isinstance(value, str) else value
        for key, value in configuration.items()
    }
    cls = strategy_class(name)
    if cls is None:
        # Unknown to gremlinpython (a provider's own strategy): keep its name so the engine
        # can accept or refuse it by name.
        return TraversalStrategy(strategy_name=name, configuration=config)
    strategy = _with_defaults(cls)
    strategy.configuration.update(config)
    return strategy
