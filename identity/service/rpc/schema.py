"""A small validator for the JSON Schema subset the method definitions use.

The same schema dicts are published verbatim in ``/openrpc.json``, so validation and
documentation cannot drift apart. Supported keywords: type (one name or a list), properties,
required, additionalProperties (bool or schema), items, minItems, maxItems, minLength,
maxLength, minimum, maximum, enum, pattern, description/title/examples (ignored).

Messages describe the rule that failed, never the offending value: request values may be PII.
"""

from __future__ import annotations

import re
from typing import Any, Iterator

__all__ = ["FieldError", "validate"]

_MAX_FIELD_NAME = 64
_UNPAIRED_SURROGATE = re.compile("[\ud800-\udfff]")

_TYPE_CHECKS = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class FieldError(tuple):
    """(field, reason): ``field`` is a path such as ``events[2].identifiers[0].type``."""

    __slots__ = ()

    def __new__(cls, field: str, reason: str) -> "FieldError":
        return super().__new__(cls, (field, reason))

    @property
    def field(self) -> str:
        return self[0]

    @property
    def reason(self) -> str:
        return self[1]

    def to_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


def validate(value: Any, schema: dict[str, Any], path: str = "params", *, limit: int = 20) -> list[FieldError]:
    """Every rule ``value`` breaks (at most ``limit`` of them); empty when it is valid."""
    errors: list[FieldError] = []
    for error in _check(value, schema, path):
        errors.append(error)
        if len(errors) >= limit:
            break
    return errors


def _join(path: str, key: str) -> str:
    safe = key if len(key) <= _MAX_FIELD_NAME else key[:_MAX_FIELD_NAME] + "..."
    if _UNPAIRED_SURROGATE.search(safe):  # cannot be encoded in the reply: shown escaped
        safe = safe.encode("utf-8", "backslashreplace").decode("utf-8")
    return f"{path}.{safe}" if path else safe


def _type_names(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type")
    if kind is None:
        return []
    return [kind] if isinstance(kind, str) else list(kind)


def _check(value: Any, schema: dict[str, Any], path: str) -> Iterator[FieldError]:
    kinds = _type_names(schema)
    if kinds and not any(_TYPE_CHECKS[k](value) for k in kinds):
        yield FieldError(path, f"must be {' or '.join(_article(k) for k in kinds)}")
        return
    if "enum" in schema and value not in schema["enum"]:
        yield FieldError(path, "must be one of " + ", ".join(map(_show, schema["enum"])))
        return
    if isinstance(value, str):
        yield from _check_string(value, schema, path)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        yield from _check_number(value, schema, path)
    elif isinstance(value, list):
        yield from _check_array(value, schema, path)
    elif isinstance(value, dict):
        yield from _check_object(value, schema, path)


def _check_string(value: str, schema: dict[str, Any], path: str) -> Iterator[FieldError]:
    if _UNPAIRED_SURROGATE.search(value):  # JSON's \ud800 escapes allow them; UTF-8 does not
        yield FieldError(path, "must be valid Unicode (it holds an unpaired surrogate)")
        return
    if "minLength" in schema and len(value) < schema["minLength"]:
        yield FieldError(path, f"must be at least {schema['minLength']} characters long")
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        yield FieldError(path, f"must be at most {schema['maxLength']} characters long")
    if "pattern" in schema and not re.search(schema["pattern"], value):
        yield FieldError(path, f"must match the pattern {schema['pattern']}")


def _check_number(value: float, schema: dict[str, Any], path: str) -> Iterator[FieldError]:
    if "minimum" in schema and value < schema["minimum"]:
        yield FieldError(path, f"must be at least {schema['minimum']}")
    if "maximum" in schema and value > schema["maximum"]:
        yield FieldError(path, f"must be at most {schema['maximum']}")


def _check_array(value: list, schema: dict[str, Any], path: str) -> Iterator[FieldError]:
    if "minItems" in schema and len(value) < schema["minItems"]:
        yield FieldError(path, f"must have at least {schema['minItems']} item(s)")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        yield FieldError(path, f"must have at most {schema['maxItems']} items")
        return  # do not walk an oversized array
    items = schema.get("items")
    if items:
        for index, item in enumerate(value):
            yield from _check(item, items, f"{path}[{index}]")


def _check_object(value: dict, schema: dict[str, Any], path: str) -> Iterator[FieldError]:
    properties: dict[str, Any] = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in value:
            yield FieldError(_join(path, name), "is required")
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if _UNPAIRED_SURROGATE.search(key):
            yield FieldError(_join(path, key), "field names must be valid Unicode (unpaired surrogate)")
            continue
        if key in properties:
            yield from _check(item, properties[key], _join(path, key))
        elif extra is False:
            yield FieldError(_join(path, str(key)), "is not a known field")
        elif isinstance(extra, dict):
            yield from _check(item, extra, _join(path, str(key)))


def _article(kind: str) -> str:
    return {"object": "an object", "array": "an array", "integer": "an integer", "null": "null"}.get(kind, f"a {kind}")


def _show(option: Any) -> str:
    return "null" if option is None else str(option)
