"""Malformed input gets a JSON-RPC error, never HTTP 500 or -32603 (issue #14, item 6): deep
nesting, numbers JSON has no room for, numbers out of a parameter's range, strings that are not
Unicode. The fuzz test (test_fuzz.py) looks for more; these are the cases the issue names."""

from __future__ import annotations

import json

from service_support import RealCoreTestCase


def _event(**fields: object) -> dict:
    return {"event_id": "e1", "type": "signup", "identifiers": [{"type": "email", "value": "ann@example.com"}],
            **fields}


class MalformedInput(RealCoreTestCase):
    def post(self, body: bytes | str) -> dict:
        response = self.fetch("/rpc", method="POST", body=body, raise_error=False,
                              headers={"Authorization": f"Bearer {self.keys['user']}"})
        assert response.code == 200, (response.code, response.body)
        return json.loads(response.body)

    def call(self, method: str, params: dict) -> dict:
        return self.post(json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))

    def test_deep_nesting_is_an_invalid_request_before_it_is_parsed(self) -> None:
        body = b"[" * 2000 + b"]" * 2000  # 4 KB
        assert self.post(body)["error"] == {"code": -32600, "message": "Invalid request: JSON nested more than 32 "
                                            "levels deep", "data": {"max_depth": 32}}
        nested_params = '{"jsonrpc": "2.0", "id": 1, "method": "stats", "params": ' + '{"a": ' * 40 + "1" + "}" * 41
        assert self.post(nested_params)["error"]["code"] == -32600

    def test_numbers_json_has_no_room_for_are_parse_errors(self) -> None:
        for number in ("Infinity", "-Infinity", "NaN", "1e400", "-1e400"):
            body = '{"jsonrpc": "2.0", "id": 1, "method": "resolve", "params": {"type": "email", ' \
                   '"value": "ann@example.com", "as_of": ' + number + "}}"
            assert self.post(body)["error"]["code"] == -32700, number

    def test_numbers_out_of_range_are_invalid_params(self) -> None:
        for as_of in (1e308, -1, 253402300800, 2 ** 64):
            reply = self.call("resolve", {"type": "email", "value": "ann@example.com", "as_of": as_of})
            assert reply["error"]["code"] == -32602, as_of
            assert reply["error"]["data"]["errors"][0]["field"] == "params.as_of"
        for timestamp in (10 ** 30, -5, 253402300800000):
            reply = self.call("ingest", {"events": [_event(timestamp=timestamp)], "atomic": True})
            assert reply["error"]["code"] == -32602, timestamp
            reply = self.call("ingest", {"events": [_event(timestamp=timestamp)]})
            assert reply["result"]["results"][0]["error"]["code"] == -32602, timestamp
        for moment in ("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "1969-12-31T23:59:59Z"):
            reply = self.call("ingest", {"events": [_event(timestamp=moment)], "atomic": True})
            assert reply["error"]["code"] == -32602, moment
            reply = self.call("ingest", {"events": [_event(timestamp=moment)]})
            assert reply["result"]["results"][0]["error"]["code"] == -32602, moment
            reply = self.call("resolve", {"type": "email", "value": "ann@example.com", "as_of": moment})
            assert reply["error"]["code"] == -32602, moment
        assert "result" in self.call("resolve", {"type": "email", "value": "ann@example.com", "as_of": 253402300799})

    def test_unpaired_surrogates_are_invalid_params_and_an_id_holding_one_comes_back_escaped(self) -> None:
        reply = self.post('{"jsonrpc": "2.0", "id": 1, "method": "resolve", '
                          '"params": {"type": "email", "value": "ann\\ud800@example.com"}}')
        assert reply["error"]["code"] == -32602
        reply = self.post('{"jsonrpc": "2.0", "id": 1, "method": "ingest", "params": {"events": [{"type": "x", '
                          '"identifiers": [{"type": "email", "value": "a@b.c"}], "attributes": {"\\udfff": 1}}]}}')
        assert reply["result"]["results"][0]["error"]["code"] == -32602
        reply = self.post('{"jsonrpc": "2.0", "id": 1, "method": "resolve_many", '
                          '"params": {"identifiers": [{"type": "email", "value": "ann\\ud800@example.com"}]}}')
        assert reply["result"]["results"][0]["error"]["code"] == -32602
        reply = self.post('{"jsonrpc": "2.0", "id": "\\ud800", "method": "stats"}')
        assert reply["id"] == "\ud800" and "result" in reply
