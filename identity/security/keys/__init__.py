"""Envelope encryption for tenant data: KEK providers, per-tenant key rings, re-encryption.

    keyring = keyring_for(config)            # KMS if config.kms_key_id, else <data_dir>/kek.key
    protector = keyring.protector("acme")    # an identity.security.protect.Protector for IdentityGraph
    keyring.rotate("acme")                   # new writes use a new data-key version
    reencrypt(g, "acme", protector)          # migrate old cells, in resumable batches
    retire_data_key(g, keyring, "acme", 1)   # then drop a version no cell uses any more
    keyring.rewrap("acme")                   # move a ring to a new KEK (config.previous_kek: the old one)
    keyring.destroy("acme")                  # crypto-shredding (see identity.offboarding)

See docs/security.md for the key hierarchy and the reasoning behind it.
"""

from __future__ import annotations

from pathlib import Path

from ...config import Config
from .keyring import Keyring, KeyringStatus, KeysDestroyed, TenantKeys
from .provider import KeyProvider, KeyProviderError, KmsKeyProvider, LocalKeyFileProvider
from .reencrypt import ReencryptProgress, cells_sealed_with, reencrypt, retire_data_key

__all__ = ["Keyring", "KeyringStatus", "KeysDestroyed", "TenantKeys", "KeyProvider", "KeyProviderError",
           "KmsKeyProvider", "LocalKeyFileProvider", "ReencryptProgress", "reencrypt", "cells_sealed_with",
           "retire_data_key", "keyring_for", "KEK_FILE", "KEYS_DIR"]

KEK_FILE = "kek.key"
KEYS_DIR = "keys"


def keyring_for(config: Config) -> Keyring:
    """The key rings in ``config.data_dir``, wrapped by KMS or by the local KEK file (created
    on first use, so ``identity serve`` with no configuration just works). Rings still wrapped
    by ``config.previous_kek`` keep opening until ``identity datakey rewrap`` moves them."""
    data_dir = Path(config.data_dir)
    provider = _provider(config.kms_key_id, config.kms_region, data_dir, create=True)
    previous: tuple[KeyProvider, ...] = ()
    if config.previous_kek:
        kind, _, key_id = config.previous_kek.partition(":")
        previous = (_provider(key_id if kind == "kms" else "", config.kms_region, data_dir, create=False),)
    return Keyring(data_dir / KEYS_DIR, provider, previous=previous)


def _provider(kms_key_id: str, kms_region: str, data_dir: Path, *, create: bool) -> KeyProvider:
    if kms_key_id:
        return KmsKeyProvider(kms_key_id, region=kms_region)
    return LocalKeyFileProvider(data_dir / KEK_FILE, create=create)
