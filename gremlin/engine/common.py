"""Helpers shared by many steps: element access, by() modulation, and Gremlin token names (tokens.py's, handed on)."""

from __future__ import annotations

from itertools import islice
from typing import Any, Callable, Iterable, Iterator, TypeVar

from gremlin_python.process.traversal import Column, T
from gremlin_python.structure.graph import Edge as GEdge
from gremlin_python.structure.graph import Element as GElement
from gremlin_python.structure.graph import Vertex as GVertex

from ..errors import ElementNotFound, InvalidArgumentError
from ..storage import EdgeRecord, VertexPropertyRecord, VertexRecord
from .base import Context, Step, Traversal
from .bytecode import is_cardinality_value
from .operators import apply_operator
from .tokens import enum_name, token_name
from .traverser import Traverser
from .values import MapEntry, OrderedSet, PathValue, PropertyValue, g_hash_key, java_type_name

__all__ = ["NOTHING", "Projection", "enum_name", "element_id", "is_element", "require_element", "vertex_properties",
           "vertex_property_items", "property_values", "property_items", "token_name", "resolve_vertex",
           "resolve_edge", "ids_of", "column_value", "require_traversals"]


class _Nothing:
    """What a by() that produced no value yields (a filter, not a null)."""

    def __repr__(self) -> str:
        return "NOTHING"


NOTHING: Any = _Nothing()


_Item = TypeVar("_Item")


def batched(items: Iterable[_Item], size: int) -> Iterator[list[_Item]]:
    """Consecutive lists of up to ``size`` items (Python 3.12's itertools.batched, as lists)."""
    iterator = iter(items)
    while batch := list(islice(iterator, size)):
        yield batch


def is_element(value: Any) -> bool:
    return isinstance(value, (VertexRecord, EdgeRecord, VertexPropertyRecord))


def element_id(value: Any) -> Any:
    """The id of an element (ours or gremlinpython's) or the value itself."""
    if isinstance(value, (VertexRecord, EdgeRecord, VertexPropertyRecord, GElement)):
        return value.id
    return value


def named(names: tuple) -> tuple | None:
    """Property keys or edge labels as TinkerGraph reads a list holding nulls: a lone null (or
    only nulls) names nothing (None), among other names a null is left out."""
    kept = tuple(name for name in names if name is not None)
    if names and not kept:
        return None
    return kept


def ids_of(args: tuple) -> list:
    """Flatten V(1, [2, 3], v) style arguments into ids."""
    out: list = []
    for arg in args:
        if type(arg) is str:  # the usual id: V() of many string ids costs no call per id
            out.append(arg)
        elif isinstance(arg, (list, tuple, set, frozenset)):
            out.extend(element_id(a) for a in arg)
        else:
            out.append(element_id(arg))
    return out


def split_cardinality_value(value: Any, default: Any) -> tuple[Any, Any]:
    """(cardinality, value) of a property value that may name its own cardinality."""
    if is_cardinality_value(value):
        _, cardinality, inner = value.source_instructions[0]
        return cardinality, inner
    return default, value


def vertex_properties(ctx: Context, vertex: VertexRecord, keys: tuple = ()) -> Iterator[VertexPropertyRecord]:
    """A vertex's visible properties as elements (each gets its id now if it has none)."""
    for vp in ctx.store.vertex_properties(vertex, keys):
        if ctx.vertex_property_visible(vp):
            yield vp


def vertex_property_items(ctx: Context, vertex: VertexRecord, keys: tuple = ()) -> list[tuple[str, Any]]:
    """(key, value) of a vertex's visible properties: what reading values needs, without
    making elements of them unless a strategy filters vertex properties as elements."""
    if ctx.filters.vertex_property:
        return [(vp.key, vp.value) for vp in vertex_properties(ctx, vertex, keys)]
    return vertex.property_items(keys)


def property_values(ctx: Context, element: Any, keys: tuple = ()) -> Iterator[Any]:
    """properties(keys) of any element: VertexPropertyRecords or PropertyValues."""
    if isinstance(element, VertexRecord):
        yield from vertex_properties(ctx, element, keys)
    else:
        for key, value in property_items(ctx, element, keys):  # which refuses a non-element
            yield PropertyValue(element, key, value)


def property_items(ctx: Context, element: Any, keys: tuple = ()) -> list[tuple[str, Any]]:
    """(key, value) of properties(keys) of any element: what values(), valueMap() and the
    like read, with no element made for a vertex property."""
    if isinstance(element, VertexRecord):
        return vertex_property_items(ctx, element, keys)
    if isinstance(element, EdgeRecord):
        table = element.props
        return [(key, table[key]) for key in (keys or list(table)) if key in table]
    if isinstance(element, VertexPropertyRecord):
        table = element.meta
        return [(key, table[key]) for key in (keys or list(table)) if key in table]
    require_element(element)
    return []  # a reference (a vertex or edge sent as a value): an id and a label only


def require_element(value: Any) -> None:
    """What properties()/values() read must be an element (TinkerPop casts it, whatever the keys)."""
    if isinstance(value, (VertexRecord, EdgeRecord, VertexPropertyRecord, GElement)):
        return
    if isinstance(value, dict):
        raise InvalidArgumentError("properties() needs an element, not a map")
    raise InvalidArgumentError(f"The properties() step cannot be applied to {type(value).__name__}")


def resolve_vertex(ctx: Context, ref: Any) -> VertexRecord:
    if isinstance(ref, VertexRecord):
        return ref
    vid = element_id(ref)
    vertex = ctx.store.vertices.get(vid)
    if vertex is None:
        raise ElementNotFound(f"Vertex with id {vid!r} does not exist")
    return vertex


def resolve_edge(ctx: Context, ref: Any) -> EdgeRecord | None:
    if isinstance(ref, EdgeRecord):
        return ref
    return ctx.store.edges.get(element_id(ref))


class Projection:
    """A by() modulator: identity, a property key, a T token, a Column, or a child traversal."""

    __slots__ = ("kind", "arg")

    def __init__(self, arg: Any = None, *, rewrite: bool = True):
        if arg is None:
            self.kind, self.arg = "identity", None
        elif isinstance(arg, Traversal):
            self.kind, self.arg = ("identity", None) if arg.is_identity() else ("traversal", arg)
            if rewrite and len(arg.steps) == 1 and getattr(arg.steps[0], "by_equivalent", None):
                # TinkerPop's ByModulatorOptimizationStrategy: by(values(k)) reads as by(k) (so a map
                # gives Map.get, a multi-property fails), by(id())/by(label()) as the T tokens
                self.kind, self.arg = arg.steps[0].by_equivalent
        elif isinstance(arg, str):
            self.kind, self.arg = "key", arg
        elif isinstance(arg, T):
            self.kind, self.arg = "token", token_name(arg)
        elif isinstance(arg, Column):
            self.kind, self.arg = "column", arg.name
        else:
            raise InvalidArgumentError(f"by() does not accept {arg!r}")

    def __call__(self, ctx: Context, traverser: Traverser) -> Any:
        """The projected value, or NOTHING when the modulator yields nothing."""
        kind = self.kind
        if kind == "identity":
            return traverser.obj
        if kind == "traversal":
            value = self.arg.first(ctx, traverser, NOTHING)
        else:
            value = project_value(ctx, traverser.obj, kind, self.arg)
        if value is NOTHING and ctx.productive_by:
            return None  # ProductiveByStrategy: an unproductive by() yields null, not a filter
        return value


def refuse_replaced_by(step: str, arg: Any) -> None:
    """TinkerPop's ByModulatorOptimizationStrategy replaces a by() child that is one values(k),
    id(), label(), key(), value() or identity() step by its token, through the parent's
    replaceLocalChild, which math(), valueMap()/propertyMap() and select(traversal) do not have:
    the traversal fails as the strategy applies (TinkerPop 3.7)."""
    if isinstance(arg, Traversal) and len(arg.steps) == 1:
        only = arg.steps[0]
        if getattr(only, "by_equivalent", None) is not None or only.name in ("key", "value", "identity"):
            raise InvalidArgumentError(
                f"This traversal parent does not support the replacement of local traversals: {step}")


class ByModulatedStep(Step):
    """A step whose by() modulators accumulate, in order, as Projections in ``self.bys``."""

    bys: list[Projection]

    def children(self) -> list:
        return [b.arg for b in self.bys if b.kind == "traversal"]

    def modulate(self, name: str, args: tuple) -> None:
        if name != "by":
            super().modulate(name, args)
        self.bys.append(Projection(args[0] if args else None))


def project_value(ctx: Context, obj: Any, kind: str, arg: Any) -> Any:
    if kind == "key":
        if isinstance(obj, VertexRecord):
            found = NOTHING
            for _, value in vertex_property_items(ctx, obj, (arg,)):
                if found is not NOTHING:  # TinkerPop reads it as Vertex.property(key), which refuses
                    raise InvalidArgumentError(
                        f"Multiple properties exist for the provided key, use Vertex.properties({arg})")
                found = value
            return found
        if isinstance(obj, EdgeRecord):
            return obj.props.get(arg, NOTHING)
        if isinstance(obj, VertexPropertyRecord):
            return obj.meta.get(arg, NOTHING)
        if isinstance(obj, dict):
            return obj.get(arg)  # Map.get: a key it lacks is null, not nothing (TinkerPop's ValueTraversal)
        raise InvalidArgumentError(
            f"The by(\"{arg}\") modulator can only be applied to an element or a map, not {type(obj).__name__}")
    if kind == "token":
        return token_value(obj, arg)
    if kind == "column":
        return column_value(obj, arg)
    raise AssertionError(kind)


def require_traversals(step: str, children: tuple) -> None:
    """A step whose arguments are child traversals refuses anything else (a null) when it is built."""
    for child in children:
        if not isinstance(child, Traversal):
            raise InvalidArgumentError(f"{step}() takes traversals, not {child!r}")


def column_value(obj: Any, column: str) -> Any:
    """Column.keys or Column.values ("keys"/"values") of a map, a map entry or a path, as TinkerPop's
    Column gives them: a map's keys as a set in the map's order, its values as a list; a path's
    labels as one set per step (sorted: a step's labels keep no order here), its objects as a list."""
    keys = column == "keys"
    if isinstance(obj, dict):
        return OrderedSet(obj.keys()) if keys else list(obj.values())
    if isinstance(obj, MapEntry):
        return obj.key if keys else obj.value
    if isinstance(obj, PathValue):
        return [OrderedSet(sorted(labels)) for labels in obj.labels] if keys else list(obj.objects)
    raise InvalidArgumentError(
        f"Column.{column} needs a map, a map entry or a path, not {java_type_name(obj)}")


def token_value(obj: Any, name: str) -> Any:
    if name == "id":
        if isinstance(obj, (VertexRecord, EdgeRecord, VertexPropertyRecord, GElement)):
            return obj.id
        raise InvalidArgumentError(f"T.id cannot be applied to {type(obj).__name__}")
    if name == "label":
        if isinstance(obj, (VertexRecord, EdgeRecord, GVertex, GEdge)):
            return obj.label
        if isinstance(obj, VertexPropertyRecord):
            return obj.key
        raise InvalidArgumentError(f"T.label cannot be applied to {type(obj).__name__}")
    if name == "key":
        if isinstance(obj, (VertexPropertyRecord, PropertyValue)):
            return obj.key
        if isinstance(obj, MapEntry):
            return obj.key
        raise InvalidArgumentError(f"T.key cannot be applied to {type(obj).__name__}")
    if name == "value":
        if isinstance(obj, (VertexPropertyRecord, PropertyValue)):
            return obj.value
        if isinstance(obj, MapEntry):
            return obj.value
        raise InvalidArgumentError(f"T.value cannot be applied to {type(obj).__name__}")
    raise InvalidArgumentError(f"Unknown token T.{name}")


def gremlin_element_ref(value: Any) -> Any:
    """gremlinpython Vertex/Edge arguments become ids the store understands."""
    if isinstance(value, (GVertex, GEdge)):
        return value.id
    return value


def merge_bulks(traversers: list[Traverser], ctx: Context | None = None,
                object_key: Callable[[Any], Any] = g_hash_key) -> list[Traverser]:
    """Traversers at the same object with the same loops, labelled history and sack, as one
    traverser with their summed bulk, in order of first arrival (TinkerPop's TraverserSet): what
    keeps repeat() linear in the graph rather than in its paths. Only valid when no step reads
    whole paths (Context.reads_paths). A traverser with a sack merges only under a sack merge
    operator (withSack(v, Operator)): the merged traverser's sack is the operator over theirs; under
    withBulk(false) a merged traverser keeps a bulk of 1."""
    if len(traversers) < 2:
        return traversers
    merger = ctx.sack_merge if ctx is not None else None
    one_bulk = ctx is not None and ctx.one_bulk
    merged: dict = {}
    for traverser in traversers:
        if merger is None and traverser.sack is not None:
            # TinkerPop's traverser with a sack and no merge operator equals no other (it
            # "carries an unmergeable sack"): it stays apart whatever its sack holds
            merged[id(traverser)] = traverser.copy()
            continue
        key = (object_key(traverser.obj), traverser.loops, _labelled_history(traverser))
        found = merged.get(key)
        if found is None:
            merged[key] = traverser.copy()
            continue
        if not one_bulk:
            found.bulk += traverser.bulk
        if merger is not None and found.sack is not None:
            found.sack = apply_operator(merger, found.sack, traverser.sack)
    return list(merged.values())


def _labelled_history(traverser: Traverser) -> tuple:
    history = []
    node = traverser.path
    while node is not None:
        if node.labels:
            history.append((node.labels, g_hash_key(node.obj)))
        node = node.parent
    return tuple(history)
