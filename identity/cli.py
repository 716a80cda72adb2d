"""The ``identity`` command (also ``python -m identity``).

    identity serve [--host H] [--port P] [--graph-url URL] [--data-dir DIR] [--config FILE]
    identity tenant create NAME --region REGION
    identity tenant list
    identity key create TENANT [--admin]
    identity key revoke KEY_ID
    identity token TYPE VALUE --tenant T      # the vertex id of an identifier (for a Gremlin console)
    identity load FILE --tenant T             # JSON Lines events through the core

Every command reads the same configuration (file, ``IDENTITY_*`` environment, flags).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Iterable, Iterator, Sequence

from . import auth
from .config import Config, ConfigError, load_config
from .tenants import RegistryError, TenantRegistry

__all__ = ["main", "load_events", "LoadSummary"]

DEFAULT_LOAD_BATCH = 500


# -- argument parsing -------------------------------------------------------------------------

def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML configuration file (default: $IDENTITY_CONFIG)")
    parser.add_argument("--data-dir", help="data directory (default ./data, or $IDENTITY_DATA_DIR)")
    parser.add_argument("--graph-url", help="graph URL (default file://<data-dir>/graph)")


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

    key = commands.add_parser("key", help="manage API keys").add_subparsers(dest="action", required=True)
    key_create = key.add_parser("create", help="create an API key (printed once)")
    key_create.add_argument("tenant")
    key_create.add_argument("--admin", action="store_true", help="grant the admin scope")
    _common(key_create)
    key_revoke = key.add_parser("revoke", help="revoke an API key")
    key_revoke.add_argument("key_id")
    _common(key_revoke)

    token = commands.add_parser("token", help="print the vertex id of an identifier")
    token.add_argument("type")
    token.add_argument("value")
    token.add_argument("--tenant", required=True)
    _common(token)

    load = commands.add_parser("load", help="ingest JSON Lines events from FILE ('-': stdin)")
    load.add_argument("file")
    load.add_argument("--tenant", required=True)
    load.add_argument("--batch-size", type=int, default=DEFAULT_LOAD_BATCH)
    _common(load)
    return parser


def _config(args: argparse.Namespace) -> Config:
    overrides = {"data_dir": args.data_dir, "graph_url": args.graph_url}
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
        if info.dev_key:
            print(f"dev tenant API key (shown once): {info.dev_key}", flush=True)

    asyncio.run(serve(config, on_ready=banner))
    print("identity stopped", flush=True)
    return 0


def _tenant(args: argparse.Namespace, registry: TenantRegistry) -> int:
    if args.action == "create":
        tenant = registry.create_tenant(args.name, args.region)
        print(f"created tenant {tenant.id} (region {tenant.region})")
    else:
        for tenant in registry.tenants():
            print(f"{tenant.id}\t{tenant.region}")
    return 0


def _key(args: argparse.Namespace, registry: TenantRegistry) -> int:
    if args.action == "create":
        issued = auth.issue_key(registry, args.tenant, admin=args.admin)
        scopes = ",".join(issued.record.scopes) or "-"
        print(f"API key for tenant {args.tenant} (key id {issued.record.key_id}, scopes {scopes}; shown once):")
        print(issued.key)
    else:
        record = registry.revoke_key(args.key_id)
        print(f"revoked key {record.key_id} of tenant {record.tenant}")
    return 0


def _token(args: argparse.Namespace, config: Config) -> int:
    from .core import identifier_vertex_id
    print(identifier_vertex_id(args.tenant, args.type, args.value))
    return 0


def _load(args: argparse.Namespace, config: Config, registry: TenantRegistry) -> int:
    if registry.tenant(args.tenant) is None:
        raise RegistryError("tenant", f"'{args.tenant}' does not exist")
    from .core import IdentityGraph
    from .graph import close_all, open_traversal

    identity = IdentityGraph(open_traversal(config.resolved_graph_url), args.tenant)
    source = sys.stdin if args.file == "-" else open(args.file, encoding="utf-8")
    try:
        summary = load_events(identity.ingest, source, batch_size=args.batch_size, progress=_progress_line)
    finally:
        if source is not sys.stdin:
            source.close()
        close_all()
    print(file=sys.stderr)
    print(summary.report(), file=sys.stderr)
    return 0 if not summary.rejected else 1


def _progress_line(summary: "LoadSummary") -> None:
    print(f"\r{summary.read} read, {summary.ingested} ingested, {summary.rejected} rejected",
          end="", file=sys.stderr, flush=True)


# -- bulk loading ----------------------------------------------------------------------------

@dataclass
class LoadSummary:
    read: int = 0
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


def load_events(ingest: Callable[[list[dict]], list[Any]], lines: Iterable[str] | IO[str], *,
                batch_size: int = DEFAULT_LOAD_BATCH,
                progress: Callable[[LoadSummary], None] | None = None) -> LoadSummary:
    """Ingest JSON Lines events in batches. A batch the core refuses is retried event by event
    so one bad event rejects only itself; the reasons (field and rule, never values) are counted."""
    from .errors import ValidationError

    summary = LoadSummary()
    batch: list[tuple[int, dict]] = []

    def flush() -> None:
        try:
            results = ingest([event for _, event in batch])
        except ValidationError:
            results = []
            for number, event in batch:
                try:
                    results += ingest([event])
                except ValidationError as error:
                    summary.reject(number, str(error))
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
            return _tenant(args, registry)
        if args.command == "key":
            return _key(args, registry)
        if args.command == "token":
            return _token(args, config)
        return _load(args, config, registry)
    except (ConfigError, RegistryError, OSError) as error:
        print(f"identity: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
