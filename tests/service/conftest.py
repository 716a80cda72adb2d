from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _service_tmp(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Give unittest-style service tests (AsyncHTTPTestCase) a fresh directory as ``self.tmp``."""
    if request.instance is not None:
        request.instance.tmp = tmp_path
