"""Configuration files in tests: written as TOML text, loaded as `identity serve` loads them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from identity.service.config import Config, load_config

#: configuration files are read with tomllib (Python 3.11+)
needs_tomllib = pytest.mark.skipif(sys.version_info < (3, 11), reason="configuration files need tomllib")


def load_toml(tmp_path: Path, text: str) -> Config:
    """The configuration ``text`` gives, written to ``tmp_path/identity.toml``, with no environment."""
    path = tmp_path / "identity.toml"
    path.write_text(text)
    return load_config(path, env={})
