"""The service and the CLI on per-tenant key rings: the KEK file on first start, data-key
admin methods, rotation and re-encryption, offboarding and purge from the command line."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest
from gremlin_python.process.anonymous_traversal import traversal

pytest.importorskip("identity.domain.core")

import gremlin  # noqa: E402
from identity import IdentityGraph
from identity.domain.tenant_graph import identifier_vertex_id  # noqa: E402
from identity.security.keys import KeysDestroyed
from identity.security.protect import DevelopmentProtector, SealedValueError, sealed_version  # noqa: E402
from identity.service import cli  # noqa: E402
from identity.service.config import Config, keyring_for  # noqa: E402

from service_support import RealCoreTestCase  # noqa: E402

EVENTS = [{"event_id": "e1", "type": "signup", "attributes": {"plan": "gold"},
           "identifiers": [{"type": "email", "value": "ann@example.com"}, {"type": "phone", "value": "+15550100"}]}]


class KeyedService(RealCoreTestCase):
    def rpc(self, key: str, method: str, params: dict | None = None) -> dict:
        body = {"jsonrpc": "2.0", "id": 1, "method": method, **({"params": params} if params else {})}
        response = self.fetch("/rpc", method="POST", body=json.dumps(body),
                              headers={"Authorization": f"Bearer {self.keys[key]}"})
        return {"status": response.code, **json.loads(response.body)}

    def test_the_service_seals_with_the_tenants_key_ring(self) -> None:
        assert "error" not in self.rpc("user", "ingest", {"events": EVENTS})
        kek = self.tmp / "kek.key"
        assert stat.S_IMODE(kek.stat().st_mode) == 0o600
        assert stat.S_IMODE((self.tmp / "keys" / "acme.json").stat().st_mode) == 0o600
        g = traversal().with_remote(gremlin.connect(self.url))
        keyring = keyring_for(self.config)
        vertex = identifier_vertex_id("acme", "email", "ann@example.com", protector=keyring.protector("acme"))
        sealed = g.V(vertex).values("value").next()
        assert keyring.protector("acme").open(vertex, "value", sealed) == "ann@example.com"
        with pytest.raises(SealedValueError):  # not the public development key
            DevelopmentProtector().open(vertex, "value", sealed)
        assert vertex != identifier_vertex_id("acme", "email", "ann@example.com")

    def test_datakey_methods_rotate_and_report_versions(self) -> None:
        assert self.rpc("admin", "datakey.status", {"tenant": "acme"})["result"]["current"] == 1
        rotated = self.rpc("admin", "datakey.rotate", {"tenant": "acme"})["result"]
        assert rotated["current"] == 2 and [v["version"] for v in rotated["versions"]] == [1, 2]
        self.rpc("user", "ingest", {"events": EVENTS})
        g = traversal().with_remote(gremlin.connect(self.url))
        assert {sealed_version(v) for v in g.V().has_label("identifier").values("value").to_list()} == {2}
        assert self.rpc("user", "datakey.rotate", {"tenant": "acme"})["status"] == 403
        assert "error" in self.rpc("admin", "datakey.rotate", {"tenant": "nobody"})

    def test_an_offboarded_tenant_cannot_use_the_service(self) -> None:
        self.rpc("user", "ingest", {"events": EVENTS})
        self.service.keyring.destroy("acme")  # what `identity tenant offboard` does, minus revoking keys
        reply = self.rpc("user", "resolve", {"type": "email", "value": "ann@example.com"})
        assert "offboarded" in json.dumps(reply["error"]) and "ann" not in json.dumps(reply)
        assert self.rpc("admin", "datakey.status", {"tenant": "acme"})["result"]["destroyed_at"] is not None


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_cli_rotation_reencryption_offboarding_and_purge(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    data = ["--data-dir", str(tmp_path), "--graph-url", f"file://{tmp_path / 'graph'}"]
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps({"event_id": f"e{n}", "type": "signup", "attributes": {"n": n},
                                            "identifiers": [{"type": "email", "value": f"u{n}@example.com"}]})
                                for n in range(5)) + "\n")
    assert _run(capsys, "tenant", "create", "acme", "--region", "eu-west-1", *data)[0] == 0
    assert _run(capsys, "tenant", "create", "globex", "--region", "eu-west-1", *data)[0] == 0
    assert _run(capsys, "load", str(events), "--tenant", "acme", *data)[0] == 0
    assert _run(capsys, "load", str(events), "--tenant", "globex", *data)[0] == 0

    code, out, _ = _run(capsys, "datakey", "rotate", "acme", *data)
    assert code == 0 and "version 2" in out
    code, out, err = _run(capsys, "datakey", "reencrypt", "acme", "--batch", "3", *data)
    assert code == 0 and "10 cells re-sealed in 4 batches" in out and "re-sealed with version 2" in err
    assert "0 cells re-sealed" in _run(capsys, "datakey", "reencrypt", "acme", *data)[1]
    code, out, _ = _run(capsys, "datakey", "status", "acme", *data)
    assert code == 0 and "current version 2" in out and "v1" in out and "v2" in out

    keyring = keyring_for(Config(data_dir=str(tmp_path)))
    url = f"file://{tmp_path / 'graph'}"
    g = traversal().with_remote(gremlin.connect(url))
    acme = IdentityGraph(g, "acme", protector=keyring.protector("acme"))
    assert acme.resolve("email", "u3@example.com").identifiers["email"][0]["value"] == "u3@example.com"
    token = _run(capsys, "token", "email", "u3@example.com", "--tenant", "acme", *data)[1].strip()
    assert token == acme.vertex_id("email", "u3@example.com")
    assert _run(capsys, "token", "email", "u3@example.com", "--tenant", "acmee", *data)[0] == 2
    assert not (tmp_path / "keys" / "acmee.json").exists()
    gremlin.forget_graph(url)

    assert _run(capsys, "tenant", "purge", "acme", *data)[0] == 2  # keys still live: refused
    code, _, err = _run(capsys, "tenant", "offboard", "acme", *data)
    assert code == 2 and "--yes" in err
    code, out, _ = _run(capsys, "tenant", "offboard", "acme", "--yes", *data)
    assert code == 0 and "keys destroyed" in out
    with pytest.raises(KeysDestroyed):
        keyring.protector("acme").blind_index("email", "u3@example.com")
    code, _, err = _run(capsys, "datakey", "rotate", "acme", *data)
    assert code == 2 and "offboarded" in err
    code, out, _ = _run(capsys, "tenant", "purge", "acme", "--batch", "4", *data)
    assert code == 0 and "5 edges, 10 vertices deleted" in out

    g = traversal().with_remote(gremlin.connect(url))
    try:
        assert set(g.V().values("tenant").to_list()) == {"globex"}
        globex = IdentityGraph(g, "globex", protector=keyring.protector("globex"))
        assert globex.resolve("email", "u1@example.com") is not None
    finally:
        gremlin.forget_graph(url)


def test_cli_retire_after_reencryption_and_rewrap_every_ring_to_kms(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    from identity.service import config as configuration  # keyring_for picks the KEK provider there
    from fakes import FakeKms
    data = ["--data-dir", str(tmp_path), "--graph-url", f"file://{tmp_path / 'graph'}"]
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(EVENTS[0]) + "\n")
    for tenant in ("acme", "globex"):
        assert _run(capsys, "tenant", "create", tenant, "--region", "eu-west-1", *data)[0] == 0
        assert _run(capsys, "load", str(events), "--tenant", tenant, *data)[0] == 0
    assert _run(capsys, "datakey", "rotate", "acme", *data)[0] == 0
    code, _, err = _run(capsys, "datakey", "retire", "acme", "1", *data)
    assert code == 2 and "still sealed with data key version 1" in err
    assert _run(capsys, "datakey", "reencrypt", "acme", *data)[0] == 0
    code, _, err = _run(capsys, "datakey", "retire", "acme", "1", *data)
    assert code == 2 and "a server may still be sealing with it" in err
    monkeypatch.setattr("identity.security.keys.keyring.RETIRE_AFTER_S", 0.0)
    code, out, _ = _run(capsys, "datakey", "retire", "acme", "1", *data)
    assert code == 0 and "version 1 retired" in out
    assert "v1" not in _run(capsys, "datakey", "status", "acme", *data)[1]

    kms = FakeKms()
    real_kms = configuration.KmsKeyProvider
    monkeypatch.setattr(configuration, "KmsKeyProvider", lambda key_id, region: real_kms(key_id, client=kms))
    moving = [*data, "--config", str(tmp_path / "kms.toml")]
    (tmp_path / "kms.toml").write_text('kms_key_id = "alias/identity"\nprevious_kek = "local"\n')
    code, out, _ = _run(capsys, "datakey", "rewrap", "--all", *moving)
    assert code == 0 and out.splitlines() == ["tenant acme: rewrapped with kms:alias/identity",
                                              "tenant globex: rewrapped with kms:alias/identity"]
    assert "already wrapped by" in _run(capsys, "datakey", "rewrap", "acme", *moving)[1]
    (tmp_path / "kms.toml").write_text('kms_key_id = "alias/identity"\n')  # the local KEK is gone from the config
    url = f"file://{tmp_path / 'graph'}"
    g = traversal().with_remote(gremlin.connect(url))
    try:
        keyring = keyring_for(Config(data_dir=str(tmp_path), kms_key_id="alias/identity"))
        for tenant in ("acme", "globex"):
            found = IdentityGraph(g, tenant, protector=keyring.protector(tenant)).resolve("email", "ann@example.com")
            assert found.identifiers["email"][0]["value"] == "ann@example.com"
    finally:
        gremlin.forget_graph(url)
