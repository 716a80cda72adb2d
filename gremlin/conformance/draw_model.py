"""The generated differential's vocabulary: traversal trees (`Chain`, `Step`, `Case`), the standard
graphs' schemas and the literal pools the generator draws from (generate.py says what keeps it honest)."""

from __future__ import annotations

from dataclasses import dataclass, field


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
         "V().hasLabel(\"none\")", "V(1, 99, 4)", "E(7, 99)", "V(1, 1, 2)", "E(7, 7)"), 3),
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
_FRACTIONAL = ("0.5", "1.5", "-2.5", "3.25", "0.1", "-0.0")
# Typed pools (Long, BigDecimal), for type promotion in sum/mean/math/sack/compare: a traversal's
# literals all come from one pool, so Java's hash collections never hold 1 and 1L of its own making
_LONG = ("0L", "1L", "2L", "3L", "-1L", "7L", "10L", "29L")
_DECIMAL = ("0.5m", "1.5m", "-2.5m", "3.25m", "0.1m", "0.2m")
#: numbers of every type with distinct values, for the promotion rules of reducers
_MIXED_NUMBERS = ("1", "2L", "2.5", "0.5m", "-3", "7L", "1.25m", "10", "-0.75", "4000000000L")
#: (round 6) the last two: a character outside the BMP (two UTF-16 units to Java) and a no-break space
#: (no whitespace to Java's trim())
_STRINGS = ('"a"', '"b"', '"marko"', '"A b"', '" x "', '""', '"a,b"', '"lop"', '"é😀"', '"\u00a0b "')


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
