"""Mutating steps: addV, addE, property, drop, mergeV, mergeE.

Every write goes through the store's mutation methods (so a failing traversal is rolled
back) and through the profile's checks (so code that passes here passes on Neptune).
"""

from __future__ import annotations

from typing import Any, Iterator

from gremlin_python.process.traversal import Cardinality, Direction, Merge, T
from gremlin_python.structure.graph import Vertex as GVertex

from ..errors import InvalidArgumentError, ReadOnlyViolation
from ..storage import EdgeRecord, VertexPropertyRecord, VertexRecord
from .base import Context, Step, Traversal, register
from .bytecode import is_cardinality_value
from .common import (NOTHING, element_id, enum_name, is_element, resolve_vertex,
                     split_cardinality_value, token_name, vertex_property_items)
from .steps_graph import ROOT
from .steps_map import select_value
from .traverser import Traverser
from .values import PropertyValue, g_equal, java_type_name


def _check_writable(ctx: Context) -> None:
    if ctx.filters.read_only:
        raise ReadOnlyViolation("The provided traversal has a mutating step and thus is not read only")


def _value_of(ctx: Context, traverser: Traverser, value: Any) -> Any:
    if isinstance(value, Traversal):
        return value.first(ctx, traverser, NOTHING)
    return value


def _cardinality_name(value: Any) -> str:
    return enum_name(value) if isinstance(value, Cardinality) else str(value)


class PropertyArgs:
    """The arguments of one property() call, already split into their parts."""

    __slots__ = ("cardinality", "key", "value", "meta")

    def __init__(self, args: tuple):
        args = list(args)
        self.cardinality = None
        if args and isinstance(args[0], Cardinality):
            self.cardinality = _cardinality_name(args.pop(0))
        if len(args) == 1 and (args[0] is None or isinstance(args[0], dict)):
            self.key, self.value, self.meta = args[0] or {}, None, ()  # property(null): nothing to set
            return
        if len(args) < 2 or len(args) % 2:
            raise InvalidArgumentError("property() takes a key and a value, then key/value pairs of meta-properties")
        self.key, self.value, self.meta = args[0], args[1], tuple(args[2:])

    @classmethod
    def plain(cls, cardinality: Any, key: Any, value: Any) -> PropertyArgs:
        """One key and value without meta-properties, as a merge map holds them (built directly:
        a merge writes several per element)."""
        prop = cls.__new__(cls)
        prop.cardinality = None if cardinality is None else _cardinality_name(cardinality)
        prop.key, prop.value, prop.meta = key, value, ()
        return prop


def _checked(ctx: Context, element: Any, prop: PropertyArgs, traverser: Traverser | None) -> tuple[Any, Any, dict]:
    """The key, value and meta-properties one property() call (not a map of them) writes to
    ``element``, evaluated and checked against property()'s rules and the profile's."""
    key = _value_of(ctx, traverser, prop.key) if traverser is not None else prop.key
    value = _value_of(ctx, traverser, prop.value) if traverser is not None else prop.value
    if value is NOTHING:
        raise InvalidArgumentError(f"The property() traversal for {key!r} produced no value")
    token = token_name(key)
    if token is not None:
        if token in ("id", "label"):
            raise InvalidArgumentError(f"T.{token} cannot be set on an existing element")
        raise InvalidArgumentError(f"T.{token} is not a property key")
    meta = {}
    for i in range(0, len(prop.meta), 2):
        meta_value = _value_of(ctx, traverser, prop.meta[i + 1]) if traverser is not None else prop.meta[i + 1]
        meta[prop.meta[i]] = meta_value
    if ctx.profile is not None:
        ctx.profile.check_property(element, key, value, prop.cardinality, meta)
    return key, value, meta


def _vertex_cardinality(ctx: Context, prop: PropertyArgs) -> str:
    """The cardinality property() writes a vertex property with: its own, else the profile's."""
    return prop.cardinality or (ctx.profile.default_cardinality if ctx.profile is not None else "single")


def set_property(ctx: Context, element: Any, prop: PropertyArgs, traverser: Traverser | None) -> None:
    """Apply one property() to an element, honouring cardinality and the profile."""
    store = ctx.store
    if isinstance(prop.key, dict):
        for key, value in prop.key.items():
            cardinality, value = split_cardinality_value(value, prop.cardinality)
            set_property(ctx, element, PropertyArgs.plain(cardinality, key, value), traverser)
        return
    key, value, meta = _checked(ctx, element, prop, traverser)
    if isinstance(element, VertexRecord):
        cardinality = _vertex_cardinality(ctx, prop)
        if value is None:
            store.remove_vertex_properties(element, key)
            return
        # property(k, v, T.id, x) names the vertex property's id, as TinkerGraph allows
        vp_id = meta.pop(T.id, None) if meta else None  # hashing T.id is not free: most writes have no meta
        store.add_vertex_property(element, key, value, cardinality, meta, id=vp_id)
    elif isinstance(element, (EdgeRecord, VertexPropertyRecord)) and prop.cardinality is not None:
        # TinkerPop's AddPropertyStep refuses any cardinality named for what is no vertex (and sets
        # an edge's or a vertex property's key and value alone: key-values after them are passed over)
        kind = "an Edge" if isinstance(element, EdgeRecord) else "a VertexProperty"
        raise InvalidArgumentError(f"Property cardinality can only be set for a Vertex but the traversal "
                                   f"encountered {kind} for key: {key}")
    elif isinstance(element, EdgeRecord):
        if value is None:
            store.remove_edge_property(element, key)
        else:
            store.set_edge_property(element, key, value)
    elif isinstance(element, VertexPropertyRecord):
        if value is None:
            store.remove_meta_property(element, key)
        else:
            store.set_meta_property(element, key, value)
    else:
        raise InvalidArgumentError(f"property() needs an element, not {type(element).__name__}")


def _with_cardinality(prop: PropertyArgs, cardinality: str) -> PropertyArgs:
    copy = PropertyArgs((prop.key, prop.value) + prop.meta)
    copy.cardinality = cardinality
    return copy


class PropertyStep(Step):
    name = "property"

    def __init__(self, args: tuple):
        self.prop = PropertyArgs(args)

    def children(self) -> list:
        return [v for v in (self.prop.value,) + self.prop.meta if isinstance(v, Traversal)]

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        _check_writable(ctx)
        for traverser in traversers:
            set_property(ctx, traverser.obj, self.prop, traverser)
            yield traverser


@register("property")
def _property(*args: Any) -> Step:
    return PropertyStep(args)


def _validate_label(label: Any) -> None:
    """An element's label, as TinkerGraph validates it (ElementHelper.validateLabel)."""
    if label is None:
        raise InvalidArgumentError("Label can not be null")
    if not isinstance(label, str):
        raise InvalidArgumentError(f"A label must be a string, not {label!r}")
    if not label:
        raise InvalidArgumentError("Label can not be empty")


def _new_id(id: Any) -> Any:
    """A user-supplied id: property(T.id, null) is refused, as TinkerGraph refuses it."""
    if id is None:
        raise InvalidArgumentError("An element's id cannot be null: property(T.id, null)")
    return id


class AddVertexStep(Step):
    """addV(label); property() steps that follow are folded in so that T.id can be given."""

    name = "addV"

    def __init__(self, args: tuple):
        if len(args) > 1:
            raise InvalidArgumentError("addV() takes at most one label")
        self.label = args[0] if args else "vertex"
        self.label_given = bool(args)
        self.properties: list[PropertyArgs] = []

    def children(self) -> list:
        return [self.label] if isinstance(self.label, Traversal) else []

    def fold(self, step: PropertyStep) -> bool:
        self.properties.append(step.prop)
        return True

    def _create(self, ctx: Context, traverser: Traverser) -> VertexRecord:
        label = _value_of(ctx, traverser, self.label)
        id = None
        rest = []
        for prop in self.properties:
            token = token_name(prop.key)
            if token == "id":
                id = _new_id(_value_of(ctx, traverser, prop.value))
            elif token == "label":
                if self.label_given:  # TinkerPop takes the label once: addV('a') or property(T.label)
                    raise InvalidArgumentError("addV() was given its label already: property(T.label) cannot "
                                               "give it another")
                label = _value_of(ctx, traverser, prop.value)
            else:
                rest.append(prop)
        _validate_label(label)
        if ctx.profile is not None:
            ctx.profile.check_new_element(id, label)
        vertex = ctx.store.add_vertex(label, id)
        default = ctx.profile.add_vertex_cardinality if ctx.profile is not None else "list"
        _write_first_properties(ctx, vertex, [_with_cardinality(prop, default) if prop.cardinality is None and
                                              not isinstance(prop.key, dict) else prop for prop in rest], traverser)
        return vertex

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        _check_writable(ctx)
        for traverser in traversers:
            vertex = self._create(ctx, traverser)
            yield Traverser.start(vertex) if traverser.obj is ROOT else traverser.split(vertex)


@register("addV")
def _add_v(*args: Any) -> Step:
    return AddVertexStep(args)


class AddEdgeStep(Step):
    name = "addE"

    def __init__(self, args: tuple):
        if len(args) != 1:
            raise InvalidArgumentError("addE() takes one label")
        self.label = args[0]
        self.from_: Any = NOTHING
        self.to: Any = NOTHING
        self.properties: list[PropertyArgs] = []

    def children(self) -> list:
        return [t for t in (self.label, self.from_, self.to) if isinstance(t, Traversal)]

    def fold(self, step: PropertyStep) -> bool:
        self.properties.append(step.prop)
        return True

    def modulate(self, name: str, args: tuple) -> None:
        if name in ("from", "to") and len(args) == 1:
            setattr(self, "from_" if name == "from" else "to", args[0])
        else:
            super().modulate(name, args)

    def _endpoint(self, ctx: Context, traverser: Traverser, spec: Any) -> VertexRecord:
        if spec is NOTHING:
            # the traverser's vertex; a reference (a vertex sent in the bytecode) is the graph's
            # vertex of its id, as TinkerPop attaches it
            if isinstance(traverser.obj, VertexRecord):
                return traverser.obj
            if not isinstance(traverser.obj, GVertex):
                raise InvalidArgumentError("addE() needs from() and to() when the traverser is not a vertex")
            return resolve_vertex(ctx, traverser.obj)
        if isinstance(spec, Traversal):
            value = spec.first(ctx, traverser, NOTHING)
            if value is NOTHING:
                raise InvalidArgumentError("The from()/to() traversal of addE() produced no vertex")
        elif isinstance(spec, str):
            value = select_value(ctx, traverser, spec, None)
            if value is NOTHING:
                raise InvalidArgumentError(f"addE() could not find a step labelled {spec!r}")
        else:
            value = spec
        return resolve_vertex(ctx, value)

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        _check_writable(ctx)
        for traverser in traversers:
            label = _value_of(ctx, traverser, self.label)
            out_v = self._endpoint(ctx, traverser, self.from_)
            in_v = self._endpoint(ctx, traverser, self.to)
            id = None
            rest = []
            for prop in self.properties:
                if token_name(prop.key) == "id":
                    id = _new_id(_value_of(ctx, traverser, prop.value))
                else:
                    rest.append(prop)
            _validate_label(label)
            if ctx.profile is not None:
                ctx.profile.check_new_element(id, label)
            edge = ctx.store.add_edge(label, out_v, in_v, id)
            _write_first_properties(ctx, edge, rest, traverser)
            yield Traverser.start(edge) if traverser.obj is ROOT else traverser.split(edge)


@register("addE")
def _add_e(*args: Any) -> Step:
    return AddEdgeStep(args)


class DropStep(Step):
    name = "drop"

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        _check_writable(ctx)
        store = ctx.store
        for traverser in traversers:
            obj = traverser.obj
            if isinstance(obj, VertexRecord):
                store.remove_vertex(obj)
            elif isinstance(obj, EdgeRecord):
                store.remove_edge(obj)
            elif isinstance(obj, VertexPropertyRecord):
                store.remove_vertex_property(obj)
            elif isinstance(obj, PropertyValue):
                if isinstance(obj.owner, EdgeRecord):
                    store.remove_edge_property(obj.owner, obj.key)
                else:
                    store.remove_meta_property(obj.owner, obj.key)
            else:
                raise InvalidArgumentError(f"drop() cannot remove {type(obj).__name__}")
        return
        yield


@register("drop")
def _drop() -> Step:
    return DropStep()


# -- mergeV / mergeE -----------------------------------------------------------------------------------

def _merge_name(value: Any) -> str | None:
    return enum_name(value) if isinstance(value, Merge) else None


class _MergeStep(Step):
    #: the Java class TinkerPop names in its errors
    java_name = "MergeStep"
    #: the T and Direction keys a search or onCreate map may hold
    tokens: tuple = (T.id, T.label)

    def __init__(self, args: tuple):
        if len(args) > 1:
            raise InvalidArgumentError(f"{self.name}() takes at most one map or traversal")
        self.search = args[0] if args else NOTHING
        self.on_create: Any = NOTHING
        self.on_match: Any = NOTHING
        self.out_v: Any = NOTHING
        self.in_v: Any = NOTHING
        self.option_cardinality: dict[str | None, Any] = {}

    def children(self) -> list:
        return [t for t in (self.search, self.on_create, self.on_match, self.out_v, self.in_v)
                if isinstance(t, Traversal)]

    def modulate(self, name: str, args: tuple) -> None:
        if name != "option" or len(args) not in (2, 3):
            super().modulate(name, args)
        if len(args) == 3:  # option(Merge.x, map, Cardinality): the cardinality of every property
            self.option_cardinality[_merge_name(args[0])] = args[2]
        which = _merge_name(args[0])
        attr = {"onCreate": "on_create", "onMatch": "on_match", "outV": "out_v", "inV": "in_v"}.get(which or "")
        if attr is None or (attr in ("out_v", "in_v") and self.name != "mergeE"):
            raise InvalidArgumentError(f"{self.name}() does not take option({args[0]!r})")
        setattr(self, attr, args[1])

    def _map(self, ctx: Context, traverser: Traverser, spec: Any, what: str) -> dict | None:
        if spec is NOTHING:
            if what == "search":  # no argument: the incoming map, which TinkerPop casts to a Map
                obj = traverser.obj
                if isinstance(obj, dict):
                    return obj
                if obj is ROOT or obj is None:
                    return {}
                raise InvalidArgumentError(f"{self.name}() with no argument needs an incoming map, "
                                           f"not {java_type_name(obj)} {obj!r}")
            return None
        value = _value_of(ctx, traverser, spec)
        if value is NOTHING or value is None:
            return None if what != "search" else {}
        if not isinstance(value, dict):
            raise InvalidArgumentError(f"{self.name}() needs a map for {what}, not {java_type_name(value)}")
        self._validate(value, what)
        return value

    def _validate(self, spec: dict, what: str) -> None:
        """TinkerPop's rules for merge maps: onMatch sets properties only; the search and onCreate maps
        may also name the element's tokens; nothing may use the hidden ('~') namespace."""
        for key, value in spec.items():
            if what == "onMatch" and not isinstance(key, str):
                raise InvalidArgumentError(f"option(onMatch) expects keys in Map to be of String - check: {key}")
            if isinstance(key, str):
                if key.startswith("~"):
                    raise InvalidArgumentError(f"Property key can not be a hidden key: {key}")
            elif key not in self.tokens:
                raise InvalidArgumentError(f"{self.name}() and option(onCreate) args expect keys in Map to be "
                                           f"either String or T.id, T.label or Direction - check: {key}")
            elif key is T.label:  # tokens are singletons: no need for the enum's __eq__
                if not isinstance(value, str):
                    raise InvalidArgumentError(f"{self.name}() and option(onCreate) args expect T.label value "
                                               f"to be of String - found: {type(value).__name__}")
                if value.startswith("~"):
                    raise InvalidArgumentError(f"Label can not be a hidden key: {value}")

    def _check_constant_on_match(self) -> None:
        """A literal onMatch map is checked whether or not anything matches, as TinkerPop does."""
        if isinstance(self.on_match, dict):
            self._validate(self.on_match, "onMatch")

    def _on_match(self, ctx: Context, traverser: Traverser, element: Any) -> dict | None:
        """The onMatch map for one matched element. A start step's onMatch traversal sees the element;
        a mid-traversal one sees the incoming traverser, which must not be an element (TinkerPop refuses
        so that g.V().mergeE() cannot mutate the graph by accident)."""
        source = traverser
        if isinstance(self.on_match, Traversal):
            if traverser.obj is ROOT:
                source = self._emit(traverser, element)
            elif is_element(traverser.obj):
                raise InvalidArgumentError(f"The incoming traverser for {self.java_name} cannot be an Element")
        return self._map(ctx, source, self.on_match, "onMatch")

    def _create_map(self, ctx: Context, traverser: Traverser, search: dict) -> dict:
        """The search map with onCreate's additions; onCreate may not change what the search named."""
        on_create = self._map(ctx, traverser, self.on_create, "onCreate")
        if not on_create:
            return search
        for key, value in on_create.items():
            if key in search and not g_equal(search[key], value):
                raise InvalidArgumentError(
                    f"option(onCreate) cannot override values from merge() argument: ({key}, {value})")
        return {**on_create, **search}

    @staticmethod
    def _emit(traverser: Traverser, element: Any) -> Traverser:
        return Traverser.start(element) if traverser.obj is ROOT else traverser.split(element)


def _props_match(ctx: Context, element: Any, props: dict) -> bool:
    for key, value in props.items():
        if isinstance(element, VertexRecord):
            if not any(g_equal(held, value) for _, held in vertex_property_items(ctx, element, (key,))):
                return False
        elif key not in element.props or not g_equal(element.props[key], value):
            return False
    return True


def _split_tokens(spec: dict) -> tuple[dict, dict]:
    """A validated merge map as its tokens (by name: id, label, OUT, IN) and its properties."""
    tokens, props = {}, {}
    for key, value in spec.items():
        if isinstance(key, str):
            props[key] = value
        elif isinstance(key, Direction):
            tokens[key.name] = value
        else:
            tokens[token_name(key)] = value
    return tokens, props


def _merge_map_properties(props: dict, default: Any, match: bool, vertex: bool) -> list[PropertyArgs]:
    """A merge map's properties as property() calls: each key's cardinality its value's, else
    ``default``, else (onMatch on a vertex) single."""
    found = []
    for key, value in props.items():
        cardinality, value = split_cardinality_value(value, default)
        if cardinality is None and match and vertex:
            cardinality = Cardinality.single
        found.append(PropertyArgs.plain(cardinality, key, value))
    return found


def _write_created_map(ctx: Context, element: Any, props: dict, default: Any, traverser: Traverser) -> None:
    """A merge's new element gets its onCreate map's properties (``props``, the tokens apart),
    each key's cardinality its value's, else ``default``, and its write partition's. When every
    value is plain under a string key, as a merge map mostly holds: checked by the profile as
    property() checks each, then written as one table, which is what ``_write_first_properties``
    ends up writing for them, without a property() call's parts made per key (a write creates
    thousands of elements). Anything else takes that path."""
    vertex = isinstance(element, VertexRecord)
    profile, partition = ctx.profile, ctx.filters.write_properties
    created = {}
    for key, value in props.items():
        cardinality = default
        if type(value) is not str:  # (a CardinalityValue names its own)
            cardinality, value = split_cardinality_value(value, default)
        if type(key) is not str or value is None or isinstance(value, Traversal):
            break  # a token, a null (removes), a traversal: property()'s path
        name = None if cardinality is None else _cardinality_name(cardinality)
        if vertex:
            if partition and key in partition and (name or (profile.default_cardinality if profile is not None
                                                             else "single")) != "single":
                break  # the partition's value kept beside this one: property()'s path
        elif name not in (None, "single"):
            break  # refused on an edge, by property()'s path
        if profile is not None:
            profile.check_property(element, key, value, name, {})
        created[key] = value
    else:
        if partition:  # the partition's properties first, but those the map replaces
            created = {**{key: value for key, value in partition.items() if key not in created}, **created}
        if vertex:
            ctx.store.add_first_vertex_properties(element, created)
        else:
            ctx.store.add_first_edge_properties(element, created)
        return
    _write_first_properties(ctx, element, _merge_map_properties(props, default, False, vertex), traverser)


def _write_first_properties(ctx: Context, element: Any, props: list[PropertyArgs], traverser: Traverser) -> None:
    """Every property a new element gets (addV, addE, mergeV and mergeE alike): its write
    partition's, but those ``props`` replace (writing them first would be undone at once), then
    ``props``. When each is a plain value under its own key, as a merge map mostly holds, the
    store writes them as one table with one undo entry; else each goes through property()."""
    store = ctx.store
    vertex = isinstance(element, VertexRecord)
    replaced = {prop.key for prop in props if type(prop.key) is str  # an edge key has one value
                and (not vertex or _vertex_cardinality(ctx, prop) == "single")}
    partition = {key: value for key, value in ctx.filters.write_properties.items() if key not in replaced}
    created = _plain_properties(ctx, element, props, partition, traverser)
    if created is not None:
        if vertex:
            store.add_first_vertex_properties(element, created)
        else:
            store.add_first_edge_properties(element, created)
        return
    for key, value in partition.items():
        if vertex:
            store.add_vertex_property(element, key, value, "single")
        else:
            store.set_edge_property(element, key, value)
    for prop in props:
        set_property(ctx, element, prop, traverser)


def _plain_properties(ctx: Context, element: Any, props: list[PropertyArgs], partition: dict,
                      traverser: Traverser) -> dict | None:
    """``partition`` and ``props`` as one map, checked as property() checks each, when every one is
    a plain value under its own key; None when one needs property()'s path (a traversal, a null,
    a map, meta-properties, a key written twice, a cardinality an edge refuses)."""
    created = dict(partition)
    edge = not isinstance(element, VertexRecord)
    for prop in props:
        if type(prop.key) is not str or prop.key in created or prop.meta or prop.value is None \
                or isinstance(prop.value, Traversal) or (edge and prop.cardinality not in (None, "single")):
            return None
        key, value, _ = _checked(ctx, element, prop, traverser)
        created[key] = value
    return created


class MergeVertexStep(_MergeStep):
    name = "mergeV"
    java_name = "MergeVertexStep"

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        _check_writable(ctx)
        for traverser in traversers:
            search = self._map(ctx, traverser, self.search, "search")
            self._check_constant_on_match()
            matches = self._find(ctx, *_split_tokens(search))
            if matches:
                for vertex in matches:
                    on_match = self._on_match(ctx, traverser, vertex)
                    if on_match:
                        for prop in _merge_map_properties(on_match, self.option_cardinality.get("onMatch"), True, True):
                            set_property(ctx, vertex, prop, traverser)
                    yield self._emit(traverser, vertex)
                continue
            tokens, props = _split_tokens(self._create_map(ctx, traverser, search))
            label = tokens.get("label", "vertex")
            if ctx.profile is not None:
                ctx.profile.check_new_element(tokens.get("id"), label)
            vertex = ctx.store.add_vertex(label, tokens.get("id"))
            _write_created_map(ctx, vertex, props, self.option_cardinality.get("onCreate"), traverser)
            yield self._emit(traverser, vertex)

    def _find(self, ctx: Context, tokens: dict, props: dict) -> list[VertexRecord]:
        if "id" in tokens:
            vertex = ctx.store.vertices.get(tokens["id"])
            candidates = [vertex] if vertex is not None else []
        elif props:
            key, value = next(iter(props.items()))
            found = ctx.store.lookup(key, value)
            candidates = found if found is not None else ctx.store.scan_vertices()
        else:
            candidates = ctx.store.scan_vertices()
        return [v for v in candidates if ctx.vertex_visible(v)
                and ("label" not in tokens or v.label == tokens["label"]) and _props_match(ctx, v, props)]


@register("mergeV")
def _merge_v(*args: Any) -> Step:
    return MergeVertexStep(args)


_EDGE_CARDINALITY = "option() with the Cardinality argument can only be used following mergeV()"


def _refuse_cardinality(spec: dict, message: str) -> None:
    """A literal mergeE() map may not give a value a cardinality (Gremlin Server 3.7.3 refuses it in
    an option map; in the search map it stores the Cardinality value itself, which it then cannot
    return: refused here before anything is written)."""
    if any(is_cardinality_value(value) for value in spec.values()):
        raise InvalidArgumentError(message)


class _NoVertexFound(Exception):
    """A Merge.outV/inV option's map found no vertex: TinkerPop takes the first of none
    (Optional.get), and the NoSuchElementException that raises ends the step's stream as if it
    were exhausted. No error, no edge, and no traverser after it reaches the step."""


class MergeEdgeStep(_MergeStep):
    name = "mergeE"
    java_name = "MergeEdgeStep"
    tokens = (T.id, T.label, Direction.OUT, Direction.IN)

    def __init__(self, args: tuple):
        super().__init__(args)
        if isinstance(self.search, dict):
            _refuse_cardinality(self.search, "mergeE() cannot give a value a Cardinality: edge properties have none")

    def modulate(self, name: str, args: tuple) -> None:
        # An edge property has no cardinality: TinkerPop refuses one as the traversal is built
        if name == "option" and (len(args) == 3 or (len(args) == 2 and isinstance(args[1], dict))):
            if len(args) == 3:
                raise InvalidArgumentError(_EDGE_CARDINALITY)
            _refuse_cardinality(args[1], _EDGE_CARDINALITY)
        super().modulate(name, args)

    def _endpoint(self, ctx: Context, traverser: Traverser, value: Any) -> VertexRecord | None:
        """The vertex a Direction names (a vertex, an id, or Merge.outV/inV and its option), or None
        when no such vertex exists."""
        if isinstance(value, Merge):
            which = _merge_name(value)
            option = self.out_v if which == "outV" else self.in_v
            if option is NOTHING:
                raise InvalidArgumentError(f"option(Merge.{which}) must be specified if it is used in mergeE()")
            resolved = _value_of(ctx, traverser, option)
            if isinstance(resolved, dict):
                matches = MergeVertexStep._find(None, ctx, *_split_tokens(resolved))  # type: ignore[arg-type]
                if not matches:
                    raise _NoVertexFound()
                return matches[0]
            if resolved is None or resolved is NOTHING:
                raise InvalidArgumentError(f"Could not resolve vertex for option(Merge.{which})")
            if not isinstance(resolved, (VertexRecord, GVertex)):  # an id is taken in the merge map only
                raise InvalidArgumentError(f"Vertex could not be resolved from mergeE: {resolved}")
            return resolve_vertex(ctx, resolved)
        return ctx.store.vertices.get(element_id(value)) if not isinstance(value, VertexRecord) else value

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        _check_writable(ctx)
        try:
            yield from self._merge_each(ctx, traversers)
        except _NoVertexFound:
            return

    def _merge_each(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        for traverser in traversers:
            search = self._map(ctx, traverser, self.search, "search")
            self._check_constant_on_match()
            tokens, props = _split_tokens(search)
            ends = {d: self._endpoint(ctx, traverser, tokens[d]) for d in ("OUT", "IN") if d in tokens}
            matches = self._find(ctx, tokens, props, ends.get("OUT", NOTHING), ends.get("IN", NOTHING))
            if matches:
                for edge in matches:
                    on_match = self._on_match(ctx, traverser, edge)
                    if on_match:
                        for prop in _merge_map_properties(on_match, None, True, False):
                            set_property(ctx, edge, prop, traverser)
                    yield self._emit(traverser, edge)
                continue
            tokens, props = _split_tokens(self._create_map(ctx, traverser, search))
            for direction, name in (("OUT", "Out"), ("IN", "In")):
                if direction not in tokens:
                    raise InvalidArgumentError(f"{name} Vertex not specified in onCreate - edge cannot be created")
                if direction not in ends:
                    ends[direction] = self._endpoint(ctx, traverser, tokens[direction])
                if ends[direction] is None:
                    raise InvalidArgumentError(
                        f"Vertex id could not be resolved from mergeE: {element_id(tokens[direction])}")
            label = tokens.get("label", "edge")
            if ctx.profile is not None:
                ctx.profile.check_new_element(tokens.get("id"), label)
            edge = ctx.store.add_edge(label, ends["OUT"], ends["IN"], tokens.get("id"))
            _write_created_map(ctx, edge, props, None, traverser)
            yield self._emit(traverser, edge)

    def _find(self, ctx: Context, tokens: dict, props: dict, out_v: Any, in_v: Any) -> list[EdgeRecord]:
        if out_v is None or in_v is None:
            return []
        if "id" in tokens:
            edge = ctx.store.edges.get(tokens["id"])
            candidates = [edge] if edge is not None else []
        elif out_v is not NOTHING:
            candidates = out_v.edges("out", (tokens["label"],) if "label" in tokens else ())
        elif in_v is not NOTHING:
            candidates = in_v.edges("in", (tokens["label"],) if "label" in tokens else ())
        else:
            candidates = ctx.store.scan_edges()
        return [e for e in candidates if ctx.edge_visible(e)
                and ("label" not in tokens or e.label == tokens["label"])
                and (out_v is NOTHING or e.out_v is out_v) and (in_v is NOTHING or e.in_v is in_v)
                and _props_match(ctx, e, props)]


@register("mergeE")
def _merge_e(*args: Any) -> Step:
    return MergeEdgeStep(args)
