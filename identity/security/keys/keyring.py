"""Per-tenant key rings: versioned data keys and a blind-index secret, stored wrapped only.

One JSON file per tenant, ``<keys dir>/<tenant>.json`` (0600, replaced atomically, edited
under an flock because the CLI rotates or offboards while a server runs)::

    {"format": 1, "tenant": "acme", "kek": "local:1f2e...", "created_at": 1700000000.0,
     "index_secret": "<base64 of the wrapped 256-bit secret>",
     "current": 2,
     "data_keys": {"1": {"wrapped": "<base64>", "created_at": ...}, "2": {...}}}

The blind-index key is derived (HKDF) from ``index_secret`` and never rotates: vertex ids are
built from it. Data keys rotate: the current version seals new cells, older versions keep
opening theirs. Destroying a ring (offboarding) replaces the file with a tombstone that holds no
key material, after which every use fails with KeysDestroyed. Unwrapped keys live only in
memory. Readers notice another process's edits by the file's stamp (a stat at most once a
second on the hot path; a data-key version not yet seen forces one).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import os
import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from ...base.errors import IdentityError
from ..files import exclusive_lock, file_stamp, write_private
from ..protect import EnvelopeProtector, SealedValueError, derive_key
from ..tenants import TENANT_ID_PATTERN
from .provider import KeyProvider, KeyProviderError

__all__ = ["Keyring", "TenantKeys", "KeysDestroyed", "KeyringStatus", "RECHECK_AFTER_S", "RETIRE_AFTER_S"]

_FORMAT = 1
_SECRET_BYTES = 32
_LOCK_NAME = ".keys.lock"
#: How long the hot path (seal, open, blind index) trusts a ring before looking at its file
#: again: another process's rotation or offboarding reaches a running server within this time.
#: Management calls (ensure, rotate, status, destroy) always look.
RECHECK_AFTER_S = 1.0
#: A data-key version is retired only once it has not been current for this long: a server
#: that has not looked at the ring since the rotation may still be sealing with it.
RETIRE_AFTER_S = 60.0


class KeysDestroyed(IdentityError):
    """The tenant was offboarded: its keys are destroyed and its data cannot be read or indexed."""

    def __init__(self, tenant: str):
        super().__init__(f"tenant '{tenant}' was offboarded: its keys are destroyed")
        self.tenant = tenant


@dataclass(frozen=True)
class KeyringStatus:
    tenant: str
    kek: str
    current: int
    versions: dict[int, float]  # version -> created_at
    destroyed_at: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"tenant": self.tenant, "kek": self.kek, "current": self.current,
                "versions": [{"version": v, "created_at": t} for v, t in sorted(self.versions.items())],
                "destroyed_at": self.destroyed_at}


@dataclass
class _Ring:
    """One tenant's ring as read from disk (still wrapped), with its file stamp."""
    document: dict[str, Any]
    stamp: tuple[int, int, int] | None
    checked: float  # time.monotonic() of the last stat
    unwrapped: dict[str, bytes] = field(default_factory=dict)  # purpose -> key, in memory only


class Keyring:
    """Every tenant's key ring under ``directory``, wrapped by ``provider``'s KEK. Rings still
    wrapped by one of the ``previous`` KEKs keep opening (while a KEK change is rolled out);
    ``rewrap`` moves a ring to ``provider``."""

    def __init__(self, directory: str | os.PathLike, provider: KeyProvider, *,
                 previous: tuple[KeyProvider, ...] = (),
                 clock: Callable[[], float] = time.time, recheck_after: float = RECHECK_AFTER_S):
        self.directory = Path(directory)
        self.recheck_after = recheck_after
        self.provider = provider
        self.previous = previous
        self._clock = clock
        self._lock = threading.RLock()
        self._rings: dict[str, _Ring] = {}

    # -- what the rest of the service uses -------------------------------------------------
    def protector(self, tenant: str) -> EnvelopeProtector:
        """The tenant's protector; creates the tenant's ring on first use."""
        self.ensure(tenant)
        return EnvelopeProtector(tenant, TenantKeys(self, tenant))

    def ensure(self, tenant: str) -> None:
        """Create ``tenant``'s ring if it has none (KeysDestroyed if it was offboarded)."""
        if self._load(tenant) is not None:
            return
        with self._editing(tenant) as document:
            if document is None:
                now = self._clock()
                document = {"format": _FORMAT, "tenant": tenant, "kek": self.provider.name, "created_at": now,
                            "index_secret": self._wrap(tenant, "index", os.urandom(_SECRET_BYTES)),
                            "current": 1, "data_keys": {"1": self._new_data_key(tenant, 1, now)}}
                self._store(tenant, document)

    def rotate(self, tenant: str) -> int:
        """Add a data-key version and make it current; returns the new version."""
        self.ensure(tenant)
        with self._editing(tenant) as document:
            version = max(int(v) for v in document["data_keys"]) + 1
            document["data_keys"][str(version)] = self._new_data_key(tenant, version, self._clock())
            document["current"] = version
            self._store(tenant, document)
        return version

    def retire(self, tenant: str, version: int) -> None:
        """Remove an old data-key version: cells it sealed no longer open, here or in any copy
        of the graph. The caller checks the graph first (``identity.security.keys.retire_data_key``)."""
        with self._editing(tenant) as document:
            if document is None:
                raise IdentityError(f"tenant '{tenant}' has no key ring")
            keys = document["data_keys"]
            if str(version) not in keys:
                raise IdentityError(f"tenant '{tenant}' has no data key version {version}")
            if version == document["current"]:
                raise IdentityError(f"data key version {version} is the current one: rotate first")
            successor = min(int(v) for v in keys if int(v) > version)
            if self._clock() - keys[str(successor)]["created_at"] < RETIRE_AFTER_S:
                raise IdentityError(f"data key version {version} was current less than {RETIRE_AFTER_S:.0f} s ago: "
                                    "a server may still be sealing with it")
            del keys[str(version)]
            self._store(tenant, document)

    def rewrap(self, tenant: str) -> bool:
        """Wrap the tenant's secrets with ``provider`` if a previous KEK wraps them; the secrets
        themselves (and so every sealed cell and vertex id) stay the same. False if already done."""
        with self._editing(tenant) as document:
            if document is None:
                raise IdentityError(f"tenant '{tenant}' has no key ring")
            if document["kek"] == self.provider.name:
                return False
            document["index_secret"] = self._wrap(
                tenant, "index", self._unwrap(tenant, "index", document["index_secret"], document))
            for version, entry in document["data_keys"].items():
                purpose = f"data:{version}"
                entry["wrapped"] = self._wrap(tenant, purpose, self._unwrap(tenant, purpose, entry["wrapped"], document))
            document["kek"] = self.provider.name
            self._store(tenant, document)
        return True

    def tenants(self) -> list[str]:
        """The tenants that have a ring here (offboarded ones included)."""
        return sorted(path.stem for path in self.directory.glob("*.json") if re.fullmatch(TENANT_ID_PATTERN, path.stem))

    def status(self, tenant: str, *, create: bool = False) -> KeyringStatus | None:
        """The tenant's key versions (never key material); None if it has no ring yet (unless
        ``create``: then its ring is made first). An offboarded tenant's status says when."""
        document = self._load(tenant, allow_destroyed=True)
        if document is None and create:
            self.ensure(tenant)
            document = self._load(tenant, allow_destroyed=True)
        if document is None:
            return None
        if "destroyed_at" in document:
            return KeyringStatus(tenant, "", 0, {}, document["destroyed_at"])
        return KeyringStatus(tenant, document["kek"], document["current"],
                             {int(v): k["created_at"] for v, k in document["data_keys"].items()})

    def destroyed(self, tenant: str) -> bool:
        document = self._load(tenant, allow_destroyed=True)
        return document is not None and "destroyed_at" in document

    def destroy(self, tenant: str) -> None:
        """Crypto-shred: replace the tenant's ring by a tombstone holding no key material."""
        with self._editing(tenant, allow_destroyed=True):
            path = self._path(tenant)
            if path.exists():
                _overwrite(path)  # best effort: the wrapped secrets should not linger in old blocks
            self._store(tenant, {"format": _FORMAT, "tenant": tenant, "destroyed_at": self._clock()})

    # -- keys for TenantKeys -------------------------------------------------------------------
    def key(self, tenant: str, purpose: str) -> bytes:
        """``tenant``'s blind-index key (purpose "index") or data key ("data:<version>")."""
        with self._lock:
            ring = self._ring(tenant, fresh=False)
            if purpose.startswith("data:") and purpose[5:] not in ring.document["data_keys"]:
                ring = self._ring(tenant, fresh=True)  # perhaps rotated by another process a moment ago
            secret = ring.unwrapped.get(purpose)
            if secret is None:
                wrapped = _wrapped(ring.document, purpose)
                if wrapped is None:
                    raise SealedValueError(f"tenant '{tenant}' has no key {purpose}")
                secret = self._unwrap(tenant, purpose, wrapped, ring.document)
                if purpose == "index":
                    secret = derive_key(secret, f"identity/blind-index/{tenant}")
                ring.unwrapped[purpose] = secret
            return secret

    def current_version(self, tenant: str) -> int:
        with self._lock:
            return self._ring(tenant, fresh=False).document["current"]

    def _ring(self, tenant: str, *, fresh: bool) -> _Ring:
        if self._load(tenant, fresh=fresh) is None:
            raise IdentityError(f"tenant '{tenant}' has no key ring")
        return self._rings[tenant]

    # -- the files -------------------------------------------------------------------------
    def _path(self, tenant: str) -> Path:
        return self.directory / f"{tenant}.json"

    def _load(self, tenant: str, *, allow_destroyed: bool = False, fresh: bool = True) -> dict[str, Any] | None:
        """The tenant's document, None if absent. Re-read if the file changed; unless ``fresh``,
        a ring checked less than ``recheck_after`` seconds ago is trusted without a stat."""
        with self._lock:
            ring = self._rings.get(tenant) if type(tenant) is str else None
            now = time.monotonic()
            if not fresh and ring is not None and now - ring.checked < self.recheck_after:
                stamp = ring.stamp  # the hot path: no stat, and its tenant id was checked when it was read
            else:
                _check_tenant(tenant)
                stamp = file_stamp(self._path(tenant))
                if ring is not None:
                    ring.checked = now
            if ring is None or ring.stamp != stamp:
                if stamp is None:
                    self._rings.pop(tenant, None)
                    return None
                path = self._path(tenant)
                try:
                    document = json.loads(path.read_text(encoding="utf-8"))
                except ValueError:  # e.g. zeroed by a destroy() that crashed before its tombstone
                    raise IdentityError(f"the key ring of tenant '{tenant}' is unreadable ({path})") from None
                # a reloaded ring keeps the secrets it already unwrapped, if still the same ones
                kept = {} if ring is None else {
                    purpose: key for purpose, key in ring.unwrapped.items()
                    if _wrapped(document, purpose) is not None
                    and _wrapped(document, purpose) == _wrapped(ring.document, purpose)}
                ring = self._rings[tenant] = _Ring(document, stamp, now, kept)
            if "destroyed_at" in ring.document:
                ring.unwrapped.clear()
                if not allow_destroyed:
                    raise KeysDestroyed(tenant)
            return ring.document

    @contextlib.contextmanager
    def _editing(self, tenant: str, *, allow_destroyed: bool = False) -> Iterator[dict[str, Any] | None]:
        """A copy of the tenant's document, read under the thread lock and the cross-process file
        lock (a copy: an edit whose write fails must not leave the cached ring changed)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        with self._lock, exclusive_lock(self.directory / _LOCK_NAME):
            yield copy.deepcopy(self._load(tenant, allow_destroyed=allow_destroyed))

    def _store(self, tenant: str, document: dict[str, Any]) -> None:
        path = self._path(tenant)
        write_private(path, json.dumps(document, indent=2, sort_keys=True))
        self._rings.pop(tenant, None)

    # -- wrapping ----------------------------------------------------------------------------
    def _new_data_key(self, tenant: str, version: int, now: float) -> dict[str, Any]:
        return {"wrapped": self._wrap(tenant, f"data:{version}", os.urandom(_SECRET_BYTES)), "created_at": now}

    def _wrap(self, tenant: str, purpose: str, secret: bytes) -> str:
        return base64.b64encode(self.provider.wrap(secret, {"tenant": tenant, "purpose": purpose})).decode()

    def _unwrap(self, tenant: str, purpose: str, wrapped: str, document: dict[str, Any]) -> bytes:
        provider = next((p for p in (self.provider, *self.previous) if p.name == document.get("kek")), None)
        if provider is None:
            raise KeyProviderError(f"tenant '{tenant}''s key ring is wrapped by {document.get('kek')}, "
                                   f"not by the configured {self.provider.name}")
        return provider.unwrap(base64.b64decode(wrapped), {"tenant": tenant, "purpose": purpose})


class TenantKeys:
    """A KeySource over one tenant's ring: every call sees rotation and offboarding at once."""

    def __init__(self, keyring: Keyring, tenant: str):
        self.keyring = keyring
        self.tenant = tenant

    def index_key(self) -> bytes:
        return self.keyring.key(self.tenant, "index")

    def current_data_key(self) -> tuple[int, bytes]:
        version = self.keyring.current_version(self.tenant)
        return version, self.data_key(version)

    def data_key(self, version: int) -> bytes:
        return self.keyring.key(self.tenant, f"data:{version}")


def _wrapped(document: dict[str, Any], purpose: str) -> str | None:
    """The wrapped secret ``purpose`` names in a ring document, None if it holds none."""
    if purpose == "index":
        return document.get("index_secret")
    entry = document.get("data_keys", {}).get(purpose.partition(":")[2])
    return None if entry is None else entry["wrapped"]


def _check_tenant(tenant: str) -> None:
    # the tenant names a file: never let it name one outside the keys directory
    if not isinstance(tenant, str) or not re.match(TENANT_ID_PATTERN, tenant):
        raise IdentityError(f"not a tenant id (must match {TENANT_ID_PATTERN})")


def _overwrite(path: Path) -> None:
    size = path.stat().st_size
    with open(path, "r+b") as out:
        out.write(b"\x00" * size)
        out.flush()
        os.fsync(out.fileno())
