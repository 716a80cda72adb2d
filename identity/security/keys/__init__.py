"""Envelope encryption for tenant data: KEK providers and per-tenant key rings.

    keyring = keyring_for(config)            # identity.service.config: KMS, or <data_dir>/kek.key
    protector = keyring.protector("acme")    # an identity.security.protect.Protector for IdentityGraph
    keyring.rotate("acme")                   # new writes use a new data-key version
    reencrypt(g, "acme", protector)          # identity.service.reencrypt: migrate old cells, in resumable batches
    retire_data_key(g, keyring, "acme", 1)   # then drop a version no cell uses any more
    keyring.rewrap("acme")                   # move a ring to a new KEK (config.previous_kek: the old one)
    keyring.destroy("acme")                  # crypto-shredding (see identity.service.offboarding)

Re-encryption walks the graph, and the deployment's key rings come from its configuration: both
belong to the service layer above, which this package does not import.

See docs/security.md for the key hierarchy and the reasoning behind it.
"""

from __future__ import annotations

from .keyring import Keyring, KeyringStatus, KeysDestroyed, TenantKeys
from .provider import KeyProvider, KeyProviderError, KmsKeyProvider, LocalKeyFileProvider

__all__ = ["Keyring", "KeyringStatus", "KeysDestroyed", "TenantKeys", "KeyProvider", "KeyProviderError",
           "KmsKeyProvider", "LocalKeyFileProvider"]
