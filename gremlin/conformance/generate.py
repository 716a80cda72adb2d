"""Well-typed random traversals over the standard graphs, for the generated differential (fuzz.py).

A traversal is a tree: a `Chain` of `Step`s whose arguments are literal text or child chains, so the
fuzzer can shrink one that differs by dropping steps anywhere in it, and print it as a probe line.
`Generator(seed).case()` gives one `Case`: a graph, a traversal and, for writes, the query that reads
the graph's state afterwards.

What keeps the comparison honest (a difference must be the engine's, not chance):

- Each stream has a kind (vertices, edges, vertex properties, numbers, strings, lists, maps, paths,
  dates, anything) and steps are drawn from those that kind takes, with a little ill-typed input
  left in on purpose (errors are compared too: both sides must raise).
- Gremlin leaves the order of `V()`, of a vertex's edges and of everything after them unspecified
  (TinkerGraph walks hash maps, this engine creation order), so steps whose answer depends on that
  order (`limit()`, `range()`, `tail()`, `skip()`, `dedup().by()`, `sample()`) are only drawn for a
  stream that an `order()` by a total key has made ordered, and until a step that spreads traversers
  again (`out()`, `unfold()`, `union()`...) forgets it. Results are compared as multisets at every
  level unless the stream ends ordered.
- Numbers of one traversal are either whole or fractional apart from the graph's own (`1` and `1.0`
  are one value to this engine's hash collections and two to Java's, a documented difference).
- No argument is null: Gremlin Server 3.7.3 fails hashing some steps' null arguments at random.
- Everything terminates: `repeat()` has `times()` or a `loops()` bound, the grateful-dead graph is
  entered from a few named vertices and walked at most two hops deep by `repeat()`.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Callable, Sequence

__all__ = ["Step", "Chain", "Case", "Generator", "GRAPHS", "STATE_QUERY"]


@dataclass(frozen=True)
class Chain:
    """Steps in a row; ``root`` chains start with ``g``."""

    steps: tuple["Step", ...]
    root: bool = False

    def render(self) -> str:
        if self.root:
            return "g" + "".join("." + step.render() for step in self.steps)
        if not self.steps:
            return "identity()"
        return ".".join(step.render() for step in self.steps)


@dataclass(frozen=True)
class Step:
    name: str
    args: tuple["str | Chain", ...] = ()

    def render(self) -> str:
        return f"{self.name}({', '.join(a if isinstance(a, str) else a.render() for a in self.args)})"


@dataclass(frozen=True)
class Case:
    graph: str
    traversal: Chain
    #: the results' order is the traversal's (it ends in an ordered stream)
    ordered: bool
    #: a traversal that writes: read the graph afterwards with STATE_QUERY
    writes: bool = False

    @property
    def query(self) -> str:
        return self.traversal.render()


#: The graph after a write, without generated ids (the server's and this engine's differ by design).
STATE_QUERY = ('g.V().project("l", "p", "o").by(label).by(valueMap()).by(outE().project("l", "p", "i")'
               '.by(label).by(valueMap()).by(inV().valueMap()).fold())')


@dataclass(frozen=True)
class GraphSchema:
    name: str
    vertex_labels: tuple[str, ...]
    edge_labels: tuple[str, ...]
    #: vertex property key -> sample values (the first few exist in the graph)
    vertex_keys: dict[str, tuple[str, ...]]
    edge_keys: dict[str, tuple[str, ...]]
    vertex_ids: tuple[str, ...]
    edge_ids: tuple[str, ...]
    #: starts that keep a walk small (the grateful-dead graph has 808 vertices and 8,049 edges)
    starts: tuple[str, ...]
    repeat_depth: int
    meta_keys: tuple[str, ...] = ()
    #: hops a traversal may walk in all (moves and repeat passes), where the graph is dense enough
    #: that three hops from a named vertex give hundreds of thousands of results
    max_hops: int | None = None


GRAPHS = {
    "modern": GraphSchema(
        "modern", ("person", "software"), ("knows", "created"),
        {"name": ('"marko"', '"vadas"', '"lop"', '"josh"', '"ripple"', '"peter"', '"zz"'),
         "age": ("27", "29", "32", "35", "30"), "lang": ('"java"', '"scala"')},
        {"weight": ("0.4", "0.5", "1.0", "0.2", "0.75")},
        ("1", "2", "3", "4", "5", "6", "99"), ("7", "8", "9", "10", "11", "12"),
        ("V()", "V(1)", "V(4)", "V(1, 2, 3)", "V().hasLabel(\"person\")", "E()", "E(7, 9)", "V(99)",
         "V().hasLabel(\"none\")", "V(1, 99, 4)", "E(7, 99)"), 3),
    "crew": GraphSchema(
        "crew", ("person", "software"), ("develops", "uses"),
        {"name": ('"marko"', '"stephen"', '"matthias"', '"daniel"', '"gremlin"', '"tinkergraph"'),
         "location": ('"san diego"', '"santa fe"', '"brussels"', '"dulles"', '"kaiserslautern"')},
        {"since": ("2009", "2010", "2011"), "skill": ("3", "4", "5")},
        ("1", "7", "8", "9", "10", "11"), ("13", "14", "15", "16"),
        ("V()", "V(1)", "V(7, 8)", "E()", "V().hasLabel(\"software\")"), 2, ("startTime", "endTime")),
    "grateful": GraphSchema(
        "grateful", ("song", "artist"), ("followedBy", "sungBy", "writtenBy"),
        {"name": ('"Garcia"', '"Hunter"', '"HEY BO DIDDLEY"', '"BERTHA"', '"NOT FADE AWAY"', '"Weir"'),
         "performances": ("1", "5", "10", "100", "394"), "songType": ('"original"', '"cover"')},
        {"weight": ("1", "2", "5", "10")},
        ("1", "2", "3", "4", "339", "340"), (),
        ("V(1)", "V(3, 4)", "V(340)", "V().has(\"name\", within(\"Garcia\", \"BERTHA\"))",
         "V().has(\"name\", \"Weir\")"), 1, max_hops=2),
    "sink": GraphSchema(
        "sink", ("loops", "message"), ("self", "link"), {"name": ('"loop"', '"a"', '"b"')}, {},
        ("1000", "2000", "2001"), ("1001", "2002", "2003"), ("V()", "V(2000)", "E()", "V(1000)"), 3),
}

ELEMENT = ("v", "e")
_WHOLE = ("0", "1", "2", "3", "-1", "7", "10", "29")
_FRACTIONAL = ("0.5", "1.5", "-2.5", "3.25", "0.1")
# Typed pools (Long, BigDecimal), for type promotion in sum/mean/math/sack/compare: a traversal's
# literals all come from one pool, so Java's hash collections never hold 1 and 1L of its own making
_LONG = ("0L", "1L", "2L", "3L", "-1L", "7L", "10L", "29L")
_DECIMAL = ("0.5m", "1.5m", "-2.5m", "3.25m", "0.1m", "0.2m")
#: numbers of every type with distinct values, for the promotion rules of reducers
_MIXED_NUMBERS = ("1", "2L", "2.5", "0.5m", "-3", "7L", "1.25m", "10", "-0.75", "4000000000L")
_STRINGS = ('"a"', '"b"', '"marko"', '"A b"', '" x "', '""', '"a,b"', '"lop"')


@dataclass
class _Scope:
    """What the traversal being built has made so far."""

    schema: GraphSchema
    numbers: tuple[str, ...]
    labels: list[str] = field(default_factory=list)
    side_effects: list[str] = field(default_factory=list)
    sack: bool = False
    #: hops drawn so far, in any branch (see GraphSchema.max_hops)
    hops: int = 0
    #: an unordered dedup() has run: which of equal traversers it kept (their path, labels, sack
    #: and loops) is the unspecified order's choice, so nothing after it reads those
    history_lost: bool = False


class Generator:
    """Random traversals from a seed: the same seed gives the same cases."""

    def __init__(self, seed: int, *, max_steps: int = 6, max_depth: int = 2):
        self.random = random.Random(seed)
        self.max_steps = max_steps
        self.max_depth = max_depth

    # -- cases -------------------------------------------------------------------------------

    def case(self) -> Case:
        roll = self.random.random()
        if roll < 0.08:
            return self._write_case()
        if roll < 0.26:
            return self._inject_case()
        graph = self.random.choice(("modern", "modern", "modern", "crew", "crew", "grateful", "sink"))
        return self._graph_case(graph)

    def _scope(self, schema: GraphSchema) -> _Scope:
        roll = self.random.random()
        return _Scope(schema, _WHOLE if roll < 0.45 else _LONG if roll < 0.6 else
                      _FRACTIONAL if roll < 0.85 else _DECIMAL)

    def _graph_case(self, graph: str) -> Case:
        schema = GRAPHS[graph]
        scope = self._scope(schema)
        steps: list[Step] = []
        if self.random.random() < 0.1:
            scope.sack = True
            steps.append(Step("withSack", (self.random.choice(scope.numbers),)))
        start = self.random.choice(schema.starts)
        steps.extend(_parse_start(start))
        kind = "e" if start.startswith("E(") else "v"
        body, kind, ordered = self.chain(scope, kind, depth=0, ordered=False,
                                         length=self.random.randint(1, self.max_steps))
        steps.extend(body)
        ending = self._ending(scope)
        steps.extend(ending)
        return Case(graph, Chain(tuple(steps), root=True), ordered and not ending)

    def _inject_case(self) -> Case:
        scope = self._scope(GRAPHS["modern"])
        roll = self.random.random()
        if roll < 0.45:
            values = self.random.sample(scope.numbers, self.random.randint(1, 4))
            kind = "num"
        elif roll < 0.7:
            values, kind = self.random.sample(_STRINGS, self.random.randint(1, 3)), "str"
        elif roll < 0.82:
            values, kind = [self._list_literal(scope) for _ in range(self.random.randint(1, 2))], "list"
        elif roll < 0.86:
            return self._mixed_numbers_case()
        elif roll < 0.92:
            values = [f'datetime("2023-0{self.random.randint(1, 9)}-1{self.random.randint(0, 9)}T0{self.random.randint(0, 9)}:00:00Z")']
            kind = "date"
        else:
            values = self.random.sample((*scope.numbers[:3], *_STRINGS[:3], "true", "null"), self.random.randint(2, 4))
            kind = "any"
        steps = [Step("inject", tuple(values))]
        body, kind, ordered = self.chain(scope, kind, depth=0, ordered=False,
                                         length=self.random.randint(1, self.max_steps))
        steps.extend(body)
        ending = self._ending(scope)
        steps.extend(ending)
        return Case("modern", Chain(tuple(steps), root=True), ordered and not ending)

    def _mixed_numbers_case(self) -> Case:
        """Numbers of every type at once (Integer, Long, Double, BigDecimal) into reducers, global
        or over a list: the promotion rules. Their values are distinct as numbers, so no hash
        collection of Java's holds two of them equal (``1`` and ``1.0`` are a documented difference)."""
        r = self.random
        pool = r.sample(_MIXED_NUMBERS, r.randint(1, 5))
        reducer = r.choice(("sum", "mean", "min", "max"))
        if r.random() < 0.5:
            steps = [Step("inject", (f"[{', '.join(pool)}]",)), Step(reducer, ("local",))]
        else:
            steps = [Step("inject", tuple(pool)), Step(reducer, ())]
        if r.random() < 0.3:
            steps.append(Step("math", ('"_ * 2"',)))
        elif r.random() < 0.3:
            steps.append(Step("is", (r.choice(("gt(1)", "lte(2.5)", "eq(3L)", "within(1.5m, 2)")),)))
        return Case("modern", Chain(tuple(steps), root=True), False)

    def _ending(self, scope: _Scope) -> list[Step]:
        """Sometimes read a side effect back at the end (its one result has no order to keep)."""
        if scope.side_effects and self.random.random() < 0.5:
            return [Step("cap", (f'"{self.random.choice(scope.side_effects)}"',))]
        return []

    def _write_case(self) -> Case:
        scope = self._scope(GRAPHS["modern"])
        r = self.random
        name = r.choice(GRAPHS["modern"].vertex_keys["name"])
        age = r.choice(("27", "29", "30", "31"))
        label = r.choice(('"person"', '"software"', '"dog"'))
        search = r.choice((f"[(T.label): {label}, \"name\": {name}]", f"[\"name\": {name}]",
                           f"[(T.label): {label}]", f"[(T.id): {r.choice(('1', '3', '77'))}]"))
        roll = r.random()
        if roll < 0.45:
            steps = [Step("mergeV", (search,))]
            for option in r.sample(("onCreate", "onMatch"), r.randint(0, 2)):
                value = r.choice((f"[\"age\": {age}]", f"[\"age\": {age}, \"k\": {r.choice(_STRINGS)}]",
                                  f"[\"name\": {r.choice(_STRINGS)}]", "[:]",
                                  f"[\"age\": single({age})]", f"[\"k\": list({age})]",
                                  f"[\"name\": set({name})]", f"[\"name\": list({r.choice(_STRINGS[:3])})]"))
                steps.append(Step("option", (f"Merge.{option}", value)))
            roll = r.random()
            if roll < 0.3:
                steps = [Step("V", ("1", "2")), *steps]
            elif roll < 0.45:
                # mergeV() reading its map from the traverser (the map a writer injects)
                steps = [Step("inject", (search,)), Step("mergeV", r.choice(((), (Chain((Step("identity", ()),)),)))),
                         *steps[1:]]
            elif roll < 0.55 and "T.label" not in search:
                steps.append(Step("option", ("Merge.onCreate", f"[(T.label): {label}, \"age\": {age}]")))
        elif roll < 0.75:
            out_v, in_v = r.choice(("1", "2", "4")), r.choice(("1", "3", "6"))
            edge = r.choice(("knows", "created", "likes"))
            search = f"[(T.label): \"{edge}\", (Direction.OUT): {out_v}, (Direction.IN): {in_v}]"
            if r.random() < 0.4:
                # the ends as Merge tokens, each given by option(Merge.outV/inV) as a map or a
                # traversal (how a writer names vertices it has not read)
                search = f"[(T.label): \"{edge}\", (Direction.OUT): Merge.outV, (Direction.IN): Merge.inV]"
            steps = [Step("mergeE", (search,))]
            if "Merge.outV" in search:
                for end, vertex in (("outV", out_v), ("inV", in_v)):
                    steps.append(Step("option", (f"Merge.{end}", r.choice((
                        f"[(T.id): {vertex}]", f"[(T.id): {r.choice(('77', vertex))}]",
                        f"[\"name\": {r.choice(GRAPHS['modern'].vertex_keys['name'][:4])}]")))))
            for option in r.sample(("onCreate", "onMatch"), r.randint(0, 2)):
                steps.append(Step("option", (f"Merge.{option}", r.choice(
                    ("[\"weight\": 0.5]", "[\"w\": 1]", "[:]", f"[\"weight\": {r.choice(scope.numbers)}]",
                     f"[\"weight\": single({r.choice(scope.numbers)})]")))))
        elif roll < 0.82:
            # the upsert of a vertex as writers wrote it before mergeV(): fold, then the one found or a new one
            vertex = r.choice(("person", "dog"))
            found = Chain((Step("unfold", ()),))
            made = Chain((Step("addV", (f'"{vertex}"',)), Step("property", ('"name"', name)),
                          *((Step("property", ("single", '"age"', age)),) if r.random() < 0.5 else ())))
            steps = [Step("V", ()), Step("has", (f'"{vertex}"', '"name"', name)), Step("fold", ()),
                     Step("coalesce", (found, made))]
            if r.random() < 0.4:
                steps.append(Step("property", ("single", '"age"', age)))
        else:
            starts = (Step("V", (r.choice(("1", "2", "3")),)),)
            write = r.choice((
                Step("property", (f"\"{r.choice(('name', 'age', 'k'))}\"", r.choice((age, *_STRINGS[:3])))),
                Step("property", ("single", '"age"', age)),
                Step("property", ("list", '"k"', r.choice(_STRINGS[:3]))),
                Step("property", ("set", r.choice(('"k"', '"name"')), r.choice((name, *_STRINGS[:3])))),
                Step("property", ("list", '"name"', name)),
                Step("property", ('"k"', r.choice(_STRINGS[:3]), '"since"', r.choice(("2020", '"x"')))),
                # a value from a traversal: the first it gives (none is an error)
                Step("property", (r.choice(('"k"', '"name"')), Chain((Step("values", (r.choice(('"name"', '"lang"')),)),)))),
                Step("property", ("single", '"age"', Chain((Step("values", ('"age"',)), Step("sum", ()))))),
                Step("addE", ('"likes"',)),
                Step("drop", ()),
                Step("outE", (r.choice(('"knows"', '"created"')),)), Step("properties", ('"age"',)),
                Step("addV", (label,)),
                Step("sideEffect", (Chain((Step("properties", ('"age"',)), Step("drop", ()))),)),
            ))
            steps = [*starts, write]
            if write.name in ("outE", "properties"):
                steps.append(Step("drop", ()))
            elif write.name == "addV":
                steps = [write, Step("property", ('"name"', name)), Step("property", ("single", '"age"', age))]
                if r.random() < 0.4:
                    steps.append(Step("addE", ('"knows"',)))
                    steps.append(Step(r.choice(("from", "to")), (Chain((Step("V", (r.choice(("1", "4", "99")),)),)),)))
            if write.name == "addE":
                steps.append(Step("to", (Chain((Step("V", (r.choice(("1", "4", "5")),)),)),)))
        ending = r.choice(((Step("count", ()),), (Step("valueMap", ()),), (Step("label", ()),),
                           (Step("properties", ()), Step("valueMap", ())), (Step("values", ('"name"',)), Step("fold", ())),
                           (Step("values", ('"age"',)),), (Step("elementMap", ()), Step("select", ('"name"',)))))
        return Case("modern", Chain((*steps, *ending), root=True), False, writes=True)

    # -- chains --------------------------------------------------------------------------------

    def chain(self, scope: _Scope, kind: str, *, depth: int, ordered: bool,
              length: int) -> tuple[list[Step], str, bool]:
        steps: list[Step] = []
        for _ in range(length):
            made = self.step(scope, kind, depth, ordered)
            if made is None:
                break
            new_steps, kind, ordered = made
            steps.extend(new_steps)
        return steps, kind, ordered

    def child(self, scope: _Scope, kind: str, depth: int, *, length: int | None = None,
              want: Sequence[str] | None = None) -> tuple[Chain, str]:
        """An anonymous child traversal from ``kind`` (of up to ``length`` steps; one ending in a
        kind of ``want`` when given, tried a few times)."""
        for _ in range(8):
            steps, out, _ = self.chain(scope, kind, depth=depth + 1, ordered=False,
                                       length=length if length is not None else self.random.randint(1, 2))
            if steps and (want is None or out in want):
                return Chain(tuple(steps)), out
        return self._simple_child(scope, kind, want)

    def single_child(self, scope: _Scope, kind: str, depth: int, *, length: int | None = None) -> tuple[Chain, str]:
        """A child for ``by()`` or ``map()``, which take its first result: one that may give several
        (in an order Gremlin leaves unspecified) is reduced first, so the first is the only one."""
        child, out = self.child(scope, kind, depth, length=length)
        if not _may_give_several(child):
            return child, out
        if self.random.random() < 0.5:
            return Chain((*child.steps, Step("count", ()))), "num"
        return Chain((*child.steps, Step("fold", ()))), "bag"

    def _simple_child(self, scope: _Scope, kind: str, want: Sequence[str] | None) -> tuple[Chain, str]:
        if kind in ELEMENT and (want is None or "num" in want or "any" in want):
            return Chain((Step("values", (self._key(scope, kind),)),)), "any"
        if kind == "v" and want is not None and "v" in want:
            return Chain((Step("out", ()),)), "v"
        return Chain((Step("constant", (self.random.choice(scope.numbers),)),)), "num"

    def step(self, scope: _Scope, kind: str, depth: int, ordered: bool):
        options = self._options(scope, kind, depth, ordered)
        if not options:
            return None
        makers, weights = zip(*options)
        return self.random.choices(makers, weights)[0](scope, kind, depth, ordered)

    # each option: (maker, weight); a maker returns (steps, kind, ordered)
    def _options(self, scope: _Scope, kind: str, depth: int, ordered: bool) -> list[tuple[Callable, float]]:
        o: list[tuple[Callable, float]] = []
        nested = depth < self.max_depth
        if kind in ELEMENT:
            o += [(self._has, 3), (self._has_label, 1), (self._has_id, 0.5), (self._has_not, 0.5),
                  (self._values, 2), (self._properties, 1), (self._element_map, 1.5), (self._id_label, 1)]
            if kind == "v" and (scope.schema.max_hops is None or scope.hops < scope.schema.max_hops):
                o += [(self._move, 4), (self._move_edge, 1.5)]
                if nested:
                    o.append((self._repeat, 1.5))
            else:
                o.append((self._edge_end, 3))
        if kind == "vp":
            o += [(self._vp_step, 3), (self._has, 0.5), (self._has_key_value, 1)]
        if kind == "prop":
            o += [(self._prop_step, 2), (self._has_key_value, 1)]
        if kind in ("num", "any"):
            o += [(self._is, 2), (self._math, 1.5), (self._number_reduce, 1.5)]
        if kind in ("str", "any"):
            o += [(self._string_step, 3), (self._is, 1)]
        if kind == "date":
            o += [(self._date_step, 4)]
        if kind in ("list", "bag"):
            o += [(self._list_step, 5)]
        if kind == "map":
            o += [(self._map_step, 4)]
        if kind == "path":
            o += [(self._path_step, 3)]
        # any kind
        o += [(self._count, 1), (self._fold, 1.5), (self._order, 1.5), (self._dedup, 1),
              (self._label, 1.5), (self._group, 1.2), (self._side_effect_store, 0.8),
              (self._constant, 0.2), (self._as_string, 0.3)]
        history = not scope.history_lost
        if history:
            o.append((self._path, 0.8))
        if scope.labels and history:
            o += [(self._select, 1.5), (self._where_labels, 0.8)]
            if kind in ("num", "any", "v"):
                o.append((self._math_labels, 0.5))
        if scope.side_effects:
            o.append((self._where_side_effect, 0.6))
        if scope.sack and history:
            o.append((self._sack, 2))
        if nested:
            o += [(self._union, 1.5), (self._coalesce, 0.8), (self._optional, 0.6), (self._local, 1),
                  (self._choose, 1), (self._filter_child, 1.5), (self._project, 1.2), (self._logic, 0.8),
                  (self._map_child, 0.6), (self._side_effect_child, 0.5)]
        if ordered:
            o += [(self._range, 2.5)]
        return o

    # -- helpers -------------------------------------------------------------------------------

    def _key(self, scope: _Scope, kind: str) -> str:
        keys = list(scope.schema.edge_keys if kind == "e" else scope.schema.vertex_keys) or ["name"]
        if self.random.random() < 0.08:
            return '"nokey"'
        return f'"{self.random.choice(keys)}"'

    def _value_for(self, scope: _Scope, kind: str, key: str) -> str:
        keys = scope.schema.edge_keys if kind == "e" else scope.schema.vertex_keys
        values = keys.get(key.strip('"'))
        if not values or self.random.random() < 0.08:
            return self.random.choice((*scope.numbers[:3], *_STRINGS[:2]))
        return self.random.choice(values)

    def _predicate(self, values: Sequence[str], numeric: bool) -> str:
        r = self.random
        a, b = r.choice(values), r.choice(values)
        # now and then a value of another type (compared, not matched: eq is false, gt fails to
        # compare and filters in 3.7's ternary logic), and within() of mixed members
        other = r.choice(("true", '"a"', "1", "2.5"))
        choices = [f"eq({a})", f"neq({a})", f"within({a}, {b})", f"without({a})"]
        if r.random() < 0.15:
            choices = [f"within({a}, {other})", f"without({other}, {a})", f"eq({other})", f"neq({other})",
                       f"gt({other})", f"within()", f"without()", f"within([{a}, {b}])"]
        elif numeric:
            choices += [f"gt({a})", f"lte({a})", f"between({a}, {b})", f"inside({a}, {b})", f"outside({a}, {b})",
                        f"gt({a}).and(lt({b}))", f"lt({a}).or(gte({b}))", f"not(gt({a}))",
                        f"not(within({a}, {b}))", f"gte({a}).negate()"]
        else:
            s = r.choice(("a", "ar", "o", "G", "", " "))
            choices += [f"startingWith(\"{s}\")", f"containing(\"{s}\")", f"endingWith(\"{s}\")",
                        f"notContaining(\"{s}\")", "regex(\"[a-m].*\")", f"gte({a})",
                        f"notStartingWith(\"{s}\")", f"notEndingWith(\"{s}\")", "notRegex(\"^.a\")",
                        "regex(\"(?i)MAR\")", f"startingWith(\"{s}\").or(endingWith(\"p\"))",
                        f"not(containing(\"{s}\"))"]
        return r.choice(choices)

    def _list_literal(self, scope: _Scope) -> str:
        pool = scope.numbers if self.random.random() < 0.6 else _STRINGS
        items = [self.random.choice(pool) for _ in range(self.random.randint(0, 4))]
        return "[" + ", ".join(items) + "]"

    # -- element steps -------------------------------------------------------------------------

    def _has(self, scope, kind, depth, ordered):
        if kind == "vp":
            meta = scope.schema.meta_keys or ("startTime",)
            return [Step("has", (f'"{self.random.choice(meta)}"',))], kind, ordered
        key = self._key(scope, kind)
        roll = self.random.random()
        if roll < 0.25:
            return [Step("has", (key,))], kind, ordered
        values = (scope.schema.edge_keys if kind == "e" else scope.schema.vertex_keys).get(key.strip('"'), _STRINGS)
        numeric = all(not v.startswith('"') for v in values)
        if roll < 0.55:
            return [Step("has", (key, self._value_for(scope, kind, key)))], kind, ordered
        if roll < 0.65 and kind == "v":
            label = self.random.choice(scope.schema.vertex_labels)
            return [Step("has", (f'"{label}"', key, self._value_for(scope, kind, key)))], kind, ordered
        return [Step("has", (key, self._predicate(values, numeric)))], kind, ordered

    def _has_label(self, scope, kind, depth, ordered):
        labels = scope.schema.edge_labels if kind == "e" else scope.schema.vertex_labels
        picked = self.random.sample(labels, self.random.randint(1, min(2, len(labels))))
        if self.random.random() < 0.2:
            return [Step("hasLabel", (f"within({', '.join(chr(34) + l + chr(34) for l in picked)})",))], kind, ordered
        return [Step("hasLabel", tuple(f'"{l}"' for l in picked))], kind, ordered

    def _has_id(self, scope, kind, depth, ordered):
        ids = scope.schema.edge_ids if kind == "e" else scope.schema.vertex_ids
        if not ids:
            return self._has(scope, kind, depth, ordered)
        r = self.random
        if r.random() < 0.35:
            a, b = r.sample(ids, 2)
            predicate = r.choice((f"within({a}, {b})", f"without({a})", f"neq({a})", f"gt({a})",
                                  f"lte({a})", f"between({a}, {b})", f"within({a}, 99, \"x\")"))
            return [Step("hasId", (predicate,))], kind, ordered
        return [Step("hasId", tuple(r.sample(ids, r.randint(1, 2))))], kind, ordered

    def _has_not(self, scope, kind, depth, ordered):
        return [Step("hasNot", (self._key(scope, kind),))], kind, ordered

    def _values(self, scope, kind, depth, ordered):
        keys = [self._key(scope, kind) for _ in range(self.random.choice((0, 1, 1, 1, 2)))]
        multi = kind == "v" and (not keys or len(keys) > 1 or keys[0] == '"location"')
        return [Step("values", tuple(keys))], "any", ordered and not multi

    def _properties(self, scope, kind, depth, ordered):
        keys = tuple(self._key(scope, kind) for _ in range(self.random.choice((0, 1, 1))))
        return [Step("properties", keys)], "vp" if kind == "v" else "prop", False

    def _element_map(self, scope, kind, depth, ordered):
        r = self.random.random()
        if r < 0.35:
            keys = tuple(self._key(scope, kind) for _ in range(self.random.randint(0, 2)))
            return [Step("elementMap", keys)], "map", ordered
        if r < 0.75:
            args = self.random.choice(((), ("true",), (self._key(scope, kind),)))
            step = Step("valueMap", args)
            if self.random.random() < 0.25:
                return [step, Step("with", ("WithOptions.tokens",))], "map", ordered
            if self.random.random() < 0.2:
                return [Step("valueMap", ()), Step("by", (Chain((Step("unfold", ()),)),))], "map", ordered
            return [step], "map", ordered
        keys = tuple(self._key(scope, kind) for _ in range(self.random.choice((0, 0, 1, 2))))
        return [Step("propertyMap", keys)], "map", ordered

    def _id_label(self, scope, kind, depth, ordered):
        if self.random.random() < 0.5:
            return [Step("label", ())], "str", ordered
        return [Step("id", ())], "num", ordered

    def _move(self, scope, kind, depth, ordered):
        scope.hops += 1
        direction = self.random.choice(("out", "in", "both", "out", "in"))
        labels = self.random.sample(scope.schema.edge_labels, self.random.choice((0, 1, 1)))
        steps = [Step(direction, tuple(f'"{l}"' for l in labels))]
        if self.random.random() < 0.15 and not scope.history_lost:
            steps.append(Step(self.random.choice(("simplePath", "simplePath", "cyclicPath")), ()))
            if scope.labels and self.random.random() < 0.5:
                # only part of the path: from a label, to one, or between two
                bound = self.random.choice((("from",), ("to",), ("from", "to")))
                steps.extend(Step(b, (f'"{self.random.choice(scope.labels)}"',)) for b in bound)
        return steps, "v", False

    def _move_edge(self, scope, kind, depth, ordered):
        scope.hops += 1
        direction = self.random.choice(("outE", "inE", "bothE"))
        labels = self.random.sample(scope.schema.edge_labels, self.random.choice((0, 1)))
        return [Step(direction, tuple(f'"{l}"' for l in labels))], "e", False

    def _edge_end(self, scope, kind, depth, ordered):
        end = self.random.choice(("inV", "outV", "otherV", "bothV"))
        return [Step(end, ())], "v", ordered and end in ("inV", "outV")

    def _vp_step(self, scope, kind, depth, ordered):
        r = self.random.random()
        if r < 0.35:
            return [Step("value", ())], "any", ordered
        if r < 0.5:
            return [Step("key", ())], "str", ordered
        if r < 0.65:
            return [Step("properties", ())], "prop", False
        if r < 0.75:
            return [Step("element", ())], "v", ordered
        if r < 0.85:
            return [Step(self.random.choice(("valueMap", "propertyMap", "elementMap")), ())], "map", ordered
        return [Step("label", ())], "str", ordered

    def _has_key_value(self, scope, kind, depth, ordered):
        r = self.random
        keys = scope.schema.edge_keys if kind == "prop" else scope.schema.vertex_keys
        if r.random() < 0.5:
            picked = r.sample(list(keys) or ["name"], min(len(keys) or 1, r.randint(1, 2)))
            args = tuple(f'"{k}"' for k in picked)
            if r.random() < 0.3:
                args = (r.choice((f"within({', '.join(args)})", f"neq({args[0]})", 'startingWith("n")')),)
            return [Step("hasKey", args)], kind, ordered
        key = r.choice(list(keys) or ["name"])
        values = keys.get(key, _STRINGS)
        numeric = all(not v.startswith('"') for v in values)
        if r.random() < 0.5:
            return [Step("hasValue", (r.choice(values),))], kind, ordered
        return [Step("hasValue", (self._predicate(values, numeric),))], kind, ordered

    def _prop_step(self, scope, kind, depth, ordered):
        step = self.random.choice(("value", "key", "element", "label"))
        return [Step(step, ())], {"value": "any", "key": "str", "label": "str", "element": "any"}[step], ordered

    def _repeat(self, scope, kind, depth, ordered):
        r = self.random
        body_steps: list[Step] = [self.random.choice((Step("out", ()), Step("both", ()), Step("in", ()),
                                                       Step("out", (f'"{r.choice(scope.schema.edge_labels)}"',))))]
        dedup = r.random() < 0.1
        if dedup:  # the next pass runs after it: it reads no history either
            scope.history_lost = True
        if r.random() < 0.3 and not scope.history_lost:
            body_steps.append(Step("simplePath", ()))
        if r.random() < 0.2:
            label = f"r{len(scope.labels)}"
            body_steps.append(Step("as", (f'"{label}"',)))
            scope.labels.append(label)
        if r.random() < 0.15 and scope.sack:
            body_steps.append(Step("sack", ("sum",)))
            body_steps.append(Step("by", (Chain((Step("constant", ("1",)),)),)))
        if dedup:
            body_steps.append(Step("dedup", ()))
        limit = r.randint(1, scope.schema.repeat_depth)
        scope.hops += limit
        if r.random() < 0.15 and scope.schema.repeat_depth > 1:
            # a nested repeat: one hop more per pass at most, its loops() counting its own passes
            inner = Chain((r.choice((Step("out", ()), Step("both", ()))),))
            inner_steps = [Step("repeat", (inner,)), Step("times", (str(r.randint(0, 1)),))]
            if r.random() < 0.5:
                inner_steps = [Step("until", (Chain((Step("loops", ()), Step("is", ("1",)))),)),
                               Step("repeat", (inner,))]
            if r.random() < 0.3:
                inner_steps.insert(0, Step("emit", ()))
            body_steps.extend(inner_steps)
            limit = min(limit, 2)
        body = Chain(tuple(body_steps))
        mode = r.random()
        steps = [Step("repeat", (body,))]
        while_do = r.random() < 0.35  # until()/times() before repeat(): tested before each pass
        if mode < 0.45:
            times = 0 if r.random() < 0.1 else limit
            steps.insert(0 if while_do else 1, Step("times", (str(times),)))
        elif mode < 0.65:
            steps.insert(0 if while_do else 1, Step("until", (Chain((Step("loops", ()), Step("is", (str(limit),)))),)))
        else:
            condition = self.random.choice((
                Chain((Step("hasLabel", (f'"{scope.schema.vertex_labels[-1]}"',)),)),
                Chain((Step("has", (self._key(scope, "v"),)),)),
                Chain((Step("outE", ()), Step("count", ()), Step("is", ("0",)))),
            ))
            bound = Chain((Step("or", (condition, Chain((Step("loops", ()), Step("is", (str(limit),)))))),))
            steps.insert(0 if while_do else 1, Step("until", (bound,)))
        if r.random() < 0.4:
            emit = r.choice(((), (Chain((Step("hasLabel", (f'"{scope.schema.vertex_labels[0]}"',)),)),)))
            if r.random() < 0.5:
                steps.append(Step("emit", emit))
            else:
                steps = [Step("emit", emit), *steps]
        # loops() after a repeat().times(n) is a known difference (RepeatUnrollStrategy unrolls it)
        if r.random() < 0.2 and mode >= 0.45 and not scope.history_lost:
            steps.append(Step("loops", ()))
            return steps, "num", False
        return steps, "v", False

    # -- value steps ---------------------------------------------------------------------------

    def _is(self, scope, kind, depth, ordered):
        pool = scope.numbers if kind == "num" or self.random.random() < 0.6 else _STRINGS
        return [Step("is", (self._predicate(pool, pool is scope.numbers),))], kind, ordered

    def _math(self, scope, kind, depth, ordered):
        n = self.random.choice([v for v in scope.numbers if v not in ("0", "0L")] or ["2"])
        literal = n.rstrip("Lm")  # math() expressions have no type suffixes
        expression = self.random.choice((f"_ + {literal}", f"_ * 2", f"_ / {literal}", "_ - _", "sqrt(_)", "abs(_)",
                                         f"_ % 3", "-_", "_ ^ 2", "floor(_ / 2)", "signum(_)", "_ / 0"))
        steps = [Step("math", (f'"{expression}"',))]
        if self.random.random() < 0.1:
            steps.append(Step("by", (Chain((Step("constant", (n,)),)),)))
        return steps, "num", ordered

    def _math_labels(self, scope, kind, depth, ordered):
        a = self.random.choice(scope.labels)
        expression = self.random.choice((f"{a} + 1", f"_ - {a}", f"{a} * {a}"))
        steps = [Step("math", (f'"{expression}"',))]
        for _ in range(self.random.randint(0, 2)):
            by = self.random.choice(('"age"', '"weight"', "", Chain((Step("count", ()),))))
            steps.append(Step("by", (by,) if by else ()))
        return steps, "num", ordered

    def _number_reduce(self, scope, kind, depth, ordered):
        step = self.random.choice(("sum", "max", "min", "mean"))
        return [Step(step, ())], "num", False

    def _string_step(self, scope, kind, depth, ordered):
        r = self.random
        step = r.choice((
            Step("toUpper", ()), Step("toLower", ()), Step("length", ()), Step("trim", ()), Step("lTrim", ()),
            Step("rTrim", ()), Step("reverse", ()), Step("concat", (r.choice(_STRINGS),)),
            Step("concat", (Chain((Step("constant", ('"-"',)),)), r.choice(_STRINGS))),
            Step("substring", (str(r.randint(-2, 2)),)), Step("substring", (str(r.randint(0, 2)), str(r.randint(-1, 4)))),
            Step("split", (r.choice(('","', '"a"', '" "', '""')),)), Step("replace", ('"a"', '"o"')),
            Step("toUpper", ("local",)), Step("length", ("local",)), Step("asDate", ()),
            # odd arguments: nothing to add, an empty pattern, an empty or backwards range
            Step("concat", ()), Step("replace", ('""', '"x"')), Step("replace", ('"a"', '""')),
            Step("substring", ("1", "1")), Step("substring", ("3", "1")), Step("substring", ("-10",)),
            Step("trim", ("local",)), Step("toLower", ("local",)), Step("split", ("local", '"a"')),
            Step("format", ('"%{_}!"',)),
        ))
        out = {"length": "num", "split": "list", "asDate": "date"}.get(step.name, "str")
        if step.args[:1] == ("local",):
            out = {"length": "num", "split": "list"}.get(step.name, "str")
        return [step], out, ordered

    def _date_step(self, scope, kind, depth, ordered):
        r = self.random
        unit = r.choice(("second", "minute", "hour", "day"))
        step = r.choice((Step("dateAdd", (f"DT.{unit}", str(r.randint(-3, 40)))),
                         Step("dateDiff", ('datetime("2023-01-01T00:00:00Z")',)),
                         Step("dateDiff", (Chain((Step("constant", ('datetime("2023-05-05T12:00:00Z")',)),)),)),
                         Step("asString", ()), Step("asDate", ())))
        return [step], {"dateDiff": "num", "asString": "str"}.get(step.name, "date"), ordered

    def _as_string(self, scope, kind, depth, ordered):
        return [Step("asString", self.random.choice(((), ("local",))))], "str", ordered

    def _list_step(self, scope, kind, depth, ordered):
        r = self.random
        literal = self._list_literal(scope)
        choices = [
            (Step("unfold", ()), "any", ordered), (Step("count", ("local",)), "num", ordered),
            (Step("sum", ("local",)), "num", ordered), (Step("max", ("local",)), "any", ordered),
            (Step("min", ("local",)), "any", ordered), (Step("mean", ("local",)), "num", ordered),
            (Step("dedup", ("local",)), "list", ordered), (Step("order", ("local",)), "list", ordered),
            (Step("reverse", ()), "list", ordered), (Step("index", ()), "list", ordered),
            (Step("index", ()), "map", ordered),
            (Step("conjoin", ('"-"',)), "str", ordered), (Step("intersect", (literal,)), "list", ordered),
            (Step("difference", (literal,)), "list", ordered), (Step("disjunct", (literal,)), "list", ordered),
            (Step("merge", (literal,)), "list", ordered), (Step("combine", (literal,)), "list", ordered),
            (Step("product", (literal,)), "list", ordered),
            (Step("all", (self._predicate(scope.numbers, True),)), "list", ordered),
            (Step("any", (self._predicate(_STRINGS, False),)), "list", ordered),
            (Step("limit", ("local", str(r.randint(0, 2)))), "any", ordered),
            (Step("range", ("local", str(r.randint(0, 1)), str(r.randint(1, 3)))), "any", ordered),
            (Step("tail", ("local", str(r.randint(1, 2)))), "any", ordered),
            (Step("skip", ("local", str(r.randint(0, 2)))), "any", ordered),
            (Step("sample", ("local", "0")), "list", ordered),
            (Step("count", ("local",)), "num", ordered),
        ]
        if kind == "bag":  # what reads a bag's order (its positions, its first members) is not drawn
            choices = [(s, "bag" if out == "list" and s.name != "order" else out, keep) for s, out, keep in choices
                       if s.name not in ("index", "conjoin", "limit", "range", "tail", "skip")]
        step, out, keep = r.choice(choices)
        if step.name == "index" and out == "map":  # positions as a map, not [member, position] pairs
            indexer = r.choice(("map", "list"))
            return [step, Step("with", ("WithOptions.indexer", f"WithOptions.{indexer}"))], indexer, keep
        return [step], out, keep

    def _map_step(self, scope, kind, depth, ordered):
        r = self.random
        choices = [
            ([Step("select", ("keys",))], "any"), ([Step("select", ("values",))], "any"),
            ([Step("unfold", ())], "any"), ([Step("count", ("local",))], "num"),
            ([Step("select", ('"name"',))], "any"), ([Step("select", ("T.label",))], "any"),
            ([Step("order", ("local",)), Step("by", ("keys", "desc"))], "map"),
            ([Step("order", ("local",)), Step("by", ("values",))], "map"),
            ([Step("unfold", ()), Step("select", ("values",))], "any"),
            ([Step("dedup", ("local",))], "map"), ([Step("limit", ("local", "1"))], "map"),
            ([Step("format", ('"%{name} %{age}"',))], "str"),
        ]
        steps, out = r.choice(choices)
        return steps, out, ordered and steps[0].name not in ("unfold",)

    def _path(self, scope, kind, depth, ordered):
        steps = [Step("path", ())]
        for _ in range(self.random.choice((0, 0, 1, 2))):
            by = self.random.choice(('"name"', "T.id", "", Chain((Step("label", ()),)), Chain((Step("values", ('"age"',)),))))
            steps.append(Step("by", (by,) if by else ()))
        return steps, "path", ordered

    def _path_step(self, scope, kind, depth, ordered):
        r = self.random
        choices = [
            ([Step("count", ("local",))], "num"), ([Step("unfold", ())], "any"),
            ([Step("limit", ("local", "1"))], "any"), ([Step("tail", ("local", "1"))], "any"),
            ([Step("index", ())], "list"), ([Step("select", ("keys",))], "any"),
            ([Step("reverse", ())], "any"),
        ]
        steps, out = r.choice(choices)
        return steps, out, ordered and out != "any"

    # -- any kind ------------------------------------------------------------------------------

    def _count(self, scope, kind, depth, ordered):
        return [Step("count", ())], "num", False

    def _fold(self, scope, kind, depth, ordered):
        if self.random.random() < 0.2 and kind == "num":
            seed = self.random.choice(scope.numbers)
            return [Step("fold", (seed, self.random.choice(("sum", "max", "min", "mult"))))], "num", False
        # a fold of a stream in no specified order is a list in no specified order: a bag
        return [Step("fold", ())], "list" if ordered else "bag", False

    def _order_key(self, scope: _Scope, kind: str) -> tuple[tuple, bool]:
        """A by() for order() and whether it orders the stream totally."""
        r = self.random
        if kind in ELEMENT:
            return r.choice(((("T.id",), True), (('"name"',), kind == "v" and scope.schema.name != "grateful"),
                             ((Chain((Step("both" if kind == "v" else "bothV", ()), Step("count", ()))),), False),
                             ((self._key(scope, kind), "desc"), False), (("T.label",), False)))
        if kind == "map":
            return ((Chain((Step("select", ('"name"',)),)),), False)
        return r.choice((((), True), (("desc",), True), (("shuffle",), False)))

    def _order(self, scope, kind, depth, ordered):
        by, total = self._order_key(scope, kind)
        steps = [Step("order", ())]
        if by and by != ("shuffle",):
            steps.append(Step("by", by))
        elif by == ("shuffle",):
            steps.append(Step("by", ("shuffle",)))
        if kind in ELEMENT and not total and self.random.random() < 0.7:
            steps.append(Step("by", ("T.id",)))
            total = True
        return steps, kind, total

    def _dedup(self, scope, kind, depth, ordered):
        # which of equal traversers dedup() keeps is the first in the stream's order: with labels
        # (dedup("a") keeps one traverser of each "a", whatever it holds) that order must be set
        if kind in ELEMENT and ordered and self.random.random() < 0.5:
            return [Step("dedup", ()), Step("by", (self.random.choice(('"age"', "T.label")),))], kind, ordered
        if scope.labels and ordered and self.random.random() < 0.3:
            return [Step("dedup", (f'"{self.random.choice(scope.labels)}"',))], kind, ordered
        if not ordered:
            scope.history_lost = True
        return [Step("dedup", ())], kind, ordered

    def _label(self, scope, kind, depth, ordered):
        label = self.random.choice(("a", "b", "c")) if self.random.random() < 0.3 else f"l{len(scope.labels)}"
        if label not in scope.labels:
            scope.labels.append(label)
        return [Step("as", (f'"{label}"',))], kind, ordered

    def _select(self, scope, kind, depth, ordered):
        r = self.random
        labels = r.sample(scope.labels, min(len(scope.labels), r.randint(1, 2)))
        pop = r.choice(((), (), ("first",), ("last",), ("all",), ("mixed",)))
        steps = [Step("select", (*pop, *(f'"{l}"' for l in labels)))]
        for _ in range(r.randint(0, len(labels))):
            steps.append(Step("by", r.choice((('"name"',), ("T.id",), (Chain((Step("count", ("local",)),)),),
                                              ()))))
        return steps, "map" if len(labels) > 1 else "any", ordered

    def _where_labels(self, scope, kind, depth, ordered):
        r = self.random
        a = r.choice(scope.labels)
        if r.random() < 0.5:
            steps = [Step("where", (r.choice((f'eq("{a}")', f'neq("{a}")', f'gt("{a}")')),))]
        else:
            b = r.choice(scope.labels)
            steps = [Step("where", (f'"{a}"', r.choice((f'eq("{b}")', f'neq("{b}")', f'lt("{b}")'))))]
        for _ in range(r.randint(0, 2)):
            steps.append(Step("by", r.choice((('"name"',), ('"age"',), (Chain((Step("count", ("local",)),)),), ()))))
        return steps, kind, ordered

    def _where_side_effect(self, scope, kind, depth, ordered):
        key = self.random.choice(scope.side_effects)
        return [Step("where", (self.random.choice((f'within("{key}")', f'without("{key}")')),))], kind, ordered

    def _group(self, scope, kind, depth, ordered):
        r = self.random
        key = None
        if r.random() < 0.25:
            key = f"m{len(scope.side_effects)}"
            scope.side_effects.append(key)
        name = r.choice(("group", "groupCount"))
        steps = [Step(name, (f'"{key}"',) if key else ())]
        by_key = self._by(scope, kind, depth)
        if by_key is not None:
            steps.append(by_key)
            if name == "group" and r.random() < 0.6:
                value = r.choice((Step("by", (Chain((Step("count", ()),)),)),
                                  Step("by", (Chain((Step("fold", ()),)),)),
                                  Step("by", (r.choice(('"name"', "T.id")),)),
                                  Step("by", (Chain((Step("values", ('"age"',)), Step("sum", ()))),))))
                steps.append(value)
        return steps, kind if key else "map", ordered if key else False

    def _by(self, scope: _Scope, kind: str, depth: int) -> Step | None:
        r = self.random
        if kind in ELEMENT:
            return r.choice((Step("by", ("T.label",)), Step("by", (self._key(scope, kind),)),
                             Step("by", (Chain((Step("out" if kind == "v" else "inV", ()), Step("count", ()))),)),
                             None))
        if kind in ("num", "str", "any"):
            return r.choice((None, Step("by", (Chain((Step("is", (self._predicate(scope.numbers, True),)),)),))))
        return None

    def _side_effect_store(self, scope, kind, depth, ordered):
        key = f"x{len(scope.side_effects)}"
        scope.side_effects.append(key)
        step = self.random.choice(("aggregate", "aggregate", "store"))
        steps = [Step(step, (f'"{key}"',))]
        if step == "aggregate" and self.random.random() < 0.3:
            steps = [Step("aggregate", ("local", f'"{key}"'))]
        if self.random.random() < 0.3 and kind in ELEMENT:
            steps.append(Step("by", (self.random.choice(('"name"', "T.label", "T.id")),)))
        return steps, kind, ordered and step != "store"

    def _constant(self, scope, kind, depth, ordered):
        value = self.random.choice((*scope.numbers, *_STRINGS, self._list_literal(scope)))
        return [Step("constant", (value,))], "list" if value.startswith("[") else "any", ordered

    def _sack(self, scope, kind, depth, ordered):
        r = self.random
        if r.random() < 0.5:
            return [Step("sack", ())], "num", ordered
        operator = r.choice(("sum", "mult", "min", "max", "minus", "div"))
        by = r.choice(((), ('"age"',), ('"weight"',), (Chain((Step("constant", (r.choice(scope.numbers),)),)),)))
        steps = [Step("sack", (operator,))]
        if by:
            steps.append(Step("by", by))
        return steps, kind, ordered

    # -- children --------------------------------------------------------------------------------

    def _union(self, scope, kind, depth, ordered):
        branches = [self.child(scope, kind, depth)[0] for _ in range(self.random.randint(1, 3))]
        return [Step("union", tuple(branches))], "any", False

    def _coalesce(self, scope, kind, depth, ordered):
        branches = [self.child(scope, kind, depth)[0] for _ in range(2)]
        return [Step("coalesce", tuple(branches))], "any", False

    def _optional(self, scope, kind, depth, ordered):
        child, out = self.child(scope, kind, depth)
        return [Step("optional", (child,))], out if out == kind else "any", False

    def _local(self, scope, kind, depth, ordered):
        child, out = self.child(scope, kind, depth, length=self.random.randint(1, 3))
        return [Step("local", (child,))], out, False

    def _map_child(self, scope, kind, depth, ordered):
        if self.random.random() < 0.5:
            child, out = self.single_child(scope, kind, depth)
            return [Step("map", (child,))], out, False
        child, out = self.child(scope, kind, depth)
        return [Step("flatMap", (child,))], out, False

    def _choose(self, scope, kind, depth, ordered):
        r = self.random
        if kind in ELEMENT and r.random() < 0.4:
            labels = scope.schema.edge_labels if kind == "e" else scope.schema.vertex_labels
            steps = [Step("choose", ("T.label",))]
            for label in r.sample(labels, r.randint(1, len(labels))):
                steps.append(Step("option", (f'"{label}"', self.child(scope, kind, depth)[0])))
            for pick in r.sample(("none", "Pick.any"), r.choice((0, 1, 1, 2))):
                steps.append(Step("option", (pick, self.child(scope, kind, depth)[0])))
            return steps, "any", False
        if kind in ("v", "num") and r.random() < 0.35:
            # choose() on a value, options on values of it (numbers, predicates), none/any
            if kind == "v":
                key = r.choice([k for k, values in scope.schema.vertex_keys.items()
                                if all(not v.startswith('"') for v in values)] or ["name"])
                steps = [Step("choose", (Chain((Step("values", (f'"{key}"',)),)),))]
                values = scope.schema.vertex_keys[key]
            else:
                steps, values = [Step("choose", (Chain((Step("math", ('"_ % 2"',)),)),))], ("0", "1", "0.0", "1.0")
            for value in r.sample(values, min(len(values), r.randint(1, 2))):
                steps.append(Step("option", (value, self.child(scope, kind, depth)[0])))
            if r.random() < 0.4:
                steps.append(Step("option", (self._predicate(scope.numbers, True), self.child(scope, kind, depth)[0])))
            for pick in r.sample(("none", "Pick.any"), r.choice((0, 1))):
                steps.append(Step("option", (pick, self.child(scope, kind, depth)[0])))
            return steps, "any", False
        if r.random() < 0.25:
            predicate = self._predicate(scope.numbers if kind == "num" else _STRINGS, kind == "num")
            branches = [self.child(scope, kind, depth)[0] for _ in range(r.randint(1, 2))]
            return [Step("choose", (predicate, *branches))], "any", False
        condition = self.child(scope, kind, depth, length=1)[0]
        branches = [self.child(scope, kind, depth)[0] for _ in range(r.randint(1, 2))]
        return [Step("choose", (condition, *branches))], "any", False

    def _filter_child(self, scope, kind, depth, ordered):
        child, _ = self.child(scope, kind, depth)
        name = self.random.choice(("where", "where", "filter", "not"))
        return [Step(name, (child,))], kind, ordered

    def _logic(self, scope, kind, depth, ordered):
        children = tuple(self.child(scope, kind, depth, length=1)[0] for _ in range(2))
        return [Step(self.random.choice(("and", "or")), children)], kind, ordered

    def _project(self, scope, kind, depth, ordered):
        keys = ["p", "q", "r"][:self.random.randint(1, 3)]
        steps = [Step("project", tuple(f'"{k}"' for k in keys))]
        for _ in keys:
            roll = self.random.random()
            if kind in ELEMENT and roll < 0.4:
                steps.append(Step("by", (self._key(scope, kind),)))
            elif roll > 0.8:
                steps.append(Step("by", self.random.choice(((), (Chain((Step("constant", (self.random.choice(
                    (*scope.numbers[:2], *_STRINGS[:2])),)),)),), (Chain((Step("fold", ()),)),),
                    (Chain((Step("identity", ()),)),)))))
            else:
                steps.append(Step("by", (self.single_child(scope, kind, depth)[0],)))
        return steps, "map", ordered

    def _side_effect_child(self, scope, kind, depth, ordered):
        key = f"s{len(scope.side_effects)}"
        inner, _ = self.child(scope, kind, depth, length=1)
        scope.side_effects.append(key)
        child = Chain((*inner.steps, Step("aggregate", (f'"{key}"',))))
        return [Step("sideEffect", (child,))], kind, ordered

    def _range(self, scope, kind, depth, ordered):
        r = self.random
        step = r.choice((Step("limit", (str(r.randint(0, 3)),)), Step("range", (str(r.randint(0, 2)), str(r.randint(1, 4)))),
                         Step("tail", (str(r.randint(1, 3)),)), Step("skip", (str(r.randint(0, 2)),))))
        return [step], kind, ordered


#: steps that give at most one result for each traverser (filters, maps, reducers); with
#: ``_REDUCERS`` what ``_may_give_several`` lets through as single-valued
_ONE_OR_NONE = frozenset({
    "has", "hasLabel", "hasId", "hasNot", "hasKey", "hasValue", "is", "where", "filter", "not", "and", "or",
    "simplePath", "cyclicPath", "dedup", "as", "sideEffect", "aggregate", "store", "barrier", "identity",
    "id", "label", "key", "value", "element", "inV", "outV", "constant", "math", "select", "project",
    "path", "valueMap", "elementMap", "propertyMap", "asString", "asDate", "toUpper", "toLower", "length",
    "trim", "lTrim", "rTrim", "reverse", "concat", "substring", "split", "replace", "format", "dateAdd",
    "dateDiff", "index", "conjoin", "intersect", "difference", "disjunct", "merge", "combine", "product",
    "all", "any", "by", "with", "loops", "sack", "map", "none", "discard",
})
_REDUCERS = frozenset({"count", "sum", "min", "max", "mean", "fold", "group", "groupCount", "cap"})
#: steps that take a Scope: with ``local`` first they work inside one traverser's object
_SCOPED = frozenset({"count", "sum", "min", "max", "mean", "dedup", "order", "limit", "range", "tail",
                     "skip", "sample", "aggregate"})


def _may_give_several(chain: Chain) -> bool:
    """Whether ``chain`` may give one traverser several results (drawn order is then unspecified)."""
    several = False
    for step in chain.steps:
        local = step.name in _SCOPED and step.args[:1] == ("local",)
        if step.name in _REDUCERS and not local:
            several = False
        elif step.name in ("values", "properties"):
            several = several or len(step.args) != 1 or step.args[0] in ('"location"',)
        elif step.name not in _ONE_OR_NONE and not local \
                and step.name not in ("order", "limit", "range", "tail", "skip", "sample"):
            several = True  # a global order/range step keeps as many as it gets, or fewer
    return several


def _parse_start(start: str) -> list[Step]:
    """A start such as ``V(1, 2).hasLabel("person")`` as steps (start texts have no nesting)."""
    steps = []
    for part in start.split(")."):
        name, _, args = part.partition("(")
        if args.endswith(")") and args.count("(") < args.count(")"):
            args = args[:-1]
        steps.append(Step(name, tuple(_split_args(args)) if args else ()))
    return steps


def _split_args(text: str) -> list[str]:
    """Top-level comma-separated arguments (a nested call's commas stay inside it)."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "," and depth == 0:
            parts.append(current.strip())
            current = ""
            continue
        depth += char in "([" and 1 or 0
        depth -= char in ")]" and 1 or 0
        current += char
    if current.strip():
        parts.append(current.strip())
    return parts
