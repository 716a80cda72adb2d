"""Tenant guard settings (identity.service.settings): every TenantConfig field round-trips through JSON and
the config file, changes are validated whole, versioned and kept in the tenant registry."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from identity import TenantConfig, ValidationError
from identity.base.errors import ConfigError
from identity.security.tenants import StaleVersion, TenantRegistry
from identity.service.settings import SETTABLE, GuardSettings, check_settings, config_with, settings_document
from tests.config_files import load_toml, needs_tomllib


def test_every_tenant_config_field_is_settable() -> None:
    """A field added to TenantConfig is settable with no change to identity.service.settings, if its type
    is one the settings know (else this fails and names it)."""
    assert set(SETTABLE) == {f.name for f in dataclasses.fields(TenantConfig)}
    assert [name for name, kind in SETTABLE.items() if kind[0] == "unsupported"] == []


def test_the_defaults_round_trip_through_json() -> None:
    document = settings_document(TenantConfig())
    assert config_with(check_settings(document)) == TenantConfig()
    changed = {**document, "weak_types": ["ip"], "type_limits": {"email": 2}, "generic_threshold": 9,
               "blocked_values": {"email": ["x@example.com"]}, "type_priority": ["email", "phone"]}
    config = config_with(check_settings(changed))
    assert settings_document(config) == {**changed, "type_priority": ["email", "phone"]}
    assert config.weak_types == frozenset({"ip"}) and config.type_priority == ("email", "phone")


@pytest.mark.parametrize("settings, field", [
    ({"colour": 1}, "settings.colour"),
    ({"max_hops": "3"}, "settings.max_hops"),
    ({"max_hops": True}, "settings.max_hops"),
    ({"weak_types": "ip"}, "settings.weak_types"),
    ({"type_limits": {"email": "many"}}, "settings.type_limits.email"),
    ({"weak_types": ["shoe_size"]}, "settings"),  # TenantConfig's own rule
    ({"generic_threshold": 0}, "settings"),
    ({"reused_types": ["email"]}, "settings"),  # shareable already: reused_types names strong types of no other rule
    ({"blocked_patterns": {"email": ["(unclosed"]}}, "settings.blocked_patterns.email"),
])
def test_invalid_settings_name_the_field_never_the_value(settings: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        config_with(check_settings(settings))
    assert caught.value.field == field
    assert "unclosed" not in str(caught.value) and "many" not in str(caught.value)


def test_changes_are_versioned_kept_in_the_registry_and_layered_over_the_file(tmp_path: Path) -> None:
    registry = TenantRegistry(tmp_path).load()
    registry.create_tenant("acme", "local")
    settings = GuardSettings(registry, {"acme": check_settings({"generic_threshold": 30, "max_hops": 2})})
    assert settings.config_for("acme") == TenantConfig(generic_threshold=30, max_hops=2)
    described = settings.change("acme", {"max_hops": 4, "type_limits": {"email": 2}}, version=0)
    assert (described["version"], described["configured"], described["changed"]) == (
        1, ["generic_threshold", "max_hops"], ["max_hops", "type_limits"])
    assert settings.config_for("acme") == TenantConfig(generic_threshold=30, max_hops=4, type_limits={"email": 2})
    with pytest.raises(StaleVersion):
        settings.change("acme", {"max_hops": 5}, version=0)
    with pytest.raises(ValidationError):
        settings.change("acme", {"max_hops": -1})
    assert settings.change("acme", {"max_hops": None})["version"] == 2  # back to the file's value
    # a restart (a new registry on the same directory) keeps them; another process sees them
    restarted = GuardSettings(TenantRegistry(tmp_path).load(), {"acme": check_settings({"generic_threshold": 30})})
    assert restarted.config_for("acme") == TenantConfig(generic_threshold=30, type_limits={"email": 2})
    restarted.change("acme", {"generic_threshold": 12})
    assert settings.config_for("acme").generic_threshold == 12  # read again: the file changed


@needs_tomllib
def test_the_config_file_sets_a_tenants_guards(tmp_path: Path) -> None:
    config = load_toml(tmp_path, '[tenants.acme.guards]\ngeneric_threshold = 30\nweak_types = ["ip"]\n'
                       'type_limits = {partner_id = 1, email = 3}\n')
    assert config_with(config.tenant_guards()["acme"]) == TenantConfig(
        generic_threshold=30, weak_types=frozenset({"ip"}), type_limits={"partner_id": 1, "email": 3})
    with pytest.raises(ConfigError, match=r"tenants\.acme\.guards\.max_hops: must be an integer"):
        load_toml(tmp_path, '[tenants.acme.guards]\nmax_hops = "three"\n')
    with pytest.raises(ConfigError, match="guards"):
        load_toml(tmp_path, '[tenants.acme.colours]\nmax_hops = 3\n')


def test_a_change_applies_to_the_next_call_without_a_new_identity_graph(make_identity, tmp_path: Path) -> None:
    registry = TenantRegistry(tmp_path).load()
    registry.create_tenant("acme", "local")
    settings = GuardSettings(registry)
    identity = make_identity(config=settings.source("acme"))
    pager = {"type": "signup", "identifiers": [{"type": "email", "value": "pager@example.com"}]}
    assert identity.ingest([{**pager, "event_id": "e1"}])[0].refused == []
    settings.change("acme", {"blocked_values": {"email": ["pager@example.com"]}})
    [result] = identity.ingest([{**pager, "event_id": "e2"}])
    assert [r["reason"] for r in result.refused] == ["blocked"] and result.customer_id is None
    assert identity.resolve("email", "pager@example.com") is not None  # what was stored stays


class _CountingSource:
    """A settings source (what IdentityGraph(config=...) takes) that counts its reads."""

    def __init__(self, source):
        self.source, self.reads = source, 0

    def __call__(self) -> TenantConfig:
        self.reads += 1
        return self.source()


def _ann_with_three_identifiers(identity) -> None:
    """Each of ann's four identifiers is linked to the three others (generic under a threshold of 2)."""
    identity.ingest([{"type": "login", "event_id": "e1", "identifiers": [
        {"type": "email", "value": "ann@example.com"}, {"type": "phone", "value": "+14155550101"},
        {"type": "device_id", "value": "kiosk-1"}, {"type": "cookie", "value": "ck-1"}]}])


@pytest.mark.parametrize("call", ["ingest", "resolve", "resolve_many", "explain", "unlink", "forget", "export"])
def test_a_call_reads_the_tenants_settings_once(make_identity, tmp_path: Path, call: str) -> None:
    registry = TenantRegistry(tmp_path).load()
    registry.create_tenant("acme", "local")
    source = _CountingSource(GuardSettings(registry).source("acme"))
    identity = make_identity(config=source)
    _ann_with_three_identifiers(identity)
    source.reads = 0
    ann, kiosk = ("email", "ann@example.com"), ("device_id", "kiosk-1")
    {"ingest": lambda: identity.ingest([{"type": "login", "event_id": "e9", "identifiers": [
         {"type": "email", "value": "bob@example.com"}, {"type": "cookie", "value": "ck-1"}]}]),
     "resolve": lambda: identity.resolve(*ann),
     "resolve_many": lambda: identity.resolve_many([{"type": t, "value": v} for t, v in (ann, kiosk)]),
     "explain": lambda: identity.explain(ann, ("cookie", "ck-1")),
     "unlink": lambda: identity.unlink(ann, kiosk),
     "forget": lambda: identity.forget("customer", identity.resolve(*ann).customer_id),
     "export": lambda: identity.export(*ann)}[call]()
    assert source.reads == (2 if call == "forget" else 1)  # forget's customer id: one resolve first


@pytest.mark.parametrize("call", ["resolve", "resolve_many"])
def test_a_settings_change_during_a_call_is_not_seen_half_way(make_identity, tmp_path: Path, monkeypatch,
                                                                call: str) -> None:
    registry = TenantRegistry(tmp_path).load()
    registry.create_tenant("acme", "local")
    settings = GuardSettings(registry)
    identity = make_identity(config=settings.source("acme"))
    _ann_with_three_identifiers(identity)

    def answer():
        if call == "resolve":
            return identity.resolve("email", "ann@example.com").to_dict()
        return identity.resolve_many([{"type": "email", "value": "ann@example.com"}])[0].to_dict()

    before = answer()
    assert len(before["identifiers"]) == 4 and not any(
        found["generic"] for listed in before["identifiers"].values() for found in listed)
    # an operator makes ann's identifiers generic while the call's walk is on its way to the graph
    import identity.domain.tenant_graph as tenant_graph
    walk = tenant_graph.submit

    def submit_after_a_change(traversal):
        monkeypatch.setattr(tenant_graph, "submit", walk)
        settings.change("acme", {"generic_threshold": 2})
        return walk(traversal)

    monkeypatch.setattr(tenant_graph, "submit", submit_after_a_change)
    assert answer() == before  # walked and answered under the settings the call found
    after = answer()  # the next call, under the change: a generic start answers for itself
    assert after["identifiers"] == {"email": [{"value": "ann@example.com", "hops": 0, "generic": True}]}


@needs_tomllib
def test_the_config_file_and_the_api_set_reused_types(tmp_path: Path) -> None:
    config = load_toml(tmp_path, '[tenants.acme.guards]\nreused_types = ["payment_fingerprint"]\n')
    assert config_with(config.tenant_guards()["acme"]).reused_types == frozenset({"payment_fingerprint"})
    registry = TenantRegistry(tmp_path / "registry").load()
    registry.create_tenant("acme", "local")
    settings = GuardSettings(registry, config.tenant_guards())
    settings.change("acme", {"reused_types": ["payment_fingerprint", "phone"]})
    assert settings.config_for("acme").reused_types == frozenset({"payment_fingerprint", "phone"})
    assert settings_document(settings.config_for("acme"))["reused_types"] == ["payment_fingerprint", "phone"]
