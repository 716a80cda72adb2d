"""Data residency: each tenant's data lives in its home region's graph and nowhere else.

    router = RegionRouter([Region("eu-west-1", "wss://eu-writer:8182/gremlin", "wss://eu-reader:8182/gremlin")])
    router.endpoints(tenant.region)      # that region's writer and reader (opened on first use)
    router.endpoints("ap-south-1")       # RegionNotServed: this deployment has no such graph

A deployment without ``[regions]`` configuration has one region that serves every tenant
from the configured graph (the embedded durable graph by default): residency is enforced
from the moment regions are listed.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from typing import Any, Iterable

from ..base.errors import IdentityError
from ..security.tenants import REGION_PATTERN
from .connection import open_endpoints

__all__ = ["Region", "RegionRouter", "RegionNotServed", "DEFAULT_REGION"]

DEFAULT_REGION = "local"
_NAME = re.compile(REGION_PATTERN)  # the names a tenant's home region may take


class RegionNotServed(IdentityError):
    """A tenant whose home region this deployment has no graph for."""

    def __init__(self, region: str, served: Iterable[str]):
        super().__init__(f"region '{region}' is not served by this deployment (it serves: "
                         f"{', '.join(sorted(served)) or 'none'})")
        self.region = region


@dataclass(frozen=True)
class Region:
    """A region's graph: ``writer`` takes every write; ``reader`` (optional, e.g. a Neptune
    reader endpoint) serves resolve and stats, falling back to the writer."""

    name: str
    writer: str
    reader: str = ""

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ValueError(f"region name {self.name!r} must match {_NAME.pattern}")
        if not isinstance(self.writer, str) or not self.writer:
            raise ValueError(f"region {self.name}: writer must be a graph URL")
        if not isinstance(self.reader, str):
            raise ValueError(f"region {self.name}: reader must be a graph URL")


class RegionRouter:
    """The graphs of the regions this deployment serves. ``fallback`` (the single-region
    deployment) serves tenants of any region not listed."""

    def __init__(self, regions: Iterable[Region], *, fallback: Region | None = None, **endpoint_options: Any):
        self.regions = {region.name: region for region in regions}
        self.fallback = fallback
        #: for open_endpoints: policy, breaker_threshold, breaker_reset_after, ...
        self._endpoint_options = endpoint_options
        self._open: dict[str, Any] = {}
        self._lock = threading.Lock()

    def served(self) -> list[str]:
        return sorted(self.regions) or ([self.fallback.name] if self.fallback else [])

    def region(self, name: str) -> Region:
        region = self.regions.get(name) or self.fallback
        if region is None:
            raise RegionNotServed(name, self.regions)
        return region

    def endpoints(self, name: str) -> Any:
        """The Endpoints (identity.graph.connection) of region ``name`` (RegionNotServed if it is not served)."""
        region = self.region(name)
        with self._lock:
            endpoints = self._open.get(region.name)
            if endpoints is None:
                endpoints = self._open[region.name] = open_endpoints(region.name, region.writer, region.reader,
                                                                     **self._endpoint_options)
            return endpoints

    def opened(self) -> list[Any]:
        """The endpoints opened so far (for readiness and the circuit state)."""
        with self._lock:
            return list(self._open.values())
