"""Envelope encryption for tenant data: KEK providers, per-tenant key rings, re-encryption.

    keyring = keyring_for(config)            # KMS if config.kms_key_id, else <data_dir>/kek.key
    protector = keyring.protector("acme")    # an identity.protect.Protector for IdentityGraph
    keyring.rotate("acme")                   # new writes use a new data-key version
    reencrypt(g, "acme", protector)          # migrate old cells, in resumable batches
    keyring.destroy("acme")                  # crypto-shredding (see identity.offboarding)

See docs/security.md for the key hierarchy and the reasoning behind it.
"""

from __future__ import annotations

from pathlib import Path

from ..config import Config
from .keyring import Keyring, KeyringStatus, KeysDestroyed, TenantKeys
from .provider import KeyProvider, KeyProviderError, KmsKeyProvider, LocalKeyFileProvider
from .reencrypt import ReencryptProgress, reencrypt

__all__ = ["Keyring", "KeyringStatus", "KeysDestroyed", "TenantKeys", "KeyProvider", "KeyProviderError",
           "KmsKeyProvider", "LocalKeyFileProvider", "ReencryptProgress", "reencrypt", "keyring_for",
           "KEK_FILE", "KEYS_DIR"]

KEK_FILE = "kek.key"
KEYS_DIR = "keys"


def keyring_for(config: Config) -> Keyring:
    """The key rings in ``config.data_dir``, wrapped by KMS or by the local KEK file (created
    on first use, so ``identity serve`` with no configuration just works)."""
    data_dir = Path(config.data_dir)
    if config.kms_key_id:
        provider: KeyProvider = KmsKeyProvider(config.kms_key_id, region=config.kms_region)
    else:
        provider = LocalKeyFileProvider(data_dir / KEK_FILE, create=True)
    return Keyring(data_dir / KEYS_DIR, provider)
