"""The tenant registry: tenants, their home region, the guard settings the API changed for them
(identity.service.settings) and their API keys (hashes only).

Stored as one JSON document, ``<data-dir>/tenants.json`` (mode 0600)::

    {"version": 1,
     "tenants": {"acme": {"region": "eu-west-1", "created_at": 1700000000.0,
                          "guards": {"version": 2, "settings": {"max_hops": 2}, "changed_at": ...}}},
     "keys": {"3f2a...": {"tenant": "acme", "hash": "<sha256 hex>", "scopes": ["admin"],
                          "created_at": ..., "revoked_at": null}}}

Writes are atomic (a temporary file in the same directory, fsync, rename) and serialised
across processes by an flock on ``tenants.lock``, because the CLI (``identity key create``)
may edit the file while a server runs; readers notice such edits through ``refresh()``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from .files import exclusive_lock, file_stamp, write_private

__all__ = [
    "Tenant", "KeyRecord", "GuardRecord", "TenantRegistry", "RegistryError", "TenantExists", "UnknownTenant",
    "UnknownKey", "StaleVersion",
    "ADMIN_SCOPE", "OPERATOR_SCOPE", "TENANT_ID_PATTERN", "REGION_PATTERN",
]

#: A tenant administrator: manages its own tenant's API keys and data keys, no other tenant.
ADMIN_SCOPE = "admin"
#: The platform operator: creates and lists tenants and manages every tenant's keys. Granted only
#: by ``identity key create TENANT --operator`` on the service host, never over the API.
OPERATOR_SCOPE = "operator"
TENANT_ID_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,62}$"
REGION_PATTERN = r"^[a-z0-9][a-z0-9-]{0,31}$"
_FILE_NAME = "tenants.json"
_LOCK_NAME = "tenants.lock"


class RegistryError(ValueError):
    """A registry request that cannot be honoured; ``field`` names the offending input."""

    def __init__(self, field: str, reason: str):
        super().__init__(f"{field} {reason}")
        self.field = field
        self.reason = reason


class TenantExists(RegistryError):
    def __init__(self, tenant: str):
        super().__init__("tenant", f"'{tenant}' already exists")


class UnknownTenant(RegistryError):
    def __init__(self, tenant: str):
        super().__init__("tenant", f"'{tenant}' does not exist")


class UnknownKey(RegistryError):
    def __init__(self, key_id: str):
        super().__init__("key_id", f"'{key_id}' does not exist")


class StaleVersion(RegistryError):
    """A change made against a version of a tenant's settings that another change replaced."""

    def __init__(self, expected: int, current: int):
        super().__init__("version", f"is {expected}, but the tenant's settings are at version {current}: read them "
                                    "again")


@dataclass(frozen=True)
class GuardRecord:
    """The guard settings the API changed for a tenant (field -> JSON value, identity.service.settings),
    their version (0: never changed) and when."""

    version: int = 0
    settings: dict[str, Any] = field(default_factory=dict)
    changed_at: float | None = None


@dataclass(frozen=True)
class Tenant:
    id: str
    region: str
    created_at: float

    def to_dict(self) -> dict[str, Any]:
        return {"tenant": self.id, "region": self.region, "created_at": self.created_at}


@dataclass(frozen=True)
class KeyRecord:
    key_id: str
    tenant: str
    hash: str
    scopes: tuple[str, ...] = ()
    created_at: float = 0.0
    revoked_at: float | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        """The public view: never the hash."""
        return {"key_id": self.key_id, "tenant": self.tenant, "scopes": list(self.scopes),
                "created_at": self.created_at, "revoked_at": self.revoked_at}


@dataclass
class _State:
    tenants: dict[str, Tenant] = field(default_factory=dict)
    keys: dict[str, KeyRecord] = field(default_factory=dict)
    guards: dict[str, GuardRecord] = field(default_factory=dict)


class TenantRegistry:
    """Thread-safe access to ``tenants.json`` in ``data_dir``."""

    def __init__(self, data_dir: str | os.PathLike, *, clock: Callable[[], float] = time.time):
        self.data_dir = Path(data_dir)
        self.path = self.data_dir / _FILE_NAME
        self._clock = clock
        self._lock = threading.RLock()
        self._state = _State()
        self._stamp: tuple[int, int, int] | None = None
        self.loaded = False

    # -- reading -------------------------------------------------------------------------
    def load(self) -> "TenantRegistry":
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._lock:
            self._read()
            self.loaded = True
        return self

    def refresh(self) -> None:
        """Re-read the file if another process changed it."""
        with self._lock:
            if self._file_stamp() != self._stamp:
                self._read()

    def tenant(self, tenant_id: str) -> Tenant | None:
        return self._state.tenants.get(tenant_id)

    def tenants(self) -> list[Tenant]:
        self.refresh()
        return sorted(self._state.tenants.values(), key=lambda t: t.id)

    def key(self, key_id: str) -> KeyRecord | None:
        self.refresh()  # one stat(): sees keys the CLI created or revoked since we last looked
        return self._state.keys.get(key_id)

    def keys(self, tenant_id: str | None = None) -> list[KeyRecord]:
        self.refresh()
        return sorted((k for k in self._state.keys.values() if tenant_id in (None, k.tenant)),
                      key=lambda k: (k.tenant, k.created_at, k.key_id))

    def guards(self, tenant_id: str) -> GuardRecord:
        """The guard settings the API set for the tenant (as of the file now)."""
        self.refresh()
        return self._state.guards.get(tenant_id, GuardRecord())

    # -- writing -------------------------------------------------------------------------
    def set_guards(self, tenant_id: str, update: Callable[[dict[str, Any]], dict[str, Any]], *,
                   expected_version: int | None = None) -> GuardRecord:
        """Replace the tenant's guard settings by ``update(stored settings)`` (which raises to
        refuse them) as the next version, under the file lock; StaleVersion when
        ``expected_version`` is not the stored one."""
        with self._editing() as state:
            if tenant_id not in state.tenants:
                raise UnknownTenant(tenant_id)
            record = state.guards.get(tenant_id, GuardRecord())
            if expected_version is not None and expected_version != record.version:
                raise StaleVersion(expected_version, record.version)
            record = state.guards[tenant_id] = GuardRecord(record.version + 1, update(dict(record.settings)),
                                                           self._clock())
        return record

    def create_tenant(self, tenant_id: str, region: str) -> Tenant:
        _check("tenant", tenant_id, TENANT_ID_PATTERN)
        _check("region", region, REGION_PATTERN)
        with self._editing() as state:
            if tenant_id in state.tenants:
                raise TenantExists(tenant_id)
            tenant = state.tenants[tenant_id] = Tenant(tenant_id, region, self._clock())
        return tenant

    def add_key(self, tenant_id: str, key_id: str, key_hash: str, scopes: tuple[str, ...] = ()) -> KeyRecord:
        with self._editing() as state:
            if tenant_id not in state.tenants:
                raise UnknownTenant(tenant_id)
            if key_id in state.keys:
                raise RegistryError("key_id", "is already in use")
            record = state.keys[key_id] = KeyRecord(key_id, tenant_id, key_hash, tuple(scopes), self._clock())
        return record

    def revoke_key(self, key_id: str) -> KeyRecord:
        with self._editing() as state:
            record = state.keys.get(key_id)
            if record is None:
                raise UnknownKey(key_id)
            if record.active:
                record = state.keys[key_id] = KeyRecord(record.key_id, record.tenant, record.hash, record.scopes,
                                                        record.created_at, self._clock())
        return record

    @contextlib.contextmanager
    def _editing(self) -> Iterator[_State]:
        """Read-modify-write under both the thread lock and the cross-process file lock."""
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._lock, exclusive_lock(self.data_dir / _LOCK_NAME):
            self._read()
            yield self._state
            self._write()

    # -- the file ------------------------------------------------------------------------
    def _file_stamp(self) -> tuple[int, int, int] | None:
        return file_stamp(self.path)

    def _read(self) -> None:
        stamp = self._file_stamp()
        if stamp is None:
            self._state, self._stamp = _State(), None
            return
        document = json.loads(self.path.read_text(encoding="utf-8"))
        self._state = _State(
            tenants={tid: Tenant(tid, t["region"], t["created_at"]) for tid, t in document["tenants"].items()},
            keys={kid: KeyRecord(kid, k["tenant"], k["hash"], tuple(k.get("scopes", ())), k["created_at"],
                                 k.get("revoked_at")) for kid, k in document["keys"].items()},
            guards={tid: GuardRecord(t["guards"]["version"], t["guards"]["settings"], t["guards"]["changed_at"])
                    for tid, t in document["tenants"].items() if "guards" in t})
        self._stamp = stamp

    def _write(self) -> None:
        document = {
            "version": 1,
            "tenants": {t.id: {"region": t.region, "created_at": t.created_at, **self._guards_entry(t.id)}
                        for t in self._state.tenants.values()},
            "keys": {k.key_id: {"tenant": k.tenant, "hash": k.hash, "scopes": list(k.scopes),
                                "created_at": k.created_at, "revoked_at": k.revoked_at}
                     for k in self._state.keys.values()},
        }
        write_private(self.path, json.dumps(document, indent=2, sort_keys=True))
        self._stamp = self._file_stamp()

    def _guards_entry(self, tenant_id: str) -> dict[str, Any]:
        record = self._state.guards.get(tenant_id)
        if record is None:
            return {}
        return {"guards": {"version": record.version, "settings": record.settings, "changed_at": record.changed_at}}


def _check(field_name: str, value: str, pattern: str) -> None:
    if not isinstance(value, str) or not re.match(pattern, value):
        raise RegistryError(field_name, f"must match {pattern}")

