"""Envelope encryption: per-tenant key rings, cell binding, rotation and re-encryption,
crypto-shredding and purge, the KMS provider (with a fake client), file modes."""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

from typing import Any

import pytest
from gremlin_python.driver.remote_connection import RemoteConnection
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.traversal import Bytecode, Cardinality, T

import gremlin
from identity import IdentityGraph
from identity.base.errors import IdentityError, Stalled, ValidationError
from identity.security import auth
from identity.security.keys import Keyring, KeyProviderError, KeysDestroyed, KmsKeyProvider, LocalKeyFileProvider
from identity.security.protect import EnvelopeProtector, SealedValueError, sealed_version
from identity.security.tenants import TenantRegistry
from identity.service.offboarding import offboard, purge
from identity.service.reencrypt import reencrypt

from fakes import FakeKms
from identity_helpers import event

ANN = ("email", "ann@example.com")
PHONE = ("phone", "+1 555 0100 200")
BOB = ("email", "bob@example.com")
#: Each holds a character base64 never produces ('@', ' ', '"') or is long enough, so random
#: ciphertext cannot contain one by chance.
SECRETS = ("ann@", "bob@", "5550100200", "Ann Smith", '"gold"')


def _keyring(directory: Path) -> Keyring:
    return Keyring(directory / "keys", LocalKeyFileProvider(directory / "kek.key", create=True))


@pytest.fixture
def keyring(tmp_path: Path) -> Keyring:
    return _keyring(tmp_path)


@pytest.fixture
def acme(g, keyring: Keyring, clock) -> IdentityGraph:
    return IdentityGraph(g, "acme", protector=keyring.protector("acme"), clock=clock)


def _sealed_cells(g) -> dict[tuple[str, str], str]:
    cells = {}
    for prop in ("value", "attributes"):
        for row in g.V().has(prop).project("id", "sealed").by(T.id).by(prop).to_list():
            cells[(row["id"], prop)] = row["sealed"]
    return cells


# -- files ---------------------------------------------------------------------------------------

def test_key_files_are_private_and_hold_only_wrapped_keys(tmp_path: Path, keyring: Keyring) -> None:
    keyring.protector("acme").seal("x", "value", "ann")
    kek, ring = tmp_path / "kek.key", tmp_path / "keys" / "acme.json"
    assert stat.S_IMODE(kek.stat().st_mode) == 0o600 and stat.S_IMODE(ring.stat().st_mode) == 0o600
    text = ring.read_text()
    for key in (keyring.key("acme", "index"), keyring.key("acme", "data:1")):
        assert base64.b64encode(key).decode() not in text and key.hex() not in text
    document = json.loads(text)
    assert document["current"] == 1 and set(document["data_keys"]) == {"1"}


def test_the_kek_file_is_created_once(tmp_path: Path) -> None:
    first = LocalKeyFileProvider(tmp_path / "kek.key", create=True)
    again = LocalKeyFileProvider(tmp_path / "kek.key", create=True)
    assert first.name == again.name
    with pytest.raises(KeyProviderError):
        LocalKeyFileProvider(tmp_path / "absent.key")
    (tmp_path / "kek.key").chmod(0o644)
    with pytest.raises(KeyProviderError, match="chmod 600"):
        LocalKeyFileProvider(tmp_path / "kek.key")


def test_the_kek_file_appears_whole_and_a_racing_creator_keeps_the_first(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "kek.key"
    link = os.link
    seen = []

    def watched_link(source, target):
        seen.append((path.exists(), len(Path(source).read_bytes()), oct(Path(source).stat().st_mode & 0o777)))
        link(source, target)

    monkeypatch.setattr(os, "link", watched_link)
    first = LocalKeyFileProvider(path, create=True)
    assert seen == [(False, 32, "0o600")]  # never visible before it is complete

    def another_process_won(source, target):
        Path(target).write_bytes(b"k" * 32)  # placed between our check and our link
        Path(target).chmod(0o600)
        raise FileExistsError(target)

    path.unlink()
    monkeypatch.setattr(os, "link", another_process_won)
    second = LocalKeyFileProvider(path, create=True)
    assert second.name != first.name and path.read_bytes() == b"k" * 32  # theirs, not ours
    assert [p.name for p in tmp_path.iterdir()] == ["kek.key"]  # no temporary file left


def test_a_ring_opens_only_with_its_kek(tmp_path: Path, keyring: Keyring) -> None:
    sealed = keyring.protector("acme").seal("x", "value", "ann")
    other = Keyring(tmp_path / "keys", LocalKeyFileProvider(tmp_path / "other.key", create=True))
    with pytest.raises(KeyProviderError):
        other.protector("acme").open("x", "value", sealed)


def test_a_tenant_id_never_names_a_file_outside_the_keys_directory(keyring: Keyring) -> None:
    for bad in ("../acme", "acme/x", "", "ACME"):
        with pytest.raises(IdentityError):
            keyring.protector(bad)


# -- cell binding ----------------------------------------------------------------------------

def test_a_sealed_value_opens_only_in_its_own_cell_and_tenant(keyring: Keyring) -> None:
    acme, globex = keyring.protector("acme"), keyring.protector("globex")
    sealed = acme.seal("acme:email:1", "value", "ann@example.com")
    assert acme.open("acme:email:1", "value", sealed) == "ann@example.com"
    for element, prop, protector in (("acme:email:2", "value", acme), ("acme:email:1", "attributes", acme),
                                     ("acme:email:1", "value", globex)):
        with pytest.raises(SealedValueError):
            protector.open(element, prop, sealed)
    with pytest.raises(SealedValueError):
        acme.open("acme:email:1", "value", "ann@example.com")  # never stored plaintext


def test_the_associated_data_binds_the_tenant_even_under_the_same_key(keyring: Keyring) -> None:
    keys = keyring.protector("acme").keys
    sealed = EnvelopeProtector("acme", keys).seal("x:email:1", "value", "ann")
    assert EnvelopeProtector("acme", keys).open("x:email:1", "value", sealed) == "ann"
    with pytest.raises(SealedValueError):
        EnvelopeProtector("globex", keys).open("x:email:1", "value", sealed)


def test_tenants_have_unrelated_blind_indexes(keyring: Keyring) -> None:
    acme, globex = keyring.protector("acme"), keyring.protector("globex")
    assert acme.blind_index(*ANN) == keyring.protector("acme").blind_index(*ANN)
    assert acme.blind_index(*ANN) != globex.blind_index(*ANN)


def test_a_ciphertext_copied_onto_another_vertex_does_not_open(acme: IdentityGraph, g) -> None:
    acme.ingest([event("e1", ANN), event("e2", BOB)])
    ann_id, bob_id = acme.vertex_id(*ANN), acme.vertex_id(*BOB)
    ann_sealed = g.V(ann_id).values("value").next()
    g.V(bob_id).property(Cardinality.single, "value", ann_sealed).iterate()
    assert acme.resolve(*ANN).identifiers == {"email": [{"value": "ann@example.com", "hops": 0, "generic": False}]}
    with pytest.raises(SealedValueError):
        acme.resolve(*BOB)


def test_the_stored_graph_holds_no_plaintext_pii(acme: IdentityGraph, g) -> None:
    acme.ingest([event("e1", ANN, PHONE, attributes={"plan": "gold", "name": "Ann Smith"}), event("e2", BOB, PHONE)])
    ids = [str(i) for i in g.V().id_().to_list() + g.E().id_().to_list()]
    keys = g.V().properties().key().to_list() + g.E().properties().key().to_list()
    values = [str(v) for v in g.V().properties().value().to_list() + g.E().properties().value().to_list()]
    assert "value" in keys and "attributes" in keys  # the scan saw the sealed properties
    for secret in SECRETS:
        assert not any(secret in text for text in ids + keys + values), secret


# -- rotation -----------------------------------------------------------------------------------

def test_rotation_seals_new_writes_with_the_new_version_and_old_ones_still_open(
        acme: IdentityGraph, keyring: Keyring, g) -> None:
    acme.ingest([event("e1", ANN, PHONE, attributes={"plan": "gold"})])
    ann_id = acme.vertex_id(*ANN)
    assert keyring.rotate("acme") == 2
    assert acme.vertex_id(*ANN) == ann_id  # the blind index does not rotate
    acme.ingest([event("e2", BOB, attributes={"plan": "free"})])
    versions = {cell: sealed_version(sealed) for cell, sealed in _sealed_cells(g).items()}
    assert versions[(acme.vertex_id(*BOB), "value")] == 2 and versions[(ann_id, "value")] == 1
    assert sorted(versions.values()) == [1, 1, 1, 2, 2]
    assert acme.resolve(*PHONE).identifiers["email"][0]["value"] == "ann@example.com"


def test_status_creates_a_ring_only_when_asked_and_reports_an_offboarded_tenant(keyring: Keyring) -> None:
    assert keyring.status("acme") is None
    assert not (keyring.directory / "acme.json").exists()
    status = keyring.status("acme", create=True)
    assert status is not None and status.current == 1 and list(status.versions) == [1]
    keyring.destroy("acme")
    gone = keyring.status("acme", create=True)  # a tombstone is not replaced by a new ring
    assert gone is not None and gone.destroyed_at is not None and gone.current == 0
    assert keyring.destroyed("acme")


def test_reencrypt_migrates_old_cells_in_batches_and_resumes(acme: IdentityGraph, keyring: Keyring, g) -> None:
    acme.ingest([event(f"e{n}", ("email", f"user{n}@example.com"), attributes={"n": n}) for n in range(5)])
    keyring.rotate("acme")
    keyring.rotate("acme")
    protector = acme.protector
    seen = []
    first = reencrypt(g, "acme", protector, batch=2, max_batches=2, progress=lambda p: seen.append(p.resealed))
    assert (first.resealed, first.batches, seen) == (4, 2, [2, 4])
    versions = [sealed_version(s) for s in _sealed_cells(g).values()]
    assert sorted(versions) == [1] * 6 + [3] * 4  # interrupted: half way
    rest = reencrypt(g, "acme", protector, batch=2)
    assert rest.resealed == 6 and rest.version == 3
    assert {sealed_version(s) for s in _sealed_cells(g).values()} == {3}
    assert reencrypt(g, "acme", protector).resealed == 0
    assert acme.resolve("email", "user3@example.com").identifiers["email"][0]["value"] == "user3@example.com"


def test_reencrypt_leaves_other_tenants_alone(g, keyring: Keyring, clock) -> None:
    acme = IdentityGraph(g, "acme", protector=keyring.protector("acme"), clock=clock)
    globex = IdentityGraph(g, "globex", protector=keyring.protector("globex"), clock=clock)
    acme.ingest([event("e1", ANN)])
    globex.ingest([event("e1", ANN)])
    keyring.rotate("acme")
    assert reencrypt(g, "acme", acme.protector).resealed == 1
    assert globex.resolve(*ANN).identifiers["email"][0]["value"] == "ann@example.com"


def _server_keyring(directory: Path, recheck_after: float) -> Keyring:
    """The key rings as a running service in another process sees them."""
    return Keyring(directory / "keys", LocalKeyFileProvider(directory / "kek.key"), recheck_after=recheck_after)


def test_another_process_sees_a_rotation(tmp_path: Path, keyring: Keyring) -> None:
    keyring.ensure("acme")
    server = _server_keyring(tmp_path, recheck_after=3600).protector("acme")
    assert sealed_version(server.seal("y", "value", "bob")) == 1
    keyring.rotate("acme")  # e.g. `identity datakey rotate acme`
    sealed = keyring.protector("acme").seal("x", "value", "ann")
    # a version it has not seen yet makes the server look at once, however recently it looked
    assert sealed_version(sealed) == 2 and server.open("x", "value", sealed) == "ann"
    assert sealed_version(server.seal("y", "value", "bob")) == 2
    assert server.open("y", "value", server.seal("y", "value", "bob")) == "bob"


def test_cells_sealed_under_two_key_versions_open_in_any_order(tmp_path: Path, keyring: Keyring) -> None:
    """A protector keeps the cipher of the key it last opened with: another version's cell
    opens with its own key, and back again."""
    keyring.ensure("acme")
    protector = _server_keyring(tmp_path, recheck_after=0).protector("acme")
    old = protector.seal("x", "value", "ann")
    keyring.rotate("acme")
    new = protector.seal("y", "value", "bob")
    assert (sealed_version(old), sealed_version(new)) == (1, 2)
    for _ in range(2):
        assert protector.open("x", "value", old) == "ann" and protector.open("y", "value", new) == "bob"
    with pytest.raises(SealedValueError):
        protector.open("y", "value", old)  # the cached cipher still binds the cell


def test_the_hot_path_looks_at_the_ring_file_again_after_recheck_after(tmp_path: Path, keyring: Keyring) -> None:
    keyring.ensure("acme")
    trusting, checking = (_server_keyring(tmp_path, s).protector("acme") for s in (3600, 0))
    for protector in (trusting, checking):
        protector.blind_index(*ANN)
    keyring.rotate("acme")
    assert sealed_version(trusting.seal("x", "value", "ann")) == 1  # within its window
    assert sealed_version(checking.seal("x", "value", "ann")) == 2
    keyring.destroy("acme")
    with pytest.raises(KeysDestroyed):
        checking.blind_index(*ANN)


# -- shredding and purge --------------------------------------------------------------------------

@pytest.fixture
def registry(tmp_path: Path) -> TenantRegistry:
    registry = TenantRegistry(tmp_path).load()
    registry.create_tenant("acme", "eu-west-1")
    registry.create_tenant("globex", "eu-west-1")
    return registry


def test_offboarding_shreds_the_keys(acme: IdentityGraph, keyring: Keyring, registry: TenantRegistry,
                                     tmp_path: Path, g) -> None:
    api_key = auth.issue_key(registry, "acme").record.key_id
    acme.ingest([event("e1", ANN, PHONE, attributes={"plan": "gold"})])
    cells = _sealed_cells(g)
    assert offboard(registry, keyring, "acme") == [api_key]
    assert not registry.key(api_key).active
    with pytest.raises(KeysDestroyed):
        acme.protector.blind_index(*ANN)
    for (element, prop), sealed in cells.items():
        with pytest.raises(KeysDestroyed):
            acme.protector.open(element, prop, sealed)
    assert acme.protector._opener is None  # nor is the cipher of a destroyed key kept
    with pytest.raises(KeysDestroyed):
        acme.resolve(*ANN)
    with pytest.raises(KeysDestroyed):
        acme.ingest([event("e2", BOB)])
    # a fresh process with the same KEK cannot recover anything, nor recreate the ring
    fresh = _keyring(tmp_path)
    with pytest.raises(KeysDestroyed):
        fresh.protector("acme")
    assert fresh.destroyed("acme") and fresh.status("acme").current == 0
    document = json.loads((tmp_path / "keys" / "acme.json").read_text())
    assert set(document) == {"format", "tenant", "destroyed_at"}


@pytest.mark.parametrize("batch", [0, -1, True, 2.5, "10"])
def test_purge_and_reencrypt_refuse_a_batch_that_is_not_a_positive_integer(
        acme: IdentityGraph, keyring: Keyring, g, batch) -> None:
    acme.ingest([event("e1", ANN)])
    keyring.rotate("acme")
    before = _sealed_cells(g)
    with pytest.raises(ValidationError, match="^batch: "):
        reencrypt(g, "acme", keyring.protector("acme"), batch=batch)
    assert _sealed_cells(g) == before
    keyring.destroy("acme")
    with pytest.raises(ValidationError, match="^batch: "):
        purge(g, "acme", keyring=keyring, batch=batch)
    assert g.V().count().next() == 2


def test_purge_refuses_a_tenant_that_still_has_keys(acme: IdentityGraph, keyring: Keyring, g) -> None:
    acme.ingest([event("e1", ANN)])
    with pytest.raises(IdentityError):
        purge(g, "acme", keyring=keyring)
    assert g.V().count().next() == 2


def test_purge_deletes_only_the_tenant_in_resumable_batches(g, keyring: Keyring, registry: TenantRegistry,
                                                            clock) -> None:
    acme = IdentityGraph(g, "acme", protector=keyring.protector("acme"), clock=clock)
    globex = IdentityGraph(g, "globex", protector=keyring.protector("globex"), clock=clock)
    acme.ingest([event(f"e{n}", ANN, ("email", f"u{n}@example.com")) for n in range(3)])
    globex.ingest([event("e1", ANN, PHONE)])
    globex_counts = (g.V().has("tenant", "globex").count().next(), g.E().has("tenant", "globex").count().next())
    acme_counts = (g.V().has("tenant", "acme").count().next(), g.E().has("tenant", "acme").count().next())
    offboard(registry, keyring, "acme")
    first = purge(g, "acme", keyring=keyring, batch=2, max_batches=2)
    assert (first.edges, first.vertices, first.batches) == (4, 0, 2)
    rest = purge(g, "acme", keyring=keyring, batch=2)
    assert (first.edges + rest.edges, rest.vertices) == (acme_counts[1], acme_counts[0])
    assert g.V().has("tenant", "acme").count().next() == 0 and g.E().has("tenant", "acme").count().next() == 0
    assert (g.V().count().next(), g.E().count().next()) == globex_counts
    assert globex.resolve(*PHONE).customer_id


class SkipsWrites(RemoteConnection):
    """Answers every read but leaves out the ``steps`` writes (``drop``, ``property``) wherever
    they are: a stand-in for a graph that does not apply a batch's writes."""

    def __init__(self, inner: RemoteConnection, *steps: str):
        super().__init__(inner.url, inner.traversal_source)
        self.inner, self.steps = inner, steps

    def submit(self, bytecode: Bytecode) -> Any:
        return self.inner.submit(self._without(bytecode))

    def _without(self, bytecode: Bytecode) -> Bytecode:
        kept = Bytecode()
        kept.source_instructions = bytecode.source_instructions
        for name, *args in bytecode.step_instructions:
            if name in self.steps:
                name, args = "identity", []
            kept.step_instructions.append([name, *(self._without(a) if isinstance(a, Bytecode) else a
                                                   for a in args)])
        return kept

    def close(self) -> None:
        self.inner.close()


def test_purge_and_reencrypt_stop_and_say_so_when_a_batch_changes_nothing(keyring: Keyring, registry,
                                                                         clock) -> None:
    # before, a graph that did not apply a batch's writes (as TinkerGraph did not find edges by
    # the ids the purge sent back) kept both loops finding the same batch forever
    connection = gremlin.connect("memory://")
    g = traversal().with_remote(connection)
    acme = IdentityGraph(g, "acme", protector=keyring.protector("acme"), clock=clock)
    acme.ingest([event(f"e{n}", ANN, ("email", f"u{n}@example.com")) for n in range(3)])
    keyring.rotate("acme")
    stuck = traversal().with_remote(SkipsWrites(connection, "property"))
    with pytest.raises(Stalled, match="re-encrypting tenant 'acme' .* made no progress"):
        reencrypt(stuck, "acme", acme.protector, batch=2)
    offboard(registry, keyring, "acme")
    stuck = traversal().with_remote(SkipsWrites(connection, "drop"))
    with pytest.raises(Stalled, match=r"purging tenant 'acme' \(edges\) made no progress"):
        purge(stuck, "acme", keyring=keyring, batch=2)
    assert purge(g, "acme", keyring=keyring).vertices == 7 and g.V().count().next() == 0


# -- KMS -------------------------------------------------------------------------------------------

def test_kms_provider_wraps_the_ring(tmp_path: Path) -> None:
    kms = FakeKms()
    keyring = Keyring(tmp_path / "keys", KmsKeyProvider("alias/identity", client=kms))
    sealed = keyring.protector("acme").seal("x", "value", "ann")
    assert kms.calls.count("encrypt") == 2  # the index secret and data key 1
    contexts = sorted(c["purpose"] for _, c, _ in kms.blobs.values())
    assert contexts == ["data:1", "index"] and {c["tenant"] for _, c, _ in kms.blobs.values()} == {"acme"}
    again = Keyring(tmp_path / "keys", KmsKeyProvider("alias/identity", client=kms))
    assert again.protector("acme").open("x", "value", sealed) == "ann"
    assert json.loads((tmp_path / "keys" / "acme.json").read_text())["kek"] == "kms:alias/identity"


def test_kms_refusals_become_clear_errors(tmp_path: Path) -> None:
    kms = FakeKms()
    provider = KmsKeyProvider("alias/identity", client=kms)
    wrapped = provider.wrap(b"k" * 32, {"tenant": "acme", "purpose": "index"})
    with pytest.raises(KeyProviderError, match="KMS refused"):
        provider.unwrap(wrapped, {"tenant": "globex", "purpose": "index"})  # another tenant's context
    with pytest.raises(KeyProviderError):
        KmsKeyProvider("")


def test_kms_without_boto3_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins
    real_import = builtins.__import__

    def no_boto3(name, *args, **kwargs):
        if name == "boto3":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_boto3)
    with pytest.raises(KeyProviderError, match=r"identity\[kms\]"):
        KmsKeyProvider("alias/identity").wrap(b"k", {"tenant": "acme", "purpose": "index"})


def test_an_unreadable_ring_is_a_clear_error(tmp_path: Path, keyring: Keyring) -> None:
    keyring.ensure("acme")
    (tmp_path / "keys" / "acme.json").write_bytes(b"\0" * 10)
    with pytest.raises(IdentityError, match="unreadable"):
        _keyring(tmp_path).protector("acme")


def test_a_rotation_that_cannot_be_written_changes_nothing(keyring: Keyring, monkeypatch: pytest.MonkeyPatch) -> None:
    protector = keyring.protector("acme")
    import identity.security.keys.keyring as keyring_module

    def disk_full(path: Path, text: str) -> None:
        raise OSError("no space left on device")

    monkeypatch.setattr(keyring_module, "write_private", disk_full)
    with pytest.raises(OSError):
        keyring.rotate("acme")
    assert sealed_version(protector.seal("x", "value", "ann")) == 1 and keyring.current_version("acme") == 1
