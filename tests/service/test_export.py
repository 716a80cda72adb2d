"""``identity export-neptune-csv``: the graph as Neptune bulk-loader CSV, parsed back and
compared with the graph (ids, labels, endpoints, property values and types); and the load
command's progress bar."""

from __future__ import annotations

import contextlib
import csv
import json
import uuid
from pathlib import Path
from typing import Any, Iterator

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.graph_traversal import __
from gremlin_python.process.traversal import T

pytest.importorskip("identity.domain.core")

import gremlin  # noqa: E402
from identity import IdentityGraph
from identity.service import cli  # noqa: E402
from identity.service.export import EDGE_FILE, VERTEX_FILE, export_neptune_csv, neptune_type  # noqa: E402
from tests.backends import empty_graph  # noqa: E402

PARSE = {"Long": int, "Double": float, "String": str, "Bool": lambda text: {"true": True, "false": False}[text]}
PLAINTEXT = ("ann@example.com", "+15550100", "dev-42")
EVENTS = [
    {"event_id": "e1", "type": "signup", "timestamp": "2024-05-01T10:00:00Z", "attributes": {"plan": "pro"},
     "identifiers": [{"type": "email", "value": PLAINTEXT[0]}, {"type": "phone", "value": PLAINTEXT[1]}]},
    {"event_id": "e2", "type": "login", "timestamp": "2024-05-02T10:00:00Z",
     "identifiers": [{"type": "phone", "value": PLAINTEXT[1]}, {"type": "device_id", "value": PLAINTEXT[2]}]},
]


@pytest.fixture(params=["neptune", "gremlin-server"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The events of two tenants on the Neptune profile, and on a real Gremlin Server (where
    the observed edges' generated ids are Java Longs)."""
    with contextlib.ExitStack() as stack:
        if request.param == "neptune":
            name = f"memory://export-{uuid.uuid4().hex}?profile=neptune"
            stack.callback(gremlin.forget_graph, name)
        else:
            name = stack.enter_context(empty_graph(request.param, request, tmp_path))
        connection = stack.enter_context(contextlib.closing(gremlin.connect(name)))
        g = traversal().with_remote(connection)
        IdentityGraph(g, "acme").ingest(EVENTS)
        IdentityGraph(g, "globex").ingest(EVENTS[:1])
        yield name


@pytest.fixture
def g(url: str) -> Iterator[Any]:
    """A traversal source on ``url``, its connection closed after the test."""
    with contextlib.closing(gremlin.connect(url)) as connection:
        yield traversal().with_remote(connection)


def read_csv(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as source:
        reader = csv.DictReader(source)
        return list(reader.fieldnames or []), list(reader)


def parsed_properties(row: dict[str, str], system: int, header: list[str]) -> dict[str, Any]:
    properties = {}
    for column in header[system:]:
        name, kind = column.rsplit(":", 1)
        if row[column] != "":
            properties[name] = PARSE[kind](row[column])
    return properties


def graph_elements(g: Any, tenant: str) -> tuple[dict[str, Any], dict[str, Any]]:
    vertices = g.V().has("tenant", tenant).project("id", "label", "props").by(T.id).by(T.label) \
        .by(__.value_map()).to_list()
    edges = g.E().has("tenant", tenant).project("id", "label", "from", "to", "props").by(T.id).by(T.label) \
        .by(__.out_v().id_()).by(__.in_v().id_()).by(__.value_map()).to_list()
    # the files hold every id as text (a real server's generated edge ids are numbers)
    return ({v["id"]: (v["label"], {k: x[0] for k, x in v["props"].items()}) for v in vertices},
            {str(e["id"]): (e["label"], e["from"], e["to"], e["props"]) for e in edges})


def test_the_csv_files_round_trip_ids_labels_endpoints_and_typed_values(g: Any, tmp_path: Path) -> None:
    summary = export_neptune_csv(g, tmp_path, tenant="acme")
    vertices, edges = graph_elements(g, "acme")
    assert (summary.vertices, summary.edges) == (len(vertices), len(edges)) and vertices and edges

    header, rows = read_csv(tmp_path / VERTEX_FILE)
    assert header[:2] == ["~id", "~label"] and all(":" in column for column in header[2:])
    assert {row["~id"]: (row["~label"], parsed_properties(row, 2, header)) for row in rows} == vertices

    header, rows = read_csv(tmp_path / EDGE_FILE)
    assert header[:4] == ["~id", "~from", "~to", "~label"]
    assert {row["~id"]: (row["~label"], row["~from"], row["~to"], parsed_properties(row, 4, header))
            for row in rows} == edges
    assert any(column.endswith(":Long") for column in header)


def test_only_the_named_tenant_is_exported_and_no_plaintext_identifier(g: Any, tmp_path: Path) -> None:
    export_neptune_csv(g, tmp_path, tenant="globex")
    text = (tmp_path / VERTEX_FILE).read_text() + (tmp_path / EDGE_FILE).read_text()
    _, rows = read_csv(tmp_path / VERTEX_FILE)
    assert rows and all(row["tenant:String"] == "globex" for row in rows)
    assert not any(value in text for value in PLAINTEXT)


def test_rows_read_in_many_pages_are_all_written_and_nothing_staged_is_left(
        g: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("identity.service.export.PAGE", 2)  # every page of ids is its own read
    summary = export_neptune_csv(g, tmp_path, tenant="acme")
    vertices, edges = graph_elements(g, "acme")
    assert (summary.vertices, summary.edges) == (len(vertices), len(edges)) and len(vertices) > 2
    header, rows = read_csv(tmp_path / VERTEX_FILE)
    # a key that only some rows hold (the event's sealed attributes) still has its column
    assert "attributes:String" in header
    assert {row["~id"]: (row["~label"], parsed_properties(row, 2, header)) for row in rows} == vertices
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted([VERTEX_FILE, EDGE_FILE])


@pytest.mark.parametrize("value, kind", [(True, "Bool"), (3, "Long"), (2.5, "Double"), ("x", "String")])
def test_property_types_are_the_loader_types(value: Any, kind: str) -> None:
    assert neptune_type(value) == kind


def test_cli_export_and_load_with_a_progress_bar(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path)]  # the durable graph under it: each command opens and flushes it
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(event) for event in EVENTS) + "\nnot json\n")
    assert cli.main(["tenant", "create", "acme", "--region", "eu-west-1", *data]) == 0
    assert cli.main(["load", str(events), "--tenant", "acme", *data]) == 1  # one line rejected
    err = capsys.readouterr().err
    assert "[" + "#" * 30 + "] 100%" in err and "1 x not valid JSON" in err
    assert cli.main(["export-neptune-csv", str(tmp_path / "out"), "--tenant", "acme", *data]) == 0
    assert "vertices to" in capsys.readouterr().out
    _, rows = read_csv(tmp_path / "out" / VERTEX_FILE)
    assert {row["~label"] for row in rows} >= {"identifier", "event"}
    assert cli.main(["export-neptune-csv", str(tmp_path / "out"), "--tenant", "nobody", *data]) == 2
