"""The JSON-RPC methods: one definition per method serves dispatch, parameter validation
and the OpenRPC document (``GET /openrpc.json``), so the three cannot disagree.

Parameters are by-name only (``params`` is an object). Implementations are plain blocking
functions; the handler runs them on the worker pool.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Callable, Hashable

from ...base import telemetry
from ...base.errors import IdentityError, ValidationError
from ...domain.events import RejectedEvent, given_event_id
from ...domain.explain import EVENTS_PER_LINK, MAX_PATHS
from ...domain.identifiers import MAX_EPOCH_MS
from ...domain.resolve import MAX_RESOLVE_MANY, STARTS_PER_WALK
from ...security import auth
from ...security.tenants import ADMIN_SCOPE, OPERATOR_SCOPE, REGION_PATTERN, TENANT_ID_PATTERN, UnknownTenant
from .errors import RpcError
from .schema import FieldError, validate
from .service import Service

__all__ = ["Method", "Context", "method_table", "IDENTIFIER_SCHEMA", "event_schema", "ingest_cost", "PAIRS_PER_UNIT",
           "STATS_COST", "RESOLVE_MANY_COST", "EXPLAIN_COST", "item_error"]


@dataclass(frozen=True)
class Context:
    service: Service
    principal: auth.Principal
    #: When the request's work must end (time.monotonic); None: ``request_timeout`` from each call.
    deadline: float | None = None


@dataclass(frozen=True)
class Method:
    name: str
    summary: str
    params: dict[str, Any]  # a JSON Schema object: properties, required, additionalProperties
    result: dict[str, Any]
    call: Callable[[Context, dict[str, Any]], Any]
    #: None: any key of the tenant; ADMIN_SCOPE: an admin of the tenant the call acts on (or an
    #: operator); OPERATOR_SCOPE: an operator only.
    scope: str | None = None
    #: The tenant an admin call acts on, from its params (None when it names none that exists).
    acts_on: Callable[[Context, dict[str, Any]], str | None] = lambda ctx, params: params["tenant"]
    description: str = ""
    #: What a call with these (valid) params costs against the tenant's rate limit and the
    #: request's cost ceiling, in units of one resolve (the module's costs, and why) ...
    cost: Callable[[dict[str, Any]], float] = lambda params: 1.0
    #: ... and the same in words, for the OpenRPC document (x-cost).
    cost_summary: str = "1 unit"
    #: The array param whose items the call checks one by one against ``params``' item schema,
    #: answering an invalid item with its own error while the others run (resolve_many, ingest):
    #: before the call, only the array itself is checked.
    each: str | None = None
    #: Calls that may run as one (identity.service.rpc.service.Joinable): params -> what calls
    #: that run together share (None: this one runs alone) ...
    together_key: Callable[[dict[str, Any]], Hashable] | None = None
    #: ... and the run of several calls' params with that key: one function per call, giving
    #: its result or raising its error, as ``call`` would have for it alone.
    together: Callable[[Context, list[dict[str, Any]]], list[Callable[[], Any]]] | None = None
    #: ... and the setting (identity.service.rpc.service.Limits) bounding how many run as one.
    together_most: str = "resolve_together"

    @functools.cached_property
    def checked_params(self) -> dict[str, Any]:
        """The schema the params are checked against before the call (``params`` without the
        item schema of ``each``)."""
        if self.each is None:
            return self.params
        array = {k: v for k, v in self.params["properties"][self.each].items() if k != "items"}
        return {**self.params, "properties": {**self.params["properties"], self.each: array}}

    def item_schema(self) -> dict[str, Any]:
        """The schema each item of ``each`` is checked against by the call."""
        assert self.each is not None
        return self.params["properties"][self.each]["items"]

    def permits(self, ctx: Context, params: dict[str, Any]) -> bool:
        principal = ctx.principal
        if self.scope is None:
            return True
        if self.scope == OPERATOR_SCOPE:
            return principal.is_operator
        return principal.administers(self.acts_on(ctx, params))


IDENTIFIER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["type", "value"],
    "additionalProperties": False,
    "properties": {
        "type": {"type": "string", "minLength": 1, "maxLength": 64, "description": "email, phone, device_id, ..."},
        "value": {"type": "string", "minLength": 1, "maxLength": 1024, "description": "the raw identifier (PII)"},
    },
}

_SCALAR = {"type": ["string", "number", "boolean", "null"]}


def event_schema() -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["type", "identifiers"],
        "additionalProperties": False,
        "properties": {
            "event_id": {"type": "string", "minLength": 1, "maxLength": 256,
                         "description": "idempotency key; derived from the content when absent"},
            "type": {"type": "string", "minLength": 1, "maxLength": 128, "description": "event type, e.g. signup"},
            "timestamp": {"type": ["string", "integer"], "minimum": 0, "maximum": MAX_EPOCH_MS,
                          "description": "ISO-8601 or epoch milliseconds, up to the end of year 9999"},
            "identifiers": {"type": "array", "minItems": 1, "maxItems": 100, "items": IDENTIFIER_SCHEMA},
            "attributes": {"type": "object", "additionalProperties": _SCALAR},
        },
    }


def _object(properties: dict[str, Any], required: tuple[str, ...] = ()) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


_ANY_OBJECT: dict[str, Any] = {"type": "object"}
_TENANT = {"type": "string", "pattern": TENANT_ID_PATTERN, "description": "tenant id"}
_DATAKEY_STATUS = _object({
    "tenant": {"type": "string"}, "kek": {"type": "string", "description": "the key-encryption key's name"},
    "current": {"type": "integer", "description": "the data-key version sealing new writes"},
    "versions": {"type": "array", "items": _object({"version": {"type": "integer"}, "created_at": {"type": "number"}})},
    "destroyed_at": {"type": ["number", "null"], "description": "when the tenant was offboarded"}})
_GUARDS = _object({"tenant": {"type": "string"}, "version": {"type": "integer"},
                   "changed_at": {"type": ["number", "null"]}, "settings": _ANY_OBJECT,
                   "configured": {"type": "array", "items": {"type": "string"}},
                   "changed": {"type": "array", "items": {"type": "string"}}})
_KEY_RESULT = _object({"key": {"type": "string", "description": "the API key: shown once, stored hashed"},
                       "key_id": {"type": "string"}, "tenant": {"type": "string"},
                       "scopes": {"type": "array", "items": {"type": "string"}},
                       "created_at": {"type": "number"}, "revoked_at": {"type": ["number", "null"]}})


_SUBJECT = _object({"type": {**IDENTIFIER_SCHEMA["properties"]["type"],
                             "description": "an identifier type, or 'customer' for a customer id"},
                    "value": {**IDENTIFIER_SCHEMA["properties"]["value"],
                              "description": "the raw identifier (PII) or the customer id"}},
                   ("type", "value"))
_RESOLVE_OPTION_SCHEMAS: dict[str, Any] = {
    "evidence": {"type": "boolean", "description": "include the links that justify the answer"},
    "as_of": {"type": ["string", "number"], "minimum": 0, "maximum": MAX_EPOCH_MS // 1000,
              "description": "ISO-8601 or epoch seconds: the graph as it was then"},
    "max_hops": {"type": "integer", "minimum": 0, "maximum": 10},
    "max_identifiers": {"type": "integer", "minimum": 1, "maximum": 10000},
    "max_fanout": {"type": "integer", "minimum": 1, "maximum": 10000}}
_NODE = _object({"type": {"type": "string"}, "value": {"type": "string"}})
_FACTS = {"degree": {"type": "integer"}, "shared": {"type": "boolean"}, "conflicts": {"type": "integer"},
          "generic": {"type": "boolean"}, "first_seen": {"type": "string"}, "last_seen": {"type": "string"}}
_EXPLAINED_SIDE = {"type": "object", "properties": {
    "type": {"type": "string"}, "value": {"type": ["string", "null"], "description": "normalised"},
    "found": {"type": "boolean"}, "blocked": {"type": "boolean"}, "customer_id": {"type": ["string", "null"]},
    **_FACTS}}
_EXPLANATION = _object({
    "a": _EXPLAINED_SIDE, "b": _EXPLAINED_SIDE, "same_customer": {"type": "boolean"},
    "paths": {"type": "array", "items": _object({"hops": {"type": "integer"}, "steps": {"type": "array", "items": {
        "type": "object", "properties": {"from": _NODE, "to": _NODE, "first_seen": {"type": "string"},
                                         "last_seen": {"type": "string"}, "count": {"type": "integer"},
                                         "events": {"type": "array", "items": _ANY_OBJECT}}}}})},
    "apart": {"type": "array", "items": {"type": "object", "required": ["reason"], "properties": {"reason": {
        "enum": ["unknown", "blocked", "suppressed", "no_customer", "do_not_link", "refused", "not_crossed",
                 "scoped", "customer_ids_differ", "no_path"]}}}},
    "truncated": {"type": "boolean", "description": "a hop of the walk was cut at the tenant's path_cap"}})
_FORGOTTEN = ("identifiers", "links", "events", "event_attributes", "suppressed")
_EXPORTED = ("identifiers", "links", "do_not_link", "events")

# -- costs -------------------------------------------------------------------------------------
# One unit is one resolve (about 0.5 ms of service CPU on the embedded graph). Measured in-process
# on a memory graph (benchmarks in the commit that set these): an event costs about 0.5 ms plus
# 40 us per pair of its identifiers, because ingest plans and may write a link for every pair
# (100 identifiers: 4,950 pairs, 190 ms); stats scans the tenant's whole graph (180 ms at 8,000
# identifiers, growing with the tenant), which its fixed price only starts to reflect: the
# request's deadline bounds the rest.

#: Pairs of an event's identifiers that cost as much as the event itself.
PAIRS_PER_UNIT = 10
#: A full scan of the tenant's graph.
STATS_COST = 100.0
#: One identifier of a resolve_many call: half a resolve. Walked 250 at a time, an identifier took
#: half the service CPU of a resolve call in a JSON-RPC batch array (1.1 ms against 2.1 ms on the
#: embedded graph, 1.6 against 3.6 ms on Gremlin Server: benchmarks/resolve_many.py).
RESOLVE_MANY_COST = 0.5

#: An explain: resolve's walk from two identifiers, then the events of what it reports (a second
#: round trip). Measured in-process (benchmarks/explain.py, 2,000 people): 1.5 to 1.8 resolves of
#: CPU for two identifiers of one person (paths and their events), 2.3 to 2.9 for two people's
#: (the events carrying both, the guards run again).
EXPLAIN_COST = 3.0


def ingest_cost(events: list[Any]) -> float:
    """1 per event, plus 1 per PAIRS_PER_UNIT pairs of its identifiers (an event that is not
    one, which the call will refuse, costs 1)."""
    pairs = 0
    for event in events:
        identifiers = event.get("identifiers") if isinstance(event, dict) else None
        n = len(identifiers) if isinstance(identifiers, list) else 0
        pairs += n * (n - 1) // 2
    return len(events) + pairs / PAIRS_PER_UNIT


# -- implementations ---------------------------------------------------------------------------

def item_error(problems: list[FieldError]) -> dict[str, Any]:
    """The error object of one invalid item of a call (an event of ``ingest``, an identifier of
    ``resolve_many``): the -32602 a call made of it alone would get."""
    return RpcError.invalid_params([problem.to_dict() for problem in problems]).to_dict()


def _checked_items(method_name: str, items: list[Any], prefix: str = "") -> dict[int, list[FieldError]]:
    """Position -> what the item breaks, for the items of ``method_name``'s ``each`` array that
    break its item schema; fields are named ``<prefix><each>[n]...``."""
    method = _EACH[method_name]
    checked = {n: validate(item, method.item_schema(), f"{prefix}{method.each}[{n}]") for n, item in enumerate(items)}
    return {n: problems for n, problems in checked.items() if problems}


def _ingest(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    """An invalid event gets its own error and the others are ingested; ``atomic``: an invalid
    event fails the call (-32602, every event's errors) and nothing is written."""
    (answer,) = _ingest_together(ctx, [params])
    return answer()


def _ingest_together(ctx: Context, calls: list[dict[str, Any]]) -> list[Callable[[], Any]]:
    """ingest for each of ``calls``, their valid events written as one batch by the tenant's
    writer (IdentityGraph.ingest_each): each call gets what ingest answers it alone, or its
    error; a call that fails (an invalid event of an atomic call) has nothing written."""
    checked = [_checked_events(params) for params in calls]
    asked = [(events, params.get("atomic", False)) for params, (events, _, _) in zip(calls, checked)
             if events is not None]
    written = iter(ctx.service.identity(ctx.principal.tenant).ingest_each(asked) if asked else ())
    return [functools.partial(_ingested, results, valid, next(written) if events is not None else [])
            for events, results, valid in checked]


def _checked_events(params: dict[str, Any]) -> tuple[list[Any] | None, Any, list[int]]:
    """A call's valid events to ingest (None: none, nothing to write), its results so far (the
    invalid events' errors; the call's error when it is atomic) and the valid events' positions."""
    events, atomic = params["events"], params.get("atomic", False)
    invalid = _checked_items("ingest", events, "params." if atomic else "")
    if atomic and invalid:  # as the schema check before the call words it
        return None, RpcError.invalid_params(
            [problem.to_dict() for problems in invalid.values() for problem in problems][:20]), []
    valid = [n for n in range(len(events)) if n not in invalid]
    results: list[Any] = [None] * len(events)
    for n, problems in invalid.items():
        results[n] = {"event_id": given_event_id(events[n]), "error": item_error(problems)}
    return ([events[n] for n in valid] if valid else None), results, valid


def _ingested(results: Any, valid: list[int], written: Any) -> dict[str, Any]:
    """A call's answer from its checked results and what the core answered for its valid events."""
    if isinstance(results, Exception):
        raise results
    if isinstance(written, Exception):
        raise written
    for n, result in zip(valid, written):
        if isinstance(result, RejectedEvent):  # the core numbers the events it was given
            field = re.sub(r"^events\[\d+\]", f"events[{n}]", result.error.field)
            results[n] = {"event_id": result.event_id, "error": item_error([FieldError(field, result.error.reason)])}
        else:
            results[n] = result.to_dict()
    return {"results": results}


_RESOLVE_OPTIONS = ("max_hops", "max_identifiers", "max_fanout", "evidence", "as_of")


def _resolved(resolution: Any) -> dict[str, Any] | None:
    if resolution is None:
        return None
    document = resolution.to_dict()
    found = [identifier for group in document["identifiers"].values() for identifier in group]
    telemetry.current().resolved(len(found), max((identifier["hops"] for identifier in found), default=0))
    return document


def _resolve(ctx: Context, params: dict[str, Any]) -> dict[str, Any] | None:
    options = {name: params[name] for name in _RESOLVE_OPTIONS if name in params}
    return _resolved(ctx.service.identity(ctx.principal.tenant).resolve(params["type"], params["value"], **options))


def _resolve_options(params: dict[str, Any]) -> tuple:
    """What resolves walked together share: their options, each with its JSON type (1 and 1.0,
    or true and 1, are not the same option to the checks a resolve runs)."""
    return tuple((name, type(params[name]).__name__, params[name]) for name in _RESOLVE_OPTIONS if name in params)


def _resolve_together(ctx: Context, calls: list[dict[str, Any]]) -> list[Callable[[], Any]]:
    """resolve for each of ``calls`` (params whose options are the same), walked together
    (IdentityGraph.resolve_each): each call gets resolve's answer, or the error it raises."""
    options = {name: calls[0][name] for name in _RESOLVE_OPTIONS if name in calls[0]}
    answers = ctx.service.identity(ctx.principal.tenant).resolve_each(
        [(params["type"], params["value"]) for params in calls], **options)
    return [functools.partial(_answered, answer) for answer in answers]


def _answered(answer: Any) -> dict[str, Any] | None:
    if isinstance(answer, Exception):
        raise answer
    return _resolved(answer)


def _resolve_many(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    identifiers = params["identifiers"]
    invalid = _checked_items("resolve_many", identifiers)
    valid = [n for n in range(len(identifiers)) if n not in invalid]
    results: list[Any] = [None] * len(identifiers)
    for n, problems in invalid.items():
        results[n] = {"error": item_error(problems)}
    if valid:
        options = {name: params[name] for name in _RESOLVE_OPTIONS if name in params}
        answers = ctx.service.identity(ctx.principal.tenant).resolve_many([identifiers[n] for n in valid], **options)
        for n, answer in zip(valid, answers):
            if isinstance(answer, ValidationError):
                field = re.sub(r"^identifiers\[\d+\]", f"identifiers[{n}]", answer.field)
                results[n] = {"error": item_error([FieldError(field, answer.reason)])}
            else:
                results[n] = _resolved(answer)
    return {"results": results}


def _explain(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    a, b = params["a"], params["b"]
    options = {name: params[name] for name in ("max_hops", "max_fanout") if name in params}
    return ctx.service.identity(ctx.principal.tenant).explain((a["type"], a["value"]), (b["type"], b["value"]),
                                                             **options)


def _unlink(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    a, b = params["a"], params["b"]
    ctx.service.identity(ctx.principal.tenant).unlink((a["type"], a["value"]), (b["type"], b["value"]))
    return {"unlinked": True}


def _forget(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"forgotten": ctx.service.identity(ctx.principal.tenant).forget(params["type"], params["value"])}


def _export(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return ctx.service.identity(ctx.principal.tenant).export(params["type"], params["value"])


def _stats(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"tenant": ctx.principal.tenant, **ctx.service.identity(ctx.principal.tenant).stats()}


def _tenant_create(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return ctx.service.registry.create_tenant(params["tenant"], params["region"]).to_dict()


def _tenant_list(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return {"tenants": [tenant.to_dict() for tenant in ctx.service.registry.tenants()]}


def _key_create(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return auth.issue_key(ctx.service.registry, params["tenant"], admin=params.get("admin", False)).to_dict()


def _key_owner(ctx: Context, params: dict[str, Any]) -> str | None:
    record = ctx.service.registry.key(params["key_id"])
    return record.tenant if record is not None else None


def _key_revoke(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return ctx.service.registry.revoke_key(params["key_id"]).to_dict()


def _for_tenant(ctx: Context, tenant: str, part: Any, missing: str) -> Any:
    """``part`` of the service (IdentityError ``missing`` without it), for a tenant that exists."""
    if part is None:
        raise IdentityError(missing)
    if ctx.service.registry.tenant(tenant) is None:
        raise UnknownTenant(tenant)
    return part


def _keyring(ctx: Context, tenant: str) -> Any:
    return _for_tenant(ctx, tenant, ctx.service.keyring, "this service has no key ring")


def _guard_settings(ctx: Context, tenant: str) -> Any:
    return _for_tenant(ctx, tenant, ctx.service.guards, "this service keeps no guard settings")


def _guards_get(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _guard_settings(ctx, params["tenant"]).describe(params["tenant"])


def _guards_set(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _guard_settings(ctx, params["tenant"]).change(params["tenant"], params["settings"],
                                                         version=params.get("version"), actor=ctx.principal.key_id)


def _datakey_status(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    return _keyring(ctx, params["tenant"]).status(params["tenant"], create=True).to_dict()


def _datakey_rotate(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    keyring = _keyring(ctx, params["tenant"])
    keyring.rotate(params["tenant"])
    return keyring.status(params["tenant"]).to_dict()


# -- the table ---------------------------------------------------------------------------------

def method_table(max_batch: int = 1000) -> dict[str, Method]:
    """Every method, by name; ``max_batch`` bounds the events of one ``ingest`` call."""
    methods = [
        Method("ingest", "Ingest events: link their identifiers into customers",
               _object({"events": {"type": "array", "minItems": 1, "maxItems": max_batch, "items": event_schema()},
                        "atomic": {"type": "boolean",
                                   "description": "all or nothing: one invalid event fails the call (-32602) and "
                                                  "nothing is written (default false)"}},
                       ("events",)),
               _object({"results": {"type": "array", "items": _ANY_OBJECT}}), _ingest,
               description="One result per event, in order: event_id, customer_id, merged (customer ids merged "
                           "into it), refused (links refused by guards, with reasons), duplicate; for an invalid "
                           "event, event_id (as sent, when valid) and error (the -32602 error object naming each "
                           "field and rule): the valid events are ingested all the same, unless atomic is true. "
                           f"Costs 1 unit per event plus 1 per {PAIRS_PER_UNIT} pairs of its identifiers. Ingests of "
                           "one tenant that wait for their turn together are written as one group (at most the "
                           "ingest_together setting), each answered as alone.",
               cost=lambda params: ingest_cost(params["events"]),
               cost_summary=f"1 unit per event, plus 1 per {PAIRS_PER_UNIT} pairs of its identifiers", each="events",
               together_key=lambda params: (), together=_ingest_together, together_most="ingest_together"),
        Method("resolve", "Resolve an identifier to its customer and the customer's identifiers",
               _object({"type": _SUBJECT["properties"]["type"], "value": _SUBJECT["properties"]["value"],
                        **_RESOLVE_OPTION_SCHEMAS}, ("type", "value")),
               {"type": ["object", "null"], "description": "null when the identifier is unknown"}, _resolve,
               description="Resolves of one tenant with the same options that wait for their turn together "
                           "are walked as one (at most the resolve_together setting), each answered as alone.",
               together_key=_resolve_options, together=_resolve_together),
        Method("resolve_many", f"Resolve up to {MAX_RESOLVE_MANY} identifiers in one call",
               _object({"identifiers": {"type": "array", "minItems": 1, "maxItems": MAX_RESOLVE_MANY,
                                        "items": _SUBJECT},
                        **_RESOLVE_OPTION_SCHEMAS}, ("identifiers",)),
               _object({"results": {"type": "array", "items": {"type": ["object", "null"]}}}), _resolve_many,
               description="One result per identifier, in order: what resolve answers for it with the same "
                           "options (null when it is unknown), or, for an invalid one, error (the -32602 error "
                           "object naming the field and rule) while the others resolve. The identifiers are "
                           f"walked together, {STARTS_PER_WALK} per graph round trip (a customer id, and an "
                           "identifier whose own walk would be cut at the tenant's path_cap, on its own). Costs "
                           f"{RESOLVE_MANY_COST:g} unit per identifier.",
               cost=lambda params: RESOLVE_MANY_COST * len(params["identifiers"]),
               cost_summary=f"{RESOLVE_MANY_COST:g} unit per identifier", each="identifiers"),
        Method("explain", "Why two identifiers are one customer, or what keeps them apart",
               _object({"a": IDENTIFIER_SCHEMA, "b": IDENTIFIER_SCHEMA,
                        "max_hops": {**_RESOLVE_OPTION_SCHEMAS["max_hops"],
                                     "description": "resolve's max_hops (default: the tenant's)"},
                        "max_fanout": {**_RESOLVE_OPTION_SCHEMAS["max_fanout"],
                                       "description": "resolve's max_fanout (default 50)"}}, ("a", "b")),
               _EXPLANATION, _explain,
               description="same_customer says whether resolve answers one customer id for both (with the same "
                           "max_hops and max_fanout); paths lists the shortest paths joining them within "
                           f"max_hops (at most {MAX_PATHS}), each link with its first and last seen, count and "
                           f"events (its first and last and up to {EVENTS_PER_LINK} others: event_id, type, "
                           "timestamp, ingested_at). When they are apart, apart lists what keeps them apart: "
                           "unknown, blocked or suppressed (forgotten, with when) identifiers; no_customer (an "
                           "identifier shared or generic answers for itself alone); do_not_link rules between "
                           "their customers (unlink, with when); refused: events that carried both customers, "
                           "with the guard rule that refuses joining them, run again on what is stored "
                           "(weak_bridge, shared_bridge, account_bridge, second_device_bridge, multi_user_bridge, "
                           "device_scope, type_limit, "
                           "do_not_link); scoped: links between their customers that stopped joining (a cookie's, made "
                           "on a device before it was known to be used by several people, with when); not_crossed: "
                           "shortest paths through identifiers resolve does not go "
                           "through (shared, generic or past max_fanout, with their degree, conflicts and first "
                           "and last seen); customer_ids_differ (joined within max_hops, but the walks from each "
                           "reach different oldest customer ids); no_path within max_hops. Values are those stored "
                           f"(PII); reads only, in at most two graph round trips. Costs {EXPLAIN_COST:g} units.",
               cost=lambda params: EXPLAIN_COST, cost_summary=f"{EXPLAIN_COST:g} units"),
        Method("unlink", "Remove the link between two identifiers (and keep it from being re-made)",
               _object({"a": IDENTIFIER_SCHEMA, "b": IDENTIFIER_SCHEMA}, ("a", "b")),
               _object({"unlinked": {"type": "boolean"}}), _unlink),
        Method("forget", "Erase an identifier or a whole customer and never store it again (GDPR erasure)",
               _SUBJECT, _object({"forgotten": _object({name: {"type": "integer"} for name in _FORGOTTEN})}),
               _forget,
               description="Removes the identifier(s), their links, do-not-link rules and observations, and "
                           "the events left without identifiers, and erases the attributes of the events that also "
                           "observed other identifiers (counted as 'event_attributes'); records a suppression entry (a blind index, "
                           "never the value) so ingest refuses the identifier from then on (reason "
                           "'suppressed'). type 'customer' with a customer id forgets the customer's "
                           "non-generic identifiers. Forgetting an identifier never seen suppresses it."),
        Method("export", "Everything stored about an identifier or a customer, decrypted (GDPR access)",
               _SUBJECT, _object({"tenant": {"type": "string"},
                                  **{name: {"type": "array", "items": _ANY_OBJECT} for name in _EXPORTED}}),
               _export,
               description="Identifiers with their values, links with their evidence, do-not-link rules and "
                           "events with their attributes. A linked identifier outside the subject is shown by "
                           "type only. type 'customer' with a customer id exports the whole customer."),
        Method("stats", "Counts for the calling tenant's graph", _object({}), _ANY_OBJECT, _stats,
               description=f"A full scan of the tenant's graph: costs {STATS_COST:.0f} units.",
               cost=lambda params: STATS_COST, cost_summary=f"{STATS_COST:.0f} units"),
        Method("tenant.create", "Create a tenant with its home region",
               _object({"tenant": _TENANT, "region": {"type": "string", "pattern": REGION_PATTERN}},
                       ("tenant", "region")),
               _object({"tenant": {"type": "string"}, "region": {"type": "string"},
                        "created_at": {"type": "number"}}), _tenant_create, scope=OPERATOR_SCOPE),
        Method("tenant.list", "List tenants", _object({}),
               _object({"tenants": {"type": "array", "items": _ANY_OBJECT}}), _tenant_list, scope=OPERATOR_SCOPE),
        Method("key.create", "Create an API key for a tenant (returned once, stored hashed)",
               _object({"tenant": _TENANT, "admin": {"type": "boolean", "description": "grant the admin scope"}},
                       ("tenant",)),
               _KEY_RESULT, _key_create, scope=ADMIN_SCOPE),
        Method("key.revoke", "Revoke an API key by its key id",
               _object({"key_id": {"type": "string", "pattern": "^[0-9a-f]{16}$"}}, ("key_id",)),
               _object({k: v for k, v in _KEY_RESULT["properties"].items() if k != "key"}),
               _key_revoke, scope=ADMIN_SCOPE, acts_on=_key_owner),
        Method("tenant.guards.get", "A tenant's guard settings (its TenantConfig) and their version",
               _object({"tenant": _TENANT}, ("tenant",)), _GUARDS, _guards_get, scope=ADMIN_SCOPE,
               description="settings holds every field in effect: TenantConfig's defaults, under the config "
                           "file's [tenants.NAME.guards] (the fields listed in configured), under the changes "
                           "made through tenant.guards.set (listed in changed). version counts those changes."),
        Method("tenant.guards.set", "Change a tenant's guard settings; applied from its next call, kept across restarts",
               _object({"tenant": _TENANT,
                        "settings": {"type": "object", "description": "TenantConfig fields to change (as "
                                     "tenant.guards.get shows them); null drops a field's change"},
                        "version": {"type": "integer", "minimum": 0,
                                    "description": "the version read: refused (-32003) if another change came "
                                                   "first"}}, ("tenant", "settings")),
               _GUARDS, _guards_set, scope=ADMIN_SCOPE,
               description="The change is checked whole (-32602 naming the field and rule) before it is stored, "
                           "as the next version, in the tenant registry; the service log records who changed "
                           "which fields, never their values. What a change does to existing customers: "
                           "docs/data-model.md."),
        Method("datakey.status", "A tenant's data-key versions (never key material)",
               _object({"tenant": _TENANT}, ("tenant",)), _DATAKEY_STATUS, _datakey_status, scope=ADMIN_SCOPE),
        Method("datakey.rotate", "Rotate a tenant's data key: new writes use a new version",
               _object({"tenant": _TENANT}, ("tenant",)), _DATAKEY_STATUS, _datakey_rotate, scope=ADMIN_SCOPE,
               description="Old versions keep decrypting; `identity datakey reencrypt TENANT` migrates old "
                           "cells to the new version in resumable batches."),
    ]
    return {method.name: method for method in methods}


#: The methods whose items are checked one by one (``_checked_items``), as any table defines them.
_EACH = {name: method for name, method in method_table().items() if method.each}
