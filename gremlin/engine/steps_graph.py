"""Steps that reach into the graph: V(), E(), inject(), and moving along edges."""

from __future__ import annotations

from copy import copy
from typing import Any, Iterator

from gremlin_python.structure.graph import Edge as GEdge
from gremlin_python.structure.graph import Vertex as GVertex

from ..errors import InvalidArgumentError, TraversalError
from ..storage import EdgeRecord, VertexRecord
from .base import Context, Step, register
from .common import element_id, ids_of, merge_bulks, named
from .frontier import read_ahead
from .traverser import NO_LABELS, PathNode, Traverser, is_simple, on_path
from .values import g_equal, java_equality_key

_DIRECTIONS = {"out": "out", "in": "in", "both": "both"}


def _start_ids(args: tuple) -> list | None:
    """The ids V(args...)/E(args...) starts from; None for every element: no ids, or V([]) (an
    empty list of ids is no ids, as TinkerPop)."""
    ids = ids_of(args) if args else None
    return None if ids == [] and len(args) == 1 else ids


class GraphStep(Step):
    """V(ids...) or E(ids...), at the start or in the middle of a traversal."""

    def __init__(self, kind: str, args: tuple):
        self.kind = kind
        self.name = kind
        self.ids = _start_ids(args)
        # has() steps right after V() are folded in by the optimizer to use the index.
        self.index_key: str | None = None
        self.index_value: Any = None

    def rebound(self, args: tuple) -> "GraphStep":
        """This step starting from other ids (a kept compiled traversal run again: compiled.py)."""
        bound = copy(self)
        bound.ids = _start_ids(args)
        return bound

    def elements(self, ctx: Context) -> Iterator[Any]:
        table = ctx.store.vertices if self.kind == "V" else ctx.store.edges
        visible = ctx.vertex_visible if self.kind == "V" else ctx.edge_visible
        if self.ids is not None:
            if len(self.ids) > 1:
                ctx.store.read_ids(self.kind, self.ids)  # on a file, one query for all, not one each
            for id in self.ids:
                element = table.get(id)
                if element is None and id is not None:
                    element = _lookup_numeric_string(table, id) if isinstance(id, str) else _lookup_coerced(table, id)
                if element is not None and visible(element):
                    yield element
            return
        if self.index_key is not None:
            candidates = ctx.store.lookup(self.index_key, self.index_value)
            if candidates is not None:
                for vertex in candidates:
                    if visible(vertex):
                        yield vertex
                return
        tick = ctx.tick
        for element in (ctx.store.scan_vertices() if self.kind == "V" else ctx.store.scan_edges()):
            tick()  # a scan that finds nothing still costs a look at every element
            if visible(element):
                yield element

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        for traverser in traversers:
            for element in self.elements(ctx):
                ctx.tick()
                yield traverser.split(element)


def _lookup_coerced(table: dict, id: Any) -> Any:
    # Ids compare by value across numeric types, as TinkerGraph's ANY id manager does.
    if isinstance(id, float) and id.is_integer():
        return table.get(int(id))
    return None


def _lookup_numeric_string(table: dict, id: str) -> Any:
    # V("1") finds a vertex with the numeric id 1, as TinkerGraph's numeric id managers do.
    digits = id[1:] if id[:1] == "-" else id
    return table.get(int(id)) if digits.isdigit() else None


class StartStep(Step):
    """The implicit source of a traversal: one empty traverser that V()/inject() expand."""

    name = "start"

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        return traversers


@register("V")
def _v(*args: Any) -> Step:
    return GraphStep("V", args)


@register("E")
def _e(*args: Any) -> Step:
    return GraphStep("E", args)


class InjectStep(Step):
    name = "inject"

    def __init__(self, values: tuple):
        self.values = values
        #: TinkerPop's InjectStep puts its values in the TraverserSet of its starts and drains it
        #: before it pulls from the step before it: after a step, its values come first. Starting
        #: a child, it is given the parent's traverser into that set first (the compiler says which)
        self.after_a_step = False

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.after_a_step:
            first = next(traversers, None)
            yield from self._injected(ctx, ctx.sack_initial)
            if first is not None:
                yield first
            yield from traversers
            return
        sack = ctx.sack_initial
        for traverser in traversers:
            sack = traverser.sack
            if traverser.obj is not _ROOT:
                yield traverser
        yield from self._injected(ctx, sack)

    def _injected(self, ctx: Context, sack: Any) -> list[Traverser]:
        """The values as traversers, equal ones (by Java's equals) as one, as a TraverserSet holds
        them: inject(2, 1, 2).fold() is [2, 2, 1], and a local() child sees a bulk of 2."""
        starts = [Traverser.start(_attach(ctx, value), sack=sack) for value in self.values]
        return merge_bulks(starts, ctx, java_equality_key) if len(starts) > 1 else starts


class _Root:
    def __repr__(self) -> str:
        return "root"


_ROOT: Any = _Root()
ROOT = _ROOT


@register("inject")
def _inject(*args: Any) -> Step:
    return InjectStep(args)


class VertexStep(Step):
    """out/in/both (to vertices) and outE/inE/bothE (to edges), by per-label adjacency.

    ``simple_path``: the optimizer folds a following plain simplePath() in, so a neighbour
    already on the path is skipped before a traverser is made for it. ``reads_frontier``: the
    optimizer found it between two barriers (frontier.py), so on a store that opts in it has the
    edges of a chunk of its traversers' vertices read together before it walks them."""

    def __init__(self, name: str, direction: str, to_edges: bool, labels: tuple):
        self.name = name
        self.direction = direction
        self.to_edges = to_edges
        given = named(labels)
        for label in given or ():
            if not isinstance(label, str):
                raise InvalidArgumentError(f"{name}() takes edge labels as strings, not {label!r}")
        #: a lone null label names no edge (TinkerGraph), among others it is left out
        self.no_edges = given is None
        self.labels = given or ()
        self.simple_path = False
        self.reads_frontier = False

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        if self.reads_frontier and ctx.store.reads_frontiers:
            traversers = read_ahead(ctx, traversers, self.direction, self.labels)
        simple_path = self.simple_path
        filtered = bool(ctx.filters)
        tick = ctx.tick
        for traverser in traversers:
            vertex = traverser.obj
            if not isinstance(vertex, VertexRecord):
                if isinstance(vertex, GVertex):
                    continue  # a reference (a side effect, constant()): it has no edges, as in TinkerPop
                raise InvalidArgumentError(f"The {self.name}() step needs a vertex, not {_kind(vertex)}")
            path = traverser.path
            if simple_path and not is_simple(path):
                continue  # no extension of a path that repeats itself is simple
            targets = self.targets(ctx, vertex, filtered)
            tick(len(targets))
            # Traverser.split() inlined: this loop makes most of a walk's traversers.
            bulk, loops, sack = traverser.bulk, traverser.loops, traverser.sack
            for target in targets:
                if simple_path and on_path(path, target):
                    continue
                yield Traverser(target, bulk, PathNode(target, NO_LABELS, path), loops, sack)

    def targets(self, ctx: Context, vertex: VertexRecord, filtered: bool) -> list:
        if self.no_edges:
            return []
        edges = vertex.edges(self.direction, self.labels)
        if self.to_edges:
            return [edge for edge in edges if ctx.edge_visible(edge)] if filtered else edges
        if self.direction == "out":
            targets = [edge.in_v for edge in edges]
        elif self.direction == "in":
            targets = [edge.out_v for edge in edges]
        else:
            targets = [edge.in_v if edge.out_v is vertex else edge.out_v for edge in edges]
        if filtered:
            return [other for edge, other in zip(edges, targets) if ctx.crossing_visible(edge, other)]
        return targets


def _attach(ctx: Context, value: Any) -> Any:
    """What inject() starts from: as TinkerPop's StartStep, a detached vertex or edge sent in
    the bytecode stands for the graph's element with its id, properties and edges (a Gremlin
    Server answers ``g.inject(v).values()`` from the graph, whatever PartitionStrategy the
    traversal has: it filters only what V(), E() and the walking steps reach). A missing element
    is an error. Under imposed strategies, an element they hide is as missing: a confined
    traversal cannot read another partition's element by naming it, nor learn that it exists.
    Anywhere else (a side effect, constant()) such a value stays a reference: an id and a label,
    no properties, no edges."""
    if not isinstance(value, (GVertex, GEdge)):
        return value
    vertex = isinstance(value, GVertex)
    found = (ctx.store.vertices if vertex else ctx.store.edges).get(value.id)
    if found is not None and not ctx.imposed_allows(found, vertex):
        found = None
    if found is None:
        raise TraversalError(f"inject(): the graph has no {'vertex' if vertex else 'edge'} with id "
                             f"{value.id!r} to stand for the one given")
    return found


def _kind(value: Any) -> str:
    return type(value).__name__.replace("Record", "").lower()


for _name, _dir in _DIRECTIONS.items():
    register(_name)(lambda *labels, _n=_name, _d=_dir: VertexStep(_n, _d, False, labels))
    register(_name + "E")(lambda *labels, _n=_name + "E", _d=_dir: VertexStep(_n, _d, True, labels))


class EdgeVertexStep(Step):
    """outV/inV/bothV/otherV."""

    def __init__(self, name: str):
        self.name = name

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        name = self.name
        filtered = bool(ctx.filters)
        if name == "otherV":
            return self._other_ends(ctx, traversers, filtered)
        return self._ends_of(ctx, traversers, filtered)

    def _other_ends(self, ctx: Context, traversers: Iterator[Traverser], filtered: bool) -> Iterator[Traverser]:
        """otherV() as _ends_of() runs it, inlined: a walk crosses every link with it."""
        for traverser in traversers:
            edge = traverser.obj
            if type(edge) is not EdgeRecord:
                yield from self._ends_of(ctx, (traverser,), filtered)
                continue
            path = traverser.path
            node = path.parent if path is not None else None
            out_v = edge.out_v
            if node is not None and type(node.obj) is VertexRecord:  # the walk's case: a hop from a vertex
                vertex = edge.in_v if node.obj is out_v else out_v
            else:
                vertex = _other_end(traverser, out_v, edge.in_v)
            if filtered and not ctx.vertex_visible(vertex):
                continue
            yield Traverser(vertex, traverser.bulk, PathNode(vertex, NO_LABELS, path), traverser.loops, traverser.sack)

    def _ends_of(self, ctx: Context, traversers: Iterator[Traverser], filtered: bool) -> Iterator[Traverser]:
        name = self.name
        for traverser in traversers:
            edge = traverser.obj
            if not isinstance(edge, EdgeRecord):
                if isinstance(edge, GEdge):  # a reference edge: its ends are references too
                    for vertex in self._ends(traverser, edge):
                        yield traverser.split(vertex)
                    continue
                raise InvalidArgumentError(f"The {name}() step needs an edge, not {_kind(edge)}")
            for vertex in self._ends(traverser, edge):
                if not filtered or ctx.vertex_visible(vertex):
                    yield traverser.split(vertex)

    def _ends(self, traverser: Traverser, edge: Any) -> tuple:
        name = self.name
        out_v, in_v = (edge.out_v, edge.in_v) if isinstance(edge, EdgeRecord) else (edge.outV, edge.inV)
        if name == "outV":
            return (out_v,)
        if name == "inV":
            return (in_v,)
        if name == "bothV":
            return (out_v, in_v)
        return (_other_end(traverser, out_v, in_v),)


def _other_end(traverser: Traverser, out_v: Any, in_v: Any) -> Any:
    """otherV(): the in end when the last vertex on the traverser's path before the edge is its
    out end (by id), else the out end; an error when no vertex is on the path (TinkerPop's
    EdgeOtherVertexStep)."""
    node = traverser.path.parent if traverser.path is not None else None
    while node is not None and not isinstance(node.obj, (VertexRecord, GVertex)):
        node = node.parent
    if node is None:
        raise TraversalError(f"The path history of the traverser does not contain a previous vertex: "
                             f"{traverser.path_value()}")
    previous = node.obj
    return in_v if previous is out_v or same_id(previous, out_v) else out_v


for _name in ("outV", "inV", "bothV", "otherV"):
    register(_name)(lambda _n=_name: EdgeVertexStep(_n))


def same_id(a: Any, b: Any) -> bool:
    return g_equal(element_id(a), element_id(b))
