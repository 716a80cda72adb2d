"""PII never leaks: known values are planted, every API path runs (successes and failures: bad
input, unknown ids, auth failures, internal errors, a graph that is down, the CLI), and every
captured string is scanned for the planted values and their normalised forms.

What is captured is a list of strings (``Captured.texts``); telemetry (spans, metric labels)
joins the scan by appending its exported text to it. Successful responses are not scanned:
resolve and export return identifier values to their owner on purpose.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

import pytest
from gremlin_python.driver.remote_connection import RemoteConnection
from gremlin_python.process.anonymous_traversal import traversal

pytest.importorskip("identity.domain.core")

import gremlin  # noqa: E402
from identity import IdentityGraph
from identity.base.errors import IdentityError  # noqa: E402
from identity.graph.connection import open_traversal  # noqa: E402
from identity.security.protect import DevelopmentProtector  # noqa: E402
from identity.service import cli  # noqa: E402

from service_support import RealCoreTestCase, TelemetryRecorder, raw_exchange, signup_event  # noqa: E402

EMAIL = "Planted.Secret+tag@Example.ORG"
PHONE = "+1 (555) 765-4321"
DEVICE = "PLANTED-DEVICE-7788"
PARTNER = "planted-partner-id-4242"
ATTRIBUTE = "planted attribute value 9191"
API_KEY = "idk_0123456789abcdef_PlantedSecretKeyMaterial0123456789abcdefghij"
#: every form a planted value may take once parsed or normalised
PLANTED = [EMAIL, EMAIL.lower(), "planted.secret", "secret+tag", PHONE, "5557654321", "765-4321", DEVICE,
           DEVICE.lower(), PARTNER, ATTRIBUTE, "PlantedSecretKeyMaterial"]
BAD_EMAIL = "planted.secret@@example.org"


@dataclass
class Captured:
    """Everything that must hold no PII, as text."""

    texts: list[str] = field(default_factory=list)

    def add(self, *texts: Any) -> None:
        self.texts.extend(str(text) for text in texts)

    def leaks(self) -> list[tuple[str, str]]:
        return [(value, text[:300]) for text in self.texts for value in PLANTED if value.lower() in text.lower()]


def assert_no_pii(captured: Captured) -> None:
    assert captured.texts, "nothing was captured"
    leaks = captured.leaks()
    assert leaks == [], "\n".join(f"{value!r} in {text!r}" for value, text in leaks)


class LogCapture(logging.Handler):
    """Every record, formatted with its traceback, from the root logger at DEBUG."""

    def __init__(self, captured: Captured):
        super().__init__(logging.DEBUG)
        self.captured = captured
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.captured.add(self.format(record))

    def __enter__(self) -> "LogCapture":
        root = logging.getLogger()
        self.level_before = root.level
        root.addHandler(self)
        root.setLevel(logging.DEBUG)
        return self

    def __exit__(self, *exc: Any) -> None:
        root = logging.getLogger()
        root.removeHandler(self)
        root.setLevel(self.level_before)


class DownConnection(RemoteConnection):
    """A graph that cannot be reached."""

    def __init__(self) -> None:
        super().__init__("ws://graph.invalid:8182/gremlin", "g")

    def submit(self, bytecode: Any) -> Any:
        raise ConnectionRefusedError(111, "Connection refused")


class LeakyProtector(DevelopmentProtector):
    """A KMS client that echoes its input in errors: the service must not pass that on."""

    def seal(self, element_id: str, prop: str, plaintext: str) -> str:
        raise RuntimeError(f"kms refused to encrypt {plaintext!r}")


GOOD = signup_event("e1", ("email", EMAIL), ("phone", PHONE), ("device_id", DEVICE), ("partner_id", PARTNER),
              attributes={"note": ATTRIBUTE})
#: (method, params) calls that each fail in their own way
FAILING: list[tuple[str, Any]] = [
    ("ingest", {"events": [signup_event("bad", ("email", BAD_EMAIL))]}),
    ("ingest", {"events": [signup_event("bad", ("phone", "planted.secret 555"))]}),
    ("ingest", {"events": [signup_event("bad", ("email", EMAIL * 40))]}),
    ("ingest", {"events": [signup_event("bad", ("planted.secret@example.org", EMAIL))]}),
    ("ingest", {"events": [signup_event("bad", ("email", EMAIL), attributes={"note": {"nested": ATTRIBUTE}})]}),
    ("ingest", {"events": [signup_event("bad", ("email", EMAIL), unknown=ATTRIBUTE)]}),
    ("ingest", {"events": [{"type": ATTRIBUTE * 20, "identifiers": [{"type": "email", "value": EMAIL}]}]}),
    ("ingest", {"events": EMAIL}),
    ("ingest", {"events": [signup_event("bad", ("email", BAD_EMAIL)), GOOD], "atomic": True}),
    ("resolve_many", {"identifiers": [{"type": "email", "value": BAD_EMAIL}, {"type": EMAIL, "value": EMAIL},
                                      {"type": "customer", "value": EMAIL}, {"value": EMAIL}, EMAIL]}),
    ("resolve_many", {"identifiers": EMAIL}),
    ("resolve", {"type": "email", "value": BAD_EMAIL}),
    ("resolve", {"type": "customer", "value": EMAIL}),
    ("resolve", {"type": "email", "value": EMAIL, "as_of": EMAIL}),
    ("resolve", {"type": "email", "value": EMAIL, "max_hops": EMAIL}),
    ("resolve", {"type": EMAIL, "value": EMAIL}),
    ("explain", {"a": {"type": "email", "value": BAD_EMAIL}, "b": {"type": "device_id", "value": DEVICE}}),
    ("explain", {"a": {"type": "email", "value": EMAIL}, "b": {"type": EMAIL, "value": PHONE}}),
    ("explain", {"a": {"type": "email", "value": EMAIL}, "b": {"type": "email", "value": EMAIL.upper()}}),
    ("explain", {"a": {"type": "email", "value": EMAIL}, "b": {"type": "phone", "value": PHONE}, "max_hops": EMAIL}),
    ("unlink", {"a": {"type": "email", "value": EMAIL}, "b": {"type": "email", "value": EMAIL}}),
    ("unlink", {"a": {"type": "email", "value": "planted.secret@example.net"}, "b": {"type": "device_id",
                                                                                   "value": DEVICE}}),
    ("unlink", {"a": {"type": "email", "value": BAD_EMAIL}, "b": {"type": "device_id", "value": DEVICE}}),
    ("forget", {"type": "email", "value": BAD_EMAIL}),
    ("forget", {"type": "customer", "value": "c-" + PARTNER}),
    ("export", {"type": "email", "value": "planted.secret@example.net"}),
    ("export", {"type": "customer", "value": EMAIL}),
    ("stats", {"value": EMAIL}),
    ("tenant.create", {"tenant": EMAIL, "region": PARTNER}),
    ("key.create", {"tenant": EMAIL}),
    ("key.revoke", {"key_id": EMAIL}),
    ("planted.secret", {"value": EMAIL}),
]
#: every method, with params that succeed for the owner (run after GOOD is ingested)
SUCCEEDING: list[tuple[str, Any]] = [
    ("ingest", {"events": [GOOD]}),
    ("resolve", {"type": "email", "value": EMAIL, "evidence": True}),
    ("resolve_many", {"identifiers": [{"type": "email", "value": EMAIL}], "evidence": True}),
    ("explain", {"a": {"type": "email", "value": EMAIL}, "b": {"type": "device_id", "value": DEVICE}}),
    ("unlink", {"a": {"type": "email", "value": EMAIL}, "b": {"type": "device_id", "value": DEVICE}}),
    ("explain", {"a": {"type": "email", "value": EMAIL}, "b": {"type": "device_id", "value": DEVICE}}),
    ("export", {"type": "email", "value": EMAIL}),
    ("forget", {"type": "device_id", "value": DEVICE}),
    ("ingest", {"events": [GOOD]}),
    ("stats", None),
]


def _failed(reply: dict) -> bool:
    """The call failed, or each of its items did (ingest's events, resolve_many's identifiers)."""
    results = (reply.get("result") or {}).get("results")
    return "error" in reply or bool(results) and all("error" in result for result in results)


class PiiLeak(RealCoreTestCase):
    def use(self, identities: Callable[[str], Any]) -> None:
        self.service.identity_factory = identities
        self.service._identities.clear()  # the service caches one core per tenant

    def post(self, captured: Captured, body: str, key: str | None = "user", *, scan_reply: bool = True) -> dict:
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["Authorization"] = f"Bearer {self.keys.get(key, key)}"
        response = self.fetch("/rpc", method="POST", body=body, headers=headers, raise_error=False)
        text = response.body.decode()
        reply = json.loads(text) if text else {}
        if scan_reply or "error" in reply:
            captured.add(response.code, text, response.headers)
        return reply

    def call(self, captured: Captured, method: str, params: Any, key: str | None = "user", **options: Any) -> dict:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, **({"params": params} if params is not None else {})}
        return self.post(captured, json.dumps(body), key, **options)

    def test_no_planted_value_reaches_logs_errors_or_exceptions(self) -> None:
        captured = Captured()
        with LogCapture(captured), TelemetryRecorder() as recorded:
            for method, params in SUCCEEDING:
                reply = self.call(captured, method, params, scan_reply=False)
                assert "result" in reply, (method, reply)
            for method, params in FAILING:
                for key in ("user", "admin"):
                    assert _failed(self.call(captured, method, params, key)), method
            for key in (API_KEY, "Basic " + EMAIL, None):
                self.call(captured, "resolve", {"type": "email", "value": EMAIL}, key)
            self.post(captured, '{"jsonrpc": "2.0", "method": "resolve", "params": {"value": "' + EMAIL)
            self.post(captured, json.dumps([{"jsonrpc": "2.0", "id": n, "method": m, "params": p}
                                            for n, (m, p) in enumerate(FAILING[:5])]))
            self.fetch("/rpc?email=" + EMAIL, method="GET", raise_error=False)
            self.fetch("/" + EMAIL, raise_error=False)
            self.fetch("/healthz?email=" + EMAIL, raise_error=False)
            self.requests_tornado_quotes(captured)

            self.use(lambda tenant: IdentityGraph(traversal().with_remote(DownConnection()), tenant))
            for method, params in SUCCEEDING:
                reply = self.call(captured, method, params)
                assert reply["error"]["data"] == {"retryable": True}, method
            captured.add(self.fetch("/readyz", raise_error=False).body)

            self.use(lambda tenant: IdentityGraph(open_traversal(self.url), tenant, protector=LeakyProtector()))
            planted = signup_event("e9", ("email", "planted.secret@example.net"))
            reply = self.call(captured, "ingest", {"events": [planted]})
            assert reply["error"]["message"] == "Internal error"
            captured.add(self.fetch("/metrics").body)
        spans = recorded.spans.get_finished_spans()
        assert {"ingest", "resolve"} <= {s.name for s in spans} and any(s.name.startswith("gremlin ") for s in spans)
        captured.add(*recorded.texts())
        assert_no_pii(captured)

    def requests_tornado_quotes(self, captured: Captured) -> None:
        """Requests tornado itself logs: headers it cannot parse (it used to log the whole header,
        API key included), a method it does not know, and an unhandled error (it used to log
        the URI with its query string and the request's headers)."""
        secret, email = API_KEY.encode(), EMAIL.encode()
        for control in (b"\x00", b"\x01", b"\x7f"):
            for header in (b"Authorization: Bearer " + secret + control, b"X-Note: " + email + control):
                captured.add(raw_exchange(self, b"POST /rpc?email=" + email + b" HTTP/1.1\r\nHost: x\r\n" + header +
                                          b"\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"))
        captured.add(raw_exchange(self, b"PLANTED.SECRET /rpc HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))

        def failing_check(tenant: str, value: str = EMAIL) -> float:
            raise RuntimeError("a library quoting its input: " + value)

        circuit_wait, self.service.circuit_wait = self.service.circuit_wait, failing_check
        try:
            response = self.fetch("/rpc?email=" + EMAIL, method="POST", body="{}", raise_error=False,
                                  headers={"Authorization": f"Bearer {self.keys['user']}", "X-Note": EMAIL})
        finally:
            self.service.circuit_wait = circuit_wait
        assert response.code == 500
        captured.add(response.body)

    def test_the_scan_finds_a_planted_value(self) -> None:
        captured = Captured()
        captured.add("a log line with " + EMAIL.lower())
        assert captured.leaks()


def _exception_texts(error: BaseException) -> list[str]:
    """What an exception would show in a log: message, repr and attributes, causes included
    (its traceback's source lines are this file's, planted literals and all)."""
    texts = []
    while error is not None:
        texts += [str(error), repr(error), repr(vars(error))]
        error = error.__cause__ or error.__context__
    return texts


def test_core_exception_text_holds_no_planted_value() -> None:
    captured = Captured()
    g = traversal().with_remote(gremlin.connect("memory://"))
    identity = IdentityGraph(g, "acme")
    identity.ingest([GOOD])
    down = IdentityGraph(traversal().with_remote(DownConnection()), "acme")
    calls = [lambda: identity.ingest([signup_event("x", ("email", BAD_EMAIL))]),
             lambda: identity.resolve("customer", EMAIL), lambda: identity.resolve("phone", PHONE + "x"),
             lambda: identity.unlink(("email", EMAIL), ("email", EMAIL)),
             lambda: identity.unlink(("email", EMAIL), ("email", "planted.secret@example.net")),
             lambda: identity.forget("email", BAD_EMAIL), lambda: identity.export("device_id", DEVICE + "0"),
             lambda: identity.forget("customer", "c-" + PARTNER), lambda: down.ingest([GOOD]),
             lambda: down.resolve("email", EMAIL), lambda: down.forget("email", EMAIL),
             lambda: down.export("email", EMAIL), lambda: down.unlink(("email", EMAIL), ("phone", PHONE))]
    for call in calls:
        with pytest.raises(IdentityError) as caught:
            call()
        captured.add(*_exception_texts(caught.value))
    assert_no_pii(captured)


def test_cli_output_holds_no_planted_value(tmp_path, capsys) -> None:
    captured = Captured()
    common = ["--data-dir", str(tmp_path)]
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join([json.dumps(GOOD), json.dumps(signup_event("bad", ("email", BAD_EMAIL))),
                                 "{" + EMAIL, json.dumps([EMAIL])]) + "\n")
    with LogCapture(captured):
        commands = [["tenant", "create", "acme", "--region", "eu-west-1"], ["load", str(events), "--tenant", "acme"],
                    ["token", "email", EMAIL, "--tenant", "acme"], ["forget", "email", BAD_EMAIL, "--tenant", "acme"],
                    ["export", "customer", EMAIL, "--tenant", "acme"], ["forget", "email", EMAIL, "--tenant", "acme"],
                    ["export", "email", EMAIL, "--tenant", "acme"], ["load", str(events), "--tenant", "acme"],
                    ["token", "email", BAD_EMAIL, "--tenant", "acme"]]
        for argv in commands:
            try:
                cli.main(argv + common)
            except (SystemExit, IdentityError) as error:
                captured.add(*_exception_texts(error))
            out, err = capsys.readouterr()
            captured.add(out, err)
    assert_no_pii(captured)
