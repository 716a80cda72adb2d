"""TinkerPop's Gherkin conformance scenarios, run against any backend.

    python -m gremlin.conformance [FEATURES_DIR] [--url memory://] [--filter TEXT] [--verbose]

or from Python::

    from gremlin.conformance import run
    report = run("../shared/tinkerpop/features", "memory://", filter="Count")
    report.passed, report.failed, report.skipped

Scenarios come from ``../shared/tinkerpop/features`` and the standard graphs from
``../shared/tinkerpop/data`` (relative to the repository root) unless told otherwise. A wrong
answer is a failure; a step the backend reports as unsupported is a skip.
"""

from __future__ import annotations

from .runner import DEFAULT_DATA_DIR, DEFAULT_FEATURES_DIR, Report, ScenarioResult, run

__all__ = ["run", "Report", "ScenarioResult", "DEFAULT_FEATURES_DIR", "DEFAULT_DATA_DIR"]
