"""The ``identity`` command (also ``python -m identity``).

    identity serve [--host H] [--port P] [--graph-url URL] [--cache-mb N] [--data-dir DIR] [--config FILE]
    identity tenant create NAME --region REGION
    identity tenant list
    identity tenant offboard NAME --yes      # crypto-shred: destroy its keys, revoke its API keys
    identity tenant purge NAME [--batch N]   # then delete its graph elements in batches
    identity key create TENANT [--admin] [--operator]
    identity key revoke KEY_ID
    identity datakey status|rotate TENANT    # the tenant's data-key versions / a new version
    identity datakey reencrypt TENANT [--batch N]   # re-seal old cells with the current version
    identity datakey retire TENANT VERSION   # drop an old version once no cell uses it
    identity datakey rewrap TENANT|--all     # move rings to the configured KEK (from previous_kek)
    identity token TYPE VALUE --tenant T      # the vertex id of an identifier (for a Gremlin console)
    identity load FILE --tenant T             # JSON Lines events through the core (progress bar)
    identity export-neptune-csv DIR [--tenant T | --region R]   # CSV for Neptune's bulk loader
    identity forget TYPE VALUE --tenant T     # GDPR erasure (TYPE 'customer': a customer id)
    identity export TYPE VALUE --tenant T     # GDPR access: everything stored, as JSON
    identity check [--tenant T] [--repair] [--acknowledged FILE]   # the graph's invariants (exit 1: wrong)

Every command reads the same configuration (file, ``IDENTITY_*`` environment, flags).
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import logging
import os
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterable, Iterator, Sequence

from ..base.errors import ConfigError, IdentityError
from ..security import auth
from ..security.files import PRIVATE_UMASK, require_private
from ..security.tenants import RegistryError, TenantRegistry, UnknownTenant
from .config import Config, load_config, keyring_for
from .offboarding import DEFAULT_PURGE_BATCH
from .reencrypt import DEFAULT_BATCH as DEFAULT_REENCRYPT_BATCH
from .settings import GuardSettings

__all__ = ["main", "load_events", "LoadSummary"]

DEFAULT_LOAD_BATCH = 500


# -- argument parsing -------------------------------------------------------------------------

def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file (default: $IDENTITY_CONFIG)")
    parser.add_argument("--data-dir", help="data directory (default ./data, or $IDENTITY_DATA_DIR)")
    parser.add_argument("--graph-url", help="graph URL (default file://<data-dir>/graph)")
    parser.add_argument("--cache-mb", type=float, help="MiB the embedded durable graph keeps in memory "
                        "(default 256)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="identity", description="Real-time customer identity service")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the JSON-RPC service")
    _common(serve)
    serve.add_argument("--host", help="interface (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port (default 8080; 0 picks a free one)")
    serve.add_argument("--gremlin-port", type=int, help="Gremlin console endpoint port (default 8182; 0: free)")
    serve.add_argument("--no-gremlin", action="store_true", help="do not serve the Gremlin console endpoint")
    serve.add_argument("--log-level", help="logging level (default INFO)")

    tenant = commands.add_parser("tenant", help="manage tenants").add_subparsers(dest="action", required=True)
    create = tenant.add_parser("create", help="create a tenant")
    create.add_argument("name")
    create.add_argument("--region", required=True, help="home region, e.g. eu-west-1")
    _common(create)
    _common(tenant.add_parser("list", help="list tenants"))
    offboard = tenant.add_parser("offboard", help="destroy a tenant's keys (irreversible) and revoke its API keys")
    offboard.add_argument("name")
    offboard.add_argument("--yes", action="store_true", help="confirm: the tenant's data becomes unreadable")
    _common(offboard)
    purge = tenant.add_parser("purge", help="delete an offboarded tenant's graph elements in batches")
    purge.add_argument("name")
    purge.add_argument("--batch", type=_positive, default=DEFAULT_PURGE_BATCH)
    _common(purge)

    key = commands.add_parser("key", help="manage API keys").add_subparsers(dest="action", required=True)
    key_create = key.add_parser("create", help="create an API key (printed once)")
    key_create.add_argument("tenant")
    key_create.add_argument("--admin", action="store_true",
                            help="grant the admin scope: manage this tenant's API keys and data keys")
    key_create.add_argument("--operator", action="store_true",
                            help="grant the operator scope: create tenants and manage every tenant")
    _common(key_create)
    key_revoke = key.add_parser("revoke", help="revoke an API key")
    key_revoke.add_argument("key_id")
    _common(key_revoke)

    datakey = commands.add_parser("datakey", help="manage a tenant's data-encryption keys").add_subparsers(
        dest="action", required=True)
    for action, summary in (("status", "show the tenant's data-key versions"),
                            ("rotate", "add a data-key version that seals new writes"),
                            ("reencrypt", "re-seal cells sealed with an older version (resumable)"),
                            ("retire", "remove an old data-key version once no cell uses it"),
                            ("rewrap", "wrap rings with the configured KEK instead of previous_kek")):
        command = datakey.add_parser(action, help=summary)
        if action == "rewrap":
            which = command.add_mutually_exclusive_group(required=True)
            which.add_argument("tenant", nargs="?")
            which.add_argument("--all", action="store_true", help="every tenant's ring")
        else:
            command.add_argument("tenant")
        if action == "reencrypt":
            command.add_argument("--batch", type=_positive, default=DEFAULT_REENCRYPT_BATCH)
        if action == "retire":
            command.add_argument("version", type=_positive)
        _common(command)

    token = commands.add_parser("token", help="print the vertex id of an identifier")
    token.add_argument("type")
    token.add_argument("value")
    token.add_argument("--tenant", required=True)
    _common(token)

    for name, summary in (("forget", "erase an identifier (or 'customer' ID) and suppress it (GDPR)"),
                          ("export", "print everything stored about an identifier (or 'customer' ID) as JSON")):
        subject = commands.add_parser(name, help=summary)
        subject.add_argument("type", help="identifier type, or 'customer'")
        subject.add_argument("value", help="identifier value, or customer id")
        subject.add_argument("--tenant", required=True)
        _common(subject)

    load = commands.add_parser("load", help="ingest JSON Lines events from FILE ('-': stdin)")
    load.add_argument("file")
    load.add_argument("--tenant", required=True)
    load.add_argument("--batch-size", type=int, default=DEFAULT_LOAD_BATCH)
    _common(load)

    check = commands.add_parser("check", help="verify the graph's invariants; exit 1 when something is wrong")
    check.add_argument("--tenant", help="only this tenant (default: every tenant not offboarded)")
    check.add_argument("--repair", action="store_true",
                       help="mend what the graph can tell right (degrees, repeated or forbidden edges, customer ids "
                            "two customers share), then check again")
    check.add_argument("--acknowledged", metavar="FILE",
                       help="event ids (one a line) that clients were told are stored: each must be")
    _common(check)

    export = commands.add_parser("export-neptune-csv",
                                 help="write the graph as Neptune bulk-loader CSV (vertices.csv, edges.csv)")
    export.add_argument("directory")
    export.add_argument("--tenant", help="only this tenant's elements, from its home region (default: all)")
    export.add_argument("--region", help="the region whose graph to export (default: the one served)")
    _common(export)
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError("must be a positive integer")
    return value


def _config(args: argparse.Namespace) -> Config:
    overrides = {"data_dir": args.data_dir, "graph_url": args.graph_url, "graph_cache_mb": args.cache_mb}
    if args.command == "serve":
        overrides.update(host=args.host, port=args.port, gremlin_port=args.gremlin_port, log_level=args.log_level,
                         gremlin_enabled=False if args.no_gremlin else None)
    return load_config(args.config, overrides=overrides)


# -- commands ---------------------------------------------------------------------------------

def _serve(config: Config) -> int:
    from .rpc.server import ServerInfo, serve

    def banner(info: ServerInfo) -> None:
        print(f"identity listening on {info.url} (graph {info.graph_url})", flush=True)
        if info.gremlin_url:
            print(f"gremlin console endpoint on {info.gremlin_url}", flush=True)
            print(f"  python -m gremlin.console {info.gremlin_url} --user TENANT  (password: one of its API keys)",
                  flush=True)
        if info.dev_key:
            print(f"dev tenant API key (shown once): {info.dev_key}", flush=True)

    require_private(*config.local_paths())  # refuses to serve data other users can reach
    from ..base import telemetry
    from ..graph.connection import settle_heap
    settle_heap()  # before any graph loads: its records stay out of the collector's walks
    configured = telemetry.from_environment()
    telemetry.install(configured)
    try:
        asyncio.run(serve(config, on_ready=banner))
    finally:
        configured.shutdown()  # flushes exporters
    print("identity stopped", flush=True)
    return 0


def _tenant(args: argparse.Namespace, config: Config, registry: TenantRegistry) -> int:
    if args.action == "create":
        tenant = registry.create_tenant(args.name, args.region)
        print(f"created tenant {tenant.id} (region {tenant.region})")
    elif args.action == "offboard":
        if not args.yes:
            print(f"identity: offboarding destroys the keys of tenant {args.name}: none of its data can be read "
                  "afterwards. Re-run with --yes to confirm.", file=sys.stderr)
            return 2
        from .offboarding import offboard
        revoked = offboard(registry, keyring_for(config), args.name)
        print(f"offboarded tenant {args.name}: keys destroyed, {len(revoked)} API key(s) revoked; "
              f"run `identity tenant purge {args.name}` to delete its graph elements")
    elif args.action == "purge":
        from .offboarding import purge
        _known(registry, args.name)
        keyring = keyring_for(config)
        done = _with_graph(config, registry, lambda g: purge(
            g, args.name, keyring=keyring, batch=args.batch,
            progress=lambda p: _progress(f"{p.edges} edges, {p.vertices} vertices deleted")), tenant=args.name)
        print(file=sys.stderr)
        print(f"purged tenant {args.name}: {done.edges} edges, {done.vertices} vertices deleted")
    else:
        for tenant in registry.tenants():
            print(f"{tenant.id}\t{tenant.region}")
    return 0


def _key(args: argparse.Namespace, registry: TenantRegistry) -> int:
    if args.action == "create":
        issued = auth.issue_key(registry, args.tenant, admin=args.admin, operator=args.operator)
        scopes = ",".join(issued.record.scopes) or "-"
        print(f"API key for tenant {args.tenant} (key id {issued.record.key_id}, scopes {scopes}; shown once):")
        print(issued.key)
    else:
        record = registry.revoke_key(args.key_id)
        print(f"revoked key {record.key_id} of tenant {record.tenant}")
    return 0


def _datakey(args: argparse.Namespace, config: Config, registry: TenantRegistry) -> int:
    keyring = keyring_for(config)
    if args.action == "rewrap":
        tenants = keyring.tenants() if args.all else [args.tenant]
        for tenant in tenants:
            if not args.all:
                _known(registry, tenant)
            if keyring.destroyed(tenant):
                continue
            moved = keyring.rewrap(tenant)
            print(f"tenant {tenant}: {'rewrapped with' if moved else 'already wrapped by'} {keyring.provider.name}")
        return 0
    _known(registry, args.tenant)
    if args.action == "retire":
        from .reencrypt import retire_data_key
        _with_graph(config, registry, lambda g: retire_data_key(g, keyring, args.tenant, args.version),
                    tenant=args.tenant)
        print(f"tenant {args.tenant}: data key version {args.version} retired")
    elif args.action == "rotate":
        print(f"tenant {args.tenant}: data key version {keyring.rotate(args.tenant)} now seals new writes; "
              f"run `identity datakey reencrypt {args.tenant}` to migrate older cells")
    elif args.action == "reencrypt":
        from .reencrypt import reencrypt
        protector = keyring.protector(args.tenant)
        done = _with_graph(config, registry, lambda g: reencrypt(
            g, args.tenant, protector, batch=args.batch,
            progress=lambda p: _progress(f"{p.resealed} cells re-sealed with version {p.version}")), tenant=args.tenant)
        print(file=sys.stderr)
        print(f"tenant {args.tenant}: {done.resealed} cells re-sealed in {done.batches} batches; every cell now "
              f"uses data key version {keyring.current_version(args.tenant)}")
    else:
        status = keyring.status(args.tenant, create=True)
        if status.destroyed_at is not None:
            print(f"tenant {args.tenant}: offboarded, keys destroyed at {status.destroyed_at:.0f}")
        else:
            print(f"tenant {args.tenant}: current version {status.current}, key-encryption key {status.kek}")
            for version, created_at in sorted(status.versions.items()):
                print(f"  v{version}\tcreated {created_at:.0f}")
    return 0


def _known(registry: TenantRegistry, tenant: str) -> None:
    if registry.tenant(tenant) is None:
        raise UnknownTenant(tenant)


def _with_graph(config: Config, registry: TenantRegistry, work: Callable[[Any], Any], *,
                tenant: str | None = None, region: str | None = None) -> Any:
    """``work(g)`` on the graph of ``tenant``'s home region (or of ``region``, or of the only
    region served): CLI commands obey residency as the service does. Connections are closed,
    and a local store flushed, after."""
    from ..graph.connection import close_all, release
    if tenant is not None:
        _known(registry, tenant)
        region = registry.tenant(tenant).region
    router = config.region_router()
    if region is None:
        if len(router.served()) != 1:
            raise RegistryError("--region", f"must name one of the regions served: {', '.join(router.served())}")
        region = router.served()[0]
    home = router.region(region)
    try:
        return work(router.endpoints(region).writer)
    finally:
        close_all()
        release(home.writer)


def _with_identity(config: Config, registry: TenantRegistry, tenant: str, work: Callable[[Any], Any]) -> Any:
    """``work(identity)`` on ``tenant``'s IdentityGraph in its home region, sealed with its key ring."""
    from ..domain.core import IdentityGraph
    _known(registry, tenant)  # never create a key ring for a mistyped tenant
    protector = keyring_for(config).protector(tenant)
    settings = GuardSettings(registry, config.tenant_guards()).source(tenant)  # as the service applies them
    return _with_graph(config, registry, lambda g: work(IdentityGraph(g, tenant, protector=protector,
                                                                      config=settings)), tenant=tenant)


def _progress(line: str) -> None:
    print(f"\r{line}", end="", file=sys.stderr, flush=True)


def _token(args: argparse.Namespace, config: Config, registry: TenantRegistry) -> int:
    _known(registry, args.tenant)  # never create a key ring for a mistyped tenant
    from ..domain.tenant_graph import identifier_vertex_id
    print(identifier_vertex_id(args.tenant, args.type, args.value, protector=keyring_for(config).protector(args.tenant)))
    return 0


def _subject(args: argparse.Namespace, config: Config, registry: TenantRegistry) -> int:
    """forget / export one identifier or customer (errors name fields, never values)."""
    def run(identity: Any) -> dict:
        return (identity.forget if args.command == "forget" else identity.export)(args.type, args.value)

    print(json.dumps(_with_identity(config, registry, args.tenant, run), indent=2, ensure_ascii=False))
    return 0


def _load(args: argparse.Namespace, config: Config, registry: TenantRegistry) -> int:
    _known(registry, args.tenant)  # before opening the file
    source = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
    total = None if source is sys.stdin else os.fstat(source.fileno()).st_size
    try:
        summary = _with_identity(config, registry, args.tenant, lambda identity: load_events(
            functools.partial(identity.ingest, atomic=False), source, batch_size=args.batch_size,
            progress=lambda summary: _progress_line(summary, total)))
    finally:
        if source is not sys.stdin:
            source.close()
    print(file=sys.stderr)
    print(summary.report(), file=sys.stderr)
    return 0 if not summary.rejected else 1


_BAR_WIDTH = 30


def _progress_line(summary: "LoadSummary", total_bytes: int | None = None) -> None:
    """A bar and a percentage when the file's size is known, then the counts."""
    bar = ""
    if total_bytes:
        done = min(1.0, summary.bytes_read / total_bytes)
        filled = int(done * _BAR_WIDTH)
        bar = f"[{'#' * filled}{'.' * (_BAR_WIDTH - filled)}] {done:4.0%} "
    _progress(f"{bar}{summary.read} read, {summary.ingested} ingested, {summary.rejected} rejected")


#: The findings ``identity check`` prints per tenant before it only counts them.
_CHECK_SHOWN = 100


def _check(args: argparse.Namespace, config: Config, registry: TenantRegistry) -> int:
    from ..domain.check import check_graph
    keyring = keyring_for(config)
    if args.tenant is not None:
        _known(registry, args.tenant)
    acknowledged: list[str] = []
    if args.acknowledged:
        with open(args.acknowledged, encoding="utf-8") as lines:
            acknowledged = [line.strip() for line in lines if line.strip()]
    tenants = [args.tenant] if args.tenant else [t.id for t in registry.tenants() if not keyring.destroyed(t.id)]
    wrong = False
    guards = GuardSettings(registry, config.tenant_guards())
    for tenant in tenants:
        protector = keyring.protector(tenant)
        report = _with_graph(config, registry, lambda g: check_graph(
            g, tenant, config=guards.config_for(tenant), protector=protector, acknowledged=acknowledged,
            repair=args.repair,
            progress=lambda step: _progress(f"tenant {tenant}: {step}".ljust(60))), tenant=tenant)
        print(file=sys.stderr)
        for finding in report.repaired[:_CHECK_SHOWN]:
            print(f"repaired\t{finding}")
        for finding in report.findings[:_CHECK_SHOWN]:
            print(finding)
        if len(report.findings) > _CHECK_SHOWN:
            print(f"... and {len(report.findings) - _CHECK_SHOWN} more")
        print(report.summary())
        wrong = wrong or not report.ok
    return 1 if wrong else 0


def _export(args: argparse.Namespace, config: Config, registry: TenantRegistry) -> int:
    if args.tenant is not None:
        _known(registry, args.tenant)
    from pathlib import Path

    from .export import export_neptune_csv

    summary = _with_graph(config, registry, lambda g: export_neptune_csv(
        g, Path(args.directory), tenant=args.tenant,
        progress=lambda vertices, edges: _progress(f"{vertices} vertices, {edges} edges")),
        tenant=args.tenant, region=args.region)
    print(file=sys.stderr)
    print(f"wrote {summary.vertices} vertices to {summary.vertex_file} and {summary.edges} edges to "
          f"{summary.edge_file}")
    return 0


# -- bulk loading ----------------------------------------------------------------------------

@dataclass
class LoadSummary:
    read: int = 0
    #: UTF-8 bytes of the lines read so far (for the progress bar)
    bytes_read: int = 0
    ingested: int = 0
    duplicates: int = 0
    rejected: int = 0
    reasons: Counter = field(default_factory=Counter)
    #: (line number, reason) of the first rejected events.
    examples: list[tuple[int, str]] = field(default_factory=list)

    def reject(self, line: int, reason: str) -> None:
        self.rejected += 1
        self.reasons[reason] += 1
        if len(self.examples) < 10:
            self.examples.append((line, reason))

    def report(self) -> str:
        lines = [f"{self.read} events read: {self.ingested} ingested ({self.duplicates} duplicates), "
                 f"{self.rejected} rejected"]
        lines += [f"  {count} x {reason}" for reason, count in self.reasons.most_common()]
        lines += [f"  e.g. line {line}: {reason}" for line, reason in self.examples]
        return "\n".join(lines)


def _parsed(lines: Iterable[str], summary: LoadSummary) -> Iterator[tuple[int, dict]]:
    for number, line in enumerate(lines, 1):
        summary.bytes_read += len(line.encode("utf-8"))
        if not line.strip():
            continue
        summary.read += 1
        try:
            event = json.loads(line)
        except ValueError:
            summary.reject(number, "not valid JSON")
            continue
        if not isinstance(event, dict):
            summary.reject(number, "not a JSON object")
            continue
        yield number, event


#: The ``events[n].`` a rejected event's field starts with.
_EVENT_POSITION = re.compile(r"^events\[\d+\]\.?")


def load_events(ingest: Callable[[list[dict]], list[Any]], lines: Iterable[str] | IO[str], *,
                batch_size: int = DEFAULT_LOAD_BATCH,
                progress: Callable[[LoadSummary], None] | None = None) -> LoadSummary:
    """Ingest JSON Lines events in batches with ``ingest``, a partial (non-atomic) ingest: an
    invalid event's result is a RejectedEvent and the rest of its batch is written. The reasons
    (field within the event and rule, never values) are counted."""
    summary = LoadSummary()
    batch: list[tuple[int, dict]] = []

    def flush() -> None:
        results = []
        for (number, _), result in zip(batch, ingest([event for _, event in batch])):
            error = getattr(result, "error", None)
            if error is None:
                results.append(result)
            else:  # named within the event, so that the same reason adds up across batches
                summary.reject(number, f"{_EVENT_POSITION.sub('', error.field) or 'event'}: {error.reason}")
        summary.ingested += len(results)
        summary.duplicates += sum(1 for result in results if getattr(result, "duplicate", False))
        batch.clear()
        if progress is not None:
            progress(summary)

    for number, event in _parsed(lines, summary):
        batch.append((number, event))
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
    return summary


# -- entry point ------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    umask = os.umask(PRIVATE_UMASK)  # what the command creates is its user's alone (identity.security.files)
    try:
        config = _config(args)
        logging.basicConfig(level=config.log_level.upper(), stream=sys.stderr,
                            format="%(asctime)s %(name)s %(levelname)s %(message)s")
        # the driver announces every traversal source it creates at INFO
        logging.getLogger("gremlinpython").setLevel(max(logging.WARNING, logging.getLogger().level))
        if args.command == "serve":
            return _serve(config)
        registry = TenantRegistry(config.data_dir).load()
        if args.command == "tenant":
            return _tenant(args, config, registry)
        if args.command == "key":
            return _key(args, registry)
        if args.command == "datakey":
            return _datakey(args, config, registry)
        if args.command == "token":
            return _token(args, config, registry)
        if args.command in ("forget", "export"):
            return _subject(args, config, registry)
        if args.command == "export-neptune-csv":
            return _export(args, config, registry)
        if args.command == "check":
            return _check(args, config, registry)
        return _load(args, config, registry)
    except (ConfigError, RegistryError, IdentityError, OSError) as error:
        print(f"identity: {error}", file=sys.stderr)
        return 2
    finally:
        os.umask(umask)


if __name__ == "__main__":
    sys.exit(main())
