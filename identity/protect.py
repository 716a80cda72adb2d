"""The seam for PII protection.

Identifier values reach the graph only in two forms: a *blind index* (keyed HMAC-SHA256, used
in vertex ids so that an id reveals nothing and equal values still meet) and a *sealed* value
(authenticated encryption, bound to the element and property it belongs to, so a sealed value
copied onto another vertex does not open). A KMS-backed, per-tenant Protector replaces the
development one behind the same interface.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from typing import Protocol, runtime_checkable

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

__all__ = ["Protector", "DevelopmentProtector", "DEVELOPMENT_KEY"]

#: Public on purpose: development data is not protected by secrecy of this key.
DEVELOPMENT_KEY = b"identity-development-key-not-for-production"
_SEAL_PREFIX = "v1:"


@runtime_checkable
class Protector(Protocol):
    def blind_index(self, id_type: str, normalized_value: str) -> str:
        """A lower-case hex digest of (type, value), equal for equal inputs, unlinkable without the key."""

    def seal(self, element_id: str, prop: str, plaintext: str) -> str:
        """``plaintext`` encrypted for storage in ``element_id``'s property ``prop``."""

    def open(self, element_id: str, prop: str, sealed: str) -> str:
        """The plaintext of a value sealed for the same element and property."""


class DevelopmentProtector:
    """HMAC-SHA256 blind index and AES-256-GCM sealing, both keyed from one development key."""

    def __init__(self, key: bytes = DEVELOPMENT_KEY):
        if len(key) < 16:
            raise ValueError("a protector key needs at least 16 bytes")
        self._index_key = hmac.new(key, b"blind-index", hashlib.sha256).digest()
        self._aead = AESGCM(hmac.new(key, b"seal", hashlib.sha256).digest())

    def blind_index(self, id_type: str, normalized_value: str) -> str:
        message = f"{id_type}\x00{normalized_value}".encode()
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()

    def seal(self, element_id: str, prop: str, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), _context(element_id, prop))
        return _SEAL_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def open(self, element_id: str, prop: str, sealed: str) -> str:
        if not sealed.startswith(_SEAL_PREFIX):
            raise ValueError("not a sealed value")
        raw = base64.urlsafe_b64decode(sealed[len(_SEAL_PREFIX):])
        return self._aead.decrypt(raw[:12], raw[12:], _context(element_id, prop)).decode()


def _context(element_id: str, prop: str) -> bytes:
    return f"{element_id}\x00{prop}".encode()
