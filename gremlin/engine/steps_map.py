"""Map and flat-map steps: properties and their maps, labels and ids, as/select/project, path."""

from __future__ import annotations

from typing import Any, Callable, Iterator

from gremlin_python.process.traversal import Column, Direction, Pop, T, WithOptions
from gremlin_python.structure.graph import Edge as GEdge
from gremlin_python.structure.graph import Vertex as GVertex

from ..errors import InvalidArgumentError, TraversalError
from ..storage import EdgeRecord, VertexPropertyRecord, VertexRecord
from .base import Context, Step, Traversal, register
from .common import (NOTHING, ByModulatedStep, Projection, column_value, named, property_items, property_values,
                     refuse_replaced_by, require_element, token_value)
from .traverser import Traverser, sub_path_bounds
from .values import MapEntry, PathValue, PropertyValue, java_type_name


class MapStep(Step):
    """One value out per traverser in; ``fn`` may return NOTHING to drop the traverser."""

    def __init__(self, name: str, fn: Callable[[Context, Traverser], Any]):
        self.name = name
        self.fn = fn

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        fn = self.fn
        for traverser in traversers:
            value = fn(ctx, traverser)
            if value is not NOTHING:
                yield traverser.split(value)

    def one_value(self, ctx: Context, traverser: Traverser, default: Any) -> Any:
        """What this step alone, as a child traversal, gives first for ``traverser`` (Traversal.first)."""
        value = self.fn(ctx, traverser)
        return default if value is NOTHING else value

    def values_of(self, ctx: Context, traverser: Traverser) -> tuple:
        """The values run() gives ``traverser``, without a traverser each (for a step that fuses this one)."""
        value = self.fn(ctx, traverser)
        return () if value is NOTHING else (value,)


class FlatMapStep(Step):
    def __init__(self, name: str, fn: Callable[[Context, Traverser], Iterator[Any]]):
        self.name = name
        self.fn = fn

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        fn = self.fn
        for traverser in traversers:
            for value in fn(ctx, traverser):
                yield traverser.split(value)

    def values_of(self, ctx: Context, traverser: Traverser) -> Iterator[Any]:
        """The values run() gives ``traverser``, without a traverser each (for a step that fuses this one)."""
        return self.fn(ctx, traverser)


# -- ids, labels, properties -----------------------------------------------------------------------

@register("id")
def _id() -> Step:
    step = MapStep("id", lambda ctx, t: token_value(t.obj, "id"))
    step.by_equivalent = ("token", "id")  # by(id()) is by(T.id) (ByModulatorOptimizationStrategy)
    return step


@register("label")
def _label() -> Step:
    step = MapStep("label", lambda ctx, t: token_value(t.obj, "label"))
    step.by_equivalent = ("token", "label")
    return step


@register("key")
def _key() -> Step:
    return MapStep("key", lambda ctx, t: token_value(t.obj, "key"))


@register("value")
def _value() -> Step:
    return MapStep("value", lambda ctx, t: token_value(t.obj, "value"))


@register("identity")
def _identity() -> Step:
    return _Identity()


class _Identity(Step):
    name = "identity"

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        return traversers


@register("constant")
def _constant(value: Any) -> Step:
    return MapStep("constant", lambda ctx, t: value)


def _keys(keys: tuple) -> tuple | None:
    """Property keys: None when they name nothing (a lone null), see common.named."""
    keys = named(keys)
    for key in keys or ():
        if not isinstance(key, str):
            raise InvalidArgumentError(f"Property keys must be strings, not {key!r}")
    # a key named twice reads its properties once: TinkerGraph tests each property against the keys
    return tuple(dict.fromkeys(keys)) if keys else keys


@register("properties")
def _properties(*keys: Any) -> Step:
    keys = _keys(keys)
    if keys is None:
        return FlatMapStep("properties", lambda ctx, t: require_element(t.obj) or ())
    return FlatMapStep("properties", lambda ctx, t: property_values(ctx, t.obj, keys))


@register("values")
def _values(*keys: Any) -> Step:
    keys = _keys(keys)
    if keys is None:
        return FlatMapStep("values", lambda ctx, t: require_element(t.obj) or ())

    def values(ctx: Context, t: Traverser) -> Iterator[Any]:
        # a map is no element: TinkerPop's PropertiesStep casts it and fails (by(values(k)) of a
        # map is another matter: it reads as by(k), Map.get, through by_equivalent below)
        for _, value in property_items(ctx, t.obj, keys):
            yield value
    step = FlatMapStep("values", values)
    if len(keys) == 1:
        step.by_equivalent = ("key", keys[0])  # by(values(k)) is by(k) (ByModulatorOptimizationStrategy)
    return step


class ElementMapStep(Step):
    """valueMap()/propertyMap()/elementMap(), with(WithOptions.tokens) and by()."""

    def __init__(self, name: str, args: tuple):
        self.name = name
        #: WithOptions bits of the tokens a valueMap() includes (valueMap(true) is all of them)
        self.tokens = WithOptions.none
        keys = list(args)
        if keys and isinstance(keys[0], bool):
            self.tokens = WithOptions.all if keys.pop(0) else WithOptions.none
        self.keys = _keys(tuple(keys)) or ()
        self.bys: list[Projection] = []
        # elementMap() of every property (it takes no by()): the whole element, built in one go
        self.whole_element = name == "elementMap" and not self.keys

    def modulate(self, name: str, args: tuple) -> None:
        if name == "by" and self.name in ("valueMap", "propertyMap"):
            if args:
                refuse_replaced_by("PropertyMapStep", args[0])
            self.bys.append(Projection(args[0] if args else None))
        elif name == "with" and args and args[0] == WithOptions.tokens and self.name != "elementMap":
            self._configure_tokens(args[1:])
        elif name == "with" and self.name == "elementMap":
            raise InvalidArgumentError("elementMap() takes no with() option")
        else:
            super().modulate(name, args)

    def _configure_tokens(self, values: tuple) -> None:
        """As TinkerPop's PropertyMapStep: a boolean (none given is true) sets all or none, a
        WithOptions number adds its tokens to those already included (valueMap(true) has all)."""
        if not values:
            values = (True,)
        if len(values) > 1:
            raise InvalidArgumentError(f"with(WithOptions.tokens) takes one value, not {len(values)}")
        value = values[0]
        if isinstance(value, bool):
            self.tokens = WithOptions.all if value else WithOptions.none
        elif isinstance(value, int):
            self.tokens |= value
        else:
            raise InvalidArgumentError(
                f"with(WithOptions.tokens) takes a boolean or a WithOptions token, not {java_type_name(value)}")

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        for traverser in traversers:
            yield traverser.split(self._map(ctx, traverser.obj))

    def one_value(self, ctx: Context, traverser: Traverser, default: Any) -> Any:
        """What this step alone, as a child traversal, gives for ``traverser`` (one map each)."""
        return self._map(ctx, traverser.obj)

    def _map(self, ctx: Context, element: Any) -> dict:
        if self.whole_element and not ctx.filters.vertex_property:
            kind = type(element)
            # the maps a walk's answer is made of (every vertex and link it reached): built in
            # one go, same keys in the same order as below
            if kind is EdgeRecord:
                in_v, out_v = element.in_v, element.out_v
                out = {T.id: element.id, T.label: element.label, Direction.IN: {T.id: in_v.id, T.label: in_v.label},
                       Direction.OUT: {T.id: out_v.id, T.label: out_v.label}}
                out.update(element.props.items())
                return out
            if kind is VertexRecord:
                out = {T.id: element.id, T.label: element.label}
                out.update(element.property_items())  # a key's last value wins, as below
                return out
        if not isinstance(element, (VertexRecord, EdgeRecord, VertexPropertyRecord, GVertex, GEdge)):
            raise InvalidArgumentError(f"The {self.name}() step needs an element, not {java_type_name(element)}")
        out: dict = {}
        # a vertex property is named by its key and value, anything else by its label (TinkerPop)
        if self.name == "elementMap":
            out[T.id] = element.id
            if isinstance(element, VertexPropertyRecord):
                out[T.key] = element.key
                out[T.value] = element.value
            else:
                out[T.label] = element.label
            if isinstance(element, (EdgeRecord, GEdge)):
                in_v, out_v = (element.in_v, element.out_v) if isinstance(element, EdgeRecord) else \
                    (element.inV, element.outV)
                out[Direction.IN] = {T.id: in_v.id, T.label: in_v.label}
                out[Direction.OUT] = {T.id: out_v.id, T.label: out_v.label}
        elif self.tokens and self.name == "valueMap":
            mask = self.tokens
            if mask & WithOptions.ids:
                out[T.id] = element.id
            if isinstance(element, VertexPropertyRecord):
                if mask & WithOptions.keys:
                    out[T.key] = element.key
                if mask & WithOptions.values:
                    out[T.value] = element.value
            elif mask & WithOptions.labels:
                out[T.label] = element.label
        # a vertex's values under a key are a list (elementMap keeps the last of them), any other
        # element's a single value, as TinkerPop's maps put them
        if self.name == "propertyMap":  # property elements; the others read values only
            for prop in property_values(ctx, element, self.keys):
                if isinstance(element, VertexRecord):
                    out.setdefault(prop.key, []).append(prop)
                else:
                    out[prop.key] = prop
        else:
            for key, value in property_items(ctx, element, self.keys):
                if self.name != "elementMap" and isinstance(element, VertexRecord):
                    out.setdefault(key, []).append(value)
                else:
                    out[key] = value
        if self.bys:
            # the by() modulators go round the property keys in order, afresh for each element
            keys = [key for key in out if not isinstance(key, T)]
            for index, key in enumerate(keys):
                value = out[key]
                projected = self.bys[index % len(self.bys)](ctx, Traverser.start(value))
                if projected is NOTHING:
                    del out[key]
                else:
                    out[key] = projected
        return out


@register("valueMap")
def _value_map(*args: Any) -> Step:
    return ElementMapStep("valueMap", args)


@register("propertyMap")
def _property_map(*args: Any) -> Step:
    return ElementMapStep("propertyMap", args)


@register("elementMap")
def _element_map(*args: Any) -> Step:
    return ElementMapStep("elementMap", args)


# -- labels and selection ----------------------------------------------------------------------------

class AsStep(Step):
    name = "as"
    #: The labels belong to a step that passes its traversers on, in a traversal that reads no
    #: whole path: they may join an earlier equal object (set by labelled_paths.py).
    in_place = False

    def __init__(self, labels: tuple):
        if not labels or not all(isinstance(label, str) for label in labels):
            raise InvalidArgumentError("as() needs one or more string labels")
        self.labels = labels

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        labels = self.labels
        if self.in_place:
            for traverser in traversers:
                yield traverser.labelled_in_place(labels)
        else:
            for traverser in traversers:
                yield traverser.labelled(labels)


@register("as")
def _as(*labels: Any) -> Step:
    return AsStep(labels)


def select_value(ctx: Context, traverser: Traverser, key: Any, pop: Any) -> Any:
    """A value named ``key``: a key of the current map, a side effect, or a path label."""
    obj = traverser.obj
    if isinstance(obj, dict) and key in obj:
        return obj[key]
    if isinstance(key, str) and key in ctx.side_effects:
        return ctx.side_effects[key]
    found = []
    node = traverser.path
    while node is not None:
        if key in node.labels:
            found.append(node.obj)
            if pop == Pop.last:
                return node.obj
        node = node.parent
    if not found:
        return NOTHING
    found.reverse()
    if pop == Pop.first:
        return found[0]
    if pop == Pop.all_:
        return found
    if pop == Pop.mixed:
        return found[0] if len(found) == 1 else found
    return found[-1]


class SelectStep(ByModulatedStep):
    name = "select"

    def __init__(self, args: tuple):
        args = list(args)
        self.pop = Pop.last
        self.column: Any = None
        self.traversal: Traversal | None = None
        if args and isinstance(args[0], Pop):
            self.pop = args.pop(0)
        if args and isinstance(args[0], Column):
            if len(args) > 1:
                raise InvalidArgumentError("select(Column) takes the column alone, no keys after it")
            self.column = args[0]
        elif len(args) == 1 and isinstance(args[0], Traversal):
            self.traversal = args[0]
        elif not args:
            raise InvalidArgumentError("select() needs at least one key")
        elif args == [None] or not all(isinstance(key, str) or key is None for key in args):
            # one of several keys may be null (it selects nothing), as select(String, String...) allows
            raise InvalidArgumentError(f"select() takes string keys, a Column or a traversal, not {args!r}")
        self.keys = tuple(args)
        self.bys: list[Projection] = []
        #: L when the key traversal is select(L).id(): looked up without running it
        self.id_label = _selected_id_label(self.traversal) if self.traversal is not None else None

    def children(self) -> tuple:
        return (self.traversal,) if self.traversal is not None else ()

    def modulate(self, name: str, args: tuple) -> None:
        if name == "by" and args and self.traversal is not None:
            refuse_replaced_by("TraversalSelectStep", args[0])
        super().modulate(name, args)

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        keep = self.keep_labels
        # TinkerPop's SelectOneStep passes a null it selected on with every label
        one = len(self.keys) == 1
        for traverser in traversers:
            value = self._select(ctx, traverser)
            if value is not NOTHING:
                made = traverser.split(value)
                yield made if keep is None or (one and value is None) else made.keeping(keep)

    def one_value(self, ctx: Context, traverser: Traverser, default: Any) -> Any:
        """What this step alone, as a child traversal, gives first for ``traverser`` (Traversal.first)."""
        value = self._select(ctx, traverser)
        return default if value is NOTHING else value

    def _select(self, ctx: Context, traverser: Traverser) -> Any:
        if self.column is not None:
            return column_value(traverser.obj, self.column.name)
        if self.traversal is not None:
            label = self.id_label
            if label is not None:  # select(select(label).id()): no child traverser to run
                element = select_value(ctx, traverser, label, Pop.last)
                key = NOTHING if element is NOTHING else token_value(element, "id")
            else:
                key = self.traversal.first(ctx, traverser, NOTHING)
            if key is NOTHING:
                return NOTHING
            value = select_value(ctx, traverser, key, self.pop)
            return self._by(ctx, 0, value)
        if len(self.keys) == 1:
            value = select_value(ctx, traverser, self.keys[0], self.pop)
            return NOTHING if value is NOTHING else self._by(ctx, 0, value)
        out = {}
        for i, key in enumerate(self.keys):
            value = select_value(ctx, traverser, key, self.pop)
            if value is NOTHING:
                return NOTHING
            value = self._by(ctx, i, value)
            if value is NOTHING:
                return NOTHING
            out[key] = value
        return out

    def _by(self, ctx: Context, index: int, value: Any) -> Any:
        if not self.bys:
            return value
        return self.bys[index % len(self.bys)](ctx, Traverser.start(value))


def _selected_id_label(traversal: Traversal) -> str | None:
    """The label of a ``select(label).id()`` key traversal (identity.domain.writes looks an element's own
    value up by its id this way, once per element), else None."""
    steps = traversal.steps
    if (len(steps) == 2 and isinstance(steps[0], SelectStep) and steps[0].pop is Pop.last and not steps[0].bys
            and steps[0].traversal is None and steps[0].column is None and len(steps[0].keys) == 1
            and type(steps[1]) is MapStep and steps[1].name == "id"):
        return steps[0].keys[0]
    return None


@register("select")
def _select(*args: Any) -> Step:
    return SelectStep(args)


class ProjectStep(ByModulatedStep):
    name = "project"

    def __init__(self, keys: tuple):
        if not keys:
            raise InvalidArgumentError("project() needs at least one key")
        if len(set(keys)) != len(keys):
            raise InvalidArgumentError("project() keys must be unique")
        self.keys = keys
        self.bys: list[Projection] = []

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        for traverser in traversers:
            yield traverser.split(self.one_value(ctx, traverser, NOTHING))

    def one_value(self, ctx: Context, traverser: Traverser, default: Any) -> Any:
        """The row for ``traverser`` (this step alone, as a child traversal, gives one each)."""
        out = {}
        bys = self.bys
        for i, key in enumerate(self.keys):
            by = bys[i % len(bys)] if bys else Projection()
            value = by(ctx, traverser)
            if value is not NOTHING:
                out[key] = value
        return out


@register("project")
def _project(*keys: Any) -> Step:
    return ProjectStep(keys)


class PathStep(Step):
    name = "path"

    def __init__(self) -> None:
        self.bys: list[Projection] = []
        self.from_label: str | None = None
        self.to_label: str | None = None

    def modulate(self, name: str, args: tuple) -> None:
        if name == "by":
            self.bys.append(Projection(args[0] if args else None))
        elif name == "from":
            self.from_label = args[0]
        elif name == "to":
            self.to_label = args[0]
        else:
            super().modulate(name, args)

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        for traverser in traversers:
            path = traverser.path_value()
            labels, objects = path.labels, path.objects
            if self.from_label is not None or self.to_label is not None:
                lo, hi = sub_path_bounds(labels, self.from_label, self.to_label)
                labels, objects = labels[lo:hi + 1], objects[lo:hi + 1]
            if self.bys:
                projected = []
                for i, obj in enumerate(objects):
                    value = self.bys[i % len(self.bys)](ctx, Traverser.start(obj))
                    if value is NOTHING:
                        break  # an unproductive by() filters the traverser: the objects after it go unread
                    projected.append(value)
                if len(projected) < len(objects):
                    continue
                objects = projected
            yield traverser.split(PathValue(labels, objects))


@register("path")
def _path() -> Step:
    return PathStep()


# -- child traversals as maps ------------------------------------------------------------------------

class TraversalMapStep(Step):
    """map(t): the first result of t; flatMap(t): every result (inner paths are not kept)."""

    def __init__(self, name: str, child: Any):
        if not isinstance(child, Traversal):
            raise InvalidArgumentError(f"{name}() takes a traversal; lambdas are not supported")
        self.name = name
        self.child = child

    def children(self) -> tuple:
        return (self.child,)

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        for traverser in traversers:
            if self.name == "map":
                value = self.child.first(ctx, traverser, NOTHING)
                if value is not NOTHING:
                    yield traverser.split(value)
            else:
                for result in self.child.apply(ctx, traverser):
                    yield traverser.split_on(result)


@register("map")
def _map(child: Any) -> Step:
    return TraversalMapStep("map", child)


@register("flatMap")
def _flat_map(child: Any) -> Step:
    return TraversalMapStep("flatMap", child)


def unfold_value(value: Any) -> Iterator[Any]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield MapEntry(key, item)
    elif isinstance(value, (list, tuple, set, frozenset)):
        yield from value
    elif isinstance(value, PathValue):
        yield from value.objects
    else:
        yield value


def _unfold_counted(ctx: Context, value: Any) -> Iterator[Any]:
    if isinstance(value, (list, tuple, set, frozenset, dict)):
        ctx.tick(len(value))  # fold().repeat(unfold().fold()) is one traverser per pass
    return unfold_value(value)


@register("unfold")
def _unfold() -> Step:
    def unfold(ctx: Context, t: Traverser) -> Iterator[Any]:
        if t.obj is None:  # TinkerPop's UnfoldStep fails on null (a NullPointerException)
            raise TraversalError("unfold() cannot unfold null")
        return _unfold_counted(ctx, t.obj)
    return FlatMapStep("unfold", unfold)


@register("loops")
def _loops(*name: Any) -> Step:
    loop_name = name[0] if name else None
    return MapStep("loops", lambda ctx, t: t.loop_count(loop_name))


@register("element")
def _element() -> Step:
    def element(ctx: Context, t: Traverser) -> Any:
        obj = t.obj
        if isinstance(obj, VertexPropertyRecord):
            return obj.vertex
        if isinstance(obj, PropertyValue):
            return obj.owner
        raise InvalidArgumentError(f"element() needs a property, not {type(obj).__name__}")
    return MapStep("element", element)


class IndexStep(Step):
    """index(): each item with its position, as [item, i] pairs or (with(indexer, map)) a map."""

    name = "index"

    def __init__(self) -> None:
        self.as_map = False

    def modulate(self, name: str, args: tuple) -> None:
        if name == "with" and args and args[0] == WithOptions.indexer:
            self.as_map = len(args) > 1 and args[1] == WithOptions.map
        else:
            super().modulate(name, args)

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        for traverser in traversers:
            obj = traverser.obj
            items = list(obj.objects) if isinstance(obj, PathValue) else \
                list(obj) if isinstance(obj, (list, tuple, set, frozenset)) else [obj]
            if self.as_map:
                yield traverser.split(dict(enumerate(items)))
            else:
                yield traverser.split([[v, i] for i, v in enumerate(items)])


@register("index")
def _index() -> Step:
    return IndexStep()

