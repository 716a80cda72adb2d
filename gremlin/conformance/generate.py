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
from typing import Callable, Sequence

from .draw_model import (
    _DECIMAL, _FRACTIONAL, _LONG, _MIXED_NUMBERS, _STRINGS, _WHOLE, ELEMENT, GRAPHS, STATE_QUERY, Case, Chain,
    GraphSchema, Step, _may_give_several, _parse_start, _Scope,
)
from .draw_steps import StepDraws
from .draw_values import ValueDraws

__all__ = ["Step", "Chain", "Case", "Generator", "GRAPHS", "STATE_QUERY"]


class Generator(StepDraws, ValueDraws):
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
        elif roll < 0.87:
            # (round 6) writes on edges: properties set, replaced and dropped, and a cardinality
            # (which an edge property has not)
            steps = [Step("E", (r.choice(("7", "9", "12")),)), r.choice((
                Step("property", ('"weight"', r.choice(scope.numbers))),
                Step("property", ('"k"', r.choice(_STRINGS[:3]))),
                Step("property", ('"weight"', r.choice(scope.numbers), '"k"', r.choice(_STRINGS[:3]))),
                Step("property", ("single", '"weight"', r.choice(scope.numbers))),
                Step("property", ('"weight"', Chain((Step("outV", ()), Step("values", ('"age"',)))))),
                Step("properties", ('"weight"',)),
                Step("properties", ()),
            ))]
            if steps[-1].name == "properties":
                steps.append(Step("drop", ()))
        elif roll < 0.92:
            # (round 6) a new vertex's multi-properties: list and set cardinality, meta-properties,
            # single() replacing them all
            steps = [Step("addV", (label,))]
            for _ in range(r.randint(1, 4)):
                cardinality = r.choice(("list", "set", "single", "list"))
                value = r.choice((*_STRINGS[:3], age))
                meta = ('"since"', r.choice(("2020", '"x"'))) if r.random() < 0.3 else ()
                steps.append(Step("property", (cardinality, '"k"', value, *meta)))
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
        if kind == "entry":
            o += [(self._entry_step, 5)]
        if kind in ("num", "any", *ELEMENT):
            o += [(self._null_flow, 0.4 if kind in ELEMENT else 0.6)]
        if kind == "e":
            o += [(self._math_edge, 0.8)]
        if kind == "path":
            o += [(self._path_step, 3)]
        # any kind
        o += [(self._count, 1), (self._fold, 1.5), (self._order, 1.5), (self._dedup, 1),
              (self._label, 1.5), (self._group, 1.2), (self._side_effect_store, 0.8),
              (self._constant, 0.2), (self._barrier, 0.2)]
        if kind not in ("bag", "map"):  # the text of a bag (or of a map holding one) is in no set order
            o.append((self._as_string, 0.3))
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
