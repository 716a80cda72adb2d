"""What the resilience layer and telemetry add to one graph round trip.

    python benchmarks/resilience_overhead.py                  # 20k small reads on memory://
    python benchmarks/resilience_overhead.py --calls 5000 --url "memory://?profile=neptune"

Times the same small traversal (``g.V().limit(1).count()``) through a plain connection, through
identity.graph.connection's ResilientConnection (retry wrapper + breaker, telemetry not configured), and
with the OpenTelemetry SDK recording spans and metrics in memory. Writes
docs/benchmarks-resilience.json. Figures compare within one run and one machine only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gremlin_python.process.anonymous_traversal import traversal  # noqa: E402
from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter  # noqa: E402

import gremlin  # noqa: E402
from identity.base import telemetry  # noqa: E402
from identity.graph.connection import close_all, open_traversal  # noqa: E402


def per_call_us(g, calls: int, repeats: int = 5) -> float:
    """The median over ``repeats`` runs of the mean microseconds per call."""
    runs = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls // repeats):
            g.V().limit(1).count().next()
        runs.append((time.perf_counter() - started) / (calls // repeats) * 1e6)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20_000)
    parser.add_argument("--url", default="memory://resilience-bench")
    args = parser.parse_args()
    plain = traversal().with_remote(gremlin.connect(args.url))
    plain.add_v("person").property("name", "x").iterate()
    resilient = open_traversal(args.url)
    results = {"calls": args.calls, "url": args.url,
               "plain_us": round(per_call_us(plain, args.calls), 1),
               "resilient_us": round(per_call_us(resilient, args.calls), 1)}
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    previous = telemetry.install(telemetry.Telemetry(tracer_provider, MeterProvider(
        metric_readers=[InMemoryMetricReader()])))
    try:
        results["resilient_traced_us"] = round(per_call_us(resilient, args.calls), 1)
    finally:
        telemetry.install(previous)
        close_all()
    for name in ("plain_us", "resilient_us", "resilient_traced_us"):
        print(f"{name:22} {results[name]:8.1f} µs per round trip")
    (ROOT / "docs" / "benchmarks-resilience.json").write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
