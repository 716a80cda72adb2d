"""A GraphBinary reader for the driver's responses that decodes the common values in one pass
over the bytes.

gremlinpython's GraphBinaryReader reads every value through a BytesIO, a class per type and a
null check each: about 1.5 µs per value, so a batch read of a few hundred identifiers (their
element maps, thousands of strings and numbers) costs the client 10 to 15 ms to decode, as much
as the graph server spends answering it. This reader walks the bytes with an index for strings,
numbers, booleans, lists, sets, maps, traversers, nulls and the T and Direction tokens (what
element maps, projections and folds are made of) and edges (a walk's links, as resolve_many
gets them), and hands any other type to gremlinpython's reader at that position, so it returns
exactly what gremlinpython's reader returns.

    DriverRemoteConnection(url, "g", message_serializer=GraphBinarySerializersV1(reader=FastReader()))
"""

from __future__ import annotations

import io
import struct
from typing import Any, Callable

from gremlin_python.process.traversal import Direction, T, Traverser
from gremlin_python.structure.graph import Edge, Vertex
from gremlin_python.structure.io import graphbinaryV1 as gb
from gremlin_python.structure.io.util import HashableDict, SymbolUtil

__all__ = ["FastReader"]

_INT = struct.Struct(">i").unpack_from
_LONG = struct.Struct(">q").unpack_from
_DOUBLE = struct.Struct(">d").unpack_from
_FLOAT = struct.Struct(">f").unpack_from
_INT_CODE, _LONG_CODE, _STRING, _DOUBLE_CODE, _FLOAT_CODE = 0x01, 0x02, 0x03, 0x07, 0x08
_LIST, _MAP, _SET, _DIRECTION, _T, _TRAVERSER, _BOOLEAN, _NULL = 0x09, 0x0A, 0x0B, 0x18, 0x20, 0x21, 0x27, 0xFE
_EDGE = 0x0D


def _token(enum: Any, convert: Callable[[str], str]) -> Callable[[str], Any]:
    names: dict[str, Any] = {}

    def member(name: str) -> Any:
        found = names.get(name)
        if found is None:
            found = names[name] = enum[convert(name)]
        return found
    return member


_T_MEMBER = _token(T, SymbolUtil.to_snake_case)
_DIRECTION_MEMBER = _token(Direction, str)


class FastReader(gb.GraphBinaryReader):
    def to_object(self, buff: Any, data_type: Any = None, nullable: bool = True) -> Any:
        if data_type is not None or type(buff) is not io.BytesIO:
            return super().to_object(buff, data_type, nullable)
        data = buff.getvalue()
        value, end = self._read(data, buff.tell(), buff)
        buff.seek(end)
        return value

    def _generic(self, data: bytes, pos: int, buff: io.BytesIO) -> tuple[Any, int]:
        """A value of a type read here only by gremlinpython's reader (its nested values come
        back through to_object)."""
        buff.seek(pos)
        value = super().to_object(buff)
        return value, buff.tell()

    def _read(self, data: bytes, pos: int, buff: io.BytesIO) -> tuple[Any, int]:
        code = data[pos]
        if code not in _CODES:
            return self._generic(data, pos, buff)
        if code == _NULL or data[pos + 1] == 0x01:  # the value flag says null
            return None, pos + 2
        pos += 2
        if code == _STRING:
            size = _INT(data, pos)[0]
            pos += 4
            return data[pos:pos + size].decode("utf-8"), pos + size
        if code == _MAP:
            size = _INT(data, pos)[0]
            pos += 4
            read = self._read
            out: dict = {}
            for _ in range(size):
                key, pos = read(data, pos, buff)
                value, pos = read(data, pos, buff)
                out[key if type(key) is str else HashableDict.of(key)] = value
            return out, pos
        if code == _LIST or code == _SET:
            size = _INT(data, pos)[0]
            pos += 4
            read = self._read
            items = []
            for _ in range(size):
                item, pos = read(data, pos, buff)
                items.append(item)
            if code == _LIST:
                return items, pos
            try:
                return set(items), pos
            except TypeError:  # unhashable members: gremlinpython keeps the list (TINKERPOP-3232)
                return items, pos
        if code == _INT_CODE:
            return _INT(data, pos)[0], pos + 4
        if code == _LONG_CODE:
            return _LONG(data, pos)[0], pos + 8
        if code == _BOOLEAN:
            return data[pos] == 0x01, pos + 1
        if code == _TRAVERSER:
            bulk = _LONG(data, pos)[0]
            value, pos = self._read(data, pos + 8, buff)
            return Traverser(value, bulk=bulk), pos
        if code == _T or code == _DIRECTION:
            name, pos = self._read(data, pos, buff)
            return (_T_MEMBER if code == _T else _DIRECTION_MEMBER)(name), pos
        if code == _EDGE:
            return self._edge(data, pos, buff)
        if code == _DOUBLE_CODE:
            return _DOUBLE(data, pos)[0], pos + 8
        return _FLOAT(data, pos)[0], pos + 4  # the last of _CODES

    def _edge(self, data: bytes, pos: int, buff: io.BytesIO) -> tuple[Edge, int]:
        """An edge's value (after its type code and flag): its id, label, in and out vertices
        (each an id and a label), a parent (always null: two bytes) and its properties."""
        read = self._read
        edge_id, pos = read(data, pos, buff)
        label, pos = _bare_string(data, pos)
        in_id, pos = read(data, pos, buff)
        in_label, pos = _bare_string(data, pos)
        out_id, pos = read(data, pos, buff)
        out_label, pos = _bare_string(data, pos)
        properties, pos = read(data, pos + 2, buff)
        return Edge(edge_id, Vertex(out_id, out_label), label, Vertex(in_id, in_label),
                    [] if properties is None else properties), pos


def _bare_string(data: bytes, pos: int) -> tuple[str, int]:
    """A string written without its type code and flag (an element's label)."""
    size = _INT(data, pos)[0]
    pos += 4
    return data[pos:pos + size].decode("utf-8"), pos + size


#: the types read here; every other goes to gremlinpython's reader
_CODES = frozenset({_INT_CODE, _LONG_CODE, _STRING, _DOUBLE_CODE, _FLOAT_CODE, _LIST, _MAP, _SET, _DIRECTION, _T,
                    _TRAVERSER, _BOOLEAN, _NULL, _EDGE})
