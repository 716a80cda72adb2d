"""The docker/ files agree with each other and with the service (checked without a Docker engine)."""

from __future__ import annotations

import re
from pathlib import Path

DOCKER = Path(__file__).resolve().parent.parent / "docker"


def _text(name: str) -> str:
    return (DOCKER / name).read_text(encoding="utf-8")


def test_the_compose_file_runs_a_gremlin_server_of_the_pinned_driver_line() -> None:
    images = re.findall(r"image:\s*tinkerpop/gremlin-server:(\S+)", _text("docker-compose.yml"))
    assert images and all(tag.startswith("3.7.") for tag in images)


def test_the_service_exports_telemetry_to_a_port_the_collector_receives_on() -> None:
    compose = _text("docker-compose.yml")
    endpoint = re.search(r"OTEL_EXPORTER_OTLP_ENDPOINT:\s*http://otel-collector:(\d+)", compose)
    assert endpoint, "the identity service should export to the collector"
    # the service's exporter is OTLP over HTTP (identity/base/telemetry.py, the otlp extra)
    assert re.search(r"http:\s*\n\s*endpoint:\s*0\.0\.0\.0:" + endpoint.group(1), _text("otel-collector.yaml"))
    assert "OTEL_TRACES_EXPORTER: otlp" in compose
    assert "[otlp]" in _text("Dockerfile"), "the image needs the otlp extra for OTEL_TRACES_EXPORTER=otlp"


def test_the_image_can_write_its_data_directory_as_an_unprivileged_user() -> None:
    dockerfile = _text("Dockerfile")
    assert "USER nobody" in dockerfile
    assert re.search(r"chown nobody /var/lib/identity", dockerfile)
    # identity serve refuses a data directory other users can enter (docs/security.md, Files at rest)
    assert re.search(r"chmod 700 /var/lib/identity", dockerfile)
