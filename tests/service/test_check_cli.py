"""``identity check`` as an operator runs it: what it prints, its exit status (0 clean, 1 wrong,
2 could not run), ``--acknowledged`` and ``--repair``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from gremlin_python.process.traversal import Cardinality

import gremlin
from identity.service import cli

EVENTS = [{"event_id": "e1", "type": "signup", "identifiers": [{"type": "email", "value": "ann@example.com"},
                                                               {"type": "phone", "value": "+15550100200"}]},
          {"event_id": "e2", "type": "login", "identifiers": [{"type": "phone", "value": "+15550100200"},
                                                              {"type": "device_id", "value": "dev-1"}]}]


def test_check_reports_exits_1_and_repairs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path)]  # the durable graph under it: each command opens and closes it
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(event) for event in EVENTS) + "\n")
    assert cli.main(["tenant", "create", "acme", "--region", "local", *data]) == 0
    assert cli.main(["load", str(events), "--tenant", "acme", *data]) == 0
    acknowledged = tmp_path / "acknowledged.txt"
    acknowledged.write_text("e1\ne2\n")
    capsys.readouterr()
    assert cli.main(["check", "--tenant", "acme", "--acknowledged", str(acknowledged), *data]) == 0
    assert capsys.readouterr().out == "tenant acme: 3 identifiers, 2 links, 2 events, 4 observations: ok\n"

    url = f"file://{tmp_path / 'graph'}"
    conn = gremlin.connect(url)
    phone = cli_token("phone", "+15550100200", data, capsys)
    traversal().with_remote(conn).V(phone).property(Cardinality.single, "degree", 5).iterate()
    conn.close()
    gremlin.forget_graph(url)  # flushed and unlocked, as when another process had done it
    acknowledged.write_text("e1\ne2\ne3\n")
    assert cli.main(["check", "--tenant", "acme", "--acknowledged", str(acknowledged), *data]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"degree\t{phone}\tdegree 5, links 2"
    assert out[1].startswith("missing_event\tacme:event:") and out[1].endswith("acknowledged to a client but not stored")
    assert out[2] == ("tenant acme: 3 identifiers, 2 links, 2 events, 4 observations: 2 wrong (1 degree, "
                      "1 missing_event)")
    assert cli.main(["check", "--repair", *data]) == 0  # every tenant; nothing acknowledged this time
    assert capsys.readouterr().out.splitlines() == [
        f"repaired\tdegree\t{phone}\tdegree 5, links 2",
        "tenant acme: 3 identifiers, 2 links, 2 events, 4 observations: ok; 1 repaired"]
    assert cli.main(["check", "--tenant", "nobody", *data]) == 2


def cli_token(id_type: str, value: str, data: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert cli.main(["token", id_type, value, "--tenant", "acme", *data]) == 0
    return capsys.readouterr().out.strip()
