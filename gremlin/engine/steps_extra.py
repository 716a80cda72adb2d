"""Smaller step families: sacks, strings and lists (TinkerPop 3.7 additions)."""

from __future__ import annotations

import re
from typing import Any, Callable, Iterator

from gremlin_python.process.traversal import P, Pop, Scope

from ..errors import InvalidArgumentError, TraversalError
from . import java_strings
from .base import Context, Step, Traversal, register
from .common import NOTHING, ByModulatedStep, Projection, is_element, property_items
from .steps_filter import FilterStep, _decided, _none, combine_ternary
from .steps_map import MapStep, select_value
from .tostring import gremlin_str
from .traverser import Traverser
from .java_order import hash_positions
from .operators import apply_operator
from .values import OrderedSet, PathValue, g_hash_key, java_type_name, test_predicate

# -- sack -------------------------------------------------------------------------------------------


def is_lambda_holder(step: Step) -> bool:
    """Whether ``step`` is what TinkerPop holds as a LambdaHolder (strategies treat one as reading
    any label): of this engine's steps, sack(operator), TinkerPop's SackValueStep with its operator."""
    return isinstance(step, SackStep) and step.operator is not None


class SackStep(Step):
    """sack() reads the traverser's sack; sack(operator).by(...) folds a value into it."""

    name = "sack"

    def __init__(self, args: tuple):
        self.operator = args[0] if args else None
        self.by: Projection | None = None

    def modulate(self, name: str, args: tuple) -> None:
        if name != "by" or self.operator is None:
            super().modulate(name, args)
        self.by = Projection(args[0] if args else None)

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        for traverser in traversers:
            if self.operator is None:
                yield traverser.split(traverser.sack)
                continue
            value = self.by(ctx, traverser) if self.by is not None else traverser.obj
            if value is NOTHING:
                continue
            updated = traverser.copy()
            updated.sack = apply_operator(self.operator, traverser.sack, value)
            yield updated


@register("sack")
def _sack(*args: Any) -> Step:
    return SackStep(args)


# -- strings --------------------------------------------------------------------------------------------

def _string_step(name: str, fn: Callable[..., Any], *args: Any) -> Step:
    scope = Scope.global_
    if args and isinstance(args[0], Scope):
        scope, args = args[0], args[1:]
    _check_string_args(name, args)

    def apply(ctx: Context, t: Traverser) -> Any:
        value = t.obj
        if scope == Scope.local:
            if _is_iterable(value):
                return [None if v is None else _string_arg(name, fn, v, args, local=True) for v in _members(value)]
            return None if value is None else _string_arg(name, fn, value, args, local=True)
        if value is None:
            return None
        return _string_arg(name, fn, value, args)
    return MapStep(name, apply)


def _is_iterable(value: Any) -> bool:
    """What a string step's local scope walks into: TinkerPop's Iterables (a list, a set, a path;
    a map is not one)."""
    return isinstance(value, (list, tuple, set, frozenset, PathValue))


def _members(value: Any) -> Any:
    return value.objects if isinstance(value, PathValue) else value


#: what each string step's arguments must be (Gremlin Server finds no method for other types): a
#: string may be null, a position may not
_STRING_ARGUMENTS = {"split": (str,), "replace": (str, str), "substring": (int, int)}


def _check_string_args(name: str, args: tuple) -> None:
    kinds = _STRING_ARGUMENTS.get(name, ())
    if len(args) > len(kinds):
        raise InvalidArgumentError(f"{name}() takes at most {len(kinds)} arguments, not {len(args)}")
    for arg, kind in zip(args, kinds):
        if kind is str and arg is not None and not isinstance(arg, str):
            raise InvalidArgumentError(f"{name}() takes a string, not {java_type_name(arg)} {arg!r}")
        if kind is int and (not isinstance(arg, int) or isinstance(arg, bool)):
            raise InvalidArgumentError(f"{name}() takes an integer position, not {java_type_name(arg)} {arg!r}")


def _string_arg(name: str, fn: Callable, value: Any, args: tuple, local: bool = False) -> Any:
    if not isinstance(value, str):
        if local:
            raise InvalidArgumentError(f"The {name}(local) step can only take string or list of strings, "
                                       f"not {java_type_name(value)}")
        raise InvalidArgumentError(f"The {name}() step can only take string as argument, not {java_type_name(value)}")
    return fn(value, *args)


def _substring(value: str, start: int, end: int | None = None) -> str:
    n = java_strings.length(value)
    if n == 0 and (start < 0 or (end is not None and end < 0)):
        # TinkerPop counts a negative position from the end modulo the length: of "" that divides by zero
        raise TraversalError("substring() of an empty string from a negative position: / by zero")
    start = max(0, start + n if start < 0 else start)
    end = n if end is None else end + n if end < 0 else end
    return java_strings.substring_units(value, start, end) if end > start else ""


def _split(value: str, separator: str | None = None) -> list[str]:
    """StringUtils.splitByWholeSeparator: no separator (null or "") splits at whitespace; else
    adjacent and leading separators give no piece, but what follows the last one is kept even
    when empty (" x " is ["x", ""], "a," is ["a", ""])."""
    if not separator:
        return java_strings.split_at_whitespace(value)
    if not value:
        return []
    *pieces, last = value.split(separator)
    return [piece for piece in pieces if piece] + [last]


for _name, _fn in {
    "toLower": str.lower, "toUpper": str.upper, "trim": lambda s: s.strip(java_strings.JAVA_WHITESPACE),
    "lTrim": lambda s: s.lstrip(java_strings.JAVA_WHITESPACE), "rTrim": lambda s: s.rstrip(java_strings.JAVA_WHITESPACE),
    "length": java_strings.length, "split": _split,
    # StringUtils.replace: an empty (or null) search string or a null replacement leaves it as it is
    "replace": lambda s, old, new: s.replace(old, new) if old and new is not None else s,
    "substring": _substring,
}.items():
    register(_name)(lambda *args, _n=_name, _f=_fn: _string_step(_n, _f, *args))


@register("asString")
def _as_string(*args: Any) -> Step:
    local = bool(args) and args[0] == Scope.local

    def as_string(ctx: Context, t: Traverser) -> Any:
        if local and _is_iterable(t.obj):
            return [None if v is None else gremlin_str(v) for v in _members(t.obj)]
        return None if t.obj is None else gremlin_str(t.obj)
    return MapStep("asString", as_string)


@register("concat")
def _concat(*args: Any) -> Step:
    for arg in args:  # concat(String...) or concat(Traversal, Traversal...)
        if arg is not None and not isinstance(arg, (str, Traversal)):
            raise InvalidArgumentError(f"concat() takes strings or traversals, not {java_type_name(arg)} {arg!r}")
    if any(isinstance(arg, Traversal) for arg in args) and any(isinstance(arg, str) for arg in args):  # null is either
        raise InvalidArgumentError("concat() takes strings or traversals, not both: "
                                   "Could not locate exact method given the supplied arguments")

    def concat(ctx: Context, t: Traverser) -> Any:
        parts = [] if t.obj is None else [t.obj]
        if t.obj is not None and not isinstance(t.obj, str):
            raise InvalidArgumentError(f"String concat() can only take string as argument, not {java_type_name(t.obj)}")
        for arg in args:
            value = arg.first(ctx, t, None) if isinstance(arg, Traversal) else arg
            if value is not None:
                if not isinstance(value, str):  # a traversal's answer is cast to String
                    raise TraversalError(f"concat() joins strings: {java_type_name(value)} {value!r} cannot be "
                                         "cast to String")
                parts.append(value)
        # null concatenated with nothing but nulls stays null
        return None if t.obj is None and len(parts) == 0 else "".join(parts)
    return MapStep("concat", concat)


class FormatStep(ByModulatedStep):
    """format("%{name} is %{_}"): each %{key} is the element's property, the map's entry, or the
    path label or side effect of that name; each %{_} is the next by() modulator's value (the
    object itself when there is none). A traverser with a value missing is filtered out."""

    name = "format"

    def __init__(self, template: Any):
        if not isinstance(template, str):
            raise InvalidArgumentError("format() takes a string")
        self.template = template
        self.bys: list[Projection] = []

    def run(self, ctx: Context, traversers: Iterator[Traverser]) -> Iterator[Traverser]:
        keep = self.keep_labels
        for traverser in traversers:
            text = self._format(ctx, traverser)
            if text is not NOTHING:
                made = traverser.split(text)
                yield made if keep is None else made.keeping(keep)

    def variables(self) -> list[str]:
        """The names the template's %{...} give, "_" for each positional one."""
        return _FORMAT_VARIABLE.findall(self.template)

    def scope_keys(self) -> set[str]:
        """The names it may read as labels (TinkerPop's Scoping keys: its variables but ``_``)."""
        return {v for v in self.variables() if v != "_"}

    def _format(self, ctx: Context, traverser: Traverser) -> Any:
        parts: list[str] = []
        position = 0
        positional = 0
        for match in _FORMAT_VARIABLE.finditer(self.template):
            if match.group(1) == "_":  # the next by() modulator's value, or the object itself
                value = self.bys[positional % len(self.bys)](ctx, traverser) if self.bys else traverser.obj
                positional += 1
            else:
                value = self._variable(ctx, traverser, match.group(1))
            if value is NOTHING or value is None:  # a null value gives no string at all
                return NOTHING
            parts += [self.template[position:match.start()], gremlin_str(value)]
            position = match.end()
        parts.append(self.template[position:])
        return "".join(parts)

    @staticmethod
    def _variable(ctx: Context, traverser: Traverser, name: str) -> Any:
        if is_element(traverser.obj):
            for _, value in property_items(ctx, traverser.obj, (name,)):
                return value
        return select_value(ctx, traverser, name, Pop.last)


_FORMAT_VARIABLE = re.compile(r"%\{(.*?)\}")


@register("format")
def _format(template: Any) -> Step:
    return FormatStep(template)


@register("reverse")
def _reverse() -> Step:
    def reverse(ctx: Context, t: Traverser) -> Any:
        value = t.obj
        if isinstance(value, str):
            return value[::-1]
        if isinstance(value, (list, tuple)):
            return list(reversed(value))
        if isinstance(value, (set, frozenset)):  # any Iterable is a list reversed (a set in its order)
            return list(reversed(list(value)))
        if isinstance(value, PathValue):
            return list(reversed(value.objects))
        return value
    return MapStep("reverse", reverse)


# -- lists ----------------------------------------------------------------------------------------------

def _is_list_like(value: Any) -> bool:
    return isinstance(value, (list, tuple, set, frozenset, PathValue))


def _require_list(value: Any, if_null: str, otherwise: str) -> list:
    """``value`` as a list, or the error TinkerPop gives for a null or a non-collection there."""
    if value is None:
        raise InvalidArgumentError(if_null)
    if not _is_list_like(value):
        raise InvalidArgumentError(f"{otherwise}, encountered {java_type_name(value)}")
    return list(value)


def _as_list(name: str, value: Any) -> list:
    """The incoming traverser of a list step, which must be a collection."""
    return _require_list(value, f"Incoming traverser for {name} step can't be null",
                         f"{name} step can only take an array or an Iterable type for incoming traversers")


@register("all")
def _all(predicate: Any) -> Step:
    # an item that cannot decide (ERROR) is held until another says false, as and() holds it
    return FilterStep("all", lambda ctx, t: isinstance(t.obj, (list, tuple, set, frozenset)) and combine_ternary(
        (lambda v=v: _decided(predicate, v) for v in t.obj), False))


@register("any")
def _any(predicate: Any) -> Step:
    return FilterStep("any", lambda ctx, t: isinstance(t.obj, (list, tuple, set, frozenset)) and combine_ternary(
        (lambda v=v: _decided(predicate, v) for v in t.obj), True))


@register("none")
def _none_of(*args: Any) -> Step:
    if not args:
        return _none()
    predicate = args[0]
    if not isinstance(predicate, P):
        raise InvalidArgumentError("none() takes a predicate")
    return FilterStep("none", lambda ctx, t: isinstance(t.obj, (list, tuple, set, frozenset)) and
                      not any(test_predicate(predicate, v) for v in t.obj))


def _check_list_arg(name: str, arg: Any) -> None:
    """A list step's literal argument is checked once, when the step is built."""
    if not isinstance(arg, Traversal):
        _require_list(arg, f"Argument provided for {name} step can't be null",
                      f"{name} step can only take an array or an Iterable as an argument")


def _list_arg(ctx: Context, t: Traverser, arg: Any, name: str) -> list:
    if not isinstance(arg, Traversal):
        return list(arg)
    return _require_list(arg.first(ctx, t, None),
                         f"Provided traversal argument for {name} step must yield an iterable type, not null",
                         f"Provided traversal argument for {name} step must yield an iterable type")


def _set_op(name: str, op: Callable[[dict, dict], dict]) -> Callable[[Any], Step]:
    def factory(arg: Any) -> Step:
        _check_list_arg(name, arg)

        def apply(ctx: Context, t: Traverser) -> Any:
            left = {g_hash_key(v): v for v in _as_list(name, t.obj)}
            right = {g_hash_key(v): v for v in _list_arg(ctx, t, arg, name)}
            members = list(op(left, right).values())
            return OrderedSet(members[i] for i in hash_positions(members))  # a HashSet in TinkerGraph
        return MapStep(name, apply)
    return factory


register("intersect")(_set_op("intersect", lambda a, b: {k: v for k, v in a.items() if k in b}))
register("difference")(_set_op("difference", lambda a, b: {k: v for k, v in a.items() if k not in b}))
register("disjunct")(_set_op("disjunct", lambda a, b: {**{k: v for k, v in a.items() if k not in b},
                                                       **{k: v for k, v in b.items() if k not in a}}))


@register("combine")
def _combine(arg: Any) -> Step:
    _check_list_arg("combine", arg)
    return MapStep("combine", lambda ctx, t: _as_list("combine", t.obj) + _list_arg(ctx, t, arg, "combine"))


@register("merge")
def _merge(arg: Any) -> Step:
    if arg is None:
        raise InvalidArgumentError("Argument provided for merge step can't be null")

    def merge(ctx: Context, t: Traverser) -> Any:
        if isinstance(t.obj, dict):
            other = arg.first(ctx, t, None) if isinstance(arg, Traversal) else arg
            if not isinstance(other, dict):
                raise InvalidArgumentError("merge step expected provided argument to evaluate to a Map, "
                                           f"encountered {java_type_name(other)}")
            return {**t.obj, **other}
        if isinstance(arg, dict):
            raise InvalidArgumentError("merge step type mismatch: expected argument to be Iterable but got Map")
        left = {g_hash_key(v): v for v in _as_list("merge", t.obj)}
        _check_list_arg("merge", arg)
        left.update({g_hash_key(v): v for v in _list_arg(ctx, t, arg, "merge")})
        members = list(left.values())
        return OrderedSet(members[i] for i in hash_positions(members))  # a HashSet in TinkerGraph
    return MapStep("merge", merge)


@register("product")
def _product(arg: Any) -> Step:
    _check_list_arg("product", arg)

    def product(ctx: Context, t: Traverser) -> list:
        left = _as_list("product", t.obj)
        right = _list_arg(ctx, t, arg, "product")
        return [[a, b] for a in left for b in right]
    return MapStep("product", product)


@register("conjoin")
def _conjoin(delimiter: Any) -> Step:
    if not isinstance(delimiter, str):
        raise InvalidArgumentError("conjoin() takes a string delimiter")
    return MapStep("conjoin", lambda ctx, t: delimiter.join(gremlin_str(v) for v in _as_list("conjoin", t.obj)
                                                            if v is not None))
