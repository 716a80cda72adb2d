"""Helper process for the kill -9 test: ``python tests/durable_child.py DIR``.

Opens the durable graph in DIR and commits one transaction after another, each adding a
vertex and an edge from the previous one, printing ``acked <id>`` (flushed) only after the
commit has returned. It never stops on its own before MAX_TRANSACTIONS: the test kills it.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gremlin.durable import open_store  # noqa: E402

MAX_TRANSACTIONS = 1_000_000  # a bound in case the parent dies without killing us


def main(directory: str) -> None:
    store = open_store(directory)
    previous = None
    print("ready", flush=True)
    for n in range(MAX_TRANSACTIONS):
        with store.transaction():
            vertex = store.add_vertex("item")
            store.add_vertex_property(vertex, "n", n)
            store.add_vertex_property(vertex, "tags", "a", "list", {"seen": n})
            if previous is not None:
                edge = store.add_edge("next", previous, vertex)
                store.set_edge_property(edge, "n", n)
        previous = vertex
        print(f"acked {vertex.id!r}", flush=True)
    store.close()


if __name__ == "__main__":
    main(sys.argv[1])
