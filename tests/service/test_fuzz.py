"""Any input shape, to any method, gets a JSON-RPC answer: never HTTP 5xx, never -32603
(issue #14, item 6: 14 of 2,050 fuzzed requests got HTTP 500; deep nesting, as_of 1e308 and
Infinity got -32603).

Hypothesis builds requests three ways: parameters that follow each method's published schema
(so the core is reached with extreme but well-typed values), the same with any JSON in any
place, and whole bodies of any shape. Strings include unpaired surrogates, numbers include
huge integers, 1e308, NaN and Infinity (json.dumps writes them as the tokens Python's parser
accepts). The run is bounded for CI: ``FUZZ_EXAMPLES`` examples per test (default 150)."""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service_support import RealCoreTestCase

from identity.security import auth
from identity.service.rpc import method_table

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
TABLE = method_table()

#: values that broke the service once, or that sit on a boundary
_NASTY_TEXT = ["\ud800", "a\udfffb", "", "\x00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00",
               "1969-12-31T23:59:59Z", "x" * 2000]
_NASTY_NUMBERS = [1e308, -1e308, float("inf"), float("-inf"), float("nan"), 2 ** 63, -2 ** 63, 2 ** 64, 10 ** 30,
                  253402300800, 253402300800000, 0.5, -1, 0]
#: plausible values by field name, so that calls get past the first check and reach the core
_PLAUSIBLE = {"type": ["email", "phone", "device_id", "customer", "ip", "signup"],
              "value": ["ann@example.com", "+1 555 0100", "dev-42", "c-0", "10.0.0.1"],
              "tenant": ["acme", "globex"], "region": ["eu-west-1", "us-east-1"], "key_id": ["0" * 16],
              "event_id": ["e1", "seed"], "timestamp": ["2024-05-01T10:00:00Z", 1700000000000],
              "as_of": ["2024-05-01T10:00:00Z", 1700000000]}
_text = st.text(st.characters(blacklist_categories=()), max_size=12) | st.sampled_from(_NASTY_TEXT)
_number = st.integers() | st.floats() | st.sampled_from(_NASTY_NUMBERS)
_scalar = st.none() | st.booleans() | _number | _text
_json = st.recursive(_scalar, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(_text, inner, max_size=4), max_leaves=12)


def _from_schema(schema: dict[str, Any], name: str = "", depth: int = 0) -> st.SearchStrategy[Any]:
    """Values of the schema's types (plausible ones for known field names), extremes included."""
    kinds = schema.get("type")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds or ["object"])
    options = [st.sampled_from(_PLAUSIBLE[name])] * 2 if name in _PLAUSIBLE else []
    for kind in kinds:
        if kind == "object" and "properties" in schema and depth < 4:
            properties = {key: _from_schema(sub, key, depth + 1) for key, sub in schema["properties"].items()}
            required = {key: properties.pop(key) for key in schema.get("required", ()) if key in properties}
            options += [st.fixed_dictionaries(required, optional=properties),
                        st.fixed_dictionaries({}, optional={**required, **properties})]
        elif kind == "array" and depth < 4:
            options.append(st.lists(_from_schema(schema.get("items", {}), name, depth + 1), min_size=1, max_size=3))
        elif kind in ("integer", "number"):
            options.append(_number)
        elif kind == "string":
            options.append(_text)
        elif kind == "boolean":
            options.append(st.booleans())
        elif kind == "null":
            options.append(st.none())
    return st.one_of(*options) if options else _json


def _call(method: str, params: Any, request_id: Any = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}


_well_typed = st.sampled_from(sorted(TABLE)).flatmap(
    lambda name: _from_schema(TABLE[name].params).map(lambda params: _call(name, params)))
_any_params = st.sampled_from(sorted(TABLE)).flatmap(
    lambda name: st.dictionaries(st.sampled_from(sorted(TABLE[name].params.get("properties", {})) or ["x"]) | _text,
                                 _json, max_size=4).map(lambda params: _call(name, params)))
_any_body = _json | st.lists(_well_typed | _any_params | _json, min_size=1, max_size=4) | st.fixed_dictionaries(
    {"jsonrpc": st.sampled_from(["2.0", "1.0"]) | _scalar, "method": st.sampled_from(sorted(TABLE)) | _scalar,
     "id": _json}, optional={"params": _json})

_FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


class Fuzz(RealCoreTestCase):
    def setUp(self) -> None:
        super().setUp()
        self.key = auth.issue_key(self.registry, "acme", admin=True, operator=True).key
        self.post(_call("ingest", {"events": [{"event_id": "seed", "type": "signup", "identifiers": [
            {"type": "email", "value": "ann@example.com"}, {"type": "phone", "value": "+1 555 0100"}]}]}))

    def post(self, body: Any) -> Any:
        text = json.dumps(body)  # NaN and Infinity as their tokens; surrogates escaped
        response = self.fetch("/rpc", method="POST", body=text, raise_error=False,
                              headers={"Authorization": f"Bearer {self.key}"})
        assert response.code < 500, (response.code, text[:300], response.body[:300])
        reply = json.loads(response.body) if response.body else None
        for answer in reply if isinstance(reply, list) else [reply] if reply else []:
            assert answer.get("error", {}).get("code") != -32603, (text[:300], answer)
        return reply

    @_FUZZ
    @given(_well_typed)
    def test_well_typed_params_of_every_method(self, body: dict) -> None:
        self.post(body)

    @_FUZZ
    @given(_any_params)
    def test_any_json_as_the_params_of_every_method(self, body: dict) -> None:
        self.post(body)

    @_FUZZ
    @given(_any_body)
    def test_bodies_of_any_shape(self, body: Any) -> None:
        self.post(body)
