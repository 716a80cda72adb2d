"""Source instructions: strategies, side effects, sacks and options sent in bytecode.

Decoration strategies (PartitionStrategy, SubgraphStrategy, ReadOnlyStrategy) change what a
traversal may see or write, so they are applied to the execution Context. Optimization
strategies only make TinkerPop faster; this engine's answers do not depend on them, so they
are accepted and ignored. Anything else is refused by name.

Strategies *imposed* by whoever runs the traversal (a server confining a client to its
partition, read-only) are not part of the bytecode: ``impose_strategies`` applies them after
the client's own source instructions, so nothing the client sends removes or overrides them.
This engine never removes a decoration strategy (``withoutStrategies`` turns off only the filter
optimizations of filter_strategies.py, which change the order filters run in, not what a filter
lets through), and the client's decorations add filters beside the imposed ones: they can narrow what
the traversal sees, never widen it. (TinkerPop itself replaces a strategy by a later one of the
same class, which is why a Gremlin Server must not rely on strategies configured on its
traversal source to confine a client.)
"""

from __future__ import annotations

from typing import Any

from gremlin_python.process.traversal import Bytecode, Operator, TraversalStrategy

from ..errors import InvalidArgumentError, UnsupportedStepError
from .base import Context, Traversal
from .compiler import convert_argument
from .labelled_paths import WITH_PATH
from .traverser import Traverser

__all__ = ["apply_source_instructions", "impose_strategies", "settle_imposed", "IMPOSABLE"]

#: The strategies a server may impose: they restrict what a traversal sees or writes.
IMPOSABLE = frozenset({"PartitionStrategy", "SubgraphStrategy", "ReadOnlyStrategy"})

_IGNORED = {
    "AdjacentToIncidentStrategy", "ByModulatorOptimizationStrategy", "CountStrategy",
    "EarlyLimitStrategy", "FilterRankingStrategy", "IdentityRemovalStrategy",
    "IncidentToAdjacentStrategy", "InlineFilterStrategy", "LazyBarrierStrategy",
    "MatchPredicateStrategy", "OrderLimitStrategy", "PathProcessorStrategy",
    "PathRetractionStrategy", "RepeatUnrollStrategy", "GraphFilterStrategy",
    "LambdaRestrictionStrategy", "ConnectiveStrategy",
    "MessagePassingReductionStrategy", "TinkerGraphCountStrategy", "TinkerGraphStepStrategy",
    "StandardVerificationStrategy", "ComputerVerificationStrategy",
}


def _strategy_name(strategy: Any) -> str:
    if isinstance(strategy, TraversalStrategy):
        return strategy.strategy_name
    name = getattr(strategy, "__name__", None) or str(strategy)
    return name.rsplit(".", 1)[-1]


def apply_source_instructions(ctx: Context, bytecode: Bytecode, options: dict) -> None:
    for instruction in bytecode.source_instructions:
        name, args = instruction[0], instruction[1:]
        if name == "withStrategies":
            for strategy in args:
                _apply_strategy(ctx, strategy, options)
        elif name == "withoutStrategies":
            ctx.disabled_strategies.update(_strategy_name(strategy) for strategy in args)
        elif name == "withSideEffect":
            if len(args) > 2:
                if not isinstance(args[2], Operator):
                    raise UnsupportedStepError("withSideEffect() takes an Operator as its reducer, not a lambda")
                ctx.side_effect_reducers[args[0]] = args[2]
            ctx.side_effects[args[0]] = convert_argument(args[1])
        elif name == "withSack":
            if len(args) == 2 and args[1] is None:  # no split operator, as withSack(initial)
                args = args[:1]
            if len(args) > 2 or (len(args) == 2 and not isinstance(args[1], Operator)):
                raise UnsupportedStepError("withSack() with a split operator (a lambda) is not supported")
            if len(args) == 2:
                ctx.sack_merge = args[1]  # withSack(initial, Operator): how merged traversers' sacks combine
            ctx.sack_initial = args[0]
        elif name == "withBulk":
            ctx.one_bulk = bool(args) and args[0] is False  # merged traversers keep a bulk of 1
        elif name == "withPath":
            # every traverser carries its whole path: TinkerPop's PathRetractionStrategy leaves it
            # alone, as withoutStrategies() would (and the compiled traversals kept apart by it)
            ctx.disabled_strategies.add("PathRetractionStrategy")
            ctx.disabled_strategies.add(WITH_PATH)  # and as() labels the newest object (labelled_paths.py)
        elif name == "with":
            options[args[0]] = args[1] if len(args) > 1 else True
        elif name == "withComputer":
            raise UnsupportedStepError("withComputer(): this engine has no GraphComputer (OLAP)")
        else:
            raise UnsupportedStepError(f"The {name}() source step is not supported by this engine")


def impose_strategies(ctx: Context, strategies: Any) -> None:
    """Apply restricting strategies the traversal's sender did not choose and cannot undo, before
    its own source instructions (``settle_imposed`` after them). They also hold inside the filter
    traversals of a SubgraphStrategy the sender adds: a filter that could walk outside an imposed
    partition, or write under an imposed ReadOnlyStrategy, would be a way round them."""
    if not strategies:
        return
    for strategy in strategies:
        name = _strategy_name(strategy)
        if name not in IMPOSABLE:
            raise ValueError(f"{name} cannot be imposed: only {', '.join(sorted(IMPOSABLE))} restrict a traversal")
        _apply_strategy(ctx, strategy, {})
    ctx.imposed = ctx.filters.copy()


def settle_imposed(ctx: Context) -> None:
    """After the sender's own strategies: an imposed PartitionStrategy decides the partition
    every write is stamped with, whatever partition the sender's strategy named."""
    if ctx.imposed is not None:
        ctx.filters.write_properties.update(ctx.imposed.write_properties)
        ctx.filters.read_only = ctx.filters.read_only or ctx.imposed.read_only


def _apply_strategy(ctx: Context, strategy: Any, options: dict) -> None:
    name = _strategy_name(strategy)
    config = dict(getattr(strategy, "configuration", {}) or {})
    if name == "PartitionStrategy":
        _partition(ctx, config)
    elif name == "SubgraphStrategy":
        _subgraph(ctx, config)
    elif name == "ReadOnlyStrategy":
        ctx.filters.read_only = True
    elif name == "OptionsStrategy":
        options.update(config)
    elif name == "ProductiveByStrategy":
        ctx.productive_by = True
    elif name == "SeedStrategy":
        ctx.seed = int(config.get("seed") or 0)
    elif name in _IGNORED:
        return
    else:
        raise UnsupportedStepError(f"The {name} strategy is not supported by this engine")


def _partition(ctx: Context, config: dict) -> None:
    key = config.get("partitionKey")
    if not isinstance(key, str) or not key:
        raise InvalidArgumentError("PartitionStrategy needs a partitionKey")
    if config.get("includeMetaProperties"):
        raise UnsupportedStepError("PartitionStrategy with includeMetaProperties is not supported")
    write = config.get("writePartition")
    reads = list(config.get("readPartitions") or [])
    if write is not None:
        ctx.filters.write_properties[key] = write

    #: partitions named by strings (as ever): a vertex's one string value is looked up in a set
    named = frozenset(reads) if all(type(read) is str for read in reads) else None

    def vertex_in_partition(context: Context, vertex: Any) -> bool:
        # asked for every vertex a traversal touches: a plain loop, no generator per call
        if named is not None:
            held = vertex.props.get(key)
            if type(held) is str:  # one value, held bare (storage.VertexRecord.props)
                return held in named
        for value in vertex.values_of(key):
            if value in reads:
                return True
        return False

    def edge_in_partition(context: Context, edge: Any) -> bool:
        return edge.props.get(key) in reads

    ctx.filters.vertex.append(vertex_in_partition)
    ctx.filters.edge.append(edge_in_partition)


def _subgraph(ctx: Context, config: dict) -> None:
    def as_filter(value: Any) -> Traversal:
        compiled = convert_argument(value)
        if not isinstance(compiled, Traversal):
            raise InvalidArgumentError("SubgraphStrategy filters must be traversals")
        return compiled

    # Filters are evaluated in a context without the traversal's own filters, or a filter that
    # walks the graph would recurse into itself; the imposed ones still hold there.
    plain = Context(ctx.store, profile=ctx.profile, budget=ctx.budget)
    if ctx.imposed is not None:
        plain.filters, plain.imposed = ctx.imposed.copy(), ctx.imposed

    def passes(child: Traversal) -> Any:
        return lambda context, element: child.has_result(plain, Traverser.start(element))

    vertex_filter = passes(as_filter(config["vertices"])) if config.get("vertices") is not None else None
    edge_filters = []
    if config.get("edges") is not None:
        edge_filters.append(passes(as_filter(config["edges"])))
    if vertex_filter is not None:
        ctx.filters.vertex.append(vertex_filter)
        if _check_adjacent_vertices(config):
            edge_filters.append(lambda context, edge: vertex_filter(context, edge.out_v)
                                and vertex_filter(context, edge.in_v))
    # TinkerPop rewrites out() as outE().filter(edges).inV() here, so walks are filtered too
    ctx.filters.edge.extend(edge_filters)
    ctx.filters.crossed_edge.extend(edge_filters)
    if config.get("vertexProperties") is not None:
        ctx.filters.vertex_property.append(passes(as_filter(config["vertexProperties"])))


def _check_adjacent_vertices(config: dict) -> bool:
    # gremlinpython 3.7 files the option under checkAdjacentProperties; Gremlin text uses the
    # Java name. TinkerPop's default is to check.
    for key in ("checkAdjacentVertices", "checkAdjacentProperties"):
        if config.get(key) is not None:
            return bool(config[key])
    return True
