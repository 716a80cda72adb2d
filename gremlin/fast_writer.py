"""A GraphBinary writer for the driver's requests that writes the common values in one function,
and a driver connection that spares each request the text of its bytecode.

gremlinpython's GraphBinaryWriter writes every value through a class per type (a dictionary
look-up, a classmethod call and a prefix built by two packs): about 4 ms for the 100 KB write an
ingest of 20 events sends, a fifth of the service's CPU per event on a graph server. This writer
writes strings, integers, booleans, None, lists, maps, bytecode (child traversals and
``CardinalityValue`` included), predicates (``P``, not ``TextP``) and the enum tokens (T, Direction,
Cardinality, Merge, ...) itself, the encodings of names that recur from request to request (map keys,
labels and property keys among the values, instruction names: about a third of a resolve walk's
write) kept, and hands any other value to gremlinpython's writer (with gremlin.server.graphbinary's ints and
decimals), whose containers come back here for their members: the bytes are exactly those
``client_writer()`` writes (tests/test_fast_writer.py compares them).

gremlin.connect writes requests with it on both clients (the lean ``ServerRemoteConnection`` and,
with ``driver=gremlinpython``, gremlinpython's driver). That driver also makes the text of each
request's bytecode three times, for debug log lines, whether or not they are logged: as long
again as writing it. ``QuietDriverConnection``, what gremlin.connect gives for it, sends the
bytecode in a ``Bytecode`` whose text is made only when gremlinpython's logger would print it.

    DriverRemoteConnection(url, "g", message_serializer=GraphBinarySerializersV1(writer=FastWriter()))
"""

from __future__ import annotations

import logging
import struct
from typing import Any, Callable

from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection
from gremlin_python.process.traversal import P, Bytecode, CardinalityValue, Traversal
from gremlin_python.statics import long
from gremlin_python.structure.io import graphbinaryV1 as gb
from gremlin_python.structure.io.util import SymbolUtil

from .server.graphbinary import client_writer

__all__ = ["FastWriter", "QuietBytecode", "QuietDriverConnection"]

_I32 = struct.Struct(">i").pack
_I64 = struct.Struct(">q").pack
_INT_MIN, _INT_MAX = -2 ** 31, 2 ** 31 - 1
_LONG_MIN, _LONG_MAX = -2 ** 63, 2 ** 63 - 1
_NULL = bytes(gb.NULL_BYTES)
_STRING, _INT, _LONG, _LIST, _MAP, _BYTECODE = b"\x03\x00", b"\x01\x00", b"\x02\x00", b"\x09\x00", b"\x0a\x00", b"\x15\x00"
_TRUE, _FALSE = b"\x27\x00\x01", b"\x27\x00\x00"
_P = bytes((gb.DataType.p.value, 0))
#: strings this long or shorter are kept encoded (map keys, names among values; not element ids, the keys
#: of ``own`` maps), this many
_KEY_LENGTH, _KEYS_KEPT = 32, 1024


def _string(value: str) -> bytes:
    """A string as a bare value (no type code): its length, then its UTF-8 bytes."""
    data = value.encode("utf-8")
    return _I32(len(data)) + data


#: CardinalityValue.single(v) is bytecode with no steps and one source instruction of two arguments
_CARDINALITY_VALUE = _BYTECODE + _I32(0) + _I32(1) + _string("CardinalityValueTraversal") + _I32(2)


class FastWriter(gb.GraphBinaryWriter):
    """``client_writer()``'s bytes, the common values written without its per-type dispatch."""

    def __init__(self) -> None:
        super().__init__(client_writer().serializers)
        token_types = {python_type: io.graphbinary_type.value for python_type, io in self.serializers.items()
                       if isinstance(io, type) and issubclass(io, gb._EnumIO)}
        #: each enum token's whole encoding (type code, value flag, its camelCase name), by the
        #: member's id: the members are the classes' own, and aenum hashes in Python
        self._tokens = {id(member): bytes((code, 0)) + _STRING + _string(SymbolUtil.to_camel_case(str(member.name)))
                        for python_type, code in token_types.items() for member in python_type}
        self._token_types = frozenset(token_types)
        self.to_dict = self._writer()  # type: ignore[method-assign]

    def _writer(self) -> Callable[..., Any]:
        """The one function that writes a value (``to_dict``), its look-ups bound once."""
        tokens, token_types = self._tokens, self._token_types
        generic = super().to_dict
        traversal = Traversal
        #: the encodings of recurring strings: map keys (property names, "search", "create": a few,
        #: in every row of a write) and the short names among values (labels, property keys, side
        #: effect keys: a walk's bytecode repeats them in every request), up to _KEYS_KEPT
        strings: dict[str, bytes] = {}
        #: instruction and predicate names, bare (no type code): a closed set, written in every request
        names: dict[str, bytes] = {}

        def name(text: str) -> bytes:
            data = _string(text)
            if len(names) < _KEYS_KEPT:
                names[text] = data
            return data

        def write(obj: Any, out: bytearray | None = None) -> Any:
            if out is None:
                out = bytearray()
            kind = type(obj)
            if kind is str:
                data = strings.get(obj)
                if data is None:
                    data = _STRING + _string(obj)
                    # a name, not a value: values (ids, sealed cells, emails) seldom recur
                    if len(obj) <= _KEY_LENGTH and obj.isidentifier() and len(strings) < _KEYS_KEPT:
                        strings[obj] = data
                out += data
            elif kind is dict:
                out += _MAP
                out += _I32(len(obj))
                for key, value in obj.items():
                    if type(key) is str:  # the keys of a request's maps are few, and recur in every row
                        data = strings.get(key)
                        if data is None:
                            data = _STRING + _string(key)
                            if len(key) <= _KEY_LENGTH and len(strings) < _KEYS_KEPT:
                                strings[key] = data
                        out += data
                    else:
                        write(key, out)
                    write(value, out)
            elif kind is list:
                out += _LIST
                out += _I32(len(obj))
                for item in obj:
                    write(item, out)
            elif kind is int and _INT_MIN <= obj <= _INT_MAX:
                out += _INT
                out += _I32(obj)
            elif (kind is long or kind is int) and _LONG_MIN <= obj <= _LONG_MAX:
                out += _LONG
                out += _I64(obj)
            elif kind in token_types:
                out += tokens[id(obj)]
            elif kind is CardinalityValue:  # a property value with its cardinality: one instruction
                instruction = obj.source_instructions[0] if len(obj.source_instructions) == 1 else ()
                cardinality = tokens.get(id(instruction[1])) if len(instruction) == 3 else None
                if cardinality is None or obj.step_instructions:
                    write_bytecode(obj, out)
                else:
                    out += _CARDINALITY_VALUE
                    out += cardinality
                    write(instruction[2], out)
            elif kind is bool:
                out += _TRUE if obj else _FALSE
            elif kind is P:  # a predicate (not a TextP): its operator, then its arguments, as gremlinpython's
                out += _P
                out += names.get(obj.operator) or name(obj.operator)
                if obj.other is not None:
                    arguments = [obj.value, obj.other]
                else:
                    arguments = obj.value if isinstance(obj.value, list) else [obj.value]
                out += _I32(len(arguments))
                for argument in arguments:
                    write(argument, out)
            elif obj is None:
                out += _NULL
                return None  # as gremlinpython's writer answers for None
            elif isinstance(obj, (Bytecode, traversal)):
                write_bytecode(obj.bytecode if isinstance(obj, traversal) else obj, out)
            else:
                return generic(obj, out)
            return out

        def write_bytecode(bytecode: Bytecode, out: bytearray) -> None:
            out += _BYTECODE
            for instructions, source in ((bytecode.step_instructions, False), (bytecode.source_instructions, True)):
                out += _I32(len(instructions))
                for instruction, *args in instructions:
                    out += names.get(instruction) or name(instruction)
                    out += _I32(len(args))
                    for arg in args:
                        if source and isinstance(arg, type):  # a class, as gremlinpython names it
                            generic(gb.GremlinType(arg().fqcn), out)
                        else:
                            write(arg, out)

        return write


class QuietBytecode(Bytecode):
    """Bytecode whose text is made only when gremlinpython's logger prints debug lines (its
    driver makes the text of every request for them, printed or not)."""

    def __repr__(self) -> str:
        if _DRIVER_LOG.isEnabledFor(logging.DEBUG):
            return super().__repr__()
        return f"<bytecode of {len(self.step_instructions)} steps>"

    @classmethod
    def of(cls, bytecode: Bytecode) -> "QuietBytecode":
        quiet = cls()
        quiet.source_instructions = bytecode.source_instructions
        quiet.step_instructions = bytecode.step_instructions
        quiet.bindings = bytecode.bindings
        return quiet


_DRIVER_LOG = logging.getLogger("gremlinpython")


class QuietDriverConnection(DriverRemoteConnection):
    """gremlinpython's driver connection, sending each traversal as a QuietBytecode."""

    def submit(self, bytecode: Bytecode) -> Any:
        return super().submit(QuietBytecode.of(bytecode))

    def submit_async(self, bytecode: Bytecode) -> Any:
        return super().submit_async(QuietBytecode.of(bytecode))
