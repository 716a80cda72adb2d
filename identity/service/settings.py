"""Per-tenant guard settings: a tenant's TenantConfig, from three layers, changed without a restart.

    defaults (TenantConfig)  <  [tenants.NAME.guards] in the config file  <  tenant.guards.set (the API)

The API's changes are kept in the tenant registry (``tenants.json``, beside the tenant's keys),
versioned: each change adds one to the tenant's version, and a change that names the version it
read is refused (Conflict) when another change came first. Every process reading the registry
picks a change up on its next call (TenantRegistry.refresh: one stat of the file). What a change
does to customers already in the graph: docs/data-model.md ("Changing a tenant's guards").

Settings travel as JSON (the API) or TOML (the file) by TenantConfig's own field names and types,
read from its annotations, so a field added to TenantConfig is settable with no change here:
strings, booleans, integers, numbers, sets and lists of strings (``frozenset[str]``,
``tuple[str, ...]``) and maps from strings to those (``dict[str, tuple[str, ...]]``,
``dict[str, int]``). Values are PII at worst (blocked values): errors name fields and rules only,
and the audit log names the fields changed, never their values.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import threading
import typing
from typing import Any, Callable, Mapping

from ..base.errors import ValidationError
from ..domain.guards import TenantConfig

__all__ = ["GuardSettings", "settings_document", "config_with", "check_settings", "SETTABLE"]

log = logging.getLogger("identity.settings")


def _kind(annotation: Any) -> tuple:
    """A TenantConfig field's type as (container, item type, value type)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is None:
        return ("scalar", annotation)
    if origin in (frozenset, tuple) and args and args[0] is str and (origin is frozenset or args[1:] in ((...,), ())):
        return (origin.__name__, str)
    if origin is dict and args[0] is str:
        return ("dict", _kind(args[1]))
    return ("unsupported", annotation)


#: Field name -> its kind, for every TenantConfig field (tests/identity/test_settings.py checks
#: that each one is settable).
SETTABLE: dict[str, tuple] = {name: _kind(annotation)
                              for name, annotation in typing.get_type_hints(TenantConfig).items()
                              if name in {f.name for f in dataclasses.fields(TenantConfig)}}

_SCALARS = {str: "a string", bool: "true or false", int: "an integer", float: "a number"}


def _parsed(value: Any, kind: tuple, where: str) -> Any:
    """``value`` (JSON or TOML) as the field's Python type; ValidationError naming ``where``."""
    container = kind[0]
    if container == "scalar":
        expected = kind[1]
        ok = isinstance(value, expected) and not (expected is not bool and isinstance(value, bool))
        if expected is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not ok:
            raise ValidationError(where, f"must be {_SCALARS.get(expected, expected)}")
        return value
    if container in ("frozenset", "tuple"):
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValidationError(where, "must be a list of strings")
        return frozenset(value) if container == "frozenset" else tuple(value)
    if container == "dict":
        if not isinstance(value, dict):
            raise ValidationError(where, "must be an object")
        return {str(key): _parsed(item, kind[1], f"{where}.{key}") for key, item in value.items()}
    raise ValidationError(where, "cannot be set")


def _plain(value: Any) -> Any:
    """A field's value as JSON: sets sorted into lists, tuples as lists."""
    if isinstance(value, frozenset):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in sorted(value.items())}
    return value


def settings_document(config: TenantConfig) -> dict[str, Any]:
    """Every field of ``config`` as JSON."""
    return {name: _plain(getattr(config, name)) for name in SETTABLE}


def check_settings(settings: Any, where: str = "settings") -> dict[str, Any]:
    """``settings`` (field name -> JSON value) as TenantConfig field values; ValidationError for
    an unknown field or a value of the wrong type (``None`` values are kept: "unset")."""
    if not isinstance(settings, dict):
        raise ValidationError(where, "must be an object of TenantConfig fields")
    parsed: dict[str, Any] = {}
    for name, value in settings.items():
        if name not in SETTABLE:
            raise ValidationError(f"{where}.{name}", "is not a guard setting (see tenant.guards.get)")
        parsed[name] = None if value is None else _parsed(value, SETTABLE[name], f"{where}.{name}")
    return parsed


def config_with(*layers: Mapping[str, Any], where: str = "settings") -> TenantConfig:
    """TenantConfig's defaults overridden by each layer of parsed settings in turn (check_settings);
    ValidationError when the result breaks one of TenantConfig's rules."""
    values: dict[str, Any] = {}
    for layer in layers:
        values.update({name: value for name, value in layer.items() if value is not None})
    for name, patterns in values.get("blocked_patterns", {}).items():
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error:
                raise ValidationError(f"{where}.blocked_patterns.{name}", "holds an invalid regular expression") \
                    from None
    try:
        return TenantConfig(**values)
    except (ValueError, TypeError) as invalid:  # the message names fields and types, never values
        raise ValidationError(where, str(invalid)) from None


class GuardSettings:
    """Each tenant's TenantConfig: the config file's layer (``configured``: tenant -> parsed
    settings) under the registry's (TenantRegistry.guards). ``config_for`` is what an
    IdentityGraph reads once per call (identity.domain.tenant_graph.TenantGraph.pinned)."""

    def __init__(self, registry: Any, configured: Mapping[str, Mapping[str, Any]] | None = None):
        self.registry = registry
        self.configured = {tenant: dict(layer) for tenant, layer in (configured or {}).items()}
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[Any, TenantConfig]] = {}

    def config_for(self, tenant: str) -> TenantConfig:
        record = self.registry.guards(tenant)
        key = (record.version, record.changed_at)
        with self._lock:
            cached = self._cache.get(tenant)
            if cached is not None and cached[0] == key:
                return cached[1]
        config = config_with(self.configured.get(tenant, {}), check_settings(record.settings))
        with self._lock:
            self._cache[tenant] = (key, config)
        return config

    def source(self, tenant: str) -> Callable[[], TenantConfig]:
        """What IdentityGraph(config=...) takes: the tenant's current settings, read at each call's start."""
        return functools.partial(self.config_for, tenant)

    def describe(self, tenant: str) -> dict[str, Any]:
        record = self.registry.guards(tenant)
        return {"tenant": tenant, "version": record.version, "changed_at": record.changed_at,
                "settings": settings_document(self.config_for(tenant)),
                "configured": sorted(self.configured.get(tenant, {})), "changed": sorted(record.settings)}

    def change(self, tenant: str, settings: Any, *, version: int | None = None, actor: str = "") -> dict[str, Any]:
        """Apply ``settings`` (field -> JSON value, or null to drop the API's value) on top of the
        tenant's stored changes, checked whole before anything is stored (ValidationError); a
        ``version`` other than the stored one is refused (StaleVersion). Audited without values."""
        check_settings(settings)

        def merged(stored: Mapping[str, Any]) -> dict[str, Any]:
            kept = {name: value for name, value in {**stored, **settings}.items() if value is not None}
            config_with(self.configured.get(tenant, {}), check_settings(kept))  # refused before it is stored
            return kept

        record = self.registry.set_guards(tenant, merged, expected_version=version)
        log.info("tenant %s guard settings are version %d (by key %s): changed %s", tenant, record.version,
                 actor or "-", ", ".join(sorted(settings)) or "nothing")
        return self.describe(tenant)
