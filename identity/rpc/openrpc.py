"""The OpenRPC document (https://spec.open-rpc.org), generated from the method table."""

from __future__ import annotations

from typing import Any

from .errors import SERVER_ERRORS
from .methods import Method

__all__ = ["openrpc_document", "OPENRPC_VERSION"]

OPENRPC_VERSION = "1.2.6"


def openrpc_document(table: dict[str, Method], *, version: str = "0.1.0", url: str = "/rpc") -> dict[str, Any]:
    errors = [{"code": code, "message": message} for code, message in sorted(SERVER_ERRORS.items(), reverse=True)]
    return {
        "openrpc": OPENRPC_VERSION,
        "info": {
            "title": "identity",
            "version": version,
            "description": "Real-time customer identity resolution. JSON-RPC 2.0 over HTTP POST; authenticate "
                           "with 'Authorization: Bearer idk_...'. Methods marked x-admin need the admin scope.",
        },
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
    }
