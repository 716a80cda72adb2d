"""API keys: ``Authorization: Bearer idk_<key id>_<secret>``.

A key is 16 hex characters of public key id (so the registry finds the record without
scanning) and 43 characters of ``secrets.token_urlsafe(32)`` (256 bits). Only a SHA-256 of
the whole key is stored. A fast unsalted hash is the right tool here, unlike for passwords:
slow, salted hashes (scrypt, bcrypt) exist to make guessing *low-entropy* human secrets
expensive, but guessing a 256-bit random secret is infeasible at any hash speed, and a fast
hash keeps authentication cheap on every request. The comparison uses hmac.compare_digest
so its timing does not reveal how much of a guessed hash matched.

The tenant always comes from the key record, never from the request body.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from .tenants import ADMIN_SCOPE, OPERATOR_SCOPE, KeyRecord, TenantRegistry

__all__ = ["KEY_PREFIX", "Principal", "IssuedKey", "AuthenticationFailed", "generate_key", "hash_key",
           "key_id_of", "issue_key", "authenticate"]

KEY_PREFIX = "idk_"
_KEY_PATTERN = re.compile(r"^idk_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$")


class AuthenticationFailed(Exception):
    """No credentials, or credentials that do not name an active key (always the same
    message: a client learns nothing about which part was wrong)."""

    def __init__(self) -> None:
        super().__init__("A valid API key is required: Authorization: Bearer idk_...")


@dataclass(frozen=True)
class Principal:
    """Who is calling: the tenant and scopes of the API key presented."""

    tenant: str
    key_id: str
    scopes: tuple[str, ...]

    @property
    def is_admin(self) -> bool:
        return ADMIN_SCOPE in self.scopes

    @property
    def is_operator(self) -> bool:
        return OPERATOR_SCOPE in self.scopes

    def administers(self, tenant: str | None) -> bool:
        """May this key manage ``tenant`` (None: no such tenant or key)? A tenant admin manages
        its own tenant only; an operator every tenant."""
        return self.is_operator or (self.is_admin and tenant is not None and tenant == self.tenant)


@dataclass(frozen=True)
class IssuedKey:
    """A freshly created key: ``key`` is shown once and never stored."""

    key: str
    record: KeyRecord

    def to_dict(self) -> dict[str, object]:
        return {"key": self.key, **self.record.to_dict()}


def generate_key() -> tuple[str, str]:
    """A new (key, key id)."""
    key_id = secrets.token_hex(8)
    return f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}", key_id


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def key_id_of(key: str) -> str | None:
    match = _KEY_PATTERN.match(key)
    return match.group(1) if match else None


def issue_key(registry: TenantRegistry, tenant: str, *, admin: bool = False, operator: bool = False) -> IssuedKey:
    """Create and store (hashed) a key for ``tenant``; the plaintext is in the result only."""
    key, key_id = generate_key()
    scopes = (ADMIN_SCOPE,) * admin + (OPERATOR_SCOPE,) * operator
    record = registry.add_key(tenant, key_id, hash_key(key), scopes)
    return IssuedKey(key, record)


def authenticate(registry: TenantRegistry, authorization: str | None) -> Principal:
    """The Principal for an ``Authorization`` header value, or AuthenticationFailed."""
    scheme, _, key = (authorization or "").strip().partition(" ")
    key = key.strip()
    if scheme.lower() != "bearer" or not key:
        raise AuthenticationFailed()
    key_id = key_id_of(key)
    record = registry.key(key_id) if key_id else None
    if record is None or not record.active or registry.tenant(record.tenant) is None:
        raise AuthenticationFailed()
    if not hmac.compare_digest(hash_key(key), record.hash):
        raise AuthenticationFailed()
    return Principal(record.tenant, record.key_id, record.scopes)
