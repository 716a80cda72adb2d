"""The generator's step draws, one method per step family: each takes the stream's scope, kind, depth
and whether it is ordered, and gives the steps drawn with the kind and order after them."""

from __future__ import annotations

from .draw_model import _Scope, _STRINGS, Chain, ELEMENT, Step


class StepDraws:
    """Step draws for `Generator` (generate.py), which supplies `random`, `chain()`, `child()` and the rest."""

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
                tokens = self.random.choice(((), ("WithOptions.ids",), ("WithOptions.labels",), ("WithOptions.all",),
                                             ("WithOptions.none",)))
                return [step, Step("with", ("WithOptions.tokens", *tokens))], "map", ordered
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
        # a named loop (repeat("a", ...)): loops("a") counts its passes from anywhere inside it
        name = f"p{len(scope.labels)}" if r.random() < 0.25 else None
        loops = Step("loops", (f'"{name}"',) if name else ())
        if name and any(s.name == "repeat" for s in body_steps) and r.random() < 0.6:
            # the nested repeat also stops on the outer loop's count, which does not move inside it
            inner_until = Chain((Step("or", (Chain((Step("loops", ()), Step("is", ("1",)))),
                                             Chain((loops, Step("is", (r.choice(("0", "gt(0)")),)))))),))
            body_steps = [s for s in body_steps if s.name not in ("times", "until")]
            body_steps.append(Step("until", (inner_until,)))
        body = Chain(tuple(body_steps))
        mode = r.random()
        steps = [Step("repeat", (f'"{name}"', body) if name else (body,))]
        while_do = r.random() < 0.35  # until()/times() before repeat(): tested before each pass
        if mode < 0.45:
            times = 0 if r.random() < 0.1 else limit
            steps.insert(0 if while_do else 1, Step("times", (str(times),)))
        elif mode < 0.65:
            steps.insert(0 if while_do else 1, Step("until", (Chain((loops, Step("is", (str(limit),)))),)))
        else:
            condition = self.random.choice((
                Chain((Step("hasLabel", (f'"{scope.schema.vertex_labels[-1]}"',)),)),
                Chain((Step("has", (self._key(scope, "v"),)),)),
                Chain((Step("outE", ()), Step("count", ()), Step("is", ("0",)))),
            ))
            bound = Chain((Step("or", (condition, Chain((loops, Step("is", (str(limit),)))))),))
            steps.insert(0 if while_do else 1, Step("until", (bound,)))
        if r.random() < 0.4:
            emit = r.choice(((), (Chain((Step("hasLabel", (f'"{scope.schema.vertex_labels[0]}"',)),)),),
                             (Chain((loops, Step("is", (r.choice(("gt(0)", "1", "neq(1)")),)))),)))
            if r.random() < 0.5:
                steps.append(Step("emit", emit))
            else:
                steps = [Step("emit", emit), *steps]
        # loops() after a repeat().times(n) is a known difference (RepeatUnrollStrategy unrolls it),
        # and so after a nested repeat() (TinkerPop's nested-loop traverser fails outside its loops)
        nested = any(s.name == "repeat" for s in body_steps)
        if r.random() < 0.2 and mode >= 0.45 and not scope.history_lost and not nested:
            steps.append(loops)
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
                                         f"_ % 3", "-_", "_ ^ 2", "floor(_ / 2)", "signum(_)", "_ / 0",
                                         # (round 6) Java's Math where Python's differs: fdlibm's cbrt,
                                         # infinities past the largest double, NaN of a negative base's
                                         # fraction, and -0.0 (ceil of a small negative, 0 times one)
                                         "cbrt(_)", "exp(_ * 1000)", "_ ^ 1000", "(-_) ^ 0.5", "ceil(_ / -10)",
                                         "floor(-_ / 10)", "0 * -_", "2 ^ (_ * 500)"))
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
            ([Step("unfold", ())], "entry"), ([Step("count", ("local",))], "num"),
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
        if scope.labels and self.random.random() < 0.3:
            # (round 6) only part of the path, between labels (one naming nothing is an error)
            bound = self.random.choice((("from",), ("to",), ("from", "to")))
            labels = [*scope.labels, "none"]
            steps.extend(Step(b, (f'"{self.random.choice(labels)}"',)) for b in bound)
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
            labels = self.random.sample(scope.labels, min(len(scope.labels), self.random.choice((1, 2))))
            steps = [Step("dedup", tuple(f'"{label}"' for label in labels))]
            if len(labels) > 1 and self.random.random() < 0.5:  # (round 6) several labels, by() of each
                steps.append(Step("by", (self.random.choice(('"name"', "T.label", "T.id")),)))
            return steps, kind, ordered
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
                                  Step("by", (Chain((Step("values", ('"age"',)), Step("sum", ()))),)),
                                  Step("by", (Chain((Step("values", (self._key(scope, kind),)), Step("fold", ()))),)),
                                  Step("by", ("T.label",))))
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
            # (round 6) branch() too: of a traversal, or of T.label, which TinkerPop applies to the
            # traverser (each fails); it takes option(Pick.any) beside others, choose() refuses it
            name = r.choice(("choose", "choose", "branch"))
            selector = "T.label" if name == "choose" or r.random() < 0.3 else Chain((Step("label", ()),))
            steps = [Step(name, (selector,))]
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
