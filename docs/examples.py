"""Regenerate the examples in docs/api.md by really calling the service.

    python docs/examples.py            # rewrites the part of docs/api.md between the markers

The app runs in-process on a free loopback port over a fresh memory:// graph, with the real
identity core; every request below is sent over HTTP and its response recorded. API keys and
key ids are replaced by stable placeholders so regenerating does not churn the document.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import tornado.httpserver
import tornado.netutil
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from identity.security import auth  # noqa: E402
from identity.security.keys import Keyring, LocalKeyFileProvider  # noqa: E402
from identity.security.tenants import TenantRegistry  # noqa: E402
from identity.service.config import Config  # noqa: E402
from identity.service.rpc import build_service, make_app  # noqa: E402
from identity.service.rpc.errors import SERVER_ERRORS  # noqa: E402

DOC = ROOT / "docs" / "api.md"
BEGIN = "<!-- BEGIN GENERATED EXAMPLES (python docs/examples.py) -->"
END = "<!-- END GENERATED EXAMPLES -->"
PUBLIC_URL = "http://127.0.0.1:8080"
FIXED_TIME = 1700000000.0

EVENTS = [
    {"event_id": "evt-1", "type": "signup", "timestamp": "2024-05-01T10:00:00Z",
     "identifiers": [{"type": "email", "value": "Ann.Lee@Example.com"}, {"type": "phone", "value": "+1 555 0100"}],
     "attributes": {"plan": "pro"}},
    {"event_id": "evt-2", "type": "login", "timestamp": "2024-05-02T08:30:00Z",
     "identifiers": [{"type": "phone", "value": "+1 555 0100"}, {"type": "device_id", "value": "dev-42"}]},
]

#: (method, title, params, which key) in document order; one section per method.
CALLS: list[tuple[str, str, Any, str]] = [
    ("ingest", "Ingest two events", {"events": EVENTS}, "user"),
    ("ingest", "A batch with an invalid event: the others are written, the invalid one gets its error",
     {"events": [{"event_id": "evt-3", "type": "login", "timestamp": "2024-05-03T09:00:00Z",
                  "identifiers": [{"type": "email", "value": "bo@example.org"},
                                  {"type": "device_id", "value": "dev-42"}]},
                 {"event_id": "evt-4", "type": "login", "identifiers": [{"type": "phone", "value": "12"}]}]},
     "user"),
    ("resolve", "Resolve an identifier", {"type": "email", "value": "ann.lee@example.com", "max_hops": 3}, "user"),
    ("resolve", "Resolve with evidence", {"type": "device_id", "value": "dev-42", "evidence": True}, "user"),
    ("resolve_many", "Resolve several identifiers in one call (one answer each, in order)",
     {"identifiers": [{"type": "phone", "value": "+1 555 0100"}, {"type": "email", "value": "bo@example.org"},
                      {"type": "email", "value": "nobody@example.org"}, {"type": "shoe_size", "value": "9"}],
      "max_hops": 1}, "user"),
    ("explain", "Why two identifiers are one customer: the shortest paths, each link with its events",
     {"a": {"type": "email", "value": "ann.lee@example.com"}, "b": {"type": "device_id", "value": "dev-42"}}, "user"),
    ("explain", "What keeps two identifiers apart: Bo signed in on Ann's device, and the device several people use "
                "joins no one identified",
     {"a": {"type": "email", "value": "ann.lee@example.com"}, "b": {"type": "email", "value": "bo@example.org"}},
     "user"),
    ("unlink", "Unlink two identifiers",
     {"a": {"type": "phone", "value": "+1 555 0100"}, "b": {"type": "device_id", "value": "dev-42"}}, "user"),
    ("export", "Export everything stored about a customer",
     {"type": "customer", "value": "<CUSTOMER_ID>"}, "user"),
    ("forget", "Forget an identifier (GDPR erasure)", {"type": "device_id", "value": "dev-42"}, "user"),
    ("stats", "Counts for the calling tenant", None, "user"),
    ("tenant.create", "Create a tenant (operator)", {"tenant": "globex", "region": "us-east-1"}, "operator"),
    ("tenant.list", "List tenants (operator)", None, "operator"),
    ("key.create", "Create an API key for another tenant (operator)", {"tenant": "globex", "admin": True},
     "operator"),
    ("key.create", "Create an API key for the caller's own tenant (admin)", {"tenant": "acme", "admin": False},
     "admin"),
    ("key.revoke", "Revoke an API key of the caller's own tenant (admin)", {"key_id": "<KEY_ID>"}, "admin"),
    ("tenant.guards.get", "A tenant's guard settings (admin)", {"tenant": "acme"}, "admin"),
    ("tenant.guards.set", "Change a tenant's guard settings (admin)",
     {"tenant": "acme", "version": 0, "settings": {"generic_threshold": 30, "type_limits": {"email": 3, "phone": 3}}},
     "admin"),
    ("datakey.status", "A tenant's data-key versions (admin)", {"tenant": "acme"}, "admin"),
    ("datakey.rotate", "Rotate a tenant's data key (admin)", {"tenant": "acme"}, "admin"),
]

#: Failure examples: (title, raw body or None, params-less call, key).
ERRORS: list[tuple[str, str, str]] = [
    ("Invalid params (field-level, values never echoed)",
     json.dumps({"jsonrpc": "2.0", "id": 1, "method": "resolve", "params": {"type": "email", "max_hops": 99}}),
     "user"),
    ("Unknown method", json.dumps({"jsonrpc": "2.0", "id": 2, "method": "merge"}), "user"),
    ("Parse error", '{"jsonrpc": "2.0", "method": ', "user"),
    ("Batch with a notification", json.dumps([{"jsonrpc": "2.0", "id": 1, "method": "stats"},
                                              {"jsonrpc": "2.0", "method": "stats"}]), "user"),
    ("Admin method without the admin scope (HTTP 403)",
     json.dumps({"jsonrpc": "2.0", "id": 1, "method": "key.create", "params": {"tenant": "acme"}}), "user"),
    ("A tenant admin acting on another tenant (HTTP 403)",
     json.dumps({"jsonrpc": "2.0", "id": 1, "method": "key.create", "params": {"tenant": "globex"}}), "admin"),
    ("Operator method without the operator scope (HTTP 403)",
     json.dumps({"jsonrpc": "2.0", "id": 1, "method": "tenant.list"}), "admin"),
    ("Missing or bad API key (HTTP 401)", json.dumps({"jsonrpc": "2.0", "id": 1, "method": "stats"}), "none"),
]


class Recorder:
    def __init__(self, url: str, keys: dict[str, str]):
        self.url, self.keys = url, keys
        self.client = AsyncHTTPClient()
        self.placeholders: dict[str, str] = {}

    async def post(self, body: str, key: str) -> tuple[int, str]:
        headers = {"Content-Type": "application/json"}
        if key != "none":
            headers["Authorization"] = f"Bearer {self.keys[key]}"
        response = await self.client.fetch(HTTPRequest(self.url + "/rpc", method="POST", body=body,
                                                       headers=headers), raise_error=False)
        return response.code, response.body.decode()

    def stable(self, text: str) -> str:
        """Replace keys, key ids and customer ids by placeholders numbered in order of appearance."""
        def key(match: re.Match) -> str:
            return self._name(match.group(0), "idk_{}_<secret shown once>", match.group(1))
        text = re.sub(r"idk_([0-9a-f]{16})_[A-Za-z0-9_-]{43}", key, text)
        # customer ids derive from the tenant's random blind-index key: number them instead
        text = re.sub(r"\bc-[0-9a-f]{24}\b", lambda m: "c-" + self._name(m.group(0), "{}", m.group(0)).rjust(24, "0"),
                      text)
        text = re.sub(r"local:[0-9a-f]{16}", "local:<KEK fingerprint>", text)
        for real, fake in list(self.placeholders.items()):
            text = text.replace(real, fake)
        return text

    def _name(self, whole: str, template: str, key_id: str) -> str:
        if key_id not in self.placeholders:
            self.placeholders[key_id] = f"{len(self.placeholders) + 1:016x}"
        return template.format(self.placeholders[key_id])


def curl(body: str, key: str) -> str:
    auth_header = {"user": '-H "Authorization: Bearer $IDENTITY_KEY" ',
                   "admin": '-H "Authorization: Bearer $IDENTITY_ADMIN_KEY" ',
                   "operator": '-H "Authorization: Bearer $IDENTITY_OPERATOR_KEY" ', "none": ""}[key]
    pretty = body
    try:
        pretty = json.dumps(json.loads(body), indent=2)
    except ValueError:
        pass
    return f"curl -s {PUBLIC_URL}/rpc {auth_header}\\\n  -H 'Content-Type: application/json' -d '{pretty}'"


def block(recorder: Recorder, body: str, key: str, status: int, reply: str) -> list[str]:
    shown = reply
    if reply:
        shown = json.dumps(json.loads(reply), indent=2, ensure_ascii=False)
    return ["```sh", recorder.stable(curl(body, key)), "```", "",
            f"HTTP {status}" + ("" if shown else " (no body)"), "",
            *(["```json", recorder.stable(shown), "```", ""] if shown else [])]


async def record() -> str:
    with tempfile.TemporaryDirectory() as data_dir:
        registry = TenantRegistry(data_dir, clock=lambda: FIXED_TIME).load()
        registry.create_tenant("acme", "eu-west-1")
        keys = {"admin": auth.issue_key(registry, "acme", admin=True).key,
                "user": auth.issue_key(registry, "acme").key,
                "operator": auth.issue_key(registry, "acme", operator=True).key}
        config = Config(data_dir=data_dir, graph_url="memory://docs-examples?profile=neptune", rate_per_second=0)
        keyring = Keyring(Path(data_dir) / "keys", LocalKeyFileProvider(Path(data_dir) / "kek.key", create=True),
                          clock=lambda: FIXED_TIME)
        service = build_service(config, registry=registry, keyring=keyring)
        service.identity_factory = _with_fixed_clock(service.identity_factory)
        sockets = tornado.netutil.bind_sockets(0, "127.0.0.1")
        server = tornado.httpserver.HTTPServer(make_app(service))
        server.add_sockets(sockets)
        recorder = Recorder(f"http://127.0.0.1:{sockets[0].getsockname()[1]}", keys)
        for key in keys.values():
            recorder.stable(key)
        try:
            return await _sections(recorder)
        finally:
            server.stop()
            service.close()


def _with_fixed_clock(factory: Any) -> Any:
    """Identity graphs whose clock stands still, so stored times do not churn the document."""
    def make(tenant: str) -> Any:
        graph = factory(tenant)
        graph.clock = graph._creation.clock = lambda: FIXED_TIME  # ingest stamps with its CreationClock
        return graph
    return make


async def _sections(recorder: Recorder) -> str:
    lines = ["## Methods", ""]
    current, created_key_id, customer_id = None, "", ""
    for request_id, (method, title, params, key) in enumerate(CALLS, 1):
        if method != current:
            lines += [f"### `{method}`", ""]
            current = method
        if params == {"key_id": "<KEY_ID>"}:
            params = {"key_id": created_key_id}
        if params and params.get("value") == "<CUSTOMER_ID>":
            params = {**params, "value": customer_id}
        call = {"jsonrpc": "2.0", "id": request_id, "method": method, **({"params": params} if params else {})}
        body = json.dumps(call, ensure_ascii=False)
        status, reply = await recorder.post(body, key)
        if method == "key.create":
            created_key_id = json.loads(reply)["result"]["key_id"]
        if method == "ingest" and not customer_id:
            customer_id = json.loads(reply)["result"]["results"][0]["customer_id"]
        lines += [f"{title}:", "", *block(recorder, body, key, status, reply)]
    lines += ["## Errors", "", "| code | meaning |", "|---|---|"]
    lines += [f"| {code} | {meaning} |" for code, meaning in sorted(SERVER_ERRORS.items(), reverse=True)]
    lines.append("")
    for title, body, key in ERRORS:
        status, reply = await recorder.post(body, key)
        lines += [f"### {title}", "", *block(recorder, body, key, status, reply)]
    return "\n".join(lines).rstrip() + "\n"


def splice(document: str, generated: str) -> str:
    head, _, rest = document.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return f"{head}{BEGIN}\n\n{generated}\n{END}{tail}"


def main() -> int:
    logging.getLogger("tornado.access").setLevel(logging.ERROR)  # the 401/403 examples are on purpose
    generated = asyncio.run(record())
    DOC.write_text(splice(DOC.read_text(encoding="utf-8"), generated), encoding="utf-8")
    print(f"updated {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
