"""Purpose-built pieces for the service tests: a fake identity core and a Service on it."""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tornado.tcpclient import TCPClient
from tornado.testing import AsyncHTTPTestCase

from identity.security import auth
from identity.security.tenants import TenantRegistry
from identity.service.rpc import Limits, Service, make_app
from identity.service.rpc.ratelimit import RateLimiter


def signup_event(event_id: str, *identifiers: tuple[str, str], **extra: Any) -> dict:
    """An event as a client sends it, its identifiers given as (type, value) pairs."""
    return {"event_id": event_id, "type": "signup", "timestamp": "2024-05-01T10:00:00Z",
            "identifiers": [{"type": t, "value": v} for t, v in identifiers], **extra}


@dataclass
class FakeResult:
    payload: dict[str, Any]
    duplicate: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dict(self.payload)


@dataclass
class FakeIdentityGraph:
    """Links every identifier of an event into one customer; enough to exercise the API."""

    tenant: str
    customers: dict[tuple[str, str], str] = field(default_factory=dict)
    seen_events: set[str] = field(default_factory=set)
    #: When set, ingest waits for it (tests of draining).
    gate: threading.Event | None = None
    _ids: Any = field(default_factory=lambda: itertools.count(1))

    def ingest(self, events: list[dict], *, atomic: bool = True) -> list[Any]:
        """Like the core: an identifier of type "forbidden" is invalid (the batch fails when
        ``atomic``, else that event is rejected and the others ingested)."""
        from identity.base.errors import ValidationError
        from identity.domain.events import RejectedEvent
        if self.gate is not None:
            self.gate.wait()
        invalid = {n: ValidationError(f"events[{n}].identifiers[{index}].type", "is not a known identifier type")
                   for n, event in enumerate(events)
                   for index, identifier in enumerate(event["identifiers"]) if identifier["type"] == "forbidden"}
        if atomic and invalid:
            raise next(iter(invalid.values()))
        results: list[Any] = []
        for n, event in enumerate(events):
            if n in invalid:
                results.append(RejectedEvent(n, event.get("event_id"), invalid[n]))
                continue
            event_id = event.get("event_id") or json.dumps(event, sort_keys=True)
            keys = [(i["type"], i["value"]) for i in event["identifiers"]]
            existing = sorted({self.customers[k] for k in keys if k in self.customers})
            customer = existing[0] if existing else f"c{next(self._ids)}"
            for key, value in list(self.customers.items()):
                if value in existing:
                    self.customers[key] = customer
            for key in keys:
                self.customers[key] = customer
            duplicate = event_id in self.seen_events
            self.seen_events.add(event_id)
            results.append(FakeResult({"event_id": event_id, "customer_id": customer, "merged": existing[1:],
                                       "refused": [], "duplicate": duplicate}, duplicate))
        return results

    def ingest_each(self, calls: list[tuple[list[dict], bool]]) -> list[Any]:
        """ingest()'s answer or ValidationError for each call, one after another."""
        from identity.base.errors import ValidationError
        outcomes: list[Any] = []
        for events, atomic in calls:
            try:
                outcomes.append(self.ingest(events, atomic=atomic))
            except ValidationError as invalid:
                outcomes.append(invalid)
        return outcomes

    def resolve(self, id_type: str, value: str, **options: Any) -> FakeResult | None:
        customer = self.customers.get((id_type, value))
        if customer is None:
            return None
        identifiers: dict[str, list[dict]] = {}
        for (kind, item), owner in sorted(self.customers.items()):
            if owner == customer:
                identifiers.setdefault(kind, []).append({"value": item, "hops": 0, "generic": False})
        return FakeResult({"customer_id": customer, "identifiers": identifiers,
                           "evidence": [] if options.get("evidence") else None, "truncated": False})

    def resolve_many(self, identifiers: list[dict], **options: Any) -> list[FakeResult | None]:
        return [self.resolve(item["type"], item["value"], **options) for item in identifiers]

    def resolve_each(self, asked: list[tuple[str, str]], **options: Any) -> list[FakeResult | None]:
        return [self.resolve(id_type, value, **options) for id_type, value in asked]

    def unlink(self, a: tuple[str, str], b: tuple[str, str]) -> None:
        if a not in self.customers or b not in self.customers:
            from identity.base.errors import NotFound
            raise NotFound("identifier not found")
        self.customers[b] = f"c{next(self._ids)}"

    def stats(self) -> dict:
        return {"identifiers": len(self.customers), "customers": len(set(self.customers.values()))}


@dataclass
class Fixture:
    service: Service
    admin_key: str
    user_key: str
    operator_key: str
    graphs: dict[str, FakeIdentityGraph]


def make_service(data_dir: Path, *, limits: Limits | None = None, limiter: RateLimiter | None = None,
                 ping_fails: bool = False) -> Fixture:
    registry = TenantRegistry(data_dir).load()
    registry.create_tenant("acme", "eu-west-1")
    admin_key = auth.issue_key(registry, "acme", admin=True).key
    user_key = auth.issue_key(registry, "acme").key
    operator_key = auth.issue_key(registry, "acme", operator=True).key
    graphs: dict[str, FakeIdentityGraph] = {}

    def factory(tenant: str) -> FakeIdentityGraph:
        return graphs.setdefault(tenant, FakeIdentityGraph(tenant))

    def ping(region: str) -> None:
        if ping_fails:
            raise ConnectionError("graph down")

    service = Service(registry=registry, identity_factory=factory, ping=ping, limits=limits or Limits(),
                      limiter=limiter or RateLimiter(0, 1), workers=2, served_regions=lambda: ("eu-west-1",))
    return Fixture(service, admin_key, user_key, operator_key, graphs)


class ServiceTestCase(AsyncHTTPTestCase):
    """An AsyncHTTPTestCase on a fake-core Service; ``self.tmp`` is a fresh directory."""

    tmp: Path
    limits: Limits | None = None
    limiter: RateLimiter | None = None
    #: (rate, burst): each test gets a rate limiter of its own with a full bucket
    bucket: tuple[float, float] | None = None
    ping_fails = False

    def get_app(self):  # type: ignore[override]
        if self.bucket is not None:
            self.limiter = RateLimiter(rate=self.bucket[0], burst=self.bucket[1])
        self.fx = make_service(self.tmp, limits=self.limits, limiter=self.limiter, ping_fails=self.ping_fails)
        return make_app(self.fx.service)

    def get_httpserver_options(self) -> dict[str, Any]:
        return dict(self._app.server_options)  # as identity serve runs it

    def tearDown(self) -> None:
        super().tearDown()
        self.fx.service.close()

    def rpc(self, body: Any, key: str | None = "admin", raw: bytes | None = None, **kwargs: Any):
        headers = {"Content-Type": "application/json"}
        if key is not None:
            headers["Authorization"] = "Bearer " + {"admin": self.fx.admin_key, "user": self.fx.user_key,
                                                "operator": self.fx.operator_key}.get(key, key)
        data = raw if raw is not None else json.dumps(body).encode()
        return self.fetch("/rpc", method="POST", body=data, headers=headers, raise_error=False, **kwargs)

    def call(self, method: str, params: Any = None, key: str | None = "admin", request_id: Any = 1) -> dict:
        body: dict[str, Any] = {"jsonrpc": "2.0", "method": method, "id": request_id}
        if params is not None:
            body["params"] = params
        response = self.rpc(body, key)
        assert response.code == 200, (response.code, response.body)
        return json.loads(response.body)


def raw_exchange(case: AsyncHTTPTestCase, data: bytes, *, timeout: float = 5.0) -> bytes:
    """Send ``data`` as is on a fresh connection to the test server and return everything it
    answers until it closes the connection (requests should say ``Connection: close``): for
    requests an HTTP client refuses to send (control characters, huge headers, half bodies)."""
    async def exchange() -> bytes:
        stream = await TCPClient().connect("127.0.0.1", case.get_http_port())
        try:
            await stream.write(data)
            return await stream.read_until_close()
        finally:
            stream.close()

    return case.io_loop.run_sync(exchange, timeout=timeout)


@dataclass
class RealService:
    service: Service
    config: Any
    #: tenant id -> its API key
    keys: dict[str, str]


def real_service(data_dir: Path, graph_url: str, tenants: dict[str, str], *, admin: bool = False,
                 operator: bool = False, **settings: Any) -> RealService:
    """A Service on the real identity core over ``graph_url``; ``tenants`` maps tenant ids to
    home regions, each given one API key (with the admin and operator scopes when asked)."""
    from identity.service.config import Config
    from identity.service.rpc import build_service

    registry = TenantRegistry(data_dir).load()
    keys = {}
    for tenant, region in tenants.items():
        registry.create_tenant(tenant, region)
        keys[tenant] = auth.issue_key(registry, tenant, admin=admin, operator=operator).key
    config = Config(data_dir=str(data_dir), **{"rate_per_second": 0, "graph_url": graph_url, **settings})
    return RealService(build_service(config, registry=registry), config, keys)


class RealCoreTestCase(AsyncHTTPTestCase):
    """The service on the real identity core over a fresh memory:// graph with Neptune's rules:
    tenant acme, its ``user`` and ``admin`` keys in ``self.keys``, key rings in ``self.tmp``."""

    tmp: Path

    def get_app(self):  # type: ignore[override]
        import uuid

        self.url = f"memory://{type(self).__name__}-{uuid.uuid4().hex}?profile=neptune"
        real = real_service(self.tmp, self.url, {"acme": "eu-west-1"})
        self.service, self.config, self.registry = real.service, real.config, real.service.registry
        self.keys = {"user": real.keys["acme"], "admin": auth.issue_key(self.registry, "acme", admin=True).key}
        return make_app(self.service)

    def get_httpserver_options(self) -> dict[str, Any]:
        return dict(self._app.server_options)

    def get_async_test_timeout(self) -> float:
        # what bounds each fetch (tornado's 5 s default cut a real-core ingest of 24 wide events
        # at load 10); a hung test still ends
        return 60.0

    def call(self, method: str, params: dict[str, Any], key: str = "user") -> dict:
        """One JSON-RPC call with ``key`` (a name in ``self.keys``, or a key itself): its reply, which
        came with HTTP 200."""
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        response = self.fetch("/rpc", method="POST", body=json.dumps(body),
                              headers={"Authorization": f"Bearer {self.keys.get(key, key)}"})
        assert response.code == 200
        return json.loads(response.body)

    def tearDown(self) -> None:
        import gremlin

        super().tearDown()
        self.service.close()
        gremlin.forget_graph(self.url)


class TelemetryRecorder:
    """Installs a Telemetry that keeps spans and metrics in memory (``with`` block), and
    renders everything recorded as text for PII scans."""

    def __init__(self) -> None:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        from identity.base import telemetry

        self.spans = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.telemetry = telemetry.Telemetry(tracer_provider, MeterProvider(metric_readers=[self.reader]),
                                             self.reader)

    def install(self) -> "TelemetryRecorder":
        from identity.base import telemetry
        self._previous = telemetry.install(self.telemetry)
        return self

    def restore(self) -> None:
        from identity.base import telemetry
        telemetry.install(self._previous)

    def __enter__(self) -> "TelemetryRecorder":
        return self.install()

    def __exit__(self, *exc: Any) -> None:
        self.restore()

    def points(self) -> dict[str, list[Any]]:
        """metric name -> its data points"""
        points: dict[str, list[Any]] = {}
        for resource in self.reader.get_metrics_data().resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    points.setdefault(metric.name, []).extend(metric.data.data_points)
        return points

    def texts(self) -> list[str]:
        """Span names, attributes and event attributes; metric names and labels; /metrics."""
        from identity.base import telemetry

        seen: list[str] = []
        for span in self.spans.get_finished_spans():
            seen += [span.name, *map(str, span.attributes.values())]
            seen += [str(v) for event in span.events for v in event.attributes.values()]
        for name, points in self.points().items():
            seen += [name, *(str(v) for p in points for v in p.attributes.values())]
        seen.append(telemetry.render_prometheus(self.reader))
        return seen
