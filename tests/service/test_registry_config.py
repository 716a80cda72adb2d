"""Tenant registry persistence, configuration precedence, and the CLI's admin commands."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from identity.base.errors import ConfigError
from identity.security import auth
from identity.security.tenants import RegistryError, TenantExists, TenantRegistry
from identity.service import cli
from identity.service.config import Config, load_config


def test_registry_round_trips_through_its_file(tmp_path: Path) -> None:
    registry = TenantRegistry(tmp_path).load()
    registry.create_tenant("acme", "eu-west-1")
    issued = auth.issue_key(registry, "acme", admin=True)
    again = TenantRegistry(tmp_path).load()
    assert [t.id for t in again.tenants()] == ["acme"]
    assert auth.authenticate(again, f"Bearer {issued.key}").is_admin
    document = json.loads((tmp_path / "tenants.json").read_text())
    assert issued.key not in json.dumps(document)  # only the hash is stored
    assert document["keys"][issued.record.key_id]["hash"] == auth.hash_key(issued.key)
    assert stat.S_IMODE(os.stat(tmp_path / "tenants.json").st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tenants-")]  # no temporary left


def test_registry_sees_changes_made_by_another_process(tmp_path: Path) -> None:
    server = TenantRegistry(tmp_path).load()
    server.create_tenant("acme", "eu-west-1")
    cli_side = TenantRegistry(tmp_path).load()
    issued = auth.issue_key(cli_side, "acme")
    assert auth.authenticate(server, f"Bearer {issued.key}").tenant == "acme"
    cli_side.revoke_key(issued.record.key_id)
    with pytest.raises(auth.AuthenticationFailed):
        auth.authenticate(server, f"Bearer {issued.key}")
    server.create_tenant("globex", "us-east-1")  # read-modify-write keeps the other side's edits
    assert cli_side.keys("acme")[0].revoked_at is not None
    assert [t.id for t in cli_side.tenants()] == ["acme", "globex"]


def test_registry_validation(tmp_path: Path) -> None:
    registry = TenantRegistry(tmp_path).load()
    registry.create_tenant("acme", "eu-west-1")
    with pytest.raises(TenantExists):
        registry.create_tenant("acme", "eu-west-1")
    with pytest.raises(RegistryError) as caught:
        registry.create_tenant("Bad Name!", "eu-west-1")
    assert caught.value.field == "tenant"


def test_config_precedence(tmp_path: Path) -> None:
    path = tmp_path / "identity.toml"
    path.write_text('port = 9000\nhost = "0.0.0.0"\nrate_per_second = 5\n')
    config = load_config(path, env={"IDENTITY_PORT": "9100", "IDENTITY_GREMLIN_ENABLED": "false"},
                         overrides={"host": "::1", "data_dir": None})
    assert (config.port, config.host, config.rate_per_second, config.gremlin_enabled) == (9100, "::1", 5.0, False)
    assert config.data_dir == Config().data_dir


def test_config_defaults_and_graph_url(tmp_path: Path) -> None:
    config = load_config(env={"IDENTITY_DATA_DIR": str(tmp_path)})
    assert (config.host, config.port, config.max_body_bytes, config.max_batch) == ("127.0.0.1", 8080, 1048576, 1000)
    assert config.resolved_graph_url == f"file://{tmp_path.resolve() / 'graph'}"


def test_graph_cache_mb_reaches_the_embedded_graphs_urls(tmp_path: Path) -> None:
    config = load_config(env={"IDENTITY_DATA_DIR": str(tmp_path), "IDENTITY_GRAPH_CACHE_MB": "64"})
    assert config.resolved_graph_url == f"file://{tmp_path.resolve() / 'graph'}?cache_mb=64"
    path = tmp_path / "identity.toml"
    path.write_text('graph_cache_mb = 32.5\n[regions.eu]\nwriter = "file:///data/eu?synchronous=FULL"\n'
                    '[regions.us]\nwriter = "file:///data/us?cache_mb=8"\nreader = "ws://replica:8182/gremlin"\n')
    config = load_config(path, env={}, overrides={"graph_url": "memory://"})
    assert config.resolved_graph_url == "memory://"  # not an embedded durable graph: as it is
    router = config.region_router()
    assert router.regions["eu"].writer == "file:///data/eu?synchronous=FULL&cache_mb=32.5"
    assert router.regions["us"].writer == "file:///data/us?cache_mb=8"  # the URL's own wins
    assert router.regions["us"].reader == "ws://replica:8182/gremlin"
    with pytest.raises(ConfigError, match="graph_cache_mb"):
        load_config(env={"IDENTITY_GRAPH_CACHE_MB": "-1"})


def test_config_errors_name_the_setting(tmp_path: Path) -> None:
    path = tmp_path / "identity.toml"
    path.write_text("colour = 1\n")
    with pytest.raises(ConfigError, match="colour"):
        load_config(path, env={})
    with pytest.raises(ConfigError, match="IDENTITY_PORT"):
        load_config(env={"IDENTITY_PORT": "eighty"})
    with pytest.raises(ConfigError, match="no such"):
        load_config(tmp_path / "missing.toml", env={})


def test_cli_tenant_and_key_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path)]
    assert cli.main(["tenant", "create", "acme", "--region", "eu-west-1", *data]) == 0
    assert cli.main(["key", "create", "acme", "--admin", *data]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    principal = auth.authenticate(TenantRegistry(tmp_path).load(), f"Bearer {key}")
    assert principal.tenant == "acme" and principal.is_admin and not principal.is_operator
    assert cli.main(["key", "create", "acme", "--operator", *data]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]
    principal = auth.authenticate(TenantRegistry(tmp_path).load(), f"Bearer {key}")
    assert principal.is_operator and not principal.is_admin
    assert cli.main(["tenant", "create", "acme", "--region", "eu-west-1", *data]) == 2
    assert "already exists" in capsys.readouterr().err
    assert cli.main(["tenant", "list", *data]) == 0
    assert capsys.readouterr().out == "acme\teu-west-1\n"


def test_load_events_batches_and_reports_rejections() -> None:
    errors = pytest.importorskip("identity.base.errors")
    calls: list[int] = []

    from identity.domain.events import RejectedEvent

    def ingest(events: list[dict]) -> list[object]:
        """A partial ingest: an event of type "bad" is rejected, the others written."""
        calls.append(len(events))
        return [RejectedEvent(n, None, errors.ValidationError(f"events[{n}].type", "is not allowed"))
                if event.get("type") == "bad" else object() for n, event in enumerate(events)]

    lines = ['{"type": "ok"}', "not json", '{"type": "bad"}', "", '{"type": "ok"}', "[1]", '{"type": "bad"}',
             '{"type": "ok"}']
    summary = cli.load_events(ingest, lines, batch_size=2)
    assert (summary.read, summary.ingested, summary.rejected) == (7, 3, 4)
    assert dict(summary.reasons) == {"not valid JSON": 1, "not a JSON object": 1, "type: is not allowed": 2}
    assert calls == [2, 2, 1]  # a batch with a rejected event is sent once
    assert "line 2: not valid JSON" in summary.report() and "line 3: type: is not allowed" in summary.report()


def test_a_graph_servers_connection_pool_is_as_large_as_the_worker_pool(monkeypatch) -> None:
    """Every worker that sends a graph request has a connection to send it on (gremlinpython's
    pool is 8 whatever the workers)."""
    import gremlin
    opened = {}

    def connect(url, **options):
        opened.update(options, url=url)
        raise ConnectionError("no server here")

    monkeypatch.setattr(gremlin, "connect", connect)
    config = Config(graph_url="ws://127.0.0.1:1/gremlin", workers=13)
    endpoints = config.region_router().endpoints("local")
    with pytest.raises(Exception):
        endpoints.writer.V().limit(1).to_list()
    assert opened["pool_size"] == 13 and opened["url"].startswith("ws://")
