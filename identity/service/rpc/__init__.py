"""The identity service's JSON-RPC 2.0 API over HTTP (Tornado).

    POST /rpc             JSON-RPC calls (single or batch), ``Authorization: Bearer idk_...``
    GET  /openrpc.json    the OpenRPC description, generated from the method table
    GET  /healthz         liveness
    GET  /readyz          readiness: tenants loaded and the graph reachable

See docs/api.md.
"""

from __future__ import annotations

from .app import build_service, make_app
from .errors import RpcError
from .methods import Method, method_table
from .openrpc import openrpc_document
from .server import ServerInfo, ensure_dev_tenant, serve
from .service import Limits, Service

__all__ = ["make_app", "build_service", "serve", "ServerInfo", "ensure_dev_tenant", "Service", "Limits",
           "Method", "method_table", "openrpc_document", "RpcError"]
