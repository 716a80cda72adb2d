"""Each traversal is atomic: all of it or none of it, and no one sees it half done (in memory and
on disk)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterator

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import T

import gremlin
from gremlin import GremlinError


@pytest.fixture(params=["memory", "durable"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    url = "memory://" if request.param == "memory" else (tmp_path / "graph").as_uri()
    yield url
    gremlin.forget_graph(url)


def test_failure_midway_rolls_back_every_kind_of_write(url: str):
    g = traversal().with_remote(gremlin.connect(url))
    g.add_v("a").property(T.id, "a").property("n", 1).add_v("b").property(T.id, "b").iterate()
    g.V("a").add_e("e").to(__.V("b")).property(T.id, "e1").iterate()
    with pytest.raises(GremlinError):
        (g.V("a").property("n", 2).property("m", 3)
         .side_effect(__.V("b").drop())
         .add_v("c").property(T.id, "c")
         .add_v("a").property(T.id, "a")  # collides: everything before must be undone
         .iterate())
    assert g.V("a").values("n").to_list() == [1]
    assert g.V("a").values("m").to_list() == []
    assert g.V("b").count().next() == 1
    assert g.E("e1").count().next() == 1
    assert g.V("c").count().next() == 0
    assert g.V().has("n", 1).count().next() == 1  # the index was restored too


def test_concurrent_readers_never_see_partial_writes(url: str):
    g = traversal().with_remote(gremlin.connect(url))
    stop = threading.Event()
    torn: list[int] = []

    def writer() -> None:
        for i in range(300):
            # one traversal writes a pair; a reader must see both or neither
            g.add_v("pair").property(T.id, f"l{i}").add_v("pair").property(T.id, f"r{i}").iterate()
        stop.set()

    def reader() -> None:
        while not stop.is_set():
            count = g.V().has_label("pair").count().next()
            if count % 2:
                torn.append(count)

    threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not torn
    assert g.V().count().next() == 600
