"""GraphBinary v1 (``application/vnd.graphbinary-v1.0``): request reader, response writer.

Values go through gremlinpython's own GraphBinaryReader/Writer; this module adds what the
driver never needs to read (P, TextP, strategies, classes, lambdas, enums whose Python names
carry a trailing underscore) and writes elements with their properties, as Gremlin Server
3.7 does, instead of gremlinpython's property-less form.

The added readers and writers are plain classes passed to the reader/writer as maps: the
gremlinpython base classes register themselves globally, and the driver running in the
same process must keep its own behaviour.
"""

from __future__ import annotations

import io
import struct
import uuid
from decimal import Decimal
from typing import Any, BinaryIO

from gremlin_python.process.traversal import P, TextP, Traverser
from gremlin_python.structure.graph import Edge, Property, Vertex, VertexProperty
from gremlin_python.structure.io import graphbinaryV1 as gb
from gremlin_python.structure.io.graphbinaryV1 import DataType

from ..errors import GremlinError, ServerSerializationError
from . import tokens
from .protocol import RequestDecodeError, RequestMessage, ResponseMessage, Status

__all__ = ["GraphBinaryCodec", "MIME_TYPE"]

MIME_TYPE = "application/vnd.graphbinary-v1.0"
_VERSION = 0x81
_NULL = bytes([DataType.null.value, 0x01])
_INT32 = (-2**31, 2**31 - 1)
_INT64 = (-2**63, 2**63 - 1)


def _nullable(buff: BinaryIO, nullable: bool) -> bool:
    """True when the value flag says null (only nullable values carry the flag)."""
    return nullable and buff.read(1) == b"\x01"


def _bare_string(buff: BinaryIO) -> str:
    (length,) = struct.unpack(">i", buff.read(4))
    if length < 0:
        raise ServerSerializationError("Negative string length")
    return buff.read(length).decode("utf-8")


def _int32(buff: BinaryIO) -> int:
    (value,) = struct.unpack(">i", buff.read(4))
    return value


# ---- readers gremlinpython lacks -------------------------------------------------------------

class _PredicateReader:
    kind: type[P] = P

    @classmethod
    def objectify(cls, buff: BinaryIO, reader: Any, nullable: bool = True) -> Any:
        if _nullable(buff, nullable):
            return None
        operator = _bare_string(buff)
        args = [reader.read_object(buff) for _ in range(_int32(buff))]
        return tokens.predicate(cls.kind, operator, args)


class _TextPredicateReader(_PredicateReader):
    kind = TextP


class _StrategyReader:
    @classmethod
    def objectify(cls, buff: BinaryIO, reader: Any, nullable: bool = True) -> Any:
        if _nullable(buff, nullable):
            return None
        fqcn = _bare_string(buff)
        config = reader.to_object(buff, DataType.map, False)
        return tokens.strategy(fqcn, config)


class _ClassReader:
    """withoutStrategies(SomeStrategy) sends classes; the engine only needs their names."""

    @classmethod
    def objectify(cls, buff: BinaryIO, reader: Any, nullable: bool = True) -> Any:
        return None if _nullable(buff, nullable) else _bare_string(buff)


class _LambdaReader:
    @classmethod
    def objectify(cls, buff: BinaryIO, reader: Any, nullable: bool = True) -> Any:
        if _nullable(buff, nullable):
            return None
        language = _bare_string(buff)
        script = _bare_string(buff)
        return tokens.reject_lambda(script, language)


def _enum_reader(enum: Any) -> type:
    class _EnumReader:
        @classmethod
        def objectify(cls, buff: BinaryIO, reader: Any, nullable: bool = True) -> Any:
            if _nullable(buff, nullable):
                return None
            return tokens.enum_member(enum, reader.read_object(buff))
    return _EnumReader


_READERS: dict[Any, Any] = {
    DataType.p: _PredicateReader,
    DataType.textp: _TextPredicateReader,
    DataType.traversalstrategy: _StrategyReader,
    DataType.clazz: _ClassReader,
    DataType.lambda_: _LambdaReader,
    **{getattr(DataType, name.lower()): _enum_reader(enum) for name, enum in tokens.ENUMS.items()},
}


# ---- writers: Gremlin Server 3.7 shapes ------------------------------------------------------
# A response is mostly traversers of elements, their ids, labels and property values: those
# writers spell their bytes out rather than take gremlinpython's generic path, whose type
# codes are enum look-ups, for that is most of a traversal's serialization time.

_INT32_PACK = struct.Struct(">i").pack
_INT64_PACK = struct.Struct(">q").pack
_CODE = {name: getattr(DataType, name).value for name in (
    "int", "long", "biginteger", "string", "list", "vertex", "edge", "vertexproperty", "property",
    "traverser", "bigdecimal")}


def _prefix(code: int, to_extend: bytearray, as_value: bool, nullable: bool) -> None:
    if not as_value:
        to_extend.append(code)
    if nullable:
        to_extend.append(0x00)


def _bare(text: str, to_extend: bytearray) -> None:
    """A string's bytes without type code or null flag, as labels and keys are written."""
    data = text.encode("utf-8")
    to_extend += _INT32_PACK(len(data))
    to_extend += data


_STRING_PREFIX = bytes([_CODE["string"], 0x00])
_INT_PREFIX = bytes([_CODE["int"], 0x00])
_EMPTY_LIST = bytes([_CODE["list"], 0x00]) + _INT32_PACK(0)


def _write_value(value: Any, writer: Any, to_extend: bytearray) -> None:
    """writer.to_dict(value), with the hot types written here rather than through the
    writer's dispatch: ids and property values (strings, small ints), a vertex's properties."""
    kind = type(value)
    if kind is str:
        to_extend += _STRING_PREFIX
        _bare(value, to_extend)
    elif kind is int and _INT32[0] <= value <= _INT32[1]:
        to_extend += _INT_PREFIX
        to_extend += _INT32_PACK(value)
    elif kind is VertexProperty:
        _VertexPropertyWriter.dictify(value, writer, to_extend)
    else:
        writer.to_dict(value, to_extend)


def _write_properties(properties: Any, writer: Any, to_extend: bytearray) -> None:
    # None means "not materialized" (references only), which the format writes as null.
    if properties is None:
        to_extend += _NULL
    elif not properties:
        to_extend += _EMPTY_LIST
    else:
        _ListWriter.dictify(properties, writer, to_extend)


class _StringWriter:
    @classmethod
    def dictify(cls, obj: str, writer: Any, to_extend: bytearray, as_value: bool = False,
                nullable: bool = True) -> bytearray:
        _prefix(_CODE["string"], to_extend, as_value, nullable)
        _bare(obj, to_extend)
        return to_extend


class _ListWriter:
    @classmethod
    def dictify(cls, obj: Any, writer: Any, to_extend: bytearray, as_value: bool = False,
                nullable: bool = True) -> bytearray:
        _prefix(_CODE["list"], to_extend, as_value, nullable)
        to_extend += _INT32_PACK(len(obj))
        for item in obj:
            _write_value(item, writer, to_extend)
        return to_extend


class _IntegerWriter:
    """Python ints as Int, Long or BigInteger by magnitude (gremlinpython packs all as Int)."""

    @classmethod
    def dictify(cls, obj: int, writer: Any, to_extend: bytearray, as_value: bool = False,
                nullable: bool = True) -> bytearray:
        if _INT32[0] <= obj <= _INT32[1]:
            _prefix(_CODE["int"], to_extend, as_value, nullable)
            to_extend += _INT32_PACK(obj)
        elif _INT64[0] <= obj <= _INT64[1]:
            _prefix(_CODE["long"], to_extend, as_value, nullable)
            to_extend += _INT64_PACK(obj)
        else:
            _prefix(_CODE["biginteger"], to_extend, as_value, nullable)
            gb.BigIntIO.write_bigint(obj, to_extend)
        return to_extend


class _VertexWriter:
    @classmethod
    def dictify(cls, obj: Vertex, writer: Any, to_extend: bytearray, as_value: bool = False,
                nullable: bool = True) -> bytearray:
        _prefix(_CODE["vertex"], to_extend, as_value, nullable)
        _write_value(obj.id, writer, to_extend)
        _bare(obj.label, to_extend)
        _write_properties(obj.properties, writer, to_extend)
        return to_extend


class _EdgeWriter:
    @classmethod
    def dictify(cls, obj: Edge, writer: Any, to_extend: bytearray, as_value: bool = False,
                nullable: bool = True) -> bytearray:
        _prefix(_CODE["edge"], to_extend, as_value, nullable)
        _write_value(obj.id, writer, to_extend)
        _bare(obj.label, to_extend)
        _write_value(obj.inV.id, writer, to_extend)
        _bare(obj.inV.label, to_extend)
        _write_value(obj.outV.id, writer, to_extend)
        _bare(obj.outV.label, to_extend)
        to_extend += _NULL  # parent
        _write_properties(obj.properties, writer, to_extend)
        return to_extend


class _VertexPropertyWriter:
    @classmethod
    def dictify(cls, obj: VertexProperty, writer: Any, to_extend: bytearray, as_value: bool = False,
                nullable: bool = True) -> bytearray:
        _prefix(_CODE["vertexproperty"], to_extend, as_value, nullable)
        _write_value(obj.id, writer, to_extend)
        _bare(obj.label, to_extend)
        _write_value(obj.value, writer, to_extend)
        to_extend += _NULL  # parent
        _write_properties(obj.properties, writer, to_extend)
        return to_extend


class _PropertyWriter:
    @classmethod
    def dictify(cls, obj: Property, writer: Any, to_extend: bytearray, as_value: bool = False,
                nullable: bool = True) -> bytearray:
        _prefix(_CODE["property"], to_extend, as_value, nullable)
        _bare(obj.key, to_extend)
        _write_value(obj.value, writer, to_extend)
        to_extend += _NULL  # parent
        return to_extend


class _TraverserWriter:
    @classmethod
    def dictify(cls, obj: Traverser, writer: Any, to_extend: bytearray, as_value: bool = False,
                nullable: bool = True) -> bytearray:
        _prefix(_CODE["traverser"], to_extend, as_value, nullable)
        to_extend += _INT64_PACK(int(obj.bulk))
        _write_value(obj.object, writer, to_extend)
        return to_extend


class _TupleWriter:
    @classmethod
    def dictify(cls, obj: tuple, writer: Any, to_extend: bytearray, as_value: bool = False,
                nullable: bool = True) -> bytearray:
        return _ListWriter.dictify(obj, writer, to_extend, as_value, nullable)


class _FrozenSetWriter:
    @classmethod
    def dictify(cls, obj: frozenset, writer: Any, to_extend: bytearray, as_value: bool = False,
                nullable: bool = True) -> bytearray:
        return gb.SetDeserializer.dictify(set(obj), writer, to_extend, as_value, nullable)


class _DecimalWriter:
    @classmethod
    def dictify(cls, obj: Decimal, writer: Any, to_extend: bytearray, as_value: bool = False,
                nullable: bool = True) -> bytearray:
        sign, digits, exponent = obj.as_tuple()
        if not isinstance(exponent, int):
            raise ServerSerializationError(f"{obj} has no BigDecimal representation")
        unscaled = int("".join(map(str, digits)) or "0") * (-1 if sign else 1)
        _prefix(_CODE["bigdecimal"], to_extend, as_value, nullable)
        to_extend.extend(struct.pack(">i", -exponent))
        gb.BigIntIO.write_bigint(unscaled, to_extend)
        return to_extend


def client_writer() -> gb.GraphBinaryWriter:
    """gremlinpython's writer plus decimal.Decimal (BigDecimal), which it cannot send itself,
    and Python ints sized by magnitude: gremlinpython packs a plain int as a 32-bit Int and
    fails on anything larger (an epoch-milliseconds timestamp)."""
    return gb.GraphBinaryWriter({Decimal: _DecimalWriter, int: _IntegerWriter})


class _StrictWriter(gb.GraphBinaryWriter):
    """gremlinpython's writer silently writes nothing for a type it does not know, which
    corrupts the rest of the frame; this one refuses instead."""

    def to_dict(self, obj: Any, to_extend: bytearray | None = None) -> bytearray:
        if to_extend is None:
            to_extend = bytearray()
        if obj is None:
            to_extend.extend(_NULL)
            return to_extend
        serializer = self.serializers.get(type(obj))
        if serializer is None:
            serializer = next((s for t, s in self.serializers.items() if isinstance(obj, t)), None)
        if serializer is None:
            raise ServerSerializationError(
                f"Error during serialization: no GraphBinary form for a {type(obj).__name__} value")
        serializer.dictify(obj, self, to_extend)
        return to_extend


_WRITERS: dict[type, Any] = {
    str: _StringWriter, list: _ListWriter, int: _IntegerWriter, Decimal: _DecimalWriter, Vertex: _VertexWriter, Edge: _EdgeWriter, VertexProperty: _VertexPropertyWriter,
    Property: _PropertyWriter, Traverser: _TraverserWriter, tuple: _TupleWriter, frozenset: _FrozenSetWriter,
}


# ---- envelopes -------------------------------------------------------------------------------

class GraphBinaryCodec:
    mime_type = MIME_TYPE

    def __init__(self) -> None:
        self._reader = gb.GraphBinaryReader(_READERS)
        self._writer = _StrictWriter(_WRITERS)

    def decode_request(self, payload: bytes) -> RequestMessage:
        if len(payload) < 17:
            raise RequestDecodeError("The GraphBinary request is shorter than its header")
        if payload[0] != _VERSION:
            raise RequestDecodeError(f"Unsupported GraphBinary request version 0x{payload[0]:02x}")
        request_id = uuid.UUID(bytes=payload[1:17])
        buff = io.BytesIO(payload)
        buff.seek(17)
        try:
            op = _bare_string(buff)
            processor = _bare_string(buff)
        except (struct.error, UnicodeDecodeError, GremlinError) as error:
            raise RequestDecodeError(f"Malformed GraphBinary request header: {error}",
                                     request_id=request_id) from None
        try:
            args: dict[str, Any] = {}
            for _ in range(_int32(buff)):
                key = self._reader.read_object(buff)
                args[str(key)] = self._reader.read_object(buff)
        except GremlinError as error:
            # e.g. a lambda (597) or an unknown enum name (599): keep the status, add the id
            raise RequestDecodeError(str(error), status=error.status, request_id=request_id,
                                     exception_class=error.exception_class) from None
        except (struct.error, ValueError, KeyError, IndexError, TypeError, AttributeError,
                UnicodeDecodeError, RecursionError) as error:
            raise RequestDecodeError(f"Cannot read the GraphBinary request arguments: {error}",
                                     status=Status.SERIALIZATION_ERROR, request_id=request_id) from None
        return RequestMessage(request_id, op, processor, args)

    def encode_response(self, response: ResponseMessage) -> bytes:
        out = bytearray([_VERSION])
        if response.request_id is None:
            out.append(0x01)
        else:
            out.append(0x00)
            out.extend(response.request_id.bytes)
        out.extend(struct.pack(">i", response.code))
        _StringWriter.dictify(response.message or "", self._writer, out, True, True)
        try:
            gb.MapIO.dictify(response.attributes, self._writer, out, True, False)
            gb.MapIO.dictify(response.meta, self._writer, out, True, False)
            self._writer.to_dict(response.data, out)
        except (struct.error, ValueError, TypeError, AttributeError, OverflowError, RecursionError) as error:
            raise ServerSerializationError(
                f"Error during serialization: {type(error).__name__}: {error}") from error
        return bytes(out)
