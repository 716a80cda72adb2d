"""The graph model: labels, property names and deterministic element ids.

Every id starts with the tenant and is built from hashes only (the Protector's blind index for
identifiers), so an id never carries plaintext PII and the same input always names the same
element, which is what makes ingest idempotent and upserts possible. See docs/data-model.md.
"""

from __future__ import annotations

import hashlib

from gremlin_python.process.traversal import Direction, T

__all__ = [
    "IDENTIFIER", "EVENT", "SUPPRESSED", "RETIRED", "OBSERVED", "LINK", "NOLINK", "TENANT", "SHARED", "CONFLICTS",
    "SCOPED", "CID", "SINCE", "HEIR", "SEALED_PROPERTIES",
    "identifier_id", "identifier_type", "suppression_id", "event_vertex_id", "link_id", "nolink_id", "customer_id",
    "fresh_customer_id", "retired_id", "link_ends", "vertex_key", "edge_key",
]

# vertex labels
IDENTIFIER = "identifier"
EVENT = "event"
SUPPRESSED = "suppressed"  # an identifier forgotten on request: ingest refuses it from then on
#: a customer id no identifier carries any more, and the id it resolves through now (HEIR)
RETIRED = "retired"
# edge labels
OBSERVED = "observed"  # event -> identifier
LINK = "link"          # identifier -- identifier (stored lesser id -> greater id)
NOLINK = "nolink"      # identifier -- identifier: a do-not-link rule left by unlink()
# the property every element carries (PartitionStrategy's partition key)
TENANT = "tenant"
#: An identifier property, true once ingest found several people using it (identity.domain.guards):
#: then it is treated as generic. Absent otherwise.
SHARED = "shared"
#: An identifier property: how often ingest refused it as a shareable bridge to a new competing
#: identifier (identity.domain.guards, ``shared_after_conflicts``), or, for a device, to anyone the event
#: identified (``multi_user_on_conflict``: from one on, several people use it), or events showing
#: two of its cookies alive at once (``device_profiles_at_once``). Absent until the first time.
CONFLICTS = "conflicts"
#: A link property, set (to the ingest time, epoch ms) when the link stops joining: it held a
#: device-scoped identifier (a cookie) to a device, or to a weak identifier, before the device
#: was known to be used by several people (identity.domain.guards, ``device_scope_past_links``).
#: Every walk passes it by (``hasNot('scoped')``), as it passes a shared identifier by; it
#: still counts in ``degree``. Absent otherwise.
SCOPED = "scoped"
#: An identifier property: the customer id it carries (identity.domain.customers): its customer's id,
#: or an alias of it when customers merged.
CID = "cid"
#: An identifier property: when the id it carries was issued (a creation stamp): the oldest id a
#: customer's identifiers carry is its id. Absent on identifiers stored before it existed.
SINCE = "since"
#: A retired id's property: the customer id it resolves through.
HEIR = "heir"
#: The properties holding sealed PII, by vertex label (see identity.security.protect).
SEALED_PROPERTIES = {IDENTIFIER: "value", EVENT: "attributes"}

_ID_DIGEST_CHARS = 32  # 128 bits: collisions are not a practical concern


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:_ID_DIGEST_CHARS]


def identifier_id(tenant: str, id_type: str, blind_index: str) -> str:
    return f"{tenant}:{id_type}:{blind_index[:_ID_DIGEST_CHARS]}"


def identifier_type(identifier_vertex_id: str) -> str:
    """The type an identifier's vertex id names (``identifier_id``'s layout), without reading it."""
    return identifier_vertex_id.rsplit(":", 2)[1]


def suppression_id(identifier_vertex_id: str) -> str:
    """The suppression entry of a forgotten identifier: named, like the identifier's vertex,
    by tenant, type and blind index only."""
    tenant, rest = identifier_vertex_id.split(":", 1)
    return f"{tenant}:{SUPPRESSED}:{rest}"


def event_vertex_id(tenant: str, event_id: str) -> str:
    # the client's event id may be anything, so it is hashed too
    return f"{tenant}:event:{_digest(tenant, event_id)}"


def link_ends(a: str, b: str) -> tuple[str, str]:
    """Links are undirected: always stored from the lesser id to the greater one."""
    return (a, b) if a <= b else (b, a)


def link_id(tenant: str, a: str, b: str) -> str:
    return f"{tenant}:link:{_digest(*link_ends(a, b))}"


def nolink_id(tenant: str, a: str, b: str) -> str:
    return f"{tenant}:nolink:{_digest(*link_ends(a, b))}"


def customer_id(tenant: str, identifier_vertex_id: str) -> str:
    """The customer id an identifier mints when it is created as a new customer: opaque, deterministic."""
    return "c-" + _digest("customer", tenant, identifier_vertex_id)[:24]


def fresh_customer_id(tenant: str, identifier_vertex_id: str, cause: str) -> str:
    """A customer id minted later by an identifier, for a part split off a customer or for itself
    turned generic (identity.domain.customers). ``cause`` names what split it, an element id that happens
    once (the event, the do-not-link rule, the suppression), so the id was never issued before and
    follows from the data alone."""
    return "c-" + _digest("customer", tenant, identifier_vertex_id, cause)[:24]


def retired_id(tenant: str, cid: str) -> str:
    """The vertex recording where a retired customer id leads now (a customer id holds no PII)."""
    return f"{tenant}:{RETIRED}:{cid}"


# -- upserts ---------------------------------------------------------------------------------------
# The search map of every mergeV/mergeE names the tenant as well as the id. PartitionStrategy alone
# does not keep a merge off another tenant's element: in TinkerPop 3.7 a mergeV()/mergeE() inside a
# child traversal (sideEffect(mergeV(...)), as ingest writes them) ignores the strategy, so a
# search by id alone matches another tenant's element, and a link or observation would then be
# hung on it. With the tenant in the search map such a merge matches nothing and its create fails
# on the duplicate id, which fails the whole traversal. The created element gets ``tenant`` from
# the search map: an option(onCreate) map must not repeat it (with a cardinality it would differ
# from the search map's value, which TinkerPop refuses as an override).

def vertex_key(tenant: str, vertex_id: str, label: str) -> dict:
    """The mergeV search map of ``tenant``'s vertex ``vertex_id``."""
    return {T.id: vertex_id, T.label: label, TENANT: tenant}


def edge_key(tenant: str, edge_id: str, label: str, out_id: str, in_id: str) -> dict:
    """The mergeE search map of ``tenant``'s edge ``edge_id`` from ``out_id`` to ``in_id``."""
    return {T.id: edge_id, T.label: label, Direction.OUT: out_id, Direction.IN: in_id, TENANT: tenant}
