"""docs/api.md documents exactly the methods and error codes the server has."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from identity.service.rpc import method_table
from identity.service.rpc.errors import SERVER_ERRORS

# The examples are recorded from the real core (python docs/examples.py); until it exists there is
# nothing to compare with.
pytest.importorskip("identity.domain.core")

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _generated() -> str:
    text = DOC.read_text(encoding="utf-8")
    start, end = text.index("<!-- BEGIN GENERATED EXAMPLES"), text.index("<!-- END GENERATED EXAMPLES -->")
    return text[start:end]


def test_every_method_has_an_example_and_no_example_is_stale() -> None:
    documented = re.findall(r"^### `([\w.]+)`$", _generated(), flags=re.MULTILINE)
    assert sorted(documented) == sorted(method_table()), "run: python docs/examples.py"


def test_every_method_example_has_a_curl_command_and_a_response() -> None:
    sections = re.split(r"^### ", _generated(), flags=re.MULTILINE)[1:]
    for section in sections:
        assert "curl -s http://127.0.0.1:8080/rpc" in section and "HTTP " in section, section[:40]


def test_every_server_error_code_is_documented() -> None:
    codes = {int(code) for code in re.findall(r"^\| (-320\d\d) \|", _generated(), flags=re.MULTILINE)}
    assert codes == set(SERVER_ERRORS)
