"""The durable graph's SQLite file (format 2): its schema, and elements as rows and back.

    meta(name PRIMARY KEY, value)        'counter': the next generated int id
    names(id INTEGER PRIMARY KEY, name)  every label and property key, once
    vertices(rid INTEGER PRIMARY KEY, key UNIQUE, id, label, props, edges)
    edges(rid INTEGER PRIMARY KEY, key UNIQUE, id, label, out_rid, in_rid, props)
        INDEX edges_out (out_rid, label), INDEX edges_in (in_rid, label)
    value_index(key, value, rid)         vertices by property value, for the keys looked up by value

``rid`` is the row's own integer id: edges name their ends by it, and the two edge indexes
make a vertex's edges of one label in one direction a single index range, in creation order
(rids only grow). ``key`` is the element id as SQLite keeps it apart (gremlin.element_ids.id_key:
an int id an INTEGER, a string id TEXT, any other id its tagged JSON as a BLOB), so ``5`` and ``"5"``
are two vertices while ``5``, ``long(5)`` and ``5.0`` are one, as in the in-memory store's
dicts. ``id`` is null unless the key alone does not give the id back with its type (a
``long`` id: its tagged JSON). ``label`` and the keys in ``props`` are numbers from ``names``:
a graph has a few dozen of them and a row would otherwise repeat each as text.

``props`` is one flat JSON array ``[key, value, key, value, ...]`` with values as
gremlin.codec writes them, in the element's property order. Two shorthands: a key written as
``~key`` (a negative number) holds a gremlinpython ``long`` as a plain JSON number (times and
counters are longs: without it each is a ``{"long": n}`` object to write and to decode); and a
vertex property that must be kept as records (an id given by the writer, meta-properties, two
or more values under one key) is written ``[key], [[id, value], [id, value, [meta key, meta
value, ...]], ...]``: a key inside an array, which a plain key never is.

A vertex row's ``edges`` names the labels of its edges: null for none, else ``[[out labels],
[in labels]]`` (numbers from ``names``), kept when an edge of a new label comes and not
shortened when the last of a label goes. Asking a vertex for edges of a label it has none of
(``bothE('nolink')`` on every identifier a read meets, the in-edges of an event) then reads
nothing from the file.

``value_index`` holds, for each property key something has looked up by value (meta
``indexed``), every vertex's values of it as ``index_value`` gives them: one form for values
Gremlin holds equal (``29``, ``long(29)``, ``29.0``), candidates the caller still compares.

A vertex property held as a bare value has no stored id: its id is derived from the vertex's
key, the property key and the value (gremlin.element_ids.derived_vp_id), as in every store; a
record whose id is that derived one (and has no meta-property) is written as its bare value.
"""

from __future__ import annotations

import decimal
import sqlite3
from typing import Any, Iterable

from gremlin_python.statics import long

from . import codec
from .element_ids import INT64_MAX, INT64_MIN, derived_vp_id
from .errors import GremlinError
from .property_table import EMPTY, PropertyTable
from .storage import VertexPropertyRecord, VertexRecord

__all__ = ["FORMAT_VERSION", "SCHEMA", "VERTEX_COLUMNS", "EDGE_COLUMNS", "Names", "id_column", "typed_id", "encode_vertex_props",
           "decode_vertex_props", "encode_edge_props", "decode_edge_props", "encode_edge_labels",
           "decode_edge_labels", "label_ids", "index_value"]

FORMAT_VERSION = 2

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY NOT NULL, value) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS names (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS vertices (rid INTEGER PRIMARY KEY, key NOT NULL UNIQUE, id TEXT,
    label INTEGER NOT NULL, props TEXT NOT NULL, edges TEXT);
CREATE TABLE IF NOT EXISTS edges (rid INTEGER PRIMARY KEY, key NOT NULL UNIQUE, id TEXT,
    label INTEGER NOT NULL, out_rid INTEGER NOT NULL, in_rid INTEGER NOT NULL, props TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS edges_out ON edges (out_rid, label);
CREATE INDEX IF NOT EXISTS edges_in ON edges (in_rid, label);
CREATE TABLE IF NOT EXISTS value_index (key INTEGER NOT NULL, value NOT NULL, rid INTEGER NOT NULL,
    PRIMARY KEY (key, value, rid)) WITHOUT ROWID;
"""

#: a row's columns, in the order the store reads them
VERTEX_COLUMNS = "rid, key, id, label, props, edges"
EDGE_COLUMNS = "rid, key, id, label, out_rid, in_rid, props"

_loads, _to_json, _dumps_encoded = codec.loads, codec.to_json, codec.dumps_encoded
_EMPTY_PROPS = "[]"


# -- ids -------------------------------------------------------------------------------------

def id_column(id: Any, key: Any) -> str | None:
    """The ``id`` column: None when ``key`` gives ``id`` back with its type."""
    kind = type(id)
    if kind is str or kind is int or type(key) is bytes:
        return None
    return codec.dumps(id)


def typed_id(key: Any, column: str | None) -> Any:
    """The element id a row's ``key`` and ``id`` columns stand for."""
    if column is not None:
        return _loads(column)
    if type(key) is bytes:
        return _loads(key.decode("utf-8"))
    return key


# -- property values in the value index -----------------------------------------------------

def index_value(value: Any) -> Any:
    """A property value as ``value_index`` holds it, or None when it cannot be indexed (a
    look-up of it scans). Numbers equal by value have one form (an INTEGER when integral and
    within 64 bits, else a REAL: equal numbers never part, a few close large ones may meet, and
    candidates are compared anyway); booleans stay apart from 1 and 0; other scalars are their
    tagged JSON as a BLOB, apart from strings."""
    kind = type(value)
    if kind is str:
        return value
    if isinstance(value, bool):
        return b"\x01" if value else b"\x00"
    try:
        if isinstance(value, int):
            return int(value) if INT64_MIN <= value <= INT64_MAX else float(value)
        if isinstance(value, (float, decimal.Decimal)):
            if value != value:  # NaN equals nothing
                return None
            if value == value.to_integral_value() if isinstance(value, decimal.Decimal) else value.is_integer():
                return index_value(int(value))
            return float(value)
        hash(value)
        return codec.dumps(value).encode("utf-8")
    except (TypeError, ValueError, OverflowError, GremlinError):
        return None


# -- names -----------------------------------------------------------------------------------

class _Numbers(dict):
    """Name -> number; a name not numbered yet gets the next number when first asked for, so
    the encoders look every key up with ``numbers[name]`` (a dict look-up in C, no call)."""

    __slots__ = ("names",)

    def __init__(self, names: "Names"):
        super().__init__()
        self.names = names

    def __missing__(self, name: str) -> int:
        names = self.names
        number = self[name] = len(names.by_id)
        names.by_id.append(name)
        names.unwritten.append((number, name))
        return number


class Names:
    """Labels and property keys by number and back. A name met for the first time gets the
    next number at once and is written with the transaction that first stores it."""

    def __init__(self) -> None:
        self.by_id: list[str | None] = []
        #: name -> number, numbering a new name when it is looked up (``numbers[name]``)
        self.numbers = _Numbers(self)
        self.unwritten: list[tuple[int, str]] = []
        #: a vertex row's ``edges`` text -> its labels decoded (decode_edge_labels); numbers
        #: mean the same names until the next load (a failed transaction's names are dropped)
        self.label_sets: dict[str, tuple] = {}

    def load(self, conn: sqlite3.Connection) -> None:
        import sys
        self.by_id, self.unwritten = [], []
        self.label_sets = {}
        self.numbers = _Numbers(self)
        for number, name in conn.execute("SELECT id, name FROM names ORDER BY id"):
            name = sys.intern(name)
            self.by_id.extend([None] * (number + 1 - len(self.by_id)))
            self.by_id[number] = name
            dict.__setitem__(self.numbers, name, number)

    def id(self, name: str) -> int:
        return self.numbers[name]

    def known(self, name: str) -> int | None:
        """The number of a name already stored or about to be, else None."""
        return self.numbers.get(name)

    def write(self, conn: sqlite3.Connection) -> None:
        if self.unwritten:
            conn.executemany("INSERT INTO names (id, name) VALUES (?, ?)", self.unwritten)
            self.unwritten = []


# -- vertex property ids -----------------------------------------------------------------------

def _derivable(vertex: VertexRecord, vp: VertexPropertyRecord) -> bool:
    """A record that can be stored as its bare value: its id is the derived one, no meta."""
    return not vp.meta and type(vp.value) is not tuple and vp.id == derived_vp_id(vertex.id, vp.key, vp.value)


# -- properties as rows --------------------------------------------------------------------------

def _flat_values(table: Any, names: Names, flat: list) -> None:
    numbers = names.numbers
    for key, value in table.items():
        if type(value) is long:
            flat.append(~numbers[key])
            flat.append(int(value))
        else:
            flat.append(numbers[key])
            flat.append(_to_json(value))


def encode_vertex_props(vertex: VertexRecord, names: Names) -> str:
    """A vertex's properties as its ``props`` column."""
    props = vertex.props
    if not props:
        return _EMPTY_PROPS
    numbers = names.numbers
    flat: list = []
    for key, held in props.items():
        kind = type(held)
        if kind is str:  # most values: the one kind that is its own JSON value
            flat.append(numbers[key])
            flat.append(held)
            continue
        if kind is VertexPropertyRecord and _derivable(vertex, held):
            held = held.value
            kind = type(held)
        if kind is VertexPropertyRecord or kind is tuple:
            records = (held,) if kind is VertexPropertyRecord else held
            flat.append([numbers[key]])
            flat.append([_record_entry(vp, names) for vp in records])
        elif kind is long:
            flat.append(~numbers[key])
            flat.append(int(held))
        else:
            flat.append(numbers[key])
            flat.append(_to_json(held))
    return _dumps_encoded(flat)


def _record_entry(vp: VertexPropertyRecord, names: Names) -> list:
    if not vp.meta:
        return [_to_json(vp.id), _to_json(vp.value)]
    meta: list = []
    _flat_values(vp.meta, names, meta)
    return [_to_json(vp.id), _to_json(vp.value), meta]


#: Longs decoded lately, one object per value (bounded: emptied when full). A walk meets the same
#: times on an identifier and on its links (an event's time is the link's first_seen and its
#: ends'); each long is an object the cyclic collector tracks (gremlinpython's ``long`` has a
#: ``__dict__``) and that every full collection walks while its record is cached.
_LONGS: dict[int, long] = {}
_LONGS_KEPT = 4_096


def _shared_long(value: int) -> long:
    found = _LONGS.get(value)
    if found is None:
        if len(_LONGS) >= _LONGS_KEPT:
            _LONGS.clear()
        found = _LONGS[value] = long(value)
    return found


def _value_pairs(flat: list, by_id: list) -> list:
    out: list = []
    for position in range(0, len(flat), 2):
        number = flat[position]
        if number >= 0:
            out.append(by_id[number])
            out.append(flat[position + 1])
        else:
            out.append(by_id[~number])
            out.append(_shared_long(flat[position + 1]))
    return out


def decode_vertex_props(vertex: VertexRecord, text: str, names: Names) -> PropertyTable:
    """The PropertyTable a ``props`` column holds, its records owned by ``vertex``."""
    if text == _EMPTY_PROPS:
        return EMPTY
    flat = _loads(text)
    by_id = names.by_id
    out: list = []
    for position in range(0, len(flat), 2):
        number = flat[position]
        value = flat[position + 1]
        if type(number) is int:
            if number >= 0:
                out.append(by_id[number])
                out.append(value)
            else:
                out.append(by_id[~number])
                out.append(_shared_long(value))
            continue
        key = by_id[number[0]]
        records = tuple(VertexPropertyRecord(entry[0], key, entry[1], vertex,
                                             PropertyTable(_value_pairs(entry[2], by_id)) if len(entry) > 2 else None)
                        for entry in value)
        out.append(key)
        out.append(records[0] if len(records) == 1 else records)
    return PropertyTable(out)


def encode_edge_props(table: PropertyTable, names: Names) -> str:
    if not table:
        return _EMPTY_PROPS
    flat: list = []
    _flat_values(table, names, flat)
    return _dumps_encoded(flat)


def decode_edge_props(text: str, names: Names) -> PropertyTable:
    if text == _EMPTY_PROPS:
        return EMPTY
    return PropertyTable(_value_pairs(_loads(text), names.by_id))


def encode_edge_labels(labels: tuple[tuple[str, ...], tuple[str, ...]], names: Names) -> str | None:
    """A vertex's ``edges`` column: the labels of its outgoing and incoming edges."""
    if not labels[0] and not labels[1]:
        return None
    numbers = names.numbers
    return _dumps_encoded([[numbers[label] for label in side] for side in labels])


_NO_LABELS: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
#: distinct ``edges`` texts decoded once each per Names (a graph's vertices share a few dozen)
_LABEL_SETS_KEPT = 1024


def decode_edge_labels(text: str | None, names: Names) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if text is None:
        return _NO_LABELS
    found = names.label_sets.get(text)
    if found is None:
        by_id = names.by_id
        out, in_ = _loads(text)
        found = tuple(by_id[number] for number in out), tuple(by_id[number] for number in in_)
        if len(names.label_sets) < _LABEL_SETS_KEPT:
            names.label_sets[text] = found
    return found


def label_ids(names: Names, labels: Iterable[str]) -> list[int]:
    """The numbers of the labels that have one (a label never stored has no edges)."""
    found = []
    for label in labels:
        number = names.known(label)
        if number is not None:
            found.append(number)
    return found
