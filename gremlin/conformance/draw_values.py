"""Step draws for what flows between steps that rounds 1-4 never drew (round 5): map entries (a map's
``unfold()`` gives Map.Entry objects, which `Column` keys read), nulls (a property a vertex lacks read
as null, ``constant(null)``, nulls into reducers, hash collections and orders), barriers, and numbers
read off edges by ``math().by()``."""

from __future__ import annotations

from .draw_model import _STRINGS, Chain, ELEMENT, Step


class ValueDraws:
    """Step draws for `Generator` (generate.py), beside `StepDraws`."""

    def _entry_step(self, scope, kind, depth, ordered):
        """A map's entries: their key and value by `Column`, and the steps that take a Column."""
        r = self.random
        predicate = self._predicate(scope.numbers if r.random() < 0.5 else _STRINGS, r.random() < 0.5)
        choices = [
            ([Step("select", ("keys",))], "any"), ([Step("select", ("values",))], "any"),
            ([Step("order", ()), Step("by", ("keys",))], "entry"),
            ([Step("order", ()), Step("by", ("values", "desc"))], "entry"),
            ([Step("group", ()), Step("by", ("keys",)), Step("by", ("values",))], "map"),
            ([Step("groupCount", ()), Step("by", ("values",))], "map"),
            ([Step("project", ('"k"', '"v"')), Step("by", ("keys",)), Step("by", ("values",))], "map"),
            ([Step("where", (Chain((Step("select", ("values",)), Step("is", (predicate,)))),))], "entry"),
            ([Step("filter", (Chain((Step("select", ("keys",)), Step("is", (predicate,)))),))], "entry"),
            ([Step("select", ("values",)), Step("unfold", ())], "any"),
        ]
        steps, out = r.choice(choices)
        # entries of one map have distinct keys, of several maps not: order() by keys is partial
        keeps = steps[0].name in ("select", "where", "filter", "project") and steps[-1].name != "unfold"
        return steps, out, ordered and keeps

    def _null_flow(self, scope, kind, depth, ordered):
        """Nulls where users meet them: an absent property's default, a null constant, and what
        reducers, orders and hash collections make of them."""
        r = self.random
        if kind in ELEMENT:
            fallback = r.choice(("null", *scope.numbers[:2], *_STRINGS[:2]))
            read = Chain((Step("values", (self._key(scope, kind),)),))
            steps = [Step("coalesce", (read, Chain((Step("constant", (fallback,)),))))]
            return steps, "any", False
        value = r.choice(("null", "null", *scope.numbers[:2]))
        after = r.choice(((), (Step("fold", ()),), (Step("dedup", ()),), (Step("order", ()),),
                          (Step("groupCount", ()),), (Step("is", ("null",)),), (Step("is", ("neq(null)",)),),
                          (Step("count", ()),)))
        condition = Chain((Step("is", (self._predicate(scope.numbers, True),)),))
        steps = [Step("choose", (condition, Chain((Step("constant", (value,)),)), Chain((Step("identity", ()),)))),
                 *after]
        out = {"fold": "bag", "groupCount": "map", "count": "num"}.get(after[0].name if after else "", "any")
        return steps, out, ordered and (not after or after[0].name in ("is",))

    def _barrier(self, scope, kind, depth, ordered):
        """``barrier()`` merges equal traversers, which brings equal results together: order lost."""
        size = self.random.choice(((), ("1",), ("2",), ("100",)))
        return [Step("barrier", size)], kind, False

    def _math_edge(self, scope, kind, depth, ordered):
        """``math()`` of an edge: its variables read by ``by()`` keys and traversals."""
        r = self.random
        key = self._key(scope, "e")
        expression, bys = r.choice((
            ('"_ * 2"', (key,)),
            ('"_ - _"', (key,)),
            ('"_ / 2"', (Chain((Step("outV", ()), Step("values", ('"age"',)))),)),
            # a lone values(k) there fails as TinkerPop's ByModulatorOptimizationStrategy applies
            ('"_ + 1"', (r.choice((Chain((Step("values", (key,)),)),
                                   Chain((Step("values", (key,)), Step("max", ()))))),)),
            ('"_ + 1"', ()),  # an edge is no number: an error on both sides
        ))
        return [Step("math", (expression,)), *(Step("by", (b,)) for b in bys)], "num", ordered
