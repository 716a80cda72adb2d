"""Re-encryption after a data-key rotation: re-seal every cell sealed with an older version;
then, optionally, retire a version no cell uses any more.

Resumable by construction rather than by checkpoint: each batch asks the graph for cells whose
sealed value does *not* start with the current version's prefix ("v3:"), so an interrupted run
simply continues where it stopped, and a run after completion finds nothing. Each write is a
compare-and-set (the cell is replaced only if it still holds the value that was read), so a
concurrent writer is never overwritten with stale data. Two round trips per batch. A batch that
finds a cell still holding the value the previous batch re-sealed stops the run (``Stalled``)
instead of re-sealing it forever.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from gremlin_python.process.graph_traversal import GraphTraversalSource, __
from gremlin_python.process.traversal import Cardinality, T, TextP

from ..base.errors import IdentityError, check_int, check_progress
from ..domain import model
from ..graph.connection import submit
from ..security.keys import Keyring
from ..security.protect import EnvelopeProtector, SealedValueError, version_prefix

__all__ = ["ReencryptProgress", "reencrypt", "cells_sealed_with", "retire_data_key", "DEFAULT_BATCH"]

DEFAULT_BATCH = 500


@dataclass
class ReencryptProgress:
    tenant: str
    version: int = 0   # the version cells were re-sealed with (the latest seen)
    resealed: int = 0
    batches: int = 0
    label: str = ""    # the vertex label of the last batch


def reencrypt(g: GraphTraversalSource, tenant: str, protector: EnvelopeProtector, *, batch: int = DEFAULT_BATCH,
              progress: Callable[[ReencryptProgress], None] | None = None,
              max_batches: int | None = None) -> ReencryptProgress:
    """Re-seal ``tenant``'s cells that an older data-key version sealed, ``batch`` cells per
    round; stops after ``max_batches`` if given (the next call resumes)."""
    check_int("batch", batch, 1)
    done = ReencryptProgress(tenant)
    for label, prop in model.SEALED_PROPERTIES.items():
        handled: frozenset = frozenset()  # (vertex id, sealed value) of the last batch's cells
        while max_batches is None or done.batches < max_batches:
            # read the version every batch: a rotation during the run moves the target along
            version = protector.keys.current_data_key()[0]
            rows = submit(g.V().has_label(label).has(model.TENANT, tenant)
                          .has(prop, TextP.not_starting_with(version_prefix(version))).limit(batch)
                          .project("id", "sealed").by(T.id).by(prop))
            if not rows:
                break
            # a cell found again holding the very value the last batch re-sealed was not written
            handled = check_progress(handled, frozenset((row["id"], row["sealed"]) for row in rows),
                                     f"re-encrypting tenant '{tenant}' ({label} {prop})")
            write = g.inject(0)
            for row in rows:
                try:
                    plaintext = protector.open(row["id"], prop, row["sealed"])
                except SealedValueError as error:
                    raise SealedValueError(f"{label} {row['id']}: {error}") from None
                resealed = protector.seal(row["id"], prop, plaintext)
                write = write.side_effect(__.V(row["id"]).has(prop, row["sealed"])
                                          .property(Cardinality.single, prop, resealed))
            submit(write)
            done.version, done.label = version, label
            done.resealed += len(rows)
            done.batches += 1
            if progress is not None:
                progress(done)
    return done


def cells_sealed_with(g: GraphTraversalSource, tenant: str, version: int) -> int:
    """How many of ``tenant``'s cells data-key ``version`` sealed."""
    return sum(submit(g.V().has_label(label).has(model.TENANT, tenant)
                      .has(prop, TextP.starting_with(version_prefix(version))).count())[0]
               for label, prop in model.SEALED_PROPERTIES.items())


def retire_data_key(g: GraphTraversalSource, keyring: "Keyring", tenant: str, version: int) -> None:
    """Remove ``version`` from the tenant's ring once no cell in the graph uses it (run
    ``reencrypt`` first). Copies of the graph made before the re-encryption (backups, the
    durable journal's old pages) keep cells that no key opens any more: that is the point."""
    remaining = cells_sealed_with(g, tenant, version)
    if remaining:
        raise IdentityError(f"{remaining} cells of tenant '{tenant}' are still sealed with data key version "
                            f"{version}: re-encrypt them first")
    keyring.retire(tenant, version)
