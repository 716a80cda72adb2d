"""A durable graph read by a forked child (gremlin/disk_snapshot.py): the file as it was at the
fork, whatever the parent writes meanwhile; nothing written by the child."""

from __future__ import annotations

import os
import select
from pathlib import Path

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.traversal import T

import gremlin
from gremlin.durable import open_store
from gremlin.remote import LocalRemoteConnection

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="forked readers need os.fork")


def _add(g, first: int, count: int) -> None:
    t = g.inject(0)
    for n in range(first, first + count):
        t = t.add_v("p").property(T.id, f"v{n}").property("k", n)
    t.iterate()


def _wait_for(fd: int, seconds: float = 30) -> bytes:
    ready, _, _ = select.select([fd], [], [], seconds)
    assert ready, "the child did not answer in time"
    return os.read(fd, 1024)


def test_a_forked_child_reads_the_file_as_it_was_at_the_fork(tmp_path: Path) -> None:
    graph = gremlin.Graph(open_store(tmp_path / "graph", cache_mb=1))
    try:
        g = traversal().with_remote(LocalRemoteConnection(graph))
        _add(g, 0, 300)
        store = graph.store
        go_read, go_write = os.pipe()
        answer_read, answer_write = os.pipe()
        with store.quiescent():
            reader = store.forked_reader()
            pid = os.fork()
            if pid == 0:  # pragma: no cover - runs in the child
                status = 1
                try:
                    reader.in_child(store)
                    os.read(go_read, 1)  # once the parent has written more
                    seen = [len(list(store.scan_vertices())), len(store.vertices)]
                    try:
                        g.add_v("p").property(T.id, "from-the-child").iterate()
                        seen.append("wrote")
                    except Exception:
                        seen.append("refused")
                    os.write(answer_write, repr(seen).encode())
                    status = 0
                finally:
                    os._exit(status)
        try:
            reader.serve()
            _add(g, 300, 200)  # committed by the parent after the fork
            os.write(go_write, b"x")
            assert _wait_for(answer_read) == b"[300, 300, 'refused']"
        finally:
            os.waitpid(pid, 0)
            reader.close()
        assert g.V().count().next() == 500 and g.V("from-the-child").to_list() == []
    finally:
        graph.close()
        for fd in (go_read, go_write, answer_read, answer_write):
            os.close(fd)
