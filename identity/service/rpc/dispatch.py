"""JSON-RPC 2.0 request handling independent of HTTP: parse, plan, run, shape responses.

    payload = parse(body)                          # RpcError(-32700) if not JSON
    plan = make_plan(payload, table, max_batch)    # per-call errors are recorded, not raised
    forbidden = refusal(plan, context)             # RpcError(-32005) for HTTP 403, or None
    units = cost(plan)                             # what it may cost at most (the ceiling)
    responses = await run(plan, context)           # None: nothing to send (only notifications)
"""

from __future__ import annotations

import json
import math
import time
import functools
from dataclasses import dataclass, replace
from typing import Any

from ...base import telemetry
from ...security.tenants import OPERATOR_SCOPE
from . import errors
from .errors import RpcError
from .methods import Context, Method
from .nesting import too_deep
from .schema import validate
from .service import Joinable

__all__ = ["MAX_JSON_DEPTH", "Item", "Plan", "parse", "make_plan", "refusal", "cost", "run", "response", "error_response"]

_NO_ID = object()


@dataclass
class Item:
    """One call of a (possibly batch) request; ``error`` is set when it must not run."""

    id: Any = None
    has_id: bool = False
    method: Method | None = None
    params: dict[str, Any] | None = None
    error: RpcError | None = None


@dataclass
class Plan:
    batch: bool
    items: list[Item]



#: How deeply a request's JSON may nest: a batch of ingest calls needs 7 levels.
MAX_JSON_DEPTH = 32


class _OutOfRange(ValueError):
    pass


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):
        raise _OutOfRange(text)
    return number


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse(body: bytes) -> Any:
    """The request's JSON: its depth bounded before parsing (identity.service.rpc.nesting), and only
    what JSON allows (Python's parser also takes NaN and Infinity, and makes 1e400 infinite)."""
    if too_deep(body, MAX_JSON_DEPTH):
        raise RpcError(errors.INVALID_REQUEST, f"Invalid request: JSON nested more than {MAX_JSON_DEPTH} levels deep",
                       {"max_depth": MAX_JSON_DEPTH})
    try:
        return json.loads(body, parse_float=_finite, parse_constant=_not_json)
    except _OutOfRange:
        raise RpcError(errors.PARSE_ERROR, "Parse error: a number is beyond a double's range") from None
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise RpcError(errors.PARSE_ERROR, "Parse error: the body is not valid JSON") from None


def make_plan(payload: Any, table: dict[str, Method], max_batch: int) -> Plan:
    """Raises RpcError only for a request that cannot be answered call by call (an empty or
    oversized batch, a body that is not an object or array)."""
    if isinstance(payload, list):
        if not payload:
            raise RpcError(errors.INVALID_REQUEST, "Invalid request: empty batch")
        if len(payload) > max_batch:
            raise RpcError(errors.INVALID_REQUEST, f"Invalid request: a batch may hold at most {max_batch} calls",
                           {"max_batch": max_batch})
        return Plan(True, [_item(entry, table) for entry in payload])
    if isinstance(payload, dict):
        return Plan(False, [_item(payload, table)])
    raise RpcError(errors.INVALID_REQUEST, "Invalid request: expected a JSON object or array")


def _item(entry: Any, table: dict[str, Method]) -> Item:
    if not isinstance(entry, dict):
        return Item(has_id=True, error=RpcError(errors.INVALID_REQUEST, "Invalid request: expected an object"))
    raw_id = entry.get("id", _NO_ID)
    valid_id = raw_id is _NO_ID or raw_id is None or (isinstance(raw_id, (str, int, float))
                                                      and not isinstance(raw_id, bool))
    item = Item(id=raw_id if valid_id and raw_id is not _NO_ID else None, has_id=raw_id is not _NO_ID)
    problem = None
    if not valid_id:
        problem = "id must be a string, a number or null"
    elif entry.get("jsonrpc") != "2.0":
        problem = 'jsonrpc must be "2.0"'
    elif not isinstance(entry.get("method"), str):
        problem = "method must be a string"
    elif "params" in entry and not isinstance(entry["params"], (dict, list)):
        problem = "params must be an object"
    if problem:  # an invalid request is always answered, even without an id (JSON-RPC 2.0, 5)
        item.has_id = True
        item.error = RpcError(errors.INVALID_REQUEST, f"Invalid request: {problem}")
        return item
    item.method = table.get(entry["method"])
    if item.method is None:
        item.error = RpcError(errors.METHOD_NOT_FOUND, "Method not found", {"methods": sorted(table)})
        return item
    params = entry.get("params", {})
    if isinstance(params, list):
        item.error = RpcError.invalid_params([{"field": "params", "reason": "must be an object (by-name)"}])
        return item
    problems = validate(params, item.method.checked_params)
    if problems:
        item.error = RpcError.invalid_params([p.to_dict() for p in problems])
    else:
        item.params = params
    return item


def refusal(plan: Plan, context: Context) -> RpcError | None:
    """The 403 error when some call of the request needs a scope the key does not hold for the
    tenant the call acts on (then nothing in the request runs), else None."""
    principal = context.principal
    for item in plan.items:
        method = item.method
        if method is None or method.scope is None:
            continue
        if item.params is None:  # invalid params: it will not run, and needs some admin scope anyway
            allowed = principal.is_admin or principal.is_operator
        else:
            allowed = method.permits(context, item.params)
        if not allowed:
            needs = "the operator scope" if method.scope == OPERATOR_SCOPE else \
                "the admin scope of the tenant it acts on (or the operator scope)"
            return RpcError(errors.FORBIDDEN, f"Forbidden: {method.name} needs {needs}")
    return None


def cost(plan: Plan) -> int:
    """What the request costs, for the ceiling a request may cost: each call its method's cost
    (identity.service.rpc.methods), a call that will not run (invalid, unknown method) 1."""
    total = sum(item.method.cost(item.params) if item.error is None and item.method and item.params is not None
                else 1.0 for item in plan.items)
    return max(1, math.ceil(total))


async def run(plan: Plan, context: Context) -> Any:
    """The response document: an object, an array, or None when every call was a notification.

    Calls run in order, each charged its price against the tenant's rate limit just before it
    runs (and the CPU it used beyond that after it: Service.run): once the tenant cannot pay for
    the next call, it and the ones after it do not run (-32006 with ``retry_after``). All of it
    within the request's deadline (``context.deadline``): once it has passed, the call running
    ends with -32010 and the ones after it do not run (-32010 too)."""
    service = context.service
    tenant = context.principal.tenant
    until = context.deadline if context.deadline is not None else time.monotonic() + service.request_timeout
    context = replace(context, deadline=until)
    responses = []
    refused: RpcError | None = None
    for item in plan.items:
        if item.error is None and time.monotonic() >= until:
            item.error = errors.deadline_exceeded(service.request_timeout)
        if item.error is None and refused is None:
            assert item.method is not None and item.params is not None
            wait = service.limiter.check(tenant, item.method.cost(item.params))
            if wait:
                refused = errors.rate_limited(wait)
        if item.error is None and refused is not None:
            item.error = refused
        if item.error is None:
            assert item.method is not None and item.params is not None
            with telemetry.current().rpc(item.method.name) as call:
                try:
                    result = await service.run(item.method.call, context, item.params, tenant=tenant, until=until,
                                               charged=item.method.cost(item.params),
                                               joinable=_joinable(item.method, item.params, context))
                except Exception as error:  # every failure becomes a JSON-RPC error object
                    item.error = errors.from_exception(error)
                    if item.error.code == errors.DEADLINE_EXCEEDED:
                        item.error = errors.deadline_exceeded(service.request_timeout)
                    call.failed(item.error.code)
            if item.error is None:
                if item.has_id:
                    responses.append(response(item.id, result))
                continue
        if item.has_id:
            responses.append(error_response(item.id, item.error))
    if not responses:
        return None
    return responses if plan.batch else responses[0]


def _joinable(method: Method, params: dict[str, Any], context: Context) -> Joinable | None:
    """How the call may run with its tenant's calls waiting beside it (Service.run), if it may."""
    if method.together is None or method.together_key is None:
        return None
    return Joinable(method.name, (method.name, method.together_key(params)),
                    functools.partial(method.together, context), params,
                    getattr(context.service.limits, method.together_most))


def response(request_id: Any, result: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error_response(request_id: Any, error: RpcError) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_dict()}
