"""One URL chooses the backend; every backend is a gremlinpython RemoteConnection.

    memory://                 a new private in-process graph
    memory://NAME             an in-process graph shared by every connection naming it
    file:///var/lib/graph     the durable in-process graph stored in that directory
    ws://host:8182/gremlin    a Gremlin Server, Amazon Neptune or `python -m gremlin.server`
    wss://...                 the same over TLS

Query parameters: ``profile=neptune`` (in-process backends: enforce Neptune's rules),
``serializer=graphbinary|graphson`` (remote), ``driver=lean|gremlinpython`` (remote: our
gremlin.remote.ServerRemoteConnection, the default, or gremlinpython's DriverRemoteConnection, which
also has sessions), ``auth=iam`` (Neptune IAM SigV4 signing, needs botocore),
``synchronous=NORMAL|FULL`` and ``cache_mb=N`` (durable backend: durability of a commit, and the MiB
its cache of records and pages may hold), ``traversal_source=g``.
"""

from __future__ import annotations

import os
import threading
from functools import partial
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from gremlin_python.driver.remote_connection import RemoteConnection

from .engine import Graph
from .errors import InvalidArgumentError

__all__ = ["connect", "open_graph", "describe"]

_named_graphs: dict[str, Graph] = {}
_registry_lock = threading.Lock()


def _params(url: str) -> tuple[Any, dict[str, str]]:
    parts = urlsplit(url)
    params = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    return parts, params


def _file_path(parts: Any) -> str:
    return os.path.abspath(unquote(parts.netloc + parts.path))


def open_graph(url: str) -> Graph:
    """The in-process Graph a memory:// or file:// URL names (shared within the process)."""
    parts, params = _params(url)
    profile = params.get("profile")
    if parts.scheme == "memory":
        name = (parts.netloc + parts.path).strip("/")
        if not name:
            return Graph(profile=profile)
        with _registry_lock:
            graph = _named_graphs.get(name)
            if graph is None:
                graph = _named_graphs[name] = Graph(profile=profile)
            return graph
    if parts.scheme == "file":
        path = _file_path(parts)
        key = f"file:{path}"
        with _registry_lock:
            graph = _named_graphs.get(key)
            if graph is None:
                from .disk_store import DEFAULT_CACHE_MB
                from .durable import open_store
                from .engine.profiles import profile_named
                kind = profile_named(profile)
                store = open_store(path, id_kind=kind.id_kind, synchronous=params.get("synchronous", "NORMAL"),
                                   cache_mb=params.get("cache_mb", DEFAULT_CACHE_MB))
                graph = _named_graphs[key] = Graph(store, profile=kind)
            return graph
    raise InvalidArgumentError(f"Not an in-process graph URL: {url!r} (expected memory:// or file://)")


def forget_graph(url: str) -> None:
    """Close and drop a shared in-process graph (tests, tenant purges)."""
    parts, _ = _params(url)
    key = (parts.netloc + parts.path).strip("/") if parts.scheme == "memory" else \
        f"file:{_file_path(parts)}"
    with _registry_lock:
        graph = _named_graphs.pop(key, None)
    if graph is not None:
        graph.close()


def connect(url: str, **driver_options: Any) -> RemoteConnection:
    """A RemoteConnection for ``url``: use it with ``traversal().with_remote(conn)``."""
    parts, params = _params(url)
    source = params.get("traversal_source", "g")
    if parts.scheme in ("memory", "file"):
        from .remote import LocalRemoteConnection
        return LocalRemoteConnection(open_graph(url), url=url, traversal_source=source)
    if parts.scheme in ("ws", "wss"):
        return _driver_connection(parts, params, source, driver_options)
    raise InvalidArgumentError(
        f"Unsupported graph URL scheme {parts.scheme!r} in {describe(url)!r}: "
        "use memory://, file:///path, ws://host:port/gremlin or wss://...")


#: the clients a remote URL may choose (``driver=``)
_DRIVERS = ("lean", "gremlinpython")


def _driver_connection(parts: Any, params: dict[str, str], source: str, options: dict) -> RemoteConnection:
    from gremlin_python.driver import serializer

    from .fast_writer import FastWriter, QuietDriverConnection
    from .remote import ServerRemoteConnection
    driver = params.get("driver", "lean").lower()
    if driver not in _DRIVERS:
        raise InvalidArgumentError(f"Unknown driver {driver!r}: expected {' or '.join(_DRIVERS)}")
    clean_url = f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}{parts.path or '/gremlin'}"
    kind = params.get("serializer", "graphbinary").lower()
    if kind == "graphbinary":
        from .fast_reader import FastReader
        options.setdefault("message_serializer",
                           serializer.GraphBinarySerializersV1(reader=FastReader(), writer=FastWriter()))
    elif kind in ("graphson", "graphsonv3"):
        options.setdefault("message_serializer", serializer.GraphSONSerializersV3d0())
    else:
        raise InvalidArgumentError(f"Unknown serializer {kind!r}: expected graphbinary or graphson")
    if parts.username:
        options.setdefault("username", unquote(parts.username))
        options.setdefault("password", unquote(parts.password or ""))
    if params.get("auth") == "iam":
        from .neptune_iam import sigv4_headers
        region = params.get("region")
        signed = sigv4_headers(clean_url, region)  # signed now, so missing credentials fail here
        # the lean client signs every connection it opens later afresh (a signature expires)
        options.setdefault("headers", signed if driver == "gremlinpython" else partial(sigv4_headers, clean_url, region))
    if driver == "gremlinpython":
        return QuietDriverConnection(clean_url, source, **options)
    return ServerRemoteConnection(clean_url, source, **options)


def describe(url: str) -> str:
    """The URL with any password removed, safe for logs and errors."""
    parts = urlsplit(url)
    if parts.password:
        netloc = f"{parts.username}:***@{parts.hostname}{':' + str(parts.port) if parts.port else ''}"
        return parts._replace(netloc=netloc).geturl()
    return url
