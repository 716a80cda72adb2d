"""``python -m gremlin.server`` / ``gremlin-server``: serve a graph over Gremlin Server's protocol."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import sys
from typing import Sequence
from urllib.parse import parse_qs, urlencode, urlsplit

from .app import DEFAULT_MAX_FRAME_BYTES, DEFAULT_PORT, DEFAULT_WORKERS, serve
from .auth import Credentials, hash_password
from .isolation import IN_THREAD, ProcessIsolation
from .ops import DEFAULT_BATCH_SIZE, DEFAULT_EVALUATION_TIMEOUT_MS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gremlin-server", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0: any free port)")
    parser.add_argument("--url", default="memory://",
                        help="the graph to serve: memory:// (default, a fresh in-memory graph) or file:///dir")
    parser.add_argument("--profile", choices=("tinkergraph", "neptune"), default=None,
                        help="engine semantics (default tinkergraph)")
    parser.add_argument("--credentials", metavar="FILE",
                        help="require SASL PLAIN authentication; FILE holds 'user:hash' lines")
    parser.add_argument("--max-frame-bytes", type=int, default=DEFAULT_MAX_FRAME_BYTES,
                        help=f"largest request frame accepted (default {DEFAULT_MAX_FRAME_BYTES})")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help=f"threads executing traversals (default {DEFAULT_WORKERS})")
    parser.add_argument("--evaluation-timeout", type=int, default=DEFAULT_EVALUATION_TIMEOUT_MS, metavar="MS",
                        help=f"default evaluationTimeout in ms, 0 for none (default {DEFAULT_EVALUATION_TIMEOUT_MS})")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                        help=f"default results per response frame (default {DEFAULT_BATCH_SIZE})")
    parser.add_argument("--max-evaluation-timeout", type=int, default=None, metavar="MS",
                        help="the longest evaluationTimeout a request gets, whatever it asks (default: no cap)")
    parser.add_argument("--max-results", type=int, default=None, help="the most results one request returns")
    parser.add_argument("--max-collection", type=int, default=None,
                        help="the most values one step (fold, aggregate, group, order...) may gather")
    parser.add_argument("--isolate", action="store_true",
                        help="run traversals that only read in a forked process each (see gremlin.server.isolation)")
    parser.add_argument("--grace-period", type=float, default=10.0, metavar="SECONDS",
                        help="on SIGTERM/SIGINT, how long running requests may finish (default 10)")
    parser.add_argument("--hash-password", metavar="USER",
                        help="print a credentials-file line for USER (password read from stdin) and exit")
    parser.add_argument("--log-level", default="WARNING")
    return parser


def _graph_url(url: str, profile: str | None) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("memory", "file"):
        raise SystemExit(f"--url must be memory:// or file:///dir, not {url!r}")
    if profile:
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        query["profile"] = profile
        parts = parts._replace(query=urlencode(query))
    return parts.geturl()


def _describe(url: str, profile: str | None) -> str:
    parts = urlsplit(url)
    where = "memory" if parts.scheme == "memory" else parts._replace(query="").geturl()
    return f"{where}, {profile} profile" if profile and profile != "tinkergraph" else where


def _read_password() -> str:
    if sys.stdin.isatty():
        return getpass.getpass("password: ")
    return sys.stdin.readline().rstrip("\n")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.hash_password:
        print(f"{args.hash_password}:{hash_password(_read_password())}")
        return 0

    from .. import open_graph  # the engine is imported only when serving
    from ..heap import HeapSettler

    graph_url = _graph_url(args.url, args.profile)
    credentials = Credentials.from_file(args.credentials) if args.credentials else None
    HeapSettler().install()  # before the graph loads: its records stay out of the collector's walks
    graph = open_graph(graph_url)
    label = _describe(args.url, args.profile)

    def ready(port: int) -> None:
        print(f"gremlin server listening on ws://{args.host}:{port}/gremlin ({label})", flush=True)

    try:
        asyncio.run(serve(graph, args.host, args.port, grace_period=args.grace_period, on_ready=ready,
                          credentials=credentials, max_frame_bytes=args.max_frame_bytes, workers=args.workers,
                          evaluation_timeout_ms=args.evaluation_timeout, batch_size=args.batch_size,
                          max_evaluation_timeout_ms=args.max_evaluation_timeout, max_results=args.max_results,
                          max_collection=args.max_collection,
                          isolation=ProcessIsolation() if args.isolate else IN_THREAD))
    finally:
        graph.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
