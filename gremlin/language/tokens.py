"""Gremlin's named constants and the gremlinpython objects they stand for.

Where gremlinpython has two members for one Gremlin name (``T.id`` and ``T.id_``, ``Operator.max``
and ``Operator.max_``) they are *different* enum members, so the choice is fixed here: the
member spelled exactly like the Gremlin name when there is one, otherwise the underscore or
snake_case spelling Python forced (``Pop.all_``, ``Scope.global_``, ``Merge.on_create``).
Consumers should compare such values by Gremlin name, not identity.
"""

from __future__ import annotations

from typing import Any

from gremlin_python.process.traversal import (
    DT, IO, Barrier, Cardinality, Column, ConnectedComponent, Direction, Merge, Operator, Order,
    PageRank, PeerPressure, Pick, Pop, Scope, ShortestPath, T, WithOptions,
)

__all__ = [
    "QUALIFIED_CONSTANTS", "BARE_CONSTANTS", "P_PREDICATES", "TEXT_PREDICATES",
    "CARDINALITY_FUNCTIONS", "TERMINAL_METHODS", "SOURCE_METHODS", "LAMBDA_CLASSES",
]

_ENUMS: dict[str, dict[str, Any]] = {
    "T": {"id": T.id, "label": T.label, "key": T.key, "value": T.value},
    "Scope": {"local": Scope.local, "global": Scope.global_},
    "Order": {"asc": Order.asc, "desc": Order.desc, "shuffle": Order.shuffle,
              # incr/decr are the pre-3.5 names the grammar still accepts
              "incr": Order.asc, "decr": Order.desc},
    "Column": {"keys": Column.keys, "values": Column.values},
    "Pop": {"first": Pop.first, "last": Pop.last, "all": Pop.all_, "mixed": Pop.mixed},
    "Cardinality": {"single": Cardinality.single, "list": Cardinality.list_, "set": Cardinality.set_},
    "Direction": {"OUT": Direction.OUT, "IN": Direction.IN, "BOTH": Direction.BOTH,
                  "from": Direction.from_, "to": Direction.to},
    "Merge": {"onCreate": Merge.on_create, "onMatch": Merge.on_match,
              "outV": Merge.out_v, "inV": Merge.in_v},
    "Operator": {"sum": Operator.sum_, "minus": Operator.minus, "mult": Operator.mult,
                 "div": Operator.div, "min": Operator.min, "max": Operator.max,
                 "assign": Operator.assign, "and": Operator.and_, "or": Operator.or_,
                 "addAll": Operator.addAll, "sumLong": Operator.sumLong},
    "Pick": {"any": Pick.any_, "none": Pick.none},
    "Barrier": {"normSack": Barrier.normSack},
    "DT": {"second": DT.second, "minute": DT.minute, "hour": DT.hour, "day": DT.day},
}

_OPTION_CLASSES: dict[str, type] = {
    "WithOptions": WithOptions, "IO": IO, "ShortestPath": ShortestPath, "PageRank": PageRank,
    "PeerPressure": PeerPressure, "ConnectedComponent": ConnectedComponent,
}
_OPTION_NAMES = {
    "WithOptions": ("tokens", "none", "ids", "labels", "keys", "values", "all", "indexer", "list", "map"),
    "IO": ("reader", "writer", "gryo", "graphson", "graphml", "registry"),
    "ShortestPath": ("target", "edges", "distance", "maxDistance", "includeEdges"),
    "PageRank": ("edges", "times", "propertyName"),
    "PeerPressure": ("edges", "times", "propertyName"),
    "ConnectedComponent": ("component", "edges", "propertyName"),
}

#: ``Class.member`` -> value, e.g. ``QUALIFIED_CONSTANTS["Scope"]["local"]``.
QUALIFIED_CONSTANTS: dict[str, dict[str, Any]] = {
    **_ENUMS,
    **{cls: {name: getattr(_OPTION_CLASSES[cls], name) for name in names}
       for cls, names in _OPTION_NAMES.items()},
}

# The grammar lets enum members stand alone (``by(desc)``, ``property(list, ...)``) except the
# option-key classes. No bare name belongs to two enums, so one flat table suffices.
BARE_CONSTANTS: dict[str, Any] = {
    name: value for members in _ENUMS.values() for name, value in members.items()
}

#: P.<name>(...) and bare <name>(...) predicates, with how many arguments each takes
#: (None: any number, gremlinpython folds them into one list).
P_PREDICATES: dict[str, tuple[int, ...] | None] = {
    "eq": (1,), "neq": (1,), "lt": (1,), "lte": (1,), "gt": (1,), "gte": (1,),
    "inside": (2,), "outside": (2,), "between": (2,),
    "within": None, "without": None, "not": (1,),
}
TEXT_PREDICATES = frozenset({
    "containing", "notContaining", "startingWith", "notStartingWith",
    "endingWith", "notEndingWith", "regex", "notRegex",
})

CARDINALITY_FUNCTIONS = frozenset({"single", "list", "set"})

TERMINAL_METHODS = frozenset({
    "toList", "toSet", "toBulkSet", "next", "iterate", "hasNext", "tryNext", "explain",
})

#: Methods of ``g`` that configure the source rather than start the traversal.
SOURCE_METHODS = frozenset({
    "with", "withBulk", "withPath", "withSack", "withSideEffect", "withStrategies",
    "withoutStrategies", "withComputer",
})

LAMBDA_CLASSES = frozenset({"Lambda"})
