"""Residency: a tenant's data is written to and read from its home region's graph only; a
region this deployment does not serve is a clear error. Several in-process graphs stand for
the regions. Also: the open circuit breaker answers 503 + Retry-After and /readyz says so."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from gremlin_python.process.anonymous_traversal import traversal
from tornado.testing import AsyncHTTPTestCase

pytest.importorskip("identity.domain.core")

import gremlin  # noqa: E402
from identity.base.errors import ConfigError  # noqa: E402
from identity.graph.regions import Region  # noqa: E402
from identity.security import auth  # noqa: E402
from identity.security.tenants import TenantRegistry  # noqa: E402
from identity.service.config import Config, load_config
from identity.service.rpc import build_service, make_app  # noqa: E402
from identity.service.rpc.errors import GRAPH_UNAVAILABLE, REGION_NOT_SERVED  # noqa: E402
from tests.config_files import load_toml, needs_tomllib  # noqa: E402

EVENT = {"event_id": "e1", "type": "signup",
         "identifiers": [{"type": "email", "value": "ann@example.com"}, {"type": "phone", "value": "+15550100"}]}


def count(url: str) -> int:
    return traversal().with_remote(gremlin.connect(url)).V().count().next()


class Regions(AsyncHTTPTestCase):
    tmp: Path

    def get_app(self):  # type: ignore[override]
        suffix = uuid.uuid4().hex
        self.urls = {"eu-west-1": f"memory://eu-{suffix}?profile=neptune",
                     "us-east-1": f"memory://us-{suffix}?profile=neptune"}
        registry = TenantRegistry(self.tmp).load()
        self.keys = {}
        for tenant, region in (("acme", "eu-west-1"), ("globex", "us-east-1"), ("initech", "ap-south-1")):
            registry.create_tenant(tenant, region)
            self.keys[tenant] = auth.issue_key(registry, tenant).key
        regions = tuple(Region(name, url) for name, url in self.urls.items())
        self.service = build_service(Config(data_dir=str(self.tmp), regions=regions, rate_per_second=0),
                                     registry=registry)
        return make_app(self.service)

    def tearDown(self) -> None:
        super().tearDown()
        self.service.close()
        for url in self.urls.values():
            gremlin.forget_graph(url)

    def post(self, tenant: str, method: str, params: dict | None = None):
        body = {"jsonrpc": "2.0", "id": 1, "method": method, **({"params": params} if params else {})}
        return self.fetch("/rpc", method="POST", body=json.dumps(body), raise_error=False,
                          headers={"Authorization": f"Bearer {self.keys[tenant]}"})

    def test_each_tenant_writes_to_and_reads_from_its_home_region_only(self) -> None:
        assert "error" not in json.loads(self.post("acme", "ingest", {"events": [EVENT]}).body)
        assert count(self.urls["eu-west-1"]) > 0 and count(self.urls["us-east-1"]) == 0
        eu_vertices = count(self.urls["eu-west-1"])
        assert "error" not in json.loads(self.post("globex", "ingest", {"events": [EVENT]}).body)
        assert count(self.urls["eu-west-1"]) == eu_vertices and count(self.urls["us-east-1"]) > 0
        found = json.loads(self.post("acme", "resolve", {"type": "email", "value": "ann@example.com"}).body)
        assert found["result"]["customer_id"].startswith("c-")

    def test_a_tenant_of_a_region_not_served_gets_a_clear_error_and_nothing_is_written(self) -> None:
        before = {name: count(url) for name, url in self.urls.items()}
        for method, params in (("ingest", {"events": [EVENT]}), ("resolve", {"type": "email", "value": "a@b.c"}),
                               ("stats", None)):
            reply = json.loads(self.post("initech", method, params).body)
            assert reply["error"]["code"] == REGION_NOT_SERVED, reply
            assert "ap-south-1" in reply["error"]["data"]["reason"]
        assert {name: count(url) for name, url in self.urls.items()} == before

    def test_an_open_circuit_answers_503_with_retry_after_and_readiness_names_the_region(self) -> None:
        assert self.fetch("/readyz").code == 200
        self.post("acme", "stats")  # opens eu-west-1's connections
        [eu] = [e for e in self.service_endpoints() if e.name == "eu-west-1"]
        for _ in range(eu.writer_connection.breaker.threshold):
            eu.writer_connection.breaker.record_failure()
        response = self.post("acme", "stats")
        assert response.code == 503 and int(response.headers["Retry-After"]) >= 1
        assert json.loads(response.body)["error"]["code"] == GRAPH_UNAVAILABLE
        assert self.post("globex", "stats").code == 200  # another region is unaffected
        # the other region still serves: the instance stays in the load balancer, degraded
        ready = self.fetch("/readyz")
        assert ready.code == 200 and json.loads(ready.body)["status"] == "degraded"
        assert json.loads(ready.body)["regions"] == {"eu-west-1": False, "us-east-1": True}
        eu.writer_connection.breaker.record_success()
        assert self.post("acme", "stats").code == 200
        assert json.loads(self.fetch("/readyz").body)["status"] == "ready"

    def service_endpoints(self) -> list:
        return self.service.router.opened()


@needs_tomllib
def test_regions_come_from_the_toml_file(tmp_path: Path) -> None:
    config = load_toml(tmp_path, '[regions.eu-west-1]\nwriter = "ws://eu:8182/gremlin"\nreader = "ws://eu-ro:8182/gremlin"\n'
                       '[regions.us-east-1]\nwriter = "ws://us:8182/gremlin"\n')
    assert config.regions == (Region("eu-west-1", "ws://eu:8182/gremlin", "ws://eu-ro:8182/gremlin"),
                              Region("us-east-1", "ws://us:8182/gremlin"))
    assert config.region_router().served() == ["eu-west-1", "us-east-1"]


@needs_tomllib
@pytest.mark.parametrize("text, message", [
    ('[regions.eu-west-1]\nreader = "ws://eu-ro:8182/gremlin"\n', "writer must be a graph URL"),
    ('[regions.eu-west-1]\nwriter = "ws://eu:8182/gremlin"\nprimary = "x"\n', "unknown setting(s) primary"),
    ('[regions.EU]\nwriter = "ws://eu:8182/gremlin"\n', "region name 'EU'"),
    ('regions = "eu-west-1"\n', "expected tables"),
])
def test_bad_region_settings_name_the_region_and_the_setting(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match="regions") as raised:
        load_toml(tmp_path, text)
    assert message in str(raised.value)


def test_without_regions_one_local_region_serves_every_tenant(tmp_path: Path) -> None:
    router = Config(data_dir=str(tmp_path), graph_url="memory://solo").region_router()
    assert router.served() == ["local"]
    assert router.region("eu-west-1").writer == "memory://solo"


@needs_tomllib
def test_the_cli_loads_and_exports_in_the_tenants_home_region(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    from identity.service import cli
    urls = {"eu-west-1": f"file://{tmp_path}/eu-graph", "us-east-1": f"file://{tmp_path}/us-graph"}
    config = tmp_path / "identity.toml"
    config.write_text(f'data_dir = "{tmp_path}"\n' + "".join(
        f'[regions.{name}]\nwriter = "{url}"\n' for name, url in urls.items()))
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(EVENT) + "\n")
    common = ["--config", str(config)]
    try:  # each command opens its region's durable graph and flushes it when done
        assert cli.main(["tenant", "create", "acme", "--region", "us-east-1", *common]) == 0
        assert cli.main(["tenant", "create", "initech", "--region", "ap-south-1", *common]) == 0
        assert cli.main(["load", str(events), "--tenant", "acme", *common]) == 0
        assert count(urls["us-east-1"]) > 0 and count(urls["eu-west-1"]) == 0
        assert cli.main(["load", str(events), "--tenant", "initech", *common]) == 2
        assert "region 'ap-south-1' is not served" in capsys.readouterr().err
        assert cli.main(["export-neptune-csv", str(tmp_path / "out"), *common]) == 2  # which region?
        assert cli.main(["export-neptune-csv", str(tmp_path / "out"), "--region", "us-east-1", *common]) == 0
        assert (tmp_path / "out" / "vertices.csv").read_text().count("\n") == count(urls["us-east-1"]) + 1
    finally:
        for url in urls.values():
            gremlin.forget_graph(url)


def test_retry_and_breaker_settings_reach_every_endpoint(tmp_path: Path) -> None:
    config = load_config(env={"IDENTITY_GRAPH_ATTEMPTS": "2", "IDENTITY_CIRCUIT_THRESHOLD": "3",
                              "IDENTITY_CIRCUIT_RESET_AFTER": "7.5"},
                         overrides={"data_dir": str(tmp_path), "graph_url": f"memory://settings-{uuid.uuid4().hex}",
                                    "graph_reader_url": f"memory://settings-ro-{uuid.uuid4().hex}"})
    endpoints = config.region_router().endpoints("eu-west-1")
    for connection in (endpoints.writer_connection, endpoints.reader_connection):
        assert connection.policy.attempts == 2
        assert (connection.breaker.threshold, connection.breaker.reset_after) == (3, 7.5)
    assert endpoints.reader_connection.fallback is endpoints.writer_connection
    with pytest.raises(ConfigError, match="graph_attempts"):
        load_config(env={"IDENTITY_GRAPH_ATTEMPTS": "0"})
