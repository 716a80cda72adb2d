"""The seam for PII protection.

Identifier values reach the graph only in two forms: a *blind index* (keyed HMAC-SHA256, used
in vertex ids so that an id reveals nothing and equal values still meet) and a *sealed* value
(AES-256-GCM, bound by its associated data to the tenant, element and property it belongs to,
so a sealed value copied onto another vertex or property does not open).

``EnvelopeProtector`` is the one implementation of both. Its keys come from a ``KeySource``:
identity.security.keys.Keyring serves each tenant's versioned data keys and blind-index key (wrapped by
a key-encryption key at rest); ``DevelopmentProtector`` derives fixed ones from a public key,
for tests and local experiments only.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from typing import Protocol, runtime_checkable

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ..base.errors import IdentityError

__all__ = ["Protector", "KeySource", "EnvelopeProtector", "DevelopmentProtector", "DEVELOPMENT_KEY",
           "SealedValueError", "sealed_version", "version_prefix", "derive_key"]

#: Public on purpose: development data is not protected by secrecy of this key.
DEVELOPMENT_KEY = b"identity-development-key-not-for-production"
_NONCE_BYTES = 12


class SealedValueError(IdentityError):
    """A stored value that does not open: malformed, tampered with, moved to another cell, or
    sealed with a key version this key ring does not hold. Never carries the value."""


@runtime_checkable
class Protector(Protocol):
    def blind_index(self, id_type: str, normalized_value: str) -> str:
        """A lower-case hex digest of (type, value), equal for equal inputs, unlinkable without the key."""

    def seal(self, element_id: str, prop: str, plaintext: str) -> str:
        """``plaintext`` encrypted for storage in ``element_id``'s property ``prop``."""

    def open(self, element_id: str, prop: str, sealed: str) -> str:
        """The plaintext of a value sealed for the same element and property."""


class KeySource(Protocol):
    """Where an EnvelopeProtector's keys come from; each call may raise if the keys are gone."""

    def index_key(self) -> bytes:
        """The blind-index HMAC key: never changes for the life of the tenant."""

    def current_data_key(self) -> tuple[int, bytes]:
        """(version, AES-256 key) that new writes are sealed with."""

    def data_key(self, version: int) -> bytes:
        """The AES-256 key of ``version`` (old versions keep opening what they sealed)."""


def derive_key(secret: bytes, purpose: str) -> bytes:
    """A 256-bit key for ``purpose`` from ``secret`` (HKDF-SHA256), independent of keys derived
    for other purposes from the same secret."""
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(secret)


def version_prefix(version: int) -> str:
    return f"v{version}:"


def sealed_version(sealed: str) -> int:
    """The key version a sealed value names ("v2:..." -> 2)."""
    head, colon, _ = sealed.partition(":") if isinstance(sealed, str) else ("", "", "")
    if not colon or not head.startswith("v") or not head[1:].isdigit():
        raise SealedValueError("not a sealed value")
    return int(head[1:])


class EnvelopeProtector:
    """Blind index and per-cell sealing for one ``scope`` (the tenant), keys from ``keys``.

    Sealed values read ``v<version>:<urlsafe base64 of nonce + ciphertext + tag>``; the
    associated data is (scope, element id, property), so a ciphertext opens only in its cell.
    """

    def __init__(self, scope: str, keys: KeySource):
        self.scope = scope
        self.keys = keys
        #: the cipher of the data key last opened with (a resolve opens several cells with one key;
        #: making the cipher is a fifth of an open): used only for that same key object, which
        #: ``keys`` hands out again for as long as it is valid (asked on every open all the same)
        self._opener: tuple[bytes, AESGCM] | None = None

    def blind_index(self, id_type: str, normalized_value: str) -> str:
        message = f"{id_type}\x00{normalized_value}".encode()
        return hmac.new(self.keys.index_key(), message, hashlib.sha256).hexdigest()

    def seal(self, element_id: str, prop: str, plaintext: str) -> str:
        version, key = self.keys.current_data_key()
        nonce = os.urandom(_NONCE_BYTES)
        sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), self._context(element_id, prop))
        return version_prefix(version) + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, element_id: str, prop: str, sealed: str) -> str:
        version = sealed_version(sealed)
        try:
            raw = base64.urlsafe_b64decode(sealed[len(version_prefix(version)):])
        except (binascii.Error, ValueError):
            raise SealedValueError("not a sealed value") from None
        try:
            key = self.keys.data_key(version)
        except Exception:  # destroyed (offboarded), say: the cipher goes with the key
            self._opener = None
            raise
        opener = self._opener
        if opener is None or opener[0] is not key:
            opener = self._opener = (key, AESGCM(key))
        try:
            plain = opener[1].decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], self._context(element_id, prop))
        except InvalidTag:
            raise SealedValueError(f"a sealed {prop!r} does not open in this cell (tampered or moved)") from None
        return plain.decode()

    def _context(self, element_id: str, prop: str) -> bytes:
        return f"{self.scope}\x00{element_id}\x00{prop}".encode()


class _FixedKeys:
    """One data key (version 1) and a blind-index key, both derived from ``secret``."""

    def __init__(self, secret: bytes):
        self._index_key = derive_key(secret, "identity/blind-index")
        self._data_key = derive_key(secret, "identity/data-key/1")

    def index_key(self) -> bytes:
        return self._index_key

    def current_data_key(self) -> tuple[int, bytes]:
        return 1, self._data_key

    def data_key(self, version: int) -> bytes:
        if version != 1:
            raise SealedValueError(f"no data key version {version}")
        return self._data_key


class DevelopmentProtector(EnvelopeProtector):
    """Keys derived from a fixed, public development key: for tests and experiments, never
    for real data (the service uses identity.security.keys.Keyring's per-tenant keys)."""

    def __init__(self, key: bytes = DEVELOPMENT_KEY):
        if len(key) < 16:
            raise ValueError("a protector key needs at least 16 bytes")
        super().__init__("development", _FixedKeys(key))
