"""A typed value codec: graph ids and property values to compact JSON and back, exactly.

Plain JSON loses types a graph must keep (``long`` vs ``int``, ``set`` vs ``list``, ``bool``
vs ``1``, ``datetime``, ``UUID``, ``Decimal``, non-string map keys). Pickle keeps them but
executes code when read, which a data directory must never do. So values are JSON in which
every JSON *object* is a one-tag wrapper for a type JSON lacks::

    "text", 42, 1.5, true, null, [1, 2]      str, int, float, bool, None, list: as themselves
    {"long": 42}   {"bigint": 42}   {"short": 4}   {"byte": 4}     gremlinpython int types
    {"char": "x"}  {"ts": 1.5}      {"float": "nan"}               SingleChar, timestamp, inf/nan
    {"set": [..]}  {"frozenset": [..]}  {"tuple": [..]}  {"map": [[k, v], ..]}   any keys
    {"dt": "2024-01-02T03:04:05.000006+01:00", "tz": "Europe/Paris"}   naive or aware datetime
    {"date": "2024-01-02"}  {"time": "03:04:05"}  {"td": [days, seconds, microseconds]}
    {"uuid": "…"}  {"dec": "1.10"}  {"bigdec": [scale, unscaled]}  {"bytes": "base64"}
    {"bytearray": "base64"}

Because objects appear only as tags, decoding is one ``json.loads`` whose ``object_hook``
sees just the tagged values; untagged text, numbers and arrays never reach Python code.
A value of any other type raises :class:`~gremlin.errors.InvalidArgumentError`.

Time zones: a ``zoneinfo.ZoneInfo`` is kept by name; any other tzinfo is kept as its fixed
UTC offset at that instant (the datetime compares equal, the tzinfo class may differ).
"""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
import math
import uuid
from typing import Any, Callable

from gremlin_python import statics

from .errors import InvalidArgumentError

try:  # zoneinfo needs tzdata on some platforms; without it zone names degrade to offsets
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
except ImportError:  # pragma: no cover - Python < 3.9
    ZoneInfo = None  # type: ignore[assignment,misc]
    ZoneInfoNotFoundError = KeyError  # type: ignore[assignment,misc]

__all__ = ["to_json", "dumps", "dumps_encoded", "loads"]

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False, check_circular=False)


def _c_encoder() -> Callable[[Any], str] | None:
    """``_ENCODER.encode`` without its cost per call: ``encode`` builds the C encoder again for
    every value (a durable write encodes a row per element it changes, about ten an event); this
    is the one it builds, made once, with the same settings, so it writes the same text."""
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # a Python without the C accelerator
        return None
    encode = make(None, _ENCODER.default, json.encoder.encode_basestring, None, _ENCODER.key_separator,
                  _ENCODER.item_separator, _ENCODER.sort_keys, _ENCODER.skipkeys, _ENCODER.allow_nan)
    return lambda value: "".join(encode(value, 0))


_JSON_DUMPS = _c_encoder() or _ENCODER.encode


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _encode_float(value: float) -> Any:
    return value if math.isfinite(value) else {"float": repr(value)}


def _encode_datetime(value: dt.datetime) -> dict:
    tagged: dict[str, Any] = {"dt": value.isoformat()}
    if ZoneInfo is not None and isinstance(value.tzinfo, ZoneInfo) and value.tzinfo.key:
        tagged["tz"] = value.tzinfo.key
    return tagged


def _encode_seq(tag: str) -> Callable[[Any], dict]:
    return lambda value: {tag: [to_json(item) for item in value]}


# Exact type -> encoder. Exact (not isinstance) so that bool, long and timestamp, which are
# subclasses of int and float, keep their own tags.
_ENCODERS: dict[type, Callable[[Any], Any]] = {
    float: _encode_float,
    list: lambda value: [to_json(item) for item in value],
    set: _encode_seq("set"),
    frozenset: _encode_seq("frozenset"),
    tuple: _encode_seq("tuple"),
    dict: lambda value: {"map": [[to_json(k), to_json(v)] for k, v in value.items()]},
    statics.long: lambda value: {"long": int(value)},
    statics.bigint: lambda value: {"bigint": int(value)},
    statics.short: lambda value: {"short": int(value)},
    statics.SingleByte: lambda value: {"byte": int(value)},
    statics.SingleChar: lambda value: {"char": str(value)},
    statics.timestamp: lambda value: {"ts": float(value)},
    statics.BigDecimal: lambda value: {"bigdec": [to_json(value.scale), to_json(value.unscaled_value)]},
    dt.datetime: _encode_datetime,
    dt.date: lambda value: {"date": value.isoformat()},
    dt.time: lambda value: {"time": value.isoformat()},
    dt.timedelta: lambda value: {"td": [value.days, value.seconds, value.microseconds]},
    uuid.UUID: lambda value: {"uuid": str(value)},
    decimal.Decimal: lambda value: {"dec": str(value)},
    bytes: lambda value: {"bytes": _b64(value)},
    bytearray: lambda value: {"bytearray": _b64(bytes(value))},
}

_PLAIN = (str, int, bool, type(None))


def to_json(value: Any) -> Any:
    """``value`` as a JSON-serialisable structure with type tags."""
    kind = type(value)
    if kind in _PLAIN:
        return value
    encoder = _ENCODERS.get(kind)
    if encoder is None:
        raise InvalidArgumentError(
            f"A value of type {kind.__module__}.{kind.__qualname__} cannot be stored in a durable graph")
    return encoder(value)


def _decode_datetime(tagged: dict) -> dt.datetime:
    value = dt.datetime.fromisoformat(tagged["dt"])
    zone = tagged.get("tz")
    if zone is not None and ZoneInfo is not None:
        try:
            # astimezone keeps the instant; the stored offset already was this zone's.
            value = value.astimezone(ZoneInfo(zone))
        except (ZoneInfoNotFoundError, ValueError):
            pass  # an unknown zone here: the fixed offset still names the same instant
    return value


def _decode_bigdec(pair: list) -> statics.BigDecimal:
    return statics.BigDecimal(pair[0], pair[1])


_DECODERS: dict[str, Callable[[Any], Any]] = {
    "long": statics.long,
    "bigint": statics.bigint,
    "short": statics.short,
    "byte": statics.SingleByte,
    "char": statics.SingleChar,
    "ts": statics.timestamp,
    "float": float,
    "set": set,
    "frozenset": frozenset,
    "tuple": tuple,
    "map": lambda pairs: {k: v for k, v in pairs},
    "bigdec": _decode_bigdec,
    "date": dt.date.fromisoformat,
    "time": dt.time.fromisoformat,
    "td": lambda parts: dt.timedelta(days=parts[0], seconds=parts[1], microseconds=parts[2]),
    "uuid": uuid.UUID,
    "dec": decimal.Decimal,
    "bytes": base64.b64decode,
    "bytearray": lambda text: bytearray(base64.b64decode(text)),
}


def _object_hook(tagged: dict) -> Any:
    if "dt" in tagged:
        return _decode_datetime(tagged)
    if len(tagged) != 1:
        raise ValueError(f"not a tagged value: {sorted(tagged)!r}")
    (tag, payload), = tagged.items()
    decoder = _DECODERS.get(tag)
    if decoder is None:
        raise ValueError(f"unknown value tag {tag!r}")
    return decoder(payload)


_JSON_LOADS = json.JSONDecoder(object_hook=_object_hook).decode


def dumps(value: Any) -> str:
    """``value`` (any supported type, nested) as compact tagged JSON text."""
    return _JSON_DUMPS(to_json(value))


def dumps_encoded(structure: Any) -> str:
    """Serialise a record assembled from :func:`to_json` parts inside plain JSON arrays
    (never objects, which are reserved for tags); :func:`loads` reads it back whole."""
    return _JSON_DUMPS(structure)


def loads(text: str | bytes) -> Any:
    """The value :func:`dumps` wrote; raises ValueError on text it did not write."""
    return _JSON_LOADS(text)
