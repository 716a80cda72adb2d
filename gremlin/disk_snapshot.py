"""A DiskStore read by a child process forked from the one that has it open.

SQLite must not be used across ``fork()``: a connection open in the parent cannot be used in the
child, and a new one opened there shares the parent's per-file lock state, inherited and no longer
true (docs: "How To Corrupt An SQLite Database File", 2.6). So a forked child never calls SQLite.
Its store's reads are sent, over a socket pair, to the parent, which answers them on a read-only
connection of its own holding one read transaction, begun before the fork while no traversal ran
(``GraphStore.quiescent``): the rows the child reads are the file as of that moment, which is also
the moment of the records it inherited, so it reads one consistent graph however the parent's graph
changes meanwhile (WAL keeps that snapshot readable).

    reader = SnapshotReader(store)       # in the parent, inside store.quiescent(), before the fork
    pid = os.fork()
    # child:  reader.in_child(store)     then read the store as usual
    # parent: reader.serve() ... reader.close()

A read is a statement and its parameters (ints, floats, text, blobs, nulls), sent as JSON, never as
pickles: the parent runs nothing the child sends but SQL, on a connection that cannot write
(``mode=ro``, ``query_only``).
"""

from __future__ import annotations

import base64
import json
import socket
import sqlite3
import struct
import threading
from pathlib import Path
from typing import Any, Iterator, Protocol

from .storage import ForkedReader

__all__ = ["SnapshotReader", "ParentLink", "SnapshotSource"]

_LENGTH = struct.Struct(">I")
#: How long closing waits for the thread answering a child (a statement is interrupted first).
_JOIN_S = 5.0


class SnapshotSource(Protocol):
    """What this module needs of a store read from a forked child (gremlin.disk_store.DiskStore
    is one): its file, and a way to read through a link to the parent instead of SQLite."""

    path: Path | None

    def read_through(self, link: "ParentLink") -> None:
        """From now on, read through ``link`` and write nothing."""


class SnapshotReader(ForkedReader):
    """The parent's side: a read transaction on the file, and the thread answering one child."""

    def __init__(self, store: SnapshotSource):
        if store.path is None:
            raise sqlite3.OperationalError("a store without a file path cannot be read from a forked child")
        self._conn = sqlite3.connect(f"{store.path.as_uri()}?mode=ro", uri=True, isolation_level=None,
                                     check_same_thread=False)
        try:
            self._conn.execute("PRAGMA query_only = ON")
            self._conn.execute("BEGIN")
            self._conn.execute("SELECT count(*) FROM meta").fetchall()  # the snapshot is taken here
            self._mine, self._childs = socket.socketpair()
        except BaseException:
            self._conn.close()
            raise
        self._thread: threading.Thread | None = None
        self._ending = threading.Lock()
        self._thread_done = self._abandoned = False

    @property
    def child_fds(self) -> tuple[int, ...]:
        """The descriptors the child must keep open."""
        return (self._childs.fileno(),)

    def in_child(self, store: SnapshotSource) -> None:
        """In the child, straight after the fork: ``store`` reads through the parent from now on."""
        self._mine.detach()  # closed with the other inherited descriptors, never used here
        store.read_through(ParentLink(self._childs))

    def serve(self) -> None:
        """In the parent, after the fork: answer the child's reads until it closes its end."""
        self._childs.close()
        self._thread = threading.Thread(target=self._answer, name="forked-reader", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """In the parent, once the child has ended (or been killed): the read transaction ends."""
        self._conn.interrupt()
        try:
            self._mine.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        if self._thread is not None:
            self._thread.join(_JOIN_S)
        with self._ending:
            if self._thread is not None and not self._thread_done:
                self._abandoned = True  # the thread closes the connection when its statement ends
            else:
                self._conn.close()
        self._mine.close()

    def _answer(self) -> None:
        try:
            for request in _frames(self._mine):
                try:
                    sql, params = json.loads(request, object_hook=_blob)
                    reply: Any = {"rows": self._conn.execute(sql, params).fetchall()}
                except (sqlite3.Error, ValueError, TypeError) as error:
                    reply = {"error": f"{type(error).__name__}: {error}"}
                _send(self._mine, json.dumps(reply, default=_tagged).encode("utf-8"))
        except OSError:
            pass  # the child is gone
        finally:
            with self._ending:
                self._thread_done = True
                if self._abandoned:
                    self._conn.close()


class ParentLink:
    """What a forked child's DiskStore reads through instead of its SQLite connection: the
    parts of ``sqlite3.Connection`` it uses for reading."""

    def __init__(self, sock: socket.socket):
        self._sock = sock
        #: a read was interrupted between its question and its answer (the traversal's timeout
        #: signal): what arrives next would be that answer, so nothing more is read
        self._broken = False

    def execute(self, sql: str, params: Any = ()) -> "_Rows":
        if self._broken:
            raise sqlite3.OperationalError("a read of the graph was interrupted: this reader reads no more")
        self._broken = True
        _send(self._sock, json.dumps([sql, list(params)], default=_tagged).encode("utf-8"))
        reply = next(_frames(self._sock), None)
        self._broken = False
        if reply is None:
            raise sqlite3.OperationalError("the process that holds the graph stopped answering")
        answer = json.loads(reply, object_hook=_blob)
        if "error" in answer:
            raise sqlite3.OperationalError(answer["error"])
        return _Rows([tuple(row) for row in answer["rows"]])

    def executemany(self, sql: str, rows: Any) -> None:
        raise sqlite3.OperationalError("a forked reader of the graph cannot write it")


class _Rows(list):
    def fetchall(self) -> list:
        return list(self)

    def fetchone(self) -> Any:
        return self[0] if self else None


def _tagged(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"b": base64.b64encode(bytes(value)).decode("ascii")}
    raise TypeError(f"a {type(value).__name__} is not an SQLite value")


def _blob(mapping: dict) -> Any:
    if set(mapping) == {"b"}:
        return base64.b64decode(mapping["b"])
    return mapping


def _send(sock: socket.socket, data: bytes) -> None:
    sock.sendall(_LENGTH.pack(len(data)) + data)


def _frames(sock: socket.socket) -> Iterator[bytes]:
    """Each length-prefixed frame received, until the other end closes."""
    while True:
        head = _receive(sock, _LENGTH.size)
        if head is None:
            return
        body = _receive(sock, _LENGTH.unpack(head)[0])
        if body is None:
            return
        yield body


def _receive(sock: socket.socket, size: int) -> bytes | None:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(min(size - len(data), 1 << 20))
        if not chunk:
            return None
        data += chunk
    return bytes(data)
