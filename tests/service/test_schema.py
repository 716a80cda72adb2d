"""The JSON Schema subset validator behind -32602 errors."""

from __future__ import annotations

from identity.service.rpc.methods import event_schema
from identity.service.rpc.schema import validate


def test_valid_event_has_no_errors() -> None:
    event = {"type": "signup", "timestamp": 1714557600000, "identifiers": [{"type": "email", "value": "a@b.c"}],
             "attributes": {"plan": "pro", "seats": 3, "trial": False, "note": None}}
    assert validate(event, event_schema(), "event") == []


def test_types_are_strict_about_booleans_and_nested_paths() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}, "xs": {"type": "array", "items":
                                                                                {"type": "string"}}}}
    errors = validate({"n": True, "xs": ["ok", 3]}, schema, "p")
    assert [tuple(e) for e in errors] == [("p.n", "must be an integer"), ("p.xs[1]", "must be a string")]


def test_attributes_must_be_scalars_and_messages_omit_values() -> None:
    event = {"type": "t", "identifiers": [{"type": "email", "value": "a@b.c"}], "attributes": {"addr": {"x": 1}}}
    [error] = validate(event, event_schema(), "e")
    assert error.to_dict() == {"field": "e.attributes.addr", "reason": "must be a string or a number or a boolean "
                                                                        "or null"}


def test_error_count_is_bounded() -> None:
    schema = {"type": "array", "items": {"type": "string"}}
    assert len(validate(list(range(500)), schema)) == 20
