"""Rebuilding the gremlinpython objects a client put in its bytecode.

gremlinpython writes predicates, enums and strategies but cannot read them back; both
codecs turn the wire forms into the very objects the driver would have built, so the engine
sees the same Bytecode in-process and over the wire.
"""

from __future__ import annotations

from typing import Any

from gremlin_python.process.traversal import (
    DT, Barrier, Cardinality, Column, Direction, Merge, Operator, Order, P, Pick, Pop, Scope, T,
    TraversalStrategy,
)
from gremlin_python.structure.io.util import SymbolUtil

from ..errors import ServerSerializationError, UnsupportedStepError

__all__ = ["ENUMS", "enum_member", "predicate", "strategy", "reject_lambda"]

#: GraphSON type name (also the GraphBinary enum's name) -> gremlinpython enum.
ENUMS: dict[str, Any] = {
    "Barrier": Barrier, "Cardinality": Cardinality, "Column": Column, "Direction": Direction,
    "DT": DT, "Merge": Merge, "Operator": Operator, "Order": Order, "Pick": Pick, "Pop": Pop,
    "Scope": Scope, "T": T,
}

_COLLECTION_PREDICATES = {"within", "without"}
_CONNECTIVES = {"and", "or"}


def enum_member(enum: Any, name: Any) -> Any:
    """``Scope`` + "global" -> Scope.global_; names that clash with Python keywords carry a
    trailing underscore in gremlinpython."""
    if not isinstance(name, str):
        raise ServerSerializationError(f"{enum.__name__} value must be a string, not {name!r}")
    members = enum.__members__
    snake = SymbolUtil.to_snake_case(name)
    for candidate in (name, snake, snake + "_", name + "_"):
        if candidate in members:
            return members[candidate]
    raise ServerSerializationError(f"{name!r} is not a {enum.__name__} value")


def predicate(kind: type[P], operator: Any, args: list[Any]) -> P:
    """A P/TextP from its operator and argument list as both wire formats carry them."""
    if not isinstance(operator, str):
        raise ServerSerializationError(f"Predicate operator must be a string, not {operator!r}")
    if operator in _COLLECTION_PREDICATES:
        return kind(operator, list(args))
    if operator in _CONNECTIVES:
        if len(args) < 2 or not all(isinstance(a, P) for a in args):
            raise ServerSerializationError(f"P.{operator}() needs at least two predicates")
        combined = kind(operator, args[0], args[1])
        for extra in args[2:]:
            combined = kind(operator, combined, extra)
        return combined
    if len(args) == 0:
        raise ServerSerializationError(f"P.{operator}() needs an argument")
    if len(args) == 1:
        return kind(operator, args[0])
    if len(args) == 2:
        return kind(operator, args[0], args[1])
    raise ServerSerializationError(f"P.{operator}() takes at most two arguments, got {len(args)}")


def strategy(name_or_class: str, configuration: dict | None) -> TraversalStrategy:
    """A TraversalStrategy named by its Java class (GraphBinary) or simple name (GraphSON)."""
    if not isinstance(name_or_class, str) or not name_or_class:
        raise ServerSerializationError(f"A strategy must be named by a string, not {name_or_class!r}")
    simple = name_or_class.rsplit(".", 1)[-1]
    fqcn = name_or_class if "." in name_or_class else None
    config = {str(k): v for k, v in (configuration or {}).items()}
    return TraversalStrategy(strategy_name=simple, configuration=config, fqcn=fqcn)


def reject_lambda(script: Any, language: Any) -> Any:
    raise UnsupportedStepError(
        f"Lambdas are not supported by this server ({language} lambda {str(script)[:80]!r}); "
        "rewrite the step without a closure")
