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
