"""Key-encryption-key (KEK) providers: the root of the key hierarchy.

A provider wraps (encrypts) and unwraps the small secrets of a tenant's key ring; the KEK
itself never leaves it. ``context`` names what is wrapped ({"tenant": ..., "purpose": ...})
and is bound to the wrapped bytes, so one tenant's wrapped key cannot be unwrapped as another's.

* LocalKeyFileProvider: a 256-bit KEK in a file (mode 0600) in the data directory, for
  development and single-host installations.
* KmsKeyProvider: AWS KMS Encrypt/Decrypt with an encryption context; boto3 is an optional
  extra (``pip install identity[kms]``) imported only when no client is given.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any, Mapping

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from ...base.errors import IdentityError

__all__ = ["KeyProvider", "KeyProviderError", "LocalKeyFileProvider", "KmsKeyProvider"]

_KEK_BYTES = 32
_NONCE_BYTES = 12


class KeyProviderError(IdentityError):
    """The KEK is missing, unreadable or refused to unwrap (wrong KEK, tampered key ring)."""


class KeyProvider:
    """Wraps and unwraps key material under a key-encryption key it never reveals."""

    #: Recorded in each key ring, so a ring is never unwrapped with the wrong KEK by mistake.
    name: str = ""

    def wrap(self, plaintext: bytes, context: Mapping[str, str]) -> bytes:
        raise NotImplementedError

    def unwrap(self, wrapped: bytes, context: Mapping[str, str]) -> bytes:
        raise NotImplementedError


def _associated_data(context: Mapping[str, str]) -> bytes:
    return "\x00".join(f"{key}={context[key]}" for key in sorted(context)).encode()


class LocalKeyFileProvider(KeyProvider):
    """A KEK kept in ``path``; ``create=True`` makes one (0600, exclusively) if it is missing."""

    def __init__(self, path: str | os.PathLike, *, create: bool = False):
        self.path = Path(path)
        if create and not self.path.exists():
            self._create()
        try:
            mode = self.path.stat().st_mode
            kek = self.path.read_bytes()
        except FileNotFoundError:
            raise KeyProviderError(f"no key-encryption key file at {self.path}") from None
        if mode & 0o077:
            raise KeyProviderError(f"{self.path} is accessible to other users: chmod 600 it")
        if len(kek) != _KEK_BYTES:
            raise KeyProviderError(f"{self.path} is not a {_KEK_BYTES}-byte key-encryption key")
        self._aead = AESGCM(kek)
        # identifies the KEK without revealing it
        self.name = "local:" + hashlib.sha256(b"identity-kek-id\x00" + kek).hexdigest()[:16]

    def _create(self) -> None:
        # Written whole under a temporary name, then linked into place: a process starting at
        # the same moment sees either no key file or a complete one, never an empty one, and
        # link() refuses to replace a key another process placed first (theirs is used).
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix=".kek-", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                os.fchmod(out.fileno(), 0o600)
                out.write(os.urandom(_KEK_BYTES))
                out.flush()
                os.fsync(out.fileno())
            try:
                os.link(temporary, self.path)
            except FileExistsError:
                return
        finally:
            os.unlink(temporary)

    def wrap(self, plaintext: bytes, context: Mapping[str, str]) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, plaintext, _associated_data(context))

    def unwrap(self, wrapped: bytes, context: Mapping[str, str]) -> bytes:
        try:
            return self._aead.decrypt(wrapped[:_NONCE_BYTES], wrapped[_NONCE_BYTES:], _associated_data(context))
        except InvalidTag:
            raise KeyProviderError("the key-encryption key does not unwrap this key material") from None


class KmsKeyProvider(KeyProvider):
    """AWS KMS: ``key_id`` is a key id, ARN or alias; ``client`` a boto3 KMS client (or any
    object with the same ``encrypt``/``decrypt`` methods), built lazily when absent."""

    def __init__(self, key_id: str, *, client: Any = None, region: str | None = None):
        if not key_id:
            raise KeyProviderError("a KMS key id is required")
        self.key_id = key_id
        self.name = f"kms:{key_id}"
        self._client = client
        self._region = region or None

    @property
    def client(self) -> Any:
        if self._client is None:
            try:
                import boto3
            except ImportError:
                raise KeyProviderError("AWS KMS needs boto3: pip install 'identity[kms]'") from None
            self._client = boto3.client("kms", region_name=self._region)
        return self._client

    def wrap(self, plaintext: bytes, context: Mapping[str, str]) -> bytes:
        return self._call("encrypt", "wrap", Plaintext=plaintext, EncryptionContext=dict(context))["CiphertextBlob"]

    def unwrap(self, wrapped: bytes, context: Mapping[str, str]) -> bytes:
        return self._call("decrypt", "unwrap", CiphertextBlob=wrapped, EncryptionContext=dict(context))["Plaintext"]

    def _call(self, operation: str, verb: str, **arguments: Any) -> dict:
        client = self.client
        try:
            return getattr(client, operation)(KeyId=self.key_id, **arguments)
        except Exception as error:  # botocore's errors are not importable without the extra
            raise KeyProviderError(f"KMS refused to {verb} key material ({type(error).__name__})") from None
