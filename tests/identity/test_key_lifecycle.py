"""The end of a key's life: retiring a data-key version after re-encryption, and moving key
rings to a new key-encryption key (local file to KMS, one KMS key to another)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from identity import IdentityGraph
from identity.base.errors import ConfigError, IdentityError
from identity.security.keys import Keyring, KeyProviderError, KmsKeyProvider, LocalKeyFileProvider
from identity.security.keys.keyring import RETIRE_AFTER_S
from identity.security.protect import SealedValueError
from identity.service.config import Config, keyring_for, load_config
from identity.service.reencrypt import cells_sealed_with, reencrypt, retire_data_key

from fakes import FakeKms
from identity_helpers import event

ANN = ("email", "ann@example.com")


@pytest.fixture
def keyring(tmp_path: Path, clock) -> Keyring:
    return Keyring(tmp_path / "keys", LocalKeyFileProvider(tmp_path / "kek.key", create=True), clock=clock)


@pytest.fixture
def acme(g, keyring: Keyring, clock) -> IdentityGraph:
    return IdentityGraph(g, "acme", protector=keyring.protector("acme"), clock=clock)


def _sealed_value(g, identity: IdentityGraph, identifier: tuple[str, str]) -> str:
    return g.V(identity.vertex_id(*identifier)).values("value").next()


def test_a_version_is_retired_only_when_no_cell_uses_it_and_then_nothing_it_sealed_opens(
        acme: IdentityGraph, keyring: Keyring, g, clock) -> None:
    acme.ingest([event("e1", ANN, attributes={"plan": "gold"})])
    old_cell = _sealed_value(g, acme, ANN)
    keyring.rotate("acme")
    clock.now += RETIRE_AFTER_S
    assert cells_sealed_with(g, "acme", 1) == 2  # the email's value and the event's attributes
    with pytest.raises(IdentityError, match="2 cells .* still sealed with data key version 1"):
        retire_data_key(g, keyring, "acme", 1)
    assert keyring.status("acme").versions.keys() == {1, 2}

    reencrypt(g, "acme", acme.protector)
    retire_data_key(g, keyring, "acme", 1)
    assert keyring.status("acme").versions.keys() == {2}
    assert acme.resolve(*ANN).identifiers["email"][0]["value"] == "ann@example.com"
    # a copy made before the re-encryption (a backup) no longer opens
    with pytest.raises(SealedValueError):
        acme.protector.open(acme.vertex_id(*ANN), "value", old_cell)
    assert keyring.rotate("acme") == 3  # a retired version number is never used again


def test_retiring_the_current_an_unknown_or_a_just_replaced_version_is_refused(
        acme: IdentityGraph, keyring: Keyring, g, clock) -> None:
    with pytest.raises(IdentityError, match="current one"):
        retire_data_key(g, keyring, "acme", 1)
    with pytest.raises(IdentityError, match="no data key version 7"):
        keyring.retire("acme", 7)
    keyring.rotate("acme")
    clock.now += RETIRE_AFTER_S - 1  # a server may not have seen the rotation yet
    with pytest.raises(IdentityError, match="less than"):
        keyring.retire("acme", 1)
    clock.now += 1
    keyring.retire("acme", 1)
    with pytest.raises(IdentityError, match="no key ring"):
        keyring.retire("globex", 1)


def test_rewrap_moves_a_ring_to_kms_without_changing_any_secret(
        tmp_path: Path, acme: IdentityGraph, keyring: Keyring, g, clock) -> None:
    acme.ingest([event("e1", ANN, attributes={"plan": "gold"})])
    keyring.rotate("acme")
    vertex_ids = sorted(g.V().id_().to_list())
    kms = FakeKms()
    moving = Keyring(tmp_path / "keys", KmsKeyProvider("alias/identity", client=kms), previous=(keyring.provider,))
    # while the change rolls out, rings still wrapped by the local KEK open
    assert moving.protector("acme").open(acme.vertex_id(*ANN), "value", _sealed_value(g, acme, ANN)) \
        == "ann@example.com"
    assert moving.rewrap("acme") is True
    document = json.loads((tmp_path / "keys" / "acme.json").read_text())
    assert document["kek"] == "kms:alias/identity" and sorted(document["data_keys"]) == ["1", "2"]
    assert moving.rewrap("acme") is False

    only_kms = IdentityGraph(g, "acme", protector=Keyring(
        tmp_path / "keys", KmsKeyProvider("alias/identity", client=kms)).protector("acme"), clock=clock)
    assert only_kms.vertex_id(*ANN) == acme.vertex_id(*ANN)  # the blind index did not change
    assert only_kms.resolve(*ANN).identifiers["email"][0]["value"] == "ann@example.com"
    assert only_kms.export(*ANN)["events"][0]["attributes"] == {"plan": "gold"}
    assert sorted(g.V().id_().to_list()) == vertex_ids
    with pytest.raises(KeyProviderError, match="wrapped by kms:alias/identity"):
        Keyring(tmp_path / "keys", LocalKeyFileProvider(tmp_path / "kek.key")).protector("acme").seal("x", "value", "a")


def test_a_ring_wrapped_by_neither_kek_is_a_clear_error(tmp_path: Path, keyring: Keyring) -> None:
    keyring.ensure("acme")
    stranger = Keyring(tmp_path / "keys", KmsKeyProvider("alias/other", client=FakeKms()),
                       previous=(KmsKeyProvider("alias/older", client=FakeKms()),))
    with pytest.raises(KeyProviderError, match="wrapped by local:"):
        stranger.rewrap("acme")


def test_previous_kek_is_configured_as_local_or_a_kms_key(tmp_path: Path) -> None:
    config = load_config(env={}, overrides={"data_dir": str(tmp_path), "previous_kek": "local"})
    Keyring(tmp_path / "keys", LocalKeyFileProvider(tmp_path / "kek.key", create=True)).ensure("acme")
    moving = keyring_for(config.replace(kms_key_id="alias/identity"))
    assert moving.provider.name == "kms:alias/identity"
    assert [p.name for p in moving.previous] == [LocalKeyFileProvider(tmp_path / "kek.key").name]
    again = keyring_for(config.replace(previous_kek="kms:alias/older"))
    assert [p.name for p in again.previous] == ["kms:alias/older"]
    for wrong in ("kms:", "file", "aws:alias/x"):
        with pytest.raises(ConfigError, match="previous_kek"):
            load_config(env={}, overrides={"data_dir": str(tmp_path), "previous_kek": wrong})
    assert keyring_for(Config(data_dir=str(tmp_path))).previous == ()


def test_tenants_lists_the_rings_only(tmp_path: Path, keyring: Keyring) -> None:
    keyring.ensure("acme")
    keyring.ensure("globex")
    keyring.destroy("globex")
    (tmp_path / "keys" / "notes.txt").write_text("x")
    assert keyring.tenants() == ["acme", "globex"]
