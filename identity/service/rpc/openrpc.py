"""The OpenRPC document (https://spec.open-rpc.org), generated from the method table."""

from __future__ import annotations

from typing import Any

from .dispatch import MAX_JSON_DEPTH
from .errors import SERVER_ERRORS
from .methods import Method
from .service import Limits

__all__ = ["openrpc_document", "OPENRPC_VERSION"]

OPENRPC_VERSION = "1.2.6"


def openrpc_document(table: dict[str, Method], *, version: str = "0.1.0", url: str = "/rpc",
                     limits: Limits | None = None, request_timeout: float | None = None) -> dict[str, Any]:
    """The document; ``limits`` and ``request_timeout``, when given, are published as the info's
    ``x-limits`` (each method's cost in units is its ``x-cost``)."""
    errors = [{"code": code, "message": message} for code, message in sorted(SERVER_ERRORS.items(), reverse=True)]
    info: dict[str, Any] = {
        "title": "identity",
        "version": version,
        "description": "Real-time customer identity resolution. JSON-RPC 2.0 over HTTP POST; authenticate "
                       "with 'Authorization: Bearer idk_...'. x-scope names the scope a method needs. A "
                       "request costs the sum of its calls' x-cost (units of one resolve) against the "
                       "tenant's rate limit; one costing more than x-limits.max_request_cost is refused "
                       "(-32600) before it runs, and a request's calls end at its deadline "
                       "(x-limits.request_timeout_s, -32010).",
    }
    if limits is not None:
        info["x-limits"] = {"max_body_bytes": limits.max_body_bytes, "max_header_bytes": limits.max_header_bytes,
                            "max_batch": limits.max_batch, "max_json_depth": MAX_JSON_DEPTH,
                            "max_request_cost": limits.max_request_cost,
                            "tenant_concurrency": limits.tenant_concurrency, "tenant_queue": limits.tenant_queue,
                            "resolve_together": limits.resolve_together, "ingest_together": limits.ingest_together,
                            **({"request_timeout_s": request_timeout} if request_timeout else {})}
    return {
        "openrpc": OPENRPC_VERSION,
        "info": info,
        "servers": [{"name": "this server", "url": url}],
        "methods": [_method(method, errors) for method in table.values()],
        "components": {"errors": {str(e["code"]): e for e in errors}},
    }


def _method(method: Method, errors: list[dict[str, Any]]) -> dict[str, Any]:
    schema = method.params
    required = set(schema.get("required", ()))
    return {
        "name": method.name,
        "summary": method.summary,
        **({"description": method.description} if method.description else {}),
        "paramStructure": "by-name",
        "params": [{"name": name, "required": name in required, "schema": property_schema}
                   for name, property_schema in schema.get("properties", {}).items()],
        "result": {"name": f"{method.name}.result", "schema": method.result},
        "errors": errors,
        "x-scope": method.scope,
        "x-cost": method.cost_summary,
    }
