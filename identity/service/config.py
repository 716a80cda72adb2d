"""Service configuration: defaults < TOML file < ``IDENTITY_*`` environment < command line.

The file is TOML with flat keys named like the fields of ``Config``::

    host = "0.0.0.0"
    port = 8080
    data_dir = "/var/lib/identity"
    graph_url = "ws://neptune.example:8182/gremlin?auth=iam"
    max_body_bytes = 1048576
    rate_per_second = 100

    [regions.eu-west-1]                      # data residency: one graph per home region
    writer = "wss://eu-cluster.example:8182/gremlin"
    reader = "wss://eu-cluster-ro.example:8182/gremlin"   # optional

    [tenants.acme.guards]                    # a tenant's guard settings (TenantConfig fields)
    generic_threshold = 30
    type_limits = {partner_id = 1, email = 3}

``[tenants.NAME.guards]`` sets a tenant's guard settings (identity.service.settings; the API's changes,
kept in the tenant registry, go on top of them). Without ``[regions]`` one region (``local``) serves every tenant from ``graph_url`` (and
``graph_reader_url``). Every flat field has an environment override named ``IDENTITY_`` + the upper-cased field name
(``IDENTITY_PORT=9000``), and ``IDENTITY_CONFIG`` names the file when ``--config`` is absent.
"""

from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import parse_qs, urlsplit

from ..base.errors import ConfigError, ValidationError
from ..graph.regions import DEFAULT_REGION, Region, RegionRouter
from ..graph.resilience import RetryPolicy
from ..security.keys import Keyring, KeyProvider, KmsKeyProvider, LocalKeyFileProvider
from ..security.tenants import TENANT_ID_PATTERN
from .settings import check_settings, config_with

__all__ = ["Config", "load_config", "keyring_for", "ENV_PREFIX", "KEK_FILE", "KEYS_DIR"]

ENV_PREFIX = "IDENTITY_"
#: In the data directory: the local KEK file (without KMS) and the tenants' key rings.
KEK_FILE = "kek.key"
KEYS_DIR = "keys"

try:
    import tomllib
except ImportError:  # Python < 3.11: environment and flags still work
    tomllib = None  # type: ignore[assignment]


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: str = "./data"
    #: Empty: the durable embedded graph, ``file://<data_dir>/graph``.
    graph_url: str = ""
    #: A read replica of ``graph_url`` for resolve and stats (empty: read from the writer).
    graph_reader_url: str = ""
    #: MiB the embedded durable graph (file://) keeps in memory, its cache of records and pages;
    #: 0: the graph's default (gremlin.disk_store.DEFAULT_CACHE_MB). A URL's own ``cache_mb``
    #: parameter wins.
    graph_cache_mb: float = 0.0
    #: Regions and their graphs (from the ``[regions.NAME]`` tables); empty: one region,
    #: ``local``, on ``graph_url`` serving every tenant.
    regions: tuple[Region, ...] = ()
    #: (tenant, guard settings) from the ``[tenants.NAME.guards]`` tables: each tenant's
    #: TenantConfig fields, under what the API changes (identity.service.settings).
    tenants: tuple[tuple[str, Mapping[str, Any]], ...] = ()
    #: A request's work (every call of a batch, graph retries included) ends after this many seconds.
    request_timeout: float = 10.0
    #: Attempts per graph request (1: no retries), with exponential backoff and jitter.
    graph_attempts: int = 4
    #: A graph endpoint's circuit opens after this many consecutive failed requests ...
    circuit_threshold: int = 5
    #: ... and lets a trial request through after this many seconds.
    circuit_reset_after: float = 10.0
    #: The Gremlin endpoint for console exploration (in-process graphs only); port 0 picks a free one.
    #: Clients authenticate with a tenant and one of its API keys (docs/security.md).
    gremlin_enabled: bool = True
    gremlin_host: str = "127.0.0.1"
    gremlin_port: int = 8182
    #: A console traversal's evaluationTimeout, default and cap (ms; clients may only lower it) ...
    gremlin_timeout_ms: int = 30_000
    #: ... what one that reads may allocate in its own process beyond the graph (MiB) ...
    gremlin_memory_mb: int = 1024
    #: ... and how long one that writes (operator keys only) may hold the graph (ms).
    gremlin_write_timeout_ms: int = 1_000
    #: Largest request body: 413 beyond (read and discarded up to four times this, so the client
    #: reads its 413; beyond, the connection is closed).
    max_body_bytes: int = 1024 * 1024
    #: Largest request head (request line and headers): 431 beyond (beyond 16 times this, the
    #: connection is closed unanswered).
    max_header_bytes: int = 16 * 1024
    #: Seconds a client may take to send a request's head (or stay idle between requests) ...
    header_timeout: float = 10.0
    #: ... and its body, before the connection is closed.
    body_timeout: float = 30.0
    #: Largest JSON-RPC batch, and most events in one ``ingest`` call.
    max_batch: int = 1000
    #: Per-tenant token bucket, in cost units (one resolve is 1; identity.service.rpc.methods says what
    #: each call costs); 0 disables rate limiting.
    rate_per_second: float = 500.0
    rate_burst: float = 1000.0
    #: The most one request may cost (the sum of its calls' costs), in the same units: a costlier
    #: one is refused before any of it runs.
    max_request_cost: int = 10_000
    #: Calls of one tenant that run at once (more wait their turn, within their deadline), and
    #: requests of one tenant open at once, running or waiting (more get 429): one tenant cannot
    #: take every worker.
    tenant_concurrency: int = 2
    tenant_queue: int = 16
    #: The most resolves of one tenant walked as one: when a resolve's turn comes, resolves with
    #: the same options already waiting for theirs run with it (identity.service.rpc.service; 1:
    #: each alone). Nothing waits for more to come.
    resolve_together: int = 8
    #: The most ingest calls of one tenant written as one group: when an ingest's turn comes, the
    #: ingests already waiting for theirs run with it, in its slot and one worker, their events
    #: read once and written together (identity.service.rpc.service; 1: each alone, though
    #: concurrent calls still share the tenant's writer: identity.graph.group_commit). Each call
    #: keeps its price, its deadline and its own answer or error. Nothing waits for more to come.
    ingest_together: int = 4
    #: On SIGTERM/SIGINT, how long in-flight requests may finish.
    grace_period: float = 10.0
    #: Threads running graph work.
    workers: int = 8
    #: Create the ``dev`` tenant and print an admin key on first start.
    dev_tenant: bool = True
    log_level: str = "INFO"
    #: AWS KMS key (id, ARN or alias) wrapping the tenants' key rings; empty: a local key file,
    #: ``<data_dir>/kek.key``, created on first start.
    kms_key_id: str = ""
    kms_region: str = ""
    #: The KEK that wrapped the key rings before a KEK change: ``local`` (``<data_dir>/kek.key``)
    #: or ``kms:<key id>``. Rings it wraps keep opening; ``identity datakey rewrap`` moves them.
    previous_kek: str = ""

    @property
    def resolved_graph_url(self) -> str:
        return self.with_cache(self.graph_url or f"file://{Path(self.data_dir).resolve() / 'graph'}")

    def with_cache(self, url: str) -> str:
        """``url`` with ``graph_cache_mb`` as its ``cache_mb`` when it names an embedded durable
        graph that does not set one."""
        parts = urlsplit(url)
        if parts.scheme != "file" or not self.graph_cache_mb or "cache_mb" in parse_qs(parts.query):
            return url
        query = f"{parts.query}&" if parts.query else ""
        return parts._replace(query=f"{query}cache_mb={self.graph_cache_mb:g}").geturl()

    def local_paths(self) -> tuple[Path, ...]:
        """The directories this deployment keeps data in on this host: the data directory and
        every graph given as a ``file://`` URL (identity.security.files.require_private checks them)."""
        urls = [self.resolved_graph_url, *(url for region in self.regions for url in (region.writer, region.reader))]
        graphs = [Path(urlsplit(url).path) for url in urls if urlsplit(url).scheme == "file"]
        return tuple(dict.fromkeys([Path(self.data_dir), *graphs]))

    def region_router(self) -> RegionRouter:
        """The graphs this deployment serves, by region."""
        # a graph server's connection pool as large as the worker pool: every worker that sends
        # a request has a connection to send it on (gremlinpython's default is 8 whatever the
        # workers); in-process graphs take no driver options
        options = {"policy": RetryPolicy(attempts=self.graph_attempts), "breaker_threshold": self.circuit_threshold,
                   "breaker_reset_after": self.circuit_reset_after, "pool_size": self.workers}
        if self.regions:
            regions = [dataclasses.replace(region, writer=self.with_cache(region.writer),
                                           reader=self.with_cache(region.reader)) for region in self.regions]
            return RegionRouter(regions, **options)
        return RegionRouter((), fallback=Region(DEFAULT_REGION, self.resolved_graph_url, self.graph_reader_url),
                            **options)

    def tenant_guards(self) -> dict[str, dict[str, Any]]:
        """Tenant -> its ``[tenants.NAME.guards]`` settings, parsed (identity.service.settings)."""
        return {tenant: check_settings(dict(guards)) for tenant, guards in self.tenants}

    def replace(self, **changes: Any) -> "Config":
        return dataclasses.replace(self, **changes)


def load_config(path: str | os.PathLike | None = None, *, env: Mapping[str, str] | None = None,
                overrides: Mapping[str, Any] | None = None) -> Config:
    """The effective configuration. ``overrides`` (command-line values) skip None entries."""
    env = os.environ if env is None else env
    path = path or env.get(f"{ENV_PREFIX}CONFIG") or None
    values: dict[str, Any] = {}
    if path:
        values.update(_from_file(Path(path)))
    values.update(_from_env(env))
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    config = Config(**values)
    _check(config)
    return config


def _types() -> dict[str, type]:
    defaults = Config()
    return {f.name: type(getattr(defaults, f.name)) for f in fields(Config)}


def _from_file(path: Path) -> dict[str, Any]:
    if tomllib is None:
        raise ConfigError(f"{path}: configuration files need Python 3.11 or later (tomllib)")
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such configuration file") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: not valid TOML ({error})") from None
    types = _types()
    values: dict[str, Any] = {}
    for key, value in document.items():
        if key == "regions":
            values[key] = _regions(value, f"{path}: regions")
        elif key == "tenants":
            values[key] = _tenants(value, f"{path}: tenants")
        elif key not in types:
            raise ConfigError(f"{path}: unknown setting {key!r} (known: {', '.join(sorted(types))})")
        else:
            values[key] = _coerce(value, types[key], f"{path}: {key}")
    return values


def _regions(tables: Any, where: str) -> tuple[Region, ...]:
    if not isinstance(tables, dict):
        raise ConfigError(f"{where}: expected tables [regions.NAME] with writer and reader")
    regions = []
    for name, table in tables.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{where}.{name}: expected a table with writer and reader")
        unknown = set(table) - {"writer", "reader"}
        if unknown:
            raise ConfigError(f"{where}.{name}: unknown setting(s) {', '.join(sorted(unknown))} "
                              "(known: reader, writer)")
        try:
            regions.append(Region(name, table.get("writer", ""), table.get("reader", "")))
        except ValueError as error:
            raise ConfigError(f"{where}.{name}: {error}") from None
    return tuple(regions)


def _tenants(tables: Any, where: str) -> tuple[tuple[str, Mapping[str, Any]], ...]:
    if not isinstance(tables, dict):
        raise ConfigError(f"{where}: expected tables [tenants.NAME.guards]")
    tenants = []
    for name, table in tables.items():
        if not re.match(TENANT_ID_PATTERN, name):
            raise ConfigError(f"{where}.{name}: a tenant id must match {TENANT_ID_PATTERN}")
        if not isinstance(table, dict) or set(table) - {"guards"}:
            raise ConfigError(f"{where}.{name}: expected only a [tenants.{name}.guards] table")
        guards = table.get("guards", {})
        try:
            config_with(check_settings(guards, where="guards"))
        except ValidationError as invalid:  # names the field and rule, never a value
            raise ConfigError(f"{where}.{name}.{invalid.field}: {invalid.reason}") from None
        tenants.append((name, guards))
    return tuple(tenants)


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name, kind in _types().items():
        if kind is tuple:  # [regions] and [tenants] come from the file only
            continue
        raw = env.get(ENV_PREFIX + name.upper())
        if raw is not None:
            values[name] = _coerce(raw, kind, ENV_PREFIX + name.upper())
    return values


def _coerce(value: Any, kind: type, where: str) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.strip().lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{where}: expected true or false")
    if kind in (int, float):
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected a number")
        try:
            return kind(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected {'an integer' if kind is int else 'a number'}") from None
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected a string")
    return value


def _check(config: Config) -> None:
    if not 0 <= config.port <= 65535 or not 0 <= config.gremlin_port <= 65535:
        raise ConfigError("port and gremlin_port must be between 0 and 65535")
    for name in ("max_body_bytes", "max_header_bytes", "max_batch", "workers", "graph_attempts", "circuit_threshold",
                 "max_request_cost", "tenant_concurrency", "tenant_queue", "resolve_together",
                 "ingest_together",
                 "gremlin_timeout_ms", "gremlin_memory_mb", "gremlin_write_timeout_ms"):
        if getattr(config, name) < 1:
            raise ConfigError(f"{name} must be at least 1")
    for name in ("request_timeout", "circuit_reset_after", "header_timeout", "body_timeout"):
        if getattr(config, name) <= 0:
            raise ConfigError(f"{name} must be positive")
    if config.previous_kek and not (config.previous_kek == "local" or
                                    (config.previous_kek.startswith("kms:") and len(config.previous_kek) > 4)):
        raise ConfigError("previous_kek must be 'local' or 'kms:<key id>'")
    if config.rate_per_second < 0 or config.grace_period < 0 or config.graph_cache_mb < 0:
        raise ConfigError("rate_per_second, grace_period and graph_cache_mb must not be negative")


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
