"""Traces and metrics (OpenTelemetry), and their Prometheus rendering for ``GET /metrics``.

    telemetry.install(telemetry.from_environment())     # at service start
    with telemetry.current().rpc("resolve") as span: ...

Configured by the standard variables: ``OTEL_SERVICE_NAME``, ``OTEL_RESOURCE_ATTRIBUTES``,
``OTEL_TRACES_EXPORTER`` / ``OTEL_METRICS_EXPORTER`` (``none`` (default), ``console`` or
``otlp``; otlp needs the ``otlp`` extra), ``OTEL_EXPORTER_OTLP_ENDPOINT`` and friends (read by
the exporter itself). Metrics are always readable at ``/metrics``.

Attributes and labels are method names, endpoint names, error class names and outcome codes:
never identifier values, event attributes or anything else a caller sent (PII).
"""

from __future__ import annotations

import contextlib
import importlib
import math
import os
import threading
import time
import weakref
from typing import Any, Iterator, Mapping

from opentelemetry import metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import AlwaysOffExemplarFilter, MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter, Gauge, Histogram, InMemoryMetricReader, MetricReader, PeriodicExportingMetricReader, Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import Span, Status, StatusCode

from .errors import ConfigError

__all__ = ["Telemetry", "RpcCall", "current", "install", "watch_circuit", "forget_circuit", "from_environment",
           "render_prometheus", "CIRCUIT_STATES"]

#: circuit state -> the gauge's value
CIRCUIT_STATES = {"closed": 0, "half_open": 1, "open": 2}
_SCOPE = "identity"


class RpcCall:
    """One JSON-RPC call being traced: ``failed(code)`` marks its span and its duration sample."""

    def __init__(self, span: Span):
        self.span = span
        self.outcome = "ok"

    def failed(self, code: int) -> None:
        self.outcome = str(code)
        self.span.set_attribute("rpc.jsonrpc.error_code", code)
        self.span.set_status(Status(StatusCode.ERROR))


class Telemetry:
    """The service's tracer and instruments. ``prometheus`` is the reader ``/metrics`` renders
    (None: the endpoint answers 404)."""

    def __init__(self, tracer_provider: Any = None, meter_provider: Any = None,
                 prometheus: MetricReader | None = None):
        self.tracer_provider = tracer_provider
        self.meter_provider = meter_provider
        self.prometheus = prometheus
        self.tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer(_SCOPE)
        meter = (meter_provider or metrics.get_meter_provider()).get_meter(_SCOPE)
        self.rpc_duration = meter.create_histogram(
            "identity.rpc.duration", unit="s", description="JSON-RPC call duration, by method and outcome")
        self.graph_duration = meter.create_histogram(
            "identity.graph.duration", unit="s", description="Graph request duration (with retries), by endpoint")
        self.graph_retries = meter.create_counter(
            "identity.graph.retries", description="Graph requests sent again after a transient failure")
        self.graph_failures = meter.create_counter(
            "identity.graph.failures", description="Graph requests that failed after their retries")
        self.ingest_replans = meter.create_counter(
            "identity.ingest.replans", description="Ingest chunks read and planned again because another writer "
                                                   "(another instance) changed what their plans read")
        self.ingest_groups = meter.create_histogram(
            "identity.ingest.group", description="Events a tenant's writer wrote as one group (one read, one "
                                                 "write per chunk): its concurrent ingests together")
        self.customer_size = meter.create_histogram(
            "identity.resolve.identifiers", description="Identifiers in a resolved customer")
        self.customer_hops = meter.create_histogram(
            "identity.resolve.hops", description="Farthest identifier of a resolved customer, in links")
        self.together = meter.create_histogram(
            "identity.rpc.together", description="Calls of one tenant run as one (resolves walked together, "
                                                 "ingests written together), by method")
        meter.create_observable_gauge("identity.graph.circuit_state", callbacks=[self._circuit_states],
                                      description="Graph circuit breaker: 0 closed, 1 half-open, 2 open")

    # -- traces ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def rpc(self, method: str) -> Iterator["RpcCall"]:
        """A server span and a duration sample for one JSON-RPC call."""
        started = time.perf_counter()
        with self.tracer.start_as_current_span(method, kind=trace.SpanKind.SERVER, attributes={
                "rpc.system": "jsonrpc", "rpc.method": method, "rpc.jsonrpc.version": "2.0"}) as span:
            call = RpcCall(span)
            try:
                yield call
            finally:
                self.rpc_duration.record(time.perf_counter() - started, {"rpc.method": method, "outcome": call.outcome})

    @contextlib.contextmanager
    def graph_request(self, endpoint: str, operation: str) -> Iterator[Span]:
        """A client span for one graph request (all its attempts); ``operation`` is the first
        step's name (V, mergeV, inject, ...), never an argument."""
        started = time.perf_counter()
        attributes = {"db.system": "gremlin", "db.operation.name": operation, "identity.graph.endpoint": endpoint}
        with self.tracer.start_as_current_span(f"gremlin {operation}", kind=trace.SpanKind.CLIENT,
                                               attributes=attributes, record_exception=False) as span:
            try:
                yield span
            except Exception as error:
                span.set_status(Status(StatusCode.ERROR, type(error).__name__))
                span.set_attribute("error.type", type(error).__name__)
                self.graph_failures.add(1, {"endpoint": endpoint, "error.type": type(error).__name__})
                raise
            finally:
                self.graph_duration.record(time.perf_counter() - started, {"endpoint": endpoint})

    # -- metrics -----------------------------------------------------------------------------
    def graph_retry(self, endpoint: str, reason: str) -> None:
        trace.get_current_span().add_event("retry", {"error.type": reason})
        self.graph_retries.add(1, {"endpoint": endpoint, "error.type": reason})

    def ingest_replanned(self) -> None:
        self.ingest_replans.add(1)

    def ingest_group(self, events: int) -> None:
        self.ingest_groups.record(events)

    def calls_together(self, calls: int, method: str) -> None:
        self.together.record(calls, {"rpc.method": method})

    @staticmethod
    def ran_with_others(calls: int) -> None:
        """The current call (its span) ran as one with others: ``calls`` in all."""
        trace.get_current_span().set_attribute("identity.rpc.together", calls)

    def resolved(self, identifiers: int, hops: int) -> None:
        self.customer_size.record(identifiers)
        self.customer_hops.record(hops)

    @staticmethod
    def _circuit_states(options: CallbackOptions) -> Iterator[Observation]:
        with _breakers_lock:
            breakers = list(_breakers)
        for breaker in breakers:
            yield Observation(CIRCUIT_STATES[breaker.state], {"endpoint": breaker.name})

    def shutdown(self) -> None:
        for provider in (self.tracer_provider, self.meter_provider):
            if provider is not None and hasattr(provider, "shutdown"):
                provider.shutdown()


_breakers: "weakref.WeakSet[Any]" = weakref.WeakSet()
_breakers_lock = threading.Lock()


def watch_circuit(breaker: Any) -> None:
    """Report ``breaker.state`` (keyed by ``breaker.name``) in the circuit-state gauge."""
    with _breakers_lock:
        _breakers.add(breaker)


def forget_circuit(breaker: Any) -> None:
    """Stop reporting ``breaker`` (its connection was closed)."""
    with _breakers_lock:
        _breakers.discard(breaker)


_current = Telemetry()
_current_lock = threading.Lock()


def current() -> Telemetry:
    return _current


def install(telemetry: Telemetry) -> Telemetry:
    """Make ``telemetry`` the one every module reports to; returns the previous one."""
    global _current
    with _current_lock:
        previous, _current = _current, telemetry
    return previous


def from_environment(env: Mapping[str, str] | None = None) -> Telemetry:
    """Providers configured by the OTEL_* variables, with a reader for ``/metrics``."""
    env = os.environ if env is None else env
    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME") or "identity"})
    traces = env.get("OTEL_TRACES_EXPORTER", "none").strip().lower()
    span_exporters = [_exporter("traces", name) for name in filter(None, (n.strip() for n in traces.split(",")))
                      if name != "none"]
    # With nowhere to send spans, recording them (and sampling exemplars for them) cost about
    # 0.1 ms per call for nothing: spans still carry ids for propagation, but record nothing.
    tracer_provider = TracerProvider(resource=resource, sampler=None if span_exporters else ALWAYS_OFF)
    for exporter in span_exporters:
        tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
    prometheus = InMemoryMetricReader()
    readers: list[MetricReader] = [prometheus]
    exported = env.get("OTEL_METRICS_EXPORTER", "none").strip().lower()
    for name in filter(None, (n.strip() for n in exported.split(","))):
        if name not in ("none", "prometheus"):  # prometheus: the /metrics endpoint, always on
            readers.append(PeriodicExportingMetricReader(_exporter("metrics", name)))
    exemplars = {} if span_exporters else {"exemplar_filter": AlwaysOffExemplarFilter()}
    return Telemetry(tracer_provider, MeterProvider(resource=resource, metric_readers=readers, **exemplars), prometheus)


#: signal -> (environment variable, console exporter, OTLP exporter module and class)
_EXPORTERS = {
    "traces": ("OTEL_TRACES_EXPORTER", ConsoleSpanExporter,
               "opentelemetry.exporter.otlp.proto.http.trace_exporter", "OTLPSpanExporter"),
    "metrics": ("OTEL_METRICS_EXPORTER", ConsoleMetricExporter,
                "opentelemetry.exporter.otlp.proto.http.metric_exporter", "OTLPMetricExporter"),
}


def _exporter(signal: str, name: str) -> Any:
    variable, console, module, cls = _EXPORTERS[signal]
    if name == "console":
        return console()
    if name == "otlp":
        try:
            return getattr(importlib.import_module(module), cls)()
        except ImportError:
            raise ConfigError(f"{variable}=otlp needs the otlp extra: pip install 'identity[otlp]'") from None
    raise ConfigError(f"{variable}: unknown exporter {name!r} (expected none, console or otlp)")


# -- Prometheus text format (version 0.0.4) ----------------------------------------------------

def render_prometheus(reader: InMemoryMetricReader) -> str:
    """The reader's current (cumulative) metrics in the Prometheus text exposition format."""
    data = reader.get_metrics_data()
    lines: list[str] = []
    for resource_metrics in (data.resource_metrics if data else []):
        for scope in resource_metrics.scope_metrics:
            for metric in scope.metrics:
                lines += _metric_lines(metric)
    return "\n".join(lines) + "\n"


def _metric_lines(metric: Any) -> list[str]:
    name = _name(metric.name, metric.unit)
    data = metric.data
    if isinstance(data, Histogram):
        lines = [f"# HELP {name} {_help(metric.description)}", f"# TYPE {name} histogram"]
        for point in data.data_points:
            cumulative = 0
            for bound, count in zip(list(point.explicit_bounds) + [math.inf], point.bucket_counts):
                cumulative += count
                lines.append(f"{name}_bucket{_labels(point.attributes, le=_number(bound))} {cumulative}")
            lines.append(f"{name}_sum{_labels(point.attributes)} {_number(point.sum)}")
            lines.append(f"{name}_count{_labels(point.attributes)} {point.count}")
        return lines
    if isinstance(data, Sum) and data.is_monotonic:
        kind, suffix = "counter", "_total"
    elif isinstance(data, (Sum, Gauge)):
        kind, suffix = "gauge", ""
    else:
        return []
    lines = [f"# HELP {name}{suffix} {_help(metric.description)}", f"# TYPE {name}{suffix} {kind}"]
    lines += [f"{name}{suffix}{_labels(p.attributes)} {_number(p.value)}" for p in data.data_points]
    return lines


def _name(name: str, unit: str | None) -> str:
    clean = "".join(c if c.isalnum() or c == "_" else "_" for c in name)
    return f"{clean}_seconds" if unit == "s" else clean


def _labels(attributes: Mapping[str, Any] | None, **extra: str) -> str:
    pairs = {**{_name(k, None): str(v) for k, v in (attributes or {}).items()}, **extra}
    if not pairs:
        return ""
    escaped = (v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"') for v in pairs.values())
    return "{" + ",".join(f'{k}="{v}"' for k, v in zip(pairs, escaped)) + "}"


def _number(value: float) -> str:
    if value == math.inf:
        return "+Inf"
    return repr(float(value)) if isinstance(value, float) and not float(value).is_integer() else str(int(value))


def _help(text: str | None) -> str:
    return (text or "").replace("\\", "\\\\").replace("\n", "\\n")
