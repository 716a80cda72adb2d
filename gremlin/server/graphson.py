"""GraphSON v3 (``application/vnd.gremlin-v3.0+json``) and v2 (``...-v2.0+json``) envelopes.

Values go through gremlinpython's GraphSON readers and writers; this module adds the readers
the driver never needs (Bytecode, P, TextP, Binding, strategies, enums) and writes elements
with their properties and paths, which gremlinpython's writer cannot, in the shapes Gremlin
Server 3.7 produces. Unknown ``@type`` tags are refused rather than read as plain maps.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from aenum import Enum

from gremlin_python.process.traversal import Binding, Bytecode, P, TextP, Traverser
from gremlin_python.structure.graph import Edge, Path, Property, Vertex, VertexProperty
from gremlin_python.structure.io import graphsonV2d0, graphsonV3d0

from ..errors import GremlinError, ServerSerializationError
from . import tokens
from .protocol import RequestDecodeError, RequestMessage, ResponseMessage, Status

__all__ = ["GraphSONCodec", "MIME_V2", "MIME_V3"]

MIME_V3 = "application/vnd.gremlin-v3.0+json"
MIME_V2 = "application/vnd.gremlin-v2.0+json"


def _typed(tag: str, value: Any) -> dict:
    return {"@type": tag, "@value": value}


# ---- reading ---------------------------------------------------------------------------------

def _read_bytecode(value: Any, reader: Any) -> Bytecode:
    if not isinstance(value, dict):
        raise ServerSerializationError("g:Bytecode must hold an object with 'step'/'source' lists")
    bytecode = Bytecode()
    for key, target in (("source", bytecode.source_instructions), ("step", bytecode.step_instructions)):
        for instruction in value.get(key) or []:
            if not isinstance(instruction, list) or not instruction or not isinstance(instruction[0], str):
                raise ServerSerializationError(f"Malformed g:Bytecode {key} instruction: {instruction!r}")
            target.append([instruction[0], *(reader.to_object(a) for a in instruction[1:])])
    return bytecode


def _predicate_reader(kind: type[P]) -> Any:
    def read(value: Any, reader: Any) -> P:
        if not isinstance(value, dict) or "predicate" not in value:
            raise ServerSerializationError(f"Malformed {kind.__name__}: {value!r}")
        raw = value.get("value")
        if isinstance(raw, list):  # an untyped JSON array lists the arguments themselves
            args = [reader.to_object(a) for a in raw]
        else:
            single = reader.to_object(raw)
            collection = value["predicate"] in ("within", "without") and isinstance(single, (list, set))
            args = list(single) if collection else [single]
        return tokens.predicate(kind, value["predicate"], args)
    return read


def _read_binding(value: Any, reader: Any) -> Binding:
    if not isinstance(value, dict) or not isinstance(value.get("key"), str):
        raise ServerSerializationError(f"Malformed g:Binding: {value!r}")
    return Binding(value["key"], reader.to_object(value.get("value")))


def _read_lambda(value: Any, reader: Any) -> Any:
    value = value if isinstance(value, dict) else {}
    return tokens.reject_lambda(value.get("script"), value.get("language", "gremlin-groovy"))


def _read_class(value: Any, reader: Any) -> str:
    if not isinstance(value, str):
        raise ServerSerializationError(f"Malformed g:Class: {value!r}")
    return value


def _enum_reader(enum: Any) -> Any:
    return lambda value, reader: tokens.enum_member(enum, value)


_EXTRA_READERS: dict[str, Any] = {
    "g:Bytecode": _read_bytecode, "g:P": _predicate_reader(P), "g:TextP": _predicate_reader(TextP),
    "g:Binding": _read_binding, "g:Lambda": _read_lambda, "g:Class": _read_class,
    **{f"g:{name}": _enum_reader(enum) for name, enum in tokens.ENUMS.items()},
}


def _strict_reader(base: type) -> type:
    class StrictReader(base):  # type: ignore[misc, valid-type]
        """Typed values through gremlinpython's deserializers plus ours; untyped JSON as is."""

        def to_object(self, obj: Any) -> Any:
            if isinstance(obj, dict):
                tag = obj.get("@type")
                if isinstance(tag, str):
                    value = obj.get("@value")
                    extra = _EXTRA_READERS.get(tag)
                    if extra is not None:
                        return extra(value, self)
                    known = self.deserializers.get(tag)
                    if known is not None:
                        return known.objectify(value, self)
                    if tag.startswith("g:") and tag.endswith("Strategy"):
                        config = self.to_object(value) if value is not None else {}
                        return tokens.strategy(tag[2:], config if isinstance(config, dict) else {})
                    raise ServerSerializationError(f"Unknown GraphSON type {tag!r}")
                return {self.to_object(k): self.to_object(v) for k, v in obj.items()}
            if isinstance(obj, list):
                return [self.to_object(o) for o in obj]
            return obj
    return StrictReader


# ---- writing ---------------------------------------------------------------------------------

class _VertexWriter:
    @classmethod
    def dictify(cls, vertex: Vertex, writer: Any) -> dict:
        out: dict[str, Any] = {"id": writer.to_dict(vertex.id), "label": vertex.label}
        if vertex.properties is not None:
            grouped: dict[str, list] = {}
            for vp in vertex.properties:
                grouped.setdefault(vp.label, []).append(writer.to_dict(vp))
            out["properties"] = grouped
        return _typed("g:Vertex", out)


class _EdgeWriter:
    @classmethod
    def dictify(cls, edge: Edge, writer: Any) -> dict:
        out: dict[str, Any] = {
            "id": writer.to_dict(edge.id), "label": edge.label,
            "inVLabel": edge.inV.label, "outVLabel": edge.outV.label,
            "inV": writer.to_dict(edge.inV.id), "outV": writer.to_dict(edge.outV.id),
        }
        if edge.properties is not None:
            out["properties"] = {p.key: writer.to_dict(p) for p in edge.properties}
        return _typed("g:Edge", out)


class _VertexPropertyWriter:
    @classmethod
    def dictify(cls, vp: VertexProperty, writer: Any) -> dict:
        out: dict[str, Any] = {"id": writer.to_dict(vp.id), "value": writer.to_dict(vp.value), "label": vp.label}
        if vp.vertex is not None:
            out["vertex"] = writer.to_dict(vp.vertex.id)
        if vp.properties:
            out["properties"] = {p.key: writer.to_dict(p.value) for p in vp.properties}
        return _typed("g:VertexProperty", out)


class _PropertyWriter:
    @classmethod
    def dictify(cls, prop: Property, writer: Any) -> dict:
        return _typed("g:Property", {"key": prop.key, "value": writer.to_dict(prop.value)})


class _PathWriter:
    @classmethod
    def dictify(cls, path: Path, writer: Any) -> dict:
        return _typed("g:Path", {"labels": writer.to_dict([set(labels) for labels in path.labels]),
                                 "objects": writer.to_dict(list(path.objects))})


class _TraverserWriter:
    @classmethod
    def dictify(cls, traverser: Traverser, writer: Any) -> dict:
        return _typed("g:Traverser", {"bulk": _typed("g:Int64", int(traverser.bulk)),
                                      "value": writer.to_dict(traverser.object)})


class _TupleWriter:
    @classmethod
    def dictify(cls, obj: tuple, writer: Any) -> Any:
        return writer.to_dict(list(obj))


class _FrozenSetWriter:
    @classmethod
    def dictify(cls, obj: frozenset, writer: Any) -> Any:
        return writer.to_dict(set(obj))


class _PlainWriter:
    """Strings and null are JSON as they are; without a writer of their own, gremlinpython
    tries every other writer first, most of the time a response takes to write."""

    @classmethod
    def dictify(cls, obj: Any, writer: Any) -> Any:
        return obj


class _V2MapWriter:
    """GraphSON 2 maps are JSON objects, so keys become strings, as Gremlin Server does."""

    @classmethod
    def dictify(cls, obj: dict, writer: Any) -> dict:
        return {(k if isinstance(k, str) else _key_string(k)): writer.to_dict(v) for k, v in obj.items()}


def _key_string(key: Any) -> str:
    if isinstance(key, Vertex):
        return f"v[{key.id}]"
    if isinstance(key, Edge):
        return f"e[{key.id}]"
    if isinstance(key, Enum):
        return str(key.name).rstrip("_")
    return str(key)


_WRITERS: dict[type, Any] = {
    Vertex: _VertexWriter, Edge: _EdgeWriter, VertexProperty: _VertexPropertyWriter,
    Property: _PropertyWriter, Path: _PathWriter, Traverser: _TraverserWriter,
    tuple: _TupleWriter, frozenset: _FrozenSetWriter, str: _PlainWriter, type(None): _PlainWriter,
}


# ---- envelopes -------------------------------------------------------------------------------

class GraphSONCodec:
    def __init__(self, version: int = 3) -> None:
        if version == 3:
            self.mime_type = MIME_V3
            self._reader = _strict_reader(graphsonV3d0.GraphSONReader)()
            self._writer = graphsonV3d0.GraphSONWriter(_WRITERS)
        elif version == 2:
            self.mime_type = MIME_V2
            self._reader = _strict_reader(graphsonV2d0.GraphSONReader)()
            self._writer = graphsonV2d0.GraphSONWriter({**_WRITERS, dict: _V2MapWriter})
        else:
            raise ValueError(f"GraphSON version {version} is not supported")

    def decode_request(self, payload: bytes) -> RequestMessage:
        try:
            message = json.loads(payload)
        except (ValueError, UnicodeDecodeError) as error:
            raise RequestDecodeError(f"The request is not valid JSON: {error}") from None
        if not isinstance(message, dict):
            raise RequestDecodeError("The request must be a JSON object")
        request_id = _request_id(message.get("requestId"))
        op, processor = message.get("op"), message.get("processor") or ""
        if not isinstance(op, str) or not isinstance(processor, str):
            raise RequestDecodeError("The request needs string 'op' and 'processor' fields", request_id=request_id)
        raw_args = message.get("args") or {}
        if not isinstance(raw_args, dict):
            raise RequestDecodeError("The request 'args' must be an object", request_id=request_id)
        try:
            args = {str(k): self._reader.to_object(v) for k, v in raw_args.items()}
        except GremlinError as error:
            raise RequestDecodeError(str(error), status=error.status, request_id=request_id,
                                     exception_class=error.exception_class) from None
        except (ValueError, KeyError, IndexError, TypeError, AttributeError, RecursionError) as error:
            raise RequestDecodeError(f"Cannot read the GraphSON request arguments: {error}",
                                     status=Status.SERIALIZATION_ERROR, request_id=request_id) from None
        return RequestMessage(request_id, op, processor, args)

    def encode_response(self, response: ResponseMessage) -> bytes:
        try:
            body = {
                "requestId": str(response.request_id) if response.request_id else None,
                "status": {"message": response.message or "", "code": response.code,
                           "attributes": self._writer.to_dict(dict(response.attributes))},
                "result": {"data": self._writer.to_dict(response.data),
                           "meta": self._writer.to_dict(dict(response.meta))},
            }
            return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        except GremlinError:
            raise
        except (ValueError, TypeError, AttributeError, OverflowError, RecursionError) as error:
            raise ServerSerializationError(
                f"Error during serialization: {type(error).__name__}: {error}") from error


def _request_id(raw: Any) -> uuid.UUID:
    if isinstance(raw, dict):
        raw = raw.get("@value")
    try:
        return uuid.UUID(str(raw))
    except (ValueError, TypeError):
        raise RequestDecodeError(f"The request has no valid requestId: {raw!r}") from None
