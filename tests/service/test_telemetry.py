"""Telemetry: a span per RPC and per graph request, the metrics, /metrics in the Prometheus
text format, and no planted PII value in any span, attribute or metric label."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from tornado.testing import AsyncHTTPTestCase

pytest.importorskip("identity.domain.core")

import gremlin  # noqa: E402
from identity.base import telemetry  # noqa: E402
from identity.base.errors import ConfigError  # noqa: E402
from identity.graph.connection import unavailable  # noqa: E402
from identity.graph.resilience import ResilientConnection, RetryPolicy  # noqa: E402
from identity.service.rpc import make_app  # noqa: E402
from service_support import TelemetryRecorder, real_service  # noqa: E402

PLANTED = ("planted-7f3a@example.com", "+15559876543", "planted-device-9c1e", "planted-attribute-4b2d")
EVENT = {"event_id": "planted-event-id-5e6f", "type": "signup",
         "identifiers": [{"type": "email", "value": PLANTED[0]}, {"type": "phone", "value": PLANTED[1]},
                         {"type": "device_id", "value": PLANTED[2]}],
         "attributes": {"note": PLANTED[3]}}


class Telemetry(AsyncHTTPTestCase):
    tmp: Path

    def get_app(self):  # type: ignore[override]
        self.recorder = TelemetryRecorder().install()
        self.spans, self.reader = self.recorder.spans, self.recorder.reader
        self.url = f"memory://telemetry-{uuid.uuid4().hex}?profile=neptune"
        real = real_service(self.tmp, self.url, {"acme": "eu-west-1"})
        self.service, self.key = real.service, real.keys["acme"]
        return make_app(self.service)

    def tearDown(self) -> None:
        super().tearDown()
        self.service.close()
        self.recorder.restore()
        gremlin.forget_graph(self.url)

    def call(self, method: str, params: dict) -> dict:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
        response = self.fetch("/rpc", method="POST", body=json.dumps(body),
                              headers={"Authorization": f"Bearer {self.key}"})
        return json.loads(response.body)

    def exercise(self) -> None:
        assert "result" in self.call("ingest", {"events": [EVENT]})
        assert "result" in self.call("resolve", {"type": "device_id", "value": PLANTED[2], "evidence": True})
        assert "error" in self.call("resolve", {"type": "email", "value": "not an email " + PLANTED[0]})

    def test_a_span_per_rpc_with_graph_spans_inside(self) -> None:
        self.exercise()
        finished = self.spans.get_finished_spans()
        rpc = [s for s in finished if s.attributes.get("rpc.system") == "jsonrpc"]
        assert [s.name for s in rpc] == ["ingest", "resolve", "resolve"]
        assert rpc[2].attributes["rpc.jsonrpc.error_code"] == -32602
        graph = [s for s in finished if s.attributes.get("db.system") == "gremlin"]
        assert graph and all(s.name.startswith("gremlin ") for s in graph)
        ingest_ids = {rpc[0].context.span_id}
        assert any(s.parent is not None and s.parent.span_id in ingest_ids for s in graph)
        assert all(s.context.trace_id in {r.context.trace_id for r in rpc} for s in graph)

    def test_the_metrics_record_calls_graph_requests_and_resolved_customers(self) -> None:
        self.exercise()
        points = self.recorder.points()
        methods = {(p.attributes["rpc.method"], p.attributes["outcome"]) for p in points["identity.rpc.duration"]}
        assert methods == {("ingest", "ok"), ("resolve", "ok"), ("resolve", "-32602")}
        assert sum(p.count for p in points["identity.graph.duration"]) >= 3
        [size] = points["identity.resolve.identifiers"]
        assert (size.count, size.sum) == (1, 3)
        [hops] = points["identity.resolve.hops"]
        assert hops.max >= 1
        assert {p.attributes["endpoint"] for p in points["identity.graph.circuit_state"]} >= {"local/writer"}

    def test_metrics_endpoint_speaks_the_prometheus_text_format(self) -> None:
        self.exercise()
        response = self.fetch("/metrics")
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = response.body.decode()
        assert "# TYPE identity_rpc_duration_seconds histogram" in text
        assert 'identity_rpc_duration_seconds_bucket{rpc_method="ingest",outcome="ok",le="+Inf"} 1' in text
        assert 'identity_graph_circuit_state{endpoint="local/writer"} 0' in text
        breaker = self.service.router.endpoints("local").writer_connection.breaker
        for _ in range(breaker.threshold):
            breaker.record_failure()
        assert 'identity_graph_circuit_state{endpoint="local/writer"} 2' in self.fetch("/metrics").body.decode()

    def test_no_planted_pii_in_spans_attributes_events_or_metric_labels(self) -> None:
        self.exercise()
        seen = self.recorder.texts() + [self.fetch("/metrics").body.decode()]
        for value in PLANTED + ("planted-event-id",):
            assert not any(value in text for text in seen), value


def test_graph_retries_are_counted_by_endpoint_and_error_class() -> None:
    failures = [ConnectionResetError()]
    inner = gremlin.connect("memory://")

    class FailOnce(type(inner)):  # type: ignore[misc]
        def submit(self, bytecode: Any) -> Any:
            if failures:
                raise failures.pop()
            return super().submit(bytecode)

    with TelemetryRecorder() as recorder:
        connection = ResilientConnection(lambda: FailOnce(inner.graph), name="eu/writer", is_outage=unavailable,
                                         policy=RetryPolicy(3, 0.0, 0.0))
        assert traversal().with_remote(connection).V().count().next() == 0
    [retry] = recorder.points()["identity.graph.retries"]
    assert retry.value == 1
    assert dict(retry.attributes) == {"endpoint": "eu/writer", "error.type": "ConnectionResetError"}


def test_exporters_come_from_the_standard_environment() -> None:
    configured = telemetry.from_environment({"OTEL_SERVICE_NAME": "identity-test", "OTEL_TRACES_EXPORTER": "none"})
    assert configured.tracer_provider.resource.attributes["service.name"] == "identity-test"
    assert configured.prometheus is not None
    configured.shutdown()
    with pytest.raises(ConfigError, match="OTEL_TRACES_EXPORTER"):
        telemetry.from_environment({"OTEL_TRACES_EXPORTER": "zipkin"})


def test_spans_are_recorded_only_when_they_have_somewhere_to_go() -> None:
    quiet = telemetry.from_environment({"OTEL_TRACES_EXPORTER": "none"})
    exported = telemetry.from_environment({"OTEL_TRACES_EXPORTER": "console"})
    try:
        with quiet.rpc("resolve") as call:
            assert not call.span.is_recording()
            assert call.span.get_span_context().trace_id != 0  # still propagates an id
        with exported.rpc("resolve") as call:
            assert call.span.is_recording()
        # the duration metric is kept either way: /metrics does not depend on tracing
        text = telemetry.render_prometheus(quiet.prometheus)
        assert 'identity_rpc_duration_seconds_count{rpc_method="resolve",outcome="ok"} 1' in text
    finally:
        quiet.shutdown()
        exported.shutdown()
