"""Running one Gremlin text of a scenario: parse, submit through the RemoteConnection, unroll.

Also how errors are told apart: an engine that honestly reports a step as unsupported makes
the scenario a skip; any other Gremlin error is a raised error (which some scenarios expect);
everything else is unexpected.
"""

from __future__ import annotations

import re
from typing import Any

from gremlin_python.driver.protocol import GremlinServerError
from gremlin_python.driver.remote_connection import RemoteConnection
from gremlin_python.process.strategies import OptionsStrategy
from gremlin_python.process.traversal import Bytecode

from ..errors import EngineFault, GremlinError, UnsupportedStepError
from .compare import from_wire

__all__ = [
    "UNSUPPORTED", "RAISED", "UNEXPECTED", "classify_error", "error_message", "submit", "writes_to_graph",
    "with_source_options",
]

UNSUPPORTED = "unsupported"
RAISED = "raised"
UNEXPECTED = "unexpected"

_UNSUPPORTED_TEXT = re.compile(r"\b(not supported|unsupported|not implemented)\b", re.IGNORECASE)

#: Steps after which the graph is no longer the standard graph it was loaded as.
_WRITING_STEPS = frozenset({"addV", "addE", "property", "drop", "mergeV", "mergeE", "io", "read"})


def error_message(error: BaseException) -> str:
    if isinstance(error, GremlinServerError):
        return str(error.status_message)
    return str(error)


def classify_error(error: BaseException) -> str:
    """UNSUPPORTED, RAISED (a Gremlin error a scenario may expect) or UNEXPECTED."""
    if isinstance(error, UnsupportedStepError):
        return UNSUPPORTED
    if isinstance(error, EngineFault):
        return UNEXPECTED  # Python's own failure in a step: a bug, even where the scenario expects an error
    if isinstance(error, GremlinError):
        return RAISED
    if isinstance(error, GremlinServerError):
        exceptions = (error.status_attributes or {}).get("exceptions") or []
        if _UNSUPPORTED_TEXT.search(error_message(error)) and not any(
                "Verification" in str(e) for e in exceptions):
            return UNSUPPORTED
        return RAISED
    return UNEXPECTED


def _nested(value: Any) -> list[Bytecode]:
    if isinstance(value, Bytecode):
        return [value]
    inner = getattr(value, "bytecode", None)
    if isinstance(inner, Bytecode):
        return [inner]
    if isinstance(value, (list, tuple, set, frozenset)):
        return [b for item in value for b in _nested(item)]
    if isinstance(value, dict):
        return [b for item in (*value.keys(), *value.values()) for b in _nested(item)]
    return []


def writes_to_graph(bytecode: Bytecode) -> bool:
    """Whether the traversal may change the graph (so a shared standard graph needs reloading)."""
    pending = [bytecode]
    while pending:
        current = pending.pop()
        for name, *args in current.step_instructions:
            if name in _WRITING_STEPS:
                return True
            for arg in args:
                pending.extend(_nested(arg))
        for _, *args in current.source_instructions:
            for arg in args:
                pending.extend(_nested(arg))
    return False


def with_source_options(bytecode: Bytecode, *, timeout_ms: int | None,
                        side_effects: dict[str, Any]) -> Bytecode:
    """A copy of ``bytecode`` with the run's evaluationTimeout and the scenario's side effects."""
    result = Bytecode()
    prefix: list[list[Any]] = []
    if timeout_ms:
        prefix.append(["withStrategies", OptionsStrategy({"evaluationTimeout": timeout_ms})])
    prefix.extend(["withSideEffect", key, value] for key, value in side_effects.items())
    result.source_instructions = prefix + [list(i) for i in bytecode.source_instructions]
    result.step_instructions = [list(i) for i in bytecode.step_instructions]
    result.bindings = dict(bytecode.bindings)
    return result


def submit(connection: RemoteConnection, bytecode: Bytecode, *, first_only: bool = False) -> list[Any]:
    """The traversal's results, each repeated by its bulk (or only the first one)."""
    remote = connection.submit(bytecode)
    results: list[Any] = []
    for traverser in remote.traversers:
        obj = from_wire(getattr(traverser, "object", traverser))
        if first_only:
            return [obj]
        bulk = getattr(traverser, "bulk", 1) or 1
        results.extend([obj] * int(bulk))
    return results
